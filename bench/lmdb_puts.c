/*
 * lmdb_puts.c — the durable-write ceiling: raw LMDB puts, one put per write transaction.
 *
 * The environment is opened with LMDB's default (durable) flags, as the services open theirs,
 * so each commit waits for its fsync (fdatasync of the data file, then the meta page). That
 * rate, not LMDB's CPU cost, is what a service committing one request at a time would reach;
 * the service's group commit is measured against it. --batch N puts N records per transaction
 * instead, to show what grouping buys on the same disk.
 *
 *   lmdb_puts --dir DIR [--seconds 3] [--batch 1] [--value-bytes 400]
 *
 * DIR (created if missing, emptied of data.mdb/lock.mdb first) must be on the filesystem the
 * services keep their data on. Prints one line: puts=.. commits=.. secs=.. puts_per_s=..
 * commits_per_s=.. commit_p50_ms=.. commit_p99_ms=..
 */
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int s_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 3;
    int batch = 1, vbytes = 400;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--dir") == 0)
            dir = argv[a + 1];
        else if (strcmp(argv[a], "--seconds") == 0)
            seconds = atof(argv[a + 1]);
        else if (strcmp(argv[a], "--batch") == 0)
            batch = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--value-bytes") == 0)
            vbytes = atoi(argv[a + 1]);
    }
    if (!dir || seconds <= 0 || batch < 1 || vbytes < 1 || vbytes > 4000) {
        fprintf(stderr, "usage: lmdb_puts --dir DIR [--seconds 3] [--batch 1] [--value-bytes 400]\n");
        return 2;
    }
    char path[4096];
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);

    MDB_env *env = NULL;
    MDB_dbi dbi;
    MDB_txn *txn = NULL;
    int rc;
    char *value = malloc((size_t)vbytes);
    size_t nsamples = 0, asamples = 1 << 16;
    uint32_t *samples = malloc(asamples * sizeof *samples);
    if (!value || !samples)
        return 1;
    memset(value, 'x', (size_t)vbytes);
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_mapsize(env, 1ull << 30)) != 0 ||
        (rc = mdb_env_open(env, dir, 0, 0640)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
        (rc = mdb_txn_commit(txn)) != 0)
        goto fail;
    txn = NULL;

    uint64_t puts = 0, commits = 0;
    int64_t start = s_now_us(), end = start + (int64_t)(seconds * 1e6), now = start;
    while (now < end) {
        int64_t t0 = now;
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
            goto fail;
        for (int i = 0; i < batch; i++) {
            /* Big-endian counter keys: appends, the cheapest case, so this is a true ceiling. */
            uint64_t k = puts + (uint64_t)i;
            unsigned char kb[8];
            for (int j = 0; j < 8; j++)
                kb[j] = (unsigned char)(k >> (56 - 8 * j));
            MDB_val key = { sizeof kb, kb }, val = { (size_t)vbytes, value };
            if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != 0)
                goto fail;
        }
        rc = mdb_txn_commit(txn);
        txn = NULL;
        if (rc != 0)
            goto fail;
        puts += (uint64_t)batch;
        commits++;
        now = s_now_us();
        if (nsamples == asamples) {
            asamples *= 2;
            if (!(samples = realloc(samples, asamples * sizeof *samples)))
                return 1;
        }
        samples[nsamples++] = (uint32_t)(now - t0);
    }
    double secs = (double)(now - start) / 1e6;
    qsort(samples, nsamples, sizeof *samples, s_cmp);
    printf("batch=%d puts=%llu commits=%llu secs=%.2f puts_per_s=%.0f commits_per_s=%.0f "
           "commit_p50_ms=%.3f commit_p99_ms=%.3f\n",
           batch, (unsigned long long)puts, (unsigned long long)commits, secs, (double)puts / secs,
           (double)commits / secs, samples[nsamples / 2] / 1000.0,
           samples[(size_t)((double)(nsamples - 1) * 0.99)] / 1000.0);
    mdb_env_close(env);
    free(value);
    free(samples);
    return 0;
fail:
    fprintf(stderr, "lmdb_puts: %s\n", mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    free(value);
    free(samples);
    return 1;
}
