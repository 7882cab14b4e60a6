/*
 * corrections.c — voiding a meeting recorded by mistake, under maker-checker (shared/correct.h
 * keeps the bookkeeping; Fineract's maker-checker and DHIS2's event delete with audit are the
 * models).
 *
 * A meeting is money (savings, social fund, fines, grants), so voiding it takes two keys: one
 * asks (POST /v1/funds/{id}/meetings/{date}/void {reason}: 202, the meeting carries
 * void_request {reason, requested_by, requested_at}, nothing else changes), another approves
 * (POST .../void/approve; 422 same_approver for the key that asked) or either turns it down
 * (POST .../void/reject {reason}). On approval every line of the meeting leaves the books: each
 * saver's shares and savings, the cycle's shares and meeting count, the ledger's savings,
 * social fund, fines and grants (a grant returns to the social fund). The meeting stays readable
 * with voided:true, voided_by, voided_at and void_reason, and counts nowhere (cash, passbooks,
 * share-out). A correction of a meeting's entries is a void and the meeting recorded again on
 * its date, under the same rules as any meeting; the new record keeps the voided one in
 * "replaces".
 *
 * Refused: a meeting of a cycle no longer open (422 cycle_closed, as for recording), one whose
 * money has been lent out or paid since so that the box, the social fund or a member's savings
 * would go below zero (409 insufficient_cash), one voided already (409 voided), a second request
 * while one waits (409 void_pending), an approval with no request (409 no_void_request).
 *
 * Events: microfund.meeting_void_requested {date, number, reason, requested_by},
 * microfund.meeting_void_rejected {date, number, reason}, microfund.meeting_voided {id, date,
 * number, before, reason, voided_by, voided_at, requested_by}.
 */
#include <string.h>

#include "checker.h"
#include "correct.h"
#include "microfund.h"

/* The key of the request, "" when none. */
static const char *s_me(hy_ctx_t *ctx)
{
    return ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
}

/* Opens the fund and loads its meeting of date: 0, or the failure status (all closed then).
 * A voided meeting is 409 voided. */
static int s_load(hy_ctx_t *ctx, const char *id, const char *date, mf_fund_t *fund,
                  uint8_t key[18], json_t **meeting)
{
    *meeting = NULL;
    int status = microfund_fund_open(ctx, id, fund);
    if (status)
        return status;
    int rc = MDB_NOTFOUND;
    hy_key_u64(fund->n, key);
    if (date && strlen(date) == 10) {
        memcpy(key + 8, date, 10);
        rc = hy_store_get_json(ctx->txn, microfund_state(ctx)->meetings, key, 18, meeting);
    }
    if (rc == MDB_NOTFOUND)
        status = hy_fail(ctx, 404, "not_found", "date", "%s has no meeting on %s", id,
                         date ? date : "");
    else if (rc)
        status = hy_fail_mdb(ctx, rc);
    else
        status = hy_correct_check_live(ctx, *meeting, "meeting");
    if (status) {
        json_decref(*meeting);
        *meeting = NULL;
        microfund_fund_close(fund);
    }
    return status;
}

static int s_put(hy_ctx_t *ctx, const uint8_t key[18], const json_t *meeting)
{
    int rc = hy_store_put_json(ctx->txn, microfund_state(ctx)->meetings, key, 18, meeting);
    return hy_mdb_status(ctx, rc);
}

/* The event data every step shares: the meeting's date and number, plus extra (stolen). */
static json_t *s_data(const json_t *meeting, json_t *extra)
{
    if (!extra)
        return NULL;
    json_object_set(extra, "date", json_object_get(meeting, "date"));
    json_object_set(extra, "number", json_object_get(meeting, "number"));
    return extra;
}

int microfund_meeting_void(hy_ctx_t *ctx, const char *id, const char *date, const char *reason,
                           json_t **out)
{
    mf_fund_t fund;
    uint8_t key[18];
    json_t *meeting = NULL;
    int status = s_load(ctx, id, date, &fund, key, &meeting);
    if (status)
        return status;
    if ((status = microfund_cycle_open(ctx, &fund)) == 0 &&
        (status = hy_checker_request(ctx, meeting, reason, "date")) == 0) {
        if ((status = s_put(ctx, key, meeting)) == 0)
            status = microfund_emit(ctx, &fund, "microfund.meeting_void_requested", NULL,
                                    s_data(meeting, json_pack("{s:s,s:s}", "reason",
                                                              reason ? reason : "",
                                                              "requested_by", s_me(ctx))));
    }
    if (!status)
        *out = json_incref(meeting);
    json_decref(meeting);
    microfund_fund_close(&fund);
    return status ? status : 0;
}

int microfund_meeting_void_reject(hy_ctx_t *ctx, const char *id, const char *date,
                                  const char *reason, json_t **out)
{
    mf_fund_t fund;
    uint8_t key[18];
    json_t *meeting = NULL;
    int status = s_load(ctx, id, date, &fund, key, &meeting);
    if (status)
        return status;
    if ((status = hy_checker_reject(ctx, meeting, "date")) == 0) {
        if ((status = s_put(ctx, key, meeting)) == 0)
            status = microfund_emit(ctx, &fund, "microfund.meeting_void_rejected", NULL,
                                    s_data(meeting, json_pack("{s:s}", "reason",
                                                              reason ? reason : "")));
    }
    if (!status)
        *out = json_incref(meeting);
    json_decref(meeting);
    microfund_fund_close(&fund);
    return status ? status : 0;
}

/* Takes every line of meeting off the books of fund (see the top of the file). */
static int s_reverse(hy_ctx_t *ctx, mf_fund_t *fund, const json_t *meeting)
{
    json_t *cycle = json_object_get(fund->rec, "cycle");
    int status = microfund_cycle_open(ctx, fund);
    if (!status && microfund_int(meeting, "cycle") != microfund_int(cycle, "number"))
        status = hy_fail(ctx, 422, "cycle_closed", "date",
                         "the meeting belongs to cycle %lld, which is over",
                         (long long)microfund_int(meeting, "cycle"));
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(meeting, "savings"), i, line) {
        json_t *m = microfund_member(fund->rec,
                                     json_string_value(json_object_get(line, "person_id")));
        int64_t shares = microfund_int(line, "shares"), amount = microfund_int(line, "amount_rials");
        if (!status && (!m || microfund_int(m, "savings_rials") < amount))
            status = hy_fail(ctx, 409, "insufficient_cash", "date",
                             "the savings of this meeting have been paid out since");
        if (status || (status = microfund_add(ctx, m, "shares", -shares)) != 0 ||
            (status = microfund_add(ctx, m, "savings_rials", -amount)) != 0 ||
            (status = microfund_add(ctx, cycle, "shares", -shares)) != 0 ||
            (status = microfund_book(ctx, fund->rec, "savings_rials", -amount)) != 0)
            return status;
    }
    static const struct {
        const char *list, *key;
    } money[] = {{"social_fund", "social_fund_in_rials"},
                 {"fines", "fines_rials"},
                 {"grants", "grants_rials"}};
    for (size_t k = 0; k < sizeof money / sizeof money[0]; k++)
        json_array_foreach(json_object_get(meeting, money[k].list), i, line) {
            if (status || (status = microfund_book(ctx, fund->rec, money[k].key,
                                                   -microfund_int(line, "amount_rials"))) != 0)
                return status;
        }
    if (status || (status = microfund_add(ctx, cycle, "meetings", -1)) != 0)
        return status;
    mf_cash_t cash;
    microfund_cash(fund->rec, &cash);
    if (cash.box < 0 || cash.social < 0 || cash.loan_cash < 0)
        return hy_fail(ctx, 409, "insufficient_cash", "date",
                       "the money of this meeting has been lent or paid out since: voiding it "
                       "would leave the fund %lld rials short",
                       (long long)-(cash.box < 0 ? cash.box
                                    : cash.social < 0 ? cash.social
                                                      : cash.loan_cash));
    return 0;
}

int microfund_meeting_void_approve(hy_ctx_t *ctx, const char *id, const char *date,
                                   json_t **out)
{
    mf_fund_t fund;
    uint8_t key[18];
    json_t *meeting = NULL, *data = NULL;
    int status = s_load(ctx, id, date, &fund, key, &meeting);
    if (status)
        return status;
    const json_t *req = json_object_get(meeting, "void_request");
    status = hy_checker_approve(ctx, meeting, "date");
    json_t *requested_by = json_incref(json_object_get(req, "requested_by"));
    if (!status && (status = s_reverse(ctx, &fund, meeting)) == 0) {
        json_object_set_new(meeting, "id", json_string(fund.id));   /* the event names the fund */
        status = hy_correct_void(ctx, meeting, json_string_value(json_object_get(req, "reason")),
                                 &data);
        json_object_del(meeting, "id");
        json_object_del(json_object_get(data, "before"), "id");
    }
    if (!status && (status = s_put(ctx, key, meeting)) == 0 &&
        (status = microfund_fund_save(ctx, &fund)) == 0) {
        json_object_set(data, "requested_by", requested_by);
        status = microfund_emit(ctx, &fund, "microfund.meeting_voided", NULL,
                                s_data(meeting, json_incref(data)));
    }
    if (!status) {
        *out = json_incref(meeting);
        json_object_set_new(*out, "cash", microfund_cash_json(fund.rec));
    }
    json_decref(requested_by);
    json_decref(data);
    json_decref(meeting);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
