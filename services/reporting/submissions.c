/*
 * submissions.c — submitted half-year reports: frozen, signed, never recomputed.
 *
 * POST /v1/reports/half-year/submissions {year, half, office} freezes the report of that office
 * as it is now: every figure, the as_of of every source, and for each figure the ids of the
 * records behind it (figures.c). The document is serialised as CANONICAL JSON (keys sorted,
 * compact, UTF-8 as is: json_dumps with JSON_SORT_KEYS | JSON_COMPACT), its SHA-256 taken over
 * those bytes (libsodium), and the document with its digest stored, canonical too, in the subs
 * database of the replica's LEDGER (ledger.c), under a sequential id "sub_N" (one
 * counter per replica). It is not derived from events, so --rebuild keeps it.
 *
 *   GET .../submissions/{id}                  the stored document, as stored
 *   GET .../submissions/{id}/figures/{name}   one figure: its value and the records behind it
 *   GET .../submissions/{id}/diff             each figure that differs from the report as it
 *                                             would be computed now, with the records added and
 *                                             removed
 * Anyone can check a document: remove "digest", serialise canonically, SHA-256, compare.
 *
 * WHO. A key acting for the office submitted, or a provincial key (office "*"), for all four.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

#define CANON (JSON_SORT_KEYS | JSON_COMPACT)

/* Whether the caller acts for office (normalised match) or for the whole province. */
static bool s_may(hy_ctx_t *ctx, const char *office)
{
    const char *mine = ctx->req ? ctx->req->actor.office : NULL;
    if (mine && strcmp(mine, "*") == 0)
        return true;
    char *a = mine && *mine ? hy_fa_normalize(mine) : NULL, *b = office ? hy_fa_normalize(office) : NULL;
    bool same = a && b && strcmp(a, b) == 0;
    free(a);
    free(b);
    return same;
}

/* Hex SHA-256 of text. */
static void s_digest(const char *text, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* {"figure": [ids], ...} of every indicator. */
static json_t *s_records(hy_ctx_t *ctx, const rp_scope_t *sc)
{
    json_t *out = json_object();
    for (size_t i = 0; out && i < rp_nindicators; i++) {
        json_t *ids = rp_figure_ids(ctx->txn, reporting_state(ctx), sc->kind, sc->id, i, &sc->p);
        if (!ids || json_object_set_new(out, rp_indicators[i].name, ids) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int reporting_submit(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    reporting_t *st = reporting_state(ctx);
    rp_scope_t sc;
    const char *office = hy_json_str(args, "office");
    if (!s_may(ctx, office))
        return hy_fail(ctx, 403, "wrong_office", "office",
                       "only a key of office %.64s or a provincial key may submit its report",
                       office ? office : "");
    json_t *report = NULL;
    int status = rp_half_year_scope(ctx, args, &sc);
    if (status == 0)
        status = rp_half_year_json(ctx, args, &report);
    if (status)
        return status;
    /* the id and the document go to the replica's ledger (ledger.c) */
    uint64_t n;
    MDB_txn *ltx = NULL;
    int rc = rp_ledger_begin(st, true, &ltx);
    if (rc == 0)
        rc = hy_store_next(ltx, st->lmeta, "subs", &n);
    if (rc) {
        if (ltx)
            mdb_txn_abort(ltx);
        json_decref(report);
        return hy_fail_mdb(ctx, rc);
    }
    char id[32];
    snprintf(id, sizeof id, "sub_%llu", (unsigned long long)n);
    json_t *doc = json_pack("{s:s,s:o,s:o,s:o,s:s,s:{s:s,s:s}}", "id", id, "report", report,
                            "as_of", rp_as_of(ctx), "records", s_records(ctx, &sc), "submitted_at",
                            ctx->now_iso, "submitted_by", "key_id",
                            ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "",
                            "office", ctx->req && ctx->req->actor.office ? ctx->req->actor.office : "");
    char *canon = doc ? json_dumps(doc, CANON) : NULL;
    char hex[65];
    if (canon) {
        s_digest(canon, hex);
        free(canon);
        canon = json_object_set_new(doc, "digest", json_pack("{s:s,s:s}", "alg", "SHA-256", "value", hex)) == 0
                    ? json_dumps(doc, CANON)
                    : NULL;
    }
    json_decref(doc);
    if (!canon) {
        mdb_txn_abort(ltx);
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v = {strlen(canon), canon};
    rc = mdb_put(ltx, st->subs, &k, &v, MDB_NOOVERWRITE);
    if (rc == 0)
        rc = mdb_txn_commit(ltx);
    else
        mdb_txn_abort(ltx);
    *out = rc ? NULL : json_loads(canon, 0, NULL);
    free(canon);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* Loads a submission the caller may see (404 otherwise). 0 or the failure's status. */
static int s_load(hy_ctx_t *ctx, json_t *args, json_t **doc)
{
    uint64_t n;
    const char *id = hy_json_str(args, "id");
    *doc = NULL;
    if (!id || strncmp(id, "sub_", 4) != 0 || rp_id_num(id, &n) != 0)
        return hy_fail(ctx, 404, "not_found", "id", "no submission %.64s", id ? id : "");
    uint8_t key[8];
    hy_key_u64(n, key);
    reporting_t *st = reporting_state(ctx);
    int rc = rp_ledger_get(st, key, 8, st->subs, doc);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no submission %.64s", id);
    if (rc == MDB_CORRUPTED)
        return hy_fail(ctx, 500, "internal_error", NULL, "submission %s cannot be read", id);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (!s_may(ctx, hy_json_str(json_object_get(*doc, "report"), "office"))) {
        json_decref(*doc);
        *doc = NULL;
        return hy_fail(ctx, 404, "not_found", "id", "no submission %.64s", id);
    }
    return 0;
}

int reporting_submission(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    int status = s_load(ctx, args, out);
    return status ? status : 0;
}

int reporting_submission_figure(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *doc;
    const char *name = hy_json_str(args, "name");
    int status = s_load(ctx, args, &doc);
    if (status)
        return status;
    json_t *value = json_object_get(json_object_get(json_object_get(doc, "report"), "indicators"), name);
    json_t *ids = json_object_get(json_object_get(doc, "records"), name);
    if (!value || !ids) {
        json_decref(doc);
        return hy_fail(ctx, 404, "unknown_figure", "name", "no figure %.64s", name ? name : "");
    }
    *out = json_pack("{s:O,s:s,s:O,s:I,s:O}", "submission_id", json_object_get(doc, "id"), "name", name,
                     "value", value, "count", (json_int_t)json_array_size(ids), "ids", ids);
    json_decref(doc);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* The strings of a that are not in b. */
static json_t *s_minus(const json_t *a, const json_t *b)
{
    json_t *out = json_array(), *x, *y;
    size_t i, j;
    json_array_foreach(a, i, x) {
        bool found = false;
        json_array_foreach(b, j, y) if (json_equal(x, y)) {
            found = true;
            break;
        }
        if (!found && out)
            json_array_append(out, x);
    }
    return out;
}

int reporting_submission_diff(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *doc, *now = NULL, *records = NULL;
    int status = s_load(ctx, args, &doc);
    if (status)
        return status;
    json_t *was = json_object_get(doc, "report");
    json_t *q = json_pack("{s:O,s:O,s:O}", "year", json_object_get(was, "year"), "half",
                          json_object_get(was, "half"), "office", json_object_get(was, "office"));
    rp_scope_t sc;
    status = q ? rp_half_year_scope(ctx, q, &sc) : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    if (status == 0)
        status = rp_half_year_json(ctx, q, &now);
    if (status == 0 && !(records = s_records(ctx, &sc)))
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    json_t *changed = status ? NULL : json_object();
    for (size_t i = 0; changed && i < rp_nindicators; i++) {
        const char *name = rp_indicators[i].name;
        json_t *a = json_object_get(json_object_get(was, "indicators"), name);
        json_t *b = json_object_get(json_object_get(now, "indicators"), name);
        json_t *ra = json_object_get(json_object_get(doc, "records"), name), *rb = json_object_get(records, name);
        if (json_equal(a, b) && json_equal(ra, rb))
            continue;
        json_object_set_new(changed, name, json_pack("{s:O,s:O,s:o,s:o}", "submitted", a, "now", b, "added",
                                                     s_minus(rb, ra), "removed", s_minus(ra, rb)));
    }
    if (changed) {
        json_t *as_of = rp_as_of(ctx);
        *out = json_pack("{s:O,s:O,s:o,s:O,s:I,s:o}", "submission_id", json_object_get(doc, "id"),
                         "submitted_as_of", json_object_get(doc, "as_of"), "now_as_of",
                         as_of ? as_of : json_null(), "now_cut", json_object_get(now, "cut"),
                         "changed_count", (json_int_t)json_object_size(changed), "changed", changed);
        status = *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    json_decref(q);
    json_decref(now);
    json_decref(records);
    json_decref(doc);
    return status;
}
