/*
 * ledger.c — the loan arithmetic, exact to the rial: the service fee, the repayment schedule,
 * how a payment is allocated, and aging buckets. Pure functions over integers; no store.
 *
 * Fee method (qard al-hasan service fee, کارمزد): a flat fee on the approved principal P for
 * the loan's term of n months at the product's annual rate r (basis points):
 *     F = floor(P * r * n / (10000 * 12))
 * computed in 128-bit arithmetic, so it is exact for every amount the API accepts. The fee does
 * not grow with arrears (no penalty interest on a qard al-hasan loan).
 *
 * Schedule: n monthly installments; installment k (0-based) falls on the same day of the Solar
 * Hijri month, first_offset + k months after the base day (the day is clamped to the month's
 * length: 31 Shahrivar -> 30 Mehr, 30 Bahman -> 29 or 30 Esfand). Each installment's principal
 * is floor(P / n) and its fee floor(F / n); the remainders P mod n and F mod n go to the LAST
 * installment, so the installments always sum to exactly P + F.
 *
 * Allocation: payments are one stream, applied in order to fee_1, principal_1, fee_2,
 * principal_2, ... (oldest installment first, fee before principal). A payment larger than the
 * installments due simply runs on into later ones (early repayment). Because the order is
 * fixed, the whole allocation is a function of the total paid: what a loan's installments have
 * received is computed from that total, never stored twice.
 */
#include <limits.h>

#include "fa.h"
#include "loans.h"

const char *const loans_bucket_names[LOANS_NBUCKETS] = {"current", "1-30", "31-60", "61-90",
                                                        "90+"};

/* Buckets as the issue names them: 1-30, 31-60, 61-90 and over 90 days past due. */
int loans_bucket_of(int64_t dpd)
{
    if (dpd <= 0)
        return LOANS_BUCKET_CURRENT;
    if (dpd <= 30)
        return LOANS_BUCKET_1_30;
    if (dpd <= 60)
        return LOANS_BUCKET_31_60;
    if (dpd <= 90)
        return LOANS_BUCKET_61_90;
    return LOANS_BUCKET_90_PLUS;
}

/* The fee method above; -1 rather than a wrong number when it cannot fit. */
int loans_fee(int64_t principal, int64_t rate_bp, int64_t months, int64_t *fee)
{
    if (principal < 0 || rate_bp < 0 || months < 0)
        return -1;
    __int128 f = (__int128)principal * rate_bp * months / 120000;
    int64_t total;
    if (f > INT64_MAX || __builtin_add_overflow(principal, (int64_t)f, &total))
        return -1;
    *fee = (int64_t)f;
    return 0;
}

/* Months are Solar Hijri months: installments fall on the same Jalali day. */
int loans_add_months(int64_t day, int months, int64_t *out)
{
    int gy, gm, gd, jy, jm, jd;
    hy_civil_from_days(day, &gy, &gm, &gd);
    if (months < 0 || hy_gregorian_to_jalali(gy, gm, gd, &jy, &jm, &jd) != 0)
        return -1;
    int m0 = jm - 1 + months;
    jy += m0 / 12;
    jm = m0 % 12 + 1;
    if (jy > HY_JALALI_MAX_YEAR)
        return -1;
    int len = hy_jalali_month_length(jy, jm);
    if (len < 0 || hy_jalali_to_gregorian(jy, jm, jd < len ? jd : len, &gy, &gm, &gd) != 0)
        return -1;
    *out = hy_days_from_civil(gy, gm, gd);
    return 0;
}

/* Builds each due date from the base, not from the previous one, so a clamped day
 * (31 -> 30) never drifts into later months. */
int loans_schedule(int64_t principal, int64_t fee, int n, int64_t base_day, int first_offset,
                   loans_line_t *out)
{
    if (n < 1 || principal < 0 || fee < 0)
        return -1;
    int64_t p_each = principal / n, f_each = fee / n;
    for (int k = 0; k < n; k++) {
        if (loans_add_months(base_day, first_offset + k, &out[k].day) != 0)
            return -1;
        out[k].a = f_each;
        out[k].b = p_each;
    }
    out[n - 1].a += fee % n;
    out[n - 1].b += principal % n;
    return 0;
}

/* The part of [from, from + len) that overlaps [lo, hi); all non-negative and small enough. */
static int64_t s_overlap(int64_t from, int64_t len, int64_t lo, int64_t hi)
{
    int64_t a = from > lo ? from : lo;
    int64_t b = from + len < hi ? from + len : hi;
    return b > a ? b - a : 0;
}

/* The payment covers positions [paid, paid + amount) of the stream fee_1, principal_1, ... */
void loans_allocate(const loans_line_t *inst, size_t n, int64_t paid, int64_t amount,
                    int64_t *fee, int64_t *principal)
{
    int64_t pos = 0, end = paid + amount;
    *fee = *principal = 0;
    for (size_t k = 0; k < n && pos < end; k++) {
        *fee += s_overlap(paid, amount, pos, pos + inst[k].a);
        pos += inst[k].a;
        *principal += s_overlap(paid, amount, pos, pos + inst[k].b);
        pos += inst[k].b;
    }
}

/* Fills installments oldest first, fee before principal, until `paid` runs out. */
void loans_installments_paid(const loans_line_t *inst, size_t n, int64_t paid, loans_line_t *out)
{
    int64_t rest = paid;
    for (size_t k = 0; k < n; k++) {
        out[k].day = inst[k].day;
        out[k].a = rest < inst[k].a ? rest : inst[k].a;
        rest -= out[k].a;
        out[k].b = rest < inst[k].b ? rest : inst[k].b;
        rest -= out[k].b;
    }
}

/* Sums the lines dated on or before as_of (disbursements, repayments). -1 on overflow. */
static int s_sum_until(const loans_line_t *l, size_t n, int64_t as_of, int64_t *sum)
{
    *sum = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i].day <= as_of && __builtin_add_overflow(*sum, l[i].a, sum))
            return -1;
    return 0;
}

/* What the installments ask for: totals, what is due by as_of, and the oldest installment the
 * payments (total `paid`) have not covered. */
static int s_installments(const loans_line_t *inst, size_t n, int64_t as_of, loans_state_t *st)
{
    int64_t cum = 0;
    st->oldest_unpaid = n;
    for (size_t k = 0; k < n; k++) {
        int64_t amount;
        if (__builtin_add_overflow(inst[k].a, inst[k].b, &amount) ||
            __builtin_add_overflow(cum, amount, &cum) ||
            __builtin_add_overflow(st->fee_total, inst[k].a, &st->fee_total) ||
            __builtin_add_overflow(st->principal_total, inst[k].b, &st->principal_total))
            return -1;
        if (inst[k].day <= as_of)
            st->due = cum;
        if (cum > st->paid && st->oldest_unpaid == n)
            st->oldest_unpaid = k;
    }
    return 0;
}

/* History groups are in the order of the changes: the first change after the day replaced the
 * schedule that was in force on it. */
void loans_book_schedule(const loans_book_t *b, int64_t day, const loans_line_t **inst, size_t *n)
{
    for (size_t at = 0; at < b->nhist; at += 1 + (size_t)b->hist[at].b) {
        if (b->hist[at].day > day) {
            *inst = b->hist + at + 1;
            *n = (size_t)b->hist[at].b;
            return;
        }
    }
    *inst = b->inst;
    *n = b->ninst;
}

/* Whether a rescheduling took effect on or before the day. */
static bool s_restructured(const loans_book_t *b, int64_t day)
{
    for (size_t at = 0; at < b->nhist; at += 1 + (size_t)b->hist[at].b)
        if (b->hist[at].a == LOANS_CHANGE_RESCHEDULE && b->hist[at].day <= day)
            return true;
    return false;
}

/* Everything "as of" a day follows from what was disbursed and paid by then, on the schedule
 * in force that day. */
int loans_book_state(const loans_book_t *b, int64_t as_of, loans_state_t *st)
{
    const loans_line_t *inst;
    size_t n;
    *st = (loans_state_t){0};
    loans_book_schedule(b, as_of, &inst, &n);
    if (s_sum_until(b->disb, b->ndisb, as_of, &st->disbursed) != 0 ||
        s_sum_until(b->rep, b->nrep, as_of, &st->paid) != 0 ||
        s_sum_until(b->rec, b->nrec, as_of, &st->recovered) != 0 ||
        s_installments(inst, n, as_of, st) != 0)
        return -1;
    loans_allocate(inst, n, 0, st->paid, &st->fee_paid, &st->principal_paid);
    st->credited = st->paid < st->due ? st->paid : st->due;
    st->overdue = st->due - st->credited;
    st->out_principal = st->disbursed - st->principal_paid;
    st->out_fee = st->fee_total - st->fee_paid;
    if (st->out_principal < 0)
        st->out_principal = 0;   /* as_of before a disbursement recorded later: nothing owed */
    if (st->disbursed == 0)
        st->out_fee = 0;         /* nothing is owed before money is paid out */
    if (st->oldest_unpaid < n && inst[st->oldest_unpaid].day < as_of)
        st->days_past_due = as_of - inst[st->oldest_unpaid].day;
    st->written_off = b->writeoff_day != INT64_MIN && b->writeoff_day <= as_of;
    st->closed = n > 0 && st->oldest_unpaid == n;
    st->restructured = s_restructured(b, as_of);
    if (st->written_off) {
        /* Written off: nothing is owed any more and nothing is past due. */
        st->out_principal = st->out_fee = st->overdue = st->days_past_due = 0;
    }
    st->bucket = loans_bucket_of(st->days_past_due);
    return 0;
}
