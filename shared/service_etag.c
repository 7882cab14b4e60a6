/*
 * service_etag.c — entity tags and If-Match, checked where the writes happen.
 *
 * A resource's ETag is the hash of what its GET answers (hy_result_etag). A write that comes
 * with If-Match (PATCH, or a state change like POST /v1/loans/{id}/approve) is checked by the
 * writer itself, in the batch's write transaction, before its handler runs: the GET handler of
 * the resource runs there, its answer is hashed, and a tag that differs refuses the write with
 * 412 precondition_failed. No write of another client can come between the check and the
 * change, which a check in the gateway could not promise.
 */
#include <stdio.h>
#include <string.h>

#include "service_internal.h"

const hy_op_spec_t *hy_etag_resource(hy_service_t *self, const hy_op_spec_t *write)
{
    const hy_op_spec_t *get = hy_spec_resource(self->def->api->ops, write);
    return get && hy_spec_runs(get) ? get : NULL;
}

int hy_etag_current(hy_service_t *self, MDB_txn *txn, const hy_request_t *req,
                    const hy_op_spec_t *get, char out[HY_ETAG_HEX + 1])
{
    json_t *args = json_object();
    if (!args)
        return -1;
    /* The GET's path parameters, from the write's arguments of the same names. */
    for (const char *p = strchr(get->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        char name[64];
        if (!e || (size_t)(e - p - 1) >= sizeof name)
            break;
        snprintf(name, sizeof name, "%.*s", (int)(e - p - 1), p + 1);
        json_t *v = json_object_get(req->args, name);
        if (v && json_object_set(args, name, v) != 0) {
            json_decref(args);
            return -1;
        }
    }
    hy_spec_error_t serr;
    int rc = 1;
    if (hy_spec_check(get, args, &serr) != 0) {
        json_decref(args);
        return 1;
    }
    hy_request_t greq = *req;
    greq.op = get->op;
    greq.args = args;
    greq.idem = NULL;
    greq.if_match = NULL;
    hy_ctx_t ctx;
    hy_ctx_init(&ctx, self, txn, &greq);
    ctx.read = true;
    ctx.can_park = false;
    json_t *result = NULL;
    int status = hy_spec_run(get, &ctx, args, &result);
    if (status == 0 && !ctx.error)
        rc = hy_result_etag(result, out) == 0 ? 0 : -1;
    json_decref(result);
    json_decref(ctx.error);
    json_decref(args);
    return rc;
}

bool hy_etag_matches(const char *if_match, const char *current)
{
    for (const char *p = if_match; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t n = len;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 1 && *p == '*')
            return current != NULL;
        /* Strong comparison: a weak tag (W/"...") never matches. */
        if (current && n == strlen(current) + 2 && p[0] == '"' && p[n - 1] == '"' &&
            strncmp(p + 1, current, n - 2) == 0)
            return true;
        p += len;
    }
    return false;
}
