/*
 * bench_util.h — what the bench load generators (loadgen.c, loans_repay.c) share: the clock,
 * a TCP connection, a header lookup, exact percentiles, the list of ids to ask for, and valid
 * national IDs.
 *
 * Header only, every function static inline: each bench program is one file that bench/run.sh
 * or its section compiles alone ("bench/NAME.c"), and includes this beside it.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_ID_MAX 32   /* an id ("prs_123", "loan_42") and its '\0' */

/* Monotonic microseconds. */
static inline int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A blocking TCP connection to host:port (an IPv4 address) with TCP_NODELAY; -1 on failure. */
static inline int bench_connect(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Case-insensitive search for a header's value within the header block; NULL when absent. */
static inline const char *bench_header(const char *head, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; p && p < head + n;) {
        const char *eol = memchr(p, '\n', (size_t)(head + n - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return p + nl + 1;
        p = eol + 1;
    }
    return NULL;
}

static inline int bench_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts n latencies (µs) so that bench_pct can read them. */
static inline void bench_sort(uint32_t *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_u32);
}

/* The p-th percentile (0..1) of n sorted latencies, in ms (the exact order statistic). */
static inline double bench_pct(const uint32_t *v, size_t n, double p)
{
    return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] / 1000.0 : 0;
}

/* Reads the ids of path, one a line (empty and over-long lines skipped), into *ids (a new
 * array, the caller's to free) and *n. Returns 0, or -1 (path unreadable, out of memory, or
 * no id: said on stderr with prog's name). */
static inline int bench_load_ids(const char *prog, const char *path, char (**ids)[BENCH_ID_MAX],
                                 size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t a = 0;
    char line[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line || strlen(line) >= BENCH_ID_MAX)
            continue;
        if (*n == a) {
            a = a ? a * 2 : 4096;
            char (*grown)[BENCH_ID_MAX] = realloc(*ids, a * sizeof **ids);
            if (!grown) {
                fclose(f);
                return -1;
            }
            *ids = grown;
        }
        strcpy((*ids)[(*n)++], line);
    }
    fclose(f);
    if (!*n)
        fprintf(stderr, "%s: no ids in %s\n", prog, path);
    return *n ? 0 : -1;
}

/* The n-th valid national ID of a run (salt picks the run). Each nine-digit prefix has exactly
 * one valid tenth digit (the check digit), so a bijection of n onto prefixes gives distinct IDs;
 * the multiplier (prime to 10) scatters them over the index like real IDs rather than in order.
 * Returns false for the few n whose ID would have ten equal digits (invalid): take another n. */
static inline bool bench_national_id(long long n, unsigned long long salt, char out[11])
{
    unsigned long long p = ((unsigned long long)n * 387420489ULL + salt) % 1000000000ULL;
    snprintf(out, 11, "%09llu", p);
    int s = 0;
    for (int i = 0; i < 9; i++)
        s += (out[i] - '0') * (10 - i);
    int r = s % 11;
    out[9] = (char)('0' + (r < 2 ? r : 11 - r));
    out[10] = '\0';
    for (int i = 1; i < 10; i++)
        if (out[i] != out[0])
            return true;
    return false;
}

#endif
