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

/* Appends text to out as the inside of a JSON string (", \\ and control characters escaped);
 * stops short of end. Returns the new end of out. */
static char *s_json_text(char *out, const char *end, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)text; *p && out + 6 < end; p++) {
        if (*p == '"' || *p == '\\') {
            *out++ = '\\';
            *out++ = (char)*p;
        } else if (*p < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[*p >> 4];
            out[5] = hex[*p & 15];
            out += 6;
        } else {
            *out++ = (char)*p;
        }
    }
    return out;
}

/* The request log line is built here rather than with log.h, whose lines name an op, so that
 * it can name the route, which is what an operator reads metrics by. One line per request:
 * formatted into a buffer on the stack and written with one call, no JSON tree. */
void hy_gw_log_request(const char *route, const char *rid, int status, int64_t us)
{
    char line[1024];
    char *p = line, *end = line + sizeof line - 64;   /* room for the numbers and the close */
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    p += strftime(p, 64, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
    p += snprintf(p, 64, ".%03ldZ\",\"level\":\"info\",\"service\":\"gateway\",\"route\":\"",
                  now.tv_nsec / 1000000);
    p = s_json_text(p, end - 200, route ? route : "");
    memcpy(p, "\",\"request_id\":\"", 16);
    p = s_json_text(p + 16, end, rid ? rid : "");
    p += snprintf(p, 64, "\",\"status\":%d,\"us\":%lld}\n", status, (long long)us);
    fwrite(line, 1, (size_t)(p - line), stderr);
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
