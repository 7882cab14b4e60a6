/*
 * builtins.c — the operations every service answers (spec: hy_builtin_ops in spec.c):
 * events.since (raw, outbox.c), audit.list (outbox.c), service.status, service.backup.
 */
#include <string.h>
#include <unistd.h>

#include "describe.h"
#include "json.h"
#include "log.h"
#include "service_internal.h"

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
    const char *dir = hy_json_str(args, "dir");
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

const hy_handler_t hy_builtin_handlers[] = {
    {"service.describe", s_describe_op},
    {"service.backup", s_backup_op},
    {"events.since", hy_events_since},
    {"audit.list", hy_audit_list},
    {"service.status", s_status_op},
    {0},
};
