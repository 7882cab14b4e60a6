/*
 * persons.h — the registry's persons as another service knows them: one shared projection (the
 * Clone pattern's client-side map) instead of one per service.
 *
 * The registry owns persons and is their only sequencer. A service that follows it keeps, in
 * its own LMDB environment, the latest record of every person the registry's events told it
 * of (registry.person.registered, registry.person.updated, registry.person.transferred; a
 * registry.person.merged marks the retired record with status duplicate_of and merged_into,
 * so a service can refuse it and name the survivor), in the same transaction as its registry
 * cursor, so a replay changes nothing. Looking a person up never asks the registry:
 * a request naming someone not seen yet parks (hy_park) until this service has caught up with
 * everything the registry had committed when the request came — "registered, then applied for
 * at once" works — or until the deadline, and is then refused 422 unknown_person. A stalled
 * registry delays only the requests that name persons not seen yet, never the others.
 *
 * Ownership: records returned are new references (the caller decrefs). The hy_persons_t is a
 * plain value in the service's state, valid as long as its store. Every function returns 0 or an
 * LMDB error code unless it says otherwise.
 */
#ifndef HY_PERSONS_H
#define HY_PERSONS_H

#include "service.h"

typedef struct {
    MDB_dbi db;   /* "_persons": person number (u64 key) -> the registry's person record */
} hy_persons_t;

/* Opens (creating) the projection's database in store; call from the service's def->open. */
int hy_persons_open(hy_store_t *store, hy_persons_t *self);

/* Applies one event of source inside txn when it is a registry person event; any other event
 * is ignored (0). Call it from the service's def->apply. */
int hy_persons_apply(hy_persons_t *self, MDB_txn *txn, const char *source, const json_t *event);

/* The record of person id ("prs_42"): 0 with *person, MDB_NOTFOUND (also for an id that is not
 * a person's), or an LMDB error. */
int hy_persons_get(hy_persons_t *self, MDB_txn *txn, const char *id, json_t **person);

/* What a handler calls for a person named in its request (field: the argument, for the error).
 * Returns 0 with *person (may be NULL: not wanted), HY_PARKED (return it as is: the request
 * runs again once caught up), or the failure status: 422 unknown_person, 500. */
int hy_persons_require(hy_persons_t *self, hy_ctx_t *ctx, const char *id, const char *field,
                       json_t **person);

/* Empties the projection (--rebuild: the skeleton clears the cursors in the same txn). */
int hy_persons_reset(hy_persons_t *self, MDB_txn *txn);

#endif
