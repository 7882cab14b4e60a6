/*
 * store.h — LMDB helpers: one environment per service, keys, JSON records, ids, secondary
 * indexes and cursor pagination.
 *
 * One process owns one environment (no other process opens it). The map size is explicit
 * (HY_MAP_SIZE_MB) and grows instead of failing: a write that meets MDB_MAP_FULL is rolled
 * back whole by the service skeleton, the map is doubled with hy_store_grow, and the batch is
 * run again. Commits are durable (fsync) unless the operator turns that off for a benchmark.
 *
 * Primary records are JSON documents keyed by an 8-byte big-endian u64 (so keys sort by
 * number) and shown to clients as opaque ids "<prefix>_<n>" ("prs_42"). Secondary indexes are
 * MDB_DUPSORT databases mapping an index key (bytes) to the 8-byte primary key.
 *
 * Every function returns 0 or an LMDB error code (MDB_NOTFOUND, MDB_MAP_FULL, ...), never -1,
 * so callers can tell "not found" from "full" from "broken".
 */
#ifndef HY_STORE_H
#define HY_STORE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hy_store hy_store_t;

/* Opens (creating the directory if needed) the environment at path with the given initial map
 * size in bytes and room for maxdbs named databases. durable=false uses MDB_NOSYNC (bench only).
 * Returns NULL on failure and logs why. */
hy_store_t *hy_store_new(const char *path, size_t mapsize, unsigned maxdbs, bool durable);

/* Closes the environment; safe to call twice; sets *self_p to NULL. */
void hy_store_destroy(hy_store_t **self_p);

MDB_env *hy_store_env(hy_store_t *self);

/* Opens or creates a named database (flags: MDB_DUPSORT, MDB_DUPFIXED, ...) in its own short
 * write transaction. Call at start-up only, before any other transaction. */
int hy_store_open_db(hy_store_t *self, const char *name, unsigned flags, MDB_dbi *dbi);

/* One named database a service owns: a row of the table its open function passes to
 * hy_store_open_dbs, so each service's databases stand in one place. */
typedef struct {
    const char *name;
    unsigned flags;
    MDB_dbi *dbi;
} hy_store_db_t;

/* Opens the n databases of dbs in order, as hy_store_open_db. Returns 0 or the first error. */
int hy_store_open_dbs(hy_store_t *self, const hy_store_db_t *dbs, size_t n);

/* Commits a top-level write transaction (mdb_txn_commit); when the transaction is large
 * (weight, the requests, events or rows in it, at least HY_STORE_FLUSH_WEIGHT), the store's
 * flusher thread starts the writeback of the pages the commit writes meanwhile (flusher.c), so
 * the commit's fdatasync mostly waits instead of doing that work itself; a small commit's few
 * pages are not worth waking a thread for. Same result and durability as mdb_txn_commit.
 * Writers commit their batches with it. After a commit that leaves more than half the map in
 * use it doubles the map (the committing thread then has no transaction open), unless a reader
 * thread is in a transaction: the next commit tries again. */
#define HY_STORE_FLUSH_WEIGHT 8
int hy_store_commit(hy_store_t *self, MDB_txn *txn, size_t weight);

/* Tests: the next n commits through hy_store_commit fail as a disk would (the transaction is
 * aborted, EIO returned), to reach what a failed commit does to a batch. */
void hy_store_fail_commits(hy_store_t *self, int n);

/* How many times the flusher has started writeback (0 when it is off: HY_STORE_FLUSHER=0, or
 * a store opened without durability). */
unsigned long hy_store_flushes(hy_store_t *self);

/* Doubles the map size (up to HY_STORE_MAX_MAP). The calling thread must have no transaction
 * open; it waits for reader threads' transactions (hy_store_read_begin) to end.
 * Returns 0, or MDB_MAP_FULL when the maximum is reached. */
#define HY_STORE_MAX_MAP ((size_t)1 << 40)
int hy_store_grow(hy_store_t *self);
/* How many times the map was doubled ahead of need (hy_store_commit does it after a commit
 * that leaves more than half the map in use) and when a write met it full (hy_store_grow). */
void hy_store_grows(hy_store_t *self, unsigned long *ahead, unsigned long *when_full);

/* A read transaction for a thread other than the one that writes (a reader thread): begins a
 * read-only transaction that sees the last committed state, and keeps hy_store_grow from
 * resizing the map under it until hy_store_read_end. Returns 0 or an LMDB error (*txn NULL).
 * hy_store_read_end aborts *txn, sets it to NULL (NULL is a no-op) and lets a grow proceed. */
int hy_store_read_begin(hy_store_t *self, MDB_txn **txn);
void hy_store_read_end(hy_store_t *self, MDB_txn **txn);

/* Current map size and bytes in use (last page * page size), for status. */
void hy_store_usage(hy_store_t *self, size_t *mapsize, size_t *used);

/* Online, consistent copy of the environment into an empty directory (mdb_env_copy2 with
 * compaction). Safe while the service writes. */
int hy_store_backup(hy_store_t *self, const char *dir);

/* --- keys -------------------------------------------------------------------------------- */
void     hy_key_u64(uint64_t v, uint8_t out[8]);
uint64_t hy_key_u64_get(const void *p);   /* reads 8 big-endian bytes */

/* --- ids: "<prefix>_<n>" ------------------------------------------------------------------ */
/* Writes prefix_n into out (>= 32 bytes). */
void hy_id_format(const char *prefix, uint64_t n, char *out, size_t outsz);
/* Parses an id with the given prefix. Returns 0, or -1 when it is not such an id. */
int hy_id_parse(const char *prefix, const char *id, uint64_t *n);

/* Loads the record of db whose opaque id is "<prefix>_<n>". Returns 0 (with *n and *out, either
 * may be NULL), MDB_NOTFOUND also for a malformed id or one of another prefix, or an LMDB error. */
int hy_store_get_by_id(MDB_txn *txn, MDB_dbi db, const char *prefix, const char *id, uint64_t *n,
                       json_t **out);

/* Allocates the next number of a named counter kept in db (a plain database of counters).
 * Starts at 1. Gapless within committed history. */
int hy_store_next(MDB_txn *txn, MDB_dbi db, const char *counter, uint64_t *out);
/* Reads a counter without changing it (0 when never used). */
int hy_store_counter(MDB_txn *txn, MDB_dbi db, const char *counter, uint64_t *out);

/* --- JSON records ------------------------------------------------------------------------ */
/* Stores val (borrowed) compactly under key. */
int hy_store_put_json(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, const json_t *val);
/* Loads the record under key into *out (new reference). MDB_NOTFOUND when absent. */
int hy_store_get_json(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, json_t **out);
/* mdb_put(txn, db, k, v, 0), appended (MDB_APPEND) when k sorts after every key of db: a
 * database written in key order (records by number, events by sequence) then fills its last
 * page before beginning the next instead of splitting it. Otherwise (or when k is there) the
 * ordinary put. Returns 0 or an LMDB error. */
int hy_store_put_last(MDB_txn *txn, MDB_dbi db, MDB_val *k, MDB_val *v);
/* Same with a u64 key. */
int hy_store_put_id(MDB_txn *txn, MDB_dbi db, uint64_t id, const json_t *val);
int hy_store_get_id(MDB_txn *txn, MDB_dbi db, uint64_t id, json_t **out);
/* The stored JSON text of the record with u64 key id, undecoded: *text points into the map
 * (valid until txn ends or writes again; not NUL-terminated), *len its bytes. 0,
 * MDB_NOTFOUND or an LMDB error. A reader that serves the record as it is skips decoding it. */
int hy_store_get_text(MDB_txn *txn, MDB_dbi db, uint64_t id, const char **text, size_t *len);

/* --- secondary indexes (MDB_DUPSORT db: index key -> 8-byte id) ---------------------------- */
int hy_index_put(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t id);
int hy_index_del(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t id);
/* First id under key; MDB_NOTFOUND when none. */
int hy_index_first(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t *id);

/* --- pagination -------------------------------------------------------------------------- */
/* Visits records in key order. For a primary db (u64 keys) pass idx_key=NULL: visits every
 * record after the cursor. For an index pass idx_key: visits the ids stored under that key after
 * the cursor. visit() returns 1 to include the record (counted against limit), 0 to skip it, or
 * an LMDB error to stop. The page ends after `limit` included records; *next is then set to the
 * u64 to pass as `after` for the next page, or 0 when there is none.
 * after=0 starts at the beginning. */
typedef int (*hy_visit_fn)(MDB_txn *txn, uint64_t id, void *user);
int hy_store_page(MDB_txn *txn, MDB_dbi db, const void *idx_key, size_t idx_klen,
                  uint64_t after, int limit, hy_visit_fn visit, void *user, uint64_t *next);

/* Opaque page cursors for clients: the u64 as text so it cannot be confused with an id.
 * hy_cursor_parse returns 0 (and 0 for NULL/empty), or -1 for a malformed cursor. */
void hy_cursor_format(uint64_t after, char *out, size_t outsz);
int  hy_cursor_parse(const char *text, uint64_t *after);

#endif
