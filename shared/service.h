/*
 * service.h — the service skeleton every Hamyar service is built on.
 *
 * A service is its op table (NAME_api.c: one row per op, handler included) plus the domain
 * code the handlers call. The skeleton does the rest:
 * configuration (environment and flags), the LMDB store, the DEALER socket to the broker with
 * its heartbeat, the PUB socket for events, one zmq_poll reactor thread, group commit, argument
 * and role checks from the op spec, idempotency, the transactional outbox, the audit trail,
 * following other services' events, structured logs, and clean shutdown on SIGTERM/SIGINT.
 *
 * Group commit: the reactor drains every request waiting on the socket (up to HY_BATCH_MAX),
 * runs each in its own nested write transaction (a refused request rolls back alone), commits
 * the batch once, and only then replies to all and publishes their events. A reply is sent only
 * for a committed write, so an acknowledged write survives kill -9. Events are rows of the
 * outbox written in the same transaction as the state they describe; a crash after commit and
 * before publish loses nothing, since subscribers fetch missed events with events.since.
 *
 * Read-only ops (their spec's read_only, by default GET) do not join the batch: they run on a
 * pool of reader threads (HY_READERS, default 2), each in a read transaction of its own that
 * sees the last committed state, beside the reactor's writes. A point read (its spec's
 * point_read: one record by its key) is answered by the reactor itself, in a read transaction,
 * before the batch of writes it arrived with: two inproc hops would cost more than the read. A
 * request that needs an event not received yet parks (hy_park) rather than waiting inside a
 * transaction.
 *
 * Handlers take a context and decoded arguments and return 0 or -1 with the error in the
 * context; the reply's status on success is the row's ok_status. They know nothing of sockets: tests call them through hy_service_call with no network at all.
 */
#ifndef HY_SERVICE_H
#define HY_SERVICE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "spec.h"
#include "store.h"

typedef struct hy_service hy_service_t;

/* What one request sees. Everything is borrowed for the duration of the handler. */
typedef struct hy_ctx {
    hy_service_t *svc;
    void *state;              /* the service's own state (its dbis), from def->open */
    MDB_txn *txn;             /* this request's (nested) write transaction */
    const hy_request_t *req;  /* op, request id, idempotency key, actor, args */
    int64_t now;              /* Unix seconds; injectable (HY_CLOCK) for tests */
    char today[11];           /* today's date in Tehran, "YYYY-MM-DD" */
    char now_iso[32];         /* now as "YYYY-MM-DDTHH:MM:SSZ" */
    bool read;                /* txn is a read transaction (a read-only op, maybe on a reader
                                 thread): the handler may not write, emit or follow */
    bool can_park;            /* hy_park may park this request (see there) */
    bool in_batch;            /* a background step riding in a batch of requests' transaction:
                                 they wait for its commit (hy_requests_waiting is true) */
    const char *park_source;  /* set by hy_park */
    /* set by hy_fail*; read by the skeleton */
    int status;
    json_t *error;
    int mdb_rc;
} hy_ctx_t;

/* A handler (hy_handler_fn, spec.h: named in its op's row) returns 0 and sets *result (a new
 * reference, owned by the skeleton from then on; the reply's status is the row's ok_status), or
 * returns -1 after hy_fail/hy_fail_mdb, or what hy_park returned. args are borrowed for the
 * call. It must not commit or abort ctx->txn. Domain functions a handler calls answer the same
 * way: 0, or -1 with the error in ctx (LMDB codes stay inside the store layer).
 * Threads: a write op's handler runs on the reactor; a read-only op's (hy_spec_read_only) runs
 * on a reader thread, at the same time as other reads and as the reactor's writes, in a read
 * transaction: it may read ctx->state's dbis, never change anything in ctx->state or globals. */

/* Everything a service tells the skeleton about itself. */
typedef struct {
    const char *name;                 /* "registry": broker service name, event source, data dir */
    const hy_api_t *api;              /* op table (one row per op, with its handler) and id
                                         prefixes (NAME_api.c); checked at start-up
                                         (hy_spec_check_handlers): a bad table stops the service */
    /* Opens the service's databases (hy_store_open_db) and returns its state in *state.
     * Called once at start-up. Returns 0 or an LMDB error. */
    int (*open)(hy_store_t *store, void **state);
    void (*close)(void *state);       /* frees the state; NULL: the state is one malloc block, freed */
    /* Services whose events this one follows (NULL-terminated), and how it applies one event
     * inside ctx->txn (the cursor is advanced by the skeleton in the same transaction).
     * Returns 0, or an LMDB error (which rolls the event back to be applied again later). */
    const char *const *sources;
    int (*apply)(hy_ctx_t *ctx, const char *source, json_t *event);
    /* Empties the service's derived data (projections) so --rebuild can replay every source
     * from zero; the skeleton clears the cursors in the same transaction. NULL = no rebuild. */
    int (*reset)(void *state, MDB_txn *txn);
    /* A replica that starts behind its sources answers no request until it has caught up with
     * every source once (it announces itself to the broker only then), so a new reporting
     * replica never serves stale figures. */
    bool serve_after_catch_up;
    /* Work done in short steps beside the requests (the registry's imports). The reactor calls
     * it between batches, in a write transaction of its own (ctx->req is NULL; the step may
     * point it at a request of its own, e.g. to act as the key that asked for the work), and
     * publishes what it emitted after the commit. Returns 1 when more work waits (called again
     * on the next turn, after any waiting requests), 0 when idle (called again after the next
     * batch of writes, or within a second), or an error status (rolled back; retried a second
     * later; a full map is grown first). Each call must hold the writer a few ms only.
     * While work waits, a batch of write requests also runs one step inside its own
     * transaction, before its commit (nested: a failed step is rolled back alone; ctx->in_batch
     * is set), so the requests and the step share one durable commit. NULL = none. */
    int (*background)(hy_ctx_t *ctx);
    /* Called after apply() has run for a page of events, in the page's transaction: keep is
     * true before the page commits (write what apply() kept in memory for the page, e.g.
     * counters summed over the page; returns 0 or an LMDB error, which rolls the page back),
     * false when the page is rolled back (forget it; the return is ignored). NULL = none:
     * apply() writes everything itself. */
    int (*apply_end)(hy_ctx_t *ctx, bool keep);
} hy_service_def_t;

/* --- errors -------------------------------------------------------------------------------- */
/* Records an error for the reply and returns -1, so a handler can `return hy_fail(...)`.
 * code is a stable machine-readable code, field the offending argument (or NULL), fmt a human
 * sentence. */
int hy_fail(hy_ctx_t *ctx, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Adds a member to the error object (e.g. "existing_id"); steals value. Call after hy_fail. */
void hy_fail_extra(hy_ctx_t *ctx, const char *key, json_t *value);
/* Records an LMDB failure (500 internal_error; MDB_MAP_FULL makes the skeleton grow the map and
 * rerun the batch). Returns -1. */
int hy_fail_mdb(hy_ctx_t *ctx, int rc);
/* The status of an LMDB result: 0 for 0, else -1 after hy_fail_mdb. For
 * `if ((status = hy_mdb_status(ctx, hy_store_put_id(...))) != 0) goto fail;` */
int hy_mdb_status(hy_ctx_t *ctx, int rc);

/* --- parking ------------------------------------------------------------------------------- */
/* A request that needs something a followed source has not sent yet (a person registered a
 * moment ago) is parked instead of waiting: its transaction is rolled back, the reactor serves
 * other requests, and the request runs again from the start once this service has caught up
 * with everything source had committed when the request was parked, or once HY_PARK_MS
 * (default 3000) have passed. A request runs again once at most: hy_park then returns 0.
 * Returns HY_PARKED (return it from the handler as is), or 0 when the request may not park
 * (run again already, a read, or no sockets as in unit tests): the caller refuses it then. */
#define HY_PARKED 1
int hy_park(hy_ctx_t *ctx, const char *source);

/* --- savepoints ------------------------------------------------------------------------------ */
/* Runs fn(ctx, user) in a transaction nested in ctx->txn: kept when fn returns 0, rolled
 * back with the events it emitted otherwise (ctx->status/error keep fn's failure for the caller
 * to read; hy_ctx_clear_error forgets it). A background step uses it to let one bad item fail
 * alone. Returns what fn returned, or -1 when the nested transaction cannot begin or commit. */
int hy_ctx_nested(hy_ctx_t *ctx, int (*fn)(hy_ctx_t *ctx, void *user), void *user);
void hy_ctx_clear_error(hy_ctx_t *ctx);

/* true when requests are waiting for the reactor (or for the commit of the batch the step rides
 * in): a background step past its minimum should end now. Cheap; false with no sockets and
 * outside a batch (tests). */
bool hy_requests_waiting(hy_ctx_t *ctx);

/* --- events and audit ---------------------------------------------------------------------- */
/* Writes one event to the outbox in ctx->txn with the next sequence number and records it in
 * the audit trail of subject with the actor. type is the full type ("registry.person.registered"),
 * subject the entity id, data stolen. It is published after the batch commits.
 * Returns 0 or an LMDB error (pass it to hy_fail_mdb). */
int hy_emit(hy_ctx_t *ctx, const char *type, const char *subject, json_t *data);
/* The same with data already serialised (data_len bytes of one JSON object, borrowed), for a
 * writer that has the text at hand (the registry stores a person and emits her as one text). */
int hy_emit_text(hy_ctx_t *ctx, const char *type, const char *subject, const char *data,
                 size_t data_len);

/* A result that is JSON text already (one object, e.g. a record as stored): takes text (from
 * malloc, len bytes) and returns what a handler sets as *result, or NULL for no memory. The
 * skeleton splices the text into the reply as it is and hashes it for the ETag; nobody decodes
 * it on the way, so a handler should not read or change the returned object. */
json_t *hy_result_raw(char *text, size_t len);

/* The events of this service's outbox after args.after (at most args.limit, default 1000), as
 * {"events":[...],"last_seq":N}: what the built-in events.since answers, for a service that also
 * serves its feed over its own route (the insurance fund's HTTP feed). The stored events are
 * copied into the reply without being decoded: *result is a raw result (an opaque object to
 * return as is, not to read or change). Returns 0, or -1 with the error in ctx. */
int hy_events_since(hy_ctx_t *ctx, json_t *args, json_t **result);
/* A result that is JSON text already (text from malloc, taken; len bytes), as the opaque object
 * to return as *result: spliced into the reply as it is, and hashed as it is for a GET's ETag
 * (a large rendering is then neither copied into a json_t nor serialised again). NULL for no
 * memory (reply.c). */
json_t *hy_result_raw(char *text, size_t len);

/* --- following other services ---------------------------------------------------------------- */
/* Last applied sequence of a source in ctx->txn (0 when none). */
uint64_t hy_follow_cursor(hy_ctx_t *ctx, const char *source);

/* --- running --------------------------------------------------------------------------------- */
/* Parses flags and environment, opens everything, runs the reactor until SIGTERM/SIGINT.
 * Flags: --data DIR, --broker EP, --pub EP, --map-size-mb N, --no-sync, --rebuild, --help.
 * Returns the process exit code. */
int hy_service_main(const hy_service_def_t *def, int argc, char **argv);

/* For tests: a service with its store in dir and no sockets. The clock is fixed at now
 * (Unix seconds; 0 = real clock). Returns NULL on failure. */
hy_service_t *hy_service_new(const hy_service_def_t *def, const char *dir, int64_t now);
void hy_service_destroy(hy_service_t **self_p);

/* For tests: runs one request document (borrowed) exactly as the reactor would (spec check,
 * role check, idempotency, handler, commit) and returns the reply (new reference). */
json_t *hy_service_call(hy_service_t *self, json_t *request);

/* For tests: convenience over hy_service_call; args is JSON text; role a role name; idem may be
 * NULL. Acts for office "office-1" (office keys are confined to it). Returns the reply; *status
 * gets its status. */
json_t *hy_service_calls(hy_service_t *self, const char *op, const char *role, const char *idem,
                         const char *args_json, int *status);
/* The same acting for office (a key of that office; "*" the province; NULL no office):
 * hy_service_calls acts for office "office-1". */
json_t *hy_service_calls_as(hy_service_t *self, const char *op, const char *role,
                            const char *office, const char *idem, const char *args_json,
                            int *status);

/* For tests: runs the service's background steps (def->background) until it is idle or
 * max_steps have run. Returns the number of steps run, or -1 when one failed. */
int hy_service_background(hy_service_t *self, int max_steps);

/* For tests: applies one event of source as if it had arrived on the feed. Returns 0 or -1. */
int hy_service_apply(hy_service_t *self, const char *source, json_t *event);

/* For tests and tools: the service's store. */
hy_store_t *hy_service_store(hy_service_t *self);

/* Default endpoints. HY_BROKER overrides the broker endpoint; HY_PUB_<NAME> (upper case) a
 * service's PUB endpoint. Returned strings are static or from getenv: do not free. */
const char *hy_config_broker(void);
const char *hy_config_pub(const char *service);

#endif
