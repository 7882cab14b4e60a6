/*
 * output.c — where the consumer hands events: JSON lines in a file or on stdout, or a command
 * run once per event.
 *
 * A file is the fund's record and the truth about what was handed on. It is opened for
 * appending and locked (flock) against a second consumer. At open, a last line without its
 * newline — a write cut short by a crash — is cut off and made durable, and the sequence of the
 * last complete line is read back so the sequencer resumes right after it, whatever the state
 * file says. A page's lines are gathered in memory, written with one write(2) and made durable
 * with one fsync per page (fs_out_flush), before the sequencer saves its cursor.
 *
 * stdout gets the same lines, flushed per batch; a pipe cannot be read back, so across a crash
 * it is at least once (use --out for exactly once).
 *
 * A command (--exec) runs as `/bin/sh -c CMD` with the event's JSON line on stdin and
 * HY_EVENT_SEQ, HY_EVENT_TYPE and HY_EVENT_ID in its environment (posix_spawn, safe in a
 * process with threads). Exit status 0 means handled; anything else is retried later.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fundsync.h"
#include "log.h"
#include "outbox.h"

extern char **environ;

/* How far back from the end of the file the last complete line is looked for. */
#define TAIL_MAX (1 << 20)

typedef enum { S_FILE, S_STDOUT, S_EXEC } s_kind_t;

struct fs_out {
    s_kind_t kind;
    int fd;                 /* file or stdout */
    char *path;             /* file path, or the command */
    uint64_t last_seq;
    bool dirty;             /* written since the last flush */
    char *buf;              /* lines not yet written (file, stdout) */
    size_t blen, bcap;
};

#define S_BUF_WRITE (4u << 20)   /* write the gathered lines out past this many bytes */

static fs_out_t *s_new(s_kind_t kind, const char *path, int fd)
{
    fs_out_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = kind;
    self->fd = fd;
    self->path = strdup(path);
    if (!self->path) {
        free(self);
        return NULL;
    }
    return self;
}

void fs_out_destroy(fs_out_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fs_out_t *self = *self_p;
    if (self->kind == S_FILE && self->fd >= 0)
        close(self->fd);
    free(self->buf);
    free(self->path);
    free(self);
    *self_p = NULL;
}

/* Makes the file's directory entry durable (a new file must survive a power cut too). */
static void s_sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    char *slash = strrchr(copy, '/');
    const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Cuts a partial last line and reads the sequence of the last complete one. 0 or -1. */
static int s_recover(fs_out_t *self)
{
    struct stat st;
    if (fstat(self->fd, &st) != 0)
        return -1;
    off_t size = st.st_size, start = size > TAIL_MAX ? size - TAIL_MAX : 0;
    if (size == 0)
        return 0;
    size_t len = (size_t)(size - start);
    char *buf = malloc(len + 1);
    if (!buf || pread(self->fd, buf, len, start) != (ssize_t)len) {
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    size_t end = len;   /* the complete lines are buf[0 .. end) */
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end == 0 && start > 0) {
        hy_log_error("output", "%s: no line end in its last %d bytes", self->path, TAIL_MAX);
        free(buf);
        return -1;
    }
    if (end < len) {
        hy_log_warn("output", "%s: cutting off a partial last line of %zu bytes (a write cut "
                    "short by a crash)", self->path, len - end);
        if (ftruncate(self->fd, start + (off_t)end) != 0 || fsync(self->fd) != 0) {
            free(buf);
            return -1;
        }
    }
    int rc = 0;
    if (end > 0) {
        size_t from = end - 1;
        while (from > 0 && buf[from - 1] != '\n')
            from--;
        json_t *ev = json_loadb(buf + from, end - 1 - from, 0, NULL);
        uint64_t seq = hy_event_seq(ev);
        if (seq > 0) {
            self->last_seq = seq;
        } else {
            hy_log_error("output", "%s: the last line is not an event; refusing to guess where "
                         "to resume", self->path);
            rc = -1;
        }
        json_decref(ev);
    }
    free(buf);
    return rc;
}

fs_out_t *fs_out_new_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        hy_log_error("output", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    fs_out_t *self = s_new(S_FILE, path, fd);
    if (!self) {
        close(fd);
        return NULL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        hy_log_error("output", "%s is locked by another process (another hamyar-fund-sync?)",
                     path);
        goto fail;
    }
    s_sync_dir(path);
    if (s_recover(self) != 0) {
        hy_log_error("output", "cannot recover %s", path);
        goto fail;
    }
    return self;
fail:
    fs_out_destroy(&self);
    return NULL;
}

fs_out_t *fs_out_new_stdout(void)
{
    return s_new(S_STDOUT, "stdout", STDOUT_FILENO);
}

fs_out_t *fs_out_new_exec(const char *cmd)
{
    return s_new(S_EXEC, cmd, -1);
}

uint64_t fs_out_last_seq(const fs_out_t *self)
{
    return self->last_seq;
}

bool fs_out_per_event(const fs_out_t *self)
{
    return self->kind == S_EXEC;
}

/* write(2) all of buf, through EINTR and short writes. 0 or -1. */
static int s_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Runs the command for one event and waits for it. FS_OUT_OK when it exits 0. */
static int s_exec(fs_out_t *self, const json_t *event, const char *line, size_t len, uint64_t seq)
{
    int pipefd[2] = {-1, -1}, rc = FS_OUT_RETRY;
    size_t nenv = 0;
    char vseq[48], vtype[200], vid[200];
    char **env = NULL;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    snprintf(vseq, sizeof vseq, "HY_EVENT_SEQ=%" PRIu64, seq);
    const char *type = json_string_value(json_object_get(event, "type"));
    const char *id = json_string_value(json_object_get(event, "id"));
    snprintf(vtype, sizeof vtype, "HY_EVENT_TYPE=%s", type ? type : "");
    snprintf(vid, sizeof vid, "HY_EVENT_ID=%s", id ? id : "");
    while (environ[nenv])
        nenv++;
    if (!(env = calloc(nenv + 4, sizeof *env)) || pipe(pipefd) != 0)
        goto done;
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "HY_EVENT_", 9) != 0)
            env[k++] = environ[i];
    env[k++] = vseq, env[k++] = vtype, env[k++] = vid;
    /* The command gets SIGPIPE back (we ignore it) and a stdin that is the event. */
    posix_spawnattr_t attr;
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    if (posix_spawnattr_init(&attr) != 0)
        goto done;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        posix_spawnattr_destroy(&attr);
        goto done;
    }
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, pipefd[1]);
    char *argv[] = {"/bin/sh", "-c", self->path, NULL};
    int err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pipefd[0]);
    pipefd[0] = -1;
    if (err != 0) {
        hy_log_error("output", "cannot run %s: %s", self->path, strerror(err));
        goto done;
    }
    /* A command that does not read its stdin is fine: EPIPE is not a failure of the event. */
    if (s_write_all(pipefd[1], line, len) == 0)
        s_write_all(pipefd[1], "\n", 1);
    close(pipefd[1]);
    pipefd[1] = -1;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        rc = FS_OUT_OK;
    else
        hy_log_warn("output", "the command for event %" PRIu64 " failed (%s %d); will retry", seq,
                    WIFEXITED(status) ? "exit" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
done:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(env);
    return rc;
}

/* Test hook: HY_TEST_KILL_MID_PAGE=<marker> writes half of the first page of two lines or more
 * (cutting a line in two), creates <marker>, and kills the process (SIGKILL): a crash in the
 * middle of a page. The restarted process, finding the marker, carries on. Unset normally. */
static void s_test_kill_mid_page(fs_out_t *self)
{
    const char *marker = getenv("HY_TEST_KILL_MID_PAGE");
    if (!marker || !*marker || access(marker, F_OK) == 0 ||
        memchr(self->buf, '\n', self->blen) == self->buf + self->blen - 1)
        return;
    s_write_all(self->fd, self->buf, self->blen / 2);
    FILE *f = fopen(marker, "w");
    if (f)
        fclose(f);
    raise(SIGKILL);
}

/* Writes the gathered lines out (not yet durable). */
static int s_drain(fs_out_t *self)
{
    if (self->blen == 0)
        return FS_OUT_OK;
    s_test_kill_mid_page(self);
    if (s_write_all(self->fd, self->buf, self->blen) != 0) {
        hy_log_error("output", "cannot write to %s: %s", self->path, strerror(errno));
        return FS_OUT_FATAL;
    }
    self->blen = 0;
    return FS_OUT_OK;
}

int fs_out_write(fs_out_t *self, const char *line, size_t len, uint64_t seq)
{
    if (self->kind == S_EXEC) {
        json_t *event = json_loadb(line, len, 0, NULL);
        int rc = s_exec(self, event, line, len, seq);
        json_decref(event);
        return rc;
    }
    if (self->blen + len + 1 > self->bcap) {
        size_t cap = self->bcap ? self->bcap : 1 << 16;
        while (cap < self->blen + len + 1)
            cap *= 2;
        char *b = realloc(self->buf, cap);
        if (!b)
            return FS_OUT_FATAL;
        self->buf = b;
        self->bcap = cap;
    }
    memcpy(self->buf + self->blen, line, len);
    self->buf[self->blen + len] = '\n';
    self->blen += len + 1;
    self->dirty = true;
    self->last_seq = seq;
    return self->blen >= S_BUF_WRITE ? s_drain(self) : FS_OUT_OK;
}

int fs_out_flush(fs_out_t *self)
{
    if (self->kind == S_EXEC || !self->dirty)
        return FS_OUT_OK;
    if (s_drain(self) != FS_OUT_OK)
        return FS_OUT_FATAL;
    if (self->kind == S_STDOUT) {
        self->dirty = false;
        return FS_OUT_OK;
    }
    if (fsync(self->fd) != 0) {
        hy_log_error("output", "cannot fsync %s: %s", self->path, strerror(errno));
        return FS_OUT_FATAL;
    }
    self->dirty = false;
    return FS_OUT_OK;
}
