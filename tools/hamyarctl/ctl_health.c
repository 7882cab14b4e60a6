/*
 * ctl_health.c — hamyarctl ping --service NAME --local: a service's health from its own host,
 * for a container's health check.
 *
 * It asks nothing of the gateway (no broker, no name to resolve), so it answers within its
 * timeout whether or not the gateway exists, and fails only for the service's own faults:
 *   - no process hamyar-NAME runs here, or it is stopped (state T), dead or a zombie;
 *   - its events endpoint (the PUB socket it binds: --pub, HY_PUB_BIND, HY_PUB_<NAME>) does not
 *     complete a ZeroMQ handshake (with CURVE when HY_CURVE_DIR is set) within the timeout: its
 *     I/O thread or its ZAP handler is stuck, or it never bound.
 * A service that publishes nothing (--pub none: reporting) is judged by its process alone.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "ctl.h"
#include "curve.h"
#include "log.h"
#include "service.h"

#define CMDLINE_MAX 4096

/* Reads /proc/PID/cmdline into buf (NUL-separated words); returns its length or -1. */
static long s_cmdline(const char *pid, char *buf, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[got] = '\0';
    return (long)got;
}

/* The state letter of /proc/PID/stat (the field after the parenthesised name), or '?'. */
static char s_state(const char *pid)
{
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *close = strrchr(buf, ')');
    return close && close[1] == ' ' && close[2] ? close[2] : '?';
}

/* Finds the running hamyar-NAME: its events endpoint (from --pub, else the environment) goes to
 * pub. Returns 0 when one runs in a healthy state, -1 after saying what is wrong. */
static int s_find_process(const char *service, char *pub, size_t pub_size)
{
    char want[128], cmd[CMDLINE_MAX];
    snprintf(want, sizeof want, "hamyar-%s", service);
    DIR *d = opendir("/proc");
    if (!d) {
        fprintf(stderr, "hamyarctl: cannot read /proc\n");
        return -1;
    }
    int found = 0, healthy = 0;
    char bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        long len = s_cmdline(e->d_name, cmd, sizeof cmd);
        if (len <= 0)
            continue;
        const char *base = strrchr(cmd, '/');
        if (strcmp(base ? base + 1 : cmd, want) != 0)
            continue;
        found++;
        char st = s_state(e->d_name);
        if (st == 'T' || st == 't' || st == 'Z' || st == 'X' || st == '?') {
            bad = st;
            continue;
        }
        healthy++;
        /* --pub EP or --pub=EP among its arguments. */
        for (const char *a = cmd + strlen(cmd) + 1; a < cmd + len; a += strlen(a) + 1) {
            const char *next = a + strlen(a) + 1;
            if (strcmp(a, "--pub") == 0 && next < cmd + len)
                snprintf(pub, pub_size, "%s", next);
            else if (strncmp(a, "--pub=", 6) == 0)
                snprintf(pub, pub_size, "%s", a + 6);
        }
    }
    closedir(d);
    if (healthy)
        return 0;
    if (found)
        fprintf(stderr, "hamyarctl: %s is %s\n", want,
                bad == 'Z' || bad == 'X' ? "dead" : bad == '?' ? "gone" : "stopped");
    else
        fprintf(stderr, "hamyarctl: no process %s runs here\n", want);
    return -1;
}

/* The endpoint to connect to for a bound one: a wildcard host becomes loopback. */
static void s_local_endpoint(const char *bound, char *out, size_t n)
{
    const char *hostport = strncmp(bound, "tcp://", 6) == 0 ? bound + 6 : NULL;
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    if (colon && ((colon - hostport == 1 && hostport[0] == '*') ||
                  (colon - hostport == 7 && strncmp(hostport, "0.0.0.0", 7) == 0)))
        snprintf(out, n, "tcp://127.0.0.1%s", colon);
    else
        snprintf(out, n, "%s", bound);
}

/* Connects a SUB socket to the service's events and waits for the handshake. Returns 0 or -1. */
static int s_handshake(const char *service, const char *endpoint, int timeout_ms)
{
    int rc = -1, zero = 0, said = 0;
    void *zctx = zmq_ctx_new(), *sub = NULL, *mon = NULL;
    char monitor[64];
    snprintf(monitor, sizeof monitor, "inproc://health-%s", service);
    if (!zctx || hy_curve_init("hamyarctl") != 0)
        goto fail;
    sub = zmq_socket(zctx, ZMQ_SUB);
    mon = zmq_socket(zctx, ZMQ_PAIR);
    if (!sub || !mon || zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(mon, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_socket_monitor(sub, monitor, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        zmq_connect(mon, monitor) != 0 || hy_curve_client(sub, service, endpoint) != 0 ||
        zmq_connect(sub, endpoint) != 0)
        goto fail;
    /* Each event is two frames: [16-bit event, 32-bit value] then the endpoint. */
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int got = zmq_msg_recv(&frame, mon, 0);
    uint16_t event = 0;
    if (got >= 2)
        memcpy(&event, zmq_msg_data(&frame), sizeof event);
    zmq_msg_close(&frame);
    said = 1;
    if (got < 0)
        fprintf(stderr, "hamyarctl: %s's events at %s: no handshake in %d ms\n", service,
                endpoint, timeout_ms);
    else if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        fprintf(stderr, "hamyarctl: %s's events at %s: handshake failed (event %u)\n", service,
                endpoint, (unsigned)event);
    else
        rc = 0;
fail:
    if (rc != 0 && !said)
        fprintf(stderr, "hamyarctl: %s's events at %s: %s\n", service, endpoint,
                zmq_strerror(zmq_errno()));
    if (sub)
        zmq_socket_monitor(sub, NULL, 0);
    if (mon)
        zmq_close(mon);
    if (sub)
        zmq_close(sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}

int ctl_ping_local(const char *service, int timeout_ms)
{
    setenv("HY_LOG_LEVEL", "warn", 0);
    hy_log_init("hamyarctl");
    char bound[512] = "", endpoint[512];
    if (s_find_process(service, bound, sizeof bound) != 0)
        return 1;
    if (!bound[0]) {
        const char *env = getenv("HY_PUB_BIND");
        snprintf(bound, sizeof bound, "%s", env && *env ? env : hy_config_pub(service));
    }
    if (strcmp(bound, "none") == 0) {
        printf("%s: running (publishes no events)\n", service);
        return 0;
    }
    s_local_endpoint(bound, endpoint, sizeof endpoint);
    if (s_handshake(service, endpoint, timeout_ms) != 0)
        return 1;
    printf("%s: running, events at %s answer\n", service, endpoint);
    return 0;
}
