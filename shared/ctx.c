/*
 * ctx.c — what one request sees: its context, and how a handler fails or parks.
 *
 * Leaf of the skeleton: everything else (dispatch, follow, outbox, builtins) calls in here, and
 * nothing here calls them back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
    return -1;
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

int hy_mdb_status(hy_ctx_t *ctx, int rc)
{
    return rc ? hy_fail_mdb(ctx, rc) : 0;
}

int hy_park(hy_ctx_t *ctx, const char *source)
{
    if (!ctx->can_park || ctx->read)
        return 0;
    ctx->park_source = source;
    return HY_PARKED;
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
    /* The dates of this second, computed once a second per thread rather than per request. */
    static _Thread_local int64_t s_at = -1;
    static _Thread_local char s_today[11], s_iso[32];
    if (ctx->now != s_at) {
        hy_date_today(ctx->now, s_today);
        time_t t = (time_t)ctx->now;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(s_iso, sizeof s_iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
        s_at = ctx->now;
    }
    memcpy(ctx->today, s_today, sizeof ctx->today);
    memcpy(ctx->now_iso, s_iso, sizeof ctx->now_iso);
}
