/*
 * projection.c — the persons and businesses the insurance service knows, learnt from the
 * registry's events.
 *
 * The registry owns both. Persons are the shared person projection's (persons.h, which marks
 * a merged person's record with "merged_into"); her enrolments follow a merge or a transfer
 * (merge.c). Of a business we keep only what eligibility needs: its owner, field and stage. The
 * skeleton applies each registry event once, in sequence order, with its cursor in the same
 * transaction. A request that names someone we have not seen yet parks (hy_park) until we have
 * caught up with the registry (enrolments.c): what the registry acknowledged is never refused
 * here, and nothing here waits on the registry inside a transaction.
 */
#include <errno.h>
#include <string.h>

#include "insurance.h"
#include "json.h"

/* The fields of a registry business the projection keeps. */
static const char *const BUSINESS_KEYS[] = {"id", "owner_id", "field", "stage", "office", NULL};

/* Loads a projected record by "<prefix>_<n>" id from db. */
static int s_load(hy_ctx_t *ctx, MDB_dbi db, const char *prefix, const char *id, json_t **out)
{
    uint64_t n;
    if (hy_id_parse(prefix, id, &n) != 0)
        return MDB_NOTFOUND;
    return hy_store_get_id(ctx->txn, db, n, out);
}

int insurance_person_load(hy_ctx_t *ctx, const char *id, json_t **out)
{
    return hy_persons_get(&insurance_state(ctx)->persons, ctx->txn, id, out);
}

int insurance_business_load(hy_ctx_t *ctx, const char *id, json_t **out)
{
    return s_load(ctx, insurance_state(ctx)->businesses, "bus", id, out);
}

/* Stores the kept fields of rec (a whole registry record) under its id; a record whose id is
 * not of the expected kind is ignored (nothing we could ever look up). */
static int s_put(hy_ctx_t *ctx, MDB_dbi db, const char *prefix, const char *const *keys,
                 const json_t *rec)
{
    uint64_t n;
    if (!json_is_object(rec) ||
        hy_id_parse(prefix, json_string_value(json_object_get(rec, "id")), &n) != 0)
        return 0;
    json_t *kept = json_object();
    if (!kept)
        return ENOMEM;
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(rec, *k);
        if (v && json_object_set(kept, *k, v) != 0) {
            json_decref(kept);
            return ENOMEM;
        }
    }
    int rc = hy_store_put_id(ctx->txn, db, n, kept);
    json_decref(kept);
    return rc;
}

/* A stage change carries the business's field and stage but not the whole record: merge them
 * into what we have. */
static int s_stage_changed(hy_ctx_t *ctx, const json_t *data)
{
    MDB_dbi db = insurance_state(ctx)->businesses;
    json_t *rec = NULL;
    int rc = insurance_business_load(ctx, json_string_value(json_object_get(data, "id")), &rec);
    if (rc == MDB_NOTFOUND)
        rec = json_pack("{s:O,s:O}", "id", json_object_get(data, "id"), "owner_id",
                        json_object_get(data, "owner_id"));
    else if (rc)
        return rc;
    if (!rec)
        return ENOMEM;
    json_t *field = json_object_get(data, "field"), *stage = json_object_get(data, "to");
    if (field)
        json_object_set(rec, "field", field);
    if (stage)
        json_object_set(rec, "stage", stage);
    rc = s_put(ctx, db, "bus", BUSINESS_KEYS, rec);
    json_decref(rec);
    return rc;
}

int insurance_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    if (strcmp(source, "registry") != 0)
        return 0;
    insurance_t *st = insurance_state(ctx);
    int rc = hy_persons_apply(&st->persons, ctx->txn, source, event);
    if (rc)
        return rc;
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *data = json_object_get(event, "data");
    if (!type || !json_is_object(data))
        return 0;
    if (strcmp(type, "registry.person.merged") == 0)
        return insurance_merge_apply(ctx, data);     /* her enrolments follow the survivor */
    if (strcmp(type, "registry.person.transferred") == 0)
        return insurance_transfer_apply(ctx, data);  /* ...and her new office */
    if (strcmp(type, "registry.business.created") == 0)
        return s_put(ctx, st->businesses, "bus", BUSINESS_KEYS, data);
    if (strcmp(type, "registry.business.updated") == 0)
        return s_put(ctx, st->businesses, "bus", BUSINESS_KEYS, json_object_get(data, "business"));
    if (strcmp(type, "registry.business.stage_changed") == 0)
        return s_stage_changed(ctx, data);
    return 0;   /* activities and anything newer: nothing insurance needs */
}

int insurance_reset(void *state, MDB_txn *txn)
{
    insurance_t *st = state;
    int rc = hy_persons_reset(&st->persons, txn);
    return rc ? rc : mdb_drop(txn, st->businesses, 0);
}

int insurance_migrate_persons(hy_store_t *store, insurance_t *st)
{
    MDB_dbi old;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_stat ostat, nstat;
    MDB_val k, v;
    int rc = hy_store_open_db(store, "insurance.persons", 0, &old);
    if (rc || (rc = mdb_txn_begin(hy_store_env(store), NULL, 0, &txn)) != 0)
        return rc;
    if ((rc = mdb_stat(txn, old, &ostat)) != 0 || (rc = mdb_stat(txn, st->persons.db, &nstat)) != 0)
        goto fail;
    if (ostat.ms_entries == 0 || nstat.ms_entries != 0) {   /* nothing to carry over */
        mdb_txn_abort(txn);
        return 0;
    }
    if ((rc = mdb_cursor_open(txn, old, &cur)) != 0)
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if ((rc = mdb_put(txn, st->persons.db, &k, &v, 0)) != 0)
            break;
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND || (rc = mdb_drop(txn, old, 0)) != 0)
        goto fail;
    return mdb_txn_commit(txn);
fail:
    mdb_txn_abort(txn);
    return rc;
}
