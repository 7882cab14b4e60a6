/*
 * persons.c — the registry's persons as the micro-fund knows them: the shared projection
 * (shared/persons.h).
 *
 * Members, guarantors, facilitators and trainees must be registered persons. The registry owns
 * them; we follow its events into the shared projection, in the same transaction as the
 * registry cursor. A request naming a person not seen yet never waits on the registry inside
 * its transaction: it parks (hy_park) until we have caught up with everything the registry had
 * committed when it came, so a person the registry acknowledged a moment ago is never refused,
 * and a stalled registry delays no request about someone we know. At the deadline it is refused
 * 422 unknown_person. Stores from before the shared projection keep their own records
 * ("microfund.persons": person number -> {id, office, neighbourhood, sex}), still read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "microfund.h"

/* Applies one registry event; other sources and event types change nothing. */
int microfund_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    int rc = hy_persons_apply(&microfund_state(ctx)->shared, ctx->txn, source, event);
    const char *type = json_string_value(json_object_get(event, "type"));
    if (rc == 0 && type && strcmp(source, "registry") == 0 &&
        strcmp(type, "registry.person.merged") == 0)
        rc = microfund_person_merged(ctx, json_object_get(event, "data"));
    return rc;
}

/* --rebuild: forget every person; the registry's events are replayed from the first. */
int microfund_reset(void *state, MDB_txn *txn)
{
    microfund_t *st = state;
    int rc = mdb_drop(txn, st->persons, 0);
    return rc ? rc : hy_persons_reset(&st->shared, txn);
}

/* 0 when known, MDB_NOTFOUND when not (also for a malformed id), or another LMDB error. */
static int s_known(hy_ctx_t *ctx, const char *person_id)
{
    uint64_t n;
    json_t *rec = NULL;
    if (!person_id || hy_id_parse("prs", person_id, &n) != 0)
        return MDB_NOTFOUND;
    int rc = hy_persons_get(&microfund_state(ctx)->shared, ctx->txn, person_id, &rec);
    json_decref(rec);
    if (rc != MDB_NOTFOUND)
        return rc;
    MDB_val k, v;
    uint8_t key[8];
    hy_key_u64(n, key);
    k.mv_size = sizeof key;
    k.mv_data = key;
    return mdb_get(ctx->txn, microfund_state(ctx)->persons, &k, &v);
}

int microfund_person_require(hy_ctx_t *ctx, const char *person_id, const char *field)
{
    uint64_t n;
    char key[64];
    json_t *merged = NULL;
    int klen = snprintf(key, sizeof key, "merged:%s", person_id ? person_id : "");
    int rc = klen > 0 && (size_t)klen < sizeof key
                 ? hy_store_get_json(ctx->txn, microfund_state(ctx)->meta, key, (size_t)klen,
                                     &merged)
                 : MDB_NOTFOUND;
    if (rc == 0) {   /* a record retired by a merge (merge.c) */
        hy_fail(ctx, 422, "merged_person", field, "%s was merged into %s: use that id",
                person_id, json_string_value(json_object_get(merged, "into")));
        hy_fail_extra(ctx, "merged_into", json_incref(json_object_get(merged, "into")));
        json_decref(merged);
        return -1;
    }
    rc = s_known(ctx, person_id);
    if (rc == MDB_NOTFOUND) {
        int parked = person_id && hy_id_parse("prs", person_id, &n) == 0
                         ? hy_park(ctx, "registry")
                         : 0;
        if (parked)
            return parked;
        return hy_fail(ctx, 422, "unknown_person", field, "%s is not a registered person",
                       person_id ? person_id : "");
    }
    return hy_mdb_status(ctx, rc);
}
