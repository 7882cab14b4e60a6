/*
 * businesses.c — home businesses: owner, activity, field, licence and the stage they have
 * reached.
 *
 * The stage moves along applicant < training < producing < developing < established one step at
 * a time, forward or back (a business that stops producing goes back to training); any jump is
 * refused with 422 invalid_stage_transition. Loans read the stage ("a loan only once the
 * business has reached a development stage"), so every change is kept in stage_history and
 * published as registry.business.stage_changed. The creation is the history's first entry
 * (from null), so the date a stage was reached is always known. Other changes are published as
 * registry.business.updated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "fa.h"
#include "happened.h"
#include "scope.h"
#include "registry.h"

static const char *const STAGES[] = {"applicant", "training", "producing", "developing",
                                     "established"};
#define NSTAGES ((int)(sizeof STAGES / sizeof STAGES[0]))

static int s_stage_rank(const char *stage)
{
    for (int i = 0; stage && i < NSTAGES; i++)
        if (strcmp(stage, STAGES[i]) == 0)
            return i;
    return -1;
}

int registry_business_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **business)
{
    return hy_store_get_by_id(ctx->txn, registry_state(ctx)->businesses, "bus", id, n, business);
}

static int s_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **business)
{
    return hy_load_or_404(ctx, registry_state(ctx)->businesses, "bus", "business", id, n,
                          business);
}

/* The licence as stored: number normalised (digits in ASCII, Latin letters upper case, white
 * space, ZWNJ and the separators - / . _ removed, so "۱۲۳-۴۵۶" is "123456"), issued echoed in
 * Jalali; 422 for an issue date in the future or a number with nothing left. */
static int s_licence(hy_ctx_t *ctx, const json_t *in, json_t **out)
{
    const char *issued = json_string_value(json_object_get(in, "issued"));
    if (issued && strcmp(issued, ctx->today) > 0)
        return hy_fail(ctx, 422, "future_date", "licence.issued",
                       "the licence issue date %s is in the future", issued);
    char *num = hy_fa_normalize(json_string_value(json_object_get(in, "number")));
    size_t o = 0;
    for (size_t i = 0; num && num[i]; i++) {
        char ch = num[i];
        if (ch == ' ' || ch == '-' || ch == '/' || ch == '.' || ch == '_')
            continue;
        num[o++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    if (num)
        num[o] = '\0';
    if (!num || o == 0) {
        free(num);
        return hy_fail(ctx, 422, "invalid_licence_number", "licence.number",
                       "a licence number needs digits or letters");
    }
    *out = json_deep_copy(in);
    json_object_set_new(*out, "number", json_string(num));
    free(num);
    hy_spec_set_jalali(*out, "issued");
    return 0;
}

/* The index key of a licence, "l:<type>:<number>" (its number already normalised); 0 when the
 * record has no licence. */
static size_t s_licence_key(const json_t *licence, char *key, size_t keysz)
{
    const char *type = json_string_value(json_object_get(licence, "type"));
    const char *num = json_string_value(json_object_get(licence, "number"));
    if (!type || !num)
        return 0;
    int len = snprintf(key, keysz, "l:%s:%s", type, num);
    return len > 0 && (size_t)len < keysz ? (size_t)len : 0;
}

/* 0 when no business but self (0 = none) holds the licence's number under its type, else 409
 * duplicate_licence with existing_id. */
static int s_licence_free(hy_ctx_t *ctx, const json_t *licence, uint64_t self)
{
    char key[160], id[32];
    size_t klen = s_licence_key(licence, key, sizeof key);
    uint64_t other;
    int rc = klen ? hy_index_first(ctx->txn, registry_state(ctx)->business_idx, key, klen, &other)
                  : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND || (rc == 0 && other == self))
        return 0;
    if (rc)
        return hy_fail_mdb(ctx, rc);
    hy_id_format("bus", other, id, sizeof id);
    hy_fail(ctx, 409, "duplicate_licence", "licence.number",
            "business %s holds the %s licence number %s", id,
            json_string_value(json_object_get(licence, "type")),
            json_string_value(json_object_get(licence, "number")));
    hy_fail_extra(ctx, "existing_id", json_string(id));
    return -1;
}

/* One entry of stage_history dated date (the day the stage changed, NULL = today); office is
 * the one recording the change: the caller's, else the business's own. */
static json_t *s_stage_entry(hy_ctx_t *ctx, const char *from, const char *to, const char *date,
                             const char *office)
{
    const char *actor_office = hy_scope_office(ctx);
    office = actor_office ? actor_office : office;
    json_t *e = json_pack("{s:o,s:s,s:s}", "from", from ? json_string(from) : json_null(), "to", to,
                          "date", date ? date : ctx->today);
    hy_spec_set_jalali(e, "date");
    json_object_set_new(e, "office", json_string(office ? office : ""));
    json_object_set_new(
        e, "created_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    return e;
}

/* Index entries: owner, field, stage and licence number. */
static int s_index(hy_ctx_t *ctx, uint64_t n, const json_t *business, bool put)
{
    registry_t *st = registry_state(ctx);
    uint64_t owner;
    uint8_t okey[10];
    char key[64];
    int rc = 0;
    if (hy_id_parse("prs", json_string_value(json_object_get(business, "owner_id")), &owner) == 0) {
        size_t klen = registry_key_num('p', owner, okey);
        rc = put ? hy_index_put(ctx->txn, st->business_idx, okey, klen, n)
                 : hy_index_del(ctx->txn, st->business_idx, okey, klen, n);
    }
    static const struct {
        char tag;
        const char *field;
    } plain[] = {{'f', "field"}, {'s', "stage"}};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        size_t klen = registry_key_text(
            plain[i].tag, json_string_value(json_object_get(business, plain[i].field)), key,
            sizeof key);
        if (klen)
            rc = put ? hy_index_put(ctx->txn, st->business_idx, key, klen, n)
                     : hy_index_del(ctx->txn, st->business_idx, key, klen, n);
    }
    char lkey[160];
    size_t lklen = s_licence_key(json_object_get(business, "licence"), lkey, sizeof lkey);
    if (rc == 0 && lklen)
        rc = put ? hy_index_put(ctx->txn, st->business_idx, lkey, lklen, n)
                 : hy_index_del(ctx->txn, st->business_idx, lkey, lklen, n);
    return rc;
}

int registry_business_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    registry_t *st = registry_state(ctx);
    json_t *owner = NULL, *business = NULL, *licence = NULL, *office_rec = NULL;
    const char *owner_id = json_string_value(json_object_get(args, "owner_id"));
    int status = 0, rc = registry_person_load(ctx, owner_id, NULL, &owner);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_person", "owner_id", "no person has the id %s",
                       owner_id ? owner_id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if ((status = hy_scope_write(ctx, "owner_id",
                                 json_string_value(json_object_get(owner, "office")))) != 0 ||
        (status = registry_new_office(ctx, args,
                                      json_string_value(json_object_get(owner, "office")),
                                      &office_rec)) != 0)
        goto fail;
    json_t *lic_in = json_object_get(args, "licence");
    if (lic_in && ((status = s_licence(ctx, lic_in, &licence)) != 0 ||
                   (status = s_licence_free(ctx, licence, 0)) != 0))
        goto fail;
    const char *stage = json_string_value(json_object_get(args, "stage"));
    stage = stage ? stage : "applicant";
    const char *stage_date = json_string_value(json_object_get(args, "stage_date"));
    if ((status = hy_happened_check(ctx, "stage_date", stage_date)) != 0)
        goto fail;
    const char *office = registry_code(office_rec);
    const char *hood = json_string_value(json_object_get(args, "neighbourhood"));
    if (!hood || !*hood)
        hood = json_string_value(json_object_get(owner, "neighbourhood"));

    uint64_t n;
    char id[32];
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "business", &n))) != 0)
        goto fail;
    hy_id_format("bus", n, id, sizeof id);
    business = json_pack("{s:s,s:s,s:O,s:O,s:s}", "id", id, "owner_id", owner_id, "activity",
                         json_object_get(args, "activity"), "field", json_object_get(args, "field"),
                         "stage", stage);
    json_object_set_new(business, "stage_history",
                        json_pack("[o]", s_stage_entry(ctx, NULL, stage, stage_date, office)));
    if (licence)
        json_object_set(business, "licence", licence);
    if (hood && *hood)
        json_object_set_new(business, "neighbourhood", json_string(hood));
    registry_stamp_new(ctx, business, office);
    if ((rc = hy_store_put_id(ctx->txn, st->businesses, n, business)) != 0 ||
        (rc = s_index(ctx, n, business, true)) != 0)
        status = hy_fail_mdb(ctx, rc);
    else if ((status = registry_emit(ctx, "registry.business.created", id, business)) == 0)
        *out = json_incref(business);
fail:
    json_decref(owner);
    json_decref(licence);
    json_decref(business);
    json_decref(office_rec);
    return status;
}

int registry_business_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int status = s_load_or_404(ctx, id, NULL, out);
    if (status == 0 && !hy_scope_reads(ctx, json_string_value(json_object_get(*out, "office")))) {
        status = hy_scope_write(ctx, "id", json_string_value(json_object_get(*out, "office")));
        json_decref(*out);
        *out = NULL;
    }
    return status ? status : 0;
}

/* The date of the last stage change, "" when none is recorded. */
static const char *s_last_stage_date(const json_t *business)
{
    json_t *history = json_object_get(business, "stage_history");
    const char *d = json_string_value(
        json_object_get(json_array_get(history, json_array_size(history) - 1), "date"));
    return d ? d : "";
}

/* Moves business to stage on date (NULL = today), or refuses a jump or a date before the
 * previous change. Records the history entry; *moved says whether the stage changed at all. */
static int s_move_stage(hy_ctx_t *ctx, json_t *business, const char *stage, const char *date,
                        bool *moved)
{
    const char *from = json_string_value(json_object_get(business, "stage"));
    int a = s_stage_rank(from), b = s_stage_rank(stage);
    *moved = a != b;
    if (a == b)
        return 0;
    int status = hy_happened_check(ctx, "stage_date", date);
    if (status)
        return status;
    const char *last = s_last_stage_date(business);
    if (strcmp(date ? date : ctx->today, last) < 0)
        return hy_fail(ctx, 422, "date_out_of_order", "stage_date",
                       "the previous stage change was on %s; a later one cannot be dated %s", last,
                       date ? date : ctx->today);
    if (a >= 0 && abs(a - b) != 1)
        return hy_fail(ctx, 422, "invalid_stage_transition", "stage",
                       "a business at stage %s can move only to %s%s%s, not to %s", from,
                       a > 0 ? STAGES[a - 1] : "", a > 0 && a < NSTAGES - 1 ? " or " : "",
                       a < NSTAGES - 1 ? STAGES[a + 1] : "", stage);
    json_t *history = json_object_get(business, "stage_history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(business, "stage_history", history);
    }
    json_array_append_new(
        history,
        s_stage_entry(ctx, from, stage, date,
                      json_string_value(json_object_get(business, "office"))));
    json_object_set_new(business, "stage", json_string(stage));
    return 0;
}

/* Applies one patched field other than the stage. */
static int s_set_field(hy_ctx_t *ctx, json_t *business, const char *key, json_t *value)
{
    const char *s = json_string_value(value);
    if (strcmp(key, "licence") == 0 && json_is_object(value)) {
        json_t *licence;
        uint64_t self = 0;
        hy_id_parse("bus", json_string_value(json_object_get(business, "id")), &self);
        int status = s_licence(ctx, value, &licence);
        if (status == 0 && (status = s_licence_free(ctx, licence, self)) != 0)
            json_decref(licence);
        if (status)
            return status;
        json_object_set_new(business, key, licence);
    } else if (strcmp(key, "office") == 0) {
        json_t *office = NULL;
        int status = registry_office_resolve(ctx, "office", s, &office);
        if (status == 0)
            status = hy_scope_write(ctx, "office", registry_code(office));
        if (status == 0)
            json_object_set_new(business, key, json_string(registry_code(office)));
        json_decref(office);
        return status;
    } else if (strcmp(key, "activity") == 0 && s && !*s) {
        return hy_fail(ctx, 422, "invalid_field", key, "%s must not be empty", key);
    } else {
        registry_set_or_clear(business, key, s && !*s ? json_null() : json_incref(value));
    }
    return 0;
}

static int s_emit_changes(hy_ctx_t *ctx, const json_t *old, const json_t *business, json_t *changes,
                          bool moved)
{
    const char *id = json_string_value(json_object_get(business, "id"));
    int status = 0;
    if (moved) {
        json_t *data =
            json_pack("{s:s,s:O,s:O,s:O,s:O,s:s}", "id", id, "owner_id",
                      json_object_get(business, "owner_id"), "from", json_object_get(old, "stage"),
                      "to", json_object_get(business, "stage"), "field",
                      json_object_get(business, "field"), "date", s_last_stage_date(business));
        status = registry_emit(ctx, "registry.business.stage_changed", id, data);
        json_decref(data);
    }
    if (status == 0 && json_object_size(changes) > 0) {
        json_t *data =
            json_pack("{s:s,s:O,s:O}", "id", id, "changes", changes, "business", business);
        status = registry_emit(ctx, "registry.business.updated", id, data);
        json_decref(data);
    }
    return status;
}

int registry_business_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    registry_t *st = registry_state(ctx);
    json_t *old = NULL, *business = NULL, *changes = NULL;
    uint64_t n;
    int rc, status = s_load_or_404(ctx, id, &n, &old);
    if (status)
        return status;
    if ((status = hy_scope_write(ctx, "id", json_string_value(json_object_get(old, "office")))) !=
        0)
        goto fail;
    const char *owner_id = json_string_value(json_object_get(args, "owner_id"));
    if (owner_id &&
        !json_equal(json_object_get(args, "owner_id"), json_object_get(old, "owner_id"))) {
        status = hy_fail(ctx, 422, "immutable_field", "owner_id",
                         "the owner of a business cannot change");
        goto fail;
    }
    business = json_deep_copy(old);
    changes = json_object();
    bool moved = false;
    const char *key;
    json_t *value;
    json_object_foreach(args, key, value) {
        if (strcmp(key, "id") == 0 || strcmp(key, "owner_id") == 0 ||
            strcmp(key, "stage_date") == 0)
            continue;
        if (strcmp(key, "stage") == 0)
            status = s_move_stage(ctx, business, json_string_value(value),
                                  json_string_value(json_object_get(args, "stage_date")), &moved);
        else if ((status = s_set_field(ctx, business, key, value)) == 0)
            registry_diff(changes, old, business, key);
        if (status)
            goto fail;
    }
    if (moved || json_object_size(changes) > 0) {
        json_object_set_new(business, "updated_at", json_string(ctx->now_iso));
        if ((rc = s_index(ctx, n, old, false)) != 0 ||
            (rc = s_index(ctx, n, business, true)) != 0 ||
            (rc = hy_store_put_id(ctx->txn, st->businesses, n, business)) != 0) {
            status = hy_fail_mdb(ctx, rc);
            goto fail;
        }
        if ((status = s_emit_changes(ctx, old, business, changes, moved)) != 0)
            goto fail;
    }
    *out = business;
    json_decref(old);
    json_decref(changes);
    return 0;
fail:
    json_decref(old);
    json_decref(business);
    json_decref(changes);
    return status;
}

static bool s_same(const json_t *business, const char *field, const char *want)
{
    const char *have = json_string_value(json_object_get(business, field));
    return !want || !*want || (have && strcmp(want, have) == 0);
}

static bool s_keep(const json_t *business, void *user)
{
    const registry_filter_t *f = user;
    return s_same(business, "owner_id", f->owner_id) && s_same(business, "field", f->field) &&
           s_same(business, "stage", f->stage) &&
           (!f->office || hy_scope_same(f->office,
                                        json_string_value(json_object_get(business, "office"))));
}

/* The owner's index, else the stage's, else the field's, else every business. */
static int s_list(hy_ctx_t *ctx, const registry_filter_t *f, json_t **items, uint64_t *next)
{
    registry_t *st = registry_state(ctx);
    uint8_t okey[10];
    char key[64];
    const void *k = NULL;
    size_t klen = 0;
    if (f->person) {
        klen = registry_key_num('p', f->person, okey);
        k = okey;
    } else if ((f->stage && *f->stage &&
                (klen = registry_key_text('s', f->stage, key, sizeof key))) ||
               (f->field && *f->field &&
                (klen = registry_key_text('f', f->field, key, sizeof key)))) {
        k = key;
    }
    return registry_page(ctx, st->businesses, st->business_idx, k, klen, f->after, f->limit, s_keep,
                         (void *)f, items, next);
}

int registry_business_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_list(ctx, args, "businesses", s_list, result);
}
