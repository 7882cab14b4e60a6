/*
 * relay.c — the gateway's answers: problem documents and JSON out, a service's reply turned
 * into HTTP, and the asynchronous round trip to the service (forward.c) with its completion,
 * including the long-poll hand-off to the poller and /readyz.
 */
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "log.h"
#include "proto.h"

/* ------------------------------------------------------------ answering ------------------ */

/* Whether an If-None-Match field names tag: "*" or one of its comma-separated entity tags,
 * compared weakly (a W/ prefix is ignored), as RFC 9110 13.1.2 asks of GET. */
static bool s_none_match(const char *field, const char *tag)
{
    if (!field)
        return false;
    size_t n = strlen(tag);
    const char *p = field;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, tag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* Queues a response. body (may be NULL) is taken unless persistent. allow and www add the
 * Allow and WWW-Authenticate headers when not NULL. */
enum MHD_Result hy_gw_send(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                              int status, const char *ctype, char *body, size_t len,
                              bool persistent, const char *allow, const char *www)
{
    (void)gw;   /* the metrics are the request's table's */
    /* The gateway's own documents (OpenAPI, problem types) are resources too: their tag is the
     * hash of the text. A service's answer brought its own (its JSON result's). */
    if (!req->etag[0] && status == 200 && body && req->route && !req->route->op &&
        strcmp(req->route->method, "GET") == 0) {
        unsigned char h[16];
        char hex[2 * sizeof h + 1];
        crypto_generichash(h, sizeof h, (const unsigned char *)body, len, NULL, 0);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        snprintf(req->etag, sizeof req->etag, "\"%s\"", hex);
    }
    /* A conditional GET whose copy is current: 304 with the tag and no body (RFC 9110 13.1.2). */
    if (status == 200 && req->etag[0] && s_none_match(hy_gw_header(conn, "If-None-Match"), req->etag)) {
        if (body && !persistent)
            free(body);
        body = NULL;
        len = 0;
        persistent = true;
        status = 304;
    }
    /* gzip when the client takes it and the body is worth it (RFC 9110 8.4). */
    bool gzipped = false;
    if (req->gzip && body && len >= HY_GW_GZIP_MIN && status != 204 && status != 304) {
        size_t zlen = 0;
        char *z = hy_gw_gzip(body, len, &zlen);
        if (z) {
            if (!persistent)
                free(body);
            body = z;
            len = zlen;
            persistent = false;
            gzipped = true;
        }
    }
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
        MHD_add_response_header(resp, "Vary",
                                "Accept, Accept-Encoding, Accept-Language, Origin") != MHD_YES ||
        (gzipped && MHD_add_response_header(resp, "Content-Encoding", "gzip") != MHD_YES) ||
        (req->etag[0] && MHD_add_response_header(resp, "ETag", req->etag) != MHD_YES) ||
        (status == 201 && req->location[0] &&
         MHD_add_response_header(resp, "Location", req->location) != MHD_YES) ||
        (status == 503 && MHD_add_response_header(resp, "Retry-After", "1") != MHD_YES) ||
        (req->language &&
         MHD_add_response_header(resp, "Content-Language", req->language) != MHD_YES) ||
        hy_gw_cors_headers(resp, req->cors, req->preflight ? req->allow : NULL) != 0 ||
        (allow && MHD_add_response_header(resp, "Allow", allow) != MHD_YES) ||
        (www && MHD_add_response_header(resp, "WWW-Authenticate", www) != MHD_YES) ||
        (req->disposition &&
         MHD_add_response_header(resp, "Content-Disposition", req->disposition) != MHD_YES) ||
        (req->link && MHD_add_response_header(resp, "Link", req->link) != MHD_YES))
        rc = MHD_NO;
    if (rc == MHD_YES)
        rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    req->answered = true;
    int64_t us = hy_now_us() - req->start_us;
    hy_metrics_request(req->t->metrics, req->route ? req->route->index : -1, status, (uint64_t)us);
    hy_gw_log_request(req->route ? req->route->name : "unmatched", req->request_id, status, us);
    return rc;
}

/* Queues doc (taken) as JSON of the given content type. */
enum MHD_Result hy_gw_send_json(hy_gateway_t *gw, struct MHD_Connection *conn,
                                   hy_gw_req_t *req, int status, const char *ctype, json_t *doc,
                                   const char *allow, const char *www)
{
    size_t len = 0;
    char *text = doc ? hy_gw_dump(doc, &len) : NULL;
    json_decref(doc);
    if (!text)
        return MHD_NO;
    return hy_gw_send(gw, conn, req, status, ctype, text, len, false, allow, www);
}

/* Answers with a problem document; extra (borrowed) adds members. */
enum MHD_Result hy_gw_send_problem(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                 const char *url, int status, const char *code,
                                 const char *field, const char *detail, json_t *extra,
                                 const char *allow, const char *www)
{
    json_t *p = hy_gw_problem(status, code, field, detail, extra, url, req->request_id);
    if (p && req->fa && hy_gw_problem_translate(p) != 0) {
        json_decref(p);
        p = NULL;
    }
    req->language = req->fa ? "fa" : "en";
    return hy_gw_send_json(gw, conn, req, status, "application/problem+json", p, allow, www);
}

/* Answers a refusal; a 405 lists the allowed methods, a 401 asks for a bearer key. */
enum MHD_Result hy_gw_refuse(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, const hy_gw_error_t *err)
{
    return hy_gw_send_problem(gw, conn, req, url, err->status, err->code, err->field, err->detail, NULL,
                     err->status == 405 ? req->allow : NULL,
                     err->status == 401 ? req->www : NULL);
}

/* The Location of a 201: the created resource (the request's path and the new id, or code)
 * when a GET route answers there, else, for a PUT, the request's own path. id may be NULL. */
void hy_gw_location(hy_gw_req_t *req, const char *url, const char *id)
{
    char path[sizeof req->location];
    const hy_route_t *r;
    int n = id ? snprintf(path, sizeof path, "%s/%s", url, id) : -1;
    bool put = req->route && strcmp(req->route->method, "PUT") == 0;
    for (int i = 0; i < 2; i++) {
        const char *p = i == 0 ? path : url;
        if (i == 0 && (n < 0 || (size_t)n >= sizeof path || strchr(id, '/')))
            continue;
        if (i == 1 && !put)
            continue;
        if (hy_routes_match(req->t->routes, "GET", p, &r, NULL, NULL, 0) == 200) {
            snprintf(req->location, sizeof req->location, "%s", p);
            return;
        }
    }
}

static void s_location(hy_gw_req_t *req, const char *url, json_t *result)
{
    const char *id = json_string_value(json_object_get(result, "id"));
    hy_gw_location(req, url, id ? id : json_string_value(json_object_get(result, "code")));
}

/* Turns the outcome of a broker call (rc, and reply, which is taken) into the response. */
enum MHD_Result hy_gw_answer(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, int rc, json_t *reply)
{
    const hy_api_t *api = hy_routes_apis(req->t->routes)[req->api_index];
    if (rc == HY_CLIENT_TIMEOUT) {
        hy_metrics_service_error(req->t->metrics, req->api_index, HY_SVC_TIMEOUT);
        char detail[128];
        snprintf(detail, sizeof detail, "the %s service did not answer within %d ms",
                 api->service, gw->cfg->timeout_ms);
        return hy_gw_send_problem(gw, conn, req, url, 504, "service_timeout", NULL, detail, NULL, NULL,
                         NULL);
    }
    if (rc != HY_CLIENT_OK) {
        hy_metrics_service_error(req->t->metrics, req->api_index, HY_SVC_UNAVAILABLE);
        return hy_gw_send_problem(gw, conn, req, url, 503, "service_unavailable", NULL,
                         "the gateway cannot reach the broker", NULL, NULL, NULL);
    }
    int status;
    json_t *result = NULL, *error = NULL;
    if (hy_proto_parse_reply(reply, &status, &result, &error) != 0 || status < 200 ||
        status > 599) {
        json_decref(reply);
        hy_metrics_service_error(req->t->metrics, req->api_index, HY_SVC_5XX);
        return hy_gw_send_problem(gw, conn, req, url, 502, "bad_gateway", NULL,
                         "the service sent a malformed reply", NULL, NULL, NULL);
    }
    const char *etag = json_string_value(json_object_get(reply, "etag"));
    if (etag && status < 300)
        snprintf(req->etag, sizeof req->etag, "\"%.64s\"", etag);
    if (status == 201)
        s_location(req, url, result);
    enum MHD_Result out;
    if (status >= 400) {
        const char *code = json_string_value(json_object_get(error, "code"));
        if (status == 503 && code && strcmp(code, "service_unavailable") == 0)
            hy_metrics_service_error(req->t->metrics, req->api_index, HY_SVC_UNAVAILABLE);
        else if (status >= 500)
            hy_metrics_service_error(req->t->metrics, req->api_index, HY_SVC_5XX);
        out = hy_gw_send_problem(gw, conn, req, url, status, code ? code : "error",
                        json_string_value(json_object_get(error, "field")),
                        json_string_value(json_object_get(error, "detail")), error, NULL, NULL);
    } else if (status == 204 || status == 304) {
        out = hy_gw_send(gw, conn, req, status, NULL, NULL, 0, false, NULL, NULL);
    } else if (req->route && req->route->op && req->route->op->formats &&
               json_is_string(json_object_get(result, "content_type")) &&
               json_is_string(json_object_get(result, "body"))) {
        /* A rendering (CSV, HTML) the service made: sent as it is. */
        json_t *b = json_object_get(result, "body");
        char *text = strndup(json_string_value(b), json_string_length(b));
        req->disposition = json_string_value(json_object_get(result, "content_disposition"));
        req->link = json_string_value(json_object_get(result, "link"));
        out = text ? hy_gw_send(gw, conn, req, status,
                            json_string_value(json_object_get(result, "content_type")), text,
                            json_string_length(b), false, NULL, NULL)
                   : MHD_NO;
    } else {
        /* A feed asked for as a CloudEvents batch: the events alone (poll.c). */
        bool batch = hy_gw_feed_batch(req->route, hy_gw_header(conn, "Accept"), result);
        json_t *body = json_incref(batch ? json_object_get(result, "events")
                                         : result ? result : json_null());
        if (hy_gw_add_jalali(body) != 0) {
            json_decref(body);
            body = NULL;
        }
        out = hy_gw_send_json(gw, conn, req, status,
                              batch ? HY_CE_BATCH_TYPE : "application/json", body, NULL, NULL);
    }
    json_decref(reply);
    return out;
}

/* Hands text (taken) for service to the forwarder: the connection is suspended until the
 * reply or the deadline, and MHD calls the handler again then (s_resumed). */
static enum MHD_Result s_submit(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, const char *service, char *text, int timeout_ms)
{
    hy_fwd_job_t *job = &req->job;
    job->conn = conn;
    snprintf(job->service, sizeof job->service, "%s", service);
    job->text = text;
    job->len = text ? strlen(text) : 0;
    job->deadline_us = hy_now_us() + (int64_t)timeout_ms * 1000;
    if (hy_forwarder_submit(gw->forwarder, job) == 0) {
        req->forwarding = true;
        return MHD_YES;
    }
    hy_fwd_job_clear(job);
    return hy_gw_send_problem(gw, conn, req, url, 503, "service_unavailable", NULL,
                     "the gateway is shutting down", NULL, NULL, NULL);
}

/* Sends args (taken) to the service; the answer comes when the connection is resumed. */
enum MHD_Result hy_gw_forward(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                 const char *url, const hy_route_t *r, const char *idem,
                                 json_t *args, const char *args_text, size_t args_len)
{
    const hy_api_t *api = hy_routes_apis(req->t->routes)[req->api_index];
    bool negotiate = r->op->formats && hy_spec_field(r->op->args, "format") &&
                     !json_object_get(args, "format");
    if (negotiate || r->op->long_poll)
        args_text = NULL;   /* the args change here: their text is written afresh */
    if (negotiate &&
        json_object_set_new(args, "format",
                            json_string(hy_gw_negotiate(hy_gw_header(conn, "Accept"), r->op->formats))) != 0) {
        json_decref(args);
        return MHD_NO;
    }
    req->wait = json_integer_value(json_object_get(args, "wait"));
    if (r->op->long_poll && !hy_spec_field(r->op->args, "wait"))
        json_object_del(args, "wait");   /* the gateway's own parameter */
    hy_actor_t actor = { req->key.key_id, req->key.role, req->key.office };
    /* If-Match goes to the service, whose writer checks it against the resource's ETag in
     * the write transaction (shared/service_etag.c): no other write can come between. */
    const char *if_match = hy_spec_read_only(r->op) ? NULL : hy_gw_header(conn, "If-Match");
    char *text;
    if (r->op->long_poll && req->wait > 0) {
        /* A feed the poller may ask again: the request is kept as a tree. */
        json_t *request = hy_proto_request(r->op->op, req->request_id, &actor, idem, args);
        if (request && if_match &&
            json_object_set_new(request, "if_match", json_string(if_match)) != 0) {
            json_decref(request);
            request = NULL;
        }
        if (!(text = request ? json_dumps(request, JSON_COMPACT) : NULL)) {
            json_decref(request);
            return MHD_NO;
        }
        req->request = request;
    } else {
        /* Everything else: the envelope's text written directly, with no tree of it. */
        size_t len;
        text = hy_gw_request_text(r->op->op, req->request_id, &actor, idem, if_match, args,
                                  args_text, args_len, &len);
        json_decref(args);
        if (!text)
            return MHD_NO;
    }
    return s_submit(gw, conn, req, url, api->service, text, gw->cfg->timeout_ms);
}

/* The forwarder resumed the connection: a feed with nothing yet is parked with the poller,
 * anything else is answered. */
enum MHD_Result hy_gw_forwarded(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                   const char *url)
{
    int rc = req->job.rc;
    enum MHD_Result out;
    /* The plain success: its text spliced into the body, with no tree (splice.c). */
    if (rc == HY_CLIENT_OK && !req->request &&
        hy_gw_splice(gw, conn, req, url, req->job.reply, req->job.reply_len, &out)) {
        hy_fwd_job_clear(&req->job);
        return out;
    }
    json_t *reply = hy_fwd_job_reply(&req->job);
    hy_fwd_job_clear(&req->job);
    if (rc == HY_CLIENT_OK && req->request && hy_poll_empty(reply)) {
        hy_poll_t *p = &req->poll;
        p->conn = conn;
        p->service = hy_routes_apis(req->t->routes)[req->api_index]->service;
        p->request = req->request;
        p->reply = reply;
        p->rc = rc;
        p->deadline_us = req->start_us + (int64_t)(req->wait > 60 ? 60 : req->wait) * 1000000;
        req->request = NULL;
        if (hy_poller_park(gw->poller, p) == 0) {
            req->parked = true;
            return MHD_YES;
        }
        p->request = p->reply = NULL;   /* shutting down: answer now */
    }
    return hy_gw_answer(gw, conn, req, url, rc, reply);
}

/* GET /readyz: ready when every service behind the gateway has a live worker. The broker's
 * report is asked through the forwarder like any request (s_readyz_answer). */
enum MHD_Result hy_gw_readyz(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url)
{
    int timeout = gw->cfg->timeout_ms < READY_TIMEOUT_MS ? gw->cfg->timeout_ms : READY_TIMEOUT_MS;
    req->readyz = true;
    return s_submit(gw, conn, req, url, "_workers", NULL, timeout);
}

enum MHD_Result hy_gw_readyz_answer(hy_gateway_t *gw, struct MHD_Connection *conn,
                                    hy_gw_req_t *req)
{
    int rc = req->job.rc;
    json_t *reply = hy_fwd_job_reply(&req->job);
    hy_fwd_job_clear(&req->job);
    json_t *live = json_object_get(reply, "services"), *digests = json_object_get(reply, "digests");
    if (rc == HY_CLIENT_OK && !json_is_object(live))
        rc = HY_CLIENT_ERROR;
    json_t *doc = json_object(), *services = json_object(), *missing = json_array();
    bool bad = !doc || !services || !missing;
    char conflict[256] = "";
    /* A service counts once the gateway routes it by the description its workers announce:
     * "workers" is the number it can route to (0 until the description is in). */
    for (const char *p = hy_gw_services(); !bad && *p;) {
        size_t len = strcspn(p, ", ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        p += len;
        p += strspn(p, ", ");
        if (!*name)
            continue;
        json_t *n = json_object_get(live, name);
        json_int_t workers = json_is_integer(n) ? json_integer_value(n) : 0;
        if (!hy_catalog_described(gw->catalog, name,
                                  json_string_value(json_object_get(digests, name)), conflict,
                                  sizeof conflict))
            workers = 0;
        bad = json_object_set_new(services, name, json_pack("{s:I}", "workers", workers)) != 0 ||
              (workers <= 0 && json_array_append_new(missing, json_string(name)));
    }
    json_decref(reply);
    bool ready = rc == HY_CLIENT_OK && json_array_size(missing) == 0 && !conflict[0];
    if (bad || json_object_set_new(doc, "ready", json_boolean(ready)) != 0 ||
        json_object_set(doc, "services", services) != 0 ||
        (json_array_size(missing) && json_object_set(doc, "missing", missing) != 0) ||
        (conflict[0] && json_object_set_new(doc, "conflict", json_string(conflict)) != 0) ||
        (rc != HY_CLIENT_OK &&
         json_object_set_new(doc, "detail", json_string("the broker did not answer")) != 0)) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(services);
    json_decref(missing);
    return hy_gw_send_json(gw, conn, req, ready ? 200 : 503, "application/json", doc, NULL,
                           NULL);
}
