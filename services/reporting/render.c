/*
 * render.c — the CSV renderings of the reports, and the Persian text helpers the renderings
 * share: a growable text buffer, Persian digits (۰-۹) with the Persian thousands (٬) and
 * decimal (٫) separators, Jalali dates, money in whole toman (1 toman = 10 rials, rounded to
 * the nearest toman as a printed report shows it; the exact rials are in the CSV and JSON) and
 * basis points as a whole percentage, rounded.
 *
 * CSV follows RFC 4180: CRLF line ends, a field with a comma, quote or line break in quotes
 * with its quotes doubled; UTF-8 with a byte-order mark (so that spreadsheet programs read the
 * Persian as UTF-8). The half-year report first says what it is, one row each: period, office,
 * status (interim or final, and the cut), as_of (the latest event time applied) and currency
 * (rials); then, after an empty line, `indicator,label_fa,value`, one row per indicator in the
 * report's order. The indicators table is `group,indicator,label_fa,value` with the overall
 * figures under group "(all)" and the unattributed ones under "(none)". A figure with no value
 * is empty. Money in CSV and JSON is in rials; the printed page shows toman.
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

void rp_buf_html(rp_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': hy_buf_add(b, "&amp;"); break;
        case '<': hy_buf_add(b, "&lt;"); break;
        case '>': hy_buf_add(b, "&gt;"); break;
        case '"': hy_buf_add(b, "&quot;"); break;
        case '\'': hy_buf_add(b, "&#39;"); break;
        default: hy_buf_addn(b, s, 1);
        }
    }
}

void rp_buf_fa_text(rp_buf_t *b, const char *text)
{
    for (; *text; text++) {
        if (*text >= '0' && *text <= '9') {
            char d[3] = {(char)0xdb, (char)(0xb0 + (*text - '0')), 0};
            hy_buf_add(b, d);
        } else {
            hy_buf_addn(b, text, 1);
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
        hy_buf_add(b, "-");
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        char one[2] = {digits[i], 0};
        rp_buf_fa_text(b, one);
        if ((n - i - 1) % 3 == 0 && i + 1 < n)
            hy_buf_add(b, FA_THOUSANDS);
    }
}

/* n / d rounded to the nearest whole, halves away from zero (d > 0). */
static int64_t s_round_div(int64_t n, int64_t d)
{
    return n >= 0 ? (n + d / 2) / d : -((-n + d / 2) / d);
}

void rp_buf_fa_toman(rp_buf_t *b, int64_t rials)
{
    rp_buf_fa_int(b, s_round_div(rials, 10));
    hy_buf_add(b, " تومان");
}

void rp_buf_fa_bp(rp_buf_t *b, int64_t bp)
{
    rp_buf_fa_int(b, s_round_div(bp, 100));
    hy_buf_add(b, FA_PERCENT);
}

void rp_buf_fa_jalali(rp_buf_t *b, const char *iso)
{
    char jal[11];
    if (iso && hy_date_iso_to_jalali(iso, jal) == 0)
        rp_buf_fa_text(b, jal);
}

/* --- CSV ------------------------------------------------------------------------------------- */

static void s_csv_field(rp_buf_t *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        hy_buf_add(b, s);
        return;
    }
    hy_buf_add(b, "\"");
    for (; *s; s++)
        *s == '"' ? hy_buf_add(b, "\"\"") : hy_buf_addn(b, s, 1);
    hy_buf_add(b, "\"");
}

/* One row per indicator of figures ({"name": value|null}), after a leading group column when
 * group is not NULL. */
static void s_csv_rows(rp_buf_t *b, const char *group, const json_t *figures)
{
    for (size_t i = 0; i < rp_nindicators; i++) {
        json_t *v = json_object_get(figures, rp_indicators[i].name);
        if (group) {
            s_csv_field(b, group);
            hy_buf_add(b, ",");
        }
        s_csv_field(b, rp_indicators[i].name);
        hy_buf_add(b, ",");
        s_csv_field(b, rp_indicators[i].label_fa);
        hy_buf_add(b, ",");
        if (json_is_integer(v))
            hy_buf_addf(b, "%lld", (long long)json_integer_value(v));
        hy_buf_add(b, "\r\n");
    }
}

#define BOM "\xef\xbb\xbf"

/* The latest event time of as_of, or "". */
const char *rp_latest_time(const json_t *as_of)
{
    const char *latest = "", *key;
    json_t *one;
    json_object_foreach((json_t *)as_of, key, one) {
        const char *t = hy_json_str(one, "time");
        if (t && strcmp(t, latest) > 0)
            latest = t;
    }
    return latest;
}

char *rp_render_csv(const json_t *report)
{
    rp_buf_t b = {0};
    const char *office = hy_json_str(report, "office"), *name = hy_json_str(report, "office_name");
    hy_buf_addf(&b, BOM "period,%d/%d,", (int)hy_json_int(report, "year", 0), (int)hy_json_int(report, "half", 0));
    hy_buf_addf(&b, "%s..%s\r\noffice,", hy_json_str(report, "from"), hy_json_str(report, "to"));
    s_csv_field(&b, office ? office : "(all)");
    hy_buf_add(&b, ",");
    s_csv_field(&b, name ? name : "همه دفاتر");
    hy_buf_addf(&b, "\r\nstatus,%s,cut %s\r\nas_of,%s,\r\ncurrency,IRR,rials\r\n\r\n",
                json_is_true(json_object_get(report, "interim")) ? "interim" : "final",
                hy_json_str(report, "cut"), rp_latest_time(json_object_get(report, "as_of")));
    hy_buf_add(&b, "indicator,label_fa,value\r\n");
    s_csv_rows(&b, NULL, json_object_get(report, "indicators"));
    return hy_buf_take(&b, NULL);
}

/* RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
static bool s_attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$&+-.^_`|~", c));
}

char *rp_csv_disposition(const json_t *report)
{
    rp_buf_t b = {0}, fa = {0};
    const char *office = hy_json_str(report, "office"), *name = hy_json_str(report, "office_name");
    int year = (int)hy_json_int(report, "year", 0), half = (int)hy_json_int(report, "half", 0);
    hy_buf_addf(&b, "attachment; filename=\"hamyar-report-%d-%d", year, half);
    for (const char *p = office; p && *p; p++) {   /* an ASCII name for old clients */
        char c[3] = {'-', s_attr_char((unsigned char)*p) && *p != '`' ? *p : '_', 0};
        hy_buf_add(&b, p == office ? c : c + 1);
    }
    hy_buf_add(&b, ".csv\"; filename*=UTF-8''");
    hy_buf_add(&fa, "گزارش-شش‌ماهه-");
    rp_buf_fa_plain(&fa, year);
    hy_buf_add(&fa, half == 1 ? "-نیمه-اول" : "-نیمه-دوم");
    if (name) {
        hy_buf_add(&fa, "-");
        hy_buf_add(&fa, name);
    }
    hy_buf_add(&fa, json_is_true(json_object_get(report, "interim")) ? "-موقت.csv" : ".csv");
    char *text = hy_buf_take(&fa, NULL);
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        if (s_attr_char(*p))
            hy_buf_addf(&b, "%c", *p);
        else
            hy_buf_addf(&b, "%%%02X", *p);
    free(text);
    return hy_buf_take(&b, NULL);
}

char *rp_render_indicators_csv(const json_t *table)
{
    rp_buf_t b = {0};
    size_t i;
    json_t *g;
    hy_buf_add(&b, "group,indicator,label_fa,value\r\n");
    s_csv_rows(&b, "(all)", json_object_get(table, "total"));
    json_array_foreach(json_object_get(table, "groups"), i, g) {
        const char *key = hy_json_str(g, "key");
        s_csv_rows(&b, key ? key : "(none)", json_object_get(g, "indicators"));
    }
    return hy_buf_take(&b, NULL);
}
