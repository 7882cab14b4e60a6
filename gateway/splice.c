/*
 * splice.c — a service's success reply turned into the HTTP body without decoding it.
 *
 * A service's reply is compact JSON that jansson wrote. Decoding all of it into a tree only to
 * add the X_jalali twins of its dates and encode it again was the largest cost of a GET in the
 * gateway's HTTP threads. Here the reply's text is read once: the top-level members give the
 * status, the ETag and the result's span, and the result is copied as it is, with each twin
 * written in after its date, exactly where hy_gw_add_jalali puts it (response.c), so the body is
 * the same bytes the tree would have given. Anything out of the plain case (an error, a
 * rendering, a feed, a text with escapes, an object of very many members) is left to the tree
 * (relay.c): hy_gw_splice says no and nothing is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fa.h"
#include "http.h"

#define MEMBERS_MAX 128   /* members of one object handled here; more: the tree's way */
#define DEPTH_MAX 24   /* nesting handled here (a stack frame each); deeper: the tree */

/* The end of the string that starts at p (its opening quote), or NULL. The text has no
 * backslash (checked before), so the string ends at the next quote. */
static const char *s_string_end(const char *p, const char *e)
{
    const char *q = p + 1 < e ? memchr(p + 1, '"', (size_t)(e - p - 1)) : NULL;
    return q ? q + 1 : NULL;
}

/* The end of the value that starts at p, or NULL when it is not one. */
static const char *s_value_end(const char *p, const char *e)
{
    if (p >= e)
        return NULL;
    if (*p == '"')
        return s_string_end(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < e; p++) {
            if (*p == '"') {
                if (!(p = s_string_end(p, e)))
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
        }
        return NULL;
    }
    const char *q = p;
    while (q < e && *q != ',' && *q != '}' && *q != ']')
        q++;
    return q > p ? q : NULL;
}

typedef struct {
    const char *key, *value, *value_end;   /* key without its quotes */
    size_t key_len;
} s_member_t;

/* The members of the object at p ('{'), into m; returns the end of the object, or NULL (not
 * an object the splice handles). */
static const char *s_members(const char *p, const char *e, s_member_t *m, size_t *n)
{
    *n = 0;
    p++;
    if (p < e && *p == '}')
        return p + 1;
    while (p < e) {
        const char *k_end;
        if (*p != '"' || !(k_end = s_string_end(p, e)) || k_end >= e || *k_end != ':' ||
            *n == MEMBERS_MAX)
            return NULL;
        const char *v = k_end + 1, *v_end = s_value_end(v, e);
        if (!v_end || v_end >= e)
            return NULL;
        m[*n] = (s_member_t){p + 1, v, v_end, (size_t)(k_end - p - 2)};
        (*n)++;
        if (*v_end == '}')
            return v_end + 1;
        if (*v_end != ',')
            return NULL;
        p = v_end + 1;
    }
    return NULL;
}

/* Whether the value is a string of exactly YYYY-MM-DD. */
static bool s_is_date(const char *v, const char *v_end)
{
    if (v_end - v != 12 || v[0] != '"' || v[11] != '"')
        return false;
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? v[i + 1] != '-' : (v[i + 1] < '0' || v[i + 1] > '9'))
            return false;
    }
    return true;
}

/* The Jalali twin of member i of m, as hy_gw_add_jalali decides it (response.c). */
static bool s_twin(const s_member_t *m, size_t n, size_t i, char jalali[11])
{
    const s_member_t *x = &m[i];
    if (!s_is_date(x->value, x->value_end) || x->key_len + 8 > 256 ||
        (x->key_len >= 7 && memcmp(x->key + x->key_len - 7, "_jalali", 7) == 0))
        return false;
    for (size_t j = 0; j < n; j++)
        if (m[j].key_len == x->key_len + 7 && memcmp(m[j].key, x->key, x->key_len) == 0 &&
            memcmp(m[j].key + x->key_len, "_jalali", 7) == 0)
            return false;
    char iso[11];
    memcpy(iso, x->value + 1, 10);
    iso[10] = '\0';
    return hy_date_iso_to_jalali(iso, jalali) == 0;
}

/* Copies the value at [p, e) to o with the twins added; -1 when it is not handled here. */
static int s_copy(hy_buf_t *o, const char *p, const char *e, int depth)
{
    if (depth > DEPTH_MAX)
        return -1;
    if (*p == '[') {
        hy_buf_addn(o, "[", 1);
        p++;
        while (p < e && *p != ']') {
            const char *v_end = s_value_end(p, e);
            if (!v_end || s_copy(o, p, v_end, depth + 1) != 0)
                return -1;
            p = v_end;
            if (p < e && *p == ',') {
                hy_buf_addn(o, ",", 1);
                p++;
            }
        }
        hy_buf_addn(o, "]", 1);
        return p < e ? 0 : -1;
    }
    if (*p != '{') {
        hy_buf_addn(o, p, (size_t)(e - p));
        return 0;
    }
    s_member_t m[MEMBERS_MAX];
    size_t n;
    if (!s_members(p, e, m, &n))
        return -1;
    hy_buf_addn(o, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            hy_buf_addn(o, ",", 1);
        hy_buf_addn(o, m[i].key - 1, m[i].key_len + 3);   /* "key": */
        if (s_copy(o, m[i].value, m[i].value_end, depth + 1) != 0)
            return -1;
        char jalali[11];
        if (s_twin(m, n, i, jalali)) {
            hy_buf_addn(o, ",", 1);
            hy_buf_addn(o, m[i].key - 1, m[i].key_len + 1);
            hy_buf_addn(o, "_jalali\":\"", 10);
            hy_buf_addn(o, jalali, 10);
            hy_buf_addn(o, "\"", 1);
        }
    }
    hy_buf_addn(o, "}", 1);
    return 0;
}

char *hy_gw_splice_result(const char *text, size_t len, size_t *out_len)
{
    if (len == 0 || memchr(text, '\\', len))
        return NULL;
    hy_buf_t o = {0};
    if (s_copy(&o, text, text + len, 0) != 0 || (hy_buf_addn(&o, "\n", 1), o.failed)) {
        hy_buf_free(&o);
        return NULL;
    }
    return hy_buf_take(&o, out_len);
}

/* A string member's text (no quotes) into out, or false. */
static bool s_string_member(const s_member_t *m, size_t n, const char *key, char *out,
                            size_t size)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        if (m[i].key_len != kl || memcmp(m[i].key, key, kl) != 0)
            continue;
        size_t vl = (size_t)(m[i].value_end - m[i].value);
        if (vl < 2 || m[i].value[0] != '"' || vl - 2 >= size)
            return false;
        memcpy(out, m[i].value + 1, vl - 2);
        out[vl - 2] = '\0';
        return true;
    }
    return false;
}

bool hy_gw_splice(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                  const char *url, const char *text, size_t len, enum MHD_Result *out)
{
    const hy_route_t *r = req->route;
    if (!r || !r->op || r->op->formats || r->op->long_poll || !text || len < 2 ||
        text[0] != '{' || memchr(text, '\\', len))
        return false;
    s_member_t m[MEMBERS_MAX];
    size_t n;
    if (s_members(text, text + len, m, &n) != text + len)
        return false;
    const s_member_t *result = NULL;
    long status = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].key_len == 5 && memcmp(m[i].key, "error", 5) == 0)
            return false;
        if (m[i].key_len == 6 && memcmp(m[i].key, "result", 6) == 0)
            result = &m[i];
        if (m[i].key_len == 6 && memcmp(m[i].key, "status", 6) == 0) {
            char *end;
            status = strtol(m[i].value, &end, 10);
            if (end != m[i].value_end)
                return false;
        }
    }
    if (!result || status < 200 || status > 299 || status == 204)
        return false;
    size_t body_len = 0;
    char *body = hy_gw_splice_result(result->value, (size_t)(result->value_end - result->value),
                                     &body_len);
    if (!body)
        return false;
    char etag[65];
    if (s_string_member(m, n, "etag", etag, sizeof etag))
        snprintf(req->etag, sizeof req->etag, "\"%s\"", etag);
    if (status == 201) {
        /* The Location names the new resource by its id (or code), as relay.c's does. */
        s_member_t rm[MEMBERS_MAX];
        size_t rn = 0;
        char id[200];
        if (result->value[0] == '{' && s_members(result->value, result->value_end, rm, &rn) &&
            (s_string_member(rm, rn, "id", id, sizeof id) ||
             s_string_member(rm, rn, "code", id, sizeof id)))
            hy_gw_location(req, url, id);
    }
    *out = hy_gw_send(gw, conn, req, (int)status, "application/json", body, body_len, false,
                      NULL, NULL);
    return true;
}
