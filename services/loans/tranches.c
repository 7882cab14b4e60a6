/*
 * tranches.c — paying a loan out in tranches (Fineract's multi-tranche loans).
 *
 * An approved loan is paid out in one or more disbursements, never more than the approved
 * amount in total (422 over_approved; the service handles one request at a time, so two racing
 * disbursements are checked one after the other). A disbursement is dated on or after the
 * approval and everything on the loan's ledger (422 date_out_of_order), never after today.
 *
 * Each tranche starts falling due at once: the first builds the schedule over what it paid
 * out, and every later one re-derives it exactly (ledger.c, "tranches"), keeping the schedule it
 * replaces (book.c, schedule history) and re-deriving the allocation of the repayments already
 * made on the new schedule (the event lists those whose split changed). While part of the
 * approved amount is still to come the loan is "disbursing": repaid, aged and in PAR30 like any
 * other; the tranche that completes the approved amount makes it "disbursed".
 *
 * POST /v1/loans/{id}/close-tranches (a disbursing loan): the rest will not be paid out. The
 * approved amount shrinks to what was disbursed, which releases the person's yearly cap, and
 * the loan is "disbursed".
 *
 * The fee follows the loan's fee method (terms.fee_method; loans approved before fee methods
 * existed are flat): fee_rials is always the fee of the schedule in force.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"

/* The schedule after a tranche on day brings the disbursed total to total: built by the first,
 * re-derived by later ones. *lines (malloc'ed, caller frees) and *n; 0 or -1. */
static int s_tranche_schedule(const json_t *loan, const loans_book_t *book, int64_t day,
                              int64_t total, loans_line_t **lines, size_t *n)
{
    const json_t *terms = json_object_get(loan, "terms");
    int term = (int)hy_json_int(loan, "term_months", 0);
    int first = 1 + (int)hy_json_int(terms, "grace_months", 0);
    int64_t rate = hy_json_int(terms, "fee_rate_bp", 0), flat = -1;
    bool declining = loans_declining(loan);
    if (term < 1 || (!declining && loans_fee(total, rate, term, &flat) != 0))
        return -1;
    *lines = calloc((book->ninst > (size_t)term ? book->ninst : (size_t)term) + 1, sizeof **lines);
    if (!*lines)
        return -1;
    if (book->ninst)
        return loans_rederive(book->inst, book->ninst, day, total, flat, rate, first, *lines, n);
    *n = (size_t)term;
    if (loans_schedule(total, declining ? 0 : flat, term, day, first, *lines) != 0)
        return -1;
    return declining ? loans_declining_fees(*lines, *n, 0, total, rate, first) : 0;
}

/* Sets the schedule, its fee and the repayments' allocation on it; extra gets what changed. */
static int s_set_schedule(json_t *loan, const loans_line_t *lines, size_t n, json_t *extra)
{
    int64_t fee = 0;
    for (size_t k = 0; k < n; k++)
        if (__builtin_add_overflow(fee, lines[k].a, &fee))
            return -1;
    json_object_set_new(loan, "schedule", loans_schedule_json(lines, n));
    json_object_set_new(loan, "fee_rials", json_integer(fee));
    json_t *changed = json_array();
    if (!changed || loans_reallocate(loan, lines, n, 0, SIZE_MAX, changed) != 0) {
        json_decref(changed);
        return -1;
    }
    if (json_array_size(changed))
        json_object_set(extra, "reallocated", changed);
    json_decref(changed);
    json_object_set(extra, "first_due_date",
                    json_object_get(json_array_get(json_object_get(loan, "schedule"), 0),
                                    "due_date"));
    json_object_set_new(extra, "installments", json_integer((json_int_t)n));
    json_object_set_new(extra, "fee_rials", json_integer(fee));
    return 0;
}

/* Pays out a tranche; the schedule covers what has been paid out. */
int loans_loan_disburse(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *extra = NULL;
    uint64_t n;
    int64_t day, amount = hy_json_int(args, "amount_rials", 0), total;
    char date[11];
    loans_book_t book = {0};
    loans_line_t *lines = NULL;
    size_t nlines = 0;
    int old, status = loans_load_in(ctx, args, 1u << LOANS_APPROVED | 1u << LOANS_DISBURSING,
                                    "disbursed", &n, &loan, &old);
    if (status)
        return status;
    int64_t approved = hy_json_int(loan, "approved_rials", 0), done = hy_json_int(loan, "disbursed_rials", 0);
    if ((status = loans_ledger_arg(ctx, args, loan, false, &day, date)) != 0)
        goto fail;
    if (__builtin_add_overflow(done, amount, &total) || total > approved) {
        status = hy_fail(ctx, 422, "over_approved", "amount_rials",
                         "%lld rials would bring disbursements to more than the %lld approved "
                         "(%lld already disbursed)",
                         (long long)amount, (long long)approved, (long long)done);
        hy_fail_extra(ctx, "remaining_rials", json_integer(approved - done));
        goto fail;
    }
    if (loans_book_from_json(loan, &book) != 0) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger is malformed");
        goto fail;
    }
    if (s_tranche_schedule(loan, &book, day, total, &lines, &nlines) != 0) {
        status = hy_fail(ctx, 422, "invalid_date", "date",
                         "the schedule from %s runs past the supported calendar", date);
        goto fail;
    }
    /* numbered in the order recorded (voided ones keep theirs): what a void names */
    json_t *tranche = json_pack(
        "{s:I,s:I}", "number",
        (json_int_t)(json_array_size(json_object_get(loan, "disbursements")) +
                     json_array_size(json_object_get(loan, "voided_disbursements")) + 1),
        "amount_rials", (json_int_t)amount);
    loans_set_date(tranche, "date", date);
    loans_append(loan, "disbursements", tranche);
    json_object_set_new(loan, "disbursed_rials", json_integer(total));
    extra = json_pack("{s:I,s:s,s:I,s:I,s:b}", "amount_rials", (json_int_t)amount, "date", date,
                      "disbursed_rials", (json_int_t)total, "approved_rials",
                      (json_int_t)approved, "fully_disbursed", total == approved);
    if (book.ninst)
        loans_history_push(loan, date, "tranche");
    if (!extra || s_set_schedule(loan, lines, nlines, extra) != 0) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger overflows");
        goto fail;
    }
    if (!json_object_get(loan, "repaid_rials"))
        json_object_set_new(loan, "repaid_rials", json_integer(0));
    json_object_set_new(loan, "status", json_string(total == approved ? "disbursed" : "disbursing"));
    if (total == approved)
        loans_set_date(loan, "disbursed_on", date);
    free(lines);
    loans_book_free(&book);
    return loans_commit(ctx, n, old, loan, "disbursed", extra, out);
fail:
    free(lines);
    loans_book_free(&book);
    json_decref(extra);
    json_decref(loan);
    return status;
}

/* The rest of the approved amount will not be paid out: the approval shrinks to it. */
int loans_loan_close_tranches(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int old, status = loans_load_in(ctx, args, 1u << LOANS_DISBURSING, "closed to more tranches",
                                    &n, &loan, &old);
    if (status)
        return status;
    json_t *previous = json_incref(json_object_get(loan, "approved_rials"));
    json_t *disbursed = json_object_get(loan, "disbursed_rials");
    json_t *rec = json_pack("{s:O,s:O}", "previous_approved_rials", previous, "approved_rials",
                            disbursed);
    json_decref(previous);
    loans_set_date(rec, "date", ctx->today);
    json_object_set(loan, "approved_rials", disbursed);
    json_object_set_new(loan, "tranches_closed", json_deep_copy(rec));
    json_object_set_new(loan, "status", json_string("disbursed"));
    return loans_commit(ctx, n, old, loan, "tranches_closed", rec, out);
}
