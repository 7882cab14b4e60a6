/*
 * happened.h — dates as they happened.
 *
 * A record carries the date its fact happened (a registration, a referral, a stage change, a
 * delivered service) besides the time it was recorded (created_at). Staff enter last year's
 * lists with their real dates, so a past date is accepted down to the programme's start and
 * never after today. The start is HY_PROGRAMME_START (Jalali "1393/01/01" or ISO
 * "2014-03-21"; default 1393/01/01, the start of the programme's first year).
 */
#ifndef HY_HAPPENED_H
#define HY_HAPPENED_H

#include "service.h"

/* The programme start as "YYYY-MM-DD", read from HY_PROGRAMME_START once per process (an
 * unreadable value falls back to the default and is logged). Static: do not free. */
const char *hy_programme_start(void);

/* Checks a date a record says something happened on ("YYYY-MM-DD", already checked by the
 * spec). Returns 0, or what hy_fail returned: 422 future_date (after ctx->today) or 422
 * before_programme_start, both naming field. */
int hy_happened_check(hy_ctx_t *ctx, const char *field, const char *iso);

#endif
