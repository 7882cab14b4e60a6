/*
 * gateway.h — the HTTP gateway: one process that runs the broker and turns HTTP requests into
 * broker requests (proto.h) and their replies back into HTTP.
 *
 * Everything HTTP lives here; the services know nothing of it. The routes come from the op
 * specs of the services (spec.h), which each service announces (service.describe, describe.h):
 * a route, its roles, its arguments and its OpenAPI description have one source, and the
 * gateway links no service code.
 *
 *   routes.c    route table and matching; request arguments from path, query and body
 *   http.c      the libmicrohttpd handler: auth, body, forwarding, answers
 *   response.c  problem+json, the X_jalali decoration, serialisation
 *   reqlog.c    the request log line, written in batches
 *   splice.c    a plain success reply's text into the HTTP body, its X_jalali twins written in
 *   poll.c      long polling of feeds with suspended connections
 *   forward.c   asynchronous forwarding: suspended connections, served by the broker's thread
 *   guard.c     the header-completion deadline against slow senders
 *   ticker.c    the periodic threads of the guard and the catalog
 *   server.c    life cycle: start-up, shutdown
 *   keys.c      API keys (keys.h, shared with hamyarctl)
 *   openapi.c   the OpenAPI 3.1 document, generated once at start-up
 *   asyncapi.c  the AsyncAPI 3.0 document of the event feeds and each event's data schema
 *   problems.c  problem types: /v1/problems/<code> pages, Persian titles and details
 *   cors.c      CORS (HY_CORS_ORIGINS): preflights and the headers of allowed origins
 *   encoding.c  Accept / Accept-Encoding quality values, gzip
 *   metrics.c   Prometheus counters and histograms (C11 atomics, no locks)
 *   catalog.c   the services' descriptions: routes built and rebuilt from what they announce
 *   main.c      configuration, broker thread, signals, shutdown order
 *
 * The pure parts (matching, arguments, problem documents, Jalali decoration, OpenAPI) are
 * declared here so that tests/unit/test_gateway.c can call them without a network.
 */
#ifndef HY_GATEWAY_H
#define HY_GATEWAY_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "proto.h"
#include "spec.h"


/* --- configuration --------------------------------------------------------------------------- */
typedef struct {
    const char *http_addr;    /* HY_HTTP_ADDR, 127.0.0.1 */
    int http_port;            /* HY_HTTP_PORT, 8080 (0: any free port, logged) */
    const char *broker_bind;  /* HY_BROKER_BIND, tcp://127.0.0.1:7100 */
    const char *keys_file;    /* HY_KEYS_FILE, ./var/keys */
    int threads;              /* HY_GATEWAY_THREADS, 4 (none ever waits on a service) */
    int timeout_ms;           /* HY_GATEWAY_TIMEOUT_MS, 5000 */
    size_t max_body;          /* HY_GATEWAY_MAX_BODY, 1 MiB */
    int max_connections;      /* HY_GATEWAY_MAX_CONNECTIONS, 1024 */
    int max_in_flight;        /* HY_GATEWAY_MAX_IN_FLIGHT, 65536: requests waiting for services
                                 at once (a power of two); more are answered 503 */
    int idle_timeout_s;       /* HY_GATEWAY_IDLE_TIMEOUT_S, 30: an idle connection is closed */
    int header_timeout_s;     /* HY_GATEWAY_HEADER_TIMEOUT_S, 10: a request's headers complete */
    int per_ip_connections;   /* HY_GATEWAY_PER_IP_CONNECTIONS, 128: open per client address */
    int connection_memory;    /* HY_GATEWAY_CONNECTION_MEMORY, 16384: bytes MHD keeps per
                                 connection for a request's line and headers (more: 431) */
    const char *cors_origins; /* HY_CORS_ORIGINS: allowed origins, comma-separated, or "*";
                                 NULL or empty: none */
} hy_gw_config_t;

/* --- routes (routes.c) ----------------------------------------------------------------------- */
#define HY_ROUTE_MAX_SEGS 16

typedef enum {
    HY_ROUTE_OP,        /* an op of one service */
    HY_ROUTE_ENTITY,    /* a builtin op sent to the owner of args.entity (GET /v1/audit) */
    HY_ROUTE_HEALTHZ,   /* answered by the gateway itself */
    HY_ROUTE_READYZ,
    HY_ROUTE_METRICS,
    HY_ROUTE_OPENAPI,
    HY_ROUTE_ASYNCAPI,      /* GET /v1/asyncapi.json */
    HY_ROUTE_EVENT_SCHEMA,  /* GET /v1/schemas/events/{type}: an event type's data schema */
    HY_ROUTE_PROBLEMS,  /* GET /v1/problems: every problem type */
    HY_ROUTE_PROBLEM,   /* GET /v1/problems/{code}: the page of one */
    HY_ROUTE_ME,        /* GET /v1/me: who the API key is (id, role, office) */
} hy_route_kind_t;

typedef struct {
    const char *text;   /* literal text, or the parameter name for {param} */
    size_t len;
    bool param;
} hy_route_seg_t;

typedef struct {
    hy_route_kind_t kind;
    const char *method;           /* "GET", "POST", "PATCH" */
    const char *path;             /* "/v1/persons/{id}" */
    char name[160];               /* "GET /v1/persons/{id}": metrics and logs */
    const hy_op_spec_t *op;       /* NULL for the gateway's own routes */
    const hy_api_t *api;          /* the owning service; NULL for ENTITY and own routes */
    int api_index;                /* index of api in the apis table, or -1 */
    unsigned roles;               /* roles allowed; 0 = public, no key needed */
    int index;                    /* position in the table, for metrics */
    int nseg;
    hy_route_seg_t seg[HY_ROUTE_MAX_SEGS];
} hy_route_t;

typedef struct hy_routes hy_routes_t;

/* Builds the route table from apis (NULL-terminated; borrowed, must outlive the table), the
 * builtin ops and the gateway's own routes. Returns NULL (with a message in err) when two ops
 * claim the same method and path, a path is malformed, or on allocation failure. */
hy_routes_t *hy_routes_new(const hy_api_t *const *apis, char *err, size_t err_size);
void hy_routes_destroy(hy_routes_t **self_p);

size_t hy_routes_count(const hy_routes_t *self);
const hy_route_t *hy_routes_at(const hy_routes_t *self, size_t i);
const hy_api_t *const *hy_routes_apis(const hy_routes_t *self);

/* Finds the route for method and path (no query string). A literal segment is preferred to a
 * {param} at the same position (/v1/loans/queue before /v1/loans/{id}).
 *   200: *route set, *params a new object of path parameters (strings);
 *   404: no route has this path;
 *   405: the path exists for other methods, listed in allow ("GET, PATCH").
 * allow may be NULL; so may params, when only the route is wanted (no parameters are built,
 * nor their UTF-8 checked). */
int hy_routes_match(const hy_routes_t *self, const char *method, const char *path,
                    const hy_route_t **route, json_t **params, char *allow, size_t allow_size);

/* The service owning an entity id, from the text before its first '_' and the id_prefixes of
 * each api. Returns its index in the apis table, or -1. */
int hy_routes_owner(const hy_routes_t *self, const char *entity_id);

/* A refusal of a request, before or instead of a service's answer: the spec checker's struct
 * (spec.h), so one error struct serves both; hy_gw_fail sets it and returns -1. */
typedef hy_spec_error_t hy_gw_error_t;
#define hy_gw_fail hy_spec_fail

/* One query-string parameter as received (value NULL for "?flag"). */
typedef struct {
    const char *key;
    const char *value;
} hy_gw_kv_t;

/* Builds the args of a request from its path parameters (stolen), its query parameters and
 * its body (stolen; NULL when none; must be an object). Query parameters must be fields of
 * the op (every field for GET, HY_F_QUERY fields otherwise; X_jalali for a date field X;
 * limit and cursor for list ops) and are coerced to the field's type. A body member that
 * repeats a path or query parameter is refused. Returns a new object, or NULL with err set
 * (400 unknown_parameter, invalid_parameter, invalid_utf8, invalid_body). */
json_t *hy_gw_args(const hy_route_t *route, json_t *params, const hy_gw_kv_t *query,
                   size_t nquery, json_t *body, hy_gw_error_t *err);

/* The deepest nesting and the number of object members a request body may have. */
#define HY_GW_MAX_DEPTH 64
#define HY_GW_MAX_MEMBERS 1024

/* Measures JSON text without parsing it: the deepest nesting of objects and arrays and the
 * number of object members (colons outside strings). Malformed text gives meaningless but
 * bounded figures; the parser refuses it afterwards. Returns 0. */
int hy_gw_json_shape(const char *text, size_t len, int *depth, size_t *members);

/* Parses a request body: deeper than HY_GW_MAX_DEPTH (400 too_deep), more than
 * HY_GW_MAX_MEMBERS members (400 too_many_members), valid UTF-8 (400 invalid_utf8), JSON (400 malformed_json, detail
 * with line and column; duplicate members refused), an object (400 invalid_body). Returns a
 * new reference, or NULL with err set. */
json_t *hy_gw_parse_body(const char *body, size_t len, hy_gw_error_t *err);

/* --- responses (http.c) ---------------------------------------------------------------------- */
/* Builds an RFC 9457 problem document: type ("/v1/problems/<code>" for a known code, else
 * about:blank), title (hy_proto_title(code): the type's, whatever extra says), status, code, field (if not NULL/empty), detail, instance,
 * request_id, and every other member of extra (borrowed, may be NULL). New reference. */
json_t *hy_gw_problem(int status, const char *code, const char *field, const char *detail,
                      json_t *extra, const char *instance, const char *request_id);

/* Adds "X_jalali" next to every member X whose value is a "YYYY-MM-DD" string, in objects and
 * arrays at any depth, unless X ends in _jalali, X_jalali exists or the date cannot be
 * converted. Members keep their order; each X_jalali follows its X. Returns 0, -1 on
 * allocation failure. */
int hy_gw_add_jalali(json_t *value);

/* The HTTP body of a service's result given as its compact JSON text (as jansson writes it):
 * the same bytes as hy_gw_add_jalali then hy_gw_dump of the parsed text, without parsing it
 * (splice.c). NULL when the text is not one the splice handles (a backslash in it, very many
 * members or deep nesting, not JSON): the caller takes the tree's way. malloc'd, *out_len set. */
char *hy_gw_splice_result(const char *text, size_t len, size_t *out_len);
/* The text of the broker request for op (proto.h's envelope: the same members as
 * hy_proto_request's tree, plus if_match when not NULL), written directly rather than through
 * a tree; args (borrowed) may be NULL ({}). args_text (may be NULL), when given, is args' JSON
 * text already (a request body that parsed as the args, sent as it came). malloc'd, *len set;
 * NULL on allocation failure or a string that is not UTF-8. */
char *hy_gw_request_text(const char *op, const char *id, const hy_actor_t *actor,
                         const char *idem, const char *if_match, const json_t *args,
                         const char *args_text, size_t args_len, size_t *len);
/* Serialises value compactly and appends a newline. Returns a malloc'd buffer (caller frees)
 * and its length in *len, or NULL. */
char *hy_gw_dump(const json_t *value, size_t *len);

/* --- problem types (problems.c) ---------------------------------------------------------- */
/* Whether code has a problem type (a page at /v1/problems/<code>, a Persian title). */
bool hy_gw_problem_known(const char *code);
/* Whether Accept-Language (may be NULL) prefers Persian to any other language. */
bool hy_gw_prefers_fa(const char *accept_language);
/* Puts a problem document into Persian: title and detail (the English detail kept as
 * detail_en). Returns 0, -1 on allocation failure. */
int hy_gw_problem_translate(json_t *problem);
/* {"items":[{code,type,status,title,title_fa,detail_fa}...]}, or one of them (NULL for an
 * unknown code). New references. */
json_t *hy_gw_problem_types(void);
json_t *hy_gw_problem_type(const char *code);
/* The HTML page of a problem type (malloc'd, *len set), or NULL for an unknown code. */
char *hy_gw_problem_page(const char *code, bool fa, size_t *len);

/* --- CORS (cors.c) ------------------------------------------------------------------------ */
/* The Access-Control-Allow-Origin value for origin (may be NULL) under the origins list
 * (HY_CORS_ORIGINS): "*", origin itself (borrowed), or NULL when it is not allowed. */
const char *hy_gw_cors_allow(const char *origins, const char *origin);
/* Adds the CORS headers of allow_origin (nothing when NULL): for a preflight when methods
 * (the path's, "GET, PATCH") is given, else for an actual answer. 0, or -1 on failure. */
int hy_gw_cors_headers(struct MHD_Response *resp, const char *allow_origin, const char *methods);

/* --- negotiation and gzip (encoding.c) ---------------------------------------------------- */
/* The quality Accept (may be NULL: 1) gives media, by its most specific matching range;
 * *position (may be NULL) gets the index of that range in the list. */
double hy_gw_accept_q(const char *accept, const char *media, int *position);
/* Whether Accept-Encoding (may be NULL) takes gzip with a quality above 0. */
bool hy_gw_accepts_gzip(const char *accept_encoding);
/* gzip of in (malloc'd, *out_len set), or NULL. */
char *hy_gw_gzip(const char *in, size_t len, size_t *out_len);
/* Bodies shorter than this are sent as they are. */
#define HY_GW_GZIP_MIN 2048

/* --- OpenAPI (openapi.c) --------------------------------------------------------------------- */
/* The OpenAPI 3.1 document of every route. New reference, or NULL on allocation failure. */
json_t *hy_gw_openapi(const hy_routes_t *routes);
/* The values of an enum field's list ("a|b|c") as a JSON array (new reference), or NULL on
 * allocation failure. Shared with asyncapi.c. */
json_t *hy_gw_enum_values(const char *enums);
/* Lets the schema s also take null: a string "type" becomes [type, "null"] and null joins its
 * "enum". Returns 0, -1 on allocation failure. */
int hy_gw_schema_nullable(json_t *s);

/* --- AsyncAPI (asyncapi.c) ------------------------------------------------------------------- */
/* The AsyncAPI 3.0 document of the event feeds of apis (NULL-terminated). New reference, or
 * NULL on allocation failure. */
json_t *hy_gw_asyncapi(const hy_api_t *const *apis);
/* The JSON Schema (2020-12) of the data of event type, with $id its dataschema URL. New
 * reference, or NULL when no api declares the type. */
json_t *hy_gw_event_schema(const hy_api_t *const *apis, const char *type);

/* --- metrics (metrics.c) --------------------------------------------------------------------- */
typedef struct hy_metrics hy_metrics_t;

enum { HY_SVC_TIMEOUT, HY_SVC_UNAVAILABLE, HY_SVC_5XX, HY_SVC_KINDS };

/* Counters for every route of routes and every api. Returns NULL on allocation failure. */
hy_metrics_t *hy_metrics_new(const hy_routes_t *routes);
void hy_metrics_destroy(hy_metrics_t **self_p);
/* Counts one answered request. route is a route index, or -1 for a request that matched no
 * route. Lock-free; safe from any thread. */
void hy_metrics_request(hy_metrics_t *self, int route, int status, uint64_t us);
/* Counts a failure of service api_index (HY_SVC_*). */
void hy_metrics_service_error(hy_metrics_t *self, int api_index, int kind);
/* The Prometheus text exposition. Returns a malloc'd buffer and its length, or NULL. */
char *hy_metrics_render(hy_metrics_t *self, size_t *len);

/* The services' figures for /metrics: a thread asks the broker which services have workers
 * and each one of hy_gw_services() for service.status, every HY_WATCH_PERIOD_MS. */
#define HY_WATCH_PERIOD_MS 2000
typedef struct hy_watch hy_watch_t;
/* Starts the watcher with a client of its own to the broker at endpoint (zctx borrowed);
 * each call waits at most timeout_ms. NULL on failure. */
hy_watch_t *hy_watch_new(void *zctx, const char *endpoint, int timeout_ms);
/* Stops the thread (before the ZeroMQ context ends); safe to call twice. */
void hy_watch_stop(hy_watch_t *self);
/* Stops, closes the client and frees; sets *self_p to NULL. */
void hy_watch_destroy(hy_watch_t **self_p);
/* The last look, {"registry": {"up": true, "status": {...}}} (new reference), or NULL. */
json_t *hy_watch_snapshot(hy_watch_t *self);
/* As hy_metrics_render, plus the services' figures of watch (may be NULL). */
char *hy_metrics_render_with(hy_metrics_t *self, hy_watch_t *watch, size_t *len);

/* The log line of one answered request, for stderr (reqlog.c):
 * {"ts":..,"level":"info","service":"gateway","route":..,"request_id":..,"status":..,"us":..}
 * Lines are written in batches: when HY_GW_LOG_BUFFER bytes are waiting, when the first of
 * them is HY_GW_LOG_FLUSH_MS old (hy_gw_log_tick, the "hy-log" ticker, looks when no request
 * comes), and by hy_gw_log_flush (shutdown, tests). Safe from any thread. */
#define HY_GW_LOG_BUFFER 65536
#define HY_GW_LOG_FLUSH_MS 100
void hy_gw_log_request(const char *route, const char *request_id, int status, int64_t us);
void hy_gw_log_flush(void);
void hy_gw_log_tick(void *arg);

/* --- long polling (poll.c) ------------------------------------------------------------------- */
#define HY_POLL_INTERVAL_MS 200

/* A parked feed request; lives in the HTTP request it belongs to. */
typedef struct hy_poll {
    struct MHD_Connection *conn;
    const char *service;
    json_t *request;            /* what to ask again */
    json_t *reply;              /* the last reply, or NULL */
    int rc;                     /* HY_CLIENT_* of the last call */
    int64_t deadline_us, next_us;
    struct hy_poll *next;
} hy_poll_t;

typedef struct hy_poller hy_poller_t;
typedef struct hy_gateway hy_gateway_t;

/* The media type of a CloudEvents JSON batch (the array of events). */
#define HY_CE_BATCH_TYPE "application/cloudevents-batch+json"
/* Whether to answer a feed's result as a CloudEvents batch: route is a long-poll feed, result
 * has an events array, and accept (may be NULL) names HY_CE_BATCH_TYPE with a q above 0. */
bool hy_gw_feed_batch(const hy_route_t *route, const char *accept, const json_t *result);
/* true when reply is a success whose result.events is an empty array. */
bool hy_poll_empty(json_t *reply);
/* Starts the poller thread. NULL on failure. */
hy_poller_t *hy_poller_new(hy_gateway_t *gw);
/* Resumes every parked request with the reply it has, and stops the thread. Safe to call
 * twice; sets *self_p to NULL. */
void hy_poller_destroy(hy_poller_t **self_p);
/* Suspends p->conn and parks p until p->deadline_us or a non-empty reply; the connection is
 * then resumed with p->reply and p->rc set. Returns 0, or -1 when the poller is stopping (the
 * caller answers at once). Call from the MHD handler of p->conn. */
int hy_poller_park(hy_poller_t *self, hy_poll_t *p);

/* --- asynchronous forwarding (forward.c) ------------------------------------------------------ */
typedef struct hy_forwarder hy_forwarder_t;
typedef struct hy_broker hy_broker_t;

/* One request for a service; lives in the HTTP request it belongs to. The caller fills conn,
 * service, text/len (taken) and deadline_us; the forwarder sets rc (HY_CLIENT_OK, _TIMEOUT or
 * _ERROR) and, on OK, the reply text. */
typedef struct hy_fwd_job {
    struct MHD_Connection *conn;
    char service[64];
    char *text;
    size_t len;
    int64_t deadline_us;
    int rc;
    char *reply;                /* the reply's text (malloc'd, NUL-terminated), or NULL */
    size_t reply_len;
    uint64_t tag;
    struct hy_fwd_job *prev, *next;
} hy_fwd_job_t;

/* Attaches a forwarder to the broker (borrowed; it must run in this process), whose thread
 * then sends the jobs and receives their replies (hy_broker_local_t). At most max_in_flight
 * jobs (rounded up to a power of two, at least 64) wait for replies at once; one more is
 * answered HY_CLIENT_ERROR (503). NULL on failure. */
hy_forwarder_t *hy_forwarder_new(hy_broker_t *broker, size_t max_in_flight);
/* Answers every job in flight with HY_CLIENT_ERROR (resuming its connection) and detaches
 * from the broker; later submits are refused. Call before MHD_stop_daemon and before the
 * broker stops. Safe to call twice. */
void hy_forwarder_stop(hy_forwarder_t *self);
/* Stops (if needed) and frees; after MHD_stop_daemon. Sets *self_p to NULL. */
void hy_forwarder_destroy(hy_forwarder_t **self_p);
/* Suspends job->conn and queues job; the connection is resumed when job->rc is set. Returns
 * 0, or -1 when the forwarder is stopping (nothing suspended; the caller answers at once).
 * Call from the MHD handler of job->conn. */
int hy_forwarder_submit(hy_forwarder_t *self, hy_fwd_job_t *job);
/* The reply of a finished job, parsed (new reference), or NULL when it has none or it is not
 * JSON. Releases the raw reply. */
json_t *hy_fwd_job_reply(hy_fwd_job_t *job);
/* Frees what a job holds (text, an unread reply). */
void hy_fwd_job_clear(hy_fwd_job_t *job);

/* --- periodic threads (ticker.c) ------------------------------------------------------------- */
typedef struct hy_ticker hy_ticker_t;

/* Starts a thread called name (at most 15 characters) that calls fn(arg) at once and then
 * every period_ms until stopped. NULL on failure. */
hy_ticker_t *hy_ticker_new(const char *name, long period_ms, void (*fn)(void *), void *arg);
/* Stops the thread (waking it) and joins it; safe to call twice. */
void hy_ticker_stop(hy_ticker_t *self);
/* Stops and frees; sets *self_p to NULL. */
void hy_ticker_destroy(hy_ticker_t **self_p);

/* --- slow senders (guard.c) ------------------------------------------------------------------ */
typedef struct hy_guard hy_guard_t;

/* Starts the thread that cuts connections whose request headers take longer than
 * header_timeout_s (the first request) or idle_timeout_s (a kept-alive connection's next
 * request). NULL on failure. */
hy_guard_t *hy_guard_new(int header_timeout_s, int idle_timeout_s);
/* Stops the thread (before MHD_stop_daemon); safe to call twice. */
void hy_guard_stop(hy_guard_t *self);
/* Stops and frees; safe to call twice; sets *self_p to NULL. */
void hy_guard_destroy(hy_guard_t **self_p);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void hy_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe);
/* The handler's first call of a request: its headers are complete. */
void hy_guard_headers_done(hy_guard_t *self, struct MHD_Connection *conn);
/* A request is over: the connection's next headers are due within the idle timeout. */
void hy_guard_request_done(hy_guard_t *self, struct MHD_Connection *conn);

/* --- the running gateway (server.c, http.c) --------------------------------------------- */
typedef struct hy_client hy_client_t;

/* --- the services' descriptions (catalog.c) --------------------------------------------------- */
/* Everything built from one set of descriptions. Immutable; reference-counted: a request holds
 * the table it started with until it is answered. */
typedef struct hy_gw_table {
    hy_api_t **apis;            /* parsed descriptions, NULL-terminated */
    hy_routes_t *routes;
    hy_metrics_t *metrics;
    char *openapi;              /* the OpenAPI document, serialised */
    size_t openapi_len;
    char *asyncapi;             /* the AsyncAPI document, serialised */
    size_t asyncapi_len;
    atomic_int refs;
} hy_gw_table_t;

typedef struct hy_catalog hy_catalog_t;

/* Loads the kept descriptions of the services of hy_gw_services() (HY_GATEWAY_STATE_DIR, else
 * $HY_DATA_DIR/gateway), builds the first table and starts the thread that follows the
 * services' announcements through the broker at gw->endpoint. NULL on failure (logged). */
hy_catalog_t *hy_catalog_new(hy_gateway_t *gw);
/* Stops the thread; safe to call twice. */
void hy_catalog_stop(hy_catalog_t *self);
/* Stops, releases the current table and frees; sets *self_p to NULL. */
void hy_catalog_destroy(hy_catalog_t **self_p);
/* The current table, with a reference the caller gives back with hy_catalog_release. */
hy_gw_table_t *hy_catalog_acquire(hy_catalog_t *self);
void hy_catalog_release(hy_gw_table_t *table);
/* Whether the gateway routes service by the description of this digest (what its workers
 * announce). conflict (may be NULL) gets the last refused description's reason, or "". */
bool hy_catalog_described(hy_catalog_t *self, const char *service, const char *digest,
                          char *conflict, size_t conflict_size);

/* The process-wide state of the gateway, shared by server.c (life cycle) and http.c
 * (requests). Everything is set before the daemon starts and read-only after. */
struct hy_gateway {
    const hy_gw_config_t *cfg;
    void *zctx;
    char *endpoint;             /* the broker, for the poller's and catalog's clients */
    hy_catalog_t *catalog;
    hy_keys_t *keys;
    struct MHD_Daemon *daemon;
    hy_poller_t *poller;
    hy_guard_t *guard;
    hy_forwarder_t *forwarder;
    hy_watch_t *watch;          /* the services' figures for /metrics */
    hy_ticker_t *log_ticker;    /* writes out request log lines when no request comes */
};

/* Starts the HTTP daemon for cfg (borrowed; must outlive the gateway). Requests go through the
 * thread of broker (borrowed; it runs in this process: the forwarder attaches to it); the
 * poller, catalog and watcher reach it at client_endpoint through zctx (borrowed). Returns NULL
 * (logged) on failure. */
hy_gateway_t *hy_gateway_new(const hy_gw_config_t *cfg, void *zctx, const char *client_endpoint,
                             hy_broker_t *broker);
/* The port the daemon listens on. */
int hy_gateway_port(hy_gateway_t *self);
/* Stops the daemon (answering requests in flight) and closes the forwarder's and poller's
 * sockets; after this zmq_ctx_term can return. Safe to call twice; sets *self_p to NULL. */
void hy_gateway_destroy(hy_gateway_t **self_p);

/* MHD's access handler and completion callback (http.c); cls is the gateway. */
enum MHD_Result hy_gw_http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls);
void hy_gw_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

/* The rendering to ask a service for ("json", "csv", "html"): the first media type of Accept
 * that the op's formats offer, else JSON (response.c). */
const char *hy_gw_negotiate(const char *accept, const char *formats);
/* The services of this deployment: HY_SERVICES (comma-separated), else the standard six. Only
 * these may announce themselves to the broker, and /readyz expects each of them. */
#define HY_GW_DEFAULT_SERVICES "registry,loans,networks,microfund,insurance,reporting"
const char *hy_gw_services(void);
/* Whether /readyz expects service (one of hy_gw_services()). */
bool hy_gw_expected(const char *service);

#endif
