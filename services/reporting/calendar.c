/*
 * calendar.c — Solar Hijri arithmetic for the hot path of applying events: a loan's schedule
 * adds months to its disbursement day (proj_loans.c), once per installment and more to find
 * the offset of its first due date. shared/fa_calendar.c derives each year's Nowruz from the
 * break table on every call; here every Nowruz of HY_JALALI_MIN_YEAR..HY_JALALI_MAX_YEAR+1 is
 * computed once (by fa_calendar.c, so the two always agree) and a conversion is a table look-up
 * and a few additions.
 */
#include <pthread.h>

#include "fa.h"
#include "reporting.h"

#define NYEARS (HY_JALALI_MAX_YEAR - HY_JALALI_MIN_YEAR + 2)

static int64_t s_nowruz[NYEARS];
static bool s_ok;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init(void)
{
    for (int i = 0; i < NYEARS; i++) {
        int gy, gm, gd, jy = HY_JALALI_MIN_YEAR + i;
        if (jy > HY_JALALI_MAX_YEAR) {   /* the year after the last: from its last day */
            int len = hy_jalali_month_length(jy - 1, 12);
            if (len < 0 || hy_jalali_to_gregorian(jy - 1, 12, len, &gy, &gm, &gd) != 0)
                return;
            s_nowruz[i] = hy_days_from_civil(gy, gm, gd) + 1;
        } else if (hy_jalali_to_gregorian(jy, 1, 1, &gy, &gm, &gd) != 0) {
            return;
        } else {
            s_nowruz[i] = hy_days_from_civil(gy, gm, gd);
        }
    }
    s_ok = true;
}

/* Days from Nowruz to the first of month jm (1..12). */
static int s_month_start(int jm)
{
    return jm <= 7 ? (jm - 1) * 31 : 186 + (jm - 7) * 30;
}

bool rp_jalali_of(int64_t day, int *jy, int *jm, int *jd)
{
    if (pthread_once(&s_once, s_init) != 0 || !s_ok || day < s_nowruz[0] || day >= s_nowruz[NYEARS - 1])
        return false;
    int lo = 0, hi = NYEARS - 1;   /* s_nowruz[lo] <= day < s_nowruz[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (s_nowruz[mid] <= day)
            lo = mid;
        else
            hi = mid;
    }
    int off = (int)(day - s_nowruz[lo]);
    *jy = HY_JALALI_MIN_YEAR + lo;
    *jm = off < 186 ? off / 31 + 1 : (off - 186) / 30 + 7;
    if (*jm > 12)
        *jm = 12;
    *jd = off - s_month_start(*jm) + 1;
    return true;
}

int rp_jalali_month_days(int jy, int jm)
{
    if (pthread_once(&s_once, s_init) != 0 || !s_ok || jy < HY_JALALI_MIN_YEAR || jy > HY_JALALI_MAX_YEAR ||
        jm < 1 || jm > 12)
        return -1;
    if (jm < 12)
        return jm <= 6 ? 31 : 30;
    int i = jy - HY_JALALI_MIN_YEAR;
    return (int)(s_nowruz[i + 1] - s_nowruz[i]) - 336;
}

bool rp_day_of_jalali(int jy, int jm, int jd, int64_t *day)
{
    int len = rp_jalali_month_days(jy, jm);
    if (len < 0 || jd < 1 || jd > len)
        return false;
    *day = s_nowruz[jy - HY_JALALI_MIN_YEAR] + s_month_start(jm) + jd - 1;
    return true;
}

bool rp_jalali_text(int64_t day, char out[11])
{
    int jy, jm, jd;
    if (!rp_jalali_of(day, &jy, &jm, &jd))
        return false;
    out[0] = (char)('0' + jy / 1000 % 10), out[1] = (char)('0' + jy / 100 % 10);
    out[2] = (char)('0' + jy / 10 % 10), out[3] = (char)('0' + jy % 10), out[4] = '/';
    out[5] = (char)('0' + jm / 10), out[6] = (char)('0' + jm % 10), out[7] = '/';
    out[8] = (char)('0' + jd / 10), out[9] = (char)('0' + jd % 10), out[10] = '\0';
    return true;
}
