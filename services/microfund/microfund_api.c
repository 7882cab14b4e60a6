/*
 * microfund_api.c — the micro-fund service's operations as data: routes, roles, argument and
 * result shapes.
 *
 * The skeleton checks every request against these tables before a handler runs, and the gateway
 * builds its routes and /v1/openapi.json from them, so this file is the micro-fund's contract.
 * Rules that need the store or the clock (a member in good standing, a loan within the fund's
 * cash, a meeting inside the cycle) are the domain files' business.
 *
 * The codes the micro-fund answers with (problem+json "code"; "field" names the argument):
 *   400 unknown_field, missing_field, invalid_*        the skeleton's argument checks
 *   404 not_found                  no such fund, fund loan, member (or a malformed id)
 *   409 already_member, already_left, duplicate_meeting (one meeting per date)
 *   409 wrong_state                the loan is no longer active (repaid, defaulted or
 *                                  settled_at_shareout); replaces loan_closed
 *   422 future_date                a meeting, loan, repayment, training, join, leave or
 *                                  share-out dated after today (a share-out preview may look ahead)
 *   422 outside_cycle              dated outside the fund's current cycle (a repayment after the
 *                                  cycle's end included)
 *   422 before_last_activity       a share-out dated before the cycle's last meeting, loan or
 *                                  repayment (extra: last_activity_date)
 *   422 cycle_closed, cycle_open, invalid_cycle, before_joined, before_loan_date
 *   422 not_a_member, unknown_person, fund_full, active_loan_exists, active_guarantee
 *   422 over_max_term, over_member_limit, guarantors_required, guarantor_overdue,
 *       insufficient_fund_cash, over_outstanding
 *   422 guarantor_capacity         a guarantor's savings (x guarantor_exposure_multiple) less
 *                                  what she owes and the guarantees she already gave do not cover
 *                                  her part of the new loan (extra: capacity_rials); replaces
 *                                  guarantor_exposure
 *   422 absent_saver, over_max_shares, no_social_fund, invalid_social_fund_amount,
 *       insufficient_social_fund, no_participants, duplicate_entry, amount_too_large,
 *       missing_office, invalid_neighbourhood
 *   403 other_office   a key of another office reads or changes a fund, its books or its loans,
 *                      forms a fund for another office, or lists another office's funds
 *   422 before_programme_start  a date before HY_PROGRAMME_START
 *   422 merged_person  a person id retired by a merge (with merged_into)
 *   meeting voids (corrections.c): 404 not_found, 409 void_pending, no_void_request, voided,
 *   insufficient_cash (its money was lent or paid out since), 422 same_approver, cycle_closed;
 *   fund-loan repayment voids (loan_voids.c): the same, and 409 wrong_state (settled at a
 *   share-out), active_loan_exists (the borrower has another loan since); training voids
 *   (trainings.c): 404 not_found, 409 voided
 *   500 internal_error (a person not seen yet parks until the registry is caught up with, then
 *   422 unknown_person: no 503 any more)
 */
#include "microfund.h"
#include "proto.h"
#include "spec.h"

#define WRITE HY_ROLE_SOCIAL_SERVICES
#define READ  HY_ROLE_READERS

#define MONEY_MAX 1000000000000000LL /* 10^15 rials: far above any fund, far below overflow */

/* ------------------------------------------------------------------ funds --------------- */

static const hy_field_t cycle_fields[] = {
    {.name = "start", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "first day of the cycle"},
    {.name = "end", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "last day of the cycle (after start, at most two years later)"},
    {0},
};

/* The rules of a cycle; REQ is HY_F_REQ when forming a fund, 0 when a new cycle changes some. */
#define RULE_FIELDS(REQ)                                                                       \
    {.name = "share_value_rials", .type = HY_T_MONEY, .flags = REQ, .min = 1,                  \
     .max = 1000000000000LL, .doc = "value of one share; a saving is shares x this"},          \
    {.name = "max_shares_per_meeting", .type = HY_T_INT, .flags = REQ, .min = 1, .max = 100,   \
     .doc = "most shares one member may buy at one meeting"},                                  \
    {.name = "loan_multiple", .type = HY_T_INT, .flags = REQ, .min = 1, .max = 10,             \
     .doc = "a member may owe at most this many times her savings of the cycle"},              \
    {.name = "service_charge_bp_month", .type = HY_T_INT, .flags = REQ, .min = 0, .max = 10000, \
     .doc = "flat monthly service charge in basis points of the principal"},                   \
    {.name = "guarantors_required", .type = HY_T_INT, .flags = REQ, .min = 0, .max = 10,       \
     .doc = "fellow members who must guarantee each loan"},                                    \
    {.name = "max_term_months", .type = HY_T_INT, .flags = REQ, .min = 1, .max = 24,           \
     .doc = "longest loan term"},                                                              \
    {.name = "social_fund_rials", .type = HY_T_MONEY, .flags = REQ, .min = 0,                  \
     .max = 1000000000000LL,                                                                   \
     .doc = "social (emergency) fund contribution per meeting; 0 = no social fund"},           \
    {.name = "guarantor_exposure_multiple", .type = HY_T_INT, .min = 1, .max = 10,             \
     .doc = "a guarantor answers for at most this many times her savings, less what she owes "  \
            "and the guarantees she already gave (default 1: savings - own debt - guarantees)"}

static const hy_field_t rules_fields[] = {
    RULE_FIELDS(HY_F_REQ),
    {0},
};

static const hy_field_t rules_change_fields[] = {
    RULE_FIELDS(0),
    {0},
};

static const hy_field_t fund_create_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "the fund's name"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "office that facilitates it; defaults to the caller's"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "neighbourhood (محله)"},
    {.name = "facilitator_person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the facilitator, a registered person (prs_...)"},
    {.name = "date", .type = HY_T_DATE, .doc = "date the fund was formed; defaults to today"},
    {.name = "cycle", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = cycle_fields,
     .doc = "the first cycle (typically 9-12 months)"},
    {.name = "rules", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = rules_fields,
     .doc = "the rules, fixed for the cycle"},
    {0},
};

static const hy_field_t fund_list_args[] = {
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64, .doc = "office"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 200,
     .doc = "neighbourhood (normalised match)"},
    {0},
};

static const hy_field_t member_result[] = {
    {.name = "person_id", .type = HY_T_ID, .doc = "the member (prs_...)"},
    {.name = "status", .type = HY_T_ENUM, .enums = "active|left", .doc = "active or left"},
    {.name = "joined", .type = HY_T_DATE, .doc = "date joined"},
    {.name = "left", .type = HY_T_DATE, .doc = "date left, if she left"},
    {.name = "shares", .type = HY_T_INT, .doc = "shares bought this cycle"},
    {.name = "savings_rials", .type = HY_T_MONEY, .doc = "savings this cycle"},
    {.name = "active_loan_id", .type = HY_T_ID, .doc = "her loan not yet closed, if any"},
    {0},
};

static const hy_field_t fund_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "fund id (fund_...)"},
    {.name = "name", .type = HY_T_STRING, .doc = "name"},
    {.name = "office", .type = HY_T_STRING, .doc = "office"},
    {.name = "neighbourhood", .type = HY_T_STRING, .doc = "neighbourhood"},
    {.name = "facilitator_person_id", .type = HY_T_ID, .doc = "facilitator (prs_...)"},
    {.name = "date", .type = HY_T_DATE, .doc = "date formed"},
    {.name = "rules", .type = HY_T_OBJECT, .sub = rules_fields, .doc = "rules of the cycle"},
    {.name = "cycle", .type = HY_T_ANY,
     .doc = "current cycle: number, start, end, status (open|shared_out), last_activity_date "
            "(its last meeting, loan or repayment: the share-out comes after it), its totals"},
    {.name = "members", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = member_result,
     .doc = "every member, in joining order"},
    {.name = "cash", .type = HY_T_ANY,
     .doc = "cash position: box_rials, social_fund_rials, loan_cash_rials, "
            "loans_outstanding_rials and the totals they come from"},
    {.name = "ledger", .type = HY_T_ANY, .doc = "every total since the fund was formed"},
    {.name = "history", .type = HY_T_ARRAY, .elem = HY_T_ANY, .doc = "closed cycles"},
    {.name = "meetings_held", .type = HY_T_INT, .doc = "meetings recorded"},
    {.name = "trainings_held", .type = HY_T_INT, .doc = "training sessions recorded"},
    {.name = "trained_person_ids", .type = HY_T_ARRAY, .elem = HY_T_ID,
     .doc = "every person trained, once"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that formed it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* ---------------------------------------------------------------- members --------------- */

static const hy_field_t join_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "a registered person (prs_...)"},
    {.name = "joined", .type = HY_T_DATE, .doc = "date joined; defaults to today"},
    {0},
};

static const hy_field_t leave_args[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "date she left"},
    {0},
};

/* ---------------------------------------------------------------- meetings -------------- */

static const hy_field_t saving_fields[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the saver (prs_...)"},
    {.name = "shares", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 1000,
     .doc = "shares bought, 1..max_shares_per_meeting"},
    {0},
};

static const hy_field_t social_fields[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the contributor"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = MONEY_MAX,
     .doc = "a whole number of the rule's social_fund_rials (catching up is allowed)"},
    {0},
};

static const hy_field_t reasoned_fields[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the member"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = MONEY_MAX,
     .doc = "amount"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200, .doc = "why"},
    {0},
};

static const hy_field_t meeting_args[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "meeting date, inside the cycle; one meeting per date"},
    {.name = "attendance", .type = HY_T_ARRAY, .flags = HY_F_REQ, .elem = HY_T_ID,
     .max_len = 200, .doc = "members present (prs_...)"},
    {.name = "savings", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = saving_fields,
     .max_len = 200, .doc = "share purchases; every saver must be present"},
    {.name = "social_fund", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = social_fields,
     .max_len = 200, .doc = "social fund contributions; every contributor must be present"},
    {.name = "fines", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = reasoned_fields,
     .max_len = 200, .doc = "fines paid into the fund (they are profit)"},
    {.name = "grants", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = reasoned_fields,
     .max_len = 200, .doc = "grants paid from the social fund"},
    {0},
};

static const hy_field_t meeting_result[] = {
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {.name = "number", .type = HY_T_INT, .doc = "meeting number within the fund"},
    {.name = "cycle", .type = HY_T_INT, .doc = "cycle number"},
    {.name = "date", .type = HY_T_DATE, .doc = "meeting date"},
    {.name = "attendance", .type = HY_T_ARRAY, .elem = HY_T_ID, .doc = "members present"},
    {.name = "totals", .type = HY_T_ANY,
     .doc = "savings_rials, shares, social_fund_rials, fines_rials, grants_rials"},
    {.name = "savings", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "share purchases: person_id, shares, amount_rials, member_savings_rials"},
    {.name = "social_fund", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "social fund contributions: person_id, amount_rials"},
    {.name = "fines", .type = HY_T_ARRAY, .elem = HY_T_ANY, .doc = "fines: person_id, amount_rials, reason"},
    {.name = "grants", .type = HY_T_ARRAY, .elem = HY_T_ANY, .doc = "grants: person_id, amount_rials, reason"},
    {.name = "cash", .type = HY_T_ANY,
     .doc = "the fund's cash position after the meeting (in the reply to its recording)"},
    {.name = "void_request", .type = HY_T_ANY,
     .doc = "a requested void awaiting another key's approval: reason, requested_by, "
            "requested_at"},
    {.name = "voided", .type = HY_T_BOOL,
     .doc = "voided under maker-checker (with voided_by, voided_at, void_reason): counts nowhere"},
    {.name = "replaces", .type = HY_T_ANY,
     .doc = "the voided meeting of the same date this one corrects"},
    {0},
};

static const hy_field_t void_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 2000,
     .doc = "why the meeting was recorded by mistake"},
    {0},
};

static const hy_field_t page_args[] = {
    {0},
};

static const hy_field_t passbook_result[] = {
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the member"},
    {.name = "member", .type = HY_T_OBJECT, .sub = member_result, .doc = "her member record"},
    {.name = "balances", .type = HY_T_ANY,
     .doc = "savings_rials (this cycle), loan_outstanding_rials, social_fund_paid_rials, "
            "fines_paid_rials, grants_received_rials, shareouts_paid_rials"},
    {.name = "entries", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "in date order: date, kind (saving|social_fund|fine|grant|loan|repayment|"
            "loan_settled|shareout), amount_rials, what the kind adds (meeting, shares, reason, "
            "loan_id, principal_rials, charge_rials, cycle, entitled_rials, covered_rials, ...) "
            "and the running savings_balance_rials, loan_balance_rials, social_fund_paid_rials"},
    {0},
};

/* ---------------------------------------------------------------- loans ----------------- */

static const hy_field_t loan_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the borrower"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = MONEY_MAX,
     .doc = "principal"},
    {.name = "term_months", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 120,
     .doc = "term, at most the rule's max_term_months"},
    {.name = "guarantor_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .max_len = 10,
     .doc = "at least guarantors_required distinct fellow members in good standing"},
    {.name = "date", .type = HY_T_DATE, .doc = "date disbursed, inside the cycle; default today"},
    {0},
};

static const hy_field_t repayment_args[] = {
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = MONEY_MAX,
     .doc = "paid; the service charge first, then principal; at most what is owed; "
            "409 wrong_state when the loan is no longer active"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "date paid"},
    {0},
};

static const hy_field_t loan_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "loan id (floan_...)"},
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the borrower"},
    {.name = "cycle", .type = HY_T_INT, .doc = "cycle number"},
    {.name = "date", .type = HY_T_DATE, .doc = "date disbursed"},
    {.name = "term_months", .type = HY_T_INT, .doc = "term"},
    {.name = "due_date", .type = HY_T_DATE,
     .doc = "date + term in Solar Hijri months (same Jalali day, clamped), the cycle end at the "
            "latest"},
    {.name = "guarantor_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .doc = "guarantors"},
    {.name = "principal_rials", .type = HY_T_MONEY, .doc = "principal"},
    {.name = "charged_months", .type = HY_T_INT,
     .doc = "months charged: the term, or the months begun until a due date cut to the cycle end"},
    {.name = "charge_rials", .type = HY_T_MONEY,
     .doc = "floor(principal x bp x charged_months / 10000), due with the principal"},
    {.name = "paid_charge_rials", .type = HY_T_MONEY, .doc = "charge paid"},
    {.name = "paid_principal_rials", .type = HY_T_MONEY, .doc = "principal paid"},
    {.name = "outstanding_rials", .type = HY_T_MONEY, .doc = "still owed (charge + principal)"},
    {.name = "outstanding_principal_rials", .type = HY_T_MONEY, .doc = "principal still owed"},
    {.name = "status", .type = HY_T_ENUM, .enums = "active|repaid|settled_at_shareout|defaulted",
     .doc = "active; repaid; settled_at_shareout (her own payout settled principal and charge); "
            "defaulted (guarantors or the group covered part of it at the share-out)"},
    {.name = "overdue", .type = HY_T_BOOL, .doc = "active and past its due date"},
    {.name = "days_overdue", .type = HY_T_INT, .doc = "days past the due date (0 when not)"},
    {.name = "repayments", .type = HY_T_ARRAY, .elem = HY_T_ANY, .doc = "every repayment"},
    {.name = "settlement", .type = HY_T_ANY,
     .doc = "for a loan closed at the share-out: its principal, charge and debt, and who "
            "covered what (borrower_rials, guarantors, shared_rials)"},
    {.name = "settled_principal_rials", .type = HY_T_MONEY,
     .doc = "principal settled at the share-out"},
    {.name = "settled_charge_rials", .type = HY_T_MONEY,
     .doc = "service charge settled at the share-out"},
    {0},
};

static const hy_field_t loan_list_args[] = {
    {.name = "fund_id", .type = HY_T_ID, .flags = HY_F_REQ | HY_F_QUERY, .doc = "the fund"},
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY,
     .enums = "active|repaid|settled_at_shareout|defaulted",
     .doc = "only loans in this state"},
    {0},
};

/* ---------------------------------------------------------------- cycles ---------------- */

static const hy_field_t shareout_args[] = {
    {.name = "preview", .type = HY_T_BOOL, .flags = HY_F_QUERY,
     .doc = "true: compute the share-out without closing the cycle"},
    {.name = "date", .type = HY_T_DATE, .doc = "share-out date; defaults to today"},
    {0},
};

static const hy_field_t shareout_result[] = {
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {.name = "cycle", .type = HY_T_INT, .doc = "cycle number"},
    {.name = "preview", .type = HY_T_BOOL, .doc = "true when nothing was written"},
    {.name = "date", .type = HY_T_DATE, .doc = "share-out date"},
    {.name = "cash_box_rials", .type = HY_T_MONEY, .doc = "cash before the share-out"},
    {.name = "social_fund_carried_rials", .type = HY_T_MONEY,
     .doc = "social fund balance carried to the next cycle"},
    {.name = "savings_rials", .type = HY_T_MONEY, .doc = "members' savings of the cycle"},
    {.name = "profit_rials", .type = HY_T_MONEY, .doc = "shared in proportion to shares"},
    {.name = "total_shares", .type = HY_T_INT, .doc = "shares bought in the cycle"},
    {.name = "paid_rials", .type = HY_T_MONEY,
     .doc = "cash handed to members; paid + social fund carried = cash box"},
    {.name = "payouts", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "per member: shares, savings, profit, entitled, covered, loss, paid"},
    {.name = "defaults", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "per loan still open: status (settled_at_shareout|defaulted), principal_rials, "
            "charge_rials, debt_rials, and who covered it: borrower_rials, guarantors, "
            "shared_rials"},
    {.name = "rules_applied", .type = HY_T_STRING, .doc = "the rounding and default rules"},
    {0},
};

static const hy_field_t cycle_args[] = {
    {.name = "start", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "first day; not before the last share-out"},
    {.name = "end", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "last day"},
    {.name = "rules", .type = HY_T_OBJECT, .sub = rules_change_fields,
     .doc = "rules that change; the others stay as they were"},
    {0},
};

static const hy_field_t training_args[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "date of the session"},
    {.name = "topic", .type = HY_T_STRING, .max_len = 200, .doc = "what was taught"},
    {.name = "participants", .type = HY_T_ARRAY, .flags = HY_F_REQ, .elem = HY_T_ID,
     .max_len = 500, .doc = "registered persons trained (members, facilitators, new members)"},
    {0},
};

static const hy_field_t training_result[] = {
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {.name = "number", .type = HY_T_INT, .doc = "session number within the fund"},
    {.name = "date", .type = HY_T_DATE, .doc = "date"},
    {.name = "topic", .type = HY_T_STRING, .doc = "topic"},
    {.name = "participant_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .doc = "participants"},
    {.name = "member_ids", .type = HY_T_ARRAY, .elem = HY_T_ID,
     .doc = "the participants who were current members"},
    {.name = "voided", .type = HY_T_BOOL,
     .doc = "voided (with voided_by, voided_at, void_reason): counts nowhere"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

/* Designated members, so the table does not depend on the order of hy_op_spec_t's fields. */
/* HOW is `.handler = fn` or `.call = HY_CALL_*(...)` (shared/bind.h). */
#define OP(NAME, HOW, METHOD, PATH, ROLES, ARGS, RESULT, STATUS, LIST, SUMMARY)                     \
    {.op = NAME, HOW, .method = METHOD, .path = PATH, .roles = ROLES, .args = ARGS,                 \
     .result = RESULT, .ok_status = STATUS, .list = LIST, .summary = SUMMARY}

static const hy_op_spec_t microfund_ops[] = {
    OP("funds.create", .handler = microfund_fund_create, "POST", "/v1/funds", WRITE, fund_create_args, fund_result, 201, false,
       "Form a savings-and-loan fund with its first cycle and rules"),
    OP("funds.get", .call = HY_CALL_S(microfund_fund_get, "id"), "GET", "/v1/funds/{id}", READ, NULL, fund_result, 200, false,
       "Get a fund with its members and cash position"),
    OP("funds.list", .handler = microfund_h_funds_list, "GET", "/v1/funds", READ, fund_list_args, fund_result, 200, true,
       "List funds by office or neighbourhood"),
    OP("fund_members.join", .handler = microfund_h_members_join, "POST", "/v1/funds/{id}/members", WRITE, join_args, member_result,
       201, false, "A registered person joins the fund"),
    OP("fund_members.leave", .call = HY_CALL_SSS(microfund_member_leave, "id", "person_id", "date"), "POST", "/v1/funds/{id}/members/{person_id}/leave", WRITE,
       leave_args, member_result, 200, false,
       "A member leaves; her savings stay in the cycle until the share-out"),
    OP("fund_meetings.create", .call = HY_CALL_SA(microfund_meeting_create, "id"), "POST", "/v1/funds/{id}/meetings", WRITE, meeting_args,
       meeting_result, 201, false,
       "Record one meeting (attendance, savings, social fund, fines, grants), all or nothing"),
    OP("fund_loans.create", .call = HY_CALL_SA(microfund_loan_create, "id"), "POST", "/v1/funds/{id}/loans", WRITE, loan_args, loan_result, 201,
       false, "Lend to a member against her fellow members' guarantee"),
    OP("fund_loans.get", .call = HY_CALL_S(microfund_loan_get, "id"), "GET", "/v1/fund-loans/{id}", READ, NULL, loan_result, 200, false,
       "Get a fund loan with what is owed and whether it is overdue"),
    OP("fund_loans.list", .handler = microfund_h_loans_list, "GET", "/v1/fund-loans", READ, loan_list_args, loan_result, 200, true,
       "A fund's loans, oldest first"),
    OP("fund_loans.repay", .handler = microfund_h_loans_repay, "POST", "/v1/fund-loans/{id}/repayments", WRITE, repayment_args,
       loan_result, 201, false, "Record a repayment (service charge first)"),
    OP("funds.shareout", .handler = microfund_h_shareout, "POST", "/v1/funds/{id}/shareout", WRITE, shareout_args,
       shareout_result, 200, false,
       "Share out the cycle (savings + profit by shares) and close it; ?preview=true only computes"),
    OP("fund_cycles.create", .call = HY_CALL_SA(microfund_cycle_start, "id"), "POST", "/v1/funds/{id}/cycles", WRITE, cycle_args, fund_result,
       201, false, "Start the next cycle after a share-out"),
    OP("fund_trainings.create", .call = HY_CALL_SA(microfund_training_create, "id"), "POST", "/v1/funds/{id}/trainings", WRITE, training_args,
       training_result, 201, false, "Record a fund training session and who was trained"),
    OP("fund_meetings.list", .handler = microfund_h_meetings_list, "GET", "/v1/funds/{id}/meetings", READ, page_args, meeting_result,
       200, true, "A fund's meetings in date order, with every line recorded"),
    OP("fund_meetings.get", .call = HY_CALL_SS(microfund_meeting_get, "id", "date"), "GET", "/v1/funds/{id}/meetings/{date}", READ, NULL, meeting_result,
       200, false, "The fund's meeting on a date (YYYY-MM-DD; one meeting per date)"),
    OP("fund_trainings.list", .handler = microfund_h_trainings_list, "GET", "/v1/funds/{id}/trainings", READ, page_args,
       training_result, 200, true, "A fund's training sessions by number"),
    OP("fund_trainings.get", .call = HY_CALL_SS(microfund_training_get, "id", "number"), "GET", "/v1/funds/{id}/trainings/{number}", READ, NULL,
       training_result, 200, false, "One training session of a fund by its number"),
    OP("fund_members.passbook", .call = HY_CALL_SS(microfund_passbook, "id", "person_id"), "GET", "/v1/funds/{id}/members/{person_id}/passbook", READ, NULL,
       passbook_result, 200, false,
       "A member's passbook: savings, social fund, fines, grants, loans, repayments and "
       "share-outs in date order, with running balances"),
    OP("fund_meetings.void", .call = HY_CALL_SSS(microfund_meeting_void, "id", "date", "reason"), "POST", "/v1/funds/{id}/meetings/{date}/void", WRITE, void_args,
       meeting_result, 202, false,
       "Ask to void a meeting recorded by mistake (maker; another key approves)"),
    OP("fund_meetings.void_approve", .call = HY_CALL_SS(microfund_meeting_void_approve, "id", "date"), "POST", "/v1/funds/{id}/meetings/{date}/void/approve",
       WRITE, NULL, meeting_result, 200, false,
       "Approve a requested void (checker: not the key that asked): its money leaves the books"),
    OP("fund_meetings.void_reject", .call = HY_CALL_SSS(microfund_meeting_void_reject, "id", "date", "reason"), "POST", "/v1/funds/{id}/meetings/{date}/void/reject", WRITE,
       void_args, meeting_result, 200, false, "Turn a requested void down: the meeting stands"),
    OP("fund_loans.repayment_void", .call = HY_CALL_SSS(microfund_repayment_void, "id", "number", "reason"), "POST", "/v1/fund-loans/{id}/repayments/{number}/void",
       WRITE, void_args, loan_result, 202, false,
       "Ask to void a fund-loan repayment recorded by mistake (maker; another key approves)"),
    OP("fund_loans.repayment_void_approve", .call = HY_CALL_SS(microfund_repayment_void_approve, "id", "number"), "POST",
       "/v1/fund-loans/{id}/repayments/{number}/void/approve", WRITE, NULL, loan_result, 200,
       false, "Approve a requested void (checker): later repayments' splits are derived again"),
    OP("fund_loans.repayment_void_reject", .call = HY_CALL_SSS(microfund_repayment_void_reject, "id", "number", "reason"), "POST",
       "/v1/fund-loans/{id}/repayments/{number}/void/reject", WRITE, void_args, loan_result, 200,
       false, "Turn a requested void down: the repayment stands"),
    OP("fund_trainings.void", .call = HY_CALL_SSS(microfund_training_void, "id", "number", "reason"), "POST", "/v1/funds/{id}/trainings/{number}/void", WRITE, void_args,
       training_result, 200, false,
       "Void a training session recorded by mistake (no money: one key); it counts nowhere"),
    {0},
};

extern const hy_event_spec_t microfund_events[];
const hy_api_t microfund_api = {"microfund", "fund,floan", microfund_ops, microfund_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
static const hy_field_t microfund_ev[] = {
    {.name = "fund_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the fund"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its office"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its neighbourhood"},
    {0},
};
/* Corrections and merges (issue 15): only the fund is certain. */
static const hy_field_t microfund_ev_change[] = {
    {.name = "fund_id", .type = HY_T_ID, .doc = "the fund"},
    {0},
};
/* What reporting reads of a voided meeting or training, and of a merge. */
static const hy_field_t microfund_ev_saving[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the saver"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "what she saved"},
    {0},
};
static const hy_field_t microfund_ev_meeting_before[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "the meeting's date"},
    {.name = "number", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "its number"},
    {.name = "savings", .type = HY_T_ARRAY, .flags = HY_F_REQ, .sub = microfund_ev_saving,
     .doc = "its saving lines"},
    {0},
};
static const hy_field_t microfund_ev_training_before[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "the session's date"},
    {.name = "number", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "its number"},
    {.name = "participant_ids", .type = HY_T_ARRAY, .flags = HY_F_REQ, .elem = HY_T_ID,
     .doc = "who attended"},
    {.name = "member_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .doc = "the members among them"},
    {0},
};
static const hy_field_t microfund_ev_meeting_voided[] = {
    {.name = "fund_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the fund"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ | HY_F_NULL, .doc = "its office"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its neighbourhood"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = microfund_ev_meeting_before,
     .doc = "the meeting as recorded"},
    {0},
};
static const hy_field_t microfund_ev_training_voided[] = {
    {.name = "fund_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the fund"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ | HY_F_NULL, .doc = "its office"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its neighbourhood"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = microfund_ev_training_before,
     .doc = "the session as recorded"},
    {0},
};
static const hy_field_t microfund_ev_merged[] = {
    {.name = "fund_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the fund"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the surviving record"},
    {.name = "from_person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the retired record"},
    {0},
};
#define FUND_EVENT(name, summary) {"microfund." name, summary, microfund_ev}
const hy_event_spec_t microfund_events[] = {
    FUND_EVENT("fund.formed", "A savings group was formed"),
    FUND_EVENT("cycle_started", "A savings cycle started"),
    FUND_EVENT("member_joined", "A person joined a fund"),
    FUND_EVENT("member_left", "A person left a fund"),
    FUND_EVENT("training_held", "A training was held"),
    FUND_EVENT("meeting_held", "A meeting was held"),
    FUND_EVENT("saving_recorded", "A member saved at a meeting"),
    FUND_EVENT("social_fund_contributed", "A member paid into the social fund"),
    FUND_EVENT("fine_paid", "A member paid a fine"),
    FUND_EVENT("grant_paid", "A grant was paid from the social fund"),
    FUND_EVENT("loan_issued", "A loan was issued from the fund"),
    FUND_EVENT("repayment_recorded", "A fund loan repayment was recorded"),
    FUND_EVENT("loan_settled", "A fund loan was repaid in full"),
    FUND_EVENT("loan_defaulted", "A fund loan was declared in default"),
    FUND_EVENT("shareout_completed", "The cycle's share-out was completed"),
    {"microfund.meeting_void_requested", "A meeting's void was asked for (maker)", microfund_ev_change},
    {"microfund.meeting_void_rejected", "A meeting's void was turned down (checker)", microfund_ev_change},
    {"microfund.meeting_voided", "A meeting was voided: its money leaves the books", microfund_ev_meeting_voided},
    {"microfund.repayment_void_requested", "A fund-loan repayment's void was asked for", microfund_ev_change},
    {"microfund.repayment_void_rejected", "A fund-loan repayment's void was turned down", microfund_ev_change},
    {"microfund.repayment_voided", "A fund-loan repayment was voided", microfund_ev_change},
    {"microfund.training_voided", "A training was voided (it counts nowhere)", microfund_ev_training_voided},
    {"microfund.member_merged", "A membership now belongs to the surviving record of a merge", microfund_ev_merged},
    {0},
};
#undef FUND_EVENT
