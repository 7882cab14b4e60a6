/*
 * servicing.c — a loan's money after approval: disbursement in tranches, repayments, closure,
 * write-off and rescheduling.
 *
 * Tranches: an approved loan is paid out in one or more disbursements, never more than the
 * approved amount in total (422 over_approved; the service handles one request at a time, so
 * two racing disbursements are checked one after the other). While part is still to come the
 * loan is "disbursing": no schedule yet and repayments are refused (409 wrong_state). The
 * disbursement that completes the approved amount builds the schedule (ledger.c), its first
 * installment due 1 + grace months after that date, and makes the loan "disbursed": the
 * borrower starts repaying only once she has had the whole amount.
 *
 * Ledger dates never go back: a disbursement is dated on or after the approval and the previous
 * tranche, a repayment or a rescheduling on or after the last disbursement, repayment or
 * rescheduling (422 date_out_of_order), and nothing is dated after today (422 future_date).
 * That keeps every figure "as of" a date consistent with the order payments were allocated in.
 *
 * Repayments follow ledger.c's allocation; one larger than everything still owed is refused
 * (422 over_outstanding) and a bank reference already recorded on the loan is refused (409
 * duplicate_reference). The repayment that clears the last rial closes the loan.
 *
 * Write-off (operator role) takes a loan with money out off the books with a reason, recording
 * the principal and fee it loses. Rescheduling applies to an overdue loan (422 not_overdue
 * otherwise): what the installments have received stays as it is (each installment keeps only
 * its paid part; untouched ones go), and the outstanding principal and fee are spread over
 * term_months new monthly installments from the rescheduling date, by the same rounding rule.
 * No fee is added: the loan still owes exactly what it owed.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"

#define ALL_SERVICED (1u << LOANS_DISBURSED | 1u << LOANS_RESCHEDULED)

/* The schedule as stored: [{n, due_date, due_date_jalali, fee_rials, principal_rials}]. */
static json_t *s_schedule_json(const loans_line_t *lines, size_t n)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < n; k++) {
        char iso[11];
        loans_iso(lines[k].day, iso);
        json_t *it = json_pack("{s:I}", "n", (json_int_t)(k + 1));
        loans_set_date(it, "due_date", iso);
        json_object_set_new(it, "fee_rials", json_integer(lines[k].a));
        json_object_set_new(it, "principal_rials", json_integer(lines[k].b));
        json_array_append_new(arr, it);
    }
    return arr;
}

/* The latest date on the loan's ledger: completion of disbursement, last repayment or
 * rescheduling (for a loan still disbursing: the last tranche, else the approval). */
static const char *s_ledger_date(const json_t *loan)
{
    const char *best = loans_str(loan, "approved_on");
    const char *arrays[] = {"disbursements", "repayments", "reschedules"};
    for (size_t i = 0; i < 3; i++) {
        json_t *arr = json_object_get(loan, arrays[i]);
        const char *d = loans_str(json_array_get(arr, json_array_size(arr) - 1), "date");
        if (d && (!best || strcmp(d, best) > 0))
            best = d;
    }
    return best ? best : "";
}

/* The date argument, checked against today and the ledger's last date. */
static int s_ledger_arg(hy_ctx_t *ctx, const json_t *args, const json_t *loan, int64_t *day,
                        char iso[11])
{
    int status = loans_arg_date(ctx, args, "date", day, iso);
    const char *last = s_ledger_date(loan);
    if (status == 0 && strcmp(iso, last) < 0)
        status = hy_fail(ctx, 422, "date_out_of_order", "date",
                         "%s is before the loan's last recorded date %s", iso, last);
    return status;
}

/* Pays out a tranche; the tranche that completes the approved amount builds the schedule. */
int loans_loan_disburse(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int64_t day, amount = loans_int(args, "amount_rials"), total;
    char date[11];
    int old, status = loans_load_in(ctx, args, 1u << LOANS_APPROVED | 1u << LOANS_DISBURSING,
                                    "disbursed", &n, &loan, &old);
    if (status)
        return status;
    int64_t approved = loans_int(loan, "approved_rials"), done = loans_int(loan, "disbursed_rials");
    if ((status = s_ledger_arg(ctx, args, loan, &day, date)) != 0)
        goto fail;
    if (__builtin_add_overflow(done, amount, &total) || total > approved) {
        status = hy_fail(ctx, 422, "over_approved", "amount_rials",
                         "%lld rials would bring disbursements to more than the %lld approved "
                         "(%lld already disbursed)",
                         (long long)amount, (long long)approved, (long long)done);
        hy_fail_extra(ctx, "remaining_rials", json_integer(approved - done));
        goto fail;
    }
    json_t *tranche = json_pack("{s:I}", "amount_rials", (json_int_t)amount);
    loans_set_date(tranche, "date", date);
    loans_append(loan, "disbursements", tranche);
    json_object_set_new(loan, "disbursed_rials", json_integer(total));
    json_t *extra = json_pack("{s:I,s:s,s:I,s:I,s:b}", "amount_rials", (json_int_t)amount, "date",
                              date, "disbursed_rials", (json_int_t)total, "approved_rials",
                              (json_int_t)approved, "fully_disbursed", total == approved);
    json_object_set_new(loan, "status", json_string(total == approved ? "disbursed" : "disbursing"));
    if (total == approved) {
        json_t *terms = json_object_get(loan, "terms");
        int term = (int)loans_int(loan, "term_months");
        loans_line_t *lines = calloc((size_t)term, sizeof *lines);
        if (!lines || loans_schedule(approved, loans_int(loan, "fee_rials"), term, day,
                                     1 + (int)loans_int(terms, "grace_months"), lines) != 0) {
            free(lines);
            json_decref(extra);
            status = hy_fail(ctx, 422, "invalid_date", "date",
                             "the schedule from %s runs past the supported calendar", date);
            goto fail;
        }
        json_object_set_new(loan, "schedule", s_schedule_json(lines, (size_t)term));
        loans_set_date(loan, "disbursed_on", date);
        json_object_set_new(loan, "repaid_rials", json_integer(0));
        json_object_set(extra, "first_due_date",
                        json_object_get(json_array_get(json_object_get(loan, "schedule"), 0),
                                        "due_date"));
        json_object_set_new(extra, "installments", json_integer(term));
        json_object_set(extra, "fee_rials", json_object_get(loan, "fee_rials"));
        free(lines);
    }
    return loans_commit(ctx, n, old, loan, "disbursed", extra, 200, out);
fail:
    json_decref(loan);
    return status;
}

/* The loan's book and its state as of a day, or a failure status. */
static int s_book(hy_ctx_t *ctx, const json_t *loan, int64_t day, loans_book_t *book,
                  loans_state_t *st)
{
    if (loans_book_from_json(loan, book) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger is malformed");
    if (loans_book_state(book, day, st) != 0) {
        loans_book_free(book);
        return hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger overflows");
    }
    return 0;
}

/* Records a repayment with its allocation; the last rial closes the loan. */
int loans_loan_repay(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int64_t day, amount = loans_int(args, "amount_rials"), fee, principal;
    char date[11];
    const char *reference = loans_str(args, "reference");
    loans_book_t book;
    loans_state_t st;
    int old, status = loans_load_in(ctx, args, ALL_SERVICED, "repaid", &n, &loan, &old);
    if (status)
        return status;
    if ((status = s_ledger_arg(ctx, args, loan, &day, date)) != 0)
        goto fail;
    if (reference && *reference && loans_has_reference(loan, "repayments", reference)) {
        status = hy_fail(ctx, 409, "duplicate_reference", "reference",
                         "a repayment with reference %s is already recorded on this loan",
                         reference);
        goto fail;
    }
    if ((status = s_book(ctx, loan, day, &book, &st)) != 0)
        goto fail;
    int64_t owed = st.out_principal + st.out_fee, repaid = st.paid + amount;
    loans_allocate(book.inst, book.ninst, st.paid, amount, &fee, &principal);
    loans_book_free(&book);
    if (amount > owed) {
        status = hy_fail(ctx, 422, "over_outstanding", "amount_rials",
                         "%lld rials is more than the %lld rials still owed", (long long)amount,
                         (long long)owed);
        hy_fail_extra(ctx, "outstanding_rials", json_integer(owed));
        goto fail;
    }
    json_t *rep = json_pack("{s:I,s:I,s:I}", "amount_rials", (json_int_t)amount, "fee_rials",
                            (json_int_t)fee, "principal_rials", (json_int_t)principal);
    loans_set_date(rep, "date", date);
    if (reference && *reference)
        json_object_set_new(rep, "reference", json_string(reference));
    loans_append(loan, "repayments", json_deep_copy(rep));
    json_object_set_new(loan, "repaid_rials", json_integer(repaid));
    json_object_set_new(rep, "repaid_rials", json_integer(repaid));
    json_object_set_new(rep, "outstanding_principal_rials", json_integer(st.out_principal - principal));
    json_object_set_new(rep, "outstanding_fee_rials", json_integer(st.out_fee - fee));
    if (amount < owed)
        return loans_commit(ctx, n, old, loan, "repayment_recorded", rep, 201, out);
    json_object_set_new(loan, "status", json_string("closed"));
    loans_set_date(loan, "closed_on", date);
    if ((status = loans_emit(ctx, "repayment_recorded", loan, rep)) != 0)
        goto fail;
    return loans_commit(ctx, n, old, loan, "closed",
                        json_pack("{s:s,s:I}", "date", date, "repaid_rials", (json_int_t)repaid),
                        201, out);
fail:
    json_decref(loan);
    return status;
}

/* Takes a loan with money out off the books (operator), recording what is lost. */
int loans_loan_write_off(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    loans_book_t book;
    loans_state_t st;
    int old, status = loans_load_in(ctx, args, ALL_SERVICED | 1u << LOANS_DISBURSING,
                                    "written off", &n, &loan, &old);
    if (status || (status = s_book(ctx, loan, loans_day(ctx->today), &book, &st)) != 0) {
        json_decref(loan);
        return status;
    }
    loans_book_free(&book);
    json_t *wo = json_pack("{s:O,s:I,s:I}", "reason", json_object_get(args, "reason"),
                           "principal_rials", (json_int_t)st.out_principal, "fee_rials",
                           (json_int_t)st.out_fee);
    loans_set_date(wo, "date", ctx->today);
    json_object_set_new(loan, "write_off", wo);
    json_object_set_new(loan, "status", json_string("written_off"));
    return loans_commit(ctx, n, old, loan, "written_off", json_deep_copy(wo), 200, out);
}

/* The rescheduled installments: each old one keeps only what it received, then term new ones
 * for what is outstanding. Returns the new schedule JSON or NULL (out of calendar/memory). */
static json_t *s_reschedule_lines(const loans_book_t *book, const loans_state_t *st, int term,
                                  int64_t day)
{
    loans_line_t *lines = calloc(book->ninst + (size_t)term, sizeof *lines);
    json_t *sched = NULL;
    size_t kept = 0;
    if (!lines)
        return NULL;
    loans_installments_paid(book->inst, book->ninst, st->paid, lines);
    for (size_t k = 0; k < book->ninst; k++)
        if (lines[k].a + lines[k].b > 0)
            lines[kept++] = lines[k];
    if (loans_schedule(st->out_principal, st->out_fee, term, day, 1, lines + kept) == 0)
        sched = s_schedule_json(lines, kept + (size_t)term);
    free(lines);
    return sched;
}

/* Spreads an overdue loan's outstanding principal and fee over new installments. */
int loans_loan_reschedule(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int64_t day;
    char date[11];
    loans_book_t book;
    loans_state_t st;
    int term = (int)loans_int(args, "term_months");
    int old, status = loans_load_in(ctx, args, ALL_SERVICED, "rescheduled", &n, &loan, &old);
    if (status)
        return status;
    if ((status = s_ledger_arg(ctx, args, loan, &day, date)) != 0 ||
        (status = s_book(ctx, loan, day, &book, &st)) != 0)
        goto fail;
    json_t *sched = st.days_past_due > 0 ? s_reschedule_lines(&book, &st, term, day) : NULL;
    loans_book_free(&book);
    if (st.days_past_due <= 0) {
        status = hy_fail(ctx, 422, "not_overdue", NULL,
                         "loan %s is not overdue on %s: only an overdue loan is rescheduled",
                         loans_str(loan, "id"), date);
        goto fail;
    }
    if (!sched) {
        status = hy_fail(ctx, 422, "invalid_date", "date",
                         "the new schedule from %s runs past the supported calendar", date);
        goto fail;
    }
    json_object_set_new(loan, "schedule", sched);
    json_t *r = json_pack("{s:i,s:I,s:I,s:I}", "term_months", term, "outstanding_principal_rials",
                          (json_int_t)st.out_principal, "outstanding_fee_rials",
                          (json_int_t)st.out_fee, "days_past_due", (json_int_t)st.days_past_due);
    loans_set_date(r, "date", date);
    loans_append(loan, "reschedules", json_incref(r));
    json_object_set_new(loan, "status", json_string("rescheduled"));
    return loans_commit(ctx, n, old, loan, "rescheduled", r, 200, out);
fail:
    json_decref(loan);
    return status;
}
