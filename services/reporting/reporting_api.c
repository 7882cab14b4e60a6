/*
 * reporting_api.c — the reporting service's operations as data: routes, roles, argument and
 * result shapes. Reports are read by social services, auditors and operators.
 *
 * Both reports offer renderings besides JSON (.formats): the gateway reads Accept and passes
 * args.format; the half-year report answers text/csv and a printable text/html page, the
 * indicators table text/csv.
 *
 * Codes: 422 invalid_year (not a year 1300..1499 in ASCII or Persian digits), invalid_period,
 * future_period (the half has not started), unknown_office / unknown_neighbourhood (a filter
 * naming nothing the reporting service has seen), invalid_date, invalid_range; 404 not_found
 * (a timeline of a person unknown, or of another office than the caller's; a submission
 * unknown or of another office), 404 unknown_figure; 403 wrong_office (submitting another
 * office's report, or setting its targets, without a provincial key); 422 unknown_indicator,
 * invalid_target. Submissions and targets are recorded by the registry (ledger.c): its refusals
 * come back as they are (404 unknown_office: targets of an office it does not know), and 503
 * owner_unavailable / 504 owner_timeout when it cannot be asked; 413 submission_too_large (a
 * document over half the message ceiling); 503 not_yet_received (a diff of a submission this
 * replica has not received yet: ask again).
 * Rows with read_only: reports.submit and offices.targets_put only read here (a reader thread
 * asks the registry); reports.submission and its drill-down (a lookup each) run on the reactor
 * so that they can park until the replica has caught up with the registry: a drill-down asked
 * right after the submission, of the replica that took it, answers. A diff computes the whole
 * report, so it stays on a reader thread and cannot park.
 */
#include "reporting.h"
#include "proto.h"
#include "spec.h"

#define READ (HY_ROLE_SOCIAL_SERVICES | HY_ROLE_AUDITOR | HY_ROLE_OPERATOR)
#define GROUPS "office|neighbourhood|field|sex|network"

static const hy_field_t half_year_args[] = {
    {.name = "year", .type = HY_T_ANY, .flags = HY_F_REQ | HY_F_QUERY,
     .doc = "Solar Hijri year 1300..1499, ASCII or Persian digits (1403 or ۱۴۰۳)"},
    {.name = "half", .type = HY_T_INT, .flags = HY_F_REQ | HY_F_QUERY, .min = 1, .max = 2,
     .doc = "1 = months 1-6 (Farvardin..Shahrivar), 2 = months 7-12 (Mehr..Esfand)"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "only this office (normalised match)"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 200,
     .doc = "only this neighbourhood (normalised match; with office: that office's part of it)"},
    {.name = "sections", .type = HY_T_BOOL, .flags = HY_F_QUERY,
     .doc = "JSON: add the printed page's breakdowns (sections: neighbourhood, field, sex, network, "
            "agency; within the office when one is given) and the previous half (previous)"},
    {.name = "format", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = "json|csv|html",
     .doc = "rendering; the gateway sets it from Accept (text/csv, text/html)"},
    {0},
};

static const hy_field_t indicator_fields[] = {
    {.name = "beneficiaries_total", .type = HY_T_INT, .doc = "persons registered up to the period's end"},
    {.name = "beneficiaries_new", .type = HY_T_INT, .doc = "persons registered in the period"},
    {.name = "meetings_working_group", .type = HY_T_INT, .doc = "working-group meetings"},
    {.name = "meetings_steering_council", .type = HY_T_INT, .doc = "steering-council meetings"},
    {.name = "meetings_empowerment_group", .type = HY_T_INT, .doc = "empowerment-group meetings"},
    {.name = "classes", .type = HY_T_INT, .doc = "training, skill and cultural classes held"},
    {.name = "people_with_loans", .type = HY_T_INT,
     .doc = "distinct persons with a loan disbursed"},
    {.name = "jobs_created", .type = HY_T_INT,
     .doc = "distinct persons with a job created (job_created activities, network jobs)"},
    {.name = "job_records", .type = HY_T_INT, .doc = "job records behind jobs_created"},
    {.name = "people_counselled", .type = HY_T_INT,
     .doc = "distinct persons counselled"},
    {.name = "funds_formed", .type = HY_T_INT, .doc = "micro-funds formed"},
    {.name = "fund_training_sessions", .type = HY_T_INT, .doc = "micro-fund training sessions"},
    {.name = "fund_members_trained", .type = HY_T_INT,
     .doc = "distinct fund members trained"},
    {.name = "loans_disbursed_rials", .type = HY_T_MONEY, .doc = "loan tranches disbursed"},
    {.name = "loans_outstanding_rials", .type = HY_T_MONEY, .doc = "principal outstanding at the end"},
    {.name = "par30_rials", .type = HY_T_MONEY, .doc = "principal of loans > 30 days past due at the end"},
    {.name = "par30_bp", .type = HY_T_INT, .doc = "par30 / outstanding, basis points (floor)"},
    {.name = "insurance_enrolled", .type = HY_T_INT, .doc = "eligible enrolment requests (date made)"},
    {.name = "insurance_confirmed", .type = HY_T_INT, .doc = "confirmations by the fund"},
    {.name = "insurance_coverage_bp", .type = HY_T_INT,
     .doc = "share of the period's requests confirmed since, basis points (floor)"},
    {.name = "insured_at_end", .type = HY_T_INT,
     .doc = "enrolments confirmed and neither suspended nor cancelled at the end"},
    {.name = "network_members_active", .type = HY_T_INT, .doc = "active memberships at the end"},
    {.name = "network_orders", .type = HY_T_INT, .doc = "orders placed with networks"},
    {.name = "network_orders_rials", .type = HY_T_MONEY, .doc = "value of those orders"},
    {.name = "fund_savings_rials", .type = HY_T_MONEY, .doc = "savings paid into micro-funds"},
    {.name = "fund_loans_issued_rials", .type = HY_T_MONEY, .doc = "micro-fund loans issued"},
    {.name = "fund_shareouts_rials", .type = HY_T_MONEY,
     .doc = "paid out to members at micro-fund share-outs (microfund.shareout_completed)"},
    {.name = "women_heads_of_household", .type = HY_T_INT,
     .doc = "women registered as heads of household, up to the period's end"},
    {.name = "referrals_by_agency", .type = HY_T_INT,
     .doc = "persons registered in the period on an agency's referral"},
    {.name = "employer_referrals", .type = HY_T_INT, .doc = "persons referred to employers"},
    {.name = "in_kind_aid", .type = HY_T_INT, .doc = "persons given aid in kind"},
    {.name = "class_attendance", .type = HY_T_INT, .doc = "class participants (person-sessions)"},
    {.name = "network_buyers", .type = HY_T_INT, .doc = "buyers registered with networks"},
    {.name = "network_deliveries", .type = HY_T_INT, .doc = "deliveries recorded by networks"},
    {.name = "loans_recovered_rials", .type = HY_T_MONEY,
     .doc = "recovered on written-off loans (loans.loan.recovery_recorded)"},
    {.name = "par30_restructured_rials", .type = HY_T_MONEY,
     .doc = "PAR30 of loans rescheduled or flagged restructured, at the end"},
    {.name = "beneficiaries_active", .type = HY_T_INT,
     .doc = "persons registered up to the period's end, less those exited or deceased by then"},
    {0},
};

static const hy_field_t half_year_result[] = {
    {.name = "year", .type = HY_T_INT, .doc = "Solar Hijri year"},
    {.name = "half", .type = HY_T_INT, .doc = "1 or 2"},
    {.name = "from", .type = HY_T_DATE, .doc = "first day of the half"},
    {.name = "to", .type = HY_T_DATE, .doc = "last day of the half"},
    {.name = "cut", .type = HY_T_DATE,
     .doc = "the figures' last day: the half's, or today while it is in progress"},
    {.name = "interim", .type = HY_T_BOOL, .doc = "true while the half has not ended (cut at today)"},
    {.name = "currency", .type = HY_T_STRING, .doc = "IRR: money figures are in rials"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "the office filter, or null"},
    {.name = "office_name", .type = HY_T_STRING, .flags = HY_F_NULL,
     .doc = "the office's Persian name (registry.office events), else its code; null without office"},
    {.name = "targets", .type = HY_T_ANY, .doc = "the office's targets for the half ({} when none)"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "the neighbourhood filter, or null"},
    {.name = "indicators", .type = HY_T_OBJECT, .sub = indicator_fields, .doc = "the figures"},
    {.name = "as_of", .type = HY_T_ANY,
     .doc = "per source: seq and time of the last event applied ({\"loans\":{\"seq\":N,\"time\":...}})"},
    {.name = "generated_at", .type = HY_T_STRING, .doc = "when this answer was computed (UTC)"},
    {.name = "replica", .type = HY_T_ANY, .doc = "which reporting replica answered (pid)"},
    {.name = "sections", .type = HY_T_ANY,
     .doc = "with sections=true: {neighbourhood|field|sex|network|agency: [{key, indicators}]}, "
            "within the office for an office's report"},
    {.name = "previous", .type = HY_T_ANY,
     .doc = "with sections=true: {year, half, indicators} of the half before"},
    {0},
};

static const hy_field_t indicators_args[] = {
    {.name = "from", .type = HY_T_DATE, .flags = HY_F_REQ | HY_F_QUERY, .doc = "first day, inclusive"},
    {.name = "to", .type = HY_T_DATE, .flags = HY_F_REQ | HY_F_QUERY, .doc = "last day, inclusive"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "one office's figures (an office key: its own, the default; another is 403 other_office)"},
    {.name = "group_by", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = GROUPS,
     .doc = "break the figures down; the group with key null is what is not attributed"},
    {.name = "format", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = "json|csv",
     .doc = "rendering; the gateway sets it from Accept (text/csv)"},
    {0},
};

static const hy_field_t group_fields[] = {
    {.name = "key", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "the group's value (office, neighbourhood, field, "
                                                "sex, net_N); null for what is not attributed"},
    {.name = "indicators", .type = HY_T_OBJECT, .sub = indicator_fields, .doc = "the figures"},
    {0},
};

static const hy_field_t indicators_result[] = {
    {.name = "from", .type = HY_T_DATE, .doc = "first day"},
    {.name = "to", .type = HY_T_DATE, .doc = "last day"},
    {.name = "group_by", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "the breakdown, or null"},
    {.name = "half", .type = HY_T_ANY,
     .doc = "{year, half} when from..to is exactly one half (distinct counts given), else null"},
    {.name = "total", .type = HY_T_OBJECT, .sub = indicator_fields, .doc = "the figures overall"},
    {.name = "groups", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = group_fields,
     .doc = "one per value of group_by (absent without group_by)"},
    {.name = "as_of", .type = HY_T_ANY, .doc = "per source: seq and time of the last event applied"},
    {.name = "generated_at", .type = HY_T_STRING, .doc = "when this answer was computed (UTC)"},
    {0},
};

static const hy_field_t timeline_args[] = {
    {.name = "id", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "person id (prs_N)"},
    {0},
};

static const hy_field_t timeline_event[] = {
    {.name = "date", .type = HY_T_DATE, .doc = "the event's business date"},
    {.name = "source", .type = HY_T_STRING, .doc = "registry, loans, networks, microfund, insurance"},
    {.name = "type", .type = HY_T_STRING, .doc = "the CloudEvents type"},
    {.name = "sequence", .type = HY_T_INT, .doc = "the event's sequence in its source"},
    {.name = "subject", .type = HY_T_ANY, .doc = "the entity the event is about"},
    {.name = "data", .type = HY_T_ANY, .doc = "the event's data as published"},
    {0},
};

static const hy_field_t timeline_result[] = {
    {.name = "person_id", .type = HY_T_STRING, .doc = "the person"},
    {.name = "events", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = timeline_event,
     .doc = "every event about her, by date, then source, then sequence"},
    {.name = "as_of", .type = HY_T_ANY, .doc = "per source: seq and time of the last event applied"},
    {0},
};

#define SUBMIT (HY_ROLE_SOCIAL_SERVICES | HY_ROLE_OPERATOR)
#define SUB "/v1/reports/half-year/submissions/{id}"

static const hy_field_t submit_args[] = {
    {.name = "year", .type = HY_T_ANY, .flags = HY_F_REQ,
     .doc = "Solar Hijri year 1300..1499 (a number, or text in ASCII or Persian digits)"},
    {.name = "half", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 2, .doc = "1 or 2"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "the office whose report is submitted (the caller's, or any for a provincial key)"},
    {0},
};

static const hy_field_t submission_result[] = {
    {.name = "id", .type = HY_T_STRING, .doc = "sub_N"},
    {.name = "report", .type = HY_T_OBJECT, .sub = half_year_result,
     .doc = "the half-year report as it was (figures in rials)"},
    {.name = "as_of", .type = HY_T_ANY, .doc = "per source: seq and time of the last event applied"},
    {.name = "records", .type = HY_T_ANY, .doc = "per figure: the ids of the records behind it"},
    {.name = "submitted_at", .type = HY_T_STRING, .doc = "when (UTC)"},
    {.name = "submitted_by", .type = HY_T_ANY, .doc = "{key_id, office} of the caller"},
    {.name = "digest", .type = HY_T_ANY,
     .doc = "{alg: SHA-256, value: hex} over the canonical JSON (sorted keys, compact) without digest"},
    {0},
};

static const hy_field_t sub_args[] = {
    {.name = "id", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "sub_N"},
    {0},
};

static const hy_field_t sub_figure_args[] = {
    {.name = "id", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "sub_N"},
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "indicator name"},
    {0},
};

static const hy_field_t sub_figure_result[] = {
    {.name = "submission_id", .type = HY_T_STRING, .doc = "sub_N"},
    {.name = "name", .type = HY_T_STRING, .doc = "indicator"},
    {.name = "value", .type = HY_T_ANY, .doc = "the figure as submitted"},
    {.name = "count", .type = HY_T_INT, .doc = "how many records"},
    {.name = "ids", .type = HY_T_ARRAY, .elem = HY_T_STRING, .doc = "the records behind it"},
    {0},
};

static const hy_field_t sub_diff_result[] = {
    {.name = "submission_id", .type = HY_T_STRING, .doc = "sub_N"},
    {.name = "submitted_as_of", .type = HY_T_ANY, .doc = "as_of of the submission"},
    {.name = "now_as_of", .type = HY_T_ANY, .doc = "as_of now"},
    {.name = "now_cut", .type = HY_T_DATE, .doc = "the last day of the figures computed now"},
    {.name = "changed_count", .type = HY_T_INT, .doc = "how many figures differ"},
    {.name = "changed", .type = HY_T_ANY,
     .doc = "{figure: {submitted, now, added: [ids], removed: [ids]}} for each figure that differs"},
    {0},
};

static const hy_field_t targets_args[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "office code"},
    {.name = "year", .type = HY_T_ANY, .flags = HY_F_REQ, .doc = "Solar Hijri year"},
    {.name = "half", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 2, .doc = "1 or 2"},
    {.name = "targets", .type = HY_T_ANY, .flags = HY_F_REQ,
     .doc = "{indicator: whole number >= 0} in the indicator's unit (rials, basis points, counts)"},
    {0},
};

static const hy_field_t targets_result[] = {
    {.name = "office", .type = HY_T_STRING, .doc = "office code"},
    {.name = "year", .type = HY_T_INT, .doc = "Solar Hijri year"},
    {.name = "half", .type = HY_T_INT, .doc = "1 or 2"},
    {.name = "targets", .type = HY_T_ANY, .doc = "the half's targets, as set"},
    {0},
};

static const hy_op_spec_t reporting_ops[] = {
    {.op = "offices.targets_put", .handler = reporting_targets_put, .method = "PUT", .path = "/v1/offices/{code}/targets",
     .roles = SUBMIT, .args = targets_args, .result = targets_result, .ok_status = 200, .read_only = 1,
     .summary = "Set an office's targets for a half (shown beside each figure on the printed page)"},
    {.op = "reports.submit", .handler = reporting_submit, .method = "POST", .path = "/v1/reports/half-year/submissions",
     .roles = SUBMIT, .args = submit_args, .result = submission_result, .ok_status = 201, .read_only = 1,
     .summary = "Freeze and sign an office's half-year report (figures, as_of, records behind each)"},
    {.op = "reports.submission", .handler = reporting_submission, .method = "GET", .path = SUB, .roles = READ, .args = sub_args, .read_only = -1,
     .result = submission_result, .ok_status = 200, .summary = "A submitted report, as submitted"},
    {.op = "reports.submission_figure", .handler = reporting_submission_figure, .method = "GET", .path = SUB "/figures/{name}", .roles = READ,
     .args = sub_figure_args, .result = sub_figure_result, .ok_status = 200, .read_only = -1,
     .summary = "The records behind one figure of a submitted report"},
    {.op = "reports.submission_diff", .handler = reporting_submission_diff, .method = "GET", .path = SUB "/diff", .roles = READ,
     .args = sub_args, .result = sub_diff_result, .ok_status = 200,
     .summary = "What differs between a submitted report and the same report computed now"},
    {.op = "persons.timeline", .handler = reporting_timeline, .method = "GET", .path = "/v1/persons/{id}/timeline", .roles = READ,
     .args = timeline_args, .result = timeline_result, .ok_status = 200,
     .summary = "A person's whole story across the services, in date order (office-scoped)"},
    {.op = "reports.half_year", .handler = reporting_half_year, .method = "GET", .path = "/v1/reports/half-year", .roles = READ,
     .args = half_year_args, .result = half_year_result, .ok_status = 200, .formats = "csv,html",
     .summary = "Six-month evaluation report (JSON, text/csv, or a printable Persian text/html page)"},
    {.op = "reports.indicators", .handler = reporting_indicators, .method = "GET", .path = "/v1/reports/indicators", .roles = READ,
     .args = indicators_args, .result = indicators_result, .ok_status = 200, .formats = "csv",
     .summary = "Indicators for any period, optionally grouped (JSON or text/csv)"},
    {0},
};

extern const hy_event_spec_t reporting_events[];
const hy_api_t reporting_api = {.service = "reporting", .id_prefixes = "", .ops = reporting_ops, .events = reporting_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
/* Reporting publishes no events of its own (it follows the others). */
const hy_event_spec_t reporting_events[] = {
    {0},
};
