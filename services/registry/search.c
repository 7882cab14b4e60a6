/*
 * search.c — the person indexes and GET /v1/persons: lookups by national ID, office and
 * neighbourhood, and name search.
 *
 * Name search works on normalised text (hy_fa_normalize: Arabic ي/ك folded to ی/ک, digits to
 * ASCII, ZWNJ and diacritics removed, spaces folded). A person matches q when every word of q
 * starts a word of the name, or when q without its spaces starts one of the runs of words from
 * one word to the end with the spaces removed (so that a space typed where the name has a ZWNJ,
 * or the reverse, still matches). Candidates come from one prefix scan on q's first word; they
 * are then sorted by id so that pages follow the id cursor like every other list.
 *
 * The name index (registry.name_idx) holds one key per run: "n:"run"\0" and the person number
 * (8 bytes, big-endian), with no value. A word starts the run that begins with it, so the runs
 * alone give the scan every person the words would; a run too long for a key is replaced by its
 * first word. One flat key per run, rather than dupsort values under each word and each run,
 * keeps a registration to two or three leaf pages of this index: the persons who share a word
 * sit side by side in one leaf instead of in a sub-database of their own. The other person keys
 * ("i:", "o:", "h:") are 8-byte values of a DUPSORT|DUPFIXED database (registry.person_keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fa.h"
#include "registry.h"
#include "scope.h"

#define MAX_WORDS 16
#define KEY_BUF 512

/* A normalised name split in place into words; compact holds the words with no spaces and
 * starts[i] where word i begins in it. */
typedef struct {
    char *norm;
    char *compact;
    char *words[MAX_WORDS];
    size_t starts[MAX_WORDS];
    int count;
} s_words_t;

static void s_words_free(s_words_t *w)
{
    free(w->norm);
    free(w->compact);
    memset(w, 0, sizeof *w);
}

/* Returns 0, or -1 for invalid UTF-8 or no memory. Words beyond MAX_WORDS are dropped. */
static int s_words(const char *text, s_words_t *w)
{
    memset(w, 0, sizeof *w);
    w->norm = hy_fa_normalize(text ? text : "");
    w->compact = w->norm ? malloc(strlen(w->norm) + 1) : NULL;
    if (!w->compact) {
        s_words_free(w);
        return -1;
    }
    size_t c = 0;
    char *save = NULL;
    for (char *p = strtok_r(w->norm, " ", &save); p && w->count < MAX_WORDS;
         p = strtok_r(NULL, " ", &save)) {
        w->words[w->count] = p;
        w->starts[w->count++] = c;
        size_t len = strlen(p);
        memcpy(w->compact + c, p, len);
        c += len;
    }
    w->compact[c] = '\0';
    return 0;
}

static int s_full_name(const json_t *person, s_words_t *w)
{
    const char *first = json_string_value(json_object_get(person, "first_name"));
    const char *last = json_string_value(json_object_get(person, "last_name"));
    size_t len = (first ? strlen(first) : 0) + (last ? strlen(last) : 0) + 2;
    char *full = malloc(len);
    if (!full)
        return -1;
    snprintf(full, len, "%s %s", first ? first : "", last ? last : "");
    int rc = s_words(full, w);
    free(full);
    return rc;
}

static bool s_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The matching rule of the file comment. */
static bool s_name_matches(const s_words_t *name, const s_words_t *q)
{
    bool all = true;
    for (int i = 0; i < q->count && all; i++) {
        bool found = false;
        for (int j = 0; j < name->count && !found; j++)
            found = s_prefix(name->words[j], q->words[i]);
        all = found;
    }
    if (all)
        return true;
    for (int j = 0; j < name->count; j++)
        if (s_prefix(name->compact + name->starts[j], q->compact))
            return true;
    return false;
}

/* Puts or deletes one index entry; a key that cannot be made (empty text) is skipped. */
static int s_index_one(MDB_txn *txn, registry_t *st, uint64_t n, const char *key, size_t klen,
                       bool put)
{
    if (klen == 0)
        return 0;
    return put ? hy_index_put(txn, st->person_idx, key, klen, n)
               : hy_index_del(txn, st->person_idx, key, klen, n);
}

int registry_name_key(MDB_txn *txn, registry_t *st, const char *key, size_t len, bool put)
{
    MDB_val k = {len, (void *)key}, none = {0, NULL};
    int rc = put ? mdb_put(txn, st->name_idx, &k, &none, MDB_NOOVERWRITE)
                 : mdb_del(txn, st->name_idx, &k, NULL);
    return rc == MDB_KEYEXIST || rc == MDB_NOTFOUND ? 0 : rc;
}

int registry_keyset_add(registry_keyset_t *ks, const char *key, size_t len)
{
    if (ks->count >= REGISTRY_KEYSET_MAX || len > sizeof ks->buf - ks->used) {
        ks->full = true;
        return -1;
    }
    ks->off[ks->count] = (uint16_t)ks->used;
    ks->len[ks->count] = (uint16_t)len;
    memcpy(ks->buf + ks->used, key, len);
    ks->used += len;
    return ks->count++;
}

int registry_keyset_put(MDB_txn *txn, registry_t *st, uint64_t n, const registry_keyset_t *ks,
                        bool put)
{
    char key[REGISTRY_KEYSET_BYTES + 8];
    int rc = 0;
    for (int i = 0; i < ks->count && rc == 0; i++) {
        memcpy(key, ks->buf + ks->off[i], ks->len[i]);
        hy_key_u64(n, (uint8_t *)key + ks->len[i]);
        rc = registry_name_key(txn, st, key, ks->len[i] + 8u, put);
    }
    return rc;
}

int registry_name_runs(const json_t *person, registry_keyset_t *ks)
{
    s_words_t w;
    char key[KEY_BUF + 1];
    if (s_full_name(person, &w) != 0)
        return ENOMEM;
    /* The runs from word j to the end (the last run is the last word itself), each ended by
     * "\0". Put and delete are idempotent, so a run repeated in the name is harmless. */
    for (int j = 0; j < w.count; j++) {
        size_t klen = registry_key_text('n', w.compact + w.starts[j], key, KEY_BUF);
        if (klen == 0)
            klen = registry_key_text('n', w.words[j], key, KEY_BUF);
        if (klen == 0)
            continue;
        key[klen] = '\0';
        registry_keyset_add(ks, key, klen + 1);
    }
    s_words_free(&w);
    return 0;
}

int registry_nid_owner(hy_ctx_t *ctx, const char *key, size_t klen, uint64_t *n)
{
    const registry_t *st = registry_state(ctx);
    int rc = hy_index_first(ctx->txn, st->person_idx, key, klen, n);
    return rc == MDB_NOTFOUND ? registry_names_staged_nid(ctx->txn, st, !ctx->read, key, klen, n)
                              : rc;
}

int registry_person_plain_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                               bool with_nid, bool put)
{
    static const struct {
        char tag;
        const char *field;
    } plain[] = {
        {'i', "national_id"},
        {'o', "office"},
        {'h', "neighbourhood"},
    };
    char key[KEY_BUF + 9];
    int rc = 0;
    for (size_t i = with_nid ? 0 : 1; i < sizeof plain / sizeof plain[0] && rc == 0; i++) {
        const char *text = json_string_value(json_object_get(person, plain[i].field));
        rc = s_index_one(txn, st, n, key, registry_key_text(plain[i].tag, text, key, KEY_BUF),
                         put);
    }
    return rc;
}

int registry_person_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                         bool put)
{
    return registry_person_keys_with(txn, st, n, person, NULL, put);
}

int registry_person_keys_with(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                              const registry_keyset_t *keys, bool put)
{
    /* her keys change: the staged ones go too (names.c); deleting her keys from the indexes
     * then finds none of them there, which is fine */
    int rc = put ? 0 : registry_names_unstage(txn, st, n);
    if (rc == 0)
        rc = registry_person_plain_keys(txn, st, n, person, true, put);
    if (rc != 0)
        return rc;
    if (keys && !keys->full)
        return registry_keyset_put(txn, st, n, keys, put);
    registry_keyset_t *made = malloc(sizeof *made);
    if (!made)
        return ENOMEM;
    registry_keyset_init(made);
    rc = registry_name_runs(person, made);
    if (rc == 0 && made->full)
        rc = ENAMETOOLONG;   /* cannot be: KEY_BUF-long runs, at most MAX_WORDS of them */
    if (rc == 0)
        rc = registry_keyset_put(txn, st, n, made, put);
    free(made);
    return rc;
}

int registry_person_index(hy_ctx_t *ctx, uint64_t n, const json_t *person, bool put)
{
    return registry_person_keys(ctx->txn, registry_state(ctx), n, person, put);
}

/* ------------------------------------------------------------------- listing ------------- */

typedef struct {
    char nid[11]; /* "" = no filter */
    char *office; /* normalised; NULL = no filter */
    char *hood;
    char mobile[12]; /* "" = no filter */
    char nid_part[11]; /* digits; "" = no filter */
    s_words_t q; /* q.count == 0: no name filter */
    bool merged_too; /* keep persons merged into another (retired records) */
} s_filter_t;

static bool s_norm_equal(const char *raw, const char *norm)
{
    char *n = hy_fa_key(raw ? raw : "");
    bool eq = n && strcmp(n, norm) == 0;
    free(n);
    return eq;
}

static bool s_keep(const json_t *person, void *user)
{
    s_filter_t *f = user;
    if (!f->merged_too && json_object_get(person, "merged_into"))
        return false;
    if (f->nid[0] &&
        !s_norm_equal(json_string_value(json_object_get(person, "national_id")), f->nid))
        return false;
    if (f->office && !s_norm_equal(json_string_value(json_object_get(person, "office")), f->office))
        return false;
    const char *have = json_string_value(json_object_get(person, "mobile"));
    if (f->mobile[0] && (!have || strcmp(have, f->mobile) != 0))
        return false;
    have = json_string_value(json_object_get(person, "national_id"));
    if (f->nid_part[0] && (!have || !strstr(have, f->nid_part)))
        return false;
    if (f->hood &&
        !s_norm_equal(json_string_value(json_object_get(person, "neighbourhood")), f->hood))
        return false;
    if (f->q.count == 0)
        return true;
    s_words_t name;
    if (s_full_name(person, &name) != 0)
        return false;
    bool ok = s_name_matches(&name, &f->q);
    s_words_free(&name);
    return ok;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The digits of a national-ID fragment (any script; spaces and dashes skipped) into out: 0, or
 * the status of 422 short_fragment. */
static int s_nid_part(hy_ctx_t *ctx, const char *text, char out[11])
{
    char *ascii = hy_fa_ascii_digits(text);
    size_t n = 0;
    bool ok = ascii != NULL;
    for (const char *p = ascii; ok && *p; p++) {
        if (*p >= '0' && *p <= '9' && n < 10)
            out[n++] = *p;
        else
            ok = *p == ' ' || *p == '-';
    }
    out[n] = '\0';
    free(ascii);
    if (!ok || n < 3)
        return hy_fail(ctx, 422, "short_fragment", "national_id_contains",
                       "a national ID fragment is 3 to 10 digits");
    return 0;
}

typedef struct {
    const char *key;
    size_t klen;
    uint64_t **ids;
    size_t *count, *cap;
} s_staged_scan_t;

static int s_add_id(uint64_t **ids, size_t *count, size_t *cap, uint64_t n)
{
    if (hy_array_grow(ids, cap, *count, sizeof **ids, 64) != 0)
        return ENOMEM;
    (*ids)[(*count)++] = n;
    return 0;
}

/* A staged run key (ended by "\0", names.c) starting with the word's key. */
static int s_staged_candidate(uint64_t n, const char *key, size_t len, void *user)
{
    s_staged_scan_t *s = user;
    if (len < s->klen + 1 || key[len - 1] != '\0' || memcmp(key, s->key, s->klen) != 0)
        return 0;
    return s_add_id(s->ids, s->count, s->cap, n);
}

/* Every person number under a name key starting with word, sorted and unique: the index's,
 * and the staged persons' (names.c). */
static int s_candidates(hy_ctx_t *ctx, const char *word, uint64_t **ids, size_t *count)
{
    char key[KEY_BUF];
    size_t klen = registry_key_text('n', word, key, sizeof key);
    *ids = NULL;
    *count = 0;
    if (klen == 0)
        return 0;
    const registry_t *st = registry_state(ctx);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(ctx->txn, st->name_idx, &cur);
    if (rc)
        return rc;
    size_t cap = 0;
    MDB_val k = {klen, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < klen || memcmp(k.mv_data, key, klen) != 0)
            break;
        if (k.mv_size < klen + 9) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (((const char *)k.mv_data)[k.mv_size - 9] != '\0')
            continue; /* a duplicate-check key (duplicates.c) */
        if ((rc = s_add_id(ids, count, &cap,
                           hy_key_u64_get((const uint8_t *)k.mv_data + k.mv_size - 8))) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc == 0 || rc == MDB_NOTFOUND) {
        s_staged_scan_t scan = {key, klen, ids, count, &cap};
        rc = registry_names_staged_each(ctx->txn, st, s_staged_candidate, &scan);
    }
    if (rc != 0) {
        free(*ids);
        *ids = NULL;
        *count = 0;
        return rc;
    }
    if (*count > 1)
        qsort(*ids, *count, sizeof **ids, s_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < *count; i++)
        if (u == 0 || (*ids)[u - 1] != (*ids)[i])
            (*ids)[u++] = (*ids)[i];
    *count = u;
    return 0;
}

/* A page of the persons numbered ids (count of them, sorted, unique) that f keeps, after the
 * cursor: next is set only when another such person exists. 0, or an LMDB error. */
static int s_page_ids(hy_ctx_t *ctx, s_filter_t *f, const uint64_t *ids, size_t count,
                      uint64_t after, int limit, json_t **items, uint64_t *next)
{
    json_t *page = json_array();
    uint64_t last = 0;
    *next = 0;
    for (size_t i = 0; i < count; i++) {
        if (ids[i] <= after)
            continue;
        json_t *person = NULL;
        int rc = hy_store_get_id(ctx->txn, registry_state(ctx)->persons, ids[i], &person);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc) {
            json_decref(page);
            return rc;
        }
        bool keep = s_keep(person, f);
        if (keep && (int)json_array_size(page) == limit) {
            *next = last;
            json_decref(person);
            break;
        }
        if (keep) {
            json_array_append_new(page, person);
            last = ids[i];
        } else {
            json_decref(person);
        }
    }
    *items = page;
    return 0;
}

/* A page of name-search results: candidates after the cursor, filtered by s_keep. next is set
 * only when another matching person exists, so the last page ends with a null cursor. */
static int s_search(hy_ctx_t *ctx, s_filter_t *f, uint64_t after, int limit, json_t **items,
                    uint64_t *next)
{
    uint64_t *ids;
    size_t count;
    int rc = s_candidates(ctx, f->q.words[0], &ids, &count);
    if (rc == 0)
        rc = s_page_ids(ctx, f, ids, count, after, limit, items, next);
    free(ids);
    return hy_mdb_status(ctx, rc);
}

int registry_person_list(hy_ctx_t *ctx, const registry_person_filter_t *in, json_t **items,
                         uint64_t *next)
{
    registry_t *st = registry_state(ctx);
    s_filter_t f;
    memset(&f, 0, sizeof f);
    int status = 0;
    char key[KEY_BUF];
    size_t klen = 0;
    if (in->national_id && *in->national_id &&
        hy_national_id_normalize(in->national_id, f.nid) != HY_NID_OK) {
        *items = json_array(); /* no person has an invalid national ID */
        *next = 0;
        return 0;
    }
    /* A key of one office lists that office's persons; only a national ID lookup (what
     * deduplication needs) crosses offices, and its other-office items are stubs. */
    const char *mine = hy_scope_office(ctx);
    if (mine && !f.nid[0] && in->office && *in->office && !hy_scope_same(mine, in->office))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s and lists only its persons", mine);
    if (mine && !f.nid[0])
        f.office = hy_fa_key(mine);
    else if (in->office && *in->office)
        f.office = hy_fa_key(in->office);
    f.merged_too = f.nid[0] != 0;
    if (in->mobile && *in->mobile && hy_mobile_normalize(in->mobile, f.mobile) != 0) {
        status = hy_fail(ctx, 422, "invalid_mobile", "mobile",
                         "%s is not an Iranian mobile number (09xxxxxxxxx)", in->mobile);
        goto done;
    }
    if (in->nid_part && *in->nid_part && (status = s_nid_part(ctx, in->nid_part, f.nid_part)) != 0)
        goto done;
    if (in->neighbourhood && *in->neighbourhood)
        f.hood = hy_fa_key(in->neighbourhood);
    if (in->q && s_words(in->q, &f.q) != 0) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    /* The most selective index first: national ID, name, neighbourhood, office. */
    if (f.nid[0])
        klen = registry_key_text('i', f.nid, key, sizeof key);
    else if (f.q.count > 0)
        status = s_search(ctx, &f, in->after, in->limit, items, next);
    else if (f.hood && *f.hood)
        klen = registry_key_text('h', f.hood, key, sizeof key);
    else if (f.office && *f.office)
        klen = registry_key_text('o', f.office, key, sizeof key);
    /* a national ID registered a moment ago may still be staged (names.c): she alone holds it */
    uint64_t staged = 0;
    int rc = f.nid[0] ? registry_names_staged_nid(ctx->txn, st, !ctx->read, key, klen, &staged)
                      : MDB_NOTFOUND;
    if (rc == 0)
        status = (rc = s_page_ids(ctx, &f, &staged, 1, in->after, in->limit, items, next))
                     ? hy_fail_mdb(ctx, rc)
                     : 0;
    else if (rc != MDB_NOTFOUND)
        status = hy_fail_mdb(ctx, rc);
    else if (f.nid[0] || f.q.count == 0)
        status = registry_page(ctx, st->persons, st->person_idx, klen ? key : NULL, klen, in->after,
                               in->limit, s_keep, &f, items, next);
    if (status == 0 && mine && f.nid[0]) {
        size_t i;
        json_t *p;
        json_array_foreach(*items, i, p) {
            if (!hy_scope_reads(ctx, json_string_value(json_object_get(p, "office"))))
                json_array_set_new(*items, i, registry_person_stub(p, in->national_id));
        }
    }
done:
    free(f.office);
    free(f.hood);
    s_words_free(&f.q);
    return status;
}
