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
 *   s_head_t, then ninst + ndisb + nrep loans_line_t.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"

#define SUMMARY_MAGIC 0x4c4e5301u   /* "LNS" version 1 */

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
} s_head_t;

/* Frees the lines (one allocation) and leaves an empty book. */
void loans_book_free(loans_book_t *book)
{
    free(book->inst);
    book->inst = book->disb = book->rep = NULL;
    book->ninst = book->ndisb = book->nrep = 0;
}

/* One allocation for the three arrays. */
static int s_alloc(loans_book_t *b, size_t ninst, size_t ndisb, size_t nrep)
{
    size_t total = ninst + ndisb + nrep;
    /* Every line is written by the caller (JSON lines or a memcpy of the summary): no zeroing. */
    b->inst = malloc((total ? total : 1) * sizeof *b->inst);
    if (!b->inst)
        return -1;
    b->disb = b->inst + ninst;
    b->rep = b->disb + ndisb;
    b->ninst = ninst, b->ndisb = ndisb, b->nrep = nrep;
    return 0;
}

/* Reads an array of {date_key, a_key, b_key?} objects into lines. */
static int s_lines(const json_t *arr, const char *date_key, const char *a_key, const char *b_key,
                   loans_line_t *out)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        out[i].day = loans_day(loans_str(it, date_key));
        out[i].a = loans_int(it, a_key);
        out[i].b = b_key ? loans_int(it, b_key) : 0;
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
           *rep = json_object_get(loan, "repayments"), *wo = json_object_get(loan, "write_off");
    b->status = loans_status_parse(loans_str(loan, "status"));
    b->approved = loans_int(loan, "approved_rials");
    b->writeoff_day = INT64_MIN;
    const char *office = loans_str(loan, "office");
    const char *product = loans_str(loan, "product_id");
    if (b->status < 0 || !product || hy_id_parse("lpr", product, &b->product) != 0)
        return -1;
    snprintf(b->office, sizeof b->office, "%s", office ? office : "");
    if (wo) {
        b->writeoff_day = loans_day(loans_str(wo, "date"));
        b->writeoff_principal = loans_int(wo, "principal_rials");
        b->writeoff_fee = loans_int(wo, "fee_rials");
    }
    if (s_alloc(b, json_array_size(sched), json_array_size(disb), json_array_size(rep)) != 0)
        return -1;
    if (s_lines(sched, "due_date", "fee_rials", "principal_rials", b->inst) != 0 ||
        s_lines(disb, "date", "amount_rials", NULL, b->disb) != 0 ||
        s_lines(rep, "date", "amount_rials", NULL, b->rep) != 0) {
        loans_book_free(b);
        return -1;
    }
    return 0;
}

/* Header then lines, in one buffer, so a scan reads one value per loan. */
int loans_book_encode(const loans_book_t *b, void **out, size_t *len)
{
    s_head_t h;
    memset(&h, 0, sizeof h);
    h.magic = SUMMARY_MAGIC;
    h.status = b->status;
    h.last_bucket = b->last_bucket;
    h.ninst = (uint32_t)b->ninst, h.ndisb = (uint32_t)b->ndisb, h.nrep = (uint32_t)b->nrep;
    h.product = b->product;
    h.approved = b->approved;
    h.writeoff_day = b->writeoff_day;
    h.writeoff_principal = b->writeoff_principal;
    h.writeoff_fee = b->writeoff_fee;
    snprintf(h.office, sizeof h.office, "%s", b->office);
    size_t nlines = b->ninst + b->ndisb + b->nrep;
    *len = sizeof h + nlines * sizeof(loans_line_t);
    unsigned char *p = malloc(*len);
    if (!p)
        return ENOMEM;
    memcpy(p, &h, sizeof h);
    unsigned char *q = p + sizeof h;
    memcpy(q, b->inst, b->ninst * sizeof *b->inst);
    q += b->ninst * sizeof *b->inst;
    memcpy(q, b->disb, b->ndisb * sizeof *b->disb);
    q += b->ndisb * sizeof *b->disb;
    memcpy(q, b->rep, b->nrep * sizeof *b->rep);
    *out = p;
    return 0;
}

/* Copies the lines out of the (unaligned) LMDB value into aligned memory. */
int loans_book_decode(const void *data, size_t len, loans_book_t *b)
{
    s_head_t h;
    memset(b, 0, sizeof *b);
    if (len < sizeof h)
        return -1;
    memcpy(&h, data, sizeof h);
    size_t nlines = (size_t)h.ninst + h.ndisb + h.nrep;
    if (h.magic != SUMMARY_MAGIC || len != sizeof h + nlines * sizeof(loans_line_t))
        return -1;
    b->status = h.status;
    b->last_bucket = h.last_bucket;
    b->product = h.product;
    b->approved = h.approved;
    b->writeoff_day = h.writeoff_day;
    b->writeoff_principal = h.writeoff_principal;
    b->writeoff_fee = h.writeoff_fee;
    memcpy(b->office, h.office, sizeof b->office - 1);
    b->office[sizeof b->office - 1] = '\0';
    if (s_alloc(b, h.ninst, h.ndisb, h.nrep) != 0)
        return -1;
    memcpy(b->inst, (const unsigned char *)data + sizeof h, nlines * sizeof(loans_line_t));
    return 0;
}

/* Reads only the header's product number and office (NUL-terminated into office[65]), so a
 * filtered pass skips a loan without decoding it. Returns 0, or -1 for a malformed summary. */
int loans_book_peek(const void *data, size_t len, uint64_t *product, char office[65])
{
    s_head_t h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, data, sizeof h);
    if (h.magic != SUMMARY_MAGIC)
        return -1;
    *product = h.product;
    memcpy(office, h.office, 64);
    office[64] = '\0';
    return 0;
}

/* Reads only the header: the aging run's last bucket, without copying lines. */
int loans_book_bucket(const void *data, size_t len)
{
    s_head_t h;
    if (len < sizeof h)
        return LOANS_BUCKET_CURRENT;
    memcpy(&h, data, sizeof h);
    return h.magic == SUMMARY_MAGIC ? h.last_bucket : LOANS_BUCKET_CURRENT;
}

/* Patches the header in place: the aging run changes nothing else. */
int loans_book_set_bucket(void *data, size_t len, int bucket)
{
    s_head_t h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, data, sizeof h);
    if (h.magic != SUMMARY_MAGIC)
        return -1;
    h.last_bucket = bucket;
    memcpy(data, &h, sizeof h);
    return 0;
}
