/*
 * readers.c — a small pool of reader threads beside the reactor (the load-balancing pattern).
 *
 * LMDB lets any number of read transactions run beside its one writer, each seeing the last
 * committed state. The reactor keeps every write (and group commit); a request for an op whose
 * spec is read-only is handed over inproc to an idle reader, which runs it in a read
 * transaction of its own and hands the reply text back; the reactor sends it to the broker
 * (a socket belongs to one thread). A long report never holds up a repayment again.
 *
 * Frames on the inproc ROUTER (reactor) / DEALER (reader) pair:
 *   reader -> reactor   "READY"                         once, when the thread is up
 *   reactor -> reader   <client> <json_t * as bytes>    the reader owns the document
 *   reader -> reactor   <client> <reply json text>      the reader is idle again
 * Readers are handed work only when idle, so one slow read never queues others behind it;
 * requests wait in the reactor's queue while every reader is busy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service_internal.h"

#define POLL_MS 100

typedef struct {
    zmq_msg_t client;
    json_t *doc;
} s_queued_t;

typedef struct {
    struct hy_readers *pool;
    int index;
    pthread_t thread;
    bool started;
} s_thread_t;

struct hy_readers {
    hy_service_t *svc;
    void *router;
    char endpoint[64];
    s_thread_t *threads;
    int n;
    int *idle;               /* stack of idle reader indexes */
    int nidle;
    s_queued_t *queue;       /* ring of requests waiting for a reader */
    size_t qhead, qlen, qcap;
    atomic_bool stop;
};

static void s_identity(int index, char *buf, size_t n)
{
    snprintf(buf, n, "r%d", index);
}

static void *s_reader_main(void *arg)
{
    s_thread_t *t = arg;
    struct hy_readers *pool = t->pool;
    char id[16];
    s_identity(t->index, id, sizeof id);
    int zero = 0;
    void *sock = zmq_socket(pool->svc->zctx, ZMQ_DEALER);
    if (!sock || zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, strlen(id)) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(sock, pool->endpoint) != 0 || zmq_send(sock, "READY", 5, 0) < 0) {
        hy_log_error("readers", "reader %d cannot start: %s", t->index, zmq_strerror(zmq_errno()));
        goto done;
    }
    while (!atomic_load(&pool->stop)) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR)
            break;
        if (rc <= 0)
            continue;
        zmq_msg_t client, body;
        zmq_msg_init(&client);
        zmq_msg_init(&body);
        json_t *doc = NULL;
        if (zmq_msg_recv(&client, sock, 0) >= 0 && zmq_msg_more(&client) &&
            zmq_msg_recv(&body, sock, 0) >= 0 && zmq_msg_size(&body) == sizeof doc)
            memcpy(&doc, zmq_msg_data(&body), sizeof doc);
        char *text = NULL;
        size_t len = 0;
        if (doc) {
            json_t *reply = hy_dispatch_read(pool->svc, doc);
            json_decref(doc);
            text = reply ? hy_reply_dumps(reply, &len) : NULL;
            json_decref(reply);
        }
        /* Always answer, so the reactor counts this reader idle again. */
        static const char oom[] = "{\"id\":\"\",\"status\":500,\"error\":{\"code\":\"internal_error\"}}";
        if (zmq_send(sock, zmq_msg_data(&client), zmq_msg_size(&client), ZMQ_SNDMORE) < 0 ||
            zmq_send(sock, text ? text : oom, text ? len : sizeof oom - 1, 0) < 0)
            hy_log_error("readers", "reader %d cannot hand a reply back: %s", t->index,
                         zmq_strerror(zmq_errno()));
        free(text);
        zmq_msg_close(&client);
        zmq_msg_close(&body);
    }
    /* Stopping: free what was handed over and never run (the clients will time out). */
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        json_t *doc = NULL;
        if (!zmq_msg_more(&m) && zmq_msg_size(&m) == sizeof doc) {
            memcpy(&doc, zmq_msg_data(&m), sizeof doc);
            json_decref(doc);
        }
        zmq_msg_close(&m);
    }
done:
    if (sock)
        zmq_close(sock);
    return NULL;
}

/* Hands doc to reader index. Returns 0 or -1 (doc is then still the caller's). */
static int s_hand(struct hy_readers *pool, int index, zmq_msg_t *client, json_t *doc)
{
    char id[16];
    s_identity(index, id, sizeof id);
    if (zmq_send(pool->router, id, strlen(id), ZMQ_SNDMORE) < 0 ||
        zmq_send(pool->router, zmq_msg_data(client), zmq_msg_size(client), ZMQ_SNDMORE) < 0 ||
        zmq_send(pool->router, &doc, sizeof doc, 0) < 0) {
        hy_log_error("readers", "cannot hand a read to reader %d: %s", index,
                     zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int hy_readers_start(hy_service_t *self, int n)
{
    struct hy_readers *pool = calloc(1, sizeof *pool);
    if (!pool)
        return -1;
    self->readers = pool;
    pool->svc = self;
    atomic_init(&pool->stop, false);
    snprintf(pool->endpoint, sizeof pool->endpoint, "inproc://hy-readers-%p", (void *)pool);
    pool->threads = calloc((size_t)n, sizeof *pool->threads);
    pool->idle = calloc((size_t)n, sizeof *pool->idle);
    int zero = 0, one = 1;
    pool->router = zmq_socket(self->zctx, ZMQ_ROUTER);
    if (!pool->threads || !pool->idle || !pool->router ||
        zmq_setsockopt(pool->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(pool->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_bind(pool->router, pool->endpoint) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        pool->threads[i] = (s_thread_t){.pool = pool, .index = i};
        if (pthread_create(&pool->threads[i].thread, NULL, s_reader_main, &pool->threads[i]) != 0)
            return -1;
        pool->threads[i].started = true;
        pool->n++;
    }
    return 0;
}

void *hy_readers_socket(hy_service_t *self)
{
    return self->readers ? self->readers->router : NULL;
}

int hy_readers_submit(hy_service_t *self, zmq_msg_t *client, json_t *doc)
{
    struct hy_readers *pool = self->readers;
    if (pool->nidle > 0 && pool->qlen == 0) {
        int index = pool->idle[--pool->nidle];
        if (s_hand(pool, index, client, doc) == 0)
            return 0;
        pool->idle[pool->nidle++] = index;
        return -1;
    }
    if (pool->qlen == pool->qcap) {
        size_t cap = pool->qcap ? pool->qcap * 2 : 256;
        s_queued_t *q = malloc(cap * sizeof *q);
        if (!q)
            return -1;
        for (size_t i = 0; i < pool->qlen; i++)
            q[i] = pool->queue[(pool->qhead + i) % pool->qcap];
        free(pool->queue);
        pool->queue = q;
        pool->qcap = cap;
        pool->qhead = 0;
    }
    s_queued_t *slot = &pool->queue[(pool->qhead + pool->qlen) % pool->qcap];
    zmq_msg_init(&slot->client);
    if (zmq_msg_copy(&slot->client, client) != 0)
        return -1;
    slot->doc = doc;
    pool->qlen++;
    return 0;
}

/* One reader is idle: give it the oldest waiting request, if any. */
static void s_on_idle(struct hy_readers *pool, int index)
{
    while (pool->qlen > 0) {
        s_queued_t *q = &pool->queue[pool->qhead];
        pool->qhead = (pool->qhead + 1) % pool->qcap;
        pool->qlen--;
        int rc = s_hand(pool, index, &q->client, q->doc);
        zmq_msg_close(&q->client);
        if (rc == 0)
            return;
        json_decref(q->doc);   /* cannot happen on inproc short of memory; the client retries */
    }
    pool->idle[pool->nidle++] = index;
}

void hy_readers_on_reply(hy_service_t *self)
{
    struct hy_readers *pool = self->readers;
    for (int burst = 0; burst < 1000; burst++) {
        zmq_msg_t f[3];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t tmp, *m = n < 3 ? &f[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, pool->router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&f[i]);
                return;
            }
            more = zmq_msg_more(m);
            if (m == &tmp)
                zmq_msg_close(m);
            else
                n++;
        }
        int index = -1;
        if (zmq_msg_size(&f[0]) > 1 && zmq_msg_size(&f[0]) < 12) {
            char id[12];
            memcpy(id, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]));
            id[zmq_msg_size(&f[0])] = '\0';
            index = id[0] == 'r' ? atoi(id + 1) : -1;
        }
        if (n == 3)
            hy_worker_reply(self->worker, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
                            zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        if (index >= 0 && index < pool->n && (n == 3 || n == 2))
            s_on_idle(pool, index);
    }
}

void hy_readers_stop(hy_service_t *self)
{
    struct hy_readers *pool = self->readers;
    if (!pool)
        return;
    atomic_store(&pool->stop, true);
    for (int i = 0; i < pool->n; i++)
        if (pool->threads[i].started)
            pthread_join(pool->threads[i].thread, NULL);
    while (pool->qlen > 0) {
        s_queued_t *q = &pool->queue[pool->qhead];
        pool->qhead = (pool->qhead + 1) % pool->qcap;
        pool->qlen--;
        zmq_msg_close(&q->client);
        json_decref(q->doc);
    }
    if (pool->router)
        zmq_close(pool->router);
    free(pool->queue);
    free(pool->idle);
    free(pool->threads);
    free(pool);
    self->readers = NULL;
}
