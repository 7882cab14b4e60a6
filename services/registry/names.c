/*
 * names.c — a registration's name-index keys, staged by person and merged in sorted steps.
 *
 * Each registration has four to six keys in registry.name_idx (search.c's runs of name words,
 * duplicates.c's name-and-birth-date key). Put one registration at a time, they land on as many
 * leaf pages, each at the tail of its own name's keys, and every durable commit writes every
 * leaf it touched: a commit of 32 registrations wrote well over a hundred scattered pages of
 * this index alone, the most of what its fdatasync waited for (make bench measured POST
 * /v1/persons at 0.44 of the bare write pipeline with these keys, 0.90 without them).
 *
 * So a new person's keys are first written together, as one value under her number, in
 * registry.name_new: numbers only grow, so a commit's registrations append to one or two
 * pages. The registry's background step (registry_background) moves staged persons into
 * registry.name_idx once REGISTRY_NAMES_STAGE_MAX (HY_NAME_STAGE_MAX, default 256) are staged,
 * or whenever the registry is idle: all their keys sorted, put in order, in a transaction of
 * their own, so each leaf is written once for all the keys it receives rather than once per
 * commit that touched it. Readers see both: name search's candidates and the duplicate check
 * scan the staged values beside their lookup in the index (a few hundred values at most).
 *
 * A staged value: for each key, its length (2 bytes, little-endian) and its bytes, without the
 * person number (the entry's key). A person whose keys change (registry_person_keys deleting
 * hers) is unstaged first: her new keys go to name_idx directly, as every change did before.
 * HY_NAME_STAGE_MAX=0 puts a registration's keys straight into name_idx (to measure, and for
 * tests comparing the two).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define DEFAULT_STAGE_MAX 256

size_t registry_names_stage_max(void)
{
    const char *e = getenv("HY_NAME_STAGE_MAX");
    char *end = NULL;
    long v = e && *e ? strtol(e, &end, 10) : DEFAULT_STAGE_MAX;
    return end && *end ? DEFAULT_STAGE_MAX : v < 0 ? 0 : (size_t)v;
}

int registry_names_stage(MDB_txn *txn, registry_t *st, uint64_t n, const registry_keyset_t *ks)
{
    size_t len = 0;
    for (int i = 0; i < ks->count; i++)
        len += 2u + ks->len[i];
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v = {len, NULL};
    int rc = mdb_put(txn, st->name_new, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    uint8_t *out = v.mv_data;
    for (int i = 0; i < ks->count; i++) {
        out[0] = (uint8_t)(ks->len[i] & 0xff);
        out[1] = (uint8_t)(ks->len[i] >> 8);
        memcpy(out + 2, ks->buf + ks->off[i], ks->len[i]);
        out += 2u + ks->len[i];
    }
    return 0;
}

int registry_names_unstage(MDB_txn *txn, registry_t *st, uint64_t n)
{
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key};
    int rc = mdb_del(txn, st->name_new, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int registry_names_staged_each(MDB_txn *txn, const registry_t *st,
                               int (*fn)(uint64_t n, const char *key, size_t len, void *user),
                               void *user)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->name_new, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t n = hy_key_u64_get(k.mv_data);
        const uint8_t *p = v.mv_data, *end = p + v.mv_size;
        while (rc == 0 && p + 2 <= end) {
            size_t len = (size_t)p[0] | (size_t)p[1] << 8;
            if (p + 2 + len > end) {
                rc = MDB_CORRUPTED;
                break;
            }
            rc = fn(n, (const char *)p + 2, len, user);
            p += 2 + len;
        }
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

size_t registry_names_staged(MDB_txn *txn, const registry_t *st)
{
    MDB_stat s;
    return mdb_stat(txn, st->name_new, &s) == 0 ? s.ms_entries : 0;
}

/* One key of the merge: the whole name_idx key (key bytes, then the person number). */
typedef struct {
    char *p;
    size_t len;
} s_mkey_t;

typedef struct {
    s_mkey_t *keys;
    size_t n, cap;
    char *arena;   /* the keys' bytes, one block per merge */
    size_t used, size;
} s_merge_t;

static int s_cmp_mkey(const void *a, const void *b)
{
    const s_mkey_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static int s_collect(uint64_t n, const char *key, size_t len, void *user)
{
    s_merge_t *m = user;
    if (m->n == m->cap || m->used + len + 8 > m->size)
        return ENOMEM;   /* sized by registry_names_merge: cannot happen */
    char *p = m->arena + m->used;
    memcpy(p, key, len);
    hy_key_u64(n, (uint8_t *)p + len);
    m->keys[m->n++] = (s_mkey_t){p, len + 8};
    m->used += len + 8;
    return 0;
}

int registry_names_merge(MDB_txn *txn, registry_t *st, size_t max, size_t *merged)
{
    *merged = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->name_new, &cur);
    if (rc != 0)
        return rc;
    /* the first max staged persons: their keys' count and bytes, then the keys themselves */
    size_t persons = 0, nkeys = 0, bytes = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && persons < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        persons++;
        bytes += v.mv_size + 8 * (v.mv_size / 2 + 1);
        nkeys += v.mv_size / 2 + 1;   /* at most one key per two bytes of value */
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return rc;
    }
    s_merge_t m = {calloc(nkeys ? nkeys : 1, sizeof *m.keys), 0, nkeys, malloc(bytes + 1), 0,
                   bytes};
    if (!m.keys || !m.arena) {
        rc = ENOMEM;
        goto done;
    }
    size_t taken = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && taken < persons;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), taken++) {
        uint64_t n = hy_key_u64_get(k.mv_data);
        const uint8_t *p = v.mv_data, *end = p + v.mv_size;
        while (rc == 0 && p + 2 <= end) {
            size_t len = (size_t)p[0] | (size_t)p[1] << 8;
            rc = p + 2 + len > end ? MDB_CORRUPTED : s_collect(n, (const char *)p + 2, len, &m);
            p += 2 + len;
        }
        if (rc != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto done;
    /* sorted, so that each leaf of name_idx is visited once, in order */
    qsort(m.keys, m.n, sizeof *m.keys, s_cmp_mkey);
    MDB_val none = {0, NULL};
    for (size_t i = 0; i < m.n; i++) {
        MDB_val key = {m.keys[i].len, m.keys[i].p};
        rc = mdb_put(txn, st->name_idx, &key, &none, MDB_NOOVERWRITE);
        if (rc != 0 && rc != MDB_KEYEXIST)
            goto done;
    }
    /* then the staged persons, from the first */
    rc = 0;
    for (size_t i = 0; i < persons && rc == 0; i++) {
        if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0)
            rc = mdb_cursor_del(cur, 0);
    }
    if (rc == 0)
        *merged = persons;
done:
    mdb_cursor_close(cur);
    free(m.keys);
    free(m.arena);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
