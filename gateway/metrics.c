/*
 * metrics.c — Prometheus metrics of the gateway: requests by route and status, latency
 * histograms by route, and failures of each service behind it.
 *
 * Counting happens on every request from every MHD thread, so it uses only relaxed C11
 * atomics: no lock on the hot path. Statuses are not known in advance, so each route has a
 * few slots claimed by compare-and-swap the first time a status is seen. Rendering reads the
 * counters without stopping the writers; a scrape may be a few requests out of step with
 * itself, which Prometheus tolerates.
 */
#include "gateway.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} s_text_t;

static void s_printf(s_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_printf(s_text_t *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *buf = realloc(t->buf, cap);
        if (!buf) {
            t->failed = true;
            return;
        }
        t->buf = buf;
        t->cap = cap;
    }
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

char *hy_metrics_render(hy_metrics_t *self, size_t *len)
{
    s_text_t t = { .cap = 8192 };
    if (!(t.buf = malloc(t.cap)))
        return NULL;
    t.buf[0] = '\0';
    char name[400];

    s_printf(&t, "# HELP hamyar_http_requests_total HTTP requests answered by the gateway.\n"
                 "# TYPE hamyar_http_requests_total counter\n");
    for (size_t i = 0; i <= self->nroutes; i++) {
        s_route_t *r = &self->route[i];
        s_label(name, sizeof name,
                i < self->nroutes ? hy_routes_at(self->routes, i)->name : "unmatched");
        for (size_t k = 0; k < STATUS_SLOTS; k++) {
            unsigned st = atomic_load_explicit(&r->status[k], memory_order_acquire);
            if (st == 0)
                break;
            s_printf(&t, "hamyar_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n", name,
                     st, atomic_load_explicit(&r->count[k], memory_order_relaxed));
        }
        unsigned long long other = atomic_load_explicit(&r->other, memory_order_relaxed);
        if (other)
            s_printf(&t, "hamyar_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                     name, other);
    }

    s_printf(&t, "# HELP hamyar_http_request_duration_seconds Time from request headers to "
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
            s_printf(&t,
                     "hamyar_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                     name, s_bounds_text[b], cumulative);
        }
        unsigned long long sum = atomic_load_explicit(&r->sum_us, memory_order_relaxed);
        s_printf(&t, "hamyar_http_request_duration_seconds_sum{route=\"%s\"} %llu.%06llu\n",
                 name, sum / 1000000, sum % 1000000);
        s_printf(&t, "hamyar_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                 cumulative);
    }

    s_printf(&t, "# HELP hamyar_service_errors_total Requests a service did not answer well: "
                 "timeout, no live worker, or a 5xx reply.\n"
                 "# TYPE hamyar_service_errors_total counter\n");
    const hy_api_t *const *apis = hy_routes_apis(self->routes);
    for (size_t i = 0; i < self->napis; i++) {
        s_label(name, sizeof name, apis[i]->service);
        for (int k = 0; k < HY_SVC_KINDS; k++)
            s_printf(&t, "hamyar_service_errors_total{service=\"%s\",kind=\"%s\"} %llu\n", name,
                     s_kind_names[k],
                     atomic_load_explicit(&self->service[i][k], memory_order_relaxed));
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
