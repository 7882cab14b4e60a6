/*
 * page.c — list arguments, list results and filtered paging of JSON records (see page.h).
 */
#include "json.h"
#include "page.h"

#include <errno.h>

int hy_load_or_404(hy_ctx_t *ctx, MDB_dbi db, const char *prefix, const char *what,
                   const char *id, uint64_t *n, json_t **out)
{
    int rc = hy_store_get_by_id(ctx->txn, db, prefix, id, n, out);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no %s has the id %s", what, id ? id : "");
    return rc ? hy_fail_mdb(ctx, rc) : 0;
}

int hy_page_args(hy_ctx_t *ctx, const json_t *args, uint64_t *after, int *limit)
{
    json_int_t l = json_integer_value(json_object_get(args, "limit"));
    *limit = l > 0 ? (int)l : 50;
    if (hy_cursor_parse(hy_json_str(args, "cursor"), after) != 0)
        return hy_fail(ctx, 400, "invalid_cursor", "cursor", "cursor is not one this list issued");
    return 0;
}

int hy_page_result(hy_ctx_t *ctx, json_t *items, uint64_t next, json_t **result)
{
    char cursor[32];
    hy_cursor_format(next, cursor, sizeof cursor);
    *result = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                        next ? json_string(cursor) : json_null());
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

typedef struct {
    MDB_dbi records;
    hy_keep_fn keep;
    void *user;
    json_t *items;
} s_page_t;

/* hy_store_page visitor: loads the record and keeps it when the filter says so. */
static int s_visit(MDB_txn *txn, uint64_t id, void *user)
{
    s_page_t *pg = user;
    json_t *rec = NULL;
    int rc = hy_store_get_id(txn, pg->records, id, &rec);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? 0 : rc;   /* an index entry whose record is gone: skip */
    if (pg->keep && !pg->keep(rec, pg->user)) {
        json_decref(rec);
        return 0;
    }
    return json_array_append_new(pg->items, rec) == 0 ? 1 : ENOMEM;
}

int hy_page_json(MDB_txn *txn, MDB_dbi records, const MDB_dbi *idx, const void *idx_key,
                 size_t idx_klen, uint64_t after, int limit, hy_keep_fn keep, void *user,
                 json_t **items, uint64_t *next)
{
    s_page_t pg = {records, keep, user, json_array()};
    if (!pg.items)
        return ENOMEM;
    int rc = hy_store_page(txn, idx ? *idx : records, idx ? idx_key : NULL, idx ? idx_klen : 0,
                           after, limit, s_visit, &pg, next);
    if (rc != 0) {
        json_decref(pg.items);
        return rc;
    }
    *items = pg.items;
    return 0;
}

int hy_page_list(hy_ctx_t *ctx, const json_t *args, MDB_dbi records, const MDB_dbi *idx,
                 const void *idx_key, size_t idx_klen, hy_keep_fn keep, void *user,
                 json_t **result)
{
    uint64_t after, next;
    int limit;
    int status = hy_page_args(ctx, args, &after, &limit);
    if (status != 0)
        return status;
    json_t *items;
    int rc = hy_page_json(ctx->txn, records, idx, idx_key, idx_klen, after, limit, keep, user,
                          &items, &next);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    return hy_page_result(ctx, items, next, result);
}
