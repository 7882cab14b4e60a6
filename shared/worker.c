/*
 * worker.c — the worker side of the broker protocol: READY, REQUEST in, REPLY out.
 *
 * Frames on the DEALER socket (docs/protocol.md): "HYW1" "READY" <service>;
 * "HYW1" "REQUEST" <client> <json>; "HYW1" "REPLY" <client> <json>. The reactor receives and
 * the reactor sends (a ZeroMQ socket belongs to one thread), for its own writes and for the
 * replies its reader threads hand back.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "service_internal.h"

int hy_worker_ready(void *sock, const char *service, const char *digest)
{
    if (zmq_send(sock, "HYW1", 4, ZMQ_SNDMORE) < 0 || zmq_send(sock, "READY", 5, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, service, strlen(service), ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, digest, strlen(digest), ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

int hy_worker_recv(void *sock, zmq_msg_t *client, json_t **doc)
{
    zmq_msg_t body;
    *doc = NULL;
    int rc = hy_worker_recv_raw(sock, client, &body);
    if (rc != 0)
        return rc;
    *doc = hy_worker_decode(&body);
    zmq_msg_close(&body);
    return 0;
}

json_t *hy_worker_decode(zmq_msg_t *body)
{
    json_error_t jerr;
    json_t *doc = json_loadb(zmq_msg_data(body), zmq_msg_size(body), 0, &jerr);
    return doc ? doc : json_pack("{s:s}", "id", "");   /* answered as a malformed request */
}

int hy_worker_recv_raw(void *sock, zmq_msg_t *client, zmq_msg_t *body)
{
    zmq_msg_t f[4];
    int n = 0, more = 1, rc = 0;
    while (more) {
        zmq_msg_t tmp, *m = n < 4 ? &f[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            return zmq_errno() == EAGAIN && n == 0 ? 1 : -1;
        }
        more = zmq_msg_more(m);
        if (m == &tmp) {
            zmq_msg_close(m);
            rc = -2;
        } else
            n++;
    }
    if (rc == 0 && n == 4 && zmq_msg_size(&f[1]) == 7 && memcmp(zmq_msg_data(&f[1]), "REQUEST", 7) == 0) {
        zmq_msg_init(client);
        zmq_msg_move(client, &f[2]);
        zmq_msg_init(body);
        zmq_msg_move(body, &f[3]);
    } else {
        rc = -2;
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return rc == -2 ? 2 : 0;
}

void hy_worker_reply(void *sock, const void *client, size_t client_len, const char *text,
                     size_t len)
{
    if (!text || zmq_send(sock, "HYW1", 4, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, "REPLY", 5, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, client, client_len, ZMQ_SNDMORE) < 0 || zmq_send(sock, text, len, 0) < 0)
        hy_log_error("service", "cannot send a reply: %s", zmq_strerror(zmq_errno()));
}
