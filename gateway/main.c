/*
 * main.c — hamyar-gateway: configuration, start-up, signals and clean shutdown.
 *
 * The process runs the broker (its own thread) and the HTTP daemon (MHD's thread pool). It
 * waits for SIGINT or SIGTERM in the main thread, then stops in the order that lets ZeroMQ
 * terminate: HTTP first (the forwarder and poller answer what is in flight), the broker, and
 * last the ZeroMQ context.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "broker.h"
#include "gateway.h"
#include "log.h"

#define CLIENT_ENDPOINT "inproc://broker"

typedef struct {
    const char *flag, *env;
    int kind;                 /* 0 string, 1 int, 2 size */
    void *dest;
    long long min, max;
    const char *help;
} s_option_t;

static void s_usage(const s_option_t *opts, size_t n)
{
    fprintf(stderr, "usage: hamyar-gateway [options]\n");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  --%-18s (%s) %s\n", opts[i].flag, opts[i].env, opts[i].help);
}

/* Stores text in an option; -1 (logged) when it is not a number in range. */
static int s_set_option(const s_option_t *o, const char *text)
{
    if (o->kind == 0) {
        *(const char **)o->dest = text;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < o->min || v > o->max) {
        hy_log_error("config", "--%s / %s: %s is not a number in %lld..%lld", o->flag, o->env,
                     text, o->min, o->max);
        return -1;
    }
    if (o->kind == 1)
        *(int *)o->dest = (int)v;
    else
        *(size_t *)o->dest = (size_t)v;
    return 0;
}

/* Environment first, flags over it. Returns 0, 1 for --help, -1 on a bad value. */
static int s_configure(hy_gw_config_t *cfg, int argc, char **argv)
{
    const s_option_t opts[] = {
        { "addr", "HY_HTTP_ADDR", 0, &cfg->http_addr, 0, 0, "IP address to listen on" },
        { "port", "HY_HTTP_PORT", 1, &cfg->http_port, 0, 65535, "HTTP port (0: any)" },
        { "broker-bind", "HY_BROKER_BIND", 0, &cfg->broker_bind, 0, 0,
          "endpoints the broker binds for workers (comma-separated)" },
        { "keys", "HY_KEYS_FILE", 0, &cfg->keys_file, 0, 0, "API keys file" },
        { "threads", "HY_GATEWAY_THREADS", 1, &cfg->threads, 1, 1024, "HTTP worker threads" },
        { "timeout-ms", "HY_GATEWAY_TIMEOUT_MS", 1, &cfg->timeout_ms, 1, 600000,
          "how long to wait for a service" },
        { "max-body", "HY_GATEWAY_MAX_BODY", 2, &cfg->max_body, 1, 1LL << 30,
          "largest request body in bytes" },
        { "max-connections", "HY_GATEWAY_MAX_CONNECTIONS", 1, &cfg->max_connections, 1,
          1000000, "open connections at most" },
        { "max-in-flight", "HY_GATEWAY_MAX_IN_FLIGHT", 1, &cfg->max_in_flight, 64, 1 << 24,
          "requests waiting for services at once at most (rounded up to a power of two)" },
        { "idle-timeout", "HY_GATEWAY_IDLE_TIMEOUT_S", 1, &cfg->idle_timeout_s, 1, 3600,
          "seconds before an idle connection is closed" },
        { "header-timeout", "HY_GATEWAY_HEADER_TIMEOUT_S", 1, &cfg->header_timeout_s, 1, 3600,
          "seconds a client has to send a request's headers" },
        { "per-ip-connections", "HY_GATEWAY_PER_IP_CONNECTIONS", 1, &cfg->per_ip_connections,
          1, 1000000, "open connections per client address at most" },
        { "connection-memory", "HY_GATEWAY_CONNECTION_MEMORY", 1, &cfg->connection_memory,
          4096, 1 << 20, "bytes per connection for a request's line and headers" },
        { "cors-origins", "HY_CORS_ORIGINS", 0, &cfg->cors_origins, 0, 0,
          "origins browser pages may call from (comma-separated, or *; default none)" },
    };
    const size_t n = sizeof opts / sizeof *opts;
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v && s_set_option(&opts[i], v) != 0)
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            s_usage(opts, n);
            return 1;
        }
        const s_option_t *o = NULL;
        const char *value = NULL;
        for (size_t i = 0; i < n && !o; i++) {
            size_t len = strlen(opts[i].flag);
            if (strncmp(argv[a], "--", 2) != 0 || strncmp(argv[a] + 2, opts[i].flag, len) != 0)
                continue;
            if (argv[a][2 + len] == '=')
                o = &opts[i], value = argv[a] + 3 + len;
            else if (argv[a][2 + len] == '\0' && a + 1 < argc)
                o = &opts[i], value = argv[++a];
        }
        if (!o) {
            hy_log_error("config", "unknown or incomplete option %s", argv[a]);
            s_usage(opts, n);
            return -1;
        }
        if (s_set_option(o, value) != 0)
            return -1;
    }
    return 0;
}

/* Whether the comma-separated list names endpoint. */
static bool s_listed(const char *list, const char *endpoint)
{
    size_t n = strlen(endpoint);
    for (const char *p = list; (p = strstr(p, endpoint)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

static void *s_broker_thread(void *broker)
{
    hy_broker_run(broker);
    return NULL;
}

int main(int argc, char **argv)
{
    hy_log_init("gateway");
    hy_gw_config_t cfg = {
        .http_addr = "127.0.0.1", .http_port = 8080, .broker_bind = "tcp://127.0.0.1:7100",
        .keys_file = "./var/keys", .threads = 4, .timeout_ms = 5000, .max_body = 1u << 20,
        .max_connections = 1024, .max_in_flight = 65536, .idle_timeout_s = 30,
        .header_timeout_s = 10, .per_ip_connections = 128, .connection_memory = 16384,
    };
    int rc = s_configure(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    /* Every thread started from here on inherits the blocked signals; only sigwait below
     * receives them. SIGPIPE is ignored: a client that hangs up is not a reason to die. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        hy_log_error("main", "cannot set up signals");
        return 1;
    }

    int exit_code = 1;
    hy_broker_t *broker = NULL;
    hy_gateway_t *gw = NULL;
    pthread_t broker_thread;
    bool broker_running = false;
    char endpoints[512];
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        hy_log_error("main", "cannot create the ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        return 1;
    }
    /* CURVE (when HY_CURVE_DIR is set): the broker is the CURVE server "gateway". */
    if (hy_curve_init("gateway") != 0 || hy_curve_zap_start(zctx) != 0)
        goto fail;
    /* The HTTP threads reach the broker in-process; HY_BROKER_BIND may list that already. */
    bool listed = s_listed(cfg.broker_bind, CLIENT_ENDPOINT);
    if (snprintf(endpoints, sizeof endpoints, "%s%s%s", cfg.broker_bind,
                 *cfg.broker_bind && !listed ? "," : "", listed ? "" : CLIENT_ENDPOINT) >=
        (int)sizeof endpoints) {
        hy_log_error("main", "HY_BROKER_BIND is too long");
        goto fail;
    }
    if (!(broker = hy_broker_new(zctx, endpoints)) ||
        hy_broker_allow(broker, hy_gw_services()) != 0) {
        hy_log_error("main", "cannot start the broker on %s", endpoints);
        goto fail;
    }
    if (pthread_create(&broker_thread, NULL, s_broker_thread, broker) != 0) {
        hy_log_error("main", "cannot start the broker thread");
        goto fail;
    }
    broker_running = true;
    if (!(gw = hy_gateway_new(&cfg, zctx, CLIENT_ENDPOINT, broker)))
        goto fail;
    hy_log_info("main", "ready: HTTP on %s:%d, broker on %s", cfg.http_addr,
                hy_gateway_port(gw), cfg.broker_bind);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    hy_log_info("main", "signal %d: shutting down", sig);
    exit_code = 0;
fail:
    hy_gateway_destroy(&gw);
    if (broker_running) {
        hy_broker_stop(broker);
        pthread_join(broker_thread, NULL);
    }
    hy_broker_destroy(&broker);
    hy_curve_zap_stop();
    while (zmq_ctx_term(zctx) != 0 && zmq_errno() == EINTR)
        ;
    hy_log_info("main", "stopped");
    return exit_code;
}
