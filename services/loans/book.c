/*
 * book.c — a loan's ledger ("book"): its installments, disbursements and repayments as plain
 * integer lines, read from the loan's JSON record, and the same book as a compact binary
 * summary stored beside the record.
 *
 * The record is the truth; the summary is rewritten from it on every save (records.c), so the
 * two cannot disagree. The portfolio and the aging run scan summaries only: one pass over the
 * loans with no JSON parsing, which is what keeps a 100,000-loan portfolio cheap.
 *
 * Summary layout (native byte order: the environment is owned by one process on one host):
 *   s_head_t, then ninst + ndisb + nrep + nrec + nhist loans_line_t. Version 1 summaries (no
 *   recoveries, no schedule history, no flags) are still read.
 *
 * Schedule history: every change of the schedule (a later tranche, a rescheduling, an early
 * payoff) keeps the schedule it replaced, so that every figure as of a date before the change is
 * computed on the schedule then in force. In the book the history is one array of groups: a
 * marker line {day = the day the next schedule took effect, a = -1, b = its number of lines}
 * followed by those lines (the replaced schedule), in the order of the changes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"

#define SUMMARY_MAGIC_V1 0x4c4e5301u   /* "LNS" version 1 */
#define SUMMARY_MAGIC 0x4c4e5302u      /* "LNS" version 2: recoveries, history, flags */

const char *const loans_status_names[LOANS_NSTATUS] = {
    "applied", "appraised", "approved", "rejected", "disbursing",
    "disbursed", "rescheduled", "closed", "written_off", "withdrawn",
};

/* The status enum of a stored name; records only ever hold names from the table. */
int loans_status_parse(const char *name)
{
    for (int i = 0; name && i < LOANS_NSTATUS; i++)
        if (strcmp(name, loans_status_names[i]) == 0)
            return i;
    return -1;
}

/* A person has at most one loan in these states at a time (active_loan_exists). */
bool loans_status_active(int s)
{
    return s == LOANS_APPLIED || s == LOANS_APPRAISED || s == LOANS_APPROVED ||
           s == LOANS_DISBURSING || s == LOANS_DISBURSED || s == LOANS_RESCHEDULED;
}

/* Loans whose approved amount counts against the person's yearly cap. */
bool loans_status_approved(int s)
{
    return s == LOANS_APPROVED || s == LOANS_DISBURSING || s == LOANS_DISBURSED ||
           s == LOANS_RESCHEDULED || s == LOANS_CLOSED || s == LOANS_WRITTEN_OFF;
}

typedef struct {
    uint32_t magic;
    int32_t status, last_bucket;
    uint32_t ninst, ndisb, nrep;
    uint64_t product;
    int64_t approved, writeoff_day, writeoff_principal, writeoff_fee;
    char office[72];
} s_head_v1_t;

typedef struct {
    s_head_v1_t v1;
    uint32_t nrec, nhist, flags, pad;
} s_head_t;

/* Frees the lines (one allocation) and leaves an empty book. */
void loans_book_free(loans_book_t *book)
{
    free(book->inst);
    book->inst = book->disb = book->rep = book->rec = book->hist = NULL;
    book->ninst = book->ndisb = book->nrep = book->nrec = book->nhist = 0;
}

/* One allocation for the five arrays. */
static int s_alloc(loans_book_t *b, size_t ninst, size_t ndisb, size_t nrep, size_t nrec,
                   size_t nhist)
{
    size_t total = ninst + ndisb + nrep + nrec + nhist;
    /* Every line is written by the caller (JSON lines or a memcpy of the summary): no zeroing. */
    b->inst = malloc((total ? total : 1) * sizeof *b->inst);
    if (!b->inst)
        return -1;
    b->disb = b->inst + ninst;
    b->rep = b->disb + ndisb;
    b->rec = b->rep + nrep;
    b->hist = b->rec + nrec;
    b->ninst = ninst, b->ndisb = ndisb, b->nrep = nrep, b->nrec = nrec, b->nhist = nhist;
    return 0;
}

/* The marker code of a schedule change (book.c's history): -1 tranche, -2 reschedule,
 * -3 payoff, -4 anything else. */
int64_t loans_change_code(const char *change)
{
    static const char *const names[] = {"tranche", "reschedule", "payoff"};
    for (int i = 0; change && i < 3; i++)
        if (strcmp(change, names[i]) == 0)
            return -1 - i;
    return -4;
}

/* The number of history lines of the loan's schedule_history (markers included). */
static size_t s_hist_size(const json_t *history)
{
    size_t i, n = 0;
    json_t *h;
    json_array_foreach(history, i, h)
        n += 1 + json_array_size(json_object_get(h, "schedule"));
    return n;
}

/* Reads an array of {date_key, a_key, b_key?} objects into lines. */
static int s_lines(const json_t *arr, const char *date_key, const char *a_key, const char *b_key,
                   loans_line_t *out)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        out[i].day = loans_day(hy_json_str(it, date_key));
        out[i].a = hy_json_int(it, a_key, 0);
        out[i].b = b_key ? hy_json_int(it, b_key, 0) : 0;
        if (out[i].day < 0 || out[i].a < 0 || out[i].b < 0)
            return -1;
    }
    return 0;
}

/* The record is the truth: every summary and every computation starts here. */
int loans_book_from_json(const json_t *loan, loans_book_t *b)
{
    memset(b, 0, sizeof *b);
    json_t *sched = json_object_get(loan, "schedule"), *disb = json_object_get(loan, "disbursements"),
           *rep = json_object_get(loan, "repayments"), *wo = json_object_get(loan, "write_off"),
           *rec = json_object_get(loan, "recoveries"),
           *hist = json_object_get(loan, "schedule_history");
    b->status = loans_status_parse(hy_json_str(loan, "status"));
    b->approved = hy_json_int(loan, "approved_rials", 0);
    b->writeoff_day = INT64_MIN;
    const char *office = hy_json_str(loan, "office");
    const char *product = hy_json_str(loan, "product_id");
    if (b->status < 0 || !product || hy_id_parse("lpr", product, &b->product) != 0)
        return -1;
    snprintf(b->office, sizeof b->office, "%s", office ? office : "");
    if (wo) {
        b->writeoff_day = loans_day(hy_json_str(wo, "date"));
        b->writeoff_principal = hy_json_int(wo, "principal_rials", 0);
        b->writeoff_fee = hy_json_int(wo, "fee_rials", 0);
    }
    b->flags = json_array_size(json_object_get(loan, "reschedules")) ? LOANS_RESTRUCTURED : 0;
    if (s_alloc(b, json_array_size(sched), json_array_size(disb), json_array_size(rep),
                json_array_size(rec), s_hist_size(hist)) != 0)
        return -1;
    if (s_lines(sched, "due_date", "fee_rials", "principal_rials", b->inst) != 0 ||
        s_lines(disb, "date", "amount_rials", NULL, b->disb) != 0 ||
        s_lines(rep, "date", "amount_rials", NULL, b->rep) != 0 ||
        s_lines(rec, "date", "amount_rials", NULL, b->rec) != 0)
        goto fail;
    size_t i, at = 0;
    json_t *h;
    json_array_foreach(hist, i, h) {
        json_t *lines = json_object_get(h, "schedule");
        b->hist[at] = (loans_line_t){loans_day(hy_json_str(h, "until")),
                                     loans_change_code(hy_json_str(h, "change")),
                                     (int64_t)json_array_size(lines)};
        if (b->hist[at].day < 0 ||
            s_lines(lines, "due_date", "fee_rials", "principal_rials", b->hist + at + 1) != 0)
            goto fail;
        at += 1 + json_array_size(lines);
    }
    return 0;
fail:
    loans_book_free(b);
    return -1;
}

/* Header then lines, in one buffer, so a scan reads one value per loan. */
int loans_book_encode(const loans_book_t *b, void **out, size_t *len)
{
    s_head_t h;
    memset(&h, 0, sizeof h);
    h.v1.magic = SUMMARY_MAGIC;
    h.v1.status = b->status;
    h.v1.last_bucket = b->last_bucket;
    h.v1.ninst = (uint32_t)b->ninst, h.v1.ndisb = (uint32_t)b->ndisb;
    h.v1.nrep = (uint32_t)b->nrep;
    h.nrec = (uint32_t)b->nrec, h.nhist = (uint32_t)b->nhist, h.flags = b->flags;
    h.v1.product = b->product;
    h.v1.approved = b->approved;
    h.v1.writeoff_day = b->writeoff_day;
    h.v1.writeoff_principal = b->writeoff_principal;
    h.v1.writeoff_fee = b->writeoff_fee;
    snprintf(h.v1.office, sizeof h.v1.office, "%s", b->office);
    size_t nlines = b->ninst + b->ndisb + b->nrep + b->nrec + b->nhist;
    *len = sizeof h + nlines * sizeof(loans_line_t);
    unsigned char *p = malloc(*len);
    if (!p)
        return ENOMEM;
    memcpy(p, &h, sizeof h);
    unsigned char *q = p + sizeof h;
    const struct {
        const loans_line_t *l;
        size_t n;
    } parts[] = {{b->inst, b->ninst}, {b->disb, b->ndisb}, {b->rep, b->nrep}, {b->rec, b->nrec},
                 {b->hist, b->nhist}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i].n)
            memcpy(q, parts[i].l, parts[i].n * sizeof(loans_line_t));
        q += parts[i].n * sizeof(loans_line_t);
    }
    *out = p;
    return 0;
}

/* The header of a summary of either version (version 1: no recoveries, history or flags);
 * *hsize gets the header's size. 0, or -1 when malformed. */
static int s_head(const void *data, size_t len, s_head_t *h, size_t *hsize)
{
    memset(h, 0, sizeof *h);
    if (len < sizeof h->v1)
        return -1;
    memcpy(&h->v1, data, sizeof h->v1);
    if (h->v1.magic == SUMMARY_MAGIC_V1) {
        *hsize = sizeof h->v1;
        return 0;
    }
    if (h->v1.magic != SUMMARY_MAGIC || len < sizeof *h)
        return -1;
    memcpy(h, data, sizeof *h);
    *hsize = sizeof *h;
    return 0;
}

/* Copies the lines out of the (unaligned) LMDB value into aligned memory. */
int loans_book_decode(const void *data, size_t len, loans_book_t *b)
{
    s_head_t h;
    size_t hsize;
    memset(b, 0, sizeof *b);
    if (s_head(data, len, &h, &hsize) != 0)
        return -1;
    size_t nlines = (size_t)h.v1.ninst + h.v1.ndisb + h.v1.nrep + h.nrec + h.nhist;
    if (len != hsize + nlines * sizeof(loans_line_t))
        return -1;
    b->status = h.v1.status;
    b->last_bucket = h.v1.last_bucket;
    b->product = h.v1.product;
    b->approved = h.v1.approved;
    b->writeoff_day = h.v1.writeoff_day;
    b->writeoff_principal = h.v1.writeoff_principal;
    b->writeoff_fee = h.v1.writeoff_fee;
    b->flags = h.flags;
    memcpy(b->office, h.v1.office, sizeof b->office - 1);
    b->office[sizeof b->office - 1] = '\0';
    if (s_alloc(b, h.v1.ninst, h.v1.ndisb, h.v1.nrep, h.nrec, h.nhist) != 0)
        return -1;
    memcpy(b->inst, (const unsigned char *)data + hsize, nlines * sizeof(loans_line_t));
    return 0;
}

/* Reads only the header's product number and office (NUL-terminated into office[65]), so a
 * filtered pass skips a loan without decoding it. Returns 0, or -1 for a malformed summary. */
int loans_book_peek(const void *data, size_t len, uint64_t *product, char office[65])
{
    s_head_v1_t h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, data, sizeof h);
    if (h.magic != SUMMARY_MAGIC && h.magic != SUMMARY_MAGIC_V1)
        return -1;
    *product = h.product;
    memcpy(office, h.office, 64);
    office[64] = '\0';
    return 0;
}

/* Reads only the header: the aging run's last bucket, without copying lines. */
int loans_book_bucket(const void *data, size_t len)
{
    s_head_v1_t h;
    if (len < sizeof h)
        return LOANS_BUCKET_CURRENT;
    memcpy(&h, data, sizeof h);
    return h.magic == SUMMARY_MAGIC || h.magic == SUMMARY_MAGIC_V1 ? h.last_bucket
                                                                   : LOANS_BUCKET_CURRENT;
}

/* Patches the header in place: the aging run changes nothing else. */
int loans_book_set_bucket(void *data, size_t len, int bucket)
{
    s_head_v1_t h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, data, sizeof h);
    if (h.magic != SUMMARY_MAGIC && h.magic != SUMMARY_MAGIC_V1)
        return -1;
    h.last_bucket = bucket;
    memcpy(data, &h, sizeof h);
    return 0;
}
