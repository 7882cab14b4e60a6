/*
 * lifecycle.c — what happens to a beneficiary's record after registration: her status, a move
 * to another office, the merge of two records of one woman, and the correction of a wrong
 * national ID.
 *
 * - Status: active, exited (with a reason), deceased; duplicate_of is set only by a merge.
 * - Transfer: the person's office changes on a date (registry.person.transferred), so reports
 *   count her in the old office up to that date and in the new one after; her neighbourhood must
 *   be one the new office covers. The sending office (or the province) makes the transfer.
 * - Merge (OpenSPP's deduplication, DHIS2's tracked entity merge): POST /v1/persons/{id}/merge
 *   {into} retires {id} (status duplicate_of, merged_into) and keeps {into}. The registry re-points
 *   its own references (business owners, activity participants) and publishes
 *   registry.person.merged so every follower re-points its own. A GET of the retired id still
 *   answers 200 with merged_into: a 301 would be followed silently by most HTTP clients, and an
 *   integrator must notice that the id it holds is retired, so the record says so instead.
 * - National ID: immutable through PATCH; an operator corrects a wrong one that passed the check
 *   digit, with a reason that the event and the audit keep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fa.h"
#include "happened.h"
#include "page.h"
#include "registry.h"
#include "scope.h"

static int s_date(hy_ctx_t *ctx, const char *date, const char **out)
{
    *out = date ? date : ctx->today;
    return hy_happened_check(ctx, "date", date);
}

int registry_person_set_status(hy_ctx_t *ctx, const char *id, const json_t *args, json_t **out)
{
    json_t *old = NULL, *person = NULL;
    uint64_t n;
    const char *status_v = json_string_value(json_object_get(args, "status"));
    const char *reason = json_string_value(json_object_get(args, "reason"));
    const char *date;
    int status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    if ((status = s_date(ctx, json_string_value(json_object_get(args, "date")), &date)) != 0)
        goto fail;
    if (strcmp(status_v, "exited") == 0 && (!reason || !*reason)) {
        status = hy_fail(ctx, 422, "missing_reason", "reason",
                         "an exit from the programme needs its reason");
        goto fail;
    }
    person = json_deep_copy(old);
    json_object_set_new(person, "status", json_string(status_v));
    registry_set_or_clear(person, "status_reason",
                          reason && *reason ? json_string(reason) : json_null());
    json_object_set_new(person, "status_date", json_string(date));
    hy_spec_set_jalali(person, "status_date");
    if ((status = registry_person_put(ctx, n, old, person)) != 0)
        goto fail;
    json_t *data = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "status", status_v, "reason",
                             reason ? reason : "", "date", date);
    status = registry_emit(ctx, "registry.person.status_changed", id, data);
    json_decref(data);
    if (status)
        goto fail;
    json_decref(old);
    *out = person;
    return 0;
fail:
    json_decref(old);
    json_decref(person);
    return status;
}

int registry_person_transfer(hy_ctx_t *ctx, const char *id, const json_t *args, json_t **out)
{
    json_t *old = NULL, *person = NULL, *office = NULL;
    uint64_t n;
    const char *date;
    int status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    if ((status = s_date(ctx, json_string_value(json_object_get(args, "date")), &date)) != 0 ||
        (status = registry_office_resolve(
             ctx, "office", json_string_value(json_object_get(args, "office")), &office)) != 0)
        goto fail;
    const char *from = json_string_value(json_object_get(old, "office"));
    const char *to = registry_code(office);
    if (hy_scope_same(from, to)) {
        status = hy_fail(ctx, 422, "same_office", "office", "the person is in office %s already",
                         to);
        goto fail;
    }
    person = json_deep_copy(old);
    json_object_set_new(person, "office", json_string(to));
    json_t *hood = json_object_get(args, "neighbourhood");
    if (hood)
        json_object_set(person, "neighbourhood", hood);
    if ((status = registry_person_check_hood(ctx, person, office)) != 0)
        goto fail;
    json_t *entry = json_pack("{s:s,s:s,s:s}", "from", from ? from : "", "to", to, "date", date);
    hy_spec_set_jalali(entry, "date");
    json_t *history = json_object_get(person, "transfers");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(person, "transfers", history);
    }
    json_array_append_new(history, entry);
    if ((status = registry_person_put(ctx, n, old, person)) != 0)
        goto fail;
    json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:O}", "id", id, "from_office", from ? from : "",
                             "to_office", to, "date", date, "person", person);
    status = registry_emit(ctx, "registry.person.transferred", id, data);
    json_decref(data);
    if (status)
        goto fail;
    json_decref(old);
    json_decref(office);
    *out = person;
    return 0;
fail:
    json_decref(old);
    json_decref(person);
    json_decref(office);
    return status;
}

/* --------------------------------------------------------------------------- merge -------- */

typedef struct {
    uint64_t *ids;
    size_t count, cap;
} s_ids_t;

static int s_collect(MDB_txn *txn, uint64_t id, void *user)
{
    (void)txn;
    s_ids_t *l = user;
    int rc = hy_array_grow(&l->ids, &l->cap, l->count, sizeof *l->ids, 16);
    if (rc)
        return rc;
    l->ids[l->count++] = id;
    return 1;
}

/* Every record number under one index key. Returns 0 or an LMDB error. */
static int s_ids_under(hy_ctx_t *ctx, MDB_dbi idx, const void *key, size_t klen, s_ids_t *out)
{
    uint64_t after = 0, next;
    int rc;
    do {
        rc = hy_store_page(ctx->txn, idx, key, klen, after, 500, s_collect, out, &next);
        after = next;
    } while (rc == 0 && next);
    return rc;
}

/* Replaces the id `from` by `into` in an array of ids, dropping a repeat. */
static void s_repoint(json_t *ids, const char *from, const char *into)
{
    bool has_into = false;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) has_into = has_into || strcmp(json_string_value(v), into) == 0;
    for (i = 0; i < json_array_size(ids); i++) {
        if (strcmp(json_string_value(json_array_get(ids, i)), from) != 0)
            continue;
        if (has_into)
            json_array_remove(ids, i--);
        else
            json_array_set_new(ids, i, json_string(into));
        has_into = true;
    }
}

/* The registry's own references to the retired person follow the merge: business owners and
 * activity participants (records and index entries). No event per record: followers apply
 * registry.person.merged the same way. */
static int s_repoint_all(hy_ctx_t *ctx, uint64_t from_n, const char *from, const char *into)
{
    registry_t *st = registry_state(ctx);
    uint8_t key[10];
    size_t klen = registry_key_num('p', from_n, key);
    s_ids_t bus = {0}, act = {0};
    int rc = s_ids_under(ctx, st->business_idx, key, klen, &bus);
    if (rc == 0)
        rc = s_ids_under(ctx, st->activity_idx, key, klen, &act);
    for (size_t i = 0; rc == 0 && i < bus.count; i++) {
        json_t *b = NULL;
        uint64_t into_n;
        if ((rc = hy_store_get_id(ctx->txn, st->businesses, bus.ids[i], &b)) != 0)
            break;
        json_object_set_new(b, "owner_id", json_string(into));
        if ((rc = hy_index_del(ctx->txn, st->business_idx, key, klen, bus.ids[i])) == 0 &&
            hy_id_parse("prs", into, &into_n) == 0) {
            uint8_t ikey[10];
            rc = hy_index_put(ctx->txn, st->business_idx, ikey, registry_key_num('p', into_n, ikey),
                              bus.ids[i]);
        }
        if (rc == 0)
            rc = hy_store_put_id(ctx->txn, st->businesses, bus.ids[i], b);
        json_decref(b);
    }
    for (size_t i = 0; rc == 0 && i < act.count; i++) {
        json_t *a = NULL;
        if ((rc = hy_store_get_id(ctx->txn, st->activities, act.ids[i], &a)) != 0)
            break;
        if ((rc = registry_activity_index(ctx, act.ids[i], a, false)) == 0) {
            s_repoint(json_object_get(a, "person_ids"), from, into);
            rc = registry_activity_index(ctx, act.ids[i], a, true);
        }
        if (rc == 0)
            rc = hy_store_put_id(ctx->txn, st->activities, act.ids[i], a);
        json_decref(a);
    }
    free(bus.ids);
    free(act.ids);
    return rc;
}

int registry_person_merge(hy_ctx_t *ctx, const char *id, const char *into, json_t **out)
{
    json_t *old = NULL, *keep_old = NULL, *retired = NULL, *keep = NULL;
    uint64_t n, into_n;
    int rc, status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    if ((status = registry_person_load_for_write(ctx, into, &into_n, &keep_old)) != 0)
        goto fail;
    if (n == into_n) {
        status = hy_fail(ctx, 422, "merge_into_self", "into", "a person cannot be merged into "
                                                              "herself");
        goto fail;
    }
    const char *survivor = json_string_value(json_object_get(keep_old, "id"));
    const char *gone = json_string_value(json_object_get(old, "id"));
    retired = json_deep_copy(old);
    json_object_set_new(retired, "status", json_string("duplicate_of"));
    json_object_set_new(retired, "duplicate_of", json_string(survivor));
    json_object_set_new(retired, "merged_into", json_string(survivor));
    json_object_set_new(retired, "status_date", json_string(ctx->today));
    hy_spec_set_jalali(retired, "status_date");
    /* The survivor keeps every referral of both records and remembers whom she absorbed. */
    keep = json_deep_copy(keep_old);
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(old, "referrals"), i, ref)
        json_array_append(json_object_get(keep, "referrals"), ref);
    json_t *from = json_object_get(keep, "merged_from");
    if (!json_is_array(from)) {
        from = json_array();
        json_object_set_new(keep, "merged_from", from);
    }
    json_array_append_new(from, json_string(gone));
    if ((status = registry_person_put(ctx, n, old, retired)) != 0 ||
        (status = registry_person_put(ctx, into_n, keep_old, keep)) != 0)
        goto fail;
    if ((rc = s_repoint_all(ctx, n, gone, survivor)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = registry_household_merge(ctx, n, gone, into_n, survivor)) != 0)
        goto fail;
    json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", gone, "status", "duplicate_of",
                             "reason", "merged", "date", ctx->today, "duplicate_of", survivor);
    status = registry_emit(ctx, "registry.person.status_changed", gone, data);
    json_decref(data);
    data = json_pack("{s:s,s:s,s:s}", "id", gone, "into", survivor, "date", ctx->today);
    if (status == 0)
        status = registry_emit(ctx, "registry.person.merged", gone, data);
    json_decref(data);
    if (status)
        goto fail;
    json_decref(old);
    json_decref(keep_old);
    json_decref(keep);
    *out = retired;
    return 0;
fail:
    json_decref(old);
    json_decref(keep_old);
    json_decref(retired);
    json_decref(keep);
    return status;
}

int registry_person_correct_nid(hy_ctx_t *ctx, const char *id, const char *text,
                                const char *reason, json_t **out)
{
    json_t *old = NULL, *person = NULL, *changes = NULL;
    uint64_t n, other;
    char nid[11], key[16];
    int rc, status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    if (hy_national_id_normalize(text, nid) != 0) {
        status = hy_fail(ctx, 422, "invalid_national_id", "national_id",
                         "a national ID has 10 digits and a matching check digit");
        goto fail;
    }
    size_t klen = registry_key_text('i', nid, key, sizeof key);
    if ((rc = registry_nid_owner(ctx, key, klen, &other)) == 0) {
        char existing[32];
        hy_id_format("prs", other, existing, sizeof existing);
        status = hy_fail(ctx, 409, "duplicate_national_id", "national_id",
                         "this national ID is registered as %s (merge the two records instead)",
                         existing);
        hy_fail_extra(ctx, "existing_id", json_string(existing));
        goto fail;
    }
    if (rc != MDB_NOTFOUND) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    person = json_deep_copy(old);
    json_object_set_new(person, "national_id", json_string(nid));
    changes = json_object();
    registry_diff(changes, old, person, "national_id");
    if ((status = registry_person_save(ctx, n, old, person, changes, reason)) != 0)
        goto fail;
    json_decref(old);
    json_decref(changes);
    *out = person;
    return 0;
fail:
    json_decref(old);
    json_decref(person);
    json_decref(changes);
    return status;
}
