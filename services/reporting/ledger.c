/*
 * ledger.c — what reporting holds that is NOT derived from events: submitted reports and
 * office targets. They are written by people, so they must be the same on every replica.
 *
 * Every other database of a replica is a projection, private to it and rebuilt from events.
 * The ledger is an LMDB environment of its own in the replica's data directory (DATA/ledger),
 * opened by that replica only (each environment has one owning process), and never dropped by
 * --rebuild.
 *
 * Known gap (issue 16 item a, left open): with several replicas each keeps its own ledger, so a
 * submission is read only from the replica that took it. A shared ledger opened by every
 * replica was tried and refused: it breaks the rule that no other process opens a service's
 * LMDB environment, and cannot span hosts. The way forward is a single owner of submissions
 * that publishes them as events every replica applies.
 *
 * A submission is committed in the ledger inside the request, before the replica's own batch
 * commits: a batch that fails afterwards leaves the submission stored (the client sees an
 * error and finds it with GET); nothing in it depends on the replica's batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"

#define LEDGER_MAP_SIZE ((size_t)4 << 30)   /* sparse: submissions with drill-down ids are large */

int rp_ledger_open(hy_store_t *store, reporting_t *st)
{
    char path[4096];
    const char *data = NULL;
    if (mdb_env_get_path(hy_store_env(store), &data) == 0 && data)
        snprintf(path, sizeof path, "%s/ledger", data);
    else
        return EINVAL;
    st->ledger = hy_store_new(path, LEDGER_MAP_SIZE, 8, true);
    if (!st->ledger)
        return EIO;
    int rc = hy_store_open_db(st->ledger, "reporting.ledger.meta", 0, &st->lmeta);
    if (rc == 0)
        rc = hy_store_open_db(st->ledger, "reporting.subs", 0, &st->subs);
    if (rc == 0)
        rc = hy_store_open_db(st->ledger, "reporting.targets", 0, &st->targets);
    if (rc)
        hy_store_destroy(&st->ledger);
    return rc;
}

void rp_ledger_close(reporting_t *st)
{
    if (st->ledger)
        hy_store_destroy(&st->ledger);
}

int rp_ledger_begin(reporting_t *st, bool write, MDB_txn **txn)
{
    return mdb_txn_begin(hy_store_env(st->ledger), NULL, write ? 0 : MDB_RDONLY, txn);
}

int rp_ledger_get(reporting_t *st, const void *key, size_t klen, MDB_dbi db, json_t **out)
{
    MDB_txn *txn;
    *out = NULL;
    int rc = rp_ledger_begin(st, false, &txn);
    if (rc)
        return rc;
    MDB_val k = {klen, (void *)key}, v;
    rc = mdb_get(txn, db, &k, &v);
    if (rc == 0 && !(*out = json_loadb(v.mv_data, v.mv_size, 0, NULL)))
        rc = MDB_CORRUPTED;
    mdb_txn_abort(txn);
    return rc;
}
