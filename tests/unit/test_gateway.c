/*
 * test_gateway.c — the gateway's pure parts: route matching, request arguments, API keys,
 * problem documents, the Jalali decoration, metrics text and the OpenAPI document. No
 * network: the HTTP side is covered by the integration tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "describe.h"
#include "gateway.h"
#include "keys.h"
#include "proto.h"
#include "test.h"
#include "testutil.h"

static const hy_field_t s_thing_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ},
    {.name = "size", .type = HY_T_INT, .min = 1, .max = 30},
    {.name = "born", .type = HY_T_DATE, .flags = HY_F_REQ},
    {.name = "colour", .type = HY_T_ENUM, .flags = HY_F_NULL, .enums = "red|blue"},
    {.name = "preview", .type = HY_T_BOOL, .flags = HY_F_QUERY},
    {0},
};
static const hy_field_t s_list_args[] = {
    {.name = "size", .type = HY_T_INT, .flags = HY_F_QUERY},
    {.name = "from", .type = HY_T_DATE, .flags = HY_F_QUERY},
    {.name = "open", .type = HY_T_BOOL, .flags = HY_F_QUERY},
    {0},
};
static const hy_field_t s_part[] = {
    {.name = "item", .type = HY_T_STRING, .flags = HY_F_REQ},
    {.name = "due", .type = HY_T_DATE},
    {0},
};
static const hy_field_t s_thing_result[] = {
    {.name = "id", .type = HY_T_ID},
    {.name = "born", .type = HY_T_DATE},
    {.name = "parts", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = s_part},
    {0},
};
static const hy_op_spec_t s_ops[] = {
    {.op = "things.create", .method = "POST", .path = "/v1/things",
     .roles = HY_ROLE_SOCIAL_SERVICES, .args = s_thing_args, .result = s_thing_result,
     .ok_status = 201},
    {.op = "things.list", .method = "GET", .path = "/v1/things", .roles = HY_ROLE_READERS,
     .args = s_list_args, .result = s_thing_result, .ok_status = 200, .list = true},
    {.op = "things.get", .method = "GET", .path = "/v1/things/{id}", .roles = HY_ROLE_READERS,
     .ok_status = 200},
    {.op = "things.update", .method = "PATCH", .path = "/v1/things/{id}",
     .roles = HY_ROLE_SOCIAL_SERVICES, .args = s_thing_args + 1, .ok_status = 200},
    {.op = "things.queue", .method = "GET", .path = "/v1/things/queue",
     .roles = HY_ROLE_READERS, .ok_status = 200},
    {.op = "things.approve", .method = "POST", .path = "/v1/things/{id}/approve",
     .roles = HY_ROLE_SOCIAL_SERVICES, .ok_status = 200},
    {.op = "things.internal", .roles = HY_ROLE_SERVICE},
    {0},
};
static const hy_api_t s_api = {"things", "thg, tq", s_ops, NULL};
static const hy_api_t *const s_apis[] = {&s_api, NULL};

/* Matches and returns the status; *op gets the route's op name (or "" for none). */
static int s_match(hy_routes_t *rt, const char *method, const char *path, const char **op,
                   json_t **params, char *allow)
{
    const hy_route_t *r;
    json_t *p = NULL;
    int rc = hy_routes_match(rt, method, path, &r, &p, allow, 64);
    *op = r && r->op ? r->op->op : "";
    if (params)
        *params = p;
    else
        json_decref(p);
    return rc;
}

static void test_routes(void)
{
    char err[256] = "", allow[64];
    hy_routes_t *rt = hy_routes_new(s_apis, err, sizeof err);
    CHECK(rt != NULL);
    if (!rt)
        return;
    const char *op;
    json_t *params;
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/thg_7", &op, &params, allow), 200);
    CHECK_EQ_STR(op, "things.get");
    CHECK_EQ_STR(json_string_value(json_object_get(params, "id")), "thg_7");
    CHECK_EQ_INT(json_object_size(params), 1);
    json_decref(params);
    /* A literal beats a parameter at the same place, for the same method only. */
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/queue", &op, NULL, allow), 200);
    CHECK_EQ_STR(op, "things.queue");
    CHECK_EQ_INT(s_match(rt, "PATCH", "/v1/things/queue", &op, &params, allow), 200);
    CHECK_EQ_STR(op, "things.update");
    CHECK_EQ_STR(json_string_value(json_object_get(params, "id")), "queue");
    json_decref(params);
    CHECK_EQ_INT(s_match(rt, "POST", "/v1/things/thg_1/approve", &op, &params, allow), 200);
    CHECK_EQ_STR(op, "things.approve");
    json_decref(params);
    /* 405 lists the methods of the path; 404 when no route has it. */
    CHECK_EQ_INT(s_match(rt, "DELETE", "/v1/things/thg_1", &op, NULL, allow), 405);
    CHECK_EQ_STR(allow, "GET, PATCH");
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/thg_1/approve", &op, NULL, allow), 405);
    CHECK_EQ_STR(allow, "POST");
    CHECK_EQ_INT(s_match(rt, "PUT", "/v1/things", &op, NULL, allow), 405);
    CHECK_EQ_STR(allow, "GET, POST");
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/nothing", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "/v1//things", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/a/b/c", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "v1/things", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/things/\xff", &op, NULL, allow), 404);
    CHECK_EQ_INT(s_match(rt, "GET", "/v1/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r", &op, NULL, allow),
                 404);

    /* The gateway's own routes and the audit route, with their roles. */
    const hy_route_t *r;
    CHECK_EQ_INT(hy_routes_match(rt, "GET", "/healthz", &r, &params, NULL, 0), 200);
    CHECK(r && r->kind == HY_ROUTE_HEALTHZ && r->roles == 0);
    json_decref(params);
    CHECK_EQ_INT(hy_routes_match(rt, "GET", "/metrics", &r, &params, NULL, 0), 200);
    CHECK(r && r->kind == HY_ROUTE_METRICS && r->roles == (HY_ROLE_OPERATOR | HY_ROLE_MONITORING));
    json_decref(params);
    CHECK_EQ_INT(hy_routes_match(rt, "GET", "/v1/audit", &r, &params, NULL, 0), 200);
    CHECK(r && r->kind == HY_ROUTE_ENTITY && r->api == NULL);
    CHECK_EQ_STR(r ? r->op->op : NULL, "audit.list");
    json_decref(params);
    CHECK_EQ_INT(hy_routes_match(rt, "POST", "/v1/things", &r, &params, NULL, 0), 200);
    CHECK(r && r->api == &s_api && r->api_index == 0);
    CHECK_EQ_STR(r ? r->name : NULL, "POST /v1/things");
    json_decref(params);

    /* The owner of an entity, from the prefix before '_'. */
    CHECK_EQ_INT(hy_routes_owner(rt, "thg_5"), 0);
    CHECK_EQ_INT(hy_routes_owner(rt, "tq_5"), 0);
    CHECK_EQ_INT(hy_routes_owner(rt, "th_5"), -1);
    CHECK_EQ_INT(hy_routes_owner(rt, "prs_1"), -1);
    CHECK_EQ_INT(hy_routes_owner(rt, "thg"), -1);
    CHECK_EQ_INT(hy_routes_owner(rt, "_1"), -1);
    hy_routes_destroy(&rt);
    hy_routes_destroy(&rt);
    CHECK(rt == NULL);

    /* Two ops on the same method and path shape are refused at start-up. */
    static const hy_op_spec_t clash[] = {
        {.op = "a.get", .method = "GET", .path = "/v1/a/{id}", .roles = 1},
        {.op = "a.other", .method = "GET", .path = "/v1/a/{key}", .roles = 1},
        {0},
    };
    static const hy_api_t clash_api = {"a", "a", clash, NULL};
    const hy_api_t *const clash_apis[] = {&clash_api, NULL};
    err[0] = '\0';
    CHECK(hy_routes_new(clash_apis, err, sizeof err) == NULL);
    CHECK(strstr(err, "clashes") != NULL);
    static const hy_op_spec_t bad[] = {{.op = "b", .method = "GET", .path = "/v1/{id", .roles = 1},
                                       {0}};
    static const hy_api_t bad_api = {"b", "b", bad, NULL};
    const hy_api_t *const bad_apis[] = {&bad_api, NULL};
    CHECK(hy_routes_new(bad_apis, err, sizeof err) == NULL);
}

/* Builds args for a request on rt; returns the args or NULL with err. */
static json_t *s_args(hy_routes_t *rt, const char *method, const char *path,
                      const hy_gw_kv_t *q, size_t nq, const char *body, hy_gw_error_t *err)
{
    const hy_route_t *r;
    json_t *params;
    if (hy_routes_match(rt, method, path, &r, &params, NULL, 0) != 200)
        return NULL;
    json_t *b = body ? json_loads(body, 0, NULL) : NULL;
    return hy_gw_args(r, params, q, nq, b, err);
}

static void test_args(void)
{
    char e[256];
    hy_routes_t *rt = hy_routes_new(s_apis, e, sizeof e);
    CHECK(rt != NULL);
    if (!rt)
        return;
    hy_gw_error_t err;
    const hy_gw_kv_t q1[] = {{"size", "3"}, {"limit", "20"}, {"cursor", "abc"},
                             {"from_jalali", "1400/01/01"}, {"open", "true"}};
    json_t *a = s_args(rt, "GET", "/v1/things", q1, 5, NULL, &err);
    CHECK(a != NULL);
    CHECK(json_is_integer(json_object_get(a, "size")));
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "limit")), 20);
    CHECK_EQ_STR(json_string_value(json_object_get(a, "cursor")), "abc");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "from_jalali")), "1400/01/01");
    CHECK(json_is_true(json_object_get(a, "open")));
    json_decref(a);

    const hy_gw_kv_t q2[] = {{"colour", "red"}};
    CHECK(s_args(rt, "GET", "/v1/things", q2, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "unknown_parameter");
    CHECK_EQ_STR(err.field, "colour");
    CHECK_EQ_INT(err.status, 400);
    const hy_gw_kv_t q3[] = {{"size", "abc"}};
    CHECK(s_args(rt, "GET", "/v1/things", q3, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_parameter");
    CHECK_EQ_STR(err.field, "size");
    const hy_gw_kv_t q4[] = {{"limit", "0"}};
    CHECK(s_args(rt, "GET", "/v1/things", q4, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_parameter");
    const hy_gw_kv_t q5[] = {{"size", "1"}, {"size", "2"}};
    CHECK(s_args(rt, "GET", "/v1/things", q5, 2, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_parameter");
    const hy_gw_kv_t q6[] = {{"open", NULL}};
    CHECK(s_args(rt, "GET", "/v1/things", q6, 1, NULL, &err) == NULL);
    const hy_gw_kv_t q7[] = {{"size", "\xc3"}};
    CHECK(s_args(rt, "GET", "/v1/things", q7, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_utf8");
    /* limit and cursor belong to list ops only. */
    const hy_gw_kv_t q8[] = {{"limit", "5"}};
    CHECK(s_args(rt, "GET", "/v1/things/queue", q8, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "unknown_parameter");

    /* A body: merged with path params; a body member that repeats one is refused; only
     * HY_F_QUERY fields come from the query string of a POST. */
    a = s_args(rt, "PATCH", "/v1/things/thg_1", NULL, 0, "{\"size\":4}", &err);
    CHECK_EQ_STR(json_string_value(json_object_get(a, "id")), "thg_1");
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "size")), 4);
    json_decref(a);
    CHECK(s_args(rt, "PATCH", "/v1/things/thg_1", NULL, 0, "{\"id\":\"thg_2\"}", &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_body");
    CHECK_EQ_STR(err.field, "id");
    const hy_gw_kv_t q9[] = {{"preview", "true"}};
    a = s_args(rt, "POST", "/v1/things", q9, 1, "{\"name\":\"x\"}", &err);
    CHECK(json_is_true(json_object_get(a, "preview")));
    CHECK_EQ_STR(json_string_value(json_object_get(a, "name")), "x");
    json_decref(a);
    CHECK(s_args(rt, "POST", "/v1/things", q9, 1, "{\"preview\":false}", &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_body");
    const hy_gw_kv_t q10[] = {{"name", "x"}};
    CHECK(s_args(rt, "POST", "/v1/things", q10, 1, NULL, &err) == NULL);
    CHECK_EQ_STR(err.code, "unknown_parameter");

    /* Bodies. */
    json_t *b = hy_gw_parse_body("{\"a\": [1, 2]}", 13, &err);
    CHECK(json_is_object(b));
    json_decref(b);
    CHECK(hy_gw_parse_body("{\"a\":1,\n \"b\":}", 14, &err) == NULL);
    CHECK_EQ_STR(err.code, "malformed_json");
    CHECK(strstr(err.detail, "line 2") != NULL);
    CHECK(hy_gw_parse_body("{\"a\":1,\"a\":2}", 13, &err) == NULL);
    CHECK_EQ_STR(err.code, "malformed_json");
    CHECK(hy_gw_parse_body("{\"a\":\"\xff\"}", 8, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_utf8");
    CHECK(hy_gw_parse_body("[1]", 3, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_body");
    CHECK(hy_gw_parse_body("\"x\"", 3, &err) == NULL);
    CHECK_EQ_STR(err.code, "invalid_body");
    CHECK(hy_gw_parse_body("{}\0", 3, &err) == NULL);
    CHECK_EQ_STR(err.code, "malformed_json");
    CHECK(hy_gw_parse_body("{} {}", 5, &err) == NULL);
    CHECK_EQ_STR(err.code, "malformed_json");
    hy_routes_destroy(&rt);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_keys(void)
{
    CHECK_EQ_INT(hy_keys_init(), 0);
    char token[HY_KEY_TOKEN_SIZE], id[HY_KEY_ID_MAX + 1];
    unsigned char hash[HY_KEY_HASH_LEN], again[HY_KEY_HASH_LEN];
    CHECK_EQ_INT(hy_key_generate("staff-1", token, hash), 0);
    CHECK_EQ_INT(strlen(token), 3 + 7 + 1 + HY_KEY_SECRET_LEN);
    CHECK_EQ_INT(hy_key_token_parse(token, id), 0);
    CHECK_EQ_STR(id, "staff-1");
    hy_key_hash(token, again);
    CHECK(memcmp(hash, again, sizeof hash) == 0);
    CHECK_EQ_INT(hy_key_generate("bad_id", token, hash), -1);
    CHECK_EQ_INT(hy_key_generate("", token, hash), -1);

    /* Malformed key texts. */
    const char *const bad[] = {
        "", "hy_", "hy_staff-1", "xx_staff-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "hy__AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "hy_staff-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",      /* 42 characters */
        "hy_staff-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",     /* not base64url */
        "hy_staff-1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",     /* no separator */
        "hy_staff.1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "hy_123456789012345678901234567890123_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(hy_key_token_parse(bad[i], id), -1);
    /* A secret may contain '_': the id is found by position. */
    CHECK_EQ_INT(hy_key_token_parse("hy_k1_A_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id), 0);
    CHECK_EQ_STR(id, "k1");

    /* Lines of the file. */
    hy_key_entry_t e;
    CHECK_EQ_INT(hy_key_line_parse("# comment", &e), 0);
    CHECK_EQ_INT(hy_key_line_parse("   ", &e), 0);
    char hex[65];
    for (int i = 0; i < 64; i++)
        hex[i] = "0123456789abcdef"[i % 16];
    hex[64] = '\0';
    char line[256];
    snprintf(line, sizeof line, "k1 operator - %s active", hex);
    CHECK_EQ_INT(hy_key_line_parse(line, &e), 1);
    CHECK_EQ_STR(e.office, "");
    CHECK(e.active);
    char back[256];
    CHECK(hy_key_line_format(&e, back, sizeof back) > 0);
    CHECK_EQ_STR(back, line);
    snprintf(line, sizeof line, "k1 service - %s active", hex);
    CHECK_EQ_INT(hy_key_line_parse(line, &e), -1);       /* not a role a key may have */
    snprintf(line, sizeof line, "k1 operator - %s paused", hex);
    CHECK_EQ_INT(hy_key_line_parse(line, &e), -1);
    snprintf(line, sizeof line, "k1 operator - %.63s active", hex);
    CHECK_EQ_INT(hy_key_line_parse(line, &e), -1);
    snprintf(line, sizeof line, "k1 operator - %s active extra", hex);
    CHECK_EQ_INT(hy_key_line_parse(line, &e), -1);

    /* The verifier over a real file: good, wrong secret, revoked, unknown, malformed. */
    char dir[64], path[128];
    hy_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/keys", dir);
    char good[HY_KEY_TOKEN_SIZE], gone[HY_KEY_TOKEN_SIZE], twice[HY_KEY_TOKEN_SIZE];
    hy_keyfile_t f = {0};
    hy_key_entry_t k1 = {.key_id = "staff-1", .role = "social_services", .office = "rey-1",
                         .active = true};
    hy_key_entry_t k2 = {.key_id = "old", .role = "auditor", .active = false};
    hy_key_entry_t k3 = {.key_id = "twice", .role = "operator", .active = true};
    CHECK_EQ_INT(hy_key_generate(k1.key_id, good, k1.hash), 0);
    CHECK_EQ_INT(hy_key_generate(k2.key_id, gone, k2.hash), 0);
    CHECK_EQ_INT(hy_key_generate(k3.key_id, twice, k3.hash), 0);
    CHECK_EQ_INT(hy_keyfile_load(&f, path), 0);           /* missing: empty */
    CHECK_EQ_INT(f.count, 0);
    CHECK_EQ_INT(hy_keyfile_append(&f, &k1), 0);
    CHECK_EQ_INT(hy_keyfile_append(&f, &k2), 0);
    CHECK_EQ_INT(hy_keyfile_append(&f, &k3), 0);
    CHECK_EQ_INT(hy_keyfile_append(&f, &k3), 0);          /* a duplicated id is refused */
    CHECK_EQ_INT(hy_keyfile_save(&f, path), 0);
    hy_keyfile_clear(&f);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    hy_keys_t *keys = hy_keys_new(path, NULL);
    CHECK(keys != NULL);
    hy_key_entry_t who;
    memset(&who, 0, sizeof who);
    CHECK_EQ_INT(hy_keys_verify(keys, good, &who), HY_KEY_OK);
    CHECK_EQ_STR(who.key_id, "staff-1");
    CHECK_EQ_STR(who.role, "social_services");
    CHECK_EQ_STR(who.office, "rey-1");
    char wrong[HY_KEY_TOKEN_SIZE];
    snprintf(wrong, sizeof wrong, "%s", good);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(hy_keys_verify(keys, wrong, &who), HY_KEY_WRONG);
    /* A verified key is kept by the thread (keys.c): the same token again is the same key;
     * one differing only inside (the cache slot is chosen by the last character) is not. */
    memset(&who, 0, sizeof who);
    CHECK_EQ_INT(hy_keys_verify(keys, good, &who), HY_KEY_OK);
    CHECK_EQ_STR(who.key_id, "staff-1");
    CHECK_EQ_STR(who.office, "rey-1");
    snprintf(wrong, sizeof wrong, "%s", good);
    wrong[strlen(wrong) - 2] = wrong[strlen(wrong) - 2] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(hy_keys_verify(keys, wrong, &who), HY_KEY_WRONG);
    wrong[strlen(wrong) - 1] = '\0';
    CHECK(hy_keys_verify(keys, wrong, &who) != HY_KEY_OK);
    CHECK_EQ_INT(hy_keys_verify(keys, gone, &who), HY_KEY_REVOKED);
    CHECK_EQ_INT(hy_keys_verify(keys, twice, &who), HY_KEY_UNKNOWN);
    const char *nobody = "hy_nobody_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    CHECK_EQ_INT(hy_keys_verify(keys, nobody, &who), HY_KEY_UNKNOWN);
    CHECK_EQ_INT(hy_keys_verify(keys, "Bearer", &who), HY_KEY_MALFORMED);

    /* Editing keeps comments; revoking takes effect on reload. */
    s_write(path, "# keys\n");
    CHECK_EQ_INT(hy_keyfile_load(&f, path), 0);
    k1.active = true;
    CHECK_EQ_INT(hy_keyfile_append(&f, &k1), 0);
    long i = hy_keyfile_find(&f, "staff-1");
    CHECK_EQ_INT(i, 1);
    f.lines[i].key.active = false;
    CHECK_EQ_INT(hy_keyfile_update(&f, (size_t)i), 0);
    CHECK_EQ_INT(hy_keyfile_save(&f, path), 0);
    hy_keyfile_clear(&f);
    CHECK_EQ_INT(hy_keys_reload(keys), 1);
    CHECK_EQ_INT(hy_keys_verify(keys, good, &who), HY_KEY_REVOKED);
    CHECK_EQ_INT(hy_keyfile_load(&f, path), 0);
    CHECK_EQ_INT(f.count, 2);
    CHECK_EQ_STR(f.count ? f.lines[0].text : NULL, "# keys");
    hy_keyfile_clear(&f);

    /* A removed file means no key at all. */
    remove(path);
    CHECK_EQ_INT(hy_keys_reload(keys), 0);
    CHECK_EQ_INT(hy_keys_verify(keys, gone, &who), HY_KEY_UNKNOWN);
    hy_keys_destroy(&keys);
    hy_keys_destroy(&keys);
    CHECK(keys == NULL);
    hy_test_rmdir(dir);
}

static void test_jalali(void)
{
    json_t *v = json_loads(
        "{\"birth_date\":\"1986-04-04\",\"n\":5,"
        "\"x\":{\"d\":\"2024-03-20\",\"d_jalali\":\"kept\",\"e\":\"2024-03-19\"},"
        "\"arr\":[{\"issued\":\"2021-09-20\"},\"2021-09-20\",[{\"due\":\"2025-03-21\"}]],"
        "\"loose\":\"2024-3-20\",\"stamp\":\"2024-03-20T10:00:00Z\",\"seen_jalali\":\"2024-03-20\","
        "\"month13\":\"1999-13-01\",\"far\":\"1800-01-01\",\"nul\":null}",
        0, NULL);
    CHECK(v != NULL);
    CHECK_EQ_INT(hy_gw_add_jalali(v), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "birth_date_jalali")), "1365/01/15");
    json_t *x = json_object_get(v, "x");
    CHECK_EQ_STR(json_string_value(json_object_get(x, "d_jalali")), "kept");
    CHECK_EQ_STR(json_string_value(json_object_get(x, "e_jalali")), "1402/12/29");
    json_t *arr = json_object_get(v, "arr");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(arr, 0), "issued_jalali")),
                 "1400/06/29");
    CHECK(json_is_string(json_array_get(arr, 1)));     /* array elements have no sibling */
    json_t *inner = json_array_get(json_array_get(arr, 2), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(inner, "due_jalali")), "1404/01/01");
    CHECK(json_object_get(v, "loose_jalali") == NULL);
    CHECK(json_object_get(v, "stamp_jalali") == NULL);
    CHECK(json_object_get(v, "seen_jalali_jalali") == NULL);
    CHECK(json_object_get(v, "month13_jalali") == NULL);
    CHECK(json_object_get(v, "far_jalali") == NULL);   /* out of the convertible range */
    /* Each X_jalali follows its X. */
    const char *prev = NULL, *key;
    json_t *value;
    bool adjacent = false;
    json_object_foreach(v, key, value) {
        if (strcmp(key, "birth_date_jalali") == 0)
            adjacent = prev && strcmp(prev, "birth_date") == 0;
        prev = key;
    }
    CHECK(adjacent);
    json_decref(v);
    json_t *s = json_string("2024-03-20");
    CHECK_EQ_INT(hy_gw_add_jalali(s), 0);   /* a bare value has no key to decorate */
    json_decref(s);
}

static void test_problem(void)
{
    json_t *extra = json_pack("{s:s, s:s, s:s, s:i, s:s}", "code", "duplicate_national_id",
                              "existing_id", "prs_1", "title", "Already registered", "status",
                              999, "instance", "/elsewhere");
    json_t *p = hy_gw_problem(409, "duplicate_national_id", "national_id", "seen before", extra,
                              "/v1/persons", "rid-1");
    CHECK(p != NULL);
    /* The type names the code; the title is the type's, not the one the service sent. */
    CHECK_EQ_STR(json_string_value(json_object_get(p, "type")), "/v1/problems/duplicate_national_id");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "title")), "Duplicate national ID");
    CHECK_EQ_INT(json_integer_value(json_object_get(p, "status")), 409);
    CHECK_EQ_STR(json_string_value(json_object_get(p, "code")), "duplicate_national_id");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "field")), "national_id");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "detail")), "seen before");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "instance")), "/v1/persons");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "request_id")), "rid-1");
    CHECK_EQ_STR(json_string_value(json_object_get(p, "existing_id")), "prs_1");
    json_decref(p);
    json_decref(extra);

    p = hy_gw_problem(404, "not_found", NULL, "no such resource", NULL, "/v1/\xff", "rid-2");
    CHECK(p != NULL);
    CHECK(json_object_get(p, "field") == NULL);
    CHECK(json_object_get(p, "instance") == NULL);      /* not UTF-8: left out */
    CHECK_EQ_STR(json_string_value(json_object_get(p, "title")), hy_proto_title("not_found"));
    size_t len = 0;
    char *text = hy_gw_dump(p, &len);
    CHECK(text && len > 2 && text[len - 1] == '\n' && text[len - 2] == '}');
    CHECK(text && strlen(text) == len);
    free(text);
    json_decref(p);
    json_t *null = json_null();
    text = hy_gw_dump(null, &len);
    CHECK_EQ_STR(text, "null\n");
    free(text);
}

static void test_metrics(void)
{
    char e[256];
    hy_routes_t *rt = hy_routes_new(s_apis, e, sizeof e);
    hy_metrics_t *m = rt ? hy_metrics_new(rt) : NULL;
    CHECK(m != NULL);
    if (!m) {
        hy_routes_destroy(&rt);
        return;
    }
    const hy_route_t *r;
    json_t *params;
    CHECK_EQ_INT(hy_routes_match(rt, "POST", "/v1/things", &r, &params, NULL, 0), 200);
    json_decref(params);
    hy_metrics_request(m, r->index, 201, 800);
    hy_metrics_request(m, r->index, 201, 30000);
    hy_metrics_request(m, r->index, 400, 9000000);
    hy_metrics_request(m, -1, 404, 100);
    for (int s = 100; s < 140; s++)                    /* more statuses than slots */
        hy_metrics_request(m, -1, s, 1);
    hy_metrics_service_error(m, 0, HY_SVC_TIMEOUT);
    hy_metrics_service_error(m, 7, HY_SVC_TIMEOUT);    /* no such service: ignored */
    size_t len = 0;
    char *text = hy_metrics_render(m, &len);
    CHECK(text != NULL && len == strlen(text) && text[len - 1] == '\n');
    if (text) {
        const char *const want[] = {
            "hamyar_http_requests_total{route=\"POST /v1/things\",status=\"201\"} 2\n",
            "hamyar_http_requests_total{route=\"POST /v1/things\",status=\"400\"} 1\n",
            "hamyar_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n",
            "hamyar_http_requests_total{route=\"unmatched\",status=\"other\"}",
            "# TYPE hamyar_http_request_duration_seconds histogram\n",
            "_bucket{route=\"POST /v1/things\",le=\"0.001\"} 1\n",
            "_bucket{route=\"POST /v1/things\",le=\"0.05\"} 2\n",
            "_bucket{route=\"POST /v1/things\",le=\"5\"} 2\n",
            "_bucket{route=\"POST /v1/things\",le=\"+Inf\"} 3\n",
            "_count{route=\"POST /v1/things\"} 3\n",
            "_sum{route=\"POST /v1/things\"} 9.030800\n",
            "hamyar_service_errors_total{service=\"things\",kind=\"timeout\"} 1\n",
            "hamyar_service_errors_total{service=\"things\",kind=\"5xx\"} 0\n",
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            if (!strstr(text, want[i])) {
                fprintf(stderr, "  metrics text lacks: %s\n", want[i]);
                CHECK(strstr(text, want[i]) != NULL);
            }
        }
    }
    free(text);
    hy_metrics_destroy(&m);
    hy_routes_destroy(&rt);
}

/* Follows a path of object members. */
static json_t *s_at(json_t *v, const char *const *path)
{
    for (; *path && v; path++)
        v = json_object_get(v, *path);
    return v;
}

static bool s_has(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

/* The services linked into the unit tests, as the gateway gets them: described, sent as JSON
 * text, parsed back. */
#define API(name) extern const hy_api_t name __attribute__((weak))
API(registry_api);
API(loans_api);
API(networks_api);
API(microfund_api);
API(insurance_api);
API(reporting_api);

static hy_api_t *s_parsed[8];

static const hy_api_t *const *s_described(void)
{
    const hy_api_t *all[] = {&registry_api, &loans_api, &networks_api, &microfund_api,
                             &insurance_api, &reporting_api};
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (!all[i])
            continue;
        json_t *d = hy_describe_api(all[i]);
        char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_t *back = text ? json_loads(text, 0, NULL) : NULL;
        char err[160] = "";
        hy_api_t *api = back ? hy_describe_parse(back, err, sizeof err) : NULL;
        CHECK(api != NULL);
        if (api) {
            CHECK_EQ_STR(hy_describe_parsed_digest(api), hy_describe_digest(all[i]));
            CHECK_EQ_STR(api->service, all[i]->service);
            s_parsed[n++] = api;
        }
        free(text);
        json_decref(d);
        json_decref(back);
    }
    s_parsed[n] = NULL;
    return (const hy_api_t *const *)s_parsed;
}

static void s_described_free(void)
{
    for (size_t i = 0; s_parsed[i]; i++)
        hy_describe_free(&s_parsed[i]);
}

/* A description whose content does not match its digest is refused. */
static void test_describe(void)
{
    static const hy_op_spec_t ops[] = {
        {.op = "things.get", .method = "GET", .path = "/v1/things/{id}", .roles = 1,
         .args = s_thing_args, .ok_status = 200},
        {0},
    };
    static const hy_api_t api = {"things", "thg", ops, NULL};
    json_t *d = hy_describe_api(&api);
    CHECK(d != NULL);
    char err[160] = "";
    hy_api_t *p = hy_describe_parse(d, err, sizeof err);
    CHECK(p && p->ops[0].args && strcmp(p->ops[0].args[3].enums, "red|blue") == 0 &&
          p->ops[0].args[3].flags == HY_F_NULL && p->ops[1].op == NULL);
    hy_describe_free(&p);
    json_object_set_new(json_array_get(json_object_get(d, "ops"), 0), "path",
                        json_string("/v1/other"));
    p = hy_describe_parse(d, err, sizeof err);
    CHECK(p == NULL && strstr(err, "digest"));
    json_decref(d);
}

static void test_openapi(void)
{
    char e[256] = "";
    hy_routes_t *rt = hy_routes_new(s_described(), e, sizeof e);
    CHECK(rt != NULL);
    json_t *doc = rt ? hy_gw_openapi(rt) : NULL;
    CHECK(doc != NULL);
    if (!doc) {
        hy_routes_destroy(&rt);
        s_described_free();
        return;
    }
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    const char *const body[] = {"paths", "/v1/persons", "post", "requestBody", "content",
                                "application/json", "schema", NULL};
    json_t *schema = s_at(doc, body);
    CHECK(json_is_object(schema));
    json_t *props = json_object_get(schema, "properties");
    CHECK(json_object_get(props, "national_id") != NULL);
    CHECK_EQ_STR(json_string_value(s_at(props, (const char *const[]){"birth_date", "format",
                                                                     NULL})), "date");
    CHECK(json_object_get(props, "birth_date_jalali") != NULL);
    CHECK(s_has(json_object_get(schema, "required"), "national_id"));
    CHECK(json_is_false(json_object_get(schema, "additionalProperties")));
    const char *const sec[] = {"components", "securitySchemes", "bearer", "scheme", NULL};
    CHECK_EQ_STR(json_string_value(s_at(doc, sec)), "bearer");
    const char *const problem[] = {"components", "schemas", "Problem", "properties", "code",
                                   NULL};
    CHECK(s_at(doc, problem) != NULL);
    const char *const health[] = {"paths", "/healthz", "get", "security", NULL};
    CHECK(json_is_array(s_at(doc, health)) && json_array_size(s_at(doc, health)) == 0);
    const char *const list[] = {"paths", "/v1/persons", "get", "responses", "200", "content",
                                "application/json", "schema", "properties", NULL};
    json_t *lp = s_at(doc, list);
    CHECK(json_object_get(lp, "items") != NULL && json_object_get(lp, "next_cursor") != NULL);
    const char *const audit[] = {"paths", "/v1/audit", "get", "parameters", NULL};
    CHECK(json_array_size(s_at(doc, audit)) > 0);
    json_decref(doc);
    hy_routes_destroy(&rt);

    /* The test api: enums with null, arrays of objects, required dates by either name, query
     * fields of a POST as parameters and not in the body. */
    rt = hy_routes_new(s_apis, e, sizeof e);
    doc = rt ? hy_gw_openapi(rt) : NULL;
    CHECK(doc != NULL);
    const char *const tb[] = {"paths", "/v1/things", "post", "requestBody", "content",
                              "application/json", "schema", NULL};
    schema = s_at(doc, tb);
    props = json_object_get(schema, "properties");
    CHECK(json_object_get(props, "preview") == NULL);
    CHECK(!s_has(json_object_get(schema, "required"), "born"));
    CHECK(json_is_array(json_object_get(schema, "anyOf")));
    json_t *colour = json_object_get(props, "colour");
    CHECK(json_is_array(json_object_get(colour, "type")));
    CHECK(json_is_null(json_array_get(json_object_get(colour, "enum"), 2)));
    const char *const items[] = {"paths", "/v1/things", "post", "responses", "201", "content",
                                 "application/json", "schema", "properties", "parts", "items",
                                 "properties", "due_jalali", NULL};
    CHECK(s_at(doc, items) != NULL);
    const char *const params[] = {"paths", "/v1/things", "post", "parameters", NULL};
    json_t *pa = s_at(doc, params);
    bool preview = false;
    size_t i;
    json_t *p;
    json_array_foreach(pa, i, p) {
        if (json_is_string(json_object_get(p, "name")) &&
            strcmp(json_string_value(json_object_get(p, "name")), "preview") == 0)
            preview = true;
    }
    CHECK(preview);
    const char *const pid[] = {"paths", "/v1/things/{id}", "get", "parameters", NULL};
    json_t *first = json_array_get(s_at(doc, pid), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(first, "in")), "path");
    CHECK_EQ_STR(json_string_value(json_object_get(first, "name")), "id");
    json_decref(doc);
    hy_routes_destroy(&rt);
    s_described_free();
}

/* Content negotiation and the expected-services list of /readyz. */
static void test_negotiate_and_expected(void)
{
    CHECK_EQ_STR(hy_gw_negotiate("text/csv", "csv,html"), "csv");
    CHECK_EQ_STR(hy_gw_negotiate("text/html,application/xhtml+xml,*/*;q=0.8", "csv,html"), "html");
    CHECK_EQ_STR(hy_gw_negotiate("application/json, text/csv", "csv,html"), "json");
    CHECK_EQ_STR(hy_gw_negotiate("text/html", "csv"), "json");   /* not offered */
    CHECK_EQ_STR(hy_gw_negotiate("*/*", "csv,html"), "json");
    CHECK_EQ_STR(hy_gw_negotiate(NULL, "csv,html"), "json");
    /* q-values: the highest wins, whatever the order */
    CHECK_EQ_STR(hy_gw_negotiate("text/csv;q=0.5, text/html;q=0.9", "csv,html"), "html");
    CHECK_EQ_STR(hy_gw_negotiate("application/json;q=0.1, text/csv", "csv,html"), "csv");
    CHECK_EQ_STR(hy_gw_negotiate("text/csv;q=0, */*;q=0.5", "csv,html"), "json");
    CHECK_EQ_STR(hy_gw_negotiate("text/*;q=0.9, application/json;q=0.8", "html"), "html");
    CHECK(hy_gw_accepts_gzip("gzip, deflate"));
    CHECK(hy_gw_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    CHECK(!hy_gw_accepts_gzip("gzip;q=0, *"));
    CHECK(!hy_gw_accepts_gzip("identity"));
    CHECK(hy_gw_accepts_gzip("*"));
    CHECK(hy_gw_prefers_fa("fa-IR, en;q=0.5"));
    CHECK(!hy_gw_prefers_fa("en, fa;q=0.5"));
    CHECK(!hy_gw_prefers_fa(NULL));
    CHECK(!hy_gw_prefers_fa("*"));
    /* CORS: exact origins from the list, * for any, nothing when unset */
    CHECK_EQ_STR(hy_gw_cors_allow("https://a.example, https://b.example", "https://b.example"),
                 "https://b.example");
    CHECK(hy_gw_cors_allow("https://a.example", "https://a.example.evil") == NULL);
    CHECK(hy_gw_cors_allow("https://a.example", "https://a.exampl") == NULL);
    CHECK_EQ_STR(hy_gw_cors_allow("*", "https://x.example"), "*");
    CHECK(hy_gw_cors_allow(NULL, "https://x.example") == NULL);
    CHECK(hy_gw_cors_allow("", "https://x.example") == NULL);
    CHECK(hy_gw_cors_allow("*", NULL) == NULL);
    unsetenv("HY_SERVICES");
    CHECK(hy_gw_expected("loans"));
    setenv("HY_SERVICES", "registry, loans", 1);
    CHECK(hy_gw_expected("registry") && hy_gw_expected("loans"));
    CHECK(!hy_gw_expected("reporting"));
    CHECK(!hy_gw_expected("loan"));
    unsetenv("HY_SERVICES");
}

/* The shape of a body is measured without parsing: depth, members, strings skipped. */
static void test_json_shape(void)
{
    int depth;
    size_t members;
    const char *flat = "{\"a\":1,\"b\":\"{[:\\\"]\",\"c\":[1,2]}";
    hy_gw_json_shape(flat, strlen(flat), &depth, &members);
    CHECK_EQ_INT(depth, 2);
    CHECK_EQ_INT((int)members, 3);
    char deep[300];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    hy_gw_json_shape(deep, 130, &depth, &members);
    CHECK_EQ_INT(depth, 65);
    hy_gw_error_t err;
    json_t *doc = hy_gw_parse_body(deep, 130, &err);
    CHECK(doc == NULL && strcmp(err.code, "too_deep") == 0 && err.status == 400);
    const char *ok = "{\"a\":[[[1]]]}";
    doc = hy_gw_parse_body(ok, strlen(ok), &err);
    CHECK(doc != NULL);
    json_decref(doc);
}

/* The request log line is one JSON object per line, whatever the route's text holds. */
static void test_log_line(void)
{
    hy_gw_log_flush();
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    CHECK(tmp && saved >= 0 && dup2(fileno(tmp), 2) == 2);
    hy_gw_log_request("GET /v1/x/{id} \"q\" \\ \x01", "rid-1", 404, 1234);
    hy_gw_log_request("console", "r2", 200, 5);
    fflush(stderr);
    CHECK(lseek(fileno(tmp), 0, SEEK_CUR) == 0);   /* batched: nothing written yet */
    hy_gw_log_flush();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = "";
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    char *nl = strchr(buf, '\n');
    CHECK(nl != NULL);
    if (!nl)
        return;
    *nl = '\0';
    json_t *line = json_loads(buf, 0, NULL);
    CHECK(line != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(line, "route")), "GET /v1/x/{id} \"q\" \\ \x01");
    CHECK_EQ_STR(json_string_value(json_object_get(line, "request_id")), "rid-1");
    CHECK_EQ_STR(json_string_value(json_object_get(line, "service")), "gateway");
    CHECK_EQ_STR(json_string_value(json_object_get(line, "level")), "info");
    CHECK_EQ_INT(json_integer_value(json_object_get(line, "status")), 404);
    CHECK_EQ_INT(json_integer_value(json_object_get(line, "us")), 1234);
    const char *ts = json_string_value(json_object_get(line, "ts"));
    CHECK(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z');
    json_decref(line);
    json_t *second = json_loads(nl + 1, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(second, "route")), "console");
    json_decref(second);
}

/* The envelope written as text (hy_gw_request_text) is the tree hy_proto_request builds, with
 * if_match beside it; strings that need escapes go through jansson, text that is not UTF-8 is
 * refused as json_string refuses it. */
static void s_request_same(const char *idem, const char *if_match, json_t *args)
{
    hy_actor_t actor = { "staff-1", "social_services", "rey-\"1\\" };
    size_t len = 0;
    char *text = hy_gw_request_text("persons.get", "rid-م", &actor, idem, if_match, args,
                                    NULL, 0, &len);
    CHECK(text != NULL && len == strlen(text));
    json_t *got = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *want = hy_proto_request("persons.get", "rid-م", &actor, idem, json_incref(args));
    if (want && if_match)
        json_object_set_new(want, "if_match", json_string(if_match));
    CHECK(got && want && json_equal(got, want));
    json_decref(got);
    json_decref(want);
    free(text);
}

static void test_request_text(void)
{
    json_t *args = json_pack("{s:s, s:i, s:[s]}", "id", "p-1", "limit", 5, "q", "علی \"x\"");
    s_request_same(NULL, NULL, args);
    s_request_same("idem-\\\"1", "W/\"abc\"", args);
    s_request_same("k", NULL, NULL);
    json_decref(args);
    hy_actor_t actor = { "k", "r", "" };
    size_t len;
    CHECK(hy_gw_request_text("op", "id", &actor, NULL, "\xff\xfe", NULL, NULL, 0, &len) == NULL);
    /* args given as text go in as they are. */
    const char *body = "{ \"a\" : [1, 2] }";
    char *text = hy_gw_request_text("op", "id", &actor, NULL, NULL, NULL, body, strlen(body), &len);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    json_t *want = json_pack("{s:[i,i]}", "a", 1, 2);
    CHECK(doc && json_equal(json_object_get(doc, "args"), want));
    json_decref(doc);
    json_decref(want);
    free(text);
}

/* The splice (splice.c) gives the very bytes of the tree's way (parse, hy_gw_add_jalali,
 * hy_gw_dump), and declines what it does not handle. */
static void s_splice_same(const char *text)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    CHECK(doc != NULL);
    CHECK_EQ_INT(hy_gw_add_jalali(doc), 0);
    size_t want_len = 0, got_len = 0;
    char *want = hy_gw_dump(doc, &want_len);
    char *got = hy_gw_splice_result(text, strlen(text), &got_len);
    CHECK_EQ_STR(got ? got : "(declined)", want ? want : "");
    CHECK_EQ_INT(got_len, got ? want_len : 0);
    free(want);
    free(got);
    json_decref(doc);
}

static void test_splice(void)
{
    s_splice_same("{\"id\":\"prs_1\",\"national_id\":\"0012345678\",\"first_name\":\"\xd8\xb9\xd9\x84\xdb\x8c\","
                  "\"birth_date\":\"1990-03-21\",\"created_at\":\"2026-12-03T06:00:00Z\","
                  "\"household\":{\"size\":4,\"head_since\":\"2020-01-01\",\"head_since_jalali\":\"x\"},"
                  "\"tags\":[\"a\",\"2024-01-01\",[],{}],\"events\":[{\"on\":\"2025-06-30\"},{\"on\":\"2025-13-40\"}],"
                  "\"n\":null,\"ok\":true,\"f\":1.5,\"g\":-12,\"x_jalali\":\"1999-01-01\","
                  "\"b\":\"2024-01-01\",\"b_jalali\":\"given\",\"d\":\"2024-02-30\",\"e\":\"2024-1-01\"}");
    s_splice_same("null");
    s_splice_same("[]");
    s_splice_same("{}");
    s_splice_same("[{},[{\"at\":\"2021-03-21\"}]]");
    s_splice_same("\"2024-01-01\"");
    s_splice_same("{\"items\":[{\"id\":\"a\",\"since\":\"2023-09-23\"}],\"next_cursor\":null}");
    char key[300], text[400];
    memset(key, 'k', 250);
    key[250] = '\0';
    snprintf(text, sizeof text, "{\"%s\":\"2024-01-01\",\"k\":\"2024-01-01\"}", key);
    s_splice_same(text);
    size_t n = 0;
    char *got = hy_gw_splice_result("{\"a\":\"x\\\"y\"}", 12, &n);
    CHECK(got == NULL);   /* an escape: the tree's way */
    free(got);
    CHECK(hy_gw_splice_result("{\"a\":", 5, &n) == NULL);
    /* Very many members: declined. */
    char big[4096] = "{";
    for (int i = 0; i < 200; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"m%d\":1", i ? "," : "", i);
    strcat(big, "}");
    CHECK(hy_gw_splice_result(big, strlen(big), &n) == NULL);
}

/* One error struct for spec and gateway checks: the gateway's refusal is the spec checker's
 * struct, filled by the one setter (hy_spec_fail), so a spec error needs no copying. */
static void test_one_error_struct(void)
{
    static const hy_field_t args[] = {{.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ}, {0}};
    static const hy_op_spec_t op = {.op = "x.create", .method = "POST", .path = "/v1/x",
                                    .args = args};
    hy_gw_error_t err = {0};
    json_t *a = json_object();
    CHECK_EQ_INT(hy_spec_check(&op, a, &err), -1);
    CHECK_EQ_INT(err.status, 400);
    CHECK_EQ_STR(err.code, "missing_field");
    CHECK_EQ_STR(err.field, "name");
    json_decref(a);
    hy_spec_error_t *same = &err;
    CHECK_EQ_INT(hy_spec_fail(same, 404, "not_found", NULL, "no route %s", "/v1/y"), -1);
    CHECK_EQ_INT(err.status, 404);
    CHECK_EQ_STR(err.code, "not_found");
    CHECK_EQ_STR(err.field, "");
    CHECK_EQ_STR(err.detail, "no route /v1/y");
    CHECK_EQ_INT(hy_gw_fail(&err, 405, "method_not_allowed", "method", "%d", 7), -1);
    CHECK_EQ_STR(err.field, "method");
    CHECK_EQ_STR(err.detail, "7");
}

const hy_test_t gateway_tests[] = {
    {"gateway.json_shape", test_json_shape},
    {"gateway.describe", test_describe},
    {"gateway.negotiate_and_expected", test_negotiate_and_expected},
    {"gateway.routes", test_routes},
    {"gateway.args", test_args},
    {"gateway.keys", test_keys},
    {"gateway.jalali", test_jalali},
    {"gateway.problem", test_problem},
    {"gateway.metrics", test_metrics},
    {"gateway.openapi", test_openapi},
    {"gateway.log_line", test_log_line},
    {"gateway.request_text", test_request_text},
    {"gateway.splice", test_splice},
    {"gateway.one_error_struct", test_one_error_struct},
    {0},
};
