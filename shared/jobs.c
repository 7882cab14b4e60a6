/*
 * jobs.c — what the reactor does with the requests it drains: run them as one batch (group
 * commit), publish the batch's events, answer each request — or hold the ones that parked.
 *
 * A parked request (hy_park: it needs something a followed source has not sent yet) keeps its
 * document and its client frame here, with the number of a fetch of that source sent after it
 * parked (hy_follow_kick). It runs again, alone or with others woken at the same moment, once
 * that fetch has come back applied (everything the source had committed is then here), or once
 * its deadline has passed; either way it may not park a second time, so it is answered then.
 * Nothing waits inside a transaction, and the other requests never wait for it.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "service_internal.h"

#define DEFAULT_PARK_MS 3000
#define DEFAULT_HOLD_MS 100

struct hy_parked {
    json_t *doc;
    zmq_msg_t client;
    const char *source;
    uint64_t gen;           /* wake once hy_follow_caught_gen(source) >= gen */
    int64_t deadline_us;
};

static int64_t s_park_us(void)
{
    const char *e = getenv("HY_PARK_MS");
    long ms = e && *e ? strtol(e, NULL, 10) : DEFAULT_PARK_MS;
    return (int64_t)(ms > 0 ? ms : DEFAULT_PARK_MS) * 1000;
}

/* Holds a parked job; takes its doc and client. 0, or -1 (no memory: the caller answers). */
static int s_hold(hy_service_t *self, hy_job_t *job, zmq_msg_t *client)
{
    if (hy_array_grow(&self->parked, &self->capparked, self->nparked, sizeof *self->parked, 16) != 0)
        return -1;
    struct hy_parked *p = &self->parked[self->nparked];
    zmq_msg_init(&p->client);
    if (zmq_msg_move(&p->client, client) != 0)
        return -1;
    p->doc = job->doc;
    p->source = job->park_source;
    p->gen = hy_follow_kick(self, job->park_source);
    p->deadline_us = hy_now_us() + s_park_us();
    self->nparked++;
    job->doc = NULL;
    return 0;
}

void hy_jobs_run(hy_service_t *self, hy_job_t *jobs, zmq_msg_t *clients, size_t n)
{
    if (n == 0)
        return;
    hy_dispatch_batch(self, jobs, n);
    hy_pending_publish(self);
    for (size_t i = 0; i < n; i++) {
        json_decref(jobs[i].prepared);   /* a parked request runs again without it */
        jobs[i].prepared = NULL;
        if (!jobs[i].reply && jobs[i].park_source && s_hold(self, &jobs[i], &clients[i]) == 0) {
            zmq_msg_close(&clients[i]);
            continue;
        }
        if (!jobs[i].reply)
            jobs[i].reply = hy_proto_reply_error(hy_json_str(jobs[i].doc, "id"),
                                                 503, "service_busy", NULL, "cannot park the request");
        size_t len = 0;
        char *text = hy_reply_dumps(jobs[i].reply, &len);
        hy_worker_reply(self->worker, zmq_msg_data(&clients[i]), zmq_msg_size(&clients[i]), text,
                        len);
        free(text);
        json_decref(jobs[i].reply);
        json_decref(jobs[i].doc);
        zmq_msg_close(&clients[i]);
    }
}

void hy_jobs_wake(hy_service_t *self)
{
    if (self->nparked == 0)
        return;
    int64_t now = hy_now_us();
    size_t n = 0, keep = 0;
    hy_job_t *jobs = calloc(self->nparked, sizeof *jobs);
    zmq_msg_t *clients = calloc(self->nparked, sizeof *clients);
    if (!jobs || !clients) {
        free(jobs);
        free(clients);
        return;
    }
    for (size_t i = 0; i < self->nparked; i++) {
        struct hy_parked *p = &self->parked[i];
        if (now < p->deadline_us && hy_follow_caught_gen(self, p->source) < p->gen) {
            self->parked[keep++] = *p;
            continue;
        }
        jobs[n] = (hy_job_t){.doc = p->doc, .no_park = true};
        zmq_msg_init(&clients[n]);
        zmq_msg_move(&clients[n], &p->client);
        zmq_msg_close(&p->client);
        n++;
    }
    self->nparked = keep;
    hy_jobs_run(self, jobs, clients, n);
    free(jobs);
    free(clients);
}

void hy_jobs_stop(hy_service_t *self)
{
    for (size_t i = 0; i < self->nparked; i++) {
        json_decref(self->parked[i].doc);
        zmq_msg_close(&self->parked[i].client);
    }
    free(self->parked);
    self->parked = NULL;
    self->nparked = self->capparked = 0;
}

/* ---- background steps ------------------------------------------------------------------------- */

int hy_ctx_nested(hy_ctx_t *ctx, int (*fn)(hy_ctx_t *ctx, void *user), void *user)
{
    MDB_txn *parent = ctx->txn, *child = NULL;
    int rc = mdb_txn_begin(hy_store_env(ctx->svc->store), parent, 0, &child);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    size_t mark = 0;
    hy_pending_mark(ctx->svc, &mark);
    ctx->txn = child;
    int status = fn(ctx, user);
    ctx->txn = parent;
    if (status == 0 && !ctx->error) {
        if ((rc = mdb_txn_commit(child)) == 0)
            return status;
        hy_pending_truncate(ctx->svc, mark);
        return hy_fail_mdb(ctx, rc);
    }
    mdb_txn_abort(child);
    hy_pending_truncate(ctx->svc, mark);
    return status ? status : -1;
}

/* Requests wait for the reactor: on the socket, or decoded by the intake thread. */
static bool s_requests_waiting(hy_service_t *self)
{
    int events = 0;
    size_t len = sizeof events;
    return (self->intake && hy_intake_pending(self->intake) > 0) ||
           (self->worker && zmq_getsockopt(self->worker, ZMQ_EVENTS, &events, &len) == 0 &&
            (events & ZMQ_POLLIN));
}

bool hy_requests_waiting(hy_ctx_t *ctx)
{
    return ctx->in_batch || s_requests_waiting(ctx->svc);
}

void hy_ctx_clear_error(hy_ctx_t *ctx)
{
    json_decref(ctx->error);
    ctx->error = NULL;
    ctx->status = 0;
    ctx->mdb_rc = 0;
}

void hy_jobs_commit_held(hy_service_t *self)
{
    MDB_txn *txn = self->held;
    if (!txn)
        return;
    self->held = NULL;
    hy_intake_prefetch(self->intake, self->worker);
    int rc = hy_store_commit(self->store, txn, HY_STORE_FLUSH_WEIGHT);
    if (rc == 0) {
        hy_pending_publish(self);
        return;
    }
    /* rolled back (the commit freed txn): the step is done again by a later one */
    hy_pending_truncate(self, 0);
    self->bg_more = true;
    hy_log_error("service", "background step not committed: %s", mdb_strerror(rc));
}

void hy_jobs_commit_held_due(hy_service_t *self)
{
    if (!self->held)
        return;
    const char *e = getenv("HY_HOLD_MS");
    long ms = e && *e ? strtol(e, NULL, 10) : DEFAULT_HOLD_MS;
    if (hy_now_us() - self->held_us >= (int64_t)(ms >= 0 ? ms : DEFAULT_HOLD_MS) * 1000)
        hy_jobs_commit_held(self);
}

int hy_jobs_background(hy_service_t *self)
{
    return hy_jobs_step(self, false);
}

int hy_jobs_step(hy_service_t *self, bool hold)
{
    if (!self->def->background)
        return 0;
    hy_jobs_commit_held_due(self);
    for (int attempt = 0; attempt < 8; attempt++) {
        /* a held step not yet due is gone on with: its events stay pending */
        MDB_txn *txn = self->held;
        int64_t began = self->held_us;
        int rc = 0;
        self->held = NULL;
        if (!txn) {
            began = hy_now_us();
            if ((rc = mdb_txn_begin(hy_store_env(self->store), NULL, 0, &txn)) != 0) {
                hy_log_error("store", "background step: %s", mdb_strerror(rc));
                return -1;
            }
            hy_pending_truncate(self, 0);
        }
        hy_ctx_t ctx;
        hy_ctx_init(&ctx, self, txn, NULL);
        int more = self->def->background(&ctx);
        bool map_full = ctx.mdb_rc == MDB_MAP_FULL || more == MDB_MAP_FULL;
        json_decref(ctx.error);
        /* a step may write thousands of rows (an import): weighed as a large commit; the
         * requests that came meanwhile are decoded (and prepared) on the intake thread while
         * it commits, as during a batch's commit */
        bool commit = more == 0 || more == 1;
        /* stopped for the requests that came meanwhile (asked after the step: it stops for
         * them): they go on in this transaction */
        if (more == 1 && !map_full && self->def->sources == NULL &&
            (hold || s_requests_waiting(self))) {
            self->held = txn;
            self->held_us = began;
            self->bg_more = true;
            return more;
        }
        if (commit)
            hy_intake_prefetch(self->intake, self->worker);
        if (commit && (rc = hy_store_commit(self->store, txn, HY_STORE_FLUSH_WEIGHT)) == 0) {
            hy_pending_publish(self);
            self->bg_more = more == 1;
            return more;
        }
        if (commit)
            map_full = rc == MDB_MAP_FULL;   /* the commit failed (and freed txn) */
        else
            mdb_txn_abort(txn);
        hy_pending_truncate(self, 0);
        if (!map_full || hy_store_grow(self->store) != 0) {
            hy_log_error("service", "background step failed (%d); retried later", more);
            return -1;
        }
    }
    return -1;
}

void hy_jobs_background_in(hy_service_t *self, MDB_txn *txn, bool *map_full)
{
    MDB_txn *child = NULL;
    if (!self->def->background || !self->bg_more ||
        mdb_txn_begin(hy_store_env(self->store), txn, 0, &child) != 0)
        return;
    size_t mark = 0;
    hy_pending_mark(self, &mark);
    hy_ctx_t ctx;
    hy_ctx_init(&ctx, self, child, NULL);
    ctx.in_batch = true;
    int more = self->def->background(&ctx), rc = -1;
    json_decref(ctx.error);
    if ((more == 0 || more == 1) && (rc = mdb_txn_commit(child)) == 0) {
        self->bg_more = more == 1;
        return;
    }
    if (rc == -1)
        mdb_txn_abort(child);
    hy_pending_truncate(self, mark);
    *map_full = ctx.mdb_rc == MDB_MAP_FULL || rc == MDB_MAP_FULL;
}

int hy_service_background(hy_service_t *self, int max_steps)
{
    int steps = 0;
    while (steps < max_steps) {
        int more = hy_jobs_background(self);
        if (more < 0)
            return -1;
        steps++;
        if (more == 0)
            break;
    }
    hy_pending_truncate(self, 0);   /* no sockets in tests */
    return steps;
}
