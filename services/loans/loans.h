/*
 * loans.h — the loans service: qard al-hasan job-creation loans from application to closure.
 *
 * Route -> op -> handler -> domain function, as in every service: loans_api.c describes the
 * ops, handlers.c maps each op to a thin handler, and the domain files hold the rules:
 *
 *   products.c     loan products, one per fiscal year and name (caps, fee rate, terms)
 *   apply.c        application, appraisal, approval, rejection and the rules they check
 *   tranches.c     disbursement in tranches, the schedule re-derived, closing the tranches
 *   servicing.c    repayments (backdated ones too), write-off, rescheduling
 *   recoveries.c   money recovered after a write-off
 *   voids.c        voiding a repayment recorded by mistake, under maker-checker
 *   disb_voids.c   voiding the last disbursement, under maker-checker
 *   ledger.c       the arithmetic: fee, schedule, allocation, arrears (pure, no store)
 *   book.c         a loan's ledger ("book") from its JSON record and as a compact binary summary
 *   records.c      loading and saving a loan with its indexes and summary; events; helpers
 *   views.c        a loan as shown (computed as of a date), lists and the approval queue
 *   portfolio.c    portfolio figures in one pass over the summaries; the aging run
 *   projection.c   what the loans service knows of persons, businesses and lead entrepreneurs,
 *                  kept from the registry's and the networks service's events
 *
 * Money is int64_t rials, every sum overflow-checked; no floating point anywhere. Dates are
 * stored as ISO Gregorian strings and computed on as day numbers (hy_days_from_civil).
 */
#ifndef LOANS_H
#define LOANS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "page.h"
#include "persons.h"
#include "service.h"

/* The largest amount any one money field accepts: 10^13 rials (a trillion toman), far above
 * any cap, so that sums over a whole portfolio stay far from int64 overflow. */
#define LOANS_MONEY_MAX 10000000000000LL
#define LOANS_TERM_MAX 120

/* Default caps (DOMAIN.md): 50 million toman for an individual, 250 million for network and
 * supporter activities. */
#define LOANS_CAP_INDIVIDUAL 500000000LL
#define LOANS_CAP_NETWORK 2500000000LL

typedef struct {
    MDB_dbi meta;       /* counters "product", "loan"; "aged_as_of" of the last aging run */
    MDB_dbi products;   /* product number -> product JSON */
    MDB_dbi product_idx;/* "n:"<year>":"<normalised name> -> product (unique), "y:"<year> */
    MDB_dbi loans;      /* loan number -> loan JSON (the record) */
    MDB_dbi loan_idx;   /* "p:"person, "s:"status, "o:"office, "r:"product -> loan number */
    MDB_dbi summary;    /* loan number -> compact binary book (book.c), for portfolio scans */
    MDB_dbi proj;       /* projection of businesses and leads (projection.c) */
    hy_persons_t persons; /* the registry's persons (shared/persons.h) */
} loans_t;

extern const hy_api_t loans_api;
extern const hy_service_def_t loans_def;

/* The handlers of loans_api.c's rows that only unpack their arguments for a domain function
 * (handlers.c); the others are the domain functions themselves. */
int loans_h_product_get(hy_ctx_t *ctx, json_t *args, json_t **result);

int  loans_open(hy_store_t *store, void **state);
loans_t *loans_state(hy_ctx_t *ctx);

/* --- ledger.c: arithmetic on schedules (pure) -------------------------------------------- */

/* One line of a book: an installment (day = due day, a = fee, b = principal), a disbursement
 * or a repayment (day, a = amount, b unused). Days are hy_days_from_civil numbers. */
typedef struct {
    int64_t day, a, b;
} loans_line_t;

enum { LOANS_BUCKET_CURRENT, LOANS_BUCKET_1_30, LOANS_BUCKET_31_60, LOANS_BUCKET_61_90,
       LOANS_BUCKET_90_PLUS, LOANS_NBUCKETS };
extern const char *const loans_bucket_names[LOANS_NBUCKETS];
int loans_bucket_of(int64_t days_past_due);

/* The flat service fee: floor(principal * rate_bp * months / 120000), computed in 128 bits.
 * Returns 0, or -1 when it does not fit in int64 (with principal + fee). */
int loans_fee(int64_t principal, int64_t rate_bp, int64_t months, int64_t *fee);

/* day plus months Solar Hijri months, on the same day of the month clamped to the month's
 * length. Returns 0, or -1 outside the calendar's range. */
int loans_add_months(int64_t day, int months, int64_t *out);

/* Writes n installments into out: principal and fee split evenly (floor), remainders on the
 * last; the k-th (0-based) due first_offset + k months after base_day. Returns 0 or -1. */
int loans_schedule(int64_t principal, int64_t fee, int n, int64_t base_day, int first_offset,
                   loans_line_t *out);

/* The declining fee method: sets lines[k].a for k >= from to the fee on the principal
 * outstanding at the start of installment k's period (balance at `from`, less each line's
 * principal), floor(balance * rate_bp * months / 120000), months being first_months for the
 * first installment and 1 after. Returns 0, or -1 on overflow or a negative balance. */
int loans_declining_fees(loans_line_t *lines, size_t n, size_t from, int64_t balance,
                         int64_t rate_bp, int first_months);
/* A schedule re-derived for a later tranche on `day` (ledger.c, "tranches"): out (room for
 * n + 1 lines) gets the installments due on or before day unchanged, then the same due dates
 * sharing the rest of `principal`; fees: the rest of flat_fee spread, or (flat_fee < 0) the
 * declining method. *nout gets the number of lines. Returns 0 or -1. */
int loans_rederive(const loans_line_t *old, size_t n, int64_t day, int64_t principal,
                   int64_t flat_fee, int64_t rate_bp, int first_months, loans_line_t *out,
                   size_t *nout);

/* The schedule of an early payoff on `day` under the declining method (ledger.c): out (room
 * for n lines) gets the installments due on or before day, then the one whose period holds day,
 * due on day, with the fee accrued by then and the rest of the principal; *nout lines (n when
 * the term is over). start_day is the first disbursement. Returns 0 or -1. */
int loans_payoff_cut(const loans_line_t *inst, size_t n, int64_t start_day, int64_t day,
                     int64_t rate_bp, int first_months, loans_line_t *out, size_t *nout);

/* Splits a payment of amount made after `paid` rials were already paid into fee and principal
 * parts, oldest installment first, fee before principal. */
void loans_allocate(const loans_line_t *inst, size_t n, int64_t paid, int64_t amount,
                    int64_t *fee, int64_t *principal);
/* What each installment has received when `paid` rials were paid in all: out[k].a its fee,
 * out[k].b its principal (out[k].day = its due day). */
void loans_installments_paid(const loans_line_t *inst, size_t n, int64_t paid, loans_line_t *out);

/* --- book.c: a loan's ledger --------------------------------------------------------------- */
typedef enum { LOANS_APPLIED, LOANS_APPRAISED, LOANS_APPROVED, LOANS_REJECTED, LOANS_DISBURSING,
               LOANS_DISBURSED, LOANS_RESCHEDULED, LOANS_CLOSED, LOANS_WRITTEN_OFF,
               LOANS_WITHDRAWN, LOANS_NSTATUS } loans_status_t;
extern const char *const loans_status_names[LOANS_NSTATUS];
int loans_status_parse(const char *name);   /* -1 when unknown */
bool loans_status_active(int status);       /* applied .. rescheduled, not rejected */
bool loans_status_approved(int status);     /* counts against the cap */

/* Book flags. */
#define LOANS_RESTRUCTURED 1u   /* rescheduled at least once */

typedef struct {
    int status;
    int last_bucket;            /* bucket of the last aging run (portfolio.c) */
    unsigned flags;             /* LOANS_RESTRUCTURED */
    uint64_t product;
    int64_t approved;
    int64_t writeoff_day;       /* INT64_MIN when not written off */
    int64_t writeoff_principal, writeoff_fee;
    char office[65];
    size_t ninst, ndisb, nrep, nrec, nhist;
    /* installments, disbursements, repayments, recoveries after write-off (day, a = amount) and
     * the schedule history (book.c), all in one allocation: free with loans_book_free */
    loans_line_t *inst, *disb, *rep, *rec, *hist;
} loans_book_t;

/* Marker codes of the schedule history (book.c). */
#define LOANS_CHANGE_TRANCHE (-1)
#define LOANS_CHANGE_RESCHEDULE (-2)
#define LOANS_CHANGE_PAYOFF (-3)
int64_t loans_change_code(const char *change);
/* The schedule in force on a day: the one a later change replaced, else the current one. */
void loans_book_schedule(const loans_book_t *book, int64_t day, const loans_line_t **inst,
                         size_t *n);

/* Builds the book of a loan record. Returns 0, or -1 when the record is malformed. */
int loans_book_from_json(const json_t *loan, loans_book_t *book);
void loans_book_free(loans_book_t *book);
/* Serialises a book; *out is malloc'ed (caller frees). Returns 0 or ENOMEM. */
int loans_book_encode(const loans_book_t *book, void **out, size_t *len);
/* Reads a serialised book (data is copied). Returns 0, or -1 when malformed. */
int loans_book_decode(const void *data, size_t len, loans_book_t *book);
/* The aging bucket recorded in a serialised book, and changing it in place (0 or -1). */
int loans_book_bucket(const void *data, size_t len);
/* The product number and office of a summary, from its header alone; 0 or -1. */
int loans_book_peek(const void *data, size_t len, uint64_t *product, char office[65]);
int loans_book_set_bucket(void *data, size_t len, int bucket);

/* A book as of a day: what was disbursed and paid by then, what was due, what is owed. */
typedef struct {
    int64_t disbursed, paid, fee_paid, principal_paid, due, credited;
    int64_t out_principal, out_fee, overdue;
    int64_t recovered;          /* recovered after the write-off, by as_of */
    int64_t fee_total, principal_total;
    int64_t days_past_due;
    int bucket;
    size_t oldest_unpaid;       /* index of the oldest installment not fully paid (ninst if none) */
    bool written_off, closed;
    bool restructured;          /* rescheduled on or before as_of */
} loans_state_t;
/* Computes the state; returns 0, or -1 on an arithmetic overflow (a corrupt book). */
int loans_book_state(const loans_book_t *book, int64_t as_of, loans_state_t *st);

/* --- projection.c -------------------------------------------------------------------------- */
int loans_apply(hy_ctx_t *ctx, const char *source, json_t *event);
/* The person a request names (field: its argument): 0 with *n and office (65 bytes), HY_PARKED
 * (return it as is), or the failure status (422 unknown_person, 500). */
int loans_person(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n, char office[65]);
/* The business's owner number, stage rank (0 applicant .. 4 established) and whether it holds
 * a supporter licence (supporter may be NULL); 0, MDB_NOTFOUND or an LMDB error. */
int loans_business_get(hy_ctx_t *ctx, uint64_t business, uint64_t *owner, int *stage,
                       bool *supporter);
/* Whether the person leads at least one active network. */
bool loans_is_lead(hy_ctx_t *ctx, uint64_t person);
int loans_stage_rank(const char *stage);    /* -1 when unknown */

/* --- products.c ---------------------------------------------------------------------------- */
int loans_product_create(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_product_get(hy_ctx_t *ctx, const char *id, json_t **out);
int loans_product_list(hy_ctx_t *ctx, json_t *args, json_t **out);
/* The product of fiscal year `year` that takes over from `product`: the one of the same name,
 * else the first of the same kind; its id into id (32 bytes). 0, MDB_NOTFOUND or an LMDB error. */
int loans_product_current(hy_ctx_t *ctx, const json_t *product, int year, char id[32]);
/* Loads a product; 0, MDB_NOTFOUND (also for a malformed id) or an LMDB error. */
int loans_product_load(hy_ctx_t *ctx, const char *id, json_t **product);

/* --- apply.c ------------------------------------------------------------------------------- */
int loans_loan_create(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_appraise(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_approve(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_reject(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_withdraw(hy_ctx_t *ctx, json_t *args, json_t **out);
/* The fee fixed at approval: of amount over term months from day, by the fee method, rate and
 * grace of product (a product, or a loan's terms). 0, or -1 when it does not fit in int64. */
int loans_approval_fee(const json_t *product, int64_t amount, int64_t term, int64_t day,
                       int64_t *fee);

/* --- tranches.c ---------------------------------------------------------------------------- */
int loans_loan_disburse(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_close_tranches(hy_ctx_t *ctx, json_t *args, json_t **out);

/* --- servicing.c --------------------------------------------------------------------------- */
/* The date argument of a ledger entry: not after today, and on or after the ledger's last
 * date (for a repayment: the last disbursement or rescheduling). 0 or the failure status. */
int loans_ledger_arg(hy_ctx_t *ctx, const json_t *args, const json_t *loan, bool repayment,
                     int64_t *day, char iso[11]);
/* The loan's book and its state as of day, or a failure status (the book is freed then). */
int loans_book_at(hy_ctx_t *ctx, const json_t *loan, int64_t day, loans_book_t *book,
                  loans_state_t *st);
/* Re-derives the allocation of the loan's repayments from index from on, on the schedule inst;
 * changed gets those whose split changed, but for the one at index skip. 0 or -1. */
int loans_reallocate(json_t *loan, const loans_line_t *inst, size_t n, size_t from, size_t skip,
                     json_t *changed);
int loans_loan_repay(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_write_off(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_reschedule(hy_ctx_t *ctx, json_t *args, json_t **out);

/* --- voids.c: voiding a repayment under maker-checker ------------------------------------- */
/* What every void step (voids.c, disb_voids.c) starts with: loads the loan of args.id in one of
 * states (loans_load_in) and reads args.number into *number (0 when it is not a positive
 * integer: no entry has it). Returns 0 or -1 (the error in ctx). */
int loans_void_load(hy_ctx_t *ctx, const json_t *args, unsigned states, const char *what,
                    uint64_t *n, json_t **loan, int *old, long long *number);
/* The maker's request (request) or its rejection of entry (an element of loan's array named by
 * args.number): shared/checker.h's step, then loans_commit with loans.loan.<what>_void_requested
 * or _rejected {number, reason}. Takes loan. Returns 0 (the rows answer 202 / 200) or -1. */
int loans_void_step(hy_ctx_t *ctx, const json_t *args, uint64_t n, int old, json_t *loan,
                    json_t *entry, const char *what, bool request, json_t **out);
hy_handler_t loans_repayment_void, loans_repayment_void_approve, loans_repayment_void_reject;
/* disb_voids.c: the same for the last disbursement (tranche) of a loan. */
hy_handler_t loans_disbursement_void, loans_disbursement_void_approve,
    loans_disbursement_void_reject;

/* --- recoveries.c ------------------------------------------------------------------------- */
int loans_loan_recover(hy_ctx_t *ctx, json_t *args, json_t **out);

/* --- views.c ------------------------------------------------------------------------------- */
/* The loan as shown as of a day: the record plus each installment's paid amounts, what is
 * outstanding, days past due and the aging bucket. full=false leaves out the long arrays.
 * Returns a new reference or NULL. */
json_t *loans_view(const json_t *loan, int64_t as_of, bool full);
int loans_loan_get(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_list(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_loan_queue(hy_ctx_t *ctx, json_t *args, json_t **out);

/* --- portfolio.c --------------------------------------------------------------------------- */
int loans_portfolio(hy_ctx_t *ctx, json_t *args, json_t **out);
int loans_age(hy_ctx_t *ctx, json_t *args, json_t **out);
/* The last aging bucket recorded for a loan (LOANS_BUCKET_CURRENT when none). */
int loans_last_bucket(hy_ctx_t *ctx, uint64_t n);

/* --- records.c ----------------------------------------------------------------------------- */
/* Loads a loan by its id from a path, or fails 404 not_found. Returns 0 or the failure status. */
int loans_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **loan);
/* Loads the loan args.id and checks its status is one of `allowed` (a bit per loans_status_t),
 * else 409 wrong_state saying it cannot be `what`. *old gets the status. */
int loans_load_in(hy_ctx_t *ctx, const json_t *args, unsigned allowed, const char *what,
                  uint64_t *n, json_t **loan, int *old);
/* Writes a loan: the record, its index entries (old_status is its status before the change, or
 * -1 for a new loan) and its summary. Returns 0 or a failure status. */
int loans_save(hy_ctx_t *ctx, uint64_t n, int old_status, json_t *loan);
/* Moves a loan to another product (approval under the current year's): product_id, kind,
 * fiscal_year and the product index entry. Returns 0 or a failure status. */
int loans_move_product(hy_ctx_t *ctx, uint64_t n, json_t *loan, const json_t *product);
/* Re-points a loan to another person (a merge of two person records): person_id and the
 * person index entry. Returns 0 or an LMDB error. */
int loans_move_person(hy_ctx_t *ctx, uint64_t n, json_t *loan, const char *person_id);
/* The office filter of a list or the portfolio: the caller's office when its key is confined
 * (a filter naming another office is 403 other_office), else args.office; *office is NULL
 * (no filter) or buf holding the code in normalised form (hy_fa_normalize), the form the
 * registry stores and loans copy from it, so "REY-1" filters rey-1's loans as the scope checks
 * say. Returns 0 or the failure status. */
int loans_office_filter(hy_ctx_t *ctx, const json_t *args, char buf[65], const char **office);
/* Emits "loans.loan.<verb>" with the loan's identifying fields plus extra (stolen).
 * Returns 0 or a failure status. */
int loans_emit(hy_ctx_t *ctx, const char *verb, const json_t *loan, json_t *extra);
int loans_emit_raw(hy_ctx_t *ctx, const char *type, const char *subject, json_t *data);
/* The end of every loan transition: saves the loan, emits loans.loan.<verb> with extra
 * (stolen), and answers with the loan's view as of today in *out. Takes loan. Returns 0 or -1
 * (the error in ctx); the reply's status is the op row's. */
int loans_commit(hy_ctx_t *ctx, uint64_t n, int old_status, json_t *loan, const char *verb,
                 json_t *extra, json_t **out);

/* The schedule as stored: [{n, due_date, due_date_jalali, fee_rials, principal_rials}]. */
json_t *loans_schedule_json(const loans_line_t *lines, size_t n);
/* Keeps the current schedule in schedule_history before a change (tranche, reschedule, payoff)
 * that takes effect on `until`. */
void loans_history_push(json_t *loan, const char *until, const char *change);
/* Whether the loan's terms charge the declining fee (loans approved before fee methods existed
 * are flat). */
bool loans_declining(const json_t *loan);
/* What closes the loan if paid on day (payoff_rials): under the declining method the cut
 * schedule's total (loans_payoff_cut) less what was paid by then (*cut and *ncut get that
 * schedule, malloc'ed, when not NULL); else what is outstanding. 0 or -1. */
int loans_payoff(const json_t *loan, const loans_book_t *book, const loans_state_t *st,
                 int64_t day, int64_t *payoff, loans_line_t **cut, size_t *ncut);
/* Appends item (stolen) to the array loan[key], creating it on first use. */
void loans_append(json_t *loan, const char *key, json_t *item);
/* 409 duplicate_reference when an entry of the array loan[key] has this reference (what names
 * the entry in the message); 0 otherwise. */
int loans_check_reference(hy_ctx_t *ctx, const json_t *loan, const char *key, const char *what,
                          const char *reference);

/* Day number of an ISO date; -1 on a malformed one (never a real day here). */
int64_t loans_day(const char *iso);
/* ISO date of a day number into out (11 bytes). */
void loans_iso(int64_t day, char out[11]);
/* Sets obj[key] = the date and obj[key_jalali] = its Solar Hijri form. */
void loans_set_date(json_t *obj, const char *key, const char *iso);
/* The date argument `key` of args, or today when absent; 422 future_date when after today.
 * Returns 0 or the failure status; *day gets its day number, iso (11 bytes) its text. */
int loans_arg_date(hy_ctx_t *ctx, const json_t *args, const char *key, int64_t *day, char iso[11]);
/* The 409 wrong_state answer for an operation that does not apply to the loan's status. */
int loans_wrong_state(hy_ctx_t *ctx, const json_t *loan, const char *what);
/* Members are read with the shared getters (json.h): hy_json_str, hy_json_int(obj, key, 0). */
/* The Solar Hijri year of a day. */
int loans_fiscal_year(int64_t day);
/* The actor's office ("" when none); borrowed from the request. */
const char *loans_actor_office(hy_ctx_t *ctx);

#endif
