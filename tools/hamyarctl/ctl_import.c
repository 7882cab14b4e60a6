/*
 * ctl_import.c — hamyarctl import FILE --agency CODE --date DATE [--follow]: sends an agency's
 * list to the registry through the gateway and, with --follow, shows its progress until done.
 *
 * The gateway takes JSON bodies of at most a megabyte, so the file goes in parts (--part-kb,
 * default 64 KiB of the file, base64 in the body): POST /v1/imports with the first part, then
 * POST /v1/imports/{id}/parts with seq 1, 2, ... and last on the final one. The file is cut
 * anywhere (the registry carries an unfinished character or record over to the next part). A
 * part that fails for want of an answer is sent again: the registry takes a part once.
 *
 * It acts with an API key like any client (--key, else HY_API_KEY) of role social_services,
 * against the gateway at HY_HTTP_ADDR:HY_HTTP_PORT (default 127.0.0.1:8080).
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define TIMEOUT_MS 30000
#define TRIES 5

typedef struct {
    const char *addr, *port, *key;
} s_http_t;

/* One HTTP/1.0 request with a JSON body (NULL for none). Returns the status (0 when there was
 * no answer) and *reply the decoded body (NULL when not JSON). */
static int s_request(const s_http_t *h, const char *method, const char *path, const char *body,
                     json_t **reply)
{
    *reply = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(h->addr, h->port, &hints, &ai) != 0 || !ai)
        return 0;
    size_t blen = body ? strlen(body) : 0, hlen = 512 + strlen(path) + strlen(h->key);
    char *head = malloc(hlen), *resp = NULL;
    size_t got = 0, cap = 0;
    int status = 0, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    int n = head ? snprintf(head, hlen,
                            "%s %s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                            "Accept: application/json\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            method, path, h->addr, h->key, blen)
                 : -1;
    if (n < 0 || fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        goto done;
    for (size_t off = 0; off < (size_t)n + blen;) {
        const char *p = off < (size_t)n ? head + off : body + (off - (size_t)n);
        size_t len = off < (size_t)n ? (size_t)n - off : blen - (off - (size_t)n);
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            goto done;
        off += (size_t)w;
    }
    for (;;) {
        if (got + 4096 + 1 > cap) {
            char *r = realloc(resp, cap = (got + 4096 + 1) * 2);
            if (!r)
                goto done;
            resp = r;
        }
        ssize_t r = read(fd, resp + got, cap - got - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!resp || got < 12 || strncmp(resp, "HTTP/1.", 7) != 0)
        goto done;
    resp[got] = '\0';
    status = atoi(resp + 9);
    const char *b = strstr(resp, "\r\n\r\n");
    if (b)
        *reply = json_loads(b + 4, 0, NULL);
done:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    free(head);
    free(resp);
    return status;
}

/* Sends a request again while nothing (or a 5xx) comes back. */
static int s_send(const s_http_t *h, const char *method, const char *path, json_t *body,
                  json_t **reply)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int status = 0;
    for (int i = 0; text && i < TRIES; i++) {
        json_decref(*reply);
        status = s_request(h, method, path, text, reply);
        if (status && status < 500)
            break;
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(text);
    return status;
}

static char *s_b64(const unsigned char *p, size_t n)
{
    size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(len);
    if (out)
        sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

static int s_fail(int status, json_t *reply, const char *what)
{
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    fprintf(stderr, "hamyarctl: %s: %s %s\n", what, status ? "HTTP" : "no answer",
            text ? text : "");
    free(text);
    return 1;
}

/* Shows progress on stderr until the import is done; prints it on stdout. */
static int s_follow(const s_http_t *h, const char *id, bool tty)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/imports/%s", id);
    for (;;) {
        json_t *imp = NULL;
        int status = s_request(h, "GET", path, NULL, &imp);
        if (status != 200) {
            json_decref(imp);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);   /* the registry may be restarting: ask again */
            continue;
        }
        json_int_t total = json_integer_value(json_object_get(imp, "total"));
        json_int_t done = json_integer_value(json_object_get(imp, "done"));
        const char *state = json_string_value(json_object_get(imp, "state"));
        int pct = total ? (int)(done * 100 / total) : 100, bar = pct / 5;
        fprintf(stderr, "%s[%.*s%*s] %3d%% %lld/%lld %s%s", tty ? "\r" : "", bar,
                "####################", 20 - bar, "", pct, (long long)done, (long long)total,
                state ? state : "?", tty ? "" : "\n");
        if (state && strcmp(state, "done") == 0) {
            char *text = json_dumps(imp, JSON_INDENT(2));
            fprintf(stderr, "%s", tty ? "\n" : "");
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(imp);
            return 0;
        }
        json_decref(imp);
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int ctl_import(int argc, char **argv)
{
    const char *agency = NULL, *date = NULL, *office = NULL, *follow = NULL, *part_kb = NULL,
               *key = getenv("HY_API_KEY"), *pos[1] = {NULL};
    const ctl_opt_t opts[] = {
        {"agency", false, &agency}, {"date", false, &date},       {"office", false, &office},
        {"follow", true, &follow},  {"part-kb", false, &part_kb}, {"key", false, &key},
        {0},
    };
    if (ctl_parse(argc, argv, opts, pos, 1) != 1 || !agency || !date) {
        fprintf(stderr, "usage: hamyarctl import FILE --agency CODE --date DATE [--office CODE] "
                        "[--follow] [--part-kb N] [--key KEY]\n");
        return CTL_EXIT_USAGE;
    }
    if (!key || !*key) {
        fprintf(stderr, "hamyarctl: import needs an API key (--key or HY_API_KEY)\n");
        return CTL_EXIT_USAGE;
    }
    /* 64 KiB: the registry parses a part while its writer commits (about 5-10 ms for 64 KiB),
     * and the writer waits for that parse before its next batch: a part's size is how long a
     * registration sent meanwhile may wait for it */
    long kb = part_kb ? strtol(part_kb, NULL, 10) : 64;
    if (kb < 1 || kb > 700) {
        fprintf(stderr, "hamyarctl: --part-kb must be 1..700 (a part travels base64 in a body "
                        "of at most 1 MiB)\n");
        return CTL_EXIT_USAGE;
    }
    s_http_t h = {getenv("HY_HTTP_ADDR"), getenv("HY_HTTP_PORT"), key};
    if (!h.addr || !*h.addr || strcmp(h.addr, "0.0.0.0") == 0)
        h.addr = "127.0.0.1";
    if (!h.port || !*h.port)
        h.port = "8080";
    FILE *f = fopen(pos[0], "rb");
    if (!f) {
        fprintf(stderr, "hamyarctl: cannot open %s: %s\n", pos[0], strerror(errno));
        return 1;
    }
    size_t size = (size_t)kb * 1024;
    unsigned char *buf = malloc(size), *next = malloc(size);
    char id[64] = "";
    int rc = 1;
    size_t n = buf ? fread(buf, 1, size, f) : 0;
    for (long seq = 0; buf && next; seq++) {
        size_t m = fread(next, 1, size, f);   /* one part ahead: is this one the last? */
        bool last = m == 0;
        char *b64 = s_b64(buf, n);
        json_t *body, *reply = NULL;
        char path[128];
        if (seq == 0) {
            body = json_pack("{s:s,s:s,s:s,s:b,s:s}", "agency", agency,
                             strchr(date, '/') ? "date_jalali" : "date", date, "data",
                             b64 ? b64 : "", "more", !last, "file_name", pos[0]);
            if (office)
                json_object_set_new(body, "office", json_string(office));
            snprintf(path, sizeof path, "/v1/imports");
        } else {
            body = json_pack("{s:I,s:s,s:b}", "seq", (json_int_t)seq, "data", b64 ? b64 : "",
                             "last", last);
            snprintf(path, sizeof path, "/v1/imports/%s/parts", id);
        }
        free(b64);
        int status = s_send(&h, "POST", path, body, &reply);
        json_decref(body);
        if (status != 202) {
            rc = s_fail(status, reply, seq ? "sending a part" : "creating the import");
            json_decref(reply);
            goto done;
        }
        if (seq == 0)
            snprintf(id, sizeof id, "%s", json_string_value(json_object_get(reply, "id")));
        json_decref(reply);
        if (last)
            break;
        unsigned char *t = buf;
        buf = next, next = t, n = m;
    }
    fprintf(stderr, "import %s sent\n", id);
    rc = follow ? s_follow(&h, id, isatty(2)) : (printf("%s\n", id), 0);
done:
    fclose(f);
    free(buf);
    free(next);
    return rc;
}
