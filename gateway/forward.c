/*
 * forward.c — asynchronous forwarding: no HTTP thread ever waits on a service.
 *
 * Mongrel2's handler model and the ZeroMQ guide's asynchronous client. An HTTP thread that
 * has a request for a service suspends its connection (MHD_suspend_connection), queues the
 * job here and goes back to other connections. One I/O thread owns the only DEALER socket to
 * the broker: it sends each job with a correlation tag (an 8-byte counter, the fourth frame;
 * the broker hands it back with the reply, see broker.h), matches replies to jobs by tag, and
 * resumes the connection on the reply or at the job's deadline, whichever comes first. The
 * reply is moved, unparsed, into the job; the HTTP thread parses it when MHD calls the
 * handler again. A slow or stopped service thus delays only its own requests.
 *
 * Jobs in flight sit in a ring indexed by tag (more jobs than slots are refused at once, which
 * the connection limit makes impossible in practice) and in a list ordered by deadline.
 * HTTP threads wake the I/O thread through an eventfd, which zmq_poll watches with the socket.
 */
#define _GNU_SOURCE   /* pthread_setname_np: the thread shows in top and in the bench */
#include "gateway.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "curve.h"
#include "log.h"

#define RING 65536u   /* jobs in flight at most (a power of two) */

struct hy_forwarder {
    void *zctx;
    char *endpoint;
    int efd;                      /* eventfd: jobs are queued */
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;         /* guards queue and stop */
    hy_fwd_job_t *queue, *queue_tail;
    bool signalled;               /* the eventfd was written since the queue was last taken */
    bool stop;
    /* Owned by the I/O thread: */
    void *dealer;
    uint64_t next_tag;
    hy_fwd_job_t *ring[RING];
    hy_fwd_job_t *head, *tail;    /* in flight, by deadline */
};

/* Hands a finished job back to its HTTP request. The job belongs to the request from here. */
static void s_finish(hy_forwarder_t *self, hy_fwd_job_t *job, int rc)
{
    if (job->tag) {
        self->ring[job->tag & (RING - 1)] = NULL;
        if (job->prev)
            job->prev->next = job->next;
        else
            self->head = job->next;
        if (job->next)
            job->next->prev = job->prev;
        else
            self->tail = job->prev;
    }
    job->prev = job->next = NULL;
    job->rc = rc;
    MHD_resume_connection(job->conn);
}

/* Sends one job with a fresh tag and files it by deadline; a job that cannot be sent is
 * finished at once with HY_CLIENT_ERROR (503). */
static void s_send(hy_forwarder_t *self, hy_fwd_job_t *job)
{
    uint64_t tag = ++self->next_tag;
    if (self->ring[tag & (RING - 1)]) {
        hy_log_warn("forward", "more than %u requests in flight: refused", RING);
        job->tag = 0;
        s_finish(self, job, HY_CLIENT_ERROR);
        return;
    }
    job->tag = 0;
    if (zmq_send(self->dealer, "HYC1", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->dealer, job->service, strlen(job->service), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->dealer, job->text ? job->text : "", job->len, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->dealer, &tag, sizeof tag, 0) < 0) {
        hy_log_warn("forward", "cannot send to the broker: %s", zmq_strerror(zmq_errno()));
        s_finish(self, job, HY_CLIENT_ERROR);
        return;
    }
    job->tag = tag;
    self->ring[tag & (RING - 1)] = job;
    /* Most jobs share one timeout, so the new deadline is usually the latest: walk back. */
    hy_fwd_job_t *after = self->tail;
    while (after && after->deadline_us > job->deadline_us)
        after = after->prev;
    job->prev = after;
    job->next = after ? after->next : self->head;
    if (job->next)
        job->next->prev = job;
    else
        self->tail = job;
    if (after)
        after->next = job;
    else
        self->head = job;
}

/* Receives replies that are waiting and finishes their jobs. Returns -1 on a socket error. */
static int s_on_replies(hy_forwarder_t *self)
{
    for (int burst = 0; burst < 1000; burst++) {
        zmq_msg_t f[4];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t tmp, *m = n < 4 ? &f[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, self->dealer, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                int e = zmq_errno();
                zmq_msg_close(m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&f[i]);
                return n == 0 && e == EAGAIN ? 0 : -1;
            }
            more = zmq_msg_more(m);
            if (m == &tmp)
                zmq_msg_close(m);
            else
                n++;
        }
        uint64_t tag = 0;
        if (n == 4 && zmq_msg_size(&f[3]) == sizeof tag)
            memcpy(&tag, zmq_msg_data(&f[3]), sizeof tag);
        hy_fwd_job_t *job = tag ? self->ring[tag & (RING - 1)] : NULL;
        if (job && job->tag == tag) {
            zmq_msg_init(&job->reply);
            job->has_reply = zmq_msg_move(&job->reply, &f[2]) == 0;
            s_finish(self, job, HY_CLIENT_OK);
        } else {
            hy_log_debug("forward", "reply to a request no longer waiting, dropped");
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
    return 0;
}

static void *s_run(void *arg)
{
    hy_forwarder_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        bool stop = self->stop;
        hy_fwd_job_t *list = self->queue;
        self->queue = self->queue_tail = NULL;
        self->signalled = false;
        pthread_mutex_unlock(&self->lock);
        while (list) {
            hy_fwd_job_t *job = list;
            list = job->next;
            job->next = NULL;
            if (stop)
                s_finish(self, job, HY_CLIENT_ERROR);
            else
                s_send(self, job);
        }
        if (stop)
            break;
        int64_t now = hy_now_us();
        while (self->head && self->head->deadline_us <= now)
            s_finish(self, self->head, HY_CLIENT_TIMEOUT);
        long timeout = 1000;
        if (self->head) {
            int64_t ms = (self->head->deadline_us - now + 999) / 1000;
            timeout = ms < timeout ? (long)ms : timeout;
        }
        zmq_pollitem_t items[2] = {{self->dealer, 0, ZMQ_POLLIN, 0}, {NULL, self->efd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, timeout) < 0) {
            if (zmq_errno() == ETERM)
                break;
            continue;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t count;
            if (read(self->efd, &count, sizeof count) < 0 && errno != EAGAIN)
                hy_log_warn("forward", "eventfd: %s", strerror(errno));
        }
        if ((items[0].revents & ZMQ_POLLIN) && s_on_replies(self) != 0)
            hy_log_warn("forward", "receiving from the broker: %s", zmq_strerror(zmq_errno()));
    }
    /* Stopping: every request in flight is answered (503) so that MHD can stop. */
    while (self->head)
        s_finish(self, self->head, HY_CLIENT_ERROR);
    return NULL;
}

hy_forwarder_t *hy_forwarder_new(void *zctx, const char *endpoint)
{
    hy_forwarder_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->efd = -1;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    int zero = 0, hwm = 0;   /* no high-water mark: the connection limit bounds what is queued */
    if (!(self->endpoint = strdup(endpoint)) ||
        (self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        !(self->dealer = zmq_socket(zctx, ZMQ_DEALER)) ||
        zmq_setsockopt(self->dealer, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(self->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        hy_curve_client(self->dealer, hy_curve_broker_name(), endpoint) != 0 ||
        zmq_connect(self->dealer, endpoint) != 0) {
        hy_log_error("forward", "cannot connect to the broker at %s: %s", endpoint,
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        goto fail;
    pthread_setname_np(self->thread, "hy-forward");
    self->running = true;
    return self;
fail:
    hy_forwarder_destroy(&self);
    return NULL;
}

void hy_forwarder_stop(hy_forwarder_t *self)
{
    if (!self || !self->running)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    uint64_t one = 1;
    if (write(self->efd, &one, sizeof one) < 0)
        hy_log_warn("forward", "eventfd: %s", strerror(errno));
    pthread_join(self->thread, NULL);
    self->running = false;
}

void hy_forwarder_destroy(hy_forwarder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_forwarder_t *self = *self_p;
    hy_forwarder_stop(self);
    if (self->dealer)
        zmq_close(self->dealer);
    if (self->efd >= 0)
        close(self->efd);
    pthread_mutex_destroy(&self->lock);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

int hy_forwarder_submit(hy_forwarder_t *self, hy_fwd_job_t *job)
{
    job->next = job->prev = NULL;
    job->tag = 0;
    job->rc = HY_CLIENT_ERROR;
    job->has_reply = false;
    pthread_mutex_lock(&self->lock);
    if (self->stop) {
        pthread_mutex_unlock(&self->lock);
        return -1;
    }
    /* Suspended before it is queued, so the I/O thread can never resume it first. */
    MHD_suspend_connection(job->conn);
    if (self->queue_tail)
        self->queue_tail->next = job;
    else
        self->queue = job;
    self->queue_tail = job;
    /* One wake-up per batch: under load the I/O thread takes many jobs per system call. */
    bool wake = !self->signalled;
    self->signalled = true;
    pthread_mutex_unlock(&self->lock);
    uint64_t one = 1;
    if (wake && write(self->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        hy_log_warn("forward", "eventfd: %s", strerror(errno));
    return 0;
}

json_t *hy_fwd_job_reply(hy_fwd_job_t *job)
{
    if (!job->has_reply)
        return NULL;
    json_t *doc = json_loadb(zmq_msg_data(&job->reply), zmq_msg_size(&job->reply), 0, NULL);
    zmq_msg_close(&job->reply);
    job->has_reply = false;
    return doc;
}

void hy_fwd_job_clear(hy_fwd_job_t *job)
{
    if (job->has_reply)
        zmq_msg_close(&job->reply);
    job->has_reply = false;
    free(job->text);
    job->text = NULL;
}
