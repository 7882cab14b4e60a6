/*
 * follow.c — following other services' events with a durable cursor (the Clone pattern).
 *
 * The owner of the data is the only sequencer. We keep, per source, the last sequence applied,
 * in the same transaction as the effect of applying it, so an event is applied exactly once in
 * effect even across kill -9. PUB messages are a fast path: one whose sequence is exactly
 * cursor+1 is applied at once; anything else (a gap, a slow joiner, a restart) is fetched with
 * events.since through the broker, asynchronously so the reactor keeps serving requests, and a
 * periodic poll catches the tail that no later message would reveal.
 *
 * An event that names something another source has not sent yet (a loan to a person the
 * registry's events have not brought) parks its source: def->apply calls hy_park, the page is
 * applied up to the event before it, the other source is asked to catch up (hy_follow_kick), and
 * nothing more of the parked source is applied until that source has caught up with what it had
 * then (the event runs again with parking off: what is still unknown is unknown) or the park
 * deadline passes (it runs again and may park again; not while that source is still in its
 * first catch-up, which the event waits for whole). Nothing waits inside a transaction, and the
 * other sources and every request go on meanwhile.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "json.h"
#include "curve.h"
#include "log.h"
#include "outbox.h"
#include "service_internal.h"
#include "since.h"

#define FETCH_LIMIT 10000   /* events per page at most (events.since allows up to 10000) */
#define FETCH_FIRST 1000    /* the first page of a catch-up; each full page doubles the next */
#define POLL_IDLE_MS 1000
#define FETCH_TIMEOUT_MS 5000
#define PARK_MS 3000        /* a parked source tries again after this (HY_PARK_MS) */
#define BATCH_PAGES 16      /* a catching-up replica's pages of one source per transaction */
#define BATCH_MIN_EVENTS 2500 /* ... when they are this large (a small catch-up commits each;
                                 HY_BATCH_MIN_EVENTS for tests) */
#define BATCH_WAIT_MS 2000  /* how long an open batch waits for the source's next page */

static hy_source_state_t *s_source(hy_service_t *self, const char *name)
{
    for (int i = 0; i < self->nsources; i++)
        if (strcmp(self->sources[i].name, name) == 0)
            return &self->sources[i];
    return NULL;
}

static size_t s_cursor_key(const char *source, char *buf, size_t n)
{
    int w = snprintf(buf, n, "src:%s", source);
    return (size_t)w < n ? (size_t)w : n - 1;
}

static uint64_t s_cursor(hy_service_t *self, MDB_txn *txn, const char *source)
{
    char key[80];
    size_t kl = s_cursor_key(source, key, sizeof key);
    MDB_val k = {kl, key}, v;
    if (mdb_get(txn, self->db_cursors, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return hy_key_u64_get(v.mv_data);
}

static int s_set_cursor(hy_service_t *self, MDB_txn *txn, const char *source, uint64_t seq)
{
    char key[80];
    uint8_t val[8];
    size_t kl = s_cursor_key(source, key, sizeof key);
    hy_key_u64(seq, val);
    MDB_val k = {kl, key}, v = {8, val};
    return mdb_put(txn, self->db_cursors, &k, &v, 0);
}

uint64_t hy_follow_cursor(hy_ctx_t *ctx, const char *source)
{
    return s_cursor(ctx->svc, ctx->txn, source);
}

/* Test hook: HY_TEST_KILL_MID_PAGE=<marker> kills the process (SIGKILL) half-way through the
 * first page of two events or more, before its transaction commits, and creates <marker> so
 * that the restarted process carries on; HY_TEST_KILL_MID_BATCH=<marker> the same in the first
 * page that joins a catch-up batch (earlier pages applied, none committed). Unset in
 * production. */
static void s_test_kill_mid_page(size_t done, size_t total, bool joined)
{
    static const char *marker, *batch_marker;
    static bool looked;
    if (!looked) {   /* once: this runs for every event applied */
        marker = getenv("HY_TEST_KILL_MID_PAGE");
        batch_marker = getenv("HY_TEST_KILL_MID_BATCH");
        looked = true;
    }
    if (joined && batch_marker && *batch_marker)
        marker = batch_marker;
    else if (batch_marker && *batch_marker)
        return;
    if (!marker || !*marker || total < 2 || done != total / 2 || access(marker, F_OK) == 0)
        return;
    FILE *f = fopen(marker, "w");
    if (f)
        fclose(f);
    raise(SIGKILL);
}

/* A page to apply: events decoded already (events), or spans of a reply text (items), decoded
 * one at a time as they are applied; an event already seen is not even decoded. With can_park
 * (the follower's own pages, not hy_service_apply's) an event may park its source: s_apply then
 * says which (parked_seq, park_on), and the page is applied again up to stop. */
typedef struct {
    json_t *events;
    const hy_since_item_t *items;
    size_t n;
    bool can_park;
    bool joined;            /* applied in a catch-up batch with earlier pages (the kill hook) */
    uint64_t stop;          /* apply only the events before this sequence (0: all) */
    uint64_t parked_seq;    /* set by s_apply when it returns S_PARKED */
    const char *park_on;
} s_page_t;

#define S_GAP 1
#define S_PARKED 2

/* The events of the page after *cur, applied in ctx (its can_park and error are per event):
 * *cur advances with each. Returns 0, S_GAP (stopped at a gap), S_PARKED, or an error. */
static int s_apply_events(hy_service_t *self, hy_ctx_t *ctx, const char *source, s_page_t *page,
                          hy_source_state_t *src, uint64_t *cur, uint64_t *applied)
{
    for (size_t i = 0; i < page->n; i++) {
        json_t *ev = page->events ? json_array_get(page->events, i) : NULL;
        uint64_t seq = ev ? hy_event_seq(ev) : page->items[i].seq;
        if (seq <= *cur)
            continue;   /* seen already */
        if (page->stop && seq >= page->stop)
            return 0;
        if (seq != *cur + 1)
            return S_GAP;
        json_t *decoded = ev ? NULL : hy_since_decode(page->items[i].line, page->items[i].len);
        ctx->can_park = src && seq != src->release_seq;
        ctx->park_source = NULL;
        int rc = MDB_CORRUPTED;
        if (ev || decoded)
            rc = self->def->apply ? self->def->apply(ctx, source, ev ? ev : decoded) : 0;
        json_decref(decoded);
        json_decref(ctx->error);
        ctx->error = NULL;
        if (rc == HY_PARKED && ctx->park_source) {
            page->parked_seq = seq;
            page->park_on = ctx->park_source;
            return S_PARKED;
        }
        if (rc != 0) {
            hy_log_error("follow", "applying %s event %llu failed: %s", source,
                         (unsigned long long)seq, mdb_strerror(rc));
            return rc;   /* the caller aborts the transaction: the page is applied again */
        }
        *cur = seq;
        (*applied)++;
        s_test_kill_mid_page(i + 1, page->n, page->joined);
    }
    return 0;
}

/* Applies the page in txn: 0, S_GAP (applied up to a gap), S_PARKED (an event parked: the
 * transaction must be rolled back), or an error. def->apply_end closes the page either way. */
static int s_apply(hy_service_t *self, MDB_txn *txn, const char *source, s_page_t *page,
                   uint64_t *applied)
{
    uint64_t cur = s_cursor(self, txn, source), start = cur;
    hy_source_state_t *src = page->can_park && self->fetcher ? s_source(self, source) : NULL;
    hy_request_t req = {.op = "apply", .id = "", .actor = {"service", "service", ""}};
    hy_ctx_t ctx;
    hy_ctx_init(&ctx, self, txn, &req);
    *applied = 0;
    int rc = s_apply_events(self, &ctx, source, page, src, &cur, applied);
    bool keep = rc == 0 || rc == S_GAP;
    if (self->def->apply_end) {
        int end = self->def->apply_end(&ctx, keep);
        json_decref(ctx.error);
        if (keep && end != 0)
            return end;
    }
    if (!keep)
        return rc;
    int set = cur != start ? s_set_cursor(self, txn, source, cur) : 0;
    return set ? set : rc;
}

int hy_follow_apply_page(hy_service_t *self, MDB_txn *txn, const char *source, json_t *events,
                         uint64_t *applied)
{
    s_page_t page = {.events = events, .n = json_array_size(events)};
    return s_apply(self, txn, source, &page, applied);
}

static int64_t s_park_us(void)
{
    const char *e = getenv("HY_PARK_MS");
    long ms = e && *e ? strtol(e, NULL, 10) : PARK_MS;
    return (int64_t)(ms > 0 ? ms : PARK_MS) * 1000;
}

/* Parks src at event seq until source `on` has caught up (see the top of this file). */
static void s_park(hy_service_t *self, hy_source_state_t *src, uint64_t seq, const char *on)
{
    hy_source_state_t *other = s_source(self, on);
    if (other == src)
        other = NULL;   /* waiting for itself would never end: it runs again with parking off */
    src->park_on = other ? other->name : src->name;
    src->park_seq = seq;
    src->park_gen = other ? hy_follow_kick(self, other->name) : 0;
    src->park_deadline_us = hy_now_us() + s_park_us();
    hy_log_info("follow", "%s event %llu waits for %s", src->name, (unsigned long long)seq,
                src->park_on);
}

/* Fetches src's events again now, or once the fetch in flight is back. */
static void s_fetch(hy_service_t *self, hy_source_state_t *src);
static void s_refetch(hy_service_t *self, hy_source_state_t *src)
{
    if (src->fetching)
        src->refetch = true;
    else
        s_fetch(self, src);
}

/* Lets parked sources go on: the parked event runs with parking off once the source it waited
 * for has caught up; at the deadline it runs again as before (and may park again). */
static void s_unpark(hy_service_t *self)
{
    int64_t now = hy_now_us();
    for (int i = 0; i < self->nsources; i++) {
        hy_source_state_t *src = &self->sources[i];
        if (!src->park_on)
            continue;
        bool caught = hy_follow_caught_gen(self, src->park_on) >= src->park_gen;
        if (!caught && now < src->park_deadline_us)
            continue;
        hy_source_state_t *on = s_source(self, src->park_on);
        if (!caught && on && on != src && !on->caught_up) {
            /* the source waited for is still catching up (it has never come back short): trying
             * again now would only park again, after committing the other source's catch-up
             * batch early and decoding a page for nothing */
            src->park_deadline_us = now + s_park_us();
            continue;
        }
        if (caught)
            src->release_seq = src->park_seq;
        else
            hy_log_warn("follow", "%s event %llu: %s has not caught up yet; trying again",
                        src->name, (unsigned long long)src->park_seq, src->park_on);
        src->park_on = NULL;
        s_refetch(self, src);
    }
}

/* CATCH-UP BATCHES. A replica that serves nothing until it has caught up (serve_after_catch_up)
 * applies up to BATCH_PAGES consecutive large pages of one source in one write transaction: a
 * page's counters, persons and timeline touch many of the B-trees' pages, and each commit writes
 * and syncs every page touched, so one commit per several pages writes far less. The cursor is
 * still written with the effects (exactly once, kill -9 included: what was not committed is
 * fetched again), nothing is acknowledged meanwhile, and the batch never outlives the call that
 * opened it (hy_follow_on_fetch): it waits there for the source's next page, and commits before
 * anything else (another source's page, a short page, a timeout) is applied. */
typedef struct {
    MDB_txn *txn;           /* open, with `pages` pages of src applied and not committed */
    hy_source_state_t *src;
    size_t pages;
    uint64_t applied;
} s_batch_t;

/* Commits the batch. Returns 0 or an LMDB error (then nothing of it stays: its source is
 * fetched again from the durable cursor). */
static int s_batch_commit(hy_service_t *self, s_batch_t *batch)
{
    if (!batch || !batch->txn)
        return 0;
    int rc = hy_store_commit(self->store, batch->txn, batch->applied);
    if (rc == 0) {
        self->events_applied += batch->applied;
        hy_pending_publish(self);
    } else {
        hy_pending_truncate(self, 0);
        hy_log_error("follow", "committing %zu pages of %s failed: %s", batch->pages,
                     batch->src->name, mdb_strerror(rc));
        batch->src->refetch = true;
    }
    *batch = (s_batch_t){0};
    return rc;
}

/* Drops the batch (its pages are fetched again from the durable cursor). */
static void s_batch_abort(hy_service_t *self, s_batch_t *batch)
{
    if (!batch || !batch->txn)
        return;
    mdb_txn_abort(batch->txn);
    hy_pending_truncate(self, 0);
    batch->src->refetch = true;
    *batch = (s_batch_t){0};
}

/* Applies a page in its own write transaction, growing the map when full; an event that parks
 * its source is rolled back with the rest of the page, which is then applied up to it. With
 * batch (a catch-up batch of this source, open or not) the page joins it, and the transaction
 * stays open when keep_open says so. Returns 0, 1 (not all applied: a gap, or parked), or an
 * error. */
static int s_apply_txn(hy_service_t *self, const char *source, s_page_t *page, uint64_t *applied,
                       s_batch_t *batch, bool keep_open)
{
    hy_source_state_t *src = page->can_park ? s_source(self, source) : NULL;
    bool parked = false;
    *applied = 0;
    if (src && src->park_on)
        return 1;   /* waits for another source: nothing of it is applied meanwhile */
    for (int attempt = 0; attempt < 20; attempt++) {
        MDB_txn *txn = batch && batch->txn ? batch->txn : NULL;
        bool joined = txn != NULL;
        int rc = joined ? 0 : mdb_txn_begin(hy_store_env(self->store), NULL, 0, &txn);
        if (rc != 0)
            return rc;
        page->joined = joined;
        rc = s_apply(self, txn, source, page, applied);
        if (joined && rc != 0 && rc != S_GAP) {
            /* the batch's earlier pages go too: fetched again (after the park, if it parked) */
            *batch = (s_batch_t){.txn = txn, .src = batch->src, .pages = batch->pages};
            s_batch_abort(self, batch);
            if (rc == S_PARKED && src)
                s_park(self, src, page->parked_seq, page->park_on);
            if (rc == MDB_MAP_FULL)
                hy_store_grow(self->store);
            return rc == S_PARKED ? 1 : rc;
        }
        if (rc == S_PARKED && src) {
            mdb_txn_abort(txn);
            hy_pending_truncate(self, 0);
            s_park(self, src, page->parked_seq, page->park_on);
            page->stop = page->parked_seq;   /* the events before it are applied */
            parked = true;
            attempt--;
            continue;
        }
        bool gap = rc == S_GAP || parked;
        if (rc == S_GAP)
            rc = 0;
        if (rc == 0 && batch && keep_open && !gap) {
            batch->txn = txn;
            batch->src = src;
            batch->pages++;
            batch->applied += *applied;
            return 0;
        }
        if (rc == 0 && joined) {
            batch->applied += *applied;
            rc = s_batch_commit(self, batch);
            return rc ? rc : gap ? 1 : 0;
        }
        if (rc == 0)
            rc = hy_store_commit(self->store, txn, *applied);
        else
            mdb_txn_abort(txn);
        if (rc == 0) {
            self->events_applied += *applied;
            hy_pending_publish(self);
            return gap ? 1 : 0;
        }
        hy_pending_truncate(self, 0);
        if (rc != MDB_MAP_FULL || hy_store_grow(self->store) != 0)
            return rc;
    }
    return MDB_MAP_FULL;
}

/* Asks events.since after `after`, or after the durable cursor when after is 0. */
static void s_fetch_after(hy_service_t *self, hy_source_state_t *src, uint64_t after)
{
    uint64_t cur = after;
    if (!cur) {
        MDB_txn *txn;
        if (mdb_txn_begin(hy_store_env(self->store), NULL, MDB_RDONLY, &txn) != 0)
            return;
        cur = s_cursor(self, txn, src->name);
        mdb_txn_abort(txn);
    }
    hy_new_request_id(src->fetch_id);
    hy_actor_t actor = {self->def->name, "service", ""};
    json_t *req = hy_proto_request("events.since", src->fetch_id, &actor, NULL,
                                   json_pack("{s:I, s:i}", "after", (json_int_t)cur, "limit",
                                             src->page_limit ? src->page_limit : FETCH_FIRST));
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return;
    if (zmq_send(self->fetcher, "HYC1", 4, ZMQ_SNDMORE) >= 0 &&
        zmq_send(self->fetcher, src->name, strlen(src->name), ZMQ_SNDMORE) >= 0 &&
        zmq_send(self->fetcher, text, strlen(text), ZMQ_DONTWAIT) >= 0) {
        src->fetching = true;
        src->fetch_gen = ++src->gen_sent;
        src->fetch_sent_us = hy_now_us();
    }
    free(text);
}

static void s_fetch(hy_service_t *self, hy_source_state_t *src)
{
    s_fetch_after(self, src, 0);
}

int hy_follow_open(hy_service_t *self)
{
    const char *const *s = self->def->sources;
    if (!s || !*s)
        return 0;
    int zero = 0;
    self->sub = zmq_socket(self->zctx, ZMQ_SUB);
    self->fetcher = zmq_socket(self->zctx, ZMQ_DEALER);
    if (!self->sub || !self->fetcher || zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, "", 0) != 0 ||
        zmq_setsockopt(self->sub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(self->fetcher, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        hy_curve_client(self->fetcher, hy_curve_broker_name(), hy_config_broker()) != 0 ||
        zmq_connect(self->fetcher, hy_config_broker()) != 0)
        return -1;
    for (; *s && self->nsources < HY_MAX_SOURCES; s++) {
        /* The server key is read at connect time: each publisher is checked against its own. */
        if (hy_curve_client(self->sub, *s, hy_config_pub(*s)) != 0 ||
            zmq_connect(self->sub, hy_config_pub(*s)) != 0) {
            hy_log_error("follow", "cannot connect to %s events at %s: %s", *s, hy_config_pub(*s),
                         zmq_strerror(zmq_errno()));
            return -1;
        }
        self->sources[self->nsources++] = (hy_source_state_t){.name = *s};
    }
    return 0;
}

void hy_follow_on_event(hy_service_t *self)
{
    for (int burst = 0; burst < 1000; burst++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            return;
        }
        json_t *ev = NULL;
        if (zmq_msg_more(&topic) && zmq_msg_recv(&body, self->sub, 0) >= 0)
            ev = json_loadb(zmq_msg_data(&body), zmq_msg_size(&body), 0, NULL);
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        const char *source = hy_json_str(ev, "source");
        hy_source_state_t *src = source && strncmp(source, "hamyar/", 7) == 0 ? s_source(self, source + 7) : NULL;
        if (src) {
            uint64_t seq = hy_event_seq(ev);
            if (seq > src->head)
                src->head = seq;
            json_t *one = src->park_on ? NULL : json_pack("[O]", ev);
            uint64_t applied = 0;
            s_page_t page = {.events = one, .n = 1, .can_park = true};
            int rc = one ? s_apply_txn(self, src->name, &page, &applied, NULL, false) : ENOMEM;
            json_decref(one);
            if (rc != 0 && !src->fetching && !src->park_on)
                s_fetch(self, src);   /* a gap, or something to retry: ask the owner */
        }
        json_decref(ev);
    }
}

static size_t s_batch_min_events(void)
{
    static long min = -1;
    if (min < 0) {
        const char *e = getenv("HY_BATCH_MIN_EVENTS");
        min = e && *e ? strtol(e, NULL, 10) : BATCH_MIN_EVENTS;
        if (min < 1)
            min = BATCH_MIN_EVENTS;
    }
    return (size_t)min;
}

/* Whether the reply waiting on the fetcher can be read now; with a batch open, waits for it
 * (up to BATCH_WAIT_MS: the next page of the batch's source was asked for before). */
static bool s_reply_ready(hy_service_t *self, const s_batch_t *batch)
{
    zmq_pollitem_t item = {self->fetcher, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, batch->txn ? BATCH_WAIT_MS : 0) == 1;
}

void hy_follow_on_fetch(hy_service_t *self)
{
    s_batch_t batch = {0};
    for (;;) {
        zmq_msg_t f[3];
        int n = 0, more = 1;
        if (!s_reply_ready(self, &batch)) {
            s_batch_commit(self, &batch);
            return;
        }
        while (more && n < 3) {
            zmq_msg_init(&f[n]);
            if (zmq_msg_recv(&f[n], self->fetcher, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&f[n]);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&f[i]);
                s_batch_commit(self, &batch);
                return;
            }
            more = zmq_msg_more(&f[n]);
            n++;
        }
        /* The reply is walked, not decoded: each event is decoded as it is applied. */
        hy_since_t *pg = &self->since;
        bool parsed = n == 3 && hy_since_parse(pg, zmq_msg_data(&f[2]), zmq_msg_size(&f[2])) == 0;
        hy_source_state_t *src = NULL;
        for (int i = 0; parsed && i < self->nsources; i++)
            if (self->sources[i].fetching && strcmp(self->sources[i].fetch_id, pg->id) == 0)
                src = &self->sources[i];
        if (src && batch.txn && src != batch.src)
            s_batch_commit(self, &batch);   /* another source's page: in a transaction of its own */
        if (src) {
            src->fetching = false;
            uint64_t gen = src->fetch_gen;
            uint64_t applied = 0;
            bool more = false, ok = false;
            if (pg->status == 200 && pg->has_events) {
                if (pg->last_seq > src->head)
                    src->head = pg->last_seq;
                /* Ask for the next page before applying this one: the source reads it while we
                 * write. If this page fails, the next one shows a gap and we ask again. */
                uint64_t last = pg->n ? pg->items[pg->n - 1].seq : 0;
                more = pg->n && last < pg->last_seq;
                src->page_limit = more ? (src->page_limit ? src->page_limit * 2 : FETCH_FIRST * 2)
                                       : FETCH_FIRST;
                if (src->page_limit > FETCH_LIMIT)
                    src->page_limit = FETCH_LIMIT;
                if (more)
                    s_fetch_after(self, src, last);
                s_page_t page = {.items = pg->items, .n = pg->n, .can_park = true};
                bool batching = self->def->serve_after_catch_up && !hy_follow_caught_up(self) &&
                                pg->n >= s_batch_min_events();
                if (!batching)
                    s_batch_commit(self, &batch);   /* one write transaction at a time */
                ok = s_apply_txn(self, src->name, &page, &applied, batching ? &batch : NULL,
                                 more && batch.pages + 1 < BATCH_PAGES) == 0;
                more = more && ok;
            }
            /* Caught up: a short page applied whole, or a source with no live worker (nothing
             * to catch up from). A page that failed to apply is not. */
            if (!pg->has_events && pg->status == 503)
                src->caught_up = true;
            else if (ok && !more)
                src->caught_up = true;
            if (ok && !more && gen > src->gen_caught)
                src->gen_caught = gen;
            if (!more)
                src->next_poll_us = hy_now_us() + (int64_t)POLL_IDLE_MS * 1000;
            if (!src->fetching && src->refetch) {
                src->refetch = false;
                s_fetch(self, src);
            }
            s_unpark(self);   /* this page may be what a parked source waited for */
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

void hy_follow_tick(hy_service_t *self)
{
    s_unpark(self);
    int64_t now = hy_now_us();
    for (int i = 0; i < self->nsources; i++) {
        hy_source_state_t *src = &self->sources[i];
        if (src->fetching && now - src->fetch_sent_us > (int64_t)FETCH_TIMEOUT_MS * 1000)
            src->fetching = false;   /* its reply, if it ever comes, no longer matches */
        if (!src->fetching && src->refetch) {
            src->refetch = false;
            src->next_poll_us = 0;
        }
        if (!src->fetching && !src->park_on && now >= src->next_poll_us) {
            src->next_poll_us = now + (int64_t)POLL_IDLE_MS * 1000;
            s_fetch(self, src);
        }
    }
}

uint64_t hy_follow_kick(hy_service_t *self, const char *source)
{
    hy_source_state_t *src = s_source(self, source);
    if (!src)
        return 0;
    if (src->fetching) {
        src->refetch = true;   /* the one in flight may have been read before the request came */
        return src->gen_sent + 1;
    }
    s_fetch(self, src);
    return src->fetching ? src->fetch_gen : src->gen_sent + 1;
}

uint64_t hy_follow_caught_gen(hy_service_t *self, const char *source)
{
    hy_source_state_t *src = s_source(self, source);
    return src ? src->gen_caught : 0;
}

bool hy_follow_caught_up(hy_service_t *self)
{
    for (int i = 0; i < self->nsources; i++)
        if (!self->sources[i].caught_up)
            return false;
    return true;
}

int hy_follow_status(hy_service_t *self, MDB_txn *txn, json_t *out)
{
    const char *const *s = self->def->sources;
    for (; s && *s; s++) {
        hy_source_state_t *src = s_source(self, *s);
        uint64_t cur = s_cursor(self, txn, *s), head = src && src->head > cur ? src->head : cur;
        if (json_object_set_new(out, *s, json_pack("{s:I, s:I, s:I}", "cursor", (json_int_t)cur,
                                                   "head", (json_int_t)head, "lag",
                                                   (json_int_t)(head - cur))) != 0)
            return -1;
    }
    return 0;
}

int hy_service_apply(hy_service_t *self, const char *source, json_t *event)
{
    json_t *one = json_pack("[O]", event);
    uint64_t applied = 0;
    s_page_t page = {.events = one, .n = 1};
    int rc = one ? s_apply_txn(self, source, &page, &applied, NULL, false) : ENOMEM;
    json_decref(one);
    return rc == 0 && applied == 1 ? 0 : -1;
}
