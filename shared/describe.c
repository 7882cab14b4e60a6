/*
 * describe.c — op tables to JSON and back, and their digest (see describe.h).
 *
 * A parsed api borrows its strings from a private copy of the description and owns its field
 * and op arrays; every allocation is recorded in the api's arena and freed with it.
 */
#include "describe.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define MAX_FIELD_DEPTH 8

static const char *const s_types[] = {
    [HY_T_STRING] = "string", [HY_T_INT] = "int",       [HY_T_MONEY] = "money",
    [HY_T_BOOL] = "bool",     [HY_T_DATE] = "date",     [HY_T_ENUM] = "enum",
    [HY_T_OBJECT] = "object", [HY_T_ARRAY] = "array",   [HY_T_ID] = "id",
    [HY_T_ANY] = "any",
};
#define NTYPES (sizeof s_types / sizeof *s_types)

static json_t *s_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *s_fields(const hy_field_t *f, int depth);

static json_t *s_field(const hy_field_t *f, int depth)
{
    hy_type_t elem = f->elem;
    return json_pack("{s:s, s:s, s:b, s:b, s:b, s:o, s:I, s:I, s:i, s:o, s:o, s:o}",
                     "name", f->name, "type", (unsigned)f->type < NTYPES && s_types[f->type] ? s_types[f->type] : "any",
                     "required", (f->flags & HY_F_REQ) != 0, "query", (f->flags & HY_F_QUERY) != 0,
                     "nullable", (f->flags & HY_F_NULL) != 0, "enums", s_str(f->enums),
                     "min", (json_int_t)f->min, "max", (json_int_t)f->max, "max_len", f->max_len,
                     "doc", s_str(f->doc),
                     "elem", elem && (unsigned)elem < NTYPES ? json_string(s_types[elem]) : json_null(),
                     "sub", f->sub && depth < MAX_FIELD_DEPTH ? s_fields(f->sub, depth + 1) : json_null());
}

static json_t *s_fields(const hy_field_t *f, int depth)
{
    json_t *a = json_array();
    for (; a && f && f->name; f++)
        if (json_array_append_new(a, s_field(f, depth)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *s_op(const hy_op_spec_t *op)
{
    return json_pack("{s:s, s:o, s:o, s:I, s:i, s:b, s:b, s:o, s:o, s:o, s:o}", "op", op->op,
                     "method", s_str(op->method), "path", s_str(op->path),
                     "roles", (json_int_t)op->roles, "ok_status", op->ok_status, "list", op->list,
                     "long_poll", op->long_poll, "formats", s_str(op->formats),
                     "summary", s_str(op->summary),
                     "args", op->args ? s_fields(op->args, 0) : json_null(),
                     "result", op->result ? s_fields(op->result, 0) : json_null());
}

/* The SHA-256 of the compact, key-sorted description without "digest", as 16 hex digits. */
static int s_digest(const json_t *desc, char out[HY_DIGEST_LEN + 1])
{
    json_t *copy = json_copy((json_t *)desc);
    if (!copy)
        return -1;
    json_object_del(copy, "digest");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (!text)
        return -1;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    free(text);
    for (int i = 0; i < HY_DIGEST_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}

json_t *hy_describe_api(const hy_api_t *api)
{
    json_t *ops = json_array(), *events = json_array();
    for (const hy_op_spec_t *op = api->ops; ops && op && op->op; op++)
        if (json_array_append_new(ops, s_op(op)) != 0) {
            json_decref(ops);
            ops = NULL;
        }
    /* Event types, each with the fields of its data (spec.h hy_event_spec_t). */
    for (const hy_event_spec_t *e = api->events; events && e && e->type; e++)
        if (json_array_append_new(events, json_pack("{s:s, s:o, s:o}", "type", e->type,
                                                    "summary", s_str(e->summary), "data",
                                                    e->data ? s_fields(e->data, 0)
                                                            : json_null())) != 0) {
            json_decref(events);
            events = NULL;
        }
    if (!ops || !events) {
        json_decref(ops);
        json_decref(events);
        return NULL;
    }
    json_t *desc = json_pack("{s:s, s:o, s:o, s:o}", "service", api->service, "id_prefixes",
                             s_str(api->id_prefixes), "ops", ops, "events", events);
    char digest[HY_DIGEST_LEN + 1];
    if (!desc || s_digest(desc, digest) != 0 ||
        json_object_set_new(desc, "digest", json_string(digest)) != 0) {
        json_decref(desc);
        return NULL;
    }
    return desc;
}

const char *hy_describe_digest(const hy_api_t *api)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static const hy_api_t *cached;
    static char digest[HY_DIGEST_LEN + 1];
    pthread_mutex_lock(&lock);
    if (cached != api) {
        json_t *desc = hy_describe_api(api);
        const char *d = json_string_value(json_object_get(desc, "digest"));
        snprintf(digest, sizeof digest, "%s", d ? d : "");
        cached = d ? api : NULL;
        json_decref(desc);
    }
    pthread_mutex_unlock(&lock);
    return digest;
}

/* ---- parsing --------------------------------------------------------------------------------- */

typedef struct {
    hy_api_t api;               /* first: a parsed hy_api_t * is an s_parsed_t * */
    char digest[HY_DIGEST_LEN + 1];
    json_t *doc;                /* the strings' owner */
    void **allocs;
    size_t nallocs, aallocs;
} s_parsed_t;

typedef struct {
    s_parsed_t *p;
    char *err;
    size_t err_size;
} s_parse_t;

static int s_fail(s_parse_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_parse_t *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->err_size, fmt, ap);
    va_end(ap);
    return -1;
}

static void *s_alloc(s_parse_t *ps, size_t n, size_t size)
{
    s_parsed_t *p = ps->p;
    if (p->nallocs == p->aallocs) {
        size_t a = p->aallocs ? p->aallocs * 2 : 16;
        void **v = realloc(p->allocs, a * sizeof *v);
        if (!v)
            return NULL;
        p->allocs = v;
        p->aallocs = a;
    }
    void *m = calloc(n + 1, size);   /* + 1: the {0} terminator */
    if (m)
        p->allocs[p->nallocs++] = m;
    return m;
}

/* A string member, or NULL when absent or null; -1 through *bad when of another type. */
static const char *s_get_str(const json_t *o, const char *key, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_string(v) && !json_is_null(v))
        *bad = true;
    return json_string_value(v);
}

static int s_type(const char *name, hy_type_t *t)
{
    for (size_t i = 1; i < NTYPES; i++)
        if (s_types[i] && name && strcmp(s_types[i], name) == 0) {
            *t = (hy_type_t)i;
            return 0;
        }
    return -1;
}

static int s_parse_fields(s_parse_t *ps, const json_t *a, const hy_field_t **out, int depth)
{
    *out = NULL;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || depth > MAX_FIELD_DEPTH)
        return s_fail(ps, "fields must be an array, nested at most %d deep", MAX_FIELD_DEPTH);
    hy_field_t *f = s_alloc(ps, json_array_size(a), sizeof *f);
    if (!f)
        return s_fail(ps, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        bool bad = !json_is_object(v);
        f[i].name = s_get_str(v, "name", &bad);
        const char *type = s_get_str(v, "type", &bad), *elem = s_get_str(v, "elem", &bad);
        f[i].enums = s_get_str(v, "enums", &bad);
        f[i].doc = s_get_str(v, "doc", &bad);
        f[i].flags = (json_is_true(json_object_get(v, "required")) ? HY_F_REQ : 0) |
                     (json_is_true(json_object_get(v, "query")) ? HY_F_QUERY : 0) |
                     (json_is_true(json_object_get(v, "nullable")) ? HY_F_NULL : 0);
        f[i].min = json_integer_value(json_object_get(v, "min"));
        f[i].max = json_integer_value(json_object_get(v, "max"));
        f[i].max_len = (int)json_integer_value(json_object_get(v, "max_len"));
        if (bad || !f[i].name || s_type(type, &f[i].type) != 0 ||
            (elem && s_type(elem, &f[i].elem) != 0))
            return s_fail(ps, "field %zu is malformed", i);
        if (s_parse_fields(ps, json_object_get(v, "sub"), &f[i].sub, depth + 1) != 0)
            return -1;
    }
    *out = f;
    return 0;
}

static int s_parse_ops(s_parse_t *ps, const json_t *a)
{
    if (!json_is_array(a))
        return s_fail(ps, "ops must be an array");
    hy_op_spec_t *ops = s_alloc(ps, json_array_size(a), sizeof *ops);
    if (!ops)
        return s_fail(ps, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        bool bad = !json_is_object(v);
        hy_op_spec_t *op = &ops[i];
        op->op = s_get_str(v, "op", &bad);
        op->method = s_get_str(v, "method", &bad);
        op->path = s_get_str(v, "path", &bad);
        op->formats = s_get_str(v, "formats", &bad);
        op->summary = s_get_str(v, "summary", &bad);
        json_int_t roles = json_integer_value(json_object_get(v, "roles"));
        op->roles = (unsigned)(roles & HY_ROLE_ANY);
        op->ok_status = (int)json_integer_value(json_object_get(v, "ok_status"));
        op->list = json_is_true(json_object_get(v, "list"));
        op->long_poll = json_is_true(json_object_get(v, "long_poll"));
        if (bad || !op->op || (!op->method) != (!op->path))
            return s_fail(ps, "op %zu is malformed", i);
        if (s_parse_fields(ps, json_object_get(v, "args"), &op->args, 0) != 0 ||
            s_parse_fields(ps, json_object_get(v, "result"), &op->result, 0) != 0)
            return -1;
    }
    ps->p->api.ops = ops;
    return 0;
}

/* Events: [{"type", "summary", "data": fields|null}]; a bare type string (descriptions kept
 * by older gateways) reads as a type with free-form data. */
static int s_parse_events(s_parse_t *ps, const json_t *a)
{
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return s_fail(ps, "events must be an array");
    hy_event_spec_t *ev = s_alloc(ps, json_array_size(a), sizeof *ev);
    if (!ev)
        return s_fail(ps, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        bool bad = false;
        if (json_is_string(v)) {
            ev[i].type = json_string_value(v);
            continue;
        }
        ev[i].type = json_is_object(v) ? s_get_str(v, "type", &bad) : NULL;
        ev[i].summary = json_is_object(v) ? s_get_str(v, "summary", &bad) : NULL;
        if (bad || !ev[i].type || !*ev[i].type)
            return s_fail(ps, "event %zu is malformed", i);
        if (s_parse_fields(ps, json_object_get(v, "data"), &ev[i].data, 0) != 0)
            return -1;
    }
    ps->p->api.events = ev;
    return 0;
}

hy_api_t *hy_describe_parse(const json_t *desc, char *err, size_t err_size)
{
    s_parsed_t *p = calloc(1, sizeof *p);
    s_parse_t ps = {p, err, err_size};
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    bool bad = false;
    const char *digest;
    char want[HY_DIGEST_LEN + 1];
    if (!json_is_object(desc) || !(p->doc = json_deep_copy(desc))) {
        s_fail(&ps, "a description is a JSON object");
        goto fail;
    }
    p->api.service = s_get_str(p->doc, "service", &bad);
    p->api.id_prefixes = s_get_str(p->doc, "id_prefixes", &bad);
    digest = s_get_str(p->doc, "digest", &bad);
    if (bad || !p->api.service || !*p->api.service || !digest) {
        s_fail(&ps, "service, id_prefixes and digest must be strings");
        goto fail;
    }
    if (s_digest(p->doc, want) != 0 || strcmp(want, digest) != 0) {
        s_fail(&ps, "the digest %.20s does not match the description (%s)", digest, want);
        goto fail;
    }
    memcpy(p->digest, want, sizeof want);
    if (s_parse_ops(&ps, json_object_get(p->doc, "ops")) != 0 ||
        s_parse_events(&ps, json_object_get(p->doc, "events")) != 0)
        goto fail;
    return &p->api;
fail:;
    hy_api_t *api = &p->api;
    hy_describe_free(&api);
    return NULL;
}

const char *hy_describe_parsed_digest(const hy_api_t *api)
{
    return ((const s_parsed_t *)api)->digest;
}

void hy_describe_free(hy_api_t **api_p)
{
    if (!api_p || !*api_p)
        return;
    s_parsed_t *p = (s_parsed_t *)*api_p;
    for (size_t i = 0; i < p->nallocs; i++)
        free(p->allocs[i]);
    free(p->allocs);
    json_decref(p->doc);
    free(p);
    *api_p = NULL;
}
