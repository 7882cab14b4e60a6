/*
 * curve.c — CURVE keys, the ZAP handler and the loopback rule (see curve.h).
 */
#include "curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "zlimit.h"

#define Z85_KEY 40
#define MAX_ALLOWED 256

static char s_public[Z85_KEY + 1], s_secret[Z85_KEY + 1];
static bool s_on;
static pthread_t s_zap_thread;
static atomic_bool s_zap_stop;
static bool s_zap_running;

bool hy_curve_enabled(void)
{
    return s_on;
}

const char *hy_curve_broker_name(void)
{
    const char *e = getenv("HY_CURVE_BROKER_NAME");
    return e && *e ? e : "gateway";
}

static const char *s_dir(void)
{
    const char *d = getenv("HY_CURVE_DIR");
    return d && *d ? d : NULL;
}

/* Reads one Z85 key (40 characters, surrounding white space ignored) from dir/name.ext. */
static int s_read_key(const char *name, const char *ext, char out[Z85_KEY + 1])
{
    char path[1024], buf[128];
    snprintf(path, sizeof path, "%s/%s.%s", s_dir(), name, ext);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = buf;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (strlen(p) < Z85_KEY)
        return -1;
    memcpy(out, p, Z85_KEY);
    out[Z85_KEY] = '\0';
    uint8_t bin[32];
    return zmq_z85_decode(bin, out) ? 0 : -1;
}

int hy_curve_init(const char *name)
{
    if (!s_dir())
        return 0;
    const char *override = getenv("HY_CURVE_NAME");
    if (override && *override)
        name = override;
    if (s_read_key(name, "key", s_secret) != 0 || s_read_key(name, "pub", s_public) != 0) {
        hy_log_error("curve", "HY_CURVE_DIR is set but %s/%s.key or .pub cannot be read", s_dir(), name);
        return -1;
    }
    s_on = true;
    hy_log_info("curve", "CURVE on: this process is %s", name);
    return 0;
}

/* true for tcp endpoints on 127.0.0.0/8, localhost or [::1], and every non-tcp transport. */
static bool s_is_local(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return true;
    const char *h = ep + 6;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost:", 10) == 0 ||
           strncmp(h, "[::1]:", 6) == 0;
}

static int s_plaintext_check(const char *endpoint)
{
    if (s_on || !endpoint || s_is_local(endpoint))
        return 0;
    const char *ok = getenv("HY_PLAINTEXT_OK");
    if (ok && strcmp(ok, "1") == 0)
        return 0;
    hy_log_error("curve", "refusing plaintext on %s: set HY_CURVE_DIR (see hamyarctl curve keygen)"
                 " or HY_PLAINTEXT_OK=1 on a private network", endpoint);
    return -1;
}

int hy_curve_server(void *sock, const char *endpoint)
{
    if (hy_zmq_limit(sock) != 0)   /* every socket passes here: the message-size limit too */
        return -1;
    if (!s_on)
        return s_plaintext_check(endpoint);
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, s_secret, Z85_KEY) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "hamyar", 6) != 0) {
        hy_log_error("curve", "cannot make a CURVE server: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int hy_curve_client(void *sock, const char *server_name, const char *endpoint)
{
    if (hy_zmq_limit(sock) != 0)   /* every socket passes here: the message-size limit too */
        return -1;
    if (!s_on)
        return s_plaintext_check(endpoint);
    char server[Z85_KEY + 1];
    if (s_read_key(server_name, "pub", server) != 0) {
        hy_log_error("curve", "no public key for %s in %s", server_name, s_dir());
        return -1;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, Z85_KEY) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, s_public, Z85_KEY) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, s_secret, Z85_KEY) != 0) {
        hy_log_error("curve", "cannot make a CURVE client: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/* Is this 32-byte client key one of the *.pub files of the directory? Names it in *who. */
static bool s_allowed(const uint8_t *key, char *who, size_t whosz)
{
    char z85[Z85_KEY + 1];
    if (!zmq_z85_encode(z85, key, 32))
        return false;
    DIR *d = opendir(s_dir());
    if (!d)
        return false;
    struct dirent *e;
    bool ok = false;
    int seen = 0;
    while (!ok && (e = readdir(d)) && seen < MAX_ALLOWED) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
            continue;
        seen++;
        char name[256], pub[Z85_KEY + 1];
        snprintf(name, sizeof name, "%.*s", (int)(n - 4), e->d_name);
        if (s_read_key(name, "pub", pub) == 0 && strcmp(pub, z85) == 0) {
            ok = true;
            snprintf(who, whosz, "%s", name);
        }
    }
    closedir(d);
    if (!ok)
        snprintf(who, whosz, "%s", z85);
    return ok;
}

/* The ZAP protocol (RFC 27): one request, one reply, on inproc://zeromq.zap.01. */
static void *s_zap_loop(void *arg)
{
    void *rep = arg;
    while (!atomic_load(&s_zap_stop)) {
        zmq_pollitem_t item = {rep, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zmq_msg_t f[7];
        int n = 0, more = 1;
        while (more && n < 7) {
            zmq_msg_init(&f[n]);
            if (zmq_msg_recv(&f[n], rep, 0) < 0) {
                zmq_msg_close(&f[n]);
                break;
            }
            more = zmq_msg_more(&f[n]);
            n++;
        }
        const char *status = "400", *text = "key not allowed";
        char who[300] = "?";
        if (n >= 6 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
            n == 7 && zmq_msg_size(&f[6]) == 32) {
            if (s_allowed(zmq_msg_data(&f[6]), who, sizeof who)) {
                status = "200";
                text = "OK";
            }
        } else {
            text = "CURVE required";
        }
        if (strcmp(status, "200") != 0) {
            char addr[64] = "";
            if (n > 3)
                snprintf(addr, sizeof addr, "%.*s", (int)zmq_msg_size(&f[3]), (char *)zmq_msg_data(&f[3]));
            hy_log_warn("curve", "refused a connection from %s: %s (client key %s)", addr, text, who);
        }
        if (n >= 2) {
            zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
            zmq_send(rep, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
            zmq_send(rep, status, 3, ZMQ_SNDMORE);
            zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
            zmq_send(rep, strcmp(status, "200") == 0 ? who : "", strcmp(status, "200") == 0 ? strlen(who) : 0, ZMQ_SNDMORE);
            zmq_send(rep, "", 0, 0);
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
    zmq_close(rep);
    return NULL;
}

int hy_curve_zap_start(void *zctx)
{
    if (!s_on || s_zap_running)
        return 0;
    void *rep = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    if (!rep || zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(rep, "inproc://zeromq.zap.01") != 0) {
        hy_log_error("curve", "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        if (rep)
            zmq_close(rep);
        return -1;
    }
    atomic_store(&s_zap_stop, false);
    if (pthread_create(&s_zap_thread, NULL, s_zap_loop, rep) != 0) {
        zmq_close(rep);
        return -1;
    }
    s_zap_running = true;
    return 0;
}

void hy_curve_zap_stop(void)
{
    if (!s_zap_running)
        return;
    atomic_store(&s_zap_stop, true);
    pthread_join(s_zap_thread, NULL);
    s_zap_running = false;
}

int hy_curve_keygen(const char *dir, const char *name)
{
    char pub[Z85_KEY + 1], sec[Z85_KEY + 1], path[1024];
    if (zmq_curve_keypair(pub, sec) != 0)
        return -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    bool ok = write(fd, sec, Z85_KEY) == Z85_KEY && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok)
        return -1;
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return -1;
    ok = write(fd, pub, Z85_KEY) == Z85_KEY && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    return ok ? 0 : -1;
}
