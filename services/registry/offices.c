/*
 * offices.c — the facilitation offices as data: code, Persian name, province, city and the
 * neighbourhoods each covers.
 *
 * An office is keyed by its code in normalised form (hy_fa_normalize: "REY-1" and "rey-1" are one
 * office), and every record written in the registry names an office that exists (422
 * unknown_office) in that canonical form, so reports group by one spelling. Neighbourhoods are
 * kept twice: "neighbourhoods" holds their grouping keys (hy_fa_key: "دولت‌آباد", "دولت آباد" and
 * "دولتآباد" are one), "neighbourhood_names" the same list as first written, for display (a
 * PATCH keeps a known neighbourhood's first spelling). A person's neighbourhood must be one her
 * office covers (422 neighbourhood_not_in_office) and is stored in the office's spelling. Operators create and change offices (DHIS2's organisation units
 * are the model, flattened to the one level the programme uses); every change is an event so
 * followers can keep their own copy.
 */
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "page.h"
#include "registry.h"

#define CODE_MAX 64

/* The canonical code into out; false when it is empty, not UTF-8, has white space inside or is
 * too long. */
static bool s_code(const char *text, char out[CODE_MAX + 1])
{
    char *norm = text ? hy_fa_normalize(text) : NULL;
    bool ok = norm && *norm && strlen(norm) <= CODE_MAX && !strchr(norm, ' ') &&
              strcmp(norm, "*") != 0 && strcmp(norm, "-") != 0;
    if (ok)
        memcpy(out, norm, strlen(norm) + 1);
    free(norm);
    return ok;
}

int registry_office_find(hy_ctx_t *ctx, const char *code, json_t **office)
{
    registry_t *st = registry_state(ctx);
    if (st->office_memo && code && strcmp(code, st->office_memo_code) == 0) {
        *office = json_incref(st->office_memo);   /* an import step's office: read once */
        return 0;
    }
    char key[CODE_MAX + 1];
    if (!s_code(code, key))
        return MDB_NOTFOUND;
    return hy_store_get_json(ctx->txn, registry_state(ctx)->offices, key, strlen(key), office);
}

/* registry_office_find for a caller that only reads the record (every caller of resolve): on
 * the writer, the record decoded last is handed out again (shared) while the stored bytes are
 * the same as those it was decoded from. The bytes are compared every time, so an office
 * written since, a batch rolled back or another office never gets a stale record, and a
 * registration no longer decodes its office's record (its neighbourhoods) each time. */
static int s_find_shared(hy_ctx_t *ctx, const char *code, json_t **office)
{
    registry_t *st = registry_state(ctx);
    char key[CODE_MAX + 1];
    if (ctx->read || st->office_memo)
        return registry_office_find(ctx, code, office);
    if (!s_code(code, key))
        return MDB_NOTFOUND;
    MDB_val k = {strlen(key), key}, v;
    int rc = mdb_get(ctx->txn, st->offices, &k, &v);
    if (rc)
        return rc;
    if (st->office_seen && st->office_seen_len == v.mv_size &&
        memcmp(st->office_seen_text, v.mv_data, v.mv_size) == 0) {
        *office = json_incref(st->office_seen);
        return 0;
    }
    json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    if (!rec)
        return MDB_CORRUPTED;
    char *text = malloc(v.mv_size ? v.mv_size : 1);
    if (text) {   /* without it, the next call decodes again */
        memcpy(text, v.mv_data, v.mv_size);
        free(st->office_seen_text);
        json_decref(st->office_seen);
        st->office_seen_text = text;
        st->office_seen_len = v.mv_size;
        st->office_seen = json_incref(rec);
    }
    *office = rec;
    return 0;
}

int registry_office_resolve(hy_ctx_t *ctx, const char *field, const char *code, json_t **office)
{
    json_t *rec = NULL;
    int rc = s_find_shared(ctx, code, &rec);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_office", field,
                       "no office has the code %s (offices are created with POST /v1/offices)",
                       code ? code : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (office)
        *office = rec;
    else
        json_decref(rec);
    return 0;
}

/* The position of the neighbourhood in the office's list, or -1. */
static int s_hood_at(const json_t *office, const char *hood)
{
    char *want = hy_fa_key(hood ? hood : "");
    json_t *keys = json_object_get(office, "neighbourhoods");
    int at = -1;
    for (size_t i = 0; want && at < 0 && i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        if (k && strcmp(k, want) == 0)
            at = (int)i;
    }
    free(want);
    return at;
}

/* An office written before display names were kept has none: NULL then, as for a
 * neighbourhood it does not cover. */
const char *registry_office_hood_name(const json_t *office, const char *hood)
{
    int at = s_hood_at(office, hood);
    return at < 0 ? NULL
                  : json_string_value(
                        json_array_get(json_object_get(office, "neighbourhood_names"), (size_t)at));
}

bool registry_office_covers(const json_t *office, const char *hood)
{
    return s_hood_at(office, hood) >= 0;
}

/* The neighbourhoods' keys (normalised, without repeats, in the order given) into *keys and
 * their display forms into *names: the spelling before (a key already in before's list keeps
 * its name), else the first given, trimmed. */
static int s_hoods(hy_ctx_t *ctx, const json_t *in, const json_t *before, json_t **keys,
                   json_t **names)
{
    *keys = json_array();
    *names = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(in, i, h) {
        char *norm = hy_fa_key(json_string_value(h));
        if (!norm || !*norm) {
            free(norm);
            json_decref(*keys);
            json_decref(*names);
            return hy_fail(ctx, 422, "invalid_neighbourhood", "neighbourhoods",
                           "neighbourhood %zu is empty", i + 1);
        }
        bool seen = false;
        size_t j;
        json_t *k;
        json_array_foreach(*keys, j, k) seen = seen || strcmp(json_string_value(k), norm) == 0;
        if (!seen) {
            const char *name = before ? registry_office_hood_name(before, norm) : NULL;
            json_array_append_new(*keys, json_string(norm));
            json_array_append_new(*names, json_string(name ? name : json_string_value(h)));
        }
        free(norm);
    }
    return 0;
}

/* Copies the descriptive fields of args onto office (neighbourhoods normalised). */
static int s_apply(hy_ctx_t *ctx, json_t *office, const json_t *args)
{
    static const char *const plain[] = {"name", "province", "city"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(args, plain[i]);
        if (v)
            json_object_set(office, plain[i], v);
    }
    json_t *hoods = json_object_get(args, "neighbourhoods");
    if (hoods) {
        json_t *keys, *names;
        int status = s_hoods(ctx, hoods, office, &keys, &names);
        if (status)
            return status;
        json_object_set_new(office, "neighbourhoods", keys);
        json_object_set_new(office, "neighbourhood_names", names);
    }
    return 0;
}

static int s_save(hy_ctx_t *ctx, const char *code, json_t *office, const char *event)
{
    int rc = hy_store_put_json(ctx->txn, registry_state(ctx)->offices, code, strlen(code), office);
    return rc ? hy_fail_mdb(ctx, rc) : registry_emit(ctx, event, code, office);
}

int registry_office_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    char code[CODE_MAX + 1];
    const char *given = json_string_value(json_object_get(args, "code"));
    if (!s_code(given, code))
        return hy_fail(ctx, 422, "invalid_office_code", "code",
                       "an office code is one word of at most %d bytes, not * or -", CODE_MAX);
    json_t *office = NULL;
    int rc = registry_office_find(ctx, code, &office);
    if (rc == 0) {
        json_decref(office);
        return hy_fail(ctx, 409, "duplicate_office", "code", "the office %s exists already; "
                       "change it with PATCH /v1/offices/%s", code, code);
    }
    if (rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    office = json_pack("{s:s,s:[]}", "code", code, "neighbourhoods");
    int status = s_apply(ctx, office, args);
    if (status == 0) {
        json_object_set_new(office, "created_at", json_string(ctx->now_iso));
        json_object_set_new(office, "updated_at", json_string(ctx->now_iso));
        status = s_save(ctx, code, office, "registry.office.created");
    }
    if (status) {
        json_decref(office);
        return status;
    }
    *out = office;
    return 0;
}

int registry_office_update(hy_ctx_t *ctx, const char *code, json_t *args, json_t **out)
{
    json_t *office = NULL;
    int rc = registry_office_find(ctx, code, &office);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "code", "no office has the code %s", code);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    json_t *before = json_deep_copy(office);
    int status = s_apply(ctx, office, args);
    if (status == 0 && !json_equal(before, office)) {
        json_object_set_new(office, "updated_at", json_string(ctx->now_iso));
        status = s_save(ctx, json_string_value(json_object_get(office, "code")), office,
                        "registry.office.updated");
    }
    json_decref(before);
    if (status) {
        json_decref(office);
        return status;
    }
    *out = office;
    return 0;
}

int registry_office_get(hy_ctx_t *ctx, const char *code, json_t **out)
{
    int rc = registry_office_find(ctx, code, out);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "code", "no office has the code %s", code);
    return hy_mdb_status(ctx, rc);
}

/* Offices are few (tens in a province): the list is one page in code order, filtered by
 * province when asked. */
int registry_office_list(hy_ctx_t *ctx, const char *province, json_t **items)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    json_t *list = json_array();
    char *want = province && *province ? hy_fa_key(province) : NULL;
    int rc = mdb_cursor_open(ctx->txn, registry_state(ctx)->offices, &cur);
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        json_t *office = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (!office) {
            rc = MDB_CORRUPTED;
            break;
        }
        char *have = want ? hy_fa_key(json_string_value(json_object_get(office, "province")))
                          : NULL;
        if (!want || (have && strcmp(have, want) == 0))
            json_array_append(list, office);
        free(have);
        json_decref(office);
    }
    if (cur)
        mdb_cursor_close(cur);
    free(want);
    if (rc != MDB_NOTFOUND) {
        json_decref(list);
        return hy_fail_mdb(ctx, rc);
    }
    *items = list;
    return 0;
}
