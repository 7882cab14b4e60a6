/*
 * persons.c — the shared person projection (see persons.h).
 */
#include "json.h"
#include "persons.h"

#include <string.h>

int hy_persons_open(hy_store_t *store, hy_persons_t *self)
{
    return hy_store_open_db(store, "_persons", 0, &self->db);
}

/* The retired record of a merge says where she is now: status duplicate_of, merged_into. */
static int s_merged(hy_persons_t *self, MDB_txn *txn, const json_t *data)
{
    const char *into = hy_json_str(data, "into");
    json_t *rec = NULL;
    uint64_t n;
    if (!into || hy_id_parse("prs", hy_json_str(data, "id"), &n) != 0)
        return 0;
    int rc = hy_store_get_id(txn, self->db, n, &rec);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    json_object_set_new(rec, "status", json_string("duplicate_of"));
    json_object_set_new(rec, "duplicate_of", json_string(into));
    json_object_set_new(rec, "merged_into", json_string(into));
    rc = hy_store_put_id(txn, self->db, n, rec);
    json_decref(rec);
    return rc;
}

int hy_persons_apply(hy_persons_t *self, MDB_txn *txn, const char *source, const json_t *event)
{
    if (strcmp(source, "registry") != 0)
        return 0;
    const char *type = hy_json_str(event, "type");
    json_t *data = json_object_get(event, "data");
    const json_t *person = NULL;
    if (type && strcmp(type, "registry.person.registered") == 0)
        person = data;
    else if (type && (strcmp(type, "registry.person.updated") == 0 ||
                      strcmp(type, "registry.person.transferred") == 0))
        person = json_object_get(data, "person");
    else if (type && strcmp(type, "registry.person.merged") == 0)
        return s_merged(self, txn, data);
    uint64_t n;
    if (!json_is_object(person) ||
        hy_id_parse("prs", hy_json_str(person, "id"), &n) != 0)
        return 0;
    return hy_store_put_id(txn, self->db, n, person);
}

int hy_persons_get(hy_persons_t *self, MDB_txn *txn, const char *id, json_t **person)
{
    return hy_store_get_by_id(txn, self->db, "prs", id, NULL, person);
}

int hy_persons_require(hy_persons_t *self, hy_ctx_t *ctx, const char *id, const char *field,
                       json_t **person)
{
    json_t *rec = NULL;
    uint64_t n;
    int rc = hy_id_parse("prs", id, &n) == 0 ? hy_store_get_id(ctx->txn, self->db, n, &rec)
                                             : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        int parked = hy_id_parse("prs", id, &n) == 0 ? hy_park(ctx, "registry") : 0;
        if (parked)
            return parked;
        return hy_fail(ctx, 422, "unknown_person", field, "no registered person has the id %s",
                       id ? id : "");
    }
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    if (person)
        *person = rec;
    else
        json_decref(rec);
    return 0;
}

int hy_persons_reset(hy_persons_t *self, MDB_txn *txn)
{
    return mdb_drop(txn, self->db, 0);
}
