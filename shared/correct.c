/*
 * correct.c — the bookkeeping of voids and corrections (see correct.h).
 */
#include <string.h>

#include "correct.h"
#include "scope.h"

static const char *s_key_id(hy_ctx_t *ctx)
{
    return ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
}

int hy_correct_allowed(hy_ctx_t *ctx, const char *record_office)
{
    return hy_scope_write(ctx, "id", record_office);
}

bool hy_correct_is_voided(const json_t *rec)
{
    return json_is_true(json_object_get(rec, "voided"));
}

int hy_correct_check_live(hy_ctx_t *ctx, const json_t *rec, const char *what)
{
    if (!hy_correct_is_voided(rec))
        return 0;
    return hy_fail(ctx, 409, "voided", "id", "this %s was voided on %s (%s) and cannot change",
                   what, json_string_value(json_object_get(rec, "voided_at")),
                   json_string_value(json_object_get(rec, "void_reason")));
}

int hy_correct_check_checker(hy_ctx_t *ctx, const json_t *rec, const char *what)
{
    const char *me = s_key_id(ctx);
    const char *maker = json_string_value(json_object_get(rec, "created_by"));
    if (!*me || !maker || strcmp(me, maker) != 0)
        return 0;
    return hy_fail(ctx, 422, "same_approver", NULL,
                   "the key %s recorded this %s: another key must void it", me, what);
}

int hy_correct_void(hy_ctx_t *ctx, json_t *rec, const char *reason, json_t **data)
{
    int status = hy_correct_check_live(ctx, rec, "record");
    if (status)
        return status;
    json_t *before = json_deep_copy(rec);
    json_object_set_new(rec, "voided", json_true());
    json_object_set_new(rec, "voided_by", json_string(s_key_id(ctx)));
    json_object_set_new(rec, "voided_at", json_string(ctx->now_iso));
    json_object_set_new(rec, "void_reason", json_string(reason ? reason : ""));
    *data = json_pack("{s:O,s:o,s:s,s:s,s:s}", "id", json_object_get(rec, "id"), "before", before,
                      "reason", reason ? reason : "", "voided_by", s_key_id(ctx), "voided_at",
                      ctx->now_iso);
    return *data ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

json_t *hy_correct_data(hy_ctx_t *ctx, const json_t *before, json_t *after, const char *reason)
{
    json_object_set_new(after, "corrected_by", json_string(s_key_id(ctx)));
    json_object_set_new(after, "corrected_at", json_string(ctx->now_iso));
    json_object_set_new(after, "correction_reason", json_string(reason ? reason : ""));
    return json_pack("{s:O,s:O,s:O,s:s}", "id", json_object_get(after, "id"), "before", before,
                     "after", after, "reason", reason ? reason : "");
}
