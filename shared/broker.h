/*
 * broker.h — routes requests from clients to the live workers of a named service.
 *
 * The Majordomo pattern of the ZeroMQ guide, reduced to what Hamyar needs. Workers (service
 * processes) connect a DEALER to the broker's ROUTER and announce themselves with their service
 * name every second; a worker silent for HY_BROKER_EXPIRY_MS is forgotten. Clients (the gateway's
 * HTTP threads, subscribers asking events.since, hamyarctl, hamyar-fund-sync) send a request for
 * a service; the broker hands it to that service's workers in turn (round robin, not one request
 * at a time: a worker drains and group-commits many). Nobody keeps a list of replicas: starting
 * a worker is how a service scales, and a killed one stops receiving requests within the expiry.
 * When a service has no live worker the broker answers at once with a 503 reply.
 *
 * Only the names of the deployment's services (hy_broker_allow, from HY_SERVICES) are taken;
 * any other announcement is refused and logged once per name, and a name whose workers have
 * all gone silent is forgotten, so made-up names can neither fill the table nor get requests.
 *
 * Frames (ROUTER side shows the peer identity first):
 *   worker -> broker   "HYW1" "READY" <service> [<digest>]     (also the heartbeat; the digest
 *                                                               of its description, describe.h)
 *   worker -> broker   "HYW1" "REPLY" <return address, echoed> <reply json>
 *   broker -> worker   "HYW1" "REQUEST" <return address> <request json>
 *   client -> broker   "HYC1" <service> <request json> [<tag>]
 *   broker -> client   "HYC1" <service, or empty when relaying a worker's reply> <reply json> [<tag>]
 *   client -> broker   "HYC1" "_workers" ""  -> reply {"services":{"registry":1,...},
 *                      "digests":{"registry":"<digest of its newest worker>",...}}
 *
 * The tag (at most 64 bytes) is an asynchronous client's correlation id (the gateway's): the
 * broker folds it with the client's routing id into the return address ([id length][id][tag])
 * that the worker echoes without reading, and hands it back with the reply. A reply is thus
 * matched to its request even when the worker could not parse the request and so could not
 * echo its JSON id. Synchronous clients send no tag and match replies by JSON id.
 */
#ifndef HY_BROKER_H
#define HY_BROKER_H

#include <stddef.h>

#define HY_BROKER_HEARTBEAT_MS 1000
#define HY_BROKER_EXPIRY_MS    3000

typedef struct hy_broker hy_broker_t;

/* Creates a broker whose ROUTER binds every endpoint in the comma-separated list (tcp and/or
 * inproc). zctx is borrowed. Returns NULL on failure (errno from zmq). */
hy_broker_t *hy_broker_new(void *zctx, const char *endpoints);

/* Restricts the service names workers may announce to the comma-separated list names (NULL
 * or empty: any printable name of up to 63 bytes). Call before hy_broker_run. Returns 0, -1
 * on allocation failure. */
int hy_broker_allow(hy_broker_t *self, const char *names);

/* Runs the broker loop until hy_broker_stop is called or the context terminates. Returns 0. */
int hy_broker_run(hy_broker_t *self);

/* Asks a running broker (another thread) to stop; safe from any thread. */
void hy_broker_stop(hy_broker_t *self);

/* Destroys the broker; safe to call twice; sets *self_p to NULL. */
void hy_broker_destroy(hy_broker_t **self_p);

/* A client in the broker's own thread: the gateway's forwarder (gateway/forward.c) is served by
 * the broker's loop itself, not through a socket and a thread of its own, so that a request
 * goes from the loop straight to a worker and its reply straight back (two thread hand-offs
 * and two in-process copies fewer each way). Its requests and replies carry a tag like an
 * asynchronous client's; "_workers" is answered to it too. */
typedef struct hy_broker_local {
    int fd;   /* polled for input by the loop: the client has requests queued (an eventfd) */
    /* Called in the broker's thread after every wake-up: sends what the client has queued
     * (hy_broker_local_send) and returns how long the loop may sleep (ms) before the client's
     * next deadline, or -1 to be detached (the broker never calls it again). */
    long (*wake)(void *arg, hy_broker_t *broker);
    /* The reply (borrowed for the call) to the request sent with tag. */
    void (*reply)(void *arg, const void *tag, size_t taglen, const void *body, size_t len);
    /* The loop ended with the client attached: it answers everything it has in flight. */
    void (*stopped)(void *arg);
    void *arg;
} hy_broker_local_t;

/* Attaches local (borrowed until detached; one at a time); safe from any thread, before or
 * while the broker runs. Returns 0, -1 when one is attached already. */
int hy_broker_attach(hy_broker_t *self, const hy_broker_local_t *local);
/* From local->wake only: sends body for service with the client's tag (at most 64 bytes). The
 * reply, or the broker's 503 when the service has no live worker (possibly before this
 * returns), comes through local->reply. */
void hy_broker_local_send(hy_broker_t *self, const char *service, const void *body, size_t len,
                          const void *tag, size_t taglen);

#endif
