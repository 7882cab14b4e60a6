/*
 * records.c — loading and saving a loan with everything that must change with it (index
 * entries, the binary summary), the events every loan change emits, and the small date and
 * JSON helpers all the domain files share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "happened.h"
#include "loans.h"
#include "page.h"
#include "scope.h"

/* The service's databases, from the request context. */
loans_t *loans_state(hy_ctx_t *ctx)
{
    return (loans_t *)ctx->state;
}

/* Short readers of a record's members (0 or NULL when absent). */
/* Day numbers make date arithmetic plain integer arithmetic. */
int64_t loans_day(const char *iso)
{
    int y, m, d;
    if (!iso || hy_date_parse_iso(iso, &y, &m, &d) != 0)
        return -1;
    return hy_days_from_civil(y, m, d);
}

/* Back from a day number to the stored form. */
void loans_iso(int64_t day, char out[11])
{
    int y, m, d;
    hy_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* API.md: every date X is echoed as X and X_jalali. */
void loans_set_date(json_t *obj, const char *key, const char *iso)
{
    char jkey[64], jal[11];
    snprintf(jkey, sizeof jkey, "%s_jalali", key);
    json_object_set_new(obj, key, json_string(iso));
    if (hy_date_iso_to_jalali(iso, jal) == 0)
        json_object_set_new(obj, jkey, json_string(jal));
}

/* Fiscal years are Solar Hijri years. */
int loans_fiscal_year(int64_t day)
{
    int y, m, d, jy, jm, jd;
    hy_civil_from_days(day, &y, &m, &d);
    return hy_gregorian_to_jalali(y, m, d, &jy, &jm, &jd) == 0 ? jy : 0;
}

/* A loan belongs to the office of the staff member who took the application. */
const char *loans_actor_office(hy_ctx_t *ctx)
{
    return ctx->req && ctx->req->actor.office ? ctx->req->actor.office : "";
}

int loans_office_filter(hy_ctx_t *ctx, const json_t *args, char buf[65], const char **office)
{
    const char *mine = hy_scope_office(ctx), *want = hy_json_str(args, "office");
    const char *code = mine ? mine : want;
    *office = NULL;
    if (mine && want && !hy_scope_same(mine, want))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s; it sees only that office's loans", mine);
    if (!code)
        return 0;
    /* a key's office and the query's are at most 64 bytes; normalising never lengthens */
    char *norm = hy_fa_normalize(code);
    if (!norm)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    snprintf(buf, 65, "%s", norm);
    free(norm);
    *office = buf;
    return 0;
}

/* Ledger dates are never in the future: money is recorded once it has moved. */
int loans_arg_date(hy_ctx_t *ctx, const json_t *args, const char *key, int64_t *day, char iso[11])
{
    const char *given = hy_json_str(args, key);
    snprintf(iso, 11, "%s", given ? given : ctx->today);
    *day = loans_day(iso);
    if (*day < 0)
        return hy_fail(ctx, 422, "invalid_date", key, "%s is not a date", key);
    if (strcmp(iso, ctx->today) > 0)
        return hy_fail(ctx, 422, "future_date", key, "%s %s is after today (%s)", key, iso,
                       ctx->today);
    return hy_happened_check(ctx, key, iso);
}

/* API.md: a transition that does not apply is a 409 conflict. */
int loans_wrong_state(hy_ctx_t *ctx, const json_t *loan, const char *what)
{
    return hy_fail(ctx, 409, "wrong_state", NULL, "loan %s is %s: it cannot be %s",
                   hy_json_str(loan, "id"), hy_json_str(loan, "status"), what);
}

/* Unknown and malformed ids alike are 404 not_found. */
int loans_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **loan)
{
    *loan = NULL;   /* callers decref it on every path: never leave it unset */
    int status = hy_load_or_404(ctx, loans_state(ctx)->loans, "loan", "loan", id, n, loan);
    if (status)
        return status;
    /* offices are boundaries: a key of another office neither reads nor changes it */
    if ((status = hy_scope_write(ctx, "id", hy_json_str(*loan, "office"))) != 0) {
        json_decref(*loan);
        *loan = NULL;
    }
    return status;
}

/* Loads a loan and checks it is in one of the allowed states (a bit per loans_status_t). */
int loans_load_in(hy_ctx_t *ctx, const json_t *args, unsigned allowed, const char *what,
                     uint64_t *n, json_t **loan, int *old)
{
    int status = loans_load_or_404(ctx, hy_json_str(args, "id"), n, loan);
    if (status)
        return status;
    *old = loans_status_parse(hy_json_str(*loan, "status"));
    if (*old < 0 || !(allowed & (1u << *old))) {
        status = loans_wrong_state(ctx, *loan, what);
        json_decref(*loan);
        *loan = NULL;
    }
    return status;
}

/* The index keys of a loan: person, status, office and product. */
typedef struct {
    uint8_t key[4][80];
    size_t len[4];
    int n;
} s_keys_t;

/* An index key tagged with a letter and an entity number. */
static void s_key_num(s_keys_t *k, char tag, const char *prefix, const char *id)
{
    uint64_t num;
    if (!id || hy_id_parse(prefix, id, &num) != 0)
        return;
    k->key[k->n][0] = (uint8_t)tag;
    k->key[k->n][1] = ':';
    hy_key_u64(num, k->key[k->n] + 2);
    k->len[k->n++] = 10;
}

/* An index key tagged with a letter and a text (office, status). */
static void s_key_text(s_keys_t *k, char tag, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > sizeof k->key[0] - 2)
        return;
    k->key[k->n][0] = (uint8_t)tag;
    k->key[k->n][1] = ':';
    memcpy(k->key[k->n] + 2, text, len);
    k->len[k->n++] = len + 2;
}

/* Every index key of a loan with the given status. */
static void s_keys(const json_t *loan, const char *status, s_keys_t *k)
{
    k->n = 0;
    s_key_num(k, 'p', "prs", hy_json_str(loan, "person_id"));
    s_key_text(k, 's', status);
    s_key_text(k, 'o', hy_json_str(loan, "office"));
    s_key_num(k, 'r', "lpr", hy_json_str(loan, "product_id"));
}

/* Rewrites the summary from the record, keeping the aging bucket the last run recorded. */
static int s_put_summary(hy_ctx_t *ctx, uint64_t n, const json_t *loan)
{
    loans_book_t book;
    if (loans_book_from_json(loan, &book) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "loan %llu has a malformed ledger",
                       (unsigned long long)n);
    book.last_bucket = loans_last_bucket(ctx, n);
    void *data = NULL;
    size_t len = 0;
    int rc = loans_book_encode(&book, &data, &len);
    loans_book_free(&book);
    if (rc == 0) {
        uint8_t key[8];
        hy_key_u64(n, key);
        MDB_val k = {8, key}, v = {len, data};
        rc = mdb_put(ctx->txn, loans_state(ctx)->summary, &k, &v, 0);
    }
    free(data);
    return hy_mdb_status(ctx, rc);
}

/* Only the status index can change after creation: the other keys are fixed. */
int loans_save(hy_ctx_t *ctx, uint64_t n, int old_status, json_t *loan)
{
    loans_t *st = loans_state(ctx);
    json_object_set_new(loan, "updated_at", json_string(ctx->now_iso));
    const char *status = hy_json_str(loan, "status");
    int rc = 0;
    if (old_status < 0 || strcmp(loans_status_names[old_status], status) != 0) {
        s_keys_t old, new;
        s_keys(loan, old_status >= 0 ? loans_status_names[old_status] : NULL, &old);
        s_keys(loan, status, &new);
        for (int i = 0; rc == 0 && old_status >= 0 && i < old.n; i++)
            if (old.key[i][0] == 's')
                rc = hy_index_del(ctx->txn, st->loan_idx, old.key[i], old.len[i], n);
        for (int i = 0; rc == 0 && i < new.n; i++)
            if (old_status < 0 || new.key[i][0] == 's')
                rc = hy_index_put(ctx->txn, st->loan_idx, new.key[i], new.len[i], n);
    }
    if (rc == 0)
        rc = hy_store_put_id(ctx->txn, st->loans, n, loan);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    return s_put_summary(ctx, n, loan);
}

/* Moves the index entry tagged `tag` from the keys of old to those of the loan now. */
static int s_move_entry(hy_ctx_t *ctx, uint64_t n, const s_keys_t *old, const json_t *loan,
                        char tag)
{
    s_keys_t new;
    int rc = 0;
    s_keys(loan, NULL, &new);
    for (int i = 0; rc == 0 && i < old->n; i++)
        if (old->key[i][0] == tag)
            rc = hy_index_del(ctx->txn, loans_state(ctx)->loan_idx, old->key[i], old->len[i], n);
    for (int i = 0; rc == 0 && i < new.n; i++)
        if (new.key[i][0] == tag)
            rc = hy_index_put(ctx->txn, loans_state(ctx)->loan_idx, new.key[i], new.len[i], n);
    return rc;
}

/* Only the product ("r:") entry moves; person, office and status stay. */
int loans_move_product(hy_ctx_t *ctx, uint64_t n, json_t *loan, const json_t *product)
{
    s_keys_t old;
    s_keys(loan, NULL, &old);
    json_object_set(loan, "product_id", json_object_get(product, "id"));
    json_object_set(loan, "kind", json_object_get(product, "kind"));
    json_object_set(loan, "fiscal_year", json_object_get(product, "fiscal_year"));
    int rc = s_move_entry(ctx, n, &old, loan, 'r');
    return hy_mdb_status(ctx, rc);
}

/* Only the person ("p:") entry moves. Returns 0 or an LMDB error (called from apply). */
int loans_move_person(hy_ctx_t *ctx, uint64_t n, json_t *loan, const char *person_id)
{
    s_keys_t old;
    s_keys(loan, NULL, &old);
    json_object_set_new(loan, "person_id", json_string(person_id));
    return s_move_entry(ctx, n, &old, loan, 'p');
}

/* Emits an event; an LMDB failure fails the request (and rolls it back). */
int loans_emit_raw(hy_ctx_t *ctx, const char *type, const char *subject, json_t *data)
{
    if (!data)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    int rc = hy_emit(ctx, type, subject, data);
    return hy_mdb_status(ctx, rc);
}

/* Every loan event carries what a consumer (reporting) needs to place it without asking:
 * the loan, person, business, product, fiscal year, office and the status after the change. */
int loans_emit(hy_ctx_t *ctx, const char *verb, const json_t *loan, json_t *extra)
{
    static const char *const keys[] = {"id",          "person_id", "business_id", "product_id",
                                       "fiscal_year", "office",    "status"};
    json_t *data = json_object();
    for (size_t i = 0; data && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(loan, keys[i]);
        if (v)
            json_object_set(data, keys[i], v);
    }
    if (data && extra)
        json_object_update(data, extra);
    json_decref(extra);
    char type[64];
    snprintf(type, sizeof type, "loans.loan.%s", verb);
    return loans_emit_raw(ctx, type, hy_json_str(loan, "id"), data);
}

/* One ending for every transition, so none forgets the summary, the event or the view. */
int loans_commit(hy_ctx_t *ctx, uint64_t n, int old_status, json_t *loan, const char *verb,
                 json_t *extra, json_t **out)
{
    int status = loans_save(ctx, n, old_status, loan);
    if (status == 0)
        status = loans_emit(ctx, verb, loan, json_incref(extra));
    json_decref(extra);
    if (status == 0) {
        *out = loans_view(loan, loans_day(ctx->today), true);
        status = *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    json_decref(loan);
    return status;
}


/* Appends to one of the loan's arrays, creating it on first use. */
void loans_append(json_t *loan, const char *key, json_t *item)
{
    json_t *arr = json_object_get(loan, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(loan, key, arr);
    }
    json_array_append_new(arr, item);
}

/* 409 duplicate_reference when reference is already the reference of an entry of loan[key]
 * (what: "repayment", "recovery"); 0 otherwise (also for no reference). */
int loans_check_reference(hy_ctx_t *ctx, const json_t *loan, const char *key, const char *what,
                          const char *reference)
{
    size_t i;
    json_t *r;
    if (!reference || !*reference)
        return 0;
    json_array_foreach(json_object_get(loan, key), i, r) {
        const char *have = hy_json_str(r, "reference");
        if (have && strcmp(have, reference) == 0)
            return hy_fail(ctx, 409, "duplicate_reference", "reference",
                           "a %s with reference %s is already recorded on this loan", what,
                           reference);
    }
    return 0;
}

/* The schedule as stored: [{n, due_date, due_date_jalali, fee_rials, principal_rials}]. */
json_t *loans_schedule_json(const loans_line_t *lines, size_t n)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < n; k++) {
        char iso[11];
        loans_iso(lines[k].day, iso);
        json_t *it = json_pack("{s:I}", "n", (json_int_t)(k + 1));
        loans_set_date(it, "due_date", iso);
        json_object_set_new(it, "fee_rials", json_integer(lines[k].a));
        json_object_set_new(it, "principal_rials", json_integer(lines[k].b));
        json_array_append_new(arr, it);
    }
    return arr;
}

/* The current schedule goes into schedule_history with the day its successor takes effect. */
void loans_history_push(json_t *loan, const char *until, const char *change)
{
    json_t *sched = json_object_get(loan, "schedule");
    if (!json_is_array(sched))
        return;
    json_t *h = json_pack("{s:s,s:O}", "change", change, "schedule", sched);
    loans_set_date(h, "until", until);
    loans_append(loan, "schedule_history", h);
}

/* The method is part of the terms copied at approval. */
bool loans_declining(const json_t *loan)
{
    const char *m = hy_json_str(json_object_get(loan, "terms"), "fee_method");
    return m && strcmp(m, "declining") == 0;
}

/* Declining: the schedule cut at the day; flat: everything outstanding (no rebate). */
int loans_payoff(const json_t *loan, const loans_book_t *book, const loans_state_t *st,
                 int64_t day, int64_t *payoff, loans_line_t **cut, size_t *ncut)
{
    const loans_line_t *inst;
    size_t n, nout = 0;
    *payoff = st->out_principal + st->out_fee;
    loans_book_schedule(book, day, &inst, &n);
    if (!loans_declining(loan) || st->written_off || n == 0 || book->ndisb == 0)
        return 0;
    const json_t *terms = json_object_get(loan, "terms");
    loans_line_t *lines = malloc(n * sizeof *lines);
    if (!lines || loans_payoff_cut(inst, n, book->disb[0].day, day,
                                   hy_json_int(terms, "fee_rate_bp", 0),
                                   1 + (int)hy_json_int(terms, "grace_months", 0), lines, &nout) != 0) {
        free(lines);
        return -1;
    }
    int64_t total = 0;
    for (size_t k = 0; k < nout; k++)
        total += lines[k].a + lines[k].b;
    /* principal not yet paid out (a disbursement dated after day) is not owed on day */
    int64_t undisbursed = 0;
    for (size_t k = 0; k < nout; k++)
        undisbursed += lines[k].b;
    undisbursed -= st->disbursed;
    *payoff = total - (undisbursed > 0 ? undisbursed : 0) - st->paid;
    if (*payoff < 0)
        *payoff = 0;
    if (cut) {
        *cut = lines;
        *ncut = nout;
    } else {
        free(lines);
    }
    return 0;
}
