/*
 * servicing.c — a loan's money after disbursement: repayments (backdated ones too), closure,
 * write-off and rescheduling.
 *
 * Tranches are paid out by tranches.c; a loan still "disbursing" is repaid like any other on
 * the schedule of what was paid out so far.
 *
 * Ledger dates: a disbursement or a rescheduling is dated on or after the approval and every
 * earlier disbursement, repayment and rescheduling; a repayment on or after the last
 * disbursement and rescheduling (the changes of the schedule) (422 date_out_of_order); nothing
 * is dated after today (422 future_date).
 *
 * Repayments follow ledger.c's allocation; one larger than everything still owed is refused
 * (422 over_outstanding) and a bank reference already recorded on the loan is refused (409
 * duplicate_reference). The repayment that clears the last rial closes the loan (closed_on: the
 * date of the last repayment).
 *
 * Early payoff (declining fee, ledger.c): a repayment dated on or after every other one that
 * pays everything owed on its date (payoff_rials of the loan as of that date) closes the loan:
 * the schedule is cut at the date, the fees of later periods are not owed, and the schedule it
 * replaced is kept. Anything above the payoff amount is over_outstanding.
 *
 * Backdated repayments (a receipt that turns up late; Fineract's undo/re-derive of later
 * transactions): a repayment may be dated before earlier-recorded ones. It is inserted in date
 * order (after those of the same date) and the allocation of it and of every later repayment is
 * re-derived from the date-ordered ledger, exactly as if they had been recorded in that order:
 * the allocation is a function of the total paid before each repayment (ledger.c), so every
 * repayment before it keeps its split. All of it happens in the request's one transaction; the
 * loans.loan.repayment_recorded event lists in "reallocated" each later repayment whose split
 * changed, with its new and previous fee and principal.
 *
 * Write-off (operator role) takes a loan with money out off the books with a reason, recording
 * the principal and fee it loses. Rescheduling (operator role, with a reason; Fineract's loan
 * rescheduling with the loan marked restructured) applies to a loan in arrears on its date
 * (422 not_overdue otherwise): what the installments have received stays as it is (each
 * installment keeps only its paid part; untouched ones go), and the outstanding principal and
 * fee are spread over term_months new monthly installments from the rescheduling date, by the
 * same rounding rule. No fee is added: the loan still owes exactly what it owed. The replaced
 * schedule is kept in schedule_history (book.c), so every figure as of a date before the
 * rescheduling (arrears, days past due, PAR30, the schedule shown) stays what it was; from its
 * date the loan is "restructured", counted apart in the portfolio.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"

#define ALL_SERVICED (1u << LOANS_DISBURSED | 1u << LOANS_RESCHEDULED)
#define REPAYABLE (ALL_SERVICED | 1u << LOANS_DISBURSING)

/* The latest date on the loan's ledger: completion of disbursement, last repayment or
 * rescheduling (for a loan still disbursing: the last tranche, else the approval). */
static const char *s_ledger_date(const json_t *loan, bool with_repayments)
{
    const char *best = hy_json_str(loan, "approved_on");
    const char *arrays[] = {"disbursements", "reschedules", "repayments"};
    for (size_t i = 0; i < (with_repayments ? 3u : 2u); i++) {
        json_t *arr = json_object_get(loan, arrays[i]);
        const char *d = hy_json_str(json_array_get(arr, json_array_size(arr) - 1), "date");
        if (d && (!best || strcmp(d, best) > 0))
            best = d;
    }
    return best ? best : "";
}

/* The date argument, checked against today and the ledger's last date. */
int loans_ledger_arg(hy_ctx_t *ctx, const json_t *args, const json_t *loan, bool repayment,
                     int64_t *day, char iso[11])
{
    int status = loans_arg_date(ctx, args, "date", day, iso);
    const char *last = s_ledger_date(loan, !repayment);
    if (status == 0 && strcmp(iso, last) < 0)
        status = hy_fail(ctx, 422, "date_out_of_order", "date",
                         "%s is before the loan's last recorded date %s", iso, last);
    return status;
}

/* The loan's book and its state as of a day, or a failure status. */
int loans_book_at(hy_ctx_t *ctx, const json_t *loan, int64_t day, loans_book_t *book,
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

/* Inserts rep (stolen) into the repayments after every one dated on or before it; returns its
 * index. */
static size_t s_insert_repayment(json_t *loan, json_t *rep)
{
    json_t *reps = json_object_get(loan, "repayments");
    const char *date = hy_json_str(rep, "date");
    size_t pos = json_array_size(reps);
    while (pos > 0 && strcmp(hy_json_str(json_array_get(reps, pos - 1), "date"), date) > 0)
        pos--;
    if (!json_is_array(reps))
        loans_append(loan, "repayments", rep);
    else
        json_array_insert_new(reps, pos, rep);
    return pos;
}

/* Re-derives the allocation of the repayments from index `from` on, in date order, on the
 * schedule inst; every one but `skip` (the new one) whose split changed goes into *changed (its
 * reference, date, new and previous split). */
int loans_reallocate(json_t *loan, const loans_line_t *inst, size_t n, size_t from, size_t skip,
                     json_t *changed)
{
    json_t *reps = json_object_get(loan, "repayments");
    int64_t cum = 0;
    for (size_t i = 0; i < from; i++)
        if (__builtin_add_overflow(cum, hy_json_int(json_array_get(reps, i), "amount_rials", 0), &cum))
            return -1;
    for (size_t i = from; i < json_array_size(reps); i++) {
        json_t *r = json_array_get(reps, i);
        int64_t amount = hy_json_int(r, "amount_rials", 0), fee, principal;
        loans_allocate(inst, n, cum, amount, &fee, &principal);
        if (i != skip && (fee != hy_json_int(r, "fee_rials", 0) || principal != hy_json_int(r, "principal_rials", 0))) {
            json_t *c = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "date", hy_json_str(r, "date"),
                                  "amount_rials", (json_int_t)amount, "fee_rials", (json_int_t)fee,
                                  "principal_rials", (json_int_t)principal, "previous_fee_rials",
                                  json_integer_value(json_object_get(r, "fee_rials")),
                                  "previous_principal_rials",
                                  json_integer_value(json_object_get(r, "principal_rials")));
            if (c && hy_json_str(r, "reference"))
                json_object_set(c, "reference", json_object_get(r, "reference"));
            json_array_append_new(changed, c);
        }
        json_object_set_new(r, "fee_rials", json_integer(fee));
        json_object_set_new(r, "principal_rials", json_integer(principal));
        if (__builtin_add_overflow(cum, amount, &cum))
            return -1;
    }
    return 0;
}

/* Under the declining method a repayment dated on or after every other one may pay the loan
 * off: *owed becomes the payoff amount and *cut the schedule cut at the day (NULL when nothing
 * is waived). 0 or a failure status. */
static int s_payoff(hy_ctx_t *ctx, const json_t *loan, const loans_book_t *book,
                    const loans_state_t *st, int64_t day, int64_t *owed, loans_line_t **cut,
                    size_t *ncut)
{
    json_t *reps = json_object_get(loan, "repayments");
    const char *last = hy_json_str(json_array_get(reps, json_array_size(reps) - 1), "date");
    char iso[11];
    loans_iso(day, iso);
    if (!loans_declining(loan) || loans_status_parse(hy_json_str(loan, "status")) == LOANS_DISBURSING ||
        (last && strcmp(iso, last) < 0))
        return 0;
    int64_t payoff;
    if (loans_payoff(loan, book, st, day, &payoff, cut, ncut) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger overflows");
    if (*cut && *ncut == book->ninst) {   /* the term is over: nothing waived */
        free(*cut);
        *cut = NULL;
        return 0;
    }
    if (*cut)
        *owed = payoff;
    return 0;
}

/* Records a repayment; a backdated one re-derives the allocation of every later one (see the
 * top of the file); the last rial closes the loan. */
int loans_loan_repay(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *changed = NULL;
    uint64_t n;
    int64_t day, amount = hy_json_int(args, "amount_rials", 0);
    char date[11];
    const char *reference = hy_json_str(args, "reference");
    loans_book_t book;
    loans_state_t st;
    int old, status = loans_load_in(ctx, args, REPAYABLE, "repaid", &n, &loan, &old);
    if (status)
        return status;
    if ((status = loans_ledger_arg(ctx, args, loan, true, &day, date)) != 0)
        goto fail;
    if ((status = loans_check_reference(ctx, loan, "repayments", "repayment", reference)) != 0)
        goto fail;
    if ((status = loans_book_at(ctx, loan, loans_day(ctx->today), &book, &st)) != 0)
        goto fail;
    int64_t owed = st.out_principal + st.out_fee, repaid = st.paid + amount;
    loans_line_t *cut = NULL;
    size_t ncut = 0;
    if ((status = s_payoff(ctx, loan, &book, &st, day, &owed, &cut, &ncut)) != 0) {
        loans_book_free(&book);
        goto fail;
    }
    if (amount > owed) {
        loans_book_free(&book);
        free(cut);
        status = hy_fail(ctx, 422, "over_outstanding", "amount_rials",
                         "%lld rials is more than the %lld rials still owed", (long long)amount,
                         (long long)owed);
        hy_fail_extra(ctx, "outstanding_rials", json_integer(owed));
        goto fail;
    }
    if (cut && amount == owed) {   /* early payoff: the schedule is cut at the date */
        loans_history_push(loan, date, "payoff");
        json_object_set_new(loan, "schedule", loans_schedule_json(cut, ncut));
        int64_t fee = 0;
        for (size_t k = 0; k < ncut; k++)
            fee += cut[k].a;
        json_object_set_new(loan, "fee_rials", json_integer(fee));
        json_object_set_new(loan, "payoff", json_pack("{s:s,s:I}", "date", date, "fee_rials",
                                                      (json_int_t)fee));
    }
    const loans_line_t *inst = cut && amount == owed ? cut : book.inst;
    size_t ninst = cut && amount == owed ? ncut : book.ninst;
    /* numbered in the order recorded (voided ones keep theirs): what a void names */
    json_t *rep = json_pack("{s:I,s:I}", "number",
                            (json_int_t)(json_array_size(json_object_get(loan, "repayments")) +
                                         json_array_size(json_object_get(loan, "voided_repayments")) +
                                         1),
                            "amount_rials", (json_int_t)amount);
    loans_set_date(rep, "date", date);
    if (reference && *reference)
        json_object_set_new(rep, "reference", json_string(reference));
    size_t pos = s_insert_repayment(loan, json_incref(rep));
    changed = json_array();
    /* a payoff cut the schedule: every allocation is re-derived on it (a prepaid fee of a period
     * cut short becomes principal); otherwise those before the new repayment stand */
    int rc = loans_reallocate(loan, inst, ninst, inst == book.inst ? pos : 0, pos, changed);
    loans_book_free(&book);
    free(cut);
    if (rc != 0 || !changed) {
        json_decref(rep);
        status = hy_fail(ctx, 500, "internal_error", NULL, "the loan's ledger overflows");
        goto fail;
    }
    json_t *extra = json_deep_copy(rep);
    json_decref(rep);
    json_object_set_new(loan, "repaid_rials", json_integer(repaid));
    json_object_set_new(extra, "repaid_rials", json_integer(repaid));
    json_object_set_new(extra, "outstanding_principal_rials",
                        json_integer(st.out_principal - hy_json_int(extra, "principal_rials", 0)));
    json_object_set_new(extra, "outstanding_fee_rials",
                        json_integer(st.out_fee - hy_json_int(extra, "fee_rials", 0)));
    if (json_array_size(changed))
        json_object_set(extra, "reallocated", changed);
    json_decref(changed);
    if (amount < owed || old == LOANS_DISBURSING)   /* more is still to be paid out */
        return loans_commit(ctx, n, old, loan, "repayment_recorded", extra, out);
    json_t *reps = json_object_get(loan, "repayments");
    const char *closed_on = hy_json_str(json_array_get(reps, json_array_size(reps) - 1), "date");
    json_object_set_new(loan, "status", json_string("closed"));
    loans_set_date(loan, "closed_on", closed_on);
    if ((status = loans_emit(ctx, "repayment_recorded", loan, extra)) != 0)
        goto fail;
    return loans_commit(ctx, n, old, loan, "closed",
                        json_pack("{s:s,s:I}", "date", closed_on, "repaid_rials",
                                  (json_int_t)repaid), out);
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
    if (status || (status = loans_book_at(ctx, loan, loans_day(ctx->today), &book, &st)) != 0) {
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
    return loans_commit(ctx, n, old, loan, "written_off", json_deep_copy(wo), out);
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
        sched = loans_schedule_json(lines, kept + (size_t)term);
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
    int term = (int)hy_json_int(args, "term_months", 0);
    int old, status = loans_load_in(ctx, args, ALL_SERVICED, "rescheduled", &n, &loan, &old);
    if (status)
        return status;
    if ((status = loans_ledger_arg(ctx, args, loan, false, &day, date)) != 0 ||
        (status = loans_book_at(ctx, loan, day, &book, &st)) != 0)
        goto fail;
    json_t *sched = st.days_past_due > 0 ? s_reschedule_lines(&book, &st, term, day) : NULL;
    loans_book_free(&book);
    if (st.days_past_due <= 0) {
        status = hy_fail(ctx, 422, "not_overdue", NULL,
                         "loan %s is not overdue on %s: only an overdue loan is rescheduled",
                         hy_json_str(loan, "id"), date);
        goto fail;
    }
    if (!sched) {
        status = hy_fail(ctx, 422, "invalid_date", "date",
                         "the new schedule from %s runs past the supported calendar", date);
        goto fail;
    }
    loans_history_push(loan, date, "reschedule");
    json_object_set_new(loan, "schedule", sched);
    json_object_set_new(loan, "restructured", json_true());
    json_t *r = json_pack("{s:i,s:I,s:I,s:I,s:I,s:O}", "term_months", term,
                          "outstanding_principal_rials", (json_int_t)st.out_principal,
                          "outstanding_fee_rials", (json_int_t)st.out_fee, "days_past_due",
                          (json_int_t)st.days_past_due, "overdue_rials", (json_int_t)st.overdue,
                          "reason", json_object_get(args, "reason"));
    loans_set_date(r, "date", date);
    loans_append(loan, "reschedules", json_incref(r));
    json_object_set_new(loan, "status", json_string("rescheduled"));
    return loans_commit(ctx, n, old, loan, "rescheduled", r, out);
fail:
    json_decref(loan);
    return status;
}
