/*
 * submissions.c — submitted half-year reports: frozen, signed, never recomputed.
 *
 * POST /v1/reports/half-year/submissions {year, half, office} freezes the report of that office
 * as it is now: every figure, the as_of of every source, and for each figure the ids of the
 * records behind it (figures.c). This replica computes that document; the registry records it
 * (reports.record, ledger.c): it gives the id "sub_N" from its own sequence, adds submitted_at
 * and submitted_by, signs it (SHA-256, libsodium, over the CANONICAL JSON: json_dumps with
 * JSON_SORT_KEYS | JSON_COMPACT, UTF-8 as is, of the document without digest) and publishes it
 * as registry.report.submitted. Every replica stores that event's data, canonical, in its subs
 * database (rp_owned_apply): every replica answers the same bytes. A document too large for one
 * message (half the ZeroMQ ceiling, zlimit.h) is refused (413 submission_too_large).
 *
 *   GET .../submissions/{id}                  the stored document, as stored (runs on the
 *                                             reactor so that it can park: a replica asked for
 *                                             one it has not received yet waits for the registry)
 *   GET .../submissions/{id}/figures/{name}   one figure: its value and the records behind it
 *   GET .../submissions/{id}/diff             each figure that differs from the report as it
 *                                             would be computed now, with the records added and
 *                                             removed
 * Anyone can check a document: remove "digest", serialise canonically, SHA-256, compare.
 *
 * WHO. A key acting for the office submitted, or a provincial key (office "*"), for all four.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"
#include "zlimit.h"

#define CANON (JSON_SORT_KEYS | JSON_COMPACT)
#define SUB_MARGIN 65536   /* the envelope around the document: id, stamps, digest, event */

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

/* Computes the document and has the registry number, sign and record it (ledger.c). A reader
 * thread runs it: no write transaction waits for the registry. */
int reporting_submit(hy_ctx_t *ctx, json_t *args, json_t **out)
{
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
    json_t *doc = json_pack("{s:o,s:o,s:o}", "report", report, "as_of", rp_as_of(ctx), "records",
                            s_records(ctx, &sc));
    char *text = doc ? json_dumps(doc, CANON) : NULL;
    size_t len = text ? strlen(text) : 0;
    free(text);
    if (!len) {
        json_decref(doc);
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    /* It travels to the registry and back in one message each way, and in one event: an event
     * larger than half a message goes alone in its page of events.since (outbox.c), so the
     * whole message less the envelope is what a document may take. */
    if ((int64_t)len > hy_zmq_max_msg() - SUB_MARGIN) {
        json_decref(doc);
        return hy_fail(ctx, 413, "submission_too_large", "office",
                       "the report with the records behind its figures is %zu bytes, more than a "
                       "message may carry (%lld); submit one office's report", len,
                       (long long)(hy_zmq_max_msg() - SUB_MARGIN));
    }
    json_t *ask = json_pack("{s:o}", "document", doc);
    return ask ? rp_ledger_ask(ctx, "reports.record", ask, out)
               : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

int rp_owned_apply(hy_ctx_t *ctx, const char *source, const char *type, json_t *data, bool *owned)
{
    *owned = strcmp(source, "registry") == 0 && (strcmp(type, "registry.report.submitted") == 0 ||
                                                 strcmp(type, "registry.office.targets_set") == 0);
    if (!*owned)
        return 0;
    if (strcmp(type, "registry.office.targets_set") == 0)
        return rp_targets_apply(ctx, data);
    uint64_t n;
    const char *id = hy_json_str(data, "id");
    if (!id || strncmp(id, "sub_", 4) != 0 || rp_id_num(id, &n) != 0)
        return 0;   /* not one we can key: nothing to keep */
    uint8_t key[8];
    hy_key_u64(n, key);
    return hy_store_put_json(ctx->txn, reporting_state(ctx)->subs, key, sizeof key, data);
}

/* The number of the last submission this replica has received (0: none). */
static uint64_t s_last(hy_ctx_t *ctx)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t n = 0;
    if (mdb_cursor_open(ctx->txn, reporting_state(ctx)->subs, &cur) != 0)
        return 0;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        n = hy_key_u64_get(k.mv_data);
    mdb_cursor_close(cur);
    return n;
}

/* Loads a submission the caller may see (404 otherwise). One this replica has not received
 * yet (a number past the last it has) parks the request until it has caught up with the
 * registry; a read, which cannot park, answers 503 not_yet_received. 0, HY_PARKED or -1. */
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
    int rc = hy_store_get_json(ctx->txn, st->subs, key, 8, doc);
    if (rc == MDB_NOTFOUND && n > s_last(ctx)) {
        int parked = hy_park(ctx, "registry");
        if (parked)
            return parked;
        if (ctx->read)
            return hy_fail(ctx, 503, "not_yet_received", "id",
                           "this reporting replica has not received %.64s from the registry yet "
                           "(if it exists); ask again in a moment", id);
    }
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
