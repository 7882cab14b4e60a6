/*
 * keys.c — API key texts, the keys file, and the gateway's verifier (see keys.h).
 *
 * The verifier keeps the parsed file as an array sorted by key id behind a rwlock: requests
 * take the read side, a reload builds a new array outside the lock and swaps it in under the
 * write side. Whether the file changed is looked at most once a second (one thread wins the
 * compare-and-swap on the second; the others go on with the table they have).
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fa.h"
#include "proto.h"

int hy_keys_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

bool hy_key_id_valid(const char *key_id)
{
    size_t n = 0;
    for (const char *p = key_id; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-';
        if (!ok || n >= HY_KEY_ID_MAX)
            return false;
    }
    return n > 0;
}

bool hy_key_office_valid(const char *office)
{
    size_t n = strlen(office);
    if (n == 0 || n > HY_KEY_OFFICE_MAX || strcmp(office, "-") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)office[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return hy_utf8_valid(office, n);
}

unsigned hy_key_role_bit(const char *role)
{
    unsigned bit = hy_role_parse(role);
    return bit == HY_ROLE_SERVICE ? 0 : bit;
}

static bool s_is_b64url(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int hy_key_token_parse(const char *token, char key_id[HY_KEY_ID_MAX + 1])
{
    size_t n = strnlen(token, HY_KEY_TOKEN_SIZE);
    if (n >= HY_KEY_TOKEN_SIZE || n < 3 + 1 + 1 + HY_KEY_SECRET_LEN)
        return -1;
    if (memcmp(token, "hy_", 3) != 0)
        return -1;
    /* The secret is the last 43 characters; it may itself contain '_', so the id is found by
     * position, not by searching for the separator. */
    size_t sep = n - HY_KEY_SECRET_LEN - 1;
    if (token[sep] != '_')
        return -1;
    for (size_t i = sep + 1; i < n; i++)
        if (!s_is_b64url(token[i]))
            return -1;
    size_t idlen = sep - 3;
    if (idlen == 0 || idlen > HY_KEY_ID_MAX)
        return -1;
    memcpy(key_id, token + 3, idlen);
    key_id[idlen] = '\0';
    return hy_key_id_valid(key_id) ? 0 : -1;
}

void hy_key_hash(const char *token, unsigned char hash[HY_KEY_HASH_LEN])
{
    crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
}

int hy_key_generate(const char *key_id, char token[HY_KEY_TOKEN_SIZE],
                    unsigned char hash[HY_KEY_HASH_LEN])
{
    if (!hy_key_id_valid(key_id))
        return -1;
    unsigned char secret[32];
    char b64[HY_KEY_SECRET_LEN + 1];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    snprintf(token, HY_KEY_TOKEN_SIZE, "hy_%s_%s", key_id, b64);
    sodium_memzero(b64, sizeof b64);
    hy_key_hash(token, hash);
    return 0;
}

/* Splits the next white-space separated word of *p into word (size bytes). -1 if none or
 * too long. */
static int s_word(const char **p, char *word, size_t size)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    const char *e = s;
    while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
        e++;
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= size)
        return -1;
    memcpy(word, s, n);
    word[n] = '\0';
    *p = e;
    return 0;
}

int hy_key_line_parse(const char *line, hy_key_entry_t *out)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '#' || *p == '\n' || *p == '\r')
        return 0;
    hy_key_entry_t e;
    memset(&e, 0, sizeof e);
    char office[HY_KEY_OFFICE_MAX + 1], hex[2 * HY_KEY_HASH_LEN + 1], state[16];
    if (s_word(&p, e.key_id, sizeof e.key_id) || s_word(&p, e.role, sizeof e.role) ||
        s_word(&p, office, sizeof office) || s_word(&p, hex, sizeof hex) ||
        s_word(&p, state, sizeof state))
        return -1;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p != '\0')
        return -1;
    if (!hy_key_id_valid(e.key_id) || hy_key_role_bit(e.role) == 0)
        return -1;
    if (strcmp(office, "-") != 0) {
        if (!hy_key_office_valid(office))
            return -1;
        /* The office as the registry keys it (REY-1 is rey-1): every service compares the
         * caller's office with stored codes byte for byte in its indexes and filters. */
        char *norm = strcmp(office, "*") == 0 ? NULL : hy_fa_normalize(office);
        snprintf(e.office, sizeof e.office, "%s", norm && *norm ? norm : office);
        free(norm);
    }
    size_t binlen = 0;
    if (strlen(hex) != 2 * HY_KEY_HASH_LEN ||
        sodium_hex2bin(e.hash, sizeof e.hash, hex, strlen(hex), NULL, &binlen, NULL) != 0 ||
        binlen != HY_KEY_HASH_LEN)
        return -1;
    if (strcmp(state, "active") == 0)
        e.active = true;
    else if (strcmp(state, "revoked") != 0)
        return -1;
    *out = e;
    return 1;
}

int hy_key_line_format(const hy_key_entry_t *e, char *buf, size_t size)
{
    char hex[2 * HY_KEY_HASH_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, e->hash, sizeof e->hash);
    int n = snprintf(buf, size, "%s %s %s %s %s", e->key_id, e->role,
                     e->office[0] ? e->office : "-", hex, e->active ? "active" : "revoked");
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* ------------------------------------------------------------ the file as lines ---------- */

static int s_push_line(hy_keyfile_t *f, char *text, int kind, const hy_key_entry_t *key)
{
    if (f->count == f->alloc) {
        size_t alloc = f->alloc ? f->alloc * 2 : 16;
        hy_keyline_t *lines = realloc(f->lines, alloc * sizeof *lines);
        if (!lines)
            return -1;
        f->lines = lines;
        f->alloc = alloc;
    }
    hy_keyline_t *l = &f->lines[f->count++];
    memset(l, 0, sizeof *l);
    l->text = text;
    l->kind = kind;
    if (key)
        l->key = *key;
    return 0;
}

int hy_keyfile_load(hy_keyfile_t *f, const char *path)
{
    FILE *in = fopen(path, "re");
    if (!in)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        hy_key_entry_t e;
        int kind = hy_key_line_parse(line, &e);
        char *text = strdup(line);
        if (!text || s_push_line(f, text, kind, kind == 1 ? &e : NULL) != 0) {
            free(text);
            errno = ENOMEM;
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        errno = EIO;
        rc = -1;
    }
    free(line);
    fclose(in);
    return rc;
}

int hy_keyfile_save(const hy_keyfile_t *f, const char *path)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return -1;
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *out = NULL;
    if (fd < 0)
        goto fail;
    if (fchmod(fd, 0600) != 0)
        goto fail;
    out = fdopen(fd, "w");
    if (!out)
        goto fail;
    fd = -1;
    for (size_t i = 0; i < f->count; i++)
        if (fputs(f->lines[i].text, out) == EOF || fputc('\n', out) == EOF)
            goto fail;
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        goto fail;
    int rc = fclose(out);
    out = NULL;
    if (rc != 0 || rename(tmp, path) != 0)
        goto fail;
    free(tmp);
    return 0;
fail:;
    int saved = errno;
    if (out)
        fclose(out);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    errno = saved;
    return -1;
}

int hy_keyfile_append(hy_keyfile_t *f, const hy_key_entry_t *e)
{
    char buf[256];
    if (hy_key_line_format(e, buf, sizeof buf) < 0)
        return -1;
    char *text = strdup(buf);
    if (!text || s_push_line(f, text, 1, e) != 0) {
        free(text);
        return -1;
    }
    return 0;
}

int hy_keyfile_update(hy_keyfile_t *f, size_t i)
{
    char buf[256];
    if (i >= f->count || f->lines[i].kind != 1 ||
        hy_key_line_format(&f->lines[i].key, buf, sizeof buf) < 0)
        return -1;
    char *text = strdup(buf);
    if (!text)
        return -1;
    free(f->lines[i].text);
    f->lines[i].text = text;
    return 0;
}

long hy_keyfile_find(const hy_keyfile_t *f, const char *key_id)
{
    for (size_t i = 0; i < f->count; i++)
        if (f->lines[i].kind == 1 && strcmp(f->lines[i].key.key_id, key_id) == 0)
            return (long)i;
    return -1;
}

void hy_keyfile_clear(hy_keyfile_t *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->lines[i].text);
    free(f->lines);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------ the verifier --------------- */

struct hy_keys {
    char *path;
    hy_keys_warn_fn *warn;
    pthread_rwlock_t lock;
    hy_key_entry_t *keys;      /* sorted by key_id, duplicates removed; under lock */
    size_t count;
    struct stat seen;          /* identity of the file last loaded (st_ino 0: none) */
    atomic_llong checked;      /* the second of the last look at the file */
    uint64_t id;               /* this table's number in the process (for the caches) */
    atomic_uint_fast64_t gen;  /* bumped whenever the table is replaced */
    pthread_mutex_t reload;    /* one reload at a time */
};

static atomic_uint_fast64_t s_tables;   /* tables made so far: their ids */

static void s_warn(hy_keys_t *self, const char *fmt, const char *arg)
{
    if (!self->warn)
        return;
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    self->warn(msg);
}

static int s_cmp_entry(const void *a, const void *b)
{
    return strcmp(((const hy_key_entry_t *)a)->key_id, ((const hy_key_entry_t *)b)->key_id);
}

/* Builds the sorted table of f. A key id that appears twice is left out: which line the
 * operator meant (perhaps a revocation) cannot be guessed, so neither is honoured. */
static hy_key_entry_t *s_table(hy_keys_t *self, const hy_keyfile_t *f, size_t *count)
{
    hy_key_entry_t *t = calloc(f->count + 1, sizeof *t);
    if (!t)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->count; i++) {
        if (f->lines[i].kind == 1)
            t[n++] = f->lines[i].key;
        else if (f->lines[i].kind < 0)
            s_warn(self, "keys file: malformed line %s ignored", f->lines[i].text);
    }
    qsort(t, n, sizeof *t, s_cmp_entry);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(t[j].key_id, t[i].key_id) == 0)
            j++;
        if (j - i == 1)
            t[out++] = t[i];
        else
            s_warn(self, "keys file: key id %s appears more than once; refused", t[i].key_id);
        i = j;
    }
    *count = out;
    return t;
}

static bool s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int hy_keys_reload(hy_keys_t *self)
{
    int rc = -1;
    pthread_mutex_lock(&self->reload);
    struct stat st;
    memset(&st, 0, sizeof st);
    if (stat(self->path, &st) != 0 && errno != ENOENT)
        s_warn(self, "keys file %s cannot be read; no key is valid", self->path);
    if (s_same_file(&st, &self->seen)) {
        pthread_rwlock_rdlock(&self->lock);
        rc = (int)self->count;
        pthread_rwlock_unlock(&self->lock);
        goto done;
    }
    hy_keyfile_t f = { 0 };
    size_t count = 0;
    hy_key_entry_t *table = NULL;
    if (hy_keyfile_load(&f, self->path) == 0)
        table = s_table(self, &f, &count);
    else
        s_warn(self, "keys file %s cannot be read; no key is valid", self->path);
    if (st.st_ino == 0)
        s_warn(self, "keys file %s does not exist; no key is valid", self->path);
    hy_keyfile_clear(&f);

    pthread_rwlock_wrlock(&self->lock);
    hy_key_entry_t *old = self->keys;
    self->keys = table;
    self->count = table ? count : 0;
    self->seen = st;
    atomic_fetch_add(&self->gen, 1);
    pthread_rwlock_unlock(&self->lock);
    if (old) {
        sodium_memzero(old, sizeof *old);
        free(old);
    }
    rc = table ? (int)count : -1;
done:
    pthread_mutex_unlock(&self->reload);
    return rc;
}

hy_keys_t *hy_keys_new(const char *path, hy_keys_warn_fn *warn)
{
    hy_keys_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup(path);
    self->warn = warn;
    if (!self->path || pthread_rwlock_init(&self->lock, NULL) != 0) {
        free(self->path);
        free(self);
        return NULL;
    }
    if (pthread_mutex_init(&self->reload, NULL) != 0) {
        pthread_rwlock_destroy(&self->lock);
        free(self->path);
        free(self);
        return NULL;
    }
    self->seen.st_ino = (ino_t)-1;   /* never equal to a real file: forces the first load */
    self->id = atomic_fetch_add(&s_tables, 1) + 1;
    atomic_init(&self->checked, (long long)time(NULL));
    hy_keys_reload(self);
    return self;
}

void hy_keys_destroy(hy_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hy_keys_t *self = *self_p;
    pthread_rwlock_destroy(&self->lock);
    pthread_mutex_destroy(&self->reload);
    free(self->keys);
    free(self->path);
    free(self);
    *self_p = NULL;
}

/* The keys each thread verified last. A key is sent with every request of a client, and
 * SHA-256 of it per request was a visible share of a GET's CPU: a token that this thread
 * found valid in the same table (same keys, same generation: no reload since) is valid
 * again. Only valid keys are kept; a reload (a revocation) empties every cache at once. */
#define CACHE_SLOTS 4

typedef struct {
    uint64_t id, gen;           /* the table and its generation; id 0: empty */
    size_t len;
    char token[HY_KEY_TOKEN_SIZE];
    hy_key_entry_t entry;
} s_cached_t;

static _Thread_local s_cached_t s_cache[CACHE_SLOTS];

static s_cached_t *s_slot(const char *token, size_t len)
{
    return &s_cache[(len ? (unsigned char)token[len - 1] : 0) % CACHE_SLOTS];
}

int hy_keys_verify(hy_keys_t *self, const char *token, hy_key_entry_t *out)
{
    long long now = (long long)time(NULL);
    long long last = atomic_load_explicit(&self->checked, memory_order_relaxed);
    if (now != last && atomic_compare_exchange_strong(&self->checked, &last, now))
        hy_keys_reload(self);

    uint64_t gen = atomic_load(&self->gen);
    size_t len = strnlen(token, HY_KEY_TOKEN_SIZE);
    s_cached_t *c = len < HY_KEY_TOKEN_SIZE ? s_slot(token, len) : NULL;
    if (c && c->id == self->id && c->gen == gen && c->len == len &&
        sodium_memcmp(c->token, token, len) == 0) {
        *out = c->entry;
        return HY_KEY_OK;
    }

    char key_id[HY_KEY_ID_MAX + 1];
    if (hy_key_token_parse(token, key_id) != 0)
        return HY_KEY_MALFORMED;
    unsigned char hash[HY_KEY_HASH_LEN];
    hy_key_hash(token, hash);

    int rc;
    hy_key_entry_t probe;
    memcpy(probe.key_id, key_id, sizeof key_id);
    pthread_rwlock_rdlock(&self->lock);
    const hy_key_entry_t *e =
        self->keys ? bsearch(&probe, self->keys, self->count, sizeof *e, s_cmp_entry) : NULL;
    if (!e)
        rc = HY_KEY_UNKNOWN;
    else if (sodium_memcmp(hash, e->hash, HY_KEY_HASH_LEN) != 0)
        rc = HY_KEY_WRONG;
    else if (!e->active)
        rc = HY_KEY_REVOKED;
    else {
        *out = *e;
        rc = HY_KEY_OK;
    }
    pthread_rwlock_unlock(&self->lock);
    if (rc == HY_KEY_OK && c) {
        c->id = self->id;
        c->gen = gen;   /* read before the lookup: a reload since makes this entry stale */
        c->len = len;
        memcpy(c->token, token, len);
        c->entry = *out;
    }
    return rc;
}
