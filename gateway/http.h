/*
 * http.h — what the gateway's request handling files share (http.c: the MHD handler, the
 * first and last calls; relay.c: answers, forwarding and the answers to resumed requests).
 * Internal to gateway/: tests and other programs use gateway.h.
 */
#ifndef HY_GW_HTTP_H
#define HY_GW_HTTP_H

#include "gateway.h"

#define RID_MAX 64            /* longest X-Request-Id taken from a client */
#define IDEM_MAX 200          /* longest Idempotency-Key */
#define QUERY_MAX 32          /* query parameters per request */
#define DRAIN_MAX (64u << 20) /* bytes of a refused body read before the connection is cut */
#define READY_TIMEOUT_MS 1000

/* One request in flight (MHD's per-connection pointer). */
typedef struct {
    hy_gw_table_t *t;           /* the routes this request started with (held) */
    int64_t start_us;
    char request_id[RID_MAX + 1];
    const hy_route_t *route;    /* NULL until matched */
    json_t *params;             /* path parameters */
    hy_key_entry_t key;         /* the caller, when the route needs a key */
    bool answered;              /* a response is queued */
    const char *disposition;    /* Content-Disposition of a rendering (borrowed), or NULL */
    const char *link;           /* Link of a rendering's next page (borrowed), or NULL */
    bool takes_body;            /* POST, PATCH, PUT */
    bool has_body;              /* Content-Length > 0 or chunked */
    unsigned long long declared; /* Content-Length, 0 when none */
    bool refused;               /* refusal holds the answer, sent after the headers */
    hy_gw_error_t refusal;
    char allow[64];             /* for a 405 */
    const char *www;            /* WWW-Authenticate for a 401 (static text) */
    bool too_large;
    bool conflicting;           /* two Content-Length values: answered at once, then closed */
    int api_index;              /* the service asked */
    bool parked;                /* with the poller; poll holds its last reply */
    hy_poll_t poll;
    bool forwarding;            /* with the forwarder until it resumes the connection */
    bool readyz;                /* the job is the broker's _workers report for /readyz */
    hy_fwd_job_t job;
    json_t *request;            /* kept for a feed that may be parked with the poller */
    json_int_t wait;
    char *body;
    size_t len, cap, drained;
    const char *cors;           /* Access-Control-Allow-Origin for this request, or NULL */
    bool preflight;             /* an OPTIONS request: allow lists the path's methods */
    bool fa;                    /* Accept-Language prefers Persian: problems in Persian */
    bool gzip;                  /* Accept-Encoding takes gzip */
    const char *language;       /* Content-Language of the answer (problems), or NULL */
    char etag[72];              /* ETag of the answer ("\"<hex>\""), or "" */
    char location[256];         /* Location of a 201, or "" */
} hy_gw_req_t;

static inline const char *hy_gw_header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Queues a response. body (may be NULL) is taken unless persistent. allow and www add the
 * Allow and WWW-Authenticate headers when not NULL. Counts and logs the request. */
enum MHD_Result hy_gw_send(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                           int status, const char *ctype, char *body, size_t len,
                           bool persistent, const char *allow, const char *www);
/* Queues doc (taken) as JSON of the given content type. */
enum MHD_Result hy_gw_send_json(hy_gateway_t *gw, struct MHD_Connection *conn,
                                hy_gw_req_t *req, int status, const char *ctype, json_t *doc,
                                const char *allow, const char *www);
/* Answers with a problem document; extra (borrowed) adds members. */
enum MHD_Result hy_gw_send_problem(hy_gateway_t *gw, struct MHD_Connection *conn,
                                   hy_gw_req_t *req, const char *url, int status,
                                   const char *code, const char *field, const char *detail,
                                   json_t *extra, const char *allow, const char *www);
/* Answers a refusal; a 405 lists the allowed methods, a 401 asks for a bearer key. */
enum MHD_Result hy_gw_refuse(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                             const char *url, const hy_gw_error_t *err);
/* Turns the outcome of a service call (rc, and reply, which is taken) into the response. */
enum MHD_Result hy_gw_answer(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                             const char *url, int rc, json_t *reply);
/* Sends args (taken) to the route's service through the forwarder; the connection is
 * suspended until the reply or the deadline, then hy_gw_forwarded answers. */
enum MHD_Result hy_gw_forward(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                              const char *url, const hy_route_t *r, const char *idem,
                              json_t *args, const char *args_text, size_t args_len);
/* Answers a request the forwarder resumed (or parks a feed with nothing yet). */
enum MHD_Result hy_gw_forwarded(hy_gateway_t *gw, struct MHD_Connection *conn,
                                hy_gw_req_t *req, const char *url);
/* Sets req->location for a 201 of url that created id (may be NULL): url/id when a GET route
 * answers there, else, for a PUT, url itself (relay.c). */
void hy_gw_location(hy_gw_req_t *req, const char *url, const char *id);
/* Answers a service's plain success reply (text, len) with no JSON tree: *out is the result of
 * hy_gw_send and true is returned; false (nothing sent) when the reply is not a plain success
 * or not for a plain op route, for relay.c's tree to answer (splice.c). */
bool hy_gw_splice(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                  const char *url, const char *text, size_t len, enum MHD_Result *out);
/* GET /v1/schemas/events/{type} (asyncapi.c). */
enum MHD_Result hy_gw_event_schema_send(hy_gateway_t *gw, struct MHD_Connection *conn,
                                        hy_gw_req_t *req, const char *url);
/* GET /readyz: asks the broker's report through the forwarder ... */
enum MHD_Result hy_gw_readyz(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                             const char *url);
/* ... and answers when it comes. */
enum MHD_Result hy_gw_readyz_answer(hy_gateway_t *gw, struct MHD_Connection *conn,
                                    hy_gw_req_t *req);

#endif
