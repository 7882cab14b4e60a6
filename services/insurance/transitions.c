/*
 * transitions.c — the life cycle of an enrolment after its request.
 *
 *   status      meaning                                   moves to (op, who)
 *   requested   eligible, waiting for social services     approved (approve, social_services)
 *   approved    social services agreed                    submitted (submit, social_services)
 *   submitted   handed to the fund                        confirmed (confirm, insurance_fund)
 *                                                         refused (refuse, insurance_fund)
 *   confirmed   insured, with the fund's number           suspended (suspend, social_services;
 *                                                         check-arrears, operator)
 *   suspended   contributions overdue, or suspended       confirmed (reinstate, social_services,
 *               by hand                                   once no longer in arrears)
 *   cancelled   final                                     -
 *   refused     final: the fund said no (its reason_code  -
 *               and detail kept in "refusal")
 * Any status but cancelled and refused may be cancelled (cancel, social_services). Every other
 * move is refused with 409 wrong_state and changes nothing. Each move appends to the
 * enrolment's history and emits insurance.enrolment.<verb> (approved, submitted, confirmed,
 * refused, suspended, reinstated, cancelled). A refused or cancelled enrolment does not stop
 * the person from being enrolled again (once the documents are complete, say).
 *
 * Confirmation is idempotent because the fund's consumer may deliver it twice: confirming again
 * with the number already recorded answers 200 and changes nothing (no event); another number
 * is 409 wrong_state. A number the fund gave a different person is 409
 * duplicate_insurance_number; the same person enrolling again may keep theirs. Numbers are
 * kept with their digits in ASCII (Persian and Arabic-Indic digits converted, ends trimmed), so
 * "۱۲۳۴۵۶" and "123456" are one number. A refusal is idempotent the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "insurance.h"

static bool s_is(const json_t *enrolment, const char *status)
{
    const char *have = json_string_value(json_object_get(enrolment, "status"));
    return have && strcmp(have, status) == 0;
}

/* Writes the move of a loaded enrolment (old, released here) to `to`: history, the fund's
 * number when number is given, the record and insurance.enrolment.<verb>. 200 with *out. */
static int s_write(hy_ctx_t *ctx, uint64_t n, json_t *old, const char *to, const char *verb,
                   const char *reason, const char *number, json_t **out)
{
    json_t *rec = json_deep_copy(old);
    int status = rec ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    if (rec && number) {
        json_object_set_new(rec, "insurance_number", json_string(number));
        json_object_set_new(rec, "confirmed_date", json_string(ctx->today));
    }
    if (rec)
        insurance_set_status(ctx, rec, to, reason);
    if (status == 0 && (status = insurance_save(ctx, n, old, rec, verb, NULL)) == 0) {
        *out = rec;
        rec = NULL;
        status = 0;
    }
    json_decref(old);
    json_decref(rec);
    return status;
}

/* Moves enrolment id from status `from` (NULL = any but cancelled or refused) to `to`, emitting
 * insurance.enrolment.<verb>. action is the phrase for a refusal ("approved"). */
static int s_move(hy_ctx_t *ctx, const char *id, const char *from, const char *to,
                  const char *verb, const char *action, const char *reason, json_t **out)
{
    json_t *old = NULL;
    uint64_t n;
    int status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        return status;
    if (from ? !s_is(old, from) : (s_is(old, INS_CANCELLED) || s_is(old, INS_REFUSED))) {
        status = insurance_wrong_state(ctx, old, action);
        json_decref(old);
        return status;
    }
    return s_write(ctx, n, old, to, verb, reason, NULL, out);
}

int insurance_enrolment_approve(hy_ctx_t *ctx, const char *id, json_t **out)
{
    return s_move(ctx, id, INS_REQUESTED, INS_APPROVED, "approved", "approved", NULL, out);
}

int insurance_enrolment_submit(hy_ctx_t *ctx, const char *id, json_t **out)
{
    return s_move(ctx, id, INS_APPROVED, INS_SUBMITTED, "submitted", "handed to the fund", NULL,
                  out);
}

int insurance_enrolment_suspend(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out)
{
    return s_move(ctx, id, INS_CONFIRMED, INS_SUSPENDED, "suspended", "suspended", reason, out);
}

int insurance_enrolment_cancel(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out)
{
    return s_move(ctx, id, NULL, INS_CANCELLED, "cancelled", "cancelled again", reason, out);
}

int insurance_enrolment_reinstate(hy_ctx_t *ctx, const char *id, json_t **out)
{
    json_t *rec = NULL;
    uint64_t n;
    int status = insurance_load_writable(ctx, id, &n, &rec);
    if (status)
        return status;
    int overdue = s_is(rec, INS_SUSPENDED) ? insurance_months_overdue(rec, ctx->today) : 0;
    int limit = insurance_suspend_months();
    json_decref(rec);
    if (overdue > limit) {
        hy_fail(ctx, 422, "contributions_overdue", "id",
                "contributions are %d months overdue (at most %d allowed); record them first",
                overdue, limit);
        hy_fail_extra(ctx, "months_overdue", json_integer(overdue));
        return -1;
    }
    return s_move(ctx, id, INS_SUSPENDED, INS_CONFIRMED, "reinstated", "reinstated", NULL, out);
}

/* 409 duplicate_insurance_number when another person's enrolment holds number. */
static int s_number_free(hy_ctx_t *ctx, const json_t *enrolment, const char *number)
{
    insurance_t *st = insurance_state(ctx);
    char key[INSURANCE_KEY_MAX];
    size_t klen = insurance_index_key('i', number, 0, key, sizeof key);
    uint64_t other;
    json_t *rec = NULL;
    int rc = klen ? hy_index_first(ctx->txn, st->enrolment_idx, key, klen, &other) : MDB_NOTFOUND;
    if (rc == 0)
        rc = hy_store_get_id(ctx->txn, st->enrolments, other, &rec);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return hy_fail_mdb(ctx, rc);
    bool same = json_equal(json_object_get(rec, "person_id"),
                           json_object_get(enrolment, "person_id"));
    json_t *holder = json_incref(json_object_get(rec, "id"));
    json_decref(rec);
    if (same) {
        json_decref(holder);
        return 0;
    }
    hy_fail(ctx, 409, "duplicate_insurance_number", "insurance_number",
            "insurance number %s was given to another person's enrolment", number);
    hy_fail_extra(ctx, "existing_id", holder);
    return -1;
}

int insurance_enrolment_confirm(hy_ctx_t *ctx, const char *id, const char *raw, json_t **out)
{
    json_t *old = NULL;
    uint64_t n;
    char *number = hy_fa_ascii_digits(raw ? raw : "");
    if (!number || !*number) {
        free(number);
        return hy_fail(ctx, 422, "invalid_insurance_number", "insurance_number",
                       "the insurance number is empty");
    }
    int status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        goto done;
    const char *have = json_string_value(json_object_get(old, "insurance_number"));
    if (have && strcmp(have, number) == 0) {
        *out = old;   /* the same confirmation again: nothing changes */
        status = 0;
        goto done;
    }
    if (have || !s_is(old, INS_SUBMITTED))
        status = insurance_wrong_state(ctx, old, have ? "confirmed with another number"
                                                      : "confirmed");
    else
        status = s_number_free(ctx, old, number);
    if (status) {
        json_decref(old);
        goto done;
    }
    status = s_write(ctx, n, old, INS_CONFIRMED, "confirmed", NULL, number, out);
done:
    free(number);
    return status;
}

int insurance_enrolment_refuse(hy_ctx_t *ctx, const char *id, const char *reason_code,
                               const char *detail, json_t **out)
{
    json_t *old = NULL;
    uint64_t n;
    int status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        return status;
    const char *had = json_string_value(
        json_object_get(json_object_get(old, "refusal"), "reason_code"));
    if (s_is(old, INS_REFUSED) && had && strcmp(had, reason_code) == 0) {
        *out = old;   /* the same refusal again: nothing changes */
        return 0;
    }
    if (!s_is(old, INS_SUBMITTED)) {
        status = insurance_wrong_state(ctx, old, had ? "refused for another reason" : "refused");
        json_decref(old);
        return status;
    }
    json_t *refusal = json_pack("{s:s}", "reason_code", reason_code);
    if (refusal && detail && *detail)
        json_object_set_new(refusal, "detail", json_string(detail));
    json_t *rec = refusal ? json_deep_copy(old) : NULL;
    if (!rec) {
        json_decref(refusal);
        json_decref(old);
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    json_object_set_new(rec, "refusal", refusal);
    json_decref(old);
    char reason[600];
    snprintf(reason, sizeof reason, "%s%s%s", reason_code, detail && *detail ? ": " : "",
             detail && *detail ? detail : "");
    /* s_write releases its `old`: rec is both the base and the new version here */
    return s_write(ctx, n, rec, INS_REFUSED, "refused", reason, NULL, out);
}
