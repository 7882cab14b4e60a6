/*
 * merge.c — enrolments follow the registry's person changes: a merge of two persons
 * (registry.person.merged {id, into, date}) and a transfer to another office
 * (registry.person.transferred {id, from_office, to_office, date, person}).
 *
 * A transfer moves every enrolment of the person to her new office (the enrolment's office is
 * the person's): the new office manages it from then on, the old one gets 403 other_office, and
 * insurance.enrolment.transferred {from_office, date} tells the fund and reporting.
 *
 * Two records of one woman become one in the registry; every enrolment of the retired id then
 * belongs to the survivor: its person_id changes, its index entries move, and the fund hears
 * insurance.enrolment.person_merged with the survivor's national ID and names (merged_from:
 * the retired id). The survivor may then hold two active enrolments (neither cancelled nor
 * refused), which the rule of one enrolment per person forbids. openIMIS keeps one policy per
 * insuree and resolves duplicates by keeping the policy that is in force, so here the most
 * advanced one stays (confirmed or suspended, then submitted, approved, requested; of two
 * alike, the older) and each other one is cancelled with the reason "persons merged: <kept id>
 * kept" (insurance.enrolment.cancelled; its contributions stay recorded on it, readable). The
 * whole merge is applied in the follow transaction that advances the registry cursor, so it
 * happens once, and its events are in the outbox with it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "insurance.h"
#include "json.h"
#include "page.h"

/* An LMDB-style code for the follow loop from a failed domain call. */
static int s_rc(hy_ctx_t *ctx)
{
    return ctx->mdb_rc ? ctx->mdb_rc : ENOMEM;
}

/* Every enrolment of person (keep: hy_page_json filter, NULL = all), in id order. */
static int s_of_person(hy_ctx_t *ctx, const char *person_id, hy_keep_fn keep,
                       json_t **items)
{
    insurance_t *st = insurance_state(ctx);
    char key[INSURANCE_KEY_MAX];
    uint64_t person, next;
    *items = NULL;
    if (hy_id_parse("prs", person_id, &person) != 0)
        return (*items = json_array()) ? 0 : ENOMEM;
    size_t klen = insurance_index_key('p', NULL, person, key, sizeof key);
    return hy_page_json(ctx->txn, st->enrolments, &st->enrolment_idx, key, klen, 0, INT_MAX, keep,
                        NULL, items, &next);
}

static bool s_active(const json_t *rec, void *user)
{
    (void)user;
    const char *status = hy_json_str(rec, "status");
    return status && strcmp(status, INS_CANCELLED) != 0 && strcmp(status, INS_REFUSED) != 0;
}

/* How far an active enrolment has gone: the one to keep is the highest (insured, confirmed or
 * suspended, above submitted, approved, requested). */
static int s_rank(const json_t *rec)
{
    static const struct {
        const char *status;
        int rank;
    } ranks[] = {{INS_REQUESTED, 1}, {INS_APPROVED, 2}, {INS_SUBMITTED, 3}, {INS_SUSPENDED, 4},
                 {INS_CONFIRMED, 4}};
    const char *status = hy_json_str(rec, "status");
    for (size_t i = 0; status && i < sizeof ranks / sizeof ranks[0]; i++)
        if (strcmp(status, ranks[i].status) == 0)
            return ranks[i].rank;
    return 0;
}

/* Re-points one enrolment (old: its stored version) from `from` to `into`. */
static int s_repoint(hy_ctx_t *ctx, const json_t *old, const char *from, const char *into)
{
    uint64_t n;
    json_t *rec = json_deep_copy(old);
    json_t *extra = json_pack("{s:s,s:s}", "merged_from", from, "person_id", into);
    int rc = rec && extra ? 0 : ENOMEM;
    if (rc == 0 && hy_id_parse("enr", hy_json_str(old, "id"), &n) != 0)
        rc = MDB_CORRUPTED;
    if (rc == 0) {
        json_object_set_new(rec, "person_id", json_string(into));
        json_t *merged = json_object_get(rec, "merged_from");
        if (!json_is_array(merged))
            json_object_set_new(rec, "merged_from", merged = json_array());
        json_array_append_new(merged, json_string(from));
        if (insurance_save(ctx, n, old, rec, "person_merged", extra) != 0)
            rc = s_rc(ctx);
    }
    json_decref(rec);
    json_decref(extra);
    return rc;
}

/* Of into's active enrolments, keeps the most advanced and cancels the others. */
static int s_resolve(hy_ctx_t *ctx, const char *into)
{
    json_t *active = NULL;
    int rc = s_of_person(ctx, into, s_active, &active);
    size_t i, best = 0;
    json_t *rec;
    if (rc || json_array_size(active) < 2) {
        json_decref(active);
        return rc;
    }
    json_array_foreach(active, i, rec)
        if (s_rank(rec) > s_rank(json_array_get(active, best)))
            best = i;   /* ties keep the older: the list is in id order */
    char reason[128];
    snprintf(reason, sizeof reason, "persons merged: %s kept",
             hy_json_str(json_array_get(active, best), "id"));
    json_array_foreach(active, i, rec) {
        uint64_t n;
        if (i == best)
            continue;
        json_t *moved = json_deep_copy(rec);
        if (!moved || hy_id_parse("enr", hy_json_str(rec, "id"), &n) != 0) {
            json_decref(moved);
            rc = moved ? MDB_CORRUPTED : ENOMEM;
            break;
        }
        insurance_set_status(ctx, moved, INS_CANCELLED, reason);
        if (insurance_save(ctx, n, rec, moved, "cancelled", NULL) != 0)
            rc = s_rc(ctx);
        json_decref(moved);
        if (rc)
            break;
    }
    json_decref(active);
    return rc;
}

int insurance_merge_apply(hy_ctx_t *ctx, const json_t *data)
{
    const char *from = hy_json_str(data, "id"), *into = hy_json_str(data, "into");
    if (!from || !into || strcmp(from, into) == 0)
        return 0;
    json_t *items = NULL, *rec;
    size_t i;
    int rc = s_of_person(ctx, from, NULL, &items);
    json_array_foreach(items, i, rec)
        if (rc == 0)
            rc = s_repoint(ctx, rec, from, into);
    json_decref(items);
    return rc ? rc : s_resolve(ctx, into);
}

int insurance_transfer_apply(hy_ctx_t *ctx, const json_t *data)
{
    const char *id = hy_json_str(data, "id"), *to = hy_json_str(data, "to_office");
    if (!id || !to || !*to)
        return 0;
    json_t *items = NULL, *old;
    size_t i;
    int rc = s_of_person(ctx, id, NULL, &items);
    json_array_foreach(items, i, old) {
        uint64_t n;
        const char *had = hy_json_str(old, "office");
        if (rc || (had && strcmp(had, to) == 0))
            continue;
        json_t *rec = json_deep_copy(old);
        json_t *extra = json_pack("{s:s,s:O}", "from_office", had ? had : "", "date",
                                  json_object_get(data, "date"));
        rc = rec && extra ? 0 : ENOMEM;
        if (rc == 0 && hy_id_parse("enr", hy_json_str(old, "id"), &n) != 0)
            rc = MDB_CORRUPTED;
        if (rc == 0) {
            json_object_set_new(rec, "office", json_string(to));   /* the projection agrees */
            if (insurance_save(ctx, n, old, rec, "transferred", extra) != 0)
                rc = s_rc(ctx);
        }
        json_decref(rec);
        json_decref(extra);
    }
    json_decref(items);
    return rc;
}
