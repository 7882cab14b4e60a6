/*
 * since.c — a page of events.since walked, not decoded (see since.h).
 */
#include "since.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct {
    const char *p, *end;
} s_rd_t;

static void s_ws(s_rd_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int s_expect(s_rd_t *r, char c)
{
    s_ws(r);
    if (r->p >= r->end || *r->p != c)
        return -1;
    r->p++;
    return 0;
}

/* A string: *s and *n its raw contents (escapes left as they are). */
static int s_string(s_rd_t *r, const char **s, size_t *n)
{
    if (s_expect(r, '"') != 0)
        return -1;
    const char *start = r->p;
    while (r->p < r->end && *r->p != '"') {
        if (*r->p == '\\' && ++r->p >= r->end)
            return -1;
        r->p++;
    }
    if (r->p >= r->end)
        return -1;
    *s = start;
    *n = (size_t)(r->p - start);
    r->p++;
    return 0;
}

static int s_u64(s_rd_t *r, uint64_t *v)
{
    s_ws(r);
    const char *start = r->p;
    *v = 0;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && r->p - start < 20)
        *v = *v * 10 + (uint64_t)(*r->p++ - '0');
    return r->p > start ? 0 : -1;
}

static int s_value(s_rd_t *r, int depth);

/* Walks an array; for each element calls on() when given, else skips it. */
typedef int (*s_elem_fn)(s_rd_t *r, void *user);
static int s_array(s_rd_t *r, int depth, s_elem_fn on, void *user)
{
    if (depth > 64 || s_expect(r, '[') != 0)
        return -1;
    s_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return 0;
    }
    for (;;) {
        if (on ? on(r, user) != 0 : s_value(r, depth + 1) != 0)
            return -1;
        s_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return s_expect(r, ']');
    }
}

/* Walks an object; for each member calls on(key, ...) when given, else skips the value. */
typedef int (*s_member_fn)(s_rd_t *r, const char *key, size_t klen, void *user);
static int s_object(s_rd_t *r, int depth, s_member_fn on, void *user)
{
    if (depth > 64 || s_expect(r, '{') != 0)
        return -1;
    s_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t kl;
        if (s_string(r, &k, &kl) != 0 || s_expect(r, ':') != 0)
            return -1;
        if (on ? on(r, k, kl, user) != 0 : s_value(r, depth + 1) != 0)
            return -1;
        s_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return s_expect(r, '}');
    }
}

static int s_value(s_rd_t *r, int depth)
{
    s_ws(r);
    if (r->p >= r->end || depth > 64)
        return -1;
    const char *s;
    size_t n;
    switch (*r->p) {
    case '"':
        return s_string(r, &s, &n);
    case '{':
        return s_object(r, depth, NULL, NULL);
    case '[':
        return s_array(r, depth, NULL, NULL);
    default:   /* number, true, false, null */
        s = r->p;
        while (r->p < r->end && strchr("0123456789+-.eEtruefalsn", *r->p))
            r->p++;
        return r->p > s ? 0 : -1;
    }
}

static bool s_is(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

static int s_on_event_member(s_rd_t *r, const char *k, size_t kl, void *user)
{
    /* "seq" is the number; "sequence" is the CloudEvents Sequence string (zero-padded digits)
     * or, in events written before it was, the same number. */
    if (s_is(k, kl, "seq"))
        return s_u64(r, user);
    if (!s_is(k, kl, "sequence"))
        return s_value(r, 2);
    s_ws(r);
    if (r->p < r->end && *r->p == '"') {
        r->p++;
        if (s_u64(r, user) != 0 || r->p >= r->end || *r->p != '"')
            return -1;
        r->p++;
        return 0;
    }
    return s_u64(r, user);
}

static int s_push(hy_since_t *page, const char *line, size_t len, uint64_t seq)
{
    if (hy_array_grow(&page->items, &page->cap, page->n, sizeof *page->items, 1024) != 0)
        return -1;
    page->items[page->n++] = (hy_since_item_t){line, len, seq};
    return 0;
}

/* One event of result.events: its span and sequence. */
static int s_on_event(s_rd_t *r, void *user)
{
    hy_since_t *page = user;
    s_ws(r);
    const char *start = r->p;
    uint64_t seq = 0;
    if (s_object(r, 2, s_on_event_member, &seq) != 0)
        return -1;
    return s_push(page, start, (size_t)(r->p - start), seq);
}

static int s_on_result_member(s_rd_t *r, const char *k, size_t kl, void *user)
{
    hy_since_t *page = user;
    if (s_is(k, kl, "last_seq"))
        return s_u64(r, &page->last_seq);
    if (!s_is(k, kl, "events"))
        return s_value(r, 2);
    page->has_events = true;
    return s_array(r, 1, s_on_event, page);
}

static int s_on_reply_member(s_rd_t *r, const char *k, size_t kl, void *user)
{
    hy_since_t *page = user;
    if (s_is(k, kl, "id")) {
        const char *s;
        size_t n;
        if (s_string(r, &s, &n) != 0)
            return -1;
        snprintf(page->id, sizeof page->id, "%.*s", (int)(n < sizeof page->id ? n : 0), s);
        return 0;
    }
    if (s_is(k, kl, "status")) {
        uint64_t v;
        if (s_u64(r, &v) != 0)
            return -1;
        page->status = (int)v;
        return 0;
    }
    if (s_is(k, kl, "result")) {
        s_ws(r);
        if (r->p < r->end && *r->p == '{')
            return s_object(r, 1, s_on_result_member, page);
    }
    return s_value(r, 1);
}

int hy_since_parse(hy_since_t *page, const char *text, size_t len)
{
    page->n = 0;
    page->last_seq = 0;
    page->status = 0;
    page->id[0] = '\0';
    page->has_events = false;
    s_rd_t r = {text, text + len};
    if (s_object(&r, 0, s_on_reply_member, page) != 0)
        return -1;
    s_ws(&r);
    return r.p == r.end ? 0 : -1;
}

void hy_since_free(hy_since_t *page)
{
    free(page->items);
    page->items = NULL;
    page->n = page->cap = 0;
}

/* --- decoding one event ------------------------------------------------------------------------
 * A builder over the text, for the shape events have (compact, plain strings, integers): what
 * jansson's parser does one character at a time through its stream, here a loop over the span.
 * A string with escapes or a number that is not a plain integer is handed to json_loadb alone;
 * anything else unusual (a non-ASCII or escaped key, deep nesting, invalid text) gives up, and
 * the caller decodes the whole event with json_loadb: the answer is always json_loadb's. */

/* The value in [start, r->p) decoded by jansson itself. */
static json_t *s_build_jansson(const char *start, s_rd_t *r)
{
    return json_loadb(start, (size_t)(r->p - start), JSON_DECODE_ANY, NULL);
}

#define S_DEPTH_MAX 32

static json_t *s_build(s_rd_t *r, int depth);

/* A string without escapes; NULL (give up) otherwise. json_stringn checks the UTF-8. */
static json_t *s_build_string(s_rd_t *r, bool key_only, const char **ks, size_t *kn)
{
    const char *start = ++r->p;   /* after the quote */
    bool ascii = true;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"')
            break;
        if (c == '\\' && !key_only) {   /* escapes: jansson's own */
            r->p = start - 1;
            const char *q;
            size_t n;
            return s_string(r, &q, &n) == 0 ? s_build_jansson(start - 1, r) : NULL;
        }
        if (c == '\\' || c < 0x20)
            return NULL;
        ascii = ascii && c < 0x80;
        r->p++;
    }
    if (r->p >= r->end)
        return NULL;
    size_t n = (size_t)(r->p - start);
    r->p++;
    if (key_only) {   /* keys: ASCII only here (the caller gives up otherwise) */
        *ks = start;
        *kn = n;
        return ascii ? json_null() : NULL;
    }
    return json_stringn(start, n);
}

/* An integer as jansson reads one ("-"?, no leading zero, within json_int_t); NULL otherwise
 * (a real number, an overflow). */
static json_t *s_build_number(s_rd_t *r)
{
    const char *p = r->p;
    bool neg = p < r->end && *p == '-';
    if (neg)
        p++;
    if (p >= r->end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < r->end && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    uint64_t v = 0;
    const char *digits = p;
    while (p < r->end && *p >= '0' && *p <= '9' && p - digits < 18)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p < r->end && *p && strchr("0123456789.eE", *p) != NULL) {
        const char *start = r->p;   /* 19 digits or more, or a real: jansson's own */
        while (r->p < r->end && *r->p && strchr("0123456789+-.eE", *r->p) != NULL)
            r->p++;
        return s_build_jansson(start, r);
    }
    r->p = p;
    return json_integer(neg ? -(json_int_t)v : (json_int_t)v);
}

/* After a member or element: 1 when another follows (past its comma), 0 at close (past it),
 * -1 otherwise. */
static int s_after_item(s_rd_t *r, char close)
{
    s_ws(r);
    if (r->p < r->end && *r->p == ',') {
        r->p++;
        return 1;
    }
    return s_expect(r, close) == 0 ? 0 : -1;
}

/* Past the opening bracket: true when the container closes at once (past its close). */
static bool s_opened_empty(s_rd_t *r, char close)
{
    r->p++;
    s_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return true;
    }
    return false;
}

static json_t *s_build_object(s_rd_t *r, int depth)
{
    json_t *obj = json_object();
    if (s_opened_empty(r, '}'))
        return obj;
    while (obj) {
        const char *k;
        size_t kn;
        s_ws(r);
        if (r->p >= r->end || *r->p != '"' || !s_build_string(r, true, &k, &kn) || s_expect(r, ':') != 0)
            break;
        json_t *v = s_build(r, depth + 1);
        if (!v || json_object_setn_new_nocheck(obj, k, kn, v) != 0)
            break;
        int next = s_after_item(r, '}');
        if (next == 0)
            return obj;
        if (next < 0)
            break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *s_build_array(s_rd_t *r, int depth)
{
    json_t *arr = json_array();
    if (s_opened_empty(r, ']'))
        return arr;
    while (arr) {
        json_t *v = s_build(r, depth + 1);
        if (!v || json_array_append_new(arr, v) != 0)
            break;
        int next = s_after_item(r, ']');
        if (next == 0)
            return arr;
        if (next < 0)
            break;
    }
    json_decref(arr);
    return NULL;
}

static bool s_literal(s_rd_t *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static json_t *s_build(s_rd_t *r, int depth)
{
    s_ws(r);
    if (r->p >= r->end || depth > S_DEPTH_MAX)
        return NULL;
    switch (*r->p) {
    case '{': return s_build_object(r, depth);
    case '[': return s_build_array(r, depth);
    case '"': return s_build_string(r, false, NULL, NULL);
    case 't': return s_literal(r, "true") ? json_true() : NULL;
    case 'f': return s_literal(r, "false") ? json_false() : NULL;
    case 'n': return s_literal(r, "null") ? json_null() : NULL;
    default: return s_build_number(r);
    }
}

json_t *hy_since_decode(const char *line, size_t len)
{
    s_rd_t r = {line, line + len};
    s_ws(&r);
    json_t *v = r.p < r.end && (*r.p == '{' || *r.p == '[') ? s_build(&r, 0) : NULL;
    if (v) {
        s_ws(&r);
        if (r.p == r.end)
            return v;
        json_decref(v);
    }
    return json_loadb(line, len, 0, NULL);
}
