/*
 * zmq.c — following the feed over ZeroMQ: SUB to the insurance service's events for low
 * latency, events.since through the broker for everything else.
 *
 * PUB is only a notification: a message is lost when the consumer or the service restarts, or
 * when the subscriber falls behind. So the consumer asks events.since (as a service, through
 * the broker, see docs/protocol.md) at start, whenever a message reveals a gap, after a full
 * page (there is more), and after a second with no message at all (a lost last message reveals
 * no gap). A service or broker that does not answer is asked again with a growing pause; the
 * cursor waits, nothing is skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "client.h"
#include "fundsync.h"
#include "log.h"
#include "proto.h"

#define FETCH_LIMIT 10000    /* events per page (events.since allows up to 10000) */
#define FETCH_TIMEOUT_MS 3000
#define IDLE_POLL_MS 1000
#define BURST_MAX 1000
#define SUB_HWM 100000

/* s_fetch's answer when the feed could not be asked (the FS_SYNC_* codes otherwise). */
#define S_UNREACHABLE (-2)

/* events.since through the broker, one request ahead: while a page is written and synced,
 * the service already reads the next one. Replies are walked, not decoded (page.c). */
typedef struct {
    void *sock;             /* DEALER to the broker; NULL until needed, dropped after an error */
    char id[40];            /* the request in flight ("" when none) */
    uint64_t after;         /* what it asked for */
    int64_t sent_us;
    hy_since_t page;
    zmq_msg_t body;         /* the last reply: page's items point into it */
    bool has_body;
} s_fetcher_t;

static void s_fetcher_reset(s_fetcher_t *f)
{
    if (f->sock)
        zmq_close(f->sock);
    f->sock = NULL;
    f->id[0] = '\0';
}

static int s_send_since(s_fetcher_t *f, void *zctx, const fs_zmq_config_t *cfg, uint64_t after)
{
    int zero = 0, sndtimeo = 1000;
    if (!f->sock) {
        f->sock = zmq_socket(zctx, ZMQ_DEALER);
        if (!f->sock || zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_setsockopt(f->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) != 0 ||
            hy_curve_client(f->sock, hy_curve_broker_name(), cfg->broker) != 0 ||
            zmq_connect(f->sock, cfg->broker) != 0) {
            hy_log_error("zmq", "cannot connect to %s: %s", cfg->broker, zmq_strerror(zmq_errno()));
            s_fetcher_reset(f);
            return -1;
        }
    }
    hy_new_request_id(f->id);
    hy_actor_t actor = {"fund-sync", "service", ""};
    json_t *req = hy_proto_request("events.since", f->id, &actor, NULL,
                                   json_pack("{s:I,s:i}", "after", (json_int_t)after, "limit", FETCH_LIMIT));
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    int rc = text && zmq_send(f->sock, "HYC1", 4, ZMQ_SNDMORE) >= 0 &&
                     zmq_send(f->sock, cfg->service, strlen(cfg->service), ZMQ_SNDMORE) >= 0 &&
                     zmq_send(f->sock, text, strlen(text), 0) >= 0
                 ? 0 : -1;
    free(text);
    if (rc != 0) {
        s_fetcher_reset(f);
        return -1;
    }
    f->after = after;
    f->sent_us = hy_now_us();
    return 0;
}

/* Waits for the reply to the request in flight and walks it into f->page. 0, or -1 (no answer
 * in time, or not a page: the socket is dropped, so a late reply cannot be taken for another). */
static int s_recv_page(s_fetcher_t *f)
{
    if (f->has_body)
        zmq_msg_close(&f->body);
    f->has_body = false;
    while (f->sock && f->id[0]) {
        int64_t left = (f->sent_us + (int64_t)FETCH_TIMEOUT_MS * 1000 - hy_now_us()) / 1000;
        zmq_pollitem_t item = {f->sock, 0, ZMQ_POLLIN, 0};
        int n = left > 0 ? zmq_poll(&item, 1, (long)left) : 0;
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n <= 0)
            break;
        zmq_msg_t m[3];
        int k = 0, more = 1;
        for (; more && k < 3; k++) {
            zmq_msg_init(&m[k]);
            if (zmq_msg_recv(&m[k], f->sock, 0) < 0) {
                zmq_msg_close(&m[k]);
                break;
            }
            more = zmq_msg_more(&m[k]);
        }
        bool ok = k == 3 && !more;
        for (int i = 0; i < k && i < 2; i++)
            zmq_msg_close(&m[i]);
        if (!ok) {
            if (k == 3)
                zmq_msg_close(&m[2]);
            break;
        }
        if (hy_since_parse(&f->page, zmq_msg_data(&m[2]), zmq_msg_size(&m[2])) == 0 &&
            strcmp(f->page.id, f->id) == 0) {
            f->body = m[2];
            f->has_body = true;
            f->id[0] = '\0';
            return 0;
        }
        zmq_msg_close(&m[2]);   /* a late reply to an abandoned request, or garbage */
    }
    s_fetcher_reset(f);
    return -1;
}

/* Takes the page asked for (asking first if nothing is in flight), asks for the next one at once
 * when this one ends before the service's head, then offers this one. *more: a next page is in
 * flight. */
static int s_fetch(s_fetcher_t *f, void *zctx, const fs_zmq_config_t *cfg, fs_sync_t *sync,
                   bool *more)
{
    *more = false;
    uint64_t cursor = fs_sync_cursor(sync);
    if (f->id[0] && f->after != cursor) {
        /* The cursor moved meanwhile (PUB): the prefetched page would start too early or late.
         * Dropping the socket forgets its reply. */
        s_fetcher_reset(f);
    }
    if (!f->id[0] && s_send_since(f, zctx, cfg, cursor) != 0)
        return S_UNREACHABLE;
    if (s_recv_page(f) != 0 || f->page.status != 200 || !f->page.has_events) {
        hy_log_warn("zmq", "events.since from %s failed (%s); asking again shortly", cfg->service,
                    f->has_body ? "refused" : "no answer");
        return S_UNREACHABLE;
    }
    uint64_t last = f->page.n ? f->page.items[f->page.n - 1].seq : 0;
    bool ahead = f->page.n && last < f->page.last_seq;
    if (ahead && s_send_since(f, zctx, cfg, last) == 0)
        *more = true;
    int rc = fs_sync_offer_items(sync, f->page.items, f->page.n, NULL);
    if (rc != FS_SYNC_OK) {
        s_fetcher_reset(f);   /* what is in flight no longer follows the cursor */
        *more = false;
    }
    return rc;
}

/* Reads every waiting PUB message (up to BURST_MAX) into a new array of events. */
static json_t *s_drain(void *sub)
{
    json_t *events = json_array();
    for (int i = 0; events && i < BURST_MAX; i++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            break;
        }
        json_t *ev = NULL;
        if (zmq_msg_more(&topic) && zmq_msg_recv(&body, sub, 0) >= 0)
            ev = json_loadb(zmq_msg_data(&body), zmq_msg_size(&body), 0, NULL);
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        if (ev)
            json_array_append_new(events, ev);
    }
    return events;
}

/* Subscribes to the service's enrolment events; a CURVE client of that service when HY_CURVE_DIR
 * is set (the fund's own key pair is fund-sync.key/.pub there). */
static void *s_open_sub(void *zctx, const char *service, const char *endpoint)
{
    int zero = 0, hwm = SUB_HWM;
    void *sub = zmq_socket(zctx, ZMQ_SUB);
    if (!sub || zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "insurance.enrolment.", 20) != 0 ||
        hy_curve_client(sub, service, endpoint) != 0 || zmq_connect(sub, endpoint) != 0) {
        hy_log_error("zmq", "cannot subscribe to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        if (sub)
            zmq_close(sub);
        return NULL;
    }
    return sub;
}

int fs_zmq_run(const fs_zmq_config_t *cfg, fs_sync_t *sync)
{
    int code = 1;
    void *zctx = hy_curve_init("fund-sync") == 0 ? zmq_ctx_new() : NULL;
    void *sub = zctx ? s_open_sub(zctx, cfg->service, cfg->pub) : NULL;
    s_fetcher_t fetcher = {0};
    fs_backoff_t backoff = {0};
    bool need_fetch = true;
    if (!sub)
        goto done;
    hy_log_info("zmq", "following %s events at %s (catch-up through %s) after %" PRIu64,
                cfg->service, cfg->pub, cfg->broker, fs_sync_cursor(sync));
    while (!fs_stopping) {
        int rc = FS_SYNC_OK;
        bool pause = false;   /* the feed or the command failed: wait before the next try */
        if (need_fetch) {
            bool more;
            rc = s_fetch(&fetcher, zctx, cfg, sync, &more);
            need_fetch = more || rc != FS_SYNC_OK;
            pause = rc != FS_SYNC_OK && rc != FS_SYNC_STOP;
            if (rc == FS_SYNC_OK)
                fs_backoff_reset(&backoff);
            else if (rc == FS_SYNC_GAP)   /* events.since itself skipped one: never expected */
                hy_log_warn("zmq", "events.since did not start right after %" PRIu64,
                            fs_sync_cursor(sync));
        } else {
            zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
            int n = zmq_poll(&item, 1, IDLE_POLL_MS);
            if (n < 0 && zmq_errno() != EINTR) {
                hy_log_error("zmq", "poll failed: %s", zmq_strerror(zmq_errno()));
                goto done;
            }
            if (n <= 0) {
                need_fetch = n == 0;   /* quiet for a second: ask for the tail */
                continue;
            }
            json_t *events = s_drain(sub);
            rc = events ? fs_sync_offer(sync, events, NULL) : FS_SYNC_FATAL;
            json_decref(events);
            need_fetch = rc == FS_SYNC_GAP || rc == FS_SYNC_RETRY;   /* a gap: fetch at once */
            pause = rc == FS_SYNC_RETRY;
        }
        if (rc == FS_SYNC_FATAL)
            goto done;
        if (pause)
            fs_backoff_wait(&backoff);
    }
    code = 0;
done:
    hy_log_info("zmq", "stopping with the cursor at %" PRIu64, fs_sync_cursor(sync));
    s_fetcher_reset(&fetcher);
    if (fetcher.has_body)
        zmq_msg_close(&fetcher.body);
    hy_since_free(&fetcher.page);
    if (sub)
        zmq_close(sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return code;
}
