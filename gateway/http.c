/*
 * http.c — the libmicrohttpd side of the gateway: one request in, one service call, one
 * response out.
 *
 * MHD runs a small pool of threads, none of which ever waits on a service: a request for one
 * is handed to the forwarder (forward.c) with its connection suspended, and answered when MHD
 * calls the handler again after the reply or the deadline (relay.c). A request is decided as
 * early as possible: route, key, role, content type and framing are checked on MHD's first
 * call, before any byte of the body is read, so a refusal costs neither the upload nor a
 * round trip; the body's shape (depth, members) is checked before it is parsed. The body is
 * collected up to the limit and the request forwarded on MHD's last call. Every answer,
 * success or refusal, carries X-Request-Id, is counted in the metrics and logged as one line.
 */
#include "gateway.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "http.h"
#include "log.h"
#include "proto.h"
#include "static.h"

/* ------------------------------------------------------------ the first call ------------- */

static bool s_expects_continue(struct MHD_Connection *conn)
{
    const char *expect = hy_gw_header(conn, "Expect");
    return expect && strcasecmp(expect, "100-continue") == 0;
}

/* X-Request-Id from the client when it is short and plain, else a fresh one. */
static void s_request_id(struct MHD_Connection *conn, char out[RID_MAX + 1])
{
    const char *rid = hy_gw_header(conn, "X-Request-Id");
    size_t n = rid ? strlen(rid) : 0;
    bool sane = n > 0 && n <= RID_MAX;
    for (size_t i = 0; sane && i < n; i++) {
        char c = rid[i];
        sane = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == ':';
    }
    if (sane)
        memcpy(out, rid, n + 1);
    else
        hy_new_request_id(out);
}

/* Checks the Authorization header against the keys. Returns 0 with req->key filled, or -1
 * with the 401 recorded in req. */
static int s_authenticate(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req)
{
    const char *auth = hy_gw_header(conn, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        req->www = "Bearer realm=\"hamyar\"";
        return hy_gw_fail(&req->refusal, 401, "unauthenticated", NULL,
                          "send the API key as Authorization: Bearer <key>");
    }
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    char buf[HY_KEY_TOKEN_SIZE];
    size_t n = strlen(token);
    while (n > 0 && token[n - 1] == ' ')
        n--;
    int v = HY_KEY_MALFORMED;
    if (n < sizeof buf) {
        memcpy(buf, token, n);
        buf[n] = '\0';
        v = hy_keys_verify(gw->keys, buf, &req->key);
    }
    if (v != HY_KEY_OK) {
        req->www = "Bearer realm=\"hamyar\", error=\"invalid_token\"";
        return hy_gw_fail(&req->refusal, 401, "invalid_api_key", NULL, "%s",
                          v == HY_KEY_REVOKED ? "this API key has been revoked"
                                              : "this API key is not valid");
    }
    return 0;
}

/* application/json or application/<x>+json, with or without parameters; a charset other
 * than UTF-8 is refused (the contract says bodies are UTF-8). */
static bool s_is_json(const char *ctype)
{
    if (!ctype)
        return false;
    const char *semi = strchr(ctype, ';');
    size_t n = semi ? (size_t)(semi - ctype) : strlen(ctype);
    while (n > 0 && ctype[n - 1] == ' ')
        n--;
    bool json = (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
                (n > 17 && strncasecmp(ctype, "application/", 12) == 0 &&
                 strncasecmp(ctype + n - 5, "+json", 5) == 0);
    if (!json || !semi)
        return json;
    const char *cs = NULL;
    for (const char *p = semi; *p && !cs; p++)
        if (strncasecmp(p, "charset=", 8) == 0)
            cs = p + 8;
    if (!cs)
        return true;
    if (*cs == '"')
        cs++;
    return strncasecmp(cs, "utf-8", 5) == 0 || strncasecmp(cs, "utf8", 4) == 0;
}

/* Counts Content-Length headers and whether they differ (MHD itself takes the first). */
typedef struct {
    const char *first;
    bool differ;
} s_lengths_t;

static enum MHD_Result s_length_seen(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    s_lengths_t *l = cls;
    if (strcasecmp(key, "Content-Length") != 0 || !value)
        return MHD_YES;
    if (!l->first)
        l->first = value;
    else if (strcmp(l->first, value) != 0)
        l->differ = true;
    return MHD_YES;
}

/* Everything that can be decided from the request line and headers. Returns 0 when the
 * request may go on, or -1 with the refusal recorded in req. */
static int s_begin(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                   const char *url, const char *method)
{
    /* Two different lengths frame the body two ways (request smuggling through a proxy that
     * takes the other one): refused, and the connection closed after the answer. */
    s_lengths_t lengths = { NULL, false };
    MHD_get_connection_values(conn, MHD_HEADER_KIND, s_length_seen, &lengths);
    if (lengths.differ) {
        req->has_body = true;
        req->conflicting = true;
        return hy_gw_fail(&req->refusal, 400, "conflicting_content_length", "Content-Length",
                          "the request has Content-Length headers with different values");
    }
    const char *cl = hy_gw_header(conn, "Content-Length");
    unsigned long long length = 0;
    if (cl) {
        char *end;
        errno = 0;
        length = strtoull(cl, &end, 10);
        if (errno || end == cl || *end)
            length = 0;   /* MHD itself refuses a malformed Content-Length */
    }
    req->has_body = length > 0 || hy_gw_header(conn, "Transfer-Encoding");
    req->declared = length;
    /* A preflight (or any OPTIONS) names a path: it is answered with the path's methods, and
     * needs no key (a browser sends none with it). */
    if (strcmp(method, "OPTIONS") == 0) {
        const hy_route_t *none;
        json_t *params = NULL;
        if (hy_routes_match(req->t->routes, "OPTIONS", url, &none, &params, req->allow,
                            sizeof req->allow) != 405)
            return hy_gw_fail(&req->refusal, 404, "not_found", NULL, "no such resource");
        req->preflight = true;
        return 0;
    }
    /* HEAD is GET without the body, which MHD leaves out by itself. */
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    int m = hy_routes_match(req->t->routes, as, url, &req->route, &req->params, req->allow,
                            sizeof req->allow);
    if (m == 404)
        return hy_gw_fail(&req->refusal, 404, "not_found", NULL, "no such resource");
    if (m == 405)
        return hy_gw_fail(&req->refusal, 405, "method_not_allowed", NULL,
                          "%.16s is not allowed here; use %s", method, req->allow);
    const hy_route_t *r = req->route;
    if (r->roles) {
        if (s_authenticate(gw, conn, req) != 0)
            return -1;
        if (!(r->roles & hy_key_role_bit(req->key.role)))
            return hy_gw_fail(&req->refusal, 403, "forbidden", NULL,
                              "the %s role may not call %s", req->key.role,
                              r->op ? r->op->op : r->name);
    }
    req->takes_body = strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
                      strcmp(method, "PUT") == 0;
    if (length > gw->cfg->max_body)
        return hy_gw_fail(&req->refusal, 413, "body_too_large", NULL,
                          "the body may be at most %zu bytes", gw->cfg->max_body);
    if (req->takes_body && req->has_body && !s_is_json(hy_gw_header(conn, "Content-Type")))
        return hy_gw_fail(&req->refusal, 415, "unsupported_media_type", NULL,
                          "the body must be JSON (Content-Type: application/json)");
    if (req->takes_body && length > 0) {
        if (!(req->body = malloc((size_t)length + 1)))
            return hy_gw_fail(&req->refusal, 500, "internal_error", NULL, "out of memory");
        req->cap = (size_t)length + 1;
    }
    return 0;
}

/* Keeps a chunk of the body, or drops it once the body is over the limit or not wanted.
 * Returns MHD_NO to cut a connection that goes on sending far too much. */
static enum MHD_Result s_consume(hy_gateway_t *gw, hy_gw_req_t *req, const char *data, size_t n)
{
    if (req->answered || req->refused || req->too_large || !req->takes_body) {
        req->drained += n;
        return req->drained > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (req->len + n > gw->cfg->max_body) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->drained = req->len + n;
        return MHD_YES;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 4096;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *body = realloc(req->body, cap);
        if (!body)
            return MHD_NO;
        req->body = body;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return MHD_YES;
}

/* ------------------------------------------------------------ the last call -------------- */

typedef struct {
    hy_gw_kv_t kv[QUERY_MAX];
    size_t n;
    bool overflow, nul;
} s_query_t;

static enum MHD_Result s_collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                       size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    s_query_t *q = cls;
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        q->nul = true;
    if (q->n == QUERY_MAX) {
        q->overflow = true;
        return MHD_NO;
    }
    q->kv[q->n].key = key;
    q->kv[q->n].value = value;
    q->n++;
    return MHD_YES;
}

/* GET /v1/problems/{code}: the page of a problem type, HTML when Accept prefers it to JSON. */
static enum MHD_Result s_problem_page(hy_gateway_t *gw, struct MHD_Connection *conn,
                                      hy_gw_req_t *req, const char *url)
{
    const char *code = json_string_value(json_object_get(req->params, "code"));
    if (!hy_gw_problem_known(code))
        return hy_gw_send_problem(gw, conn, req, url, 404, "not_found", NULL,
                                  "no such problem type", NULL, NULL, NULL);
    const char *accept = hy_gw_header(conn, "Accept");
    int hpos, jpos;
    double html = hy_gw_accept_q(accept, "text/html", &hpos);
    double json = hy_gw_accept_q(accept, "application/json", &jpos);
    req->language = req->fa ? "fa" : "en";
    if (accept && html > 0 && (html > json || (html == json && hpos < jpos))) {
        size_t len = 0;
        char *page = hy_gw_problem_page(code, req->fa, &len);
        if (!page)
            return MHD_NO;
        return hy_gw_send(gw, conn, req, 200, "text/html; charset=utf-8", page, len, false,
                          NULL, NULL);
    }
    return hy_gw_send_json(gw, conn, req, 200, "application/json", hy_gw_problem_type(code),
                           NULL, NULL);
}

static enum MHD_Result s_finish(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, const char *method)
{
    const hy_route_t *r = req->route;
    if (req->too_large) {
        hy_gw_fail(&req->refusal, 413, "body_too_large", NULL,
                   "the body may be at most %zu bytes", gw->cfg->max_body);
        return hy_gw_refuse(gw, conn, req, url, &req->refusal);
    }
    if (req->preflight) {
        char allow[sizeof req->allow + 16];
        snprintf(allow, sizeof allow, "%s, OPTIONS", req->allow);
        return hy_gw_send(gw, conn, req, 204, NULL, NULL, 0, false, allow, NULL);
    }
    switch (r->kind) {
    case HY_ROUTE_PROBLEMS:
        return hy_gw_send_json(gw, conn, req, 200, "application/json", hy_gw_problem_types(),
                               NULL, NULL);
    case HY_ROUTE_PROBLEM:
        return s_problem_page(gw, conn, req, url);
    case HY_ROUTE_HEALTHZ:
        return hy_gw_send_json(gw, conn, req, 200, "application/json",
                           json_pack("{s:s}", "status", "ok"), NULL, NULL);
    case HY_ROUTE_READYZ:
        return hy_gw_readyz(gw, conn, req, url);
    case HY_ROUTE_OPENAPI:
        return hy_gw_send(gw, conn, req, 200, "application/json", req->t->openapi, req->t->openapi_len,
                      true, NULL, NULL);
    case HY_ROUTE_ASYNCAPI:
        return hy_gw_send(gw, conn, req, 200, "application/json", req->t->asyncapi,
                          req->t->asyncapi_len, true, NULL, NULL);
    case HY_ROUTE_EVENT_SCHEMA:
        return hy_gw_event_schema_send(gw, conn, req, url);
    case HY_ROUTE_METRICS: {
        size_t len = 0;
        char *text = hy_metrics_render_with(req->t->metrics, gw->watch, &len);
        if (!text)
            return MHD_NO;
        return hy_gw_send(gw, conn, req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                      len, false, NULL, NULL);
    }
    case HY_ROUTE_ME:   /* the key that s_begin checked: never its secret or hash */
        return hy_gw_send_json(gw, conn, req, 200, "application/json",
                               json_pack("{s:s, s:s, s:s?}", "key_id", req->key.key_id, "role",
                                         req->key.role,
                                         "office", req->key.office[0] ? req->key.office : NULL),
                               NULL, NULL);
    case HY_ROUTE_OP:
    case HY_ROUTE_ENTITY:
        break;
    }

    hy_gw_error_t err;
    const char *idem = NULL;
    if (strcmp(method, "POST") == 0 && (idem = hy_gw_header(conn, "Idempotency-Key"))) {
        size_t n = strlen(idem);
        bool ok = n > 0 && n <= IDEM_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = idem[i] > 0x20 && idem[i] < 0x7f;
        if (!ok)
            return hy_gw_send_problem(gw, conn, req, url, 400, "invalid_idempotency_key",
                             "Idempotency-Key", "1 to 200 printable ASCII characters", NULL,
                             NULL, NULL);
    }
    s_query_t q = { .n = 0 };
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, s_collect_query, &q);
    if (q.overflow || q.nul)
        return hy_gw_send_problem(gw, conn, req, url, 400, "invalid_parameter", NULL,
                         q.nul ? "a query parameter contains a NUL byte"
                               : "too many query parameters",
                         NULL, NULL, NULL);
    json_t *body = NULL;
    if (req->takes_body && req->len > 0 && !(body = hy_gw_parse_body(req->body, req->len, &err)))
        return hy_gw_refuse(gw, conn, req, url, &err);
    json_t *params = req->params;
    req->params = NULL;
    /* A body that is the whole of the args (hy_gw_args) goes on as the text that came. */
    bool as_sent = body && q.n == 0 && (!params || json_object_size(params) == 0);
    json_t *args = hy_gw_args(r, params, q.kv, q.n, body, &err);
    if (!args)
        return hy_gw_refuse(gw, conn, req, url, &err);

    req->api_index = r->api_index;
    if (r->kind == HY_ROUTE_ENTITY) {
        const char *entity = json_string_value(json_object_get(args, "entity"));
        if (!entity || !*entity) {
            json_decref(args);
            return hy_gw_send_problem(gw, conn, req, url, 400, "missing_field", "entity",
                             "entity is required", NULL, NULL, NULL);
        }
        if ((req->api_index = hy_routes_owner(req->t->routes, entity)) < 0) {
            json_decref(args);
            return hy_gw_send_problem(gw, conn, req, url, 404, "not_found", "entity",
                             "no service owns an entity with this id", NULL, NULL, NULL);
        }
    }
    return hy_gw_forward(gw, conn, req, url, r, idem, args, as_sent ? req->body : NULL,
                         as_sent ? req->len : 0);
}

enum MHD_Result hy_gw_http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    hy_gateway_t *gw = cls;
    hy_gw_req_t *req = *con_cls;
    if (!req) {
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        req->t = hy_catalog_acquire(gw->catalog);
        req->start_us = hy_now_us();
        s_request_id(conn, req->request_id);
        req->cors = hy_gw_cors_allow(gw->cfg->cors_origins, hy_gw_header(conn, "Origin"));
        req->fa = hy_gw_prefers_fa(hy_gw_header(conn, "Accept-Language"));
        req->gzip = hy_gw_accepts_gzip(hy_gw_header(conn, "Accept-Encoding"));
        /* A refusal waits for MHD's last call, the body (if any) read and dropped: a client
         * still sending when the connection closes would never see the answer. It is sent at
         * once only to a client that waits for 100 Continue, or for a body too big to drain. */
        hy_guard_headers_done(gw->guard, conn);
        if (hy_static_wants(url))    /* the office console's files (static.c) */
            return hy_static_serve(gw, conn, req, url, method);
        req->refused = s_begin(gw, conn, req, url, method) != 0;
        if (req->refused && req->has_body &&
            (req->conflicting || s_expects_continue(conn) || req->declared > DRAIN_MAX))
            return hy_gw_refuse(gw, conn, req, url, &req->refusal);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return s_consume(gw, req, upload_data, n);
    }
    if (req->answered)
        return MHD_YES;
    if (req->forwarding) {       /* resumed by the forwarder */
        req->forwarding = false;
        return req->readyz ? hy_gw_readyz_answer(gw, conn, req) : hy_gw_forwarded(gw, conn, req, url);
    }
    if (req->parked) {           /* resumed by the poller */
        req->parked = false;
        json_t *reply = req->poll.reply;
        json_decref(req->poll.request);
        req->poll.request = req->poll.reply = NULL;
        return hy_gw_answer(gw, conn, req, url, req->poll.rc, reply);
    }
    if (req->refused)
        return hy_gw_refuse(gw, conn, req, url, &req->refusal);
    return s_finish(gw, conn, req, url, method);
}

void hy_gw_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    hy_gateway_t *gw = cls;
    hy_guard_request_done(gw->guard, conn);
    hy_gw_req_t *req = *con_cls;
    if (!req)
        return;
    json_decref(req->params);
    json_decref(req->poll.request);
    json_decref(req->poll.reply);
    json_decref(req->request);
    hy_fwd_job_clear(&req->job);
    hy_catalog_release(req->t);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

