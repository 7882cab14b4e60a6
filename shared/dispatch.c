/*
 * dispatch.c — how one request becomes one reply, and how a batch of them becomes one commit.
 *
 * The order of checks is the contract: a well-formed envelope, a known op, an allowed role,
 * arguments of the right shape, then idempotency, then the handler. Anything refused before
 * the handler changes nothing. Handlers run flat in the batch's write transaction; one that
 * fails makes the batch run again without it (hy_dispatch_batch), and a batch with several
 * failures runs each handler in a nested transaction that is rolled back alone: either way
 * one bad request in a batch never spoils the others, and leaves nothing (no record, no
 * counter step, no event) behind.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "fa.h"
#include "log.h"
#include "service_internal.h"

/* Finds the row of an op: the service's own, else a built-in; *read says whether it may run in
 * a read transaction. The row carries its handler (checked at start-up: hy_spec_check_handlers). */
static const hy_op_spec_t *s_lookup(hy_service_t *self, const char *op, bool *read)
{
    const hy_op_spec_t *spec = hy_spec_find(self->def->api->ops, op);
    if (!spec)
        spec = hy_spec_find(hy_builtin_ops, op);
    *read = spec && hy_spec_read_only(spec);
    return spec && hy_spec_runs(spec) ? spec : NULL;
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

/* Records the reply of a key's first request, {"h":hash,"status":N,"result":...}: a raw result's
 * text is written in as it is (not decoded to be encoded again), so a replay answers the same
 * bytes. 0 or an LMDB error. */
static int s_idem_put(hy_service_t *self, MDB_txn *txn, const char *ikey, size_t iklen,
                      const char hash[65], int status, json_t *result)
{
    size_t rlen = 0;
    const char *raw = hy_result_text(result, &rlen);
    char *text = raw ? NULL : hy_json_dump(result ? result : json_null(), NULL);
    if (!raw && !text)
        return ENOMEM;
    if (!raw) {
        raw = text;
        rlen = strlen(text);
    }
    char head[128];
    int hl = snprintf(head, sizeof head, "{\"h\":\"%s\",\"status\":%d,\"result\":", hash, status);
    char *rec = hl > 0 && (size_t)hl < sizeof head ? malloc((size_t)hl + rlen + 1) : NULL;
    int rc = ENOMEM;
    if (rec) {
        memcpy(rec, head, (size_t)hl);
        memcpy(rec + hl, raw, rlen);
        rec[(size_t)hl + rlen] = '}';
        MDB_val k = {iklen, (void *)ikey}, v = {(size_t)hl + rlen + 1, rec};
        rc = mdb_put(txn, self->db_idem, &k, &v, 0);
    }
    free(rec);
    free(text);
    return rc;
}

/* ---- one request ------------------------------------------------------------------------------ */

static json_t *s_error_reply(const char *id, int status, const char *code, const char *field,
                             const char *detail)
{
    return hy_proto_reply_error(id, status, code, field, detail);
}

/* The role's and the arguments' checks of a request (the arguments normalised in place):
 * 0, S_FORBIDDEN, or S_BAD_ARGS with *serr. */
enum { S_FORBIDDEN = 1, S_BAD_ARGS };
static int s_check(const hy_op_spec_t *spec, const hy_request_t *req, hy_spec_error_t *serr)
{
    if (!(hy_role_parse(req->actor.role) & spec->roles))
        return S_FORBIDDEN;
    return hy_spec_check(spec, req->args, serr) != 0 ? S_BAD_ARGS : 0;
}

/* Handles one parsed request in txn (a read txn, or the batch's write txn). Returns the reply;
 * sets *map_full when the batch must be rerun after growing the map. */
static json_t *s_handle(hy_service_t *self, MDB_txn *txn, const hy_request_t *req,
                        const hy_op_spec_t *spec, bool read, bool flat, bool can_park,
                        const char **parked, bool *map_full, bool *rerun)
{
    hy_spec_error_t serr;
    int refused = req->checked ? 0 : s_check(spec, req, &serr);
    if (refused == S_FORBIDDEN) {
        char d[160];
        snprintf(d, sizeof d, "the %s role may not call %s", req->actor.role, req->op);
        return s_error_reply(req->id, 403, "forbidden", NULL, d);
    }
    if (refused == S_BAD_ARGS)
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
            const char *prior_hash = hy_json_str(prior, "h");
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
    bool nested = !read && !flat;
    int rc;
    if (nested && (rc = mdb_txn_begin(hy_store_env(self->store), txn, 0, &child)) != 0) {
        *map_full = rc == MDB_MAP_FULL;
        return s_error_reply(req->id, 500, "internal_error", NULL, mdb_strerror(rc));
    }
    size_t mark = 0;
    if (!read)   /* a reader thread must not touch the reactor's pending list */
        hy_pending_mark(self, &mark);
    /* If-Match: checked here, in the write transaction, before the handler (service_etag.c). */
    const hy_op_spec_t *resource = !read && req->if_match ? hy_etag_resource(self, spec) : NULL;
    char tag[HY_ETAG_HEX + 1];
    if (resource) {
        int e = hy_etag_current(self, child, req, resource, tag);
        if (e < 0 || !hy_etag_matches(req->if_match, e == 0 ? tag : NULL)) {
            if (nested)   /* flat: nothing was written yet, the batch goes on */
                mdb_txn_abort(child);
            hy_pending_truncate(self, mark);
            return e < 0 ? s_error_reply(req->id, 500, "internal_error", NULL, "out of memory")
                         : s_error_reply(req->id, 412, "precondition_failed", "If-Match",
                                         e == 0 ? "the resource has changed since this ETag"
                                                : "the resource does not exist");
        }
    }
    hy_ctx_t ctx;
    hy_ctx_init(&ctx, self, child, req);
    ctx.read = read;
    ctx.can_park = can_park && !read;
    json_t *result = NULL;
    int rc_h = hy_spec_run(spec, &ctx, req->args, &result);
    /* Success is 0 (anything else is a failure: -1 with ctx.error, or HY_PARKED); the reply's
     * status is the row's. */
    bool succeeded = rc_h == 0 && !ctx.error;
    int status = succeeded ? (spec->ok_status ? spec->ok_status : 200) : rc_h;
    json_t *reply;
    if (ctx.park_source) {   /* rolled back whole; runs again from the start later */
        json_decref(result);
        json_decref(ctx.error);
        if (nested)
            mdb_txn_abort(child);
        else if (!read)
            *rerun = true;   /* flat: it may have written; the batch runs again without it */
        hy_pending_truncate(self, mark);
        *parked = ctx.park_source;
        return NULL;
    }
    if (succeeded) {
        if (use_idem) {
            rc = s_idem_put(self, child, ikey, iklen, hash, status, result);
            if (rc != 0) {
                json_decref(result);
                hy_fail_mdb(&ctx, rc);
                goto failed;
            }
        }
        /* The resource's ETag after a conditional write, to chain the next one; a GET's own. */
        bool tagged = resource ? hy_etag_current(self, child, req, resource, tag) == 0
                               : read && spec->method && strcmp(spec->method, "GET") == 0 &&
                                     hy_result_etag_take(&result, tag) == 0;
        if (nested && (rc = mdb_txn_commit(child)) != 0) {
            json_decref(result);
            hy_pending_truncate(self, mark);
            *map_full = rc == MDB_MAP_FULL;
            return s_error_reply(req->id, 500, "internal_error", NULL, mdb_strerror(rc));
        }
        json_t *ok = hy_proto_reply_ok(req->id, status, result);
        if (ok && tagged && json_object_set_new(ok, "etag", json_string(tag)) != 0) {
            json_decref(ok);
            ok = NULL;
        }
        return ok;
    }
    json_decref(result);
failed:
    if (nested)
        mdb_txn_abort(child);
    else if (!read)
        *rerun = true;   /* flat: it may have written; the batch runs again without it */
    if (!read)
        hy_pending_truncate(self, mark);
    if (ctx.mdb_rc == MDB_MAP_FULL)
        *map_full = true;
    if (!ctx.error)
        hy_fail(&ctx, status >= 400 && status < 600 ? status : 500, "internal_error", NULL,
                "the handler returned no result");
    reply = json_pack("{s:s, s:i, s:o}", "id", req->id, "status", ctx.status, "error", ctx.error);
    return reply;
}

/* ---- test hook -------------------------------------------------------------------------------- */

/* Test hook: HY_TEST_READ_GATE=<path> makes every read of op HY_TEST_SLOW_OP wait, inside its
 * read transaction, while <path> exists (at most a minute), after creating <path>.entered, so a
 * test can hold a read open and watch a write commit meanwhile (ordering, not timing). Unset in
 * production. */
static const char *s_gate, *s_slow;
static pthread_once_t s_gate_once = PTHREAD_ONCE_INIT;

static void s_gate_init(void)
{
    s_gate = getenv("HY_TEST_READ_GATE");
    s_slow = getenv("HY_TEST_SLOW_OP");
}

static void s_test_gate(const char *op)
{
    pthread_once(&s_gate_once, s_gate_init);   /* read once: not a lookup per read */
    const char *gate = s_gate, *slow = s_slow;
    if (!gate || !*gate || !slow || strcmp(slow, op) != 0)
        return;
    char entered[1024];
    snprintf(entered, sizeof entered, "%s.entered", gate);
    FILE *f = fopen(entered, "w");
    if (f)
        fclose(f);
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 6000 && access(gate, F_OK) == 0; i++)
        nanosleep(&ts, NULL);
}

/* ---- a batch ------------------------------------------------------------------------------- */

typedef struct {
    hy_request_t req;
    const hy_op_spec_t *spec;
    bool read;
    bool ok;            /* envelope parsed and op known */
    bool done;          /* failed (or parked) in a flat run: its answer stands */
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
            jobs[i].reply = s_error_reply(hy_json_str(jobs[i].doc, "id"),
                                          400, "malformed_request", NULL,
                                          "the request envelope is not valid");
            continue;
        }
        items[i].spec = s_lookup(self, items[i].req.op, &items[i].read);
        items[i].req.checked = jobs[i].checked && items[i].spec && !items[i].read;
        items[i].req.prepared = items[i].req.checked ? jobs[i].prepared : NULL;
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
            if (rc == 0)
                s_test_gate(items[i].req.op);
            jobs[i].reply = rc ? s_error_reply(items[i].req.id, 500, "internal_error", NULL,
                                               mdb_strerror(rc))
                               : s_handle(self, rtxn, &items[i].req, items[i].spec, true,
                                          false, false, NULL, &map_full, NULL);
        }
        if (rc == 0)
            mdb_txn_abort(rtxn);
    }
    /* Writes run flat first: each handler straight in the batch's transaction, with no nested
     * transaction of its own (a nested one copies every page the batch has dirtied that the
     * request touches, and merges its page list back on commit: a third of a registration's
     * cost). A handler that fails (or parks) may have written part of its work, so the batch is
     * rolled back and run again without it; its answer stands, since it saw exactly what it
     * would have seen in a nested run (the requests before it, in order). After two such
     * reruns the batch runs nested, as before: a batch full of failures costs at most three
     * runs, and a failure among thirty successes one. */
    bool flat = true;
    int reruns = 0;
    /* A background step that stopped for these requests left its transaction open
     * (jobs.c): the writes go on in it, its events stay ahead of theirs, and one commit serves
     * both. Rolled back with them (a rerun, a full map, a failed commit), the step is done
     * again by a later one. With no write here it stays held (the reads saw the last commit,
     * from a transaction of their own): the next step goes on in it (jobs.c). */
    MDB_txn *held = nwrites ? self->held : NULL;
    if (held) {
        self->held = NULL;
        self->bg_more = true;   /* the step's work is left to a later one if this rolls back */
    }
    size_t weight = nwrites + (held ? HY_STORE_FLUSH_WEIGHT : 0);
    while (nwrites) {
        MDB_txn *wtxn = held;
        bool rerun = false;
        map_full = false;
        held = NULL;
        if (!wtxn) {
            hy_pending_truncate(self, 0);
            if ((rc = mdb_txn_begin(env, NULL, 0, &wtxn)) != 0)
                goto write_failed;
        }
        for (size_t i = 0; i < n && !map_full && !rerun; i++) {
            if (!items[i].ok || items[i].read || items[i].done)
                continue;
            json_decref(jobs[i].reply);
            jobs[i].park_source = NULL;
            jobs[i].reply = s_handle(self, wtxn, &items[i].req, items[i].spec, false, flat,
                                     self->worker && !jobs[i].no_park,
                                     &jobs[i].park_source, &map_full, &rerun);
            if (rerun && !map_full)
                items[i].done = true;
        }
        if (!map_full && !rerun)   /* background work rides in the batch: one commit for both */
            hy_jobs_background_in(self, wtxn, &map_full);
        if (rerun && !map_full) {
            mdb_txn_abort(wtxn);
            flat = ++reruns < 2;
            self->reruns++;
            continue;
        }
        if (map_full) {
            mdb_txn_abort(wtxn);
        } else {
            /* the next batch is decoded on the intake thread while this one commits */
            hy_intake_prefetch(self->intake, self->worker);
            if ((rc = hy_store_commit(self->store, wtxn, weight)) == 0)
                break;
            if (rc != MDB_MAP_FULL)
                goto write_failed;
        }
        if ((rc = hy_store_grow(self->store)) != 0)
            goto write_failed;
        continue;
    write_failed:
        hy_log_error("store", "batch of %zu writes failed: %s", nwrites, mdb_strerror(rc));
        hy_pending_truncate(self, 0);
        for (size_t i = 0; i < n; i++) {
            if (!items[i].ok || items[i].read || items[i].done)
                continue;
            json_decref(jobs[i].reply);
            jobs[i].reply = s_error_reply(items[i].req.id, 500, "internal_error", NULL,
                                          "storage error; nothing was changed");
        }
        result = -1;
        break;
    }
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].reply)
            continue;   /* parked: logged when it is answered */
        int status = (int)json_integer_value(json_object_get(jobs[i].reply, "status"));
        hy_log_request(items[i].req.op, items[i].req.id, status, hy_now_us() - items[i].start_us);
    }
    self->requests += n;
    self->batches++;
    free(items);
    return result;
}

bool hy_dispatch_precheck(void *arg, json_t *doc, json_t **prepared)
{
    hy_service_t *self = arg;
    hy_request_t req;
    bool read = false;
    const hy_op_spec_t *spec;
    *prepared = NULL;
    if (hy_proto_parse_request(doc, &req) != 0 || !(spec = s_lookup(self, req.op, &read)) || read)
        return false;
    hy_spec_error_t serr;
    if (s_check(spec, &req, &serr) != 0)
        return false;
    if (spec->prepare) {   /* today as the writer's hy_ctx_init will see it */
        char today[11];
        hy_date_today(self->fixed_now ? self->fixed_now : (int64_t)time(NULL), today);
        hy_prepare_env_t env = {today, NULL, self->state};
        if (spec->prepare_reads && hy_store_read_begin(self->store, &env.view) != 0)
            return true;   /* no snapshot: the writer does the work */
        *prepared = spec->prepare(&req, &env);
        hy_store_read_end(self->store, &env.view);
    }
    return true;
}

/* ---- reads on reader threads ------------------------------------------------------------------ */

int hy_dispatch_kind(hy_service_t *self, json_t *doc)
{
    hy_request_t req;
    bool read = false;
    const hy_op_spec_t *spec =
        hy_proto_parse_request(doc, &req) == 0 ? s_lookup(self, req.op, &read) : NULL;
    if (!spec || !read)
        return HY_DISPATCH_WRITE;
    return spec->point_read ? HY_DISPATCH_POINT : HY_DISPATCH_READ;
}

json_t *hy_dispatch_read(hy_service_t *self, json_t *doc)
{
    int64_t start = hy_now_us();
    hy_request_t req;
    bool read = false, map_full = false;
    const hy_op_spec_t *spec = NULL;
    if (hy_proto_parse_request(doc, &req) != 0 || !(spec = s_lookup(self, req.op, &read)) || !read)
        return s_error_reply(hy_json_str(doc, "id"), 500, "internal_error",
                             NULL, "not a read-only request");
    MDB_txn *txn = NULL;
    int rc = hy_store_read_begin(self->store, &txn);
    json_t *reply;
    if (rc != 0) {
        reply = s_error_reply(req.id, 500, "internal_error", NULL, mdb_strerror(rc));
    } else {
        s_test_gate(req.op);
        reply = s_handle(self, txn, &req, spec, true, false, false, NULL, &map_full, NULL);
        hy_store_read_end(self->store, &txn);
    }
    hy_log_request(req.op, req.id, (int)json_integer_value(json_object_get(reply, "status")),
                   hy_now_us() - start);
    self->requests++;
    return reply;
}

/* ---- test entry points ----------------------------------------------------------------------- */

json_t *hy_service_call(hy_service_t *self, json_t *request)
{
    hy_job_t job = {.doc = json_deep_copy(request), .no_park = true};
    hy_dispatch_batch(self, &job, 1);
    hy_pending_truncate(self, 0);   /* no sockets in tests: drop what would be published */
    if (hy_reply_decode_raw(job.reply) != 0) {
        json_decref(job.reply);
        job.reply = s_error_reply(hy_json_str(request, "id"), 500,
                                  "internal_error", NULL, "a raw result is not JSON");
    }
    json_decref(job.doc);
    return job.reply;
}

json_t *hy_service_calls(hy_service_t *self, const char *op, const char *role, const char *idem,
                         const char *args_json, int *status)
{
    return hy_service_calls_as(self, op, role, "office-1", idem, args_json, status);
}

json_t *hy_service_calls_as(hy_service_t *self, const char *op, const char *role,
                            const char *office, const char *idem, const char *args_json,
                            int *status)
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
    hy_actor_t actor = {"test-key", role, office};
    json_t *req = hy_proto_request(op, id, &actor, idem, args);
    json_t *reply = hy_service_call(self, req);
    json_decref(req);
    if (status)
        *status = (int)json_integer_value(json_object_get(reply, "status"));
    return reply;
}
