/*
 * ledger.c — what reporting holds that is NOT derived from events: submitted reports and
 * office targets. They are written by people, so they must be the same on every replica.
 *
 * Every other database of a replica is a projection, private to it and rebuilt from events;
 * a submission taken by one replica must be read, byte for byte, from all of them. Mature
 * systems keep such facts in the one store every application instance shares (DHIS2's data
 * approvals and completions, openIMIS's claims: one database behind any number of app
 * servers), not in each instance's cache. Here that store is one LMDB environment, the
 * LEDGER, shared by every replica of the host: LMDB serialises writers across processes
 * (one write transaction at a time, its lock file) and readers never block, so a submission
 * committed by one replica is visible to the next request on any other, with its own
 * sequential id (one counter for all). It is never dropped by --rebuild.
 *
 * Where: HY_REPORTING_LEDGER, else $HY_DATA_DIR/reporting-ledger (replicas started with
 * their own --data under one HY_DATA_DIR share it), else DATA/ledger (a sole replica, tests).
 * Replicas on several hosts must point HY_REPORTING_LEDGER at one host's volume (or run the
 * submitting replica on one host): LMDB is not for network file systems.
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
    const char *env = getenv("HY_REPORTING_LEDGER"), *root = getenv("HY_DATA_DIR"), *data = NULL;
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else if (root && *root)
        snprintf(path, sizeof path, "%s/reporting-ledger", root);
    else if (mdb_env_get_path(hy_store_env(store), &data) == 0 && data)
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
