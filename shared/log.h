/*
 * log.h — structured logs: one JSON object per line on stderr.
 *
 * Operators feed these lines to whatever collects logs; a line is never split and always has
 * ts, level and service. Request lines (hy_log_request) add op, request id, status and
 * microseconds so latency and errors can be read off the logs alone.
 *
 * Thread safety: every function may be called from any thread (reader threads log their
 * requests) once hy_log_init has run; each line is one write. Nothing here fails or allocates
 * on the caller's behalf.
 */
#ifndef HY_LOG_H
#define HY_LOG_H

#include <stdint.h>

/* HY_LOG_LEVEL=debug|info|warn|error (default info). Reads the environment once. */
void hy_log_init(const char *service);

void hy_log_info(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hy_log_warn(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hy_log_error(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hy_log_debug(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line per handled request. */
void hy_log_request(const char *op, const char *request_id, int status, int64_t micros);

/* Monotonic microseconds, for latency. */
int64_t hy_now_us(void);

#endif
