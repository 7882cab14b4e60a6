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
    return hy_mdb_status(ctx, rc);
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
    hy_ctx_t *ctx;   /* NULL for hy_page_json, whose load is always NULL */
    const hy_page_t *p;
    json_t *items;
} s_walk_t;

/* hy_store_page visitor: loads the item and keeps it when the filter says so. */
static int s_visit(MDB_txn *txn, uint64_t id, void *user)
{
    s_walk_t *w = user;
    const hy_page_t *p = w->p;
    json_t *rec = NULL;
    int rc = p->load ? p->load(w->ctx, id, p->user, &rec)
                     : hy_store_get_id(txn, p->records, id, &rec);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? 0 : rc;   /* an index entry whose record is gone: skip */
    if (p->keep && !p->keep(rec, p->user)) {
        json_decref(rec);
        return 0;
    }
    return json_array_append_new(w->items, rec) == 0 ? 1 : ENOMEM;
}

/* The walk, as an LMDB code. */
static int s_walk(MDB_txn *txn, hy_ctx_t *ctx, const hy_page_t *p, uint64_t after, int limit,
                  json_t **items, uint64_t *next)
{
    s_walk_t w = {ctx, p, json_array()};
    *next = 0;
    if (!w.items)
        return ENOMEM;
    int rc = hy_store_page(txn, p->db, p->key, p->klen, after, limit, s_visit, &w, next);
    if (rc != 0) {
        json_decref(w.items);
        return rc;
    }
    *items = w.items;
    return 0;
}

int hy_page(hy_ctx_t *ctx, const hy_page_t *p, uint64_t after, int limit, json_t **items,
            uint64_t *next)
{
    int rc = s_walk(ctx->txn, ctx, p, after, limit, items, next);
    return hy_mdb_status(ctx, rc);
}

int hy_page_json(MDB_txn *txn, MDB_dbi records, const MDB_dbi *idx, const void *idx_key,
                 size_t idx_klen, uint64_t after, int limit, hy_keep_fn keep, void *user,
                 json_t **items, uint64_t *next)
{
    hy_page_t p = {.db = idx ? *idx : records, .records = records, .key = idx ? idx_key : NULL,
                   .klen = idx ? idx_klen : 0, .keep = keep, .user = user};
    return s_walk(txn, NULL, &p, after, limit, items, next);
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
