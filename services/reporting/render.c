/*
 * render.c — the CSV renderings of the reports, and the Persian text helpers the renderings
 * share: a growable text buffer, Persian digits (۰-۹) with the Persian thousands (٬) and
 * decimal (٫) separators, Jalali dates, money in toman (1 toman = 10 rials, shown with its
 * tenth when the rials are not a whole number of toman, so nothing is rounded away) and basis
 * points as a percentage.
 *
 * CSV follows RFC 4180: CRLF line ends, a field with a comma, quote or line break in quotes
 * with its quotes doubled; UTF-8. The half-year report is `indicator,label_fa,value`, one row
 * per indicator in the report's order; the indicators table is `group,indicator,label_fa,value`
 * with the overall figures under group "(all)" and the unattributed ones under "(none)". A
 * figure with no value (a distinct count over a period that is not one half) is empty.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

#define FA_THOUSANDS "\xd9\xac"   /* U+066C ARABIC THOUSANDS SEPARATOR */
#define FA_DECIMAL "\xd9\xab"     /* U+066B ARABIC DECIMAL SEPARATOR */
#define FA_PERCENT "\xd9\xaa"     /* U+066A ARABIC PERCENT SIGN */

static void s_grow(rp_buf_t *b, size_t more)
{
    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = true;
        return;
    }
    b->buf = p, b->cap = cap;
}

/* Appends n bytes; a failed allocation marks the buffer failed (rp_buf_take then gives NULL). */
static void s_addn(rp_buf_t *b, const char *s, size_t n)
{
    s_grow(b, n);
    if (b->failed)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void rp_buf_add(rp_buf_t *b, const char *s)
{
    s_addn(b, s, strlen(s));
}

void rp_buf_addf(rp_buf_t *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
    } else if ((size_t)n < sizeof small) {
        s_addn(b, small, (size_t)n);
    } else {
        s_grow(b, (size_t)n);
        if (b->failed)
            return;
        va_start(ap, fmt);
        vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
    }
}

void rp_buf_html(rp_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': rp_buf_add(b, "&amp;"); break;
        case '<': rp_buf_add(b, "&lt;"); break;
        case '>': rp_buf_add(b, "&gt;"); break;
        case '"': rp_buf_add(b, "&quot;"); break;
        case '\'': rp_buf_add(b, "&#39;"); break;
        default: s_addn(b, s, 1);
        }
    }
}

void rp_buf_fa_text(rp_buf_t *b, const char *text)
{
    for (; *text; text++) {
        if (*text >= '0' && *text <= '9') {
            char d[3] = {(char)0xdb, (char)(0xb0 + (*text - '0')), 0};
            rp_buf_add(b, d);
        } else {
            s_addn(b, text, 1);
        }
    }
}

void rp_buf_fa_plain(rp_buf_t *b, int64_t v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)v);
    rp_buf_fa_text(b, digits);
}

void rp_buf_fa_int(rp_buf_t *b, int64_t v)
{
    char digits[32];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    if (v < 0)
        rp_buf_add(b, "-");
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        char one[2] = {digits[i], 0};
        rp_buf_fa_text(b, one);
        if ((n - i - 1) % 3 == 0 && i + 1 < n)
            rp_buf_add(b, FA_THOUSANDS);
    }
}

void rp_buf_fa_toman(rp_buf_t *b, int64_t rials)
{
    int64_t toman = rials / 10, tenth = rials % 10;
    if (rials < 0 && tenth) {
        rp_buf_add(b, "-");
        toman = -toman, tenth = -tenth;
    }
    rp_buf_fa_int(b, toman);
    if (tenth) {
        char d[2] = {(char)('0' + tenth), 0};
        rp_buf_add(b, FA_DECIMAL);
        rp_buf_fa_text(b, d);
    }
    rp_buf_add(b, " تومان");
}

void rp_buf_fa_bp(rp_buf_t *b, int64_t bp)
{
    char frac[4];
    rp_buf_fa_int(b, bp / 100);
    snprintf(frac, sizeof frac, "%02d", (int)((bp < 0 ? -bp : bp) % 100));
    rp_buf_add(b, FA_DECIMAL);
    rp_buf_fa_text(b, frac);
    rp_buf_add(b, FA_PERCENT);
}

void rp_buf_fa_jalali(rp_buf_t *b, const char *iso)
{
    char jal[11];
    if (iso && hy_date_iso_to_jalali(iso, jal) == 0)
        rp_buf_fa_text(b, jal);
}

char *rp_buf_take(rp_buf_t *b)
{
    char *out = b->failed ? NULL : b->buf;
    if (b->failed)
        free(b->buf);
    if (out == NULL && !b->failed)
        out = strdup("");
    b->buf = NULL;
    b->len = b->cap = 0;
    return out;
}

/* --- CSV ------------------------------------------------------------------------------------- */

static void s_csv_field(rp_buf_t *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        rp_buf_add(b, s);
        return;
    }
    rp_buf_add(b, "\"");
    for (; *s; s++)
        *s == '"' ? rp_buf_add(b, "\"\"") : s_addn(b, s, 1);
    rp_buf_add(b, "\"");
}

/* One row per indicator of figures ({"name": value|null}), after a leading group column when
 * group is not NULL. */
static void s_csv_rows(rp_buf_t *b, const char *group, const json_t *figures)
{
    for (size_t i = 0; i < rp_nindicators; i++) {
        json_t *v = json_object_get(figures, rp_indicators[i].name);
        if (group) {
            s_csv_field(b, group);
            rp_buf_add(b, ",");
        }
        s_csv_field(b, rp_indicators[i].name);
        rp_buf_add(b, ",");
        s_csv_field(b, rp_indicators[i].label_fa);
        rp_buf_add(b, ",");
        if (json_is_integer(v))
            rp_buf_addf(b, "%lld", (long long)json_integer_value(v));
        rp_buf_add(b, "\r\n");
    }
}

char *rp_render_csv(const json_t *report)
{
    rp_buf_t b = {0};
    rp_buf_add(&b, "indicator,label_fa,value\r\n");
    s_csv_rows(&b, NULL, json_object_get(report, "indicators"));
    return rp_buf_take(&b);
}

char *rp_render_indicators_csv(const json_t *table)
{
    rp_buf_t b = {0};
    size_t i;
    json_t *g;
    rp_buf_add(&b, "group,indicator,label_fa,value\r\n");
    s_csv_rows(&b, "(all)", json_object_get(table, "total"));
    json_array_foreach(json_object_get(table, "groups"), i, g) {
        const char *key = rp_str(g, "key");
        s_csv_rows(&b, key ? key : "(none)", json_object_get(g, "indicators"));
    }
    return rp_buf_take(&b);
}
