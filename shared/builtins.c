/*
 * builtins.c — the operations every service answers (hy_builtin_ops, spec.h):
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
    unsigned long ahead, full;
    hy_store_usage(self->store, &map, &used);
    hy_store_grows(self->store, &ahead, &full);
    json_t *cursors = json_object();
    if (hy_follow_status(self, ctx->txn, cursors) != 0) {
        json_decref(cursors);
        return hy_fail(ctx, 500, "internal_error", NULL, "cannot read cursors");
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    *result = json_pack("{s:s, s:s, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I}",
                        "service", self->def->name, "host", host, "pid", (json_int_t)getpid(), "seq",
                        (json_int_t)hy_outbox_last(self, ctx->txn), "sources", cursors, "store",
                        "map_bytes", (json_int_t)map, "used_bytes", (json_int_t)used,
                        "grown_ahead", (json_int_t)ahead, "grown_when_full", (json_int_t)full,
                        "requests",
                        (json_int_t)self->requests, "batches", (json_int_t)self->batches,
                        "reruns", (json_int_t)self->reruns, "decoded_ahead",
                        (json_int_t)hy_intake_decoded(self->intake), "events_applied",
                        (json_int_t)self->events_applied);
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
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
    return 0;
}

/* The op and event tables the gateway builds its routes from (describe.h). */
static int s_describe_op(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)args;
    *result = hy_describe_api(ctx->svc->def->api);
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

static const hy_field_t s_since_args[] = {
    {.name = "after", .type = HY_T_INT, .min = 0, .max = INT64_MAX, .doc = "last sequence already seen"},
    {.name = "limit", .type = HY_T_INT, .min = 1, .max = 10000, .doc = "at most this many events (default 1000)"},
    {0},
};
static const hy_field_t s_audit_args[] = {
    {.name = "entity", .type = HY_T_ID, .flags = HY_F_REQ | HY_F_QUERY, .doc = "entity id, e.g. prs_42"},
    {0},
};
static const hy_field_t s_audit_result[] = {
    {.name = "seq", .type = HY_T_INT, .doc = "event sequence"},
    {.name = "type", .type = HY_T_STRING, .doc = "event type: what changed"},
    {.name = "time", .type = HY_T_STRING, .doc = "when (UTC)"},
    {.name = "actor", .type = HY_T_ANY, .doc = "key_id, role, office and request_id of who changed it"},
    {.name = "data", .type = HY_T_ANY, .doc = "the event's data: the change"},
    {0},
};

static const hy_field_t s_backup_args[] = {
    {.name = "dir", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 1000,
     .doc = "an empty or absent directory on the service's host"},
    {0},
};

/* One row per op, as in a service's NAME_api.c (spec.h). */
const hy_op_spec_t hy_builtin_ops[] = {
    {.op = "events.since", .handler = hy_events_since, .roles = HY_ROLE_SERVICE | HY_ROLE_OPERATOR, .args = s_since_args,
     .ok_status = 200, .read_only = 1,
     .summary = "Events after a sequence number, from the outbox"},
    {.op = "audit.list", .handler = hy_audit_list, .method = "GET", .path = "/v1/audit", .roles = HY_ROLE_AUDITOR,
     .args = s_audit_args, .result = s_audit_result, .ok_status = 200, .list = true,
     .read_only = 1, .summary = "Who changed an entity, what and when"},
    {.op = "service.status", .handler = s_status_op, .roles = HY_ROLE_OPERATOR | HY_ROLE_SERVICE, .ok_status = 200,
     .read_only = 1, .summary = "Sequence, cursors and store size of one worker"},
    {.op = "service.backup", .handler = s_backup_op, .roles = HY_ROLE_OPERATOR, .args = s_backup_args, .ok_status = 200,
     .read_only = 1, .summary = "Online, consistent, compacted copy of the worker's LMDB environment"},
    {.op = "service.describe", .handler = s_describe_op, .roles = HY_ROLE_OPERATOR | HY_ROLE_SERVICE, .ok_status = 200,
     .read_only = 1, .summary = "The service's op and event tables and their digest (describe.h)"},
    {0},
};
