/*
 * catalog.c — the routes as the services announce them.
 *
 * The gateway links no service code. Each worker puts the digest of its description in its
 * READY heartbeat (describe.h); the broker reports the newest digest of every service with
 * its worker counts. A ticker thread reads that report every CHECK_MS; when a service of
 * this deployment (HY_SERVICES) announces a digest the gateway has not got, it asks the
 * service for its description (service.describe), keeps it on disk (HY_GATEWAY_STATE_DIR,
 * one <service>.json, so that a restarted gateway has its routes before the services are
 * back) and builds a new table: routes, argument checks, metrics and the OpenAPI document.
 *
 * A table is immutable and reference-counted: a request holds the table it started with
 * until it is answered, and a new table replaces the current one for requests that start
 * after. Two services claiming one route is refused loudly: the new description is not
 * adopted, the clash is logged as an error (once per digest) and /readyz reports it.
 */
#include "gateway.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "describe.h"
#include "log.h"

#define CHECK_MS 250
#define DESCRIBE_TIMEOUT_MS 2000
#define RETRY_US (5 * 1000000)
#define MAX_SERVICES 32

typedef struct {
    char name[64];
    json_t *desc;                   /* the adopted description, or NULL */
    char digest[HY_DIGEST_LEN + 1]; /* of desc */
    char refused[65];               /* an announced digest that failed (clash, bad), or "" */
    int64_t retry_us;               /* when to ask again after a failure */
} s_entry_t;

struct hy_catalog {
    hy_gateway_t *gw;
    char dir[512];
    s_entry_t entries[MAX_SERVICES];
    int count;
    pthread_mutex_t lock;           /* guards current, conflict and the entries' digests */
    hy_gw_table_t *current;
    char conflict[256];
    hy_ticker_t *ticker;
    hy_client_t *client;            /* the ticker thread's */
};

/* ---- tables -------------------------------------------------------------------------------- */

static void s_table_free(hy_gw_table_t *t)
{
    if (!t)
        return;
    hy_routes_destroy(&t->routes);
    hy_metrics_destroy(&t->metrics);
    free(t->openapi);
    free(t->asyncapi);
    for (size_t i = 0; t->apis && t->apis[i]; i++)
        hy_describe_free(&t->apis[i]);
    free(t->apis);
    free(t);
}

/* Builds a table from the adopted descriptions, with descs[skip] replaced by extra (when
 * skip >= 0). NULL with err set on a clash or allocation failure. */
static hy_gw_table_t *s_table_build(hy_catalog_t *self, int skip, const json_t *extra,
                                    char *err, size_t err_size)
{
    hy_gw_table_t *t = calloc(1, sizeof *t);
    json_t *doc = NULL;
    if (!t || !(t->apis = calloc((size_t)self->count + 1, sizeof *t->apis))) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    atomic_init(&t->refs, 1);
    size_t n = 0;
    for (int i = 0; i < self->count; i++) {
        const json_t *d = i == skip ? extra : self->entries[i].desc;
        if (!d)
            continue;
        if (!(t->apis[n] = hy_describe_parse(d, err, err_size)))
            goto fail;
        n++;
    }
    if (!(t->routes = hy_routes_new((const hy_api_t *const *)t->apis, err, err_size)))
        goto fail;
    if (!(t->metrics = hy_metrics_new(t->routes)) || !(doc = hy_gw_openapi(t->routes)) ||
        !(t->openapi = hy_gw_dump(doc, &t->openapi_len))) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    json_decref(doc);
    if (!(doc = hy_gw_asyncapi((const hy_api_t *const *)t->apis)) ||
        !(t->asyncapi = hy_gw_dump(doc, &t->asyncapi_len))) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    json_decref(doc);
    return t;
fail:
    json_decref(doc);
    s_table_free(t);
    return NULL;
}

hy_gw_table_t *hy_catalog_acquire(hy_catalog_t *self)
{
    pthread_mutex_lock(&self->lock);
    hy_gw_table_t *t = self->current;
    atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&self->lock);
    return t;
}

void hy_catalog_release(hy_gw_table_t *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        s_table_free(t);
}

/* Makes t the current table; the old one goes when its last request does. */
static void s_install(hy_catalog_t *self, hy_gw_table_t *t)
{
    pthread_mutex_lock(&self->lock);
    hy_gw_table_t *old = self->current;
    self->current = t;
    pthread_mutex_unlock(&self->lock);
    hy_catalog_release(old);
}

/* ---- the descriptions on disk ---------------------------------------------------------------- */

static int s_mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void s_save(hy_catalog_t *self, const s_entry_t *e)
{
    char path[600], tmp[610];
    snprintf(path, sizeof path, "%s/%s.json", self->dir, e->name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (s_mkdirs(self->dir) != 0 || json_dump_file(e->desc, tmp, JSON_COMPACT) != 0 ||
        rename(tmp, path) != 0)
        hy_log_warn("catalog", "cannot keep the description of %s in %s: %s", e->name, path,
                    strerror(errno));
}

static void s_load(hy_catalog_t *self, s_entry_t *e)
{
    char path[600], err[160];
    snprintf(path, sizeof path, "%s/%s.json", self->dir, e->name);
    json_t *d = json_load_file(path, 0, NULL);
    hy_api_t *api = d ? hy_describe_parse(d, err, sizeof err) : NULL;
    if (api) {
        e->desc = d;
        snprintf(e->digest, sizeof e->digest, "%s", hy_describe_parsed_digest(api));
        hy_log_info("catalog", "routes of %s from %s (digest %s)", e->name, path, e->digest);
        hy_describe_free(&api);
    } else {
        if (d)
            hy_log_warn("catalog", "%s ignored: %s", path, err);
        json_decref(d);
    }
}

/* ---- following the announcements ------------------------------------------------------------- */

/* Asks service i for its description and adopts it, unless it clashes. */
static void s_refresh(hy_catalog_t *self, hy_client_t *client, int i, const char *announced)
{
    s_entry_t *e = &self->entries[i];
    json_t *reply = NULL;
    char err[256] = "";
    int rc = hy_client_op(client, e->name, "service.describe", NULL, DESCRIBE_TIMEOUT_MS, &reply);
    json_t *desc = json_object_get(reply, "result");
    if (rc != HY_CLIENT_OK || json_integer_value(json_object_get(reply, "status")) != 200 ||
        !json_is_object(desc)) {
        /* No answer (a stopped worker) or an old worker without the op: try again later. */
        e->retry_us = hy_now_us() + RETRY_US;
        json_decref(reply);
        return;
    }
    const char *name = json_string_value(json_object_get(desc, "service"));
    hy_gw_table_t *t = NULL;
    if (!name || strcmp(name, e->name) != 0)
        snprintf(err, sizeof err, "it describes itself as %.60s", name ? name : "nothing");
    else
        t = s_table_build(self, i, desc, err, sizeof err);
    if (!t) {
        pthread_mutex_lock(&self->lock);
        snprintf(self->conflict, sizeof self->conflict, "%s: %.180s", e->name, err);
        snprintf(e->refused, sizeof e->refused, "%s", announced);
        pthread_mutex_unlock(&self->lock);
        e->retry_us = hy_now_us() + RETRY_US;
        hy_log_error("catalog", "the description of %s (digest %s) is refused, routes unchanged: %s",
                     e->name, announced, err);
        json_decref(reply);
        return;
    }
    json_decref(e->desc);
    e->desc = json_incref(desc);
    pthread_mutex_lock(&self->lock);
    for (size_t k = 0; t->apis[k]; k++)
        if (strcmp(t->apis[k]->service, e->name) == 0)
            snprintf(e->digest, sizeof e->digest, "%s", hy_describe_parsed_digest(t->apis[k]));
    e->refused[0] = '\0';
    if (strncmp(self->conflict, e->name, strlen(e->name)) == 0)
        self->conflict[0] = '\0';
    pthread_mutex_unlock(&self->lock);
    s_save(self, e);      /* kept before it is served: whoever sees the route finds it on disk */
    s_install(self, t);
    hy_log_info("catalog", "routes of %s rebuilt from its description (digest %s, %zu routes in all)",
                e->name, e->digest, hy_routes_count(t->routes));
    json_decref(reply);
}

static void s_check(hy_catalog_t *self, hy_client_t *client)
{
    json_t *report = NULL;
    if (hy_client_report(client, 1000, &report) != HY_CLIENT_OK)
        return;
    json_t *digests = json_object_get(report, "digests");
    int64_t now = hy_now_us();
    for (int i = 0; i < self->count; i++) {
        s_entry_t *e = &self->entries[i];
        const char *d = json_string_value(json_object_get(digests, e->name));
        if (!d || !*d || strcmp(d, e->digest) == 0)
            continue;
        if (now < e->retry_us)
            continue;   /* failed a moment ago; the log said why */
        s_refresh(self, client, i, d);
    }
    json_decref(report);
}

/* The ticker's function: one look at the broker's report. */
static void s_tick(void *arg)
{
    hy_catalog_t *self = arg;
    if (!self->client)
        self->client = hy_client_new(self->gw->zctx, self->gw->endpoint);
    if (self->client)
        s_check(self, self->client);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int s_entries(hy_catalog_t *self)
{
    const char *p = hy_gw_services();
    while (*p) {
        size_t len = strcspn(p, ", ");
        bool sane = len > 0 && len < sizeof self->entries[0].name && self->count < MAX_SERVICES;
        for (size_t k = 0; sane && k < len; k++)
            sane = p[k] != '/' && p[k] != '.';
        if (sane) {
            memcpy(self->entries[self->count].name, p, len);
            s_load(self, &self->entries[self->count++]);
        } else if (len) {
            hy_log_error("catalog", "HY_SERVICES: %.*s is not a service name", (int)len, p);
            return -1;
        }
        p += len;
        p += strspn(p, ", ");
    }
    return 0;
}

hy_catalog_t *hy_catalog_new(hy_gateway_t *gw)
{
    hy_catalog_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->gw = gw;
    const char *dir = getenv("HY_GATEWAY_STATE_DIR"), *data = getenv("HY_DATA_DIR");
    if (dir && *dir)
        snprintf(self->dir, sizeof self->dir, "%s", dir);
    else
        snprintf(self->dir, sizeof self->dir, "%s/gateway", data && *data ? data : "./var");
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    char err[256] = "";
    if (s_entries(self) != 0)
        goto fail;
    if (!(self->current = s_table_build(self, -1, NULL, err, sizeof err))) {
        /* The descriptions on disk clash (edited by hand?): start with none of them. */
        hy_log_error("catalog", "the descriptions in %s are refused: %s", self->dir, err);
        for (int i = 0; i < self->count; i++) {
            json_decref(self->entries[i].desc);
            self->entries[i].desc = NULL;
            self->entries[i].digest[0] = '\0';
        }
        if (!(self->current = s_table_build(self, -1, NULL, err, sizeof err)))
            goto fail;
    }
    if (!(self->ticker = hy_ticker_new("hy-catalog", CHECK_MS, s_tick, self)))
        goto fail;
    return self;
fail:
    hy_catalog_destroy(&self);
    return NULL;
}

void hy_catalog_stop(hy_catalog_t *self)
{
    if (self)
        hy_ticker_stop(self->ticker);
}

void hy_catalog_destroy(hy_catalog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_catalog_t *self = *self_p;
    hy_ticker_destroy(&self->ticker);
    hy_client_destroy(&self->client);   /* the ticker thread has ended: safe from here */
    hy_catalog_release(self->current);
    for (int i = 0; i < self->count; i++)
        json_decref(self->entries[i].desc);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

bool hy_catalog_described(hy_catalog_t *self, const char *service, const char *digest,
                          char *conflict, size_t conflict_size)
{
    bool ok = false;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->count; i++)
        if (strcmp(self->entries[i].name, service) == 0)
            ok = self->entries[i].desc && digest && strcmp(self->entries[i].digest, digest) == 0;
    if (conflict && conflict_size)
        snprintf(conflict, conflict_size, "%s", self->conflict);
    pthread_mutex_unlock(&self->lock);
    return ok;
}
