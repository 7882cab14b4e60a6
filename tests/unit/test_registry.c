/*
 * test_registry.c — the registry service through the skeleton's test entry points: every
 * request goes through role and argument checks, its handler, a commit and (for events) the
 * outbox, exactly as in production but with no sockets and a fixed clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../services/registry/registry.h"
#include "fa.h"
#include "service_internal.h"
#include "test.h"
#include "test_registry.h"
#include "testutil.h"

typedef struct {
    char dir[64];
    hy_service_t *svc;
} s_env_t;

/* The office the next calls act for: a key of office-1 by default, "*" for the province. */
static const char *s_actor_office = "office-1";

/* Every record names an office that exists: the two offices the tests write for, covering every
 * neighbourhood a test gives a person. */
static int s_offices(s_env_t *env)
{
    static const char *const codes[] = {"office-1", "office-2"};
    for (size_t i = 0; i < 2; i++) {
        char args[512];
        snprintf(args, sizeof args,
                 "{\"code\":\"%s\",\"name\":\"office\",\"province\":\"Tehran\","
                 "\"city\":\"Tehran\",\"neighbourhoods\":[\"" ALI_FA " \u0622\u0628\u0627\u062f\",\"Old\",\"New\","
                 "\"Rey\"]}",
                 codes[i]);
        int status = 0;
        json_t *r = hy_service_calls(env->svc, "offices.create", "operator", NULL, args, &status);
        json_decref(r);
        if (status != 201)
            return -1;
    }
    return 0;
}

static int s_open(s_env_t *env)
{
    hy_test_tmpdir(env->dir);
    s_actor_office = "office-1";
    env->svc = hy_service_new(&registry_def, env->dir, NOW);
    return env->svc && s_offices(env) == 0 ? 0 : -1;
}

static void s_close(s_env_t *env)
{
    hy_service_destroy(&env->svc);
    hy_test_rmdir(env->dir);
}

/* Calls op with args built printf-style; returns the reply (caller frees), *status its status. */
static json_t *s_call(s_env_t *env, const char *op, const char *role, int *status, const char *fmt,
                      ...)
{
    char args[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    json_t *json = json_loads(args, 0, NULL);
    char id[40];
    snprintf(id, sizeof id, "test-%s", op);
    hy_actor_t actor = {"test-key", role, s_actor_office};
    json_t *req = hy_proto_request(op, id, &actor, NULL, json);
    json_t *reply = hy_service_call(env->svc, req);
    json_decref(req);
    if (status)
        *status = (int)json_integer_value(json_object_get(reply, "status"));
    return reply;
}

static json_t *s_result(json_t *reply)
{
    return json_object_get(reply, "result");
}

static const char *s_rstr(json_t *reply, const char *key)
{
    return json_string_value(json_object_get(s_result(reply), key));
}

static const char *s_err(json_t *reply, const char *key)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), key));
}

/* A valid national ID from a 9-digit base (check digit computed as DOMAIN.md says). */
static void s_nid(unsigned base, char out[11])
{
    snprintf(out, 11, "%09u", base);
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (out[i] - '0') * (10 - i);
    int r = sum % 11;
    out[9] = (char)('0' + (r < 2 ? r : 11 - r));
    out[10] = '\0';
}

void registry_test_nid(unsigned base, char out[11])
{
    s_nid(base, out);
}

/* The same digits in Persian (U+06F0..U+06F9). */
static void s_persian_digits(const char *ascii, char *out)
{
    for (; *ascii; ascii++) {
        *out++ = (char)0xDB;
        *out++ = (char)(0xB0 + (*ascii - '0'));
    }
    *out = '\0';
}

/* Registers a person and returns the new id in id (empty on failure); extra is more JSON members
 * (starting with a comma) or "". */
static int s_person(s_env_t *env, unsigned base, const char *first, const char *last,
                    const char *extra, char id[32])
{
    char nid[11];
    s_nid(base, nid);
    int status;
    /* a person of office-2 is registered by office-2's key */
    const char *was = s_actor_office;
    if (strstr(extra, "\"office\":\"office-2\""))
        s_actor_office = "office-2";
    json_t *r = s_call(env, "persons.create", SS, &status,
                       "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                       "\"birth_date\":\"1985-03-21\",\"sex\":\"female\"%s}",
                       nid, first, last, extra);
    s_actor_office = was;
    snprintf(id, 32, "%s", status == 201 ? s_rstr(r, "id") : "");
    json_decref(r);
    return status;
}

/* Number of items of a list op (one page of up to 500). */
static size_t s_count(s_env_t *env, const char *op, const char *args_members)
{
    int status;
    const char *was = s_actor_office;
    s_actor_office = "*"; /* counts see every office */
    json_t *r = s_call(env, op, "auditor", &status, "{\"limit\":500%s}", args_members);
    s_actor_office = was;
    size_t n = status == 200 ? json_array_size(json_object_get(s_result(r), "items")) : (size_t)-1;
    json_decref(r);
    return n;
}

/* Events in the outbox (events.since as an operator). */
static json_t *s_events(s_env_t *env)
{
    int status;
    json_t *r = s_call(env, "events.since", "operator", &status, "{\"after\":0,\"limit\":1000}");
    CHECK_EQ_INT(status, 200);
    json_t *all = json_object_get(s_result(r), "events"), *events = json_array(), *ev;
    size_t i;
    json_array_foreach(all, i, ev) /* the offices s_open made are not what a test looks at */
        if (strncmp(json_string_value(json_object_get(ev, "type")), "registry.office.", 16) != 0)
            json_array_append(events, ev);
    json_decref(r);
    return events;
}

static size_t s_count_events(json_t *events, const char *type)
{
    size_t n = 0, i;
    json_t *ev;
    json_array_foreach(events, i, ev)
        n += strcmp(json_string_value(json_object_get(ev, "type")), type) == 0;
    return n;
}

/* ------------------------------------------------------------------------ tests ----------- */

static void test_person_round_trip(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char nid[11], nid_fa[32];
    s_nid(123456789, nid);
    s_persian_digits(nid, nid_fa);
    int status;
    json_t *r =
        s_call(&env, "persons.create", SS, &status,
               "{\"national_id\":\"  %s \",\"first_name\":\" " ZAHRA " \","
               "\"last_name\":\"" HOSSEIN ZWNJ ZADEH "\",\"birth_date_jalali\":\"1364/01/01\","
               "\"sex\":\"female\",\"mobile\":\"+98 912 345 6789\",\"neighbourhood\":\"" ALI_FA
               " \u0622\u0628\u0627\u062f\",\"household_size\":4,\"head_of_household\":true,"
               "\"skills\":[\"tailoring\"],\"referral\":{\"source\":\"agency\","
               "\"agency\":\"Welfare Organisation\"}}",
               nid_fa);
    CHECK_EQ_INT(status, 201);
    CHECK_EQ_STR(s_rstr(r, "id"), "prs_1");
    CHECK_EQ_STR(s_rstr(r, "national_id"), nid);
    CHECK_EQ_STR(s_rstr(r, "first_name"), ZAHRA);
    CHECK_EQ_STR(s_rstr(r, "last_name"), HOSSEIN ZWNJ ZADEH);
    CHECK_EQ_STR(s_rstr(r, "birth_date"), "1985-03-21");
    CHECK_EQ_STR(s_rstr(r, "birth_date_jalali"), "1364/01/01");
    CHECK_EQ_STR(s_rstr(r, "mobile"), "09123456789");
    CHECK_EQ_STR(s_rstr(r, "office"), "office-1");
    CHECK_EQ_STR(s_rstr(r, "created_by"), "test-key");
    CHECK_EQ_STR(s_rstr(r, "created_at"), "2024-06-15T12:00:00Z");
    json_t *refs = json_object_get(s_result(r), "referrals");
    CHECK_EQ_INT(json_array_size(refs), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(refs, 0), "agency")),
                 "Welfare Organisation");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(refs, 0), "date")), "2024-06-15");
    json_t *created = json_incref(s_result(r));
    json_decref(r);

    r = s_call(&env, "persons.get", "auditor", &status, "{\"id\":\"prs_1\"}");
    CHECK_EQ_INT(status, 200);
    CHECK(json_equal(s_result(r), created));
    json_decref(r);
    json_decref(created);

    r = s_call(&env, "persons.get", SS, &status, "{\"id\":\"prs_2\"}");
    CHECK_EQ_INT(status, 404);
    CHECK_EQ_STR(s_err(r, "code"), "not_found");
    json_decref(r);
    r = s_call(&env, "persons.get", SS, &status, "{\"id\":\"bus_1\"}");
    CHECK_EQ_INT(status, 404);
    json_decref(r);
    r = s_call(&env, "persons.get", "operator", &status, "{\"id\":\"prs_1\"}");
    CHECK_EQ_INT(status, 403);
    json_decref(r);
    char id[32];
    CHECK_EQ_INT(s_person(&env, 200000001, ZAHRA, AKBARI, "", id), 201);
    r = s_call(&env, "persons.create", "auditor", &status, "{}");
    CHECK_EQ_INT(status, 403);
    json_decref(r);
    s_close(&env);
}

static void test_person_duplicate(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char id[32], nid[11];
    CHECK_EQ_INT(s_person(&env, 300000001, ZAHRA, AKBARI, "", id), 201);
    s_nid(300000001, nid);
    int status;
    /* Same ID written with dashes: still the same person. */
    json_t *r = s_call(&env, "persons.create", SS, &status,
                       "{\"national_id\":\"%.3s-%.6s-%s\",\"first_name\":\"x\",\"last_name\":\"y\","
                       "\"birth_date\":\"1990-01-01\",\"sex\":\"female\"}",
                       nid, nid + 3, nid + 9);
    CHECK_EQ_INT(status, 409);
    CHECK_EQ_STR(s_err(r, "code"), "duplicate_national_id");
    CHECK_EQ_STR(s_err(r, "field"), "national_id");
    CHECK_EQ_STR(s_err(r, "existing_id"), id);
    CHECK(json_is_false(json_object_get(json_object_get(r, "error"), "new_referral")));
    json_decref(r);
    /* From a new agency: the detail points at the referrals route. */
    r = s_call(&env, "persons.create", SS, &status,
               "{\"national_id\":\"%s\",\"first_name\":\"x\",\"last_name\":\"y\","
               "\"birth_date\":\"1990-01-01\",\"sex\":\"female\","
               "\"referral\":{\"source\":\"agency\",\"agency\":\"Relief Committee\"}}",
               nid);
    CHECK_EQ_INT(status, 409);
    CHECK_EQ_STR(s_err(r, "existing_id"), id);
    CHECK(json_is_true(json_object_get(json_object_get(r, "error"), "new_referral")));
    CHECK(strstr(s_err(r, "detail") ? s_err(r, "detail") : "", "/v1/persons/prs_1/referrals"));
    json_decref(r);
    CHECK_EQ_INT(s_count(&env, "persons.list", ""), 1);
    r = s_call(&env, "persons.get", SS, &status, "{\"id\":\"%s\"}", id);
    CHECK_EQ_STR(s_rstr(r, "first_name"), ZAHRA);
    CHECK_EQ_INT(json_array_size(json_object_get(s_result(r), "referrals")), 1);
    json_decref(r);
    json_t *events = s_events(&env);
    CHECK_EQ_INT(json_array_size(events), 1);
    json_decref(events);
    s_close(&env);
}

/* A registration checks her neighbourhood against the office as it is now: an office changed
 * between two registrations (its decoded record is reused while its stored bytes are unchanged)
 * is seen by the next one, both ways. */
static void test_office_change_seen(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    static const char *const person =
        "{\"national_id\":\"%s\",\"first_name\":\"x\",\"last_name\":\"y\","
        "\"birth_date\":\"1990-01-01\",\"sex\":\"female\",\"neighbourhood\":\"Shahran\"}";
    char nid[11];
    int status;
    s_nid(300000011, nid);
    json_t *r = s_call(&env, "persons.create", SS, &status, person, nid);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "neighbourhood_not_in_office");
    json_decref(r);
    r = s_call(&env, "offices.update", "operator", &status,
               "{\"code\":\"office-1\",\"neighbourhoods\":[\"Old\",\"Shahran\"]}");
    CHECK_EQ_INT(status, 200);
    json_decref(r);
    r = s_call(&env, "persons.create", SS, &status, person, nid);
    CHECK_EQ_INT(status, 201);
    json_decref(r);
    r = s_call(&env, "offices.update", "operator", &status,
               "{\"code\":\"office-1\",\"neighbourhoods\":[\"Old\"]}");
    CHECK_EQ_INT(status, 200);
    json_decref(r);
    s_nid(300000012, nid);
    r = s_call(&env, "persons.create", SS, &status, person, nid);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "neighbourhood_not_in_office");
    json_decref(r);
    s_close(&env);
}

static void test_person_invalid(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char nid[11];
    s_nid(400000001, nid);
    char bad[11];
    memcpy(bad, nid, 11);
    bad[9] = (char)(bad[9] == '9' ? '0' : bad[9] + 1);
    static const struct {
        const char *members; /* %s is the national ID */
        int status;
        const char *code, *field;
    } cases[] = {
        {"\"national_id\":\"BAD\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\"", 422,
         "invalid_national_id", "national_id"},
        {"\"national_id\":\"1111111111\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\"", 422,
         "invalid_national_id", "national_id"},
        {"\"national_id\":\"%s\",\"birth_date\":\"2030-01-01\",\"sex\":\"female\"", 422,
         "invalid_birth_date", "birth_date"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1890-01-01\",\"sex\":\"female\"", 422,
         "invalid_birth_date", "birth_date"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
         "\"mobile\":\"0212345678\"",
         422, "invalid_mobile", "mobile"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
         "\"referral\":{\"source\":\"agency\"}",
         422, "missing_agency", "referral.agency"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\",\"sex\":\"other\"", 400,
         "invalid_field", "sex"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
         "\"household_size\":0",
         400, "invalid_field", "household_size"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
         "\"favourite\":\"x\"",
         400, "unknown_field", "favourite"},
        {"\"national_id\":\"%s\",\"birth_date\":\"1985-01-01\"", 400, "missing_field", "sex"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char members[512], args[700];
        snprintf(members, sizeof members, cases[i].members, nid);
        snprintf(args, sizeof args, "{\"first_name\":\"a\",\"last_name\":\"b\",%s}", members);
        int status;
        json_t *r = s_call(&env, "persons.create", SS, &status, "%s", args);
        CHECK_EQ_INT(status, cases[i].status);
        CHECK_EQ_STR(s_err(r, "code"), cases[i].code);
        CHECK_EQ_STR(s_err(r, "field"), cases[i].field);
        json_decref(r);
    }
    int status;
    json_t *r = s_call(&env, "persons.create", SS, &status,
                       "{\"national_id\":\"%s\",\"first_name\":\"a\",\"last_name\":\"b\","
                       "\"birth_date\":\"1985-01-01\",\"sex\":\"female\"}",
                       bad);
    CHECK_EQ_INT(status, 422);
    CHECK(strstr(s_err(r, "detail") ? s_err(r, "detail") : "", "check digit"));
    json_decref(r);
    CHECK_EQ_INT(s_count(&env, "persons.list", ""), 0);
    json_t *events = s_events(&env);
    CHECK_EQ_INT(json_array_size(events), 0);
    json_decref(events);
    /* The refused requests used no number: the first person is still prs_1. */
    char id[32];
    CHECK_EQ_INT(s_person(&env, 400000001, "a", "b", "", id), 201);
    CHECK_EQ_STR(id, "prs_1");
    s_close(&env);
}

static void test_referrals(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char id[32];
    CHECK_EQ_INT(s_person(&env, 500000001, ZAHRA, AKBARI,
                          ",\"referral\":{\"source\":\"agency\",\"agency\":\"" ALI_FA " agency\"}",
                          id),
                 201);
    int status;
    json_t *r = s_call(&env, "persons.add_referral", SS, &status,
                       "{\"id\":\"%s\",\"source\":\"agency\",\"agency\":\"Relief Committee\"}", id);
    CHECK_EQ_INT(status, 201);
    json_t *refs = json_object_get(s_result(r), "referrals");
    CHECK_EQ_INT(json_array_size(refs), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(refs, 0), "agency")),
                 ALI_FA " agency");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(refs, 1), "agency")),
                 "Relief Committee");
    json_decref(r);
    /* The same agency spelt with an Arabic yeh is the same agency. */
    r = s_call(&env, "persons.add_referral", SS, &status,
               "{\"id\":\"%s\",\"source\":\"agency\",\"agency\":\"" ALI_AR " agency\"}", id);
    CHECK_EQ_INT(status, 409);
    CHECK_EQ_STR(s_err(r, "code"), "duplicate_referral");
    json_decref(r);
    r = s_call(&env, "persons.add_referral", SS, &status, "{\"id\":\"%s\",\"source\":\"self\"}",
               id);
    CHECK_EQ_INT(status, 201);
    json_decref(r);
    r = s_call(&env, "persons.add_referral", SS, &status, "{\"id\":\"%s\",\"source\":\"self\"}",
               id);
    CHECK_EQ_INT(status, 409);
    json_decref(r);
    r = s_call(&env, "persons.add_referral", SS, &status, "{\"id\":\"%s\",\"source\":\"agency\"}",
               id);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "missing_agency");
    json_decref(r);
    r = s_call(&env, "persons.add_referral", SS, &status, "{\"id\":\"prs_9\",\"source\":\"self\"}");
    CHECK_EQ_INT(status, 404);
    json_decref(r);
    r = s_call(&env, "persons.get", SS, &status, "{\"id\":\"%s\"}", id);
    CHECK_EQ_INT(json_array_size(json_object_get(s_result(r), "referrals")), 3);
    json_decref(r);
    json_t *events = s_events(&env);
    CHECK_EQ_INT(s_count_events(events, "registry.person.updated"), 2);
    json_t *changes =
        json_object_get(json_object_get(json_array_get(events, 1), "data"), "changes");
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(changes, "referrals"), "to")), 2);
    json_decref(events);
    s_close(&env);
}

static void test_search(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char a[32], b[32], c[32];
    CHECK_EQ_INT(s_person(&env, 600000001, ALI_FA, HOSSEIN ZWNJ ZADEH, "", a), 201);
    CHECK_EQ_INT(s_person(&env, 600000002, ZAHRA, AKBARI, ",\"office\":\"office-2\"", b), 201);
    CHECK_EQ_INT(s_person(&env, 600000003, ZAHRA, HOSSEIN ZADEH, "", c), 201);
    static const struct {
        const char *q;
        size_t count;
    } cases[] = {
        {ALI_AR, 1}, /* Arabic yeh finds the Persian spelling */
        {ALI_FA, 1},
        {"\u0639\u0644", 1},     /* a prefix of a word */
        {HOSSEIN ZWNJ ZADEH, 2}, /* with ZWNJ: a, and c whose name has none */
        {HOSSEIN ZADEH, 2},      /* without */
        {HOSSEIN " " ZADEH, 2},  /* a space where the name has a ZWNJ */
        {ZAHRA " " HOSSEIN, 1},
        {ZAHRA, 2},
        {ZADEH, 1}, /* each part of a ZWNJ compound is a word: a */
        {ALI_AR " " AKBARI, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char members[300];
        snprintf(members, sizeof members, ",\"q\":\"%s\"", cases[i].q);
        size_t n = s_count(&env, "persons.list", members);
        if (n != cases[i].count)
            fprintf(stderr, "  q case %zu\n", i);
        CHECK_EQ_INT(n, cases[i].count);
    }
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"q\":\"" ZAHRA "\",\"office\":\"office-2\""), 1);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"q\":\"" ZAHRA "\",\"office\":\"office-1\""), 1);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"office\":\"office-1\""), 2);
    char nid[11];
    s_nid(600000002, nid);
    int status;
    json_t *r = s_call(&env, "persons.list", SS, &status, "{\"national_id\":\"%s\"}", nid);
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(s_result(r), "items")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(
                     json_array_get(json_object_get(s_result(r), "items"), 0), "id")),
                 b);
    json_decref(r);
    char m[64];
    snprintf(m, sizeof m, ",\"national_id\":\"%s\",\"q\":\"" ALI_FA "\"", nid);
    CHECK_EQ_INT(s_count(&env, "persons.list", m), 0);
    s_close(&env);
}

/* Walks every page of a list; returns the number of pages, checks ids are unique and rising. */
static int s_walk(s_env_t *env, const char *members, int limit, size_t *total)
{
    char cursor[64] = "";
    int pages = 0;
    uint64_t last = 0;
    *total = 0;
    for (;;) {
        int status;
        s_actor_office = "*"; /* the province walks every office */
        json_t *r =
            s_call(env, "persons.list", SS, &status, "{\"limit\":%d%s%s%s%s}", limit, members,
                   cursor[0] ? ",\"cursor\":\"" : "", cursor, cursor[0] ? "\"" : "");
        s_actor_office = "office-1";
        CHECK_EQ_INT(status, 200);
        if (status != 200 || ++pages > 10) {
            json_decref(r);
            return -1;
        }
        json_t *items = json_object_get(s_result(r), "items");
        size_t i;
        json_t *p;
        json_array_foreach(items, i, p) {
            uint64_t n = 0;
            CHECK(hy_id_parse("prs", json_string_value(json_object_get(p, "id")), &n) == 0);
            CHECK(n > last);
            last = n;
        }
        *total += json_array_size(items);
        const char *next = json_string_value(json_object_get(s_result(r), "next_cursor"));
        CHECK(next || json_is_null(json_object_get(s_result(r), "next_cursor")));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(r);
        if (!cursor[0])
            return pages;
    }
}

static void test_pagination(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char id[32];
    for (unsigned i = 0; i < 130; i++) {
        /* 120 Akbaris in office-1 (half spelt with an Arabic yeh), 10 others in office-2. */
        const char *last = i < 120 ? (i % 2 ? AKBARI : "\u0627\u06a9\u0628\u0631" YEH_AR) : ZAHRA;
        CHECK_EQ_INT(s_person(&env, 700000000 + i, ALI_FA, last,
                              i < 120 ? "" : ",\"office\":\"office-2\"", id),
                     201);
    }
    size_t total;
    CHECK_EQ_INT(s_walk(&env, ",\"q\":\"" AKBARI "\"", 50, &total), 3);
    CHECK_EQ_INT(total, 120);
    CHECK_EQ_INT(s_walk(&env, ",\"office\":\"office-1\"", 50, &total), 3);
    CHECK_EQ_INT(total, 120);
    CHECK_EQ_INT(s_walk(&env, ",\"q\":\"" ALI_AR "\",\"office\":\"office-2\"", 50, &total), 1);
    CHECK_EQ_INT(total, 10);
    CHECK_EQ_INT(s_walk(&env, "", 500, &total), 1);
    CHECK_EQ_INT(total, 130);
    int status;
    json_t *r = s_call(&env, "persons.list", SS, &status, "{\"cursor\":\"prs_3\"}");
    CHECK_EQ_INT(status, 400);
    json_decref(r);
    s_close(&env);
}

static void test_person_patch(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char id[32];
    CHECK_EQ_INT(s_person(&env, 800000001, ZAHRA, AKBARI,
                          ",\"neighbourhood\":\"Old\",\"mobile\":\"09121111111\"", id),
                 201);
    int status;
    json_t *r = s_call(&env, "persons.update", SS, &status,
                       "{\"id\":\"%s\",\"neighbourhood\":\"New\",\"first_name\":\"" ALI_FA "\","
                       "\"mobile\":null,\"household_size\":5}",
                       id);
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_STR(s_rstr(r, "neighbourhood"), "New");
    CHECK(json_object_get(s_result(r), "mobile") == NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(s_result(r), "household_size")), 5);
    json_decref(r);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"neighbourhood\":\"new\""), 1);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"neighbourhood\":\"Old\""), 0);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"q\":\"" ALI_AR "\""), 1);
    CHECK_EQ_INT(s_count(&env, "persons.list", ",\"q\":\"" ZAHRA "\""), 0);

    json_t *events = s_events(&env);
    CHECK_EQ_INT(json_array_size(events), 2);
    json_t *ev = json_array_get(events, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "registry.person.updated");
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "subject")), id);
    json_t *changes = json_object_get(json_object_get(ev, "data"), "changes");
    CHECK_EQ_INT(json_object_size(changes), 4);
    CHECK_EQ_STR(
        json_string_value(json_object_get(json_object_get(changes, "neighbourhood"), "from")),
        "Old");
    CHECK(json_is_null(json_object_get(json_object_get(changes, "mobile"), "to")));
    json_decref(events);

    char nid[11], other[11];
    s_nid(800000001, nid);
    s_nid(800000002, other);
    r = s_call(&env, "persons.update", SS, &status, "{\"id\":\"%s\",\"national_id\":\"%s\"}", id,
               other);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "immutable_field");
    json_decref(r);
    r = s_call(&env, "persons.update", SS, &status,
               "{\"id\":\"%s\",\"national_id\":\"%s\",\"city\":\"Rey\"}", id, nid);
    CHECK_EQ_INT(status, 200);
    json_decref(r);
    r = s_call(&env, "persons.update", SS, &status,
               "{\"id\":\"%s\",\"city\":\"Tehran\",\"birth_date\":\"2999-01-01\"}", id);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "invalid_birth_date");
    json_decref(r);
    r = s_call(&env, "persons.update", SS, &status, "{\"id\":\"%s\",\"first_name\":null}", id);
    CHECK_EQ_INT(status, 400);
    json_decref(r);
    r = s_call(&env, "persons.update", SS, &status,
               "{\"id\":\"%s\",\"referral\":{\"source\":\"self\"}}", id);
    CHECK_EQ_INT(status, 422);
    json_decref(r);
    r = s_call(&env, "persons.update", SS, &status, "{\"id\":\"prs_77\",\"city\":\"x\"}");
    CHECK_EQ_INT(status, 404);
    json_decref(r);
    /* Nothing changed: no event. */
    r = s_call(&env, "persons.update", SS, &status, "{\"id\":\"%s\",\"city\":\"Rey\"}", id);
    CHECK_EQ_INT(status, 200);
    json_decref(r);
    r = s_call(&env, "persons.get", SS, &status, "{\"id\":\"%s\"}", id);
    CHECK_EQ_STR(s_rstr(r, "city"), "Rey");
    CHECK_EQ_STR(s_rstr(r, "birth_date"), "1985-03-21");
    json_decref(r);
    events = s_events(&env);
    CHECK_EQ_INT(json_array_size(events), 3);
    json_decref(events);
    s_close(&env);
}

static void test_business_stages(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char owner[32];
    CHECK_EQ_INT(s_person(&env, 900000001, ZAHRA, AKBARI, ",\"neighbourhood\":\"Rey\"", owner),
                 201);
    int status;
    json_t *r =
        s_call(&env, "businesses.create", SS, &status,
               "{\"owner_id\":\"prs_99\",\"activity\":\"tailoring\",\"field\":\"industry\"}");
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "unknown_person");
    json_decref(r);
    r = s_call(
        &env, "businesses.create", SS, &status,
        "{\"owner_id\":\"%s\",\"activity\":\"carpet weaving\",\"field\":\"handicrafts\","
        "\"licence\":{\"type\":\"independent\",\"number\":\"L-1\",\"issued\":\"2030-01-01\"}}",
        owner);
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "future_date");
    json_decref(r);
    r = s_call(
        &env, "businesses.create", SS, &status,
        "{\"owner_id\":\"%s\",\"activity\":\"carpet weaving\",\"field\":\"handicrafts\","
        "\"licence\":{\"type\":\"supporter\",\"number\":\"L-1\",\"issued_jalali\":\"1402/01/01\"}}",
        owner);
    CHECK_EQ_INT(status, 201);
    CHECK_EQ_STR(s_rstr(r, "id"), "bus_1");
    CHECK_EQ_STR(s_rstr(r, "stage"), "applicant");
    CHECK_EQ_STR(s_rstr(r, "neighbourhood"), "Rey");
    CHECK_EQ_STR(
        json_string_value(json_object_get(json_object_get(s_result(r), "licence"), "issued")),
        "2023-03-21");
    json_decref(r);

    static const struct {
        const char *stage;
        int status;
    } moves[] = {
        {"training", 200},  {"producing", 200}, {"established", 422},
        {"applicant", 422}, {"training", 200},  {"training", 200}, /* no change: no history entry */
    };
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        r = s_call(&env, "businesses.update", SS, &status, "{\"id\":\"bus_1\",\"stage\":\"%s\"}",
                   moves[i].stage);
        CHECK_EQ_INT(status, moves[i].status);
        if (moves[i].status == 422)
            CHECK_EQ_STR(s_err(r, "code"), "invalid_stage_transition");
        json_decref(r);
    }
    r = s_call(&env, "businesses.get", "auditor", &status, "{\"id\":\"bus_1\"}");
    CHECK_EQ_STR(s_rstr(r, "stage"), "training");
    json_t *history = json_object_get(s_result(r), "stage_history");
    CHECK_EQ_INT(json_array_size(history), 4);
    static const char *const path[][2] = {
        {NULL, "applicant"},
        {"applicant", "training"},
        {"training", "producing"},
        {"producing", "training"},
    };
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(history, i);
        const char *from = json_string_value(json_object_get(e, "from"));
        CHECK(path[i][0] ? from && strcmp(from, path[i][0]) == 0 : from == NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(e, "to")), path[i][1]);
        CHECK_EQ_STR(json_string_value(json_object_get(e, "date")), "2024-06-15");
    }
    json_decref(r);

    r = s_call(&env, "businesses.update", SS, &status,
               "{\"id\":\"bus_1\",\"field\":\"services\",\"licence\":null}");
    CHECK_EQ_INT(status, 200);
    CHECK(json_object_get(s_result(r), "licence") == NULL);
    json_decref(r);
    r = s_call(&env, "businesses.update", SS, &status, "{\"id\":\"bus_1\",\"owner_id\":\"prs_2\"}");
    CHECK_EQ_INT(status, 422);
    CHECK_EQ_STR(s_err(r, "code"), "immutable_field");
    json_decref(r);
    char m[64];
    snprintf(m, sizeof m, ",\"owner_id\":\"%s\"", owner);
    CHECK_EQ_INT(s_count(&env, "businesses.list", m), 1);
    CHECK_EQ_INT(s_count(&env, "businesses.list", ",\"stage\":\"training\""), 1);
    CHECK_EQ_INT(s_count(&env, "businesses.list", ",\"stage\":\"producing\""), 0);
    CHECK_EQ_INT(s_count(&env, "businesses.list", ",\"field\":\"services\""), 1);
    CHECK_EQ_INT(s_count(&env, "businesses.list", ",\"field\":\"handicrafts\""), 0);

    json_t *events = s_events(&env);
    CHECK_EQ_INT(s_count_events(events, "registry.business.created"), 1);
    CHECK_EQ_INT(s_count_events(events, "registry.business.stage_changed"), 3);
    CHECK_EQ_INT(s_count_events(events, "registry.business.updated"), 1);
    json_t *ev = json_array_get(events, 2); /* the first stage change */
    json_t *data = json_object_get(ev, "data");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "from")), "applicant");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "to")), "training");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "owner_id")), owner);
    CHECK_EQ_STR(json_string_value(json_object_get(data, "field")), "handicrafts");
    json_decref(events);
    s_close(&env);
}

static void test_activities(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char p1[32], p2[32];
    CHECK_EQ_INT(s_person(&env, 110000001, ZAHRA, AKBARI, "", p1), 201);
    CHECK_EQ_INT(s_person(&env, 110000002, ALI_FA, AKBARI, "", p2), 201);
    static const struct {
        const char *members;
        int status;
        const char *code;
    } cases[] = {
        {"\"kind\":\"training_class\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_1\",\"prs_2\"],"
         "\"title\":\"sewing\",\"hours\":3",
         201, NULL},
        {"\"kind\":\"training_class\",\"date\":\"2024-06-01\"", 422, "missing_participants"},
        {"\"kind\":\"counselling\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_1\",\"prs_9\"]",
         422, "unknown_person"},
        {"\"kind\":\"counselling\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_1\",\"prs_1\"]",
         422, "duplicate_participant"},
        {"\"kind\":\"meeting\",\"date\":\"2024-06-01\"", 422, "missing_meeting_kind"},
        {"\"kind\":\"counselling\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_1\"],"
         "\"meeting_kind\":\"working_group\"",
         422, "unexpected_meeting_kind"},
        {"\"kind\":\"meeting\",\"date_jalali\":\"1403/03/"
         "20\",\"meeting_kind\":\"steering_council\"",
         201, NULL},
        {"\"kind\":\"counselling\",\"date\":\"2024-06-16\",\"person_ids\":[\"prs_1\"]", 422,
         "future_date"},
        {"\"kind\":\"employer_referral\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_1\"]", 422,
         "missing_employer"},
        {"\"kind\":\"job_created\",\"date\":\"2024-06-01\",\"person_ids\":[\"prs_2\"],"
         "\"business_id\":\"bus_4\"",
         422, "unknown_business"},
        {"\"kind\":\"aid\",\"date\":\"2024-05-01\",\"person_ids\":[\"prs_2\"],"
         "\"value_rials\":5000000,\"office\":\"office-2\"",
         403, "other_office"},
        {"\"kind\":\"aid\",\"date\":\"2024-05-01\",\"person_ids\":[\"prs_2\"],\"value_rials\":-1",
         400, "invalid_field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        json_t *r = s_call(&env, "activities.create", SS, &status, "{%s}", cases[i].members);
        if (status != cases[i].status)
            fprintf(stderr, "  activity case %zu\n", i);
        CHECK_EQ_INT(status, cases[i].status);
        if (cases[i].code)
            CHECK_EQ_STR(s_err(r, "code"), cases[i].code);
        json_decref(r);
    }
    int status;
    s_actor_office = "*"; /* the province records an aid for office-2 to an office-1 person */
    json_t *r = s_call(&env, "activities.create", SS, &status,
                       "{\"kind\":\"aid\",\"date\":\"2024-05-01\",\"person_ids\":[\"prs_2\"],"
                       "\"value_rials\":5000000,\"office\":\"office-2\"}");
    s_actor_office = "office-1";
    CHECK_EQ_INT(status, 201);
    json_decref(r);
    r = s_call(&env, "activities.get", "auditor", &status, "{\"id\":\"act_2\"}");
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_STR(s_rstr(r, "date"), "2024-06-09");
    CHECK_EQ_STR(s_rstr(r, "date_jalali"), "1403/03/20");
    CHECK_EQ_STR(s_rstr(r, "meeting_kind"), "steering_council");
    CHECK_EQ_STR(s_rstr(r, "office"), "office-1");
    CHECK_EQ_STR(s_rstr(r, "created_by"), "test-key");
    json_decref(r);
    r = s_call(&env, "activities.get", SS, &status, "{\"id\":\"act_4\"}");
    CHECK_EQ_INT(status, 404);
    json_decref(r);

    CHECK_EQ_INT(s_count(&env, "activities.list", ""), 3);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"person_id\":\"prs_2\""), 2);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"person_id\":\"prs_1\""), 1);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"kind\":\"meeting\""), 1);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"office\":\"office-2\""), 1);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"from\":\"2024-06-01\""), 2);
    CHECK_EQ_INT(s_count(&env, "activities.list",
                         ",\"from\":\"2024-06-02\",\"to\":\"2024-06-30\",\"kind\":\"meeting\""),
                 1);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"to\":\"2024-05-31\",\"person_id\":\"prs_2\""),
                 1);

    json_t *events = s_events(&env);
    CHECK_EQ_INT(s_count_events(events, "registry.activity.recorded"), 3);
    json_decref(events);
    s_close(&env);
}

/* Voids and corrections through the skeleton: who may, what the record and the events keep. */
/* Each name query finds someone, and as many persons in registry a as in registry b. */
static void s_same_search(s_env_t *a, s_env_t *b, const char *const *queries, size_t n)
{
    for (size_t q = 0; q < n; q++) {
        char args[300];
        snprintf(args, sizeof args, ",\"q\":\"%s\"", queries[q]);
        size_t ca = s_count(a, "persons.list", args), cb = s_count(b, "persons.list", args);
        CHECK(ca > 0 && ca != (size_t)-1);
        CHECK(cb == ca);
    }
}

/* POST /v1/persons drafted on the intake thread (persons.create's prepare, draft.c) answers and
 * stores exactly what the writer's own draft gives: the same reply bytes, the same refusals at
 * the same point (a known national ID is 409 before a bad field; the office's checks come
 * before the referral's), the same name and duplicate keys. Two registries, one request at a
 * time: one through hy_dispatch_precheck and a batch with what it prepared, one without. */
static json_t *s_run_drafted(s_env_t *env, const char *args, bool ahead)
{
    hy_actor_t actor = {"test-key", SS, "office-1"};
    json_t *doc = hy_proto_request("persons.create", "test-draft", &actor, NULL,
                                   json_loads(args, 0, NULL));
    json_t *prepared = NULL;
    bool checked = ahead && hy_dispatch_precheck(env->svc, doc, &prepared);
    CHECK(!ahead || (checked && json_is_object(prepared)));
    registry_draft_t *d = ahead ? malloc(sizeof *d) : NULL;
    if (d) {   /* what the handler reads back */
        CHECK(registry_draft_from_json(prepared, d) == 0 && d->made);
        registry_draft_clear(d);
        free(d);
    }
    hy_job_t job = {.doc = doc, .checked = checked, .prepared = prepared};
    CHECK(hy_dispatch_batch(env->svc, &job, 1) == 0);
    hy_pending_truncate(env->svc, 0);
    json_decref(prepared);
    json_decref(doc);
    return job.reply;
}

/* Person prs_<id> is stored in b exactly as in a. */
static void s_same_person(s_env_t *a, s_env_t *b, int id)
{
    int sa, sb;
    json_t *pa = s_call(a, "persons.get", SS, &sa, "{\"id\":\"prs_%d\"}", id);
    json_t *pb = s_call(b, "persons.get", SS, &sb, "{\"id\":\"prs_%d\"}", id);
    CHECK_EQ_INT(sa, 200);
    CHECK(sa == sb && json_equal(pa, pb));
    json_decref(pa);
    json_decref(pb);
}

static void test_drafted_create_same(void)
{
    s_env_t a, b;
    CHECK(s_open(&a) == 0);
    CHECK(s_open(&b) == 0);
    char nids[5][11] = {"1111111111"};   /* [0]: a bad check digit */
    for (int i = 1; i < 5; i++)
        s_nid(400000000u + 101u * (unsigned)i, nids[i]);
    /* a registration's members after its national ID (nids[nid]), and the refusal expected */
    static const struct {
        int nid;
        const char *members, *code;
    } cases[] = {
        /* created: names with ZWNJ and Arabic letters, a neighbourhood in its office's form */
        {1, "\"first_name\":\"\u0641\u0627\u0637\u0645\u0647 \u0632\u0647\u0631\u0627\",\"last_name\":"
            "\"\u0645\u062d\u0645\u062f\u06cc\u200c\u0646\u06cc\u0627\",\"birth_date\":\"1985-01-01\","
            "\"sex\":\"female\",\"mobile\":\"+98 912 345 6789\",\"neighbourhood\":\"" ALI_FA
            " \u0622\u0628\u0627\u062f\",\"household_size\":3,\"referral\":{\"source\":\"agency\","
            "\"agency\":\"\u0628\u0647\u0632\u06cc\u0633\u062a\u06cc\",\"date\":\"2024-05-01\"}",
         NULL},
        /* another ID, the same name and birth date: created and flagged */
        {2, "\"first_name\":\"\u0641\u0627\u0637\u0645\u0647 \u0632\u0647\u0631\u0627\",\"last_name\":"
            "\"\u0645\u062d\u0645\u062f\u064a\u0646\u064a\u0627\",\"birth_date\":\"1985-01-01\","
            "\"sex\":\"female\"",
         NULL},
        /* a known ID with a bad birth date: 409 first; a new one; a bad national ID */
        {1, "\"first_name\":\"a\",\"last_name\":\"b\",\"birth_date\":\"2030-01-01\",\"sex\":\"female\"",
         "duplicate_national_id"},
        {3, "\"first_name\":\"a\",\"last_name\":\"b\",\"birth_date\":\"2030-01-01\",\"sex\":\"female\"",
         "invalid_birth_date"},
        {0, "\"first_name\":\"a\",\"last_name\":\"b\",\"birth_date\":\"2030-01-01\",\"sex\":\"female\"",
         "invalid_national_id"},
        /* a neighbourhood the office does not cover and a referral dated in the future: the
         * office's check answers; then only the referral is wrong */
        {3, "\"first_name\":\"a\",\"last_name\":\"b\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
            "\"neighbourhood\":\"Nowhere\",\"referral\":{\"source\":\"self\",\"date\":\"2030-01-01\"}",
         "neighbourhood_not_in_office"},
        {3, "\"first_name\":\"a\",\"last_name\":\"b\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\","
            "\"referral\":{\"source\":\"agency\"}",
         "missing_agency"},
        /* names made of no letters */
        {3, "\"first_name\":\"\u200c \",\"last_name\":\"b\",\"birth_date\":\"1985-01-01\",\"sex\":\"female\"",
         "invalid_name"},
        /* a one-word first name and a two-word last name */
        {4, "\"first_name\":\"\u0645\u0631\u06cc\u0645\",\"last_name\":\"\u0633\u0627\u062f\u0627\u062a "
            "\u0646\u0648\u0631\u06cc\",\"birth_date\":\"1990-02-03\",\"sex\":\"female\"",
         NULL},
        /* and then good */
        {3, "\"first_name\":\"\u0639\u0644\u064a \u0627\u0643\u0628\u0631\",\"last_name\":"
            "\"\u06a9\u0631\u06cc\u0645\u06cc\",\"birth_date\":\"1979-03-21\",\"sex\":\"male\","
            "\"registered_on\":\"2024-06-01\"",
         NULL},
    };
    const int k = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < k; i++) {
        char args[1000];
        snprintf(args, sizeof args, "{\"national_id\":\"%s\",%s}", nids[cases[i].nid],
                 cases[i].members);
        json_t *ra = s_run_drafted(&a, args, false), *rb = s_run_drafted(&b, args, true);
        char *ta = json_dumps(ra, JSON_COMPACT | JSON_SORT_KEYS);
        char *tb = json_dumps(rb, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK(ta && tb);
        if (ta && tb && strcmp(ta, tb) != 0)
            fprintf(stderr, "case %d:\n  writer:  %s\n  drafted: %s\n", i, ta, tb);
        CHECK(ta && tb && strcmp(ta, tb) == 0);
        /* and the refusals where they belong */
        const char *code = s_err(rb, "code");
        CHECK(cases[i].code ? code && strcmp(code, cases[i].code) == 0 : code == NULL);
        free(ta);
        free(tb);
        json_decref(ra);
        json_decref(rb);
    }
    /* the stored records, byte for byte, and what the name keys find */
    static const char *const queries[] = {"\u0632\u0647\u0631\u0627", "\u0645\u062d\u0645\u062f\u06cc\u0646\u06cc\u0627",
                             "\u0641\u0627\u0637\u0645\u0647 \u0632\u0647\u0631\u0627\u0645\u062d\u0645\u062f\u06cc",
                             "\u0639\u0644\u06cc", "\u0627\u06a9\u0628\u0631\u06a9\u0631\u06cc\u0645\u06cc",
                             "\u0645\u0631\u06cc\u0645", "\u0633\u0627\u062f\u0627\u062a",
                             "\u0646\u0648\u0631\u06cc", "\u0632\u0647\u0631\u0627 \u0645\u062d\u0645\u062f"};
    s_same_search(&a, &b, queries, sizeof queries / sizeof queries[0]);
    for (int id = 1; id <= 4; id++)
        s_same_person(&a, &b, id);
    int sa, sb;
    json_t *da = s_call(&a, "persons.possible_duplicates", SS, &sa, "{}");
    json_t *db = s_call(&b, "persons.possible_duplicates", SS, &sb, "{}");
    CHECK_EQ_INT(sa, 200);
    CHECK(json_array_size(json_object_get(s_result(da), "items")) == 1);
    CHECK(sa == sb && json_equal(da, db));
    json_decref(da);
    json_decref(db);
    s_close(&a);
    s_close(&b);
}

/* A draft that does not read back (cut, a key list that is not one, a duplicate key past the
 * keys, a national ID too long) or that was made on another day is not used: the writer drafts
 * the registration itself, and the answer and the stored person are what no draft gives. */
static void test_drafted_unusable_is_made_again(void)
{
    s_env_t a, b;
    CHECK(s_open(&a) == 0);
    CHECK(s_open(&b) == 0);
    hy_actor_t actor = {"test-key", SS, "office-1"};
    for (int m = 0; m < 5; m++) {
        char nid[11], args[400];
        s_nid(410000000u + 37u * (unsigned)m, nid);
        snprintf(args, sizeof args,
                 "{\"national_id\":\"%s\",\"first_name\":\"\u0645\u0631\u06cc\u0645\","
                 "\"last_name\":\"\u06a9\u0631\u06cc\u0645\u06cc\",\"birth_date\":\"1990-02-03\","
                 "\"sex\":\"female\",\"household_size\":%d}", nid, m + 1);
        json_t *ra = s_run_drafted(&a, args, false);
        json_t *doc = hy_proto_request("persons.create", "test-draft", &actor, NULL,
                                       json_loads(args, 0, NULL));
        json_t *prepared = NULL;
        int64_t now = b.svc->fixed_now;
        if (m == 4)   /* drafted the day before: registered and referred that day */
            b.svc->fixed_now = (now ? now : (int64_t)time(NULL)) - 86400;
        CHECK(hy_dispatch_precheck(b.svc, doc, &prepared) && json_is_object(prepared));
        b.svc->fixed_now = now;
        switch (m) {
        case 0: json_object_set_new(prepared, "today", json_string("2024-1")); break;
        case 1: json_object_set_new(prepared, "keys", json_string("not a list")); break;
        case 2: json_object_set_new(prepared, "dup", json_integer(99)); break;
        case 3: json_object_set_new(prepared, "nid", json_string("12345678901234567890")); break;
        default: break;
        }
        registry_draft_t *d = malloc(sizeof *d);
        CHECK(d && (registry_draft_from_json(prepared, d) != 0) == (m < 4));
        if (d) {
            registry_draft_clear(d);
            free(d);
        }
        hy_job_t job = {.doc = doc, .checked = true, .prepared = prepared};
        CHECK(hy_dispatch_batch(b.svc, &job, 1) == 0);
        hy_pending_truncate(b.svc, 0);
        char *ta = json_dumps(ra, JSON_COMPACT | JSON_SORT_KEYS);
        char *tb = json_dumps(job.reply, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK(ta && tb && strcmp(ta, tb) == 0);
        CHECK(s_err(job.reply, "code") == NULL);
        free(ta);
        free(tb);
        s_same_person(&a, &b, m + 1);
        json_decref(job.reply);
        json_decref(prepared);
        json_decref(doc);
        json_decref(ra);
    }
    s_close(&a);
    s_close(&b);
}

/* The longest names the spec lets through (100 characters each: fifty one-letter words, or one
 * word of a hundred letters) still fit a registration's keyset (REGISTRY_KEYSET_MAX keys,
 * REGISTRY_KEYSET_BYTES), so they are drafted on the intake thread like any other and staged,
 * and the writer's fallback for a full keyset (persons.c) stays what it says: never taken. Such
 * a person is found by her name's words and a second one like her is flagged. */
static void test_longest_names_fit_the_keyset(void)
{
    s_env_t a, b;
    CHECK(s_open(&a) == 0);
    CHECK(s_open(&b) == 0);
    static const char *const letter[] = {"\u0627", "\u0628", "\u067e", "\u062a", "\u062b"};
    char words[1200] = "", word[1200] = "";
    size_t wl = 0, ol = 0;
    for (int i = 0; i < 50; i++)   /* "ا ب پ ت ث ا ..." : 100 characters */
        wl += (size_t)snprintf(words + wl, sizeof words - wl, "%s%s", i ? " " : "",
                               letter[i % 5]);
    for (int i = 0; i < 100; i++)
        ol += (size_t)snprintf(word + ol, sizeof word - ol, "%s", letter[(i / 3) % 5]);
    const char *firsts[] = {words, word}, *lasts[] = {words, word};
    for (int c = 0; c < 5; c++) {   /* the fifth: the first's name, another national ID */
        char nid[11], args[3000];
        s_nid(420000000u + 53u * (unsigned)c, nid);
        snprintf(args, sizeof args,
                 "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                 "\"birth_date\":\"1990-02-03\",\"sex\":\"female\"}",
                 nid, firsts[c % 4 % 2], lasts[c % 4 / 2]);
        json_t *parsed = json_loads(args, 0, NULL);
        CHECK(parsed != NULL);
        registry_draft_t *d = malloc(sizeof *d);
        hy_request_t req = {.op = "persons.create", .id = "t", .args = parsed,
                            .actor = {"test-key", SS, "office-1"}};
        hy_ctx_t scratch = {.req = &req};
        hy_date_today((int64_t)time(NULL), scratch.today);
        if (d) {
            registry_person_draft(&scratch, parsed, d);
            CHECK(d->made && !d->error && !d->keys.full);
            CHECK(d->keys.count > 0 && d->keys.count <= REGISTRY_KEYSET_MAX);
            registry_draft_clear(d);
            free(d);
        }
        json_decref(scratch.error);
        json_decref(parsed);
        /* and registered both ways: the intake's draft (s_run_drafted checks there is one) */
        json_t *ra = s_run_drafted(&a, args, false), *rb = s_run_drafted(&b, args, true);
        CHECK(s_err(ra, "code") == NULL && json_equal(ra, rb));
        json_decref(ra);
        json_decref(rb);
    }
    /* found by the words of her name (the first 16 words of the full name: the long word after
     * fifty short ones is not among them); the fifth flagged as the first's possible duplicate */
    CHECK_EQ_INT((int)s_count(&b, "persons.list", ",\"q\":\"\u067e \u062a\""), 4);
    CHECK_EQ_INT((int)s_count(&b, "persons.list", ",\"q\":\"\u0627\u0627\u0627\u0628\""), 2);
    int st;
    json_t *dups = s_call(&b, "persons.possible_duplicates", SS, &st, "{}");
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT((int)json_array_size(json_object_get(s_result(dups), "items")), 1);
    json_decref(dups);
    s_close(&a);
    s_close(&b);
}

/* The keys of registry.name_idx, one text per key (hex), sorted: what a search can find. */
static char *s_name_idx_dump(s_env_t *env)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    registry_t *st = env->svc->state;
    size_t cap = 1 << 20, at = 0;
    char *out = calloc(1, cap);
    if (!out || mdb_txn_begin(hy_store_env(env->svc->store), NULL, MDB_RDONLY, &txn) != 0)
        return out;
    if (mdb_cursor_open(txn, st->name_idx, &cur) == 0) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            for (size_t i = 0; i < k.mv_size && at + 4 < cap; i++)
                at += (size_t)snprintf(out + at, cap - at, "%02x", ((unsigned char *)k.mv_data)[i]);
            if (at + 2 < cap)
                out[at++] = '\n';
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return out;
}

static size_t s_staged(s_env_t *env)
{
    MDB_txn *txn;
    if (mdb_txn_begin(hy_store_env(env->svc->store), NULL, MDB_RDONLY, &txn) != 0)
        return (size_t)-1;
    size_t n = registry_names_staged(txn, env->svc->state);
    mdb_txn_abort(txn);
    return n;
}

/* A national ID's uniqueness and lookups answer the same in registries a and b: a second
 * registration of base's ID is 409 naming owner, the list by it finds owner alone, and
 * correcting other's ID to it is 409. */
static void s_same_nid_rules(s_env_t *a, s_env_t *b, unsigned base, const char *owner,
                             const char *other)
{
    char nid[11];
    s_nid(base, nid);
    s_env_t *envs[] = {a, b};
    for (int e = 0; e < 2; e++) {
        int status;
        json_t *r = s_call(envs[e], "persons.create", SS, &status,
                           "{\"national_id\":\"%s\",\"first_name\":\"x\",\"last_name\":\"y\","
                           "\"birth_date\":\"1980-01-01\",\"sex\":\"female\"}",
                           nid);
        CHECK_EQ_INT(status, 409);
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "error"), "existing_id")),
                     owner);
        json_decref(r);
        char args[64];
        snprintf(args, sizeof args, ",\"national_id\":\"%s\"", nid);
        CHECK_EQ_INT(s_count(envs[e], "persons.list", args), 1);
        r = s_call(envs[e], "persons.correct_national_id", "operator", &status,
                   "{\"id\":\"%s\",\"national_id\":\"%s\",\"reason\":\"typo\"}", other, nid);
        CHECK_EQ_INT(status, 409);
        json_decref(r);
    }
}

/* A registration's name keys are staged (names.c) and merged into registry.name_idx later:
 * search and the duplicate check find the staged persons as they find the merged ones, a
 * change of name unstages her, and once merged the index holds exactly the keys that putting
 * them one registration at a time gives (HY_NAME_STAGE_MAX=0, the second registry). */
static void test_names_staged(void)
{
    s_env_t st, direct;
    CHECK(s_open(&st) == 0);
    setenv("HY_NAME_STAGE_MAX", "0", 1);
    CHECK(s_open(&direct) == 0);
    unsetenv("HY_NAME_STAGE_MAX");
    s_env_t *envs[] = {&st, &direct};
    static const struct {
        unsigned nid;
        const char *first, *last, *birth;
    } people[] = {
        {500000001, ZAHRA, AKBARI, "1985-03-21"},
        {500000002, ZAHRA, AKBARI, "1985-03-21"},   /* a possible duplicate of the first */
        {500000003, ALI_AR, HOSSEIN " " ZADEH, "1979-01-02"},
        {500000004, HOSSEIN, ALI_FA ZWNJ ZADEH, "1990-05-06"},
        {500000005, ZAHRA, HOSSEIN, "1985-03-21"},
    };
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++) {
        char nid[11];
        s_nid(people[i].nid, nid);
        json_t *r[2];
        for (int e = 0; e < 2; e++) {
            int status;
            r[e] = s_call(envs[e], "persons.create", SS, &status,
                          "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                          "\"birth_date\":\"%s\",\"sex\":\"female\"}",
                          nid, people[i].first, people[i].last, people[i].birth);
            CHECK_EQ_INT(status, 201);
        }
        CHECK(json_equal(s_result(r[0]), s_result(r[1])));
        CHECK((i == 1) == (json_object_get(s_result(r[0]), "possible_duplicates") != NULL));
        json_decref(r[0]);
        json_decref(r[1]);
    }
    CHECK_EQ_INT(s_staged(&st), 5);
    CHECK_EQ_INT(s_staged(&direct), 0);
    s_same_nid_rules(&st, &direct, people[3].nid, "prs_4", "prs_5");
    static const char *const queries[] = {ZAHRA, AKBARI, ALI_FA, HOSSEIN, ZADEH, ALI_FA ZADEH,
                                          ZAHRA " " AKBARI, ZAHRA HOSSEIN};
    for (int round = 0; round < 3; round++) {
        s_same_search(&st, &direct, queries, sizeof queries / sizeof queries[0]);
        if (round == 0) {   /* a staged person's name changes: her staged keys go with it */
            for (int e = 0; e < 2; e++) {
                int status;
                json_t *r = s_call(envs[e], "persons.update", SS, &status,
                                   "{\"id\":\"prs_3\",\"last_name\":\"" AKBARI " " ZADEH "\"}");
                CHECK_EQ_INT(status, 200);
                json_decref(r);
            }
            CHECK_EQ_INT(s_staged(&st), 4);
        } else if (round == 1) {   /* idle: the background step merges them all */
            registry_t *reg = st.svc->state;
            size_t mapped = registry_names_mapped(reg);   /* 5 IDs, 5 duplicate keys */
            CHECK_EQ_INT(mapped, 10);
            reg->names_staged_at = 0;
            CHECK(hy_service_background(st.svc, 10) >= 1);
            CHECK_EQ_INT(s_staged(&st), 0);
            /* the next step forgets what the committed merge put in the indexes */
            CHECK_EQ_INT(registry_names_mapped(reg), mapped);
            CHECK(hy_service_background(st.svc, 10) >= 0);
            CHECK_EQ_INT(registry_names_mapped(reg), 0);
        }
    }
    s_same_nid_rules(&st, &direct, people[3].nid, "prs_4", "prs_5");   /* merged now */
    char *a = s_name_idx_dump(&st), *b = s_name_idx_dump(&direct);
    CHECK(a && b && *a && strcmp(a, b) == 0);
    free(a);
    free(b);
    /* once merged, a newcomer's duplicate is found in the index */
    char nid[11];
    s_nid(500000006, nid);
    for (int e = 0; e < 2; e++) {
        int status;
        json_t *r = s_call(envs[e], "persons.create", SS, &status,
                           "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                           "\"birth_date\":\"1985-03-21\",\"sex\":\"female\"}",
                           nid, ZAHRA, HOSSEIN);
        CHECK_EQ_INT(status, 201);
        CHECK_EQ_INT(json_array_size(json_object_get(s_result(r), "possible_duplicates")), 1);
        json_decref(r);
    }
    s_close(&st);
    s_close(&direct);
}

static void test_corrections(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char p1[32];
    CHECK_EQ_INT(s_person(&env, 120000001, ZAHRA, AKBARI, "", p1), 201);
    int status;
    json_t *r = s_call(&env, "activities.create", SS, &status,
                       "{\"kind\":\"counselling\",\"date\":\"2024-06-01\",\"person_ids\":[\"%s\"]}",
                       p1);
    CHECK_EQ_INT(status, 201);
    json_decref(r);
    s_actor_office = "office-2"; /* another office may neither correct nor void it */
    r = s_call(&env, "activities.correct", SS, &status,
               "{\"id\":\"act_1\",\"kind\":\"aid\",\"reason\":\"x\"}");
    CHECK_EQ_INT(status, 403);
    CHECK_EQ_STR(s_err(r, "code"), "other_office");
    json_decref(r);
    r = s_call(&env, "activities.void", SS, &status, "{\"id\":\"act_1\",\"reason\":\"x\"}");
    CHECK_EQ_INT(status, 403);
    json_decref(r);
    s_actor_office = "office-1";
    r = s_call(&env, "activities.correct", SS, &status,
               "{\"id\":\"act_1\",\"date\":\"2024-05-30\",\"reason\":\"typo\"}");
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_STR(s_rstr(r, "date"), "2024-05-30");
    CHECK_EQ_STR(s_rstr(r, "correction_reason"), "typo");
    CHECK_EQ_STR(s_rstr(r, "corrected_at"), "2024-06-15T12:00:00Z");
    json_decref(r);
    r = s_call(&env, "activities.void", "operator", &status,
               "{\"id\":\"act_1\",\"reason\":\"twice\"}");
    CHECK_EQ_INT(status, 200);
    CHECK(json_is_true(json_object_get(s_result(r), "voided")));
    CHECK_EQ_STR(s_rstr(r, "voided_by"), "test-key");
    CHECK_EQ_STR(s_rstr(r, "void_reason"), "twice");
    json_decref(r);
    r = s_call(&env, "activities.void", SS, &status, "{\"id\":\"act_1\",\"reason\":\"x\"}");
    CHECK_EQ_INT(status, 409);
    CHECK_EQ_STR(s_err(r, "code"), "voided");
    json_decref(r);
    CHECK_EQ_INT(s_count(&env, "activities.list", ""), 0);
    CHECK_EQ_INT(s_count(&env, "activities.list", ",\"include_voided\":true"), 1);
    json_t *events = s_events(&env);
    json_t *ev = json_array_get(events, json_array_size(events) - 1);
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "registry.activity.voided");
    json_t *data = json_object_get(ev, "data");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(data, "before"), "date")),
                 "2024-05-30");
    CHECK(!json_object_get(json_object_get(data, "before"), "voided"));
    ev = json_array_get(events, json_array_size(events) - 2);
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "registry.activity.corrected");
    data = json_object_get(ev, "data");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(data, "before"), "date")),
                 "2024-06-01");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(data, "after"), "date")),
                 "2024-05-30");
    json_decref(events);
    s_close(&env);
}

/* Every write emits one event whose subject is the entity, in a gapless sequence, and the
 * audit trail of an entity names the actor and office of each change. */
static void test_events_and_audit(void)
{
    s_env_t env;
    CHECK(s_open(&env) == 0);
    char id[32];
    CHECK_EQ_INT(s_person(&env, 120000001, ZAHRA, AKBARI, "", id), 201);
    int status;
    json_t *r = s_call(&env, "persons.update", SS, &status, "{\"id\":\"%s\",\"city\":\"Rey\"}", id);
    json_decref(r);
    r = s_call(&env, "businesses.create", SS, &status,
               "{\"owner_id\":\"%s\",\"activity\":\"doll knitting\",\"field\":\"handicrafts\"}",
               id);
    json_decref(r);
    r = s_call(&env, "businesses.update", SS, &status, "{\"id\":\"bus_1\",\"stage\":\"training\"}");
    json_decref(r);
    r = s_call(&env, "activities.create", SS, &status,
               "{\"kind\":\"counselling\",\"date\":\"2024-06-15\",\"person_ids\":[\"%s\"]}", id);
    json_decref(r);
    r = s_call(&env, "persons.create", SS, &status, "{\"national_id\":\"1\"}"); /* refused */
    json_decref(r);

    static const char *const want[][2] = {
        {"registry.person.registered", "prs_1"}, {"registry.person.updated", "prs_1"},
        {"registry.business.created", "bus_1"},  {"registry.business.stage_changed", "bus_1"},
        {"registry.activity.recorded", "act_1"},
    };
    json_t *events = s_events(&env);
    CHECK_EQ_INT(json_array_size(events), 5);
    for (size_t i = 0; i < json_array_size(events) && i < 5; i++) {
        json_t *ev = json_array_get(events, i);
        CHECK_EQ_INT(json_integer_value(json_object_get(ev, "seq")), i + 3); /* after 2 offices */
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), want[i][0]);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "subject")), want[i][1]);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "source")), "hamyar/registry");
    }
    json_t *data = json_object_get(json_array_get(events, 0), "data");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "id")), "prs_1");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "sex")), "female");
    data = json_object_get(json_array_get(events, 2), "data");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "owner_id")), "prs_1");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "stage")), "applicant");
    json_decref(events);

    r = s_call(&env, "audit.list", "auditor", &status, "{\"entity\":\"prs_1\"}");
    CHECK_EQ_INT(status, 200);
    json_t *items = json_object_get(s_result(r), "items");
    CHECK_EQ_INT(json_array_size(items), 2);
    json_t *actor = json_object_get(json_array_get(items, 1), "actor");
    CHECK_EQ_STR(json_string_value(json_object_get(actor, "key_id")), "test-key");
    CHECK_EQ_STR(json_string_value(json_object_get(actor, "office")), "office-1");
    json_decref(r);
    s_close(&env);
}

const hy_test_t registry_tests[] = {
    {"registry.person_round_trip", test_person_round_trip},
    {"registry.person_duplicate", test_person_duplicate},
    {"registry.person_invalid", test_person_invalid},
    {"registry.drafted_create_same", test_drafted_create_same},
    {"registry.drafted_unusable_is_made_again", test_drafted_unusable_is_made_again},
    {"registry.longest_names_fit_the_keyset", test_longest_names_fit_the_keyset},
    {"registry.names_staged", test_names_staged},
    {"registry.referrals", test_referrals},
    {"registry.search", test_search},
    {"registry.pagination", test_pagination},
    {"registry.person_patch", test_person_patch},
    {"registry.office_change_seen", test_office_change_seen},
    {"registry.business_stages", test_business_stages},
    {"registry.activities", test_activities},
    {"registry.events_and_audit", test_events_and_audit},
    {"registry.corrections", test_corrections},
    {"registry.old_layout", registry_test_old_layout},
    {"registry.old_layout_resume", registry_test_old_layout_resume},
    {0},
};
