/*
 * test_spec.c — argument checks done once in the skeleton: shape, ranges, enums, dates.
 */
#include <string.h>

#include "proto.h"
#include "spec.h"
#include "test.h"

static const hy_field_t s_lic[] = {
    {.name = "type", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = "independent|supporter"},
    {.name = "issued", .type = HY_T_DATE},
    {0},
};
static const hy_field_t s_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 10},
    {.name = "size", .type = HY_T_INT, .min = 1, .max = 30},
    {.name = "amount_rials", .type = HY_T_MONEY},
    {.name = "born", .type = HY_T_DATE},
    {.name = "head", .type = HY_T_BOOL},
    {.name = "licence", .type = HY_T_OBJECT, .sub = s_lic},
    {.name = "ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .max_len = 3},
    {.name = "note", .type = HY_T_STRING, .flags = HY_F_NULL},
    {0},
};
static const hy_op_spec_t s_op = {.op = "x.create", .method = "POST", .path = "/v1/x/{id}",
                                  .roles = HY_ROLE_SOCIAL_SERVICES, .args = s_args};
static const hy_op_spec_t s_list = {.op = "x.list", .method = "GET", .path = "/v1/x",
                                    .roles = HY_ROLE_READERS, .args = s_args + 1, .list = true};

/* Checks args text against op; returns the error code ("" when accepted). */
static const char *s_check(const hy_op_spec_t *op, const char *text, json_t **out, hy_spec_error_t *err)
{
    json_t *args = json_loads(text, 0, NULL);
    if (!args)
        return "bad test json";
    int rc = hy_spec_check(op, args, err);
    if (out)
        *out = args;
    else
        json_decref(args);
    return rc == 0 ? "" : err->code;
}

static void test_shapes(void)
{
    hy_spec_error_t e;
    json_t *a = NULL;
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"  Ali \",\"size\":3,\"id\":\"x_1\"}", &a, &e), "");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "name")), "Ali"); /* trimmed */
    json_decref(a);
    CHECK_EQ_STR(s_check(&s_op, "{\"size\":3}", NULL, &e), "missing_field");
    CHECK_EQ_STR(e.field, "name");
    CHECK(e.status == 400);
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"   \"}", NULL, &e), "missing_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"colour\":1}", NULL, &e), "unknown_field");
    CHECK_EQ_STR(e.field, "colour");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"size\":\"3\"}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"size\":3.5}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"size\":31}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"amount_rials\":-1}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"amount_rials\":1.0}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"head\":1}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"abcdefghijk\"}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"licence\":{\"type\":\"other\"}}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(e.field, "licence.type");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"licence\":{\"type\":\"supporter\",\"x\":1}}", NULL, &e), "unknown_field");
    CHECK_EQ_STR(e.field, "licence.x");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"ids\":[\"prs_1\",\"PRS 2\"]}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(e.field, "ids[1]");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"ids\":[\"a\",\"b\",\"c\",\"d\"]}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"note\":null}", NULL, &e), "");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"size\":null}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_op, "[1]", NULL, &e), "invalid_body");
}

static void test_dates(void)
{
    hy_spec_error_t e;
    json_t *a = NULL;
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born_jalali\":\"1400/01/01\"}", &a, &e), "");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "born")), "2021-03-21");
    CHECK(json_object_get(a, "born_jalali") == NULL);
    json_decref(a);
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born_jalali\":\"۱۴۰۳/۱۲/۳۰\"}", &a, &e), "");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "born")), "2025-03-20");
    json_decref(a);
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born_jalali\":\"1400/12/30\"}", NULL, &e), "invalid_date");
    CHECK(e.status == 422);
    CHECK_EQ_STR(e.field, "born_jalali");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born\":\"2021-02-29\"}", NULL, &e), "invalid_date");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born\":\"2021-03-21\",\"born_jalali\":\"1400/01/01\"}", NULL, &e), "");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"born\":\"2021-03-22\",\"born_jalali\":\"1400/01/01\"}", NULL, &e), "invalid_date");
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"licence\":{\"type\":\"independent\",\"issued_jalali\":\"1399/12/30\"}}", &a, &e), "");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(a, "licence"), "issued")), "2021-03-20");
    json_decref(a);
    CHECK_EQ_STR(s_check(&s_op, "{\"name\":\"a\",\"size_jalali\":\"1400/01/01\"}", NULL, &e), "unknown_field");
}

static void test_lists_and_query(void)
{
    hy_spec_error_t e;
    json_t *a = NULL;
    CHECK_EQ_STR(s_check(&s_list, "{}", &a, &e), "");
    CHECK(json_integer_value(json_object_get(a, "limit")) == 50);
    json_decref(a);
    CHECK_EQ_STR(s_check(&s_list, "{\"limit\":501}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_list, "{\"limit\":0}", NULL, &e), "invalid_field");
    CHECK_EQ_STR(s_check(&s_list, "{\"limit\":500,\"cursor\":\"c1\"}", NULL, &e), "");
    const hy_field_t *size = hy_spec_field(s_args, "size");
    json_t *v = hy_spec_coerce_query(size, "12");
    CHECK(json_integer_value(v) == 12);
    json_decref(v);
    CHECK(hy_spec_coerce_query(size, "12a") == NULL);
    CHECK(hy_spec_coerce_query(size, "") == NULL);
    v = hy_spec_coerce_query(hy_spec_field(s_args, "head"), "true");
    CHECK(json_is_true(v));
    CHECK(hy_spec_coerce_query(hy_spec_field(s_args, "head"), "yes") == NULL);
    CHECK(hy_spec_find(hy_builtin_ops, "events.since") != NULL);
    CHECK(hy_spec_find(hy_builtin_ops, "nope") == NULL);
}

static void test_proto(void)
{
    hy_actor_t actor = {"k1", "social_services", "rey-1"};
    json_t *req = hy_proto_request("persons.create", "r1", &actor, "idem-1", json_pack("{s:i}", "a", 1));
    hy_request_t r;
    CHECK(hy_proto_parse_request(req, &r) == 0);
    CHECK_EQ_STR(r.op, "persons.create");
    CHECK_EQ_STR(r.idem, "idem-1");
    CHECK_EQ_STR(r.actor.office, "rey-1");
    CHECK(json_integer_value(json_object_get(r.args, "a")) == 1);
    json_decref(req);
    json_t *bad = json_pack("{s:i}", "op", 3);
    CHECK(hy_proto_parse_request(bad, &r) == -1);
    json_decref(bad);
    json_t *rep = hy_proto_reply_error("r1", 422, "over_cap", "amount_rials", "too much");
    int status;
    json_t *res, *err;
    CHECK(hy_proto_parse_reply(rep, &status, &res, &err) == 0);
    CHECK(status == 422);
    CHECK_EQ_STR(json_string_value(json_object_get(err, "title")), "Over cap");
    CHECK_EQ_STR(json_string_value(json_object_get(err, "field")), "amount_rials");
    json_decref(rep);
    CHECK(hy_role_parse("auditor") == HY_ROLE_AUDITOR);
    CHECK(hy_role_parse("root") == 0);
    CHECK_EQ_STR(hy_proto_title("duplicate_national_id"), "Duplicate national ID");
}

/* Text limits count characters (code points), as JSON Schema's maxLength does. */
static void test_text_limits_in_characters(void)
{
    static const hy_field_t fields[] = {
        {.name = "name", .type = HY_T_STRING, .max_len = 10},
        {0},
    };
    static const hy_op_spec_t op = {.op = "t.x", .args = fields};
    hy_spec_error_t err;
    /* ten Persian letters: 20 bytes, 10 characters */
    json_t *a;
    a = json_pack("{s:s}", "name", "\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85\xd9\x85\xd8\xb1");
    CHECK(hy_spec_check(&op, a, &err) == 0);
    json_decref(a);
    a = json_pack("{s:s}", "name", "\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85\xd9\x85\xd8\xb1\xd8\xb1");
    CHECK(hy_spec_check(&op, a, &err) == -1);
    CHECK_EQ_STR(err.code, "invalid_field");
    CHECK(strstr(err.detail, "characters") != NULL);
    json_decref(a);
}

const hy_test_t spec_tests[] = {
    {"spec.text_limits_in_characters", test_text_limits_in_characters},
    {"spec.shapes", test_shapes},
    {"spec.dates", test_dates},
    {"spec.lists_and_query", test_lists_and_query},
    {"spec.proto", test_proto},
    {0},
};
