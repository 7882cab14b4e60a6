/*
 * targets.c — an office's targets for a half, set by staff (PUT /v1/offices/{code}/targets
 * {year, half, targets: {indicator: value}}) and shown on the printed page beside each figure.
 *
 * The registry owns them (offices are its records): this replica checks the request (known
 * indicators, whole numbers, the caller's office) and asks the registry to record it
 * (offices.targets_set, ledger.c); every replica then applies registry.office.targets_set into
 * its targets database, under "<normalised office>|<half id>". A PUT replaces the half's
 * targets as a whole (an indicator left out has no target); values are in the indicator's unit
 * (counts, rials, basis points). A key of that office or a provincial key ("*") may set them.
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
    if (!office || hy_store_get_json(ctx->txn, st->targets, key, s_key(office, half_id, key, sizeof key), &out) != 0)
        return NULL;
    return out;
}

int rp_targets_apply(hy_ctx_t *ctx, json_t *data)
{
    const char *office = hy_json_str(data, "office");
    int year = (int)hy_json_int(data, "year", 0), half = (int)hy_json_int(data, "half", 0);
    json_t *targets = json_object_get(data, "targets");
    if (!office || year <= 0 || half < 1 || half > 2 || !json_is_object(targets))
        return 0;   /* not one we can place: nothing to keep */
    char key[256];
    return hy_store_put_json(ctx->txn, reporting_state(ctx)->targets, key,
                         s_key(office, year * 2 + half - 1, key, sizeof key), targets);
}

/* Checks the request, then has the registry record it (ledger.c): every replica applies it. */
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
    if (!json_is_object(targets))
        return hy_fail(ctx, 422, "invalid_target", "targets", "targets is {indicator: whole number >= 0}");
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
    json_t *ask = json_pack("{s:s,s:i,s:i,s:O}", "code", office, "year", year, "half", half, "targets", targets);
    if (!ask)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    return rp_ledger_ask(ctx, "offices.targets_set", ask, out);
}
