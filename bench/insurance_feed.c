/*
 * insurance_feed.c — latency from an acknowledged enrolment to a consumer receiving its event.
 *
 *   insurance_feed --port HTTP_PORT --key KEY --pub INSURANCE_PUB_EP --n N [--seed S]
 *
 * A consumer thread subscribes to the insurance service's PUB socket (as hamyar-fund-sync's
 * live feed does) and stamps every message with CLOCK_MONOTONIC the moment it is received.
 * The main thread, over one keep-alive HTTP/1.1 connection to the gateway, N times: registers a
 * person (POST /v1/persons, a valid national ID, aged 30-45), creates her business (POST
 * /v1/businesses), then requests her enrolment (POST /v1/enrolments), stamping the moment the
 * whole 201 answer has been read. Latency = receive stamp of the enrolment's event (matched by
 * its subject, the enrolment id) − that ack stamp; it is negative when the event arrived before
 * the client had read the answer (the service replies, then publishes, but the two travel on
 * different sockets); also from the moment the request was sent. One enrolment at a time, so nothing queues behind another.
 *
 * Prints "n=N received=R p50_ms=.. p99_ms=.. max_ms=.. min_ms=.. negative=K ack_p50_ms=.."
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"

#define MAXN 100000

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* received[k] = stamp of the event of enr_k (0 = not yet) */
static double *s_recv;
static long s_recv_cap;
static atomic_int s_stop;
static atomic_long s_nrecv;

static void *s_consumer(void *arg)
{
    void *sub = arg;
    while (!atomic_load(&s_stop)) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        char topic[128], body[8192];
        int more = 0;
        size_t ml = sizeof more;
        int tl = zmq_recv(sub, topic, sizeof topic - 1, 0);
        double t = s_now_ms();
        if (tl < 0)
            continue;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            continue;
        int bl = zmq_recv(sub, body, sizeof body - 1, 0);
        if (bl < 0)
            continue;
        body[bl < (int)sizeof body - 1 ? bl : (int)sizeof body - 1] = '\0';
        const char *s = strstr(body, "\"subject\":\"enr_");
        if (!s)
            continue;
        long k = strtol(s + 15, NULL, 10);
        if (k > 0 && k < s_recv_cap && s_recv[k] == 0) {
            s_recv[k] = t;
            atomic_fetch_add(&s_nrecv, 1);
        }
    }
    return NULL;
}

static int s_fd = -1;
static int s_port;
static const char *s_key;

static int s_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("insurance_feed: connect");
        exit(1);
    }
    return fd;
}

/* One POST; returns the status, the body in out. */
static int s_post(const char *path, const char *body, char *out, size_t outsz)
{
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nAccept: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, s_port, s_key, strlen(body), body);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s_fd < 0)
            s_fd = s_connect();
        if (write(s_fd, req, (size_t)n) != n) {
            close(s_fd);
            s_fd = -1;
            continue;
        }
        static char buf[65536];
        size_t len = 0;
        for (;;) {
            ssize_t r = read(s_fd, buf + len, sizeof buf - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            buf[len] = '\0';
            char *hend = strstr(buf, "\r\n\r\n");
            if (!hend)
                continue;
            const char *cl = strcasestr(buf, "content-length:");
            size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if (len >= (size_t)(hend + 4 - buf) + want) {
                int status = atoi(buf + 9);
                snprintf(out, outsz, "%.*s", (int)want, hend + 4);
                return status;
            }
        }
        close(s_fd);
        s_fd = -1;
    }
    return -1;
}

static int s_id(const char *body, char *out, size_t n)
{
    const char *s = strstr(body, "\"id\":\"");
    if (!s)
        return -1;
    s += 6;
    const char *e = strchr(s, '"');
    if (!e || (size_t)(e - s) >= n)
        return -1;
    snprintf(out, n, "%.*s", (int)(e - s), s);
    return 0;
}

static void s_nid(long long n, char out[11])
{
    while (!bench_national_id(n, 7654321ULL, out))
        n += 1000000007LL;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(const double *v, int n, double p)
{
    int i = (int)(p * n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int main(int argc, char **argv)
{
    const char *pub = NULL;
    int n = 500;
    long long seed = 0;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--port")) s_port = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--key")) s_key = argv[a + 1];
        else if (!strcmp(argv[a], "--pub")) pub = argv[a + 1];
        else if (!strcmp(argv[a], "--n")) n = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--seed")) seed = atoll(argv[a + 1]);
    }
    if (!s_port || !s_key || !pub || n < 1 || n > MAXN) {
        fprintf(stderr, "usage: insurance_feed --port P --key K --pub EP --n N\n");
        return 2;
    }
    void *zctx = zmq_ctx_new(), *sub = zmq_socket(zctx, ZMQ_SUB);
    if (zmq_connect(sub, pub) != 0 || zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) != 0) {
        fprintf(stderr, "insurance_feed: SUB %s: %s\n", pub, zmq_strerror(zmq_errno()));
        return 1;
    }
    s_recv_cap = 4L * MAXN + 16;   /* enrolment numbers start at 1 in a fresh store */
    s_recv = calloc((size_t)s_recv_cap, sizeof *s_recv);
    double *ack = calloc((size_t)n, sizeof *ack), *lat = calloc((size_t)n, sizeof *lat),
           *ackms = calloc((size_t)n, sizeof *ackms), *sent = calloc((size_t)n, sizeof *sent),
           *lat2 = calloc((size_t)n, sizeof *lat2);
    long *enr = calloc((size_t)n, sizeof *enr);
    pthread_t th;
    pthread_create(&th, NULL, s_consumer, sub);
    usleep(300 * 1000);   /* the SUB connects (a slow joiner misses the first messages) */
    static const char *const fields[] = {"agriculture", "industry", "handicrafts", "services"};
    char body[2048], reply[65536], pid[64], bid[64], eid[64];
    int done = 0;
    for (int i = 0; i < n; i++) {
        char nid[11];
        s_nid(seed + i, nid);
        snprintf(body, sizeof body,
                 "{\"national_id\":\"%s\",\"first_name\":\"مریم\",\"last_name\":\"احمدی\","
                 "\"birth_date\":\"19%02d-%02d-%02d\",\"sex\":\"%s\","
                 "\"referral\":{\"source\":\"self\"}}",
                 nid, 80 + i % 15, 1 + i % 12, 1 + i % 28, i % 2 ? "male" : "female");
        int st = s_post("/v1/persons", body, reply, sizeof reply);
        if (st != 201 || s_id(reply, pid, sizeof pid) != 0) {
            fprintf(stderr, "insurance_feed: POST /v1/persons: %d %.300s\n", st, reply);
            return 1;
        }
        snprintf(body, sizeof body,
                 "{\"owner_id\":\"%s\",\"activity\":\"carpet weaving\",\"field\":\"%s\"}", pid,
                 fields[i % 4]);
        st = s_post("/v1/businesses", body, reply, sizeof reply);
        if (st != 201 || s_id(reply, bid, sizeof bid) != 0) {
            fprintf(stderr, "insurance_feed: POST /v1/businesses: %d %.300s\n", st, reply);
            return 1;
        }
        snprintf(body, sizeof body,
                 "{\"person_id\":\"%s\",\"business_id\":\"%s\",\"field\":\"%s\","
                 "\"start_date\":\"2025-01-01\"}",
                 pid, bid, fields[i % 4]);
        double t0 = s_now_ms();
        st = s_post("/v1/enrolments", body, reply, sizeof reply);
        double t1 = s_now_ms();
        if (st != 201 || s_id(reply, eid, sizeof eid) != 0) {
            fprintf(stderr, "insurance_feed: POST /v1/enrolments: %d %.300s\n", st, reply);
            return 1;
        }
        const char *us = strrchr(eid, '_');
        enr[i] = us ? strtol(us + 1, NULL, 10) : 0;
        ack[i] = t1;
        sent[i] = t0;
        ackms[i] = t1 - t0;
        done++;
    }
    double deadline = s_now_ms() + 3000;   /* the last events */
    int got = 0;
    while (s_now_ms() < deadline) {
        got = 0;
        for (int i = 0; i < done; i++)
            got += enr[i] > 0 && enr[i] < s_recv_cap && s_recv[enr[i]] != 0;
        if (got == done)
            break;
        usleep(10000);
    }
    atomic_store(&s_stop, 1);
    pthread_join(th, NULL);
    int m = 0, neg = 0;
    for (int i = 0; i < done; i++)
        if (enr[i] > 0 && enr[i] < s_recv_cap && s_recv[enr[i]] != 0) {
            lat[m] = s_recv[enr[i]] - ack[i];
            lat2[m] = s_recv[enr[i]] - sent[i];
            neg += lat[m] < 0;
            m++;
        }
    qsort(lat, (size_t)m, sizeof *lat, s_cmp);
    qsort(lat2, (size_t)m, sizeof *lat2, s_cmp);
    qsort(ackms, (size_t)done, sizeof *ackms, s_cmp);
    printf("n=%d received=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f min_ms=%.3f negative=%d "
           "ack_p50_ms=%.2f ack_p99_ms=%.2f sent_p50_ms=%.3f sent_p99_ms=%.3f\n",
           done, m, m ? s_pct(lat, m, 0.5) : 0, m ? s_pct(lat, m, 0.99) : 0, m ? lat[m - 1] : 0,
           m ? lat[0] : 0, neg, s_pct(ackms, done, 0.5), s_pct(ackms, done, 0.99),
           m ? s_pct(lat2, m, 0.5) : 0, m ? s_pct(lat2, m, 0.99) : 0);
    zmq_close(sub);
    zmq_ctx_term(zctx);
    return 0;
}
