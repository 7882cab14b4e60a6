/*
 * loan_voids.c — voiding a repayment of a fund loan recorded by mistake, under maker-checker
 * (shared/checker.h, shared/correct.h).
 *
 * Repayments are named by their number (their place in the loan's list, from 1). One key asks
 * (POST /v1/fund-loans/{id}/repayments/{number}/void {reason}: 202), another approves
 * (.../void/approve; 422 same_approver) or either turns it down (.../void/reject {reason}). On
 * approval the repayment stays in place, readable, with voided:true, voided_by, voided_at and
 * void_reason, and counts nowhere: the split of every live repayment is derived again in order
 * (service charge first, as when they were recorded), the loan's paid totals and the fund's
 * ledger move by the difference, and a loan it had repaid is active again. Events:
 * microfund.repayment_void_requested, microfund.repayment_void_rejected,
 * microfund.repayment_voided {loan_id, number, before, reason, voided_by, voided_at,
 * outstanding_rials}.
 *
 * Refused: a loan settled or defaulted at a share-out (409 wrong_state), the reopening of a
 * repaid loan whose borrower has taken another loan since (409 active_loan_exists), a void that
 * would leave the fund short (409 insufficient_cash), and as for any void 409 voided,
 * void_pending, no_void_request.
 */
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "correct.h"
#include "microfund.h"

typedef struct {
    mf_fund_t fund;
    uint64_t n;
    json_t *loan;
    json_t *rep;   /* borrowed from loan */
} s_target_t;

static void s_close(s_target_t *t)
{
    microfund_fund_close(&t->fund);
    json_decref(t->loan);
    t->loan = NULL;
}

/* Loads the loan, its fund and its repayment `number`: 0 or the failure status (closed). */
static int s_load(hy_ctx_t *ctx, const char *id, const char *number, s_target_t *t)
{
    memset(t, 0, sizeof *t);
    int rc = MDB_NOTFOUND, status;
    if (id && hy_id_parse("floan", id, &t->n) == 0)
        rc = hy_store_get_id(ctx->txn, microfund_state(ctx)->loans, t->n, &t->loan);
    if (rc)
        return rc == MDB_NOTFOUND ? hy_fail(ctx, 404, "not_found", "id",
                                            "no fund loan has the id %s", id ? id : "")
                                  : hy_fail_mdb(ctx, rc);
    if ((status = microfund_fund_open(
             ctx, json_string_value(json_object_get(t->loan, "fund_id")), &t->fund)) != 0) {
        s_close(t);
        return status;
    }
    char *end = NULL;
    long long k = number ? strtoll(number, &end, 10) : 0;
    json_t *reps = json_object_get(t->loan, "repayments");
    if (!end || *end || k < 1 || (size_t)k > json_array_size(reps))
        status = hy_fail(ctx, 404, "not_found", "number", "loan %s has no repayment number %s",
                         id, number ? number : "");
    else if ((status = hy_correct_check_live(ctx, json_array_get(reps, (size_t)k - 1),
                                             "repayment")) == 0) {
        const char *st = json_string_value(json_object_get(t->loan, "status"));
        if (!st || (strcmp(st, "active") != 0 && strcmp(st, "repaid") != 0))
            status = hy_fail(ctx, 409, "wrong_state", NULL,
                             "loan %s is %s: it was settled at a share-out", id, st ? st : "?");
    }
    if (status) {
        s_close(t);
        return status;
    }
    t->rep = json_array_get(reps, (size_t)k - 1);
    return 0;
}

/* Saves the loan and the fund and emits type with data (stolen); returns 0 or a status. */
static int s_save(hy_ctx_t *ctx, s_target_t *t, const char *type, json_t *data)
{
    json_object_set_new(t->loan, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->loans, t->n, t->loan);
    if (rc) {
        json_decref(data);
        return hy_fail_mdb(ctx, rc);
    }
    int status = microfund_fund_save(ctx, &t->fund);
    if (status) {
        json_decref(data);
        return status;
    }
    if (data) {
        json_object_set(data, "loan_id", json_object_get(t->loan, "id"));
        json_object_set(data, "number", json_object_get(t->rep, "number"));
    }
    return microfund_emit(ctx, &t->fund, type, json_string_value(json_object_get(t->loan, "id")),
                          data);
}

/* Numbers the repayment in the reply and events (its place in the list). */
static void s_number(s_target_t *t, const char *number)
{
    json_object_set_new(t->rep, "number", json_integer(strtoll(number, NULL, 10)));
}

int microfund_repayment_void(hy_ctx_t *ctx, const char *id, const char *number,
                             const char *reason, json_t **out)
{
    s_target_t t;
    int status = s_load(ctx, id, number, &t);
    if (status)
        return status;
    s_number(&t, number);
    if ((status = hy_checker_request(ctx, t.rep, reason, "number")) == 0 &&
        (status = s_save(ctx, &t, "microfund.repayment_void_requested",
                         json_pack("{s:s}", "reason", reason ? reason : ""))) == 0)
        *out = json_incref(t.loan);
    s_close(&t);
    return status ? status : 0;
}

int microfund_repayment_void_reject(hy_ctx_t *ctx, const char *id, const char *number,
                                    const char *reason, json_t **out)
{
    s_target_t t;
    int status = s_load(ctx, id, number, &t);
    if (status)
        return status;
    if ((status = hy_checker_reject(ctx, t.rep, "number")) == 0 &&
        (status = s_save(ctx, &t, "microfund.repayment_void_rejected",
                         json_pack("{s:s}", "reason", reason ? reason : ""))) == 0)
        *out = json_incref(t.loan);
    s_close(&t);
    return status ? status : 0;
}

/* Derives every live repayment's split again (charge first) and moves the loan's paid totals
 * and the fund's ledger by the difference. 0 or a status. */
static int s_rederive(hy_ctx_t *ctx, s_target_t *t)
{
    int64_t charge = microfund_int(t->loan, "charge_rials"), paid_c = 0, paid_p = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(t->loan, "repayments"), i, r) {
        if (hy_correct_is_voided(r))
            continue;
        int64_t amount = microfund_int(r, "amount_rials");
        int64_t to_c = amount < charge - paid_c ? amount : charge - paid_c;
        json_object_set_new(r, "charge_rials", json_integer(to_c));
        json_object_set_new(r, "principal_rials", json_integer(amount - to_c));
        paid_c += to_c;
        paid_p += amount - to_c;
    }
    int64_t dc = paid_c - microfund_int(t->loan, "paid_charge_rials");
    int64_t dp = paid_p - microfund_int(t->loan, "paid_principal_rials");
    json_object_set_new(t->loan, "paid_charge_rials", json_integer(paid_c));
    json_object_set_new(t->loan, "paid_principal_rials", json_integer(paid_p));
    int status;
    if ((status = microfund_book(ctx, t->fund.rec, "charges_rials", dc)) != 0 ||
        (status = microfund_book(ctx, t->fund.rec, "principal_repaid_rials", dp)) != 0)
        return status;
    mf_cash_t cash;
    microfund_cash(t->fund.rec, &cash);
    if (cash.box < 0 || cash.loan_cash < 0)
        return hy_fail(ctx, 409, "insufficient_cash", "number",
                       "this repayment has been lent or paid out since: voiding it would leave "
                       "the fund short");
    return 0;
}

/* A repaid loan is active again: its index entry and the borrower's active loan. */
static int s_reopen(hy_ctx_t *ctx, s_target_t *t)
{
    json_t *m = microfund_member(t->fund.rec,
                                 json_string_value(json_object_get(t->loan, "person_id")));
    const char *other = json_string_value(json_object_get(m, "active_loan_id"));
    if (other)
        return hy_fail(ctx, 409, "active_loan_exists", "number",
                       "the borrower has taken loan %s since: this one cannot be reopened", other);
    json_object_set_new(t->loan, "status", json_string("active"));
    json_object_del(t->loan, "closed");
    if (m)
        json_object_set(m, "active_loan_id", json_object_get(t->loan, "id"));
    int rc = microfund_loan_index_active(ctx, t->fund.n, t->n, true);
    return hy_mdb_status(ctx, rc);
}

int microfund_repayment_void_approve(hy_ctx_t *ctx, const char *id, const char *number,
                                     json_t **out)
{
    s_target_t t;
    json_t *data = NULL;
    int status = s_load(ctx, id, number, &t);
    if (status)
        return status;
    const char *reason = json_string_value(
        json_object_get(json_object_get(t.rep, "void_request"), "reason"));
    bool repaid = strcmp(json_string_value(json_object_get(t.loan, "status")), "repaid") == 0;
    s_number(&t, number);
    if ((status = hy_checker_approve(ctx, t.rep, "number")) == 0) {
        json_object_set(t.rep, "id", json_object_get(t.loan, "id"));   /* the event's id */
        status = hy_correct_void(ctx, t.rep, reason, &data);
        json_object_del(t.rep, "id");
        json_object_del(json_object_get(data, "before"), "id");
    }
    if (!status && (status = s_rederive(ctx, &t)) == 0 && (!repaid || (status = s_reopen(ctx, &t)) == 0)) {
        int64_t owed = microfund_int(t.loan, "principal_rials") +
                       microfund_int(t.loan, "charge_rials") -
                       microfund_int(t.loan, "paid_principal_rials") -
                       microfund_int(t.loan, "paid_charge_rials");
        json_object_set_new(data, "outstanding_rials", json_integer(owed));
        status = s_save(ctx, &t, "microfund.repayment_voided", json_incref(data));
    }
    if (!status)
        *out = json_incref(t.loan);
    json_decref(data);
    s_close(&t);
    return status ? status : 0;
}
