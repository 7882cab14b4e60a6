/*
 * test_bind.c — an op row's argument binding (shared/bind.h): the row's call gets the named
 * strings of the arguments in order, the start-up check refuses a row with both a handler and
 * a call and a call named twice.
 */
#include <string.h>

#include "service.h"
#include "spec.h"
#include "test.h"

static int s_echo(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)ctx;
    *result = json_incref(args);
    return 0;
}

/* Each answers the strings it got, in order, joined by "|" ("-" for NULL), and args' size. */
static json_t *s_join(const char *a, const char *b, const char *c, const char *d, json_t *args)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i}", "a", a ? a : "-", "b", b ? b : "-", "c",
                     c ? c : "-", "d", d ? d : "-", "n", args ? (int)json_object_size(args) : -1);
}
static int s_s(hy_ctx_t *ctx, const char *a, json_t **r)
{
    (void)ctx;
    *r = s_join(a, NULL, NULL, NULL, NULL);
    return 0;
}
static int s_ssss(hy_ctx_t *ctx, const char *a, const char *b, const char *c, const char *d,
                  json_t **r)
{
    (void)ctx;
    *r = s_join(a, b, c, d, NULL);
    return 0;
}
static int s_ssa(hy_ctx_t *ctx, const char *a, const char *b, json_t *args, json_t **r)
{
    (void)ctx;
    *r = s_join(a, b, NULL, NULL, args);
    return 0;
}
static int s_refuse(hy_ctx_t *ctx, const char *a, json_t **r)
{
    (void)r;
    return hy_fail(ctx, 404, "not_found", "id", "no %s", a);
}

static void test_bind_call_passes_named_strings(void)
{
    static const hy_op_spec_t ops[] = {
        {.op = "x.one", .call = HY_CALL_S(s_s, "id")},
        {.op = "x.four", .call = HY_CALL_SSSS(s_ssss, "id", "source", "agency", "date")},
        {.op = "x.two_args", .call = HY_CALL_SSA(s_ssa, "id", "member")},
        {.op = "x.refuse", .call = HY_CALL_S(s_refuse, "id")},
        {.op = "x.echo", .handler = s_echo},
        {0},
    };
    char why[256] = "";
    CHECK_EQ_INT(hy_spec_check_handlers(ops, why, sizeof why), 0);
    json_t *args = json_pack("{s:s,s:s,s:s,s:s}", "id", "prs_1", "source", "self", "date",
                             "2026-01-02", "member", "prs_2");
    hy_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    json_t *r = NULL;
    CHECK_EQ_INT(hy_spec_run(&ops[0], &ctx, args, &r), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(r, "a")), "prs_1");
    CHECK_EQ_STR(json_string_value(json_object_get(r, "b")), "-");
    json_decref(r);
    r = NULL;
    CHECK_EQ_INT(hy_spec_run(&ops[1], &ctx, args, &r), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(r, "b")), "self");
    CHECK_EQ_STR(json_string_value(json_object_get(r, "c")), "-");   /* agency absent */
    CHECK_EQ_STR(json_string_value(json_object_get(r, "d")), "2026-01-02");
    json_decref(r);
    r = NULL;
    CHECK_EQ_INT(hy_spec_run(&ops[2], &ctx, args, &r), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(r, "b")), "prs_2");
    CHECK_EQ_INT(json_integer_value(json_object_get(r, "n")), 4);   /* the whole args */
    json_decref(r);
    r = NULL;
    CHECK_EQ_INT(hy_spec_run(&ops[3], &ctx, args, &r), -1);
    CHECK_EQ_INT(ctx.status, 404);
    CHECK(r == NULL);
    json_decref(ctx.error);
    memset(&ctx, 0, sizeof ctx);
    CHECK_EQ_INT(hy_spec_run(&ops[4], &ctx, args, &r), 0);
    CHECK(r == args);
    json_decref(r);
    json_decref(args);
}

/* Each table: two rows and what the check says of it (the op it names, NULL when it passes). */
static void test_bind_check_refuses_bad_rows(void)
{
    static const hy_op_spec_t tables[][3] = {
        /* a handler and a call on one row */
        {{.op = "x.both", .handler = s_echo, .call = HY_CALL_S(s_s, "id")}, {.op = "x.echo", .handler = s_echo}},
        /* one call on two rows */
        {{.op = "x.one", .call = HY_CALL_S(s_s, "id")}, {.op = "x.again", .call = HY_CALL_S(s_s, "id")}},
        /* the same function on another argument is another call */
        {{.op = "x.one", .call = HY_CALL_S(s_s, "id")}, {.op = "x.code", .call = HY_CALL_S(s_s, "code")}},
    };
    static const char *const refused[] = {"x.both", "x.again", NULL};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char why[256] = "";
        int rc = hy_spec_check_handlers(tables[i], why, sizeof why);
        CHECK_EQ_INT(rc, refused[i] ? -1 : 0);
        CHECK(!refused[i] || strstr(why, refused[i]) != NULL);
    }
}

const hy_test_t bind_tests[] = {
    {"bind_call_passes_named_strings", test_bind_call_passes_named_strings},
    {"bind_check_refuses_bad_rows", test_bind_check_refuses_bad_rows},
    {NULL, NULL},
};
