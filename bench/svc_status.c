/*
 * svc_status.c — asks a service for service.status through the broker, as hamyarctl or a
 * subscriber would (docs/protocol.md), and prints the reply's result on one line.
 *
 *   svc_status --broker tcp://127.0.0.1:7100 --service registry
 *
 * bench/run.sh reads "requests" and "batches" from it before and after a run: their ratio is
 * the average group-commit batch the service achieved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    const char *broker = "tcp://127.0.0.1:7100", *service = "registry";
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--broker") == 0)
            broker = argv[a + 1];
        else if (strcmp(argv[a], "--service") == 0)
            service = argv[a + 1];
    }
    int rc = 1, zero = 0;
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!s || zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 || zmq_connect(s, broker) != 0)
        goto done;
    const char *req = "{\"v\":1,\"op\":\"service.status\",\"id\":\"bench-status\","
                      "\"actor\":{\"key_id\":\"bench\",\"role\":\"operator\",\"office\":\"\"},"
                      "\"args\":{}}";
    if (zmq_send(s, "HYC1", 4, ZMQ_SNDMORE) < 0 ||
        zmq_send(s, service, strlen(service), ZMQ_SNDMORE) < 0 || zmq_send(s, req, strlen(req), 0) < 0)
        goto done;
    zmq_pollitem_t item = { s, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&item, 1, 3000) != 1)
        goto done;
    for (int frame = 0;; frame++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0)
            goto done;
        if (frame == 2)
            printf("%.*s\n", (int)zmq_msg_size(&m), (const char *)zmq_msg_data(&m));
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (!more)
            break;
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "svc_status: no answer from %s at %s\n", service, broker);
    if (s)
        zmq_close(s);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}
