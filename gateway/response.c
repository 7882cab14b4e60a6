/*
 * response.c — what the gateway writes back: problem documents (RFC 9457), the Jalali
 * decoration of dates, and JSON serialisation with the trailing newline.
 *
 * Pure functions over jansson, kept apart from http.c so that tests can call them directly.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fa.h"
#include "proto.h"

/* Members a problem document sets itself; the same names in a service's error object do not
 * override them. */
static bool s_reserved(const char *key)
{
    static const char *const names[] = { "type", "title", "status", "code", "field",
                                         "detail", "instance", "request_id" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(names[i], key) == 0)
            return true;
    return false;
}

/* Sets key to a string when text is non-NULL and valid UTF-8. -1 on allocation failure. */
static int s_set_text(json_t *obj, const char *key, const char *text)
{
    if (!text || !hy_utf8_valid(text, strlen(text)))
        return 0;
    return json_object_set_new(obj, key, json_string(text));
}

json_t *hy_gw_problem(int status, const char *code, const char *field, const char *detail,
                      json_t *extra, const char *instance, const char *request_id)
{
    json_t *p = json_object();
    if (!p)
        return NULL;
    /* The type names the code (a page at that path explains it); the title is the type's, the
     * same for every occurrence (RFC 9457 3.1.3), whatever title a service sent. */
    const char *title = hy_proto_title(code);
    char type[96] = "about:blank";
    if (hy_gw_problem_known(code))
        snprintf(type, sizeof type, "/v1/problems/%s", code);
    if (json_object_set_new(p, "type", json_string(type)) != 0 ||
        s_set_text(p, "title", title) != 0 ||
        json_object_set_new(p, "status", json_integer(status)) != 0 ||
        s_set_text(p, "code", code ? code : "error") != 0 ||
        (field && *field && s_set_text(p, "field", field) != 0) ||
        s_set_text(p, "detail", detail ? detail : "") != 0 ||
        s_set_text(p, "instance", instance) != 0 ||
        s_set_text(p, "request_id", request_id) != 0)
        goto fail;
    if (json_is_object(extra)) {
        const char *key;
        json_t *value;
        json_object_foreach(extra, key, value) {
            if (!s_reserved(key) && json_object_set(p, key, value) != 0)
                goto fail;
        }
    }
    return p;
fail:
    json_decref(p);
    return NULL;
}

/* "YYYY-MM-DD" exactly: ten ASCII characters, digits and two dashes. */
static bool s_is_iso_date(const char *s)
{
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    return s[10] == '\0';
}

/* The Jalali form of member (key, value) of obj into out, when it should get one. */
static bool s_needs_jalali(json_t *obj, const char *key, json_t *value, char *name,
                           size_t name_size, char out[11])
{
    size_t n = strlen(key);
    if (!json_is_string(value) || !s_is_iso_date(json_string_value(value)))
        return false;
    if ((n >= 7 && strcmp(key + n - 7, "_jalali") == 0) || n + 8 > name_size)
        return false;
    memcpy(name, key, n);
    memcpy(name + n, "_jalali", 8);
    if (json_object_get(obj, name))
        return false;
    return hy_date_iso_to_jalali(json_string_value(value), out) == 0;
}

int hy_gw_add_jalali(json_t *value)
{
    if (json_is_array(value)) {
        size_t i;
        json_t *v;
        json_array_foreach(value, i, v) {
            if (hy_gw_add_jalali(v) != 0)
                return -1;
        }
        return 0;
    }
    if (!json_is_object(value))
        return 0;
    const char *key;
    json_t *v;
    char name[256], jalali[11];
    bool any = false;
    json_object_foreach(value, key, v) {
        if (hy_gw_add_jalali(v) != 0)
            return -1;
        if (!any && s_needs_jalali(value, key, v, name, sizeof name, jalali))
            any = true;
    }
    if (!any)
        return 0;
    /* Rebuilt in order, so that each X_jalali sits next to its X for a human reader. */
    json_t *out = json_object();
    if (!out)
        return -1;
    json_object_foreach(value, key, v) {
        if (json_object_set(out, key, v) != 0)
            goto fail;
        if (s_needs_jalali(value, key, v, name, sizeof name, jalali) &&
            json_object_set_new(out, name, json_string(jalali)) != 0)
            goto fail;
    }
    if (json_object_clear(value) != 0 || json_object_update(value, out) != 0)
        goto fail;
    json_decref(out);
    return 0;
fail:
    json_decref(out);
    return -1;
}

typedef struct {
    char *buf;
    size_t len, cap;
} s_buf_t;

static int s_append(const char *data, size_t size, void *arg)
{
    s_buf_t *b = arg;
    if (b->len + size + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + size + 2)
            cap *= 2;
        char *buf = realloc(b->buf, cap);
        if (!buf)
            return -1;
        b->buf = buf;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, size);
    b->len += size;
    return 0;
}

char *hy_gw_dump(const json_t *value, size_t *len)
{
    s_buf_t b = { 0 };
    if (json_dump_callback(value, s_append, &b, JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
        s_append("\n", 1, &b) != 0) {
        free(b.buf);
        return NULL;
    }
    b.buf[b.len] = '\0';
    *len = b.len;
    return b.buf;
}

#define S_LIT(b, lit) s_append(lit, sizeof lit - 1, b)

/* Appends text as a JSON string: as it is when it is plain printable ASCII, else through
 * jansson (escapes; NULL for text that is not UTF-8). -1 on failure. */
static int s_append_string(s_buf_t *b, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
        p++;
    if (!*p)
        return s_append("\"", 1, b) || s_append(text, (size_t)(p - (const unsigned char *)text), b) ||
               s_append("\"", 1, b) ? -1 : 0;
    json_t *str = json_string(text);
    int rc = str ? json_dump_callback(str, s_append, b, JSON_ENCODE_ANY) : -1;
    json_decref(str);
    return rc;
}

/* Appends ,"name":<text as a string>. */
static int s_append_member(s_buf_t *b, const char *name, const char *text)
{
    return s_append(",\"", 2, b) || s_append(name, strlen(name), b) || s_append("\":", 2, b) ||
           s_append_string(b, text) ? -1 : 0;
}

char *hy_gw_request_text(const char *op, const char *id, const hy_actor_t *actor,
                         const char *idem, const char *if_match, const json_t *args,
                         const char *args_text, size_t args_len, size_t *len)
{
    char head[32];
    int n = snprintf(head, sizeof head, "{\"v\":%d", HY_PROTO_VERSION);
    s_buf_t b = { 0 };
    if (s_append(head, (size_t)n, &b) != 0 || s_append_member(&b, "op", op) != 0 ||
        s_append_member(&b, "id", id) != 0 ||
        S_LIT(&b, ",\"actor\":{\"key_id\":") != 0 ||
        s_append_string(&b, actor && actor->key_id ? actor->key_id : "") != 0 ||
        s_append_member(&b, "role", actor && actor->role ? actor->role : "") != 0 ||
        s_append_member(&b, "office", actor && actor->office ? actor->office : "") != 0 ||
        S_LIT(&b, "},\"args\":") != 0 ||
        (args_text ? s_append(args_text, args_len, &b)
         : args    ? json_dump_callback(args, s_append, &b, JSON_COMPACT)
                   : S_LIT(&b, "{}")) != 0 ||
        (idem && s_append_member(&b, "idem", idem) != 0) ||
        (if_match && s_append_member(&b, "if_match", if_match) != 0) || s_append("}", 1, &b) != 0)
        goto fail;
    b.buf[b.len] = '\0';
    *len = b.len;
    return b.buf;
fail:
    free(b.buf);
    return NULL;
}

/* Picks the rendering an op offers besides JSON from the Accept header by quality values: the
 * highest q wins, a tie goes to the type listed first, then to JSON. When Accept takes none of
 * them, JSON (RFC 9110 lets a server disregard Accept rather than answer 406). */
const char *hy_gw_negotiate(const char *accept, const char *formats)
{
    static const struct {
        const char *media, *format;
    } known[] = {{"application/json", "json"}, {"text/csv", "csv"}, {"text/html", "html"}};
    const char *best = NULL;
    double best_q = 0;
    int best_pos = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (i > 0 && !(formats && strstr(formats, known[i].format)))
            continue;
        int pos;
        double q = hy_gw_accept_q(accept, known[i].media, &pos);
        if (q > 0 && (!best || q > best_q || (q == best_q && pos < best_pos))) {
            best = known[i].format;
            best_q = q;
            best_pos = pos;
        }
    }
    return best ? best : "json";
}

const char *hy_gw_services(void)
{
    const char *list = getenv("HY_SERVICES");
    return list && *list ? list : HY_GW_DEFAULT_SERVICES;
}

/* Is service one this deployment runs? HY_SERVICES (comma-separated) names them when the
 * gateway fronts only some of the services; by default the standard six. */
bool hy_gw_expected(const char *service)
{
    const char *list = hy_gw_services();
    size_t n = strlen(service);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, service, n) == 0)
            return true;
        p += len;
        p += strspn(p, ", ");
    }
    return false;
}
