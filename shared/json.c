/*
 * json.c — the shared JSON getters (see json.h).
 */
#include "json.h"

#include <string.h>

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
