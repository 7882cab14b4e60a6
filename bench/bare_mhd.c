/*
 * bare_mhd.c — the bare-HTTP ceiling: libmicrohttpd answering a constant small JSON body.
 *
 * It starts MHD exactly as the gateway does (gateway/server.c: internal polling thread, a
 * thread pool of --threads, epoll when available, suspend/resume allowed, the same connection
 * limit and idle timeout) and answers the way the gateway's handler does (the request taken on
 * MHD's first call, answered on the next, with the same three response headers), so the gap
 * between this and the gateway is the cost of everything behind HTTP: keys, JSON, the broker,
 * the service and LMDB.
 *
 *   bare_mhd --port P [--threads N]      runs until SIGINT or SIGTERM
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char s_body[] = "{\"id\":\"prs_1\",\"status\":\"ok\"}\n";
static int s_marker;

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (!*con_cls) {            /* the first call: headers only, as in the gateway */
        *con_cls = &s_marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof s_body - 1, (void *)s_body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    enum MHD_Result rc = MHD_NO;
    if (MHD_add_response_header(resp, "Content-Type", "application/json") == MHD_YES &&
        MHD_add_response_header(resp, "X-Request-Id", "00000000-0000-4000-8000-000000000000") ==
            MHD_YES &&
        MHD_add_response_header(resp, "Cache-Control", "no-store") == MHD_YES)
        rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    int port = 0, threads = 16;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--port") == 0)
            port = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--threads") == 0)
            threads = atoi(argv[a + 1]);
    }
    if (port <= 0 || port > 65535 || threads < 1) {
        fprintf(stderr, "usage: bare_mhd --port P [--threads N]\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return 1;

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, s_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare_mhd: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    fprintf(stderr, "bare_mhd: 127.0.0.1:%d, %d threads\n", port, threads);
    int sig;
    while (sigwait(&stop, &sig) != 0)
        ;
    MHD_stop_daemon(d);
    return 0;
}
