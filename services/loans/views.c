/*
 * views.c — a loan as staff see it, computed as of a date, and the lists: loans by person,
 * status, office or product, and the approval queue.
 *
 * The stored record holds what happened (schedule, tranches, repayments); everything owed is
 * computed from it as of the date asked (ledger.c): what each installment has received, what is
 * outstanding, days past due (as_of minus the due date of the oldest installment not fully paid
 * by then; 0 when none is late) and the aging bucket, all on the schedule in force on that date
 * (a later tranche, rescheduling or payoff replaced it: book.c keeps the replaced ones), with
 * restructured (rescheduled by then) and payoff_rials (what closes the loan that day).
 *
 * The approval queue holds loans waiting for a decision (applied or appraised): lead
 * entrepreneurs first ("lead entrepreneurs are paid first"), then by application date, then by
 * id. Whether a person leads a network is read when the queue is asked for, so a lead assigned
 * later moves her application up at once. Its pages are positions in that order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loans.h"
#include "scope.h"

/* Adds each installment's received fee and principal and its state as of the day, on the
 * schedule in force that day (which replaces the stored one when a later change replaced it). */
static void s_installments(json_t *v, const loans_book_t *book, const loans_state_t *st,
                           int64_t as_of)
{
    const loans_line_t *inst;
    size_t n;
    loans_book_schedule(book, as_of, &inst, &n);
    if (inst != book->inst)
        json_object_set_new(v, "schedule", loans_schedule_json(inst, n));
    json_t *schedule = json_object_get(v, "schedule");
    loans_line_t *paid = calloc(n ? n : 1, sizeof *paid);
    if (!paid)
        return;
    loans_installments_paid(inst, n, st->paid, paid);
    for (size_t k = 0; k < n; k++) {
        json_t *it = json_array_get(schedule, k);
        bool full = paid[k].a == inst[k].a && paid[k].b == inst[k].b;
        json_object_set_new(it, "fee_paid_rials", json_integer(paid[k].a));
        json_object_set_new(it, "principal_paid_rials", json_integer(paid[k].b));
        json_object_set_new(it, "state", json_string(full ? "paid"
                                                     : inst[k].day < as_of ? "overdue"
                                                                           : "upcoming"));
    }
    free(paid);
}

/* The record plus what is computed as of the day (see the top of the file). */
json_t *loans_view(const json_t *loan, int64_t as_of, bool full)
{
    loans_book_t book;
    loans_state_t st;
    if (loans_book_from_json(loan, &book) != 0)
        return NULL;
    json_t *v = json_deep_copy(loan);
    if (!v || loans_book_state(&book, as_of, &st) != 0) {
        loans_book_free(&book);
        json_decref(v);
        return NULL;
    }
    char iso[11];
    loans_iso(as_of, iso);
    loans_set_date(v, "as_of", iso);
    json_object_set_new(v, "paid_rials", json_integer(st.paid));
    json_object_set_new(v, "due_rials", json_integer(st.due));
    json_object_set_new(v, "overdue_rials", json_integer(st.overdue));
    json_object_set_new(v, "outstanding_principal_rials", json_integer(st.out_principal));
    json_object_set_new(v, "outstanding_fee_rials", json_integer(st.out_fee));
    json_object_set_new(v, "outstanding_rials", json_integer(st.out_principal + st.out_fee));
    int64_t payoff;
    if (loans_payoff(loan, &book, &st, as_of, &payoff, NULL, NULL) == 0)
        json_object_set_new(v, "payoff_rials", json_integer(payoff));
    json_object_set_new(v, "days_past_due", json_integer(st.days_past_due));
    json_object_set_new(v, "aging_bucket", json_string(loans_bucket_names[st.bucket]));
    json_object_set_new(v, "restructured", json_boolean(st.restructured));
    if (full) {
        s_installments(v, &book, &st, as_of);
    } else {
        json_object_del(v, "schedule_history");
        json_object_del(v, "schedule");
        json_object_del(v, "repayments");
        json_object_del(v, "disbursements");
        json_object_del(v, "reschedules");
    }
    loans_book_free(&book);
    return v;
}

/* The view or a 500 when the record cannot be read. */
static int s_view(hy_ctx_t *ctx, const json_t *loan, int64_t as_of, bool full, json_t **out)
{
    *out = loans_view(loan, as_of, full);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "loan %s has a malformed ledger",
                              hy_json_str(loan, "id"));
}

/* GET /v1/loans/{id}?as_of=. */
int loans_loan_get(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    const char *as_of = hy_json_str(args, "as_of");
    int status = loans_load_or_404(ctx, hy_json_str(args, "id"), &n, &loan);
    if (status)
        return status;
    status = s_view(ctx, loan, loans_day(as_of ? as_of : ctx->today), true, out);
    json_decref(loan);
    return status ? status : 0;
}

typedef struct {
    hy_ctx_t *ctx;
    const json_t *args;
    const char *office;   /* the office filter (loans_office_filter) */
    int64_t today;
    json_t *items;
    int status;
} s_list_t;

/* A filter of the list: absent, or equal to the loan's field. */
static bool s_match(const json_t *args, const json_t *loan, const char *key)
{
    const char *want = hy_json_str(args, key), *have = hy_json_str(loan, key);
    return !want || (have && strcmp(want, have) == 0);
}

/* hy_store_page visitor: keeps a loan matching every filter, as its short view. */
static int s_list_visit(MDB_txn *txn, uint64_t n, void *user)
{
    s_list_t *l = user;
    json_t *loan = NULL, *view;
    int rc = hy_store_get_id(txn, loans_state(l->ctx)->loans, n, &loan);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    bool keep = s_match(l->args, loan, "person_id") && s_match(l->args, loan, "status") &&
                (!l->office || hy_scope_same(l->office, hy_json_str(loan, "office"))) &&
                s_match(l->args, loan, "product_id");
    if (keep && (l->status = s_view(l->ctx, loan, l->today, false, &view)) == 0)
        json_array_append_new(l->items, view);
    json_decref(loan);
    return l->status ? MDB_INCOMPATIBLE : keep;
}

/* The most selective index key the filters give ("p:", "s:", "r:", "o:"), or none. */
static size_t s_list_key(const json_t *args, const char *office, uint8_t *key, size_t size)
{
    static const struct {
        const char *arg, *prefix;
        char tag;
    } order[] = {{"person_id", "prs", 'p'}, {"status", NULL, 's'}, {"product_id", "lpr", 'r'},
                 {"office", NULL, 'o'}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *v = order[i].tag == 'o' ? office : hy_json_str(args, order[i].arg);
        uint64_t num;
        if (!v)
            continue;
        key[0] = (uint8_t)order[i].tag;
        key[1] = ':';
        if (order[i].prefix) {
            if (hy_id_parse(order[i].prefix, v, &num) != 0)
                num = 0;   /* no such entity: an index key nothing is stored under */
            hy_key_u64(num, key + 2);
            return 10;
        }
        size_t len = strlen(v);
        if (len + 2 > size)
            len = size - 2;
        memcpy(key + 2, v, len);
        return len + 2;
    }
    return 0;
}

/* GET /v1/loans: walks the most selective index and filters the rest. */
int loans_loan_list(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    loans_t *st = loans_state(ctx);
    uint64_t after, next = 0;
    uint8_t key[80];
    const char *office;
    char office_buf[65];
    int limit, status = hy_page_args(ctx, args, &after, &limit);
    if (status || (status = loans_office_filter(ctx, args, office_buf, &office)) != 0)
        return status;
    size_t klen = s_list_key(args, office, key, sizeof key);
    s_list_t l = {ctx, args, office, loans_day(ctx->today), json_array(), 0};
    int rc = hy_store_page(ctx->txn, klen ? st->loan_idx : st->loans, klen ? key : NULL, klen,
                           after, limit, s_list_visit, &l, &next);
    if (rc || l.status) {
        json_decref(l.items);
        return l.status ? l.status : hy_fail_mdb(ctx, rc);
    }
    return hy_page_result(ctx, l.items, next, out);
}

/* --- the approval queue ----------------------------------------------------------------- */

typedef struct {
    bool lead;
    char applied_on[11];
    uint64_t n;
} s_waiting_t;

/* Leads first, then application date, then id. */
static int s_queue_order(const void *a, const void *b)
{
    const s_waiting_t *x = a, *y = b;
    if (x->lead != y->lead)
        return x->lead ? -1 : 1;
    int c = strcmp(x->applied_on, y->applied_on);
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

typedef struct {
    s_waiting_t *w;
    size_t n, cap;
} s_queue_t;

/* Collects the loans of one status into the queue. */
static int s_collect(hy_ctx_t *ctx, const char *status, const char *office, s_queue_t *q)
{
    loans_t *st = loans_state(ctx);
    uint8_t key[32] = {'s', ':'};
    size_t klen = strlen(status) + 2;
    memcpy(key + 2, status, klen - 2);
    MDB_cursor *cur = NULL;
    MDB_val k = {klen, key}, v;
    int rc = mdb_cursor_open(ctx->txn, st->loan_idx, &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        json_t *loan = NULL;
        uint64_t n = hy_key_u64_get(v.mv_data), person = 0;
        if ((rc = hy_store_get_id(ctx->txn, st->loans, n, &loan)) != 0)
            break;
        if (office && !hy_scope_same(office, hy_json_str(loan, "office"))) {
            json_decref(loan);
            continue;
        }
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 64;
            s_waiting_t *w = realloc(q->w, cap * sizeof *w);
            if (!w) {
                json_decref(loan);
                rc = ENOMEM;
                break;
            }
            q->w = w, q->cap = cap;
        }
        s_waiting_t *e = &q->w[q->n++];
        e->n = n;
        hy_id_parse("prs", hy_json_str(loan, "person_id"), &person);
        e->lead = loans_is_lead(ctx, person);
        snprintf(e->applied_on, sizeof e->applied_on, "%s", hy_json_str(loan, "applied_on"));
        json_decref(loan);
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* GET /v1/loans/queue: the waiting loans sorted, paged by position. */
int loans_loan_queue(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    s_queue_t q = {0};
    uint64_t after;
    json_t *items = json_array();
    int64_t today = loans_day(ctx->today);
    int limit, rc = 0;
    const char *office = hy_scope_office(ctx);   /* an office key sees its own office's queue */
    int status = hy_page_args(ctx, args, &after, &limit);
    if (status || (rc = s_collect(ctx, "applied", office, &q)) != 0 ||
        (rc = s_collect(ctx, "appraised", office, &q)) != 0)
        goto done;
    if (q.n)   /* qsort of NULL, even of 0 items, is undefined */
        qsort(q.w, q.n, sizeof *q.w, s_queue_order);
    for (size_t i = after; i < q.n && i < after + (size_t)limit && status == 0; i++) {
        json_t *loan = NULL, *view = NULL;
        if ((rc = hy_store_get_id(ctx->txn, loans_state(ctx)->loans, q.w[i].n, &loan)) != 0)
            goto done;
        if ((status = s_view(ctx, loan, today, false, &view)) == 0) {
            json_object_set_new(view, "lead_entrepreneur", json_boolean(q.w[i].lead));
            json_object_set_new(view, "position", json_integer((json_int_t)i + 1));
            json_array_append_new(items, view);
        }
        json_decref(loan);
    }
done:
    free(q.w);
    if (rc || status) {
        json_decref(items);
        return status ? status : hy_fail_mdb(ctx, rc);
    }
    uint64_t next = after + (uint64_t)limit < q.n ? after + (uint64_t)limit : 0;
    return hy_page_result(ctx, items, next, out);
}
