/*
 * static.c — the office console's files, served from a folder with the shape of the URL.
 *
 * A name is taken only when every segment is plain ([A-Za-z0-9._-], not starting with a
 * dot) and its extension is one of a short list: no "..", no hidden files, no directory
 * listings. Files are read whole (a console file is small; 4 MB at most) and sent with a
 * strict Content-Security-Policy: the console loads nothing but its own files and calls
 * nothing but this gateway. Answers are counted and logged like the API's (route
 * "console").
 */
#include "static.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define PREFIX "/console"
#define FONTS_PREFIX "/console/fonts/"
#define FILE_MAX (4u << 20)
#define FONTS_DEFAULT "/usr/share/fonts/truetype/farsiweb"

static const struct {
    const char *ext, *ctype;
} s_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ttf", "font/ttf" },
    { ".woff2", "font/woff2" },
    { ".txt", "text/plain; charset=utf-8" },
};

bool hy_static_wants(const char *url)
{
    size_t n = strlen(PREFIX);
    return strncmp(url, PREFIX, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

static const char *s_ctype(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof s_types / sizeof *s_types; i++)
        if (strcmp(dot, s_types[i].ext) == 0)
            return s_types[i].ctype;
    return NULL;
}

/* A relative name of plain segments. */
static bool s_plain(const char *rel)
{
    bool start = true;
    if (!*rel || strlen(rel) > 200)
        return false;
    for (const char *p = rel; *p; p++) {
        char c = *p;
        if (c == '/') {
            if (start)
                return false;  /* empty segment */
            start = true;
            continue;
        }
        if (start && c == '.')
            return false;
        start = false;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return !start;
}

/* The console's folder: HY_CONSOLE_DIR, else ../../../gateway/console from the executable
 * (build/VARIANT/bin/hamyar-gateway in the source tree). 0, or -1 when it cannot be told. */
static int s_root(char *out, size_t size)
{
    const char *env = getenv("HY_CONSOLE_DIR");
    if (env && *env) {
        int n = snprintf(out, size, "%s", env);
        return n < 0 || (size_t)n >= size ? -1 : 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {   /* drop the name, bin/, VARIANT/ and build/ */
        char *slash = strrchr(exe, '/');
        if (!slash)
            return -1;
        *slash = '\0';
    }
    int m = snprintf(out, size, "%s/gateway/console", exe);
    return m < 0 || (size_t)m >= size ? -1 : 0;
}

/* Reads a regular file whole. NULL when missing, not regular, too big or unreadable. */
static char *s_read(const char *path, size_t *len)
{
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)FILE_MAX)
        goto fail;
    if (!(data = malloc((size_t)st.st_size + 1)))
        goto fail;
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        goto fail;
    fclose(f);
    *len = (size_t)st.st_size;
    return data;
fail:
    free(data);
    fclose(f);
    return NULL;
}

/* Queues one answer with the console's headers; body (may be NULL) is taken. */
static enum MHD_Result s_send(hy_gw_req_t *req, struct MHD_Connection *conn, int status,
                              const char *ctype, char *body, size_t len, const char *location)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        body ? len : 0, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_YES;
    if ((ctype && MHD_add_response_header(resp, "Content-Type", ctype) != MHD_YES) ||
        MHD_add_response_header(resp, "X-Request-Id", req->request_id) != MHD_YES ||
        MHD_add_response_header(resp, "Cache-Control", "no-cache") != MHD_YES ||
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES ||
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
            != MHD_YES ||
        (status == 405 && MHD_add_response_header(resp, "Allow", "GET, HEAD") != MHD_YES) ||
        (location && MHD_add_response_header(resp, "Location", location) != MHD_YES))
        rc = MHD_NO;
    if (rc == MHD_YES)
        rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    req->answered = true;
    int64_t us = hy_now_us() - req->start_us;
    hy_metrics_request(req->t->metrics, -1, status, (uint64_t)us);
    hy_gw_log_request("console", req->request_id, status, us);
    return rc;
}

static enum MHD_Result s_text(hy_gw_req_t *req, struct MHD_Connection *conn, int status,
                              const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return s_send(req, conn, status, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

enum MHD_Result hy_static_serve(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, const char *method)
{
    (void)gw;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_text(req, conn, 405, "the console's files are read with GET\n");
    if (strcmp(url, PREFIX) == 0)
        return s_send(req, conn, 301, NULL, NULL, 0, PREFIX "/");
    char path[PATH_MAX];
    const char *rel = url + strlen(PREFIX "/");
    int n;
    if (strncmp(url, FONTS_PREFIX, strlen(FONTS_PREFIX)) == 0) {
        rel = url + strlen(FONTS_PREFIX);
        const char *dir = getenv("HY_CONSOLE_FONTS");
        if (!s_plain(rel) || strchr(rel, '/'))
            return s_text(req, conn, 404, "no such file\n");
        n = snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : FONTS_DEFAULT, rel);
    } else {
        char root[PATH_MAX - 256];
        if (!*rel)
            rel = "index.html";
        if (!s_plain(rel))
            return s_text(req, conn, 404, "no such file\n");
        if (s_root(root, sizeof root) != 0)
            return s_text(req, conn, 500, "the console's folder cannot be found\n");
        n = snprintf(path, sizeof path, "%s/%s", root, rel);
    }
    const char *ctype = s_ctype(rel);
    if (n < 0 || (size_t)n >= sizeof path || !ctype)
        return s_text(req, conn, 404, "no such file\n");
    size_t len = 0;
    char *data = s_read(path, &len);
    if (!data)
        return s_text(req, conn, 404, "no such file\n");
    return s_send(req, conn, 200, ctype, data, len, NULL);
}
