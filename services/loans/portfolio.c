/*
 * portfolio.c — portfolio figures as of a date, and the daily aging run.
 *
 * Both read the compact summaries (book.c) in one pass, never the JSON records, so they stay
 * cheap over a large portfolio. A loan is in the portfolio as of a date once money was
 * disbursed on or before it. Figures, in total, by office and by product:
 *   disbursed_rials                 disbursed on or before as_of
 *   outstanding_principal_rials     disbursed minus principal repaid by as_of (0 once written off)
 *   par30_rials, par30_bp           outstanding principal of loans more than 30 days past due,
 *                                   and its share of all outstanding principal in basis points
 *                                   (floor; 0 when nothing is outstanding)
 *   due_rials, repaid_rials         installments due by as_of; repayments dated by as_of
 *   repayment_rate_bp               what was repaid toward the amounts due, over the amounts due:
 *                                   sum(min(repaid, due)) * 10000 / sum(due) per loan, floor, so
 *                                   one borrower's early repayment never hides another's arrears
 *                                   and the rate never passes 10000; null when nothing was due
 *   written_off_rials               principal written off on or before as_of
 *   recovered_rials                 recovered after write-offs, dated on or before as_of
 *   restructured_loans, restructured_outstanding_principal_rials, restructured_par30_rials
 *                                   the same figures for loans rescheduled on or before as_of
 *                                   (also counted in the totals above)
 *   aging                           loans and outstanding principal per bucket
 *
 * The aging run (POST /v1/loans/age, operator; an operator or cron calls it once a day) computes
 * each serviced loan's bucket as of the date and emits loans.loan.overdue for every loan whose
 * bucket changed to an overdue one since the last run; a loan back to current is recorded
 * silently. The bucket of the last run is kept in the loan's summary, so a second run for the
 * same as_of finds nothing new and emits nothing: the run is idempotent. Runs may not go back in
 * time (422 as_of_before_last_run) or into the future (422 future_date).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "loans.h"

#define AGED_KEY "aged_as_of"

typedef struct {
    char key[72];
    int64_t loans, active, disbursed, out_principal, out_fee, par30, due, credited, repaid,
        written_off, recovered, restr_loans, restr_out, restr_par30;
    int64_t aging_loans[LOANS_NBUCKETS], aging_out[LOANS_NBUCKETS];
} s_fig_t;

typedef struct {
    s_fig_t *g;
    size_t n, cap;
} s_groups_t;

/* Checked addition: a figure that overflowed would be a wrong figure. */
static bool s_add(int64_t *acc, int64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc);
}

/* Adds one loan's state to a group; false on overflow. */
static bool s_fig_add(s_fig_t *f, const loans_book_t *b, const loans_state_t *st)
{
    bool ok = s_add(&f->loans, 1) && s_add(&f->disbursed, st->disbursed) &&
              s_add(&f->out_principal, st->out_principal) && s_add(&f->out_fee, st->out_fee) &&
              s_add(&f->due, st->due) && s_add(&f->credited, st->credited) &&
              s_add(&f->repaid, st->paid) &&
              s_add(&f->written_off, st->written_off ? b->writeoff_principal : 0) &&
              s_add(&f->recovered, st->recovered);
    if (st->days_past_due > 30)
        ok = ok && s_add(&f->par30, st->out_principal);
    if (st->restructured)
        ok = ok && s_add(&f->restr_loans, 1) && s_add(&f->restr_out, st->out_principal) &&
             s_add(&f->restr_par30, st->days_past_due > 30 ? st->out_principal : 0);
    if (st->out_principal + st->out_fee > 0) {
        ok = ok && s_add(&f->active, 1) && s_add(&f->aging_loans[st->bucket], 1) &&
             s_add(&f->aging_out[st->bucket], st->out_principal);
    }
    return ok;
}

/* The group named key, created empty when new; NULL when out of memory. */
static s_fig_t *s_group(s_groups_t *gs, const char *key)
{
    for (size_t i = 0; i < gs->n; i++)
        if (strcmp(gs->g[i].key, key) == 0)
            return &gs->g[i];
    if (hy_array_grow(&gs->g, &gs->cap, gs->n, sizeof *gs->g, 16) != 0)
        return NULL;
    s_fig_t *f = &gs->g[gs->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

/* A share in basis points, floor, in 128 bits. */
static int64_t s_bp(int64_t part, int64_t whole)
{
    return whole > 0 ? (int64_t)((__int128)part * 10000 / whole) : 0;
}

/* The figures of a group as the API shows them. */
static json_t *s_fig_json(const s_fig_t *f, const char *key_name)
{
    json_t *aging = json_object();
    for (int b = 0; b < LOANS_NBUCKETS; b++)
        json_object_set_new(aging, loans_bucket_names[b],
                            json_pack("{s:I,s:I}", "loans", (json_int_t)f->aging_loans[b],
                                      "outstanding_principal_rials", (json_int_t)f->aging_out[b]));
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "loans", (json_int_t)f->loans,
        "active_loans", (json_int_t)f->active, "disbursed_rials", (json_int_t)f->disbursed,
        "outstanding_principal_rials", (json_int_t)f->out_principal, "outstanding_fee_rials",
        (json_int_t)f->out_fee, "par30_rials", (json_int_t)f->par30, "par30_bp",
        (json_int_t)s_bp(f->par30, f->out_principal), "due_rials", (json_int_t)f->due,
        "repaid_rials", (json_int_t)f->repaid, "repaid_on_due_rials", (json_int_t)f->credited,
        "written_off_rials", (json_int_t)f->written_off, "repayment_rate_bp",
        f->due > 0 ? json_integer(s_bp(f->credited, f->due)) : json_null(), "aging", aging);
    if (o) {
        json_object_set_new(o, "recovered_rials", json_integer(f->recovered));
        json_object_set_new(o, "restructured_loans", json_integer(f->restr_loans));
        json_object_set_new(o, "restructured_outstanding_principal_rials",
                            json_integer(f->restr_out));
        json_object_set_new(o, "restructured_par30_rials", json_integer(f->restr_par30));
    }
    if (o && key_name)
        json_object_set_new(o, key_name, json_string(f->key));
    return o;
}

/* Groups in a stable order: by office name or product id. */
static int s_by_key(const void *a, const void *b)
{
    return strcmp(((const s_fig_t *)a)->key, ((const s_fig_t *)b)->key);
}

/* A list of groups, sorted. */
static json_t *s_groups_json(s_groups_t *gs, const char *key_name)
{
    json_t *arr = json_array();
    if (gs->n)
        qsort(gs->g, gs->n, sizeof *gs->g, s_by_key);
    for (size_t i = 0; arr && i < gs->n; i++)
        json_array_append_new(arr, s_fig_json(&gs->g[i], key_name));
    return arr;
}

/* Visits every summary: fn(book, n, user) returns 0 to go on or a failure status. */
typedef int (*s_scan_fn)(hy_ctx_t *ctx, uint64_t n, loans_book_t *book, void *user);

/* Decides from a summary's raw bytes whether fn needs to see it at all (NULL: every loan). */
typedef bool (*s_keep_fn)(const void *data, size_t len, void *user);

/* One pass over the summaries in loan order; loans that keep refuses are not decoded. */
static int s_scan(hy_ctx_t *ctx, s_keep_fn keep, s_scan_fn fn, void *user)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int status = 0, rc = mdb_cursor_open(ctx->txn, loans_state(ctx)->summary, &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        loans_book_t book;
        if (keep && k.mv_size == 8 && !keep(v.mv_data, v.mv_size, user))
            continue;
        if (k.mv_size != 8 || loans_book_decode(v.mv_data, v.mv_size, &book) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        status = fn(ctx, hy_key_u64_get(k.mv_data), &book, user);
        loans_book_free(&book);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (status)
        return status;
    return rc == MDB_NOTFOUND ? 0 : hy_fail_mdb(ctx, rc);
}

typedef struct {
    int64_t as_of;
    const char *office;
    uint64_t product;   /* 0 = every product */
    s_fig_t total;
    s_groups_t offices, products;
    struct {
        uint64_t n;
        char id[32];
    } pids[16];         /* product ids already formatted: a handful of products, many loans */
    int npids;
} s_portfolio_t;

/* The product filter and the office filter, read from the header before any decoding. */
static bool s_portfolio_keep(const void *data, size_t len, void *user)
{
    s_portfolio_t *p = user;
    uint64_t product;
    char office[65];
    if (!p->office && !p->product)
        return true;
    if (loans_book_peek(data, len, &product, office) != 0)
        return true;   /* let the decoder report it */
    return (!p->office || strcmp(p->office, office) == 0) && (!p->product || p->product == product);
}

/* "lpr_<n>" for a product number, formatted once per product. */
static const char *s_product_id(s_portfolio_t *p, uint64_t n, char *scratch, size_t size)
{
    for (int i = 0; i < p->npids; i++)
        if (p->pids[i].n == n)
            return p->pids[i].id;
    if (p->npids == (int)(sizeof p->pids / sizeof p->pids[0])) {
        hy_id_format("lpr", n, scratch, size);
        return scratch;
    }
    p->pids[p->npids].n = n;
    hy_id_format("lpr", n, p->pids[p->npids].id, sizeof p->pids[0].id);
    return p->pids[p->npids++].id;
}

/* Adds one loan to the total, its office and its product, if the filters keep it. */
static int s_portfolio_visit(hy_ctx_t *ctx, uint64_t n, loans_book_t *b, void *user)
{
    s_portfolio_t *p = user;
    loans_state_t st;
    char pid[32];
    (void)n;
    if ((p->office && strcmp(p->office, b->office) != 0) || (p->product && p->product != b->product))
        return 0;
    if (loans_book_state(b, p->as_of, &st) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "a loan's ledger overflows");
    if (st.disbursed == 0)
        return 0;
    s_fig_t *office = s_group(&p->offices, b->office),
            *product = s_group(&p->products, s_product_id(p, b->product, pid, sizeof pid));
    if (!office || !product)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    if (!s_fig_add(&p->total, b, &st) || !s_fig_add(office, b, &st) ||
        !s_fig_add(product, b, &st))
        return hy_fail(ctx, 500, "internal_error", NULL, "portfolio figures overflow");
    return 0;
}

/* GET /v1/loans/portfolio. */
int loans_portfolio(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    const char *as_of = hy_json_str(args, "as_of"), *product = hy_json_str(args, "product_id");
    s_portfolio_t p = {.as_of = loans_day(as_of ? as_of : ctx->today)};
    char office[65];   /* the filter in normalised form, as the summaries hold it */
    int status = loans_office_filter(ctx, args, office, &p.office);
    if (status)
        return status;
    if (product && hy_id_parse("lpr", product, &p.product) != 0)
        return hy_fail(ctx, 404, "not_found", "product_id", "no loan product has the id %s",
                       product);
    status = s_scan(ctx, s_portfolio_keep, s_portfolio_visit, &p);
    if (status == 0) {
        json_t *o = json_object();
        loans_set_date(o, "as_of", as_of ? as_of : ctx->today);
        json_object_set_new(o, "total", s_fig_json(&p.total, NULL));
        json_object_set_new(o, "by_office", s_groups_json(&p.offices, "office"));
        json_object_set_new(o, "by_product", s_groups_json(&p.products, "product_id"));
        *out = o;
    }
    free(p.offices.g);
    free(p.products.g);
    return status ? status : 0;
}

/* --- the aging run ------------------------------------------------------------------------ */

/* The bucket kept in the summary; a loan never aged is current. */
int loans_last_bucket(hy_ctx_t *ctx, uint64_t n)
{
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v;
    if (mdb_get(ctx->txn, loans_state(ctx)->summary, &k, &v) != 0)
        return LOANS_BUCKET_CURRENT;
    return loans_book_bucket(v.mv_data, v.mv_size);
}

typedef struct {
    uint64_t n;
    int from, to;
    loans_state_t st;
} s_change_t;

typedef struct {
    int64_t as_of;
    size_t scanned;
    s_change_t *c;
    size_t n, cap;
} s_aging_t;

/* Collects serviced loans whose bucket differs from the last run's (written after the scan). */
static int s_aging_visit(hy_ctx_t *ctx, uint64_t n, loans_book_t *b, void *user)
{
    s_aging_t *a = user;
    loans_state_t st;
    if (b->status != LOANS_DISBURSED && b->status != LOANS_RESCHEDULED &&
        b->status != LOANS_DISBURSING)
        return 0;
    a->scanned++;
    if (loans_book_state(b, a->as_of, &st) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "a loan's ledger overflows");
    if (st.bucket == b->last_bucket)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        s_change_t *c = realloc(a->c, cap * sizeof *c);
        if (!c)
            return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        a->c = c, a->cap = cap;
    }
    a->c[a->n++] = (s_change_t){n, b->last_bucket, st.bucket, st};
    return 0;
}

/* Records a loan's new bucket in its summary and, for an overdue one, emits the event. */
static int s_aging_apply(hy_ctx_t *ctx, const s_change_t *c, const char *as_of, int *events)
{
    loans_t *lt = loans_state(ctx);
    uint8_t key[8];
    hy_key_u64(c->n, key);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(ctx->txn, lt->summary, &k, &v);
    void *copy = rc == 0 ? malloc(v.mv_size) : NULL;
    if (rc || !copy)
        return hy_fail_mdb(ctx, rc ? rc : ENOMEM);
    memcpy(copy, v.mv_data, v.mv_size);
    v.mv_data = copy;
    loans_book_set_bucket(copy, v.mv_size, c->to);
    rc = mdb_put(ctx->txn, lt->summary, &k, &v, 0);
    free(copy);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (c->to == LOANS_BUCKET_CURRENT)
        return 0;
    json_t *loan = NULL;
    if ((rc = hy_store_get_id(ctx->txn, lt->loans, c->n, &loan)) != 0)
        return hy_fail_mdb(ctx, rc);
    json_t *extra = json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:I}", "as_of", as_of, "days_past_due",
                              (json_int_t)c->st.days_past_due, "aging_bucket",
                              loans_bucket_names[c->to], "previous_bucket",
                              loans_bucket_names[c->from], "outstanding_principal_rials",
                              (json_int_t)c->st.out_principal, "outstanding_fee_rials",
                              (json_int_t)c->st.out_fee, "overdue_rials",
                              (json_int_t)c->st.overdue);
    int status = loans_emit(ctx, "overdue", loan, extra);
    json_decref(loan);
    *events += status == 0;
    return status;
}

/* POST /v1/loans/age: one run as of a date, no earlier than the last. */
int loans_age(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    loans_t *lt = loans_state(ctx);
    char as_of[11];
    s_aging_t a = {0};
    int events = 0;
    int status = loans_arg_date(ctx, args, "as_of", &a.as_of, as_of);
    if (status)
        return status;
    MDB_val k = {strlen(AGED_KEY), AGED_KEY}, v;
    int rc = mdb_get(ctx->txn, lt->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8 && (int64_t)hy_key_u64_get(v.mv_data) > a.as_of) {
        char last[11];
        loans_iso((int64_t)hy_key_u64_get(v.mv_data), last);
        return hy_fail(ctx, 422, "as_of_before_last_run", "as_of",
                       "the loans were already aged as of %s; a run cannot go back to %s", last,
                       as_of);
    }
    if (rc && rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    status = s_scan(ctx, NULL, s_aging_visit, &a);
    for (size_t i = 0; status == 0 && i < a.n; i++)
        status = s_aging_apply(ctx, &a.c[i], as_of, &events);
    free(a.c);
    if (status)
        return status;
    uint8_t day[8];
    hy_key_u64((uint64_t)a.as_of, day);
    v = (MDB_val){8, day};
    if ((rc = mdb_put(ctx->txn, lt->meta, &k, &v, 0)) != 0)
        return hy_fail_mdb(ctx, rc);
    json_t *o = json_pack("{s:I,s:I,s:i}", "scanned", (json_int_t)a.scanned, "changed",
                          (json_int_t)a.n, "overdue_events", events);
    loans_set_date(o, "as_of", as_of);
    *out = o;
    return 0;
}
