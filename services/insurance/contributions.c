/*
 * contributions.c — monthly contributions, arrears, and the suspension of enrolments whose
 * contributions are overdue.
 *
 * A contribution pays one Solar Hijri month ("month_jalali": "1403/10"), the month the fund bills
 * by, of an insured enrolment (confirmed, or suspended and catching up). The older Gregorian
 * "month" ("2025-01") is still accepted for the consumers that send it: it means the Jalali
 * month its first day falls in. Every Jalali month holds exactly one first day of a Gregorian
 * month (Jalali months start between the 19th and the 23rd), so the two forms map one to one,
 * and both are stored and published. Its amount is split exactly, to the rial, between
 * the programme's subsidised share and the person's share: amount_rials = subsidy_rials +
 * person_rials, or 422 contribution_mismatch. No rounding happens here: whoever sets the
 * subsidy rate rounds before sending, and the three figures are stored and published as given.
 * A month is paid at most once (409 duplicate_contribution).
 *
 * Arrears, in Jalali months. Contributions are due for every month from the start date's Jalali
 * month on; a month's contribution falls due at the end of that month. On a date D, with U the
 * oldest unpaid month and C the Jalali month of D, the enrolment is C - U months overdue (0 when
 * every month before C is paid): started 1403/10/01, it is not overdue on 1403/10/26.
 * check-arrears suspends each confirmed enrolment more than HY_INSURANCE_SUSPEND_MONTHS
 * (default 3) months overdue, and reinstate refuses while that is still so.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correct.h"
#include "fa.h"
#include "happened.h"
#include "insurance.h"
#include "json.h"
#include "page.h"

/* How far ahead a month may be paid: a year of prepayment, no more. */
#define MAX_MONTHS_AHEAD 12

/* Jalali months are numbered y*12 + m-1, so that consecutive months differ by one. */
static int s_index(int jy, int jm)
{
    return jy * 12 + jm - 1;
}

/* The Jalali month number of an ISO date; -1 when malformed. */
static int s_month_of_date(const char *iso)
{
    int jy, jm;
    return iso && hy_jalali_month_of(iso, &jy, &jm) == 0 ? s_index(jy, jm) : -1;
}

/* A Gregorian "YYYY-MM" as the number of the Jalali month its first day falls in; -1 when
 * malformed. */
static int s_month_of_gregorian(const char *text)
{
    char iso[11];
    if (!text || strlen(text) != 7 || text[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (text[i] < '0' || text[i] > '9'))
            return -1;
    snprintf(iso, sizeof iso, "%.7s-01", text);
    return s_month_of_date(iso);
}

/* A Jalali "YYYY/MM" (as hy_month_parse_jalali reads it) as a month number; -1 when malformed. */
static int s_month_of_jalali(const char *text)
{
    int jy, jm;
    return text && hy_month_parse_jalali(text, &jy, &jm) == 0 ? s_index(jy, jm) : -1;
}

/* The month a stored contribution pays: month_jalali, or the Gregorian month of the records
 * written before Jalali months were kept. */
static int s_paid_month(const json_t *c)
{
    const char *jal = json_string_value(json_object_get(c, "month_jalali"));
    return jal ? s_month_of_jalali(jal)
               : s_month_of_gregorian(json_string_value(json_object_get(c, "month")));
}

/* Writes both text forms of month number idx: "YYYY/MM" and the Gregorian month whose first
 * day falls in it. 0, or -1 out of the calendar's range. */
static int s_month_text(int idx, char jal[16], char greg[16])
{
    int jy = idx / 12, jm = idx % 12 + 1, gy, gm, gd;
    if (hy_jalali_to_gregorian(jy, jm, 1, &gy, &gm, &gd) != 0)
        return -1;
    if (gd != 1 && ++gm > 12) { /* the first day of the next Gregorian month */
        gm = 1;
        gy++;
    }
    snprintf(jal, 16, "%04d/%02d", jy, jm);
    snprintf(greg, 16, "%04d-%02d", gy, gm);
    return 0;
}

void insurance_contributions_fill(json_t *enrolment)
{
    size_t i;
    json_t *c;
    char jal[16], greg[16];
    json_array_foreach(json_object_get(enrolment, "contributions"), i, c) {
        int m = json_object_get(c, "month_jalali") ? -1 : s_paid_month(c);
        if (m >= 0 && s_month_text(m, jal, greg) == 0)
            json_object_set_new(c, "month_jalali", json_string(jal));
    }
}

static int s_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int insurance_months_overdue(const json_t *enrolment, const char *as_of)
{
    int start = s_month_of_date(json_string_value(json_object_get(enrolment, "start_date")));
    int now = s_month_of_date(as_of);
    if (start < 0 || now < 0 || now <= start)
        return 0;
    json_t *paid = json_object_get(enrolment, "contributions");
    size_t count = json_array_size(paid), i;
    int *months = calloc(count ? count : 1, sizeof *months);
    if (!months)
        return 0;
    json_t *c;
    json_array_foreach(paid, i, c)
        months[i] = hy_correct_is_voided(c) ? -1 : s_paid_month(c);   /* voided: counts nowhere */
    qsort(months, count, sizeof *months, s_cmp_int);
    /* Walk the paid months in order: the first month not matched is the oldest unpaid one. */
    int unpaid = start;
    for (i = 0; i < count; i++) {
        if (months[i] < unpaid)
            continue;
        if (months[i] > unpaid)
            break;
        unpaid++;
    }
    free(months);
    return unpaid < now ? now - unpaid : 0;
}

/* The month a request pays, from month_jalali or month (both given: they must agree).
 * Returns 0 with *month, or the failure status. */
static int s_requested_month(hy_ctx_t *ctx, const json_t *args, int *month)
{
    const char *jal = hy_json_str(args, "month_jalali"), *greg = hy_json_str(args, "month");
    int j = jal ? s_month_of_jalali(jal) : -1, g = greg ? s_month_of_gregorian(greg) : -1;
    if (!jal && !greg)
        return hy_fail(ctx, 400, "missing_field", "month_jalali",
                       "month_jalali (YYYY/MM) is required (or the Gregorian month, YYYY-MM)");
    if (jal && j < 0)
        return hy_fail(ctx, 422, "invalid_month", "month_jalali",
                       "month_jalali must be a Solar Hijri month YYYY/MM, not %s", jal);
    if (greg && g < 0)
        return hy_fail(ctx, 422, "invalid_month", "month",
                       "month must be a Gregorian month YYYY-MM, not %s", greg);
    if (jal && greg && j != g)
        return hy_fail(ctx, 422, "invalid_month", "month",
                       "month %s is not the Jalali month %s (its first day falls in another)",
                       greg, jal);
    *month = jal ? j : g;
    return 0;
}

/* The rules a contribution must pass before it is recorded; returns 0 with the month it pays
 * in *month, or the failure status. */
static int s_check(hy_ctx_t *ctx, const json_t *rec, const json_t *args, const char *paid_date,
                   int *month)
{
    const char *status = hy_json_str(rec, "status");
    if (!status || (strcmp(status, INS_CONFIRMED) != 0 && strcmp(status, INS_SUSPENDED) != 0))
        return insurance_wrong_state(ctx, rec, "paid for (it is not insured yet, or any more)");
    json_int_t amount = json_integer_value(json_object_get(args, "amount_rials"));
    json_int_t subsidy = json_integer_value(json_object_get(args, "subsidy_rials"));
    json_int_t own = json_integer_value(json_object_get(args, "person_rials"));
    json_int_t sum;
    if (__builtin_add_overflow(subsidy, own, &sum) || sum != amount)
        return hy_fail(ctx, 422, "contribution_mismatch", "amount_rials",
                       "subsidy_rials + person_rials must equal amount_rials (%lld + %lld != %lld)",
                       (long long)subsidy, (long long)own, (long long)amount);
    int m = -1, status_code = s_requested_month(ctx, args, &m);
    if (status_code)
        return status_code;
    const char *field = hy_json_str(args, "month_jalali") ? "month_jalali" : "month";
    int start = s_month_of_date(hy_json_str(rec, "start_date"));
    int now = s_month_of_date(ctx->today);
    if (m < start)
        return hy_fail(ctx, 422, "invalid_month", field,
                       "that month is before the enrolment's start date %s (%s)",
                       hy_json_str(rec, "start_date"), hy_json_str(rec, "start_date_jalali"));
    if (m > now + MAX_MONTHS_AHEAD)
        return hy_fail(ctx, 422, "invalid_month", field,
                       "that month is more than %d months ahead", MAX_MONTHS_AHEAD);
    int bad = hy_happened_check(ctx, "paid_date", paid_date);
    if (bad)
        return bad;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(rec, "contributions"), i, c)
        if (!hy_correct_is_voided(c) && s_paid_month(c) == m)
            return hy_fail(ctx, 409, "duplicate_contribution", field,
                           "the contribution for that month is already recorded");
    *month = m;
    return 0;
}

int insurance_contribution_record(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *old = NULL, *rec = NULL, *entry = NULL, *extra = NULL;
    uint64_t n;
    int status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        return status;
    const char *paid_date =
        hy_json_str(args, "paid_date") ? hy_json_str(args, "paid_date") : ctx->today;
    int month = -1;
    char jal[16], greg[16];
    if ((status = s_check(ctx, old, args, paid_date, &month)) != 0)
        goto fail;
    if (s_month_text(month, jal, greg) != 0) {
        status = hy_fail(ctx, 422, "invalid_month", "month_jalali",
                         "that month is outside the calendar's range");
        goto fail;
    }
    entry = json_pack("{s:s,s:s,s:O,s:O,s:O,s:s}", "month_jalali", jal, "month", greg,
                      "amount_rials", json_object_get(args, "amount_rials"), "subsidy_rials",
                      json_object_get(args, "subsidy_rials"), "person_rials",
                      json_object_get(args, "person_rials"), "paid_date", paid_date);
    if (entry)
        hy_spec_set_jalali(entry, "paid_date");
    rec = json_deep_copy(old);
    /* the fund gets the figures only; the stored entry adds who recorded it */
    extra = entry ? json_pack("{s:o}", "contribution", json_deep_copy(entry)) : NULL;
    if (!rec || !extra) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto fail;
    }
    json_object_set_new(
        entry, "created_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    json_array_append(json_object_get(rec, "contributions"), entry);
    if ((status = insurance_save(ctx, n, old, rec, "contribution_recorded", extra)) != 0)
        goto fail;
    *out = rec;
    json_decref(old);
    json_decref(entry);
    json_decref(extra);
    return 0;
fail:
    json_decref(old);
    json_decref(rec);
    json_decref(entry);
    json_decref(extra);
    return status;
}

typedef struct {
    const char *as_of;
    int limit;
    int checked;
} s_arrears_t;

/* hy_page_json filter over the confirmed enrolments: those too far in arrears. (They are
 * suspended after the walk, since suspending changes the index being walked.) */
static bool s_too_far_behind(const json_t *rec, void *user)
{
    s_arrears_t *a = user;
    a->checked++;
    return insurance_months_overdue(rec, a->as_of) > a->limit;
}

int insurance_check_arrears(hy_ctx_t *ctx, const char *as_of, json_t **out)
{
    insurance_t *st = insurance_state(ctx);
    as_of = as_of ? as_of : ctx->today;
    if (strcmp(as_of, ctx->today) > 0)
        return hy_fail(ctx, 422, "future_date", "as_of", "as_of %s is in the future", as_of);
    s_arrears_t a = {.as_of = as_of, .limit = insurance_suspend_months()};
    char key[INSURANCE_KEY_MAX], reason[128];
    size_t klen = insurance_index_key('s', INS_CONFIRMED, 0, key, sizeof key);
    uint64_t next;
    json_t *due = NULL, *ids = json_array(), *rec;
    int status, rc = ids ? hy_page_json(ctx->txn, st->enrolments, &st->enrolment_idx, key, klen, 0,
                                        INT_MAX, s_too_far_behind, &a, &due, &next)
                         : ENOMEM;
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    snprintf(reason, sizeof reason, "contributions more than %d months overdue on %s", a.limit,
             as_of);
    size_t i;
    json_array_foreach(due, i, rec) {
        json_t *moved = NULL;
        const char *id = hy_json_str(rec, "id");
        if ((status = insurance_enrolment_suspend(ctx, id, reason, &moved)) != 0)
            goto fail;
        json_decref(moved);
        json_array_append_new(ids, json_string(id));
    }
    *out = json_pack("{s:s,s:i,s:i,s:o}", "as_of", as_of, "suspend_months", a.limit, "checked",
                     a.checked, "suspended", ids);
    json_decref(due);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
fail:
    json_decref(due);
    json_decref(ids);
    return status;
}

/* The live contribution of month m in contributions (borrowed), or NULL with *voided set to a
 * voided one of that month when there is one. */
static json_t *s_find_month(json_t *contributions, int m, json_t **voided)
{
    size_t i;
    json_t *c;
    *voided = NULL;
    json_array_foreach(contributions, i, c) {
        if (s_paid_month(c) != m)
            continue;
        if (!hy_correct_is_voided(c))
            return c;
        *voided = c;
    }
    return NULL;
}

int insurance_contribution_void(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *old = NULL, *rec = NULL, *data = NULL, *extra = NULL, *voided = NULL;
    uint64_t n;
    int m = -1, status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        return status;
    if ((status = s_requested_month(ctx, args, &m)) != 0)
        goto fail;
    if (!(rec = json_deep_copy(old))) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto fail;
    }
    json_t *entry = s_find_month(json_object_get(rec, "contributions"), m, &voided);
    if (!entry) {
        status = voided ? hy_correct_check_live(ctx, voided, "contribution")
                        : hy_fail(ctx, 404, "not_found",
                                  hy_json_str(args, "month_jalali") ? "month_jalali" : "month",
                                  "enrolment %s has no contribution for that month", id);
        goto fail;
    }
    if ((status = hy_correct_check_checker(ctx, entry, "contribution")) != 0)
        goto fail;
    /* The shared bookkeeping (correct.h), with the enrolment's id as the event data's id. */
    json_object_set(entry, "id", json_object_get(rec, "id"));
    status = hy_correct_void(ctx, entry, hy_json_str(args, "reason"), &data);
    json_object_del(entry, "id");
    if (status)
        goto fail;
    json_t *before = json_object_get(data, "before");
    json_object_del(before, "id");
    json_object_del(before, "created_by");   /* the staff's keys are none of the fund's business */
    extra = json_pack("{s:O,s:O,s:O}", "contribution", before, "reason",
                      json_object_get(data, "reason"), "voided_at",
                      json_object_get(data, "voided_at"));
    if (!extra) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto fail;
    }
    if ((status = insurance_save(ctx, n, old, rec, "contribution_voided", extra)) != 0)
        goto fail;
    *out = rec;
    json_decref(old);
    json_decref(data);
    json_decref(extra);
    return 0;
fail:
    json_decref(old);
    json_decref(rec);
    json_decref(data);
    json_decref(extra);
    return status;
}
