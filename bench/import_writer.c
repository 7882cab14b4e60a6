/*
 * import_writer.c — the registry writer's CPU per imported row, with no sockets (bench/sections/
 * 60-import.sh builds it against the registry's objects of the build measured).
 *
 *   import_writer ROWS DIR
 *
 * Imports ROWS rows of the bench's CSV (UTF-8 BOM, Persian headers and digits, 9-digit IDs) in
 * 64 KiB parts (hamyarctl's) through the service's own call path (hy_service_calls, as the
 * reactor runs a request), then applies them with the background steps
 * (hy_service_background), and prints the CPU this thread (the one writer) spent per row on
 * each, and the whole process's (threads the registry starts included). No network, no gateway, no other process: the figure moves with
 * the code far more than with the machine's load, unlike the rates of the cluster run.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "registry.h"

static double s_cpu(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Appends row k of the bench's list (the same as 60-import.sh's s_import_csv). */
static size_t s_row(char *out, size_t cap, int k)
{
    static const char *const fa[] = {"۰", "۱", "۲", "۳", "۴", "۵", "۶", "۷", "۸", "۹"};
    char nid[16], bd[16], bdfa[64];
    snprintf(nid, sizeof nid, "%09lld", ((long long)k * 7919 + 80000011) % 1000000000);
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (nid[i] - '0') * (10 - i);
    nid[9] = (char)('0' + (sum % 11 < 2 ? sum % 11 : 11 - sum % 11));
    nid[10] = '\0';
    snprintf(bd, sizeof bd, "13%02d/%02d/%02d", 40 + k % 45, 1 + k % 12, 1 + k % 28);
    size_t at = 0;
    for (const char *q = bd; *q && at + 3 < sizeof bdfa; q++) {
        const char *d = *q >= '0' && *q <= '9' ? fa[*q - '0'] : (char[]){*q, '\0'};
        size_t n = strlen(d);
        memcpy(bdfa + at, d, n);
        at += n;
    }
    bdfa[at] = '\0';
    int w = snprintf(out, cap, "%s,%s,%s%d,%s,زن,0912%07d,%d\r\n", nid[0] == '0' ? nid + 1 : nid,
                     "زهرا", "رضایی", k, bdfa, k % 10000000, 1 + k % 6);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    const char *dir = argc > 2 ? argv[2] : "/tmp/hamyar-import-writer";
    if (n <= 0 || sodium_init() < 0)
        return 2;
    setenv("HY_LOG_LEVEL", "warn", 0);
    hy_log_init("registry");   /* reads the level */
    hy_service_t *svc = hy_service_new(&registry_def, dir, 0);
    if (!svc) {
        fprintf(stderr, "import_writer: cannot open a registry in %s\n", dir);
        return 1;
    }
    int st;
    json_decref(hy_service_calls(svc, "offices.create", "operator", NULL,
                                 "{\"code\":\"office-1\",\"name\":\"o\",\"province\":\"p\","
                                 "\"city\":\"c\"}", &st));
    json_decref(hy_service_calls(svc, "agencies.create", "operator", NULL,
                                 "{\"code\":\"a\",\"name\":\"x\"}", &st));
    size_t cap = (size_t)n * 160 + 256;
    char *csv = malloc(cap);
    if (!csv)
        return 1;
    size_t at = (size_t)snprintf(csv, cap, "\xef\xbb\xbf%s\r\n",
                                 "کد ملی,نام,نام خانوادگی,تاریخ تولد,جنسیت,تلفن همراه,تعداد افراد خانوار");
    for (int k = 1; k <= n; k++)
        at += s_row(csv + at, cap - at, k);
    size_t part = 64 * 1024, off = 0;
    int seq = 0;
    double t0 = s_cpu(CLOCK_THREAD_CPUTIME_ID), p0 = s_cpu(CLOCK_PROCESS_CPUTIME_ID);
    while (off < at) {
        size_t len = at - off < part ? at - off : part;
        size_t blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(blen), *args = malloc(blen + 128);
        if (!b64 || !args)
            return 1;
        sodium_bin2base64(b64, blen, (unsigned char *)csv + off, len,
                          sodium_base64_VARIANT_ORIGINAL);
        const char *more = off + len < at ? "true" : "false";
        if (seq == 0)
            snprintf(args, blen + 128,
                     "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\",\"more\":%s}",
                     b64, more);
        else
            snprintf(args, blen + 128, "{\"id\":\"imp_1\",\"seq\":%d,\"data\":\"%s\",\"last\":%s}",
                     seq, b64, off + len < at ? "false" : "true");
        json_decref(hy_service_calls(svc, seq == 0 ? "imports.create" : "imports.add_part",
                                     "social_services", NULL, args, &st));
        free(b64);
        free(args);
        if (st != 202) {
            fprintf(stderr, "import_writer: part %d answered %d\n", seq, st);
            return 1;
        }
        off += len;
        seq++;
    }
    double t1 = s_cpu(CLOCK_THREAD_CPUTIME_ID);
    int steps = hy_service_background(svc, 1000000);
    double t2 = s_cpu(CLOCK_THREAD_CPUTIME_ID), p2 = s_cpu(CLOCK_PROCESS_CPUTIME_ID);
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}",
                                 &st);
    char *counts = json_dumps(json_object_get(json_object_get(r, "result"), "counts"),
                              JSON_COMPACT);
    printf("rows=%d parts=%d steps=%d writer_upload_us=%.1f writer_apply_us=%.1f writer_us=%.1f "
           "process_us=%.1f counts=%s\n",
           n, seq, steps, (t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n, (t2 - t0) * 1e6 / n,
           (p2 - p0) * 1e6 / n, counts ? counts : "?");
    free(counts);
    json_decref(r);
    free(csv);
    hy_service_destroy(&svc);
    return 0;
}
