/*
 * flusher.c — starts the writeback of a commit's pages while LMDB is still writing them.
 *
 * A durable LMDB commit writes every dirty page with pwrite, then fdatasync()s the data file,
 * then writes the meta page. The fdatasync does the page cache's writeback work for all those
 * pages in the committing thread (walking the dirty pages, building and submitting the I/O: a
 * fifth of the registry's writer time at 64 connections) and only then waits for the disk.
 * While a commit runs, this thread asks the kernel every HY_FLUSH_TICK_US to start writing back
 * what has been written so far (sync_file_range SYNC_FILE_RANGE_WRITE), on the other core: the
 * committing thread's fdatasync then finds most pages already on their way and mostly waits.
 *
 * It changes nothing LMDB relies on: starting writeback early is what the kernel's own flusher
 * threads may do at any moment; the data pages are still all durable (fdatasync) before the
 * meta page that points at them is written, by LMDB, exactly as before.
 */
#define _GNU_SOURCE
#include "flusher.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define HY_FLUSH_TICK_US 100

enum { S_IDLE, S_COMMIT, S_STOP };

struct hy_flusher {
    int fd;
    int state;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    unsigned long calls;   /* sync_file_range calls made (for tests) */
};

static void *s_run(void *arg)
{
    hy_flusher_t *self = arg;
    struct timespec tick = {0, HY_FLUSH_TICK_US * 1000L};
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (self->state == S_IDLE)
            pthread_cond_wait(&self->cv, &self->mu);
        if (self->state == S_STOP)
            break;
        pthread_mutex_unlock(&self->mu);
        /* Errors are not ours to report: the commit's own fdatasync sees (and returns) them. */
        if (sync_file_range(self->fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0)
            __atomic_add_fetch(&self->calls, 1, __ATOMIC_RELAXED);
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&self->mu);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

hy_flusher_t *hy_flusher_new(int fd)
{
    hy_flusher_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = fd;
    if (pthread_mutex_init(&self->mu, NULL) != 0) {
        free(self);
        return NULL;
    }
    if (pthread_cond_init(&self->cv, NULL) != 0) {
        pthread_mutex_destroy(&self->mu);
        free(self);
        return NULL;
    }
    int rc = pthread_create(&self->thread, NULL, s_run, self);
    if (rc != 0) {
        hy_log_error("store", "cannot start the flusher thread: %s", strerror(rc));
        pthread_cond_destroy(&self->cv);
        pthread_mutex_destroy(&self->mu);
        free(self);
        return NULL;
    }
    pthread_setname_np(self->thread, "hy-flusher");   /* shows in top and in the bench */
    return self;
}

static void s_set(hy_flusher_t *self, int state)
{
    pthread_mutex_lock(&self->mu);
    self->state = state;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void hy_flusher_destroy(hy_flusher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_flusher_t *self = *self_p;
    s_set(self, S_STOP);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

void hy_flusher_begin(hy_flusher_t *self)
{
    if (self)
        s_set(self, S_COMMIT);
}

void hy_flusher_end(hy_flusher_t *self)
{
    if (self)
        s_set(self, S_IDLE);
}

unsigned long hy_flusher_calls(hy_flusher_t *self)
{
    return self ? __atomic_load_n(&self->calls, __ATOMIC_RELAXED) : 0;
}
