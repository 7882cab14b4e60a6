/*
 * intake.c — decoding the next batch's requests while this batch commits.
 *
 * The reactor is one thread: it receives requests, decodes them, runs the batch and commits it.
 * A durable commit spends most of its time writing pages and waiting for the disk, while the
 * requests of the next batch are already queued on the socket. Just before it commits, the
 * reactor takes them off the socket undecoded (a few hundred nanoseconds each) and hands them to
 * this thread, which parses their JSON (and checks a write's role and arguments: the batch
 * need not) on the other core during the commit; after the commit
 * the reactor takes them back decoded, in the order they came, and runs them as it would have.
 *
 * Nothing changes in what a request sees: it is still run after the commit it waited behind,
 * after the events received before it were applied, and it is answered on the socket it came
 * from. The reactor never touches a document while this thread decodes it (hand-off under a
 * mutex), and jansson's reference counts are atomic.
 */
#define _GNU_SOURCE   /* pthread_setname_np: the thread shows in top and in the bench */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service_internal.h"

struct hy_intake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop;
    bool work;            /* bodies handed over, not yet decoded */
    size_t n, next, cap;  /* requests held; the next to take */
    zmq_msg_t *clients, *bodies;
    json_t **docs;
    bool *checked;
    json_t **prepared;   /* what the op's prepare made (hy_dispatch_precheck) */
    hy_intake_check_fn check;
    void *check_arg;
    _Atomic uint64_t decoded;   /* requests decoded ahead, for service.status */
};

static void *s_run(void *arg)
{
    hy_intake_t *self = arg;
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (!self->work && !self->stop)
            pthread_cond_wait(&self->cv, &self->mu);
        if (self->stop)
            break;
        size_t n = self->n;
        pthread_mutex_unlock(&self->mu);
        for (size_t i = 0; i < n; i++) {   /* the arrays are ours until work is cleared */
            self->docs[i] = hy_worker_decode(&self->bodies[i]);
            self->prepared[i] = NULL;
            self->checked[i] = self->check &&
                               self->check(self->check_arg, self->docs[i], &self->prepared[i]);
            zmq_msg_close(&self->bodies[i]);
        }
        self->decoded += n;
        pthread_mutex_lock(&self->mu);
        self->work = false;
        pthread_cond_broadcast(&self->cv);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

hy_intake_t *hy_intake_new(size_t cap, hy_intake_check_fn check, void *arg)
{
    hy_intake_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->check = check;
    self->check_arg = arg;
    self->cap = cap ? cap : 1;
    self->clients = calloc(self->cap, sizeof *self->clients);
    self->bodies = calloc(self->cap, sizeof *self->bodies);
    self->docs = calloc(self->cap, sizeof *self->docs);
    self->checked = calloc(self->cap, sizeof *self->checked);
    self->prepared = calloc(self->cap, sizeof *self->prepared);
    if (!self->clients || !self->bodies || !self->docs || !self->checked || !self->prepared)
        goto fail;
    if (pthread_mutex_init(&self->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&self->cv, NULL) != 0) {
        pthread_mutex_destroy(&self->mu);
        goto fail;
    }
    int rc = pthread_create(&self->thread, NULL, s_run, self);
    if (rc != 0) {
        hy_log_error("service", "cannot start the intake thread: %s", strerror(rc));
        pthread_cond_destroy(&self->cv);
        pthread_mutex_destroy(&self->mu);
        goto fail;
    }
    pthread_setname_np(self->thread, "hy-intake");
    return self;
fail:
    free(self->clients);
    free(self->bodies);
    free(self->docs);
    free(self->prepared);
    free(self->checked);
    free(self);
    return NULL;
}

/* Waits until the thread has decoded what it was given. */
static void s_wait(hy_intake_t *self)
{
    pthread_mutex_lock(&self->mu);
    while (self->work)
        pthread_cond_wait(&self->cv, &self->mu);
    pthread_mutex_unlock(&self->mu);
}

void hy_intake_destroy(hy_intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_intake_t *self = *self_p;
    s_wait(self);
    pthread_mutex_lock(&self->mu);
    self->stop = true;
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
    pthread_join(self->thread, NULL);
    for (size_t i = self->next; i < self->n; i++) {
        zmq_msg_close(&self->clients[i]);
        json_decref(self->docs[i]);
        json_decref(self->prepared[i]);
    }
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self->clients);
    free(self->bodies);
    free(self->docs);
    free(self->checked);
    free(self->prepared);
    free(self);
    *self_p = NULL;
}

size_t hy_intake_prefetch(hy_intake_t *self, void *sock)
{
    if (!self || !sock || self->next < self->n)
        return 0;   /* the last ones are not all taken yet */
    self->n = self->next = 0;
    while (self->n < self->cap) {
        int rc = hy_worker_recv_raw(sock, &self->clients[self->n], &self->bodies[self->n]);
        if (rc == 1 || rc == -1)
            break;
        if (rc == 0)
            self->n++;
    }
    if (self->n == 0)
        return 0;
    pthread_mutex_lock(&self->mu);
    self->work = true;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
    return self->n;
}

size_t hy_intake_pending(const hy_intake_t *self)
{
    return self ? self->n - self->next : 0;
}

int hy_intake_take(hy_intake_t *self, zmq_msg_t *client, json_t **doc, bool *checked,
                   json_t **prepared)
{
    if (!self || self->next >= self->n)
        return 1;
    if (self->next == 0)
        s_wait(self);
    size_t i = self->next++;
    zmq_msg_init(client);
    zmq_msg_move(client, &self->clients[i]);
    zmq_msg_close(&self->clients[i]);
    *doc = self->docs[i];
    *checked = self->checked[i];
    *prepared = self->prepared[i];
    self->docs[i] = self->prepared[i] = NULL;
    return 0;
}

uint64_t hy_intake_decoded(const hy_intake_t *self)
{
    return self ? self->decoded : 0;
}
