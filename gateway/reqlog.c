/*
 * reqlog.c — the request log: one JSON line per answered request, written in batches.
 *
 * The line is built here rather than with log.h, whose lines name an op, so that it can name
 * the route, which is what an operator reads metrics by: formatted on the stack, no JSON tree.
 * Lines are not written one system call each (that was the largest single cost of a GET in the
 * gateway's own code): they gather in one buffer, in the order the requests were answered, and
 * go out whole when it holds HY_GW_LOG_BUFFER bytes, when its first line is HY_GW_LOG_FLUSH_MS
 * old (checked as each line is added, and by the gateway's "hy-log" ticker when no request
 * comes), and at shutdown: nginx's access_log buffer=/flush= in one. A line is thus late by
 * at most that interval, and a crash loses at most the lines of that interval; the other log
 * lines (log.h: warnings, errors) are written at once, as before.
 */
#include "gateway.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_buf[HY_GW_LOG_BUFFER];
static size_t s_len;
static int64_t s_first_us;      /* when the buffer's first line was added */

/* Writes the buffer out; under s_lock. A short write is retried; a failing stderr drops the
 * lines (as fwrite to a broken stderr did). */
static void s_drain(void)
{
    size_t off = 0;
    while (off < s_len) {
        ssize_t n = write(STDERR_FILENO, s_buf + off, s_len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    s_len = 0;
    s_first_us = 0;
}

void hy_gw_log_flush(void)
{
    pthread_mutex_lock(&s_lock);
    if (s_len)
        s_drain();
    pthread_mutex_unlock(&s_lock);
}

/* Appends text to out as the inside of a JSON string (", \\ and control characters escaped);
 * stops short of end. Returns the new end of out. */
static char *s_json_text(char *out, const char *end, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)text; *p && out + 6 < end; p++) {
        if (*p == '"' || *p == '\\') {
            *out++ = '\\';
            *out++ = (char)*p;
        } else if (*p < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[*p >> 4];
            out[5] = hex[*p & 15];
            out += 6;
        } else {
            *out++ = (char)*p;
        }
    }
    return out;
}

/* The UTC second a thread formatted last, so that strftime runs once a second per thread. */
static _Thread_local time_t s_sec = -1;
static _Thread_local char s_stamp[32];
static _Thread_local size_t s_stamp_len;

void hy_gw_log_request(const char *route, const char *rid, int status, int64_t us)
{
    char line[1024];
    char *p = line, *end = line + sizeof line - 64;   /* room for the numbers and the close */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != s_sec) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        s_stamp_len = strftime(s_stamp, sizeof s_stamp, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
        s_sec = now.tv_sec;
    }
    memcpy(p, s_stamp, s_stamp_len);
    p += s_stamp_len;
    long ms = now.tv_nsec / 1000000;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    static const char mid[] = "Z\",\"level\":\"info\",\"service\":\"gateway\",\"route\":\"";
    memcpy(p, mid, sizeof mid - 1);
    p += sizeof mid - 1;
    p = s_json_text(p, end - 200, route ? route : "");
    memcpy(p, "\",\"request_id\":\"", 16);
    p = s_json_text(p + 16, end, rid ? rid : "");
    p += snprintf(p, 64, "\",\"status\":%d,\"us\":%lld}\n", status, (long long)us);
    size_t n = (size_t)(p - line);

    int64_t t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    pthread_mutex_lock(&s_lock);
    if (s_len + n > sizeof s_buf)
        s_drain();
    memcpy(s_buf + s_len, line, n);
    s_len += n;
    if (!s_first_us)
        s_first_us = t;
    else if (t - s_first_us >= (int64_t)HY_GW_LOG_FLUSH_MS * 1000)
        s_drain();
    pthread_mutex_unlock(&s_lock);
}

/* The ticker's function: lines older than the interval go out though no request comes. */
void hy_gw_log_tick(void *arg)
{
    (void)arg;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    pthread_mutex_lock(&s_lock);
    if (s_len && t - s_first_us >= (int64_t)HY_GW_LOG_FLUSH_MS * 1000)
        s_drain();
    pthread_mutex_unlock(&s_lock);
}
