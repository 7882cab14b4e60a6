/*
 * event_store.c — generated event stores for the insurance and reporting benchmarks, and the
 * baselines read from them. Plain LMDB and jansson: it does not link the build under test.
 *
 *   event_store gen --dir DIR --kind registry|loans|insurance --n N [--persons P]
 *                   [--cursor SOURCE=SEQ]...
 *       Writes N events, sequences 1..N, into the "_outbox" database of the LMDB environment
 *       DIR (created), exactly in the skeleton's outbox format (shared/outbox.c): key = the
 *       sequence as 8 big-endian bytes, value = the CloudEvent as compact JSON with the members
 *       hy_emit writes, in its order. Only the outbox is written: no domain records, audit index
 *       or actors (what events.since and a follower read is the outbox alone). --cursor puts a
 *       "src:SOURCE" cursor in "_cursors", so the service does not replay that source.
 *         registry   registry.person.registered, prs_1..prs_N (valid national IDs)
 *         loans      loans.loan.disbursed, lon_1..lon_N, each fully disbursing its loan, to a
 *                    person among prs_1..prs_P
 *         insurance  insurance.enrolment.requested, enr_1..enr_N, for persons among prs_1..P
 *       Dates are spread over Solar Hijri year 1403 (2024-03-20 .. 2025-03-20).
 *       Prints "events=N bytes=B gen_s=S".
 *
 *   event_store scan --dir DIR [--rounds R] [--decode 1]
 *       Raw read: one LMDB cursor pass over "_outbox" touching every value (no decoding); with
 *       --decode 1 each value is also decoded once with jansson (json_loadb, the "read + decode
 *       every event once" baseline of a catch-up). Prints "events=N bytes=B scan_ms=median
 *       min_ms=min".
 *
 *   event_store recompute --from YYYY-MM-DD --to YYYY-MM-DD DIR...
 *       The full recomputation: every event of every DIR's outbox read and decoded once, and
 *       the half's counts computed from scratch: beneficiaries registered, loans disbursed
 *       (count, rials, distinct borrowers), enrolments requested. Prints key=value figures.
 */
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds this process has used: beside wall time on a shared machine. */
static double s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void s_die(const char *what, int rc)
{
    fprintf(stderr, "event_store: %s: %s\n", what, mdb_strerror(rc));
    exit(1);
}

/* days since 1970-01-01 -> y, m, d (H. Hinnant's algorithm) */
static void s_civil(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static long s_days(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void s_date(long day, char out[16])
{
    int y, m, d;
    s_civil(day, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

static long s_parse_date(const char *s)
{
    int y, m, d;
    if (!s || sscanf(s, "%d-%d-%d", &y, &m, &d) != 3)
        return -1;
    return s_days(y, m, d);
}

/* The n-th valid national ID (as bench/loadgen.c makes them). */
static void s_nid(long long n, char out[11])
{
    while (!bench_national_id(n, 1234567ULL, out))
        n += 1000000007LL;
}

static const char *const s_first[] = {"مریم", "علی", "فاطمه", "حسین", "زهرا", "محمد", "سارا", "رضا"};
static const char *const s_last[] = {"احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی",
                                     "جعفری", "نوری", "صادقی", "رحیمی", "قاسمی"};
static const char *const s_fields[] = {"agriculture", "industry", "handicrafts", "services"};
#define Y1403_START 19802   /* 2024-03-20, 1 Farvardin 1403 */

static long s_day_of(uint64_t i) { return Y1403_START + (long)((i * 37) % 365); }
static int s_office(uint64_t p) { return 1 + (int)(p % 8); }
static const char *s_sex(uint64_t p) { return p % 2 ? "male" : "female"; }

static MDB_env *s_open(const char *dir, unsigned flags)
{
    MDB_env *env;
    int rc;
    mkdir(dir, 0750);
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, 64)) != 0 ||
        (rc = mdb_env_set_mapsize(env, (size_t)8 << 30)) != 0 ||
        (rc = mdb_env_open(env, dir, flags, 0640)) != 0)
        s_die(dir, rc);
    return env;
}

static int s_event(char *buf, size_t n, const char *svc, uint64_t seq, const char *type,
                   const char *subject, long day, const char *data)
{
    char date[16];
    s_date(day, date);
    return snprintf(buf, n,
                    "{\"specversion\":\"1.0\",\"id\":\"%s-%llu\",\"source\":\"hamyar/%s\",\"type\":\"%s\","
                    "\"time\":\"%sT08:30:00Z\",\"subject\":\"%s\",\"sequence\":\"%020llu\","
                    "\"seq\":%llu,\"dataschema\":\"http://127.0.0.1:8080/v1/schemas/events/%s\","
                    "\"datacontenttype\":\"application/json\",\"data\":%s}",
                    svc, (unsigned long long)seq, svc, type, date, subject,
                    (unsigned long long)seq, (unsigned long long)seq, type, data);
}

static int s_gen(int argc, char **argv)
{
    const char *dir = NULL, *kind = NULL;
    uint64_t n = 0, persons = 0;
    const char *cursors[8];
    int ncur = 0;
    for (int a = 2; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--dir")) dir = argv[a + 1];
        else if (!strcmp(argv[a], "--kind")) kind = argv[a + 1];
        else if (!strcmp(argv[a], "--n")) n = strtoull(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--persons")) persons = strtoull(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--cursor") && ncur < 8) cursors[ncur++] = argv[a + 1];
    }
    if (!dir || !kind || !n) {
        fprintf(stderr, "usage: event_store gen --dir DIR --kind K --n N [--persons P]\n");
        return 2;
    }
    if (!persons)
        persons = n;
    double t0 = s_now();
    MDB_env *env = s_open(dir, MDB_NOSYNC);
    MDB_txn *txn;
    MDB_dbi db;
    int rc;
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "_outbox", MDB_CREATE, &db)) != 0)
        s_die("open _outbox", rc);
    char data[2048], ev[4096], subject[40], nid[11], date[16], date2[16];
    uint64_t bytes = 0;
    for (uint64_t seq = 1; seq <= n; seq++) {
        const char *type, *svc = kind;
        long day = s_day_of(seq);
        if (!strcmp(kind, "registry")) {
            uint64_t p = seq;
            type = "registry.person.registered";
            snprintf(subject, sizeof subject, "prs_%llu", (unsigned long long)p);
            s_nid((long long)p, nid);
            s_date(day, date);
            snprintf(data, sizeof data,
                     "{\"id\":\"%s\",\"national_id\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\","
                     "\"birth_date\":\"19%02d-%02d-%02d\",\"sex\":\"%s\",\"office\":\"rey-%d\","
                     "\"neighbourhood\":\"hood-%d\",\"referrals\":[{\"source\":\"self\",\"date\":\"%s\"}],"
                     "\"created_at\":\"%sT08:30:00Z\"}",
                     subject, nid, s_first[p % 8], s_last[p % 11], 60 + (int)(p % 40),
                     1 + (int)(p % 12), 1 + (int)(p % 28), s_sex(p), s_office(p),
                     1 + (int)(p % 40), date, date);
        } else if (!strcmp(kind, "loans")) {
            uint64_t p = 1 + (seq * 7919) % persons;
            type = "loans.loan.disbursed";
            snprintf(subject, sizeof subject, "lon_%llu", (unsigned long long)seq);
            s_date(day, date);
            s_date(day + 30, date2);
            long long amount = 20000000LL + (long long)(seq % 9) * 5000000LL;
            snprintf(data, sizeof data,
                     "{\"id\":\"%s\",\"person_id\":\"prs_%llu\",\"office\":\"rey-%d\",\"date\":\"%s\","
                     "\"amount_rials\":%lld,\"approved_rials\":%lld,\"fee_rials\":%lld,"
                     "\"installments\":12,\"first_due_date\":\"%s\",\"fully_disbursed\":true,"
                     "\"status\":\"disbursed\"}",
                     subject, (unsigned long long)p, s_office(p), date, amount, amount,
                     amount / 50, date2);
        } else if (!strcmp(kind, "insurance")) {
            uint64_t p = 1 + (seq * 104729) % persons;
            type = "insurance.enrolment.requested";
            snprintf(subject, sizeof subject, "enr_%llu", (unsigned long long)seq);
            s_nid((long long)p, nid);
            s_date(day, date);
            snprintf(data, sizeof data,
                     "{\"enrolment_id\":\"%s\",\"national_id\":\"%s\",\"first_name\":\"%s\","
                     "\"last_name\":\"%s\",\"birth_date\":\"19%02d-%02d-%02d\",\"sex\":\"%s\","
                     "\"field\":\"%s\",\"start_date\":\"%s\",\"status\":\"requested\",\"office\":\"rey-%d\"}",
                     subject, nid, s_first[p % 8], s_last[p % 11], 60 + (int)(p % 40),
                     1 + (int)(p % 12), 1 + (int)(p % 28), s_sex(p), s_fields[p % 4], date,
                     s_office(p));
        } else {
            fprintf(stderr, "event_store: unknown kind %s\n", kind);
            return 2;
        }
        int len = s_event(ev, sizeof ev, svc, seq, type, subject, day, data);
        uint8_t key[8];
        for (int i = 0; i < 8; i++)
            key[i] = (uint8_t)(seq >> (56 - 8 * i));
        MDB_val k = {8, key}, v = {(size_t)len, ev};
        if ((rc = mdb_put(txn, db, &k, &v, MDB_APPEND)) != 0)
            s_die("put", rc);
        bytes += (uint64_t)len;
        if (seq % 100000 == 0) {
            if ((rc = mdb_txn_commit(txn)) != 0 || (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
                s_die("commit", rc);
        }
    }
    MDB_dbi cdb;
    if ((rc = mdb_dbi_open(txn, "_cursors", MDB_CREATE, &cdb)) != 0)
        s_die("open _cursors", rc);
    for (int c = 0; c < ncur; c++) {
        char key[80];
        const char *eq = strchr(cursors[c], '=');
        if (!eq)
            continue;
        int kl = snprintf(key, sizeof key, "src:%.*s", (int)(eq - cursors[c]), cursors[c]);
        uint64_t s = strtoull(eq + 1, NULL, 10);
        uint8_t val[8];
        for (int i = 0; i < 8; i++)
            val[i] = (uint8_t)(s >> (56 - 8 * i));
        MDB_val k = {(size_t)kl, key}, v = {8, val};
        if ((rc = mdb_put(txn, cdb, &k, &v, 0)) != 0)
            s_die("cursor", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0 || (rc = mdb_env_sync(env, 1)) != 0)
        s_die("commit", rc);
    mdb_env_close(env);
    printf("events=%llu bytes=%llu gen_s=%.2f\n", (unsigned long long)n, (unsigned long long)bytes,
           s_now() - t0);
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int s_scan(int argc, char **argv)
{
    const char *dir = NULL;
    int rounds = 3, decode = 0;
    for (int a = 2; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--dir")) dir = argv[a + 1];
        else if (!strcmp(argv[a], "--rounds")) rounds = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--decode")) decode = atoi(argv[a + 1]);
    }
    if (!dir || rounds < 1 || rounds > 100)
        return 2;
    MDB_env *env = s_open(dir, MDB_RDONLY);
    double ms[100];
    uint64_t n = 0, bytes = 0, sink = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = s_now();
        MDB_txn *txn;
        MDB_dbi db;
        MDB_cursor *cur;
        MDB_val k, v;
        int rc;
        if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
            (rc = mdb_dbi_open(txn, "_outbox", 0, &db)) != 0 ||
            (rc = mdb_cursor_open(txn, db, &cur)) != 0)
            s_die("scan", rc);
        n = bytes = 0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            n++;
            bytes += v.mv_size;
            sink += ((const unsigned char *)v.mv_data)[v.mv_size - 1];   /* touch the value */
            if (decode) {
                json_t *ev = json_loadb(v.mv_data, v.mv_size, 0, NULL);
                if (!ev)
                    s_die("decode", MDB_CORRUPTED);
                sink += json_object_size(ev);
                json_decref(ev);
            }
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        ms[r] = (s_now() - t0) * 1000;
    }
    mdb_env_close(env);
    qsort(ms, (size_t)rounds, sizeof ms[0], s_cmp);
    printf("events=%llu bytes=%llu scan_ms=%.1f min_ms=%.1f sink=%llu\n", (unsigned long long)n,
           (unsigned long long)bytes, ms[rounds / 2], ms[0], (unsigned long long)(sink % 10));
    return 0;
}

static long s_event_day(json_t *ev, json_t *data, const char *member)
{
    long d = s_parse_date(json_string_value(json_object_get(data, member)));
    return d >= 0 ? d : s_parse_date(json_string_value(json_object_get(ev, "time")));
}

static int s_recompute(int argc, char **argv)
{
    long from = -1, to = -1;
    const char *dirs[8];
    int ndirs = 0;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--from") && a + 1 < argc) from = s_parse_date(argv[++a]);
        else if (!strcmp(argv[a], "--to") && a + 1 < argc) to = s_parse_date(argv[++a]);
        else if (ndirs < 8) dirs[ndirs++] = argv[a];
    }
    if (from < 0 || to < 0 || !ndirs)
        return 2;
    double t0 = s_now(), c0 = s_cpu();
    uint64_t events = 0, beneficiaries = 0, loans = 0, borrowers = 0, enrolments = 0;
    long long rials = 0;
    size_t cap = 1 << 20;
    uint8_t *seen = calloc(cap, 1);   /* distinct borrowers in the half: a bitmap of persons */
    for (int d = 0; d < ndirs; d++) {
        MDB_env *env = s_open(dirs[d], MDB_RDONLY);
        MDB_txn *txn;
        MDB_dbi db;
        MDB_cursor *cur;
        MDB_val k, v;
        int rc;
        if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
            (rc = mdb_dbi_open(txn, "_outbox", 0, &db)) != 0 ||
            (rc = mdb_cursor_open(txn, db, &cur)) != 0)
            s_die(dirs[d], rc);
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            json_t *ev = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (!ev)
                continue;
            events++;
            const char *type = json_string_value(json_object_get(ev, "type"));
            json_t *data = json_object_get(ev, "data");
            if (type && !strcmp(type, "registry.person.registered")) {
                json_t *ref = json_array_get(json_object_get(data, "referrals"), 0);
                long day = s_event_day(ev, ref, "date");
                beneficiaries += day >= from && day <= to;
            } else if (type && !strcmp(type, "loans.loan.disbursed")) {
                long day = s_event_day(ev, data, "date");
                if (day >= from && day <= to) {
                    loans++;
                    rials += json_integer_value(json_object_get(data, "amount_rials"));
                    const char *pid = json_string_value(json_object_get(data, "person_id"));
                    const char *us = pid ? strrchr(pid, '_') : NULL;
                    uint64_t p = us ? strtoull(us + 1, NULL, 10) : 0;
                    while (p / 8 >= cap) {
                        seen = realloc(seen, cap * 2);
                        memset(seen + cap, 0, cap);
                        cap *= 2;
                    }
                    if (!(seen[p / 8] & (1u << (p % 8)))) {
                        seen[p / 8] |= (uint8_t)(1u << (p % 8));
                        borrowers++;
                    }
                }
            } else if (type && !strcmp(type, "insurance.enrolment.requested")) {
                long day = s_event_day(ev, data, "start_date");
                enrolments += day >= from && day <= to;
            }
            json_decref(ev);
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        mdb_env_close(env);
    }
    free(seen);
    printf("events=%llu recompute_ms=%.1f cpu_ms=%.1f beneficiaries=%llu loans=%llu loan_rials=%lld "
           "borrowers=%llu enrolments=%llu\n",
           (unsigned long long)events, (s_now() - t0) * 1000, (s_cpu() - c0) * 1000,
           (unsigned long long)beneficiaries,
           (unsigned long long)loans, rials, (unsigned long long)borrowers,
           (unsigned long long)enrolments);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "gen"))
        return s_gen(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "scan"))
        return s_scan(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "recompute"))
        return s_recompute(argc, argv);
    fprintf(stderr, "usage: event_store gen|scan|recompute ... (see the header of event_store.c)\n");
    return 2;
}
