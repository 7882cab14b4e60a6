/*
 * log.c — JSON-lines logging to stderr (see log.h).
 */
#define _GNU_SOURCE
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { L_DEBUG, L_INFO, L_WARN, L_ERROR };
static int s_level = L_INFO;
static char s_service[32] = "hamyar";

void hy_log_init(const char *service)
{
    snprintf(s_service, sizeof s_service, "%s", service);
    const char *lv = getenv("HY_LOG_LEVEL");
    if (lv) {
        if (strcmp(lv, "debug") == 0) s_level = L_DEBUG;
        else if (strcmp(lv, "warn") == 0) s_level = L_WARN;
        else if (strcmp(lv, "error") == 0) s_level = L_ERROR;
    }
}

int64_t hy_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void s_ts(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t w = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + w, n - w, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes the object as one line; jansson escapes the message so a line is never broken. */
static void s_emit(json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    json_decref(obj);
}

static void s_log(int level, const char *lname, const char *component, const char *fmt, va_list ap)
{
    if (level < s_level)
        return;
    char msg[1024], ts[40];
    vsnprintf(msg, sizeof msg, fmt, ap);
    s_ts(ts, sizeof ts);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ts", ts, "level", lname, "service",
                          s_service, "component", component, "msg", msg);
    if (o)
        s_emit(o);
}

#define LOGFN(fn, lvl, name)                                   \
    void fn(const char *component, const char *fmt, ...)       \
    {                                                          \
        va_list ap;                                            \
        va_start(ap, fmt);                                     \
        s_log(lvl, name, component, fmt, ap);                  \
        va_end(ap);                                            \
    }
LOGFN(hy_log_debug, L_DEBUG, "debug")
LOGFN(hy_log_info, L_INFO, "info")
LOGFN(hy_log_warn, L_WARN, "warn")
LOGFN(hy_log_error, L_ERROR, "error")

void hy_log_request(const char *op, const char *request_id, int status, int64_t micros)
{
    if (s_level > L_INFO)
        return;
    char ts[40];
    s_ts(ts, sizeof ts);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I}", "ts", ts, "level", "info",
                          "service", s_service, "op", op ? op : "", "request_id",
                          request_id ? request_id : "", "status", status, "us", (json_int_t)micros);
    if (o)
        s_emit(o);
}
