/*
 * correct.h — voiding and correcting a recorded fact, the same way in every service.
 *
 * A fact recorded by mistake is voided: it stays readable with voided:true, who voided it,
 * when and why, and counts nowhere afterwards. A fact whose details were wrong is corrected:
 * the record is replaced and the event carries the whole record before and after, so every
 * follower (reporting, other services' projections) undoes the old version and applies the
 * new one, and the audit trail (GET /v1/audit?entity=) shows both. DHIS2's event edit/delete
 * with audit and Fineract's undo are the models; nothing is ever deleted.
 *
 * Who may: the office that recorded the fact (a key of that office or of the province) or an
 * operator. The caller decides what is correctable; these functions keep the bookkeeping
 * (the record's voided_* and corrected_* members and the event data) identical everywhere.
 *
 *   event data of <service>.<entity>.voided:    {id, before, reason, voided_by, voided_at}
 *   event data of <service>.<entity>.corrected: {id, before, after, reason}
 */
#ifndef HY_CORRECT_H
#define HY_CORRECT_H

#include <jansson.h>
#include <stdbool.h>

#include "service.h"

/* 0 when the caller may void or correct a record of record_office (its office, the province,
 * an office-less key or an operator), else the status of a 403 other_office (via hy_fail). */
int hy_correct_allowed(hy_ctx_t *ctx, const char *record_office);

/* true when rec has been voided. */
bool hy_correct_is_voided(const json_t *rec);

/* 0 when rec is live, else the status of a 409 voided naming what ("activity"): a voided fact is
 * neither corrected nor voided again. */
int hy_correct_check_live(hy_ctx_t *ctx, const json_t *rec, const char *what);

/* Voids rec in place: voided:true, voided_by (the caller's key id), voided_at (now), void_reason.
 * *data gets the event data (new reference) with the record as it was before. Returns 0, or the
 * status of a 409 voided when rec is voided already. */
int hy_correct_void(hy_ctx_t *ctx, json_t *rec, const char *reason, json_t **data);

/* Maker-checker for a money reversal (as loan approval): 0 unless the caller's key is the one
 * that recorded rec (its created_by), else the status of a 422 same_approver naming what
 * ("contribution"). */
int hy_correct_check_checker(hy_ctx_t *ctx, const json_t *rec, const char *what);

/* Stamps after as corrected (corrected_by, corrected_at, correction_reason) and returns the event
 * data (new reference) for before -> after. */
json_t *hy_correct_data(hy_ctx_t *ctx, const json_t *before, json_t *after, const char *reason);

#endif
