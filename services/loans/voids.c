/*
 * voids.c — voiding a repayment recorded by mistake, under maker-checker (Fineract's "undo
 * transaction" with its maker-checker; shared/correct.h keeps the bookkeeping).
 *
 * Money is reversed by two keys: one asks (POST /v1/loans/{id}/repayments/{number}/void
 * {reason}: 202, the repayment carries void_request {reason, requested_by, requested_at} and
 * nothing else changes), another approves (POST .../void/approve: 422 same_approver for the key
 * that asked) or either turns the request down (POST .../void/reject {reason}). On approval the
 * repayment leaves the ledger for voided_repayments, where it stays readable with voided:true,
 * voided_by, voided_at and void_reason; it counts nowhere (book, figures, portfolio), its bank
 * reference may be booked again, and the allocation of every later repayment is re-derived
 * exactly as if it had never been recorded (loans_reallocate; "reallocated" in the event, as
 * for a backdated repayment). A loan the repayment had closed is open again (loans.loan.reopened).
 * A correction of a repayment (a wrong amount or date) is a void and a new repayment, as in
 * Fineract.
 *
 * Who: the office of the loan (or the province) and operators (records.c checks the office).
 * Refused: a repayment of a loan paid off early under the declining fee (409 paid_off_early:
 * the cut schedule would have to be restored), one dated before a rescheduling that was
 * computed from it (409 rescheduled_after), a written-off loan's (409 wrong_state), one voided
 * already (409 voided), a second request while one waits (409 void_pending), an approval with
 * no request (409 no_void_request).
 *
 * Events: loans.loan.repayment_void_requested {number, reason, requested_by},
 * loans.loan.repayment_void_rejected {number, reason}, loans.loan.repayment_voided
 * {number, before, reason, voided_by, voided_at, requested_by, reallocated, repaid_rials}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "correct.h"
#include "loans.h"

#define VOIDABLE                                                                               \
    (1u << LOANS_DISBURSING | 1u << LOANS_DISBURSED | 1u << LOANS_RESCHEDULED | 1u << LOANS_CLOSED)

int loans_void_load(hy_ctx_t *ctx, const json_t *args, unsigned states, const char *what,
                    uint64_t *n, json_t **loan, int *old, long long *number)
{
    const char *text = hy_json_str(args, "number");
    char *end = NULL;
    long long v = text ? strtoll(text, &end, 10) : 0;
    *number = end && !*end && v > 0 ? v : 0;
    return loans_load_in(ctx, args, states, what, n, loan, old);
}

/* Loads the loan and finds its repayment args.number: *idx its index in repayments. A voided
 * one is 409 voided, an unknown one 404. Returns 0 or -1 (loan freed then). */
static int s_find(hy_ctx_t *ctx, const json_t *args, const char *what, uint64_t *n,
                  json_t **loan, int *old, size_t *idx)
{
    long long number;
    int status = loans_void_load(ctx, args, VOIDABLE, what, n, loan, old, &number);
    if (status)
        return status;
    const char *text = hy_json_str(args, "number");
    size_t i;
    json_t *r;
    if (number > 0) {
        json_array_foreach(json_object_get(*loan, "repayments"), i, r) {
            if (hy_json_int(r, "number", 0) == number) {
                *idx = i;
                return 0;
            }
        }
        json_array_foreach(json_object_get(*loan, "voided_repayments"), i, r) {
            if (hy_json_int(r, "number", 0) == number) {
                status = hy_correct_check_live(ctx, r, "repayment");
                json_decref(*loan);
                *loan = NULL;
                return status;
            }
        }
    }
    status = hy_fail(ctx, 404, "not_found", "number", "loan %s has no repayment number %s",
                     hy_json_str(*loan, "id"), text ? text : "");
    json_decref(*loan);
    *loan = NULL;
    return status;
}

/* What would make a void of repayment r of loan wrong; 0 when it may be voided. */
static int s_check_voidable(hy_ctx_t *ctx, const json_t *loan, const json_t *r)
{
    if (json_object_get(loan, "payoff"))
        return hy_fail(ctx, 409, "paid_off_early", "number",
                       "loan %s was paid off early on %s: its repayments can no longer be voided",
                       hy_json_str(loan, "id"), hy_json_str(json_object_get(loan, "payoff"), "date"));
    json_t *res = json_object_get(loan, "reschedules");
    const char *last = hy_json_str(json_array_get(res, json_array_size(res) - 1), "date");
    if (last && strcmp(hy_json_str(r, "date"), last) <= 0)
        return hy_fail(ctx, 409, "rescheduled_after", "number",
                       "loan %s was rescheduled on %s from what this repayment had paid",
                       hy_json_str(loan, "id"), last);
    return 0;
}

int loans_void_step(hy_ctx_t *ctx, const json_t *args, uint64_t n, int old, json_t *loan,
                    json_t *entry, const char *what, bool request, json_t **out)
{
    int status = request ? hy_checker_request(ctx, entry, hy_json_str(args, "reason"), "number")
                         : hy_checker_reject(ctx, entry, "number");
    if (status) {
        json_decref(loan);
        return status;
    }
    char verb[64];
    snprintf(verb, sizeof verb, "%s_void_%s", what, request ? "requested" : "rejected");
    const char *number = hy_json_str(args, "number");
    return loans_commit(ctx, n, old, loan, verb,
                        json_pack("{s:I,s:O}", "number",
                                  (json_int_t)(number ? strtoll(number, NULL, 10) : 0), "reason",
                                  json_object_get(args, "reason") ? json_object_get(args, "reason")
                                                                  : json_null()),
                        out);
}

/* POST /v1/loans/{id}/repayments/{number}/void: the maker's request. */
int loans_repayment_void(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    size_t i;
    int old, status = s_find(ctx, args, "voided", &n, &loan, &old, &i);
    if (status)
        return status;
    json_t *r = json_array_get(json_object_get(loan, "repayments"), i);
    if ((status = s_check_voidable(ctx, loan, r)) != 0) {
        json_decref(loan);
        return status;
    }
    return loans_void_step(ctx, args, n, old, loan, r, "repayment", true, out);
}

/* POST .../void/reject: the request is turned down; the repayment stands. */
int loans_repayment_void_reject(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    size_t i;
    int old, status = s_find(ctx, args, "changed", &n, &loan, &old, &i);
    if (status)
        return status;
    return loans_void_step(ctx, args, n, old, loan,
                           json_array_get(json_object_get(loan, "repayments"), i), "repayment",
                           false, out);
}

/* Takes repayment i out of the ledger into voided_repayments and re-derives the later ones;
 * *changed gets the re-allocated ones, *data the event data. 0 or the failure status. */
static int s_take_out(hy_ctx_t *ctx, json_t *loan, size_t i, json_t **changed, json_t **data)
{
    json_t *reps = json_object_get(loan, "repayments");
    json_t *r = json_incref(json_array_get(reps, i));
    const json_t *req = json_object_get(r, "void_request");
    const char *reason = hy_json_str(req, "reason");
    loans_book_t book;
    loans_state_t st;
    int status = loans_book_at(ctx, loan, loans_day(ctx->today), &book, &st);
    if (status) {
        json_decref(r);
        return status;
    }
    json_array_remove(reps, i);
    json_object_set(r, "id", json_object_get(loan, "id"));   /* the event names the loan */
    status = hy_correct_void(ctx, r, reason, data);
    json_object_del(r, "id");
    *changed = json_array();
    if (status == 0 && (!*changed || loans_reallocate(loan, book.inst, book.ninst, i, SIZE_MAX,
                                                      *changed) != 0))
        status = hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger overflows");
    loans_book_free(&book);
    if (status) {
        json_decref(r);
        return status;
    }
    int64_t repaid = 0;
    size_t k;
    json_t *x;
    json_array_foreach(reps, k, x) repaid += hy_json_int(x, "amount_rials", 0);
    json_object_set_new(loan, "repaid_rials", json_integer(repaid));
    json_object_del(json_object_get(*data, "before"), "id");
    json_object_set(*data, "number", json_object_get(r, "number"));
    json_object_set(*data, "requested_by", json_object_get(req, "requested_by"));
    json_object_set(*data, "reallocated", *changed);
    json_object_set_new(*data, "repaid_rials", json_integer(repaid));
    loans_append(loan, "voided_repayments", r);
    return 0;
}

/* POST .../void/approve: the checker's approval (another key than the one that asked). */
int loans_repayment_void_approve(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *changed = NULL, *data = NULL;
    uint64_t n;
    size_t i;
    int old, status = s_find(ctx, args, "changed", &n, &loan, &old, &i);
    if (status)
        return status;
    json_t *r = json_array_get(json_object_get(loan, "repayments"), i);
    if ((status = hy_checker_approve(ctx, r, "number")) != 0 ||
        (status = s_check_voidable(ctx, loan, r)) != 0 ||
        (status = s_take_out(ctx, loan, i, &changed, &data)) != 0)
        goto fail;
    json_decref(changed);
    if (old != LOANS_CLOSED)
        return loans_commit(ctx, n, old, loan, "repayment_voided", data, out);
    /* the repayment had closed the loan: it is open again */
    json_object_del(loan, "closed_on");
    json_object_set_new(loan, "status", json_string(json_array_size(json_object_get(
                                                        loan, "reschedules"))
                                                        ? "rescheduled"
                                                        : "disbursed"));
    if ((status = loans_emit(ctx, "repayment_voided", loan, data)) != 0) {
        data = NULL;
        goto fail;
    }
    return loans_commit(ctx, n, old, loan, "reopened",
                        json_pack("{s:s,s:O}", "date", ctx->today, "repaid_rials",
                                  json_object_get(loan, "repaid_rials")), out);
fail:
    json_decref(changed);
    json_decref(data);
    json_decref(loan);
    return status;
}
