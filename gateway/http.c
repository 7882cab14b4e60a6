/*
 * http.c — the libmicrohttpd side of the gateway: one request in, one broker call, one
 * response out.
 *
 * MHD runs a pool of worker threads; each lazily opens its own broker client (ZeroMQ sockets
 * belong to one thread) and registers it, so that shutdown can close them all after the
 * daemon has stopped. A request is decided as early as possible: route, key, role and content
 * type are checked on MHD's first call, before any byte of the body is read, so a refusal
 * costs neither the upload nor a round trip. The body is then collected up to the limit and
 * the request forwarded on MHD's last call. Every answer, success or refusal, carries
 * X-Request-Id, is counted in the metrics and logged as one JSON line.
 */
#include "gateway.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "log.h"
#include "proto.h"

#define RID_MAX 64            /* longest X-Request-Id taken from a client */
#define IDEM_MAX 200          /* longest Idempotency-Key */
#define QUERY_MAX 32          /* query parameters per request */
#define DRAIN_MAX (64u << 20) /* bytes of a refused body read before the connection is cut */
#define READY_TIMEOUT_MS 1000

/* One request in flight (MHD's per-connection pointer). */
typedef struct {
    int64_t start_us;
    char request_id[RID_MAX + 1];
    const hy_route_t *route;    /* NULL until matched */
    json_t *params;             /* path parameters */
    hy_key_entry_t key;         /* the caller, when the route needs a key */
    bool answered;              /* a response is queued */
    const char *disposition;    /* Content-Disposition of a rendering (borrowed), or NULL */
    bool takes_body;            /* POST, PATCH, PUT */
    bool has_body;              /* Content-Length > 0 or chunked */
    unsigned long long declared; /* Content-Length, 0 when none */
    bool refused;               /* refusal holds the answer, sent after the headers */
    hy_gw_error_t refusal;
    char allow[64];             /* for a 405 */
    const char *www;            /* WWW-Authenticate for a 401 (static text) */
    bool too_large;
    int api_index;              /* the service asked */
    bool parked;                /* with the poller; poll holds its last reply */
    hy_poll_t poll;
    char *body;
    size_t len, cap, drained;
} s_req_t;

/* ------------------------------------------------------------ answering ------------------ */

/* Queues a response. body (may be NULL) is taken unless persistent. allow and www add the
 * Allow and WWW-Authenticate headers when not NULL. */
static enum MHD_Result s_send(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                              int status, const char *ctype, char *body, size_t len,
                              bool persistent, const char *allow, const char *www)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        body ? len : 0, body, persistent ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        if (!persistent)
            free(body);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_YES;
    if ((body && ctype && MHD_add_response_header(resp, "Content-Type", ctype) != MHD_YES) ||
        MHD_add_response_header(resp, "X-Request-Id", req->request_id) != MHD_YES ||
        MHD_add_response_header(resp, "Cache-Control", "no-store") != MHD_YES ||
        (allow && MHD_add_response_header(resp, "Allow", allow) != MHD_YES) ||
        (www && MHD_add_response_header(resp, "WWW-Authenticate", www) != MHD_YES) ||
        (req->disposition && MHD_add_response_header(resp, "Content-Disposition", req->disposition) != MHD_YES))
        rc = MHD_NO;
    if (rc == MHD_YES)
        rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    req->answered = true;
    int64_t us = hy_now_us() - req->start_us;
    hy_metrics_request(gw->metrics, req->route ? req->route->index : -1, status, (uint64_t)us);
    hy_gw_log_request(req->route ? req->route->name : "unmatched", req->request_id, status, us);
    return rc;
}

/* Queues doc (taken) as JSON of the given content type. */
static enum MHD_Result s_send_json(hy_gateway_t *gw, struct MHD_Connection *conn,
                                   s_req_t *req, int status, const char *ctype, json_t *doc,
                                   const char *allow, const char *www)
{
    size_t len = 0;
    char *text = doc ? hy_gw_dump(doc, &len) : NULL;
    json_decref(doc);
    if (!text)
        return MHD_NO;
    return s_send(gw, conn, req, status, ctype, text, len, false, allow, www);
}

/* Answers with a problem document; extra (borrowed) adds members. */
static enum MHD_Result s_problem(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                                 const char *url, int status, const char *code,
                                 const char *field, const char *detail, json_t *extra,
                                 const char *allow, const char *www)
{
    json_t *p = hy_gw_problem(status, code, field, detail, extra, url, req->request_id);
    return s_send_json(gw, conn, req, status, "application/problem+json", p, allow, www);
}

/* Answers a refusal; a 405 lists the allowed methods, a 401 asks for a bearer key. */
static enum MHD_Result s_refuse(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                                const char *url, const hy_gw_error_t *err)
{
    return s_problem(gw, conn, req, url, err->status, err->code, err->field, err->detail, NULL,
                     err->status == 405 ? req->allow : NULL,
                     err->status == 401 ? req->www : NULL);
}

/* ------------------------------------------------------------ the first call ------------- */

static const char *s_header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static bool s_expects_continue(struct MHD_Connection *conn)
{
    const char *expect = s_header(conn, "Expect");
    return expect && strcasecmp(expect, "100-continue") == 0;
}

/* X-Request-Id from the client when it is short and plain, else a fresh one. */
static void s_request_id(struct MHD_Connection *conn, char out[RID_MAX + 1])
{
    const char *rid = s_header(conn, "X-Request-Id");
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
static int s_authenticate(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req)
{
    const char *auth = s_header(conn, "Authorization");
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

/* Everything that can be decided from the request line and headers. Returns 0 when the
 * request may go on, or -1 with the refusal recorded in req. */
static int s_begin(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                   const char *url, const char *method)
{
    const char *cl = s_header(conn, "Content-Length");
    unsigned long long length = 0;
    if (cl) {
        char *end;
        errno = 0;
        length = strtoull(cl, &end, 10);
        if (errno || end == cl || *end)
            length = 0;   /* MHD itself refuses a malformed Content-Length */
    }
    req->has_body = length > 0 || s_header(conn, "Transfer-Encoding");
    req->declared = length;
    /* HEAD is GET without the body, which MHD leaves out by itself. */
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    int m = hy_routes_match(gw->routes, as, url, &req->route, &req->params, req->allow,
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
    if (req->takes_body && req->has_body && !s_is_json(s_header(conn, "Content-Type")))
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
static enum MHD_Result s_consume(hy_gateway_t *gw, s_req_t *req, const char *data, size_t n)
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

/* Turns the outcome of a broker call (rc, and reply, which is taken) into the response. */
static enum MHD_Result s_answer(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                                const char *url, int rc, json_t *reply)
{
    const hy_api_t *api = hy_routes_apis(gw->routes)[req->api_index];
    if (rc == HY_CLIENT_TIMEOUT) {
        hy_metrics_service_error(gw->metrics, req->api_index, HY_SVC_TIMEOUT);
        char detail[128];
        snprintf(detail, sizeof detail, "the %s service did not answer within %d ms",
                 api->service, gw->cfg->timeout_ms);
        return s_problem(gw, conn, req, url, 504, "service_timeout", NULL, detail, NULL, NULL,
                         NULL);
    }
    if (rc != HY_CLIENT_OK) {
        hy_metrics_service_error(gw->metrics, req->api_index, HY_SVC_UNAVAILABLE);
        return s_problem(gw, conn, req, url, 503, "service_unavailable", NULL,
                         "the gateway cannot reach the broker", NULL, NULL, NULL);
    }
    int status;
    json_t *result = NULL, *error = NULL;
    if (hy_proto_parse_reply(reply, &status, &result, &error) != 0 || status < 200 ||
        status > 599) {
        json_decref(reply);
        hy_metrics_service_error(gw->metrics, req->api_index, HY_SVC_5XX);
        return s_problem(gw, conn, req, url, 502, "bad_gateway", NULL,
                         "the service sent a malformed reply", NULL, NULL, NULL);
    }
    enum MHD_Result out;
    if (status >= 400) {
        const char *code = json_string_value(json_object_get(error, "code"));
        if (status == 503 && code && strcmp(code, "service_unavailable") == 0)
            hy_metrics_service_error(gw->metrics, req->api_index, HY_SVC_UNAVAILABLE);
        else if (status >= 500)
            hy_metrics_service_error(gw->metrics, req->api_index, HY_SVC_5XX);
        out = s_problem(gw, conn, req, url, status, code ? code : "error",
                        json_string_value(json_object_get(error, "field")),
                        json_string_value(json_object_get(error, "detail")), error, NULL, NULL);
    } else if (status == 204 || status == 304) {
        out = s_send(gw, conn, req, status, NULL, NULL, 0, false, NULL, NULL);
    } else if (req->route && req->route->op && req->route->op->formats &&
               json_is_string(json_object_get(result, "content_type")) &&
               json_is_string(json_object_get(result, "body"))) {
        /* A rendering (CSV, HTML) the service made: sent as it is. */
        json_t *b = json_object_get(result, "body");
        char *text = strndup(json_string_value(b), json_string_length(b));
        req->disposition = json_string_value(json_object_get(result, "content_disposition"));
        out = text ? s_send(gw, conn, req, status,
                            json_string_value(json_object_get(result, "content_type")), text,
                            json_string_length(b), false, NULL, NULL)
                   : MHD_NO;
    } else {
        json_t *body = json_incref(result ? result : json_null());
        if (hy_gw_add_jalali(body) != 0) {
            json_decref(body);
            body = NULL;
        }
        out = s_send_json(gw, conn, req, status, "application/json", body, NULL, NULL);
    }
    json_decref(reply);
    return out;
}

/* Sends args (taken) to the service and answers with its reply. A feed asked with ?wait=N
 * whose first answer is empty is parked with the poller instead (poll.c). */
static enum MHD_Result s_forward(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                                 const char *url, const hy_route_t *r, const char *idem,
                                 json_t *args)
{
    const hy_api_t *api = hy_routes_apis(gw->routes)[req->api_index];
    if (r->op->formats && hy_spec_field(r->op->args, "format") && !json_object_get(args, "format") &&
        json_object_set_new(args, "format",
                            json_string(hy_gw_negotiate(s_header(conn, "Accept"), r->op->formats))) != 0) {
        json_decref(args);
        return MHD_NO;
    }
    json_int_t wait = json_integer_value(json_object_get(args, "wait"));
    if (r->op->long_poll && !hy_spec_field(r->op->args, "wait"))
        json_object_del(args, "wait");   /* the gateway's own parameter */
    hy_client_t *client = hy_gateway_client(gw);
    hy_actor_t actor = { req->key.key_id, req->key.role, req->key.office };
    json_t *request = hy_proto_request(r->op->op, req->request_id, &actor, idem, args);
    if (!request)
        return MHD_NO;
    json_t *reply = NULL;
    int rc = client ? hy_client_call(client, api->service, request, gw->cfg->timeout_ms, &reply)
                    : HY_CLIENT_ERROR;
    if (rc == HY_CLIENT_ERROR && client)
        hy_gateway_client_drop(gw);
    if (rc == HY_CLIENT_OK && r->op->long_poll && wait > 0 && hy_poll_empty(reply)) {
        hy_poll_t *p = &req->poll;
        p->conn = conn;
        p->service = api->service;
        p->request = request;
        p->reply = reply;
        p->rc = rc;
        p->deadline_us = req->start_us + (int64_t)(wait > 60 ? 60 : wait) * 1000000;
        if (hy_poller_park(gw->poller, p) == 0) {
            req->parked = true;
            return MHD_YES;
        }
        p->request = p->reply = NULL;   /* shutting down: answer now */
    }
    json_decref(request);
    return s_answer(gw, conn, req, url, rc, reply);
}

/* GET /readyz: ready when every service behind the gateway has a live worker. */
static enum MHD_Result s_readyz(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req)
{
    json_t *live = NULL;
    int timeout = gw->cfg->timeout_ms < READY_TIMEOUT_MS ? gw->cfg->timeout_ms : READY_TIMEOUT_MS;
    /* hy_client_workers takes only the broker's id-less report, so a late reply to an earlier,
     * timed-out request of this thread cannot be mistaken for it. */
    hy_client_t *client = hy_gateway_client(gw);
    int rc = client ? hy_client_workers(client, timeout, &live) : HY_CLIENT_ERROR;
    if (rc == HY_CLIENT_ERROR && client)
        hy_gateway_client_drop(gw);
    json_t *doc = json_object(), *services = json_object(), *missing = json_array();
    bool bad = !doc || !services || !missing;
    const hy_api_t *const *apis = hy_routes_apis(gw->routes);
    for (size_t i = 0; !bad && apis[i]; i++) {
        if (!hy_gw_expected(apis[i]->service))
            continue;
        json_t *n = json_object_get(live, apis[i]->service);
        json_int_t workers = json_is_integer(n) ? json_integer_value(n) : 0;
        bad = json_object_set_new(services, apis[i]->service,
                                  json_pack("{s:I}", "workers", workers)) != 0 ||
              (workers <= 0 && json_array_append_new(missing, json_string(apis[i]->service)));
    }
    json_decref(live);
    bool ready = rc == HY_CLIENT_OK && json_array_size(missing) == 0;
    if (bad || json_object_set_new(doc, "ready", json_boolean(ready)) != 0 ||
        json_object_set(doc, "services", services) != 0 ||
        (!ready && json_object_set(doc, "missing", missing) != 0) ||
        (rc != HY_CLIENT_OK &&
         json_object_set_new(doc, "detail", json_string("the broker did not answer")) != 0)) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(services);
    json_decref(missing);
    return s_send_json(gw, conn, req, ready ? 200 : 503, "application/json", doc, NULL,
                       NULL);
}

static enum MHD_Result s_finish(hy_gateway_t *gw, struct MHD_Connection *conn, s_req_t *req,
                                const char *url, const char *method)
{
    const hy_route_t *r = req->route;
    if (req->too_large) {
        hy_gw_fail(&req->refusal, 413, "body_too_large", NULL,
                   "the body may be at most %zu bytes", gw->cfg->max_body);
        return s_refuse(gw, conn, req, url, &req->refusal);
    }
    switch (r->kind) {
    case HY_ROUTE_HEALTHZ:
        return s_send_json(gw, conn, req, 200, "application/json",
                           json_pack("{s:s}", "status", "ok"), NULL, NULL);
    case HY_ROUTE_READYZ:
        return s_readyz(gw, conn, req);
    case HY_ROUTE_OPENAPI:
        return s_send(gw, conn, req, 200, "application/json", gw->openapi, gw->openapi_len,
                      true, NULL, NULL);
    case HY_ROUTE_METRICS: {
        size_t len = 0;
        char *text = hy_metrics_render(gw->metrics, &len);
        if (!text)
            return MHD_NO;
        return s_send(gw, conn, req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                      len, false, NULL, NULL);
    }
    case HY_ROUTE_OP:
    case HY_ROUTE_ENTITY:
        break;
    }

    hy_gw_error_t err;
    const char *idem = NULL;
    if (strcmp(method, "POST") == 0 && (idem = s_header(conn, "Idempotency-Key"))) {
        size_t n = strlen(idem);
        bool ok = n > 0 && n <= IDEM_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = idem[i] > 0x20 && idem[i] < 0x7f;
        if (!ok)
            return s_problem(gw, conn, req, url, 400, "invalid_idempotency_key",
                             "Idempotency-Key", "1 to 200 printable ASCII characters", NULL,
                             NULL, NULL);
    }
    s_query_t q = { .n = 0 };
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, s_collect_query, &q);
    if (q.overflow || q.nul)
        return s_problem(gw, conn, req, url, 400, "invalid_parameter", NULL,
                         q.nul ? "a query parameter contains a NUL byte"
                               : "too many query parameters",
                         NULL, NULL, NULL);
    json_t *body = NULL;
    if (req->takes_body && req->len > 0 && !(body = hy_gw_parse_body(req->body, req->len, &err)))
        return s_refuse(gw, conn, req, url, &err);
    json_t *params = req->params;
    req->params = NULL;
    json_t *args = hy_gw_args(r, params, q.kv, q.n, body, &err);
    if (!args)
        return s_refuse(gw, conn, req, url, &err);

    req->api_index = r->api_index;
    if (r->kind == HY_ROUTE_ENTITY) {
        const char *entity = json_string_value(json_object_get(args, "entity"));
        if (!entity || !*entity) {
            json_decref(args);
            return s_problem(gw, conn, req, url, 400, "missing_field", "entity",
                             "entity is required", NULL, NULL, NULL);
        }
        if ((req->api_index = hy_routes_owner(gw->routes, entity)) < 0) {
            json_decref(args);
            return s_problem(gw, conn, req, url, 404, "not_found", "entity",
                             "no service owns an entity with this id", NULL, NULL, NULL);
        }
    }
    return s_forward(gw, conn, req, url, r, idem, args);
}

enum MHD_Result hy_gw_http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    hy_gateway_t *gw = cls;
    s_req_t *req = *con_cls;
    if (!req) {
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        req->start_us = hy_now_us();
        s_request_id(conn, req->request_id);
        /* A refusal waits for MHD's last call, the body (if any) read and dropped: a client
         * still sending when the connection closes would never see the answer. It is sent at
         * once only to a client that waits for 100 Continue, or for a body too big to drain. */
        req->refused = s_begin(gw, conn, req, url, method) != 0;
        if (req->refused && req->has_body &&
            (s_expects_continue(conn) || req->declared > DRAIN_MAX))
            return s_refuse(gw, conn, req, url, &req->refusal);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return s_consume(gw, req, upload_data, n);
    }
    if (req->answered)
        return MHD_YES;
    if (req->parked) {           /* resumed by the poller */
        req->parked = false;
        json_t *reply = req->poll.reply;
        json_decref(req->poll.request);
        req->poll.request = req->poll.reply = NULL;
        return s_answer(gw, conn, req, url, req->poll.rc, reply);
    }
    if (req->refused)
        return s_refuse(gw, conn, req, url, &req->refusal);
    return s_finish(gw, conn, req, url, method);
}

void hy_gw_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_req_t *req = *con_cls;
    if (!req)
        return;
    json_decref(req->params);
    json_decref(req->poll.request);
    json_decref(req->poll.reply);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* ------------------------------------------------------------ life cycle ----------------- */
