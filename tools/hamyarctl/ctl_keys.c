/*
 * ctl_keys.c — hamyarctl keys add | list [--json] | revoke: the API keys file.
 *
 * The keys file (HY_KEYS_FILE, default ./var/keys) holds only hashes; a new key's text is
 * printed once, on stdout, and cannot be shown again. Edits keep the file's other lines and
 * comments, are serialised by a lock file next to it, and replace the file atomically, so the
 * gateway (which reloads it when it changes) never reads half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "keys.h"

typedef struct {
    const char *role, *office, *id, *file, *arg, *json;
} s_args_t;

/* Takes the lock file PATH.lock (created 0600), so two edits cannot lose each other's line.
 * Creates the file's directory (0700) when it is missing. Returns the lock fd or -1. */
static int s_lock(const char *path)
{
    char lock[4096];
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
        fprintf(stderr, "hamyarctl: path too long\n");
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "hamyarctl: cannot create %s: %s\n", dir, strerror(errno));
            return -1;
        }
    }
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        fprintf(stderr, "hamyarctl: cannot lock %s: %s\n", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int s_load(hy_keyfile_t *f, const char *path)
{
    if (hy_keyfile_load(f, path) != 0) {
        fprintf(stderr, "hamyarctl: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_save(const hy_keyfile_t *f, const char *path)
{
    if (hy_keyfile_save(f, path) != 0) {
        fprintf(stderr, "hamyarctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_keys_add(const s_args_t *a)
{
    if (!a->role || a->arg || a->json) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    if (hy_key_role_bit(a->role) == 0) {
        fprintf(stderr, "hamyarctl: unknown role '%s' (social_services, insurance_fund, "
                        "operator, auditor, monitoring)\n", a->role);
        return CTL_EXIT_USAGE;
    }
    if (a->office && !hy_key_office_valid(a->office)) {
        fprintf(stderr, "hamyarctl: office must be 1..%d bytes of UTF-8 without spaces\n",
                HY_KEY_OFFICE_MAX);
        return CTL_EXIT_USAGE;
    }
    if (a->id && !hy_key_id_valid(a->id)) {
        fprintf(stderr, "hamyarctl: key id must be 1..%d characters of A-Z a-z 0-9 -\n",
                HY_KEY_ID_MAX);
        return CTL_EXIT_USAGE;
    }
    int rc = 1, lock = s_lock(a->file);
    if (lock < 0)
        return 1;
    hy_keyfile_t f = { 0 };
    hy_key_entry_t e;
    memset(&e, 0, sizeof e);
    char token[HY_KEY_TOKEN_SIZE];
    if (s_load(&f, a->file) != 0)
        goto done;
    if (a->id) {
        /* Ids are never reused, even after revocation: logs and audit trails name them. */
        if (hy_keyfile_find(&f, a->id) >= 0) {
            fprintf(stderr, "hamyarctl: key id %s exists already\n", a->id);
            goto done;
        }
        snprintf(e.key_id, sizeof e.key_id, "%s", a->id);
    } else {
        do {
            unsigned char r[4];
            randombytes_buf(r, sizeof r);
            snprintf(e.key_id, sizeof e.key_id, "k%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
        } while (hy_keyfile_find(&f, e.key_id) >= 0);
    }
    snprintf(e.role, sizeof e.role, "%s", a->role);
    if (a->office)
        snprintf(e.office, sizeof e.office, "%s", a->office);
    e.active = true;
    if (hy_key_generate(e.key_id, token, e.hash) != 0 || hy_keyfile_append(&f, &e) != 0) {
        fprintf(stderr, "hamyarctl: cannot make the key\n");
        goto done;
    }
    if (s_save(&f, a->file) != 0)
        goto done;
    printf("%s\n", token);
    fprintf(stderr, "key %s (%s, office %s) added to %s; store the key now: it is not kept\n",
            e.key_id, e.role, e.office[0] ? e.office : "-", a->file);
    rc = 0;
done:
    sodium_memzero(token, sizeof token);
    hy_keyfile_clear(&f);
    close(lock);
    return rc;
}

static int s_keys_list(const s_args_t *a)
{
    if (a->arg || a->role || a->office || a->id) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    hy_keyfile_t f = { 0 };
    if (s_load(&f, a->file) != 0)
        return 1;
    json_t *items = a->json ? json_array() : NULL;
    int rc = a->json && !items ? 1 : 0;
    if (!a->json)
        printf("%-32s %-16s %-20s %s\n", "KEY_ID", "ROLE", "OFFICE", "STATE");
    for (size_t i = 0; rc == 0 && i < f.count; i++) {
        const hy_keyline_t *l = &f.lines[i];
        const char *state = l->key.active ? "active" : "revoked";
        if (l->kind == 1 && items) {
            if (json_array_append_new(items, json_pack("{s:s, s:s, s:o, s:s}", "key_id",
                                                       l->key.key_id, "role", l->key.role,
                                                       "office", l->key.office[0]
                                                           ? json_string(l->key.office)
                                                           : json_null(),
                                                       "state", state)) != 0)
                rc = 1;
        } else if (l->kind == 1) {
            printf("%-32s %-16s %-20s %s\n", l->key.key_id, l->key.role,
                   l->key.office[0] ? l->key.office : "-", state);
        } else if (l->kind < 0) {
            fprintf(stderr, "hamyarctl: %s: line %zu is malformed and ignored\n", a->file,
                    i + 1);
        }
    }
    if (items && rc == 0) {
        /* The hashes stay in the file: a listing never shows them. */
        char *text = json_dumps(items, JSON_COMPACT);
        if (text)
            printf("%s\n", text);
        else
            rc = 1;
        free(text);
    }
    json_decref(items);
    hy_keyfile_clear(&f);
    return rc;
}

static int s_keys_revoke(const s_args_t *a)
{
    if (!a->arg || a->role || a->office || a->id || a->json) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    int rc = 1, lock = s_lock(a->file);
    if (lock < 0)
        return 1;
    hy_keyfile_t f = { 0 };
    if (s_load(&f, a->file) != 0)
        goto done;
    long found = -1;
    for (size_t i = 0; i < f.count; i++) {
        hy_keyline_t *l = &f.lines[i];
        if (l->kind != 1 || strcmp(l->key.key_id, a->arg) != 0)
            continue;
        found = (long)i;
        if (!l->key.active)
            continue;
        l->key.active = false;   /* every line of the id, should the file have several */
        if (hy_keyfile_update(&f, i) != 0)
            goto done;
    }
    if (found < 0) {
        fprintf(stderr, "hamyarctl: no key %s in %s\n", a->arg, a->file);
        goto done;
    }
    if (s_save(&f, a->file) != 0)
        goto done;
    fprintf(stderr, "key %s revoked; the gateway refuses it within a second or two\n", a->arg);
    rc = 0;
done:
    hy_keyfile_clear(&f);
    close(lock);
    return rc;
}

int ctl_keys(const char *verb, int argc, char **argv)
{
    if (hy_keys_init() != 0) {
        fprintf(stderr, "hamyarctl: libsodium cannot start\n");
        return 1;
    }
    umask(077);
    s_args_t a = { 0 };
    const ctl_opt_t opts[] = {
        { "role", false, &a.role }, { "office", false, &a.office }, { "id", false, &a.id },
        { "file", false, &a.file }, { "json", true, &a.json }, { 0 },
    };
    const char *pos[1] = { NULL };
    if (ctl_parse(argc, argv, opts, pos, 1) < 0) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    a.arg = pos[0];
    if (!a.file) {
        const char *env = getenv("HY_KEYS_FILE");
        a.file = env && *env ? env : "./var/keys";
    }
    if (strcmp(verb, "add") == 0)
        return s_keys_add(&a);
    if (strcmp(verb, "list") == 0)
        return s_keys_list(&a);
    if (strcmp(verb, "revoke") == 0)
        return s_keys_revoke(&a);
    ctl_usage();
    return CTL_EXIT_USAGE;
}
