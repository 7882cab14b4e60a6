/*
 * guard.c — the header-completion deadline: slow senders cannot hold connections for long.
 *
 * libmicrohttpd's own connection timeout counts inactivity, so a client that trickles one
 * header byte every few seconds keeps a connection (and a slot of the connection limit)
 * forever. The guard records when each connection started waiting for a request's headers
 * (MHD's connection notifications) and when the headers were complete (the handler's first
 * call); a ticker thread looks every 250 ms and shuts down the socket of any connection whose
 * headers are late. MHD then sees the connection fail and closes it as usual. After an answer
 * a kept-alive connection waits for its next request's headers for the idle timeout.
 *
 * The per-client-address connection limit is MHD's own (MHD_OPTION_PER_IP_CONNECTION_LIMIT);
 * together they bound what slow senders from one address can take.
 */
#include "gateway.h"

#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"

typedef struct s_conn {
    int fd;
    _Atomic int64_t deadline_us;   /* 0 while a request is being handled; set without the
                                      lock (twice per request), read under it by the sweep */
    struct s_conn *prev, *next;
} s_conn_t;

struct hy_guard {
    int64_t header_us, idle_us;
    pthread_mutex_t lock;       /* guards the list */
    s_conn_t *head;
    hy_ticker_t *ticker;
    unsigned long cut;
};

/* Shuts down the sockets of connections whose headers are late (the ticker's function). */
static void s_sweep(void *arg)
{
    hy_guard_t *self = arg;
    pthread_mutex_lock(&self->lock);
    int64_t now = hy_now_us();
    for (s_conn_t *c = self->head; c; c = c->next) {
        int64_t due = atomic_load_explicit(&c->deadline_us, memory_order_relaxed);
        if (due && due < now) {
            /* Under the lock: MHD notifies CLOSED (which unlinks c) before it closes the
             * descriptor, so c->fd is still this connection's. */
            shutdown(c->fd, SHUT_RDWR);
            atomic_store_explicit(&c->deadline_us, 0, memory_order_relaxed);
            if (++self->cut % 1000 == 1)
                hy_log_warn("http", "connection cut: request headers not complete in time "
                                    "(%lu so far)", self->cut);
        }
    }
    pthread_mutex_unlock(&self->lock);
}

hy_guard_t *hy_guard_new(int header_timeout_s, int idle_timeout_s)
{
    hy_guard_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->header_us = (int64_t)header_timeout_s * 1000000;
    self->idle_us = (int64_t)idle_timeout_s * 1000000;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    if (!(self->ticker = hy_ticker_new("hy-guard", 250, s_sweep, self))) {
        hy_guard_destroy(&self);
        return NULL;
    }
    return self;
}

void hy_guard_stop(hy_guard_t *self)
{
    if (self)
        hy_ticker_stop(self->ticker);
}

void hy_guard_destroy(hy_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_guard_t *self = *self_p;
    hy_ticker_destroy(&self->ticker);
    while (self->head) {
        s_conn_t *c = self->head;
        self->head = c->next;
        free(c);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void hy_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe)
{
    hy_guard_t *self = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s_conn_t *c = info ? calloc(1, sizeof *c) : NULL;
        if (!c)
            return;   /* unguarded: MHD's idle timeout still applies */
        c->fd = info->connect_fd;
        pthread_mutex_lock(&self->lock);
        atomic_init(&c->deadline_us, hy_now_us() + self->header_us);
        c->next = self->head;
        if (self->head)
            self->head->prev = c;
        self->head = c;
        pthread_mutex_unlock(&self->lock);
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        s_conn_t *c = *socket_context;
        pthread_mutex_lock(&self->lock);
        if (c->prev)
            c->prev->next = c->next;
        else
            self->head = c->next;
        if (c->next)
            c->next->prev = c->prev;
        pthread_mutex_unlock(&self->lock);
        free(c);
        *socket_context = NULL;
    }
}

/* Sets the deadline of conn's guard entry (0: none). */
static void s_set(hy_guard_t *self, struct MHD_Connection *conn, int64_t deadline_us)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    s_conn_t *c = info ? info->socket_context : NULL;
    (void)self;
    if (c)   /* the entry lives until MHD's CLOSED notification, after the last request */
        atomic_store_explicit(&c->deadline_us, deadline_us, memory_order_relaxed);
}

void hy_guard_headers_done(hy_guard_t *self, struct MHD_Connection *conn)
{
    s_set(self, conn, 0);
}

void hy_guard_request_done(hy_guard_t *self, struct MHD_Connection *conn)
{
    s_set(self, conn, hy_now_us() + self->idle_us);
}
