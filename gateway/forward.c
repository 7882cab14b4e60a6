/*
 * forward.c — asynchronous forwarding: no HTTP thread ever waits on a service.
 *
 * Mongrel2's handler model and the ZeroMQ guide's asynchronous client. An HTTP thread that
 * has a request for a service suspends its connection (MHD_suspend_connection), queues the
 * job here and goes back to other connections. The jobs are sent by the broker's own thread
 * (hy_broker_local_t, broker.h): the broker's loop wakes on the queue's eventfd, hands each job
 * straight to a worker with a correlation tag (an 8-byte counter), and gives the worker's reply
 * back here by that tag, with no socket and no thread between the HTTP side and the broker.
 * The connection is resumed on the reply or at the job's deadline, whichever comes first. The
 * reply text is kept, unparsed, in the job; the HTTP thread parses it when MHD calls the
 * handler again. A slow or stopped service thus delays only its own requests.
 *
 * Jobs in flight sit in a ring indexed by tag (more jobs than slots are refused at once, which
 * the connection limit makes impossible in practice) and in a list ordered by deadline; both
 * belong to the broker's thread. HTTP threads queue under the lock and write the eventfd once
 * per batch.
 */
#include "gateway.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "client.h"
#include "log.h"

#define STOP_WAIT_S 10       /* how long hy_forwarder_stop waits for the broker's thread */

struct hy_forwarder {
    hy_broker_t *broker;
    hy_broker_local_t local;
    int efd;                      /* eventfd: jobs are queued, or stop */
    pthread_mutex_t lock;         /* guards queue, signalled, stop, detached */
    pthread_cond_t detached_cond;
    bool lock_ready, cond_ready, attached;
    hy_fwd_job_t *queue, *queue_tail;
    bool signalled;               /* the eventfd was written since the queue was last taken */
    bool stop;
    bool detached;                /* the broker's thread has let go of this forwarder */
    /* Owned by the broker's thread: */
    uint64_t next_tag;
    hy_fwd_job_t **ring;          /* in flight, by tag modulo ring_size */
    size_t ring_size;             /* a power of two: jobs in flight at most */
    size_t in_flight;
    hy_fwd_job_t *head, *tail;    /* in flight, by deadline */
};

/* Hands a finished job back to its HTTP request. The job belongs to the request from here. */
static void s_finish(hy_forwarder_t *self, hy_fwd_job_t *job, int rc)
{
    if (job->tag) {
        self->ring[job->tag & (self->ring_size - 1)] = NULL;
        self->in_flight--;
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
    job->tag = 0;
    job->rc = rc;
    MHD_resume_connection(job->conn);
}

/* Files one job by tag and deadline and sends it; its reply may come before this returns. A
 * tag whose slot a job still holds (one waiting on a stopped service, while ring_size others
 * came and went) is skipped: only a ring full of jobs in flight refuses one. */
static void s_send(hy_forwarder_t *self, hy_fwd_job_t *job)
{
    if (self->in_flight >= self->ring_size) {
        hy_log_warn("forward", "more than %zu requests in flight: refused", self->ring_size);
        job->tag = 0;
        s_finish(self, job, HY_CLIENT_ERROR);
        return;
    }
    uint64_t tag = ++self->next_tag;
    while (tag == 0 || self->ring[tag & (self->ring_size - 1)])
        tag = ++self->next_tag;
    job->tag = tag;
    self->ring[tag & (self->ring_size - 1)] = job;
    self->in_flight++;
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
    hy_broker_local_send(self->broker, job->service, job->text, job->len, &tag, sizeof tag);
}

/* A reply from the broker: the job of its tag is finished with a copy of it. */
static void s_reply(void *arg, const void *tagp, size_t taglen, const void *body, size_t len)
{
    hy_forwarder_t *self = arg;
    uint64_t tag = 0;
    if (taglen == sizeof tag)
        memcpy(&tag, tagp, sizeof tag);
    hy_fwd_job_t *job = tag ? self->ring[tag & (self->ring_size - 1)] : NULL;
    if (!job || job->tag != tag) {
        hy_log_debug("forward", "reply to a request no longer waiting, dropped");
        return;
    }
    free(job->reply);
    if ((job->reply = malloc(len + 1))) {
        memcpy(job->reply, body, len);
        job->reply[len] = '\0';
        job->reply_len = len;
    }
    s_finish(self, job, job->reply ? HY_CLIENT_OK : HY_CLIENT_ERROR);
}

/* Everything in flight or queued is answered (503), then the broker's thread lets go of the
 * forwarder: after the broadcast it never touches it again. */
static void s_detach(hy_forwarder_t *self)
{
    while (self->head)
        s_finish(self, self->head, HY_CLIENT_ERROR);
    pthread_mutex_lock(&self->lock);
    hy_fwd_job_t *list = self->queue;
    self->queue = self->queue_tail = NULL;
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    while (list) {
        hy_fwd_job_t *job = list;
        list = job->next;
        job->next = NULL;
        s_finish(self, job, HY_CLIENT_ERROR);
    }
    pthread_mutex_lock(&self->lock);
    self->detached = true;
    pthread_cond_broadcast(&self->detached_cond);
    pthread_mutex_unlock(&self->lock);
}

static void s_stopped(void *arg)
{
    s_detach(arg);
}

/* In the broker's thread, after every wake-up: sends what is queued, times out what is due,
 * and says how long the broker may sleep (ms), or -1 once stopping. */
static long s_wake(void *arg, hy_broker_t *broker)
{
    (void)broker;
    hy_forwarder_t *self = arg;
    pthread_mutex_lock(&self->lock);
    bool stop = self->stop, signalled = self->signalled;
    hy_fwd_job_t *list = stop ? NULL : self->queue;
    if (!stop)
        self->queue = self->queue_tail = NULL;
    self->signalled = false;
    pthread_mutex_unlock(&self->lock);
    uint64_t count;
    if (signalled && read(self->efd, &count, sizeof count) < 0 && errno != EAGAIN)
        hy_log_warn("forward", "eventfd: %s", strerror(errno));
    if (stop) {
        s_detach(self);
        return -1;
    }
    while (list) {
        hy_fwd_job_t *job = list;
        list = job->next;
        job->next = NULL;
        s_send(self, job);
    }
    int64_t now = hy_now_us();
    while (self->head && self->head->deadline_us <= now)
        s_finish(self, self->head, HY_CLIENT_TIMEOUT);
    long timeout = 1000;
    if (self->head) {
        int64_t ms = (self->head->deadline_us - now + 999) / 1000;
        timeout = ms < timeout ? (long)ms : timeout;
    }
    return timeout;
}

hy_forwarder_t *hy_forwarder_new(hy_broker_t *broker, size_t max_in_flight)
{
    hy_forwarder_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->efd = -1;
    self->broker = broker;
    self->ring_size = 64;
    while (self->ring_size < max_in_flight)
        self->ring_size *= 2;
    if (!(self->ring = calloc(self->ring_size, sizeof *self->ring)))
        goto fail;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto fail;
    self->lock_ready = true;
    if (pthread_cond_init(&self->detached_cond, NULL) != 0)
        goto fail;
    self->cond_ready = true;
    if ((self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        goto fail;
    self->local = (hy_broker_local_t){self->efd, s_wake, s_reply, s_stopped, self};
    if (hy_broker_attach(broker, &self->local) != 0) {
        hy_log_error("forward", "the broker serves another forwarder already");
        goto fail;
    }
    self->attached = true;
    return self;
fail:
    hy_forwarder_destroy(&self);
    return NULL;
}

void hy_forwarder_stop(hy_forwarder_t *self)
{
    if (!self || !self->attached)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    uint64_t one = 1;
    if (write(self->efd, &one, sizeof one) < 0)
        hy_log_warn("forward", "eventfd: %s", strerror(errno));
    /* The broker's thread answers what is in flight and lets go (s_wake, or s_stopped when
     * its loop ends). */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (!self->detached && rc == 0)
        rc = pthread_cond_timedwait(&self->detached_cond, &self->lock, &until);
    bool detached = self->detached;
    pthread_mutex_unlock(&self->lock);
    if (!detached)
        hy_log_error("forward", "the broker's thread did not let go of the forwarder in %d s",
                     STOP_WAIT_S);
    self->attached = !detached;
}

void hy_forwarder_destroy(hy_forwarder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_forwarder_t *self = *self_p;
    hy_forwarder_stop(self);
    if (self->attached) {   /* the broker's thread may still use it: leaked, not freed */
        *self_p = NULL;
        return;
    }
    if (self->efd >= 0)
        close(self->efd);
    if (self->cond_ready)
        pthread_cond_destroy(&self->detached_cond);
    if (self->lock_ready)
        pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

int hy_forwarder_submit(hy_forwarder_t *self, hy_fwd_job_t *job)
{
    job->next = job->prev = NULL;
    job->tag = 0;
    job->rc = HY_CLIENT_ERROR;
    free(job->reply);
    job->reply = NULL;
    job->reply_len = 0;
    pthread_mutex_lock(&self->lock);
    if (self->stop) {
        pthread_mutex_unlock(&self->lock);
        return -1;
    }
    /* Suspended before it is queued, so the broker's thread can never resume it first. */
    MHD_suspend_connection(job->conn);
    if (self->queue_tail)
        self->queue_tail->next = job;
    else
        self->queue = job;
    self->queue_tail = job;
    /* One wake-up per batch: under load the broker takes many jobs per system call. */
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
    if (!job->reply)
        return NULL;
    json_t *doc = json_loadb(job->reply, job->reply_len, 0, NULL);
    free(job->reply);
    job->reply = NULL;
    return doc;
}

void hy_fwd_job_clear(hy_fwd_job_t *job)
{
    free(job->reply);
    job->reply = NULL;
    free(job->text);
    job->text = NULL;
}
