/*
 * bind.c — runs an op row's argument binding (bind.h).
 */
#include <string.h>

#include "bind.h"
#include "json.h"
#include "service.h"

int hy_call_run(const hy_call_t *call, hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *s[4];
    for (int i = 0; i < 4; i++)
        s[i] = call->names[i] ? hy_json_str(args, call->names[i]) : NULL;
    switch (call->kind) {
    case HY_CALL_KIND_S:
        return call->fn.s(ctx, s[0], result);
    case HY_CALL_KIND_SS:
        return call->fn.ss(ctx, s[0], s[1], result);
    case HY_CALL_KIND_SSS:
        return call->fn.sss(ctx, s[0], s[1], s[2], result);
    case HY_CALL_KIND_SSSS:
        return call->fn.ssss(ctx, s[0], s[1], s[2], s[3], result);
    case HY_CALL_KIND_SA:
        return call->fn.sa(ctx, s[0], args, result);
    case HY_CALL_KIND_SCA:
        return call->fn.sca(ctx, s[0], args, result);
    case HY_CALL_KIND_SSA:
        return call->fn.ssa(ctx, s[0], s[1], args, result);
    case HY_CALL_NONE:
        break;
    }
    return hy_fail(ctx, 500, "internal_error", NULL, "the op has no handler");
}

static bool s_same_name(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool hy_call_same(const hy_call_t *a, const hy_call_t *b)
{
    if (a->kind != b->kind || a->kind == HY_CALL_NONE)
        return false;
    for (int i = 0; i < 4; i++)
        if (!s_same_name(a->names[i], b->names[i]))
            return false;
    switch (a->kind) {
    case HY_CALL_KIND_S:
        return a->fn.s == b->fn.s;
    case HY_CALL_KIND_SS:
        return a->fn.ss == b->fn.ss;
    case HY_CALL_KIND_SSS:
        return a->fn.sss == b->fn.sss;
    case HY_CALL_KIND_SSSS:
        return a->fn.ssss == b->fn.ssss;
    case HY_CALL_KIND_SA:
        return a->fn.sa == b->fn.sa;
    case HY_CALL_KIND_SCA:
        return a->fn.sca == b->fn.sca;
    case HY_CALL_KIND_SSA:
        return a->fn.ssa == b->fn.ssa;
    case HY_CALL_NONE:
        break;
    }
    return false;
}

int hy_spec_run(const hy_op_spec_t *op, hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return op->handler ? op->handler(ctx, args, result) : hy_call_run(&op->call, ctx, args, result);
}
