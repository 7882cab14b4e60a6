/*
 * loans_fixture.c — builds the loans benchmark's portfolio and measures its in-process baselines.
 *
 * Not a part of Hamyar: bench/sections/30-loans.sh links it against the objects of the build
 * under test (every object of services/loans but main.o, and libhamyar.a), so the loans are made by the
 * very handlers the service runs, through the skeleton's own dispatch (spec and role checks,
 * nested transactions, summaries, index entries, outbox events and audit rows), with no sockets:
 *
 *   1. the registry's events for N persons, each owning a business at the "developing" stage,
 *      applied as the service applies a fetched page (hy_follow_apply_page);
 *   2. one product of fiscal year 1403 (12 months at most, 4% a year);
 *   3. --through loans (default 10,000) from eight offices, each through the handlers: applied
 *      and appraised with the clock at --apply-date, then approved and disbursed on a date spread
 *      up to a few days before --today, then (most of them) one repayment of every installment
 *      due by --today, or of all but the last one to three (late payers, so PAR30 is not
 *      trivial), or none; a few of the silent ones written off. Requests go in batches of
 *      --batch jobs through hy_dispatch_batch: one commit each;
 *   4. the rest of the --loans (default 100,000) as copies of those: loan k takes the record the
 *      handlers wrote for loan k mod --through, with its own number (hy_store_next), id,
 *      borrower, business and office, and is written by loans_save, the code every handler
 *      ends in (the record, its index entries and its summary). Copies have no events or
 *      audit rows of their own: nothing measured reads them.
 *
 * Why copies: the handlers cost about 100 µs of CPU a request here (each loads, re-serialises
 * and copies the loan's JSON and writes an event), some 450 µs a loan over its five requests,
 * so 100,000 loans through them take 45 s of CPU; a copy costs a tenth of that. The summaries
 * the portfolio reads are loans_save's own either way. --through 100000 loads everything
 * through the handlers.
 *
 * Commits are not synced while loading (MDB_NOSYNC; the store is synced once at the end): the
 * load is not what is measured. Then, on the loaded store and before any service opens it:
 *
 *   scan_ms      the floor of a portfolio pass: one read transaction and a cursor over the
 *                loans.summary database the portfolio reads, touching every value, no decoding
 *   decode_ms    the same pass decoding each summary and computing its state as of --today
 *                (loans_book_decode + loans_book_state: the portfolio's arithmetic, no grouping)
 *   handler_ms   loans.portfolio through hy_service_call and its reply serialised (what the
 *                service does for GET /v1/loans/portfolio, without the broker and gateway)
 *   handler_office_ms   the same with ?office=rey-1
 * each the median of --rounds runs (with the minimum as *_min_ms).
 *
 * --ids FILE gets the ids of loans that are still being repaid, shuffled: each can take a
 * small repayment dated --today. One key=value line goes to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fa.h"
#include "loans.h"
#include "log.h"
#include "proto.h"
#include "service_internal.h"

/* The eight offices bench_cluster_start creates (rey-1 .. rey-8). Borrower prs_n belongs to
 * office s_office(n) in the registry's events, and since offices are boundaries (issue 15) a
 * loan is hers only if it is written for that office: loan i (from 0) goes to prs_{i+1}, so
 * every request about it acts for s_office(i + 1), and its copies keep that rule. */
#define NOFFICES 8
static const char *const s_offices[NOFFICES] = {"rey-1", "rey-2", "rey-3", "rey-4",
                                                "rey-5", "rey-6", "rey-7", "rey-8"};

static const char *s_office(long person)
{
    return s_offices[(person - 1) % NOFFICES];
}

typedef struct {
    char id[24];
    int64_t amount, disb_day;
    int term, kind;            /* kind: 0 pays on time, 1 late, 2 never */
    int64_t repay_amount;      /* 0: no repayment */
    char repay_date[11];
    bool closed, written_off;
} s_loan_t;

static uint64_t s_rng = 0x243f6a8885a308d3ull;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

static double s_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t s_day(const char *iso)
{
    int y, m, d;
    if (hy_date_parse_iso(iso, &y, &m, &d) != 0) {
        fprintf(stderr, "loans_fixture: bad date %s\n", iso);
        exit(2);
    }
    return hy_days_from_civil(y, m, d);
}

static void s_iso(int64_t day, char out[11])
{
    int y, m, d;
    hy_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* ------------------------------------------------------------ batches of requests ----------- */

static hy_service_t *s_svc;
static hy_job_t *s_jobs;
static size_t s_njobs, s_capjobs;
static long long s_nrequests, s_reqno;

/* The API key the jobs come from: approvals use another (maker-checker). */
static const char *s_key_id = "bench-fixture";

static void s_job(const char *op, const char *role, const char *office, json_t *args)
{
    char id[32];
    snprintf(id, sizeof id, "fx-%lld", ++s_reqno);
    hy_actor_t actor = {s_key_id, role, office};
    if (s_njobs == s_capjobs) {
        s_capjobs = s_capjobs ? s_capjobs * 2 : 1024;
        if (!(s_jobs = realloc(s_jobs, s_capjobs * sizeof *s_jobs))) {
            perror("loans_fixture");
            exit(1);
        }
    }
    s_jobs[s_njobs++] = (hy_job_t){.doc = hy_proto_request(op, id, &actor, NULL, args)};
}

/* Runs the queued jobs as one batch (one commit) with the clock at day; every reply must have
 * status want. The replies stay in s_jobs until s_done. */
static void s_run(int64_t day, int want)
{
    if (!s_njobs)
        return;
    s_svc->fixed_now = day * 86400 + 12 * 3600;
    if (hy_dispatch_batch(s_svc, s_jobs, s_njobs) != 0) {
        fprintf(stderr, "loans_fixture: a batch of %zu could not be committed\n", s_njobs);
        exit(1);
    }
    hy_pending_truncate(s_svc, 0);   /* no sockets: nothing to publish */
    s_nrequests += (long long)s_njobs;
    for (size_t i = 0; i < s_njobs; i++) {
        int st = (int)json_integer_value(json_object_get(s_jobs[i].reply, "status"));
        if (st != want) {
            char *doc = json_dumps(s_jobs[i].doc, JSON_COMPACT);
            char *rep = json_dumps(s_jobs[i].reply, JSON_COMPACT);
            fprintf(stderr, "loans_fixture: %s\n  -> %s\n", doc, rep);
            exit(1);
        }
    }
}

static json_t *s_result(size_t i)
{
    return json_object_get(s_jobs[i].reply, "result");
}

static void s_done(void)
{
    for (size_t i = 0; i < s_njobs; i++) {
        json_decref(s_jobs[i].doc);
        json_decref(s_jobs[i].reply);
    }
    s_njobs = 0;
}

/* ------------------------------------------------------------ the portfolio ---------------- */

/* The registry's events: prs_i registered, bus_i of hers at the developing stage. */
static void s_registry(long n)
{
    MDB_env *env = hy_store_env(hy_service_store(s_svc));
    uint64_t seq = 0;   /* a fresh store: the feed starts at 1 */
    for (long first = 1; first <= n; first += 5000) {
        json_t *evs = json_array();
        for (long i = first; i < first + 5000 && i <= n; i++) {
            char p[32], b[32];
            snprintf(p, sizeof p, "prs_%ld", i);
            snprintf(b, sizeof b, "bus_%ld", i);
            json_array_append_new(
                evs, json_pack("{s:s,s:s,s:s,s:I,s:{s:s,s:s}}", "source", "hamyar/registry", "type",
                               "registry.person.registered", "subject", p, "sequence",
                               (json_int_t)++seq, "data", "id", p, "office", s_office(i)));
            json_array_append_new(
                evs, json_pack("{s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s,s:s}}", "source",
                               "hamyar/registry", "type", "registry.business.created", "subject",
                               b, "sequence", (json_int_t)++seq, "data", "id", b, "owner_id", p,
                               "stage", "developing", "field", "handicrafts"));
        }
        for (;;) {
            MDB_txn *txn;
            uint64_t applied = 0;
            int rc = mdb_txn_begin(env, NULL, 0, &txn);
            if (rc == 0 && (rc = hy_follow_apply_page(s_svc, txn, "registry", evs, &applied)) == 0 &&
                applied == json_array_size(evs))
                rc = mdb_txn_commit(txn);
            else {
                if (rc == 0)
                    rc = -1;
                mdb_txn_abort(txn);
            }
            hy_pending_truncate(s_svc, 0);
            if (rc == MDB_MAP_FULL && hy_store_grow(hy_service_store(s_svc)) == 0)
                continue;
            if (rc != 0) {
                fprintf(stderr, "loans_fixture: registry events: %s\n",
                        rc > 0 ? mdb_strerror(rc) : "not all applied");
                exit(1);
            }
            break;
        }
        json_decref(evs);
    }
}

/* Loans through..n-1 as copies of the first `through` (see the top of the file), in
 * transactions of 5,000 loans. */
static void s_copies(s_loan_t *loans, long through, long n)
{
    MDB_env *env = hy_store_env(hy_service_store(s_svc));
    loans_t *lt = s_svc->state;
    hy_request_t req = {.op = "fixture.copy", .id = "", .actor = {"bench-fixture", "operator", ""}};
    for (long first = through; first < n; first += 5000) {
        long last = first + 5000 < n ? first + 5000 : n;
        MDB_txn *txn;
        int rc = mdb_txn_begin(env, NULL, 0, &txn);
        for (long i = first; rc == 0 && i < last; i++) {
            const s_loan_t *t = &loans[i % through];
            s_loan_t *l = &loans[i];
            uint64_t tn, num;
            json_t *rec = NULL;
            if ((rc = hy_id_parse("loan", t->id, &tn) != 0 ? MDB_CORRUPTED : 0) != 0 ||
                (rc = hy_store_get_id(txn, lt->loans, tn, &rec)) != 0 ||
                (rc = hy_store_next(txn, lt->meta, "loan", &num)) != 0)
                break;
            *l = *t;
            hy_id_format("loan", num, l->id, sizeof l->id);
            char p[32], b[32];
            snprintf(p, sizeof p, "prs_%ld", i + 1);
            snprintf(b, sizeof b, "bus_%ld", i + 1);
            json_object_set_new(rec, "id", json_string(l->id));
            json_object_set_new(rec, "person_id", json_string(p));
            json_object_set_new(rec, "business_id", json_string(b));
            json_object_set_new(rec, "office", json_string(s_office(i + 1)));
            hy_ctx_t ctx;
            hy_ctx_init(&ctx, s_svc, txn, &req);
            int status = loans_save(&ctx, num, -1, rec);
            json_decref(rec);
            if (status != 0) {
                rc = ctx.mdb_rc ? ctx.mdb_rc : MDB_CORRUPTED;
                json_decref(ctx.error);
            }
        }
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc != 0) {   /* the map is 4 GB: a full one is not retried here */
            fprintf(stderr, "loans_fixture: copying loans: %s\n", mdb_strerror(rc));
            exit(1);
        }
    }
}

static void s_usage(void)
{
    fprintf(stderr, "usage: loans_fixture --dir DIR [--loans 100000] [--today 2024-12-15]\n"
                    "                     [--apply-date 2024-03-25] [--batch 5000] [--rounds 20]\n"
                    "                     [--through 10000] [--ids FILE]\n");
}

static int s_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and minimum of rounds runs of fn, in milliseconds. */
static void s_time(void (*fn)(void *), void *user, int rounds, double *p50, double *min)
{
    double *t = calloc((size_t)rounds, sizeof *t);
    for (int r = 0; r < rounds; r++) {
        double t0 = s_secs();
        fn(user);
        t[r] = (s_secs() - t0) * 1000;
    }
    qsort(t, (size_t)rounds, sizeof *t, s_cmp_d);
    *p50 = t[rounds / 2];
    *min = t[0];
    free(t);
}

typedef struct {
    bool decode;
    int64_t as_of;
    size_t n, bytes;
    uint64_t sink;
} s_scan_t;

/* One read transaction, a cursor over loans.summary; with decode, the portfolio's arithmetic. */
static void s_scan(void *user)
{
    s_scan_t *s = user;
    MDB_env *env = hy_store_env(hy_service_store(s_svc));
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    s->n = s->bytes = 0;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
        mdb_cursor_open(txn, ((loans_t *)s_svc->state)->summary, &cur) != 0) {
        fprintf(stderr, "loans_fixture: cannot read the summaries\n");
        exit(1);
    }
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        s->n++;
        s->bytes += v.mv_size;
        if (!s->decode) {   /* touch the value's every cache line, as a decoder would */
            const unsigned char *p = v.mv_data;
            for (size_t i = 0; i < v.mv_size; i += 64)
                s->sink += p[i];
            continue;
        }
        loans_book_t book;
        loans_state_t st;
        if (loans_book_decode(v.mv_data, v.mv_size, &book) != 0 ||
            loans_book_state(&book, s->as_of, &st) != 0) {
            fprintf(stderr, "loans_fixture: a malformed summary\n");
            exit(1);
        }
        s->sink += (uint64_t)st.out_principal;
        loans_book_free(&book);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}

/* loans.portfolio through the skeleton, and its reply serialised as the reactor sends it.
 *
 * The request is built here with a province key's actor (office "*"), as GET
 * /v1/loans/portfolio with the section's province key is: hy_service_calls, the tests'
 * shortcut, acts for a key of office "office-1" (shared/dispatch.c), so through it the whole
 * portfolio is office-1's (none of these loans: an empty pass that measures nothing) and
 * ?office=rey-1 is another office's, 403 other_office (hy_scope_office; loans_office_filter).
 * Each reply must count what the store holds: want.loans for the whole, want.office_loans with
 * the office filter. */
typedef struct {
    const char *args;       /* the request's arguments, JSON text */
    long want;              /* the loans its total must count */
} s_call_t;

static void s_handler(void *user)
{
    const s_call_t *c = user;
    static unsigned n;
    char id[32];
    snprintf(id, sizeof id, "fx-portfolio-%u", ++n);
    hy_actor_t actor = {"bench-province", "social_services", "*"};
    json_t *args = json_loads(c->args, 0, NULL);
    json_t *req = args ? hy_proto_request("loans.portfolio", id, &actor, NULL, args) : NULL;
    json_t *reply = req ? hy_service_call(s_svc, req) : NULL;
    int st = (int)json_integer_value(json_object_get(reply, "status"));
    json_t *total = json_object_get(json_object_get(reply, "result"), "total");
    long loans = (long)json_integer_value(json_object_get(total, "loans"));
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    if (st != 200 || !text || loans != c->want) {
        fprintf(stderr, "loans_fixture: loans.portfolio %s answered %d, %ld loans (want %ld): %.300s\n",
                c->args, st, loans, c->want, text ? text : "(nothing)");
        exit(1);
    }
    free(text);
    json_decref(reply);
    json_decref(req);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *ids = NULL, *today_iso = "2024-12-15", *apply_iso = "2024-03-25";
    long nloans = 100000, through = 10000, batch = 1000;
    int rounds = 20;
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},   {"loans", required_argument, 0, 'n'},
        {"today", required_argument, 0, 't'}, {"apply-date", required_argument, 0, 'a'},
        {"batch", required_argument, 0, 'b'}, {"rounds", required_argument, 0, 'r'},
        {"ids", required_argument, 0, 'i'},   {"through", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'n': nloans = atol(optarg); break;
        case 't': today_iso = optarg; break;
        case 'a': apply_iso = optarg; break;
        case 'b': batch = atol(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'i': ids = optarg; break;
        case 'T': through = atol(optarg); break;
        default: s_usage(); return ch == 'h' ? 0 : 2;
        }
    }
    if (through > nloans || through < 1)
        through = nloans;
    if (!dir || nloans < 1 || batch < 1 || rounds < 1) {
        s_usage();
        return 2;
    }
    if (access(dir, F_OK) == 0) {
        fprintf(stderr, "loans_fixture: %s exists: the fixture builds a fresh store\n", dir);
        return 2;
    }
    int64_t today = s_day(today_iso), apply = s_day(apply_iso);
    if (today - apply < 60) {
        fprintf(stderr, "loans_fixture: --apply-date must be two months or more before --today\n");
        return 2;
    }
    setenv("HY_LOG_LEVEL", "warn", 0);   /* hy_log_request writes a line per request at info */
    hy_log_init("loans");
    setenv("HY_MAP_SIZE_MB", "4096", 0);
    double t0 = s_secs();
    if (!(s_svc = hy_service_new(&loans_def, dir, apply * 86400 + 12 * 3600)))
        return 1;
    MDB_env *env = hy_store_env(hy_service_store(s_svc));
    mdb_env_set_flags(env, MDB_NOSYNC, 1);   /* loading only; synced once at the end */

    s_registry(nloans);
    double t_registry = s_secs() - t0;

    s_job("products.create", "social_services", "rey-1",
          json_pack("{s:s,s:s,s:i,s:i}", "name", "قرض‌الحسنه اشتغال ۱۴۰۳", "kind", "individual",
                    "fee_rate_bp", 400, "term_months", 12));
    s_run(apply, 201);
    char product[32];
    snprintf(product, sizeof product, "%s", json_string_value(json_object_get(s_result(0), "id")));
    s_done();

    s_loan_t *loans = calloc((size_t)nloans, sizeof *loans);
    if (!loans)
        return 1;
    for (long first = 0; first < through; first += batch) {
        long last = first + batch < through ? first + batch : through;
        /* applied and appraised on the application date */
        for (long i = first; i < last; i++) {
            s_loan_t *l = &loans[i];
            l->amount = (50 + (int64_t)(s_rand() % 451)) * 1000000;
            l->term = 6 + (int)(s_rand() % 7);
            l->disb_day = apply + (int64_t)(s_rand() % (uint64_t)(today - apply - 3));
            int r = (int)(s_rand() % 100);
            l->kind = r < 65 ? 0 : r < 85 ? 1 : 2;
            char p[32], b[32];
            snprintf(p, sizeof p, "prs_%ld", i + 1);
            snprintf(b, sizeof b, "bus_%ld", i + 1);
            s_job("loans.create", "social_services", s_office(i + 1),
                  json_pack("{s:s,s:s,s:s,s:I,s:i,s:s}", "person_id", p, "business_id", b,
                            "product_id", product, "amount_rials", (json_int_t)l->amount,
                            "term_months", l->term, "purpose", "دار قالی و مواد اولیه"));
        }
        s_run(apply, 201);
        for (long i = first; i < last; i++)
            snprintf(loans[i].id, sizeof loans[i].id, "%s",
                     json_string_value(json_object_get(s_result((size_t)(i - first)), "id")));
        s_done();
        for (long i = first; i < last; i++)
            s_job("loans.appraise", "social_services", s_office(i + 1),
                  json_pack("{s:s,s:s,s:s,s:I}", "id", loans[i].id, "appraiser", "سارا کریمی",
                            "notes", "کارگاه بازدید شد", "recommended_amount_rials",
                            (json_int_t)loans[i].amount));
        s_run(apply, 200);
        s_done();
        /* approved and disbursed on the loan's day; the clock now at today */
        s_key_id = "bench-checker";
        for (long i = first; i < last; i++) {
            char d[11];
            s_iso(loans[i].disb_day, d);
            s_job("loans.approve", "social_services", s_office(i + 1),
                  json_pack("{s:s,s:s}", "id", loans[i].id, "date", d));
        }
        s_key_id = "bench-fixture";
        s_run(today, 200);
        s_done();
        for (long i = first; i < last; i++) {
            char d[11];
            s_iso(loans[i].disb_day, d);
            s_job("loans.disburse", "social_services", s_office(i + 1),
                  json_pack("{s:s,s:I,s:s}", "id", loans[i].id, "amount_rials",
                            (json_int_t)loans[i].amount, "date", d));
        }
        s_run(today, 200);
        /* what each borrower pays: every installment due by today, all but the last 1-3, none */
        for (long i = first; i < last; i++) {
            s_loan_t *l = &loans[i];
            json_t *sched = json_object_get(s_result((size_t)(i - first)), "schedule"), *it;
            size_t k, due = 0, npay;
            json_array_foreach(sched, k, it) {
                const char *dd = json_string_value(json_object_get(it, "due_date"));
                if (dd && s_day(dd) <= today)
                    due = k + 1;
            }
            if (l->kind == 0)
                npay = due;
            else if (l->kind == 1 && due > 1)   /* behind by 1 to 3 installments */
                npay = due - 1 - (size_t)(s_rand() % (due - 1 < 3 ? due - 1 : 3));
            else
                npay = 0;
            for (k = 0; k < npay; k++) {
                it = json_array_get(sched, k);
                l->repay_amount += json_integer_value(json_object_get(it, "fee_rials")) +
                                   json_integer_value(json_object_get(it, "principal_rials"));
                snprintf(l->repay_date, sizeof l->repay_date, "%s",
                         json_string_value(json_object_get(it, "due_date")));
            }
            l->closed = npay > 0 && npay == json_array_size(sched);
        }
        s_done();
        for (long i = first; i < last; i++) {
            s_loan_t *l = &loans[i];
            if (l->repay_amount > 0) {
                char ref[40];
                snprintf(ref, sizeof ref, "FX-%ld", i + 1);
                s_job("loans.repay", "social_services", s_office(i + 1),
                      json_pack("{s:s,s:I,s:s,s:s}", "id", l->id, "amount_rials",
                                (json_int_t)l->repay_amount, "date", l->repay_date, "reference",
                                ref));
            }
        }
        s_run(today, 201);
        s_done();
        for (long i = first; i < last; i++) {
            s_loan_t *l = &loans[i];
            if (l->kind == 2 && s_rand() % 10 == 0 && today - l->disb_day > 120) {
                s_job("loans.write_off", "operator", s_office(i + 1),
                      json_pack("{s:s,s:s}", "id", l->id, "reason", "borrower left the province"));
                l->written_off = true;
            }
        }
        s_run(today, 200);
        s_done();
    }
    double t_handlers = s_secs() - t0;
    s_copies(loans, through, nloans);
    mdb_env_set_flags(env, MDB_NOSYNC, 0);
    mdb_env_sync(env, 1);
    double t_load = s_secs() - t0;
    long counts[3] = {0}, repaid = 0, closed = 0, written_off = 0;
    for (long i = 0; i < nloans; i++) {
        counts[loans[i].kind]++;
        repaid += loans[i].repay_amount > 0;
        closed += loans[i].closed;
        written_off += loans[i].written_off;
    }

    size_t repayable = 0;
    if (ids) {
        FILE *f = fopen(ids, "w");
        if (!f) {
            perror(ids);
            return 1;
        }
        long *order = malloc((size_t)nloans * sizeof *order);
        for (long i = 0; i < nloans; i++)
            order[i] = i;
        for (long i = nloans - 1; i > 0; i--) {
            long j = (long)(s_rand() % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j], order[j] = t;
        }
        for (long i = 0; i < nloans; i++) {
            const s_loan_t *l = &loans[order[i]];
            if (!l->closed && !l->written_off) {
                fprintf(f, "%s\n", l->id);
                repayable++;
            }
        }
        free(order);
        fclose(f);
    }

    /* the baselines, on the loaded store, before any service opens it */
    s_scan_t raw = {.decode = false, .as_of = today}, dec = {.decode = true, .as_of = today};
    double scan_p50, scan_min, dec_p50, dec_min, h_p50, h_min, ho_p50, ho_min;
    s_scan(&raw);   /* warm the page cache once */
    s_time(s_scan, &raw, rounds, &scan_p50, &scan_min);
    s_time(s_scan, &dec, rounds, &dec_p50, &dec_min);
    /* every loan is disbursed by today; rey-1's are loans 0, 8, 16, ... (s_office) */
    s_call_t all = {"{}", nloans}, rey1 = {"{\"office\":\"rey-1\"}", (nloans + NOFFICES - 1) / NOFFICES};
    s_time(s_handler, &all, rounds, &h_p50, &h_min);
    s_time(s_handler, &rey1, rounds, &ho_p50, &ho_min);
    size_t map, used;
    hy_store_usage(hy_service_store(s_svc), &map, &used);

    printf("loans=%ld through_handlers=%ld persons=%ld product=%s requests=%lld registry_s=%.1f "
           "handlers_s=%.1f load_s=%.1f "
           "on_time=%ld late=%ld silent=%ld repaid=%ld closed=%ld written_off=%ld repayable=%zu "
           "summaries=%zu summary_bytes=%zu store_mb=%.0f scan_ms=%.2f scan_min_ms=%.2f "
           "decode_ms=%.2f decode_min_ms=%.2f handler_ms=%.2f handler_min_ms=%.2f "
           "handler_office_ms=%.2f handler_office_min_ms=%.2f\n",
           nloans, through, nloans, product, s_nrequests, t_registry, t_handlers, t_load, counts[0], counts[1],
           counts[2], repaid, closed, written_off, repayable, raw.n, raw.bytes,
           (double)used / 1048576.0, scan_p50, scan_min, dec_p50, dec_min, h_p50, h_min, ho_p50,
           ho_min);
    free(s_jobs);
    free(loans);
    hy_service_destroy(&s_svc);
    return 0;
}
