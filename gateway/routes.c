/*
 * routes.c — the gateway's route table, built once from the op specs of every service, and
 * the arguments of a request assembled from its path, query string and body.
 *
 * Lookup and argument shape checks happen here, once, before anything is sent to a service
 * (Redis's command table): a request that cannot be right never costs a round trip. The
 * detailed checks of argument values (types of body members, enums, dates, required fields)
 * stay with the service skeleton, which runs them against the same spec.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "proto.h"

struct hy_routes {
    const hy_api_t *const *apis;
    size_t napis;
    hy_route_t *routes;
    size_t count, alloc;
};

/* Splits a route pattern into segments. Returns 0, or -1 when it is not of the form
 * "/lit/{param}/..." with non-empty segments and parameter names of [a-z_]. */
static int s_parse_pattern(hy_route_t *r)
{
    const char *p = r->path;
    if (p[0] != '/')
        return -1;
    r->nseg = 0;
    while (*p == '/') {
        p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - p);
        if (n == 0 || r->nseg == HY_ROUTE_MAX_SEGS)
            return -1;
        hy_route_seg_t *s = &r->seg[r->nseg++];
        if (p[0] == '{') {
            if (n < 3 || p[n - 1] != '}')
                return -1;
            for (size_t i = 1; i + 1 < n; i++)
                if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '_'))
                    return -1;
            s->text = p + 1, s->len = n - 2, s->param = true;
        } else {
            for (size_t i = 0; i < n; i++)
                if (p[i] == '{' || p[i] == '}')
                    return -1;
            s->text = p, s->len = n, s->param = false;
        }
        p = e;
    }
    return *p == '\0' ? 0 : -1;
}

/* Two routes clash when a request could match both with the same preference: same method,
 * same number of segments, literals equal and parameters at the same places. */
static bool s_clash(const hy_route_t *a, const hy_route_t *b)
{
    if (strcmp(a->method, b->method) != 0 || a->nseg != b->nseg)
        return false;
    for (int i = 0; i < a->nseg; i++) {
        const hy_route_seg_t *x = &a->seg[i], *y = &b->seg[i];
        if (x->param != y->param)
            return false;
        if (!x->param && (x->len != y->len || memcmp(x->text, y->text, x->len) != 0))
            return false;
    }
    return true;
}

static int s_add(hy_routes_t *self, hy_route_kind_t kind, const char *method, const char *path,
                 const hy_op_spec_t *op, int api_index, unsigned roles, char *err,
                 size_t err_size)
{
    if (self->count == self->alloc) {
        size_t alloc = self->alloc ? self->alloc * 2 : 64;
        hy_route_t *routes = realloc(self->routes, alloc * sizeof *routes);
        if (!routes) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        self->routes = routes;
        self->alloc = alloc;
    }
    hy_route_t *r = &self->routes[self->count];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->method = method;
    r->path = path;
    r->op = op;
    r->api_index = api_index;
    r->api = api_index >= 0 ? self->apis[api_index] : NULL;
    r->roles = roles;
    r->index = (int)self->count;
    snprintf(r->name, sizeof r->name, "%s %s", method, path);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
        strcmp(method, "PATCH") != 0 && strcmp(method, "PUT") != 0 &&
        strcmp(method, "DELETE") != 0) {
        snprintf(err, err_size, "route %s: unsupported method", r->name);
        return -1;
    }
    if (s_parse_pattern(r) != 0) {
        snprintf(err, err_size, "route %s: malformed path", r->name);
        return -1;
    }
    for (size_t i = 0; i < self->count; i++)
        if (s_clash(&self->routes[i], r)) {
            snprintf(err, err_size, "route %s clashes with %s", r->name, self->routes[i].name);
            return -1;
        }
    self->count++;
    return 0;
}

hy_routes_t *hy_routes_new(const hy_api_t *const *apis, char *err, size_t err_size)
{
    hy_routes_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    self->apis = apis;
    while (apis[self->napis])
        self->napis++;
    for (size_t i = 0; i < self->napis; i++) {
        for (const hy_op_spec_t *op = apis[i]->ops; op && op->op; op++)
            if (op->method && op->path &&
                s_add(self, HY_ROUTE_OP, op->method, op->path, op, (int)i, op->roles, err,
                      err_size) != 0)
                goto fail;
    }
    /* Builtin ops every service answers reach HTTP only when the service can be chosen from
     * the entity they are about: GET /v1/audit?entity=prs_1 goes to the registry. */
    for (const hy_op_spec_t *op = hy_builtin_ops; op->op; op++) {
        bool audit = strcmp(op->op, "audit.list") == 0;
        if (!audit && !(op->method && op->path))
            continue;
        if (!audit && !(op->args && hy_spec_field(op->args, "entity")))
            continue;
        if (s_add(self, HY_ROUTE_ENTITY, op->method ? op->method : "GET",
                  op->path ? op->path : "/v1/audit", op, -1, op->roles, err, err_size) != 0)
            goto fail;
    }
    if (s_add(self, HY_ROUTE_HEALTHZ, "GET", "/healthz", NULL, -1, 0, err, err_size) ||
        s_add(self, HY_ROUTE_READYZ, "GET", "/readyz", NULL, -1, 0, err, err_size) ||
        s_add(self, HY_ROUTE_METRICS, "GET", "/metrics", NULL, -1,
              HY_ROLE_OPERATOR | HY_ROLE_MONITORING, err, err_size) ||
        s_add(self, HY_ROUTE_OPENAPI, "GET", "/v1/openapi.json", NULL, -1, 0, err, err_size) ||
        s_add(self, HY_ROUTE_ASYNCAPI, "GET", "/v1/asyncapi.json", NULL, -1, 0, err, err_size) ||
        s_add(self, HY_ROUTE_EVENT_SCHEMA, "GET", "/v1/schemas/events/{type}", NULL, -1, 0, err,
              err_size) ||
        s_add(self, HY_ROUTE_PROBLEMS, "GET", "/v1/problems", NULL, -1, 0, err, err_size) ||
        s_add(self, HY_ROUTE_PROBLEM, "GET", "/v1/problems/{code}", NULL, -1, 0, err, err_size) ||
        /* Any key but a scraper's (monitoring: /metrics and nothing else). */
        s_add(self, HY_ROUTE_ME, "GET", "/v1/me", NULL, -1,
              HY_ROLE_ANY & ~(HY_ROLE_SERVICE | HY_ROLE_MONITORING), err, err_size))
        goto fail;
    return self;
fail:
    hy_routes_destroy(&self);
    return NULL;
}

void hy_routes_destroy(hy_routes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->routes);
    free(*self_p);
    *self_p = NULL;
}

size_t hy_routes_count(const hy_routes_t *self)
{
    return self->count;
}

const hy_route_t *hy_routes_at(const hy_routes_t *self, size_t i)
{
    return i < self->count ? &self->routes[i] : NULL;
}

const hy_api_t *const *hy_routes_apis(const hy_routes_t *self)
{
    return self->apis;
}

/* Splits a request path like s_parse_pattern, without the syntax rules. -1 when it has more
 * segments than any route, an empty segment or does not start with '/'. */
static int s_split(const char *path, hy_route_seg_t *seg, int *nseg)
{
    if (path[0] != '/')
        return -1;
    *nseg = 0;
    const char *p = path;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        if (!e)
            e = p + strlen(p);
        if (e == p || *nseg == HY_ROUTE_MAX_SEGS)
            return -1;
        seg[*nseg].text = p;
        seg[*nseg].len = (size_t)(e - p);
        seg[*nseg].param = false;
        (*nseg)++;
        p = e;
    }
    return 0;
}

/* Whether r matches the split path; if so, its preference: one bit per segment, set for a
 * literal, the first segment in the highest bit, so literals earlier in the path win. */
static bool s_matches(const hy_route_t *r, const hy_route_seg_t *seg, int nseg, unsigned *score)
{
    if (r->nseg != nseg)
        return false;
    unsigned s = 0;
    for (int i = 0; i < nseg; i++) {
        if (r->seg[i].param) {
            continue;
        }
        if (r->seg[i].len != seg[i].len || memcmp(r->seg[i].text, seg[i].text, seg[i].len) != 0)
            return false;
        s |= 1u << (HY_ROUTE_MAX_SEGS - 1 - i);
    }
    *score = s;
    return true;
}

int hy_routes_match(const hy_routes_t *self, const char *method, const char *path,
                    const hy_route_t **route, json_t **params, char *allow, size_t allow_size)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
    hy_route_seg_t seg[HY_ROUTE_MAX_SEGS];
    int nseg;
    *route = NULL;
    if (params)
        *params = NULL;
    if (allow && allow_size)
        allow[0] = '\0';
    if (s_split(path, seg, &nseg) != 0)
        return 404;

    const hy_route_t *best = NULL;
    unsigned best_score = 0, other_methods = 0;
    for (size_t i = 0; i < self->count; i++) {
        const hy_route_t *r = &self->routes[i];
        unsigned score;
        if (!s_matches(r, seg, nseg, &score))
            continue;
        if (strcmp(r->method, method) != 0) {
            for (size_t m = 0; m < sizeof methods / sizeof *methods; m++)
                if (strcmp(r->method, methods[m]) == 0)
                    other_methods |= 1u << m;
            continue;
        }
        if (!best || score > best_score)
            best = r, best_score = score;
    }
    if (!best) {
        if (!other_methods)
            return 404;
        size_t used = 0;
        for (size_t m = 0; allow && m < sizeof methods / sizeof *methods; m++)
            if (other_methods & (1u << m)) {
                int n = snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "",
                                 methods[m]);
                if (n < 0 || (size_t)n >= allow_size - used)
                    break;
                used += (size_t)n;
            }
        return 405;
    }
    if (!params) {   /* only whether a route answers there */
        *route = best;
        return 200;
    }

    json_t *p = json_object();
    if (!p)
        return 404;
    for (int i = 0; i < nseg; i++) {
        if (!best->seg[i].param)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)best->seg[i].len, best->seg[i].text);
        /* An id that is not UTF-8 cannot name anything stored. */
        json_t *v = hy_utf8_valid(seg[i].text, seg[i].len) ? json_stringn(seg[i].text, seg[i].len)
                                                           : NULL;
        if (!v || json_object_set_new(p, name, v) != 0) {
            json_decref(p);
            return 404;
        }
    }
    *route = best;
    *params = p;
    return 200;
}

int hy_routes_owner(const hy_routes_t *self, const char *entity_id)
{
    const char *us = strchr(entity_id, '_');
    if (!us || us == entity_id)
        return -1;
    size_t n = (size_t)(us - entity_id);
    for (size_t i = 0; i < self->napis; i++) {
        const char *p = self->apis[i]->id_prefixes;
        while (p && *p) {
            const char *e = strchr(p, ',');
            if (!e)
                e = p + strlen(p);
            const char *s = p;
            while (s < e && *s == ' ')
                s++;
            size_t len = (size_t)(e - s);
            while (len && s[len - 1] == ' ')
                len--;
            if (len == n && memcmp(s, entity_id, n) == 0)
                return (int)i;
            p = *e ? e + 1 : e;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ arguments ------------------ */

static const hy_field_t s_limit_field = { .name = "limit", .type = HY_T_INT, .min = 1,
                                          .max = 500 };
static const hy_field_t s_cursor_field = { .name = "cursor", .type = HY_T_STRING };
static const hy_field_t s_jalali_field = { .name = "jalali", .type = HY_T_STRING };
static const hy_field_t s_wait_field = { .name = "wait", .type = HY_T_INT, .min = 0, .max = 60 };

/* The field a query parameter stands for, or NULL when the op takes no such parameter. */
static const hy_field_t *s_query_field(const hy_route_t *route, const char *key)
{
    const hy_op_spec_t *op = route->op;
    if (!op)
        return NULL;
    bool get = strcmp(route->method, "GET") == 0;
    const hy_field_t *f = op->args ? hy_spec_field(op->args, key) : NULL;
    if (f && (get || (f->flags & HY_F_QUERY)))
        return f;
    size_t n = strlen(key);
    if (!f && op->args && n > 7 && strcmp(key + n - 7, "_jalali") == 0 && n - 7 < 128) {
        char base[128];
        memcpy(base, key, n - 7);
        base[n - 7] = '\0';
        const hy_field_t *d = hy_spec_field(op->args, base);
        if (d && d->type == HY_T_DATE && (get || (d->flags & HY_F_QUERY)))
            return &s_jalali_field;
    }
    if (op->list && !f && strcmp(key, "limit") == 0)
        return &s_limit_field;
    if (op->list && !f && strcmp(key, "cursor") == 0)
        return &s_cursor_field;
    if (op->long_poll && !f && strcmp(key, "wait") == 0)
        return &s_wait_field;
    return NULL;
}

static const char *s_type_name(hy_type_t t)
{
    switch (t) {
    case HY_T_INT: return "an integer";
    case HY_T_MONEY: return "an amount in rials";
    case HY_T_BOOL: return "true or false";
    case HY_T_DATE: return "a date YYYY-MM-DD";
    case HY_T_ENUM: return "one of the allowed values";
    default: return "a valid value";
    }
}

json_t *hy_gw_args(const hy_route_t *route, json_t *params, const hy_gw_kv_t *query,
                   size_t nquery, json_t *body, hy_gw_error_t *err)
{
    /* A body and nothing else (the usual POST): the body is the args as it is. */
    if (body && nquery == 0 && (!params || json_object_size(params) == 0)) {
        json_decref(params);
        return body;
    }
    json_t *args = params ? params : json_object();
    if (!args) {
        json_decref(body);
        hy_gw_fail(err, 500, "internal_error", NULL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nquery; i++) {
        const char *key = query[i].key, *text = query[i].value ? query[i].value : "";
        if (!hy_utf8_valid(key, strlen(key)) || !hy_utf8_valid(text, strlen(text))) {
            hy_gw_fail(err, 400, "invalid_utf8", NULL, "the query string is not valid UTF-8");
            goto fail;
        }
        const hy_field_t *f = s_query_field(route, key);
        if (!f) {
            hy_gw_fail(err, 400, "unknown_parameter", key, "no query parameter '%.100s' here",
                       key);
            goto fail;
        }
        if (json_object_get(args, key)) {
            hy_gw_fail(err, 400, "invalid_parameter", key, "'%.100s' is given twice", key);
            goto fail;
        }
        json_t *v = hy_spec_coerce_query(f, text);
        /* The gateway's own parameters are range-checked here; the others by the service. */
        if (v && (f == &s_limit_field || f == &s_wait_field) &&
            (json_integer_value(v) < f->min || json_integer_value(v) > f->max)) {
            json_decref(v);
            hy_gw_fail(err, 400, "invalid_parameter", key, "'%s' must be %lld to %lld", key,
                       (long long)f->min, (long long)f->max);
            goto fail;
        }
        if (!v) {
            hy_gw_fail(err, 400, "invalid_parameter", key, "'%.100s' must be %s", key,
                       s_type_name(f->type));
            goto fail;
        }
        if (json_object_set_new(args, key, v) != 0) {
            hy_gw_fail(err, 500, "internal_error", NULL, "out of memory");
            goto fail;
        }
    }
    if (body) {
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v) {
            if (json_object_get(args, key)) {
                hy_gw_fail(err, 400, "invalid_body", key,
                           "'%.100s' is given in the path or query; leave it out of the body",
                           key);
                goto fail;
            }
            if (json_object_set(args, key, v) != 0) {
                hy_gw_fail(err, 500, "internal_error", NULL, "out of memory");
                goto fail;
            }
        }
        json_decref(body);
    }
    return args;
fail:
    json_decref(body);
    json_decref(args);
    return NULL;
}

int hy_gw_json_shape(const char *text, size_t len, int *depth, size_t *members)
{
    int d = 0, max = 0;
    size_t m = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[') {
            if (++d > max)
                max = d;
        } else if (c == '}' || c == ']')
            d--;
        else if (c == ':')
            m++;
    }
    *depth = max;
    *members = m;
    return 0;
}

json_t *hy_gw_parse_body(const char *body, size_t len, hy_gw_error_t *err)
{
    /* Shape first, in one pass over the bytes: a body nested deeper than any op's arguments,
     * or with more members than any takes, is refused before jansson builds it (and before a
     * service, whose envelope adds depth, could choke on it). */
    int depth;
    size_t members;
    hy_gw_json_shape(body, len, &depth, &members);
    if (depth > HY_GW_MAX_DEPTH) {
        hy_gw_fail(err, 400, "too_deep", NULL, "the body is nested more than %d levels deep",
                   HY_GW_MAX_DEPTH);
        return NULL;
    }
    if (members > HY_GW_MAX_MEMBERS) {
        hy_gw_fail(err, 400, "too_many_members", NULL, "the body has more than %d members",
                   HY_GW_MAX_MEMBERS);
        return NULL;
    }
    if (memchr(body, '\0', len)) {
        hy_gw_fail(err, 400, "malformed_json", NULL, "the body contains a NUL byte");
        return NULL;
    }
    if (!hy_utf8_valid(body, len)) {
        hy_gw_fail(err, 400, "invalid_utf8", NULL, "the body is not valid UTF-8");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc) {
        hy_gw_fail(err, 400, "malformed_json", NULL, "%s at line %d, column %d", jerr.text,
                   jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        hy_gw_fail(err, 400, "invalid_body", NULL, "the body must be a JSON object");
        return NULL;
    }
    return doc;
}
