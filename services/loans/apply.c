/*
 * apply.c — a loan from application to approval or rejection, and the rules that may refuse it.
 *
 * Application (422 unless said): the product must exist (unknown_product) and belong to the
 * fiscal year of the application date (product_not_current: last year's cap must not outlive
 * its cut); applied_on defaults to today and may be earlier (a paper application being
 * migrated), never later (future_date). The person and the business must be known
 * (unknown_person, unknown_business), the business owned by the person (business_not_owned)
 * and at least at the product's minimum stage (stage_too_early; "a loan is not given at the
 * start"); a network product only for a lead entrepreneur of an active network or a business
 * with a supporter licence (not_eligible_for_product); the term at most the product's
 * (over_term); the person may have no other loan in progress (active_loan_exists); and her
 * approved total of the product's kind in its fiscal year plus this amount may not pass the
 * product's cap (over_cap: caps are per kind, per person, per fiscal year). Every refusal based
 * on what the registry or the networks service told us is made only after the request has
 * parked until we caught up with them (hy_park), so a person registered a moment ago is never
 * refused, and nothing waits on them inside a transaction. The loan belongs to the person's
 * office; a key of another office may not apply for her (403 other_office).
 *
 * Appraisal records the appraiser's recommendation (0: not viable), its date (not before the
 * application) and the API key. Approval (Fineract's maker-checker):
 *   - by a key other than the ones that applied and appraised (same_approver);
 *   - never above the recommendation (over_recommended; default: the recommendation), and a
 *     recommendation of 0 blocks it (appraisal_negative);
 *   - dated on or after the application and the appraisal (date_out_of_order);
 *   - under the product of the approval date's fiscal year: the loan's own when it is that
 *     year's, else product_id naming that year's product of the same kind; otherwise
 *     product_not_current, naming the product that now applies (same name, else same kind) in
 *     current_product_id. The cap is checked again with the approved amount and that product;
 *     the fee is fixed by its method and the product's terms are copied into the loan.
 * Rejection (applied or appraised) and withdrawal at the applicant's request (applied,
 * appraised or approved; Fineract's "withdrawn by applicant") end the loan with a reason and
 * release the person and her cap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"
#include "scope.h"

/* The person's loans other than `self`: whether one is in progress, and the approved total in
 * fiscal year `year`. Returns 0 or an LMDB error. */
static int s_person_loans(hy_ctx_t *ctx, uint64_t person, int year, const char *kind,
                          uint64_t self, char active[32], int64_t *approved)
{
    loans_t *st = loans_state(ctx);
    uint8_t key[10] = {'p', ':'};
    hy_key_u64(person, key + 2);
    MDB_cursor *cur;
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_cursor_open(ctx->txn, st->loan_idx, &cur);
    if (rc)
        return rc;
    active[0] = '\0';
    *approved = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        uint64_t n = hy_key_u64_get(v.mv_data);
        json_t *loan = NULL;
        if (n == self)
            continue;
        if ((rc = hy_store_get_id(ctx->txn, st->loans, n, &loan)) != 0)
            break;
        int status = loans_status_parse(hy_json_str(loan, "status"));
        if (loans_status_active(status) && !active[0])
            snprintf(active, 32, "%s", hy_json_str(loan, "id"));
        const char *lk = hy_json_str(loan, "kind");
        bool same_kind = !kind || !lk || strcmp(kind, lk) == 0;
        if (loans_status_approved(status) && same_kind && hy_json_int(loan, "fiscal_year", 0) == year &&
            __builtin_add_overflow(*approved, hy_json_int(loan, "approved_rials", 0), approved))
            rc = MDB_CORRUPTED;
        json_decref(loan);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* over_cap: the person's approved total in the product's year plus amount against its cap. */
static int s_check_cap(hy_ctx_t *ctx, const json_t *product, int64_t approved, int64_t amount,
                       const char *field)
{
    int64_t cap = hy_json_int(product, "cap_rials", 0), total;
    if (__builtin_add_overflow(approved, amount, &total) || total > cap) {
        hy_fail(ctx, 422, "over_cap", field,
                "%lld rials would bring the person's approved loans in fiscal year %lld to more "
                "than the cap of %lld rials (already approved: %lld)",
                (long long)amount, (long long)hy_json_int(product, "fiscal_year", 0), (long long)cap,
                (long long)approved);
        hy_fail_extra(ctx, "cap_rials", json_integer(cap));
        hy_fail_extra(ctx, "approved_rials", json_integer(approved));
        return -1;
    }
    return 0;
}

/* Who may borrow on a network product: a lead entrepreneur of an active network, or the owner
 * of a business with a supporter licence (both learnt from events: projection.c). Before a
 * refusal the request parks until we have caught up with the networks service (a lead assigned
 * a moment ago), unless it has parked already. */
static int s_check_eligible(hy_ctx_t *ctx, const json_t *product, uint64_t person,
                            bool supporter)
{
    const char *kind = hy_json_str(product, "kind");
    if (!kind || strcmp(kind, "network") != 0 || supporter || loans_is_lead(ctx, person))
        return 0;
    int parked = hy_park(ctx, "networks");
    if (parked)
        return parked;
    return hy_fail(ctx, 422, "not_eligible_for_product", "product_id",
                   "%s is a network product: only a lead entrepreneur of an active network or a "
                   "business with a supporter licence may borrow on it",
                   hy_json_str(product, "id"));
}

/* The person and business rules. A person or business not seen yet, or a business below the
 * product's stage, parks the request until we have caught up with the registry (shared/
 * persons.h: nothing waits inside a transaction), so one registered or moved on a moment ago is
 * never refused. *office gets the person's office (65 bytes); a key of another office may not
 * apply for her (403 other_office). */
static int s_check_parties(hy_ctx_t *ctx, const json_t *args, const json_t *product,
                           uint64_t *person, char office[65])
{
    const char *pid = hy_json_str(args, "person_id"), *bid = hy_json_str(args, "business_id");
    uint64_t bus, owner = 0;
    int stage = -1, rc, status;
    bool supporter = false;
    if ((status = loans_person(ctx, pid, "person_id", person, office)) != 0 ||
        (status = hy_scope_write(ctx, "person_id", office)) != 0)
        return status;
    if (hy_id_parse("bus", bid, &bus) != 0)
        return hy_fail(ctx, 422, "unknown_business", "business_id", "%s is not a business id",
                       bid);
    int min = loans_stage_rank(hy_json_str(product, "min_stage"));
    rc = loans_business_get(ctx, bus, &owner, &stage, &supporter);
    if (rc && rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    if ((rc == MDB_NOTFOUND || stage < min) && (status = hy_park(ctx, "registry")) != 0)
        return status;
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_business", "business_id", "no business has the id %s",
                       bid);
    if (owner != *person)
        return hy_fail(ctx, 422, "business_not_owned", "business_id",
                       "business %s does not belong to %s", bid, pid);
    if (stage < min)
        return hy_fail(ctx, 422, "stage_too_early", "business_id",
                       "business %s has not reached the %s stage this product requires", bid,
                       hy_json_str(product, "min_stage"));
    return s_check_eligible(ctx, product, *person, supporter);
}

/* The product rules: it exists and is of the application's fiscal year. */
static int s_check_product(hy_ctx_t *ctx, const char *id, int64_t applied, json_t **product)
{
    int rc = loans_product_load(ctx, id, product);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_product", "product_id", "no loan product has the id %s",
                       id);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int year = loans_fiscal_year(applied);
    if (hy_json_int(*product, "fiscal_year", 0) != year)
        return hy_fail(ctx, 422, "product_not_current", "product_id",
                       "%s is a product of fiscal year %lld; this is fiscal year %d", id,
                       (long long)hy_json_int(*product, "fiscal_year", 0), year);
    return 0;
}

/* Person-level rules shared by application and approval: one loan at a time, and the cap. */
static int s_check_person(hy_ctx_t *ctx, uint64_t person, uint64_t self, const json_t *product,
                          int64_t amount, const char *field)
{
    char active[32];
    int64_t approved;
    int rc = s_person_loans(ctx, person, (int)hy_json_int(product, "fiscal_year", 0),
                            hy_json_str(product, "kind"), self, active, &approved);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (active[0]) {
        hy_fail(ctx, 422, "active_loan_exists", "person_id",
                "the person already has loan %s in progress", active);
        hy_fail_extra(ctx, "existing_id", json_string(active));
        return -1;
    }
    return s_check_cap(ctx, product, approved, amount, field);
}

/* Checks every rule of an application, then records it as "applied" with the actor's office. */
int loans_loan_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    loans_t *st = loans_state(ctx);
    json_t *product = NULL, *loan = NULL;
    uint64_t person, n;
    int64_t amount = hy_json_int(args, "amount_rials", 0);
    json_t *term_arg = json_object_get(args, "term_months");
    int64_t applied;
    char applied_on[11], office[65] = "";
    int status = loans_arg_date(ctx, args, "applied_on", &applied, applied_on);
    if (status || (status = s_check_product(ctx, hy_json_str(args, "product_id"), applied,
                                            &product)) != 0 ||
        (status = s_check_parties(ctx, args, product, &person, office)) != 0)
        goto done;
    int64_t term = term_arg ? json_integer_value(term_arg) : hy_json_int(product, "term_months", 0);
    if (term > hy_json_int(product, "term_months", 0)) {
        status = hy_fail(ctx, 422, "over_term", "term_months",
                         "the product allows at most %lld months",
                         (long long)hy_json_int(product, "term_months", 0));
        goto done;
    }
    if ((status = s_check_person(ctx, person, 0, product, amount, "amount_rials")) != 0)
        goto done;
    int rc = hy_store_next(ctx->txn, st->meta, "loan", &n);
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    char id[32];
    hy_id_format("loan", n, id, sizeof id);
    const char *purpose = hy_json_str(args, "purpose");
    loan = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:s,s:s,s:s,s:I,s:I}", "id", id, "person_id",
                     json_object_get(args, "person_id"), "business_id",
                     json_object_get(args, "business_id"), "product_id",
                     json_object_get(args, "product_id"), "kind", json_object_get(product, "kind"),
                     "fiscal_year", json_object_get(product, "fiscal_year"), "office",
                     office[0] ? office : loans_actor_office(ctx), "status", "applied", "purpose",
                     purpose ? purpose : "", "requested_rials", (json_int_t)amount,
                     "term_months", (json_int_t)term);
    if (!loan) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    loans_set_date(loan, "applied_on", applied_on);
    json_object_set_new(loan, "created_by",
                        json_string(ctx->req ? ctx->req->actor.key_id : ""));
    json_object_set_new(loan, "created_at", json_string(ctx->now_iso));
    status = loans_commit(ctx, n, -1, loan, "applied",
                          json_pack("{s:I,s:I,s:s,s:s}", "requested_rials", (json_int_t)amount,
                                    "term_months", (json_int_t)term, "purpose",
                                    purpose ? purpose : "", "date", applied_on), out);
done:
    json_decref(product);
    return status;
}

/* The appraiser's recommendation moves an application to "appraised". */
int loans_loan_appraise(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int old, status = loans_load_in(ctx, args, 1u << LOANS_APPLIED, "appraised", &n, &loan, &old);
    if (status)
        return status;
    int64_t rec = hy_json_int(args, "recommended_amount_rials", 0), day;
    char date[11];
    if ((status = loans_arg_date(ctx, args, "date", &day, date)) != 0 ||
        (strcmp(date, hy_json_str(loan, "applied_on")) < 0 &&
         (status = hy_fail(ctx, 422, "date_out_of_order", "date",
                           "appraisal on %s is before the application on %s", date,
                           hy_json_str(loan, "applied_on"))) != 0)) {
        json_decref(loan);
        return status;
    }
    if (rec > hy_json_int(loan, "requested_rials", 0)) {
        status = hy_fail(ctx, 422, "over_requested", "recommended_amount_rials",
                         "the recommendation may not exceed the %lld rials requested",
                         (long long)hy_json_int(loan, "requested_rials", 0));
        json_decref(loan);   /* after the message has read it */
        return status;
    }
    const char *notes = hy_json_str(args, "notes");
    json_t *appraisal = json_pack("{s:O,s:s,s:I,s:s}", "appraiser",
                                  json_object_get(args, "appraiser"), "notes", notes ? notes : "",
                                  "recommended_amount_rials", (json_int_t)rec, "appraised_by",
                                  ctx->req ? ctx->req->actor.key_id : "");
    loans_set_date(appraisal, "date", date);
    json_object_set_new(loan, "appraisal", appraisal);
    json_object_set_new(loan, "status", json_string("appraised"));
    return loans_commit(ctx, n, old, loan, "appraised", json_pack("{s:O}", "appraisal", appraisal),
                        out);
}

/* The product's terms as the loan keeps them from approval on. */
static json_t *s_terms(const json_t *product)
{
    static const char *const keys[] = {"name",         "kind",      "cap_rials",
                                       "fee_rate_bp",  "fee_method", "term_months",
                                       "grace_months", "min_stage", "fiscal_year"};
    json_t *terms = json_object();
    for (size_t i = 0; terms && i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(terms, keys[i], json_object_get(product, keys[i]));
    return terms;
}

/* Maker-checker: the key that approves is neither the one that applied nor the one that
 * appraised (422 same_approver). */
static int s_check_checker(hy_ctx_t *ctx, const json_t *loan)
{
    const char *me = ctx->req ? ctx->req->actor.key_id : NULL;
    const char *maker = hy_json_str(loan, "created_by");
    const char *appraiser = hy_json_str(json_object_get(loan, "appraisal"), "appraised_by");
    if (!me || !*me)
        return 0;
    if ((maker && strcmp(me, maker) == 0) || (appraiser && strcmp(me, appraiser) == 0))
        return hy_fail(ctx, 422, "same_approver", NULL,
                       "the key %s %s loan %s: another key must approve it", me,
                       maker && strcmp(me, maker) == 0 ? "took the application for"
                                                       : "appraised",
                       hy_json_str(loan, "id"));
    return 0;
}

/* The product the loan is approved under: the one of the approval date's fiscal year. The
 * loan's own product when it is that year's; else args.product_id, a product of that year and
 * of the loan's kind; else 422 product_not_current naming the product that now applies (same
 * name, else same kind; null when the year has none). */
static int s_approval_product(hy_ctx_t *ctx, const json_t *loan, const json_t *args, int year,
                              json_t **product)
{
    const char *given = hy_json_str(args, "product_id");
    const char *id = given ? given : hy_json_str(loan, "product_id");
    int rc = loans_product_load(ctx, id, product);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_product", "product_id",
                       "no loan product has the id %s", id ? id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    const char *kind = hy_json_str(*product, "kind"), *want = hy_json_str(loan, "kind");
    if (given && kind && want && strcmp(kind, want) != 0)
        return hy_fail(ctx, 422, "product_kind_mismatch", "product_id",
                       "%s is a %s product; loan %s is %s", id, kind, hy_json_str(loan, "id"), want);
    if (hy_json_int(*product, "fiscal_year", 0) == year)
        return 0;
    char current[32] = "";
    rc = loans_product_current(ctx, *product, year, current);
    if (rc && rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    hy_fail(ctx, 422, "product_not_current", "product_id",
            "%s is a product of fiscal year %lld; an approval in fiscal year %d is made under "
            "that year's product%s%s",
            id, (long long)hy_json_int(*product, "fiscal_year", 0), year, current[0] ? " " : "",
            current);
    hy_fail_extra(ctx, "current_product_id", current[0] ? json_string(current) : json_null());
    return -1;
}

/* What the appraisal allows: approval needs a positive recommendation and grants at most it,
 * on or after the appraisal date. *amount gets the amount (default the recommendation). */
static int s_check_appraisal(hy_ctx_t *ctx, const json_t *loan, const json_t *args,
                             const char *date, int64_t *amount)
{
    const json_t *appraisal = json_object_get(loan, "appraisal");
    int64_t rec = hy_json_int(appraisal, "recommended_amount_rials", 0);
    json_t *amount_arg = json_object_get(args, "amount_rials");
    *amount = amount_arg ? json_integer_value(amount_arg) : rec;
    if (rec <= 0)
        return hy_fail(ctx, 422, "appraisal_negative", NULL,
                       "the appraisal of loan %s recommends nothing: reject it or appraise again",
                       hy_json_str(loan, "id"));
    if (*amount > rec)
        return hy_fail(ctx, 422, "over_recommended", "amount_rials",
                       "the approved amount may not exceed the %lld rials recommended",
                       (long long)rec);
    const char *applied = hy_json_str(loan, "applied_on"), *appraised = hy_json_str(appraisal, "date");
    const char *after = appraised && strcmp(appraised, applied) > 0 ? appraised : applied;
    if (strcmp(date, after) < 0)
        return hy_fail(ctx, 422, "date_out_of_order", "date",
                       "approval on %s is before the %s on %s", date,
                       after == applied ? "application" : "appraisal", after);
    return 0;
}

/* The fee of the approved amount paid out at once on day, by the product's method. */
int loans_approval_fee(const json_t *product, int64_t amount, int64_t term, int64_t day,
                          int64_t *fee)
{
    const char *method = hy_json_str(product, "fee_method");
    int64_t rate = hy_json_int(product, "fee_rate_bp", 0);
    int first = 1 + (int)hy_json_int(product, "grace_months", 0);
    if (!method || strcmp(method, "declining") != 0)
        return loans_fee(amount, rate, term, fee);
    loans_line_t *lines = calloc((size_t)term, sizeof *lines);
    int rc = !lines || loans_schedule(amount, 0, (int)term, day, first, lines) != 0 ||
             loans_declining_fees(lines, (size_t)term, 0, amount, rate, first) != 0;
    *fee = 0;
    for (int64_t k = 0; !rc && k < term; k++)
        rc = __builtin_add_overflow(*fee, lines[k].a, fee);
    free(lines);
    return rc ? -1 : 0;
}

/* Approves an appraised loan: amount, fee and a copy of the product terms are fixed here. */
int loans_loan_approve(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL, *product = NULL;
    uint64_t n, person;
    int64_t day, fee, amount;
    char date[11];
    int old, status = loans_load_in(ctx, args, 1u << LOANS_APPRAISED, "approved", &n, &loan, &old);
    if (status)
        return status;
    int64_t requested = hy_json_int(loan, "requested_rials", 0);
    if ((status = s_check_checker(ctx, loan)) != 0 ||
        (status = loans_arg_date(ctx, args, "date", &day, date)) != 0 ||
        (status = s_check_appraisal(ctx, loan, args, date, &amount)) != 0 ||
        (status = s_approval_product(ctx, loan, args, loans_fiscal_year(day), &product)) != 0)
        goto done;
    int64_t term = hy_json_int(loan, "term_months", 0);
    if (term > hy_json_int(product, "term_months", 0)) {
        status = hy_fail(ctx, 422, "over_term", "term_months",
                         "the product allows at most %lld months",
                         (long long)hy_json_int(product, "term_months", 0));
        goto done;
    }
    hy_id_parse("prs", hy_json_str(loan, "person_id"), &person);
    if ((status = s_check_person(ctx, person, n, product, amount, "amount_rials")) != 0)
        goto done;
    if (loans_approval_fee(product, amount, term, day, &fee) != 0) {
        status = hy_fail(ctx, 422, "amount_too_large", "amount_rials",
                         "the fee on this amount does not fit in the ledger");
        goto done;
    }
    if (strcmp(hy_json_str(product, "id"), hy_json_str(loan, "product_id")) != 0 &&
        (status = loans_move_product(ctx, n, loan, product)) != 0)
        goto done;
    json_object_set_new(loan, "approved_rials", json_integer(amount));
    json_object_set_new(loan, "fee_rials", json_integer(fee));
    loans_set_date(loan, "approved_on", date);
    json_object_set_new(loan, "approved_by", json_string(ctx->req ? ctx->req->actor.key_id : ""));
    json_object_set_new(loan, "terms", s_terms(product));
    json_object_set_new(loan, "disbursed_rials", json_integer(0));
    json_object_set_new(loan, "status", json_string("approved"));
    status = loans_commit(ctx, n, old, loan, "approved",
                          json_pack("{s:I,s:I,s:I,s:I,s:I,s:O,s:s}", "requested_rials",
                                    (json_int_t)requested, "approved_rials", (json_int_t)amount,
                                    "fee_rials", (json_int_t)fee, "term_months", (json_int_t)term,
                                    "fee_rate_bp", (json_int_t)hy_json_int(product, "fee_rate_bp", 0),
                                    "grace_months", json_object_get(product, "grace_months"),
                                    "date", date), out);
    loan = NULL;
done:
    json_decref(loan);
    json_decref(product);
    return status;
}

/* Ends a loan with the reason staff give: "rejection" (lender's decision) or "withdrawal" (the
 * applicant's request); the loan leaves the person's active loans and her cap. */
static int s_end(hy_ctx_t *ctx, json_t *args, unsigned allowed, const char *status_name,
                 const char *what, const char *key, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int old, status = loans_load_in(ctx, args, allowed, what, &n, &loan, &old);
    if (status)
        return status;
    json_t *end = json_pack("{s:O}", "reason", json_object_get(args, "reason"));
    loans_set_date(end, "date", ctx->today);
    json_object_set_new(loan, key, end);
    json_object_set_new(loan, "status", json_string(status_name));
    return loans_commit(ctx, n, old, loan, status_name,
                        json_pack("{s:O,s:s}", "reason", json_object_get(args, "reason"), "date",
                                  ctx->today), out);
}

/* Rejects an application (applied or appraised) with the reason staff give. */
int loans_loan_reject(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    return s_end(ctx, args, 1u << LOANS_APPLIED | 1u << LOANS_APPRAISED, "rejected", "rejected",
                 "rejection", out);
}

/* Withdraws a loan before any money is out, at the applicant's request (Fineract's "withdrawn
 * by applicant"): from applied, appraised or approved; an approved amount stops counting
 * against her yearly cap. */
int loans_loan_withdraw(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    return s_end(ctx, args, 1u << LOANS_APPLIED | 1u << LOANS_APPRAISED | 1u << LOANS_APPROVED,
                 "withdrawn", "withdrawn", "withdrawal", out);
}
