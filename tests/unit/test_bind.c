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

static void test_bind_check_refuses_bad_rows(void)
{
    char why[256] = "";
    static const hy_op_spec_t both[] = {
        {.op = "x.both", .handler = s_echo, .call = HY_CALL_S(s_s, "id")},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(both, why, sizeof why), -1);
    CHECK(strstr(why, "x.both") != NULL);
    static const hy_op_spec_t twice[] = {
        {.op = "x.one", .call = HY_CALL_S(s_s, "id")},
        {.op = "x.again", .call = HY_CALL_S(s_s, "id")},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(twice, why, sizeof why), -1);
    CHECK(strstr(why, "x.again") != NULL);
    /* The same function on another argument is another call. */
    static const hy_op_spec_t other_arg[] = {
        {.op = "x.one", .call = HY_CALL_S(s_s, "id")},
        {.op = "x.code", .call = HY_CALL_S(s_s, "code")},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(other_arg, why, sizeof why), 0);
}

const hy_test_t bind_tests[] = {
    {"bind_call_passes_named_strings", test_bind_call_passes_named_strings},
    {"bind_check_refuses_bad_rows", test_bind_check_refuses_bad_rows},
    {NULL, NULL},
};
