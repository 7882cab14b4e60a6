/*
 * ctl_restore.c — hamyarctl restore | replay: offline work on a service's LMDB environment, on
 * the host (or in the container) where that environment lives.
 *
 * restore puts a backup (a directory with the data.mdb that service.backup wrote) in place of
 * a service's environment. It must never run under a live service, so it holds the same lock
 * LMDB's processes hold: LMDB keeps a POSIX read lock on byte 0 of lock.mdb for as long as an
 * environment is open, and takes the write lock on it only when it is the first to open. If we
 * can take that write lock, nobody has the environment open, and a service that starts while we
 * work waits for us. The new data.mdb is written beside the old one, synced, and renamed over
 * it, so a crash leaves either the old store or the new one, never half of each. The old file
 * is kept as data.mdb.pre-restore (a hard link, made before the rename).
 *
 * replay starts a new reporting replica that replays every source from sequence zero: the
 * reporting service keeps only projections, so a fresh store plus the sources' outboxes is the
 * whole of it. It is not offered for services that own data (a second registry with an empty
 * store would answer requests with nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "store.h"

#define MAX_DBS 64

/* mkdir -p, 0750 as the services make their directories. */
static int s_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Opens dir's environment (read-only) and reads the last outbox sequence and the number of
 * named databases. nolock: do not touch lock.mdb (a backup directory). Returns 0 or an LMDB
 * error; MDB_NOTFOUND when the environment has no outbox (not a Hamyar store). */
static int s_inspect(const char *dir, bool nolock, uint64_t *seq, size_t *ndbs)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    *seq = 0;
    *ndbs = 0;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | (nolock ? MDB_NOLOCK : 0), 0640);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0 &&
        (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        while (mdb_cursor_get(cur, &k, &v, *ndbs ? MDB_NEXT : MDB_FIRST) == 0)
            (*ndbs)++;
        mdb_cursor_close(cur);
        cur = NULL;
    }
    if (rc == 0)
        rc = mdb_dbi_open(txn, "_outbox", 0, &dbi);
    if (rc == 0 && (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        int r = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (r == 0 && k.mv_size == 8)
            *seq = hy_key_u64_get(k.mv_data);
        else if (r != MDB_NOTFOUND)
            rc = r;
        mdb_cursor_close(cur);
    }
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc;
}

/* Takes LMDB's exclusive lock of dir (see the top of the file). Returns the lock fd, -1 when a
 * process has the environment open (errno EAGAIN), or -1 on another error. */
static int s_lock_env(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/lock.mdb", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    int rc;
    while ((rc = fcntl(fd, F_SETLK, &fl)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        if (errno == EACCES)
            errno = EAGAIN;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* true when some process has dir's environment open (it holds a lock on lock.mdb). */
static bool s_in_use(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    bool used = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return used;
}

/* Copies src to a new file dst (which must not exist), synced. Returns 0 or -1 (errno). */
static int s_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, e = 0;
    static char buf[1 << 20];
    if (in < 0)
        return -1;
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0)
        goto fail;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto fail;
            off += w;
        }
    }
    if (fsync(out) != 0 || close(out) != 0) {
        out = -1;
        goto fail;
    }
    close(in);
    return 0;
fail:
    e = errno;
    close(in);
    if (out >= 0)
        close(out);
    unlink(dst);
    errno = e;
    return -1;
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int ctl_restore(int argc, char **argv)
{
    const char *from = NULL, *data = NULL, *force = NULL;
    const ctl_opt_t opts[] = { { "from", false, &from }, { "data", false, &data },
                               { "force", true, &force }, { 0 } };
    if (ctl_parse(argc, argv, opts, NULL, 0) != 0 || !from || !data) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    char src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX], old[PATH_MAX];
    if (snprintf(src, sizeof src, "%s/data.mdb", from) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/data.mdb", data) >= (int)sizeof dst ||
        snprintf(tmp, sizeof tmp, "%s/.data.mdb.restore-%d", data, (int)getpid()) >= (int)sizeof tmp ||
        snprintf(old, sizeof old, "%s/data.mdb.pre-restore", data) >= (int)sizeof old) {
        fprintf(stderr, "hamyarctl: path too long\n");
        return CTL_EXIT_USAGE;
    }
    uint64_t seq = 0, seq_after = 0;
    size_t ndbs = 0;
    int rc = s_inspect(from, true, &seq, &ndbs);
    if (rc != 0) {
        fprintf(stderr, "hamyarctl: %s is not a backup of a Hamyar service: %s\n", from,
                rc == MDB_NOTFOUND ? "no outbox" : mdb_strerror(rc));
        return 1;
    }
    if (s_mkdirs(data) != 0) {
        fprintf(stderr, "hamyarctl: cannot create %s: %s\n", data, strerror(errno));
        return 1;
    }
    int lock = s_lock_env(data);
    if (lock < 0) {
        if (errno == EAGAIN)
            fprintf(stderr, "hamyarctl: %s is in use: a process has this LMDB environment open "
                            "(stop the service first)\n", data);
        else
            fprintf(stderr, "hamyarctl: cannot lock %s/lock.mdb: %s\n", data, strerror(errno));
        return 1;
    }
    int ret = 1;
    struct stat st;
    bool had_data = stat(dst, &st) == 0;
    if (had_data && !force) {
        fprintf(stderr, "hamyarctl: %s holds a store already; --force replaces it (the old file "
                        "is kept as data.mdb.pre-restore)\n", data);
        goto done;
    }
    if (s_copy_file(src, tmp) != 0) {
        fprintf(stderr, "hamyarctl: cannot copy %s to %s: %s\n", src, tmp, strerror(errno));
        goto done;
    }
    if (had_data && ((unlink(old) != 0 && errno != ENOENT) || link(dst, old) != 0)) {
        fprintf(stderr, "hamyarctl: cannot keep the old store as %s: %s\n", old, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, dst) != 0 || s_fsync_dir(data) != 0) {
        fprintf(stderr, "hamyarctl: cannot put %s in place: %s\n", dst, strerror(errno));
        unlink(tmp);
        goto done;
    }
    /* Opening it here, while this process holds the lock, makes LMDB see itself as the first
     * opener and set up lock.mdb afresh for the new file; it also proves the copy opens. */
    rc = s_inspect(data, false, &seq_after, &ndbs);
    if (rc != 0 || seq_after != seq) {
        fprintf(stderr, "hamyarctl: the restored store in %s does not read back (%s)\n", data,
                rc ? mdb_strerror(rc) : "sequence differs");
        goto done;
    }
    printf("restored %s into %s: %zu databases, events up to sequence %llu%s\n", from, data, ndbs,
           (unsigned long long)seq, had_data ? " (old store kept as data.mdb.pre-restore)" : "");
    ret = 0;
done:
    close(lock);
    return ret;
}

/* The program next to this one (the image and build/…/bin keep them together), else PATH. */
static void s_sibling(const char *prog, char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    snprintf(out, n, "%s", prog);
    if (len <= 0)
        return;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", self, prog) < (int)sizeof path &&
        access(path, X_OK) == 0 && strlen(path) < n)
        memcpy(out, path, strlen(path) + 1);
}

int ctl_replay(int argc, char **argv)
{
    const char *service = NULL, *data = NULL, *dry = NULL;
    const ctl_opt_t opts[] = { { "service", false, &service }, { "data", false, &data },
                               { "dry-run", true, &dry }, { 0 } };
    if (ctl_parse(argc, argv, opts, NULL, 0) != 0 || !service || !data) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    if (strcmp(service, "reporting") != 0) {
        fprintf(stderr, "hamyarctl: only reporting is rebuilt from events alone; %s owns its "
                        "data (restore a backup of it instead)\n", service);
        return CTL_EXIT_USAGE;
    }
    if (s_in_use(data)) {
        fprintf(stderr, "hamyarctl: %s is in use by a running replica; pick a new directory\n", data);
        return 1;
    }
    char prog[PATH_MAX];
    s_sibling("hamyar-reporting", prog, sizeof prog);
    char *args[] = { prog, "--data", (char *)data, "--rebuild", "--pub", "none", NULL };
    printf("%s --data %s --rebuild --pub none\n", prog, data);
    fflush(stdout);
    if (dry)
        return 0;
    execvp(prog, args);
    fprintf(stderr, "hamyarctl: cannot run %s: %s\n", prog, strerror(errno));
    return 1;
}
