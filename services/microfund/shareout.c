/*
 * shareout.c — the end-of-cycle share-out, the way savings groups (VSLA) do it.
 *
 * The arithmetic, to the rial:
 *  - profit = cash box - social fund - Σ savings of the cycle + what the loans still open owe
 *    (principal and service charge, recovered below). It is the cycle's service charges and
 *    fines: a charge is earned whether it was paid in cash during the cycle or is settled from
 *    a payout at the share-out.
 *  - each member receives her savings + floor(profit x her shares / total shares); the rials
 *    left over (fewer than the number of members) go one each to the members with the largest
 *    fractional parts (profit x shares mod total shares), ties to the smaller person number.
 *    Members who left during the cycle take part like everyone else.
 *  - a loan still open at the share-out falls due and is settled from the payouts; settling is
 *    not forgiving (the VSLA practice of Chomoka and Ledger Link: a member's outstanding loan
 *    and its service charge are deducted from her share-out). Its debt is the principal AND the
 *    service charge still owed, settled in three passes over all open loans:
 *      1. every borrower's own payout settles her own debt, as far as it goes — before anything
 *         is taken from it for a guarantee she gave (her own debt comes first);
 *      2. what a borrower could not cover falls on her guarantors in equal parts (remainder
 *         rials to the first guarantor), each as far as what is left of her payout goes;
 *      3. whatever is still uncovered is a loss the whole group carries — the collective
 *         guarantee — shared by every member with something left, in proportion to shares
 *         (same rounding rule, repeated while a member's payout runs out).
 *    A loan its borrower settled alone closes as "settled_at_shareout" (event
 *    microfund.loan_settled); one that needed guarantors or the group closes as "defaulted"
 *    (event microfund.loan_defaulted). Either way the record says who covered what, and
 *    nothing is owed on it afterwards.
 *  - the social fund's balance is not shared: it carries over to the next cycle. If nobody
 *    bought a share in the cycle, the profit (fines) goes to the social fund too.
 *  - the share-out is dated inside the cycle, not before its last meeting, loan or repayment
 *    (422 before_last_activity: the books it closes would otherwise change after it), and not
 *    after today (422 future_date) unless it is a preview of the planned share-out.
 *  - Σ cash paid + social fund carried == cash box before the share-out, exactly; the box then
 *    holds the social fund alone. The cycle is closed; the next one starts with
 *    POST /v1/funds/{id}/cycles.
 */
#include <stdlib.h>
#include <string.h>

#include "microfund.h"

#define RULES_TEXT                                                                             \
    "profit = cash box - social fund - savings + principal and charge still owed on open "    \
    "loans; payout = savings + floor(profit x shares / total shares), leftover rials one each " \
    "to the largest fractional parts, ties to the smaller person number; each open loan's "   \
    "principal and charge come first from the borrower's own payout (before any guarantee "   \
    "she gave), then from her guarantors' in equal parts (remainder to the first), the rest " \
    "from all members by shares; the social fund carries over (and takes the profit when no " \
    "shares were bought)"

/* true when i goes before j for a leftover rial: larger remainder, then smaller tie, then index. */
static bool s_before(const __int128 *rem, const uint64_t *tie, size_t i, size_t j)
{
    if (rem[i] != rem[j])
        return rem[i] > rem[j];
    if (tie[i] != tie[j])
        return tie[i] < tie[j];
    return i < j;
}

int microfund_split(int64_t amount, const int64_t *w, const uint64_t *tie, size_t n,
                    int64_t *out)
{
    __int128 total = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < 0)
            return -1;
        total += w[i];
    }
    if (total <= 0 || amount < 0)
        return -1;
    __int128 *rem = calloc(n, sizeof *rem);
    if (!rem)
        return -1;
    int64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        __int128 num = (__int128)amount * w[i];
        out[i] = (int64_t)(num / total);
        rem[i] = num % total;
        given += out[i];
    }
    /* Each leftover rial goes to the best member not served yet: the best one after `last` in
     * the order of s_before, which is total, so every member is served at most once. */
    size_t last = n;
    for (int64_t left = amount - given; left > 0; left--) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (last < n && !s_before(rem, tie, last, i))
                continue;
            if (best == n || s_before(rem, tie, i, best))
                best = i;
        }
        if (best == n)
            break;
        out[best]++;
        last = best;
    }
    free(rem);
    return 0;
}

/* What is left of a member's payout after what was taken from it so far. */
static int64_t s_net(const mf_share_t *row)
{
    return row->entitled - row->covered - row->loss;
}

/* The row of a person number, or NULL for someone with no row (nothing to take from). */
static mf_share_t *s_row(mf_share_t *rows, size_t n, uint64_t person)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].person == person)
            return &rows[i];
    return NULL;
}

/* Takes up to want rials from row's payout for a loan; returns what it took. */
static int64_t s_take(mf_share_t *row, int64_t want)
{
    int64_t have = row ? s_net(row) : 0, take = want < have ? want : have;
    if (take > 0)
        row->covered += take;
    return take > 0 ? take : 0;
}

/* Shares loss over the members with something left, by shares (by what is left when none of
 * them holds shares), capped at what each has left, until it is all carried. */
static int s_share_loss(mf_share_t *rows, size_t n, int64_t loss)
{
    int64_t *w = calloc(n ? n : 1, sizeof *w), *part = calloc(n ? n : 1, sizeof *part);
    uint64_t *tie = calloc(n ? n : 1, sizeof *tie);
    int rc = w && part && tie ? 0 : -1;
    while (rc == 0 && loss > 0) {
        int64_t by_shares = 0;
        for (size_t i = 0; i < n; i++) {
            w[i] = s_net(&rows[i]) > 0 ? rows[i].shares : 0;
            tie[i] = rows[i].person;
            by_shares += w[i];
        }
        for (size_t i = 0; by_shares == 0 && i < n; i++)
            w[i] = s_net(&rows[i]) > 0 ? s_net(&rows[i]) : 0;
        if ((rc = microfund_split(loss, w, tie, n, part)) != 0)
            break;
        for (size_t i = 0; i < n; i++) {
            int64_t net = s_net(&rows[i]), take = part[i] < net ? part[i] : net;
            if (take > 0) {
                rows[i].loss += take;
                loss -= take;
            }
        }
    }
    free(w);
    free(part);
    free(tie);
    return rc;
}

int microfund_shareout_compute(mf_shareout_t *so, mf_share_t *rows, size_t nrows,
                               mf_default_t *defs, size_t ndefs)
{
    __int128 savings = 0, shares = 0, open = 0;
    for (size_t i = 0; i < nrows; i++) {
        savings += rows[i].savings;
        shares += rows[i].shares;
        rows[i].profit = rows[i].covered = rows[i].loss = 0;
    }
    for (size_t k = 0; k < ndefs; k++) {
        if (defs[k].principal < 0 || defs[k].charge < 0 ||
            __builtin_add_overflow(defs[k].principal, defs[k].charge, &defs[k].debt))
            return -1;
        open += defs[k].debt;
    }
    __int128 profit = (__int128)so->cash - so->social - savings + open;
    if (savings > INT64_MAX || shares > INT64_MAX || profit < 0 || profit > INT64_MAX)
        return -1;
    so->savings = (int64_t)savings;
    so->shares = (int64_t)shares;
    so->profit = (int64_t)profit;
    so->to_social = shares == 0 ? so->profit : 0;
    int64_t *w = calloc(nrows ? nrows : 1, sizeof *w), *part = calloc(nrows ? nrows : 1, sizeof *part);
    uint64_t *tie = calloc(nrows ? nrows : 1, sizeof *tie);
    int rc = w && part && tie ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        w[i] = rows[i].shares;
        tie[i] = rows[i].person;
    }
    if (rc == 0 && shares > 0)
        rc = microfund_split(so->profit, w, tie, nrows, part);
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        rows[i].profit = shares > 0 ? part[i] : 0;
        rows[i].entitled = rows[i].savings + rows[i].profit;
    }
    free(w);
    free(part);
    free(tie);
    int64_t loss = 0;
    for (size_t k = 0; rc == 0 && k < ndefs; k++)   /* 1. her own debt first */
        defs[k].by_borrower = s_take(s_row(rows, nrows, defs[k].borrower), defs[k].debt);
    for (size_t k = 0; rc == 0 && k < ndefs; k++) {   /* 2. then her guarantors */
        mf_default_t *d = &defs[k];
        int64_t rest = d->debt - d->by_borrower, covered = 0;
        for (size_t j = 0; j < d->nguarantors; j++) {
            int64_t want = rest / (int64_t)d->nguarantors +
                           (j == 0 ? rest % (int64_t)d->nguarantors : 0);
            d->by_guarantor[j] = s_take(s_row(rows, nrows, d->guarantors[j]), want);
            covered += d->by_guarantor[j];
        }
        d->shared = rest - covered;
        loss += d->shared;
    }
    if (rc == 0 && loss > 0)   /* 3. then the group */
        rc = s_share_loss(rows, nrows, loss);
    __int128 paid = 0;
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        rows[i].paid = s_net(&rows[i]);
        paid += rows[i].paid;
    }
    so->paid = (int64_t)paid;
    if (rc == 0 && paid + so->social + so->to_social != so->cash)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------- the fund's share-out ------- */

typedef struct {
    hy_ctx_t *ctx;
    mf_fund_t *fund;
    const char *date;
    json_t *members;       /* the fund's member records (borrowed) */
    json_t *loans;         /* its open loans, in loan-number order */
    mf_share_t *rows;      /* one per member record, same order */
    mf_default_t *defs;    /* one per open loan, same order */
    mf_shareout_t so;
} s_run_t;

/* "prs_42" -> 42: person numbers break ties in the rounding rule. */
static uint64_t s_person_number(const char *id)
{
    uint64_t n = 0;
    return id && hy_id_parse("prs", id, &n) == 0 ? n : 0;
}

/* Reads members and open loans into rows and defs for the arithmetic. */
static int s_gather(s_run_t *run)
{
    size_t n = json_array_size(run->members), nl = json_array_size(run->loans);
    run->rows = calloc(n ? n : 1, sizeof *run->rows);
    run->defs = calloc(nl ? nl : 1, sizeof *run->defs);
    if (!run->rows || !run->defs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(run->members, i);
        run->rows[i] = (mf_share_t){
            .person = s_person_number(json_string_value(json_object_get(m, "person_id"))),
            .shares = microfund_int(m, "shares"),
            .savings = microfund_int(m, "savings_rials"),
        };
    }
    for (size_t k = 0; k < nl; k++) {
        json_t *loan = json_array_get(run->loans, k), *gids = json_object_get(loan, "guarantor_ids");
        mf_default_t *d = &run->defs[k];
        d->borrower = s_person_number(json_string_value(json_object_get(loan, "person_id")));
        d->principal = microfund_loan_principal_due(loan);
        d->charge = microfund_int(loan, "charge_rials") - microfund_int(loan, "paid_charge_rials");
        for (size_t j = 0; j < json_array_size(gids) && j < MICROFUND_MAX_GUARANTORS; j++)
            d->guarantors[d->nguarantors++] =
                s_person_number(json_string_value(json_array_get(gids, j)));
    }
    mf_cash_t cash;
    microfund_cash(run->fund->rec, &cash);
    run->so.cash = cash.box;
    run->so.social = cash.social;
    return microfund_shareout_compute(&run->so, run->rows, n, run->defs, nl);
}

/* settled_at_shareout when the borrower's payout settled the whole debt, else defaulted. */
static const char *s_settled_status(const mf_default_t *d)
{
    return d->by_borrower == d->debt ? "settled_at_shareout" : "defaulted";
}

/* Who covered one open loan, as its settlement record says. */
static json_t *s_settlement(const s_run_t *run, size_t k)
{
    json_t *loan = json_array_get(run->loans, k), *gids = json_object_get(loan, "guarantor_ids");
    const mf_default_t *d = &run->defs[k];
    json_t *gs = json_array();
    for (size_t j = 0; j < d->nguarantors; j++)
        json_array_append_new(gs, json_pack("{s:O, s:I}", "person_id", json_array_get(gids, j),
                                            "rials", (json_int_t)d->by_guarantor[j]));
    return json_pack("{s:O, s:O, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I}", "loan_id",
                     json_object_get(loan, "id"), "person_id", json_object_get(loan, "person_id"),
                     "date", run->date, "status", s_settled_status(d), "principal_rials",
                     (json_int_t)d->principal, "charge_rials", (json_int_t)d->charge,
                     "debt_rials", (json_int_t)d->debt, "borrower_rials",
                     (json_int_t)d->by_borrower, "guarantors", gs, "shared_rials",
                     (json_int_t)d->shared);
}

/* The share-out as the reply and the event tell it. */
static json_t *s_result(const s_run_t *run, bool preview)
{
    json_t *payouts = json_array(), *defaults = json_array();
    for (size_t i = 0; i < json_array_size(run->members); i++) {
        const mf_share_t *r = &run->rows[i];
        if (r->shares == 0 && r->entitled == 0)
            continue;
        json_array_append_new(
            payouts,
            json_pack("{s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "person_id",
                      json_object_get(json_array_get(run->members, i), "person_id"), "shares",
                      (json_int_t)r->shares, "savings_rials", (json_int_t)r->savings,
                      "profit_rials", (json_int_t)r->profit, "entitled_rials",
                      (json_int_t)r->entitled, "covered_rials", (json_int_t)r->covered,
                      "loss_rials", (json_int_t)r->loss, "paid_rials", (json_int_t)r->paid));
    }
    for (size_t k = 0; k < json_array_size(run->loans); k++)
        json_array_append_new(defaults, s_settlement(run, k));
    json_t *cycle = json_object_get(run->fund->rec, "cycle");
    return json_pack("{s:s, s:O, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:s}",
                     "fund_id", run->fund->id, "cycle", json_object_get(cycle, "number"),
                     "preview", preview, "date", run->date, "cash_box_rials",
                     (json_int_t)run->so.cash, "social_fund_carried_rials",
                     (json_int_t)(run->so.social + run->so.to_social), "savings_rials",
                     (json_int_t)run->so.savings, "profit_rials", (json_int_t)run->so.profit,
                     "total_shares", (json_int_t)run->so.shares, "paid_rials",
                     (json_int_t)run->so.paid, "payouts", payouts, "defaults", defaults,
                     "rules_applied", RULES_TEXT);
}

/* Closes every open loan with its settlement (settled_at_shareout or defaulted), books its
 * principal as settled and its charge as earned, and emits who covered what. */
static int s_settle_loans(s_run_t *run)
{
    hy_ctx_t *ctx = run->ctx;
    for (size_t k = 0; k < json_array_size(run->loans); k++) {
        json_t *loan = json_array_get(run->loans, k), *settlement = s_settlement(run, k);
        const char *id = json_string_value(json_object_get(loan, "id"));
        uint64_t n = 0;
        if (!settlement || hy_id_parse("floan", id, &n) != 0) {
            json_decref(settlement);
            return hy_fail(ctx, 500, "internal_error", NULL, "open loan %s cannot be settled",
                           id ? id : "?");
        }
        const mf_default_t *d = &run->defs[k];
        const char *status_name = s_settled_status(d);
        json_object_set_new(loan, "status", json_string(status_name));
        json_object_set_new(loan, "settled_principal_rials", json_integer(d->principal));
        json_object_set_new(loan, "settled_charge_rials", json_integer(d->charge));
        json_object_set_new(loan, "closed", json_string(run->date));
        json_object_set_new(loan, "settlement", json_deep_copy(settlement));
        json_object_set_new(loan, "updated_at", json_string(ctx->now_iso));
        json_object_del(
            microfund_member(run->fund->rec, json_string_value(json_object_get(loan, "person_id"))),
            "active_loan_id");
        int rc, status;
        if ((rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->loans, n, loan)) != 0 ||
            (rc = microfund_loan_index_active(ctx, run->fund->n, n, false)) != 0) {
            json_decref(settlement);
            return hy_fail_mdb(ctx, rc);
        }
        if ((status = microfund_book(ctx, run->fund->rec, "principal_settled_rials",
                                     d->principal)) != 0 ||
            (status = microfund_book(ctx, run->fund->rec, "charges_rials", d->charge)) != 0 ||
            (status = microfund_emit(ctx, run->fund,
                                     d->by_borrower == d->debt ? "microfund.loan_settled"
                                                               : "microfund.loan_defaulted",
                                     id, settlement)) != 0)
            return status;
    }
    return 0;
}

/* Books the share-out, empties every member's savings and closes the cycle. */
static int s_close(s_run_t *run, json_t *result)
{
    hy_ctx_t *ctx = run->ctx;
    json_t *rec = run->fund->rec, *cycle = json_object_get(rec, "cycle");
    int64_t entitled = 0;
    for (size_t i = 0; i < json_array_size(run->members); i++) {
        entitled += run->rows[i].entitled;
        json_t *m = json_array_get(run->members, i);
        json_object_set_new(m, "shares", json_integer(0));
        json_object_set_new(m, "savings_rials", json_integer(0));
    }
    int status;
    if ((status = s_settle_loans(run)) != 0 ||
        (status = microfund_book(ctx, rec, "shareouts_rials", entitled)) != 0 ||
        (status = microfund_book(ctx, rec, "social_fund_added_rials", run->so.to_social)) != 0)
        return status;
    json_object_update_new(
        cycle, json_pack("{s:s, s:s, s:I, s:I, s:I}", "status", "shared_out", "shareout_date",
                         run->date, "profit_rials", (json_int_t)run->so.profit, "paid_rials",
                         (json_int_t)run->so.paid, "social_fund_carried_rials",
                         (json_int_t)(run->so.social + run->so.to_social)));
    json_array_append_new(json_object_get(rec, "history"), json_deep_copy(cycle));
    if ((status = microfund_fund_save(ctx, run->fund)) != 0)
        return status;
    uint8_t key[16];   /* kept whole for the members' passbooks (books.c) */
    hy_key_u64(run->fund->n, key);
    hy_key_u64((uint64_t)microfund_int(cycle, "number"), key + 8);
    int rc = hy_store_put_json(ctx->txn, microfund_state(ctx)->shareouts, key, sizeof key, result);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    return microfund_emit(ctx, run->fund, "microfund.shareout_completed", NULL,
                          json_deep_copy(result));
}

int microfund_shareout(hy_ctx_t *ctx, const char *id, bool preview, const char *date,
                       json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    s_run_t run = {ctx, &fund, date ? date : ctx->today, json_object_get(fund.rec, "members"),
                   NULL, NULL, NULL, {0}};
    json_t *cycle = json_object_get(fund.rec, "cycle"), *result = NULL;
    const char *start = json_string_value(json_object_get(cycle, "start"));
    int rc;
    if ((status = microfund_cycle_open(ctx, &fund)) != 0)
        goto done;
    const char *last = json_string_value(json_object_get(cycle, "last_activity_date"));
    if (strcmp(run.date, start) < 0) {
        status = hy_fail(ctx, 422, "outside_cycle", "date",
                         "the share-out cannot come before the cycle starts (%s)", start);
        goto done;
    }
    if (last && strcmp(run.date, last) < 0) {
        status = hy_fail(ctx, 422, "before_last_activity", "date",
                         "the cycle's last meeting, loan or repayment was on %s; the share-out "
                         "comes after it", last);
        hy_fail_extra(ctx, "last_activity_date", json_string(last));
        goto done;
    }
    if (!preview && (status = microfund_not_future(ctx, run.date, "date")) != 0)
        goto done;
    if ((rc = microfund_loans_active(ctx, fund.n, &run.loans)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    if (s_gather(&run) != 0) {
        status = hy_fail(ctx, 500, "internal_error", NULL,
                         "the books of %s do not add up; nothing was shared out", id);
        goto done;
    }
    result = s_result(&run, preview);
    if (!result)
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    else if (!preview)
        status = s_close(&run, result);
    if (!status)
        *out = json_incref(result);
done:
    json_decref(result);
    json_decref(run.loans);
    free(run.rows);
    free(run.defs);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
