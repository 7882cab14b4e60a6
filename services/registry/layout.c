/*
 * layout.c — moving a data directory to the present layout of the person indexes.
 *
 * Before, every person key lived in registry.person_idx (MDB_DUPSORT, name words and runs as
 * "n:" keys) and the duplicate check's keys in registry.dup_idx (MDB_DUPSORT). Now "i:", "o:"
 * and "h:" are in registry.person_keys (DUPSORT|DUPFIXED), and the name runs and the duplicate
 * check's keys are flat keys of registry.name_idx (search.c, duplicates.c). LMDB cannot change a
 * database's flags, so the new databases are new names.
 *
 * Every index entry is a function of a person's stored record (persons.c writes them from it on
 * every registration and update), so the new databases are rebuilt from registry.persons rather
 * than translated: registry_reindex_chunk persons per write transaction, the last number done
 * kept in registry.meta ("layout_at") so that a start-up stopped half-way resumes, and a
 * 1M-person registry never fills one transaction's dirty pages. The old databases are dropped
 * in the last transaction. All of it runs in registry_open, before the service answers anyone.
 */
#include <errno.h>

#include "log.h"
#include "registry.h"

size_t registry_reindex_chunk = 2048;
size_t registry_reindex_stop_after = 0;

static const char s_at[] = "layout_at";

/* Opens the databases of before that are still there; *found says how many. */
static int s_old(MDB_txn *txn, MDB_dbi old[2], int *found)
{
    static const char *const names[] = {"registry.person_idx", "registry.dup_idx"};
    *found = 0;
    for (int i = 0; i < 2; i++) {
        int rc = mdb_dbi_open(txn, names[i], MDB_DUPSORT, &old[*found]);
        if (rc == 0)
            (*found)++;
        else if (rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/* Indexes up to registry_reindex_chunk persons after *at in one transaction; *done is set when
 * no person is left. */
static int s_chunk(MDB_env *env, registry_t *st, uint64_t *at, bool *done)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint8_t start[8];
    hy_key_u64(*at + 1, start);
    MDB_val k = {8, start}, v;
    size_t n = 0;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, st->persons, &cur);
    for (int op = MDB_SET_RANGE; rc == 0 && n < registry_reindex_chunk; op = MDB_NEXT, n++) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        if (k.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t num = hy_key_u64_get(k.mv_data);
        json_t *person = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (!person)
            rc = MDB_CORRUPTED;
        if (rc == 0 && (rc = registry_person_keys(txn, st, num, person, true)) == 0)
            rc = registry_dups_keys(txn, st, num, person, true);
        json_decref(person);
        *at = num;
    }
    *done = rc == MDB_NOTFOUND;
    if (*done)
        rc = 0;
    if (cur)
        mdb_cursor_close(cur);
    if (rc == 0) {
        uint8_t val[8];
        hy_key_u64(*at, val);
        MDB_val mk = {sizeof s_at - 1, (void *)s_at}, mv = {8, val};
        rc = mdb_put(txn, st->meta, &mk, &mv, 0);
    }
    if (rc == 0)
        return mdb_txn_commit(txn);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int registry_reindex(hy_store_t *store, registry_t *st)
{
    MDB_env *env = hy_store_env(store);
    MDB_txn *txn = NULL;
    MDB_dbi old[2];
    int found = 0;
    uint64_t at = 0;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = s_old(txn, old, &found);
    if (rc == 0)
        rc = hy_store_counter(txn, st->meta, s_at, &at);
    mdb_txn_abort(txn);
    txn = NULL;
    if (rc != 0 || found == 0)
        return rc;
    hy_log_info("layout", "rebuilding the person indexes in their new layout%s",
                at ? " (resuming)" : "");
    size_t chunks = 0;
    for (bool done = false; rc == 0 && !done; chunks++) {
        if (registry_reindex_stop_after && chunks == registry_reindex_stop_after)
            return EINTR;   /* tests: stopped half-way, as by a kill */
        rc = s_chunk(env, st, &at, &done);
    }
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = s_old(txn, old, &found);
    for (int i = 0; rc == 0 && i < found; i++)
        rc = mdb_drop(txn, old[i], 1);
    if (rc == 0) {
        MDB_val mk = {sizeof s_at - 1, (void *)s_at};
        rc = mdb_del(txn, st->meta, &mk, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc == 0)
        hy_log_info("layout", "person indexes rebuilt, through person %llu",
                    (unsigned long long)at);
    return rc;
}
