/*
 * client.c — synchronous request/reply with a deadline, through the broker (see client.h).
 */
#define _GNU_SOURCE
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "proto.h"

struct hy_client {
    void *sock;
};

void hy_new_request_id(char *buf)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* Not secret, only unique: fall back to time and address bits. */
        int64_t t = hy_now_us();
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)((t >> (i % 8 * 8)) ^ ((uintptr_t)buf >> (i % 4)) ^ (unsigned)i * 37u);
    }
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
             r[13], r[14], r[15]);
}

hy_client_t *hy_client_new(void *zctx, const char *broker_endpoint)
{
    hy_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = zmq_socket(zctx, ZMQ_DEALER);
    /* A broker that stops reading must not block the caller forever: sends time out too. */
    int zero = 0, sndtimeo = 1000;
    if (!self->sock || zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(self->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) != 0 ||
        hy_curve_client(self->sock, hy_curve_broker_name(), broker_endpoint) != 0 ||
        zmq_connect(self->sock, broker_endpoint) != 0) {
        hy_log_error("client", "cannot connect to %s: %s", broker_endpoint,
                     zmq_strerror(zmq_errno()));
        hy_client_destroy(&self);
        return NULL;
    }
    return self;
}

void hy_client_destroy(hy_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->sock)
        zmq_close((*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

/* Receives one 3-frame reply into *body (new json); -1 on a frame error, 1 when malformed. */
static int s_recv_reply(void *sock, json_t **body)
{
    zmq_msg_t f[3];
    int n = 0, more = 1, rc = 0;
    while (more) {
        zmq_msg_t tmp, *m = n < 3 ? &f[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, 0) < 0) {
            zmq_msg_close(m);
            rc = -1;
            break;
        }
        more = zmq_msg_more(m);
        if (m == &tmp) {
            zmq_msg_close(m);
            rc = 1;
        } else
            n++;
    }
    *body = NULL;
    if (rc == 0 && n == 3)
        *body = json_loadb(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, NULL);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    if (rc == 0 && !*body)
        rc = 1;
    return rc;
}

static int s_call_raw(hy_client_t *self, const char *service, const char *text, const char *id,
                      int timeout_ms, json_t **reply)
{
    *reply = NULL;
    if (zmq_send(self->sock, "HYC1", 4, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->sock, service, strlen(service), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->sock, text, strlen(text), 0) < 0)
        return HY_CLIENT_ERROR;
    int64_t deadline = hy_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left = (deadline - hy_now_us()) / 1000;
        if (left <= 0)
            return HY_CLIENT_TIMEOUT;
        zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return HY_CLIENT_ERROR;
        }
        if (rc == 0)
            return HY_CLIENT_TIMEOUT;
        json_t *body;
        rc = s_recv_reply(self->sock, &body);
        if (rc < 0)
            return HY_CLIENT_ERROR;
        if (rc > 0)
            continue;
        /* A late reply to an earlier request that timed out: drop it. A call with no id (the
         * broker's _workers report) takes only a reply that has no id either. */
        const char *rid = json_string_value(json_object_get(body, "id"));
        if (id ? (!rid || strcmp(rid, id) != 0) : json_object_get(body, "id") != NULL) {
            json_decref(body);
            continue;
        }
        *reply = body;
        return HY_CLIENT_OK;
    }
}

int hy_client_call(hy_client_t *self, const char *service, json_t *request, int timeout_ms,
                   json_t **reply)
{
    char *text = json_dumps(request, JSON_COMPACT);
    if (!text)
        return HY_CLIENT_ERROR;
    int rc = s_call_raw(self, service, text, json_string_value(json_object_get(request, "id")),
                        timeout_ms, reply);
    free(text);
    return rc;
}

int hy_client_op(hy_client_t *self, const char *service, const char *op, json_t *args,
                 int timeout_ms, json_t **reply)
{
    char id[40];
    hy_new_request_id(id);
    hy_actor_t actor = {"service", "service", ""};
    json_t *req = hy_proto_request(op, id, &actor, NULL, args);
    if (!req)
        return HY_CLIENT_ERROR;
    int rc = hy_client_call(self, service, req, timeout_ms, reply);
    json_decref(req);
    return rc;
}

int hy_client_report(hy_client_t *self, int timeout_ms, json_t **report)
{
    return s_call_raw(self, "_workers", "", NULL, timeout_ms, report);
}

int hy_client_workers(hy_client_t *self, int timeout_ms, json_t **services)
{
    json_t *reply = NULL;
    int rc = s_call_raw(self, "_workers", "", NULL, timeout_ms, &reply);
    if (rc != HY_CLIENT_OK)
        return rc;
    *services = json_incref(json_object_get(reply, "services"));
    json_decref(reply);
    return *services ? HY_CLIENT_OK : HY_CLIENT_ERROR;
}
