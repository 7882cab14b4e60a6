/*
 * testutil.c — temporary directories for tests that open LMDB environments, and calls with
 * printf-built arguments (testutil.h).
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hy_test_tmpdir(char *buf)
{
    snprintf(buf, 64, "/tmp/hamyar-test-XXXXXX");
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        abort();
    }
}

void hy_test_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

json_t *hy_test_vcall(hy_service_t *svc, const char *op, const char *role, const char *office,
                      int *status, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *args = n < 0 ? NULL : malloc((size_t)n + 1);
    if (args)
        vsnprintf(args, (size_t)n + 1, fmt, again);
    va_end(again);
    if (!args) {
        if (status)
            *status = -1;
        return NULL;
    }
    json_t *reply = hy_service_calls_as(svc, op, role, office, NULL, args, status);
    free(args);
    return reply;
}

json_t *hy_test_call(hy_service_t *svc, const char *op, const char *role, const char *office,
                     int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *reply = hy_test_vcall(svc, op, role, office, status, fmt, ap);
    va_end(ap);
    return reply;
}
