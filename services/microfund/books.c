/*
 * books.c — reading a fund's books back: its meetings and training sessions (list and get),
 * and a member's passbook.
 *
 * Meetings are stored under fund number + date (one meeting per date), so a meeting's date is
 * its name: GET /v1/funds/{id}/meetings/2024-02-01. Trainings are stored under fund number +
 * session number. Lists run in key order (meetings by date, trainings by number); the page
 * cursor is the last day number or session number seen.
 *
 * The passbook is the member's own page of the books, the way a VSLA member's passbook (and
 * Chomoka's member statement) is kept: every saving, social fund contribution, fine and grant
 * of the meetings, every loan (principal + charge owed), repayment and share-out settlement of
 * her loans, and every share-out payout, in date order (within a day: savings, social fund,
 * fines, grants, loans, repayments, settlements, share-outs). Each entry carries the running
 * balances after it:
 *   savings_balance_rials   her savings of the cycle; the share-out pays them out (back to 0)
 *   loan_balance_rials      what she owes: + principal and charge of a loan, - each repayment,
 *                           - the debt settled at a share-out (by her payout, her guarantors
 *                           or the group: after it she owes the fund nothing)
 *   social_fund_paid_rials  her social fund contributions so far
 * Nothing here is stored twice: the passbook is derived from the meetings, loans and share-outs
 * the fund already keeps, so it can never disagree with them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "correct.h"
#include "microfund.h"
#include "page.h"

#define MAX_DAY 2932896u /* day number of 9999-12-31, the last date a meeting key can hold */

/* ------------------------------------------------------------- prefix scans ------------ */

/* Visits one record of a scan; returns 0 to go on, 1 to stop, or an LMDB error. */

/* Visits the JSON records of db whose key starts with the fund number, from the first key
 * after `from` (fund number + from, skipped when equal; from NULL: the first of the fund). */
int microfund_scan(hy_ctx_t *ctx, MDB_dbi db, uint64_t fund_n, const void *from, size_t fromlen,
                   microfund_each_fn each, void *user)
{
    uint8_t start[8 + 16];
    hy_key_u64(fund_n, start);
    if (fromlen > sizeof start - 8)
        return EINVAL;
    if (from)
        memcpy(start + 8, from, fromlen);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(ctx->txn, db, &cur);
    if (rc)
        return rc;
    MDB_val k = {8 + fromlen, start}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && from && k.mv_size == 8 + fromlen && memcmp(k.mv_data, start, k.mv_size) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    while (rc == 0 && k.mv_size >= 8 && memcmp(k.mv_data, start, 8) == 0) {
        json_error_t jerr;
        json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, &jerr);
        if (!rec) {
            rc = MDB_CORRUPTED;
            break;
        }
        rc = each(rec, user);
        json_decref(rec);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 1 ? 0 : rc;
}

typedef struct {
    json_t *items;
    int limit;
    bool more;        /* a record after the page exists */
} s_page_t;

/* Collects a page, reading one record more to know whether another page follows. */
static int s_collect(json_t *rec, void *user)
{
    s_page_t *pg = user;
    if ((int)json_array_size(pg->items) == pg->limit) {
        pg->more = true;
        return 1;
    }
    return json_array_append(pg->items, rec) ? ENOMEM : 0;
}

/* One page of the fund's meetings (by date) or trainings (by number). */
static int s_list(hy_ctx_t *ctx, const char *id, bool meetings, uint64_t after, int limit,
                  json_t **items, uint64_t *next)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    microfund_t *st = microfund_state(ctx);
    uint8_t from[10];
    size_t fromlen = 0;
    char iso[32];
    if (meetings && after > MAX_DAY) {   /* a cursor past 9999-12-31: nothing comes after it */
        microfund_fund_close(&fund);
        *items = json_array();
        *next = 0;
        return *items ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    if (after && meetings) {
        int y, m, d;
        hy_civil_from_days((int64_t)after, &y, &m, &d);
        snprintf(iso, sizeof iso, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
                 (unsigned)d % 100u);
        memcpy(from, iso, 10);
        fromlen = 10;
    } else if (after) {
        hy_key_u64(after, from);
        fromlen = 8;
    }
    s_page_t pg = {json_array(), limit, false};
    int rc = pg.items ? microfund_scan(ctx, meetings ? st->meetings : st->trainings, fund.n,
                               fromlen ? from : NULL, fromlen, s_collect, &pg)
                      : ENOMEM;
    microfund_fund_close(&fund);
    if (rc) {
        json_decref(pg.items);
        return hy_fail_mdb(ctx, rc);
    }
    json_t *last = json_array_get(pg.items, json_array_size(pg.items) - 1);
    *next = !pg.more || !last ? 0
            : meetings ? (uint64_t)microfund_day(json_string_value(json_object_get(last, "date")))
                       : (uint64_t)microfund_int(last, "number");
    *items = pg.items;
    return 0;
}

int microfund_meeting_list(hy_ctx_t *ctx, const char *id, const char *unused, uint64_t after,
                           int limit, json_t **items, uint64_t *next)
{
    (void)unused;
    return s_list(ctx, id, true, after, limit, items, next);
}

int microfund_training_list(hy_ctx_t *ctx, const char *id, const char *unused, uint64_t after,
                            int limit, json_t **items, uint64_t *next)
{
    (void)unused;
    return s_list(ctx, id, false, after, limit, items, next);
}

/* Reads one record of the fund under key suffix, or answers 404 naming what. */
static int s_get(hy_ctx_t *ctx, const char *id, MDB_dbi db, const void *suffix, size_t len,
                 const char *what, const char *name, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    uint8_t key[8 + 16];
    hy_key_u64(fund.n, key);
    int rc = MDB_NOTFOUND;
    if (suffix && len <= sizeof key - 8) {
        memcpy(key + 8, suffix, len);
        rc = hy_store_get_json(ctx->txn, db, key, 8 + len, out);
    }
    microfund_fund_close(&fund);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", what, "%s has no %s %s", id, what,
                       name ? name : "");
    return hy_mdb_status(ctx, rc);
}

int microfund_meeting_get(hy_ctx_t *ctx, const char *id, const char *date, json_t **out)
{
    bool valid = date && strlen(date) == 10 && microfund_day(date) != INT64_MIN;
    return s_get(ctx, id, microfund_state(ctx)->meetings, valid ? date : NULL, 10, "date", date,
                 out);
}

int microfund_training_get(hy_ctx_t *ctx, const char *id, const char *number, json_t **out)
{
    uint64_t n = 0;
    bool valid = number && *number && strlen(number) <= 18;
    for (const char *p = number; valid && *p; p++) {
        valid = *p >= '0' && *p <= '9';
        n = n * 10 + (uint64_t)(*p - '0');
    }
    uint8_t suffix[8];
    hy_key_u64(n, suffix);
    return s_get(ctx, id, microfund_state(ctx)->trainings, valid && n ? suffix : NULL, 8,
                 "number", number, out);
}

/* ------------------------------------------------------------- the passbook ------------ */

/* Entry kinds in their order within one day. */
static const char *const s_kinds[] = {"saving", "social_fund", "fine", "grant", "loan",
                                      "repayment", "loan_settled", "shareout", NULL};

static int s_rank(const char *kind)
{
    for (int i = 0; s_kinds[i]; i++)
        if (strcmp(kind, s_kinds[i]) == 0)
            return i;
    return 99;
}

typedef struct {
    const char *person;   /* prs_... */
    json_t *entries;
    const json_t *merged_from;   /* ids merged into hers (the member's merged_from), or NULL */
} s_book_t;

/* Appends an entry {date, kind, amount_rials} plus the members of extra (stolen, may be NULL). */
static int s_entry(s_book_t *bk, const char *date, const char *kind, int64_t amount, json_t *extra)
{
    json_t *e = json_pack("{s:s, s:s, s:I}", "date", date ? date : "", "kind", kind,
                          "amount_rials", (json_int_t)amount);
    if (!e || (extra && json_object_update(e, extra) != 0)) {
        json_decref(e);
        json_decref(extra);
        return ENOMEM;
    }
    json_decref(extra);
    return json_array_append_new(bk->entries, e) ? ENOMEM : 0;
}

/* Whether a line's person is the passbook's: her id, or one merged into it (persons.c). */
static bool s_hers(const s_book_t *bk, const char *person_id)
{
    size_t i;
    json_t *v;
    if (!person_id)
        return false;
    if (strcmp(person_id, bk->person) == 0)
        return true;
    json_array_foreach(bk->merged_from, i, v) {
        if (strcmp(json_string_value(v), person_id) == 0)
            return true;
    }
    return false;
}

/* Her lines of one meeting. */
static int s_meeting_lines(json_t *meeting, void *user)
{
    s_book_t *bk = user;
    static const char *const lists[] = {"savings", "social_fund", "fines", "grants", NULL};
    const char *date = json_string_value(json_object_get(meeting, "date"));
    if (hy_correct_is_voided(meeting))   /* a voided meeting counts nowhere (corrections.c) */
        return 0;
    for (int l = 0; lists[l]; l++) {
        size_t i;
        json_t *line;
        json_array_foreach(json_object_get(meeting, lists[l]), i, line) {
            if (!s_hers(bk, json_string_value(json_object_get(line, "person_id"))))
                continue;
            json_t *extra = json_pack("{s:O}", "meeting", json_object_get(meeting, "number"));
            if (extra && json_object_get(line, "shares"))
                json_object_set(extra, "shares", json_object_get(line, "shares"));
            if (extra && json_object_get(line, "reason"))
                json_object_set(extra, "reason", json_object_get(line, "reason"));
            int rc = s_entry(bk, date, s_kinds[l], microfund_int(line, "amount_rials"), extra);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Her loan: the loan, its repayments, and its settlement at a share-out. */
static int s_loan_lines(s_book_t *bk, const json_t *loan)
{
    json_t *id = json_object_get(loan, "id");
    int64_t principal = microfund_int(loan, "principal_rials"),
            charge = microfund_int(loan, "charge_rials");
    int rc = s_entry(bk, json_string_value(json_object_get(loan, "date")), "loan",
                     principal + charge,
                     json_pack("{s:O, s:I, s:I, s:O}", "loan_id", id, "principal_rials",
                               (json_int_t)principal, "charge_rials", (json_int_t)charge,
                               "due_date", json_object_get(loan, "due_date")));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(loan, "repayments"), i, r) {
        if (!rc && !hy_correct_is_voided(r))   /* a voided repayment counts nowhere */
            rc = s_entry(bk, json_string_value(json_object_get(r, "date")), "repayment",
                         microfund_int(r, "amount_rials"),
                         json_pack("{s:O, s:O, s:O}", "loan_id", id, "principal_rials",
                                   json_object_get(r, "principal_rials"), "charge_rials",
                                   json_object_get(r, "charge_rials")));
    }
    json_t *s = json_object_get(loan, "settlement");
    if (!rc && s)
        rc = s_entry(bk, json_string_value(json_object_get(s, "date")), "loan_settled",
                     microfund_int(loan, "settled_principal_rials") +
                         microfund_int(loan, "settled_charge_rials"),
                     json_pack("{s:O, s:O, s:O, s:O}", "loan_id", id, "status",
                               json_object_get(loan, "status"), "by_her_payout_rials",
                               json_object_get(s, "borrower_rials"), "shared_rials",
                               json_object_get(s, "shared_rials")));
    return rc;
}

/* Her payout of one share-out. */
static int s_shareout_lines(json_t *so, void *user)
{
    s_book_t *bk = user;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(so, "payouts"), i, p) {
        if (!s_hers(bk, json_string_value(json_object_get(p, "person_id"))))
            continue;
        return s_entry(bk, json_string_value(json_object_get(so, "date")), "shareout",
                       microfund_int(p, "paid_rials"),
                       json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "cycle",
                                 json_object_get(so, "cycle"), "shares",
                                 json_object_get(p, "shares"), "profit_rials",
                                 json_object_get(p, "profit_rials"), "entitled_rials",
                                 json_object_get(p, "entitled_rials"), "covered_rials",
                                 json_object_get(p, "covered_rials"), "loss_rials",
                                 json_object_get(p, "loss_rials")));
    }
    return 0;
}

/* Date order, then the order of kinds within a day, then the order they were read in. */
static int s_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "date")),
                   json_string_value(json_object_get(y, "date")));
    if (c)
        return c;
    c = s_rank(json_string_value(json_object_get(x, "kind"))) -
        s_rank(json_string_value(json_object_get(y, "kind")));
    if (c)
        return c;
    int64_t i = microfund_int(x, "_seq"), j = microfund_int(y, "_seq");
    return (i > j) - (i < j);
}

/* Sorts the entries and writes the running balances into each; the totals go to balances. */
static int s_balance(json_t *entries, json_t *balances)
{
    size_t n = json_array_size(entries);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_incref(json_array_get(entries, i));
        json_object_set_new(v[i], "_seq", json_integer((json_int_t)i));
    }
    qsort(v, n, sizeof *v, s_cmp);
    json_array_clear(entries);
    int64_t savings = 0, loan = 0, social = 0, fines = 0, grants = 0, paid = 0;
    for (size_t i = 0; i < n; i++) {
        const char *kind = json_string_value(json_object_get(v[i], "kind"));
        int64_t amount = microfund_int(v[i], "amount_rials");
        switch (s_rank(kind)) {
        case 0: savings += amount; break;
        case 1: social += amount; break;
        case 2: fines += amount; break;
        case 3: grants += amount; break;
        case 4: loan += amount; break;
        case 5: case 6: loan -= amount; break;
        case 7: savings = 0; paid += amount; break;
        default: break;
        }
        json_object_del(v[i], "_seq");
        json_object_update_new(v[i], json_pack("{s:I, s:I, s:I}", "savings_balance_rials",
                                               (json_int_t)savings, "loan_balance_rials",
                                               (json_int_t)loan, "social_fund_paid_rials",
                                               (json_int_t)social));
        json_array_append_new(entries, v[i]);
    }
    free(v);
    return json_object_update_new(
        balances, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "savings_rials", (json_int_t)savings,
                            "loan_outstanding_rials", (json_int_t)loan, "social_fund_paid_rials",
                            (json_int_t)social, "fines_paid_rials", (json_int_t)fines,
                            "grants_received_rials", (json_int_t)grants, "shareouts_paid_rials",
                            (json_int_t)paid));
}

int microfund_passbook(hy_ctx_t *ctx, const char *id, const char *person_id, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    microfund_t *st = microfund_state(ctx);
    json_t *member = microfund_member(fund.rec, person_id), *loans = NULL;
    s_book_t bk = {person_id, json_array(), json_object_get(member, "merged_from")};
    json_t *balances = json_object();
    int rc = 0;
    if (!member) {
        status = hy_fail(ctx, 404, "not_found", "person_id", "%s was never a member of %s",
                         person_id ? person_id : "", id);
        goto done;
    }
    if (!bk.entries || !balances ||
        (rc = microfund_scan(ctx, st->meetings, fund.n, NULL, 0, s_meeting_lines, &bk)) != 0 ||
        (rc = microfund_loans_of(ctx, fund.n, &loans)) != 0)
        goto done;
    size_t i;
    json_t *loan;
    json_array_foreach(loans, i, loan) {
        const char *who = json_string_value(json_object_get(loan, "person_id"));
        if (!rc && who && strcmp(who, person_id) == 0)
            rc = s_loan_lines(&bk, loan);
    }
    if (rc || (rc = microfund_scan(ctx, st->shareouts, fund.n, NULL, 0, s_shareout_lines, &bk)) != 0 ||
        (rc = s_balance(bk.entries, balances)) != 0)
        goto done;
    *out = json_pack("{s:s, s:s, s:O, s:O, s:O}", "fund_id", fund.id, "person_id", person_id,
                     "member", member, "balances", balances, "entries", bk.entries);
    if (!*out)
        rc = ENOMEM;
done:
    if (rc)
        status = hy_fail_mdb(ctx, rc);
    json_decref(loans);
    json_decref(balances);
    json_decref(bk.entries);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
