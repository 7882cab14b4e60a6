/*
 * loans_repay.c — the load generator of the loans benchmark: POST /v1/loans/{id}/repayments.
 *
 * bench/loadgen.c sends GETs of ids and POSTs of new persons; this sends, over N keep-alive
 * connections (one thread each, one request in flight per connection), repayments of
 * --amount rials dated --date on the loans listed in --ids, each request on the next loan of
 * the list (a different loan every time until the list runs out, then round again) with a
 * bank reference unique to the run (--seed keeps runs apart). Every latency is kept, so p50/p99
 * are exact. Its one line on stdout has loadgen's keys, so bench/lib.sh reads it the same way:
 *   label=.. conns=.. threads=.. ok=.. non2xx=.. io_errors=.. secs=.. rps=.. p50_ms=.. p90_ms=..
 *   p99_ms=.. max_ms=.. answered=.. cpu_s=..
 * rps counts 2xx answers in the measured window (after --warmup); answered and cpu_s cover
 * the whole run. The first few non-2xx answers are printed to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define ERR_SHOWN 3

static struct {
    const char *host, *key, *ids_file, *date, *label;
    int port, conns;
    double duration, warmup;
    long long amount, seed;
} s_opt;

static char (*s_ids)[BENCH_ID_MAX];
static size_t s_nids;
static atomic_llong s_next;
static atomic_int s_err_shown;
static int64_t s_t_measure, s_t_end;

typedef struct {
    pthread_t thread;
    uint32_t *lat;
    size_t nlat, alat;
    long long ok, bad, io_errors, answered;
} s_worker_t;

static int s_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Reads one whole response into buf; returns its status (0 when broken), *close when the server
 * will close the connection. */
static int s_read_response(int fd, char *buf, size_t cap, const char **body, size_t *blen,
                           bool *close_after)
{
    size_t len = 0;
    for (;;) {
        if (len == cap - 1)
            return 0;
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        len += (size_t)k;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        size_t hlen = (size_t)(end - buf) + 4;
        const char *cl = bench_header(buf, hlen, "Content-Length");
        size_t want = cl ? strtoul(cl, NULL, 10) : 0;
        if (len < hlen + want)
            continue;
        int status = 0;
        if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
            return 0;
        const char *conn = bench_header(buf, hlen, "Connection");
        *close_after = conn && strncasecmp(conn + strspn(conn, " "), "close", 5) == 0;
        *body = buf + hlen;
        *blen = want;
        return status;
    }
}

static void *s_run(void *arg)
{
    s_worker_t *w = arg;
    static const size_t cap = 1 << 20;
    char *rbuf = malloc(cap), req[2048], body[512];
    int fd = -1;
    if (!rbuf)
        return NULL;
    while (bench_now_us() < s_t_end) {
        if (fd < 0 && (fd = bench_connect(s_opt.host, s_opt.port)) < 0) {
            w->io_errors++;
            usleep(10000);
            continue;
        }
        long long k = atomic_fetch_add(&s_next, 1);
        int blen = snprintf(body, sizeof body,
                            "{\"amount_rials\":%lld,\"date\":\"%s\",\"reference\":\"BR-%lld-%lld\"}",
                            s_opt.amount, s_opt.date, s_opt.seed, k);
        int n = snprintf(req, sizeof req,
                         "POST /v1/loans/%s/repayments HTTP/1.1\r\nHost: %s:%d\r\n"
                         "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                         "Accept: application/json\r\nContent-Length: %d\r\n\r\n%s",
                         s_ids[(size_t)k % s_nids], s_opt.host, s_opt.port, s_opt.key, blen, body);
        int64_t t0 = bench_now_us();
        const char *rb = NULL;
        size_t rblen = 0;
        bool close_after = false;
        int status = s_write_all(fd, req, (size_t)n) == 0
                         ? s_read_response(fd, rbuf, cap, &rb, &rblen, &close_after) : 0;
        int64_t now = bench_now_us();
        if (status == 0) {
            w->io_errors++;
            close(fd);
            fd = -1;
            continue;
        }
        w->answered++;
        bool ok = status >= 200 && status < 300;
        if (!ok && atomic_fetch_add(&s_err_shown, 1) < ERR_SHOWN)
            fprintf(stderr, "loans_repay: status %d: %.*s\n", status, (int)(rblen > 300 ? 300 : rblen),
                    rb);
        if (now >= s_t_measure && now <= s_t_end) {
            ok ? w->ok++ : w->bad++;
            if (w->nlat == w->alat) {
                w->alat = w->alat ? w->alat * 2 : 16384;
                if (!(w->lat = realloc(w->lat, w->alat * sizeof *w->lat))) {
                    perror("loans_repay");
                    exit(1);
                }
            }
            int64_t us = now - t0;
            w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
        if (close_after) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(rbuf);
    return NULL;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: loans_repay --port P --key KEY --ids FILE --date YYYY-MM-DD\n"
                    "                   [--host 127.0.0.1] [--conns 64] [--duration 5] [--warmup 1]\n"
                    "                   [--amount 1000] [--seed N] [--label TEXT]\n");
}

int main(int argc, char **argv)
{
    s_opt.host = "127.0.0.1", s_opt.conns = 64, s_opt.duration = 5, s_opt.warmup = 1;
    s_opt.amount = 1000, s_opt.label = "repay";
    static const struct option opts[] = {
        {"host", required_argument, 0, 'H'},   {"port", required_argument, 0, 'p'},
        {"key", required_argument, 0, 'k'},    {"ids", required_argument, 0, 'i'},
        {"date", required_argument, 0, 'D'},   {"conns", required_argument, 0, 'c'},
        {"duration", required_argument, 0, 'd'}, {"warmup", required_argument, 0, 'w'},
        {"amount", required_argument, 0, 'a'}, {"seed", required_argument, 0, 's'},
        {"label", required_argument, 0, 'l'},  {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': s_opt.host = optarg; break;
        case 'p': s_opt.port = atoi(optarg); break;
        case 'k': s_opt.key = optarg; break;
        case 'i': s_opt.ids_file = optarg; break;
        case 'D': s_opt.date = optarg; break;
        case 'c': s_opt.conns = atoi(optarg); break;
        case 'd': s_opt.duration = atof(optarg); break;
        case 'w': s_opt.warmup = atof(optarg); break;
        case 'a': s_opt.amount = atoll(optarg); break;
        case 's': s_opt.seed = atoll(optarg); break;
        case 'l': s_opt.label = optarg; break;
        case 't': break;   /* loadgen's flag: here one thread per connection */
        default: s_usage(); return ch == 'h' ? 0 : 2;
        }
    }
    if (s_opt.port <= 0 || !s_opt.key || !s_opt.ids_file || !s_opt.date || s_opt.conns < 1 ||
        s_opt.duration <= 0 || s_opt.amount < 1) {
        s_usage();
        return 2;
    }
    if (bench_load_ids("loans_repay", s_opt.ids_file, &s_ids, &s_nids) != 0)
        return 2;
    s_worker_t *ws = calloc((size_t)s_opt.conns, sizeof *ws);
    if (!ws)
        return 1;
    int64_t start = bench_now_us();
    s_t_measure = start + (int64_t)(s_opt.warmup * 1e6);
    s_t_end = s_t_measure + (int64_t)(s_opt.duration * 1e6);
    for (int i = 0; i < s_opt.conns; i++)
        if (pthread_create(&ws[i].thread, NULL, s_run, &ws[i]) != 0) {
            perror("loans_repay");
            return 1;
        }
    size_t nlat = 0;
    long long ok = 0, bad = 0, io = 0, answered = 0;
    for (int i = 0; i < s_opt.conns; i++) {
        pthread_join(ws[i].thread, NULL);
        nlat += ws[i].nlat, ok += ws[i].ok, bad += ws[i].bad, io += ws[i].io_errors;
        answered += ws[i].answered;
    }
    uint32_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
    if (!all)
        return 1;
    for (int i = 0, k = 0; i < s_opt.conns; k += (int)ws[i].nlat, i++)
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof *all);
    bench_sort(all, nlat);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("label=%s conns=%d threads=%d ok=%lld non2xx=%lld io_errors=%lld secs=%.2f rps=%.0f "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f answered=%lld cpu_s=%.2f loans=%zu\n",
           s_opt.label, s_opt.conns, s_opt.conns, ok, bad, io, s_opt.duration,
           (double)ok / s_opt.duration, bench_pct(all, nlat, 0.50), bench_pct(all, nlat, 0.90),
           bench_pct(all, nlat, 0.99), nlat ? all[nlat - 1] / 1000.0 : 0, answered, cpu, s_nids);
    for (int i = 0; i < s_opt.conns; i++)
        free(ws[i].lat);
    free(ws);
    free(all);
    free(s_ids);
    return 0;
}
