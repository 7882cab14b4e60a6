/*
 * agencies.c — the agencies that refer women to the programme (بهزیستی, کمیته امداد, the
 * municipality, ...): a code and a Persian name each, so referrals and imports name one agency
 * one way and reports can count referrals by agency.
 *
 * An agency is keyed by its code in normalised form ("BEHZISTI" and "behzisti" are one agency),
 * and names are grouped by hy_fa_key: "کمیته امداد", "کميته‌امداد" and "كمیته امداد" are one name, so
 * a second agency of the same name is refused (409 duplicate_agency) like a second code. The
 * list is small (tens): one page in code order. Operators create agencies, as they do offices.
 */
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "registry.h"

#define CODE_MAX 64

/* The canonical code into out; false when empty, with white space inside or too long. */
static bool s_code(const char *text, char out[CODE_MAX + 1])
{
    char *norm = text ? hy_fa_normalize(text) : NULL;
    bool ok = norm && *norm && strlen(norm) <= CODE_MAX && !strchr(norm, ' ');
    if (ok)
        memcpy(out, norm, strlen(norm) + 1);
    free(norm);
    return ok;
}

static int s_find(hy_ctx_t *ctx, const char *code, json_t **agency)
{
    char key[CODE_MAX + 1];
    if (!s_code(code, key))
        return MDB_NOTFOUND;
    return hy_store_get_json(ctx->txn, registry_state(ctx)->agencies, key, strlen(key), agency);
}

int registry_agency_resolve(hy_ctx_t *ctx, const char *field, const char *code, json_t **agency)
{
    json_t *rec = NULL;
    int rc = s_find(ctx, code, &rec);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_agency", field,
                       "no agency has the code %s (agencies are created with POST /v1/agencies)",
                       code ? code : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (agency)
        *agency = rec;
    else
        json_decref(rec);
    return 0;
}

int registry_agency_list(hy_ctx_t *ctx, json_t **items)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    json_t *list = json_array();
    int rc = mdb_cursor_open(ctx->txn, registry_state(ctx)->agencies, &cur);
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        json_t *agency = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (!agency) {
            rc = MDB_CORRUPTED;
            break;
        }
        json_array_append_new(list, agency);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        json_decref(list);
        return hy_fail_mdb(ctx, rc);
    }
    *items = list;
    return 0;
}

/* The agency whose name folds to the same key as name, if any (new reference in *found). */
static int s_same_name(hy_ctx_t *ctx, const char *name_key, json_t **found)
{
    json_t *all = NULL;
    int status = registry_agency_list(ctx, &all);
    if (status != 0)
        return status;
    *found = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(all, i, a) {
        const char *have = json_string_value(json_object_get(a, "name_key"));
        if (have && strcmp(have, name_key) == 0) {
            *found = json_incref(a);
            break;
        }
    }
    json_decref(all);
    return 0;
}

int registry_agency_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    char code[CODE_MAX + 1];
    const char *given = json_string_value(json_object_get(args, "code"));
    const char *name = json_string_value(json_object_get(args, "name"));
    if (!s_code(given, code))
        return hy_fail(ctx, 422, "invalid_agency_code", "code",
                       "an agency code is one word of at most %d bytes", CODE_MAX);
    char *name_key = hy_fa_key(name ? name : "");
    json_t *agency = NULL, *same = NULL;
    int status = 0, rc = s_find(ctx, code, &agency);
    if (!name_key || !*name_key) {
        status = hy_fail(ctx, 422, "invalid_name", "name", "the agency's name is empty");
        goto done;
    }
    if (rc == 0) {
        status = hy_fail(ctx, 409, "duplicate_agency", "code", "the agency %s exists already",
                         code);
        goto done;
    }
    if (rc != MDB_NOTFOUND) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    if ((status = s_same_name(ctx, name_key, &same)) != 0)
        goto done;
    if (same) {
        status = hy_fail(ctx, 409, "duplicate_agency", "name",
                         "the agency %s has this name already",
                         json_string_value(json_object_get(same, "code")));
        hy_fail_extra(ctx, "existing_code", json_incref(json_object_get(same, "code")));
        goto done;
    }
    agency = json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", name, "name_key", name_key,
                       "created_at", ctx->now_iso);
    if ((rc = hy_store_put_json(ctx->txn, registry_state(ctx)->agencies, code, strlen(code),
                                agency)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    if ((status = registry_emit(ctx, "registry.agency.created", code, agency)) == 0)
        *out = json_incref(agency);
done:
    free(name_key);
    json_decref(agency);
    json_decref(same);
    return status;
}
