/*
 * import_apply.c — applying an import's rows in the background, a few milliseconds at a time.
 *
 * The skeleton calls registry_import_step between batches of requests, in a write transaction
 * of its own (shared/service.h, background). A step takes the oldest active import with rows
 * to apply (one still receiving its parts counts once it has rows not yet applied) and applies
 * its next rows, then commits. It stops once HY_IMPORT_STEP_MS (default 2) have passed if a
 * request is waiting (hy_requests_waiting), else it goes on up to HY_IMPORT_IDLE_MS (default
 * 100) or HY_IMPORT_STEP_ROWS (default 5000) rows: a registration sent meanwhile waits for 2 ms
 * of rows and one commit at most, while an idle registry pays one durable commit per many rows.
 * A step riding in a batch of requests (ctx->in_batch: their answers wait for its commit) stops
 * after HY_IMPORT_RIDE_MS (default 1).
 * The row's outcome, the counts and the import's "done" are written in the same transaction as
 * the persons, so a registry killed mid-import resumes at the first row not committed and ends with
 * the counts an uninterrupted run gives.
 *
 * A row acts as the key that sent the import (its actor is kept in the import) and goes through
 * the same checks as POST /v1/persons: the argument spec (checked ahead of the step, with the
 * national ID, on import_prep.c's thread), then the domain rules. The rows run 8 to a nested
 * transaction (hy_ctx_nested), a batch with a refused row again one by one, so a row refused
 * half-way leaves nothing behind.
 *   known national ID, no referral from this agency  -> the referral (the list's date) is
 *       attached, empty fields filled, nothing overwritten: referral_added
 *   known, referral there, some empty field the row fills -> updated
 *   known, nothing to add                              -> unchanged (a re-import is all this)
 *   unknown, same name and birth date as another ID    -> created and flagged: possible_duplicate
 *   unknown                                            -> created (registered and referred on the
 *                                                         list's date, import_id on record/event)
 *   refused by a rule                                  -> invalid, with field and code
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "log.h"
#include "registry.h"
#include "registry_import.h"

#define DEFAULT_STEP_MS 2
#define DEFAULT_RIDE_MS 1
#define DEFAULT_IDLE_MS 100
#define DEFAULT_STEP_ROWS 5000

/* Fields an import may fill on a known person when hers are empty. */
static const char *const s_fillable[] = {"mobile", "neighbourhood", "household_size",
                                         "head_of_household", "province", "city", "disability"};

static long s_env(const char *name, long dflt)
{
    const char *e = getenv(name);
    long v = e && *e ? strtol(e, NULL, 10) : 0;
    return v > 0 ? v : dflt;
}

typedef struct {
    const json_t *imp;
    json_t *row;        /* gets outcome, person_id, code, field, detail */
    json_t *args;       /* persons.create arguments */
    uint64_t existing;  /* person number holding the national ID, or 0 */
    const registry_draft_t *draft;   /* persons.create worked out on hy-import-prep */
} s_row_t;

/* The error a domain call left in ctx, as the row's outcome. */
static void s_invalid_from_ctx(hy_ctx_t *ctx, s_row_t *r)
{
    json_t *e = ctx->error;
    registry_import_invalid(r->row,
                            e ? json_string_value(json_object_get(e, "code")) : "internal_error",
                            e ? json_string_value(json_object_get(e, "field")) : NULL,
                            e ? json_string_value(json_object_get(e, "detail")) : NULL);
}

static bool s_has_agency(const json_t *person, const char *agency)
{
    char *want = hy_fa_key(agency);
    bool found = false;
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(person, "referrals"), i, ref) {
        const char *src = json_string_value(json_object_get(ref, "source"));
        char *have = hy_fa_key(json_string_value(json_object_get(ref, "agency")));
        found = found || (src && strcmp(src, "agency") == 0 && have && want &&
                          strcmp(have, want) == 0);
        free(have);
    }
    free(want);
    return found;
}

/* A known person: the referral and the empty fields. Runs in the row's nested transaction. */
static int s_known(hy_ctx_t *ctx, s_row_t *r)
{
    json_t *person = NULL, *out = NULL, *fill = json_object();
    int rc = hy_store_get_id(ctx->txn, registry_state(ctx)->persons, r->existing, &person);
    int status = hy_mdb_status(ctx, rc);
    const char *into = json_string_value(json_object_get(person, "merged_into"));
    if (status == 0 && into) {   /* a retired record: the one that holds her now */
        json_decref(person);
        person = NULL;
        rc = registry_person_load(ctx, into, NULL, &person);
        status = hy_mdb_status(ctx, rc);
    }
    if (status)
        goto done;
    const char *id = json_string_value(json_object_get(person, "id"));
    const char *agency = json_string_value(json_object_get(r->imp, "agency_name"));
    bool referred = s_has_agency(person, agency);
    for (size_t i = 0; i < sizeof s_fillable / sizeof s_fillable[0]; i++) {
        json_t *v = json_object_get(r->args, s_fillable[i]);
        if (v && !json_object_get(person, s_fillable[i]))
            json_object_set(fill, s_fillable[i], v);
    }
    json_object_set_new(r->row, "person_id", json_string(id));
    if (!referred) {
        status = registry_person_add_referral(
            ctx, id, "agency", agency, json_string_value(json_object_get(r->imp, "date")), &out);
        json_decref(out);
        out = NULL;
        if (status != 0)
            goto done;
    }
    if (json_object_size(fill)) {
        status = registry_person_update(ctx, id, fill, &out);
        json_decref(out);
        if (status != 0)
            goto done;
        json_t *names = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(fill, k, v) json_array_append_new(names, json_string(k));
        json_object_set_new(r->row, "filled", names);
    }
    json_object_set_new(r->row, "outcome",
                        json_string(!referred            ? "referral_added"
                                    : json_object_size(fill) ? "updated"
                                                            : "unchanged"));
    status = 0;
done:
    json_decref(person);
    json_decref(fill);
    return status;
}

static int s_new(hy_ctx_t *ctx, s_row_t *r)
{
    json_t *out = NULL;
    json_object_set(r->args, "import_id", json_object_get(r->imp, "id"));
    int status = registry_person_create_drafted(ctx, r->args, r->draft, &out);
    if (status != 0)
        return status;
    json_object_set(r->row, "person_id", json_object_get(out, "id"));
    json_t *dups = json_object_get(out, "possible_duplicates");
    if (dups)
        json_object_set(r->row, "possible_duplicates", dups);
    json_object_set_new(r->row, "outcome", json_string(dups ? "possible_duplicate" : "created"));
    json_decref(out);
    return 0;
}

/* Rows are applied BATCH at a time in one nested transaction; a batch in which a row is refused
 * is rolled back and its rows applied again one by one (each in its own nested transaction),
 * so a refused row still leaves nothing and the others end as they would alone. A nested
 * transaction copies each page it touches that its parent has dirtied (the ends of the
 * records, events, audit and outcome trees, every row) and merges them back: 32 rows a batch
 * cost the writer ~1 µs a row less than 8 (bench/import_writer.c, three runs in turn), and a
 * refused row (rare: the prep thread refuses most before the writer) ~0.5 ms more. */
#define BATCH 32

/* What a row's outcome holds, cleared before a batch's rows are applied again one by one. */
static const char *const s_outcome_keys[] = {"outcome", "person_id", "possible_duplicates",
                                             "filled",  "code",      "field", "detail"};

/* One row inside a nested transaction: who holds the national ID, then her row's writes. */
static int s_apply_in(hy_ctx_t *ctx, s_row_t *r, const char *nid)
{
    char key[16];
    size_t klen = registry_key_text('i', nid, key, sizeof key);
    int rc = registry_nid_owner(ctx, key, klen, &r->existing);
    if (rc == MDB_NOTFOUND)
        r->existing = 0;
    else if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    return r->existing ? s_known(ctx, r) : s_new(ctx, r);
}

typedef struct {
    s_row_t rows[BATCH];
    registry_prow_t *prep;   /* the rows as prepared (import_prep.c): ready, nid, stored text */
    size_t n;
} s_batch_t;

static int s_batch_nested(hy_ctx_t *ctx, void *user)
{
    s_batch_t *b = user;
    for (size_t i = 0; i < b->n; i++) {
        if (!b->prep[i].ready)
            continue;
        int status = s_apply_in(ctx, &b->rows[i], b->prep[i].nid);
        if (status != 0 || ctx->error)
            return status ? status : 500;
    }
    return 0;
}

typedef struct {
    s_row_t *r;
    const char *nid;
} s_one_t;

static int s_one_nested(hy_ctx_t *ctx, void *user)
{
    s_one_t *one = user;
    return s_apply_in(ctx, one->r, one->nid);
}

/* Works out the outcome of a batch's rows and writes what they change: the batch in one nested
 * transaction, or, when a row in it is refused, row by row. 0, or an LMDB failure status. */
static int s_apply_batch(hy_ctx_t *ctx, const json_t *imp, s_batch_t *b)
{
    size_t todo = 0;
    for (size_t i = 0; i < b->n; i++) {
        b->rows[i] = (s_row_t){imp, b->prep[i].row, b->prep[i].args, 0, &b->prep[i].draft};
        todo += b->prep[i].ready;
    }
    if (todo == 0)
        return 0;
    int status = hy_ctx_nested(ctx, s_batch_nested, b);
    if (status == 0)
        return 0;
    if (ctx->mdb_rc)   /* storage trouble: the whole step is rolled back and tried again */
        return status;
    hy_ctx_clear_error(ctx);
    for (size_t i = 0; i < b->n; i++) {
        if (!b->prep[i].ready)
            continue;
        s_row_t *r = &b->rows[i];
        for (size_t k = 0; k < sizeof s_outcome_keys / sizeof s_outcome_keys[0]; k++)
            json_object_del(r->row, s_outcome_keys[k]);
        json_object_del(r->args, "import_id");
        s_one_t one = {r, b->prep[i].nid};
        if ((status = hy_ctx_nested(ctx, s_one_nested, &one)) != 0) {
            if (ctx->mdb_rc)
                return status;
            s_invalid_from_ctx(ctx, r);
            hy_ctx_clear_error(ctx);
        }
    }
    return 0;
}

/* Writes a row back with its outcome: the stored text (line, input, row number: never "{}")
 * with the outcome's members appended, written straight into the page (MDB_RESERVE), so the
 * input is not serialised again. tail: a buffer reused from row to row. 0 or an LMDB error. */
static int s_put_outcome(hy_ctx_t *ctx, const uint8_t key[16], const json_t *row,
                         const char *text, size_t len, registry_buf_t *tail)
{
    int rc = 0;
    tail->len = 0;
    for (size_t k = 0; rc == 0 && k < sizeof s_outcome_keys / sizeof s_outcome_keys[0]; k++) {
        json_t *v = json_object_get(row, s_outcome_keys[k]);
        if (v)
            rc = registry_buf_add(tail, ",\"", 2) |
                 registry_buf_add(tail, s_outcome_keys[k], strlen(s_outcome_keys[k])) |
                 registry_buf_add(tail, "\":", 2) | registry_json_add(tail, v);
    }
    while (len > 0 && text[len - 1] != '}')   /* the stored object's closing brace */
        len--;
    if (rc != 0 || len < 3)
        return ENOMEM;
    size_t at = len - 1;   /* the stored text without its '}' */
    MDB_val k = {16, (void *)key}, v = {at + tail->len + 1, NULL};
    if ((rc = mdb_put(ctx->txn, registry_state(ctx)->import_rows, &k, &v, MDB_RESERVE)) != 0)
        return rc;
    char *out = v.mv_data;
    memcpy(out, text, at);
    memcpy(out + at, tail->p ? tail->p : "", tail->len);
    at += tail->len;
    out[at] = '}';
    return 0;
}

/* The oldest active import with a row to apply, or whose rows are all applied and which has
 * all its parts (to be marked done): 0 with *n and *imp (new), MDB_NOTFOUND when none (an
 * import still receiving whose rows so far are all applied waits for its next part), or an
 * LMDB error. */
static int s_pick(hy_ctx_t *ctx, uint64_t *n, json_t **imp)
{
    registry_t *st = registry_state(ctx);
    MDB_cursor *cur = NULL;
    MDB_val k = {2, "a:"}, v;
    int rc = mdb_cursor_open(ctx->txn, st->import_idx, &cur);
    for (int op = MDB_SET; rc == 0; op = MDB_NEXT_DUP) {
        if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0)
            break;
        *n = hy_key_u64_get(v.mv_data);
        if ((rc = hy_store_get_id(ctx->txn, st->imports, *n, imp)) != 0)
            break;
        const char *state = json_string_value(json_object_get(*imp, "state"));
        if (!state || strcmp(state, "receiving") != 0 ||
            json_integer_value(json_object_get(*imp, "done")) <
                json_integer_value(json_object_get(*imp, "total")))
            break;
        json_decref(*imp);
        *imp = NULL;
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

static void s_count(json_t *imp, const char *outcome)
{
    json_t *counts = json_object_get(imp, "counts");
    json_object_set_new(counts, outcome,
                        json_integer(json_integer_value(json_object_get(counts, outcome)) + 1));
}

int registry_import_step(hy_ctx_t *ctx)
{
    registry_t *st = registry_state(ctx);
    uint64_t n;
    json_t *imp = NULL;
    int rc = s_pick(ctx, &n, &imp);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return hy_fail_mdb(ctx, rc);
    json_t *actor = json_object_get(imp, "actor");
    hy_request_t req = {
        .op = "imports.apply",
        .id = json_string_value(json_object_get(imp, "id")),
        .actor = {json_string_value(json_object_get(actor, "key_id")),
                  json_string_value(json_object_get(actor, "role")),
                  json_string_value(json_object_get(actor, "office"))},
    };
    ctx->req = &req;
    bool receiving = strcmp(json_string_value(json_object_get(imp, "state")), "receiving") == 0;
    if (strcmp(json_string_value(json_object_get(imp, "state")), "queued") == 0)
        json_object_set_new(imp, "state", json_string("running"));
    if (!json_object_get(imp, "started_at"))
        json_object_set_new(imp, "started_at", json_string(ctx->now_iso));
    int64_t start = hy_now_us();
    /* riding in a batch of requests, rows delay their answers: a shorter turn */
    int64_t busy_end = start + (ctx->in_batch ? s_env("HY_IMPORT_RIDE_MS", DEFAULT_RIDE_MS)
                                              : s_env("HY_IMPORT_STEP_MS", DEFAULT_STEP_MS)) *
                                   1000;
    int64_t idle_end = start + s_env("HY_IMPORT_IDLE_MS", DEFAULT_IDLE_MS) * 1000;
    long max_rows = s_env("HY_IMPORT_STEP_ROWS", DEFAULT_STEP_ROWS);
    json_int_t total = json_integer_value(json_object_get(imp, "total"));
    json_int_t done = json_integer_value(json_object_get(imp, "done"));
    const char *office = json_string_value(json_object_get(imp, "office"));
    json_t *memo = NULL;   /* the import's office, read once for the step's rows */
    if (office && strlen(office) < sizeof st->office_memo_code &&
        registry_office_find(ctx, office, &memo) == 0) {
        snprintf(st->office_memo_code, sizeof st->office_memo_code, "%s", office);
        st->office_memo = memo;
    }
    s_batch_t batch;
    registry_buf_t tail = {0};   /* each row's outcome members, as text */
    char okey[64];
    memcpy(okey, "o:", 2);
    hy_key_u64(n, (uint8_t *)okey + 2);
    int status = 0;
    for (long i = 0; i < max_rows && done < total && status == 0;) {
        if (i > 0) {   /* the clock and the socket between batches */
            int64_t now = hy_now_us();
            if (now >= idle_end || (now >= busy_end && hy_requests_waiting(ctx)))
                break;
        }
        /* the batch's rows, read and checked ahead (import_prep.c) */
        uint8_t key[16];
        hy_key_u64(n, key);
        size_t want = max_rows - i < BATCH ? (size_t)(max_rows - i) : BATCH;
        memset(&batch, 0, sizeof batch);
        rc = registry_prep_take(ctx, n, imp, (uint64_t)done + 1, (uint64_t)total, want,
                                &batch.prep, &batch.n);
        status = rc ? hy_fail_mdb(ctx, rc) : s_apply_batch(ctx, imp, &batch);
        for (size_t j = 0; j < batch.n && status == 0; j++) {
            json_t *row = batch.prep[j].row;
            const char *outcome = json_string_value(json_object_get(row, "outcome"));
            size_t oklen = 10 + (size_t)snprintf(okey + 10, sizeof okey - 10, "%s", outcome);
            hy_key_u64((uint64_t)done + 1, key + 8);
            if ((rc = s_put_outcome(ctx, key, row, batch.prep[j].text, batch.prep[j].len,
                                    &tail)) != 0 ||
                (rc = hy_index_put(ctx->txn, st->import_idx, okey, oklen, (uint64_t)done + 1)) !=
                    0) {
                status = hy_fail_mdb(ctx, rc);
                break;
            }
            s_count(imp, outcome);
            done++;
        }
        if (status == 0)
            registry_prep_done(st->prep, batch.n);
        i += (long)batch.n;
    }
    if (status != 0)   /* rolled back: rows prepared may hold half an outcome */
        registry_prep_reset(st->prep);
    free(tail.p);
    st->office_memo = NULL;
    json_decref(memo);
    hy_log_debug("import", "%s: rows to %lld in %lld us", req.id, (long long)done,
                 (long long)(hy_now_us() - start));
    if (status == 0) {
        json_object_set_new(imp, "done", json_integer(done));
        if (done >= total && !receiving) {
            json_object_set_new(imp, "state", json_string("done"));
            json_object_set_new(imp, "finished_at", json_string(ctx->now_iso));
            rc = hy_index_del(ctx->txn, st->import_idx, "a:", 2, n);
        }
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = hy_store_put_id(ctx->txn, st->imports, n, imp);
        if (rc)
            status = hy_fail_mdb(ctx, rc);
        else if (done >= total && !receiving)
            hy_log_info("import", "%s done: %lld rows", req.id, (long long)total);
    }
    ctx->req = NULL;
    json_decref(imp);
    return status ? status : 1;
}
