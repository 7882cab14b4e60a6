/*
 * testutil.h — small helpers the unit tests share: temporary directories, and calling a
 * service's op with printf-built arguments.
 */
#ifndef HY_TESTUTIL_H
#define HY_TESTUTIL_H

#include <stdarg.h>

#include "service.h"

/* Creates a fresh directory under /tmp; buf holds at least 64 bytes. */
void hy_test_tmpdir(char *buf);
/* Removes a directory and the files in it (one level, as LMDB leaves them). */
void hy_test_rmdir(const char *dir);


/* Runs op on svc as role acting for office (hy_service_calls_as: "*" the province, NULL no
 * office) with the JSON args built printf-style from fmt. *status (when not NULL) gets the
 * reply's status. Returns the reply (a new reference; NULL for args that are not JSON). */
json_t *hy_test_vcall(hy_service_t *svc, const char *op, const char *role, const char *office,
                      int *status, const char *fmt, va_list ap);
json_t *hy_test_call(hy_service_t *svc, const char *op, const char *role, const char *office,
                     int *status, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
