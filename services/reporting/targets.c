/*
 * targets.c — an office's targets for a half, set by staff (PUT /v1/offices/{code}/targets
 * {year, half, targets: {indicator: value}}) and shown on the printed page beside each figure.
 *
 * Targets are not derived from events: they are kept in their own database, which --rebuild
 * does not touch, under "<normalised office>|<half id>". A PUT replaces the half's targets as a
 * whole (an indicator left out has no target); values are in the indicator's unit (counts,
 * rials, basis points). A key of that office or a provincial key ("*") may set them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

static size_t s_key(const char *office, int half_id, char *buf, size_t n)
{
    char *norm = hy_fa_normalize(office);
    int w = snprintf(buf, n, "%s|%d", norm ? norm : "", half_id);
    free(norm);
    return w < 0 ? 0 : (size_t)w < n ? (size_t)w : n - 1;
}

json_t *rp_targets_get(hy_ctx_t *ctx, const char *office, int half_id)
{
    char key[256];
    json_t *out;
    reporting_t *st = reporting_state(ctx);
    if (!office || rp_ledger_get(st, key, s_key(office, half_id, key, sizeof key), st->targets, &out) != 0)
        return NULL;
    return out;
}

int reporting_targets_put(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    const char *office = hy_json_str(args, "code");
    const char *mine = ctx->req ? ctx->req->actor.office : NULL;
    char *a = mine ? hy_fa_normalize(mine) : NULL, *b = office ? hy_fa_normalize(office) : NULL;
    bool may = (mine && strcmp(mine, "*") == 0) || (a && b && *a && strcmp(a, b) == 0);
    free(a);
    free(b);
    if (!may)
        return hy_fail(ctx, 403, "wrong_office", "code",
                       "only a key of office %.64s or a provincial key may set its targets", office);
    int year, half = (int)hy_json_int(args, "half", 0);
    if (rp_parse_year(json_object_get(args, "year"), &year) != 0)
        return hy_fail(ctx, 422, "invalid_year", "year", "year must be a Solar Hijri year 1300..1499");
    json_t *targets = json_object_get(args, "targets");
    const char *name;
    json_t *v;
    json_object_foreach(targets, name, v) {
        bool known = false;
        for (size_t i = 0; i < rp_nindicators && !known; i++)
            known = strcmp(rp_indicators[i].name, name) == 0;
        if (!known)
            return hy_fail(ctx, 422, "unknown_indicator", "targets", "no indicator %.64s", name);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return hy_fail(ctx, 422, "invalid_target", "targets",
                           "the target of %.64s must be a whole number >= 0", name);
    }
    char key[256], *text = json_dumps(targets, JSON_SORT_KEYS | JSON_COMPACT);
    if (!text)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    MDB_val k = {s_key(office, year * 2 + half - 1, key, sizeof key), key}, val = {strlen(text), text};
    MDB_txn *ltx;   /* in the ledger every replica shares (ledger.c) */
    reporting_t *st = reporting_state(ctx);
    int rc = rp_ledger_begin(st, true, &ltx);
    if (rc == 0 && (rc = mdb_put(ltx, st->targets, &k, &val, 0)) == 0)
        rc = mdb_txn_commit(ltx);
    else if (rc == 0 || ltx)
        mdb_txn_abort(ltx);
    free(text);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    *out = json_pack("{s:s,s:i,s:i,s:O}", "office", office, "year", year, "half", half, "targets", targets);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}
