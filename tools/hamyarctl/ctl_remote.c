/*
 * ctl_remote.c — hamyarctl status | ping | backup: asking the running services, through the
 * broker, as the role operator.
 *
 * The broker knows which services have live workers (its "_workers" report); each worker
 * answers the built-in ops service.status and service.backup (shared/spec.c). Requests go to a
 * service's workers in turn, so asking a service as many times as it has workers reaches each
 * replica once (unless another client's request slips in between: status then shows one
 * replica twice, never a wrong figure).
 */
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "ctl.h"
#include "curve.h"
#include "log.h"
#include "proto.h"
#include "service.h"

#define MAX_REPLICAS 16

typedef struct {
    void *zctx;
    hy_client_t *client;
} s_conn_t;

static void s_close(s_conn_t *c)
{
    hy_client_destroy(&c->client);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    c->zctx = NULL;
}

/* Connects to HY_BROKER, with this tool's CURVE key when HY_CURVE_DIR is set. Logs (JSON
 * lines on stderr) only say warnings unless HY_LOG_LEVEL asks for more. */
static int s_open(s_conn_t *c)
{
    memset(c, 0, sizeof *c);
    setenv("HY_LOG_LEVEL", "warn", 0);
    hy_log_init("hamyarctl");
    if (hy_curve_init("hamyarctl") != 0) {
        fprintf(stderr, "hamyarctl: HY_CURVE_DIR is set: it needs hamyarctl.key and .pub (or "
                        "HY_CURVE_NAME naming a pair that is there)\n");
        return -1;
    }
    c->zctx = zmq_ctx_new();
    c->client = c->zctx ? hy_client_new(c->zctx, hy_config_broker()) : NULL;
    if (!c->client) {
        fprintf(stderr, "hamyarctl: cannot connect to the broker at %s\n", hy_config_broker());
        s_close(c);
        return -1;
    }
    return 0;
}

/* One request as the operator. Returns HY_CLIENT_OK with *status and *reply (the caller's),
 * or HY_CLIENT_TIMEOUT / HY_CLIENT_ERROR. */
static int s_call(s_conn_t *c, const char *service, const char *op, json_t *args, int timeout_ms,
                  int *status, json_t **reply)
{
    char id[40];
    hy_new_request_id(id);
    hy_actor_t actor = { "hamyarctl", "operator", "" };
    json_t *req = hy_proto_request(op, id, &actor, NULL, args);
    *reply = NULL;
    if (!req)
        return HY_CLIENT_ERROR;
    int rc = hy_client_call(c->client, service, req, timeout_ms, reply);
    json_decref(req);
    json_t *result, *error;
    if (rc == HY_CLIENT_OK && hy_proto_parse_reply(*reply, status, &result, &error) != 0) {
        json_decref(*reply);
        *reply = NULL;
        rc = HY_CLIENT_ERROR;
    }
    return rc;
}

/* The error of a reply as "code: detail", into buf. */
static const char *s_error_text(json_t *reply, char *buf, size_t n)
{
    json_t *e = json_object_get(reply, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    snprintf(buf, n, "%s: %s", code ? code : "error", detail ? detail : "");
    return buf;
}

/* Prints doc (stolen) as one line of JSON on stdout. */
static void s_print_json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
}

/* ---- status -------------------------------------------------------------------------------- */

static void s_size(json_int_t bytes, char *buf, size_t n)
{
    if (bytes >= (json_int_t)1 << 30)
        snprintf(buf, n, "%.1fG", (double)bytes / (1 << 30));
    else
        snprintf(buf, n, "%.1fM", (double)bytes / (1 << 20));
}

/* Asks each worker of name for service.status; returns an array of the answers (new). */
static json_t *s_replicas(s_conn_t *c, const char *name, json_int_t workers, int timeout_ms)
{
    json_t *out = json_array();
    for (json_int_t i = 0; out && i < workers && i < MAX_REPLICAS; i++) {
        int status = 0;
        json_t *reply;
        if (s_call(c, name, "service.status", NULL, timeout_ms, &status, &reply) != HY_CLIENT_OK)
            continue;
        json_t *r = json_object_get(reply, "result");
        /* A replica is its host and pid: in containers every pid may be 1. */
        json_int_t pid = json_integer_value(json_object_get(r, "pid"));
        const char *host = json_string_value(json_object_get(r, "host"));
        bool seen = false;
        size_t k;
        json_t *prev;
        json_array_foreach(out, k, prev) {
            const char *h = json_string_value(json_object_get(prev, "host"));
            seen |= json_integer_value(json_object_get(prev, "pid")) == pid &&
                    strcmp(h ? h : "", host ? host : "") == 0;
        }
        if (status == 200 && json_is_object(r) && !seen)
            json_array_append(out, r);
        json_decref(reply);
    }
    return out;
}

static void s_print_replica(const char *name, json_int_t workers, json_t *r)
{
    json_t *store = json_object_get(r, "store");
    char used[32], map[32], sources[512] = "-";
    s_size(json_integer_value(json_object_get(store, "used_bytes")), used, sizeof used);
    s_size(json_integer_value(json_object_get(store, "map_bytes")), map, sizeof map);
    const char *src;
    json_t *cur;
    size_t len = 0;
    json_object_foreach(json_object_get(r, "sources"), src, cur) {
        int w = snprintf(sources + len, sizeof sources - len, "%s%s %lld/%lld lag %lld",
                         len ? ", " : "", src,
                         (long long)json_integer_value(json_object_get(cur, "cursor")),
                         (long long)json_integer_value(json_object_get(cur, "head")),
                         (long long)json_integer_value(json_object_get(cur, "lag")));
        if (w < 0 || (size_t)w >= sizeof sources - len)
            break;
        len += (size_t)w;
    }
    char store_col[64];
    snprintf(store_col, sizeof store_col, "%s/%s", used, map);
    printf("%-10s %-7lld %-8lld %-9lld %-17s %s\n", name, (long long)workers,
           (long long)json_integer_value(json_object_get(r, "pid")),
           (long long)json_integer_value(json_object_get(r, "seq")), store_col, sources);
}

/* Whether this deployment runs service: one of HY_SERVICES (comma-separated) when set, else
 * one of the standard services. A name the broker knows beyond those is shown, not required. */
static bool s_expected(const char *service)
{
    const char *list = getenv("HY_SERVICES");
    if (!list || !*list) {
        for (const char *const *s = ctl_services; *s; s++)
            if (strcmp(*s, service) == 0)
                return true;
        return false;
    }
    size_t n = strlen(service);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t w = strcspn(p, ", ");
        if (w == n && strncmp(p, service, n) == 0)
            return true;
        p += w;
    }
    return false;
}

int ctl_status(int argc, char **argv)
{
    const char *as_json = NULL, *timeout_s = NULL;
    const ctl_opt_t opts[] = { { "json", true, &as_json }, { "timeout-ms", false, &timeout_s }, { 0 } };
    int timeout_ms = -1;
    if (ctl_parse(argc, argv, opts, NULL, 0) != 0 || (timeout_ms = ctl_timeout(timeout_s, 3000)) < 0) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    s_conn_t c;
    if (s_open(&c) != 0)
        return 1;
    json_t *workers = NULL;
    if (hy_client_workers(c.client, timeout_ms, &workers) != HY_CLIENT_OK) {
        fprintf(stderr, "hamyarctl: the broker at %s does not answer\n", hy_config_broker());
        if (as_json)
            s_print_json(json_pack("{s:s, s:b, s:{}}", "broker", hy_config_broker(), "up", 0,
                                   "services"));
        s_close(&c);
        return 1;
    }
    /* Every known service, then any other name the broker knows (a service added later). */
    json_t *names = json_array(), *services = json_object(), *down = json_array();
    for (const char *const *s = ctl_services; *s; s++)
        json_array_append_new(names, json_string(*s));
    const char *wname;
    json_t *wcount;
    json_object_foreach(workers, wname, wcount) {
        bool known = false;
        for (const char *const *s = ctl_services; *s; s++)
            known |= strcmp(*s, wname) == 0;
        if (!known)
            json_array_append_new(names, json_string(wname));
    }
    if (!as_json)
        printf("%-10s %-7s %-8s %-9s %-17s %s\n", "SERVICE", "WORKERS", "PID", "SEQ",
               "STORE USED/MAP", "SOURCES (cursor/head lag)");
    size_t i;
    json_t *jn;
    json_array_foreach(names, i, jn) {
        const char *name = json_string_value(jn);
        json_int_t count = json_integer_value(json_object_get(workers, name));
        json_t *reps = count > 0 ? s_replicas(&c, name, count, timeout_ms) : json_array();
        bool up = json_array_size(reps) > 0;
        json_object_set_new(services, name, json_pack("{s:b, s:I, s:o}", "up", up, "workers",
                                                      count, "replicas", reps));
        if (!up && s_expected(name))
            json_array_append_new(down, json_string(name));
        if (as_json)
            continue;
        if (!up) {
            printf("%-10s %-7lld %s\n", name, (long long)count, count ? "no answer" : "down");
            continue;
        }
        size_t k;
        json_t *r;
        json_array_foreach(reps, k, r)
            s_print_replica(name, count, r);
    }
    if (as_json)
        s_print_json(json_pack("{s:s, s:b, s:O, s:O}", "broker", hy_config_broker(), "up", 1,
                               "services", services, "down", down));
    /* Like a health check: a service of this deployment with no live worker fails the run. */
    int rc = json_array_size(down) ? 1 : 0;
    if (rc && !as_json) {
        size_t k;
        json_t *d;
        fprintf(stderr, "hamyarctl: down:");
        json_array_foreach(down, k, d)
            fprintf(stderr, " %s", json_string_value(d));
        fprintf(stderr, "\n");
    }
    json_decref(down);
    json_decref(names);
    json_decref(services);
    json_decref(workers);
    s_close(&c);
    return rc;
}

/* ---- ping ---------------------------------------------------------------------------------- */

/* GET path (/readyz or /healthz) of the gateway on this host: HY_HTTP_ADDR (127.0.0.1 when it
 * listens on every address) and HY_HTTP_PORT. Returns 0 when the answer is 200. */
static int s_http_get(const char *path, int timeout_ms)
{
    const char *addr = getenv("HY_HTTP_ADDR"), *port = getenv("HY_HTTP_PORT");
    if (!addr || !*addr || strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0)
        addr = "127.0.0.1";
    if (!port || !*port)
        port = "8080";
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST }, *ai = NULL;
    if (getaddrinfo(addr, port, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "hamyarctl: HY_HTTP_ADDR %s is not an address\n", addr);
        return -1;
    }
    int rc = -1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    char req[256], buf[512] = "";
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
        connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 && write(fd, req, (size_t)n) == n) {
        size_t got = 0;
        ssize_t r;
        while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = '\0';
        rc = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0 ? 0 : -1;
    }
    if (rc != 0) {
        const char *body = strstr(buf, "\r\n\r\n");
        if (!buf[0])
            fprintf(stderr, "hamyarctl: GET http://%s:%s%s: no answer\n", addr, port, path);
        else
            fprintf(stderr, "hamyarctl: GET http://%s:%s%s: %.*s %s\n", addr, port, path,
                    (int)strcspn(buf, "\r\n"), buf, body ? body + 4 : "");
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

/* For health checks.
 *   --service gateway: is it ready (GET /readyz on this host: serving, and a live worker for
 *     every service it expects)? With --serving, or HY_GATEWAY_HEALTH=serving: does it serve
 *     HTTP (GET /healthz)? That is for Swarm, whose DNS lists the gateway only once healthy:
 *     the services could never connect to a gateway whose health waited for them
 *     (docker/swarm.yml sets it: an override can replace a variable, not a health command).
 *   --service NAME --local: the service's own health, seen from its host (ctl_health.c); asks
 *     nothing of the gateway, so a gateway outage never makes it fail or wait.
 *   --service NAME: does the broker have a live worker of the service (one that said READY in
 *     the last three seconds)? With --allow-no-broker a broker that does not answer counts as
 *     healthy. */
int ctl_ping(int argc, char **argv)
{
    const char *service = NULL, *timeout_s = NULL, *lenient = NULL, *local = NULL,
               *serving = NULL;
    const ctl_opt_t opts[] = { { "service", false, &service }, { "timeout-ms", false, &timeout_s },
                               { "allow-no-broker", true, &lenient }, { "local", true, &local },
                               { "serving", true, &serving }, { 0 } };
    int timeout_ms = -1;
    if (ctl_parse(argc, argv, opts, NULL, 0) != 0 || !service ||
        (timeout_ms = ctl_timeout(timeout_s, 2000)) < 0) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    if (strcmp(service, "gateway") == 0) {
        const char *mode = getenv("HY_GATEWAY_HEALTH");
        if (mode && strcmp(mode, "serving") == 0)
            serving = "1";
        if (s_http_get(serving ? "/healthz" : "/readyz", timeout_ms) != 0)
            return 1;
        printf("gateway: %s\n", serving ? "serving" : "ready");
        return 0;
    }
    if (local)
        return ctl_ping_local(service, timeout_ms);
    s_conn_t c;
    if (s_open(&c) != 0)
        return 1;
    json_t *workers = NULL;
    int rc = hy_client_workers(c.client, timeout_ms, &workers);
    s_close(&c);
    if (rc != HY_CLIENT_OK) {
        fprintf(stderr, "hamyarctl: the broker at %s does not answer\n", hy_config_broker());
        if (lenient)
            fprintf(stderr, "hamyarctl: not %s's fault: counted as healthy\n", service);
        return lenient ? 0 : 1;
    }
    json_int_t n = json_integer_value(json_object_get(workers, service));
    json_decref(workers);
    if (n <= 0) {
        fprintf(stderr, "hamyarctl: %s has no live worker\n", service);
        return 1;
    }
    printf("%s: %lld live worker%s\n", service, (long long)n, n == 1 ? "" : "s");
    return 0;
}

/* ---- backup -------------------------------------------------------------------------------- */

/* service.backup runs inside the worker (no other process may open its LMDB): the directory
 * is on the service's host. The copy is one consistent snapshot taken while writes go on. */
int ctl_backup(int argc, char **argv)
{
    const char *service = NULL, *dir = NULL, *timeout_s = NULL;
    const ctl_opt_t opts[] = { { "service", false, &service }, { "dir", false, &dir },
                               { "timeout-ms", false, &timeout_s }, { 0 } };
    int timeout_ms = -1;
    if (ctl_parse(argc, argv, opts, NULL, 0) != 0 || !service || !dir ||
        (timeout_ms = ctl_timeout(timeout_s, 600000)) < 0) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    s_conn_t c;
    if (s_open(&c) != 0)
        return 1;
    int status = 0, ret = 1;
    json_t *reply = NULL;
    char err[600];
    int rc = s_call(&c, service, "service.backup", json_pack("{s:s}", "dir", dir), timeout_ms,
                    &status, &reply);
    if (rc == HY_CLIENT_TIMEOUT)
        fprintf(stderr, "hamyarctl: %s did not answer in %d ms; the copy may still be running "
                        "into %s\n", service, timeout_ms, dir);
    else if (rc != HY_CLIENT_OK)
        fprintf(stderr, "hamyarctl: cannot reach the broker at %s\n", hy_config_broker());
    else if (status != 200)
        fprintf(stderr, "hamyarctl: backup of %s refused (%d %s)\n", service, status,
                s_error_text(reply, err, sizeof err));
    else {
        json_t *r = json_object_get(reply, "result");
        printf("%s backed up into %s (sequence %lld or later, %lld ms)\n", service, dir,
               (long long)json_integer_value(json_object_get(r, "seq_at_start")),
               (long long)json_integer_value(json_object_get(r, "micros")) / 1000);
        ret = 0;
    }
    json_decref(reply);
    s_close(&c);
    return ret;
}
