/*
 * insurance_api.c — the insurance service's operations as data: routes, roles, argument and
 * result shapes.
 *
 * The skeleton checks every request against these tables before a handler runs, and the gateway
 * builds its routes and /v1/openapi.json from them, so this file is the enrolment contract the
 * fund integrates against. Rules that need the store or the clock (eligibility, the life cycle,
 * contributions that add up) are the domain files' business.
 *
 * Error codes (problem+json `code`, with `field` where one field is at fault):
 *   enrolments.create      422 unknown_person, unknown_business, business_not_owned,
 *                              invalid_national_id, field_mismatch, age_out_of_range (full
 *                              years at the start date by the Solar Hijri calendar),
 *                              already_enrolled (+existing_id), start_date_out_of_range
 *                              (+earliest, latest: from the first day of the request's Jalali
 *                              month less HY_INSURANCE_BACKDATE_MONTHS [3], to today plus
 *                              HY_INSURANCE_AHEAD_MONTHS [3] Jalali months);
 *                              person_merged (+merged_into: the registry merged that
 *                              record into another; name the survivor);
 *                          403 other_office (another office's person; the office is the key's)
 *   every route of one enrolment but confirm/refuse (the fund's) and reads by the fund:
 *                          403 other_office when the enrolment is another office's (a
 *                              province key '*' and operators are not confined)
 *   enrolments.list        403 other_office (an office key asking for another office)
 *   enrolments.get         404 not_found; 403 not_submitted (the fund reads only the
 *                              enrolments handed to it)
 *   approve/submit/suspend/cancel/reinstate
 *                          404 not_found; 409 wrong_state (+current_status);
 *                          reinstate: 422 contributions_overdue (+months_overdue)
 *   enrolments.confirm     409 wrong_state, duplicate_insurance_number (+existing_id: numbers
 *                              compare after digits of any script become ASCII);
 *                          422 invalid_insurance_number (no character left once trimmed)
 *   enrolments.refuse      409 wrong_state (only a submitted enrolment; the same refusal again
 *                              is 200 and changes nothing)
 *   enrolments.contribute  400 missing_field (neither month_jalali nor month);
 *                          422 invalid_month (malformed, before the start month, more than 12
 *                              months ahead, or month and month_jalali disagree),
 *                              contribution_mismatch, future_date;
 *                          409 duplicate_contribution, wrong_state
 *                              (paid_date after today), before_programme_start (paid_date
 *                              before HY_PROGRAMME_START)
 *   enrolments.void_contribution
 *                          400 missing_field (reason; neither month_jalali nor month);
 *                          404 not_found (no contribution for that month); 409 voided;
 *                          422 same_approver (maker-checker: the key that recorded it cannot
 *                              void it)
 *   enrolments.correct     400 missing_field (reason); 409 wrong_state (submitted or later);
 *                          422 as enrolments.create for the corrected values; 403 other_office
 *   check_arrears          422 future_date
 */
#include <stdint.h>

#include "insurance.h"
#include "proto.h"
#include "spec.h"

#define WRITE HY_ROLE_SOCIAL_SERVICES
#define READ  HY_ROLE_READERS
#define FUND  HY_ROLE_INSURANCE_FUND
#define FUND_READ (HY_ROLE_READERS | HY_ROLE_INSURANCE_FUND)
#define FEED  (HY_ROLE_INSURANCE_FUND | HY_ROLE_OPERATOR)

#define FIELDS   "agriculture|industry|handicrafts|services"
#define STATUSES "requested|approved|submitted|confirmed|suspended|cancelled|refused"
#define REFUSALS "already_insured|documents_incomplete|not_eligible|duplicate_request|other"

/* ---------------------------------------------------------------- arguments -------------- */

static const hy_field_t create_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the worker to insure (prs_...), as registered in the registry"},
    {.name = "business_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the worker's own registered home business (bus_...)"},
    {.name = "field", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = FIELDS,
     .doc = "insurance field; must be the business's field"},
    {.name = "start_date", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "when cover starts (or start_date_jalali); the age limits apply on this date, by "
            "the Solar Hijri calendar; from the first day of this Jalali month less "
            "HY_INSURANCE_BACKDATE_MONTHS (3) to 3 months ahead"},
    {0},
};

static const hy_field_t list_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "the insured (prs_...)"},
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = STATUSES,
     .doc = "current status"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "the person's office"},
    {0},
};

static const hy_field_t confirm_args[] = {
    {.name = "insurance_number", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 32,
     .doc = "the number the fund gave the insured; confirming again with it changes nothing"},
    {0},
};

static const hy_field_t contribution_args[] = {
    {.name = "month_jalali", .type = HY_T_STRING, .max_len = 32,
     .doc = "the Solar Hijri month paid for, YYYY/MM (the fund bills by it); not before the "
            "start date's Jalali month, at most 12 months ahead"},
    {.name = "month", .type = HY_T_STRING, .max_len = 7,
     .doc = "older form: a Gregorian month YYYY-MM, meaning the Jalali month its first day "
            "falls in (2025-01 is 1403/10); one of month_jalali and month is required"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = INT64_MAX,
     .doc = "the month's whole contribution, rials"},
    {.name = "subsidy_rials", .type = HY_T_MONEY, .flags = HY_F_REQ,
     .doc = "the programme's subsidised share, rials"},
    {.name = "person_rials", .type = HY_T_MONEY, .flags = HY_F_REQ,
     .doc = "the insured's own share, rials; subsidy + person must equal amount"},
    {.name = "paid_date", .type = HY_T_DATE, .doc = "when it was paid; defaults to today"},
    {0},
};

static const hy_field_t reason_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why, in a sentence"},
    {0},
};

static const hy_field_t void_contribution_args[] = {
    {.name = "month_jalali", .type = HY_T_STRING, .max_len = 32,
     .doc = "the Solar Hijri month whose contribution was recorded by mistake, YYYY/MM"},
    {.name = "month", .type = HY_T_STRING, .max_len = 7,
     .doc = "older form: the Gregorian month YYYY-MM; one of month_jalali and month is required"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why it is voided (kept on the entry, in the event and the audit)"},
    {0},
};

static const hy_field_t correct_args[] = {
    {.name = "business_id", .type = HY_T_ID, .doc = "the worker's own registered home business"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "insurance field"},
    {.name = "start_date", .type = HY_T_DATE,
     .doc = "when cover starts (or start_date_jalali), in the window of a request"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the recorded details were wrong (kept, and in the event)"},
    {0},
};

static const hy_field_t refuse_args[] = {
    {.name = "reason_code", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = REFUSALS,
     .doc = "why the fund refuses: already insured elsewhere, documents incomplete, not "
            "eligible under the fund's rules, a duplicate request, or other (say in detail)"},
    {.name = "detail", .type = HY_T_STRING, .max_len = 500, .doc = "the fund's words"},
    {0},
};

static const hy_field_t arrears_args[] = {
    {.name = "as_of", .type = HY_T_DATE, .doc = "the date to judge arrears on; defaults to today"},
    {0},
};

static const hy_field_t feed_args[] = {
    {.name = "after", .type = HY_T_INT, .min = 0, .max = INT64_MAX,
     .doc = "the last sequence already received (0 = from the start)"},
    {.name = "limit", .type = HY_T_INT, .min = 1, .max = 1000,
     .doc = "at most this many events (default 100)"},
    {.name = "wait", .type = HY_T_INT, .min = 0, .max = 60,
     .doc = "long poll: seconds the gateway may wait for the first event when there is none"},
    {0},
};

/* ------------------------------------------------------------------ results -------------- */

static const hy_field_t contribution_result[] = {
    {.name = "month_jalali", .type = HY_T_STRING, .doc = "Solar Hijri month paid for, YYYY/MM"},
    {.name = "month", .type = HY_T_STRING,
     .doc = "the Gregorian month whose first day falls in that Jalali month, YYYY-MM"},
    {.name = "amount_rials", .type = HY_T_MONEY, .doc = "whole contribution"},
    {.name = "subsidy_rials", .type = HY_T_MONEY, .doc = "programme's share"},
    {.name = "person_rials", .type = HY_T_MONEY, .doc = "insured's share"},
    {.name = "paid_date", .type = HY_T_DATE, .doc = "when it was paid"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that recorded it"},
    {.name = "voided", .type = HY_T_BOOL,
     .doc = "true once voided: it counts nowhere (the month is unpaid again)"},
    {.name = "voided_by", .type = HY_T_STRING, .doc = "API key that voided it"},
    {.name = "voided_at", .type = HY_T_STRING, .doc = "UTC timestamp of the void"},
    {.name = "void_reason", .type = HY_T_STRING, .doc = "why it was voided"},
    {0},
};

static const hy_field_t refusal_result[] = {
    {.name = "reason_code", .type = HY_T_ENUM, .enums = REFUSALS, .doc = "why"},
    {.name = "detail", .type = HY_T_STRING, .doc = "the fund's words, when given"},
    {0},
};

static const hy_field_t enrolment_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "enrolment id (enr_...)"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the insured (prs_...)"},
    {.name = "business_id", .type = HY_T_ID, .doc = "the insured's business (bus_...)"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "insurance field"},
    {.name = "start_date", .type = HY_T_DATE, .doc = "when cover starts"},
    {.name = "status", .type = HY_T_ENUM, .enums = STATUSES, .doc = "where the enrolment is"},
    {.name = "national_id", .type = HY_T_STRING, .doc = "the insured's national ID"},
    {.name = "first_name", .type = HY_T_STRING, .doc = "first name"},
    {.name = "last_name", .type = HY_T_STRING, .doc = "last name"},
    {.name = "birth_date", .type = HY_T_DATE, .doc = "birth date"},
    {.name = "sex", .type = HY_T_ENUM, .enums = "female|male", .doc = "sex"},
    {.name = "age_at_start", .type = HY_T_INT, .doc = "full years at the start date"},
    {.name = "insurance_number", .type = HY_T_STRING,
     .doc = "the fund's number, once confirmed (digits in ASCII)"},
    {.name = "refusal", .type = HY_T_OBJECT, .sub = refusal_result,
     .doc = "the fund's refusal, once refused"},
    {.name = "contributions", .type = HY_T_ARRAY, .elem = HY_T_OBJECT,
     .sub = contribution_result, .doc = "months paid, in the order recorded"},
    {.name = "months_overdue", .type = HY_T_INT,
     .doc = "Jalali months of contributions overdue today (confirmed and suspended "
            "enrolments): the months from the start's to the one before today's not paid"},
    {.name = "history", .type = HY_T_ARRAY, .elem = HY_T_OBJECT,
     .doc = "every status change: {status, date, reason?, created_by}"},
    {.name = "office", .type = HY_T_STRING, .doc = "the person's office"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that requested it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

static const hy_field_t arrears_result[] = {
    {.name = "as_of", .type = HY_T_DATE, .doc = "the date arrears were judged on"},
    {.name = "suspend_months", .type = HY_T_INT, .doc = "months overdue that are tolerated"},
    {.name = "checked", .type = HY_T_INT, .doc = "confirmed enrolments looked at"},
    {.name = "suspended", .type = HY_T_ARRAY, .elem = HY_T_ID, .doc = "enrolments suspended now"},
    {0},
};

static const hy_field_t feed_result[] = {
    {.name = "events", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "CloudEvents insurance.enrolment.*, in sequence order, the same as the ZeroMQ feed"},
    {.name = "last_seq", .type = HY_T_INT, .doc = "the newest sequence there is"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

#define ENR "/v1/enrolments/{id}"

static const hy_op_spec_t insurance_ops[] = {
    {.op = "enrolments.create", .handler = insurance_enrolment_create, .method = "POST", .path = "/v1/enrolments", .roles = WRITE,
     .args = create_args, .result = enrolment_result, .ok_status = 201,
     .summary = "Request an enrolment (422 age_out_of_range, field_mismatch, already_enrolled, "
                "unknown_person, unknown_business, business_not_owned, invalid_national_id, "
                "start_date_out_of_range)"},
    {.op = "enrolments.get", .handler = insurance_h_get, .method = "GET", .path = ENR, .roles = FUND_READ,
     .result = enrolment_result, .ok_status = 200,
     .summary = "Get an enrolment (the fund: those handed to it; 403 not_submitted)"},
    {.op = "enrolments.list", .handler = insurance_h_list, .method = "GET", .path = "/v1/enrolments", .roles = FUND_READ,
     .args = list_args, .result = enrolment_result, .ok_status = 200, .list = true,
     .summary = "List enrolments by person, status or office (the fund: those handed to it)"},
    {.op = "enrolments.approve", .call = HY_CALL_S(insurance_enrolment_approve, "id"), .method = "POST", .path = ENR "/approve", .roles = WRITE,
     .result = enrolment_result, .ok_status = 200,
     .summary = "Social services approve a requested enrolment"},
    {.op = "enrolments.submit", .call = HY_CALL_S(insurance_enrolment_submit, "id"), .method = "POST", .path = ENR "/submit", .roles = WRITE,
     .result = enrolment_result, .ok_status = 200,
     .summary = "Hand an approved enrolment to the fund"},
    {.op = "enrolments.confirm", .call = HY_CALL_SS(insurance_enrolment_confirm, "id", "insurance_number"), .method = "POST", .path = ENR "/confirm", .roles = FUND,
     .args = confirm_args, .result = enrolment_result, .ok_status = 200,
     .summary = "The fund confirms with its insurance number (idempotent)"},
    {.op = "enrolments.refuse", .call = HY_CALL_SSS(insurance_enrolment_refuse, "id", "reason_code", "detail"), .method = "POST", .path = ENR "/refuse", .roles = FUND,
     .args = refuse_args, .result = enrolment_result, .ok_status = 200,
     .summary = "The fund refuses a submitted enrolment (final; the same refusal again is 200)"},
    {.op = "enrolments.contribute", .call = HY_CALL_SA(insurance_contribution_record, "id"), .method = "POST", .path = ENR "/contributions",
     .roles = WRITE, .args = contribution_args, .result = enrolment_result, .ok_status = 201,
     .summary = "Record a Jalali month's contribution (422 contribution_mismatch, invalid_month)"},
    {.op = "enrolments.suspend", .call = HY_CALL_SS(insurance_enrolment_suspend, "id", "reason"), .method = "POST", .path = ENR "/suspend", .roles = WRITE,
     .args = reason_args, .result = enrolment_result, .ok_status = 200,
     .summary = "Suspend a confirmed enrolment"},
    {.op = "enrolments.reinstate", .call = HY_CALL_S(insurance_enrolment_reinstate, "id"), .method = "POST", .path = ENR "/reinstate", .roles = WRITE,
     .result = enrolment_result, .ok_status = 200,
     .summary = "Reinstate a suspended enrolment whose arrears are paid"},
    {.op = "enrolments.cancel", .call = HY_CALL_SS(insurance_enrolment_cancel, "id", "reason"), .method = "POST", .path = ENR "/cancel", .roles = WRITE,
     .args = reason_args, .result = enrolment_result, .ok_status = 200,
     .summary = "Cancel an enrolment (from any state but cancelled and refused)"},
    {.op = "enrolments.check_arrears", .call = HY_CALL_S(insurance_check_arrears, "as_of"), .method = "POST", .path = "/v1/enrolments/check-arrears",
     .roles = HY_ROLE_OPERATOR, .args = arrears_args, .result = arrears_result, .ok_status = 200,
     .summary = "Suspend confirmed enrolments overdue by more than HY_INSURANCE_SUSPEND_MONTHS"},
    {.op = "feeds.enrolments", .handler = insurance_h_feed, .method = "GET", .path = "/v1/feeds/enrolments", .roles = FEED,
     .args = feed_args, .result = feed_result, .ok_status = 200, .long_poll = true,
     .summary = "The fund's feed: enrolment events after a sequence (long poll with wait=)"},
    {.op = "enrolments.void_contribution", .call = HY_CALL_SA(insurance_contribution_void, "id"), .method = "POST", .path = ENR "/contributions/void",
     .roles = WRITE | HY_ROLE_OPERATOR, .args = void_contribution_args, .result = enrolment_result,
     .ok_status = 200,
     .summary = "Void a month's contribution recorded by mistake (another key than the one that "
                "recorded it; insurance.enrolment.contribution_voided reaches the fund)"},
    {.op = "enrolments.correct", .call = HY_CALL_SA(insurance_enrolment_correct, "id"), .method = "PATCH", .path = ENR, .roles = WRITE | HY_ROLE_OPERATOR,
     .args = correct_args, .result = enrolment_result, .ok_status = 200,
     .summary = "Correct business, field or start date of a requested or approved enrolment "
                "(409 wrong_state once handed to the fund; 422 as a request)"},
    {0},
};

extern const hy_event_spec_t insurance_events[];
const hy_api_t insurance_api = {"insurance", "enr", insurance_ops, insurance_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
static const hy_field_t insurance_ev[] = {
    {.name = "enrolment_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the enrolment"},
    {.name = "national_id", .type = HY_T_STRING, .doc = "the person's national id"},
    {.name = "status", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the status after"},
    {.name = "start_date", .type = HY_T_DATE, .doc = "when cover starts"},
    {.name = "insurance_number", .type = HY_T_STRING, .doc = "the fund's number (confirmed)"},
    {0},
};
/* What reporting reads of a correction and a transfer, and the fund of a voided contribution. */
static const hy_field_t insurance_ev_corr_before[] = {
    {.name = "field", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the field before"},
    {.name = "business_id", .type = HY_T_ID, .doc = "the business before"},
    {.name = "start_date", .type = HY_T_DATE, .doc = "the start date before"},
    {0},
};
static const hy_field_t insurance_ev_corrected[] = {
    {.name = "enrolment_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the enrolment"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after"},
    {.name = "field", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the field after"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = insurance_ev_corr_before,
     .doc = "what was corrected, as it was"},
    {0},
};
static const hy_field_t insurance_ev_transferred[] = {
    {.name = "enrolment_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the enrolment"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the new office"},
    {.name = "from_office", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the old office"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "when it took effect"},
    {0},
};
static const hy_field_t insurance_ev_contribution[] = {
    {.name = "month", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the month it paid"},
    {.name = "amount_rials", .type = HY_T_MONEY, .doc = "what it paid"},
    {0},
};
static const hy_field_t insurance_ev_contrib_voided[] = {
    {.name = "enrolment_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the enrolment"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after"},
    {.name = "contribution", .type = HY_T_OBJECT, .flags = HY_F_REQ,
     .sub = insurance_ev_contribution, .doc = "the contribution as recorded"},
    {0},
};
static const hy_field_t insurance_ev_merged[] = {
    {.name = "enrolment_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the enrolment"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after"},
    {.name = "merged_from", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the retired record"},
    {0},
};
#define ENROLMENT_EVENT(verb, summary) {"insurance.enrolment." verb, summary, insurance_ev}
const hy_event_spec_t insurance_events[] = {
    ENROLMENT_EVENT("requested", "An enrolment was requested"),
    ENROLMENT_EVENT("approved", "An enrolment was approved"),
    ENROLMENT_EVENT("submitted", "An enrolment was handed to the fund"),
    ENROLMENT_EVENT("confirmed", "The fund confirmed an enrolment with its number"),
    ENROLMENT_EVENT("refused", "The fund refused an enrolment"),
    ENROLMENT_EVENT("suspended", "Cover was suspended"),
    ENROLMENT_EVENT("reinstated", "Cover was reinstated"),
    ENROLMENT_EVENT("cancelled", "An enrolment was cancelled"),
    ENROLMENT_EVENT("contribution_recorded", "A contribution was recorded"),
    {"insurance.enrolment.contribution_voided", "A contribution was voided: the month is unpaid again", insurance_ev_contrib_voided},
    {"insurance.enrolment.corrected", "An enrolment's business, field or start date was corrected", insurance_ev_corrected},
    {"insurance.enrolment.transferred", "An enrolment followed its person to another office", insurance_ev_transferred},
    {"insurance.enrolment.person_merged", "An enrolment now belongs to the surviving record of a merge", insurance_ev_merged},
    {0},
};
#undef ENROLMENT_EVENT
