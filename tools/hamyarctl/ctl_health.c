/*
 * ctl_health.c — hamyarctl ping --service NAME --local: a service's health from its own host,
 * for a container's health check.
 *
 * It asks nothing of the gateway (no broker, no name to resolve), so it answers within its
 * timeout whether or not the gateway exists, and fails only for the service's own faults:
 *   - no process hamyar-NAME runs here, or it is stopped (state T), dead or a zombie;
 *   - its events endpoint (the PUB socket it binds: --pub, HY_PUB_BIND, HY_PUB_<NAME>) does not
 *     take a TCP connection: it lost the socket or never bound it.
 * Not a ZeroMQ handshake: a service's one I/O thread also reconnects to the broker, and libzmq
 * resolves the broker's name there, blocking; while the gateway is away and the resolver slow,
 * no handshake completes, though nothing is wrong with the service.
 * A service that publishes nothing (--pub none: reporting) is judged by its process alone.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
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

/* Splits a bound tcp:// endpoint into the address to connect to (a wildcard host becomes
 * loopback) and its port. Returns 0, or -1 when it is not tcp://HOST:PORT. */
static int s_local_address(const char *bound, char *host, size_t host_size, char *port,
                           size_t port_size)
{
    if (strncmp(bound, "tcp://", 6) != 0)
        return -1;
    const char *h = bound + 6, *colon = strrchr(h, ':');
    if (!colon || !colon[1] || (size_t)(colon - h) >= host_size)
        return -1;
    snprintf(port, port_size, "%s", colon + 1);
    snprintf(host, host_size, "%.*s", (int)(colon - h), h);
    if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, host_size, "127.0.0.1");
    else if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    return 0;
}

/* Connects to the service's events port (numeric addresses only: no name to resolve) within
 * timeout_ms. The kernel completes the connection for a socket the process holds bound and
 * listening: a process that lost its socket, or never bound it, fails. Returns 0 or -1. */
static int s_connect(const char *service, const char *bound, int timeout_ms)
{
    char host[256], port[16];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai = NULL;
    if (s_local_address(bound, host, sizeof host, port, sizeof port) != 0 ||
        getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "hamyarctl: %s's events endpoint %s is not tcp://ADDRESS:PORT: not "
                        "checked\n", service, bound);
        return 0;
    }
    int rc = -1, err = 0, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    socklen_t len = sizeof err;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
            rc = err == 0 ? 0 : -1;
        else
            err = ETIMEDOUT;
    } else if (fd >= 0) {
        err = errno;
        rc = err == 0 ? 0 : -1;
    } else {
        err = errno;
    }
    if (rc != 0)
        fprintf(stderr, "hamyarctl: %s's events at %s:%s: %s\n", service, host, port,
                strerror(err));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

int ctl_ping_local(const char *service, int timeout_ms)
{
    setenv("HY_LOG_LEVEL", "warn", 0);
    hy_log_init("hamyarctl");
    char bound[512] = "";
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
    if (s_connect(service, bound, timeout_ms) != 0)
        return 1;
    printf("%s: running, events endpoint %s listening\n", service, bound);
    return 0;
}
