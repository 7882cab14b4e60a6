/*
 * client.h — a synchronous client of the broker: send one request to a service, wait for its
 * reply with a deadline.
 *
 * One client is used by one thread (ZeroMQ sockets are not thread-safe). Replies to requests
 * that timed out earlier arrive late and are dropped by request id, so a slow service can never
 * make a later call return the wrong answer.
 */
#ifndef HY_CLIENT_H
#define HY_CLIENT_H

#include <jansson.h>

typedef struct hy_client hy_client_t;

enum {
    HY_CLIENT_OK = 0,
    HY_CLIENT_TIMEOUT = -2,   /* no reply before the deadline: the gateway answers 504 */
    HY_CLIENT_ERROR = -1,     /* socket or encoding failure */
};

/* Connects a DEALER to the broker endpoint. zctx is borrowed. Returns NULL on failure. */
hy_client_t *hy_client_new(void *zctx, const char *broker_endpoint);

/* Destroys the client; safe to call twice; sets *self_p to NULL. */
void hy_client_destroy(hy_client_t **self_p);

/* Sends request (borrowed; its "id" member is used to match the reply) to service and waits up
 * to timeout_ms. On HY_CLIENT_OK *reply is a new reference the caller must decref; it may be a
 * 503 error reply made by the broker when the service has no live worker. */
int hy_client_call(hy_client_t *self, const char *service, json_t *request, int timeout_ms,
                   json_t **reply);

/* Convenience: builds a request with a fresh id and actor {key_id: actor_key, role: "service"}
 * from op and args (stolen), calls, and returns the reply as above. */
int hy_client_op(hy_client_t *self, const char *service, const char *op, json_t *args,
                 int timeout_ms, json_t **reply);

/* The broker's whole report: {"services":{"registry":1},"digests":{"registry":"<digest>"}}
 * (broker.h). On HY_CLIENT_OK *report is a new reference. */
int hy_client_report(hy_client_t *self, int timeout_ms, json_t **report);

/* Asks the broker which services have live workers: {"registry":1,"reporting":2}. */
int hy_client_workers(hy_client_t *self, int timeout_ms, json_t **services);

/* Fills buf (>= 37 bytes) with a fresh random request id (UUID v4 text). */
void hy_new_request_id(char *buf);

#endif
