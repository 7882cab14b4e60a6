/*
 * fa.c — Persian text normalisation, UTF-8 validation, the Jalali (Solar Hijri) calendar,
 * Gregorian day arithmetic, date text forms, Iranian national IDs and mobile numbers.
 *
 * Pure functions over libc only; no floating point, no global state. The Jalali year start
 * (Nowruz) comes from the astronomical 'breaks' table, and every other Jalali fact (leap years,
 * month lengths, conversions) is derived from consecutive Nowruz day numbers, so the two
 * directions of conversion cannot disagree.
 */
#include "fa.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- UTF-8 ---------------- */

/* Decodes one code point at p (n bytes available). Returns its length (1..4), or 0 when the
 * bytes are not well-formed UTF-8 (bad lead, truncated, overlong, surrogate, > U+10FFFF). */
static size_t s_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = p[0];
    size_t len;
    uint32_t v, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        len = 2, v = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3, v = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4, v = b & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte as lead, C0/C1 (always overlong), F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Encodes cp (a valid scalar value) at out; returns the number of bytes written. */
static size_t s_utf8_put(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* An embedded NUL is refused too: the strings we check are C strings, and a NUL inside the
 * stated length would silently truncate the value later. */
bool hy_utf8_valid(const char *s, size_t len)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = s_utf8_next(p + i, len - i, &cp);
        if (k == 0 || cp == 0)
            return false;
        i += k;
    }
    return true;
}

/* ------------------------------------------------------- character classes -------------- */

/* Value 0..9 of an ASCII, Persian (U+06F0..) or Arabic-Indic (U+0660..) digit, else -1. */
static int s_digit_value(uint32_t cp)
{
    if (cp >= '0' && cp <= '9')
        return (int)(cp - '0');
    if (cp >= 0x06F0 && cp <= 0x06F9)
        return (int)(cp - 0x06F0);
    if (cp >= 0x0660 && cp <= 0x0669)
        return (int)(cp - 0x0660);
    return -1;
}

/* White space that staff may type or paste: ASCII, NBSP, narrow NBSP and the Unicode spaces. */
static bool s_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Invisible format marks (ZWNJ, ZWJ, bidi marks/embeddings/isolates, BOM, soft hyphen) that
 * change nothing a reader sees, so they must not change a search key either. */
static bool s_is_invisible(uint32_t cp)
{
    return cp == 0x00AD || cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
           (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF;
}

/* The letters that are written two ways for one spelling (Arabic vs Persian forms, hamza
 * carriers, teh marbuta), mapped to the one form keys use; any other code point is kept. */
static uint32_t s_fold_letter(uint32_t cp)
{
    switch (cp) {
    case 0x064A: /* ي Arabic yeh */
    case 0x0649: /* ى alef maksura */
    case 0x0626: /* ئ yeh with hamza */
        return 0x06CC; /* ی */
    case 0x0643: /* ك Arabic kaf */
        return 0x06A9; /* ک */
    case 0x0629: /* ة teh marbuta */
    case 0x06C0: /* ۀ heh with yeh above */
        return 0x0647; /* ه */
    case 0x0622: /* آ alef with madda */
    case 0x0623: /* أ alef with hamza above */
    case 0x0625: /* إ alef with hamza below */
    case 0x0671: /* ٱ alef wasla */
        return 0x0627; /* ا */
    case 0x0624: /* ؤ waw with hamza */
        return 0x0648; /* و */
    default:
        return cp;
    }
}

/* Arabic harakat, superscript alef and tatweel: decoration, not spelling. */
static bool s_is_diacritic(uint32_t cp)
{
    return (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 || cp == 0x0640;
}

/* ------------------------------------------------------------- normalisation ------------- */

/* One pass: map each code point, drop the invisible ones, and fold runs of white space and
 * ZWNJ into one space. The output is never longer than the input (every mapping keeps or
 * shrinks the byte count: each folded letter is two bytes, like its target). */
char *hy_fa_normalize(const char *in)
{
    if (!in)
        return NULL;
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0;
    bool pending_space = false;
    while (i < n) {
        uint32_t cp;
        size_t k = s_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            free(out);
            return NULL;
        }
        i += k;
        if (s_is_space(cp) || cp == 0x200C) { /* white space and ZWNJ: a word boundary */
            pending_space = true;
            continue;
        }
        if (s_is_invisible(cp) || s_is_diacritic(cp))
            continue;
        int dv = s_digit_value(cp);
        if (dv >= 0)
            cp = (uint32_t)('0' + dv);
        else if (cp >= 'A' && cp <= 'Z')
            cp = cp - 'A' + 'a';
        else
            cp = s_fold_letter(cp);
        if (pending_space && o > 0)
            out[o++] = ' ';
        pending_space = false;
        o += s_utf8_put(out + o, cp);
    }
    out[o] = '\0';
    return out;
}

/* Normalised text without its word boundaries. */
char *hy_fa_key(const char *in)
{
    char *out = hy_fa_normalize(in);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; out[i]; i++)
        if (out[i] != ' ')
            out[o++] = out[i];
    out[o] = '\0';
    return out;
}

/* Normalises once, then cuts the text at its single ASCII spaces. */
int hy_fa_words(const char *in, hy_fa_words_t *w)
{
    memset(w, 0, sizeof *w);
    w->text = hy_fa_normalize(in);
    if (!w->text)
        goto fail;
    size_t n = 0;
    for (char *p = w->text; *p; p++)
        n += (*p != ' ' && (p == w->text || p[-1] == ' '));
    if (n == 0)
        return 0;
    w->word = malloc(n * sizeof *w->word);
    if (!w->word)
        goto fail;
    for (char *p = w->text; *p; p++) {
        if (*p == ' ')
            *p = '\0';
        else if (p == w->text || p[-1] == '\0')
            w->word[w->count++] = p;
    }
    return 0;
fail:
    hy_fa_words_free(w);
    return -1;
}

void hy_fa_words_free(hy_fa_words_t *w)
{
    free(w->word);
    free(w->text);
    memset(w, 0, sizeof *w);
}

/* Digits to ASCII and trimming only; the rest of the text (letters, ZWNJ, inner spaces) is
 * copied byte for byte. */
char *hy_fa_ascii_digits(const char *in)
{
    if (!in)
        return NULL;
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0, keep = 0; /* keep = output length up to the last non-space */
    while (i < n) {
        uint32_t cp;
        size_t k = s_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            free(out);
            return NULL;
        }
        bool space = s_is_space(cp);
        if (space && o == 0) { /* leading white space */
            i += k;
            continue;
        }
        int dv = s_digit_value(cp);
        if (dv >= 0)
            out[o++] = (char)('0' + dv);
        else {
            memcpy(out + o, in + i, k);
            o += k;
        }
        if (!space)
            keep = o;
        i += k;
    }
    out[keep] = '\0';
    return out;
}

/* ------------------------------------------------------------- Gregorian days ------------ */

static bool s_greg_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_greg_month_length(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && s_greg_leap(y)) ? 29 : len[m - 1];
}

/* A real Gregorian date in years 1..9999 (the range the day arithmetic is defined for). */
static bool s_greg_valid(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= s_greg_month_length(y, m);
}

/* Counts days with the year starting on 1 March, so the leap day is the last day of the
 * shifted year and each 400-year era has exactly 146097 days. */
int64_t hy_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2 ? 1 : 0);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                             /* 0..399 */
    int64_t mp = (m + 9) % 12;                                /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;                 /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;      /* 0..146096 */
    return era * 146097 + doe - 719468;                       /* 719468: 0000-03-01 .. 1970 */
}

/* The inverse of hy_days_from_civil, with the same March-based era decomposition. */
void hy_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                  /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                                /* 0..11 */
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    int64_t yy = yoe + era * 400 + (mm <= 2 ? 1 : 0);
    *y = (int)yy;
    *m = (int)mm;
    *d = (int)dd;
}

/* ------------------------------------------------------------- Jalali ------------------- */

/* Jalali years at which the 33-year leap cycle pattern shifts (the astronomical 'breaks'). */
static const int s_breaks[] = {-61,  9,    38,   199,  426,  686,  756,  818,  1111, 1181,
                               1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178};
#define S_NBREAKS (sizeof s_breaks / sizeof s_breaks[0])

/* Day number (days since 1970-01-01) of 1 Farvardin of year jy. Counts the Jalali leap years
 * since AD 621 through the break table (8 per full 33-year cycle, one per 4 years in the
 * remainder), subtracts the Gregorian ones, and so finds which March day Nowruz falls on.
 * Only called with jy in HY_JALALI_MIN_YEAR-1 .. HY_JALALI_MAX_YEAR+1. */
static int64_t s_nowruz(int jy)
{
    int jleaps = -14; /* calibration so that the count starts at AD 621 */
    int start = s_breaks[0], span = 0;
    for (size_t i = 1; i < S_NBREAKS; i++) {
        span = s_breaks[i] - start; /* length of the break interval holding (or before) jy */
        if (jy < s_breaks[i])
            break;
        jleaps += span / 33 * 8 + (span % 33) / 4;
        start = s_breaks[i];
    }
    int into = jy - start; /* years elapsed in the current interval */
    jleaps += into / 33 * 8 + (into % 33 + 3) / 4;
    if (span % 33 == 4 && span - into == 4) /* interval ending in a 4-year stub */
        jleaps++;
    int gy = jy + 621;
    int gleaps = gy / 4 - (gy / 100 + 1) * 3 / 4 - 150;
    return hy_days_from_civil(gy, 3, 20 + jleaps - gleaps);
}

static bool s_jalali_year_ok(int jy)
{
    return jy >= HY_JALALI_MIN_YEAR && jy <= HY_JALALI_MAX_YEAR;
}

/* A year is leap exactly when it is 366 days from one Nowruz to the next. */
bool hy_jalali_is_leap(int jy)
{
    if (!s_jalali_year_ok(jy))
        return false;
    return s_nowruz(jy + 1) - s_nowruz(jy) == 366;
}

/* Six months of 31 days, five of 30, and Esfand of 29 (30 in a leap year). */
int hy_jalali_month_length(int jy, int jm)
{
    if (!s_jalali_year_ok(jy) || jm < 1 || jm > 12)
        return -1;
    if (jm <= 6)
        return 31;
    if (jm <= 11)
        return 30;
    return hy_jalali_is_leap(jy) ? 30 : 29;
}

/* Checked Jalali date to its day number. */
static int s_jalali_to_days(int jy, int jm, int jd, int64_t *days)
{
    int ml = hy_jalali_month_length(jy, jm);
    if (ml < 0 || jd < 1 || jd > ml)
        return -1;
    int off = jm <= 7 ? (jm - 1) * 31 : 186 + (jm - 7) * 30;
    *days = s_nowruz(jy) + off + jd - 1;
    return 0;
}

/* Nowruz of jy plus the day of the year, then back to the Gregorian calendar. */
int hy_jalali_to_gregorian(int jy, int jm, int jd, int *gy, int *gm, int *gd)
{
    int64_t days;
    if (s_jalali_to_days(jy, jm, jd, &days) != 0)
        return -1;
    hy_civil_from_days(days, gy, gm, gd);
    return 0;
}

/* Nowruz falls on 20..22 March, so the Jalali year is gy-621 from Nowruz on, else gy-622. */
int hy_gregorian_to_jalali(int gy, int gm, int gd, int *jy, int *jm, int *jd)
{
    if (!s_greg_valid(gy, gm, gd) || gy < HY_JALALI_MIN_YEAR + 621 ||
        gy > HY_JALALI_MAX_YEAR + 622)
        return -1;
    int64_t days = hy_days_from_civil(gy, gm, gd);
    int y = gy - 621;
    int64_t start = s_nowruz(y);
    if (days < start) {
        y--;
        start = s_nowruz(y);
    }
    if (!s_jalali_year_ok(y))
        return -1;
    int k = (int)(days - start); /* 0..365 */
    if (k < 186) {
        *jm = 1 + k / 31;
        *jd = 1 + k % 31;
    } else {
        k -= 186;
        *jm = 7 + k / 30;
        *jd = 1 + k % 30;
    }
    *jy = y;
    return 0;
}

/* ------------------------------------------------------------- date text ---------------- */

/* Reads "Y{4} sep M{mmin..2} sep D{mmin..2}" (any mix of ASCII/Persian/Arabic digits), where
 * sep is one of seps and both separators are the same. Range checks are the caller's. */
static int s_scan_date(const char *s, const char *seps, int mmin, int *y, int *m, int *d)
{
    if (!s)
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    int val[3] = {0, 0, 0}, cnt[3] = {0, 0, 0}, field = 0;
    uint32_t sep = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = s_utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        i += k;
        int dv = s_digit_value(cp);
        if (dv >= 0) {
            if (++cnt[field] > (field == 0 ? 4 : 2))
                return -1;
            val[field] = val[field] * 10 + dv;
        } else if (cp < 0x80 && cp != 0 && strchr(seps, (int)cp) && field < 2 &&
                   (sep == 0 || sep == cp)) {
            sep = cp;
            field++;
        } else {
            return -1;
        }
    }
    if (field != 2 || cnt[0] != 4 || cnt[1] < mmin || cnt[2] < mmin)
        return -1;
    *y = val[0];
    *m = val[1];
    *d = val[2];
    return 0;
}

/* Strict "YYYY-MM-DD": two-digit month and day, the date must exist. */
int hy_date_parse_iso(const char *s, int *y, int *m, int *d)
{
    int yy, mm, dd;
    if (s_scan_date(s, "-", 2, &yy, &mm, &dd) != 0 || !s_greg_valid(yy, mm, dd))
        return -1;
    *y = yy, *m = mm, *d = dd;
    return 0;
}

/* Lenient as staff type it: '/' or '-', one- or two-digit month and day. */
int hy_date_parse_jalali(const char *s, int *y, int *m, int *d)
{
    int yy, mm, dd;
    int64_t days;
    if (s_scan_date(s, "/-", 1, &yy, &mm, &dd) != 0 || s_jalali_to_days(yy, mm, dd, &days) != 0)
        return -1;
    *y = yy, *m = mm, *d = dd;
    return 0;
}

/* Writes "YYYY<sep>MM<sep>DD" (y in 0..9999) without snprintf, so no truncation warnings. */
static void s_format_date(char out[11], int y, int m, int d, char sep)
{
    out[0] = (char)('0' + y / 1000 % 10);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = sep;
    out[5] = (char)('0' + m / 10 % 10);
    out[6] = (char)('0' + m % 10);
    out[7] = sep;
    out[8] = (char)('0' + d / 10 % 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

/* Jalali text in, canonical "YYYY-MM-DD" out. */
int hy_date_jalali_to_iso(const char *jalali, char out[11])
{
    int jy, jm, jd, gy, gm, gd;
    if (hy_date_parse_jalali(jalali, &jy, &jm, &jd) != 0 ||
        hy_jalali_to_gregorian(jy, jm, jd, &gy, &gm, &gd) != 0)
        return -1;
    s_format_date(out, gy, gm, gd, '-');
    return 0;
}

/* ISO text in, "YYYY/MM/DD" Jalali with ASCII digits out. */
int hy_date_iso_to_jalali(const char *iso, char out[11])
{
    int gy, gm, gd, jy, jm, jd;
    if (hy_date_parse_iso(iso, &gy, &gm, &gd) != 0 ||
        hy_gregorian_to_jalali(gy, gm, gd, &jy, &jm, &jd) != 0)
        return -1;
    s_format_date(out, jy, jm, jd, '/');
    return 0;
}

/* Iran has kept a fixed UTC+03:30 since DST was abolished in 2022. Days are floored (correct
 * for t < 0) and clamped to years 1..9999 so out always holds a well-formed date. */
void hy_date_today(int64_t t, char out[11])
{
    const int64_t off = 3 * 3600 + 30 * 60;
    const int64_t lo = hy_days_from_civil(1, 1, 1), hi = hy_days_from_civil(9999, 12, 31);
    int64_t days;
    if (t > INT64_MAX - off)
        days = hi;
    else {
        int64_t local = t + off;
        days = local / 86400;
        if (local % 86400 < 0)
            days--;
    }
    if (days < lo)
        days = lo;
    if (days > hi)
        days = hi;
    int y, m, d;
    hy_civil_from_days(days, &y, &m, &d);
    s_format_date(out, y, m, d, '-');
}

/* Birthday reached when (month, day) of on is at or past that of birth; so a 29 February
 * birthday counts from 1 March in common years. Birth after on is a bad date. */
int hy_age_on(const char *birth_iso, const char *on_iso)
{
    int by, bm, bd, oy, om, od;
    if (hy_date_parse_iso(birth_iso, &by, &bm, &bd) != 0 ||
        hy_date_parse_iso(on_iso, &oy, &om, &od) != 0)
        return -1;
    if (hy_days_from_civil(by, bm, bd) > hy_days_from_civil(oy, om, od))
        return -1;
    int age = oy - by;
    if (om < bm || (om == bm && od < bd))
        age--;
    return age;
}

/* ------------------------------------------------------------- IDs and phones ----------- */

/* Collects up to max ASCII digits from in, skipping white space, '-' and invisible marks (a
 * '+' is allowed only before the first digit, and only when plus is non-NULL). Returns the
 * digit count, or -1 for any other character, invalid UTF-8 or more than max digits. */
static int s_collect_digits(const char *in, char *buf, int max, bool *plus)
{
    if (!in)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), i = 0;
    int cnt = 0;
    if (plus)
        *plus = false;
    while (i < n) {
        uint32_t cp;
        size_t k = s_utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        i += k;
        int dv = s_digit_value(cp);
        if (dv >= 0) {
            if (cnt >= max)
                return -1;
            buf[cnt++] = (char)('0' + dv);
        } else if (cp == '+' && plus && !*plus && cnt == 0) {
            *plus = true;
        } else if (!(s_is_space(cp) || cp == '-' || s_is_invisible(cp))) {
            return -1;
        }
    }
    buf[cnt] = '\0';
    return cnt;
}

/* The check digit rule of DOMAIN.md: weights 10..2 over the first nine digits, mod 11. */
int hy_national_id_normalize(const char *in, char out[11])
{
    char buf[11];
    int cnt = s_collect_digits(in, buf, 10, NULL);
    if (cnt < 8)
        return HY_NID_FORMAT;
    char id[11];
    int pad = 10 - cnt;
    memset(id, '0', (size_t)pad);
    memcpy(id + pad, buf, (size_t)cnt + 1);
    bool all_same = true;
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        if (id[i] != id[0])
            all_same = false;
        if (i < 9)
            sum += (id[i] - '0') * (10 - i);
    }
    int r = sum % 11, check = id[9] - '0';
    if (all_same || (r < 2 ? check != r : check != 11 - r))
        return HY_NID_CHECK;
    memcpy(out, id, 11);
    return HY_NID_OK;
}

/* Reduces every accepted prefix form to the 10 digits "9xxxxxxxxx", then prepends '0'. */
int hy_mobile_normalize(const char *in, char out[12])
{
    char buf[15];
    bool plus;
    int cnt = s_collect_digits(in, buf, 14, &plus);
    const char *core = NULL;
    if (cnt < 0)
        return -1;
    if (plus) {
        if (cnt == 12 && strncmp(buf, "98", 2) == 0)
            core = buf + 2;
    } else if (cnt == 11 && buf[0] == '0') {
        core = buf + 1;
    } else if (cnt == 10) {
        core = buf;
    } else if (cnt == 14 && strncmp(buf, "0098", 4) == 0) {
        core = buf + 4;
    } else if (cnt == 12 && strncmp(buf, "98", 2) == 0) {
        core = buf + 2;
    }
    if (!core || core[0] != '9')
        return -1;
    out[0] = '0';
    memcpy(out + 1, core, 11); /* 10 digits and the NUL */
    return 0;
}
