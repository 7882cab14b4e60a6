/*
 * fa_calendar.c — the Jalali (Solar Hijri) calendar, Gregorian day arithmetic, date text forms,
 * ages and Jalali months.
 *
 * Pure functions over libc only; no floating point, no global state. The Jalali year start
 * (Nowruz) comes from the astronomical 'breaks' table, and every other Jalali fact (leap years,
 * month lengths, conversions) is derived from consecutive Nowruz day numbers, so the two
 * directions of conversion cannot disagree.
 */
#include "fa.h"
#include "fa_internal.h"

#include <stdlib.h>
#include <string.h>

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

/* Reads nfields numbers "Y{4} sep N{mmin..2} [sep N{mmin..2}]" (any mix of ASCII, Persian and
 * Arabic digits), where sep is one of seps and every separator is the same. Range checks are
 * the caller's. */
static int s_scan_fields(const char *s, const char *seps, int nfields, int mmin, int val[3])
{
    if (!s)
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    int cnt[3] = {0, 0, 0}, field = 0;
    uint32_t sep = 0;
    val[0] = val[1] = val[2] = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = hy_fa_utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        i += k;
        int dv = hy_fa_digit_value(cp);
        if (dv >= 0) {
            if (++cnt[field] > (field == 0 ? 4 : 2))
                return -1;
            val[field] = val[field] * 10 + dv;
        } else if (cp < 0x80 && cp != 0 && strchr(seps, (int)cp) && field < nfields - 1 &&
                   (sep == 0 || sep == cp)) {
            sep = cp;
            field++;
        } else {
            return -1;
        }
    }
    if (field != nfields - 1 || cnt[0] != 4)
        return -1;
    for (int f = 1; f < nfields; f++)
        if (cnt[f] < mmin)
            return -1;
    return 0;
}

/* A whole date: three fields. */
static int s_scan_date(const char *s, const char *seps, int mmin, int *y, int *m, int *d)
{
    int val[3];
    if (s_scan_fields(s, seps, 3, mmin, val) != 0)
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

/* Years passed from the Jalali birth date to the Jalali date of on. */
int hy_age_on_jalali(const char *birth_iso, const char *on_iso)
{
    int gy, gm, gd, by, bm, bd, oy, om, od;
    if (hy_date_parse_iso(birth_iso, &gy, &gm, &gd) != 0 ||
        hy_gregorian_to_jalali(gy, gm, gd, &by, &bm, &bd) != 0 ||
        hy_date_parse_iso(on_iso, &gy, &gm, &gd) != 0 ||
        hy_gregorian_to_jalali(gy, gm, gd, &oy, &om, &od) != 0)
        return -1;
    if (oy < by || (oy == by && (om < bm || (om == bm && od < bd))))
        return -1;
    int age = oy - by;
    if (om < bm || (om == bm && od < bd))
        age--;
    return age;
}

/* ------------------------------------------------------------- Jalali months ------------ */

/* Lenient as staff type it, like hy_date_parse_jalali: '/' or '-', one or two month digits. */
int hy_month_parse_jalali(const char *s, int *jy, int *jm)
{
    int val[3];
    if (s_scan_fields(s, "/-", 2, 1, val) != 0 || !s_jalali_year_ok(val[0]) || val[1] < 1 ||
        val[1] > 12)
        return -1;
    *jy = val[0];
    *jm = val[1];
    return 0;
}

int hy_jalali_month_of(const char *iso, int *jy, int *jm)
{
    int gy, gm, gd, y, m, d;
    if (hy_date_parse_iso(iso, &gy, &gm, &gd) != 0 || hy_gregorian_to_jalali(gy, gm, gd, &y, &m, &d) != 0)
        return -1;
    *jy = y;
    *jm = m;
    return 0;
}

/* Month arithmetic on the month number y*12 + m-1, then the day clamped to the month. */
int hy_jalali_add_months(int jy, int jm, int jd, int months, int *oy, int *om, int *od)
{
    int64_t days;
    if (s_jalali_to_days(jy, jm, jd, &days) != 0 || months < -12 * 1000 || months > 12 * 1000)
        return -1;
    int idx = jy * 12 + (jm - 1) + months;
    int y = idx / 12, m = idx % 12 + 1;
    int len = hy_jalali_month_length(y, m);
    if (len < 0)
        return -1;
    *oy = y;
    *om = m;
    *od = jd < len ? jd : len;
    return 0;
}
