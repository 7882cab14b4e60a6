/*
 * page.h — reading records for a request: one entity by its id (or 404), and list operations:
 * their arguments, their result, and paging JSON records through a primary database or an index
 * with a filter.
 *
 * Every list in the API answers {"items":[...],"next_cursor":"..."|null} and takes limit and
 * cursor (the skeleton has already checked limit against the op spec). Services only say which
 * records to visit and which to keep.
 */
#ifndef HY_PAGE_H
#define HY_PAGE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "service.h"

/* Loads the record with opaque id "<prefix>_<n>" of db for a request on one entity: 0 with *n and
 * *out (either may be NULL), or -1 after a 404 not_found ("no <what> has the id ...") or a
 * storage failure, via hy_fail. */
int hy_load_or_404(hy_ctx_t *ctx, MDB_dbi db, const char *prefix, const char *what,
                   const char *id, uint64_t *n, json_t **out);

/* Reads limit and cursor from a list op's args. Returns 0, or -1 after a 400 invalid_cursor
 * (via hy_fail) for a cursor this API never issued. */
int hy_page_args(hy_ctx_t *ctx, const json_t *args, uint64_t *after, int *limit);

/* Wraps items (stolen) and the next position as the list result. Returns 0, or -1 (out of
 * memory, via hy_fail). */
int hy_page_result(hy_ctx_t *ctx, json_t *items, uint64_t next, json_t **result);

/* Decides whether a loaded record belongs on the page (true) or is skipped. */
typedef bool (*hy_keep_fn)(const json_t *record, void *user);

/* Loads the item for one id of a page: 0 with *rec (a new reference), MDB_NOTFOUND to skip the
 * id (an index entry whose record is gone), or an LMDB error to stop the page. */
typedef int (*hy_load_fn)(hy_ctx_t *ctx, uint64_t id, void *user, json_t **rec);

/* One list's walk: the ids under one index key (key != NULL) or every id of a primary db, each
 * loaded (load, or the JSON record of `records`) and kept when keep() agrees. For lists whose
 * items are joined or rendered as they are read; hy_page_json is the plain case. */
typedef struct {
    MDB_dbi db;          /* the index walked (key != NULL), or the primary db */
    MDB_dbi records;     /* where an id is read from when load is NULL */
    const void *key;
    size_t klen;
    hy_load_fn load;     /* NULL: hy_store_get_id(records) */
    hy_keep_fn keep;     /* NULL: keep every record */
    void *user;          /* passed to load and keep */
} hy_page_t;

/* One page of p after the cursor: *items a new array, *next the cursor of the next page or 0.
 * Returns 0, or -1 after hy_fail/hy_fail_mdb (nothing in *items). */
int hy_page(hy_ctx_t *ctx, const hy_page_t *p, uint64_t after, int limit, json_t **items,
            uint64_t *next);

/* Pages the JSON records of `records` in id order: every record when idx is NULL, or the ids
 * stored under idx_key in the index db idx. keep may be NULL (keep all). On success *items is a
 * new array and *next the cursor position (0 at the end). Returns 0 or an LMDB error. */
int hy_page_json(MDB_txn *txn, MDB_dbi records, const MDB_dbi *idx, const void *idx_key,
                 size_t idx_klen, uint64_t after, int limit, hy_keep_fn keep, void *user,
                 json_t **items, uint64_t *next);

/* The whole list op in one call: args -> page -> result. Returns 0 or -1, as a handler. */
int hy_page_list(hy_ctx_t *ctx, const json_t *args, MDB_dbi records, const MDB_dbi *idx,
                 const void *idx_key, size_t idx_klen, hy_keep_fn keep, void *user,
                 json_t **result);

#endif
