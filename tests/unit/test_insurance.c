/*
 * test_insurance.c — the insurance service through the skeleton's test entry points, with the
 * registry's events fed in by hand (hy_service_apply) and a fixed clock: eligibility, every
 * refused transition, idempotent confirmation, contributions and arrears, the projection of
 * the registry, and the fund's feed (roles, and nothing of the person beyond what the fund
 * needs).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/insurance/insurance.h"
#include "client.h"
#include "fa.h"
#include "proto.h"
#include "test.h"
#include "testutil.h"

#define NOW 1718452800 /* 2024-06-15 12:00 UTC */
#define SS "social_services"
#define FUND "insurance_fund"

typedef struct {
    char dir[64];
    hy_service_t *svc;
    int64_t seq;        /* the registry's last event sequence fed in */
} s_env_t;

/* The tests below date enrolments months before and after NOW, for arrears; the start-date
 * window (insurance.start_date_window) is opened wide for them. */
static void s_open(s_env_t *env)
{
    setenv("HY_INSURANCE_BACKDATE_MONTHS", "36", 1);
    setenv("HY_INSURANCE_AHEAD_MONTHS", "24", 1);
    hy_test_tmpdir(env->dir);
    env->svc = hy_service_new(&insurance_def, env->dir, NOW);
    env->seq = 0;
    CHECK(env->svc != NULL);
}

static void s_close(s_env_t *env)
{
    hy_service_destroy(&env->svc);
    hy_test_rmdir(env->dir);
}

/* Runs op as role with printf-built args; returns the status, the reply in *reply (or freed
 * when reply is NULL). */
static int s_do(s_env_t *env, json_t **reply, const char *role, const char *op, const char *fmt,
                ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* A province key ('*'): these tests are about the rules, not about offices. */
    char id[40];
    hy_new_request_id(id);
    hy_actor_t actor = {"test-key", role, "*"};
    json_t *a = json_loads(args, 0, NULL);
    json_t *req = a ? hy_proto_request(op, id, &actor, NULL, a) : NULL;
    json_t *r = req ? hy_service_call(env->svc, req) : NULL;
    int status = (int)json_integer_value(json_object_get(r, "status"));
    json_decref(req);
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return status;
}

static const char *s_code(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static const char *s_res(json_t *reply, const char *key)
{
    return json_string_value(json_object_get(json_object_get(reply, "result"), key));
}

/* Length of the array result[key] of a reply. */
static size_t s_rlen(json_t *reply, const char *key)
{
    return json_array_size(json_object_get(json_object_get(reply, "result"), key));
}

/* Feeds one registry event (next sequence) with data given as JSON text. */
static void s_registry(s_env_t *env, const char *type, const char *subject, const char *data)
{
    json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:o}", "source", "hamyar/registry", "type", type,
                           "subject", subject, "sequence", (json_int_t)++env->seq, "data",
                           json_loads(data, 0, NULL));
    CHECK(ev && json_object_get(ev, "data"));
    CHECK_EQ_INT(hy_service_apply(env->svc, "registry", ev), 0);
    json_decref(ev);
}

/* A valid national ID from a 9-digit base. */
static void s_nid(unsigned base, char out[11])
{
    snprintf(out, 11, "%09u", base);
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (out[i] - '0') * (10 - i);
    out[9] = (char)('0' + (sum % 11 < 2 ? sum % 11 : 11 - sum % 11));
    out[10] = '\0';
}

/* Registers person prs_n (born on birth) with a full registry record, private fields and all. */
static void s_person(s_env_t *env, int n, const char *birth, const char *nid_or_null)
{
    char nid[11], data[1024], id[32];
    s_nid(100000000u + (unsigned)n, nid);
    snprintf(id, sizeof id, "prs_%d", n);
    snprintf(data, sizeof data,
             "{\"id\":\"%s\",\"national_id\":\"%s\",\"first_name\":\"Maryam\",\"last_name\":"
             "\"Ahmadi%d\",\"birth_date\":\"%s\",\"sex\":\"female\",\"mobile\":\"09121234567\","
             "\"neighbourhood\":\"Rey\",\"household_size\":4,\"head_of_household\":true,"
             "\"office\":\"rey-1\",\"referrals\":[{\"source\":\"self\"}]}",
             id, nid_or_null ? nid_or_null : nid, n, birth);
    s_registry(env, "registry.person.registered", id, data);
}

static void s_business(s_env_t *env, int n, int owner, const char *field)
{
    char data[512], id[32];
    snprintf(id, sizeof id, "bus_%d", n);
    snprintf(data, sizeof data,
             "{\"id\":\"%s\",\"owner_id\":\"prs_%d\",\"activity\":\"tailoring\",\"field\":\"%s\","
             "\"stage\":\"applicant\",\"office\":\"rey-1\"}",
             id, owner, field);
    s_registry(env, "registry.business.created", id, data);
}

/* Requests an enrolment; returns the status and the new id in id (if 201). */
static int s_enrol(s_env_t *env, int person, int business, const char *field, const char *start,
                   char id[32], json_t **reply)
{
    json_t *r = NULL;
    int status = s_do(env, &r, SS, "enrolments.create",
                      "{\"person_id\":\"prs_%d\",\"business_id\":\"bus_%d\",\"field\":\"%s\","
                      "\"start_date\":\"%s\"}",
                      person, business, field, start);
    if (id)
        snprintf(id, 32, "%s", status == 201 ? s_res(r, "id") : "");
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return status;
}

/* The outbox, as the fund's feed gives it. */
static json_t *s_feed(s_env_t *env)
{
    json_t *r = NULL;
    CHECK_EQ_INT(s_do(env, &r, FUND, "feeds.enrolments", "{\"after\":0,\"limit\":1000}"), 200);
    json_t *events = json_incref(json_object_get(json_object_get(r, "result"), "events"));
    json_decref(r);
    return events ? events : json_array();
}

static size_t s_nevents(s_env_t *env)
{
    json_t *events = s_feed(env);
    size_t n = json_array_size(events);
    json_decref(events);
    return n;
}

static const char *s_status_of(s_env_t *env, const char *id, char out[16])
{
    json_t *r = NULL;
    s_do(env, &r, SS, "enrolments.get", "{\"id\":\"%s\"}", id);
    snprintf(out, 16, "%s", s_res(r, "status") ? s_res(r, "status") : "?");
    json_decref(r);
    return out;
}

/* Moves a fresh enrolment of person n to `to` along the happy path. */
static void s_enrol_to(s_env_t *env, int n, const char *to, char id[32])
{
    s_person(env, n, "1985-04-12", NULL);
    s_business(env, n, n, "handicrafts");
    CHECK_EQ_INT(s_enrol(env, n, n, "handicrafts", "2024-01-01", id, NULL), 201);
    static const char *const path[] = {"approve", "submit", "confirm", "suspend"};
    static const char *const states[] = {INS_APPROVED, INS_SUBMITTED, INS_CONFIRMED,
                                         INS_SUSPENDED};
    for (int i = 0; i < 4 && strcmp(to, INS_REQUESTED) != 0; i++) {
        char op[48];
        snprintf(op, sizeof op, "enrolments.%s", path[i]);
        int status = i == 2 ? s_do(env, NULL, FUND, op, "{\"id\":\"%s\",\"insurance_number\":"
                                   "\"IN-%d\"}", id, n)
                   : i == 3 ? s_do(env, NULL, SS, op, "{\"id\":\"%s\",\"reason\":\"test\"}", id)
                            : s_do(env, NULL, SS, op, "{\"id\":\"%s\"}", id);
        CHECK_EQ_INT(status, 200);
        if (strcmp(to, states[i]) == 0)
            return;
    }
    if (strcmp(to, INS_CANCELLED) == 0)
        CHECK_EQ_INT(s_do(env, NULL, SS, "enrolments.cancel", "{\"id\":\"%s\",\"reason\":\"x\"}",
                          id), 200);
}

/* ------------------------------------------------------------------------ tests ----------- */

static void test_eligibility(void)
{
    s_env_t env;
    s_open(&env);
    s_person(&env, 1, "1985-04-12", NULL);
    s_business(&env, 1, 1, "handicrafts");
    s_person(&env, 2, "2008-01-01", NULL);   /* 16 on 2024-07-01 */
    s_business(&env, 2, 2, "services");
    s_person(&env, 3, "1970-01-01", NULL);   /* 54 */
    s_business(&env, 3, 3, "agriculture");
    s_person(&env, 4, "1990-01-01", "1234567890");   /* bad check digit */
    s_business(&env, 4, 4, "industry");
    static const struct {
        int person, business;
        const char *field, *start, *code, *where;
    } cases[] = {
        {99, 1, "handicrafts", "2024-07-01", "unknown_person", "person_id"},
        {1, 99, "handicrafts", "2024-07-01", "unknown_business", "business_id"},
        {1, 2, "services", "2024-07-01", "business_not_owned", "business_id"},
        {4, 4, "industry", "2024-07-01", "invalid_national_id", "person_id"},
        {1, 1, "services", "2024-07-01", "field_mismatch", "field"},
        {2, 2, "services", "2024-07-01", "age_out_of_range", "start_date"},
        {3, 3, "agriculture", "2024-07-01", "age_out_of_range", "start_date"},
        {1, 1, "handicrafts", "1980-01-01", "start_date_out_of_range", "start_date"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = NULL;
        CHECK_EQ_INT(s_enrol(&env, cases[i].person, cases[i].business, cases[i].field,
                             cases[i].start, NULL, &r), 422);
        CHECK_EQ_STR(s_code(r), cases[i].code);
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "error"), "field")),
                     cases[i].where);
        json_decref(r);
    }
    CHECK_EQ_INT(s_nevents(&env), 0);
    /* Shape errors are the skeleton's: 400, and 403 for a role that may not request. */
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.create",
                      "{\"person_id\":\"prs_1\",\"business_id\":\"bus_1\",\"field\":\"fishing\","
                      "\"start_date\":\"2024-07-01\"}"), 400);
    CHECK_EQ_INT(s_do(&env, NULL, "auditor", "enrolments.create",
                      "{\"person_id\":\"prs_1\",\"business_id\":\"bus_1\",\"field\":\"handicrafts\","
                      "\"start_date\":\"2024-07-01\"}"), 403);
    /* The age limits are inclusive and configurable. */
    char id[32];
    json_t *r = NULL;
    CHECK_EQ_INT(s_enrol(&env, 2, 2, "services", "2026-01-01", id, NULL), 201); /* exactly 18 */
    CHECK_EQ_STR(id, "enr_1");   /* the refusals used no number */
    setenv("HY_INSURANCE_MAX_AGE", "60", 1);
    CHECK_EQ_INT(s_enrol(&env, 3, 3, "agriculture", "2024-07-01", id, NULL), 201);
    unsetenv("HY_INSURANCE_MAX_AGE");
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "handicrafts", "2024-07-01", id, &r), 201);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"), "age_at_start")),
                 39);
    json_decref(r);
    /* already_enrolled, until the enrolment is cancelled. */
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "handicrafts", "2024-08-01", NULL, &r), 422);
    CHECK_EQ_STR(s_code(r), "already_enrolled");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "error"), "existing_id")),
                 id);
    json_decref(r);
    CHECK_EQ_INT(s_nevents(&env), 3);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.cancel", "{\"id\":\"%s\",\"reason\":\"moved\"}",
                      id), 200);
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "handicrafts", "2024-08-01", NULL, NULL), 201);
    s_close(&env);
}

static void test_lifecycle_and_event_data(void)
{
    s_env_t env;
    s_open(&env);
    char id[32], st[16];
    s_enrol_to(&env, 7, INS_CONFIRMED, id);
    CHECK_EQ_STR(s_status_of(&env, id, st), INS_CONFIRMED);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.contribute",
                      "{\"id\":\"%s\",\"month\":\"2024-01\",\"amount_rials\":1000000,"
                      "\"subsidy_rials\":700000,\"person_rials\":300000}", id), 201);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.suspend", "{\"id\":\"%s\",\"reason\":\"r\"}", id),
                 200);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.reinstate", "{\"id\":\"%s\"}", id), 422);
    for (int m = 2; m <= 5; m++)
        CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.contribute",
                          "{\"id\":\"%s\",\"month\":\"2024-%02d\",\"amount_rials\":1000000,"
                          "\"subsidy_rials\":700000,\"person_rials\":300000,"
                          "\"paid_date\":\"2024-06-01\"}", id, m), 201);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.reinstate", "{\"id\":\"%s\"}", id), 200);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.cancel", "{\"id\":\"%s\",\"reason\":\"r\"}", id),
                 200);
    json_t *events = s_feed(&env);
    static const char *const types[] = {
        "requested", "approved", "submitted", "confirmed", "contribution_recorded", "suspended",
        "contribution_recorded", "contribution_recorded", "contribution_recorded",
        "contribution_recorded", "reinstated", "cancelled"};
    CHECK_EQ_INT(json_array_size(events), sizeof types / sizeof types[0]);
    static const char *const allowed[] = {
        "enrolment_id", "national_id", "first_name", "last_name", "birth_date",
        "birth_date_jalali", "sex", "field", "start_date", "start_date_jalali", "status",
        "insurance_number", "office", "contribution"};
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        char want[64];
        snprintf(want, sizeof want, "insurance.enrolment.%s",
                 i < sizeof types / sizeof types[0] ? types[i] : "?");
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), want);
        CHECK_EQ_INT(json_integer_value(json_object_get(ev, "seq")), (long long)i + 1);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "subject")), id);
        json_t *data = json_object_get(ev, "data");
        const char *key;
        json_t *v;
        json_object_foreach(data, key, v) {
            bool ok = false;
            for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
                ok = ok || strcmp(key, allowed[k]) == 0;
            if (!ok)
                fprintf(stderr, "  event %zu carries %s\n", i, key);
            CHECK(ok);
        }
        CHECK_EQ_STR(json_string_value(json_object_get(data, "national_id")) ? "nid" : NULL, "nid");
        CHECK_EQ_STR(json_string_value(json_object_get(data, "birth_date")), "1985-04-12");
    }
    json_t *c = json_object_get(json_object_get(json_array_get(events, 4), "data"), "contribution");
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "subsidy_rials")), 700000);
    CHECK(json_object_get(c, "created_by") == NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(
                     json_object_get(json_array_get(events, 3), "data"), "insurance_number")),
                 "IN-7");
    json_decref(events);
    s_close(&env);
}

static void test_wrong_state(void)
{
    s_env_t env;
    s_open(&env);
    static const char *const states[] = {INS_REQUESTED, INS_APPROVED, INS_SUBMITTED,
                                         INS_CONFIRMED, INS_SUSPENDED, INS_CANCELLED};
    /* For each state, which ops apply ('.' = refused with wrong_state). Columns: approve,
     * submit, confirm (a new number), suspend, reinstate, contribute, cancel. */
    static const char *const allowed[] = {"Y.....Y", ".Y....Y", "..Y...Y", "...Y.YY", "....YYY",
                                          "......."};
    static const char *const ops[] = {"approve", "submit", "confirm", "suspend", "reinstate",
                                      "contribute", "cancel"};
    for (int s = 0; s < 6; s++) {
        for (int o = 0; o < 7; o++) {
            if (allowed[s][o] != '.')
                continue;
            char id[32], before[16], after[16], op[48];
            int n = 100 + s * 10 + o;
            s_enrol_to(&env, n, states[s], id);
            size_t events = s_nevents(&env);
            snprintf(op, sizeof op, "enrolments.%s", ops[o]);
            json_t *r = NULL;
            s_status_of(&env, id, before);
            int status = s_do(&env, &r, o == 2 ? FUND : SS, op,
                              "{\"id\":\"%s\"%s}", id,
                              o == 2   ? ",\"insurance_number\":\"OTHER\""
                              : o == 5 ? ",\"month\":\"2024-02\",\"amount_rials\":10,"
                                         "\"subsidy_rials\":5,\"person_rials\":5"
                              : o == 3 || o == 6 ? ",\"reason\":\"x\""
                                                 : "");
            if (status != 409 || !s_code(r) || strcmp(s_code(r), "wrong_state") != 0)
                fprintf(stderr, "  %s on %s: %d\n", ops[o], states[s], status);
            CHECK_EQ_INT(status, 409);
            CHECK_EQ_STR(s_code(r), "wrong_state");
            json_decref(r);
            CHECK_EQ_STR(s_status_of(&env, id, after), before);
            CHECK_EQ_INT(s_nevents(&env), events);
        }
    }
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.approve", "{\"id\":\"enr_999\"}"), 404);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.approve", "{\"id\":\"prs_1\"}"), 404);
    s_close(&env);
}

static void test_confirm_idempotent(void)
{
    s_env_t env;
    s_open(&env);
    char a[32], b[32];
    s_enrol_to(&env, 1, INS_SUBMITTED, a);
    s_enrol_to(&env, 2, INS_SUBMITTED, b);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.confirm",
                      "{\"id\":\"%s\",\"insurance_number\":\"N1\"}", a), 403);
    CHECK_EQ_INT(s_do(&env, NULL, FUND, "enrolments.confirm",
                      "{\"id\":\"%s\",\"insurance_number\":\"N1\"}", a), 200);
    size_t events = s_nevents(&env);
    json_t *r = NULL;
    CHECK_EQ_INT(s_do(&env, &r, FUND, "enrolments.confirm",
                      "{\"id\":\"%s\",\"insurance_number\":\"N1\"}", a), 200);
    CHECK_EQ_STR(s_res(r, "insurance_number"), "N1");
    json_decref(r);
    CHECK_EQ_INT(s_nevents(&env), events);
    CHECK_EQ_INT(s_do(&env, &r, FUND, "enrolments.confirm",
                      "{\"id\":\"%s\",\"insurance_number\":\"N2\"}", a), 409);
    CHECK_EQ_STR(s_code(r), "wrong_state");
    json_decref(r);
    CHECK_EQ_INT(s_do(&env, &r, FUND, "enrolments.confirm",
                      "{\"id\":\"%s\",\"insurance_number\":\"N1\"}", b), 409);
    CHECK_EQ_STR(s_code(r), "duplicate_insurance_number");
    json_decref(r);
    CHECK_EQ_INT(s_nevents(&env), events);
    s_close(&env);
}

/* xorshift64: seeded, so a failing case can be reproduced. */
static uint64_t s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_contributions(void)
{
    s_env_t env;
    s_open(&env);
    char id[32];
    s_enrol_to(&env, 1, INS_CONFIRMED, id);
    static const struct {
        const char *members;
        int status;
        const char *code;
    } cases[] = {
        {"\"month\":\"2024-02\",\"amount_rials\":100,\"subsidy_rials\":60,\"person_rials\":41", 422,
         "contribution_mismatch"},
        {"\"month\":\"2024-02\",\"amount_rials\":100,\"subsidy_rials\":9223372036854775807,"
         "\"person_rials\":2", 422, "contribution_mismatch"},
        {"\"month\":\"2024-13\",\"amount_rials\":100,\"subsidy_rials\":60,\"person_rials\":40", 422,
         "invalid_month"},
        {"\"month\":\"2023-12\",\"amount_rials\":100,\"subsidy_rials\":60,\"person_rials\":40", 422,
         "invalid_month"},
        {"\"month\":\"2026-01\",\"amount_rials\":100,\"subsidy_rials\":60,\"person_rials\":40", 422,
         "invalid_month"},
        {"\"month\":\"2024-02\",\"amount_rials\":100,\"subsidy_rials\":60,\"person_rials\":40,"
         "\"paid_date\":\"2024-06-16\"", 422, "future_date"},
        {"\"month\":\"2024-02\",\"amount_rials\":100,\"subsidy_rials\":-1,\"person_rials\":101", 400,
         "invalid_field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = NULL;
        CHECK_EQ_INT(s_do(&env, &r, SS, "enrolments.contribute", "{\"id\":\"%s\",%s}", id,
                          cases[i].members), cases[i].status);
        CHECK_EQ_STR(s_code(r), cases[i].code);
        json_decref(r);
    }
    /* Generated cases: any split that adds up to the rial is accepted, any other refused. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    int accepted = 0;
    for (int i = 0; i < 300; i++) {
        int64_t amount = (int64_t)(s_rand(&x) % 50000000000ull) + 1;
        int64_t subsidy = (int64_t)(s_rand(&x) % (uint64_t)amount);
        int64_t own = amount - subsidy + (i % 3 == 0 ? (int64_t)(s_rand(&x) % 3) - 1 : 0);
        bool exact = subsidy + own == amount;
        int year = 2024 + accepted / 12, month = accepted % 12 + 1;
        if (year > 2025 || (year == 2025 && month > 6))
            break;
        json_t *r = NULL;
        int status = s_do(&env, &r, SS, "enrolments.contribute",
                          "{\"id\":\"%s\",\"month\":\"%04d-%02d\",\"amount_rials\":%lld,"
                          "\"subsidy_rials\":%lld,\"person_rials\":%lld}",
                          id, year, month, (long long)amount, (long long)subsidy, (long long)own);
        CHECK_EQ_INT(status, own < 0 ? 400 : exact ? 201 : 422);
        accepted += status == 201;
        json_decref(r);
    }
    CHECK(accepted > 5);
    json_t *r = NULL;
    CHECK_EQ_INT(s_do(&env, &r, SS, "enrolments.contribute",
                      "{\"id\":\"%s\",\"month\":\"2024-01\",\"amount_rials\":2,"
                      "\"subsidy_rials\":1,\"person_rials\":1}", id), 409);
    CHECK_EQ_STR(s_code(r), "duplicate_contribution");
    json_decref(r);
    /* What was stored adds up exactly. */
    s_do(&env, &r, SS, "enrolments.get", "{\"id\":\"%s\"}", id);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(r, "result"), "contributions"), i, c)
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "subsidy_rials")) +
                         json_integer_value(json_object_get(c, "person_rials")),
                     json_integer_value(json_object_get(c, "amount_rials")));
    CHECK_EQ_INT(s_rlen(r, "contributions"),
                 accepted);
    json_decref(r);
    s_close(&env);
}

static void test_arrears(void)
{
    s_env_t env;
    s_open(&env);
    /* months_overdue on its own: start 2024-01-01, as of various dates, paid months given. */
    static const struct {
        const char *paid, *as_of;
        int overdue;
    } cases[] = {
        {"[]", "2024-01-20", 0},                      /* January is not over yet */
        {"[]", "2024-02-01", 1},
        {"[]", "2024-06-15", 5},
        {"[\"2024-01\",\"2024-02\"]", "2024-06-15", 3},
        {"[\"2024-02\",\"2024-03\"]", "2024-06-15", 5},   /* the oldest unpaid month counts */
        {"[\"2024-01\",\"2024-02\",\"2024-03\",\"2024-04\",\"2024-05\"]", "2024-06-15", 0},
        {"[\"2024-06\",\"2024-01\",\"2024-03\",\"2024-02\"]", "2024-06-15", 2},
        {"[]", "2023-06-15", 0},                      /* before the start */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *months = json_loads(cases[i].paid, 0, NULL), *m, *rec;
        json_t *contribs = json_array();
        size_t k;
        json_array_foreach(months, k, m)
            json_array_append_new(contribs, json_pack("{s:O}", "month", m));
        rec = json_pack("{s:s,s:o}", "start_date", "2024-01-01", "contributions", contribs);
        CHECK_EQ_INT(insurance_months_overdue(rec, cases[i].as_of), cases[i].overdue);
        json_decref(rec);
        json_decref(months);
    }
    /* check-arrears: three confirmed enrolments, 5, 3 and 0 months overdue on 2024-06-15. */
    char a[32], b[32], c[32], st[16];
    s_enrol_to(&env, 1, INS_CONFIRMED, a);
    s_enrol_to(&env, 2, INS_CONFIRMED, b);
    s_enrol_to(&env, 3, INS_CONFIRMED, c);
    for (int m = 1; m <= 5; m++) {
        if (m <= 2)
            CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.contribute",
                              "{\"id\":\"%s\",\"month\":\"2024-%02d\",\"amount_rials\":10,"
                              "\"subsidy_rials\":7,\"person_rials\":3}", b, m), 201);
        CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.contribute",
                          "{\"id\":\"%s\",\"month\":\"2024-%02d\",\"amount_rials\":10,"
                          "\"subsidy_rials\":7,\"person_rials\":3}", c, m), 201);
    }
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.check_arrears", "{}"), 403);
    CHECK_EQ_INT(s_do(&env, NULL, "operator", "enrolments.check_arrears",
                      "{\"as_of\":\"2024-07-01\"}"), 422);
    size_t events = s_nevents(&env);
    json_t *r = NULL;
    CHECK_EQ_INT(s_do(&env, &r, "operator", "enrolments.check_arrears", "{}"), 200);
    json_t *res = json_object_get(r, "result");
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "checked")), 3);
    CHECK_EQ_INT(json_array_size(json_object_get(res, "suspended")), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(res, "suspended"), 0)), a);
    json_decref(r);
    CHECK_EQ_INT(s_nevents(&env), events + 1);
    CHECK_EQ_STR(s_status_of(&env, a, st), INS_SUSPENDED);
    CHECK_EQ_STR(s_status_of(&env, b, st), INS_CONFIRMED);
    /* A stricter setting catches b too; running again suspends nothing twice. */
    setenv("HY_INSURANCE_SUSPEND_MONTHS", "2", 1);
    CHECK_EQ_INT(s_do(&env, &r, "operator", "enrolments.check_arrears", "{}"), 200);
    CHECK_EQ_INT(s_rlen(r, "suspended"), 1);
    json_decref(r);
    CHECK_EQ_INT(s_do(&env, &r, "operator", "enrolments.check_arrears", "{}"), 200);
    CHECK_EQ_INT(s_rlen(r, "suspended"), 0);
    json_decref(r);
    unsetenv("HY_INSURANCE_SUSPEND_MONTHS");
    CHECK_EQ_STR(s_status_of(&env, b, st), INS_SUSPENDED);
    /* Reinstating waits for the arrears to be paid. */
    CHECK_EQ_INT(s_do(&env, &r, SS, "enrolments.reinstate", "{\"id\":\"%s\"}", a), 422);
    CHECK_EQ_STR(s_code(r), "contributions_overdue");
    json_decref(r);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.reinstate", "{\"id\":\"%s\"}", b), 200);
    s_do(&env, &r, SS, "enrolments.get", "{\"id\":\"%s\"}", a);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"),
                                                    "months_overdue")), 5);
    json_decref(r);
    s_close(&env);
}

static void test_projection(void)
{
    s_env_t env;
    s_open(&env);
    s_person(&env, 1, "1985-04-12", NULL);
    s_business(&env, 1, 1, "handicrafts");
    /* The registry moves the business to another field: enrolment follows the new one. */
    s_registry(&env, "registry.business.updated", "bus_1",
               "{\"id\":\"bus_1\",\"changes\":{\"field\":{\"from\":\"handicrafts\",\"to\":"
               "\"services\"}},\"business\":{\"id\":\"bus_1\",\"owner_id\":\"prs_1\","
               "\"field\":\"services\",\"stage\":\"applicant\"}}");
    json_t *r = NULL;
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "handicrafts", "2024-07-01", NULL, &r), 422);
    CHECK_EQ_STR(s_code(r), "field_mismatch");
    json_decref(r);
    s_registry(&env, "registry.business.stage_changed", "bus_1",
               "{\"id\":\"bus_1\",\"owner_id\":\"prs_1\",\"from\":\"applicant\",\"to\":"
               "\"training\",\"field\":\"services\",\"date\":\"2024-06-15\"}");
    char id[32];
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "services", "2024-07-01", id, NULL), 201);
    /* A name corrected in the registry reaches the fund with the next event. */
    s_registry(&env, "registry.person.updated", "prs_1",
               "{\"id\":\"prs_1\",\"changes\":{},\"person\":{\"id\":\"prs_1\",\"national_id\":"
               "\"1000000011\",\"first_name\":\"Zahra\",\"last_name\":\"Karimi\",\"birth_date\":"
               "\"1985-04-12\",\"sex\":\"female\",\"office\":\"rey-2\",\"mobile\":\"0912\"}}");
    CHECK_EQ_INT(s_do(&env, NULL, SS, "enrolments.approve", "{\"id\":\"%s\"}", id), 200);
    json_t *events = s_feed(&env);
    json_t *data = json_object_get(json_array_get(events, 1), "data");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "first_name")), "Zahra");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "office")), "rey-2");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "field")), "services");
    CHECK(json_object_get(data, "mobile") == NULL);
    json_decref(events);
    json_t *r2 = NULL;
    CHECK_EQ_INT(s_do(&env, &r2, SS, "enrolments.list", "{\"office\":\"rey-2\"}"), 200);
    CHECK_EQ_INT(s_rlen(r2, "items"), 1);
    json_decref(r2);
    /* An event seen before changes nothing (the skeleton's cursor). */
    json_t *old = json_pack("{s:s,s:s,s:I,s:{s:s}}", "source", "hamyar/registry", "type",
                            "registry.person.registered", "sequence", (json_int_t)1, "data", "id",
                            "prs_1");
    CHECK(hy_service_apply(env.svc, "registry", old) != 0);
    json_decref(old);
    s_close(&env);
}

static void test_feed_and_list(void)
{
    s_env_t env;
    s_open(&env);
    char id[32];
    for (int n = 1; n <= 5; n++)
        s_enrol_to(&env, n, n % 2 ? INS_REQUESTED : INS_APPROVED, id);
    CHECK_EQ_INT(s_do(&env, NULL, SS, "feeds.enrolments", "{}"), 403);
    CHECK_EQ_INT(s_do(&env, NULL, "auditor", "feeds.enrolments", "{}"), 403);
    json_t *r = NULL, *since = NULL;
    CHECK_EQ_INT(s_do(&env, &r, "operator", "feeds.enrolments", "{\"after\":2,\"limit\":3,"
                      "\"wait\":5}"), 200);
    json_t *events = json_object_get(json_object_get(r, "result"), "events");
    CHECK_EQ_INT(json_array_size(events), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(events, 0), "seq")), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"), "last_seq")), 7);
    CHECK_EQ_INT(s_do(&env, &since, "operator", "events.since", "{\"after\":2,\"limit\":3}"), 200);
    CHECK(json_equal(json_object_get(since, "result"), json_object_get(r, "result")));
    json_decref(r);
    json_decref(since);
    CHECK_EQ_INT(s_do(&env, NULL, FUND, "feeds.enrolments", "{\"limit\":1001}"), 400);
    /* Lists: by status, by person, by office, and pages. */
    CHECK_EQ_INT(s_do(&env, &r, "auditor", "enrolments.list", "{\"status\":\"approved\"}"), 200);
    CHECK_EQ_INT(s_rlen(r, "items"), 2);
    json_decref(r);
    CHECK_EQ_INT(s_do(&env, &r, SS, "enrolments.list", "{\"person_id\":\"prs_3\"}"), 200);
    CHECK_EQ_INT(s_rlen(r, "items"), 1);
    json_decref(r);
    CHECK_EQ_INT(s_do(&env, &r, SS, "enrolments.list",
                      "{\"office\":\"rey-1\",\"status\":\"requested\",\"limit\":2}"), 200);
    CHECK_EQ_INT(s_rlen(r, "items"), 2);
    const char *cursor = json_string_value(json_object_get(json_object_get(r, "result"),
                                                           "next_cursor"));
    json_t *r2 = NULL;
    CHECK_EQ_INT(s_do(&env, &r2, SS, "enrolments.list",
                      "{\"status\":\"requested\",\"limit\":2,\"cursor\":\"%s\"}",
                      cursor ? cursor : ""), 200);
    CHECK_EQ_INT(s_rlen(r2, "items"), 1);
    json_decref(r);
    json_decref(r2);
    CHECK_EQ_INT(s_do(&env, NULL, "operator", "enrolments.list", "{}"), 403);
    s_close(&env);
}

/* Arrears in Jalali months: the cases are written in Jalali and converted here. Started
 * 1403/10/01, an enrolment is not overdue on 1403/10/26 (it was, counted in Gregorian months). */
static void test_jalali_arrears(void)
{
    static const struct {
        const char *paid, *as_of;
        int overdue;
    } cases[] = {
        {"[]", "1403/10/26", 0},
        {"[]", "1403/10/30", 0},
        {"[]", "1403/11/01", 1},
        {"[{\"month_jalali\":\"1403/10\"}]", "1403/11/30", 0},
        {"[{\"month_jalali\":\"1403/10\"}]", "1403/12/01", 1},
        {"[]", "1404/01/01", 3},                                         /* across Nowruz */
        {"[{\"month\":\"2025-01\"}]", "1403/12/01", 1},                 /* older record: Dey */
        {"[{\"month\":\"2025-01\"},{\"month_jalali\":\"1403/11\"}]", "1404/01/15", 1},
        {"[{\"month_jalali\":\"1403/11\"}]", "1404/01/15", 3},          /* Dey still unpaid */
        {"[]", "1403/09/30", 0},                                         /* before the start */
    };
    char start[11], as_of[11];
    CHECK_EQ_INT(hy_date_jalali_to_iso("1403/10/01", start), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(hy_date_jalali_to_iso(cases[i].as_of, as_of), 0);
        json_t *rec = json_pack("{s:s,s:o}", "start_date", start, "contributions",
                                json_loads(cases[i].paid, 0, NULL));
        int got = insurance_months_overdue(rec, as_of);
        if (got != cases[i].overdue)
            fprintf(stderr, "  case %zu (%s)\n", i, cases[i].as_of);
        CHECK_EQ_INT(got, cases[i].overdue);
        json_decref(rec);
    }
}

/* Contributions stored before Jalali months were kept are shown with their Jalali month. */
static void test_legacy_months_filled(void)
{
    json_t *rec = json_loads("{\"contributions\":[{\"month\":\"2025-01\"},{\"month\":\"2025-03\"},"
                             "{\"month_jalali\":\"1404/01\",\"month\":\"2025-04\"}]}", 0, NULL);
    insurance_contributions_fill(rec);
    json_t *c = json_object_get(rec, "contributions");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(c, 0), "month_jalali")), "1403/10");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(c, 1), "month_jalali")), "1403/12");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(c, 2), "month_jalali")), "1404/01");
    json_decref(rec);
}

/* The start-date window with its defaults: NOW is 1403/03/26, so from 1402/12/01 (the first
 * of Khordad less three months) to 1403/06/26 (three months ahead). */
static void test_start_date_window(void)
{
    s_env_t env;
    s_open(&env);
    unsetenv("HY_INSURANCE_BACKDATE_MONTHS");
    unsetenv("HY_INSURANCE_AHEAD_MONTHS");
    static const struct {
        const char *start_jalali;
        int status;
    } cases[] = {
        {"1402/11/30", 422}, {"1403/06/27", 422}, {"1402/12/01", 201}, {"1403/06/26", 201},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char iso[11];
        json_t *r = NULL;
        s_person(&env, 10 + (int)i, "1985-04-12", NULL);
        s_business(&env, 10 + (int)i, 10 + (int)i, "handicrafts");
        CHECK_EQ_INT(hy_date_jalali_to_iso(cases[i].start_jalali, iso), 0);
        CHECK_EQ_INT(s_enrol(&env, 10 + (int)i, 10 + (int)i, "handicrafts", iso, NULL, &r),
                     cases[i].status);
        if (cases[i].status == 422) {
            CHECK_EQ_STR(s_code(r), "start_date_out_of_range");
            json_t *err = json_object_get(r, "error");
            CHECK_EQ_STR(json_string_value(json_object_get(err, "earliest")), "2024-02-20");
            CHECK_EQ_STR(json_string_value(json_object_get(err, "latest")), "2024-09-16");
        }
        json_decref(r);
    }
    s_close(&env);
}

/* A store written before the shared person projection: its persons (in "insurance.persons") are
 * carried over at start-up, so an upgraded service knows them without --rebuild. */
static void test_persons_carried_over(void)
{
    s_env_t env;
    s_open(&env);
    s_business(&env, 1, 1, "services");
    hy_store_t *store = hy_service_store(env.svc);
    MDB_dbi old;
    MDB_txn *txn = NULL;
    CHECK_EQ_INT(hy_store_open_db(store, "insurance.persons", 0, &old), 0);
    CHECK_EQ_INT(mdb_txn_begin(hy_store_env(store), NULL, 0, &txn), 0);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", "prs_1", "national_id",
                            "1000000011", "first_name", "Maryam", "last_name", "Ahmadi",
                            "birth_date", "1985-04-12", "sex", "female", "office", "rey-1");
    CHECK_EQ_INT(hy_store_put_id(txn, old, 1, rec), 0);
    json_decref(rec);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    hy_service_destroy(&env.svc);
    env.svc = hy_service_new(&insurance_def, env.dir, NOW);   /* the upgraded service starts */
    CHECK(env.svc != NULL);
    char id[32];
    CHECK_EQ_INT(s_enrol(&env, 1, 1, "services", "2024-07-01", id, NULL), 201);
    s_close(&env);
}

const hy_test_t insurance_tests[] = {
    {"insurance.eligibility", test_eligibility},
    {"insurance.lifecycle_and_event_data", test_lifecycle_and_event_data},
    {"insurance.wrong_state", test_wrong_state},
    {"insurance.confirm_idempotent", test_confirm_idempotent},
    {"insurance.contributions", test_contributions},
    {"insurance.arrears", test_arrears},
    {"insurance.jalali_arrears", test_jalali_arrears},
    {"insurance.legacy_months_filled", test_legacy_months_filled},
    {"insurance.start_date_window", test_start_date_window},
    {"insurance.projection", test_projection},
    {"insurance.feed_and_list", test_feed_and_list},
    {"insurance.persons_carried_over", test_persons_carried_over},
    {0},
};
