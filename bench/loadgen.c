/*
 * loadgen.c — an HTTP/1.1 keep-alive load generator for Hamyar's benchmarks.
 *
 * A few threads, each with its own epoll set, keep N connections busy with one request in
 * flight per connection (no pipelining), for D seconds or M requests. Every response is timed
 * from the first byte written to the last byte read, and every sample is kept, so p50/p99 are
 * exact order statistics, not histogram guesses. A response whose status is not 2xx counts as
 * an error (its first few are printed to stderr to make a broken run obvious).
 *
 * Modes:
 *   post-persons  POST /v1/persons, each with a new valid national ID (check digit computed),
 *                 so every request is a real registration; --ids FILE keeps the ids returned.
 *   get-ids       GET PATH<id> for ids read from FILE, picked at random.
 *   get           GET PATH, the same every time (the bare-HTTP ceiling).
 *
 * The one line on stdout is machine-readable (key=value), for bench/run.sh:
 *   ok=.. non2xx=.. io_errors=.. secs=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 * rps counts 2xx answers only. With --requests M the run stops after M requests (or at the
 * duration, whichever is first) and the time is up to the last answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define REQ_MAX 4096
#define ID_MAX BENCH_ID_MAX
#define ERR_SHOWN 3

typedef enum { MODE_POST_PERSONS, MODE_GET_IDS, MODE_GET } s_mode_t;

typedef struct {
    const char *host, *path, *key, *ids_file, *label;
    int port, conns, threads;
    double duration, warmup;
    long long max_requests;
    long long seed;
    s_mode_t mode;
} s_opts_t;

typedef struct {
    int fd;
    bool sending;
    char req[REQ_MAX];
    size_t req_len, req_off;
    char *rbuf;
    size_t rlen, rcap;
    int64_t t0;
} s_conn_t;

typedef struct {
    int index;
    pthread_t thread;
    s_conn_t *conns;
    int nconns;
    int ep;
    uint64_t rng;
    uint32_t *lat;              /* microseconds, one per counted response */
    size_t nlat, alat;
    long long ok, bad, io_errors;   /* in the window: 2xx, other statuses; any time: I/O */
    long long answered;             /* every whole response, warm-up included */
    char (*ids)[ID_MAX];        /* ids returned by POST */
    size_t nids, aids;
} s_worker_t;

static s_opts_t s_opt;
static int64_t s_t_start, s_t_measure, s_t_end;
static atomic_llong s_issued;       /* requests started, for --requests and national IDs */
static atomic_int s_err_shown;
static atomic_llong s_last_done;    /* time of the last counted response (--requests) */
static char (*s_get_ids)[ID_MAX];
static size_t s_nget_ids;

static uint64_t s_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ------------------------------------------------------------ national IDs ---------------- */

/* The check digit of nine digits: s = sum d_i * (10 - i); r = s mod 11; r if r < 2, else 11 - r. */
/* ------------------------------------------------------------ requests -------------------- */

static const char *const s_first[] = { "مریم", "علی", "فاطمه", "حسین", "زهرا", "محمد",
                                       "سارا", "رضا" };
static const char *const s_last[] = { "احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی",
                                      "جعفری", "نوری", "صادقی", "رحیمی", "قاسمی" };

/* A registration's name and birth date: first and last name from k, birth date from k / 88, so
 * no two of 1,774,080 consecutive k share both (as in a real list, where the same name and
 * birth date under two national IDs is the rare possible duplicate, not every registration). */
static void s_build_request(s_worker_t *w, s_conn_t *c)
{
    int n = 0;
    if (s_opt.mode == MODE_POST_PERSONS) {
        char nid[11];
        long long k;
        do
            k = atomic_fetch_add(&s_issued, 1) + s_opt.seed;
        while (!bench_national_id(k, 1234567ULL, nid));
        char body[1024];
        int blen = snprintf(body, sizeof body,
                            "{\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                            "\"birth_date\":\"19%02lld-%02lld-%02lld\",\"sex\":\"%s\","
                            "\"referral\":{\"source\":\"self\"}}",
                            nid, s_first[k % 8], s_last[k % 11], 40 + (k / 88) / 336 % 60,
                            1 + (k / 88) / 28 % 12, 1 + (k / 88) % 28,
                            (k % 8) % 2 ? "male" : "female");
        n = snprintf(c->req, REQ_MAX,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nAccept: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     s_opt.path, s_opt.host, s_opt.port, s_opt.key, blen, body);
    } else {
        atomic_fetch_add(&s_issued, 1);
        const char *id = s_opt.mode == MODE_GET_IDS
                             ? s_get_ids[s_rand(&w->rng) % s_nget_ids] : "";
        n = snprintf(c->req, REQ_MAX,
                     "GET %s%s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sAccept: application/json\r\n\r\n",
                     s_opt.path, id, s_opt.host, s_opt.port,
                     s_opt.key ? "Authorization: Bearer " : "", s_opt.key ? s_opt.key : "",
                     s_opt.key ? "\r\n" : "");
    }
    c->req_len = (size_t)n;
    c->req_off = 0;
    c->rlen = 0;
}

/* ------------------------------------------------------------ connections ----------------- */

static int s_connect(void)
{
    int fd = bench_connect(s_opt.host, s_opt.port);
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void s_watch(s_worker_t *w, s_conn_t *c, int op)
{
    struct epoll_event ev = { .events = c->sending ? EPOLLOUT : EPOLLIN, .data.ptr = c };
    epoll_ctl(w->ep, op, c->fd, &ev);
}

static bool s_may_issue(void)
{
    if (s_opt.max_requests > 0 && atomic_load(&s_issued) >= s_opt.max_requests)
        return false;
    return bench_now_us() < s_t_end;
}

/* Writes what is left of the request; returns -1 when the connection is broken. */
static int s_send(s_worker_t *w, s_conn_t *c)
{
    while (c->req_off < c->req_len) {
        ssize_t k = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN) {
            if (!c->sending) {
                c->sending = true;
                s_watch(w, c, EPOLL_CTL_MOD);
            }
            return 0;
        }
        if (k <= 0)
            return -1;
        c->req_off += (size_t)k;
    }
    if (c->sending) {
        c->sending = false;
        s_watch(w, c, EPOLL_CTL_MOD);
    }
    return 0;
}

/* Starts the next request on c, or closes c when the run is over. */
static void s_issue(s_worker_t *w, s_conn_t *c)
{
    if (!s_may_issue()) {
        if (c->fd >= 0) {
            epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
        }
        return;
    }
    if (c->fd < 0) {
        if ((c->fd = s_connect()) < 0) {
            w->io_errors++;
            return;
        }
        c->sending = false;
        s_watch(w, c, EPOLL_CTL_ADD);
    }
    s_build_request(w, c);
    c->t0 = bench_now_us();
    if (s_send(w, c) != 0) {
        w->io_errors++;
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

static void s_drop(s_worker_t *w, s_conn_t *c)
{
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void s_record(s_worker_t *w, s_conn_t *c, int status, const char *body, size_t blen)
{
    int64_t now = bench_now_us();
    w->answered++;
    bool counted = s_opt.max_requests > 0 || (now >= s_t_measure && now <= s_t_end);
    bool ok = status >= 200 && status < 300;
    if (!ok && atomic_fetch_add(&s_err_shown, 1) < ERR_SHOWN)
        fprintf(stderr, "loadgen: status %d: %.*s\n", status, (int)(blen > 300 ? 300 : blen),
                body);
    if (ok && s_opt.mode == MODE_POST_PERSONS && s_opt.ids_file) {
        const char *p = blen > 8 ? strstr(body, "\"id\":\"") : NULL;
        const char *q = p ? strchr(p + 6, '"') : NULL;
        if (q && q - (p + 6) < ID_MAX) {
            if (w->nids == w->aids) {
                w->aids = w->aids ? w->aids * 2 : 4096;
                w->ids = realloc(w->ids, w->aids * sizeof *w->ids);
                if (!w->ids) {
                    perror("loadgen: realloc");
                    exit(1);
                }
            }
            memcpy(w->ids[w->nids], p + 6, (size_t)(q - (p + 6)));
            w->ids[w->nids++][q - (p + 6)] = '\0';
        }
    }
    if (!counted)
        return;
    ok ? w->ok++ : w->bad++;
    if (w->nlat == w->alat) {
        w->alat = w->alat ? w->alat * 2 : 65536;
        w->lat = realloc(w->lat, w->alat * sizeof *w->lat);
        if (!w->lat) {
            perror("loadgen: realloc");
            exit(1);
        }
    }
    int64_t us = now - c->t0;
    w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    if (s_opt.max_requests > 0)
        atomic_store(&s_last_done, now);
}

/* Reads what has arrived; when a whole response is in, records it and starts the next. */
static void s_on_readable(s_worker_t *w, s_conn_t *c)
{
    bool eof = false;
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            c->rcap = c->rcap ? c->rcap * 2 : 16384;
            if (!(c->rbuf = realloc(c->rbuf, c->rcap + 1))) {
                perror("loadgen: realloc");
                exit(1);
            }
        }
        ssize_t k = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            break;
        if (k <= 0) {            /* closed (or broken): what came before may still be whole */
            eof = true;
            break;
        }
        c->rlen += (size_t)k;
    }
    c->rbuf[c->rlen] = '\0';
    char *end = strstr(c->rbuf, "\r\n\r\n");
    size_t hlen = end ? (size_t)(end - c->rbuf) + 4 : 0;
    int status = 0;
    if (end && sscanf(c->rbuf, "HTTP/1.%*d %d", &status) != 1)
        end = NULL, eof = true;  /* not HTTP: give up on this connection */
    const char *cl = end ? bench_header(c->rbuf, hlen, "Content-Length") : NULL;
    size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
    if (!end || c->rlen < hlen + blen) {
        if (eof) {
            w->io_errors++;
            s_drop(w, c);
            s_issue(w, c);
        }
        return;
    }
    s_record(w, c, status, c->rbuf + hlen, blen);
    const char *conn = bench_header(c->rbuf, hlen, "Connection");
    if (eof || (conn && strncasecmp(conn + strspn(conn, " "), "close", 5) == 0))
        s_drop(w, c);
    s_issue(w, c);
}

static void *s_run(void *arg)
{
    s_worker_t *w = arg;
    struct epoll_event evs[256];
    for (int i = 0; i < w->nconns; i++) {
        w->conns[i].fd = -1;
        s_issue(w, &w->conns[i]);
    }
    for (;;) {
        int live = 0;
        for (int i = 0; i < w->nconns; i++)
            live += w->conns[i].fd >= 0;
        if (!live)
            break;
        int n = epoll_wait(w->ep, evs, 256, 50);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            s_conn_t *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if (c->sending) {
                if (s_send(w, c) != 0) {
                    w->io_errors++;
                    s_drop(w, c);
                    s_issue(w, c);
                }
            } else {
                s_on_readable(w, c);
            }
        }
        /* A run by duration ends with requests still in flight: drop them past a grace. */
        if (s_opt.max_requests == 0 && bench_now_us() > s_t_end + 2000000)
            for (int i = 0; i < w->nconns; i++)
                if (w->conns[i].fd >= 0)
                    s_drop(w, &w->conns[i]);
    }
    return NULL;
}

/* ------------------------------------------------------------ main ------------------------ */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P [--host 127.0.0.1] [--mode post-persons|get-ids|get]\n"
            "               [--conns 64] [--threads 2] [--duration 5] [--warmup 1]\n"
            "               [--requests M] [--path PATH] [--key KEY] [--ids FILE] [--seed N]\n"
            "               [--label TEXT]\n");
}

int main(int argc, char **argv)
{
    s_opt = (s_opts_t){ .host = "127.0.0.1", .conns = 64, .threads = 2, .duration = 5,
                        .warmup = 1, .mode = MODE_GET, .label = "run" };
    static const struct option opts[] = {
        { "host", required_argument, 0, 'H' },     { "port", required_argument, 0, 'p' },
        { "mode", required_argument, 0, 'm' },     { "conns", required_argument, 0, 'c' },
        { "threads", required_argument, 0, 't' },  { "duration", required_argument, 0, 'd' },
        { "warmup", required_argument, 0, 'w' },   { "requests", required_argument, 0, 'n' },
        { "path", required_argument, 0, 'P' },     { "key", required_argument, 0, 'k' },
        { "ids", required_argument, 0, 'i' },      { "seed", required_argument, 0, 's' },
        { "label", required_argument, 0, 'l' },    { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': s_opt.host = optarg; break;
        case 'p': s_opt.port = atoi(optarg); break;
        case 'm':
            if (strcmp(optarg, "post-persons") == 0) s_opt.mode = MODE_POST_PERSONS;
            else if (strcmp(optarg, "get-ids") == 0) s_opt.mode = MODE_GET_IDS;
            else if (strcmp(optarg, "get") == 0) s_opt.mode = MODE_GET;
            else { s_usage(); return 2; }
            break;
        case 'c': s_opt.conns = atoi(optarg); break;
        case 't': s_opt.threads = atoi(optarg); break;
        case 'd': s_opt.duration = atof(optarg); break;
        case 'w': s_opt.warmup = atof(optarg); break;
        case 'n': s_opt.max_requests = atoll(optarg); break;
        case 'P': s_opt.path = optarg; break;
        case 'k': s_opt.key = optarg; break;
        case 'i': s_opt.ids_file = optarg; break;
        case 's': s_opt.seed = atoll(optarg); break;
        case 'l': s_opt.label = optarg; break;
        default: s_usage(); return ch == 'h' ? 0 : 2;
        }
    }
    if (s_opt.port <= 0 || s_opt.conns < 1 || s_opt.threads < 1 || s_opt.duration <= 0) {
        s_usage();
        return 2;
    }
    if (s_opt.threads > s_opt.conns)
        s_opt.threads = s_opt.conns;
    if (!s_opt.path)
        s_opt.path = s_opt.mode == MODE_POST_PERSONS ? "/v1/persons"
                   : s_opt.mode == MODE_GET_IDS      ? "/v1/persons/" : "/";
    if (s_opt.mode == MODE_POST_PERSONS && !s_opt.key) {
        fprintf(stderr, "loadgen: post-persons needs --key\n");
        return 2;
    }
    if (s_opt.mode == MODE_GET_IDS && (!s_opt.ids_file || bench_load_ids("loadgen", s_opt.ids_file, &s_get_ids, &s_nget_ids) != 0))
        return 2;
    if (s_opt.max_requests > 0)
        s_opt.warmup = 0;

    s_worker_t *ws = calloc((size_t)s_opt.threads, sizeof *ws);
    s_conn_t *conns = calloc((size_t)s_opt.conns, sizeof *conns);
    if (!ws || !conns)
        return 1;
    s_t_start = bench_now_us();
    s_t_measure = s_t_start + (int64_t)(s_opt.warmup * 1e6);
    s_t_end = s_t_measure + (int64_t)(s_opt.duration * 1e6);
    for (int t = 0, first = 0; t < s_opt.threads; t++) {
        s_worker_t *w = &ws[t];
        w->index = t;
        w->nconns = s_opt.conns / s_opt.threads + (t < s_opt.conns % s_opt.threads);
        w->conns = conns + first;
        first += w->nconns;
        w->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(t + 1);
        if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            pthread_create(&w->thread, NULL, s_run, w) != 0) {
            perror("loadgen");
            return 1;
        }
    }
    size_t nlat = 0;
    long long ok = 0, bad = 0, io_errors = 0, answered = 0;
    for (int t = 0; t < s_opt.threads; t++) {
        pthread_join(ws[t].thread, NULL);
        nlat += ws[t].nlat;
        ok += ws[t].ok;
        bad += ws[t].bad;
        io_errors += ws[t].io_errors;
        answered += ws[t].answered;
    }
    double secs = s_opt.max_requests > 0
                      ? (double)(atomic_load(&s_last_done) - s_t_start) / 1e6
                      : s_opt.duration;
    uint32_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
    if (!all)
        return 1;
    size_t k = 0;
    for (int t = 0; t < s_opt.threads; t++) {
        memcpy(all + k, ws[t].lat, ws[t].nlat * sizeof *all);
        k += ws[t].nlat;
    }
    bench_sort(all, nlat);

    if (s_opt.ids_file && s_opt.mode == MODE_POST_PERSONS) {
        FILE *f = fopen(s_opt.ids_file, "w");
        if (!f) {
            perror(s_opt.ids_file);
            return 1;
        }
        for (int t = 0; t < s_opt.threads; t++)
            for (size_t i = 0; i < ws[t].nids; i++)
                fprintf(f, "%s\n", ws[t].ids[i]);
        fclose(f);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    /* rps counts only 2xx answers; latencies are of every answer in the window; answered and
     * cpu_s (this process's CPU time) cover the whole run, warm-up included. */
    printf("label=%s conns=%d threads=%d ok=%lld non2xx=%lld io_errors=%lld secs=%.2f rps=%.0f "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f answered=%lld cpu_s=%.2f\n",
           s_opt.label, s_opt.conns, s_opt.threads, ok, bad, io_errors, secs,
           secs > 0 ? (double)ok / secs : 0, bench_pct(all, nlat, 0.50),
           bench_pct(all, nlat, 0.90), bench_pct(all, nlat, 0.99), nlat ? all[nlat - 1] / 1000.0 : 0, answered,
           cpu);
    for (int t = 0; t < s_opt.threads; t++) {
        free(ws[t].lat);
        free(ws[t].ids);
        close(ws[t].ep);
    }
    for (int i = 0; i < s_opt.conns; i++)
        free(conns[i].rbuf);
    free(conns);
    free(ws);
    free(all);
    free(s_get_ids);
    return 0;
}
