/*
 * proj_loans.c — what the loans service's events add: disbursements, people with loans, the
 * outstanding principal and the portfolio at risk over 30 days, as of any day.
 *
 * PAR30 exactly, from events only. A loan is at risk on day D when its oldest installment not
 * covered by the repayments dated up to D fell due more than 30 days before D (the loans
 * service's rule: days past due = D - due day of the oldest unpaid installment, payments
 * allocated oldest first); it then counts with its outstanding principal. We rebuild each
 * loan's schedule from its events, as the loans service builds it:
 *   loans.loan.disbursed (the tranche completing the approved amount) carries approved_rials,
 *     fee_rials, installments and first_due_date: principal and fee are split evenly (floor),
 *     remainders on the last installment; installment k falls due `off + k` Solar Hijri months
 *     after the disbursement date, on the same day clamped to the month's length, where off is
 *     the offset that gives first_due_date;
 *   loans.loan.rescheduled carries the outstanding principal and fee and term_months: what was
 *     repaid stays with the old installments (exactly the repayments so far), and the rest is
 *     split over term_months new installments from the rescheduling date (offset 1).
 * Repayments carry principal_rials (outstanding principal falls by it) and repaid_rials; a
 * write-off takes the loan's principal off the books from its date.
 *
 * RESTRUCTURED LOANS. A loan rescheduled, or any of whose events carries `restructured: true`
 * (the flag the loans service is adding), is restructured from that event's date: its PAR30
 * also counts in par30_restructured_rials. loans.loan.recovery_recorded (recovered_rials, else
 * amount_rials: the name the loans service is adding) counts in loans_recovered_rials on its
 * date, and changes nothing else (the loan is written off).
 *
 * A loan's figures from its last event on are a step function: outstanding principal O from
 * then on, and O at risk from the day its oldest unpaid installment is 31 days past due. Ledger
 * dates never go back in the loans service, so each new event only replaces the function from
 * its own date on: we add the difference as changes on those days (aggregates.c sums them up to
 * any day). Two changes per event, whatever the loan's age.
 *
 * One deliberate difference from the loans service's own portfolio query: that query applies a
 * loan's CURRENT schedule to every past date, so a rescheduling rewrites its history; here a
 * day's figure uses the schedule in force on that day, so a report for a past half does not
 * change when a loan is rescheduled later. Without reschedules the two agree to the rial.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

#define NEVER INT32_MAX
#define MAX_LINES 1200
#define RISK_DAYS 31   /* more than 30 days past due */

typedef struct {
    int32_t day;
    int32_t pad;
    int64_t amount;   /* fee + principal of the installment */
} s_line_t;

typedef struct {
    rp_tags_t tags;
    uint32_t pad;
    int64_t out;      /* outstanding principal from `last` on */
    int64_t paid;     /* repaid so far (fee and principal) */
    int64_t base;     /* repayments that went to installments before lines[0] (rescheduled) */
    int32_t last;     /* day of the last event */
    int32_t risk;     /* first day at risk from `last` on, or NEVER */
    int32_t nlines;
    int32_t written_off;
    int32_t restructured;   /* rescheduled, or flagged restructured by the loans service */
    int32_t pad2;
} s_head_t;

typedef struct {
    s_head_t h;
    s_line_t *lines;  /* malloc'ed */
} s_loan_t;

/* day plus months Solar Hijri months, on the same day of the month clamped to its length
 * (calendar.c's tables: called for every installment of every loan). */
static bool s_add_months(int64_t day, int months, int64_t *out)
{
    int jy, jm, jd;
    if (months < 0 || !rp_jalali_of(day, &jy, &jm, &jd))
        return false;
    int m0 = jm - 1 + months;
    jy += m0 / 12;
    jm = m0 % 12 + 1;
    int len = rp_jalali_month_days(jy, jm);
    return len > 0 && rp_day_of_jalali(jy, jm, jd < len ? jd : len, out);
}

/* n installments of principal and fee split evenly, remainders on the last, the k-th due
 * offset + k months after base. false when out of the calendar or of bounds. */
static bool s_schedule(s_loan_t *l, int64_t principal, int64_t fee, int n, int64_t base,
                       int offset)
{
    if (n < 1 || n > MAX_LINES || principal < 0 || fee < 0)
        return false;
    s_line_t *lines = calloc((size_t)n, sizeof *lines);
    if (!lines)
        return false;
    for (int k = 0; k < n; k++) {
        int64_t due;
        if (!s_add_months(base, offset + k, &due)) {
            free(lines);
            return false;
        }
        lines[k].day = (int32_t)due;
        lines[k].amount = principal / n + fee / n;
    }
    lines[n - 1].amount += principal % n + fee % n;
    free(l->lines);
    l->lines = lines;
    l->h.nlines = n;
    return true;
}

/* The first day the loan is at risk given what it has been paid; NEVER when it never is. */
static int32_t s_risk_day(const s_loan_t *l)
{
    int64_t cum = l->h.base;
    if (l->h.written_off || l->h.out <= 0)
        return NEVER;
    for (int32_t k = 0; k < l->h.nlines; k++) {
        if (__builtin_add_overflow(cum, l->lines[k].amount, &cum))
            return NEVER;
        if (cum > l->h.paid)
            return l->lines[k].day + RISK_DAYS;
    }
    return NEVER;
}

/* A loan record: header then its lines; MDB_NOTFOUND when nothing was disbursed yet. */
static int s_load(hy_ctx_t *ctx, uint64_t n, s_loan_t *l)
{
    MDB_val v;
    memset(l, 0, sizeof *l);
    int rc = rp_record_raw(ctx, 'l', n, 0, &v);
    if (rc)
        return rc;
    if (v.mv_size < sizeof l->h)
        return MDB_CORRUPTED;
    memcpy(&l->h, v.mv_data, sizeof l->h);
    if (l->h.nlines < 0 || v.mv_size != sizeof l->h + (size_t)l->h.nlines * sizeof(s_line_t))
        return MDB_CORRUPTED;
    l->lines = calloc((size_t)l->h.nlines + 1, sizeof *l->lines);
    if (!l->lines)
        return ENOMEM;
    memcpy(l->lines, (const char *)v.mv_data + sizeof l->h, (size_t)l->h.nlines * sizeof(s_line_t));
    return 0;
}

/* Rewrites the small record (a few hundred bytes: header and lines). */
static int s_save(hy_ctx_t *ctx, uint64_t n, const s_loan_t *l)
{
    size_t size = sizeof l->h + (size_t)l->h.nlines * sizeof(s_line_t);
    char *buf = malloc(size);
    if (!buf)
        return ENOMEM;
    memcpy(buf, &l->h, sizeof l->h);
    if (l->h.nlines)
        memcpy(buf + sizeof l->h, l->lines, (size_t)l->h.nlines * sizeof(s_line_t));
    int rc = rp_record_put(ctx, 'l', n, 0, buf, size);
    free(buf);
    return rc;
}

/* Replaces the loan's step function from day on by its new state (l->h.out etc. already
 * changed; old_out and old_risk are the function before): outstanding changes by the
 * difference on day, and the at-risk amount moves from (old_out from old_risk) to (out from
 * the new risk day). */
static int s_move(hy_ctx_t *ctx, s_loan_t *l, int64_t day, int64_t old_out, int32_t old_risk,
                  int32_t old_restructured)
{
    if (day < l->h.last)
        day = l->h.last;   /* never happens: the loans service refuses dates out of order */
    l->h.last = (int32_t)day;
    l->h.risk = s_risk_day(l);
    int64_t from_old = old_risk > day ? old_risk : day, from_new = l->h.risk > day ? l->h.risk : day;
    int rc = rp_agg_add(ctx, &l->h.tags, day, RP_S_LOANS_OUTSTANDING, l->h.out - old_out);
    if (rc == 0 && old_risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_old, RP_S_PAR30, -old_out);
    if (rc == 0 && l->h.risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_new, RP_S_PAR30, l->h.out);
    if (rc == 0 && old_restructured && old_risk != NEVER)   /* the same for restructured loans */
        rc = rp_agg_add(ctx, &l->h.tags, from_old, RP_S_PAR30_RESTRUCTURED, -old_out);
    if (rc == 0 && l->h.restructured && l->h.risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_new, RP_S_PAR30_RESTRUCTURED, l->h.out);
    return rc;
}

/* The loan's tags on its first disbursement: its office, the borrower, the business's field. */
static int s_new_loan(hy_ctx_t *ctx, const json_t *data, s_loan_t *l)
{
    uint32_t office;
    int field, rc;
    memset(l, 0, sizeof *l);
    l->h.risk = NEVER;
    l->h.last = INT32_MIN;
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, rp_str(data, "office"), &office)) != 0 ||
        (rc = rp_business_field(ctx, rp_str(data, "business_id"), &field)) != 0)
        return rc;
    return rp_tags_person(ctx, office, rp_str(data, "person_id"), field, 0, &l->h.tags);
}

/* The full schedule on the disbursement completing the approved amount. */
static void s_first_schedule(s_loan_t *l, const json_t *data, int64_t day)
{
    int64_t first, due;
    int n = (int)rp_int(data, "installments");
    if (!json_is_true(json_object_get(data, "fully_disbursed")) || n < 1 ||
        !rp_day_of(rp_str(data, "first_due_date"), &first))
        return;
    int offset = 1;
    for (int off = 0; off <= MAX_LINES; off++)
        if (s_add_months(day, off, &due) && due >= first) {   /* due grows with off */
            offset = due == first ? off : offset;
            break;
        }
    s_schedule(l, rp_int(data, "approved_rials"), rp_int(data, "fee_rials"), n, day, offset);
}

/* A tranche: disbursed amount, the borrower counted, outstanding up, and the schedule once
 * the approved amount is complete. */
static int s_disbursed(hy_ctx_t *ctx, uint64_t n, s_loan_t *l, const json_t *data, int64_t day)
{
    uint64_t person;
    int64_t amount = rp_int(data, "amount_rials"), old_out = l->h.out;
    int32_t old_risk = l->h.risk, old_restructured = l->h.restructured;
    int rc = 0;
    if (amount < 0 || __builtin_add_overflow(l->h.out, amount, &l->h.out))
        return EOVERFLOW;
    if (rp_id_num(rp_str(data, "person_id"), &person) == 0)
        rc = rp_agg_distinct(ctx, &l->h.tags, day, RP_S_PEOPLE_LOANS, person);
    if (rc == 0)
        rc = rp_agg_add(ctx, &l->h.tags, day, RP_S_LOANS_DISBURSED, amount);
    s_first_schedule(l, data, day);
    if (rc == 0)
        rc = s_move(ctx, l, day, old_out, old_risk, old_restructured);
    return rc ? rc : s_save(ctx, n, l);
}

/* Repayment, write-off or reschedule: the loan's new state from the event's date on. */
static int s_changed(hy_ctx_t *ctx, uint64_t n, s_loan_t *l, const char *verb, const json_t *data,
                     int64_t day)
{
    int64_t old_out = l->h.out;
    int32_t old_risk = l->h.risk, old_restructured = l->h.restructured;
    if (strcmp(verb, "recovery_recorded") == 0) {   /* after a write-off: a flow, no state */
        int64_t amount = json_is_integer(json_object_get(data, "recovered_rials"))
                             ? rp_int(data, "recovered_rials")
                             : rp_int(data, "amount_rials");
        return rp_agg_add(ctx, &l->h.tags, day, RP_S_LOANS_RECOVERED, amount);
    }
    if (json_is_true(json_object_get(data, "restructured")) || strcmp(verb, "rescheduled") == 0)
        l->h.restructured = 1;
    if (strcmp(verb, "repayment_recorded") == 0) {
        l->h.out -= rp_int(data, "principal_rials");
        l->h.paid = json_is_integer(json_object_get(data, "repaid_rials"))
                        ? rp_int(data, "repaid_rials")
                        : l->h.paid + rp_int(data, "amount_rials");
    } else if (strcmp(verb, "written_off") == 0) {
        l->h.out = 0;
        l->h.written_off = 1;
    } else if (strcmp(verb, "rescheduled") == 0) {
        int64_t p = rp_int(data, "outstanding_principal_rials"), f = rp_int(data, "outstanding_fee_rials");
        if (!s_schedule(l, p, f, (int)rp_int(data, "term_months"), day, 1))
            return 0;
        l->h.base = l->h.paid;
    } else if (l->h.restructured == old_restructured) {
        return 0;   /* nothing that changes the loan's figures */
    }
    int rc = s_move(ctx, l, day, old_out, old_risk, old_restructured);
    return rc ? rc : s_save(ctx, n, l);
}

int rp_loans_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    static const char prefix[] = "loans.loan.";
    uint64_t n;
    int64_t day;
    if (strncmp(type, prefix, sizeof prefix - 1) != 0 || rp_id_num(rp_str(data, "id"), &n) != 0 ||
        !rp_event_day(event, data, "date", &day))
        return 0;
    const char *verb = type + sizeof prefix - 1;
    bool disbursed = strcmp(verb, "disbursed") == 0;
    s_loan_t l;
    int rc = s_load(ctx, n, &l);   /* l is zeroed first, so l.lines is always freeable */
    if (rc == MDB_NOTFOUND && !disbursed)
        return 0;   /* nothing disbursed yet (application, approval...): nothing to count */
    if (rc == MDB_NOTFOUND)
        rc = s_new_loan(ctx, data, &l);
    if (rc == 0)
        rc = disbursed ? s_disbursed(ctx, n, &l, data, day) : s_changed(ctx, n, &l, verb, data, day);
    free(l.lines);
    return rc;
}
