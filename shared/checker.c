/*
 * checker.c — maker-checker for reversing money (see checker.h).
 */
#include <string.h>

#include "checker.h"

static const char *s_me(hy_ctx_t *ctx)
{
    return ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
}

int hy_checker_request(hy_ctx_t *ctx, json_t *rec, const char *reason, const char *field)
{
    const json_t *pending = json_object_get(rec, "void_request");
    if (pending)
        return hy_fail(ctx, 409, "void_pending", field,
                       "a void was asked by %s on %s and awaits another key's approval",
                       json_string_value(json_object_get(pending, "requested_by")),
                       json_string_value(json_object_get(pending, "requested_at")));
    json_t *req = json_pack("{s:s,s:s,s:s}", "reason", reason ? reason : "", "requested_by",
                            s_me(ctx), "requested_at", ctx->now_iso);
    if (!req || json_object_set_new(rec, "void_request", req) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    return 0;
}

int hy_checker_approve(hy_ctx_t *ctx, const json_t *rec, const char *field)
{
    const json_t *req = json_object_get(rec, "void_request");
    const char *maker = json_string_value(json_object_get(req, "requested_by"));
    if (!req)
        return hy_fail(ctx, 409, "no_void_request", field,
                       "nobody has asked to void this: one key asks, another approves");
    if (*s_me(ctx) && maker && strcmp(maker, s_me(ctx)) == 0)
        return hy_fail(ctx, 422, "same_approver", NULL,
                       "the key %s asked for this void: another key must approve it", maker);
    return 0;
}

int hy_checker_reject(hy_ctx_t *ctx, json_t *rec, const char *field)
{
    if (!json_object_get(rec, "void_request"))
        return hy_fail(ctx, 409, "no_void_request", field, "nobody has asked to void this");
    json_object_del(rec, "void_request");
    return 0;
}
