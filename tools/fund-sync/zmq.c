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

#define FETCH_LIMIT 1000
#define FETCH_TIMEOUT_MS 3000
#define IDLE_POLL_MS 1000
#define BURST_MAX 1000
#define SUB_HWM 100000

/* s_fetch's answer when the feed could not be asked (the FS_SYNC_* codes otherwise). */
#define S_UNREACHABLE (-2)

/* Asks events.since after the cursor and offers the page. *more: a full page came back. */
static int s_fetch(hy_client_t **client, void *zctx, const fs_zmq_config_t *cfg,
                   fs_sync_t *sync, bool *more)
{
    char id[40];
    json_t *reply = NULL;
    *more = false;
    if (!*client && !(*client = hy_client_new(zctx, cfg->broker)))
        return S_UNREACHABLE;
    hy_new_request_id(id);
    hy_actor_t actor = {"fund-sync", "service", ""};
    json_t *req = hy_proto_request(
        "events.since", id, &actor, NULL,
        json_pack("{s:I,s:i}", "after", (json_int_t)fs_sync_cursor(sync), "limit", FETCH_LIMIT));
    int rc = req ? hy_client_call(*client, cfg->service, req, FETCH_TIMEOUT_MS, &reply)
                 : HY_CLIENT_ERROR;
    json_decref(req);
    if (rc == HY_CLIENT_ERROR)
        hy_client_destroy(client);   /* a fresh socket next time */
    int status;
    json_t *result = NULL, *error = NULL, *events;
    if (rc != HY_CLIENT_OK || hy_proto_parse_reply(reply, &status, &result, &error) != 0 ||
        status != 200 || !json_is_array(events = json_object_get(result, "events"))) {
        const char *why = rc == HY_CLIENT_TIMEOUT ? "no answer"
                          : error ? json_string_value(json_object_get(error, "code"))
                                  : "no reply";
        hy_log_warn("zmq", "events.since from %s failed (%s); asking again shortly",
                    cfg->service, why ? why : "?");
        json_decref(reply);
        return S_UNREACHABLE;
    }
    size_t got = json_array_size(events);
    rc = fs_sync_offer(sync, events, NULL);
    json_decref(reply);
    *more = rc == FS_SYNC_OK && got == FETCH_LIMIT;
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
    hy_client_t *client = NULL;
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
            rc = s_fetch(&client, zctx, cfg, sync, &more);
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
    hy_client_destroy(&client);
    if (sub)
        zmq_close(sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return code;
}
