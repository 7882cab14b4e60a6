/*
 * client_pool.c — broker clients shared by threads (client_pool.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client_pool.h"

struct hy_client_pool {
    pthread_mutex_t lock;
    char *endpoint;
    void *zctx;             /* made at the first take */
    size_t keep, nidle;
    hy_client_t **idle;
};

hy_client_pool_t *hy_client_pool_new(const char *endpoint, size_t keep)
{
    hy_client_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->keep = keep ? keep : 1;
    self->endpoint = strdup(endpoint ? endpoint : "");
    self->idle = calloc(self->keep, sizeof *self->idle);
    if (!self->endpoint || !self->idle || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->endpoint);
        free(self->idle);
        free(self);
        return NULL;
    }
    return self;
}

void hy_client_pool_destroy(hy_client_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_client_pool_t *self = *self_p;
    for (size_t i = 0; i < self->nidle; i++)
        hy_client_destroy(&self->idle[i]);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    pthread_mutex_destroy(&self->lock);
    free(self->idle);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

hy_client_t *hy_client_pool_take(hy_client_pool_t *self)
{
    hy_client_t *c = NULL;
    if (!self || pthread_mutex_lock(&self->lock) != 0)
        return NULL;
    if (self->nidle)
        c = self->idle[--self->nidle];
    else {
        if (!self->zctx)
            self->zctx = zmq_ctx_new();
        c = self->zctx ? hy_client_new(self->zctx, self->endpoint) : NULL;
    }
    pthread_mutex_unlock(&self->lock);
    return c;
}

void hy_client_pool_give(hy_client_pool_t *self, hy_client_t *client)
{
    if (!client)
        return;
    if (!self || pthread_mutex_lock(&self->lock) != 0) {
        hy_client_destroy(&client);
        return;
    }
    if (self->nidle < self->keep)
        self->idle[self->nidle++] = client;
    else
        hy_client_destroy(&client);
    pthread_mutex_unlock(&self->lock);
}

size_t hy_client_pool_idle(hy_client_pool_t *self)
{
    size_t n = 0;
    if (self && pthread_mutex_lock(&self->lock) == 0) {
        n = self->nidle;
        pthread_mutex_unlock(&self->lock);
    }
    return n;
}
