/*
 * metrics.c — Prometheus metrics of the gateway: requests by route and status, latency
 * histograms by route, and failures of each service behind it; the gateway's build and process
 * figures; and, from a watcher thread that asks each service for service.status every
 * HY_WATCH_PERIOD_MS, each service's sequence and each follower's cursor and lag (a
 * scrape never waits on a service: it renders the watcher's last look).
 *
 * Counting happens on every request from every MHD thread, so it uses only relaxed C11
 * atomics: no lock on the hot path. Statuses are not known in advance, so each route has a
 * few slots claimed by compare-and-swap the first time a status is seen. Rendering reads the
 * counters without stopping the writers; a scrape may be a few requests out of step with
 * itself, which Prometheus tolerates.
 */
#include "gateway.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "client.h"
#include "version.h"

#define STATUS_SLOTS 24

/* Upper bounds of the histogram buckets in microseconds; +Inf is the last bucket. */
static const uint64_t s_bounds_us[] = { 1000, 5000, 10000, 50000, 100000, 500000, 1000000,
                                        5000000 };
static const char *const s_bounds_text[] = { "0.001", "0.005", "0.01", "0.05", "0.1", "0.5",
                                             "1", "5", "+Inf" };
#define NBOUNDS (sizeof s_bounds_us / sizeof *s_bounds_us)
#define NBUCKETS (NBOUNDS + 1)

static const char *const s_kind_names[HY_SVC_KINDS] = { "timeout", "unavailable", "5xx" };

typedef struct {
    atomic_uint status[STATUS_SLOTS];       /* 0: slot free */
    atomic_ullong count[STATUS_SLOTS];
    atomic_ullong other;                    /* statuses beyond the slots */
    atomic_ullong bucket[NBUCKETS];         /* not cumulative; summed when rendered */
    atomic_ullong sum_us;
} s_route_t;

struct hy_metrics {
    const hy_routes_t *routes;
    size_t nroutes;                         /* plus one: requests that matched no route */
    s_route_t *route;
    size_t napis;
    atomic_ullong (*service)[HY_SVC_KINDS];
};

hy_metrics_t *hy_metrics_new(const hy_routes_t *routes)
{
    hy_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->routes = routes;
    self->nroutes = hy_routes_count(routes);
    const hy_api_t *const *apis = hy_routes_apis(routes);
    while (apis[self->napis])
        self->napis++;
    self->route = calloc(self->nroutes + 1, sizeof *self->route);
    self->service = calloc(self->napis + 1, sizeof *self->service);
    if (!self->route || !self->service) {
        hy_metrics_destroy(&self);
        return NULL;
    }
    /* calloc's zero bytes are valid initial values for lock-free atomics of these types. */
    return self;
}

void hy_metrics_destroy(hy_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->route);
    free((*self_p)->service);
    free(*self_p);
    *self_p = NULL;
}

void hy_metrics_request(hy_metrics_t *self, int route, int status, uint64_t us)
{
    if (!self)
        return;
    s_route_t *r = &self->route[route >= 0 && (size_t)route < self->nroutes ? (size_t)route
                                                                             : self->nroutes];
    unsigned want = (unsigned)status;
    size_t i = 0;
    for (; i < STATUS_SLOTS; i++) {
        unsigned seen = atomic_load_explicit(&r->status[i], memory_order_acquire);
        if (seen == 0) {
            unsigned expected = 0;
            if (atomic_compare_exchange_strong(&r->status[i], &expected, want))
                seen = want;
            else
                seen = expected;
        }
        if (seen == want)
            break;
    }
    if (i < STATUS_SLOTS)
        atomic_fetch_add_explicit(&r->count[i], 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&r->other, 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBOUNDS && us > s_bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, us, memory_order_relaxed);
}

void hy_metrics_service_error(hy_metrics_t *self, int api_index, int kind)
{
    if (!self || api_index < 0 || (size_t)api_index >= self->napis || kind < 0 ||
        kind >= HY_SVC_KINDS)
        return;
    atomic_fetch_add_explicit(&self->service[api_index][kind], 1, memory_order_relaxed);
}

/* A label value with \, " and newline escaped as the exposition format wants. */
static void s_label(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < size; in++) {
        if (*in == '\\' || *in == '"')
            out[o++] = '\\', out[o++] = *in;
        else if (*in == '\n')
            out[o++] = '\\', out[o++] = 'n';
        else
            out[o++] = *in;
    }
    out[o] = '\0';
}

/* ---- build and process ------------------------------------------------------------------- */

static void s_render_build(hy_buf_t *t)
{
    char compiler[200];
    s_label(compiler, sizeof compiler, HY_COMPILER);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    hy_buf_addf(t, "# HELP hamyar_build_info The gateway's build: Hamyar version, compiler, libraries.\n"
                   "# TYPE hamyar_build_info gauge\n"
                   "hamyar_build_info{version=\"%s\",compiler=\"%s\",zeromq=\"%d.%d.%d\","
                   "jansson=\"%s\",microhttpd=\"%s\"} 1\n",
                HY_VERSION, compiler, major, minor, patch, JANSSON_VERSION,
                MHD_get_version());
}

/* The standard process_* metrics of the gateway, from /proc/self (as the Prometheus client
 * libraries export them). A figure that cannot be read is left out. */
static void s_render_process(hy_buf_t *t)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    /* Fields after the name: 3 state ... 14 utime 15 stime ... 22 starttime 23 vsize 24 rss. */
    bool stat_ok = p && tick > 0 &&
                   sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
                                 "%*d %*d %*d %*d %llu %llu %lld",
                          &utime, &stime, &start, &vsize, &rss) == 5;
    unsigned long long btime = 0;
    if ((f = fopen("/proc/stat", "r"))) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        fclose(f);
    }
    if (stat_ok) {
        hy_buf_addf(t, "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                       "seconds.\n# TYPE process_cpu_seconds_total counter\n"
                       "process_cpu_seconds_total %.2f\n",
                    (double)(utime + stime) / (double)tick);
        hy_buf_addf(t, "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                       "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n",
                    vsize);
        hy_buf_addf(t, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                       "# TYPE process_resident_memory_bytes gauge\n"
                       "process_resident_memory_bytes %lld\n", rss * (long long)page);
        if (btime)
            hy_buf_addf(t, "# HELP process_start_time_seconds Start time of the process since unix "
                           "epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                           "process_start_time_seconds %.2f\n",
                        (double)btime + (double)start / (double)tick);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long fds = 0;
        while (readdir(d))
            fds++;
        closedir(d);
        hy_buf_addf(t, "# HELP process_open_fds Number of open file descriptors.\n"
                       "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", fds > 2 ? fds - 3 : 0);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        hy_buf_addf(t, "# HELP process_max_fds Maximum number of open file descriptors.\n"
                       "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                    (unsigned long long)rl.rlim_cur);
}

/* ---- the services' figures (hy_watch_t) ---------------------------------------------------- */

struct hy_watch {
    void *zctx;
    char *endpoint;
    int timeout_ms;
    hy_client_t *client;          /* the ticker thread's only */
    hy_ticker_t *ticker;
    pthread_mutex_t lock;
    json_t *snapshot;             /* {"registry": {"up": true, "status": {...}|null}}, under lock */
    int64_t taken_us;             /* wall clock of the snapshot */
};

static int64_t s_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One look: which services have workers, and each one's service.status. */
static void s_watch_tick(void *arg)
{
    hy_watch_t *self = arg;
    if (!self->client && !(self->client = hy_client_new(self->zctx, self->endpoint)))
        return;
    json_t *workers = NULL, *snap = json_object();
    if (!snap)
        return;
    if (hy_client_workers(self->client, self->timeout_ms, &workers) != HY_CLIENT_OK) {
        hy_client_destroy(&self->client);   /* a fresh socket next time */
        workers = json_object();
    }
    const char *list = hy_gw_services();
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t w = strcspn(p, ", ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(w < sizeof name ? w : sizeof name - 1), p);
        p += w;
        if (!name[0] || json_object_get(snap, name))
            continue;
        json_t *status = NULL, *reply = NULL;
        if (self->client && json_integer_value(json_object_get(workers, name)) > 0 &&
            hy_client_op(self->client, name, "service.status", NULL, self->timeout_ms,
                         &reply) == HY_CLIENT_OK &&
            json_integer_value(json_object_get(reply, "status")) == 200)
            status = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        json_object_set_new(snap, name, json_pack("{s:b, s:o}", "up", status != NULL, "status",
                                                  status ? status : json_null()));
    }
    json_decref(workers);
    pthread_mutex_lock(&self->lock);
    json_decref(self->snapshot);
    self->snapshot = snap;
    self->taken_us = s_wall_us();
    pthread_mutex_unlock(&self->lock);
}

hy_watch_t *hy_watch_new(void *zctx, const char *endpoint, int timeout_ms)
{
    hy_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->zctx = zctx;
    self->timeout_ms = timeout_ms;
    if (!(self->endpoint = strdup(endpoint)) || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->endpoint);
        free(self);
        return NULL;
    }
    if (!(self->ticker = hy_ticker_new("hy-watch", HY_WATCH_PERIOD_MS, s_watch_tick, self))) {
        hy_watch_destroy(&self);
        return NULL;
    }
    return self;
}

void hy_watch_stop(hy_watch_t *self)
{
    if (self)
        hy_ticker_stop(self->ticker);
}

void hy_watch_destroy(hy_watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_watch_t *self = *self_p;
    hy_ticker_destroy(&self->ticker);   /* joins the thread: the client is ours again */
    hy_client_destroy(&self->client);
    json_decref(self->snapshot);
    pthread_mutex_destroy(&self->lock);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

json_t *hy_watch_snapshot(hy_watch_t *self)
{
    pthread_mutex_lock(&self->lock);
    json_t *snap = self->snapshot ? json_deep_copy(self->snapshot) : NULL;
    pthread_mutex_unlock(&self->lock);
    return snap;
}

static void s_render_watch(hy_buf_t *t, hy_watch_t *watch)
{
    pthread_mutex_lock(&watch->lock);
    json_t *snap = json_incref(watch->snapshot);
    int64_t taken = watch->taken_us;
    pthread_mutex_unlock(&watch->lock);
    if (!snap)
        return;   /* no look yet: no figures rather than zeros */
    const char *name;
    json_t *v;
    char svc[100], src[100];
    hy_buf_addf(t, "# HELP hamyar_service_up Whether the service answered service.status at the "
                   "gateway's last look.\n# TYPE hamyar_service_up gauge\n");
    json_object_foreach(snap, name, v) {
        s_label(svc, sizeof svc, name);
        hy_buf_addf(t, "hamyar_service_up{service=\"%s\"} %d\n", svc,
                    json_is_true(json_object_get(v, "up")));
    }
    hy_buf_addf(t, "# HELP hamyar_service_sequence The last sequence number of the service's "
                   "outbox: how many events it has published.\n"
                   "# TYPE hamyar_service_sequence gauge\n");
    json_object_foreach(snap, name, v) {
        json_t *st = json_object_get(v, "status");
        if (!json_is_object(st))
            continue;
        s_label(svc, sizeof svc, name);
        hy_buf_addf(t, "hamyar_service_sequence{service=\"%s\"} %lld\n", svc,
                    (long long)json_integer_value(json_object_get(st, "seq")));
    }
    /* A follower's lag: the source's own sequence (when the gateway saw it) or the head the
     * follower knows, whichever is further, minus the follower's cursor. With several replicas
     * of a follower, the figures are those of the replica the broker asked (one per look). */
    static const char *const kinds[] = {"cursor", "lag"};
    static const char *const help[] = {
        "The last event of source the follower service has applied.",
        "Events of source the follower service has not applied yet (source sequence minus "
        "cursor).",
    };
    for (size_t k = 0; k < 2; k++) {
        hy_buf_addf(t, "# HELP hamyar_follower_%s%s %s\n# TYPE hamyar_follower_%s%s gauge\n",
                    kinds[k], k ? "_events" : "", help[k], kinds[k], k ? "_events" : "");
        json_object_foreach(snap, name, v) {
            json_t *sources = json_object_get(json_object_get(v, "status"), "sources");
            const char *sname;
            json_t *cur;
            s_label(svc, sizeof svc, name);
            json_object_foreach(sources, sname, cur) {
                json_int_t cursor = json_integer_value(json_object_get(cur, "cursor"));
                json_int_t head = json_integer_value(json_object_get(cur, "head"));
                json_int_t truth = json_integer_value(json_object_get(
                    json_object_get(json_object_get(snap, sname), "status"), "seq"));
                if (truth > head)
                    head = truth;
                s_label(src, sizeof src, sname);
                hy_buf_addf(t, "hamyar_follower_%s%s{service=\"%s\",source=\"%s\"} %lld\n",
                            kinds[k], k ? "_events" : "", svc, src,
                            (long long)(k ? (head > cursor ? head - cursor : 0) : cursor));
            }
        }
    }
    hy_buf_addf(t, "# HELP hamyar_service_figures_timestamp_seconds When the gateway last asked "
                   "the services for these figures.\n"
                   "# TYPE hamyar_service_figures_timestamp_seconds gauge\n"
                   "hamyar_service_figures_timestamp_seconds %lld.%03lld\n",
                (long long)(taken / 1000000), (long long)(taken % 1000000 / 1000));
    json_decref(snap);
}

char *hy_metrics_render(hy_metrics_t *self, size_t *len)
{
    return hy_metrics_render_with(self, NULL, len);
}

char *hy_metrics_render_with(hy_metrics_t *self, hy_watch_t *watch, size_t *len)
{
    hy_buf_t t = {0};
    if (hy_buf_reserve(&t, 8192) != 0)
        return NULL;
    char name[400];

    hy_buf_addf(&t, "# HELP hamyar_http_requests_total HTTP requests answered by the gateway.\n"
                    "# TYPE hamyar_http_requests_total counter\n");
    for (size_t i = 0; i <= self->nroutes; i++) {
        s_route_t *r = &self->route[i];
        s_label(name, sizeof name,
                i < self->nroutes ? hy_routes_at(self->routes, i)->name : "unmatched");
        for (size_t k = 0; k < STATUS_SLOTS; k++) {
            unsigned st = atomic_load_explicit(&r->status[k], memory_order_acquire);
            if (st == 0)
                break;
            hy_buf_addf(&t, "hamyar_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n", name,
                        st, atomic_load_explicit(&r->count[k], memory_order_relaxed));
        }
        unsigned long long other = atomic_load_explicit(&r->other, memory_order_relaxed);
        if (other)
            hy_buf_addf(&t, "hamyar_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                        name, other);
    }

    hy_buf_addf(&t, "# HELP hamyar_http_request_duration_seconds Time from request headers to "
                    "response, by route.\n"
                    "# TYPE hamyar_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= self->nroutes; i++) {
        s_route_t *r = &self->route[i];
        unsigned long long counts[NBUCKETS], total = 0;
        for (size_t b = 0; b < NBUCKETS; b++)
            total += counts[b] = atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
        if (total == 0)
            continue;   /* an idle route adds nothing but lines */
        s_label(name, sizeof name,
                i < self->nroutes ? hy_routes_at(self->routes, i)->name : "unmatched");
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += counts[b];
            hy_buf_addf(&t,
                        "hamyar_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                        name, s_bounds_text[b], cumulative);
        }
        unsigned long long sum = atomic_load_explicit(&r->sum_us, memory_order_relaxed);
        hy_buf_addf(&t, "hamyar_http_request_duration_seconds_sum{route=\"%s\"} %llu.%06llu\n",
                    name, sum / 1000000, sum % 1000000);
        hy_buf_addf(&t, "hamyar_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                    cumulative);
    }

    hy_buf_addf(&t, "# HELP hamyar_service_errors_total Requests a service did not answer well: "
                    "timeout, no live worker, or a 5xx reply.\n"
                    "# TYPE hamyar_service_errors_total counter\n");
    const hy_api_t *const *apis = hy_routes_apis(self->routes);
    for (size_t i = 0; i < self->napis; i++) {
        s_label(name, sizeof name, apis[i]->service);
        for (int k = 0; k < HY_SVC_KINDS; k++)
            hy_buf_addf(&t, "hamyar_service_errors_total{service=\"%s\",kind=\"%s\"} %llu\n", name,
                        s_kind_names[k],
                        atomic_load_explicit(&self->service[i][k], memory_order_relaxed));
    }
    s_render_build(&t);
    s_render_process(&t);
    if (watch)
        s_render_watch(&t, watch);
    return hy_buf_take(&t, len);
}
