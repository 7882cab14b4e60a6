/*
 * insurance.h — the insurance service: enrolment of home-business workers with the Social
 * Insurance Fund for Farmers, Villagers and Nomads, and the feed of enrolment events the fund
 * consumes.
 *
 * Route -> op -> handler -> domain function: insurance_api.c describes the ops, handlers.c maps
 * each op to a thin handler, enrolments.c holds the request and its eligibility rules,
 * transitions.c the life cycle after it, contributions.c the money and the arrears check,
 * projection.c the persons and businesses learnt from the registry's events, and records.c
 * what they share (loading, saving, indexes, the event every change emits).
 *
 * Domain functions follow the skeleton's convention: 0 with *out a new reference, or -1 with
 * the error in ctx (hy_fail/hy_fail_mdb); "200 with" / "201 with" below name the status the op's
 * row answers on success. They know nothing of HTTP or sockets.
 *
 * Every insurance event is an enrolment event carrying only what the fund needs, so the outbox
 * itself is the fund's feed (GET /v1/feeds/enrolments reads it; the PUB socket publishes it).
 */
#ifndef INSURANCE_H
#define INSURANCE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persons.h"
#include "service.h"

/* The service's state: its database handles, opened once by insurance_open. */
typedef struct {
    MDB_dbi meta;           /* counters: "enrolment" */
    MDB_dbi enrolments;     /* enrolment number -> enrolment JSON */
    MDB_dbi enrolment_idx;  /* "p:"person number (8 bytes), "s:"status, "o:"office,
                               "i:"insurance number -> enrolment number */
    MDB_dbi businesses;     /* projection: business number -> {id, owner_id, field, stage} */
    hy_persons_t persons;   /* the registry's persons (shared/persons.h); a merged person's
                               record is kept with "merged_into" (merge.c) */
} insurance_t;

extern const hy_api_t insurance_api;
extern const hy_service_def_t insurance_def;

/* The handlers of insurance_api.c's rows that are not a domain function (handlers.c). */
hy_handler_t insurance_h_get, insurance_h_list, insurance_h_feed;

/* The states of an enrolment (see transitions.c for who moves it where). */
#define INS_REQUESTED "requested"
#define INS_APPROVED  "approved"
#define INS_SUBMITTED "submitted"
#define INS_CONFIRMED "confirmed"
#define INS_SUSPENDED "suspended"
#define INS_CANCELLED "cancelled"
#define INS_REFUSED   "refused"

/* Configuration read from the environment (defaults in brackets): HY_INSURANCE_MIN_AGE [18],
 * HY_INSURANCE_MAX_AGE [50] (full years at the start date by the Solar Hijri calendar, both
 * inclusive), HY_INSURANCE_SUSPEND_MONTHS [3] (Jalali months overdue beyond which check-arrears
 * suspends), HY_INSURANCE_BACKDATE_MONTHS [3] (a start date may be as early as the first day of
 * the request's Jalali month less this many months) and HY_INSURANCE_AHEAD_MONTHS [3] (and as
 * late as today plus this many Jalali months). */
int insurance_min_age(void);
int insurance_max_age(void);
int insurance_suspend_months(void);
int insurance_backdate_months(void);
int insurance_ahead_months(void);

/* --- enrolments (enrolments.c) --------------------------------------------------------------- */
/* Requests an enrolment after every eligibility rule: 201 with the enrolment; 422
 * unknown_person, person_merged, unknown_business, business_not_owned, invalid_national_id,
 * field_mismatch, age_out_of_range, already_enrolled; 403 other_office (another office's
 * person); HY_PARKED while the registry's events that would decide it have not arrived yet. */
int insurance_enrolment_create(hy_ctx_t *ctx, json_t *args, json_t **out);
/* The start-date window and every eligibility rule for args {person_id, business_id, field,
 * start_date}: 0 with *person (new reference), HY_PARKED, or the failure status (as create). */
int insurance_enrolment_judge(hy_ctx_t *ctx, const json_t *args, json_t **person);
/* Corrects an enrolment's business_id, field or start_date (args, with reason) while it is
 * requested or approved (409 wrong_state once handed to the fund: the fund's own correction
 * process applies then), under the rules of a request: 200 with the enrolment;
 * insurance.enrolment.corrected carries the fund's fields after, "before" {business_id, field,
 * start_date, start_date_jalali} and the reason. 403 other_office; 422 as create. */
int insurance_enrolment_correct(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);
/* 200 with the enrolment (and its arrears as of today), or 404 not_found. */
int insurance_enrolment_get(hy_ctx_t *ctx, const char *id, json_t **out);
/* The fund's view: the same, for an enrolment that has been handed to the fund (403
 * not_submitted otherwise), without the API keys of the staff who acted on it. */
int insurance_enrolment_get_for_fund(hy_ctx_t *ctx, const char *id, json_t **out);

typedef struct {
    const char *person_id;
    const char *status;
    const char *office;
    uint64_t after;         /* page cursor: the last enrolment number already seen */
    int limit;
    bool fund_view;         /* the fund's list: only what was handed to it, no staff keys */
} insurance_filter_t;
/* Lists enrolments matching every given filter in id order; *items a new array, *next the
 * cursor of the next page or 0. 200, or an error status. */
int insurance_enrolment_list(hy_ctx_t *ctx, const insurance_filter_t *f, json_t **items,
                             uint64_t *next);

/* --- life cycle (transitions.c) ------------------------------------------------------------ */
/* Each returns 200 with the enrolment, 404 not_found, or 409 wrong_state when the enrolment is
 * not in a state the transition applies to. */
int insurance_enrolment_approve(hy_ctx_t *ctx, const char *id, json_t **out);
int insurance_enrolment_submit(hy_ctx_t *ctx, const char *id, json_t **out);
/* Idempotent: the same number again is 200 with nothing changed; another number is 409
 * wrong_state; a number the fund gave another person is 409 duplicate_insurance_number. */
int insurance_enrolment_confirm(hy_ctx_t *ctx, const char *id, const char *number, json_t **out);
int insurance_enrolment_suspend(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out);
/* 422 contributions_overdue while the arrears that justify suspension are still unpaid. */
int insurance_enrolment_reinstate(hy_ctx_t *ctx, const char *id, json_t **out);
int insurance_enrolment_cancel(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out);
/* The fund refuses a submitted enrolment (final). The same reason_code again is 200 with
 * nothing changed (the fund's consumer may deliver it twice); another is 409 wrong_state.
 * detail may be NULL. */
int insurance_enrolment_refuse(hy_ctx_t *ctx, const char *id, const char *reason_code,
                               const char *detail, json_t **out);

/* --- contributions (contributions.c) ------------------------------------------------------- */
/* Records one Jalali month's contribution (month_jalali, or the older Gregorian month): 201
 * with the enrolment; 400 missing_field; 422 contribution_mismatch, invalid_month,
 * future_date; 409 duplicate_contribution, wrong_state. */
int insurance_contribution_record(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);
/* Adds month_jalali to the contributions recorded before Jalali months were stored (they have
 * only the Gregorian month), so every reader sees both forms. */
void insurance_contributions_fill(json_t *enrolment);
/* Jalali months of contributions overdue on as_of ("YYYY-MM-DD") for an enrolment record. */
int insurance_months_overdue(const json_t *enrolment, const char *as_of);
/* Suspends every confirmed enrolment more than insurance_suspend_months() overdue on as_of
 * (NULL = today). 200 with {"as_of", "checked", "suspended":[ids]}. */
int insurance_check_arrears(hy_ctx_t *ctx, const char *as_of, json_t **out);

/* --- the registry's persons and businesses (projection.c) ----------------------------------- */
/* Applies one registry event to the projection (the skeleton advances the cursor). */
int insurance_apply(hy_ctx_t *ctx, const char *source, json_t *event);
/* Empties the projection for --rebuild. */
int insurance_reset(void *state, MDB_txn *txn);
/* Start-up: a store written before the shared person projection kept its persons in
 * "insurance.persons"; they are moved into the shared one (same keys, the fields insurance
 * kept) once, so an upgrade needs no --rebuild. 0 or an LMDB error. */
int insurance_migrate_persons(hy_store_t *store, insurance_t *st);
/* Loads a projected person or business by id. 0, MDB_NOTFOUND (also for a malformed id), or an
 * LMDB error; *out a new reference. The person is the shared projection's record. */
int insurance_person_load(hy_ctx_t *ctx, const char *id, json_t **out);
int insurance_business_load(hy_ctx_t *ctx, const char *id, json_t **out);

/* --- corrections and merges (contributions.c, merge.c) ------------------------------------- */
/* Voids one month's contribution recorded by mistake (args: month_jalali or month, reason): the
 * entry stays with voided:true, voided_by, voided_at, void_reason and counts nowhere (the month
 * is unpaid again and may be paid again); insurance.enrolment.contribution_voided carries it to
 * the fund. A money reversal: the voiding key must not be the one that recorded it (422
 * same_approver). 200 with the enrolment; 404 not_found (no such month); 409 voided; 403
 * other_office. */
int insurance_contribution_void(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out);
/* Applies registry.person.merged {id, into, date} inside the follow transaction: every
 * enrolment of id belongs to into (insurance.enrolment.person_merged, with the survivor's
 * details); when into then has two active enrolments, the less advanced is cancelled
 * (insurance.enrolment.cancelled). 0 or an LMDB error. */
int insurance_merge_apply(hy_ctx_t *ctx, const json_t *data);
/* Applies registry.person.transferred {id, to_office, date, ...}: each of her enrolments moves
 * to her new office (insurance.enrolment.transferred {from_office, date}). 0 or an LMDB error. */
int insurance_transfer_apply(hy_ctx_t *ctx, const json_t *data);

/* --- shared by the domain files (records.c) ------------------------------------------------ */
insurance_t *insurance_state(hy_ctx_t *ctx);

/* true when the caller is the insurance fund (national: not confined to an office). */
bool insurance_is_fund(const hy_ctx_t *ctx);
/* Loads an enrolment the caller may change: 404 not_found, or 403 other_office when it belongs
 * to another office than the caller's key (the fund and the province are not confined). */
int insurance_load_writable(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **enrolment);

/* Loads an enrolment or answers 404 not_found (also for a malformed id). Returns 0 with *n and
 * *enrolment set, or the failure status. */
int insurance_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **enrolment);
/* Index key "<tag>:<text>", or "<tag>:" and the 8-byte big-endian num when text is NULL, into
 * out; returns its length, or 0 when it does not fit (such a key is never indexed). */
#define INSURANCE_KEY_MAX 80
size_t insurance_index_key(char tag, const char *text, uint64_t num, char *out, size_t outsz);
/* Index entries of an enrolment: person, status, office, insurance number. Put or delete all. */
int insurance_index(hy_ctx_t *ctx, uint64_t n, const json_t *enrolment, bool put);
/* Writes a changed enrolment (old = its previous version, NULL for a new one): record, index
 * entries, updated_at, and the event "insurance.enrolment.<verb>" with the fund's fields plus
 * extra (borrowed, may be NULL). Returns 0 or the failure status. */
int insurance_save(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *enrolment,
                   const char *verb, const json_t *extra);
/* Moves an enrolment to status and appends {status, date, reason?, created_by} to its history. */
void insurance_set_status(hy_ctx_t *ctx, json_t *enrolment, const char *status,
                          const char *reason);
/* The 409 wrong_state answer for a transition that does not apply to the current status. */
int insurance_wrong_state(hy_ctx_t *ctx, const json_t *enrolment, const char *action);

#endif
