/*
 * state.c — the consumer's durable cursor: the last sequence it handed on.
 *
 * The cursor lives in DIR/cursor as one decimal line. It is replaced, never edited in place:
 * the new value goes to DIR/cursor.tmp, which is fsynced, renamed over DIR/cursor, and the
 * directory is fsynced so that the rename itself survives a power cut. A crash at any point
 * leaves either the old cursor or the new one, never a torn file. DIR/lock is held (flock)
 * while the process runs, so two consumers never advance one cursor; the kernel releases it
 * when the process dies, even by kill -9.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundsync.h"
#include "log.h"

struct fs_state {
    char *dir;
    int dirfd;
    int lockfd;
    uint64_t cursor;
};

/* Reads DIR/cursor: 0 and *cursor set, 0 and *cursor = 0 when absent, -1 when unreadable. */
static int s_read_cursor(fs_state_t *self)
{
    char buf[64];
    int fd = openat(self->dirfd, "cursor", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        self->cursor = 0;
        return errno == ENOENT ? 0 : -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end == buf || (*end && *end != '\n'))
        return -1;
    self->cursor = (uint64_t)v;
    return 0;
}

fs_state_t *fs_state_new(const char *dir)
{
    fs_state_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dirfd = self->lockfd = -1;
    self->dir = strdup(dir);
    if (!self->dir)
        goto fail;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        hy_log_error("state", "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    self->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dirfd < 0) {
        hy_log_error("state", "cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    self->lockfd = openat(self->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lockfd < 0 || flock(self->lockfd, LOCK_EX | LOCK_NB) != 0) {
        hy_log_error("state", "cannot lock %s/lock: %s (is another hamyar-fund-sync using it?)",
                     dir, strerror(errno));
        goto fail;
    }
    if (s_read_cursor(self) != 0) {
        hy_log_error("state", "%s/cursor is not a sequence number; refusing to guess", dir);
        goto fail;
    }
    return self;
fail:
    fs_state_destroy(&self);
    return NULL;
}

void fs_state_destroy(fs_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fs_state_t *self = *self_p;
    if (self->lockfd >= 0)
        close(self->lockfd);
    if (self->dirfd >= 0)
        close(self->dirfd);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

uint64_t fs_state_cursor(const fs_state_t *self)
{
    return self->cursor;
}

int fs_state_save(fs_state_t *self, uint64_t cursor)
{
    if (cursor == self->cursor)
        return 0;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%" PRIu64 "\n", cursor);
    int fd = openat(self->dirfd, "cursor.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (write(fd, buf, (size_t)len) != len || fsync(fd) != 0) {
        close(fd);
        goto fail;
    }
    if (close(fd) != 0 || renameat(self->dirfd, "cursor.tmp", self->dirfd, "cursor") != 0 ||
        fsync(self->dirfd) != 0)
        goto fail;
    self->cursor = cursor;
    return 0;
fail:
    hy_log_error("state", "cannot save the cursor %" PRIu64 " in %s: %s", cursor, self->dir,
                 strerror(errno));
    return -1;
}
