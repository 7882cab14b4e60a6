/*
 * ledger.c — the loan arithmetic, exact to the rial: the service fee, the repayment schedule,
 * how a payment is allocated, and aging buckets. Pure functions over integers; no store.
 *
 * Fee methods (qard al-hasan service fee, کارمزد), at the product's annual rate r (basis
 * points, at most 2,400), computed in 128-bit arithmetic so they are exact for every amount the
 * API accepts; the fee never grows with arrears (no penalty interest on a qard al-hasan loan):
 *   flat       on the principal P for the loan's term of n months, F = floor(P * r * n / 120000),
 *              spread evenly over the installments (below);
 *   declining  (the default for new products; how Iranian banks compute کارمزد, Fineract's
 *              declining-balance interest with equal principal installments) installment k's
 *              fee is floor(B_k * r * m_k / 120000), B_k the principal the schedule leaves
 *              outstanding at the start of its period and m_k its months (1 + grace for the
 *              first, 1 after). Early payoff owes only the fee accrued to the payoff date
 *              (servicing.c).
 *
 * Early payoff (declining method): paying everything on day D owes the principal still
 * outstanding, the fees of the installments due on or before D, and the fee accrued in the
 * period D falls in: floor(B_k * r * m_k * (D - start) / (120000 * (due_k - start))), the
 * period's fee in proportion to its days elapsed; the fees of later periods are not owed. The
 * payoff cuts the schedule there (the installment of that period falls due on D with that fee
 * and the rest of the principal; later ones go) and keeps the schedule it replaced.
 *
 * Tranches (Fineract's multi-tranche loans): the schedule covers what has been paid out. The
 * first tranche builds it (n installments, the first due 1 + grace months after it). A later
 * tranche on day D re-derives it exactly: the installments due on or before D stay as they
 * were, paid or not (their arrears stay arrears); the others keep their due dates and share the
 * principal disbursed in all less the principal of the kept ones, evenly with the remainder on
 * the last. Flat fee: the kept installments keep their fees and the others share the rest of
 * floor(total * r * n / 120000). Declining fee: the installment whose period D falls in keeps
 * its fee (its period began on the old balance: a tranche is charged from the first whole
 * period after it) and the later ones are charged on the new balance. A tranche after the last
 * due date adds one installment a month after it. The schedule replaced is kept (book.c).
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

/* The declining method: each installment's fee on the principal the schedule leaves
 * outstanding at the start of its period. */
int loans_declining_fees(loans_line_t *lines, size_t n, size_t from, int64_t balance,
                         int64_t rate_bp, int first_months)
{
    for (size_t k = from; k < n; k++) {
        int64_t months = k == 0 ? first_months : 1;
        if (balance < 0 || rate_bp < 0 || months < 1)
            return -1;
        __int128 f = (__int128)balance * rate_bp * months / 120000;
        if (f > INT64_MAX)
            return -1;
        lines[k].a = (int64_t)f;
        balance -= lines[k].b;
    }
    return 0;
}

/* Even shares of total over lines[from..n) into the field chosen (a fee, b principal),
 * remainder on the last. */
static void s_spread(loans_line_t *lines, size_t from, size_t n, int64_t total, bool fee)
{
    int64_t m = (int64_t)(n - from), each = total / m;
    for (size_t k = from; k < n; k++)
        *(fee ? &lines[k].a : &lines[k].b) = each + (k == n - 1 ? total % m : 0);
}

/* See the top of the file: tranches. */
int loans_rederive(const loans_line_t *old, size_t n, int64_t day, int64_t principal,
                   int64_t flat_fee, int64_t rate_bp, int first_months, loans_line_t *out,
                   size_t *nout)
{
    size_t kept = 0;
    int64_t kept_p = 0, kept_f = 0;
    while (kept < n && old[kept].day <= day) {
        out[kept] = old[kept];
        kept_p += old[kept].b, kept_f += old[kept].a;
        kept++;
    }
    for (size_t k = kept; k < n; k++)
        out[k] = old[k];
    *nout = n;
    if (kept == n) {   /* every installment already due: one more, a month after the tranche */
        if (loans_add_months(day, 1, &out[n].day) != 0)
            return -1;
        out[n].a = out[n].b = 0;
        *nout = n + 1;
    }
    if (principal < kept_p)
        return -1;
    s_spread(out, kept, *nout, principal - kept_p, false);
    if (flat_fee >= 0) {
        if (flat_fee < kept_f)
            return -1;
        s_spread(out, kept, *nout, flat_fee - kept_f, true);
        return 0;
    }
    /* declining: the installment whose period the tranche falls in keeps its fee (its period
     * began on the old balance); the later ones are charged on the new balance */
    size_t from = kept < n ? kept + 1 : kept;
    int64_t balance = principal - kept_p - (kept < n ? out[kept].b : 0);
    return loans_declining_fees(out, *nout, from, balance, rate_bp, first_months);
}

/* Early payoff under the declining method (see the top of the file). */
int loans_payoff_cut(const loans_line_t *inst, size_t n, int64_t start_day, int64_t day,
                     int64_t rate_bp, int first_months, loans_line_t *out, size_t *nout)
{
    size_t k = 0;
    while (k < n && inst[k].day <= day)
        k++;
    for (size_t j = 0; j < k; j++)
        out[j] = inst[j];
    *nout = k;
    if (k == n)
        return 0;   /* the term is over: nothing to waive */
    int64_t start = k == 0 ? start_day : inst[k - 1].day, balance = 0;
    for (size_t j = k; j < n; j++)
        if (__builtin_add_overflow(balance, inst[j].b, &balance))
            return -1;
    int64_t months = k == 0 ? first_months : 1, len = inst[k].day - start;
    if (day < start || len <= 0 || rate_bp < 0)
        return -1;
    __int128 f = (__int128)balance * rate_bp * months * (day - start) / ((__int128)120000 * len);
    out[k] = (loans_line_t){day, (int64_t)f, balance};
    *nout = k + 1;
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
