/*
 * service.c — flags, start-up, the reactor loop and shutdown of a service.
 *
 * One reactor thread, one zmq_poll over four kinds of socket: requests from the broker, replies
 * handed back by the reader threads (readers.c), events from the services we follow, and
 * replies to our own catch-up requests (follow.c). LMDB writes happen only here, so there is
 * never more than one writer and no lock in sight; reads run beside it in read transactions.
 * Order per turn: apply what the sources sent, wake parked requests (jobs.c), then drain new
 * requests: reads to the readers, writes as one batch (group commit).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "broker.h"
#include "curve.h"
#include "describe.h"
#include "fa.h"
#include "log.h"
#include "service_internal.h"

#define DEFAULT_MAP_MB 64
#define DEFAULT_BATCH_MAX 256
#define DEFAULT_READERS 2

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

/* ---- configuration --------------------------------------------------------------------------- */

static long s_env_long(const char *name, long dflt)
{
    const char *e = getenv(name);
    if (!e || !*e)
        return dflt;
    char *end;
    long v = strtol(e, &end, 10);
    return *end ? dflt : v;
}

/* HY_CLOCK fixes the clock for tests: Unix seconds, or a date (noon UTC of that day). */
static int64_t s_env_clock(void)
{
    const char *e = getenv("HY_CLOCK");
    int y, m, d;
    if (!e || !*e)
        return 0;
    if (hy_date_parse_iso(e, &y, &m, &d) == 0)
        return hy_days_from_civil(y, m, d) * 86400 + 12 * 3600;
    return strtoll(e, NULL, 10);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static hy_service_t *s_new(const hy_service_def_t *def, const char *dir, int64_t now,
                           size_t mapsize, bool durable)
{
    hy_service_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->def = def;
    self->fixed_now = now;
    char why[256];
    if (hy_spec_check_handlers(def->api->ops, why, sizeof why) != 0) {
        hy_log_error("service", "%s: %s", def->name, why);
        free(self);
        return NULL;
    }
    self->batch_max = (int)s_env_long("HY_BATCH_MAX", DEFAULT_BATCH_MAX);
    if (self->batch_max < 1)
        self->batch_max = 1;
    if (sodium_init() < 0)
        goto fail;
    self->store = hy_store_new(dir, mapsize, 64, durable);
    if (!self->store)
        goto fail;
    int rc;
    if ((rc = hy_store_open_db(self->store, "_outbox", 0, &self->db_outbox)) != 0 ||
        (rc = hy_store_open_db(self->store, "_idem", 0, &self->db_idem)) != 0 ||
        (rc = hy_store_open_db(self->store, "_audit", MDB_DUPSORT | MDB_DUPFIXED, &self->db_audit)) != 0 ||
        (rc = hy_store_open_db(self->store, "_actors", 0, &self->db_actors)) != 0 ||
        (rc = hy_store_open_db(self->store, "_cursors", 0, &self->db_cursors)) != 0 ||
        (def->open && (rc = def->open(self->store, &self->state)) != 0)) {
        hy_log_error("service", "cannot open the databases of %s: %s", def->name, mdb_strerror(rc));
        goto fail;
    }
    return self;
fail:
    hy_service_destroy(&self);
    return NULL;
}

hy_service_t *hy_service_new(const hy_service_def_t *def, const char *dir, int64_t now)
{
    return s_new(def, dir, now, (size_t)s_env_long("HY_MAP_SIZE_MB", DEFAULT_MAP_MB) << 20, true);
}

void hy_service_destroy(hy_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_service_t *self = *self_p;
    if (self->held) {   /* not committed: a later run does the step again */
        mdb_txn_abort(self->held);
        self->held = NULL;
    }
    hy_intake_destroy(&self->intake);
    hy_readers_stop(self);
    hy_jobs_stop(self);
    hy_since_free(&self->since);
    hy_pending_truncate(self, 0);
    free(self->pending);
    if (self->worker)
        zmq_close(self->worker);
    if (self->pub)
        zmq_close(self->pub);
    if (self->sub)
        zmq_close(self->sub);
    if (self->fetcher)
        zmq_close(self->fetcher);
    if (self->zctx) {
        hy_curve_zap_stop();
        zmq_ctx_term(self->zctx);
    }
    if (self->state)
        (self->def->close ? self->def->close : free)(self->state);
    hy_store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

hy_store_t *hy_service_store(hy_service_t *self)
{
    return self->store;
}

/* --rebuild: forget every projection and cursor; the follow loop replays from zero. */
static int s_rebuild(hy_service_t *self)
{
    if (!self->def->reset)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(hy_store_env(self->store), NULL, 0, &txn);
    if (rc != 0)
        return rc;
    if ((rc = self->def->reset(self->state, txn)) != 0 || (rc = mdb_drop(txn, self->db_cursors, 0)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    hy_log_info("service", "projections dropped; replaying every source from zero");
    return mdb_txn_commit(txn);
}

/* ---- the reactor ----------------------------------------------------------------------------- */

/* Drains waiting requests: reads go to the reader threads, point reads (spec.h) are answered
 * at once in one read transaction, writes are run as one batch (group commit), published, then
 * answered. jobs/clients hold 2 * batch_max: the writes from the start, point reads from
 * batch_max on. */
static void s_on_requests(hy_service_t *self, hy_job_t *jobs, zmq_msg_t *clients)
{
    size_t n = 0, np = 0, max = (size_t)self->batch_max;
    hy_job_t *pjobs = jobs + max;
    zmq_msg_t *pclients = clients + max;
    for (int budget = self->batch_max; budget > 0 && n < max && np < max; budget--) {
        /* Those taken off the socket during the last commit first (decoded meanwhile), in order */
        bool checked = false;
        json_t *prepared = NULL;
        int rc = hy_intake_take(self->intake, &clients[n], &jobs[n].doc, &checked, &prepared);
        if (rc == 1)
            rc = hy_worker_recv(self->worker, &clients[n], &jobs[n].doc);
        if (rc == 1 || rc == -1)
            break;
        if (rc == 2)
            continue;
        int kind = self->readers ? hy_dispatch_kind(self, jobs[n].doc) : HY_DISPATCH_WRITE;
        if (kind != HY_DISPATCH_WRITE) {   /* only writes are prepared (hy_dispatch_precheck) */
            json_decref(prepared);
            prepared = NULL;
        }
        if (kind == HY_DISPATCH_READ && hy_readers_submit(self, &clients[n], jobs[n].doc) == 0) {
            zmq_msg_close(&clients[n]);   /* the readers keep their own copy */
            continue;
        }
        hy_job_t *job = &jobs[n];
        if (kind == HY_DISPATCH_POINT) {
            pjobs[np].doc = jobs[n].doc;
            zmq_msg_init(&pclients[np]);
            zmq_msg_move(&pclients[np], &clients[n]);
            zmq_msg_close(&clients[n]);
            job = &pjobs[np++];
        } else {
            n++;
        }
        job->reply = NULL;
        job->park_source = NULL;
        job->no_park = false;
        job->checked = checked && kind != HY_DISPATCH_POINT;   /* reads are not prechecked */
        job->prepared = prepared;
    }
    /* Point reads first: they see the last commit, and need not wait for this batch's fsync. */
    hy_jobs_run(self, pjobs, pclients, np);
    hy_jobs_run(self, jobs, clients, n);
}

static int s_open_sockets(hy_service_t *self, const char *broker, const char *pub_bind)
{
    int zero = 0, hwm = 100000;
    self->zctx = zmq_ctx_new();
    if (!self->zctx || hy_curve_init(self->def->name) != 0 || hy_curve_zap_start(self->zctx) != 0)
        return -1;
    self->worker = zmq_socket(self->zctx, ZMQ_DEALER);
    if (!self->worker || zmq_setsockopt(self->worker, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(self->worker, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->worker, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        hy_curve_client(self->worker, hy_curve_broker_name(), broker) != 0 ||
        zmq_connect(self->worker, broker) != 0) {
        hy_log_error("service", "cannot connect to the broker at %s: %s", broker, zmq_strerror(zmq_errno()));
        return -1;
    }
    if (pub_bind && strcmp(pub_bind, "none") != 0) {
        self->pub = zmq_socket(self->zctx, ZMQ_PUB);
        if (!self->pub || zmq_setsockopt(self->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
            zmq_setsockopt(self->pub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            hy_curve_server(self->pub, pub_bind) != 0 || zmq_bind(self->pub, pub_bind) != 0) {
            hy_log_error("service", "cannot bind events at %s: %s", pub_bind, zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    if (hy_follow_open(self) != 0) {
        hy_log_error("service", "cannot follow the sources' events");
        return -1;
    }
    long readers = s_env_long("HY_READERS", DEFAULT_READERS);
    if (readers > 0 && hy_readers_start(self, readers > 64 ? 64 : (int)readers) != 0) {
        hy_log_error("service", "cannot start the reader threads");
        return -1;
    }
    /* HY_INTAKE=0: every request is decoded by the reactor when it takes it (to measure). */
    if (s_env_long("HY_INTAKE", 1) != 0 &&
        !(self->intake = hy_intake_new((size_t)self->batch_max, hy_dispatch_precheck, self))) {
        hy_log_error("service", "cannot start the intake thread");
        return -1;
    }
    return 0;
}

static void s_usage(const char *name)
{
    printf("usage: hamyar-%s [--data DIR] [--broker EP] [--pub EP] [--map-size-mb N] [--no-sync]"
           " [--rebuild]\n"
           "  --data DIR        LMDB environment (default $HY_DATA_DIR/%s, HY_DATA_DIR=./var)\n"
           "  --broker EP       broker endpoint (HY_BROKER, default tcp://127.0.0.1:7100)\n"
           "  --pub EP          where to bind the event PUB socket (HY_PUB_BIND, default\n"
           "                    HY_PUB_%s or the service's loopback port; 'none' for no events)\n"
           "  --map-size-mb N   initial LMDB map size (HY_MAP_SIZE_MB, default %d; grows when full)\n"
           "  --no-sync         do not fsync commits (HY_DURABLE=0; benchmarks only)\n"
           "  --rebuild         drop projections and replay every source from zero\n",
           name, name, name, DEFAULT_MAP_MB);
}

int hy_service_main(const hy_service_def_t *def, int argc, char **argv)
{
    hy_log_init(def->name);
    char data[1024];
    const char *root = getenv("HY_DATA_DIR");
    snprintf(data, sizeof data, "%s/%s", root && *root ? root : "./var", def->name);
    const char *broker = hy_config_broker();
    const char *pub = getenv("HY_PUB_BIND");
    if (!pub || !*pub)
        pub = hy_config_pub(def->name);
    long map_mb = s_env_long("HY_MAP_SIZE_MB", DEFAULT_MAP_MB);
    bool durable = s_env_long("HY_DURABLE", 1) != 0, rebuild = false;
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"broker", required_argument, 0, 'b'},
        {"pub", required_argument, 0, 'p'},  {"map-size-mb", required_argument, 0, 'm'},
        {"no-sync", no_argument, 0, 'n'},    {"rebuild", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': snprintf(data, sizeof data, "%s", optarg); break;
        case 'b': broker = optarg; break;
        case 'p': pub = optarg; break;
        case 'm': map_mb = strtol(optarg, NULL, 10); break;
        case 'n': durable = false; break;
        case 'r': rebuild = true; break;
        case 'h': s_usage(def->name); return 0;
        default: s_usage(def->name); return 2;
        }
    }
    if (map_mb < 1)
        map_mb = DEFAULT_MAP_MB;
    setenv("HY_BROKER", broker, 1);   /* so follow.c and clients agree */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int exit_code = 1;
    hy_job_t *jobs = NULL;
    zmq_msg_t *clients = NULL;
    hy_service_t *self = s_new(def, data, s_env_clock(), (size_t)map_mb << 20, durable);
    if (!self)
        return 1;
    if (rebuild && s_rebuild(self) != 0)
        goto done;
    if (s_open_sockets(self, broker, pub) != 0)
        goto done;
    jobs = calloc(2 * (size_t)self->batch_max, sizeof *jobs);   /* writes, then point reads */
    clients = calloc(2 * (size_t)self->batch_max, sizeof *clients);
    if (!jobs || !clients)
        goto done;
    hy_log_info("service", "%s ready: data %s, broker %s, events %s, %s commits", def->name, data,
                broker, pub, durable ? "durable" : "UNSYNCED");
    int64_t next_ready = 0, bg_at = 0;   /* next background step (0: at once) */
    self->bg_more = true;                 /* resume work left by the last run at start-up */
    while (!s_interrupted) {
        int64_t now = hy_now_us();
        if (now >= next_ready && (!def->serve_after_catch_up || hy_follow_caught_up(self))) {
            hy_worker_ready(self->worker, def->name, hy_describe_digest(def->api));
            next_ready = now + (int64_t)HY_BROKER_HEARTBEAT_MS * 1000;
        }
        hy_follow_tick(self);
        zmq_pollitem_t items[4];
        int nitems = 0, i_readers = -1, i_sub = -1, i_fetch = -1;
        items[nitems++] = (zmq_pollitem_t){self->worker, 0, ZMQ_POLLIN, 0};
        if (self->readers) {
            i_readers = nitems;
            items[nitems++] = (zmq_pollitem_t){hy_readers_socket(self), 0, ZMQ_POLLIN, 0};
        }
        if (self->sub) {
            i_sub = nitems;
            items[nitems++] = (zmq_pollitem_t){self->sub, 0, ZMQ_POLLIN, 0};
            i_fetch = nitems;
            items[nitems++] = (zmq_pollitem_t){self->fetcher, 0, ZMQ_POLLIN, 0};
        }
        /* 0 only while background work waits: a service with none must sleep in its poll */
        int rc = zmq_poll(items, nitems,
                          hy_intake_pending(self->intake) ||
                                  (def->background && self->bg_more && now >= bg_at) ? 0 : 100);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            hy_log_error("service", "poll failed: %s", zmq_strerror(zmq_errno()));
            break;
        }
        /* What the sources sent first, so a request sees every event that reached us before it */
        if (i_sub >= 0 && (items[i_sub].revents & ZMQ_POLLIN))
            hy_follow_on_event(self);
        if (i_fetch >= 0 && (items[i_fetch].revents & ZMQ_POLLIN))
            hy_follow_on_fetch(self);
        hy_jobs_wake(self);
        if ((items[0].revents & ZMQ_POLLIN) || hy_intake_pending(self->intake)) {
            s_on_requests(self, jobs, clients);
            self->bg_more = true;   /* a write may have queued work */
        }
        if (i_readers >= 0 && (items[i_readers].revents & ZMQ_POLLIN))
            hy_readers_on_reply(self);
        hy_jobs_commit_held_due(self);   /* held for requests that were no writes, long enough */
        now = hy_now_us();
        if (def->background && (self->bg_more || now >= bg_at + 1000000) && now >= bg_at) {
            int more = hy_jobs_background(self);
            self->bg_more = more == 1;
            bg_at = more < 0 ? now + 1000000 : more == 0 ? now : 0;
        }
    }
    hy_jobs_commit_held(self);
    hy_log_info("service", "%s stopping", def->name);
    exit_code = 0;
done:
    free(jobs);
    free(clients);
    hy_service_destroy(&self);
    return exit_code;
}
