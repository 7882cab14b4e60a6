/*
 * client_pool.h — broker clients shared by threads: a thread takes one, calls, and gives it
 * back.
 *
 * A ZeroMQ socket is used by one thread at a time, so threads that ask other services (a
 * service's reader threads, say) share a small pool instead of a client each. The pool has a
 * ZeroMQ context of its own, made at the first take, and keeps at most `keep` idle clients: a
 * take with none idle makes one, a give with `keep` idle closes it. Take and give run under a
 * mutex; a call does not.
 */
#ifndef HY_CLIENT_POOL_H
#define HY_CLIENT_POOL_H

#include <stddef.h>

#include "client.h"

typedef struct hy_client_pool hy_client_pool_t;

/* A pool of clients of the broker at endpoint (copied). NULL when out of memory. */
hy_client_pool_t *hy_client_pool_new(const char *endpoint, size_t keep);

/* Closes the idle clients and the context; every client taken must have been given back.
 * Safe to call twice; sets *self_p to NULL. */
void hy_client_pool_destroy(hy_client_pool_t **self_p);

/* An idle client, or a new one; NULL when none can be made. */
hy_client_t *hy_client_pool_take(hy_client_pool_t *self);

/* Gives back a client taken from the pool (kept idle, or closed when `keep` are). A client
 * whose call failed may be given back too: a late reply is dropped by its request id. */
void hy_client_pool_give(hy_client_pool_t *self, hy_client_t *client);

/* Idle clients now (tests). */
size_t hy_client_pool_idle(hy_client_pool_t *self);

#endif
