/*
 * loans.c — lending to members against the collective guarantee of fellow members.
 *
 * A loan is refused, with nothing changed, when (in this order):
 *  - the cycle is shared out (422 cycle_closed), the date is after today (422 future_date) or
 *    outside the cycle (422 outside_cycle);
 *  - the borrower is not a current member (422 not_a_member) or still owes a loan (422
 *    active_loan_exists: one loan at a time);
 *  - the term is over the rule's max_term_months (422 over_max_term);
 *  - fewer than guarantors_required distinct fellow members guarantee it, or the borrower names
 *    herself (422 guarantors_required; a name twice is 422 duplicate_entry);
 *  - a guarantor is not a current member (422 not_a_member) or has an overdue loan of her own
 *    (422 guarantor_overdue);
 *  - it would take her over her limit: loan_multiple x her savings this cycle, less the
 *    principal she still owes (422 over_member_limit);
 *  - a guarantor's part of the new loan is over her capacity (422 guarantor_capacity, with
 *    capacity_rials): capacity = guarantor_exposure_multiple (1 by default) x her savings of the
 *    cycle, less everything she owes on her own loan (principal and charge), less the
 *    guarantees she already gave. Her own debt comes first, at the share-out as here
 *    (shareout.c): a guarantee is only worth the savings her own debt leaves free. What a
 *    guarantor answers for on a loan is her part of its principal still owed: the principal
 *    split equally between its guarantors, the remainder rials to the first;
 *  - it is more than the fund's loan cash, the cash box less the social fund, which is kept for
 *    grants (422 insufficient_fund_cash).
 *
 * The service charge is flat and monthly, on the time the money is actually out: the due date is
 * the date plus the term in Solar Hijri months, like bank loans (the same Jalali day, clamped
 * to the month's length: ledger.c) but never after the cycle's end, and charge = floor(principal x service_charge_bp_month x charged_months / 10000) rials,
 * where charged_months is the term, or — for a loan whose due date was cut to the cycle's end —
 * the months begun between the date and that end (a month begun is a month charged, as VSLA
 * groups charge per month or part of one). It is due with the principal on the due date. Repayments pay
 * the charge first, then principal; they may not exceed what is owed (422 over_outstanding),
 * nor be dated after today (422 future_date) or after the cycle's end (422 outside_cycle: an
 * open loan is settled at the share-out, so its repayments belong to the cycle).
 * A loan is overdue on the days after its due date while anything is owed. A loan still open at
 * the share-out is settled there (shareout.c). A repayment on a loan that is no longer active is
 * 409 wrong_state, the code every service uses for an operation in the wrong state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "microfund.h"
#include "page.h"

#define ACTIVE_MAX 1000 /* far above MICROFUND_MAX_MEMBERS: one active loan per member */

/* Loan index key "<tag>:" + fund number: "a" the fund's open loans, "f" all its loans. */
static size_t s_idx_key(char tag, uint64_t fund_n, uint8_t out[10])
{
    out[0] = (uint8_t)tag;
    out[1] = ':';
    hy_key_u64(fund_n, out + 2);
    return 10;
}

int microfund_loan_index_active(hy_ctx_t *ctx, uint64_t fund_n, uint64_t loan_n, bool put)
{
    uint8_t key[10];
    size_t klen = s_idx_key('a', fund_n, key);
    MDB_dbi idx = microfund_state(ctx)->loan_idx;
    return put ? hy_index_put(ctx->txn, idx, key, klen, loan_n)
               : hy_index_del(ctx->txn, idx, key, klen, loan_n);
}

int microfund_loans_active(hy_ctx_t *ctx, uint64_t fund_n, json_t **loans)
{
    uint8_t key[10];
    size_t klen = s_idx_key('a', fund_n, key);
    microfund_t *st = microfund_state(ctx);
    uint64_t next;
    return hy_page_json(ctx->txn, st->loans, &st->loan_idx, key, klen, 0, ACTIVE_MAX, NULL, NULL,
                        loans, &next);
}

int microfund_loans_of(hy_ctx_t *ctx, uint64_t fund_n, json_t **loans)
{
    uint8_t key[10];
    size_t klen = s_idx_key('f', fund_n, key);
    microfund_t *st = microfund_state(ctx);
    uint64_t after = 0;
    json_t *all = json_array();
    int rc = all ? 0 : ENOMEM;
    do {
        json_t *page = NULL;
        if (rc || (rc = hy_page_json(ctx->txn, st->loans, &st->loan_idx, key, klen, after,
                                     ACTIVE_MAX, NULL, NULL, &page, &after)) != 0)
            break;
        rc = json_array_extend(all, page) ? ENOMEM : 0;
        json_decref(page);
    } while (!rc && after);
    if (rc) {
        json_decref(all);
        return rc;
    }
    *loans = all;
    return 0;
}

int64_t microfund_loan_principal_due(const json_t *loan)
{
    return microfund_int(loan, "principal_rials") - microfund_int(loan, "paid_principal_rials") -
           microfund_int(loan, "settled_principal_rials");
}

/* Everything still owed on a loan: principal and service charge (paid in cash or settled at a
 * share-out). */
static int64_t s_owed(const json_t *loan)
{
    return microfund_loan_principal_due(loan) + microfund_int(loan, "charge_rials") -
           microfund_int(loan, "paid_charge_rials") - microfund_int(loan, "settled_charge_rials");
}

/* Days past the due date on `today` while the loan is open; 0 when it is not overdue. */
static int64_t s_days_overdue(const json_t *loan, const char *today)
{
    const char *status = json_string_value(json_object_get(loan, "status"));
    if (!status || strcmp(status, "active") != 0 || s_owed(loan) <= 0)
        return 0;
    int64_t days = microfund_day(today) -
                   microfund_day(json_string_value(json_object_get(loan, "due_date")));
    return days > 0 ? days : 0;
}

/* Guarantor number k of g answers for principal / g, the first also for the remainder. */
static int64_t s_part(int64_t principal, size_t g, size_t k)
{
    return principal / (int64_t)g + (k == 0 ? principal % (int64_t)g : 0);
}

/* What person_id answers for, as a guarantor, on the fund's active loans. */
static int64_t s_exposure(const json_t *active, const char *person_id)
{
    int64_t total = 0;
    size_t i, k;
    json_t *loan, *g;
    json_array_foreach(active, i, loan) {
        json_t *gs = json_object_get(loan, "guarantor_ids");
        json_array_foreach(gs, k, g) {
            if (strcmp(json_string_value(g), person_id) == 0)
                total += s_part(microfund_loan_principal_due(loan), json_array_size(gs), k);
        }
    }
    return total;
}

/* A loan as clients see it: the record plus what is owed and whether it is overdue. */
static json_t *s_render(hy_ctx_t *ctx, const json_t *loan)
{
    json_t *out = json_deep_copy(loan);
    int64_t days = s_days_overdue(loan, ctx->today);
    if (out)
        json_object_update_new(
            out, json_pack("{s:I, s:I, s:b, s:I}", "outstanding_principal_rials",
                           (json_int_t)microfund_loan_principal_due(loan), "outstanding_rials",
                           (json_int_t)s_owed(loan), "overdue", days > 0, "days_overdue",
                           (json_int_t)days));
    return out;
}

/* Each guarantor: a fellow current member, named once, with no overdue loan of her own. */
static int s_guarantors(hy_ctx_t *ctx, const mf_fund_t *fund, const char *borrower,
                        const json_t *gids)
{
    int64_t required = microfund_int(json_object_get(fund->rec, "rules"), "guarantors_required");
    int status = microfund_unique(ctx, gids, NULL, "guarantor_ids");
    size_t i;
    json_t *g;
    json_array_foreach(gids, i, g) {
        char field[48];
        snprintf(field, sizeof field, "guarantor_ids[%zu]", i);
        const char *gid = json_string_value(g);
        json_t *m = NULL;
        if (status)
            return status;
        if (strcmp(gid, borrower) == 0)
            return hy_fail(ctx, 422, "guarantors_required", field,
                           "a borrower cannot guarantee her own loan");
        if ((status = microfund_member_require(ctx, fund->rec, gid, field, &m)) != 0)
            return status;
        const char *own = json_string_value(json_object_get(m, "active_loan_id"));
        uint64_t n;
        json_t *loan = NULL;
        if (own && hy_id_parse("floan", own, &n) == 0) {
            int rc = hy_store_get_id(ctx->txn, microfund_state(ctx)->loans, n, &loan);
            if (rc)
                return hy_fail_mdb(ctx, rc);
        }
        int64_t days = loan ? s_days_overdue(loan, ctx->today) : 0;
        json_decref(loan);
        if (days > 0)
            return hy_fail(ctx, 422, "guarantor_overdue", field,
                           "%s is %lld days overdue on loan %s and cannot guarantee", gid,
                           (long long)days, own);
    }
    if ((int64_t)json_array_size(gids) < required)
        return hy_fail(ctx, 422, "guarantors_required", "guarantor_ids",
                       "this fund requires %lld guarantors, fellow members; %zu given",
                       (long long)required, json_array_size(gids));
    return status;
}

/* The money rules: the member's limit, each guarantor's exposure, the fund's loan cash. */
static int s_limits(hy_ctx_t *ctx, const mf_fund_t *fund, const json_t *member, int64_t amount,
                    const json_t *gids)
{
    json_t *rules = json_object_get(fund->rec, "rules");
    json_t *active = NULL;
    int rc = microfund_loans_active(ctx, fund->n, &active);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int status = 0;
    const char *borrower = json_string_value(json_object_get(member, "person_id"));
    __int128 limit = (__int128)microfund_int(rules, "loan_multiple") *
                     microfund_int(member, "savings_rials");
    size_t i;
    json_t *loan, *g;
    json_array_foreach(active, i, loan) {
        if (strcmp(json_string_value(json_object_get(loan, "person_id")), borrower) == 0)
            limit -= microfund_loan_principal_due(loan);
    }
    if ((__int128)amount > limit) {
        status = hy_fail(ctx, 422, "over_member_limit", "amount_rials",
                         "%s may borrow at most %lld rials (%lld x her savings of %lld, less "
                         "what she owes)",
                         borrower, (long long)(limit > 0 ? limit : 0),
                         (long long)microfund_int(rules, "loan_multiple"),
                         (long long)microfund_int(member, "savings_rials"));
        hy_fail_extra(ctx, "limit_rials", json_integer((json_int_t)(limit > 0 ? limit : 0)));
    }
    json_array_foreach(gids, i, g) {
        if (status)
            break;
        const char *gid = json_string_value(g);
        json_t *gm = microfund_member(fund->rec, gid);
        int64_t savings = microfund_int(gm, "savings_rials"), own = 0, given;
        size_t k;
        json_array_foreach(active, k, loan) {
            if (strcmp(json_string_value(json_object_get(loan, "person_id")), gid) == 0)
                own += s_owed(loan);
        }
        given = s_exposure(active, gid);
        __int128 cap = (__int128)microfund_int(rules, "guarantor_exposure_multiple") * savings -
                       own - given;
        int64_t part = s_part(amount, json_array_size(gids), i);
        if ((__int128)part > cap) {
            char field[48];
            snprintf(field, sizeof field, "guarantor_ids[%zu]", i);
            status = hy_fail(ctx, 422, "guarantor_capacity", field,
                             "%s can answer for %lld rials more (%lld x her savings of %lld, less "
                             "%lld she owes and %lld she already guarantees), not %lld",
                             gid, (long long)(cap > 0 ? cap : 0),
                             (long long)microfund_int(rules, "guarantor_exposure_multiple"),
                             (long long)savings, (long long)own, (long long)given, (long long)part);
            hy_fail_extra(ctx, "capacity_rials", json_integer((json_int_t)(cap > 0 ? cap : 0)));
        }
    }
    json_decref(active);
    mf_cash_t cash;
    microfund_cash(fund->rec, &cash);
    if (!status && amount > cash.loan_cash) {
        status = hy_fail(ctx, 422, "insufficient_fund_cash", "amount_rials",
                         "the fund has %lld rials to lend (cash box %lld less social fund %lld)",
                         (long long)(cash.loan_cash > 0 ? cash.loan_cash : 0),
                         (long long)cash.box, (long long)cash.social);
        hy_fail_extra(ctx, "loan_cash_rials", json_integer(cash.loan_cash));
    }
    return status;
}

/* The effective due date (date + term, cut to the cycle's end) into due, and the months the
 * charge is for: the months begun between the date and the due date (term when not cut). */
static int64_t s_due(const char *date, int64_t term, const char *end, char due[11])
{
    if (microfund_add_months(date, (int)term, due) == 0 && strcmp(due, end) <= 0)
        return term;
    snprintf(due, 11, "%s", end);
    int64_t m = 1;
    char at[11];
    while (m < term && microfund_add_months(date, (int)m, at) == 0 && strcmp(at, end) < 0)
        m++;
    return m;
}

/* Writes a new loan: record, indexes, the borrower's active loan, the ledger and the event. */
static int s_issue(hy_ctx_t *ctx, mf_fund_t *fund, json_t *member, json_t *args,
                   const char *date, json_t **out)
{
    microfund_t *st = microfund_state(ctx);
    json_t *rules = json_object_get(fund->rec, "rules"), *cycle = json_object_get(fund->rec, "cycle");
    int64_t amount = microfund_int(args, "amount_rials"), term = microfund_int(args, "term_months");
    char due[11], id[32];
    int64_t months = s_due(date, term, json_string_value(json_object_get(cycle, "end")), due);
    __int128 charge = (__int128)amount * microfund_int(rules, "service_charge_bp_month") * months / 10000;
    if (charge > INT64_MAX)
        return hy_fail(ctx, 422, "amount_too_large", "amount_rials", "the charge overflows");
    uint64_t n;
    int rc = hy_store_next(ctx->txn, st->meta, "floan", &n);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    hy_id_format("floan", n, id, sizeof id);
    json_t *gids = json_object_get(args, "guarantor_ids");
    json_t *loan = json_pack(
        "{s:s, s:s, s:O, s:O, s:s, s:I, s:s, s:I, s:o, s:I, s:I, s:i, s:i, s:s, s:[]}", "id", id,
        "fund_id", fund->id, "person_id", json_object_get(member, "person_id"), "cycle",
        json_object_get(cycle, "number"), "date", date, "term_months", (json_int_t)term,
        "due_date", due, "charged_months", (json_int_t)months, "guarantor_ids", gids ? json_incref(gids) : json_array(), "principal_rials",
        (json_int_t)amount, "charge_rials", (json_int_t)charge, "paid_charge_rials", 0,
        "paid_principal_rials", 0, "status", "active", "repayments");
    if (!loan)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    microfund_stamp(ctx, loan);
    uint8_t fkey[10];
    size_t fklen = s_idx_key('f', fund->n, fkey);
    int status;
    json_object_set_new(member, "active_loan_id", json_string(id));
    if ((rc = hy_store_put_id(ctx->txn, st->loans, n, loan)) != 0 ||
        (rc = hy_index_put(ctx->txn, st->loan_idx, fkey, fklen, n)) != 0 ||
        (rc = microfund_loan_index_active(ctx, fund->n, n, true)) != 0)
        status = hy_fail_mdb(ctx, rc);
    else if ((status = microfund_book(ctx, fund->rec, "disbursed_rials", amount)) == 0 &&
             (status = microfund_add(ctx, cycle, "loans", 1)) == 0 &&
             (status = microfund_fund_save(ctx, fund)) == 0)
        status = microfund_emit(
            ctx, fund, "microfund.loan_issued", id,
            json_pack("{s:s, s:O, s:I, s:I, s:I, s:s, s:s, s:O}", "loan_id", id, "person_id",
                      json_object_get(loan, "person_id"), "amount_rials", (json_int_t)amount,
                      "charge_rials", (json_int_t)charge, "term_months", (json_int_t)term,
                      "date", date, "due_date", due, "guarantor_ids",
                      json_object_get(loan, "guarantor_ids")));
    if (!status)
        *out = s_render(ctx, loan);
    json_decref(loan);
    return status;
}

int microfund_loan_create(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    const char *date = microfund_date_arg(ctx, args, "date");
    const char *borrower = json_string_value(json_object_get(args, "person_id"));
    json_t *rules = json_object_get(fund.rec, "rules"), *member = NULL;
    json_t *gids = json_object_get(args, "guarantor_ids");
    int64_t max_term = microfund_int(rules, "max_term_months");
    if ((status = microfund_cycle_open(ctx, &fund)) != 0 ||
        (status = microfund_activity(ctx, &fund, date, "date")) != 0 ||
        (status = microfund_member_require(ctx, fund.rec, borrower, "person_id", &member)) != 0)
        goto done;
    if (json_object_get(member, "active_loan_id"))
        status = hy_fail(ctx, 422, "active_loan_exists", "person_id",
                         "%s still owes loan %s: one loan at a time", borrower,
                         json_string_value(json_object_get(member, "active_loan_id")));
    else if (microfund_int(args, "term_months") > max_term)
        status = hy_fail(ctx, 422, "over_max_term", "term_months",
                         "this fund lends for at most %lld months", (long long)max_term);
    else if ((status = s_guarantors(ctx, &fund, borrower, gids)) == 0 &&
             (status = s_limits(ctx, &fund, member, microfund_int(args, "amount_rials"),
                                gids)) == 0)
        status = s_issue(ctx, &fund, member, args, date, out);
done:
    microfund_fund_close(&fund);
    return status ? status : 0;
}

/* Loads a loan or answers 404. */
static int s_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **loan)
{
    int status = hy_load_or_404(ctx, microfund_state(ctx)->loans, "floan", "fund loan", id, n,
                                loan);
    if (status)
        return status;
    /* the fund's office is the loan's: microfund_fund_open refuses another office's key */
    mf_fund_t fund;
    status = microfund_fund_open(ctx, json_string_value(json_object_get(*loan, "fund_id")), &fund);
    microfund_fund_close(&fund);
    if (status) {
        json_decref(*loan);
        *loan = NULL;
    }
    return status;
}

int microfund_loan_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    uint64_t n;
    json_t *loan = NULL;
    int status = s_load(ctx, id, &n, &loan);
    if (status)
        return status;
    *out = s_render(ctx, loan);
    json_decref(loan);
    return 0;
}

/* List filter: the loan is in the wanted state. */
static bool s_in_status(const json_t *loan, void *status)
{
    return strcmp(json_string_value(json_object_get(loan, "status")), status) == 0;
}

int microfund_loan_list(hy_ctx_t *ctx, const char *fund_id, const char *status, uint64_t after,
                        int limit, json_t **items, uint64_t *next)
{
    mf_fund_t fund;
    int rc = microfund_fund_open(ctx, fund_id, &fund);
    if (rc)
        return rc;
    uint8_t key[10];
    size_t klen = s_idx_key('f', fund.n, key);
    microfund_t *st = microfund_state(ctx);
    microfund_fund_close(&fund);
    rc = hy_page_json(ctx->txn, st->loans, &st->loan_idx, key, klen, after, limit,
                      status ? s_in_status : NULL, (void *)status, items, next);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    size_t i;
    json_t *loan;
    json_array_foreach(*items, i, loan)
        json_array_set_new(*items, i, s_render(ctx, loan));
    return 0;
}

/* Books one repayment on loan and the fund; closes the loan when nothing is owed any more. */
static int s_repay(hy_ctx_t *ctx, mf_fund_t *fund, uint64_t n, json_t *loan, int64_t amount,
                   const char *date)
{
    int64_t charge_due = microfund_int(loan, "charge_rials") -
                         microfund_int(loan, "paid_charge_rials");
    int64_t to_charge = amount < charge_due ? amount : charge_due, to_principal = amount - to_charge;
    int status;
    json_array_append_new(json_object_get(loan, "repayments"),
                          json_pack("{s:s, s:I, s:I, s:I}", "date", date, "amount_rials",
                                    (json_int_t)amount, "charge_rials", (json_int_t)to_charge,
                                    "principal_rials", (json_int_t)to_principal));
    if ((status = microfund_add(ctx, loan, "paid_charge_rials", to_charge)) != 0 ||
        (status = microfund_add(ctx, loan, "paid_principal_rials", to_principal)) != 0 ||
        (status = microfund_book(ctx, fund->rec, "charges_rials", to_charge)) != 0 ||
        (status = microfund_book(ctx, fund->rec, "principal_repaid_rials", to_principal)) != 0)
        return status;
    int rc = 0;
    if (s_owed(loan) == 0) {
        json_object_set_new(loan, "status", json_string("repaid"));
        json_object_set_new(loan, "closed", json_string(date));
        json_object_del(microfund_member(fund->rec, json_string_value(json_object_get(loan, "person_id"))),
                        "active_loan_id");
        rc = microfund_loan_index_active(ctx, fund->n, n, false);
    }
    json_object_set_new(loan, "updated_at", json_string(ctx->now_iso));
    if (rc || (rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->loans, n, loan)) != 0)
        return hy_fail_mdb(ctx, rc);
    if ((status = microfund_fund_save(ctx, fund)) != 0)
        return status;
    return microfund_emit(
        ctx, fund, "microfund.repayment_recorded", json_string_value(json_object_get(loan, "id")),
        json_pack("{s:O, s:O, s:s, s:I, s:I, s:I, s:I, s:O}", "loan_id", json_object_get(loan, "id"),
                  "person_id", json_object_get(loan, "person_id"), "date", date, "amount_rials",
                  (json_int_t)amount, "charge_rials", (json_int_t)to_charge, "principal_rials",
                  (json_int_t)to_principal, "outstanding_rials", (json_int_t)s_owed(loan),
                  "status", json_object_get(loan, "status")));
}

int microfund_loan_repay(hy_ctx_t *ctx, const char *id, int64_t amount, const char *date,
                         json_t **out)
{
    uint64_t n;
    json_t *loan = NULL;
    mf_fund_t fund = {0};
    int status = s_load(ctx, id, &n, &loan);
    if (status)
        return status;
    const char *loan_status = json_string_value(json_object_get(loan, "status"));
    if (strcmp(loan_status, "active") != 0)
        status = hy_fail(ctx, 409, "wrong_state", NULL, "loan %s is %s; only an active loan is repaid",
                         id, loan_status);
    else if (strcmp(date, json_string_value(json_object_get(loan, "date"))) < 0)
        status = hy_fail(ctx, 422, "before_loan_date", "date", "the loan was made on %s",
                         json_string_value(json_object_get(loan, "date")));
    else if (amount > s_owed(loan)) {
        status = hy_fail(ctx, 422, "over_outstanding", "amount_rials",
                         "%lld rials is more than the %lld owed", (long long)amount,
                         (long long)s_owed(loan));
        hy_fail_extra(ctx, "outstanding_rials", json_integer(s_owed(loan)));
    } else if ((status = microfund_fund_open(
                    ctx, json_string_value(json_object_get(loan, "fund_id")), &fund)) == 0 &&
               (status = microfund_activity(ctx, &fund, date, "date")) == 0 &&
               (status = s_repay(ctx, &fund, n, loan, amount, date)) == 0)
        *out = s_render(ctx, loan);
    microfund_fund_close(&fund);
    json_decref(loan);
    return status ? status : 0;
}
