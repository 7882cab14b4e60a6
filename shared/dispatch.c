/*
 * dispatch.c — how one request becomes one reply, and how a batch of them becomes one commit.
 *
 * The order of checks is the contract: a well-formed envelope, a known op, an allowed role,
 * arguments of the right shape, then idempotency, then the handler in its own nested
 * transaction. Anything refused before the handler changes nothing; a handler that fails has
 * its nested transaction (and the events it wrote) rolled back alone, so one bad request in a
 * batch never spoils the others.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "describe.h"
#include "fa.h"
#include "log.h"
#include "service_internal.h"

/* ---- errors ---------------------------------------------------------------------------------- */

int hy_fail(hy_ctx_t *ctx, int status, const char *code, const char *field, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_decref(ctx->error);
    ctx->error = json_pack("{s:s, s:s, s:s}", "code", code, "title", hy_proto_title(code),
                           "detail", detail);
    if (ctx->error && field)
        json_object_set_new(ctx->error, "field", json_string(field));
    ctx->status = status;
    return status;
}

void hy_fail_extra(hy_ctx_t *ctx, const char *key, json_t *value)
{
    if (ctx->error)
        json_object_set_new(ctx->error, key, value);
    else
        json_decref(value);
}

int hy_fail_mdb(hy_ctx_t *ctx, int rc)
{
    ctx->mdb_rc = rc;
    hy_log_error("store", "%s: %s", ctx->req && ctx->req->op ? ctx->req->op : "?", mdb_strerror(rc));
    return hy_fail(ctx, 500, "internal_error", NULL, "storage error; nothing was changed");
}

/* ---- context ------------------------------------------------------------------------------- */

void hy_ctx_init(hy_ctx_t *ctx, hy_service_t *self, MDB_txn *txn, const hy_request_t *req)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->svc = self;
    ctx->state = self->state;
    ctx->txn = txn;
    ctx->req = req;
    ctx->now = self->fixed_now ? self->fixed_now : (int64_t)time(NULL);
    hy_date_today(ctx->now, ctx->today);
    time_t t = (time_t)ctx->now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ctx->now_iso, sizeof ctx->now_iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- built-in ops ---------------------------------------------------------------------------- */

static int s_status_op(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)args;
    hy_service_t *self = ctx->svc;
    size_t map, used;
    hy_store_usage(self->store, &map, &used);
    json_t *cursors = json_object();
    if (hy_follow_status(self, ctx->txn, cursors) != 0) {
        json_decref(cursors);
        return hy_fail(ctx, 500, "internal_error", NULL, "cannot read cursors");
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    *result = json_pack("{s:s, s:s, s:I, s:I, s:o, s:{s:I, s:I}, s:I, s:I, s:I}", "service",
                        self->def->name, "host", host, "pid", (json_int_t)getpid(), "seq",
                        (json_int_t)hy_outbox_last(self, ctx->txn), "sources", cursors, "store",
                        "map_bytes", (json_int_t)map, "used_bytes", (json_int_t)used, "requests",
                        (json_int_t)self->requests, "batches", (json_int_t)self->batches,
                        "events_applied", (json_int_t)self->events_applied);
    return *result ? 200 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* An online backup: mdb_env_copy2 works from a read transaction of its own, so writes carry
 * on committing while it copies, and the copy is one consistent snapshot. The reactor waits for
 * the copy (seconds for a large store); operators run it off-peak or against a replica. */
static int s_backup_op(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *dir = json_string_value(json_object_get(args, "dir"));
    int64_t t0 = hy_now_us();
    int rc = hy_store_backup(ctx->svc->store, dir);
    if (rc != 0)
        return hy_fail(ctx, 422, "backup_failed", "dir", "cannot back up into %s: %s", dir,
                       rc > 0 && rc < 200 ? strerror(rc) : mdb_strerror(rc));
    *result = json_pack("{s:s, s:s, s:I, s:I}", "service", ctx->svc->def->name, "dir", dir,
                        "seq_at_start", (json_int_t)hy_outbox_last(ctx->svc, ctx->txn), "micros",
                        (json_int_t)(hy_now_us() - t0));
    return 200;
}

/* The op and event tables the gateway builds its routes from (describe.h). */
static int s_describe_op(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)args;
    *result = hy_describe_api(ctx->svc->def->api);
    return *result ? 200 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

static const hy_handler_t s_builtin_handlers[] = {
    {"service.describe", s_describe_op},
    {"service.backup", s_backup_op},
    {"events.since", hy_events_since},
    {"audit.list", hy_audit_list},
    {"service.status", s_status_op},
    {0},
};

static hy_handler_fn s_find_handler(const hy_handler_t *table, const char *op)
{
    for (; table && table->op; table++)
        if (strcmp(table->op, op) == 0)
            return table->fn;
    return NULL;
}

/* Finds the spec and handler of an op; *read says whether it may run in a read transaction. */
static const hy_op_spec_t *s_lookup(hy_service_t *self, const char *op, hy_handler_fn *fn, bool *read)
{
    const hy_op_spec_t *spec = hy_spec_find(self->def->api->ops, op);
    if (spec) {
        *fn = s_find_handler(self->def->handlers, op);
        *read = spec->method && strcmp(spec->method, "GET") == 0;
        return *fn ? spec : NULL;
    }
    spec = hy_spec_find(hy_builtin_ops, op);
    *fn = spec ? s_find_handler(s_builtin_handlers, op) : NULL;
    *read = true;
    return *fn ? spec : NULL;
}

/* ---- idempotency --------------------------------------------------------------------------- */

/* The key is scoped to the API key that sent it: two clients can never collide. */
static size_t s_idem_key(const hy_request_t *req, char *buf, size_t n)
{
    int w = snprintf(buf, n, "%s\n%s", req->actor.key_id, req->idem);
    return w < 0 ? 0 : (size_t)w >= n ? n - 1 : (size_t)w;
}

static void s_body_hash(const hy_request_t *req, char hex[65])
{
    char *canon = json_dumps(req->args, JSON_COMPACT | JSON_SORT_KEYS);
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)req->op, strlen(req->op));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    if (canon)
        crypto_hash_sha256_update(&st, (const unsigned char *)canon, strlen(canon));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, 65, h, sizeof h);
    free(canon);
}

/* ---- one request ------------------------------------------------------------------------------ */

static json_t *s_error_reply(const char *id, int status, const char *code, const char *field,
                             const char *detail)
{
    return hy_proto_reply_error(id, status, code, field, detail);
}

/* Handles one parsed request in txn (a read txn, or the batch's write txn). Returns the reply;
 * sets *map_full when the batch must be rerun after growing the map. */
static json_t *s_handle(hy_service_t *self, MDB_txn *txn, const hy_request_t *req,
                        const hy_op_spec_t *spec, hy_handler_fn fn, bool read, bool *map_full)
{
    hy_spec_error_t serr;
    unsigned role = hy_role_parse(req->actor.role);
    if (!(role & spec->roles)) {
        char d[160];
        snprintf(d, sizeof d, "the %s role may not call %s", req->actor.role, req->op);
        return s_error_reply(req->id, 403, "forbidden", NULL, d);
    }
    if (hy_spec_check(spec, req->args, &serr) != 0)
        return s_error_reply(req->id, serr.status, serr.code, serr.field[0] ? serr.field : NULL,
                             serr.detail);

    char ikey[512], hash[65];
    size_t iklen = 0;
    bool use_idem = !read && req->idem && req->idem[0];
    if (use_idem) {
        iklen = s_idem_key(req, ikey, sizeof ikey);
        s_body_hash(req, hash);
        json_t *prior = NULL;
        int rc = hy_store_get_json(txn, self->db_idem, ikey, iklen, &prior);
        if (rc == 0) {
            json_t *reply;
            const char *prior_hash = json_string_value(json_object_get(prior, "h"));
            if (prior_hash && strcmp(prior_hash, hash) == 0) {
                reply = hy_proto_reply_ok(req->id,
                                          (int)json_integer_value(json_object_get(prior, "status")),
                                          json_incref(json_object_get(prior, "result")));
                json_object_set_new(reply, "replayed", json_true());
            } else {
                reply = s_error_reply(req->id, 409, "idempotency_key_reused", NULL,
                                      "this Idempotency-Key was used before with a different request");
            }
            json_decref(prior);
            return reply;
        }
        if (rc != MDB_NOTFOUND) {
            *map_full = rc == MDB_MAP_FULL;
            return s_error_reply(req->id, 500, "internal_error", NULL, "storage error");
        }
    }

    MDB_txn *child = txn;
    int rc;
    if (!read && (rc = mdb_txn_begin(hy_store_env(self->store), txn, 0, &child)) != 0) {
        *map_full = rc == MDB_MAP_FULL;
        return s_error_reply(req->id, 500, "internal_error", NULL, mdb_strerror(rc));
    }
    size_t mark;
    hy_pending_mark(self, &mark);
    hy_ctx_t ctx;
    hy_ctx_init(&ctx, self, child, req);
    json_t *result = NULL;
    int status = fn(&ctx, req->args, &result);
    json_t *reply;
    if (status >= 200 && status < 300 && !ctx.error) {
        if (use_idem) {
            json_t *rec = json_pack("{s:s, s:i, s:O}", "h", hash, "status", status, "result",
                                    result ? result : json_null());
            rc = rec ? hy_store_put_json(child, self->db_idem, ikey, iklen, rec) : ENOMEM;
            json_decref(rec);
            if (rc != 0) {
                json_decref(result);
                hy_fail_mdb(&ctx, rc);
                goto failed;
            }
        }
        if (!read && (rc = mdb_txn_commit(child)) != 0) {
            json_decref(result);
            hy_pending_truncate(self, mark);
            *map_full = rc == MDB_MAP_FULL;
            return s_error_reply(req->id, 500, "internal_error", NULL, mdb_strerror(rc));
        }
        return hy_proto_reply_ok(req->id, status, result);
    }
    json_decref(result);
failed:
    if (!read)
        mdb_txn_abort(child);
    hy_pending_truncate(self, mark);
    if (ctx.mdb_rc == MDB_MAP_FULL)
        *map_full = true;
    if (!ctx.error)
        hy_fail(&ctx, status >= 400 ? status : 500, "internal_error", NULL,
                "the handler returned no result");
    reply = json_pack("{s:s, s:i, s:o}", "id", req->id, "status", ctx.status, "error", ctx.error);
    return reply;
}

/* ---- a batch ------------------------------------------------------------------------------- */

typedef struct {
    hy_request_t req;
    const hy_op_spec_t *spec;
    hy_handler_fn fn;
    bool read;
    bool ok;            /* envelope parsed and op known */
    int64_t start_us;
} s_item_t;

int hy_dispatch_batch(hy_service_t *self, hy_job_t *jobs, size_t n)
{
    s_item_t *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return -1;
    size_t nreads = 0, nwrites = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].start_us = hy_now_us();
        if (hy_proto_parse_request(jobs[i].doc, &items[i].req) != 0) {
            jobs[i].reply = s_error_reply(json_string_value(json_object_get(jobs[i].doc, "id")),
                                          400, "malformed_request", NULL,
                                          "the request envelope is not valid");
            continue;
        }
        items[i].spec = s_lookup(self, items[i].req.op, &items[i].fn, &items[i].read);
        if (!items[i].spec) {
            char d[160];
            snprintf(d, sizeof d, "the %s service has no operation %s", self->def->name,
                     items[i].req.op);
            jobs[i].reply = s_error_reply(items[i].req.id, 404, "unknown_op", NULL, d);
            continue;
        }
        items[i].ok = true;
        items[i].read ? nreads++ : nwrites++;
    }

    MDB_env *env = hy_store_env(self->store);
    int rc, result = 0;
    bool map_full = false;
    if (nreads) {
        MDB_txn *rtxn;
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &rtxn);
        for (size_t i = 0; i < n; i++) {
            if (!items[i].ok || !items[i].read)
                continue;
            jobs[i].reply = rc ? s_error_reply(items[i].req.id, 500, "internal_error", NULL,
                                               mdb_strerror(rc))
                               : s_handle(self, rtxn, &items[i].req, items[i].spec,
                                          items[i].fn, true, &map_full);
        }
        if (rc == 0)
            mdb_txn_abort(rtxn);
    }
    while (nwrites) {
        MDB_txn *wtxn;
        map_full = false;
        hy_pending_truncate(self, 0);
        if ((rc = mdb_txn_begin(env, NULL, 0, &wtxn)) != 0)
            goto write_failed;
        for (size_t i = 0; i < n && !map_full; i++) {
            if (!items[i].ok || items[i].read)
                continue;
            json_decref(jobs[i].reply);
            jobs[i].reply = s_handle(self, wtxn, &items[i].req, items[i].spec, items[i].fn,
                                     false, &map_full);
        }
        if (map_full) {
            mdb_txn_abort(wtxn);
        } else if ((rc = mdb_txn_commit(wtxn)) == 0) {
            break;
        } else if (rc != MDB_MAP_FULL) {
            goto write_failed;
        }
        if ((rc = hy_store_grow(self->store)) != 0)
            goto write_failed;
        continue;
    write_failed:
        hy_log_error("store", "batch of %zu writes failed: %s", nwrites, mdb_strerror(rc));
        hy_pending_truncate(self, 0);
        for (size_t i = 0; i < n; i++) {
            if (!items[i].ok || items[i].read)
                continue;
            json_decref(jobs[i].reply);
            jobs[i].reply = s_error_reply(items[i].req.id, 500, "internal_error", NULL,
                                          "storage error; nothing was changed");
        }
        result = -1;
        break;
    }
    for (size_t i = 0; i < n; i++) {
        int status = (int)json_integer_value(json_object_get(jobs[i].reply, "status"));
        hy_log_request(items[i].req.op, items[i].req.id, status, hy_now_us() - items[i].start_us);
    }
    self->requests += n;
    self->batches++;
    free(items);
    return result;
}

/* ---- test entry points ----------------------------------------------------------------------- */

json_t *hy_service_call(hy_service_t *self, json_t *request)
{
    hy_job_t job = {json_deep_copy(request), NULL};
    hy_dispatch_batch(self, &job, 1);
    hy_pending_truncate(self, 0);   /* no sockets in tests: drop what would be published */
    json_decref(job.doc);
    return job.reply;
}

json_t *hy_service_calls(hy_service_t *self, const char *op, const char *role, const char *idem,
                         const char *args_json, int *status)
{
    json_error_t jerr;
    json_t *args = args_json ? json_loads(args_json, 0, &jerr) : json_object();
    if (!args) {
        fprintf(stderr, "hy_service_calls: bad test JSON: %s\n", jerr.text);
        if (status)
            *status = -1;
        return NULL;
    }
    char id[40];
    hy_new_request_id(id);
    hy_actor_t actor = {"test-key", role, "office-1"};
    json_t *req = hy_proto_request(op, id, &actor, idem, args);
    json_t *reply = hy_service_call(self, req);
    json_decref(req);
    if (status)
        *status = (int)json_integer_value(json_object_get(reply, "status"));
    return reply;
}
