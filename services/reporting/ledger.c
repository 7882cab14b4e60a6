/*
 * ledger.c — submitted reports and office targets: what people write through reporting, kept
 * by one owner, the registry, and followed by every replica.
 *
 * Reporting runs as several replicas, each with its own projections, load-balanced under one
 * service name. A submission or a target set on one replica must be the one every replica
 * answers, byte for byte, with one sequence of ids. So a replica does not keep them itself:
 *
 *   1. the replica that takes the request computes and checks (submissions.c: the frozen
 *      report, its as_of and drill-down ids; targets.c: known indicators, whole numbers);
 *   2. it asks the registry to record it (rp_ledger_ask: ops reports.record and
 *      offices.targets_set, services/registry/reports_owned.c). The request runs on a reader
 *      thread (the ops' rows say read_only), in no write transaction: the reactor and its batch
 *      never wait for the registry. The registry numbers it (sub_N), stamps and signs it, stores
 *      it and publishes registry.report.submitted / registry.office.targets_set;
 *   3. every replica, the one that took it included, applies those events like any other
 *      (rp_owned_apply, submissions.c), in the transaction that moves its registry cursor, and
 *      stores the event's data compact (hy_store_put_json): jansson keeps the keys in the order
 *      it read them, the registry's canonical order (sorted), so every replica stores the
 *      registry's canonical bytes, and again after --rebuild, which replays them (the two
 *      databases here are not dropped: a replay writes the same bytes again).
 *
 * A replica asked for a submission it has not received yet parks the request until it has
 * caught up with the registry (submissions.c). The registry's reply is the recorded document,
 * answered to the client as is.
 *
 * Clients: a ZeroMQ socket is used by one thread at a time, so the reader threads share a small
 * pool of broker clients (shared/client_pool.h), closed with the service.
 *
 * Before issue 16 each replica kept these in an LMDB environment of its own (DATA/ledger); that
 * environment is no longer read (a warning at start names it; see README, reporting).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client_pool.h"
#include "log.h"
#include "reporting.h"

#define OWNER "registry"
#define OWNER_TIMEOUT_MS 4000   /* below the gateway's default deadline */
#define OWNER_POOL 8   /* idle clients kept */

/* A replica's own ledger from before issue 16 is not read any more: said once, at start. */
static void s_old_ledger(hy_store_t *store)
{
    const char *data = NULL;
    char path[4096];
    struct stat sb;
    if (mdb_env_get_path(hy_store_env(store), &data) == 0 && data &&
        snprintf(path, sizeof path, "%s/ledger/data.mdb", data) < (int)sizeof path && stat(path, &sb) == 0)
        hy_log_warn("reporting", "%s holds submissions and targets this replica kept before the registry "
                    "owned them; it is no longer read", path);
}

int rp_ledger_open(hy_store_t *store, reporting_t *st)
{
    s_old_ledger(store);
    int rc = hy_store_open_db(store, "reporting.subs", 0, &st->subs);
    if (rc == 0)
        rc = hy_store_open_db(store, "reporting.targets", 0, &st->targets);
    if (rc)
        return rc;
    st->owner = hy_client_pool_new(hy_config_broker(), OWNER_POOL);
    return st->owner ? 0 : ENOMEM;
}

void rp_ledger_close(reporting_t *st)
{
    hy_client_pool_destroy(&st->owner);
}

int rp_ledger_ask(hy_ctx_t *ctx, const char *op, json_t *args, json_t **out)
{
    hy_client_pool_t *o = reporting_state(ctx)->owner;
    char id[40];
    hy_new_request_id(id);
    json_t *req = ctx->req ? hy_proto_request(op, id, &ctx->req->actor, ctx->req->idem, args) : NULL;
    if (!ctx->req)
        json_decref(args);
    hy_client_t *c = req ? hy_client_pool_take(o) : NULL;
    if (!c) {
        json_decref(req);
        return hy_fail(ctx, 503, "owner_unavailable", NULL, "the registry, which records this, cannot be asked");
    }
    json_t *reply = NULL, *result = NULL, *error = NULL;
    int rc = hy_client_call(c, OWNER, req, OWNER_TIMEOUT_MS, &reply), status = 0;
    json_decref(req);
    hy_client_pool_give(o, c);
    if (rc == HY_CLIENT_TIMEOUT)
        return hy_fail(ctx, 504, "owner_timeout", NULL,
                       "the registry did not answer in time (the record may have been made)");
    if (rc != HY_CLIENT_OK || hy_proto_parse_reply(reply, &status, &result, &error) != 0) {
        json_decref(reply);
        return hy_fail(ctx, 503, "owner_unavailable", NULL, "the registry's answer cannot be read");
    }
    if (status >= 200 && status < 300 && result) {
        *out = json_incref(result);
        json_decref(reply);
        return 0;
    }
    const char *code = hy_json_str(error, "code"), *detail = hy_json_str(error, "detail");
    hy_fail(ctx, status >= 400 && status < 600 ? status : 502, code ? code : "owner_error",
            hy_json_str(error, "field"), "%s", detail ? detail : "the registry refused it");
    json_decref(reply);
    return -1;
}
