/*
 * ticker.c — a named thread that calls a function every period until stopped (gateway.h).
 *
 * The guard (slow senders) and the catalog (services' descriptions) each need one; a stop
 * wakes the thread at once rather than at the end of its period.
 */
#define _GNU_SOURCE   /* pthread_setname_np: the thread shows in top and in the bench */
#include "gateway.h"

#include <stdlib.h>
#include <time.h>

struct hy_ticker {
    void (*fn)(void *);
    void *arg;
    long period_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, running;
};

static void *s_run(void *arg)
{
    hy_ticker_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        pthread_mutex_unlock(&self->lock);
        self->fn(self->arg);
        pthread_mutex_lock(&self->lock);
        if (self->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += self->period_ms / 1000;
        ts.tv_nsec += self->period_ms % 1000 * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&self->wake, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

hy_ticker_t *hy_ticker_new(const char *name, long period_ms, void (*fn)(void *), void *arg)
{
    hy_ticker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->fn = fn;
    self->arg = arg;
    self->period_ms = period_ms;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(self);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0 || pthread_mutex_init(&self->lock, NULL) != 0) {
        if (rc == 0)
            pthread_cond_destroy(&self->wake);
        free(self);
        return NULL;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        hy_ticker_destroy(&self);
        return NULL;
    }
    pthread_setname_np(self->thread, name);
    self->running = true;
    return self;
}

void hy_ticker_stop(hy_ticker_t *self)
{
    if (!self || !self->running)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    self->running = false;
}

void hy_ticker_destroy(hy_ticker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_ticker_stop(*self_p);
    pthread_mutex_destroy(&(*self_p)->lock);
    pthread_cond_destroy(&(*self_p)->wake);
    free(*self_p);
    *self_p = NULL;
}
