/*
 * projection.c — what the networks service knows of the registry, kept from its events.
 *
 * A lead must be a registered person who owns the registered business named with them, and a
 * member must be a registered person. The registry owns those records. Persons are the shared
 * person projection's (persons.h); what only networks needs is kept beside it, in our own store,
 * in the same transaction as the registry cursor (so a replay changes nothing):
 *   "p:"<person number>   -> {"job": true when a job_created activity names them}
 *   "b:"<business number> -> {"owner_id": "prs_..."}
 * A person or business not seen yet parks the request (hy_park) until we have caught up with
 * the registry, so one the registry has acknowledged is never refused here, and a stalled
 * registry delays no request about someone we know. Nothing here waits on the registry.
 */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "networks.h"
#include "persons.h"

/* Reads a projection record; *rec NULL when absent. */
static int s_get(hy_ctx_t *ctx, char tag, uint64_t n, json_t **rec)
{
    uint8_t key[18];
    *rec = NULL;
    int rc = hy_store_get_json(ctx->txn, networks_state(ctx)->registry, key,
                               networks_key_num(tag, n, 0, false, key), rec);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Writes a projection record. */
static int s_put(hy_ctx_t *ctx, char tag, uint64_t n, const json_t *rec)
{
    uint8_t key[18];
    return hy_store_put_json(ctx->txn, networks_state(ctx)->registry, key,
                             networks_key_num(tag, n, 0, false, key), rec);
}

/* Merges the members of patch (borrowed) into the projection record of tag/n (created when
 * absent). */
static int s_merge(hy_ctx_t *ctx, char tag, uint64_t n, json_t *patch)
{
    json_t *rec = NULL;
    int rc = s_get(ctx, tag, n, &rec);
    if (rc)
        return rc;
    if (!rec && !(rec = json_object()))
        return ENOMEM;
    json_object_update(rec, patch);
    rc = s_put(ctx, tag, n, rec);
    json_decref(rec);
    return rc;
}

/* A business created or updated: remember its owner (it never changes in the registry). */
static int s_business(hy_ctx_t *ctx, const json_t *business)
{
    uint64_t n;
    const char *id = hy_json_str(business, "id");
    const char *owner = hy_json_str(business, "owner_id");
    if (!id || !owner || hy_id_parse("bus", id, &n) != 0)
        return 0;
    json_t *patch = json_pack("{s:s}", "owner_id", owner);
    int rc = patch ? s_merge(ctx, 'b', n, patch) : ENOMEM;
    json_decref(patch);
    return rc;
}

/* A job_created activity: each participant has had a job recorded by the programme. */
static int s_activity(hy_ctx_t *ctx, const json_t *activity)
{
    const char *kind = hy_json_str(activity, "kind");
    if (!kind || strcmp(kind, "job_created") != 0)
        return 0;
    json_t *patch = json_pack("{s:b}", "job", 1);
    if (!patch)
        return ENOMEM;
    int rc = 0;
    size_t i;
    json_t *pid;
    json_array_foreach(json_object_get(activity, "person_ids"), i, pid) {
        uint64_t n;
        if (hy_id_parse("prs", json_string_value(pid), &n) == 0 &&
            (rc = s_merge(ctx, 'p', n, patch)) != 0)
            break;
    }
    json_decref(patch);
    return rc;
}

/* registry.person.merged: a job the programme recorded for the retired id is the survivor's,
 * and so are her memberships (merge.c). */
static int s_merged(hy_ctx_t *ctx, const json_t *data)
{
    uint64_t from, into;
    json_t *rec = NULL;
    if (hy_id_parse("prs", hy_json_str(data, "id"), &from) != 0 ||
        hy_id_parse("prs", hy_json_str(data, "into"), &into) != 0)
        return 0;
    int rc = s_get(ctx, 'p', from, &rec);
    if (rc == 0 && rec && hy_json_true(rec, "job"))
        rc = s_merge(ctx, 'p', into, rec);
    json_decref(rec);
    return rc ? rc : networks_merge_apply(ctx, data);
}

int networks_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    if (strcmp(source, "registry") != 0)
        return 0;
    int rc = hy_persons_apply(&networks_state(ctx)->persons, ctx->txn, source, event);
    if (rc != 0)
        return rc;
    const char *type = hy_json_str(event, "type");
    json_t *data = json_object_get(event, "data");
    if (!type || !json_is_object(data))
        return 0;
    if (strcmp(type, "registry.business.created") == 0)
        return s_business(ctx, data);
    if (strcmp(type, "registry.business.updated") == 0)
        return s_business(ctx, json_object_get(data, "business"));
    if (strcmp(type, "registry.activity.recorded") == 0)
        return s_activity(ctx, data);
    if (strcmp(type, "registry.person.merged") == 0)
        return s_merged(ctx, data);
    return 0;
}

int networks_reset(void *state, MDB_txn *txn)
{
    networks_t *st = state;
    int rc = mdb_drop(txn, st->registry, 0);
    return rc ? rc : hy_persons_reset(&st->persons, txn);
}

int networks_person(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                    json_t **person)
{
    json_t *rec = NULL, *extra = NULL;
    uint64_t num = 0;
    int status = hy_persons_require(&networks_state(ctx)->persons, ctx, id, field, &rec);
    if (status)
        return status;
    const char *merged = hy_json_str(rec, "merged_into");
    if (merged) {   /* the registry merged her into another record: name the survivor */
        status = hy_fail(ctx, 422, "person_merged", field, "%s was merged into %s", id, merged);
        hy_fail_extra(ctx, "merged_into", json_string(merged));
        json_decref(rec);
        return status;
    }
    hy_id_parse("prs", id, &num);
    int rc = s_get(ctx, 'p', num, &extra);
    if (rc) {
        json_decref(rec);
        return hy_fail_mdb(ctx, rc);
    }
    json_object_set_new(rec, "job", json_boolean(hy_json_true(extra, "job")));
    json_decref(extra);
    if (n)
        *n = num;
    if (person)
        *person = rec;
    else
        json_decref(rec);
    return 0;
}

int networks_business(hy_ctx_t *ctx, const char *id, const char *field, json_t **owner_id)
{
    json_t *rec = NULL;
    uint64_t num;
    int rc = 0;
    if (id && hy_id_parse("bus", id, &num) == 0 && (rc = s_get(ctx, 'b', num, &rec)) != 0)
        return hy_fail_mdb(ctx, rc);
    if (!rec) {
        int parked = id && hy_id_parse("bus", id, &num) == 0 ? hy_park(ctx, "registry") : 0;
        if (parked)
            return parked;
        return hy_fail(ctx, 422, "unknown_business", field,
                       "no registered business has the id %s", id ? id : "");
    }
    *owner_id = json_incref(json_object_get(rec, "owner_id"));
    json_decref(rec);
    return 0;
}
