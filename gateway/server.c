/*
 * server.c — the gateway's life cycle: what it builds once at start-up (routes, keys, metrics,
 * the OpenAPI text), the broker clients of the HTTP threads, and the order of shutdown.
 *
 * Each MHD thread opens its broker client lazily (thread-local) and registers it here; after
 * MHD_stop_daemon has joined those threads, hy_gateway_destroy closes every client from the
 * main thread, so that zmq_ctx_term finds no open socket and returns.
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "log.h"

static atomic_uint s_generations;
static _Thread_local hy_client_t *tl_client;
static _Thread_local unsigned tl_generation;

/* One client per MHD thread: ZeroMQ sockets must not be shared between threads, and opening
 * one per request would cost a connection to the broker each time. */
hy_client_t *hy_gateway_client(hy_gateway_t *gw)
{
    if (tl_client && tl_generation == gw->generation)
        return tl_client;
    hy_client_t *c = hy_client_new(gw->zctx, gw->endpoint);
    if (!c)
        return NULL;
    pthread_mutex_lock(&gw->lock);
    if (gw->nclients == gw->aclients) {
        size_t alloc = gw->aclients ? gw->aclients * 2 : 32;
        hy_client_t **v = realloc(gw->clients, alloc * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&gw->lock);
            hy_client_destroy(&c);
            return NULL;
        }
        gw->clients = v;
        gw->aclients = alloc;
    }
    gw->clients[gw->nclients++] = c;
    pthread_mutex_unlock(&gw->lock);
    tl_client = c;
    tl_generation = gw->generation;
    return c;
}

/* A socket that failed may hold half a message; a new one starts clean. */
void hy_gateway_client_drop(hy_gateway_t *gw)
{
    pthread_mutex_lock(&gw->lock);
    for (size_t i = 0; i < gw->nclients; i++)
        if (gw->clients[i] == tl_client) {
            gw->clients[i] = gw->clients[--gw->nclients];
            break;
        }
    pthread_mutex_unlock(&gw->lock);
    hy_client_destroy(&tl_client);
}

static void s_keys_warn(const char *msg)
{
    hy_log_warn("keys", "%s", msg);
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    hy_log_warn("http", "%s", msg);
}

/* Binds cfg->http_addr (IPv4 or IPv6) and starts MHD's thread pool. */
static int s_start_daemon(hy_gateway_t *gw)
{
    const hy_gw_config_t *cfg = gw->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->http_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)cfg->http_port);
    } else if (inet_pton(AF_INET6, cfg->http_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)cfg->http_port);
        flags |= MHD_USE_IPv6;
    } else {
        hy_log_error("http", "HY_HTTP_ADDR %s is not an IP address", cfg->http_addr);
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    gw->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->http_port, NULL, NULL, hy_gw_http_handler, gw,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, gw,   /* first, or MHD logs the others itself */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, hy_gw_http_completed, gw,
        MHD_OPTION_END);
    if (!gw->daemon) {
        hy_log_error("http", "cannot listen on %s:%d", cfg->http_addr, cfg->http_port);
        return -1;
    }
    return 0;
}

hy_gateway_t *hy_gateway_new(const hy_gw_config_t *cfg, void *zctx, const char *client_endpoint)
{
    hy_gateway_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return NULL;
    gw->cfg = cfg;
    gw->zctx = zctx;
    gw->generation = atomic_fetch_add(&s_generations, 1) + 1;
    if (pthread_mutex_init(&gw->lock, NULL) != 0) {
        free(gw);
        return NULL;
    }
    char err[256] = "out of memory";
    json_t *doc = NULL;
    if (!(gw->endpoint = strdup(client_endpoint)))
        goto fail;
    if (!(gw->routes = hy_routes_new(hy_gateway_apis(), err, sizeof err))) {
        hy_log_error("routes", "%s", err);
        goto fail;
    }
    if (hy_keys_init() != 0 || !(gw->keys = hy_keys_new(cfg->keys_file, s_keys_warn)) ||
        !(gw->metrics = hy_metrics_new(gw->routes)) || !(doc = hy_gw_openapi(gw->routes)) ||
        !(gw->poller = hy_poller_new(gw)) ||
        !(gw->openapi = hy_gw_dump(doc, &gw->openapi_len))) {
        hy_log_error("http", "cannot start: keys, metrics, OpenAPI document or poller");
        goto fail;
    }
    json_decref(doc);
    doc = NULL;
    if (s_start_daemon(gw) != 0)
        goto fail;
    hy_log_info("http", "listening on %s:%d with %d threads, %zu routes, keys from %s",
                cfg->http_addr, hy_gateway_port(gw), cfg->threads,
                hy_routes_count(gw->routes), cfg->keys_file);
    return gw;
fail:
    json_decref(doc);
    hy_gateway_destroy(&gw);
    return NULL;
}

int hy_gateway_port(hy_gateway_t *self)
{
    const union MHD_DaemonInfo *info =
        self->daemon ? MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return info ? info->port : self->cfg->http_port;
}

void hy_gateway_destroy(hy_gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_gateway_t *gw = *self_p;
    /* The poller first: it resumes every parked request, since MHD must not be stopped with
     * suspended connections. Then MHD, which joins its threads: no client is in use after. */
    hy_poller_destroy(&gw->poller);
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    pthread_mutex_lock(&gw->lock);
    for (size_t i = 0; i < gw->nclients; i++)
        hy_client_destroy(&gw->clients[i]);
    free(gw->clients);
    pthread_mutex_unlock(&gw->lock);
    pthread_mutex_destroy(&gw->lock);
    free(gw->openapi);
    hy_metrics_destroy(&gw->metrics);
    hy_keys_destroy(&gw->keys);
    hy_routes_destroy(&gw->routes);
    free(gw->endpoint);
    free(gw);
    *self_p = NULL;
}
