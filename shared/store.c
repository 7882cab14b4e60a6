/*
 * store.c — LMDB environment, keys, JSON records, counters, indexes and pagination.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flusher.h"
#include "json.h"
#include "log.h"

struct hy_store {
    MDB_env *env;
    size_t mapsize;
    char *path;
    /* Reader threads hold it shared for the life of their read transaction; hy_store_grow holds
     * it exclusive, since LMDB may resize the map only while no transaction is open. */
    pthread_rwlock_t grow_lock;
    bool lock_ok;
    hy_flusher_t *flusher;   /* durable stores: writeback started during commits (flusher.c) */
    int fail_commits;        /* tests: commits still to fail (hy_store_fail_commits) */
    size_t psize;            /* the page size, for the bytes in use */
    _Atomic unsigned long grown_ahead, grown_full;   /* hy_store_grows (status: any thread) */
};

static void s_grow_ahead(hy_store_t *self);

/* Bytes in use: the last page written, times the page size (0 if LMDB cannot say). */
static size_t s_used(hy_store_t *self)
{
    MDB_envinfo info;
    return mdb_env_info(self->env, &info) == 0 ? (info.me_last_pgno + 1) * self->psize : 0;
}

/* mkdir -p: the data directory of a service may be several levels below ./var. */
static int s_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

hy_store_t *hy_store_new(const char *path, size_t mapsize, unsigned maxdbs, bool durable)
{
    hy_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    int rc;
    if (s_mkdirs(path) != 0) {
        hy_log_error("store", "cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    self->path = strdup(path);
    if (!self->path || pthread_rwlock_init(&self->grow_lock, NULL) != 0)
        goto fail;
    self->lock_ok = true;
    if ((rc = mdb_env_create(&self->env)) != 0)
        goto mdb_fail;
    if ((rc = mdb_env_set_maxdbs(self->env, maxdbs)) != 0)
        goto mdb_fail;
    if ((rc = mdb_env_set_maxreaders(self->env, 126)) != 0)
        goto mdb_fail;
    /* An existing environment may already be larger than asked (it grew); keep the larger. */
    if ((rc = mdb_env_set_mapsize(self->env, mapsize)) != 0)
        goto mdb_fail;
    unsigned flags = MDB_NOTLS | (durable ? 0 : MDB_NOSYNC);
    if ((rc = mdb_env_open(self->env, path, flags, 0640)) != 0)
        goto mdb_fail;
    MDB_envinfo info;
    if ((rc = mdb_env_info(self->env, &info)) != 0)
        goto mdb_fail;
    self->mapsize = info.me_mapsize;
    MDB_stat st;
    if ((rc = mdb_env_stat(self->env, &st)) != 0)
        goto mdb_fail;
    self->psize = st.ms_psize;
    /* HY_STORE_FLUSHER=0 turns the early writeback off (to measure it against its absence). */
    const char *fl = getenv("HY_STORE_FLUSHER");
    int fd;
    if (durable && !(fl && strcmp(fl, "0") == 0) && mdb_env_get_fd(self->env, &fd) == 0)
        self->flusher = hy_flusher_new(fd);   /* NULL: commits work as before, only slower */
    return self;
mdb_fail:
    hy_log_error("store", "cannot open %s: %s", path, mdb_strerror(rc));
fail:
    hy_store_destroy(&self);
    return NULL;
}

void hy_store_destroy(hy_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_store_t *self = *self_p;
    hy_flusher_destroy(&self->flusher);
    if (self->env)
        mdb_env_close(self->env);
    if (self->lock_ok)
        pthread_rwlock_destroy(&self->grow_lock);
    free(self->path);
    free(self);
    *self_p = NULL;
}

MDB_env *hy_store_env(hy_store_t *self)
{
    return self->env;
}

int hy_store_open_db(hy_store_t *self, const char *name, unsigned flags, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    if ((rc = mdb_dbi_open(txn, name, flags | MDB_CREATE, dbi)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int hy_store_open_dbs(hy_store_t *self, const hy_store_db_t *dbs, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = hy_store_open_db(self, dbs[i].name, dbs[i].flags, dbs[i].dbi);
    return rc;
}

void hy_store_fail_commits(hy_store_t *self, int n)
{
    self->fail_commits = n;
}

int hy_store_commit(hy_store_t *self, MDB_txn *txn, size_t weight)
{
    if (self->fail_commits > 0) {
        self->fail_commits--;
        mdb_txn_abort(txn);
        return EIO;
    }
    hy_flusher_t *fl = weight >= HY_STORE_FLUSH_WEIGHT ? self->flusher : NULL;
    hy_flusher_begin(fl);
    int rc = mdb_txn_commit(txn);
    hy_flusher_end(fl);
    if (rc == 0)
        s_grow_ahead(self);
    return rc;
}

unsigned long hy_store_flushes(hy_store_t *self)
{
    return hy_flusher_calls(self->flusher);
}

/* Doubles the map with the grow lock taken (wait: blocking, else only when no reader thread
 * holds it): 0, EBUSY (readers), or an error. */
static int s_grow(hy_store_t *self, bool wait, const char *why)
{
    if (self->mapsize >= HY_STORE_MAX_MAP)
        return MDB_MAP_FULL;
    size_t next = self->mapsize * 2;
    int rc = wait ? pthread_rwlock_wrlock(&self->grow_lock)
                  : pthread_rwlock_trywrlock(&self->grow_lock);
    if (rc != 0)
        return wait ? EAGAIN : EBUSY;
    rc = mdb_env_set_mapsize(self->env, next);
    pthread_rwlock_unlock(&self->grow_lock);
    if (rc != 0)
        return rc;
    hy_log_info("store", "map of %s grown from %zu to %zu MiB (%s)", self->path,
                self->mapsize >> 20, next >> 20, why);
    self->mapsize = next;
    return 0;
}

int hy_store_grow(hy_store_t *self)
{
    int rc = s_grow(self, true, "it was full");
    if (rc == 0)
        self->grown_full++;
    return rc;
}

/* After a commit (the thread has no transaction open): the map doubled while more than half
 * of it is in use, so that a write seldom meets MDB_MAP_FULL, which throws its whole batch or
 * background step away to be run again. The map is address space, not disk (the file grows
 * with the pages written), so room ahead costs nothing. Reader threads are not waited for:
 * with one in a transaction, the next commit tries again. */
static void s_grow_ahead(hy_store_t *self)
{
    while (s_used(self) > self->mapsize / 2 && s_grow(self, false, "more than half in use") == 0)
        self->grown_ahead++;
}

void hy_store_grows(hy_store_t *self, unsigned long *ahead, unsigned long *when_full)
{
    *ahead = self->grown_ahead;
    *when_full = self->grown_full;
}

int hy_store_read_begin(hy_store_t *self, MDB_txn **txn)
{
    if (pthread_rwlock_rdlock(&self->grow_lock) != 0)
        return EAGAIN;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, txn);
    if (rc != 0)
        pthread_rwlock_unlock(&self->grow_lock);
    return rc;
}

void hy_store_read_end(hy_store_t *self, MDB_txn **txn)
{
    if (!txn || !*txn)
        return;
    mdb_txn_abort(*txn);
    *txn = NULL;
    pthread_rwlock_unlock(&self->grow_lock);
}

void hy_store_usage(hy_store_t *self, size_t *mapsize, size_t *used)
{
    *mapsize = self->mapsize;
    *used = s_used(self);
}

int hy_store_backup(hy_store_t *self, const char *dir)
{
    if (s_mkdirs(dir) != 0)
        return errno ? errno : EIO;
    return mdb_env_copy2(self->env, dir, MDB_CP_COMPACT);
}

void hy_key_u64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t hy_key_u64_get(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

void hy_id_format(const char *prefix, uint64_t n, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s_%" PRIu64, prefix, n);
}

int hy_id_parse(const char *prefix, const char *id, uint64_t *n)
{
    if (!id || !prefix)
        return -1;
    size_t pl = strlen(prefix);
    if (strncmp(id, prefix, pl) != 0 || id[pl] != '_')
        return -1;
    const char *d = id + pl + 1;
    if (*d < '1' || *d > '9' || strlen(d) > 19)
        return -1;
    uint64_t v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        uint64_t nv = v * 10 + (uint64_t)(*d - '0');
        if (nv / 10 != v)
            return -1;
        v = nv;
    }
    *n = v;
    return 0;
}

int hy_store_get_by_id(MDB_txn *txn, MDB_dbi db, const char *prefix, const char *id, uint64_t *n,
                       json_t **out)
{
    uint64_t num;
    json_t *rec = NULL;
    if (hy_id_parse(prefix, id, &num) != 0)
        return MDB_NOTFOUND;
    int rc = hy_store_get_id(txn, db, num, &rec);
    if (rc != 0)
        return rc;
    if (n)
        *n = num;
    if (out)
        *out = rec;
    else
        json_decref(rec);
    return 0;
}

int hy_store_counter(MDB_txn *txn, MDB_dbi db, const char *counter, uint64_t *out)
{
    MDB_val k = {strlen(counter), (void *)counter}, v;
    int rc = mdb_get(txn, db, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = hy_key_u64_get(v.mv_data);
    return 0;
}

int hy_store_next(MDB_txn *txn, MDB_dbi db, const char *counter, uint64_t *out)
{
    uint64_t cur;
    int rc = hy_store_counter(txn, db, counter, &cur);
    if (rc != 0)
        return rc;
    uint8_t buf[8];
    hy_key_u64(cur + 1, buf);
    MDB_val k = {strlen(counter), (void *)counter}, v = {8, buf};
    if ((rc = mdb_put(txn, db, &k, &v, 0)) != 0)
        return rc;
    *out = cur + 1;
    return 0;
}

int hy_store_put_json(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, const json_t *val)
{
    size_t len = 0;
    char *text = hy_json_dump(val, &len);   /* json_dumps's very bytes, in one pass */
    if (!text)
        return ENOMEM;
    MDB_val k = {klen, (void *)key}, v = {len, text};
    int rc = mdb_put(txn, db, &k, &v, 0);
    free(text);
    return rc;
}

int hy_store_get_json(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, json_t **out)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, db, &k, &v);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    *out = json_loadb(v.mv_data, v.mv_size, JSON_DECODE_ANY, &jerr);
    return *out ? 0 : MDB_CORRUPTED;
}

int hy_store_put_last(MDB_txn *txn, MDB_dbi db, MDB_val *k, MDB_val *v)
{
    MDB_val key = *k, val = *v;   /* a refused append leaves them for the ordinary put */
    int rc = mdb_put(txn, db, &key, &val, MDB_APPEND);
    return rc == MDB_KEYEXIST ? mdb_put(txn, db, k, v, 0) : rc;
}

int hy_store_put_id(MDB_txn *txn, MDB_dbi db, uint64_t id, const json_t *val)
{
    uint8_t k[8];
    hy_key_u64(id, k);
    return hy_store_put_json(txn, db, k, 8, val);
}

int hy_store_get_id(MDB_txn *txn, MDB_dbi db, uint64_t id, json_t **out)
{
    uint8_t k[8];
    hy_key_u64(id, k);
    return hy_store_get_json(txn, db, k, 8, out);
}

int hy_store_get_text(MDB_txn *txn, MDB_dbi db, uint64_t id, const char **text, size_t *len)
{
    uint8_t k[8];
    hy_key_u64(id, k);
    MDB_val key = {8, k}, v;
    int rc = mdb_get(txn, db, &key, &v);
    if (rc != 0)
        return rc;
    *text = v.mv_data;
    *len = v.mv_size;
    return 0;
}

int hy_index_put(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t id)
{
    uint8_t d[8];
    hy_key_u64(id, d);
    MDB_val k = {klen, (void *)key}, v = {8, d};
    int rc = mdb_put(txn, idx, &k, &v, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

int hy_index_del(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t id)
{
    uint8_t d[8];
    hy_key_u64(id, d);
    MDB_val k = {klen, (void *)key}, v = {8, d};
    int rc = mdb_del(txn, idx, &k, &v);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hy_index_first(MDB_txn *txn, MDB_dbi idx, const void *key, size_t klen, uint64_t *id)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, idx, &k, &v);
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *id = hy_key_u64_get(v.mv_data);
    return 0;
}

int hy_store_page(MDB_txn *txn, MDB_dbi db, const void *idx_key, size_t idx_klen,
                  uint64_t after, int limit, hy_visit_fn visit, void *user, uint64_t *next)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db, &cur);
    if (rc != 0)
        return rc;
    *next = 0;
    uint8_t start[8];
    hy_key_u64(after + 1, start);
    MDB_val k, v;
    if (idx_key) {
        k.mv_size = idx_klen;
        k.mv_data = (void *)idx_key;
        v.mv_size = 8;
        v.mv_data = start;
        rc = after == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
    } else {
        k.mv_size = 8;
        k.mv_data = start;
        rc = after == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    int taken = 0;
    uint64_t last = 0;
    while (rc == 0) {
        const void *idp = idx_key ? v.mv_data : k.mv_data;
        if ((idx_key ? v.mv_size : k.mv_size) != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t id = hy_key_u64_get(idp);
        if (taken == limit) {
            *next = last; /* there is at least one more record */
            break;
        }
        int r = visit(txn, id, user);
        if (r == 1) {
            taken++;
            last = id;
        } else if (r != 0) {
            rc = r;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, idx_key ? MDB_NEXT_DUP : MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

void hy_cursor_format(uint64_t after, char *out, size_t outsz)
{
    snprintf(out, outsz, "c%" PRIx64, after);
}

int hy_cursor_parse(const char *text, uint64_t *after)
{
    *after = 0;
    if (!text || !*text)
        return 0;
    if (text[0] != 'c' || !text[1] || strlen(text) > 17)
        return -1;
    uint64_t v = 0;
    for (const char *p = text + 1; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else
            return -1;
        v = (v << 4) | (uint64_t)d;
    }
    *after = v;
    return 0;
}
