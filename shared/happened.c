/*
 * happened.c — the window a date of something that happened must fall in: the programme
 * start (HY_PROGRAMME_START) up to today in Tehran.
 */
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "happened.h"
#include "log.h"

#define DEFAULT_START "2014-03-21" /* 1393/01/01 */

static char s_start[11];

/* Accepts the Jalali or the ISO form; anything else keeps the default. */
static void s_load_start(void)
{
    const char *env = getenv("HY_PROGRAMME_START");
    int y, m, d;
    memcpy(s_start, DEFAULT_START, sizeof s_start);
    if (!env || !*env)
        return;
    if (hy_date_parse_iso(env, &y, &m, &d) == 0 && strlen(env) == 10)
        memcpy(s_start, env, sizeof s_start - 1);
    else if (hy_date_jalali_to_iso(env, s_start) != 0) {
        memcpy(s_start, DEFAULT_START, sizeof s_start);
        hy_log_warn("config", "HY_PROGRAMME_START=%s is no date; using %s", env, DEFAULT_START);
    }
}

const char *hy_programme_start(void)
{
    if (!s_start[0])
        s_load_start();
    return s_start;
}

int hy_happened_check(hy_ctx_t *ctx, const char *field, const char *iso)
{
    if (!iso)
        return 0;
    if (strcmp(iso, ctx->today) > 0)
        return hy_fail(ctx, 422, "future_date", field, "the date %s is in the future", iso);
    const char *start = hy_programme_start();
    if (strcmp(iso, start) < 0) {
        char jalali[11] = "";
        hy_date_iso_to_jalali(start, jalali);
        return hy_fail(ctx, 422, "before_programme_start", field,
                       "the date %s is before the programme started (%s, %s)", iso, start, jalali);
    }
    return 0;
}
