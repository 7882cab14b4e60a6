/*
 * server.c — the gateway's life cycle: what it starts (the catalog of routes, keys, the
 * poller, the guard, the forwarder, MHD), and the order of shutdown: the poller and the forwarder
 * first (they resume every suspended connection, which MHD requires before it stops), then
 * MHD, which joins its threads; then nothing holds a ZeroMQ socket and zmq_ctx_term returns.
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "log.h"

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
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
        /* MHD zeroes a connection's whole pool after every request: 16 KiB rather than its
         * 32 KiB default halves that, and is still Node.js's limit for a request's headers. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(cfg->connection_memory > 0 ? cfg->connection_memory : 16384),
        MHD_OPTION_NOTIFY_CONNECTION, hy_guard_notify, gw->guard,
        MHD_OPTION_NOTIFY_COMPLETED, hy_gw_http_completed, gw,
        MHD_OPTION_END);
    if (!gw->daemon) {
        hy_log_error("http", "cannot listen on %s:%d", cfg->http_addr, cfg->http_port);
        return -1;
    }
    return 0;
}

#define READY_WATCH_TIMEOUT_MS 1000   /* the metrics watcher's wait for one service */

hy_gateway_t *hy_gateway_new(const hy_gw_config_t *cfg, void *zctx, const char *client_endpoint,
                             hy_broker_t *broker)
{
    hy_gateway_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return NULL;
    gw->cfg = cfg;
    gw->zctx = zctx;
    if (!(gw->endpoint = strdup(client_endpoint)) || !(gw->catalog = hy_catalog_new(gw)) ||
        hy_keys_init() != 0 || !(gw->keys = hy_keys_new(cfg->keys_file, s_keys_warn)) ||
        !(gw->poller = hy_poller_new(gw)) ||
        !(gw->guard = hy_guard_new(cfg->header_timeout_s, cfg->idle_timeout_s)) ||
        !(gw->forwarder = hy_forwarder_new(broker, (size_t)gw->cfg->max_in_flight)) ||
        !(gw->watch = hy_watch_new(zctx, client_endpoint, READY_WATCH_TIMEOUT_MS)) ||
        !(gw->log_ticker = hy_ticker_new("hy-log", HY_GW_LOG_FLUSH_MS, hy_gw_log_tick, NULL))) {
        hy_log_error("http", "cannot start: catalog, keys, poller, guard, forwarder or log ticker");
        goto fail;
    }
    if (s_start_daemon(gw) != 0)
        goto fail;
    hy_gw_table_t *t = hy_catalog_acquire(gw->catalog);
    hy_log_info("http", "listening on %s:%d with %d threads, %zu routes so far, keys from %s",
                cfg->http_addr, hy_gateway_port(gw), cfg->threads, hy_routes_count(t->routes),
                cfg->keys_file);
    hy_catalog_release(t);
    return gw;
fail:
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
     * suspended connections; so does the forwarder. Then MHD, which joins its threads. */
    hy_catalog_stop(gw->catalog);
    hy_watch_destroy(&gw->watch);
    hy_poller_destroy(&gw->poller);
    hy_forwarder_stop(gw->forwarder);
    hy_guard_stop(gw->guard);
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    hy_forwarder_destroy(&gw->forwarder);
    hy_guard_destroy(&gw->guard);
    hy_ticker_destroy(&gw->log_ticker);
    hy_gw_log_flush();   /* the last request lines, after MHD answered its last request */
    hy_catalog_destroy(&gw->catalog);
    hy_keys_destroy(&gw->keys);
    free(gw->endpoint);
    free(gw);
    *self_p = NULL;
}
