/*
 * service_internal.h — what the skeleton's own files (service.c, dispatch.c, outbox.c,
 * follow.c) share. Services never include this.
 */
#ifndef HY_SERVICE_INTERNAL_H
#define HY_SERVICE_INTERNAL_H

#include "client.h"
#include "service.h"

#define HY_MAX_SOURCES 8

typedef struct {
    char *topic;
    char *text;
} hy_pending_t;

typedef struct {
    const char *name;
    uint64_t head;          /* highest sequence the source has told us about */
    bool fetching;          /* an events.since request is outstanding */
    char fetch_id[40];
    int64_t fetch_sent_us;
    int64_t next_poll_us;   /* when to ask again even without news */
    bool caught_up;         /* a fetch has come back with less than a full page (or the source
                               has no live worker: nothing to catch up from) */
} hy_source_state_t;

struct hy_service {
    const hy_service_def_t *def;
    hy_store_t *store;
    void *state;
    MDB_dbi db_outbox;      /* u64 seq -> CloudEvent JSON */
    MDB_dbi db_idem;        /* key_id "\n" idempotency key -> {h, reply} */
    MDB_dbi db_audit;       /* DUPSORT entity id -> u64 seq */
    MDB_dbi db_actors;      /* u64 seq -> {key_id, role, office, request_id} */
    MDB_dbi db_cursors;     /* source name -> u64 last applied seq */
    int64_t fixed_now;      /* 0: real clock */

    /* events written by the current batch, published after it commits */
    hy_pending_t *pending;
    size_t npending, cappending;

    /* sockets (absent in tests) */
    void *zctx;
    void *worker;           /* DEALER to the broker */
    void *pub;              /* PUB for our events (may be NULL) */
    void *sub;              /* SUB to the sources' PUB endpoints */
    void *fetcher;          /* DEALER to the broker for asynchronous events.since */
    hy_client_t *client;    /* synchronous client for hy_follow_sync */
    hy_source_state_t sources[HY_MAX_SOURCES];
    int nsources;

    /* counters for service.status */
    uint64_t requests, batches, events_applied;
    int batch_max;
};

/* dispatch.c */
typedef struct {
    json_t *doc;            /* the request document (owned) */
    json_t *reply;          /* set by hy_dispatch_batch (owned) */
} hy_job_t;
/* Runs a batch: reads in one read transaction, writes in one write transaction with a nested
 * transaction each; retries the batch after growing the map when it is full. Every job gets a
 * reply. Returns 0, or -1 when the batch could not be committed (replies are then 500s). */
int hy_dispatch_batch(hy_service_t *self, hy_job_t *jobs, size_t n);
void hy_ctx_init(hy_ctx_t *ctx, hy_service_t *self, MDB_txn *txn, const hy_request_t *req);

/* outbox.c */
void hy_pending_mark(hy_service_t *self, size_t *mark);
void hy_pending_truncate(hy_service_t *self, size_t mark);
void hy_pending_publish(hy_service_t *self);   /* sends and clears */
uint64_t hy_outbox_last(hy_service_t *self, MDB_txn *txn);
int hy_audit_list(hy_ctx_t *ctx, json_t *args, json_t **result);

/* follow.c */
int hy_follow_open(hy_service_t *self);          /* SUB + fetcher sockets */
void hy_follow_on_event(hy_service_t *self);     /* SUB readable */
void hy_follow_on_fetch(hy_service_t *self);     /* fetcher readable */
void hy_follow_tick(hy_service_t *self);         /* periodic catch-up */
bool hy_follow_caught_up(hy_service_t *self);    /* every source caught up once */
/* Applies a page of events in order; returns 0, 1 when it stopped at a gap, or an LMDB error.
 * *applied counts the events that took effect (already-seen ones are skipped). */
int hy_follow_apply_page(hy_service_t *self, MDB_txn *txn, const char *source, json_t *events,
                         uint64_t *applied);
int hy_follow_status(hy_service_t *self, MDB_txn *txn, json_t *out);

#endif
