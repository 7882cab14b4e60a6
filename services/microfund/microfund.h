/*
 * microfund.h — the micro-fund service: community savings-and-loan funds (صندوق مالی خرد) kept
 * the way savings groups (VSLA/SILC) keep their books.
 *
 * Route -> op -> handler -> domain function: microfund_api.c describes the ops, handlers.c maps
 * each op to a thin handler, and the domain files hold the rules:
 *   funds.c     forming a fund, reading and listing it, starting the next cycle
 *   members.c   joining and leaving, and training sessions
 *   meetings.c  one meeting as one atomic request: attendance, savings, social fund, fines, grants
 *   loans.c     loans against fellow members' guarantee, repayments, overdue
 *   shareout.c  the end-of-cycle share-out: pure arithmetic, then the writes
 *   books.c     reading the books back: meetings, trainings, a member's passbook
 *   ledger.c    what they share: the fund record, its cash position, money and dates, events
 *   persons.c   the registry's persons (members must be registered): the shared projection
 *   corrections.c  voiding a meeting recorded by mistake, under maker-checker
 *   loan_voids.c   voiding a fund-loan repayment, under maker-checker
 *   trainings.c    voiding a training session
 *   merge.c     following a merge of two person records
 *
 * A fund is one JSON record holding its rules, its current cycle, its members (a savings group
 * has tens of members, so they live inside the record and a meeting is one read and one write),
 * and its ledger: running totals of every kind of money movement since the fund was formed. The
 * cash position is derived from the ledger (ledger.c says how). Loans are records of their own.
 *
 * Domain functions take the request context (its write transaction, clock and actor) and plain
 * values, and return the skeleton's convention: 0 with *out set to a new reference, or -1 with
 * the error in ctx (hy_fail/hy_fail_mdb); "200" / "201" below name the status the op's row
 * answers on success. They know nothing of HTTP.
 */
#ifndef MICROFUND_H
#define MICROFUND_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persons.h"
#include "service.h"

/* The service's state: its database handles, opened once by microfund_open. */
typedef struct {
    MDB_dbi meta;       /* counters: "fund", "floan" */
    MDB_dbi funds;      /* fund number -> fund JSON (rules, cycle, members, ledger) */
    MDB_dbi fund_idx;   /* "o:"office, "h:"normalised neighbourhood -> fund number */
    MDB_dbi loans;      /* loan number -> loan JSON */
    MDB_dbi loan_idx;   /* "a:"fund number (8 bytes) -> active loans; "f:"... -> every loan */
    MDB_dbi meetings;   /* fund number (8) + "YYYY-MM-DD" -> meeting JSON (one per date) */
    MDB_dbi trainings;  /* fund number (8) + session number (8) -> training JSON */
    MDB_dbi persons;    /* stores from before the shared projection: person number -> {id, office,
                           neighbourhood, sex} (read only) */
    hy_persons_t shared; /* the registry's persons (shared/persons.h) */
    MDB_dbi shareouts;  /* fund number (8) + cycle number (8) -> the share-out as computed */
} microfund_t;

extern const hy_api_t microfund_api;
extern const hy_service_def_t microfund_def;

/* The handlers of microfund_api.c's rows that are not a domain function (handlers.c). */
hy_handler_t microfund_h_funds_list, microfund_h_members_join, microfund_h_loans_list,
    microfund_h_loans_repay, microfund_h_shareout, microfund_h_meetings_list,
    microfund_h_trainings_list;

#define MICROFUND_MAX_MEMBERS 100
#define MICROFUND_MAX_GUARANTORS 10

/* --- funds (funds.c) ------------------------------------------------------------------------ */
/* Forms a fund: 201 with the fund; 422 unknown_person, invalid_cycle, missing_office. */
int microfund_fund_create(hy_ctx_t *ctx, json_t *args, json_t **out);
/* 200 with the fund and its cash position, or 404 not_found. */
int microfund_fund_get(hy_ctx_t *ctx, const char *id, json_t **out);
/* One page of funds of an office and/or neighbourhood (both NULL: every fund). */
int microfund_fund_list(hy_ctx_t *ctx, const char *office, const char *neighbourhood,
                        uint64_t after, int limit, json_t **items, uint64_t *next);
/* Starts the next cycle after a share-out: 201 with the fund; 422 cycle_open, invalid_cycle. */
int microfund_cycle_start(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);

/* --- members and trainings (members.c) ------------------------------------------------------ */
int microfund_member_join(hy_ctx_t *ctx, const char *id, const char *person_id,
                          const char *joined, json_t **out);
int microfund_member_leave(hy_ctx_t *ctx, const char *id, const char *person_id,
                           const char *date, json_t **out);
int microfund_training_create(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);

/* --- meetings (meetings.c) ------------------------------------------------------------------ */
int microfund_meeting_create(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);

/* --- reading the books back (books.c) ------------------------------------------------------ */
/* One page of a fund's meetings in date order (cursor: the last day number); 404 unknown fund.
 * The third argument is unused (the list signature of handlers.c). */
int microfund_meeting_list(hy_ctx_t *ctx, const char *id, const char *unused, uint64_t after,
                           int limit, json_t **items, uint64_t *next);
/* The meeting of a fund on date (YYYY-MM-DD): 200, or 404 not_found. */
int microfund_meeting_get(hy_ctx_t *ctx, const char *id, const char *date, json_t **out);
/* One page of a fund's training sessions by number; 404 unknown fund. */
int microfund_training_list(hy_ctx_t *ctx, const char *id, const char *unused, uint64_t after,
                            int limit, json_t **items, uint64_t *next);
/* Training session number (decimal text) of a fund: 200, or 404 not_found. */
int microfund_training_get(hy_ctx_t *ctx, const char *id, const char *number, json_t **out);
/* A member's passbook (books.c says what it holds): 200, or 404 for an unknown fund or a person
 * who was never a member. */
int microfund_passbook(hy_ctx_t *ctx, const char *id, const char *person_id, json_t **out);

/* --- loans (loans.c) ------------------------------------------------------------------------ */
int microfund_loan_create(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);
int microfund_loan_get(hy_ctx_t *ctx, const char *id, json_t **out);
/* One page of a fund's loans (status NULL: all), oldest first; 404 for an unknown fund. */
int microfund_loan_list(hy_ctx_t *ctx, const char *fund_id, const char *status, uint64_t after,
                        int limit, json_t **items, uint64_t *next);
int microfund_loan_repay(hy_ctx_t *ctx, const char *id, int64_t amount, const char *date,
                         json_t **out);
/* The fund's loans not yet closed, in loan-number order (*loans: new array). 0 or LMDB error. */
int microfund_loans_active(hy_ctx_t *ctx, uint64_t fund_n, json_t **loans);
/* Every loan the fund ever made, in loan-number order (*loans: new array). 0 or LMDB error. */
int microfund_loans_of(hy_ctx_t *ctx, uint64_t fund_n, json_t **loans);
/* Principal still owed on a loan record (0 once it is settled at a share-out). */
int64_t microfund_loan_principal_due(const json_t *loan);
/* Adds or removes a loan from the fund's active-loan index. 0 or LMDB error. */
int microfund_loan_index_active(hy_ctx_t *ctx, uint64_t fund_n, uint64_t loan_n, bool put);

/* --- share-out (shareout.c) ------------------------------------------------------------------ */
/* Splits amount (>= 0) over n weights (>= 0, sum > 0): out[i] = floor(amount * w[i] / sum),
 * then the rials left over go one each to the largest fractional parts (amount * w[i] mod
 * sum), ties to the smaller tie[i]. Σ out == amount exactly. Returns 0, or -1 when the
 * weights sum to 0 or overflow. */
int microfund_split(int64_t amount, const int64_t *w, const uint64_t *tie, size_t n,
                    int64_t *out);

typedef struct {
    uint64_t person;      /* person number: the tie-break, smaller first */
    int64_t shares;       /* shares bought in the cycle */
    int64_t savings;      /* rials saved in the cycle */
    /* computed */
    int64_t profit;       /* her part of the profit */
    int64_t entitled;     /* savings + profit */
    int64_t covered;      /* taken to settle open loans, as borrower or as guarantor */
    int64_t loss;         /* her part of what neither borrower nor guarantors could cover */
    int64_t paid;         /* cash handed to her: entitled - covered - loss */
} mf_share_t;

typedef struct {
    uint64_t borrower;                            /* person number */
    uint64_t guarantors[MICROFUND_MAX_GUARANTORS];/* person numbers, first one first */
    size_t nguarantors;
    int64_t principal;                            /* principal still owed */
    int64_t charge;                               /* service charge still owed */
    /* computed */
    int64_t debt;                                 /* principal + charge */
    int64_t by_borrower;
    int64_t by_guarantor[MICROFUND_MAX_GUARANTORS];
    int64_t shared;                               /* left to all members (the collective) */
} mf_default_t;

typedef struct {
    int64_t cash;         /* cash box before the share-out */
    int64_t social;       /* social fund balance */
    /* computed */
    int64_t savings;      /* Σ savings */
    int64_t shares;       /* Σ shares */
    int64_t profit;       /* cash - social - savings + what open loans still owe */
    int64_t to_social;    /* profit nobody holds shares for (no shares bought) */
    int64_t paid;         /* Σ paid; paid + social + to_social == cash */
} mf_shareout_t;

/* The share-out arithmetic over plain values (no store): fills the computed members of so,
 * rows and defs (shareout.c's header gives the rules: every borrower's payout settles her own
 * debt first, then guarantors what is left, then the group). Returns 0, or -1 when the books do
 * not add up (negative profit, overflow, a loss nobody can carry), which the caller reports as
 * an internal error. On 0: Σ paid + social + to_social == cash, and for each loan
 * by_borrower + Σ by_guarantor + shared == debt, exactly. */
int microfund_shareout_compute(mf_shareout_t *so, mf_share_t *rows, size_t nrows,
                               mf_default_t *defs, size_t ndefs);

/* POST /v1/funds/{id}/shareout: computes, and unless preview closes the cycle. */
int microfund_shareout(hy_ctx_t *ctx, const char *id, bool preview, const char *date,
                       json_t **out);

/* Visits the JSON records of db (meetings, trainings, share-outs) whose key starts with the fund
 * number, from the first key after fund number + from (from NULL: the first of the fund); each
 * returns 0 to go on, 1 to stop, or an LMDB error. Returns 0 or an LMDB error (books.c). */
typedef int (*microfund_each_fn)(json_t *rec, void *user);
int microfund_scan(hy_ctx_t *ctx, MDB_dbi db, uint64_t fund_n, const void *from, size_t fromlen,
                   microfund_each_fn each, void *user);

/* --- voiding a meeting under maker-checker (corrections.c) --------------------------------- */
/* The maker's request (202), the checker's approval (200; 422 same_approver) and turning the
 * request down (200), each with the meeting; the codes are in corrections.c. */
int microfund_meeting_void(hy_ctx_t *ctx, const char *id, const char *date, const char *reason,
                           json_t **out);
int microfund_meeting_void_approve(hy_ctx_t *ctx, const char *id, const char *date,
                                   json_t **out);
int microfund_meeting_void_reject(hy_ctx_t *ctx, const char *id, const char *date,
                                  const char *reason, json_t **out);
/* Voids a training session (not money: one key, of the fund's office or the province); 200
 * with the session, 404, 409 voided (trainings.c). */
int microfund_training_void(hy_ctx_t *ctx, const char *id, const char *number,
                            const char *reason, json_t **out);

/* --- voiding a fund-loan repayment under maker-checker (loan_voids.c) ---------------------- */
int microfund_repayment_void(hy_ctx_t *ctx, const char *id, const char *number,
                             const char *reason, json_t **out);
int microfund_repayment_void_approve(hy_ctx_t *ctx, const char *id, const char *number,
                                     json_t **out);
int microfund_repayment_void_reject(hy_ctx_t *ctx, const char *id, const char *number,
                                    const char *reason, json_t **out);

/* --- a merge of two person records (merge.c) ---------------------------------------------- */
/* Applies registry.person.merged's data inside ctx->txn. 0 or an LMDB error. */
int microfund_person_merged(hy_ctx_t *ctx, const json_t *data);

/* --- the registry's persons (persons.c) ------------------------------------------------------ */
int microfund_apply(hy_ctx_t *ctx, const char *source, json_t *event);
int microfund_reset(void *state, MDB_txn *txn);
/* 0 when person_id is a registered person; HY_PARKED when not seen yet (return it as is: the
 * request runs again once caught up with the registry); else 422 unknown_person (field names
 * the argument) or 500. */
int microfund_person_require(hy_ctx_t *ctx, const char *person_id, const char *field);

/* --- the fund record and what the domain files share (ledger.c) ------------------------------ */
microfund_t *microfund_state(hy_ctx_t *ctx);

typedef struct {
    uint64_t n;        /* fund number */
    json_t *rec;       /* the record (owned) */
    const char *id;    /* "fund_<n>", borrowed from rec */
} mf_fund_t;

/* Loads a fund by id: 0, or 404 not_found (also for a malformed id) / 500. */
int microfund_fund_open(hy_ctx_t *ctx, const char *id, mf_fund_t *fund);
/* Stamps updated_at and writes the record back: 0 or a failure status. */
int microfund_fund_save(hy_ctx_t *ctx, mf_fund_t *fund);
void microfund_fund_close(mf_fund_t *fund);
/* A copy of the record with its cash position, as clients see it (new reference). */
json_t *microfund_fund_render(const json_t *fund);
/* 0 when the fund's cycle is open, else 422 cycle_closed. */
int microfund_cycle_open(hy_ctx_t *ctx, const mf_fund_t *fund);
/* 0 when date lies inside the fund's cycle, else 422 outside_cycle on field. */
int microfund_in_cycle(hy_ctx_t *ctx, const mf_fund_t *fund, const char *date, const char *field);

/* 0 when date is today or before, else 422 future_date on field: the books record what
 * happened, never what is planned. */
int microfund_not_future(hy_ctx_t *ctx, const char *date, const char *field);
/* Checks the date of a money movement of the cycle (a meeting, a loan, a repayment): not in the
 * future (422 future_date), inside the cycle (422 outside_cycle); then records it as the cycle's
 * last_activity_date when it is the latest, which the share-out may not precede. 0 or status. */
int microfund_activity(hy_ctx_t *ctx, mf_fund_t *fund, const char *date, const char *field);

/* The member record of person_id (borrowed from fund), or NULL. */
json_t *microfund_member(const json_t *fund, const char *person_id);
/* Like microfund_member, but only a current (not departed) member; else 422 not_a_member. */
int microfund_member_require(hy_ctx_t *ctx, const json_t *fund, const char *person_id,
                             const char *field, json_t **member);

/* Integer member of obj (0 when absent). */
int64_t microfund_int(const json_t *obj, const char *key);
/* obj[key] += delta, refused with 422 amount_too_large on overflow. 0 or the status. */
int microfund_add(hy_ctx_t *ctx, json_t *obj, const char *key, int64_t delta);
/* Books a money movement: ledger[key] += amount, and the cycle's total of the same name when
 * the cycle keeps one. Refused (422 amount_too_large) when a total or the cash box would no
 * longer fit in 64 bits. 0 or the status. */
int microfund_book(hy_ctx_t *ctx, json_t *fund, const char *key, int64_t amount);

typedef struct {
    int64_t box;          /* the cash box */
    int64_t social;       /* the social fund's balance (part of the box, for grants only) */
    int64_t loan_cash;    /* box - social: what may be lent */
    int64_t outstanding;  /* loan principal not yet repaid */
} mf_cash_t;
void microfund_cash(const json_t *fund, mf_cash_t *cash);
/* The cash position as JSON (new reference). */
json_t *microfund_cash_json(const json_t *fund);

/* Day number of an ISO date (days since 1970-01-01); INT64_MIN when it is not a date. */
int64_t microfund_day(const char *iso);
/* iso + months in Solar Hijri months (the same Jalali day, clamped to the month's length).
 * 0, or -1 for a bad date. */
int microfund_add_months(const char *iso, int months, char out[11]);
/* The date a request acts on: the named argument when given, else today. Borrowed. */
const char *microfund_date_arg(hy_ctx_t *ctx, const json_t *args, const char *key);

/* Emits an event whose data (stolen) gets fund_id, office and neighbourhood, with subject the
 * given entity (NULL: the fund). 0 or a failure status. */
int microfund_emit(hy_ctx_t *ctx, const mf_fund_t *fund, const char *type, const char *subject,
                   json_t *data);
/* Sets created_by, created_at and updated_at on a new record. */
void microfund_stamp(hy_ctx_t *ctx, json_t *rec);
/* 422 duplicate_entry (on field) for the first id that appears twice in items: an array of id
 * strings (key NULL) or of objects whose member key is the id. 0 when none does. */
int microfund_unique(hy_ctx_t *ctx, const json_t *items, const char *key, const char *field);

#endif
