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
 * then on, and O at risk from the day its oldest unpaid installment is 31 days past due. An
 * event dated on or after the loan's last one only replaces the function from its own date on:
 * we add the difference as changes on those days (aggregates.c sums them up to any day). Two
 * changes per event, whatever the loan's age.
 *
 * VOIDS AND BACKDATED REPAYMENTS (issue 15, issue 16 rule 1). loans.loan.repayment_voided
 * {before: the repayment, reallocated} and disbursement_voided {before: the tranche} change the
 * loan's past, and so does a repayment dated before the loan's last event (its `reallocated`
 * re-splits later ones). Each loan keeps a small log of the events behind its figures (the 'L'
 * record, below); such an event takes the loan's figures back by replaying the log with sign
 * -1, changes the log (the repayment or the last tranche out, the re-split principals in), and
 * replays it: the figures are then what they would be had the voided fact never been recorded,
 * on every day, and a voided only tranche takes the borrower out of people_with_loans.
 * loans.loan.person_merged re-points the borrower of the log (her days were moved by the
 * registry's merge); reopened changes nothing (the void did).
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

/* A record of a header then *count items of esize bytes (count lies in the header): the
 * items into a new array (room for one more). 0, MDB_NOTFOUND, MDB_CORRUPTED or ENOMEM. */
static int s_blob_load(hy_ctx_t *ctx, char tag, uint64_t n, void *head, size_t hsize,
                       const int32_t *count, size_t esize, void **items)
{
    MDB_val v;
    int rc = rp_record_raw(ctx, tag, n, 0, &v);
    if (rc)
        return rc;
    if (v.mv_size < hsize)
        return MDB_CORRUPTED;
    memcpy(head, v.mv_data, hsize);
    if (*count < 0 || v.mv_size != hsize + (size_t)*count * esize)
        return MDB_CORRUPTED;
    if (!(*items = calloc((size_t)*count + 1, esize)))
        return ENOMEM;
    memcpy(*items, (const char *)v.mv_data + hsize, (size_t)*count * esize);
    return 0;
}

/* Rewrites such a record (a few hundred bytes to a few kilobytes). */
static int s_blob_save(hy_ctx_t *ctx, char tag, uint64_t n, const void *head, size_t hsize,
                       int32_t count, size_t esize, const void *items)
{
    size_t size = hsize + (size_t)count * esize;
    char *buf = malloc(size);
    if (!buf)
        return ENOMEM;
    memcpy(buf, head, hsize);
    if (count)
        memcpy(buf + hsize, items, (size_t)count * esize);
    int rc = rp_record_put(ctx, tag, n, 0, buf, size);
    free(buf);
    return rc;
}

/* A loan record: header then its lines; MDB_NOTFOUND when nothing was disbursed yet. */
static int s_load(hy_ctx_t *ctx, uint64_t n, s_loan_t *l)
{
    void *lines = NULL;
    memset(l, 0, sizeof *l);
    int rc = s_blob_load(ctx, 'l', n, &l->h, sizeof l->h, &l->h.nlines, sizeof(s_line_t), &lines);
    l->lines = lines;
    return rc;
}

static int s_save(hy_ctx_t *ctx, uint64_t n, const s_loan_t *l)
{
    return s_blob_save(ctx, 'l', n, &l->h, sizeof l->h, l->h.nlines, sizeof(s_line_t), l->lines);
}

/* Replaces the loan's step function from day on by its new state (l->h.out etc. already
 * changed; old_out and old_risk are the function before): outstanding changes by the
 * difference on day, and the at-risk amount moves from (old_out from old_risk) to (out from
 * the new risk day). sign -1 takes back exactly what sign 1 added (a replay, below). */
static int s_move(hy_ctx_t *ctx, s_loan_t *l, int64_t day, int64_t old_out, int32_t old_risk,
                  int32_t old_restructured, int sign)
{
    if (day < l->h.last)
        day = l->h.last;   /* a backdated repayment: counted from the loan's last event on */
    l->h.last = (int32_t)day;
    l->h.risk = s_risk_day(l);
    int64_t from_old = old_risk > day ? old_risk : day, from_new = l->h.risk > day ? l->h.risk : day;
    int rc = rp_agg_add(ctx, &l->h.tags, day, RP_S_LOANS_OUTSTANDING, sign * (l->h.out - old_out));
    if (rc == 0 && old_risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_old, RP_S_PAR30, -sign * old_out);
    if (rc == 0 && l->h.risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_new, RP_S_PAR30, sign * l->h.out);
    if (rc == 0 && old_restructured && old_risk != NEVER)   /* the same for restructured loans */
        rc = rp_agg_add(ctx, &l->h.tags, from_old, RP_S_PAR30_RESTRUCTURED, -sign * old_out);
    if (rc == 0 && l->h.restructured && l->h.risk != NEVER)
        rc = rp_agg_add(ctx, &l->h.tags, from_new, RP_S_PAR30_RESTRUCTURED, sign * l->h.out);
    return rc;
}

/* ---- the loan's log ------------------------------------------------------------------------
 * What the loan's figures are derived from, one small entry per event that changed them, in
 * date order (record 'L', beside the loan's 'l'). A void (or a backdated repayment that
 * re-allocates later ones) takes the loan's figures back by replaying the log with sign -1,
 * changes the log, and replays it with sign 1: the same steps as when the events came, so
 * what is taken back is exactly what was added. Loans first disbursed before the log existed
 * have none: their voids are not followed (a rebuild gives them one). */
enum { E_DISB = 1, E_REPAY, E_WRITEOFF, E_RESCHED, E_FLAG };

typedef struct {
    int32_t day;
    int16_t kind;           /* E_* */
    int16_t restructured;   /* the event said restructured: true */
    int32_t n1, n2;         /* DISB: installments (0 = no schedule yet), offset; REPAY: number;
                               RESCHED: term in months */
    int64_t a, b, c;        /* DISB: amount, approved, fee; REPAY: principal, amount;
                               RESCHED: outstanding principal, fee */
    int32_t number;         /* DISB: the tranche's number */
    int32_t pad;
} s_entry_t;

typedef struct {
    uint64_t person;   /* the borrower (a merge re-points it) */
    int32_t n;
    int32_t pad;
} s_log_head_t;

typedef struct {
    s_log_head_t h;
    s_entry_t *e;      /* malloc'ed, h.n entries (room for one more) */
} s_log_t;

static int s_log_load(hy_ctx_t *ctx, uint64_t n, s_log_t *log)
{
    void *e = NULL;
    memset(log, 0, sizeof *log);
    int rc = s_blob_load(ctx, 'L', n, &log->h, sizeof log->h, &log->h.n, sizeof(s_entry_t), &e);
    log->e = e;
    return rc;
}

static int s_log_save(hy_ctx_t *ctx, uint64_t n, const s_log_t *log)
{
    return s_blob_save(ctx, 'L', n, &log->h, sizeof log->h, log->h.n, sizeof(s_entry_t), log->e);
}

/* Inserts e after every entry dated on or before it; *at gets its place. */
static int s_log_insert(s_log_t *log, const s_entry_t *e, int32_t *at)
{
    if (log->h.n >= MAX_LINES * 4)
        return EOVERFLOW;
    s_entry_t *more = realloc(log->e, ((size_t)log->h.n + 2) * sizeof *more);
    if (!more)
        return ENOMEM;
    log->e = more;
    int32_t i = log->h.n;
    while (i > 0 && log->e[i - 1].day > e->day)
        i--;
    memmove(log->e + i + 1, log->e + i, (size_t)(log->h.n - i) * sizeof *log->e);
    log->e[i] = *e;
    log->h.n++;
    *at = i;
    return 0;
}

static void s_log_remove(s_log_t *log, int32_t i)
{
    memmove(log->e + i, log->e + i + 1, (size_t)(log->h.n - i - 1) * sizeof *log->e);
    log->h.n--;
}

/* One entry's change of the loan: its figures added (sign 1) or taken back (-1). */
static int s_step(hy_ctx_t *ctx, s_loan_t *l, uint64_t person, const s_entry_t *e, int sign)
{
    int64_t old_out = l->h.out;
    int32_t old_risk = l->h.risk, old_restructured = l->h.restructured;
    int rc = 0;
    if (e->restructured || e->kind == E_RESCHED)
        l->h.restructured = 1;
    switch (e->kind) {
    case E_DISB:
        if (e->a < 0 || __builtin_add_overflow(l->h.out, e->a, &l->h.out))
            return EOVERFLOW;
        if (person)
            rc = sign > 0 ? rp_agg_distinct(ctx, &l->h.tags, e->day, RP_S_PEOPLE_LOANS, person)
                          : rp_agg_undistinct(ctx, &l->h.tags, e->day, RP_S_PEOPLE_LOANS, person);
        if (rc == 0)
            rc = rp_agg_add(ctx, &l->h.tags, e->day, RP_S_LOANS_DISBURSED, sign * e->a);
        if (e->n1 > 0)
            s_schedule(l, e->b, e->c, e->n1, e->day, e->n2);
        break;
    case E_REPAY:
        if (__builtin_sub_overflow(l->h.out, e->a, &l->h.out) ||
            __builtin_add_overflow(l->h.paid, e->b, &l->h.paid))
            return EOVERFLOW;
        break;
    case E_WRITEOFF:
        l->h.out = 0;
        l->h.written_off = 1;
        break;
    case E_RESCHED:
        if (!s_schedule(l, e->a, e->b, e->n1, e->day, 1)) {
            l->h.restructured = old_restructured;
            return 0;
        }
        l->h.base = l->h.paid;
        break;
    default:
        if (l->h.restructured == old_restructured)
            return 0;
    }
    return rc ? rc : s_move(ctx, l, e->day, old_out, old_risk, old_restructured, sign);
}

/* The loan's figures from nothing, entry by entry (sign 1), or all of them taken back (-1). */
static int s_replay(hy_ctx_t *ctx, s_loan_t *l, const s_log_t *log, int sign)
{
    rp_tags_t tags = l->h.tags;
    free(l->lines);
    memset(l, 0, sizeof *l);
    l->h.tags = tags;
    l->h.risk = NEVER;
    l->h.last = INT32_MIN;
    for (int32_t i = 0; i < log->h.n; i++) {
        int rc = s_step(ctx, l, log->h.person, &log->e[i], sign);
        if (rc)
            return rc;
    }
    return 0;
}

/* The entry of an event; false when the event changes none of the loan's figures. */
static bool s_entry(const char *verb, const json_t *data, int64_t day, const s_loan_t *l,
                    s_entry_t *e)
{
    memset(e, 0, sizeof *e);
    e->day = (int32_t)day;
    e->restructured = json_is_true(json_object_get(data, "restructured"));
    if (strcmp(verb, "disbursed") == 0) {
        int64_t first, due;
        int n = (int)hy_json_int(data, "installments", 0);
        e->kind = E_DISB;
        e->restructured = 0;
        e->a = hy_json_int(data, "amount_rials", 0);
        e->number = (int32_t)hy_json_int(data, "number", 0);
        if (!json_is_true(json_object_get(data, "fully_disbursed")) || n < 1 || n > MAX_LINES ||
            !rp_day_of(hy_json_str(data, "first_due_date"), &first))
            return true;
        e->n1 = n;
        e->n2 = 1;
        for (int off = 0; off <= MAX_LINES; off++)
            if (s_add_months(day, off, &due) && due >= first) {   /* due grows with off */
                e->n2 = due == first ? off : e->n2;
                break;
            }
        e->b = hy_json_int(data, "approved_rials", 0);
        e->c = hy_json_int(data, "fee_rials", 0);
    } else if (strcmp(verb, "repayment_recorded") == 0) {
        e->kind = E_REPAY;
        e->a = hy_json_int(data, "principal_rials", 0);
        e->b = hy_json_int(data, "amount_rials", 0);
        e->n1 = (int32_t)hy_json_int(data, "number", 0);
    } else if (strcmp(verb, "written_off") == 0) {
        e->kind = E_WRITEOFF;
    } else if (strcmp(verb, "rescheduled") == 0) {
        e->kind = E_RESCHED;
        e->a = hy_json_int(data, "outstanding_principal_rials", 0);
        e->b = hy_json_int(data, "outstanding_fee_rials", 0);
        e->n1 = (int32_t)hy_json_int(data, "term_months", 0);
    } else {
        e->kind = E_FLAG;
        return e->restructured && !l->h.restructured;
    }
    return true;
}

/* Later repayments re-allocated by a backdated repayment or a void ("reallocated": date,
 * amount_rials, principal_rials, previous_principal_rials): their principal as re-derived. */
static void s_reallocate(s_log_t *log, const json_t *changed)
{
    size_t k;
    json_t *c;
    bool *done = calloc((size_t)log->h.n + 1, sizeof *done);
    json_array_foreach(changed, k, c) {
        int64_t day;
        if (!rp_day_of(hy_json_str(c, "date"), &day))
            continue;
        for (int32_t i = 0; i < log->h.n; i++) {
            s_entry_t *e = &log->e[i];
            if (e->kind == E_REPAY && e->day == day && e->b == hy_json_int(c, "amount_rials", 0) &&
                e->a == hy_json_int(c, "previous_principal_rials", 0) && !(done && done[i])) {
                e->a = hy_json_int(c, "principal_rials", 0);
                if (done)
                    done[i] = true;
                break;
            }
        }
    }
    free(done);
}

/* The entry a void names: the repayment of before.number, or the last tranche. -1 if none. */
static int32_t s_voided_entry(const s_log_t *log, bool disbursement, const json_t *before)
{
    int64_t number = hy_json_int(before, "number", 0);
    for (int32_t i = log->h.n - 1; i >= 0; i--) {
        const s_entry_t *e = &log->e[i];
        if (disbursement && e->kind == E_DISB && (number <= 0 || e->number <= 0 || e->number == number))
            return i;
        if (!disbursement && e->kind == E_REPAY && e->n1 == number)
            return i;
    }
    return -1;
}

/* The loan's figures taken back, its log changed by fn, and the figures derived again. */
static int s_rederive(hy_ctx_t *ctx, uint64_t n, s_loan_t *l, s_log_t *log, const char *verb,
                      const json_t *data, const s_entry_t *add)
{
    int rc = s_replay(ctx, l, log, -1);
    int32_t at;
    if (rc)
        return rc;
    if (add && (rc = s_log_insert(log, add, &at)) != 0)
        return rc;
    if (strcmp(verb, "repayment_voided") == 0 || strcmp(verb, "disbursement_voided") == 0) {
        int32_t i = s_voided_entry(log, verb[0] == 'd', json_object_get(data, "before"));
        if (i >= 0)
            s_log_remove(log, i);
    }
    s_reallocate(log, json_object_get(data, "reallocated"));
    if ((rc = s_replay(ctx, l, log, 1)) != 0 || (rc = s_save(ctx, n, l)) != 0)
        return rc;
    return s_log_save(ctx, n, log);
}

/* The loan's tags on its first disbursement: its office, the borrower, the business's field. */
static int s_new_loan(hy_ctx_t *ctx, const json_t *data, s_loan_t *l, s_log_t *log)
{
    uint32_t office;
    int field, rc;
    memset(l, 0, sizeof *l);
    l->h.risk = NEVER;
    l->h.last = INT32_MIN;
    if (rp_id_num(hy_json_str(data, "person_id"), &log->h.person) != 0)
        log->h.person = 0;
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &office)) != 0 ||
        (rc = rp_business_field(ctx, hy_json_str(data, "business_id"), &field)) != 0)
        return rc;
    return rp_tags_person(ctx, office, hy_json_str(data, "person_id"), field, 0, &l->h.tags);
}

/* An event of a loan with figures: a recovery is a flow of its own; a void, or a repayment
 * that re-allocates others, derives the loan's figures again from its log; any other change is
 * one step from the loan's last state. */
static int s_apply(hy_ctx_t *ctx, uint64_t n, s_loan_t *l, s_log_t *log, bool logged,
                   const char *verb, const json_t *data, int64_t day)
{
    s_entry_t e;
    if (strcmp(verb, "recovery_recorded") == 0) {   /* after a write-off: a flow, no state */
        int64_t amount = json_is_integer(json_object_get(data, "recovered_rials"))
                             ? hy_json_int(data, "recovered_rials", 0)
                             : hy_json_int(data, "amount_rials", 0);
        return rp_agg_add(ctx, &l->h.tags, day, RP_S_LOANS_RECOVERED, amount);
    }
    if (strcmp(verb, "person_merged") == 0) {
        uint64_t person;
        if (!logged || rp_id_num(hy_json_str(data, "person_id"), &person) != 0)
            return 0;
        log->h.person = person;
        return s_log_save(ctx, n, log);
    }
    bool voided = strcmp(verb, "repayment_voided") == 0 || strcmp(verb, "disbursement_voided") == 0;
    if (voided)
        return logged ? s_rederive(ctx, n, l, log, verb, data, NULL) : 0;
    if (!s_entry(verb, data, day, l, &e))
        return 0;
    if (logged && (json_array_size(json_object_get(data, "reallocated")) ||
                   (log->h.n && log->e[log->h.n - 1].day > e.day)))
        return s_rederive(ctx, n, l, log, verb, data, &e);   /* backdated */
    int32_t at;
    int rc = s_step(ctx, l, log->h.person, &e, 1);
    if (rc == 0)
        rc = s_save(ctx, n, l);
    if (rc == 0 && logged && (rc = s_log_insert(log, &e, &at)) == 0)
        rc = s_log_save(ctx, n, log);
    return rc;
}

int rp_loans_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    static const char prefix[] = "loans.loan.";
    uint64_t n;
    int64_t day;
    if (strncmp(type, prefix, sizeof prefix - 1) != 0 || rp_id_num(hy_json_str(data, "id"), &n) != 0 ||
        !rp_event_day(event, data, "date", &day))
        return 0;
    const char *verb = type + sizeof prefix - 1;
    bool disbursed = strcmp(verb, "disbursed") == 0, logged = true;
    s_loan_t l;
    s_log_t log;
    memset(&log, 0, sizeof log);
    int rc = s_load(ctx, n, &l);   /* l is zeroed first, so l.lines is always freeable */
    if (rc == MDB_NOTFOUND && !disbursed)
        return 0;   /* nothing disbursed yet (application, approval...): nothing to count */
    if (rc == MDB_NOTFOUND)
        rc = s_new_loan(ctx, data, &l, &log);
    else if (rc == 0 && (rc = s_log_load(ctx, n, &log)) == MDB_NOTFOUND) {
        logged = false;   /* counted before loans kept a log: followed step by step only */
        rc = 0;
        if (rp_id_num(hy_json_str(data, "person_id"), &log.h.person) != 0)
            log.h.person = 0;
    }
    if (rc == 0)
        rc = s_apply(ctx, n, &l, &log, logged, verb, data, day);
    free(l.lines);
    free(log.e);
    return rc;
}
