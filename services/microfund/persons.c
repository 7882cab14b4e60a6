/*
 * persons.c — the micro-fund's projection of the registry's persons.
 *
 * Members, guarantors, facilitators and trainees must be registered persons. The registry owns
 * them; we follow its events (registry.person.registered / .updated, whose data is the person or
 * {id, changes, person}) and keep only what a fund needs: that the person exists, and her
 * office, neighbourhood and sex for the record. Before refusing a person as unknown we catch up
 * with the registry inside the request's transaction, so a person the registry acknowledged a
 * moment ago is never refused.
 */
#include <errno.h>
#include <string.h>

#include "microfund.h"

/* Keeps the few fields a fund needs of one person record. */
static int s_put_person(hy_ctx_t *ctx, const json_t *person)
{
    const char *id = json_string_value(json_object_get(person, "id"));
    uint64_t n;
    if (!id || hy_id_parse("prs", id, &n) != 0)
        return 0;   /* not a person record: nothing to keep */
    json_t *rec = json_pack("{s:s}", "id", id);
    if (!rec)
        return ENOMEM;
    static const char *const keep[] = {"office", "neighbourhood", "sex", NULL};
    for (const char *const *k = keep; *k; k++) {
        json_t *v = json_object_get(person, *k);
        if (json_is_string(v))
            json_object_set(rec, *k, v);
    }
    int rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->persons, n, rec);
    json_decref(rec);
    return rc;
}

/* Applies one registry event; other sources and event types change nothing. */
int microfund_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    if (strcmp(source, "registry") != 0)
        return 0;
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *data = json_object_get(event, "data");
    if (!type)
        return 0;
    if (strcmp(type, "registry.person.registered") == 0)
        return s_put_person(ctx, data);
    if (strcmp(type, "registry.person.updated") == 0)
        return s_put_person(ctx, json_object_get(data, "person"));
    return 0;
}

/* --rebuild: forget every person; the registry's events are replayed from the first. */
int microfund_reset(void *state, MDB_txn *txn)
{
    return mdb_drop(txn, ((microfund_t *)state)->persons, 0);
}

/* 0 when known, MDB_NOTFOUND when not (also for a malformed id), or another LMDB error. */
static int s_known(hy_ctx_t *ctx, const char *person_id)
{
    uint64_t n;
    if (!person_id || hy_id_parse("prs", person_id, &n) != 0)
        return MDB_NOTFOUND;
    MDB_val k, v;
    uint8_t key[8];
    hy_key_u64(n, key);
    k.mv_size = sizeof key;
    k.mv_data = key;
    return mdb_get(ctx->txn, microfund_state(ctx)->persons, &k, &v);
}

int microfund_person_require(hy_ctx_t *ctx, const char *person_id, const char *field)
{
    int rc = s_known(ctx, person_id);
    if (rc == MDB_NOTFOUND) {
        int sync = hy_follow_sync(ctx, "registry");
        if (sync == -1)
            return hy_fail(ctx, 503, "dependency_unavailable", field,
                           "the registry did not answer; cannot check %s", person_id);
        if (sync != 0)
            return hy_fail_mdb(ctx, sync);
        rc = s_known(ctx, person_id);
    }
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_person", field, "%s is not a registered person",
                       person_id ? person_id : "");
    return rc ? hy_fail_mdb(ctx, rc) : 0;
}
