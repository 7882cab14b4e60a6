/*
 * test_registry_layout.c — a data directory whose person indexes were written in the layout of
 * before (registry.person_idx: every key MDB_DUPSORT, name words and runs as "n:" keys;
 * registry.dup_idx: MDB_DUPSORT) still searches, finds duplicates and keeps national IDs unique
 * once the service has started on it, and the old databases are gone.
 *
 * The old layout is written here by hand, as the code of before wrote it, so the test does not
 * depend on the code it checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/registry/registry.h"
#include "fa.h"
#include "test.h"
#include "test_registry.h"
#include "testutil.h"

static int s_create(hy_service_t *svc, unsigned base, const char *first, const char *last,
                    const char *office, const char *extra, json_t **result)
{
    char nid[11];
    registry_test_nid(base, nid);
    int status = 0;
    json_t *r = hy_test_call(svc, "persons.create", SS, office, &status,
                             "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                             "\"birth_date\":\"1985-03-21\",\"sex\":\"female\",\"office\":\"%s\"%s}",
                             nid, first, last, office, extra);
    if (result)
        *result = json_incref(json_object_get(r, "result"));
    json_decref(r);
    return status;
}

static size_t s_count(hy_service_t *svc, const char *members)
{
    int status = 0;
    json_t *r = hy_test_call(svc, "persons.list", "auditor", "*", &status, "{\"limit\":500%s}",
                             members);
    size_t n = status == 200 ? json_array_size(json_object_get(json_object_get(r, "result"),
                                                               "items"))
                             : (size_t)-1;
    json_decref(r);
    return n;
}

static int s_old_put(MDB_txn *txn, MDB_dbi db, char tag, const char *text, uint64_t n)
{
    char key[512];
    size_t klen = registry_key_text(tag, text, key, sizeof key);
    return klen ? hy_index_put(txn, db, key, klen, n) : 0;
}

/* The keys the code of before wrote for one person. */
static int s_old_keys(MDB_txn *txn, MDB_dbi idx, MDB_dbi dup, uint64_t n, const json_t *p)
{
    static const struct {
        char tag;
        const char *field;
    } plain[] = {{'i', "national_id"}, {'o', "office"}, {'h', "neighbourhood"}};
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = s_old_put(txn, idx, plain[i].tag,
                       json_string_value(json_object_get(p, plain[i].field)), n);
    char full[512], compact[512] = "", *save = NULL;
    snprintf(full, sizeof full, "%s %s", json_string_value(json_object_get(p, "first_name")),
             json_string_value(json_object_get(p, "last_name")));
    char *norm = hy_fa_normalize(full);
    char *words[16];
    int count = 0;
    for (char *w = strtok_r(norm, " ", &save); w && count < 16; w = strtok_r(NULL, " ", &save))
        words[count++] = w;
    for (int j = 0; j < count && rc == 0; j++) {
        rc = s_old_put(txn, idx, 'n', words[j], n);
        compact[0] = '\0';
        for (int k = j; k < count; k++)
            strncat(compact, words[k], sizeof compact - strlen(compact) - 1);
        if (rc == 0 && j < count - 1)
            rc = s_old_put(txn, idx, 'n', compact, n);
    }
    free(norm);
    char *first = hy_fa_key(json_string_value(json_object_get(p, "first_name")));
    char *last = hy_fa_key(json_string_value(json_object_get(p, "last_name")));
    char dkey[512];
    int w = snprintf(dkey, sizeof dkey, "k:%s|%s|%s", first, last,
                     json_string_value(json_object_get(p, "birth_date")));
    if (rc == 0)
        rc = hy_index_put(txn, dup, dkey, (size_t)w, n);
    free(first);
    free(last);
    return rc;
}

/* Drops whatever index databases the directory has and writes the old layout in their place. */
static int s_write_old_layout(MDB_env *env)
{
    static const struct {
        const char *name;
        unsigned flags;
    } now[] = {{"registry.person_idx", MDB_DUPSORT},
               {"registry.dup_idx", MDB_DUPSORT},
               {"registry.person_keys", MDB_DUPSORT | MDB_DUPFIXED},
               {"registry.name_idx", 0},
               {"registry.name_new", 0}};   /* the keys staged by registrations (names.c) */
    MDB_txn *txn;
    MDB_dbi db, idx, dup, persons;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof now / sizeof now[0] && rc == 0; i++) {
        rc = mdb_dbi_open(txn, now[i].name, now[i].flags, &db);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        else if (rc == 0)
            rc = mdb_drop(txn, db, 1);
    }
    if (rc == 0)
        rc = mdb_dbi_open(txn, "registry.person_idx", MDB_DUPSORT | MDB_CREATE, &idx);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "registry.dup_idx", MDB_DUPSORT | MDB_CREATE, &dup);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "registry.persons", 0, &persons);
    if (rc == 0)
        rc = mdb_cursor_open(txn, persons, &cur);
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        json_t *p = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        rc = p ? s_old_keys(txn, idx, dup, hy_key_u64_get(k.mv_data), p) : MDB_CORRUPTED;
        json_decref(p);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return rc ? rc : -1;
    }
    return mdb_txn_commit(txn);
}

static bool s_has_db(MDB_env *env, const char *name)
{
    MDB_txn *txn;
    MDB_dbi db;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return true;
    int rc = mdb_dbi_open(txn, name, 0, &db);
    mdb_txn_abort(txn);
    return rc != MDB_NOTFOUND;
}

void registry_test_old_layout(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = hy_service_new(&registry_def, dir, NOW);
    CHECK(svc != NULL);
    int status = 0;
    for (int i = 1; i <= 2; i++) {
        json_t *r = hy_test_call(svc, "offices.create", "operator", NULL, &status,
                                 "{\"code\":\"office-%d\",\"name\":\"office\",\"province\":"
                                 "\"Tehran\",\"city\":\"Tehran\",\"neighbourhoods\":[\"Old\","
                                 "\"New\"]}",
                                 i);
        json_decref(r);
        CHECK_EQ_INT(status, 201);
    }
    json_t *ali = NULL;
    CHECK_EQ_INT(s_create(svc, 600000001, ALI_FA, HOSSEIN ZWNJ ZADEH, "office-1",
                          ",\"neighbourhood\":\"Old\"", &ali),
                 201);
    CHECK_EQ_INT(s_create(svc, 600000002, ZAHRA, AKBARI, "office-2", "", NULL), 201);
    CHECK_EQ_INT(s_create(svc, 600000003, ZAHRA, HOSSEIN ZADEH, "office-1", "", NULL), 201);
    CHECK_EQ_INT(s_create(svc, 600000004, AKBARI, ZAHRA, "office-1", "", NULL), 201);
    CHECK_EQ_INT(s_create(svc, 600000005, HOSSEIN, ALI_FA " " AKBARI, "office-2", "", NULL), 201);
    CHECK_EQ_INT(s_write_old_layout(hy_store_env(hy_service_store(svc))), 0);
    hy_service_destroy(&svc);

    /* Start-up moves the indexes, two persons per transaction. */
    size_t was = registry_reindex_chunk;
    registry_reindex_chunk = 2;
    svc = hy_service_new(&registry_def, dir, NOW);
    registry_reindex_chunk = was;
    CHECK(svc != NULL);
    MDB_env *env = hy_store_env(hy_service_store(svc));
    CHECK(!s_has_db(env, "registry.person_idx"));
    CHECK(!s_has_db(env, "registry.dup_idx"));
    static const struct {
        const char *q;
        size_t count;
    } cases[] = {
        {ALI_AR, 2},   {"\u0639\u0644", 2},        {HOSSEIN ZWNJ ZADEH, 2}, {HOSSEIN ZADEH, 2},
        {ZADEH, 1},    {ZAHRA " " HOSSEIN, 1},     {ZAHRA, 3},              {AKBARI, 3},
        {ALI_FA AKBARI, 1}, {ALI_AR " " AKBARI, 1}, {"\u0632", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char members[300];
        snprintf(members, sizeof members, ",\"q\":\"%s\"", cases[i].q);
        size_t n = s_count(svc, members);
        if (n != cases[i].count)
            fprintf(stderr, "  q case %zu: %zu\n", i, n);
        CHECK_EQ_INT(n, cases[i].count);
    }
    CHECK_EQ_INT(s_count(svc, ",\"office\":\"office-2\""), 2);
    CHECK_EQ_INT(s_count(svc, ",\"office\":\"office-1\",\"neighbourhood\":\"Old\""), 1);
    char nid[11], members[64];
    registry_test_nid(600000004, nid);
    snprintf(members, sizeof members, ",\"national_id\":\"%s\"", nid);
    CHECK_EQ_INT(s_count(svc, members), 1);
    /* national IDs stay unique; the same name and birth date is flagged */
    CHECK_EQ_INT(s_create(svc, 600000001, ZAHRA, ZAHRA, "office-1", "", NULL), 409);
    json_t *twin = NULL;
    CHECK_EQ_INT(s_create(svc, 600000009, ALI_FA, HOSSEIN ZWNJ ZADEH, "office-1", "", &twin), 201);
    json_t *dups = json_object_get(twin, "possible_duplicates");
    CHECK_EQ_INT(json_array_size(dups), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(dups, 0)),
                 json_string_value(json_object_get(ali, "id")));
    CHECK_EQ_INT(s_count(svc, ",\"q\":\"" ALI_FA "\""), 3);
    /* a third: both, in the order they registered */
    json_t *third = NULL;
    CHECK_EQ_INT(s_create(svc, 600000013, ALI_FA, HOSSEIN " " ZADEH, "office-2", "", &third), 201);
    dups = json_object_get(third, "possible_duplicates");
    CHECK_EQ_INT(json_array_size(dups), 2);
    CHECK_EQ_STR(json_string_value(json_array_get(dups, 0)),
                 json_string_value(json_object_get(ali, "id")));
    CHECK_EQ_STR(json_string_value(json_array_get(dups, 1)),
                 json_string_value(json_object_get(twin, "id")));
    json_decref(third);
    json_decref(twin);
    /* another birth date is another person */
    char other[11];
    registry_test_nid(600000012, other);
    json_t *r = hy_test_call(svc, "persons.create", SS, "office-1", &status,
                             "{\"national_id\":\"%s\",\"first_name\":\"" ALI_FA "\","
                             "\"last_name\":\"" HOSSEIN ZWNJ ZADEH "\",\"birth_date\":"
                             "\"1985-03-22\",\"sex\":\"female\",\"office\":\"office-1\"}",
                             other);
    CHECK_EQ_INT(status, 201);
    CHECK(json_object_get(json_object_get(r, "result"), "possible_duplicates") == NULL);
    json_decref(r);
    /* the check compares first "|" last "|" birth date, as it always has */
    CHECK_EQ_INT(s_create(svc, 600000010, "Ava|Bahar", "Cyrus", "office-1", "", NULL), 201);
    CHECK_EQ_INT(s_create(svc, 600000011, "Ava", "Bahar|Cyrus", "office-1", "", &twin), 201);
    CHECK_EQ_INT(json_array_size(json_object_get(twin, "possible_duplicates")), 1);
    json_decref(twin);
    hy_service_destroy(&svc);

    /* A second start has nothing to move and answers the same. */
    svc = hy_service_new(&registry_def, dir, NOW);
    CHECK(svc != NULL);
    CHECK_EQ_INT(s_count(svc, ",\"q\":\"" HOSSEIN ZADEH "\""), 5);
    CHECK_EQ_INT(s_count(svc, ",\"office\":\"office-1\""), 7);
    hy_service_destroy(&svc);
    json_decref(ali);
    hy_test_rmdir(dir);
}

/* A rebuild stopped half-way (a kill during start-up) resumes where it stopped: the persons
 * indexed before the stop are not indexed again (a key removed from them after the stop stays
 * removed), those after are, and the old databases go only at the end. */
void registry_test_old_layout_resume(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = hy_service_new(&registry_def, dir, NOW);
    CHECK(svc != NULL);
    if (!svc)
        return;
    int status = 0;
    json_t *r = hy_test_call(svc, "offices.create", "operator", NULL, &status,
                             "{\"code\":\"office-1\",\"name\":\"office\",\"province\":"
                             "\"Tehran\",\"city\":\"Tehran\"}");
    json_decref(r);
    CHECK_EQ_INT(status, 201);
    for (unsigned i = 1; i <= 6; i++)
        CHECK_EQ_INT(s_create(svc, 610000000 + i, ZAHRA, AKBARI, "office-1", "", NULL), 201);
    CHECK_EQ_INT(s_write_old_layout(hy_store_env(hy_service_store(svc))), 0);
    hy_service_destroy(&svc);

    /* stopped after two transactions of two persons: four indexed, the old databases kept */
    size_t was = registry_reindex_chunk;
    registry_reindex_chunk = 2;
    registry_reindex_stop_after = 2;
    svc = hy_service_new(&registry_def, dir, NOW);
    registry_reindex_stop_after = 0;
    CHECK(svc == NULL);
    hy_store_t *store = hy_store_new(dir, 64u << 20, 64, true);
    CHECK(store != NULL);
    if (!store) {
        registry_reindex_chunk = was;
        return;
    }
    MDB_env *env = hy_store_env(store);
    CHECK(s_has_db(env, "registry.person_idx"));
    MDB_txn *txn;
    MDB_dbi meta, keys;
    uint64_t at = 0;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "registry.meta", 0, &meta) == 0);
    CHECK(hy_store_counter(txn, meta, "layout_at", &at) == 0);
    CHECK_EQ_INT(at, 4);
    /* person 1's national-ID key, written before the stop, removed behind the rebuild's back */
    CHECK(mdb_dbi_open(txn, "registry.person_keys", MDB_DUPSORT | MDB_DUPFIXED, &keys) == 0);
    char nid[11], key[64];
    registry_test_nid(610000001, nid);
    size_t klen = registry_key_text('i', nid, key, sizeof key);
    MDB_val k = {klen, key};
    CHECK(mdb_del(txn, keys, &k, NULL) == 0);
    CHECK(mdb_txn_commit(txn) == 0);
    hy_store_destroy(&store);

    svc = hy_service_new(&registry_def, dir, NOW);
    registry_reindex_chunk = was;
    CHECK(svc != NULL);
    if (!svc)
        return;
    env = hy_store_env(hy_service_store(svc));
    CHECK(!s_has_db(env, "registry.person_idx"));
    CHECK(!s_has_db(env, "registry.dup_idx"));
    char members[64];
    snprintf(members, sizeof members, ",\"national_id\":\"%s\"", nid);
    CHECK_EQ_INT(s_count(svc, members), 0);   /* not indexed a second time: resumed */
    for (unsigned i = 5; i <= 6; i++) {         /* indexed after the resume */
        registry_test_nid(610000000 + i, nid);
        snprintf(members, sizeof members, ",\"national_id\":\"%s\"", nid);
        CHECK_EQ_INT(s_count(svc, members), 1);
    }
    CHECK_EQ_INT(s_count(svc, ",\"q\":\"" AKBARI "\""), 6);
    CHECK_EQ_INT(s_count(svc, ",\"office\":\"office-1\""), 6);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}
