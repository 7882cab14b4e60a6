/*
 * bare_pipeline.c — the bare-pipeline ceilings: HTTP → JSON → ZeroMQ → durable LMDB and back,
 * with nothing else (no keys, no routes, no spec checks, no events, no idempotency).
 *
 * Two processes, as Hamyar runs two (gateway and service):
 *   bare_pipeline worker --endpoint EP --dir DIR
 *       a ROUTER that drains every request waiting (up to 256), writes each body under a new
 *       key "prs_N" in one durable LMDB transaction (group commit, fsync per batch) and answers
 *       {"id":"prs_N"}; a request "GET <key>" is read in one read transaction per batch and
 *       answered with the stored document (or {"error":"not_found"}).
 *   bare_pipeline http --port P --endpoint EP [--threads N]
 *       libmicrohttpd with a pool of N threads (as the gateway starts it); POST parses the body
 *       with jansson, sends it compact to the worker and waits (one DEALER per thread), parses
 *       the reply and answers 201 with it; GET /x/y/ID asks for ID and answers 200 or 404.
 * So the gap between these ceilings and Hamyar is the cost of what Hamyar adds on top.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <lmdb.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define BATCH 256

static volatile sig_atomic_t s_stop;
static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* ---- the worker --------------------------------------------------------------------------- */

typedef struct {
    zmq_msg_t id, body;
} s_job_t;

static int s_worker(const char *endpoint, const char *dir)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    mkdir(dir, 0755);
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 1ull << 30) ||
        mdb_env_open(env, dir, 0, 0644) || mdb_txn_begin(env, NULL, 0, &txn) ||
        mdb_dbi_open(txn, NULL, 0, &dbi) || mdb_txn_commit(txn)) {
        fprintf(stderr, "bare worker: cannot open LMDB in %s\n", dir);
        return 1;
    }
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 100000, zero = 0;
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(router, endpoint) != 0) {
        fprintf(stderr, "bare worker: cannot bind %s\n", endpoint);
        return 1;
    }
    static s_job_t jobs[BATCH];
    unsigned long long next = 0;
    while (!s_stop) {
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        int n = 0;
        while (n < BATCH) {
            zmq_msg_init(&jobs[n].id);
            if (zmq_msg_recv(&jobs[n].id, router, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&jobs[n].id);
                break;
            }
            zmq_msg_init(&jobs[n].body);
            zmq_msg_recv(&jobs[n].body, router, 0);
            n++;
        }
        if (n == 0)
            continue;
        bool reads = true;   /* a batch of reads only needs a read transaction */
        for (int i = 0; i < n && reads; i++)
            reads = zmq_msg_size(&jobs[i].body) > 4 && memcmp(zmq_msg_data(&jobs[i].body), "GET ", 4) == 0;
        mdb_txn_begin(env, NULL, reads ? MDB_RDONLY : 0, &txn);
        for (int i = 0; i < n; i++) {
            char out[4096];
            size_t len;
            const char *b = zmq_msg_data(&jobs[i].body);
            size_t blen = zmq_msg_size(&jobs[i].body);
            if (blen > 4 && memcmp(b, "GET ", 4) == 0) {
                MDB_val k = {blen - 4, (void *)(b + 4)}, v;
                if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size < sizeof out) {
                    memcpy(out, v.mv_data, v.mv_size);
                    len = v.mv_size;
                } else
                    len = (size_t)snprintf(out, sizeof out, "{\"error\":\"not_found\"}");
            } else {
                char key[32];
                int kl = snprintf(key, sizeof key, "prs_%llu", ++next);
                MDB_val k = {(size_t)kl, key}, v = {blen, (void *)b};
                mdb_put(txn, dbi, &k, &v, 0);
                len = (size_t)snprintf(out, sizeof out, "{\"id\":\"%s\"}", key);
            }
            zmq_msg_close(&jobs[i].body);
            zmq_msg_init_size(&jobs[i].body, len);
            memcpy(zmq_msg_data(&jobs[i].body), out, len);
        }
        if (reads)
            mdb_txn_abort(txn);
        else if (mdb_txn_commit(txn) != 0)
            fprintf(stderr, "bare worker: commit failed\n");
        for (int i = 0; i < n; i++) {   /* reply only after the durable commit */
            zmq_msg_send(&jobs[i].id, router, ZMQ_SNDMORE);
            zmq_msg_send(&jobs[i].body, router, 0);
        }
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
    mdb_env_close(env);
    return 0;
}

/* ---- the HTTP side ------------------------------------------------------------------------ */

static void *s_ctx;
static const char *s_endpoint;
static _Thread_local void *tl_sock;

typedef struct {
    char *body;
    size_t len;
} s_req_t;

/* One synchronous round trip to the worker from this MHD thread. */
static char *s_call(const char *text, size_t len, size_t *out_len)
{
    if (!tl_sock) {
        int zero = 0;
        tl_sock = zmq_socket(s_ctx, ZMQ_DEALER);
        zmq_setsockopt(tl_sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_connect(tl_sock, s_endpoint);
    }
    zmq_msg_t m;
    if (zmq_send(tl_sock, text, len, 0) < 0)
        return NULL;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, tl_sock, 0) < 0) {
        zmq_msg_close(&m);
        return NULL;
    }
    char *out = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
    *out_len = zmq_msg_size(&m);
    zmq_msg_close(&m);
    return out;
}

static enum MHD_Result s_answer(struct MHD_Connection *conn, int status, char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls)
{
    (void)cls, (void)version;
    s_req_t *req = *con_cls;
    if (!req) {
        *con_cls = calloc(1, sizeof *req);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *b = realloc(req->body, req->len + *size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + req->len, data, *size);
        req->body = b;
        req->len += *size;
        *size = 0;
        return MHD_YES;
    }
    char *reply = NULL;
    size_t rlen = 0;
    bool post = strcmp(method, "POST") == 0;
    if (post) {
        json_t *doc = json_loadb(req->body ? req->body : "", req->len, 0, NULL);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!text)
            return s_answer(conn, 400, strdup("{\"error\":\"malformed_json\"}"));
        reply = s_call(text, strlen(text), &rlen);
        free(text);
    } else {
        const char *id = strrchr(url, '/');
        char q[128];
        int n = snprintf(q, sizeof q, "GET %s", id ? id + 1 : url);
        reply = s_call(q, (size_t)n, &rlen);
    }
    json_t *doc = reply ? json_loadb(reply, rlen, 0, NULL) : NULL;
    free(reply);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int status = !doc ? 502 : json_object_get(doc, "error") ? 404 : post ? 201 : 200;
    json_decref(doc);
    return s_answer(conn, status, text ? text : strdup("{}"));
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_req_t *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

static int s_http(int port, int threads)
{
    s_ctx = zmq_ctx_new();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port,
        NULL, NULL, s_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare http: cannot listen on %d\n", port);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    /* The threads' sockets are not closed: the process exits here. */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bare_pipeline worker|http [--endpoint EP] [--dir D] [--port P] [--threads N]\n");
        return 2;
    }
    const char *role = argv[1], *dir = "./bare-lmdb";
    s_endpoint = "tcp://127.0.0.1:7199";
    int port = 8099, threads = 64, c;
    static const struct option opts[] = {
        {"endpoint", required_argument, 0, 'e'}, {"dir", required_argument, 0, 'd'},
        {"port", required_argument, 0, 'p'},     {"threads", required_argument, 0, 't'},
        {0, 0, 0, 0},
    };
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e': s_endpoint = optarg; break;
        case 'd': dir = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        default: return 2;
        }
    }
    if (strcmp(role, "worker") == 0) {
        struct sigaction sa = {.sa_handler = s_on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return s_worker(s_endpoint, dir);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return s_http(port, threads);
}
