/*
 * disb_voids.c — voiding a disbursement (a tranche) recorded by mistake, under maker-checker
 * (Fineract's "undo disbursal"; shared/checker.h, shared/correct.h).
 *
 * Only the loan's last tranche is voided (409 not_last_disbursement: void the later ones first),
 * and only while no live repayment is dated on or after it (409 repayments_after: void those
 * first, voids.c), the loan is disbursing or disbursed (409 wrong_state) and its tranches were
 * not closed (409 tranches_closed). One key asks (POST /v1/loans/{id}/disbursements/{number}/void
 * {reason}: 202), another approves (.../void/approve; 422 same_approver) or either turns it down
 * (.../void/reject {reason}).
 *
 * On approval the tranche moves to voided_disbursements (readable, voided, who, when, why) and
 * the loan is as if it had never been paid out: after its only tranche it is "approved" again,
 * with no schedule and the fee fixed at approval; after a later one the schedule that tranche
 * replaced comes back from schedule_history, the fee with it, the earlier repayments are
 * re-allocated on it, and the loan is "disbursing". Event loans.loan.disbursement_voided {number,
 * before, reason, voided_by, voided_at, disbursed_rials}.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "correct.h"
#include "loans.h"

#define TRANCHED (1u << LOANS_DISBURSING | 1u << LOANS_DISBURSED)

/* The number of a tranche: its own, else (stores from before numbers) its place from 1. */
static int64_t s_number(const json_t *tranche, size_t i)
{
    int64_t n = hy_json_int(tranche, "number", 0);
    return n > 0 ? n : (int64_t)i + 1;
}

/* Loads the loan and checks args.number names its last live tranche. 0 or a status. */
static int s_find(hy_ctx_t *ctx, const json_t *args, const char *what, uint64_t *n,
                  json_t **loan, int *old, json_t **tranche)
{
    long long number;
    int status = loans_void_load(ctx, args, TRANCHED, what, n, loan, old, &number);
    if (status)
        return status;
    const char *text = hy_json_str(args, "number");
    json_t *disb = json_object_get(*loan, "disbursements"), *t;
    size_t last = json_array_size(disb), i;
    json_array_foreach(json_object_get(*loan, "voided_disbursements"), i, t) {
        if (!status && number > 0 && hy_json_int(t, "number", 0) == number)
            status = hy_correct_check_live(ctx, t, "disbursement");
    }
    json_array_foreach(disb, i, t) {
        if (!status && number > 0 && s_number(t, i) == number && i + 1 != last)
            status = hy_fail(ctx, 409, "not_last_disbursement", "number",
                             "only the last disbursement is voided: void the later ones first");
        else if (!status && number > 0 && s_number(t, i) == number)
            *tranche = t;
    }
    if (!status && !*tranche)
        status = hy_fail(ctx, 404, "not_found", "number", "loan %s has no disbursement number %s",
                         hy_json_str(*loan, "id"), text ? text : "");
    if (!status && json_object_get(*loan, "tranches_closed"))
        status = hy_fail(ctx, 409, "tranches_closed", "number",
                         "the loan's tranches were closed: its disbursements stand");
    const char *date = hy_json_str(*tranche, "date");
    json_array_foreach(json_object_get(*loan, "repayments"), i, t) {
        if (!status && date && strcmp(hy_json_str(t, "date"), date) >= 0)
            status = hy_fail(ctx, 409, "repayments_after", "number",
                             "repayments are recorded on or after this disbursement: void them "
                             "first");
    }
    if (status) {
        json_decref(*loan);
        *loan = NULL;
    }
    return status;
}

int loans_disbursement_void(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *t = NULL;
    uint64_t n;
    int old, status = s_find(ctx, args, "voided", &n, &loan, &old, &t);
    return status ? status : loans_void_step(ctx, args, n, old, loan, t, "disbursement", true, out);
}

int loans_disbursement_void_reject(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *t = NULL;
    uint64_t n;
    int old, status = s_find(ctx, args, "changed", &n, &loan, &old, &t);
    return status ? status
                  : loans_void_step(ctx, args, n, old, loan, t, "disbursement", false, out);
}

/* The loan without its last tranche: back to approved (no schedule, the approval's fee), or to
 * the schedule the tranche replaced with the repayments re-allocated on it. 0 or -1. */
static int s_undo(json_t *loan, int64_t disbursed)
{
    json_t *hist = json_object_get(loan, "schedule_history");
    json_t *h = json_array_get(hist, json_array_size(hist) - 1);
    const char *change = hy_json_str(h, "change");
    if (disbursed == 0) {
        int64_t fee;
        if (loans_approval_fee(json_object_get(loan, "terms"), hy_json_int(loan, "approved_rials", 0),
                               hy_json_int(loan, "term_months", 0),
                               loans_day(hy_json_str(loan, "approved_on")), &fee) != 0)
            return -1;
        json_object_del(loan, "schedule");
        json_object_set_new(loan, "fee_rials", json_integer(fee));
        json_object_set_new(loan, "status", json_string("approved"));
        return 0;
    }
    if (!change || strcmp(change, "tranche") != 0)
        return -1;
    json_t *sched = json_object_get(h, "schedule");
    size_t n = json_array_size(sched), k;
    loans_line_t *lines = calloc(n ? n : 1, sizeof *lines);
    int64_t fee = 0;
    json_t *x;
    json_array_foreach(sched, k, x) {
        if (lines) {
            lines[k].day = loans_day(hy_json_str(x, "due_date"));
            lines[k].a = hy_json_int(x, "fee_rials", 0);
            lines[k].b = hy_json_int(x, "principal_rials", 0);
        }
        fee += hy_json_int(x, "fee_rials", 0);
    }
    json_t *changed = json_array();
    json_object_set(loan, "schedule", sched);
    int rc = !lines || !changed || loans_reallocate(loan, lines, n, 0, SIZE_MAX, changed) != 0;
    free(lines);
    json_decref(changed);
    json_array_remove(hist, json_array_size(hist) - 1);
    json_object_set_new(loan, "fee_rials", json_integer(fee));
    json_object_set_new(loan, "status", json_string("disbursing"));
    return rc ? -1 : 0;
}

int loans_disbursement_void_approve(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *t = NULL, *data = NULL;
    uint64_t n;
    int old, status = s_find(ctx, args, "changed", &n, &loan, &old, &t);
    if (status)
        return status;
    if ((status = hy_checker_approve(ctx, t, "number")) != 0) {
        json_decref(loan);
        return status;
    }
    json_t *disb = json_object_get(loan, "disbursements");
    size_t last = json_array_size(disb) - 1, i;
    json_t *x;
    json_array_foreach(disb, i, x) {   /* numbers stay put once one is voided */
        if (!json_object_get(x, "number"))
            json_object_set_new(x, "number", json_integer(s_number(x, i)));
    }
    json_t *gone = json_incref(t);
    const char *reason = hy_json_str(json_object_get(gone, "void_request"), "reason");
    int64_t disbursed = hy_json_int(loan, "disbursed_rials", 0) - hy_json_int(gone, "amount_rials", 0);
    json_array_remove(disb, last);
    json_object_set(gone, "id", json_object_get(loan, "id"));   /* the event names the loan */
    status = hy_correct_void(ctx, gone, reason, &data);
    json_object_del(gone, "id");
    json_object_del(json_object_get(data, "before"), "id");
    if (!status && s_undo(loan, disbursed) != 0)
        status = hy_fail(ctx, 500, "internal_error", NULL,
                         "the schedule before this disbursement cannot be restored");
    if (status) {
        json_decref(gone);
        json_decref(data);
        json_decref(loan);
        return status;
    }
    json_object_set_new(loan, "disbursed_rials", json_integer(disbursed));
    json_object_del(loan, "disbursed_on");
    loans_append(loan, "voided_disbursements", gone);
    json_object_set(data, "number", json_object_get(gone, "number"));
    json_object_set_new(data, "disbursed_rials", json_integer(disbursed));
    return loans_commit(ctx, n, old, loan, "disbursement_voided", data, out);
}
