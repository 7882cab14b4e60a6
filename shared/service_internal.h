/*
 * service_internal.h — what the skeleton's own files (service.c, dispatch.c, outbox.c,
 * follow.c) share. Services never include this.
 */
#ifndef HY_SERVICE_INTERNAL_H
#define HY_SERVICE_INTERNAL_H

#include <stdatomic.h>
#include <zmq.h>

#include "service.h"
#include "client.h"   /* hy_new_request_id */
#include "since.h"

#define HY_MAX_SOURCES 8

typedef struct {
    char *topic;
    char *text;
} hy_pending_t;

typedef struct {
    const char *name;
    _Atomic uint64_t head;  /* highest sequence the source has told us about (read by readers) */
    bool fetching;          /* an events.since request is outstanding */
    char fetch_id[40];
    int page_limit;         /* events to ask for next: grows while pages come back full */
    uint64_t fetch_gen;     /* number of the fetch in flight (each fetch sent gets the next) */
    uint64_t gen_sent;      /* fetches sent so far */
    uint64_t gen_caught;    /* the latest fetch that came back with the source's head applied */
    bool refetch;           /* a request is parked: fetch again once the one in flight is back */
    int64_t fetch_sent_us;
    int64_t next_poll_us;   /* when to ask again even without news */
    bool caught_up;         /* a fetch has come back with less than a full page (or the source
                               has no live worker: nothing to catch up from) */
    /* An event of this source parked (hy_park from def->apply: it names something park_on has
     * not sent yet): nothing of this source is applied until park_on has caught up with what
     * it had when the event parked (park_gen), or park_deadline_us passes (then it is tried
     * again, and may park again). The event then runs once with parking off (release_seq). */
    const char *park_on;
    uint64_t park_seq, park_gen, release_seq;
    int64_t park_deadline_us;
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
    hy_source_state_t sources[HY_MAX_SOURCES];
    int nsources;
    struct hy_readers *readers;   /* reader threads for read-only ops (NULL: reads run here) */
    struct hy_intake *intake;     /* decodes the next batch during a commit (NULL: not ahead) */
    struct hy_parked *parked;     /* parked requests (jobs.c) */
    hy_since_t since;             /* the last events.since page walked (follow.c) */
    size_t nparked, capparked;

    /* counters for service.status (read by reader threads) */
    _Atomic uint64_t requests, batches, events_applied;
    _Atomic uint64_t reruns;   /* write batches run again without a request that failed in them */
    int batch_max;
    bool bg_more;           /* def->background said more work waits (jobs.c, service.c) */
    MDB_txn *held;          /* a background step stopped for requests, left open for their
                             * batch to go on in and commit with (jobs.c, dispatch.c) */
    int64_t held_us;        /* when the held step's transaction began */
};

/* dispatch.c */
typedef struct {
    json_t *doc;            /* the request document (owned) */
    json_t *reply;          /* set by hy_dispatch_batch (owned); NULL when parked */
    const char *park_source;/* set by hy_dispatch_batch when the handler parked it */
    bool no_park;           /* run again after parking: may not park twice */
    bool checked;           /* its role and arguments were checked on the intake thread */
    json_t *prepared;       /* what its op's prepare made there (owned), or NULL */
} hy_job_t;

/* Runs a batch: reads in one read transaction, writes in one write transaction with a nested
 * transaction each; retries the batch after growing the map when it is full. Every job gets a
 * reply. Returns 0, or -1 when the batch could not be committed (replies are then 500s). */
int hy_dispatch_batch(hy_service_t *self, hy_job_t *jobs, size_t n);
/* ctx.c: a fresh context for a request in txn (borrowed, like req). */
void hy_ctx_init(hy_ctx_t *ctx, hy_service_t *self, MDB_txn *txn, const hy_request_t *req);
/* What a request document (borrowed) asks for: a known read-only op goes to a reader thread
 * (HY_DISPATCH_READ), unless its spec marks it a point read (HY_DISPATCH_POINT: the reactor runs
 * it itself, in a read transaction, before the batch of writes); anything else, a malformed
 * envelope or an unknown op included, joins the batch of writes (which refuses the bad ones). */
enum { HY_DISPATCH_WRITE, HY_DISPATCH_READ, HY_DISPATCH_POINT };
int hy_dispatch_kind(hy_service_t *self, json_t *doc);
/* Runs one read-only request in a read transaction of its own (hy_store_read_begin), on any
 * thread: touches no state of the reactor but atomic counters. Returns the reply (new ref). */
json_t *hy_dispatch_read(hy_service_t *self, json_t *doc);
/* For a write: checks the role and the arguments of a request document (normalising them in
 * place, as the batch would) on any thread; true when both pass, so the batch need not check
 * them again, and then *prepared gets what the op's prepare made (spec.h; new reference or
 * NULL). Touches nothing but doc. */
bool hy_dispatch_precheck(void *self, json_t *doc, json_t **prepared);

/* readers.c: the pool of reader threads (the reactor is their only client).
 * hy_readers_start starts n threads and binds the hand-off socket in self->zctx; returns 0 or -1.
 * hy_readers_socket is the socket the reactor polls for readers' replies.
 * hy_readers_submit takes over doc and a copy of the client frame; returns 0 or -1 (then doc is
 * still the caller's). hy_readers_on_reply forwards finished replies to the broker and hands
 * queued requests to idle readers. hy_readers_stop asks each thread to finish and joins them. */
struct hy_readers;
int hy_readers_start(hy_service_t *self, int n);
void *hy_readers_socket(hy_service_t *self);
int hy_readers_submit(hy_service_t *self, zmq_msg_t *client, json_t *doc);
void hy_readers_on_reply(hy_service_t *self);
void hy_readers_stop(hy_service_t *self);

/* worker.c: the worker side of the broker protocol on the DEALER socket (docs/protocol.md).
 * hy_worker_ready announces (and heartbeats) the service; returns 0 or -1.
 * hy_worker_recv receives one request without waiting: 0 with *client (to close) and *doc (new
 * reference; an unparsable body becomes {"id":""}, refused as malformed), 1 when nothing is
 * waiting, 2 for a message that is not a request (dropped), -1 on a socket error.
 * hy_worker_reply sends the reply text for the client frame; logs and drops it on error. */
int hy_worker_ready(void *sock, const char *service, const char *digest);
int hy_worker_recv(void *sock, zmq_msg_t *client, json_t **doc);
/* The same, undecoded: *body (to close) is the request's JSON text; hy_worker_decode turns it
 * into the document hy_worker_recv gives (new reference). */
int hy_worker_recv_raw(void *sock, zmq_msg_t *client, zmq_msg_t *body);
json_t *hy_worker_decode(zmq_msg_t *body);

/* intake.c: the next batch's requests decoded on a thread of their own while this batch
 * commits. hy_intake_new starts the thread (room for cap requests); NULL on failure.
 * hy_intake_prefetch takes every request waiting on sock (without waiting, up to cap) and starts
 * decoding them; it does nothing while earlier ones are still to be taken; returns how many.
 * hy_intake_pending says how many are still to be taken; hy_intake_take hands over the next
 * (waiting for the decoding): 0 with *client (to close), *doc (new reference; an unparsable
 * body is {"id":""}), *checked (check(arg, doc, prepared) passed on the thread: for the
 * reactor, hy_dispatch_precheck) and *prepared (new reference or NULL), 1 when none is left. hy_intake_decoded counts them (service.status).
 * hy_intake_destroy joins the thread and drops what was not taken; safe on NULL. All are
 * no-ops on NULL. */
typedef struct hy_intake hy_intake_t;
typedef bool (*hy_intake_check_fn)(void *arg, json_t *doc, json_t **prepared);
hy_intake_t *hy_intake_new(size_t cap, hy_intake_check_fn check, void *arg);
void hy_intake_destroy(hy_intake_t **self_p);
size_t hy_intake_prefetch(hy_intake_t *self, void *sock);
size_t hy_intake_pending(const hy_intake_t *self);
int hy_intake_take(hy_intake_t *self, zmq_msg_t *client, json_t **doc, bool *checked,
                   json_t **prepared);
uint64_t hy_intake_decoded(const hy_intake_t *self);
void hy_worker_reply(void *sock, const void *client, size_t client_len, const char *text,
                     size_t len);

/* reply.c: a result that is JSON text already (hy_result_raw, service.h); hy_reply_dumps
 * encodes a reply (borrowed) splicing such a result in (malloc'd text, *len its length, or
 * NULL); hy_reply_decode_raw turns a raw result back into JSON in place (tests; 0 or -1). */
/* hy_result_etag: the entity tag of a result (borrowed; raw or not), BLAKE2b-128 of the JSON
 * text the client gets, as hex into out; 0, or -1 on allocation failure. An object only the
 * caller holds is left as the raw result of that text, so the reply does not encode it again. */
#define HY_ETAG_HEX 32
int hy_result_etag(json_t *result, char out[HY_ETAG_HEX + 1]);
/* The same for the result a reply is about to carry: a result held elsewhere too (so not changed
 * in place) is swapped in *result for the raw result of the text hashed (the old reference
 * released), so the reply never encodes it a second time either. 0, or -1 (*result unchanged). */
int hy_result_etag_take(json_t **result, char out[HY_ETAG_HEX + 1]);
char *hy_reply_dumps(json_t *reply, size_t *len);
/* The text of a raw result (borrowed from it; *len its bytes), or NULL when result is plain. */
const char *hy_result_text(const json_t *result, size_t *len);
int hy_reply_decode_raw(json_t *reply);

/* service_etag.c: If-Match (RFC 9110 13.1.1) checked by the writer.
 * hy_etag_resource finds the GET op that reads the resource a write op's path names (the same
 * path, else the path with its last segments dropped, while it still has a parameter); NULL
 * when there is none.
 * hy_etag_current runs that GET's handler for req (its path parameters) in txn and puts its
 * ETag in out; returns 0, 1 when the resource does not exist (its handler refused), -1 on failure.
 * hy_etag_matches says whether an If-Match field value (a list of strong tags, or *) matches
 * the current tag (NULL: no current representation). */
const hy_op_spec_t *hy_etag_resource(hy_service_t *self, const hy_op_spec_t *write);
int hy_etag_current(hy_service_t *self, MDB_txn *txn, const hy_request_t *req,
                    const hy_op_spec_t *get, char out[HY_ETAG_HEX + 1]);
bool hy_etag_matches(const char *if_match, const char *current);

/* jobs.c: requests from the socket, run as one batch, then published and answered, or parked.
 * hy_jobs_run takes over each job's doc and client frame (clients[i] closed on return).
 * hy_jobs_wake runs parked requests whose source has caught up or whose time is up.
 * hy_jobs_stop frees parked requests unanswered (shutdown). */
void hy_jobs_run(hy_service_t *self, hy_job_t *jobs, zmq_msg_t *clients, size_t n);
void hy_jobs_wake(hy_service_t *self);
void hy_jobs_stop(hy_service_t *self);
/* One step of def->background in a write transaction of its own (or the held step's, while
 * it is not due: hy_jobs_commit_held_due), published after the commit:
 * 1 when more work waits, 0 when idle or there is no background work, -1 when it failed.
 * When the step stopped with work left because requests wait (hold: hy_jobs_background asks
 * the socket and the intake thread), its transaction is not committed but left in self->held:
 * the next batch of writes goes on in it (hy_dispatch_batch), and one durable commit serves
 * both, so a request that came during a step waits for one commit, not two. Only in a service
 * that follows no sources (whose follow loop opens write transactions of its own). */
int hy_jobs_background(hy_service_t *self);
/* The same; hold: keep a step that stopped with work left open as if requests waited (tests). */
int hy_jobs_step(hy_service_t *self, bool hold);
/* Commits and publishes a held step (self->held) that no batch of writes took: before any
 * other write transaction of the reactor. Nothing when none is held. */
void hy_jobs_commit_held(hy_service_t *self);
/* The same once the held step's transaction has been open HY_HOLD_MS (default 100): a step
 * held for requests that were reads (served from a read transaction of their own, so they see
 * the last commit) is gone on with by the next step, in the same transaction, rather than
 * committed at once: a page polling an import's progress must not cut its commits short, each
 * of which writes most leaves of the random-keyed indexes again. */
void hy_jobs_commit_held_due(hy_service_t *self);
/* One step of def->background inside a batch's write transaction txn, nested (rolled back alone
 * when it fails), when bg_more says work waits. Sets *map_full when the map must grow. */
void hy_jobs_background_in(hy_service_t *self, MDB_txn *txn, bool *map_full);

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
/* Makes sure a fetch of source is sent from now on and returns its number: once
 * hy_follow_caught_gen reaches it, everything the source had committed before the call has
 * been applied. Returns 0 for a source this service does not follow. */
uint64_t hy_follow_kick(hy_service_t *self, const char *source);
uint64_t hy_follow_caught_gen(hy_service_t *self, const char *source);
/* Applies a page of events in order, in txn (unit tests feed pages this way); returns 0, 1 when
 * it stopped at a gap, or an LMDB error. *applied counts the events that took effect
 * (already-seen ones are skipped). */
int hy_follow_apply_page(hy_service_t *self, MDB_txn *txn, const char *source, json_t *events,
                         uint64_t *applied);
int hy_follow_status(hy_service_t *self, MDB_txn *txn, json_t *out);

#endif
