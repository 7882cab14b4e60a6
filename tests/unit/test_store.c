/*
 * test_store.c — LMDB helpers: keys, ids, counters, records, indexes, pagination, map growth.
 */
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "store.h"
#include "test.h"
#include "testutil.h"

static void test_keys_and_ids(void)
{
    uint8_t k[8];
    hy_key_u64(0x0102030405060708ull, k);
    CHECK(k[0] == 1 && k[7] == 8);
    CHECK(hy_key_u64_get(k) == 0x0102030405060708ull);
    uint8_t a[8], b[8];
    hy_key_u64(255, a);
    hy_key_u64(256, b);
    CHECK(memcmp(a, b, 8) < 0); /* big-endian keys sort by number */
    char id[32];
    hy_id_format("prs", 42, id, sizeof id);
    CHECK_EQ_STR(id, "prs_42");
    uint64_t n = 0;
    CHECK(hy_id_parse("prs", "prs_42", &n) == 0 && n == 42);
    CHECK(hy_id_parse("prs", "bus_42", &n) == -1);
    CHECK(hy_id_parse("prs", "prs_", &n) == -1);
    CHECK(hy_id_parse("prs", "prs_0", &n) == -1);
    CHECK(hy_id_parse("prs", "prs_042", &n) == -1);
    CHECK(hy_id_parse("prs", "prs_4x", &n) == -1);
    CHECK(hy_id_parse("prs", "prs_99999999999999999999", &n) == -1);
    char c[32];
    hy_cursor_format(1234, c, sizeof c);
    CHECK(hy_cursor_parse(c, &n) == 0 && n == 1234);
    CHECK(hy_cursor_parse("", &n) == 0 && n == 0);
    CHECK(hy_cursor_parse("zz", &n) == -1);
    CHECK(hy_cursor_parse("c12g", &n) == -1);
}

static int s_visit_even(MDB_txn *txn, uint64_t id, void *user)
{
    (void)txn;
    int *count = user;
    if (id % 2)
        return 0;
    (*count)++;
    return 1;
}

/* A new durable 1 MiB store in a fresh directory (dir gets its path), or NULL (a failed check). */
static hy_store_t *s_store(char dir[64])
{
    hy_test_tmpdir(dir);
    hy_store_t *st = hy_store_new(dir, 1 << 20, 8, true);
    CHECK(st != NULL);
    return st;
}

static void test_records_indexes_pages(void)
{
    char dir[64];
    hy_store_t *st = s_store(dir);
    if (!st)
        return;
    MDB_dbi meta, recs, idx;
    CHECK(hy_store_open_db(st, "meta", 0, &meta) == 0);
    CHECK(hy_store_open_db(st, "recs", 0, &recs) == 0);
    CHECK(hy_store_open_db(st, "idx", MDB_DUPSORT | MDB_DUPFIXED, &idx) == 0);
    MDB_txn *txn;
    CHECK(mdb_txn_begin(hy_store_env(st), NULL, 0, &txn) == 0);
    for (int i = 0; i < 25; i++) {
        uint64_t id;
        CHECK(hy_store_next(txn, meta, "rec", &id) == 0);
        CHECK(id == (uint64_t)i + 1);
        json_t *rec = json_pack("{s:I}", "n", (json_int_t)id);
        CHECK(hy_store_put_id(txn, recs, id, rec) == 0);
        json_decref(rec);
        CHECK(hy_index_put(txn, idx, id % 2 ? "odd" : "even", id % 2 ? 3 : 4, id) == 0);
    }
    CHECK(hy_index_put(txn, idx, "odd", 3, 1) == 0); /* idempotent */
    CHECK(mdb_txn_commit(txn) == 0);

    CHECK(mdb_txn_begin(hy_store_env(st), NULL, MDB_RDONLY, &txn) == 0);
    json_t *got = NULL;
    CHECK(hy_store_get_id(txn, recs, 7, &got) == 0);
    CHECK(json_integer_value(json_object_get(got, "n")) == 7);
    json_decref(got);
    CHECK(hy_store_get_id(txn, recs, 99, &got) == MDB_NOTFOUND);
    uint64_t first;
    CHECK(hy_index_first(txn, idx, "even", 4, &first) == 0 && first == 2);
    /* Primary pages of 5 even records: 2..10, 12..20, 22..24, then none. */
    int count = 0;
    uint64_t next;
    CHECK(hy_store_page(txn, recs, NULL, 0, 0, 5, s_visit_even, &count, &next) == 0);
    CHECK(count == 5 && next == 10);
    count = 0;
    CHECK(hy_store_page(txn, recs, NULL, 0, next, 5, s_visit_even, &count, &next) == 0);
    CHECK(count == 5 && next == 20);
    count = 0;
    CHECK(hy_store_page(txn, recs, NULL, 0, next, 5, s_visit_even, &count, &next) == 0);
    CHECK(count == 2 && next == 0);
    /* Index pages: the "even" key holds 12 ids. */
    count = 0;
    CHECK(hy_store_page(txn, idx, "even", 4, 0, 10, s_visit_even, &count, &next) == 0);
    CHECK(count == 10 && next == 20);
    count = 0;
    CHECK(hy_store_page(txn, idx, "even", 4, next, 10, s_visit_even, &count, &next) == 0);
    CHECK(count == 2 && next == 0);
    mdb_txn_abort(txn);

    CHECK(mdb_txn_begin(hy_store_env(st), NULL, 0, &txn) == 0);
    CHECK(hy_index_del(txn, idx, "even", 4, 2) == 0);
    CHECK(hy_index_first(txn, idx, "even", 4, &first) == 0 && first == 4);
    CHECK(hy_index_del(txn, idx, "even", 4, 2) == 0); /* absent: fine */
    CHECK(mdb_txn_commit(txn) == 0);
    hy_store_destroy(&st);
    hy_store_destroy(&st); /* twice is safe */
    CHECK(st == NULL);
    hy_test_rmdir(dir);
}

/* hy_page's load: id 5 is "gone" (skipped), id 13 fails the page; the rest are decorated. */
static int s_load_tagged(hy_ctx_t *ctx, uint64_t id, void *user, json_t **rec)
{
    const MDB_dbi *recs = user;
    if (id == 5)
        return MDB_NOTFOUND;
    if (id == 13)
        return MDB_CORRUPTED;
    int rc = hy_store_get_id(ctx->txn, *recs, id, rec);
    if (rc == 0)
        json_object_set_new(*rec, "loaded", json_true());
    return rc;
}

static bool s_keep_multiple_of_three(const json_t *rec, void *user)
{
    (void)user;
    return json_integer_value(json_object_get(rec, "n")) % 3 == 0;
}

/* A service's table of databases (hy_store_open_dbs), and hy_page: the walk every list with
 * records joined or rendered on load goes through. */
static void test_open_dbs_and_page(void)
{
    char dir[64];
    hy_store_t *st = s_store(dir);
    if (!st)
        return;
    MDB_dbi recs = 0, idx = 0, other = 0;
    const hy_store_db_t dbs[] = {
        {"recs", 0, &recs}, {"idx", MDB_DUPSORT, &idx}, {"other", 0, &other}};
    CHECK_EQ_INT(hy_store_open_dbs(st, dbs, 3), 0);
    CHECK(recs != idx && idx != other && recs != other);
    MDB_txn *txn;
    CHECK(mdb_txn_begin(hy_store_env(st), NULL, 0, &txn) == 0);
    for (uint64_t id = 1; id <= 20; id++) {
        json_t *rec = json_pack("{s:I}", "n", (json_int_t)id);
        CHECK(hy_store_put_id(txn, recs, id, rec) == 0);
        json_decref(rec);
        CHECK(hy_index_put(txn, idx, "all", 3, id) == 0);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    /* idx was opened MDB_DUPSORT by the table: a second id under one key is kept */
    CHECK(mdb_txn_begin(hy_store_env(st), NULL, MDB_RDONLY, &txn) == 0);
    MDB_stat ms;
    CHECK(mdb_stat(txn, idx, &ms) == 0 && ms.ms_entries == 20);

    hy_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.txn = txn;
    hy_page_t page = {.db = idx, .key = "all", .klen = 3, .load = s_load_tagged,
                      .keep = s_keep_multiple_of_three, .user = &recs};
    json_t *items = NULL;
    uint64_t next = 99;
    /* 3, 6, 9 kept (5 skipped as gone, the others filtered), then the cursor after 9 */
    CHECK_EQ_INT(hy_page(&ctx, &page, 0, 3, &items, &next), 0);
    CHECK_EQ_INT((int)json_array_size(items), 3);
    CHECK(json_integer_value(json_object_get(json_array_get(items, 2), "n")) == 9);
    CHECK(json_is_true(json_object_get(json_array_get(items, 0), "loaded")));
    CHECK(next == 9);
    json_decref(items);
    /* the page that reaches id 13 fails as a storage error, and hands back nothing */
    items = NULL;
    CHECK_EQ_INT(hy_page(&ctx, &page, next, 3, &items, &next), -1);
    CHECK(items == NULL);
    CHECK_EQ_INT(ctx.status, 500);
    CHECK_EQ_STR(json_string_value(json_object_get(ctx.error, "code")), "internal_error");
    json_decref(ctx.error);
    /* no load: the records themselves, through hy_page_json, to the end */
    CHECK_EQ_INT(hy_page_json(txn, recs, &idx, "all", 3, 15, 10, s_keep_multiple_of_three, NULL,
                              &items, &next), 0);
    CHECK_EQ_INT((int)json_array_size(items), 1);   /* 18 */
    CHECK(next == 0 && !json_object_get(json_array_get(items, 0), "loaded"));
    json_decref(items);
    mdb_txn_abort(txn);
    hy_store_destroy(&st);
    hy_test_rmdir(dir);
}

/* Reopens the store at dir and counts the entries of database name; (size_t)-1 if it cannot. */
static size_t s_reopen_count(const char *dir, size_t mapsize, bool durable, const char *name)
{
    hy_store_t *st = hy_store_new(dir, mapsize, 4, durable);
    MDB_dbi db;
    MDB_txn *txn;
    MDB_stat s;
    size_t n = (size_t)-1;
    if (st && hy_store_open_db(st, name, 0, &db) == 0 &&
        mdb_txn_begin(hy_store_env(st), NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_stat(txn, db, &s) == 0)
            n = s.ms_entries;
        mdb_txn_abort(txn);
    }
    hy_store_destroy(&st);
    return n;
}

/* Puts val under the u64 key in a transaction of its own, committed by hy_store_commit with
 * weight; 0 or an LMDB error. */
static int s_put_one(hy_store_t *st, MDB_dbi db, uint64_t key, MDB_val val, size_t weight)
{
    MDB_txn *txn;
    uint8_t k[8];
    hy_key_u64(key, k);
    MDB_val mk = {8, k};
    int rc = mdb_txn_begin(hy_store_env(st), NULL, 0, &txn);
    if (rc != 0)
        return rc;
    if ((rc = mdb_put(txn, db, &mk, &val, 0)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return hy_store_commit(st, txn, weight);
}

/* A map that is full grows instead of failing, and what was written stays. */
static void test_map_grows(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_store_t *st = hy_store_new(dir, 64 << 10, 4, false);
    CHECK(st != NULL);
    if (!st)
        return;
    MDB_dbi db;
    CHECK(hy_store_open_db(st, "big", 0, &db) == 0);
    char blob[2000];
    memset(blob, 'x', sizeof blob);
    int grew = 0, written = 0;
    for (int i = 1; i <= 300; i++) {
        for (;;) {
            MDB_txn *txn;
            CHECK(mdb_txn_begin(hy_store_env(st), NULL, 0, &txn) == 0);
            uint8_t k[8];
            hy_key_u64((uint64_t)i, k);
            MDB_val key = {8, k}, val = {sizeof blob, blob};
            int rc = mdb_put(txn, db, &key, &val, 0);
            if (rc == 0)
                rc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
            if (rc == MDB_MAP_FULL) {
                CHECK(hy_store_grow(st) == 0);
                grew++;
                continue;
            }
            CHECK(rc == 0);
            written++;
            break;
        }
    }
    CHECK(grew >= 2);
    CHECK(written == 300);
    size_t map, used;
    hy_store_usage(st, &map, &used);
    CHECK(map > (64u << 10) && used > 300u * 2000u && used <= map);
    hy_store_destroy(&st);
    /* Reopened with the small size, the environment keeps its grown map and its data. */
    CHECK(s_reopen_count(dir, 64 << 10, false, "big") == 300);
    hy_test_rmdir(dir);
}

/* A durable store's commits start the writeback of their pages from the flusher thread while
 * they write them (flusher.c): hy_store_commit keeps the data, and the flusher ran (several
 * large commits, so the thread is woken inside at least one of them on any machine);
 * HY_STORE_FLUSHER=0 turns it off. */
static void test_commit_flusher(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_store_t *st = hy_store_new(dir, 256u << 20, 4, true);
    CHECK(st != NULL);
    if (!st)
        return;
    MDB_dbi db;
    CHECK(hy_store_open_db(st, "big", 0, &db) == 0);
    static char blob[3000];
    memset(blob, 'x', sizeof blob);
    uint64_t n = 0;
    for (int c = 0; c < 20 && (c < 3 || hy_store_flushes(st) == 0); c++) {
        MDB_txn *txn;
        CHECK(mdb_txn_begin(hy_store_env(st), NULL, 0, &txn) == 0);
        for (int i = 0; i < 1500; i++, n++) {
            uint8_t k[8];
            hy_key_u64(n * 2654435761u % 1000003u, k);   /* scattered: many pages */
            MDB_val key = {8, k}, val = {sizeof blob, blob};
            CHECK(mdb_put(txn, db, &key, &val, 0) == 0);
        }
        CHECK(hy_store_commit(st, txn, HY_STORE_FLUSH_WEIGHT) == 0);
    }
    CHECK(hy_store_flushes(st) > 0);
    /* a small commit (fewer than HY_STORE_FLUSH_WEIGHT requests) does not wake the thread */
    unsigned long before = hy_store_flushes(st);
    MDB_val bval = {sizeof blob, blob};
    /* key 0: the first key written above, so the count stays n */
    CHECK(s_put_one(st, db, 0, bval, 1) == 0);
    CHECK(hy_store_flushes(st) == before);
    hy_store_destroy(&st);
    CHECK(s_reopen_count(dir, 256u << 20, true, "big") == n);
    setenv("HY_STORE_FLUSHER", "0", 1);
    st = hy_store_new(dir, 256u << 20, 4, true);
    unsetenv("HY_STORE_FLUSHER");
    CHECK(st != NULL);
    if (st) {
        CHECK(hy_store_open_db(st, "big", 0, &db) == 0);
        CHECK(s_put_one(st, db, 7, bval, HY_STORE_FLUSH_WEIGHT) == 0);
        CHECK(hy_store_flushes(st) == 0);
        hy_store_destroy(&st);
    }
    hy_test_rmdir(dir);
}

const hy_test_t store_tests[] = {
    {"store.keys_and_ids", test_keys_and_ids},
    {"store.records_indexes_pages", test_records_indexes_pages},
    {"store.open_dbs_and_page", test_open_dbs_and_page},
    {"store.map_grows", test_map_grows},
    {"store.commit_flusher", test_commit_flusher},
    {0},
};
