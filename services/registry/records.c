/*
 * records.c — small pieces every registry domain file needs: index keys, the stamp a new
 * record carries (office, author, timestamps), Jalali echoes of dates, change lists for
 * updates, events, and filtered pagination over a primary database or one index key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "page.h"
#include "registry.h"
#include "scope.h"

/* LMDB's default maximum key size is 511 bytes; stay clear of it. */
#define KEY_MAX 480

registry_t *registry_state(hy_ctx_t *ctx)
{
    return (registry_t *)ctx->state;
}

/* Text keys are normalised so that an index lookup folds spelling the same way as search. */
size_t registry_key_text(char tag, const char *text, char *out, size_t outsz)
{
    if (!text)
        return 0;
    char *norm = hy_fa_key(text);
    if (!norm)
        return 0;
    size_t len = strlen(norm);
    size_t total = len + 2;
    if (len == 0 || total > KEY_MAX || total > outsz) {
        free(norm);
        return 0;
    }
    out[0] = tag;
    out[1] = ':';
    memcpy(out + 2, norm, len);
    free(norm);
    return total;
}

size_t registry_key_num(char tag, uint64_t n, uint8_t out[10])
{
    out[0] = (uint8_t)tag;
    out[1] = ':';
    hy_key_u64(n, out + 2);
    return 10;
}

/* Every record says which office and which key made it (DOMAIN.md: "every record says which
 * office and user made it"); the audit trail adds the request id per event. */
void registry_stamp_new(hy_ctx_t *ctx, json_t *rec, const char *office)
{
    const char *key_id = ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
    json_object_set_new(rec, "office", json_string(office));
    json_object_set_new(rec, "created_by", json_string(key_id));
    json_object_set_new(rec, "created_at", json_string(ctx->now_iso));
    json_object_set_new(rec, "updated_at", json_string(ctx->now_iso));
}

int registry_new_office(hy_ctx_t *ctx, const json_t *args, const char *dflt, json_t **office)
{
    const char *given = json_string_value(json_object_get(args, "office"));
    const char *mine = hy_scope_office(ctx);
    given = given && *given ? given : NULL;
    if (mine && given && !hy_scope_same(mine, given))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s and cannot write for office %s", mine, given);
    const char *code = mine ? mine : given ? given : dflt;
    if (!code || !*code)
        return hy_fail(ctx, 422, "missing_office", "office",
                       "no office given and the caller acts for none");
    return registry_office_resolve(ctx, "office", code, office);
}

const char *registry_code(const json_t *office)
{
    return json_string_value(json_object_get(office, "code"));
}

void registry_set_or_clear(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_is_null(value)) {
        json_object_del(obj, key);
        json_decref(value);
    } else {
        json_object_set_new(obj, key, value);
    }
}

bool registry_diff(json_t *changes, const json_t *old, const json_t *new, const char *key)
{
    json_t *from = json_object_get(old, key), *to = json_object_get(new, key);
    if (from == to || (from && to && json_equal(from, to)))
        return false;
    json_object_set_new(
        changes, key,
        json_pack("{s:O,s:O}", "from", from ? from : json_null(), "to", to ? to : json_null()));
    return true;
}

int registry_emit(hy_ctx_t *ctx, const char *type, const char *subject, const json_t *data)
{
    json_t *copy = json_deep_copy(data);
    if (!copy)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    int rc = hy_emit(ctx, type, subject, copy);
    return hy_mdb_status(ctx, rc);
}

int registry_page(hy_ctx_t *ctx, MDB_dbi db, MDB_dbi idx, const void *key, size_t klen,
                  uint64_t after, int limit, registry_keep_fn keep, void *user, json_t **items,
                  uint64_t *next)
{
    *next = 0;
    int rc = hy_page_json(ctx->txn, db, key ? &idx : NULL, key, klen, after, limit, keep, user,
                          items, next);
    return hy_mdb_status(ctx, rc);
}
