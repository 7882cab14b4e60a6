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

/* A UUIDv4 from a per-thread xoshiro256** generator seeded once from getrandom: request ids
 * must be unique, not secret, and one is made for every request the gateway answers, so a
 * system call and a snprintf each (as before) were a visible share of a GET's CPU. */
static _Thread_local uint64_t s_rng[4];
static _Thread_local bool s_rng_ready;

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t s_rng_next(void)
{
    uint64_t *s = s_rng;
    uint64_t out = s_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return out;
}

static void s_rng_seed(void)
{
    uint64_t seed[4] = { 0 };
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        /* Not secret, only unique: fall back to time and address bits. */
        int64_t t = hy_now_us();
        seed[0] = (uint64_t)t;
        seed[1] = (uint64_t)(uintptr_t)&s_rng ^ 0x9e3779b97f4a7c15ull;
    }
    /* splitmix64 over the seed, so that no state word is zero. */
    uint64_t x = seed[0] ^ seed[1] ^ seed[2] ^ seed[3];
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull) ^ seed[i];
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s_rng[i] = z ^ (z >> 31);
    }
    s_rng_ready = true;
}

void hy_new_request_id(char *buf)
{
    static const char hex[] = "0123456789abcdef";
    if (!s_rng_ready)
        s_rng_seed();
    unsigned char r[16];
    uint64_t a = s_rng_next(), b = s_rng_next();
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 8);
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    char *p = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[r[i] >> 4];
        *p++ = hex[r[i] & 15];
    }
    *p = '\0';
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
