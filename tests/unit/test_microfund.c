/*
 * test_microfund.c — the micro-fund service through the skeleton's test entry points (role and
 * argument checks, handler, commit, outbox; no sockets, a fixed clock), plus its share-out
 * arithmetic as a pure function over generated cases.
 *
 * Persons are fed as registry events with hy_service_apply, as the follow loop would.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/microfund/microfund.h"
#include "fa.h"
#include "test.h"
#include "testutil.h"

#define NOW 1718452800 /* 2024-06-15 12:00 UTC: today is 2024-06-15 in Tehran */
#define FACILITATOR 900

/* The service's clock for the next s_open: NOW unless a test needs a later today (dates after
 * today are refused as future_date). */
static int64_t s_now = NOW;

typedef struct {
    char dir[64];
    hy_service_t *svc;
    int status;        /* status of the last call */
    uint64_t seq;      /* registry events fed so far */
} s_env_t;

/* ------------------------------------------------------------------ helpers ------------- */

static uint64_t s_rng = 88172645463325252ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}
static int64_t s_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(s_rand() % (uint64_t)(hi - lo + 1));
}

/* Calls op as role with printf-built args; the reply is the caller's, env->status its status. */
static json_t *s_vcall(s_env_t *e, const char *role, const char *op, const char *fmt, va_list ap)
{
    return hy_test_vcall(e->svc, op, role, "office-1", &e->status, fmt, ap);
}

static json_t *s_as(s_env_t *e, const char *role, const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *r = s_vcall(e, role, op, fmt, ap);
    va_end(ap);
    return r;
}

static json_t *s_do(s_env_t *e, const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *r = s_vcall(e, "social_services", op, fmt, ap);
    va_end(ap);
    return r;
}

/* As s_as, acting for the whole province (office "*"): hy_service_calls acts for office-1, and
 * an office key sees and writes only its own office's funds. */
static json_t *s_prov(s_env_t *e, const char *role, const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *reply = hy_test_vcall(e->svc, op, role, "*", &e->status, fmt, ap);
    va_end(ap);
    return reply;
}

static json_t *s_res(json_t *reply)
{
    return json_object_get(reply, "result");
}

static int64_t s_i(const json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

static const char *s_code(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* Feeds the registry's event for person prs_<n>. */
static void s_person(s_env_t *e, unsigned n)
{
    char id[32];
    snprintf(id, sizeof id, "prs_%u", n);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:{s:s, s:s, s:s, s:s}}", "source",
                           "hamyar/registry", "type", "registry.person.registered", "subject",
                           id, "sequence", (json_int_t)++e->seq, "data", "id", id, "office",
                           "office-1", "neighbourhood", "shahr-e rey", "sex", "female");
    CHECK(hy_service_apply(e->svc, "registry", ev) == 0);
    json_decref(ev);
}

static void s_open(s_env_t *e)
{
    memset(e, 0, sizeof *e);
    hy_test_tmpdir(e->dir);
    e->svc = hy_service_new(&microfund_def, e->dir, s_now);
    CHECK(e->svc != NULL);
    s_person(e, FACILITATOR);
}

static void s_close(s_env_t *e)
{
    hy_service_destroy(&e->svc);
    hy_test_rmdir(e->dir);
}

/* Forms a fund over 2024 with the given rules (JSON members); its id goes to id. */
static void s_fund(s_env_t *e, const char *rules, char id[32])
{
    json_t *r = s_do(e, "funds.create",
                     "{\"name\":\"Golha\",\"neighbourhood\":\"Shahr-e Rey\","
                     "\"facilitator_person_id\":\"prs_%d\",\"date\":\"2023-12-20\","
                     "\"cycle\":{\"start\":\"2024-01-01\",\"end\":\"2024-12-31\"},\"rules\":{%s}}",
                     FACILITATOR, rules);
    CHECK_EQ_INT(e->status, 201);
    snprintf(id, 32, "%s", e->status == 201 ? json_string_value(json_object_get(s_res(r), "id")) : "");
    json_decref(r);
}

/* Registers and enrols prs_<first>..prs_<first+n-1>. */
static void s_members(s_env_t *e, const char *fund, unsigned first, unsigned n)
{
    for (unsigned p = first; p < first + n; p++) {
        s_person(e, p);
        json_decref(s_do(e, "fund_members.join",
                         "{\"id\":\"%s\",\"person_id\":\"prs_%u\",\"joined\":\"2024-01-01\"}",
                         fund, p));
        CHECK_EQ_INT(e->status, 201);
    }
}

/* A service with a fund of the given rules and members prs_1..prs_<members>. */
static void s_setup(s_env_t *e, const char *rules, char fund[32], unsigned members)
{
    s_open(e);
    s_fund(e, rules, fund);
    s_members(e, fund, 1, members);
}

/* The fund as GET shows it (new reference). */
static json_t *s_get(s_env_t *e, const char *fund)
{
    json_t *r = s_as(e, "auditor", "funds.get", "{\"id\":\"%s\"}", fund);
    CHECK_EQ_INT(e->status, 200);
    json_t *f = json_incref(s_res(r));
    json_decref(r);
    return f;
}

static int64_t s_cash(s_env_t *e, const char *fund, const char *key)
{
    json_t *f = s_get(e, fund);
    int64_t v = s_i(json_object_get(f, "cash"), key);
    json_decref(f);
    return v;
}

static json_t *s_events(s_env_t *e)
{
    json_t *r = s_as(e, "operator", "events.since", "{\"after\":0,\"limit\":10000}");
    json_t *evs = json_incref(json_object_get(s_res(r), "events"));
    json_decref(r);
    return evs ? evs : json_array();
}

/* The cash identity of ledger.c, from what GET shows. */
static void s_check_books(s_env_t *e, const char *fund)
{
    json_t *f = s_get(e, fund), *l = json_object_get(f, "ledger"), *c = json_object_get(f, "cash");
    int64_t outstanding = s_i(l, "disbursed_rials") - s_i(l, "principal_repaid_rials") -
                          s_i(l, "principal_settled_rials");
    CHECK_EQ_INT(s_i(c, "loans_outstanding_rials"), outstanding);
    CHECK_EQ_INT(s_i(c, "box_rials"), s_i(l, "savings_rials") + s_i(l, "charges_rials") +
                                          s_i(l, "fines_rials") + s_i(l, "social_fund_in_rials") -
                                          outstanding - s_i(l, "grants_rials") -
                                          s_i(l, "shareouts_rials"));
    CHECK(s_i(c, "box_rials") >= 0);
    CHECK(s_i(c, "social_fund_rials") >= 0);
    CHECK(s_i(c, "loan_cash_rials") >= 0);
    json_decref(f);
}

/* One refusal: the status and code expected, and the fund and outbox untouched. */
static void s_refused(s_env_t *e, const char *fund, int status, const char *code, const char *op,
                      const char *fmt, ...)
{
    json_t *before = s_get(e, fund), *evs = s_events(e);
    va_list ap;
    va_start(ap, fmt);
    json_t *r = s_vcall(e, "social_services", op, fmt, ap);
    va_end(ap);
    if (e->status != status || !s_code(r) || strcmp(s_code(r), code) != 0)
        fprintf(stderr, "  expected %d %s, got %d %s\n", status, code, e->status,
                s_code(r) ? s_code(r) : "(none)");
    CHECK_EQ_INT(e->status, status);
    CHECK_EQ_STR(s_code(r), code);
    json_t *after = s_get(e, fund), *evs2 = s_events(e);
    CHECK(json_equal(before, after));
    CHECK_EQ_INT(json_array_size(evs2), json_array_size(evs));
    json_decref(r);
    json_decref(before);
    json_decref(after);
    json_decref(evs);
    json_decref(evs2);
}

#define MEETING(fund, date, body) "{\"id\":\"%s\",\"date\":\"" date "\"," body "}", fund

/* ------------------------------------------------------------- pure arithmetic ------------ */

static void test_split_generated(void)
{
    int64_t w[40], out[40];
    uint64_t tie[40];
    for (int c = 0; c < 3000; c++) {
        size_t n = (size_t)s_between(1, 40);
        int64_t total = 0, amount = s_between(0, c % 3 ? 100000 : INT64_MAX / 100000);
        for (size_t i = 0; i < n; i++) {
            w[i] = s_between(0, c % 5 ? 20 : 100000);
            tie[i] = (uint64_t)(n - i) * 7;   /* distinct, not in index order */
            total += w[i];
        }
        if (total == 0)
            w[0] = total = 1;
        CHECK(microfund_split(amount, w, tie, n, out) == 0);
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            __int128 exact = (__int128)amount * w[i];
            int64_t floor = (int64_t)(exact / total), extra = out[i] - floor;
            CHECK(extra == 0 || extra == 1);
            sum += out[i];
            /* whoever got an extra rial goes before whoever did not */
            for (size_t j = 0; j < n && extra == 1; j++) {
                int64_t fj = (int64_t)((__int128)amount * w[j] / total);
                if (out[j] - fj == 0) {
                    __int128 ri = exact % total, rj = ((__int128)amount * w[j]) % total;
                    CHECK(ri > rj || (ri == rj && tie[i] < tie[j]));
                }
            }
        }
        CHECK_EQ_INT(sum, amount);
    }
    int64_t ones[3] = {1, 1, 1}, got[3];
    uint64_t ids[3] = {3, 1, 2};
    CHECK(microfund_split(10, ones, ids, 3, got) == 0);
    CHECK(got[0] == 3 && got[1] == 4 && got[2] == 3);   /* the rial goes to person 1 */
    int64_t zeros[2] = {0, 0};
    CHECK(microfund_split(5, zeros, ids, 2, got) == -1);
}

static void test_shareout_compute_generated(void)
{
    mf_share_t rows[30];
    mf_default_t defs[10];
    for (int c = 0; c < 2000; c++) {
        size_t n = (size_t)s_between(1, 30), nd = (size_t)s_between(0, 4);
        int64_t value = s_between(1, 5000), savings = 0;
        for (size_t i = 0; i < n; i++) {
            rows[i] = (mf_share_t){.person = 1000 - i * 3, .shares = s_between(0, 60)};
            rows[i].savings = rows[i].shares * value;
            savings += rows[i].savings;
        }
        int64_t open = 0, charges = 0;
        for (size_t k = 0; k < nd; k++) {
            defs[k] = (mf_default_t){.borrower = rows[s_between(0, (int64_t)n - 1)].person,
                                     .principal = s_between(0, savings / 2 + 1)};
            defs[k].charge = s_between(0, defs[k].principal / 10 + 1);
            defs[k].nguarantors = (size_t)s_between(0, n > 3 ? 3 : (int64_t)n - 1);
            for (size_t j = 0; j < defs[k].nguarantors; j++)
                defs[k].guarantors[j] = rows[s_between(0, (int64_t)n - 1)].person;
            open += defs[k].principal;
            charges += defs[k].charge;
        }
        int64_t earned = s_between(0, 1000000), social = s_between(0, 50000);
        mf_shareout_t so = {.cash = social + savings + earned - open, .social = social};
        if (savings == 0 && open > 0)
            continue;   /* a loan with nobody's savings behind it cannot happen in a fund */
        if (so.cash < social)
            continue;   /* lent more than the box holds: impossible too */
        CHECK(microfund_shareout_compute(&so, rows, n, defs, nd) == 0);
        CHECK_EQ_INT(so.paid + so.social + so.to_social, so.cash);
        CHECK_EQ_INT(so.profit, earned + charges);   /* a charge settled is earned */
        int64_t profit = 0, taken = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(rows[i].paid >= 0);
            CHECK_EQ_INT(rows[i].paid, rows[i].entitled - rows[i].covered - rows[i].loss);
            CHECK_EQ_INT(rows[i].entitled, rows[i].savings + rows[i].profit);
            if (so.shares > 0) {
                int64_t floor = (int64_t)((__int128)so.profit * rows[i].shares / so.shares);
                CHECK(rows[i].profit - floor == 0 || rows[i].profit - floor == 1);
            }
            profit += rows[i].profit;
            taken += rows[i].covered + rows[i].loss;
        }
        CHECK_EQ_INT(profit, so.shares > 0 ? so.profit : 0);
        CHECK_EQ_INT(taken, open + charges);
        /* payouts + settled debts + group loss == the fund's cash (less the social fund it
         * keeps) + what the open loans owed: every rial accounted for */
        int64_t settled = 0, shared = 0;
        for (size_t k = 0; k < nd; k++) {
            int64_t by = defs[k].by_borrower + defs[k].shared;
            for (size_t j = 0; j < defs[k].nguarantors; j++)
                by += defs[k].by_guarantor[j];
            CHECK_EQ_INT(defs[k].debt, defs[k].principal + defs[k].charge);
            CHECK_EQ_INT(by, defs[k].debt);
            CHECK(defs[k].shared >= 0 && defs[k].by_borrower >= 0);
            settled += by - defs[k].shared;
            shared += defs[k].shared;
        }
        CHECK_EQ_INT(so.paid + settled + shared, so.cash - so.social - so.to_social + open + charges);
        /* her own debt first: what a borrower's payout gave to her own loans is all it could,
         * min(her debts, her entitlement), whatever guarantees she gave as well */
        for (size_t i = 0; i < n; i++) {
            int64_t debts = 0, gave = 0;
            for (size_t k = 0; k < nd; k++) {
                if (defs[k].borrower == rows[i].person) {
                    debts += defs[k].debt;
                    gave += defs[k].by_borrower;
                }
            }
            CHECK_EQ_INT(gave, debts < rows[i].entitled ? debts : rows[i].entitled);
        }
    }
}

/* ------------------------------------------------------------- the service -------------- */

#define RULES_A                                                                                \
    "\"share_value_rials\":1000,\"max_shares_per_meeting\":5,\"loan_multiple\":3,"             \
    "\"service_charge_bp_month\":200,\"guarantors_required\":1,\"max_term_months\":3,"         \
    "\"social_fund_rials\":500,\"guarantor_exposure_multiple\":4"

/* A worked example, by hand: two meetings, a loan half repaid, the share-out to the rial. */
static void test_worked_cycle(void)
{
    s_env_t e;
    char fund[32];
    s_setup(&e, RULES_A, fund, 3);
    json_t *r = s_do(&e, "fund_meetings.create",
                     "{\"id\":\"%s\",\"date\":\"2024-02-01\",\"attendance\":[\"prs_1\",\"prs_2\","
                     "\"prs_3\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":5},"
                     "{\"person_id\":\"prs_2\",\"shares\":3},{\"person_id\":\"prs_3\",\"shares\":2}],"
                     "\"social_fund\":[{\"person_id\":\"prs_1\",\"amount_rials\":500},"
                     "{\"person_id\":\"prs_2\",\"amount_rials\":500},{\"person_id\":\"prs_3\","
                     "\"amount_rials\":500}],\"fines\":[{\"person_id\":\"prs_3\",\"amount_rials\":210,"
                     "\"reason\":\"late\"}]}",
                     fund);
    CHECK_EQ_INT(e.status, 201);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "cash"), "box_rials"), 11710);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "totals"), "savings_rials"), 10000);
    json_decref(r);

    r = s_do(&e, "fund_loans.create",
             "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":10000,\"term_months\":2,"
             "\"guarantor_ids\":[\"prs_2\"],\"date\":\"2024-02-10\"}",
             fund);
    CHECK_EQ_INT(e.status, 201);
    CHECK_EQ_INT(s_i(s_res(r), "charge_rials"), 400);   /* 10000 x 200bp x 2 / 10000 */
    CHECK_EQ_STR(json_string_value(json_object_get(s_res(r), "due_date")), "2024-04-09");   /* 1402/11/21 + 2 Jalali months */
    CHECK(json_is_true(json_object_get(s_res(r), "overdue")));   /* today is 2024-06-15 */
    char loan[32];
    snprintf(loan, sizeof loan, "%s", json_string_value(json_object_get(s_res(r), "id")));
    json_decref(r);
    CHECK_EQ_INT(s_cash(&e, fund, "loan_cash_rials"), 210);

    json_decref(s_do(&e, "fund_meetings.create",
                     "{\"id\":\"%s\",\"date\":\"2024-03-01\",\"attendance\":[\"prs_1\",\"prs_2\","
                     "\"prs_3\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":5},"
                     "{\"person_id\":\"prs_2\",\"shares\":5},{\"person_id\":\"prs_3\",\"shares\":5}]}",
                     fund));
    CHECK_EQ_INT(e.status, 201);
    r = s_do(&e, "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":5400,\"date\":\"2024-03-15\"}",
             loan);
    CHECK_EQ_INT(e.status, 201);
    CHECK_EQ_INT(s_i(s_res(r), "paid_charge_rials"), 400);   /* the charge first */
    CHECK_EQ_INT(s_i(s_res(r), "outstanding_principal_rials"), 5000);
    json_decref(r);
    CHECK_EQ_INT(s_cash(&e, fund, "box_rials"), 22110);
    s_check_books(&e, fund);

    json_t *preview = s_do(&e, "funds.shareout", "{\"id\":\"%s\",\"preview\":true,\"date\":\"2024-04-01\"}", fund);
    CHECK_EQ_INT(e.status, 200);
    CHECK_EQ_INT(s_cash(&e, fund, "box_rials"), 22110);   /* a preview writes nothing */
    r = s_do(&e, "funds.shareout", "{\"id\":\"%s\",\"date\":\"2024-04-01\"}", fund);
    CHECK_EQ_INT(e.status, 200);
    json_t *so = s_res(r);
    CHECK(json_equal(json_object_get(so, "payouts"), json_object_get(s_res(preview), "payouts")));
    CHECK_EQ_INT(s_i(so, "profit_rials"), 610);             /* charge 400 + fine 210 */
    CHECK_EQ_INT(s_i(so, "social_fund_carried_rials"), 1500);
    CHECK_EQ_INT(s_i(so, "paid_rials"), 20610);
    /* 610 x 10/25 = 244; x 8/25 = 195.2; x 7/25 = 170.8: the leftover rial goes to prs_3 */
    static const int64_t profit[] = {244, 195, 171}, paid[] = {5244, 8195, 7171};
    json_t *payouts = json_object_get(so, "payouts");
    CHECK_EQ_INT(json_array_size(payouts), 3);
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ_INT(s_i(json_array_get(payouts, i), "profit_rials"), profit[i]);
        CHECK_EQ_INT(s_i(json_array_get(payouts, i), "paid_rials"), paid[i]);
    }
    json_t *d = json_array_get(json_object_get(so, "defaults"), 0);
    CHECK_EQ_INT(s_i(d, "principal_rials"), 5000);
    CHECK_EQ_INT(s_i(d, "borrower_rials"), 5000);
    json_decref(preview);
    json_decref(r);
    CHECK_EQ_INT(s_cash(&e, fund, "box_rials"), 1500);
    s_check_books(&e, fund);
    r = s_as(&e, "auditor", "fund_loans.get", "{\"id\":\"%s\"}", loan);
    /* her own payout (5244 entitled) settled the 5000 she still owed: settled, not defaulted */
    CHECK_EQ_STR(json_string_value(json_object_get(s_res(r), "status")), "settled_at_shareout");
    CHECK_EQ_INT(s_i(s_res(r), "outstanding_rials"), 0);
    CHECK(json_is_false(json_object_get(s_res(r), "overdue")));
    json_decref(r);
    r = s_as(&e, "auditor", "fund_loans.list", "{\"fund_id\":\"%s\"}", fund);
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 1);
    CHECK_EQ_INT(s_i(json_array_get(json_object_get(s_res(r), "items"), 0), "settled_principal_rials"), 5000);
    json_decref(r);
    r = s_as(&e, "auditor", "fund_loans.list", "{\"fund_id\":\"%s\",\"status\":\"active\"}", fund);
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 0);
    json_decref(r);
    json_decref(s_as(&e, "auditor", "fund_loans.list", "{\"fund_id\":\"fund_77\"}"));
    CHECK_EQ_INT(e.status, 404);

    /* closed: no meeting, loan or second share-out until the next cycle */
    json_decref(s_do(&e, "fund_meetings.create", "{\"id\":\"%s\",\"date\":\"2024-05-01\",\"attendance\":[]}", fund));
    CHECK_EQ_INT(e.status, 422);
    json_decref(s_do(&e, "fund_cycles.create", "{\"id\":\"%s\",\"start\":\"2024-03-01\",\"end\":\"2024-12-31\"}", fund));
    CHECK_EQ_INT(e.status, 422);   /* before the share-out */
    r = s_do(&e, "fund_cycles.create",
             "{\"id\":\"%s\",\"start\":\"2024-04-02\",\"end\":\"2025-03-31\",\"rules\":{\"loan_multiple\":2}}",
             fund);
    CHECK_EQ_INT(e.status, 201);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "cycle"), "number"), 2);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "rules"), "loan_multiple"), 2);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "rules"), "share_value_rials"), 1000);
    CHECK_EQ_INT(s_i(json_object_get(s_res(r), "cash"), "social_fund_rials"), 1500);
    json_decref(r);
    s_close(&e);
}

/* Guarantors cover what the borrower cannot, and the group what they cannot. */
static void test_default_covered_by_guarantors_and_group(void)
{
    s_env_t e;
    char fund[32];
    s_setup(&e,
            "\"share_value_rials\":1000,\"max_shares_per_meeting\":5,\"loan_multiple\":3,"
            "\"service_charge_bp_month\":0,\"guarantors_required\":2,\"max_term_months\":6,"
            "\"social_fund_rials\":0,\"guarantor_exposure_multiple\":10",
            fund, 4);
    json_decref(s_do(&e, "fund_meetings.create",
                     "{\"id\":\"%s\",\"date\":\"2024-02-01\",\"attendance\":[\"prs_1\",\"prs_2\","
                     "\"prs_3\",\"prs_4\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":2},"
                     "{\"person_id\":\"prs_2\",\"shares\":1},{\"person_id\":\"prs_3\",\"shares\":5},"
                     "{\"person_id\":\"prs_4\",\"shares\":2}]}",
                     fund));
    CHECK_EQ_INT(e.status, 201);
    json_decref(s_do(&e, "fund_loans.create",
                     "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":6000,\"term_months\":6,"
                     "\"guarantor_ids\":[\"prs_2\",\"prs_3\"]}",
                     fund));
    CHECK_EQ_INT(e.status, 201);
    json_t *r = s_do(&e, "funds.shareout", "{\"id\":\"%s\"}", fund);
    CHECK_EQ_INT(e.status, 200);
    /* prs_1 covers her 2000, prs_2 her 1000 of 2000, prs_3 2000; the 1000 left is shared by
     * prs_3 (5 shares) and prs_4 (2): 714.28 and 285.71, the leftover rial to prs_4. */
    static const int64_t paid[] = {0, 0, 2286, 1714};
    json_t *payouts = json_object_get(s_res(r), "payouts");
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ_INT(s_i(json_array_get(payouts, i), "paid_rials"), paid[i]);
    json_t *d = json_array_get(json_object_get(s_res(r), "defaults"), 0);
    CHECK_EQ_INT(s_i(d, "borrower_rials"), 2000);
    CHECK_EQ_INT(s_i(json_array_get(json_object_get(d, "guarantors"), 0), "rials"), 1000);
    CHECK_EQ_INT(s_i(json_array_get(json_object_get(d, "guarantors"), 1), "rials"), 2000);
    CHECK_EQ_INT(s_i(d, "shared_rials"), 1000);
    json_decref(r);
    json_t *evs = s_events(&e), *ev;
    size_t i, defaulted = 0;
    json_array_foreach(evs, i, ev) {
        json_t *data = json_object_get(ev, "data");
        CHECK_EQ_STR(json_string_value(json_object_get(data, "fund_id")), fund);
        CHECK_EQ_STR(json_string_value(json_object_get(data, "office")), "office-1");
        CHECK_EQ_STR(json_string_value(json_object_get(data, "neighbourhood")), "Shahr-e Rey");
        defaulted += strcmp(json_string_value(json_object_get(ev, "type")),
                            "microfund.loan_defaulted") == 0;
    }
    CHECK_EQ_INT(defaulted, 1);
    json_decref(evs);
    CHECK_EQ_INT(s_cash(&e, fund, "box_rials"), 0);
    s_refused(&e, fund, 422, "cycle_closed", "funds.shareout", "{\"id\":\"%s\"}", fund);
    s_refused(&e, fund, 422, "invalid_cycle", "fund_cycles.create",
              "{\"id\":\"%s\",\"start\":\"2024-06-15\",\"end\":\"2024-06-15\"}", fund);
    json_decref(s_do(&e, "fund_cycles.create", "{\"id\":\"%s\",\"start\":\"2024-06-15\",\"end\":\"2025-06-14\"}", fund));
    CHECK_EQ_INT(e.status, 201);
    s_refused(&e, fund, 422, "no_social_fund", "fund_meetings.create",   /* its rule is 0 */
              MEETING(fund, "2024-06-15", "\"attendance\":[\"prs_1\"],\"social_fund\":[{\"person_id\":\"prs_1\",\"amount_rials\":100}]"));
    s_refused(&e, fund, 422, "before_joined", "fund_members.leave",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"date\":\"2023-12-31\"}", fund);
    s_close(&e);
}

static void test_refusals_change_nothing(void)
{
    s_env_t e;
    char fund[32];
    s_setup(&e, RULES_A, fund, 4);
    s_person(&e, 50);   /* registered, not a member */
    json_decref(s_do(&e, "fund_meetings.create",
                     MEETING(fund, "2024-02-01",
                             "\"attendance\":[\"prs_1\",\"prs_2\",\"prs_3\",\"prs_4\"],"
                             "\"savings\":[{\"person_id\":\"prs_1\",\"shares\":5},{\"person_id\":\"prs_2\","
                             "\"shares\":1},{\"person_id\":\"prs_3\",\"shares\":1},{\"person_id\":\"prs_4\","
                             "\"shares\":1}],\"social_fund\":[{\"person_id\":\"prs_1\",\"amount_rials\":500}]")));
    CHECK_EQ_INT(e.status, 201);
    /* cash 8500, social 500, loan cash 8000; prs_1 limit 15000 */
    s_refused(&e, fund, 422, "unknown_person", "fund_members.join", "{\"id\":\"%s\",\"person_id\":\"prs_77\"}", fund);
    s_refused(&e, fund, 409, "already_member", "fund_members.join", "{\"id\":\"%s\",\"person_id\":\"prs_2\"}", fund);
    s_refused(&e, fund, 404, "not_found", "fund_members.join", "{\"id\":\"fund_99\",\"person_id\":\"prs_2\"}", fund);
    s_refused(&e, fund, 409, "duplicate_meeting", "fund_meetings.create", MEETING(fund, "2024-02-01", "\"attendance\":[]"));
    s_refused(&e, fund, 422, "outside_cycle", "fund_meetings.create", MEETING(fund, "2023-12-31", "\"attendance\":[]"));
    s_refused(&e, fund, 422, "not_a_member", "fund_meetings.create", MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_50\"]"));
    s_refused(&e, fund, 422, "duplicate_entry", "fund_meetings.create", MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\",\"prs_1\"]"));
    s_refused(&e, fund, 422, "absent_saver", "fund_meetings.create",
              MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":1},{\"person_id\":\"prs_2\",\"shares\":1}]"));
    s_refused(&e, fund, 422, "over_max_shares", "fund_meetings.create",
              MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":6}]"));
    s_refused(&e, fund, 422, "invalid_social_fund_amount", "fund_meetings.create",
              MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\"],\"social_fund\":[{\"person_id\":\"prs_1\",\"amount_rials\":700}]"));
    s_refused(&e, fund, 422, "insufficient_social_fund", "fund_meetings.create",
              MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\"],\"social_fund\":[{\"person_id\":\"prs_1\",\"amount_rials\":500}],"
                      "\"grants\":[{\"person_id\":\"prs_2\",\"amount_rials\":1001,\"reason\":\"illness\"}]"));
    s_refused(&e, fund, 400, "invalid_field", "fund_meetings.create",
              MEETING(fund, "2024-02-08", "\"attendance\":[\"prs_1\"],\"savings\":[{\"person_id\":\"prs_1\",\"shares\":0}]"));
    s_refused(&e, fund, 422, "over_max_term", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":1000,\"term_months\":4,\"guarantor_ids\":[\"prs_2\"]}", fund);
    s_refused(&e, fund, 422, "guarantors_required", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":1000,\"term_months\":1}", fund);
    s_refused(&e, fund, 422, "guarantors_required", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":1000,\"term_months\":1,\"guarantor_ids\":[\"prs_1\"]}", fund);
    s_refused(&e, fund, 422, "not_a_member", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":1000,\"term_months\":1,\"guarantor_ids\":[\"prs_50\"]}", fund);
    s_refused(&e, fund, 422, "not_a_member", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_50\",\"amount_rials\":1000,\"term_months\":1,\"guarantor_ids\":[\"prs_2\"]}", fund);
    s_refused(&e, fund, 422, "over_member_limit", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_2\",\"amount_rials\":3001,\"term_months\":1,\"guarantor_ids\":[\"prs_1\"]}", fund);
    s_refused(&e, fund, 422, "guarantor_capacity", "fund_loans.create",   /* prs_2 answers for 4 x 1000 at most */
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":4001,\"term_months\":1,\"guarantor_ids\":[\"prs_2\"]}", fund);
    s_refused(&e, fund, 422, "insufficient_fund_cash", "fund_loans.create",   /* 8000 to lend, not the social fund's 500 */
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":8001,\"term_months\":1,\"guarantor_ids\":[\"prs_2\",\"prs_3\",\"prs_4\"]}", fund);
    s_refused(&e, fund, 422, "outside_cycle", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":100,\"term_months\":1,\"guarantor_ids\":[\"prs_2\"],\"date\":\"2023-12-31\"}", fund);
    s_refused(&e, fund, 422, "cycle_open", "fund_cycles.create", "{\"id\":\"%s\",\"start\":\"2025-01-01\",\"end\":\"2025-12-31\"}", fund);

    /* a loan, then the refusals that need one */
    json_t *r = s_do(&e, "fund_loans.create",
                     "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":4000,\"term_months\":1,"
                     "\"guarantor_ids\":[\"prs_2\"],\"date\":\"2024-02-01\"}", fund);
    CHECK_EQ_INT(e.status, 201);
    char loan[32];
    snprintf(loan, sizeof loan, "%s", json_string_value(json_object_get(s_res(r), "id")));
    CHECK_EQ_INT(s_i(s_res(r), "charge_rials"), 80);
    json_decref(r);
    s_refused(&e, fund, 422, "active_loan_exists", "fund_loans.create",
              "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"amount_rials\":100,\"term_months\":1,\"guarantor_ids\":[\"prs_3\"]}", fund);
    s_refused(&e, fund, 422, "guarantor_overdue", "fund_loans.create",   /* prs_1's loan was due 2024-03-01 */
              "{\"id\":\"%s\",\"person_id\":\"prs_3\",\"amount_rials\":100,\"term_months\":1,\"guarantor_ids\":[\"prs_1\"]}", fund);
    s_refused(&e, fund, 422, "guarantor_capacity", "fund_loans.create",   /* prs_2 already answers for 4000 */
              "{\"id\":\"%s\",\"person_id\":\"prs_3\",\"amount_rials\":1,\"term_months\":1,\"guarantor_ids\":[\"prs_2\"]}", fund);
    s_refused(&e, fund, 422, "active_loan_exists", "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_1\",\"date\":\"2024-03-01\"}", fund);
    s_refused(&e, fund, 422, "active_guarantee", "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_2\",\"date\":\"2024-03-01\"}", fund);
    s_refused(&e, fund, 404, "not_found", "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_50\",\"date\":\"2024-03-01\"}", fund);
    s_refused(&e, fund, 422, "over_outstanding", "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":4081,\"date\":\"2024-02-20\"}", loan);
    s_refused(&e, fund, 422, "before_loan_date", "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":10,\"date\":\"2024-01-20\"}", loan);
    s_refused(&e, fund, 404, "not_found", "fund_loans.repay", "{\"id\":\"floan_99\",\"amount_rials\":10,\"date\":\"2024-02-20\"}");
    s_refused(&e, fund, 400, "invalid_field", "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":\"x\",\"date\":\"2024-02-20\"}", loan);
    json_decref(s_do(&e, "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":4080,\"date\":\"2024-02-20\"}", loan));
    CHECK_EQ_INT(e.status, 201);
    s_refused(&e, fund, 409, "wrong_state", "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":1,\"date\":\"2024-02-21\"}", loan);
    s_refused(&e, fund, 422, "no_participants", "fund_trainings.create", "{\"id\":\"%s\",\"date\":\"2024-02-21\",\"participants\":[]}", fund);
    s_refused(&e, fund, 422, "unknown_person", "fund_trainings.create", "{\"id\":\"%s\",\"date\":\"2024-02-21\",\"participants\":[\"prs_1\",\"prs_78\"]}", fund);
    /* only the role check of the previous line differs: auditors may not write */
    json_decref(s_as(&e, "auditor", "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":1,\"date\":\"2024-02-21\"}", loan));
    CHECK_EQ_INT(e.status, 403);
    s_close(&e);
}

static void test_fund_form_list_and_training(void)
{
    s_env_t e;
    s_open(&e);
    json_decref(s_do(&e, "funds.create",
                     "{\"name\":\"x\",\"neighbourhood\":\"n\",\"facilitator_person_id\":\"prs_55\","
                     "\"cycle\":{\"start\":\"2024-01-01\",\"end\":\"2024-12-31\"},\"rules\":{" RULES_A "}}"));
    CHECK_EQ_INT(e.status, 422);   /* the facilitator is not registered */
    json_decref(s_do(&e, "funds.create",
                     "{\"name\":\"x\",\"neighbourhood\":\"n\",\"facilitator_person_id\":\"prs_%d\","
                     "\"cycle\":{\"start\":\"2024-01-01\",\"end\":\"2026-06-01\"},\"rules\":{" RULES_A "}}",
                     FACILITATOR));
    CHECK_EQ_INT(e.status, 422);   /* a cycle of 29 months */
    char a[32], b[32];
    s_fund(&e, RULES_A, a);
    json_t *r = s_prov(&e, "social_services", "funds.create",
                     "{\"name\":\"Yas\",\"office\":\"office-2\",\"neighbourhood\":\"Dowlatabad\","
                     "\"facilitator_person_id\":\"prs_%d\",\"cycle\":{\"start_jalali\":\"1403/01/01\","
                     "\"end\":\"2025-01-10\"},\"rules\":{" RULES_A "}}",
                     FACILITATOR);
    CHECK_EQ_INT(e.status, 201);
    snprintf(b, sizeof b, "%s", json_string_value(json_object_get(s_res(r), "id")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(s_res(r), "cycle"), "start")), "2024-03-20");
    CHECK_EQ_STR(json_string_value(json_object_get(s_res(r), "date")), "2024-06-15");
    json_decref(r);
    r = s_as(&e, "auditor", "funds.list", "{\"office\":\"office-1\"}");
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(s_res(r), "items"), 0), "id")), a);
    json_decref(r);
    r = s_prov(&e, "auditor", "funds.list", "{\"neighbourhood\":\"dowlatabad\"}");
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 1);
    json_decref(r);
    r = s_prov(&e, "auditor", "funds.list", "{\"office\":\"office-2\",\"neighbourhood\":\"Shahr-e Rey\"}");
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 0);
    json_decref(r);
    r = s_prov(&e, "auditor", "funds.list", "{\"limit\":1}");
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "items")), 1);
    CHECK(json_is_string(json_object_get(s_res(r), "next_cursor")));
    json_decref(r);

    s_members(&e, a, 1, 2);
    s_person(&e, 60);
    r = s_do(&e, "fund_trainings.create",
             "{\"id\":\"%s\",\"date\":\"2024-02-03\",\"topic\":\"book-keeping\","
             "\"participants\":[\"prs_1\",\"prs_60\",\"prs_2\"]}", a);
    CHECK_EQ_INT(e.status, 201);
    CHECK_EQ_INT(json_array_size(json_object_get(s_res(r), "member_ids")), 2);
    json_decref(r);
    json_decref(s_do(&e, "fund_trainings.create",
                     "{\"id\":\"%s\",\"date\":\"2024-03-03\",\"participants\":[\"prs_1\"]}", a));
    json_t *f = s_get(&e, a);
    CHECK_EQ_INT(s_i(f, "trainings_held"), 2);
    CHECK_EQ_INT(json_array_size(json_object_get(f, "trained_person_ids")), 3);
    json_decref(f);
    json_t *evs = s_events(&e), *ev = json_array_get(evs, json_array_size(evs) - 2);
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "microfund.training_held");
    json_t *data = json_object_get(ev, "data");
    CHECK_EQ_INT(s_i(data, "participants"), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(data, "date")), "2024-02-03");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "office")), "office-1");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(evs, 1), "type")), "microfund.fund.formed");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_array_get(evs, 1), "data"), "date")), "2024-06-15");
    json_decref(evs);

    /* leaving keeps her savings in the cycle; she may join again */
    json_decref(s_do(&e, "fund_meetings.create",
                     MEETING(a, "2024-02-01", "\"attendance\":[\"prs_2\"],\"savings\":[{\"person_id\":\"prs_2\",\"shares\":2}]")));
    r = s_do(&e, "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_2\",\"date\":\"2024-03-01\"}", a);
    CHECK_EQ_INT(e.status, 200);
    CHECK_EQ_INT(s_i(s_res(r), "savings_rials"), 2000);
    json_decref(r);
    s_refused(&e, a, 409, "already_left", "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_2\",\"date\":\"2024-03-02\"}", a);
    s_refused(&e, a, 422, "not_a_member", "fund_meetings.create", MEETING(a, "2024-03-05", "\"attendance\":[\"prs_2\"]"));
    r = s_do(&e, "funds.shareout", "{\"id\":\"%s\",\"preview\":true}", a);
    CHECK_EQ_INT(s_i(json_array_get(json_object_get(s_res(r), "payouts"), 0), "paid_rials"), 2000);
    json_decref(r);
    json_decref(s_do(&e, "fund_members.join", "{\"id\":\"%s\",\"person_id\":\"prs_2\"}", a));
    CHECK_EQ_INT(e.status, 201);
    char full[32];   /* a fund of this key's office (b is office-2's) */
    s_fund(&e, RULES_A, full);
    s_members(&e, full, 1000, MICROFUND_MAX_MEMBERS);
    s_person(&e, 2000);
    s_refused(&e, full, 422, "fund_full", "fund_members.join", "{\"id\":\"%s\",\"person_id\":\"prs_2000\"}", full);
    s_close(&e);
}

/* --------------------------------------------------------- generated cycles ------------- */

static void s_date(int64_t day, char out[11])
{
    int y, m, d;
    hy_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* A random meeting: savers and contributors among those present, sometimes fines and grants. */
static void s_random_meeting(s_env_t *e, const char *fund, const json_t *members,
                             const char *date, int64_t max_shares, int64_t social_unit)
{
    char body[32768], att[4096] = "", sav[8192] = "", soc[8192] = "", fin[2048] = "", gr[2048] = "";
    size_t i;
    json_t *mem;
    int64_t social = s_cash(e, fund, "social_fund_rials");
    json_array_foreach(members, i, mem) {
        const char *pid = json_string_value(json_object_get(mem, "person_id"));
        if (strcmp(json_string_value(json_object_get(mem, "status")), "active") != 0 || s_rand() % 5 == 0)
            continue;
        snprintf(att + strlen(att), sizeof att - strlen(att), "%s\"%s\"", *att ? "," : "", pid);
        if (s_rand() % 4)
            snprintf(sav + strlen(sav), sizeof sav - strlen(sav), "%s{\"person_id\":\"%s\",\"shares\":%lld}",
                     *sav ? "," : "", pid, (long long)s_between(1, max_shares));
        if (social_unit && s_rand() % 3) {
            int64_t amount = social_unit * s_between(1, 2);
            social += amount;
            snprintf(soc + strlen(soc), sizeof soc - strlen(soc), "%s{\"person_id\":\"%s\",\"amount_rials\":%lld}",
                     *soc ? "," : "", pid, (long long)amount);
        }
        if (s_rand() % 10 == 0)
            snprintf(fin + strlen(fin), sizeof fin - strlen(fin), "%s{\"person_id\":\"%s\",\"amount_rials\":%lld,\"reason\":\"late\"}",
                     *fin ? "," : "", pid, (long long)s_between(1, 777));
        if (social > 0 && !*gr && s_rand() % 8 == 0)
            snprintf(gr, sizeof gr, "{\"person_id\":\"%s\",\"amount_rials\":%lld,\"reason\":\"illness\"}",
                     pid, (long long)s_between(1, social));
    }
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"date\":\"%s\",\"attendance\":[%s],\"savings\":[%s],"
             "\"social_fund\":[%s],\"fines\":[%s],\"grants\":[%s]}",
             fund, date, att, sav, soc, fin, gr);
    json_decref(s_do(e, "fund_meetings.create", "%s", body));
    CHECK_EQ_INT(e->status, 201);
}

/* A random loan or repayment; refusals are allowed only with the rules' codes. */
static void s_random_loan(s_env_t *e, const char *fund, const json_t *members, const char *date)
{
    size_t n = json_array_size(members);
    json_t *m = json_array_get(members, (size_t)s_between(0, (int64_t)n - 1));
    const char *loan = json_string_value(json_object_get(m, "active_loan_id"));
    if (loan) {
        json_t *r = s_as(e, "auditor", "fund_loans.get", "{\"id\":\"%s\"}", loan);
        int64_t owed = s_i(s_res(r), "outstanding_rials");
        json_decref(r);
        json_decref(s_do(e, "fund_loans.repay", "{\"id\":\"%s\",\"amount_rials\":%lld,\"date\":\"%s\"}",
                         loan, (long long)(s_rand() % 2 ? owed : s_between(1, owed)), date));
        CHECK_EQ_INT(e->status, 201);
        return;
    }
    char gids[512] = "";
    int k = (int)s_between(-1, 2);   /* -1: no guarantor_ids member at all */
    if (k >= 0) {
        snprintf(gids, sizeof gids, ",\"guarantor_ids\":[");
        for (int g = 0; g < k; g++) {
            const char *gid = json_string_value(json_object_get(
                json_array_get(members, (size_t)s_between(0, (int64_t)n - 1)), "person_id"));
            snprintf(gids + strlen(gids), sizeof gids - strlen(gids), "%s\"%s\"", g ? "," : "", gid);
        }
        snprintf(gids + strlen(gids), sizeof gids - strlen(gids), "]");
    }
    int64_t limit = 3 * s_i(m, "savings_rials");
    json_t *r = s_do(e, "fund_loans.create",
                     "{\"id\":\"%s\",\"person_id\":\"%s\",\"amount_rials\":%lld,\"term_months\":%lld"
                     "%s,\"date\":\"%s\"}",
                     fund, json_string_value(json_object_get(m, "person_id")),
                     (long long)s_between(1, limit + 1), (long long)s_between(1, 6), gids, date);
    static const char *const allowed[] = {"over_member_limit", "insufficient_fund_cash", "guarantor_capacity",
                                          "guarantors_required", "duplicate_entry", "over_max_term",
                                          "not_a_member", "guarantor_overdue", NULL};
    bool ok = e->status == 201;
    for (const char *const *c = allowed; !ok && *c; c++)
        ok = e->status == 422 && strcmp(s_code(r), *c) == 0;
    if (!ok)
        fprintf(stderr, "  loan refused: %s\n", s_code(r) ? s_code(r) : "?");
    CHECK(ok);
    json_decref(r);
}

/* Runs one random cycle to its share-out and checks the arithmetic against the fund's books. */
static void s_random_cycle(s_env_t *e, const char *fund, int64_t first_day)
{
    json_t *f = s_get(e, fund), *rules = json_object_get(f, "rules");
    int64_t max_shares = s_i(rules, "max_shares_per_meeting"), unit = s_i(rules, "social_fund_rials");
    json_decref(f);
    char date[11];
    int meetings = (int)s_between(2, 8);
    for (int k = 0; k < meetings; k++) {
        s_date(first_day + 7 * k, date);
        f = s_get(e, fund);
        s_random_meeting(e, fund, json_object_get(f, "members"), date, max_shares, unit);
        json_decref(f);
        for (int l = (int)s_between(0, 3); l > 0; l--) {
            f = s_get(e, fund);
            s_random_loan(e, fund, json_object_get(f, "members"), date);
            json_decref(f);
        }
        s_check_books(e, fund);
    }
    s_date(first_day + 7 * meetings, date);
    if (s_rand() % 3 == 0)   /* someone tries to leave: allowed unless she owes or guarantees */
        json_decref(s_do(e, "fund_members.leave", "{\"id\":\"%s\",\"person_id\":\"prs_2\",\"date\":\"%s\"}", fund, date));
    f = s_get(e, fund);
    int64_t box = s_i(json_object_get(f, "cash"), "box_rials");
    int64_t social = s_i(json_object_get(f, "cash"), "social_fund_rials");
    json_decref(f);
    json_t *preview = s_do(e, "funds.shareout", "{\"id\":\"%s\",\"preview\":true,\"date\":\"%s\"}", fund, date);
    json_t *r = s_do(e, "funds.shareout", "{\"id\":\"%s\",\"date\":\"%s\"}", fund, date), *so = s_res(r);
    CHECK_EQ_INT(e->status, 200);
    CHECK(json_equal(json_object_get(so, "payouts"), json_object_get(s_res(preview), "payouts")));
    CHECK_EQ_INT(s_i(so, "cash_box_rials"), box);
    int64_t paid = 0, profit = 0, taken = 0, open = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(so, "defaults"), i, p)
        open += s_i(p, "debt_rials");
    json_array_foreach(json_object_get(so, "payouts"), i, p) {
        taken += s_i(p, "covered_rials") + s_i(p, "loss_rials");
        CHECK(s_i(p, "paid_rials") >= 0);
        int64_t floor = (int64_t)((__int128)s_i(so, "profit_rials") * s_i(p, "shares") / s_i(so, "total_shares"));
        CHECK(s_i(p, "profit_rials") - floor == 0 || s_i(p, "profit_rials") - floor == 1);
        paid += s_i(p, "paid_rials");
        profit += s_i(p, "profit_rials");
    }
    CHECK_EQ_INT(taken, open);   /* every open loan's principal recovered from payouts */
    CHECK_EQ_INT(paid, s_i(so, "paid_rials"));
    CHECK_EQ_INT(profit, s_i(so, "profit_rials"));
    CHECK_EQ_INT(s_i(so, "social_fund_carried_rials"), social);
    CHECK_EQ_INT(paid + s_i(so, "social_fund_carried_rials"), box);   /* every rial */
    json_decref(preview);
    json_decref(r);
    f = s_get(e, fund);
    CHECK_EQ_INT(s_i(json_object_get(f, "cash"), "box_rials"), social);
    CHECK_EQ_INT(s_i(json_object_get(f, "cash"), "loans_outstanding_rials"), 0);
    json_array_foreach(json_object_get(f, "members"), i, p) {
        CHECK_EQ_INT(s_i(p, "savings_rials"), 0);
        CHECK(!json_object_get(p, "active_loan_id"));
    }
    json_decref(f);
    s_check_books(e, fund);
}

static void test_generated_cycles(void)
{
    s_now = 1751284800;   /* 2025-06-30 12:00 UTC: both generated cycles lie in the past */
    for (int c = 0; c < 40; c++) {
        s_env_t e;
        char fund[32], rules[1024];
        snprintf(rules, sizeof rules,
                 "\"share_value_rials\":%lld,\"max_shares_per_meeting\":%lld,\"loan_multiple\":3,"
                 "\"service_charge_bp_month\":%lld,\"guarantors_required\":%lld,\"max_term_months\":6,"
                 "\"social_fund_rials\":%lld,\"guarantor_exposure_multiple\":%lld",
                 (long long)s_between(100, 5000), (long long)s_between(1, 5),
                 (long long)s_between(0, 500), (long long)s_between(0, 2),
                 (long long)(s_rand() % 3 ? s_between(100, 1000) : 0), (long long)s_between(1, 5));
        s_setup(&e, rules, fund, (unsigned)s_between(3, 15));
        s_random_cycle(&e, fund, hy_days_from_civil(2024, 1, 3));
        json_decref(s_do(&e, "fund_cycles.create", "{\"id\":\"%s\",\"start\":\"2024-07-01\",\"end\":\"2025-06-30\"}", fund));
        CHECK_EQ_INT(e.status, 201);
        s_random_cycle(&e, fund, hy_days_from_civil(2024, 7, 2));
        s_close(&e);
    }
    s_now = NOW;
}

/* Fund-loan months are Solar Hijri months: the same Jalali day, clamped to the month. */
static void test_jalali_months(void)
{
    static const struct {
        const char *from;
        int months;
        const char *want;
    } cases[] = {
        {"2024-02-10", 2, "2024-04-09"},    /* 1402/11/21 -> 1403/01/21 */
        {"2024-09-21", 1, "2024-10-21"},    /* 1403/06/31 -> 1403/07/30 (Mehr has 30 days) */
        {"2025-03-20", 12, "2026-03-20"},   /* 1403/12/30 (leap) -> 1404/12/29 */
        {"2024-03-20", 0, "2024-03-20"},
    };
    char out[11];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(microfund_add_months(cases[i].from, cases[i].months, out) == 0);
        CHECK_EQ_STR(out, cases[i].want);
    }
    CHECK(microfund_add_months("2024-02-30", 1, out) == -1);
    CHECK(microfund_add_months("2024-02-10", -1, out) == -1);
}

const hy_test_t microfund_tests[] = {
    {"microfund.jalali_months", test_jalali_months},
    {"microfund.split_generated", test_split_generated},
    {"microfund.shareout_compute_generated", test_shareout_compute_generated},
    {"microfund.worked_cycle", test_worked_cycle},
    {"microfund.default_covered", test_default_covered_by_guarantors_and_group},
    {"microfund.refusals_change_nothing", test_refusals_change_nothing},
    {"microfund.form_list_train_leave", test_fund_form_list_and_training},
    {"microfund.generated_cycles", test_generated_cycles},
    {0},
};
