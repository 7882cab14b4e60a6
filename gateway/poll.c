/*
 * poll.c — long polling of feeds without holding an HTTP thread.
 *
 * A feed op (spec long_poll) whose answer has no events yet, asked with ?wait=N, is parked
 * here: its MHD connection is suspended, and one poller thread asks the service again every
 * HY_POLL_INTERVAL_MS until events arrive, the service fails, or the wait is over. Then it
 * hands the last reply back to the request and resumes the connection; MHD calls the handler
 * again, which answers as for any reply. An HTTP thread is busy only for one round trip at a
 * time, so a hundred waiting consumers cost a hundred parked requests, not a hundred threads.
 *
 * The poller has its own broker client, opened and closed in its thread.
 */
#include "gateway.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "log.h"

struct hy_poller {
    hy_gateway_t *gw;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    hy_poll_t *head;            /* parked requests, under lock */
    bool stop;
};

/* The q of one media range of Accept ("type/sub;a=b;q=0.5", n bytes): 1 when absent. */
static double s_quality(const char *range, size_t n)
{
    for (const char *p = memchr(range, ';', n); p && p < range + n;
         p = memchr(p + 1, ';', (size_t)(range + n - p - 1))) {
        const char *q = p + 1;
        while (q < range + n && (*q == ' ' || *q == '\t'))
            q++;
        if (q + 2 <= range + n && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
            return strtod(q + 2, NULL);
    }
    return 1.0;
}

bool hy_gw_feed_batch(const hy_route_t *route, const char *accept, const json_t *result)
{
    if (!route || !route->op || !route->op->long_poll || !accept ||
        !json_is_array(json_object_get(result, "events")))
        return false;
    const size_t want = strlen(HY_CE_BATCH_TYPE);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ","), type_len = strcspn(p, ";, \t");
        if (type_len == want && strncasecmp(p, HY_CE_BATCH_TYPE, want) == 0)
            return s_quality(p, n) > 0;
        p += n;
    }
    return false;
}

/* Whether a reply is a success whose result has an empty events array: ask again. */
bool hy_poll_empty(json_t *reply)
{
    json_t *status = json_object_get(reply, "status");
    json_t *events = json_object_get(json_object_get(reply, "result"), "events");
    return json_is_integer(status) && json_integer_value(status) < 300 &&
           json_is_array(events) && json_array_size(events) == 0;
}

/* Asks once for p; returns true when p is finished (events, failure, or no time left). */
static bool s_ask(hy_poller_t *self, hy_client_t **client, hy_poll_t *p, int64_t now)
{
    if (now + (int64_t)HY_POLL_INTERVAL_MS * 1000 > p->deadline_us)
        return true;
    if (!*client && !(*client = hy_client_new(self->gw->zctx, self->gw->endpoint)))
        return true;   /* answer with the last (empty) reply rather than not at all */
    int timeout = self->gw->cfg->timeout_ms;
    json_t *reply = NULL;
    int rc = hy_client_call(*client, p->service, p->request, timeout, &reply);
    if (rc == HY_CLIENT_ERROR)
        hy_client_destroy(client);
    json_decref(p->reply);
    p->reply = reply;
    p->rc = rc;
    return rc != HY_CLIENT_OK || !hy_poll_empty(reply);
}

static void *s_run(void *arg)
{
    hy_poller_t *self = arg;
    hy_client_t *client = NULL;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        /* Take the parked list, ask for those that are due without holding the lock, then put
         * back the ones still waiting (behind any that arrived meanwhile). */
        hy_poll_t *list = self->head, *keep = NULL, *done = NULL;
        self->head = NULL;
        pthread_mutex_unlock(&self->lock);
        int64_t next = hy_now_us() + (int64_t)HY_POLL_INTERVAL_MS * 1000;
        while (list) {
            hy_poll_t *p = list;
            list = p->next;
            int64_t now = hy_now_us();
            bool finished = false;
            if (p->next_us <= now) {
                finished = s_ask(self, &client, p, now);
                p->next_us = hy_now_us() + (int64_t)HY_POLL_INTERVAL_MS * 1000;
            }
            if (finished) {
                p->next = done, done = p;
            } else {
                p->next = keep, keep = p;
                if (p->next_us < next)
                    next = p->next_us;
            }
        }
        while (done) {
            hy_poll_t *p = done;
            done = p->next;
            MHD_resume_connection(p->conn);   /* p belongs to the request again from here */
        }
        pthread_mutex_lock(&self->lock);
        while (keep) {
            hy_poll_t *p = keep;
            keep = p->next;
            p->next = self->head, self->head = p;
        }
        if (self->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait_us = next - hy_now_us();
        if (wait_us > 0) {
            ts.tv_sec += wait_us / 1000000;
            ts.tv_nsec += (long)(wait_us % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&self->wake, &self->lock, &ts);
        }
    }
    /* Shutting down: every parked request is answered with what it has. */
    hy_poll_t *list = self->head;
    self->head = NULL;
    pthread_mutex_unlock(&self->lock);
    while (list) {
        hy_poll_t *p = list;
        list = p->next;
        MHD_resume_connection(p->conn);
    }
    hy_client_destroy(&client);
    return NULL;
}

hy_poller_t *hy_poller_new(hy_gateway_t *gw)
{
    hy_poller_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->gw = gw;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(self);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    bool cond = pthread_cond_init(&self->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!cond) {
        free(self);
        return NULL;
    }
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        pthread_cond_destroy(&self->wake);
        free(self);
        return NULL;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        pthread_mutex_destroy(&self->lock);
        pthread_cond_destroy(&self->wake);
        free(self);
        return NULL;
    }
    return self;
}

void hy_poller_destroy(hy_poller_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_poller_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->wake);
    free(self);
    *self_p = NULL;
}

int hy_poller_park(hy_poller_t *self, hy_poll_t *p)
{
    p->next_us = hy_now_us() + (int64_t)HY_POLL_INTERVAL_MS * 1000;
    pthread_mutex_lock(&self->lock);
    if (self->stop) {
        pthread_mutex_unlock(&self->lock);
        return -1;
    }
    /* Suspended before it is listed, so the poller can never resume it first. */
    MHD_suspend_connection(p->conn);
    p->next = self->head;
    self->head = p;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    return 0;
}
