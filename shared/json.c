/*
 * json.c — the shared JSON getters (see json.h).
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

const char *hy_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int64_t hy_json_int(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool hy_json_true(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

/* Skips one JSON string at p (p[0] == '"'); returns the byte after its closing quote, or NULL.
 * *escaped is set when the string holds a backslash escape. */
static const char *s_skip_string(const char *p, const char *end, bool *escaped)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            *escaped = true;
            p++;
        }
    }
    return NULL;
}

/* Skips one JSON value of any kind at p; returns the byte after it, or NULL. The text is
 * trusted to be JSON (it was written by json_dumps): only strings and nesting are tracked. */
static const char *s_skip_value(const char *p, const char *end)
{
    int depth = 0;
    bool esc;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = s_skip_string(p, end, &esc)))
                return NULL;
            if (depth == 0)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return p;   /* the end of the enclosing container: a bare value ended */
            if (depth == 0)
                return p + 1;
        } else if (depth == 0 && c == ',') {
            return p;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

int hy_json_text_str(const char *text, size_t len, const char *key, const char **val,
                     size_t *vlen)
{
    const char *p = text, *end = text + len;
    size_t klen = strlen(key);
    while (p < end && *p != '{')
        p++;
    if (p == end)
        return -1;
    p++;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ','))
            p++;
        if (p >= end || *p != '"')
            return -1;   /* '}' (the member is absent) or not JSON as json_dumps writes it */
        bool esc = false;
        const char *kstart = p + 1, *kend = s_skip_string(p, end, &esc);
        if (!kend)
            return -1;
        bool match = !esc && (size_t)(kend - 1 - kstart) == klen && memcmp(kstart, key, klen) == 0;
        p = kend;
        while (p < end && (*p == ' ' || *p == ':'))
            p++;
        if (p >= end)
            return -1;
        if (match) {
            if (*p != '"')
                return -1;
            esc = false;
            const char *vend = s_skip_string(p, end, &esc);
            if (!vend || esc)
                return -1;   /* escapes: the caller decodes the text instead */
            *val = p + 1;
            *vlen = (size_t)(vend - 1 - (p + 1));
            return 0;
        }
        if (!(p = s_skip_value(p, end)))
            return -1;
    }
    return -1;
}

size_t hy_json_quote(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";   /* jansson writes \u%04X */
    size_t n = 0;
#define PUT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20) {
            const char *short_esc = c == '\b' ? "b" : c == '\f' ? "f" : c == '\n' ? "n"
                                  : c == '\r' ? "r" : c == '\t' ? "t" : NULL;
            PUT('\\');
            if (short_esc) {
                PUT(short_esc[0]);
            } else {
                PUT('u'); PUT('0'); PUT('0'); PUT(hex[c >> 4]); PUT(hex[c & 15]);
            }
        } else {
            PUT((char)c);
        }
    }
    PUT('"');
#undef PUT
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* The writer of hy_json_dump: the text goes to a buffer on the stack, and to a hy_buf_t only
 * when it outgrows it (a record is usually far smaller), so a call costs one malloc of the
 * exact size (a small block's quick path) instead of growing a 4 KiB buffer. */
typedef struct {
    char stack[8192];
    size_t len;
    hy_buf_t heap;   /* in use once heap.buf is set */
} s_out_t;

static void s_put(s_out_t *o, const char *s, size_t n)
{
    if (!o->heap.buf && !o->heap.failed && o->len + n <= sizeof o->stack) {
        memcpy(o->stack + o->len, s, n);
        o->len += n;
        return;
    }
    if (!o->heap.buf && !o->heap.failed)
        hy_buf_addn(&o->heap, o->stack, o->len);
    hy_buf_addn(&o->heap, s, n);
}

/* Appends s (n bytes) as a string literal, escaped as hy_json_quote escapes. */
static void s_dump_string(s_out_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    s_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        s_put(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c};
        size_t elen = 2;
        if (c < 0x20) {
            esc[1] = c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r'
                   : c == '\t' ? 't' : 'u';
            if (esc[1] == 'u') {
                memcpy(esc + 2, "00", 2);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        }
        s_put(b, esc, elen);
    }
    s_put(b, s + run, n - run);
    s_put(b, "\"", 1);
}

/* 0, or 1 when json holds a real (the caller falls back to json_dumps). */
static int s_dump(s_out_t *b, const json_t *json, int depth)
{
    if (depth > 2048)
        return 1;   /* Jansson's own depth limit decides */
    switch (json_typeof(json)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        bool first = true;
        s_put(b, "{", 1);
        json_object_foreach((json_t *)json, key, value) {
            if (!first)
                s_put(b, ",", 1);
            first = false;
            s_dump_string(b, key, strlen(key));
            s_put(b, ":", 1);
            if (s_dump(b, value, depth + 1))
                return 1;
        }
        s_put(b, "}", 1);
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *value;
        s_put(b, "[", 1);
        json_array_foreach(json, i, value) {
            if (i)
                s_put(b, ",", 1);
            if (s_dump(b, value, depth + 1))
                return 1;
        }
        s_put(b, "]", 1);
        return 0;
    }
    case JSON_STRING:
        s_dump_string(b, json_string_value(json), json_string_length(json));
        return 0;
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(json));
        s_put(b, num, n > 0 ? (size_t)n : 0);
        return 0;
    }
    case JSON_TRUE:
        s_put(b, "true", 4);
        return 0;
    case JSON_FALSE:
        s_put(b, "false", 5);
        return 0;
    case JSON_NULL:
        s_put(b, "null", 4);
        return 0;
    default:
        return 1;   /* a real */
    }
}

char *hy_json_dump(const json_t *json, size_t *len)
{
    s_out_t o;
    o.len = 0;
    o.heap = (hy_buf_t){0};
    if (json && s_dump(&o, json, 0) == 0 && !o.heap.failed) {
        if (o.heap.buf)
            return hy_buf_take(&o.heap, len);
        char *text = malloc(o.len + 1);
        if (text) {
            memcpy(text, o.stack, o.len);
            text[o.len] = '\0';
            if (len)
                *len = o.len;
        }
        return text;
    }
    hy_buf_free(&o.heap);
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text && len)
        *len = strlen(text);
    return text;
}
