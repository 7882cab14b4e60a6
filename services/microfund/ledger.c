/*
 * ledger.c — what every micro-fund domain file shares: loading and saving the fund record, its
 * members, its money totals and cash position, dates, events and record stamps.
 *
 * The cash position is derived, never stored. The ledger keeps running totals since the fund
 * was formed (each booked with an overflow check), and:
 *
 *   loans outstanding = disbursed - principal repaid - principal settled at share-outs
 *   cash box          = savings + charges paid + fines + social fund contributions
 *                       - loans outstanding - grants paid - share-outs paid
 *   social fund       = contributions + profit moved to it - grants paid
 *   loan cash         = cash box - social fund   (the social fund is for grants only)
 *
 * "Share-outs paid" counts what members were entitled to at each share-out, including the part
 * kept back to settle a loan still open (shareout.c): that part is, in the same breath, paid to
 * her and repaid by her, so it appears both here and in "principal settled" (its principal)
 * and "charges paid" (its service charge, earned like any other). Every check that
 * could overdraw the box (a loan, a grant) runs in the single writer's transaction, so the box
 * is never negative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "happened.h"
#include "microfund.h"
#include "scope.h"

microfund_t *microfund_state(hy_ctx_t *ctx)
{
    return (microfund_t *)ctx->state;
}

int microfund_fund_open(hy_ctx_t *ctx, const char *id, mf_fund_t *fund)
{
    memset(fund, 0, sizeof *fund);
    int rc = MDB_NOTFOUND;
    if (id && hy_id_parse("fund", id, &fund->n) == 0)
        rc = hy_store_get_id(ctx->txn, microfund_state(ctx)->funds, fund->n, &fund->rec);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no fund has the id %s", id ? id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    fund->id = json_string_value(json_object_get(fund->rec, "id"));
    /* offices are boundaries: a key of another office neither reads nor changes the fund */
    int status = hy_scope_write(ctx, "id", json_string_value(json_object_get(fund->rec, "office")));
    if (status)
        microfund_fund_close(fund);
    return status;
}

int microfund_fund_save(hy_ctx_t *ctx, mf_fund_t *fund)
{
    json_object_set_new(fund->rec, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->funds, fund->n, fund->rec);
    return hy_mdb_status(ctx, rc);
}

void microfund_fund_close(mf_fund_t *fund)
{
    json_decref(fund->rec);
    fund->rec = NULL;
    fund->id = NULL;
}

json_t *microfund_fund_render(const json_t *fund)
{
    json_t *out = json_deep_copy(fund);
    if (out)
        json_object_set_new(out, "cash", microfund_cash_json(fund));
    return out;
}

int microfund_cycle_open(hy_ctx_t *ctx, const mf_fund_t *fund)
{
    json_t *cycle = json_object_get(fund->rec, "cycle");
    const char *status = json_string_value(json_object_get(cycle, "status"));
    if (status && strcmp(status, "open") == 0)
        return 0;
    return hy_fail(ctx, 422, "cycle_closed", NULL,
                   "cycle %lld of %s is shared out; start the next with POST /v1/funds/%s/cycles",
                   (long long)microfund_int(cycle, "number"), fund->id, fund->id);
}

int microfund_in_cycle(hy_ctx_t *ctx, const mf_fund_t *fund, const char *date, const char *field)
{
    json_t *cycle = json_object_get(fund->rec, "cycle");
    const char *start = json_string_value(json_object_get(cycle, "start"));
    const char *end = json_string_value(json_object_get(cycle, "end"));
    if (start && end && strcmp(date, start) >= 0 && strcmp(date, end) <= 0)
        return 0;
    return hy_fail(ctx, 422, "outside_cycle", field, "%s is outside the cycle %s to %s", date,
                   start ? start : "?", end ? end : "?");
}

int microfund_not_future(hy_ctx_t *ctx, const char *date, const char *field)
{
    if (date && strcmp(date, ctx->today) <= 0)
        return hy_happened_check(ctx, field, date);   /* not before the programme started */
    return hy_fail(ctx, 422, "future_date", field, "%s is after today (%s): the books record "
                   "what happened", date ? date : "", ctx->today);
}

int microfund_activity(hy_ctx_t *ctx, mf_fund_t *fund, const char *date, const char *field)
{
    int status = microfund_not_future(ctx, date, field);
    if (status || (status = microfund_in_cycle(ctx, fund, date, field)) != 0)
        return status;
    json_t *cycle = json_object_get(fund->rec, "cycle");
    const char *last = json_string_value(json_object_get(cycle, "last_activity_date"));
    if (!last || strcmp(date, last) > 0)
        json_object_set_new(cycle, "last_activity_date", json_string(date));
    return 0;
}

/* ------------------------------------------------------------------ members ------------- */

json_t *microfund_member(const json_t *fund, const char *person_id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(fund, "members"), i, m) {
        const char *pid = json_string_value(json_object_get(m, "person_id"));
        if (person_id && pid && strcmp(pid, person_id) == 0)
            return m;
    }
    return NULL;
}

int microfund_member_require(hy_ctx_t *ctx, const json_t *fund, const char *person_id,
                             const char *field, json_t **member)
{
    json_t *m = microfund_member(fund, person_id);
    const char *status = json_string_value(json_object_get(m, "status"));
    if (!m || !status || strcmp(status, "active") != 0)
        return hy_fail(ctx, 422, "not_a_member", field, "%s is not a current member of %s",
                       person_id ? person_id : "", json_string_value(json_object_get(fund, "id")));
    if (member)
        *member = m;
    return 0;
}

/* ------------------------------------------------------------------ money --------------- */

int64_t microfund_int(const json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

int microfund_add(hy_ctx_t *ctx, json_t *obj, const char *key, int64_t delta)
{
    int64_t sum;
    if (__builtin_add_overflow(microfund_int(obj, key), delta, &sum))
        return hy_fail(ctx, 422, "amount_too_large", NULL,
                       "the fund's %s would no longer fit in 64 bits", key);
    json_object_set_new(obj, key, json_integer(sum));
    return 0;
}

/* The cash box in 128 bits: each total fits in 64, their sum might not. */
static __int128 s_box(const json_t *ledger)
{
    __int128 in = (__int128)microfund_int(ledger, "savings_rials") +
                  microfund_int(ledger, "charges_rials") + microfund_int(ledger, "fines_rials") +
                  microfund_int(ledger, "social_fund_in_rials");
    __int128 outstanding = (__int128)microfund_int(ledger, "disbursed_rials") -
                           microfund_int(ledger, "principal_repaid_rials") -
                           microfund_int(ledger, "principal_settled_rials");
    return in - outstanding - microfund_int(ledger, "grants_rials") -
           microfund_int(ledger, "shareouts_rials");
}

int microfund_book(hy_ctx_t *ctx, json_t *fund, const char *key, int64_t amount)
{
    json_t *ledger = json_object_get(fund, "ledger"), *cycle = json_object_get(fund, "cycle");
    int status = microfund_add(ctx, ledger, key, amount);
    if (!status && json_object_get(cycle, key))
        status = microfund_add(ctx, cycle, key, amount);
    if (status)
        return status;
    __int128 box = s_box(ledger);
    if (box > INT64_MAX || box < INT64_MIN)
        return hy_fail(ctx, 422, "amount_too_large", NULL,
                       "the fund's cash box would no longer fit in 64 bits");
    return 0;
}

void microfund_cash(const json_t *fund, mf_cash_t *cash)
{
    const json_t *l = json_object_get(fund, "ledger");
    cash->box = (int64_t)s_box(l);
    cash->outstanding = microfund_int(l, "disbursed_rials") -
                        microfund_int(l, "principal_repaid_rials") -
                        microfund_int(l, "principal_settled_rials");
    cash->social = microfund_int(l, "social_fund_in_rials") +
                   microfund_int(l, "social_fund_added_rials") - microfund_int(l, "grants_rials");
    cash->loan_cash = cash->box - cash->social;
}

json_t *microfund_cash_json(const json_t *fund)
{
    mf_cash_t c;
    microfund_cash(fund, &c);
    int64_t savings = 0;   /* what members hold now: the cycle's savings until the share-out */
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(fund, "members"), i, m)
        savings += microfund_int(m, "savings_rials");
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "box_rials", (json_int_t)c.box,
                     "social_fund_rials", (json_int_t)c.social, "loan_cash_rials",
                     (json_int_t)c.loan_cash, "loans_outstanding_rials",
                     (json_int_t)c.outstanding, "savings_rials", (json_int_t)savings);
}

/* ------------------------------------------------------------------ dates --------------- */

int64_t microfund_day(const char *iso)
{
    int y, m, d;
    if (!iso || hy_date_parse_iso(iso, &y, &m, &d) != 0)
        return INT64_MIN;
    return hy_days_from_civil(y, m, d);
}

/* Months are Solar Hijri months, as for bank loans (services/loans): a loan made on 21 Bahman
 * falls due on 21 Farvardin two months on; a day the month lacks is clamped (31 Shahrivar + 1
 * month = 30 Mehr). */
int microfund_add_months(const char *iso, int months, char out[11])
{
    int y, m, d, jy, jm, jd;
    if (!iso || hy_date_parse_iso(iso, &y, &m, &d) != 0 || months < 0 ||
        hy_gregorian_to_jalali(y, m, d, &jy, &jm, &jd) != 0)
        return -1;
    int total = (jm - 1) + months;
    jy += total / 12;
    jm = total % 12 + 1;
    int len = hy_jalali_month_length(jy, jm);
    if (len < 0 || hy_jalali_to_gregorian(jy, jm, jd < len ? jd : len, &y, &m, &d) != 0)
        return -1;
    char buf[40];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    if (strlen(buf) != 10)
        return -1;
    memcpy(out, buf, 11);
    return 0;
}

const char *microfund_date_arg(hy_ctx_t *ctx, const json_t *args, const char *key)
{
    const char *date = json_string_value(json_object_get(args, key));
    return date ? date : ctx->today;
}

/* ------------------------------------------------------------------ events -------------- */

int microfund_emit(hy_ctx_t *ctx, const mf_fund_t *fund, const char *type, const char *subject,
                   json_t *data)
{
    if (!data)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    json_object_set_new(data, "fund_id", json_string(fund->id));
    json_object_set(data, "office", json_object_get(fund->rec, "office"));
    json_object_set(data, "neighbourhood", json_object_get(fund->rec, "neighbourhood"));
    int rc = hy_emit(ctx, type, subject ? subject : fund->id, data);
    return hy_mdb_status(ctx, rc);
}

/* Every record says which key made it and when (DOMAIN.md); the audit trail adds the rest. */
void microfund_stamp(hy_ctx_t *ctx, json_t *rec)
{
    const char *key_id = ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
    json_object_set_new(rec, "created_by", json_string(key_id));
    json_object_set_new(rec, "created_at", json_string(ctx->now_iso));
    json_object_set_new(rec, "updated_at", json_string(ctx->now_iso));
}

int microfund_unique(hy_ctx_t *ctx, const json_t *items, const char *key, const char *field)
{
    size_t n = json_array_size(items);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(items, i);
        const char *ida = json_string_value(key ? json_object_get(a, key) : a);
        for (size_t j = 0; j < i; j++) {
            json_t *b = json_array_get(items, j);
            const char *idb = json_string_value(key ? json_object_get(b, key) : b);
            if (ida && idb && strcmp(ida, idb) == 0)
                return hy_fail(ctx, 422, "duplicate_entry", field, "%s appears twice in %s",
                               ida, field);
        }
    }
    return 0;
}
