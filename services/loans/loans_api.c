/*
 * loans_api.c — the loans service's operations as data: routes, roles, argument and result
 * shapes. The skeleton checks every request against these tables before a handler runs and the
 * gateway builds its routes and /v1/openapi.json from them: this file is the loans contract.
 *
 * Codes a handler may answer besides the skeleton's 400s (fee_rate_bp above 2,400 is the
 * skeleton's 400 invalid_field): 404 not_found; 409 wrong_state (also: withdraw after a payout,
 * close-tranches of a loan not disbursing, recoveries on a loan not written off),
 * duplicate_product, duplicate_reference; 422 unknown_product, product_not_current (with
 * current_product_id at approval), product_kind_mismatch, unknown_person, unknown_business,
 * business_not_owned, stage_too_early, not_eligible_for_product (a network product for someone
 * neither leading an active network nor holding a supporter licence), over_term,
 * active_loan_exists, over_cap (per kind, person and fiscal year), over_requested,
 * over_recommended (approval above the recommendation), appraisal_negative (approval of a loan
 * appraised at 0), same_approver (maker-checker: the approving key applied or appraised),
 * over_approved, over_outstanding (also: above the payoff amount, above what was written off),
 * not_overdue, date_out_of_order, future_date, invalid_date, amount_too_large,
 * as_of_before_last_run, merged_person (an application naming a record retired by a merge, with
 * merged_into), before_programme_start (a date before HY_PROGRAMME_START); 403
 * other_office (a key of another office reads or changes a loan, applies for a person of another
 * office, or filters a list or the portfolio by another office); voids of repayments
 * (voids.c): 404 not_found (no such repayment number), 409 void_pending, no_void_request,
 * voided, paid_off_early, rescheduled_after; 422 same_approver (the key that asked approves);
 * voids of disbursements (disb_voids.c): 409 not_last_disbursement, repayments_after,
 * tranches_closed, and the same as for repayments.
 *
 * States: applied, appraised, approved, rejected, withdrawn, disbursing (part of the approved
 * amount paid out; already falling due), disbursed, rescheduled (and restructured), closed,
 * written_off.
 */
#include "loans.h"
#include "proto.h"
#include "spec.h"

#define WRITE HY_ROLE_SOCIAL_SERVICES
#define READ  HY_ROLE_READERS
#define OPER  HY_ROLE_OPERATOR

#define KINDS    "individual|network"
#define STAGES   "applicant|training|producing|developing|established"
#define STATUSES "applied|appraised|approved|rejected|disbursing|disbursed|rescheduled|closed|" \
                 "written_off|withdrawn"
#define BUCKETS  "current|1-30|31-60|61-90|90+"

#define MONEY(NAME, FLAGS, MIN, DOC)                                                         \
    {.name = NAME, .type = HY_T_MONEY, .flags = FLAGS, .min = MIN, .max = LOANS_MONEY_MAX,   \
     .doc = DOC}

/* ----------------------------------------------------------------- products -------------- */

static const hy_field_t product_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "product name, unique within its fiscal year"},
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = KINDS,
     .doc = "individual, or network (network and supporter activities)"},
    MONEY("cap_rials", 0, 1, "yearly cap per person; default 500,000,000 (individual) or "
                             "2,500,000,000 (network)"),
    {.name = "fee_rate_bp", .type = HY_T_INT, .min = 0, .max = 2400,
     .doc = "annual service fee in basis points, at most 2,400 (24% a year; 0 = none)"},
    {.name = "fee_method", .type = HY_T_ENUM, .enums = "declining|flat",
     .doc = "declining (default): each month's fee on the principal then outstanding, early "
            "payoff owes only the fee accrued; flat: floor(P*rate*months/120000) over the term"},
    {.name = "term_months", .type = HY_T_INT, .min = 1, .max = LOANS_TERM_MAX,
     .doc = "longest term in months (default 12)"},
    {.name = "grace_months", .type = HY_T_INT, .min = 0, .max = 60,
     .doc = "months before the first installment falls due (default 0)"},
    {.name = "min_stage", .type = HY_T_ENUM, .enums = STAGES,
     .doc = "lowest business stage that may borrow (default developing)"},
    {.name = "fiscal_year", .type = HY_T_INT, .min = 1300, .max = 1500,
     .doc = "Solar Hijri fiscal year, e.g. 1403 (default the current one)"},
    {0},
};

static const hy_field_t product_list_args[] = {
    {.name = "fiscal_year", .type = HY_T_INT, .flags = HY_F_QUERY, .min = 1300, .max = 1500,
     .doc = "only this fiscal year"},
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = KINDS, .doc = "only this kind"},
    {0},
};

static const hy_field_t product_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "product id (lpr_...)"},
    {.name = "name", .type = HY_T_STRING, .doc = "name"},
    {.name = "kind", .type = HY_T_ENUM, .enums = KINDS, .doc = "kind"},
    {.name = "fiscal_year", .type = HY_T_INT, .doc = "Solar Hijri fiscal year"},
    {.name = "cap_rials", .type = HY_T_MONEY, .doc = "yearly cap per person"},
    {.name = "fee_rate_bp", .type = HY_T_INT, .doc = "annual service fee rate, basis points"},
    {.name = "fee_method", .type = HY_T_ENUM, .enums = "declining|flat",
     .doc = "how the fee is computed (products made before fee methods: flat)"},
    {.name = "term_months", .type = HY_T_INT, .doc = "longest term"},
    {.name = "grace_months", .type = HY_T_INT, .doc = "grace before the first installment"},
    {.name = "min_stage", .type = HY_T_ENUM, .enums = STAGES, .doc = "lowest stage that may borrow"},
    {.name = "office", .type = HY_T_STRING, .doc = "office that created it"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that created it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* -------------------------------------------------------------------- loans -------------- */

static const hy_field_t loan_create_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the borrower (prs_...)"},
    {.name = "business_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the borrower's home business (bus_...)"},
    {.name = "product_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "a product of the current fiscal year (lpr_...)"},
    MONEY("amount_rials", HY_F_REQ, 1, "amount requested"),
    {.name = "term_months", .type = HY_T_INT, .min = 1, .max = LOANS_TERM_MAX,
     .doc = "term in months; at most the product's (default the product's)"},
    {.name = "purpose", .type = HY_T_STRING, .max_len = 1000, .doc = "what the loan is for"},
    {.name = "applied_on", .type = HY_T_DATE,
     .doc = "date of the application (default today; an earlier date for a paper application "
            "being migrated; never after today); the product must be of its fiscal year"},
    {0},
};

static const hy_field_t appraise_args[] = {
    {.name = "appraiser", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "who appraised the application"},
    {.name = "notes", .type = HY_T_STRING, .max_len = 4000, .doc = "the appraisal"},
    MONEY("recommended_amount_rials", HY_F_REQ, 0,
          "amount recommended (at most the requested; 0: not viable, blocks approval)"),
    {.name = "date", .type = HY_T_DATE,
     .doc = "date of the appraisal (default today); not before the application"},
    {0},
};

static const hy_field_t approve_args[] = {
    MONEY("amount_rials", 0, 1,
          "amount approved; at most the appraisal's recommendation (default the recommendation)"),
    {.name = "date", .type = HY_T_DATE,
     .doc = "date of the decision (default today); not before the application or the appraisal"},
    {.name = "product_id", .type = HY_T_ID,
     .doc = "the product of the approval's fiscal year to approve under, when the loan's own "
            "product is of an earlier year (same kind)"},
    {0},
};

static const hy_field_t reason_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 2000, .doc = "why"},
    {0},
};

static const hy_field_t disburse_args[] = {
    MONEY("amount_rials", HY_F_REQ, 1, "this tranche; all tranches at most the approved amount"),
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "date paid out"},
    {0},
};

static const hy_field_t repay_args[] = {
    MONEY("amount_rials", HY_F_REQ, 1, "amount received; at most what is still owed"),
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "date received"},
    {.name = "reference", .type = HY_T_STRING, .max_len = 100,
     .doc = "bank or receipt reference; unique per loan"},
    {0},
};

static const hy_field_t recovery_args[] = {
    MONEY("amount_rials", HY_F_REQ, 1, "amount recovered; in all at most what was written off"),
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "date received; on or after the write-off and the last recovery"},
    {.name = "reference", .type = HY_T_STRING, .max_len = 100,
     .doc = "bank or receipt reference; unique among the loan's recoveries"},
    {0},
};

static const hy_field_t reschedule_args[] = {
    {.name = "term_months", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = LOANS_TERM_MAX,
     .doc = "months over which the outstanding amount is spread again"},
    {.name = "date", .type = HY_T_DATE, .doc = "date of the rescheduling (default today)"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 2000,
     .doc = "why the loan is restructured"},
    {0},
};

static const hy_field_t as_of_args[] = {
    {.name = "as_of", .type = HY_T_DATE, .flags = HY_F_QUERY,
     .doc = "compute arrears and balances as of this date (default today)"},
    {0},
};

static const hy_field_t loan_list_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "borrower (prs_...)"},
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = STATUSES, .doc = "status"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "office that took the application"},
    {.name = "product_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "product (lpr_...)"},
    {0},
};

static const hy_field_t portfolio_args[] = {
    {.name = "as_of", .type = HY_T_DATE, .flags = HY_F_QUERY, .doc = "as of (default today)"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "only this office"},
    {.name = "product_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "only this product"},
    {0},
};

static const hy_field_t age_args[] = {
    {.name = "as_of", .type = HY_T_DATE,
     .doc = "age the loans as of this date (default today; not before the last run)"},
    {0},
};

static const hy_field_t installment_result[] = {
    {.name = "n", .type = HY_T_INT, .doc = "installment number, from 1"},
    {.name = "due_date", .type = HY_T_DATE, .doc = "due date (same day of each Solar Hijri month)"},
    {.name = "fee_rials", .type = HY_T_MONEY, .doc = "fee due"},
    {.name = "principal_rials", .type = HY_T_MONEY, .doc = "principal due"},
    {.name = "fee_paid_rials", .type = HY_T_MONEY, .doc = "fee received by as_of"},
    {.name = "principal_paid_rials", .type = HY_T_MONEY, .doc = "principal received by as_of"},
    {.name = "state", .type = HY_T_ENUM, .enums = "paid|overdue|upcoming", .doc = "as of as_of"},
    {0},
};

static const hy_field_t loan_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "loan id (loan_...)"},
    {.name = "person_id", .type = HY_T_ID, .doc = "borrower"},
    {.name = "business_id", .type = HY_T_ID, .doc = "business"},
    {.name = "product_id", .type = HY_T_ID, .doc = "product"},
    {.name = "kind", .type = HY_T_ENUM, .enums = KINDS, .doc = "product kind"},
    {.name = "fiscal_year", .type = HY_T_INT, .doc = "the product's fiscal year"},
    {.name = "office", .type = HY_T_STRING, .doc = "office that took the application"},
    {.name = "status", .type = HY_T_ENUM, .enums = STATUSES, .doc = "where the loan stands"},
    {.name = "purpose", .type = HY_T_STRING, .doc = "purpose"},
    {.name = "requested_rials", .type = HY_T_MONEY, .doc = "amount asked"},
    {.name = "term_months", .type = HY_T_INT, .doc = "term"},
    {.name = "applied_on", .type = HY_T_DATE, .doc = "application date"},
    {.name = "appraisal", .type = HY_T_ANY,
     .doc = "appraiser, notes, recommended_amount_rials, date, appraised_by (API key)"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "the API key that took the application"},
    {.name = "approved_rials", .type = HY_T_MONEY, .doc = "amount approved"},
    {.name = "approved_on", .type = HY_T_DATE, .doc = "approval date"},
    {.name = "approved_by", .type = HY_T_STRING,
     .doc = "the API key that approved (never the one that applied or appraised)"},
    {.name = "fee_rials", .type = HY_T_MONEY,
     .doc = "service fee of the schedule in force (at approval: of the approved amount)"},
    {.name = "terms", .type = HY_T_ANY, .doc = "the product's terms as at approval"},
    {.name = "rejection", .type = HY_T_ANY, .doc = "reason and date"},
    {.name = "withdrawal", .type = HY_T_ANY, .doc = "reason and date (status withdrawn)"},
    {.name = "disbursements", .type = HY_T_ANY, .doc = "tranches: amount_rials, date"},
    {.name = "disbursed_rials", .type = HY_T_MONEY, .doc = "disbursed in all"},
    {.name = "disbursed_on", .type = HY_T_DATE, .doc = "date the approved amount was complete"},
    {.name = "tranches_closed", .type = HY_T_ANY,
     .doc = "date, previous_approved_rials, approved_rials: the rest was never paid out"},
    {.name = "schedule", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = installment_result,
     .doc = "installments of what has been paid out, as in force on as_of (GET of one loan "
            "only)"},
    {.name = "repayments", .type = HY_T_ANY,
     .doc = "number (from 1, in the order recorded), amount_rials, date, reference, fee_rials "
            "and principal_rials allocated; void_request while a void awaits approval"},
    {.name = "repaid_rials", .type = HY_T_MONEY, .doc = "repaid in all"},
    {.name = "reschedules", .type = HY_T_ANY,
     .doc = "each rescheduling: date, reason, term_months, what was outstanding and overdue"},
    {.name = "restructured", .type = HY_T_BOOL,
     .doc = "rescheduled on or before as_of (the loan as shown is computed as of as_of)"},
    {.name = "schedule_history", .type = HY_T_ANY,
     .doc = "each schedule replaced (by a later tranche, a rescheduling or an early payoff): "
            "change, until (the date the next took effect), schedule"},
    {.name = "write_off", .type = HY_T_ANY, .doc = "reason, date, principal_rials, fee_rials"},
    {.name = "recoveries", .type = HY_T_ANY,
     .doc = "after a write-off: amount_rials, date, reference"},
    {.name = "recovered_rials", .type = HY_T_MONEY, .doc = "recovered after the write-off, in all"},
    {.name = "closed_on", .type = HY_T_DATE, .doc = "date the last rial was repaid"},
    {.name = "as_of", .type = HY_T_DATE, .doc = "the date the figures below are computed for"},
    {.name = "paid_rials", .type = HY_T_MONEY, .doc = "repaid by as_of"},
    {.name = "due_rials", .type = HY_T_MONEY, .doc = "installments due by as_of"},
    {.name = "overdue_rials", .type = HY_T_MONEY, .doc = "due by as_of and not repaid"},
    {.name = "outstanding_principal_rials", .type = HY_T_MONEY, .doc = "as of as_of"},
    {.name = "outstanding_fee_rials", .type = HY_T_MONEY, .doc = "as of as_of"},
    {.name = "outstanding_rials", .type = HY_T_MONEY, .doc = "principal plus fee"},
    {.name = "payoff_rials", .type = HY_T_MONEY,
     .doc = "what closes the loan if paid on as_of (declining fee: only the fee accrued)"},
    {.name = "days_past_due", .type = HY_T_INT,
     .doc = "as_of minus the due date of the oldest installment not fully paid"},
    {.name = "aging_bucket", .type = HY_T_ENUM, .enums = BUCKETS, .doc = "aging bucket"},
    {.name = "lead_entrepreneur", .type = HY_T_BOOL, .doc = "(queue) the borrower leads a network"},
    {.name = "position", .type = HY_T_INT, .doc = "(queue) place in the approval order"},
    {.name = "voided_disbursements", .type = HY_T_ANY,
     .doc = "disbursements voided under maker-checker, as recorded with voided, voided_by, "
            "voided_at, void_reason"},
    {.name = "voided_repayments", .type = HY_T_ANY,
     .doc = "repayments voided under maker-checker: as recorded, with voided, voided_by, "
            "voided_at, void_reason and the void_request; they count nowhere"},
    {0},
};

static const hy_field_t void_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 2000,
     .doc = "why the repayment was recorded by mistake"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

/* Designated initializers: the table reads the same whatever fields hy_op_spec_t grows. */
#define OP(NAME, HANDLER, METHOD, PATH, ROLES, ARGS, RESULT, OK, LIST, SUMMARY)                          \
    {.op = NAME, .handler = HANDLER, .method = METHOD, .path = PATH, .roles = ROLES, .args = ARGS, .result = RESULT, \
     .ok_status = OK, .list = LIST, .summary = SUMMARY}

static const hy_op_spec_t loans_ops[] = {
    OP("products.create", loans_product_create, "POST", "/v1/loan-products", WRITE, product_args, product_result, 201,
       false, "Create a loan product for a fiscal year"),
    OP("products.get", loans_h_product_get, "GET", "/v1/loan-products/{id}", READ, NULL, product_result, 200, false,
       "Get a loan product"),
    OP("products.list", loans_product_list, "GET", "/v1/loan-products", READ, product_list_args, product_result, 200,
       true, "List loan products"),
    OP("loans.create", loans_loan_create, "POST", "/v1/loans", WRITE, loan_create_args, loan_result, 201, false,
       "Apply for a loan"),
    OP("loans.appraise", loans_loan_appraise, "POST", "/v1/loans/{id}/appraise", WRITE, appraise_args, loan_result,
       200, false, "Record the appraisal of an application"),
    OP("loans.approve", loans_loan_approve, "POST", "/v1/loans/{id}/approve", WRITE, approve_args, loan_result, 200,
       false, "Approve an appraised application (amount at most the requested)"),
    OP("loans.reject", loans_loan_reject, "POST", "/v1/loans/{id}/reject", WRITE, reason_args, loan_result, 200,
       false, "Reject an application with a reason"),
    OP("loans.withdraw", loans_loan_withdraw, "POST", "/v1/loans/{id}/withdraw", WRITE, reason_args, loan_result,
       200, false, "Withdraw an application or an undisbursed approval at the applicant's request"),
    OP("loans.disburse", loans_loan_disburse, "POST", "/v1/loans/{id}/disburse", WRITE, disburse_args, loan_result,
       200, false, "Pay out a tranche (never more than approved in total)"),
    OP("loans.close_tranches", loans_loan_close_tranches, "POST", "/v1/loans/{id}/close-tranches", WRITE, NULL,
       loan_result, 200, false,
       "No more tranches: the approved amount shrinks to what was disbursed"),
    OP("loans.repay", loans_loan_repay, "POST", "/v1/loans/{id}/repayments", WRITE, repay_args, loan_result, 201,
       false, "Record a repayment (oldest installment first, fee before principal)"),
    OP("loans.write_off", loans_loan_write_off, "POST", "/v1/loans/{id}/write-off", OPER, reason_args, loan_result,
       200, false, "Write a loan off with a reason (operator)"),
    OP("loans.recover", loans_loan_recover, "POST", "/v1/loans/{id}/recoveries", WRITE | OPER, recovery_args,
       loan_result, 201, false, "Record money recovered after a write-off"),
    OP("loans.reschedule", loans_loan_reschedule, "POST", "/v1/loans/{id}/reschedule", OPER, reschedule_args,
       loan_result, 200, false,
       "Restructure a loan in arrears: spread what it owes over new installments (operator)"),
    OP("loans.get", loans_loan_get, "GET", "/v1/loans/{id}", READ, as_of_args, loan_result, 200, false,
       "Get a loan with its schedule and arrears as of a date"),
    OP("loans.list", loans_loan_list, "GET", "/v1/loans", READ, loan_list_args, loan_result, 200, true,
       "List loans"),
    OP("loans.queue", loans_loan_queue, "GET", "/v1/loans/queue", READ, NULL, loan_result, 200, true,
       "Applications waiting for a decision: lead entrepreneurs first, then by date"),
    OP("loans.portfolio", loans_portfolio, "GET", "/v1/loans/portfolio", READ, portfolio_args, NULL, 200, false,
       "Portfolio figures (disbursed, outstanding, PAR30, repayment rate) by office and product"),
    OP("loans.age", loans_age, "POST", "/v1/loans/age", OPER, age_args, NULL, 200, false,
       "Daily aging run: emits loans.loan.overdue for loans entering a new aging bucket"),
    OP("loans.repayment_void", loans_repayment_void, "POST", "/v1/loans/{id}/repayments/{number}/void", WRITE | OPER,
       void_args, loan_result, 202, false,
       "Ask to void a repayment recorded by mistake (maker; another key approves)"),
    OP("loans.repayment_void_approve", loans_repayment_void_approve, "POST",
       "/v1/loans/{id}/repayments/{number}/void/approve", WRITE | OPER, NULL, loan_result, 200,
       false, "Approve a requested void (checker: not the key that asked); later repayments "
              "are re-allocated"),
    OP("loans.repayment_void_reject", loans_repayment_void_reject, "POST", "/v1/loans/{id}/repayments/{number}/void/reject",
       WRITE | OPER, void_args, loan_result, 200, false,
       "Turn a requested void down: the repayment stands"),
    OP("loans.disbursement_void", loans_disbursement_void, "POST", "/v1/loans/{id}/disbursements/{number}/void",
       WRITE | OPER, void_args, loan_result, 202, false,
       "Ask to void the last disbursement, recorded by mistake (maker; another key approves)"),
    OP("loans.disbursement_void_approve", loans_disbursement_void_approve, "POST",
       "/v1/loans/{id}/disbursements/{number}/void/approve", WRITE | OPER, NULL, loan_result,
       200, false, "Approve a requested void (checker): the loan is as if never paid out"),
    OP("loans.disbursement_void_reject", loans_disbursement_void_reject, "POST",
       "/v1/loans/{id}/disbursements/{number}/void/reject", WRITE | OPER, void_args, loan_result,
       200, false, "Turn a requested void down: the disbursement stands"),
    {0},
};

extern const hy_event_spec_t loans_events[];
const hy_api_t loans_api = {"loans", "lpr,loan", loans_ops, loans_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
static const hy_field_t loans_ev_loan[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the loan"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the borrower"},
    {.name = "product_id", .type = HY_T_ID, .doc = "the product"},
    {.name = "office", .type = HY_T_STRING, .doc = "the office of the loan"},
    {.name = "status", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the status after the change"},
    {0},
};
static const hy_field_t loans_ev_product[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the product"},
    {0},
};
#define LOAN_EVENT(verb, summary) {"loans.loan." verb, summary, loans_ev_loan}
/* Corrections (issue 15): the data is the loan after, or the void request's record; only the
 * loan's id is certain. */
static const hy_field_t loans_ev_change[] = {
    {.name = "id", .type = HY_T_ID, .doc = "the loan"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after the change"},
    {0},
};
/* What reporting reads of a void or a merge (the rest as loans_ev_change). */
static const hy_field_t loans_ev_rep_before[] = {
    {.name = "number", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "the repayment's number"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "its date"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "what was paid"},
    {.name = "principal_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "of it, principal"},
    {0},
};
static const hy_field_t loans_ev_realloc[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "the repayment's date"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "what it paid"},
    {.name = "principal_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "principal now"},
    {.name = "previous_principal_rials", .type = HY_T_MONEY, .flags = HY_F_REQ,
     .doc = "principal before"},
    {0},
};
static const hy_field_t loans_ev_rep_voided[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the loan"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after the change"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = loans_ev_rep_before,
     .doc = "the repayment as recorded"},
    {.name = "reallocated", .type = HY_T_ARRAY, .sub = loans_ev_realloc,
     .doc = "later repayments whose split was derived again"},
    {.name = "repaid_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "repaid after the void"},
    {0},
};
static const hy_field_t loans_ev_disb_before[] = {
    {.name = "number", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "the tranche's number"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "its date"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "what was paid out"},
    {0},
};
static const hy_field_t loans_ev_disb_voided[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the loan"},
    {.name = "status", .type = HY_T_STRING, .doc = "the status after the change"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = loans_ev_disb_before,
     .doc = "the tranche as recorded"},
    {0},
};
static const hy_field_t loans_ev_merged[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the loan"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the surviving record"},
    {.name = "from_person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the retired record"},
    {0},
};
const hy_event_spec_t loans_events[] = {
    {"loans.product.created", "A loan product was defined", loans_ev_product},
    LOAN_EVENT("applied", "A loan was applied for"),
    LOAN_EVENT("appraised", "A loan was appraised"),
    LOAN_EVENT("approved", "A loan was approved"),
    LOAN_EVENT("rejected", "A loan was rejected"),
    LOAN_EVENT("withdrawn", "A loan was withdrawn by the applicant"),
    LOAN_EVENT("disbursed", "Money of a loan was paid out"),
    LOAN_EVENT("tranches_closed", "A loan's remaining tranches were cancelled"),
    LOAN_EVENT("repayment_recorded", "A repayment was recorded"),
    LOAN_EVENT("closed", "A loan was repaid in full"),
    LOAN_EVENT("overdue", "A loan fell overdue"),
    LOAN_EVENT("rescheduled", "A loan was rescheduled or restructured"),
    LOAN_EVENT("written_off", "A loan was written off"),
    LOAN_EVENT("recovery_recorded", "Money was recovered on a written-off loan"),
    {"loans.loan.repayment_void_requested", "A repayment's void was asked for (maker)", loans_ev_change},
    {"loans.loan.repayment_void_rejected", "A repayment's void was turned down (checker)", loans_ev_change},
    {"loans.loan.repayment_voided", "A repayment was voided (checker): it counts nowhere", loans_ev_rep_voided},
    {"loans.loan.disbursement_void_requested", "A disbursement's void was asked for (maker)", loans_ev_change},
    {"loans.loan.disbursement_void_rejected", "A disbursement's void was turned down (checker)", loans_ev_change},
    {"loans.loan.disbursement_voided", "The last disbursement was voided (checker)", loans_ev_disb_voided},
    {"loans.loan.reopened", "A loan closed by a voided repayment is open again", loans_ev_change},
    {"loans.loan.person_merged", "A loan now belongs to the surviving record of a merge", loans_ev_merged},
    {0},
};
#undef LOAN_EVENT
