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
        return ((hy_call_s_fn)call->fn)(ctx, s[0], result);
    case HY_CALL_KIND_SS:
        return ((hy_call_ss_fn)call->fn)(ctx, s[0], s[1], result);
    case HY_CALL_KIND_SSS:
        return ((hy_call_sss_fn)call->fn)(ctx, s[0], s[1], s[2], result);
    case HY_CALL_KIND_SSSS:
        return ((hy_call_ssss_fn)call->fn)(ctx, s[0], s[1], s[2], s[3], result);
    case HY_CALL_KIND_SA:
        return ((hy_call_sa_fn)call->fn)(ctx, s[0], args, result);
    case HY_CALL_KIND_SCA:
        return ((hy_call_sca_fn)call->fn)(ctx, s[0], args, result);
    case HY_CALL_KIND_SSA:
        return ((hy_call_ssa_fn)call->fn)(ctx, s[0], s[1], args, result);
    case HY_CALL_NONE:
        break;
    }
    return hy_fail(ctx, 500, "internal_error", NULL, "the op has no handler");
}

bool hy_call_same(const hy_call_t *a, const hy_call_t *b)
{
    if (a->kind == HY_CALL_NONE || a->kind != b->kind || a->fn != b->fn)
        return false;
    for (int i = 0; i < 4; i++)
        if (a->names[i] != b->names[i] &&
            (!a->names[i] || !b->names[i] || strcmp(a->names[i], b->names[i]) != 0))
            return false;
    return true;
}

int hy_spec_run(const hy_op_spec_t *op, hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return op->handler ? op->handler(ctx, args, result) : hy_call_run(&op->call, ctx, args, result);
}
