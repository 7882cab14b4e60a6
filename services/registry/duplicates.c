/*
 * duplicates.c — possible duplicates: two records with the same normalised full name and birth
 * date under different national IDs (a mistyped ID, or two lists that disagree), flagged for an
 * officer's review rather than refused, as OpenSPP's and openIMIS's deduplication queues do.
 *
 * The check is one index lookup: first-name key "|" last-name key "|" birth date (hy_fa_key,
 * so ZWNJ, Arabic letters and digit scripts never matter) -> person numbers, kept by persons.c on
 * every write. The keys live in the name index (registry.name_idx, search.c) beside the person's
 * full-name key, so that a registration's two keys share a leaf page: "n:" first key + last key
 * (cut to fit) "\x01" first "|" last "|" birth "\x01" person number (8 bytes, big-endian). Name
 * search tells them from its own keys by the byte before the number (\x01, not \0). A registration (or an imported row) that meets another live record there is
 * accepted, answered with possible_duplicates, and a pair is written for review. A pair ends
 * "merged" when either record has been merged into another (persons.merge; worked out when read,
 * so merge needs no hook here) or "not_same" when an officer says they are two people.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fa.h"
#include "page.h"
#include "scope.h"
#include "registry.h"

#define KEY_BUF 480   /* first "|" last "|" birth fits in KEY_BUF - 2, as it always has */
#define KEY_MAX 500   /* a whole key, under LMDB's 511 */

/* The key of the file comment without its number, or 0 when the person lacks a name or birth
 * date (or they are too long for a key). out holds KEY_MAX bytes. */
static size_t s_key(const json_t *person, char out[KEY_MAX])
{
    const char *birth = json_string_value(json_object_get(person, "birth_date"));
    char *first = hy_fa_key(json_string_value(json_object_get(person, "first_name")));
    char *last = hy_fa_key(json_string_value(json_object_get(person, "last_name")));
    char flb[KEY_BUF];
    size_t len = 0;
    int w = birth && first && last && *first && *last
                ? snprintf(flb, sizeof flb - 2, "%s|%s|%s", first, last, birth)
                : -1;
    if (w > 0 && (size_t)w < sizeof flb - 2) {
        /* "n:" run "\x01" flb "\x01" and 8 bytes of number in KEY_MAX. The run is flb up to
         * its last "|" with every "|" left out: first and last run together as in the full-name
         * key when neither has a "|", and always the same for the same flb (the identity). */
        const char *bar = strrchr(flb, '|');
        size_t room = KEY_MAX - 12 - (size_t)w, run = 0;
        memcpy(out, "n:", 2);
        for (const char *c = flb; c < bar && run < room; c++)
            if (*c != '|')
                out[2 + run++] = *c;
        out[2 + run] = '\x01';
        memcpy(out + 3 + run, flb, (size_t)w);
        out[3 + run + (size_t)w] = '\x01';
        len = 4 + run + (size_t)w;
    }
    free(first);
    free(last);
    return len;
}

/* Puts or deletes key (klen bytes of KEY_MAX) with the number n after it. */
static int s_put(MDB_txn *txn, registry_t *st, char *key, size_t klen, uint64_t n, bool put)
{
    hy_key_u64(n, (uint8_t *)key + klen);
    return registry_name_key(txn, st, key, klen + 8, put);
}

int registry_dups_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person, bool put)
{
    char key[KEY_MAX];
    size_t klen = person ? s_key(person, key) : 0;
    return klen ? s_put(txn, st, key, klen, n, put) : 0;
}

int registry_dups_index(hy_ctx_t *ctx, uint64_t n, const json_t *person, bool put)
{
    return registry_dups_keys(ctx->txn, registry_state(ctx), n, person, put);
}

/* Writes one open pair: person n (the newcomer) looks like m. */
static int s_pair(hy_ctx_t *ctx, const json_t *person, const json_t *other)
{
    registry_t *st = registry_state(ctx);
    uint64_t d;
    char id[32];
    int rc = hy_store_next(ctx->txn, st->meta, "dup", &d);
    if (rc)
        return rc;
    hy_id_format("dup", d, id, sizeof id);
    json_t *pair = json_pack("{s:s,s:O,s:O,s:s,s:s,s:s}", "id", id, "person_id",
                             json_object_get(person, "id"), "other_id",
                             json_object_get(other, "id"), "reason", "same_name_and_birth_date",
                             "status", "open", "created_at", ctx->now_iso);
    json_t *imp = json_object_get(person, "import_id");
    if (imp)
        json_object_set(pair, "import_id", imp);
    rc = pair ? hy_store_put_id(ctx->txn, st->dups, d, pair) : ENOMEM;
    json_decref(pair);
    return rc;
}

int registry_dups_key_add(const json_t *person, registry_keyset_t *ks)
{
    char key[KEY_MAX];
    size_t klen = s_key(person, key);
    if (klen > 0)
        ks->dup = registry_keyset_add(ks, key, klen);
    return 0;
}

int registry_dups_flag(hy_ctx_t *ctx, uint64_t n, json_t *person)
{
    char key[KEY_MAX];
    return registry_dups_flag_key(ctx, n, person, key, s_key(person, key));
}

/* The persons under one duplicate key: the index's and the staged ones' (names.c). */
typedef struct {
    const char *key;
    size_t klen;
    uint64_t *nums;   /* sorted and made unique once collected */
    size_t n, cap;
} s_under_t;

static int s_under_add(s_under_t *u, uint64_t m)
{
    if (hy_array_grow(&u->nums, &u->cap, u->n, sizeof *u->nums, 8) != 0)
        return ENOMEM;
    u->nums[u->n++] = m;
    return 0;
}

static int s_staged_under(uint64_t m, const char *key, size_t len, void *user)
{
    s_under_t *u = user;
    return len == u->klen && memcmp(key, u->key, len) == 0 ? s_under_add(u, m) : 0;
}

static int s_staged_dup(uint64_t m, void *user)
{
    return s_under_add(user, m);
}

static int s_cmp_num(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int registry_dups_flag_key(hy_ctx_t *ctx, uint64_t n, json_t *person, const char *key,
                           size_t klen)
{
    if (klen == 0)
        return 0;
    registry_t *st = registry_state(ctx);
    MDB_cursor *cur = NULL;
    MDB_val k = {klen, (void *)key}, v;
    s_under_t under = {.key = key, .klen = klen};
    int rc = mdb_cursor_open(ctx->txn, st->name_idx, &cur);
    /* the persons under this key, by number as the dupsort values of before were */
    for (int op = MDB_SET_RANGE; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        if (k.mv_size < klen || memcmp(k.mv_data, key, klen) != 0) {
            rc = MDB_NOTFOUND;
            break;
        }
        if (k.mv_size == klen + 8 &&
            (rc = s_under_add(&under, hy_key_u64_get((const uint8_t *)k.mv_data + klen))) != 0)
            break;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)   /* and the staged persons: the writer's stage map finds them */
        rc = st->stagemap ? registry_names_staged_dup(ctx->txn, st, key, klen, s_staged_dup, &under)
                          : registry_names_staged_each(ctx->txn, st, s_staged_under, &under);
    if (rc != 0) {
        free(under.nums);
        return hy_fail_mdb(ctx, rc);
    }
    if (under.n > 1)
        qsort(under.nums, under.n, sizeof under.nums[0], s_cmp_num);
    json_t *ids = json_array();
    for (size_t i = 0; i < under.n && rc == 0; i++) {
        uint64_t m = under.nums[i];
        if (m == n || (i > 0 && under.nums[i - 1] == m))
            continue;   /* itself; or in the index and still staged (a layout rebuild) */
        json_t *other = NULL;
        if ((rc = hy_store_get_id(ctx->txn, st->persons, m, &other)) == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0 && !json_object_get(other, "merged_into") &&
            !json_equal(json_object_get(other, "national_id"),
                        json_object_get(person, "national_id"))) {
            json_array_append(ids, json_object_get(other, "id"));
            rc = s_pair(ctx, person, other);
        }
        json_decref(other);
    }
    free(under.nums);
    if (rc != 0) {
        json_decref(ids);
        return hy_fail_mdb(ctx, rc);
    }
    if (json_array_size(ids))
        json_object_set_new(person, "possible_duplicates", ids);
    else
        json_decref(ids);
    return 0;
}

/* What the reviewer sees of one side of a pair: the identity fields, or the stub another
 * office's key gets. */
static json_t *s_side(hy_ctx_t *ctx, const json_t *person)
{
    if (!hy_scope_reads(ctx, json_string_value(json_object_get(person, "office"))))
        return registry_person_stub(person, NULL);
    static const char *const keep[] = {"id", "national_id", "first_name", "last_name",
                                       "birth_date", "birth_date_jalali", "office",
                                       "merged_into", "import_id"};
    json_t *side = json_object();
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(person, keep[i]);
        if (v)
            json_object_set(side, keep[i], v);
    }
    return side;
}

/* Loads a pair and works out its status now (open pairs whose side was merged are "merged"),
 * adding both sides as "person" and "other". */
static int s_load(hy_ctx_t *ctx, uint64_t d, json_t **out)
{
    registry_t *st = registry_state(ctx);
    json_t *pair = NULL, *a = NULL, *b = NULL;
    int rc = hy_store_get_id(ctx->txn, st->dups, d, &pair);
    if (rc == 0)
        rc = registry_person_load(ctx, json_string_value(json_object_get(pair, "person_id")),
                                  NULL, &a);
    if (rc == 0)
        rc = registry_person_load(ctx, json_string_value(json_object_get(pair, "other_id")),
                                  NULL, &b);
    if (rc == 0) {
        const char *status = json_string_value(json_object_get(pair, "status"));
        if (status && strcmp(status, "open") == 0 &&
            (json_object_get(a, "merged_into") || json_object_get(b, "merged_into")))
            json_object_set_new(pair, "status", json_string("merged"));
        json_object_set_new(pair, "person", s_side(ctx, a));
        json_object_set_new(pair, "other", s_side(ctx, b));
        *out = pair;
        pair = NULL;
    }
    json_decref(pair);
    json_decref(a);
    json_decref(b);
    return rc;
}

static int s_load_item(hy_ctx_t *ctx, uint64_t d, void *user, json_t **out)
{
    (void)user;
    return s_load(ctx, d, out);
}

static bool s_keep(const json_t *pair, void *status)
{
    return strcmp(json_string_value(json_object_get(pair, "status")), status) == 0;
}

int registry_dups_list(hy_ctx_t *ctx, const char *status, uint64_t after, int limit,
                       json_t **items, uint64_t *next)
{
    hy_page_t page = {.db = registry_state(ctx)->dups, .load = s_load_item, .keep = s_keep,
                      .user = (void *)(status && *status ? status : "open")};
    return hy_page(ctx, &page, after, limit, items, next);
}

int registry_dups_not_same(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out)
{
    registry_t *st = registry_state(ctx);
    uint64_t d;
    json_t *pair = NULL, *stored = NULL;
    if (hy_id_parse("dup", id, &d) != 0)
        return hy_fail(ctx, 404, "not_found", "id", "no possible duplicate %s", id);
    int rc = s_load(ctx, d, &pair);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no possible duplicate %s", id);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int status;
    const char *now = json_string_value(json_object_get(pair, "status"));
    if (strcmp(now, "open") != 0) {
        status = hy_fail(ctx, 409, "already_resolved", "id", "%s is %s already", id, now);
        goto done;
    }
    /* Either side's office may decide (a key of another office cannot). */
    const char *oa = json_string_value(json_object_get(json_object_get(pair, "person"), "office"));
    const char *ob = json_string_value(json_object_get(json_object_get(pair, "other"), "office"));
    if ((status = hy_scope_write(ctx, "id", oa)) != 0) {
        hy_ctx_clear_error(ctx);
        if ((status = hy_scope_write(ctx, "id", ob)) != 0)
            goto done;
    }
    if ((status = hy_mdb_status(ctx, hy_store_get_id(ctx->txn, st->dups, d, &stored))) != 0)
        goto done;
    json_object_set_new(stored, "status", json_string("not_same"));
    json_object_set_new(stored, "reason_given", json_string(reason ? reason : ""));
    json_object_set_new(stored, "resolved_at", json_string(ctx->now_iso));
    json_object_set_new(
        stored, "resolved_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    if ((status = hy_mdb_status(ctx, hy_store_put_id(ctx->txn, st->dups, d, stored))) != 0)
        goto done;
    json_object_update(pair, stored);
    json_object_set_new(pair, "status", json_string("not_same"));
    *out = json_incref(pair);
done:
    json_decref(pair);
    json_decref(stored);
    return status;
}

