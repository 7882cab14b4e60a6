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
 * pages. The registry's background step (registry_background, handlers.c) moves the oldest 512
 * staged persons into the indexes once HY_NAME_STAGE_MAX (default 4,096) are staged, and all of
 * them once the registry has been idle for HY_NAME_STAGE_IDLE_MS: their keys sorted and put in
 * order, so each leaf is written once for all the keys it receives rather than once per commit
 * that touched it. Readers see both: name search's candidates scan the staged values beside
 * their lookup in the index (a few thousand values at most), the duplicate check on the writer
 * asks the stage map below.
 *
 * Her national ID's key ("i:"nid, registry.person_keys) is staged the same way, first in the
 * value, and merged into person_keys: it is the most random key of all, one leaf a registration,
 * and only merges of many more keys than the index has leaves write fewer pages, so the stage
 * holds thousands. Whoever asks who holds a national ID asks registry_nid_owner (search.c): the
 * index, then the stage; the writer answers the stage from memory (the stage map below), a
 * reader thread by scanning it.
 *
 * The stage map (reactor only): the hash of each staged national-ID key and duplicate key, with
 * the number of the person staged under it. Every staging adds to it, and at start-up it is
 * built from registry.name_new, so a staged key is never missing from it; an entry left by a
 * transaction that was rolled back, or by a person merged or unstaged since, is harmless: every
 * hit is checked against her staged value in the transaction. Entries at or below the last
 * committed merge ("names_merged" in registry.meta) are dropped when the next step begins.
 *
 * A staged value: for each key, its length (2 bytes, little-endian) and its bytes, without the
 * person number (the entry's key). A person whose keys change (registry_person_keys deleting
 * hers) is unstaged first: her new keys go to name_idx directly, as every change did before.
 * HY_NAME_STAGE_MAX=0 puts a registration's keys straight into name_idx (to measure, and for
 * tests comparing the two).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define DEFAULT_STAGE_MAX 4096

static bool s_is_nid_key(const char *key, size_t len)
{
    return len >= 2 && key[0] == 'i' && key[1] == ':';
}

/* duplicates.c's key ends with "\x01"; search.c's runs with "\0" */
static bool s_is_dup_key(const char *key, size_t len)
{
    return len > 2 && key[0] == 'n' && key[len - 1] == '\x01';
}

typedef int (*s_key_fn)(uint64_t n, const char *key, size_t len, void *user);

/* Calls fn(n, key, len, user) for each key of staged value v (person n): every key, or with
 * all false the name keys only. Stops at fn's first non-zero return, which it returns; else 0,
 * or MDB_CORRUPTED for a value that does not parse. */
static int s_value_keys(const MDB_val *v, uint64_t n, bool all, s_key_fn fn, void *user)
{
    int rc = 0;
    for (const uint8_t *p = v->mv_data, *end = p + v->mv_size; rc == 0 && p + 2 <= end;) {
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        if (p + 2 + len > end)
            return MDB_CORRUPTED;
        if (all || !s_is_nid_key((const char *)p + 2, len))
            rc = fn(n, (const char *)p + 2, len, user);
        p += 2 + len;
    }
    return rc;
}

/* s_value_keys over every staged person, in number order. 0, fn's stop, or an LMDB error. */
static int s_each_key(MDB_txn *txn, const registry_t *st, bool all, s_key_fn fn, void *user)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->name_new, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0)
            rc = k.mv_size == 8 ? s_value_keys(&v, hy_key_u64_get(k.mv_data), all, fn, user)
                                : MDB_CORRUPTED;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the stage map ---------------------------------------------------------------------------- */

struct registry_stagemap {
    uint64_t *h, *n;   /* open addressing; h 0: empty */
    size_t cap, used;
};

static uint64_t s_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ULL;
    return h | 1;
}

static void s_map_put_at(uint64_t *hs, uint64_t *ns, size_t cap, uint64_t h, uint64_t n)
{
    size_t i = h & (cap - 1);
    while (hs[i])
        i = (i + 1) & (cap - 1);
    hs[i] = h;
    ns[i] = n;
}

/* Rebuilds the map with room for need entries, keeping those above upto. 0 or ENOMEM. */
static int s_map_rebuild(struct registry_stagemap *m, size_t need, uint64_t upto)
{
    size_t cap = 1024;
    while (cap < 2 * need)
        cap *= 2;
    uint64_t *hs = calloc(cap, sizeof *hs), *ns = calloc(cap, sizeof *ns);
    if (!hs || !ns) {
        free(hs);
        free(ns);
        return ENOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->h[i] && m->n[i] > upto) {
            s_map_put_at(hs, ns, cap, m->h[i], m->n[i]);
            used++;
        }
    free(m->h);
    free(m->n);
    *m = (struct registry_stagemap){hs, ns, cap, used};
    return 0;
}

static int s_map_put(struct registry_stagemap *m, const char *key, size_t len, uint64_t n)
{
    if (2 * (m->used + 1) > m->cap && s_map_rebuild(m, m->used + 1, 0) != 0)
        return ENOMEM;
    s_map_put_at(m->h, m->n, m->cap, s_hash(key, len), n);
    m->used++;
    return 0;
}

typedef struct {
    const char *key;
    size_t klen;
    uint64_t n;   /* who holds it, once found */
} s_want_t;

/* 1 (stop) when key is the one wanted. */
static int s_is_wanted(uint64_t n, const char *key, size_t len, void *user)
{
    s_want_t *w = user;
    w->n = n;
    return len == w->klen && memcmp(key, w->key, len) == 0;
}

/* Whether person m's staged value holds key (exactly). 0 yes, MDB_NOTFOUND no, or an error. */
static int s_staged_holds(MDB_txn *txn, const registry_t *st, uint64_t m, const char *key,
                          size_t klen)
{
    uint8_t mk[8];
    hy_key_u64(m, mk);
    MDB_val k = {8, mk}, v;
    int rc = mdb_get(txn, st->name_new, &k, &v);
    if (rc != 0)
        return rc;
    s_want_t want = {key, klen, 0};
    rc = s_value_keys(&v, m, true, s_is_wanted, &want);
    return rc == 1 ? 0 : rc == 0 ? MDB_NOTFOUND : rc;
}

/* Calls fn for each staged person holding key, found through the map (each hit checked). */
static int s_map_each(MDB_txn *txn, const registry_t *st, const char *key, size_t klen,
                      int (*fn)(uint64_t n, void *user), void *user)
{
    const struct registry_stagemap *m = st->stagemap;
    uint64_t h = s_hash(key, klen);
    int rc = 0;
    for (size_t i = h & (m->cap - 1); rc == 0 && m->h[i]; i = (i + 1) & (m->cap - 1)) {
        if (m->h[i] != h)
            continue;
        rc = s_staged_holds(txn, st, m->n[i], key, klen);
        rc = rc == 0 ? fn(m->n[i], user) : rc == MDB_NOTFOUND ? 0 : rc;
    }
    return rc;
}

/* A staged key the stage map holds (national ID, duplicate key), put into it. */
static int s_map_key(uint64_t n, const char *key, size_t len, void *user)
{
    registry_t *st = user;
    return s_is_nid_key(key, len) || s_is_dup_key(key, len) ? s_map_put(st->stagemap, key, len, n)
                                                            : 0;
}

int registry_names_open(MDB_txn *txn, registry_t *st)
{
    st->stagemap = calloc(1, sizeof *st->stagemap);
    if (!st->stagemap || s_map_rebuild(st->stagemap, 0, 0) != 0)
        return ENOMEM;
    return s_each_key(txn, st, true, s_map_key, st);
}

void registry_names_close(registry_t *st)
{
    if (st->stagemap) {
        free(st->stagemap->h);
        free(st->stagemap->n);
        free(st->stagemap);
        st->stagemap = NULL;
    }
}

size_t registry_names_stage_max(void)
{
    const char *e = getenv("HY_NAME_STAGE_MAX");
    char *end = NULL;
    long v = e && *e ? strtol(e, &end, 10) : DEFAULT_STAGE_MAX;
    return end && *end ? DEFAULT_STAGE_MAX : v < 0 ? 0 : (size_t)v;
}

int registry_names_stage(MDB_txn *txn, registry_t *st, uint64_t n, const char *nid_key,
                         size_t nid_len, const registry_keyset_t *ks)
{
    size_t len = nid_len ? 2u + nid_len : 0;
    for (int i = 0; i < ks->count; i++)
        len += 2u + ks->len[i];
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v = {len, NULL};
    int rc = mdb_put(txn, st->name_new, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    if (st->stagemap &&   /* every staged national-ID and duplicate key is in the map */
        ((nid_len && s_map_put(st->stagemap, nid_key, nid_len, n) != 0) ||
         (ks->dup >= 0 &&
          s_map_put(st->stagemap, ks->buf + ks->off[ks->dup], ks->len[ks->dup], n) != 0)))
        return ENOMEM;
    uint8_t *out = v.mv_data;
    if (nid_len) {   /* first */
        out[0] = (uint8_t)(nid_len & 0xff);
        out[1] = (uint8_t)(nid_len >> 8);
        memcpy(out + 2, nid_key, nid_len);
        out += 2u + nid_len;
    }
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

static const char s_merged[] = "names_merged";

int registry_names_prune(MDB_txn *txn, registry_t *st)
{
    uint64_t upto = 0;
    int rc = hy_store_counter(txn, st->meta, s_merged, &upto);
    if (rc != 0 || !st->stagemap || upto <= st->stagemap_pruned)
        return rc;
    if ((rc = s_map_rebuild(st->stagemap, st->stagemap->used, upto)) == 0)
        st->stagemap_pruned = upto;
    return rc;
}

typedef struct {
    uint64_t n;
    bool found;
} s_first_t;

static int s_first(uint64_t n, void *user)
{
    s_first_t *f = user;
    f->n = n;
    f->found = true;
    return 1;   /* stop */
}

int registry_names_staged_nid(MDB_txn *txn, const registry_t *st, bool writer, const char *key,
                              size_t klen, uint64_t *n)
{
    if (writer && st->stagemap) {
        s_first_t f = {0, false};
        int rc = s_map_each(txn, st, key, klen, s_first, &f);
        if (rc != 0 && rc != 1)
            return rc;
        *n = f.n;
        return f.found ? 0 : MDB_NOTFOUND;
    }
    s_want_t want = {key, klen, 0};   /* a reader thread: the stage scanned */
    int rc = s_each_key(txn, st, true, s_is_wanted, &want);
    if (rc == 1)
        *n = want.n;
    return rc == 1 ? 0 : rc == 0 ? MDB_NOTFOUND : rc;
}

int registry_names_staged_dup(MDB_txn *txn, const registry_t *st, const char *key, size_t klen,
                              int (*fn)(uint64_t n, void *user), void *user)
{
    return st->stagemap ? s_map_each(txn, st, key, klen, fn, user) : ENOMEM;
}

int registry_names_staged_each(MDB_txn *txn, const registry_t *st,
                               int (*fn)(uint64_t n, const char *key, size_t len, void *user),
                               void *user)
{
    return s_each_key(txn, st, false, fn, user);
}

size_t registry_names_mapped(const registry_t *st)
{
    return st->stagemap ? st->stagemap->used : 0;
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
        if ((rc = s_value_keys(&v, hy_key_u64_get(k.mv_data), true, s_collect, &m)) != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto done;
    /* sorted, so that each leaf of name_idx is visited once, in order */
    qsort(m.keys, m.n, sizeof *m.keys, s_cmp_mkey);
    MDB_val none = {0, NULL};
    rc = 0;
    for (size_t i = 0; i < m.n && rc == 0; i++) {
        size_t len = m.keys[i].len;
        if (s_is_nid_key(m.keys[i].p, len - 8)) {   /* "i:"nid -> number, in person_keys */
            rc = hy_index_put(txn, st->person_idx, m.keys[i].p, len - 8,
                              hy_key_u64_get((const uint8_t *)m.keys[i].p + len - 8));
            continue;
        }
        MDB_val key = {len, m.keys[i].p};
        rc = mdb_put(txn, st->name_idx, &key, &none, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    if (rc != 0)
        goto done;
    /* then the staged persons, from the first; the last one's number marks what the stage map
     * may forget once this commits (registry_names_prune) */
    rc = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < persons && rc == 0; i++) {
        if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
            last = hy_key_u64_get(k.mv_data);
            rc = mdb_cursor_del(cur, 0);
        }
    }
    if (rc == 0 && persons > 0) {
        uint8_t val[8];
        hy_key_u64(last, val);
        MDB_val mk = {sizeof s_merged - 1, (void *)s_merged}, mv = {8, val};
        rc = mdb_put(txn, st->meta, &mk, &mv, 0);
    }
    if (rc == 0)
        *merged = persons;
done:
    mdb_cursor_close(cur);
    free(m.keys);
    free(m.arena);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
