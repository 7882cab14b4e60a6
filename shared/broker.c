/*
 * broker.c — routes client requests to live workers by service name (see broker.h).
 *
 * State is a small table of services, each with its live workers in turn order. Counts are
 * small (a handful of services, a few replicas each), so plain arrays and linear search beat
 * any hash table here and keep the code obvious.
 */
#include "broker.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "proto.h"

#define MAX_SERVICES 32
#define MAX_WORKERS 64
#define ID_MAX 256
#define NAME_MAX_LEN 63
#define REFUSED_LOGGED 64   /* distinct refused names logged; later ones are counted only */
#define TAG_MAX 64          /* a client's correlation tag (4th frame of a request) */

typedef struct {
    unsigned char id[ID_MAX];
    size_t idlen;
    int64_t expiry_us;
} s_worker_t;

#define DIGEST_MAX 64

typedef struct {
    char name[64];
    s_worker_t workers[MAX_WORKERS];
    int count;
    unsigned next;   /* round robin */
    char digest[DIGEST_MAX + 1];   /* of the description its newest worker announced */
} s_service_t;

struct hy_broker {
    void *router;
    s_service_t services[MAX_SERVICES];
    int nservices;
    char *allowed;              /* ",registry,loans," or NULL: any name */
    char refused[REFUSED_LOGGED][NAME_MAX_LEN + 1];
    int nrefused;
    unsigned long refused_total;
    unsigned long malformed;    /* messages dropped, logged now and then */
    atomic_bool stop;
    const hy_broker_local_t *local;              /* the broker thread's own */
    _Atomic(const hy_broker_local_t *) attach;   /* handed over by hy_broker_attach */
    atomic_bool attached;
};

/* The routing id of the local client: one zero byte, which no ZeroMQ peer can have (a peer's
 * own id may not start with zero; generated ones are five bytes). */
static const unsigned char s_local_id[1] = {0};

hy_broker_t *hy_broker_new(void *zctx, const char *endpoints)
{
    hy_broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init(&self->stop, false);
    atomic_init(&self->attach, NULL);
    atomic_init(&self->attached, false);
    self->router = zmq_socket(zctx, ZMQ_ROUTER);
    if (!self->router)
        goto fail;
    int one = 1, zero = 0, hwm = 100000;
    if (zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        goto fail;
    char *list = strdup(endpoints);
    if (!list)
        goto fail;
    char *save = NULL;
    for (char *ep = strtok_r(list, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        if (hy_curve_server(self->router, ep) != 0 || zmq_bind(self->router, ep) != 0) {
            hy_log_error("broker", "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
            free(list);
            goto fail;
        }
    }
    free(list);
    return self;
fail:
    hy_broker_destroy(&self);
    return NULL;
}

int hy_broker_allow(hy_broker_t *self, const char *names)
{
    free(self->allowed);
    self->allowed = NULL;
    if (!names || !*names)
        return 0;
    size_t n = strlen(names);
    if (!(self->allowed = malloc(n + 3)))
        return -1;
    /* ",a,b," so that a lookup is one strstr of ",name,". */
    char *o = self->allowed;
    *o++ = ',';
    for (const char *p = names; *p; p++)
        *o++ = *p == ' ' ? ',' : *p;
    *o++ = ',';
    *o = '\0';
    return 0;
}

void hy_broker_destroy(hy_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->router)
        zmq_close((*self_p)->router);
    free((*self_p)->allowed);
    free(*self_p);
    *self_p = NULL;
}

void hy_broker_stop(hy_broker_t *self)
{
    atomic_store(&self->stop, true);
}

/* Whether a worker may announce name: printable, short, and listed when a list is set. */
static bool s_allowed(hy_broker_t *self, const char *name, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN || name[0] == '_')
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ',')
            return false;
    if (!self->allowed)
        return true;
    char key[NAME_MAX_LEN + 3];
    snprintf(key, sizeof key, ",%.*s,", (int)len, name);
    return strstr(self->allowed, key) != NULL;
}

/* Logs a refused name the first time it is seen (a bounded memory of them), so that a
 * misconfigured or hostile peer repeating READY every second does not flood the log. */
static void s_refuse(hy_broker_t *self, const char *name, size_t len)
{
    char clean[NAME_MAX_LEN + 1];
    size_t n = len < NAME_MAX_LEN ? len : NAME_MAX_LEN;
    for (size_t i = 0; i < n; i++)
        clean[i] = name[i] > 0x20 && name[i] < 0x7f && name[i] != '"' && name[i] != '\\' ? name[i] : '?';
    clean[n] = '\0';
    self->refused_total++;
    for (int i = 0; i < self->nrefused; i++)
        if (strcmp(self->refused[i], clean) == 0)
            return;
    if (self->nrefused == REFUSED_LOGGED) {
        if (self->refused_total % 10000 == 1)
            hy_log_warn("broker", "%lu announcements of names not in HY_SERVICES refused so far",
                        self->refused_total);
        return;
    }
    memcpy(self->refused[self->nrefused++], clean, n + 1);
    hy_log_warn("broker", "worker announcing %s refused: not a service of this deployment "
                          "(HY_SERVICES)", clean);
}

static s_service_t *s_service(hy_broker_t *self, const char *name, size_t len, bool create)
{
    for (int i = 0; i < self->nservices; i++)
        if (strlen(self->services[i].name) == len && memcmp(self->services[i].name, name, len) == 0)
            return &self->services[i];
    if (!create)
        return NULL;
    if (!s_allowed(self, name, len)) {
        s_refuse(self, name, len);
        return NULL;
    }
    if (self->nservices == MAX_SERVICES) {
        s_refuse(self, name, len);
        return NULL;
    }
    s_service_t *s = &self->services[self->nservices++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, len);
    return s;
}

static void s_worker_remove(s_service_t *s, int i)
{
    s->workers[i] = s->workers[--s->count];
}

/* Registers or refreshes a worker: READY is also the heartbeat. digest (may be NULL) is the
 * digest of the worker's description; a joining worker's replaces the service's. */
static void s_worker_ready(hy_broker_t *self, zmq_msg_t *id, const char *svc, size_t len,
                           zmq_msg_t *digest)
{
    s_service_t *s = s_service(self, svc, len, true);
    if (!s || zmq_msg_size(id) > ID_MAX)
        return;
    bool fresh = true;
    for (int i = 0; i < s->count && fresh; i++)
        fresh = !(s->workers[i].idlen == zmq_msg_size(id) &&
                  memcmp(s->workers[i].id, zmq_msg_data(id), s->workers[i].idlen) == 0);
    if ((fresh || !s->digest[0]) && digest && zmq_msg_size(digest) <= DIGEST_MAX) {
        memcpy(s->digest, zmq_msg_data(digest), zmq_msg_size(digest));
        s->digest[zmq_msg_size(digest)] = '\0';
    }
    int64_t expiry = hy_now_us() + (int64_t)HY_BROKER_EXPIRY_MS * 1000;
    for (int i = 0; i < s->count; i++) {
        if (s->workers[i].idlen == zmq_msg_size(id) &&
            memcmp(s->workers[i].id, zmq_msg_data(id), s->workers[i].idlen) == 0) {
            s->workers[i].expiry_us = expiry;
            return;
        }
    }
    if (s->count == MAX_WORKERS)
        return;
    s_worker_t *w = &s->workers[s->count++];
    w->idlen = zmq_msg_size(id);
    memcpy(w->id, zmq_msg_data(id), w->idlen);
    w->expiry_us = expiry;
    hy_log_info("broker", "worker of %s joined (%d live)", s->name, s->count);
}

/* Forgets silent workers, and names left with none: the table holds only live services. */
static void s_expire(hy_broker_t *self)
{
    int64_t now = hy_now_us();
    for (int i = self->nservices - 1; i >= 0; i--) {
        s_service_t *s = &self->services[i];
        for (int j = s->count - 1; j >= 0; j--) {
            if (s->workers[j].expiry_us < now) {
                s_worker_remove(s, j);
                hy_log_warn("broker", "worker of %s expired (%d live)", s->name, s->count);
            }
        }
        if (s->count == 0 && i != --self->nservices)
            self->services[i] = self->services[self->nservices];
    }
}

/* Sends frames; returns 0 or -1 (EHOSTUNREACH when the peer is gone). */
static int s_send(void *sock, const void *const *parts, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++) {
        if (zmq_send(sock, parts[i], lens[i], i < n - 1 ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    }
    return 0;
}

/* Who asked: the client's routing id and the tag it wants back (empty when it sent none). */
typedef struct {
    const unsigned char *id;
    size_t idlen;
    const void *tag;
    size_t taglen;
} s_origin_t;

/* Sends a reply to its client: "HYC1" <svc> <body>, and the tag when the client sent one. */
static void s_reply_to_client(hy_broker_t *self, const s_origin_t *o, const char *svc,
                              size_t svclen, const char *body, size_t bodylen)
{
    if (o->idlen == 1 && o->id[0] == 0) {
        if (self->local)
            self->local->reply(self->local->arg, o->tag, o->taglen, body, bodylen);
        return;
    }
    const void *parts[] = {o->id, "HYC1", svc, body, o->tag};
    size_t lens[] = {o->idlen, 4, svclen, bodylen, o->taglen};
    if (s_send(self->router, parts, lens, o->taglen ? 5 : 4) != 0)
        hy_log_debug("broker", "client gone before its reply: %s", zmq_strerror(zmq_errno()));
}

/* Answers a request that no worker can take, with the request's own id. */
static void s_unavailable(hy_broker_t *self, const s_origin_t *o, const char *svc, size_t svclen,
                          const void *body, size_t bodylen)
{
    /* Only the id is wanted: a body too deep for jansson still gets its answer, id or not. */
    json_t *req = json_loadb(body, bodylen, 0, NULL);
    const char *id = json_string_value(json_object_get(req, "id"));
    char detail[160];
    snprintf(detail, sizeof detail, "the %.*s service has no live worker", (int)(svclen < 64 ? svclen : 64), svc);
    json_t *rep = hy_proto_reply_error(id ? id : "", 503, "service_unavailable", NULL, detail);
    char *text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
    if (text)
        s_reply_to_client(self, o, svc, svclen, text, strlen(text));
    free(text);
    json_decref(rep);
    json_decref(req);
}

static void s_workers_report(hy_broker_t *self, const s_origin_t *o, const char *svc, size_t svclen)
{
    json_t *services = json_object(), *digests = json_object();
    for (int i = 0; i < self->nservices; i++)
        if (self->services[i].count > 0) {
            json_object_set_new(services, self->services[i].name,
                                json_integer(self->services[i].count));
            json_object_set_new(digests, self->services[i].name,
                                json_string(self->services[i].digest));
        }
    json_t *rep = json_pack("{s:o, s:o}", "services", services, "digests", digests);
    char *text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
    if (text)
        s_reply_to_client(self, o, svc, svclen, text, strlen(text));
    free(text);
    json_decref(rep);
}

/* Hands a client request to the next live worker; falls through dead ones. The worker gets
 * one opaque return-address frame, [routing id length][routing id][tag], and echoes it in its
 * reply: so a reply finds its client and tag even when the worker could not read the body. */
static void s_dispatch_to(hy_broker_t *self, const s_origin_t *o, const char *name, size_t len,
                          const void *body, size_t bodylen)
{
    if (o->idlen == 0 || o->idlen > 255 || o->taglen > TAG_MAX) {
        hy_log_debug("broker", "request with an unusable routing id or tag dropped");
        return;
    }
    if (len == 8 && memcmp(name, "_workers", 8) == 0) {
        s_workers_report(self, o, name, len);
        return;
    }
    unsigned char ret[1 + 255 + TAG_MAX];
    ret[0] = (unsigned char)o->idlen;
    memcpy(ret + 1, o->id, o->idlen);
    if (o->taglen)
        memcpy(ret + 1 + o->idlen, o->tag, o->taglen);
    size_t retlen = 1 + o->idlen + o->taglen;
    s_service_t *s = s_service(self, name, len, false);
    while (s && s->count > 0) {
        int i = (int)(s->next++ % (unsigned)s->count);
        s_worker_t *w = &s->workers[i];
        const void *parts[] = {w->id, "HYW1", "REQUEST", ret, body};
        size_t lens[] = {w->idlen, 4, 7, retlen, bodylen};
        if (s_send(self->router, parts, lens, 5) == 0)
            return;
        hy_log_warn("broker", "worker of %s unreachable, dropped", s->name);
        s_worker_remove(s, i);
    }
    s_unavailable(self, o, name, len, body, bodylen);
}

static void s_dispatch(hy_broker_t *self, zmq_msg_t *client, zmq_msg_t *svc, zmq_msg_t *body,
                       zmq_msg_t *tag)
{
    s_origin_t o = {zmq_msg_data(client), zmq_msg_size(client), tag ? zmq_msg_data(tag) : "",
                    tag ? zmq_msg_size(tag) : 0};
    s_dispatch_to(self, &o, zmq_msg_data(svc), zmq_msg_size(svc), zmq_msg_data(body),
                  zmq_msg_size(body));
}

void hy_broker_local_send(hy_broker_t *self, const char *service, const void *body, size_t len,
                          const void *tag, size_t taglen)
{
    s_origin_t o = {s_local_id, sizeof s_local_id, tag, taglen};
    s_dispatch_to(self, &o, service, strlen(service), body ? body : "", body ? len : 0);
}

int hy_broker_attach(hy_broker_t *self, const hy_broker_local_t *local)
{
    bool no = false;
    if (!atomic_compare_exchange_strong(&self->attached, &no, true))
        return -1;
    atomic_store(&self->attach, local);
    return 0;
}

/* Relays a worker's reply to the client named by the return address it echoes. */
static void s_relay(hy_broker_t *self, zmq_msg_t *ret, zmq_msg_t *body)
{
    const unsigned char *r = zmq_msg_data(ret);
    size_t n = zmq_msg_size(ret);
    if (n < 2 || (size_t)r[0] + 1 > n || r[0] == 0 || n - 1 - r[0] > TAG_MAX) {
        hy_log_debug("broker", "reply with a malformed return address dropped");
        return;
    }
    s_origin_t o = {r + 1, r[0], r + 1 + r[0], n - 1 - r[0]};
    s_reply_to_client(self, &o, "", 0, zmq_msg_data(body), zmq_msg_size(body));
}

/* Receives one whole message; the first frame without waiting. Returns 0, 1 when nothing is
 * waiting, -1 on error. */
static int s_recv_all(void *sock, zmq_msg_t *parts, int max, int *n)
{
    *n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t tmp, *m = *n < max ? &parts[*n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            if (*n == 0 && zmq_errno() == EAGAIN) {
                zmq_msg_close(m);
                return 1;
            }
            zmq_msg_close(m);
            for (int i = 0; i < *n; i++)
                zmq_msg_close(&parts[i]);
            *n = 0;
            return -1;
        }
        more = zmq_msg_more(m);
        if (m == &tmp) {
            zmq_msg_close(m);
            *n = max + 1;   /* too many frames: counted, never read */
        } else
            (*n)++;
    }
    return 0;
}

static bool s_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* One message from a peer: a client's request, a worker's heartbeat or reply. */
static void s_on_message(hy_broker_t *self, zmq_msg_t *f, int n)
{
    if ((n == 4 || n == 5) && s_is(&f[1], "HYC1"))
        s_dispatch(self, &f[0], &f[2], &f[3], n == 5 ? &f[4] : NULL);
    else if ((n == 4 || n == 5) && s_is(&f[1], "HYW1") && s_is(&f[2], "READY"))
        s_worker_ready(self, &f[0], zmq_msg_data(&f[3]), zmq_msg_size(&f[3]),
                       n == 5 ? &f[4] : NULL);
    else if (n == 5 && s_is(&f[1], "HYW1") && s_is(&f[2], "REPLY"))
        s_relay(self, &f[3], &f[4]);
    else if (++self->malformed % 10000 == 1)
        hy_log_warn("broker", "malformed message of %d frames dropped (%lu so far)", n,
                    self->malformed);
}

int hy_broker_run(hy_broker_t *self)
{
    zmq_msg_t f[6];
    while (!atomic_load(&self->stop)) {
        if (!self->local)
            self->local = atomic_exchange(&self->attach, NULL);
        long timeout = 200;
        if (self->local) {
            long t = self->local->wake(self->local->arg, self);
            if (t < 0) {
                self->local = NULL;
                atomic_store(&self->attached, false);
            } else if (t < timeout) {
                timeout = t;
            }
        }
        zmq_pollitem_t items[2] = {{self->router, 0, ZMQ_POLLIN, 0},
                                   {NULL, self->local ? self->local->fd : -1, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, self->local ? 2 : 1, timeout);
        if (rc < 0) {
            if (zmq_errno() == ETERM)
                break;
            continue;
        }
        /* Drain what is waiting before looking at the clock again. */
        for (int burst = 0; burst < 1000 && (items[0].revents & ZMQ_POLLIN); burst++) {
            int n;
            if (s_recv_all(self->router, f, 6, &n) != 0)
                break;
            s_on_message(self, f, n);
            for (int i = 0; i < n && i < 6; i++)
                zmq_msg_close(&f[i]);
        }
        s_expire(self);
    }
    if (!self->local)
        self->local = atomic_exchange(&self->attach, NULL);
    if (self->local)
        self->local->stopped(self->local->arg);
    self->local = NULL;
    return 0;
}
