/*
 * funds.c — forming a fund, reading and listing funds, and starting the next cycle.
 *
 * A fund is formed by a facilitator (a registered person) for a neighbourhood, with its first
 * cycle and the rules that hold for it. Rules never change inside a cycle: the next cycle may
 * change some of them, and only after the share-out has closed the current one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "microfund.h"
#include "scope.h"
#include "page.h"

#define MAX_CYCLE_DAYS 731 /* two years: funds run 9-12 months, leave room for a long one */
#define KEY_MAX 480

static const char *const s_ledger_keys[] = {
    "savings_rials", "charges_rials", "fines_rials", "social_fund_in_rials",
    "social_fund_added_rials", "grants_rials", "disbursed_rials", "principal_repaid_rials",
    "principal_settled_rials", "shareouts_rials", NULL,
};

/* The totals a cycle keeps of its own (microfund_book adds to them as it books the ledger). */
static const char *const s_cycle_keys[] = {
    "savings_rials", "shares", "charges_rials", "fines_rials", "social_fund_in_rials",
    "grants_rials", "disbursed_rials", "principal_repaid_rials", "meetings", "loans", NULL,
};

/* Sets every key of keys to 0 in obj (a new ledger or cycle starts from nothing). */
static json_t *s_zeros(const char *const *keys, json_t *obj)
{
    for (; obj && *keys; keys++)
        json_object_set_new(obj, *keys, json_integer(0));
    return obj;
}

/* Index key "<tag>:<normalised text>"; 0 when the text is empty or too long for a key. */
static size_t s_key(char tag, const char *text, char *out, size_t outsz)
{
    char *norm = text ? hy_fa_normalize(text) : NULL;
    int w = norm && *norm ? snprintf(out, outsz, "%c:%s", tag, norm) : 0;
    free(norm);
    return w > 0 && (size_t)w < outsz && w <= KEY_MAX ? (size_t)w : 0;
}

/* A cycle runs forward, for at most two years; 422 invalid_cycle otherwise. */
static int s_check_cycle(hy_ctx_t *ctx, const char *start, const char *end, const char *field)
{
    int64_t a = microfund_day(start), b = microfund_day(end);
    if (b <= a)
        return hy_fail(ctx, 422, "invalid_cycle", field, "the cycle must end after it starts");
    if (b - a > MAX_CYCLE_DAYS)
        return hy_fail(ctx, 422, "invalid_cycle", field,
                       "a cycle lasts at most %d days (funds share out every 9-12 months)",
                       MAX_CYCLE_DAYS);
    return 0;
}

/* A cycle as the fund record keeps it: its dates, "open", and its own totals at 0. */
static json_t *s_new_cycle(int64_t number, const char *start, const char *end)
{
    json_t *cycle = json_pack("{s:I, s:s, s:s, s:s}", "number", (json_int_t)number, "start",
                              start, "end", end, "status", "open");
    return s_zeros(s_cycle_keys, cycle);
}

int microfund_fund_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    microfund_t *st = microfund_state(ctx);
    json_t *cycle_args = json_object_get(args, "cycle");
    const char *start = json_string_value(json_object_get(cycle_args, "start"));
    const char *end = json_string_value(json_object_get(cycle_args, "end"));
    const char *office = json_string_value(json_object_get(args, "office"));
    /* the office comes from the key: a key of one office forms only that office's funds */
    int status = office && *office ? hy_scope_write(ctx, "office", office) : 0;
    if (status)
        return status;
    if (hy_scope_office(ctx))
        office = hy_scope_office(ctx);
    if (!office || !*office)
        office = ctx->req && ctx->req->actor.office && *ctx->req->actor.office &&
                         strcmp(ctx->req->actor.office, "*") != 0
                     ? ctx->req->actor.office
                     : NULL;
    if (!office)
        return hy_fail(ctx, 422, "missing_office", "office",
                       "no office given and the caller acts for none");
    const char *nbh = json_string_value(json_object_get(args, "neighbourhood"));
    char okey[KEY_MAX + 16], hkey[KEY_MAX + 16];
    size_t oklen = s_key('o', office, okey, sizeof okey), hklen = s_key('h', nbh, hkey, sizeof hkey);
    if (!hklen)
        return hy_fail(ctx, 422, "invalid_neighbourhood", "neighbourhood",
                       "the neighbourhood must contain letters");
    status = s_check_cycle(ctx, start, end, "cycle.end");
    if (!status)
        status = microfund_person_require(
            ctx, json_string_value(json_object_get(args, "facilitator_person_id")),
            "facilitator_person_id");
    if (status)
        return status;

    uint64_t n;
    char id[32];
    int rc = hy_store_next(ctx->txn, st->meta, "fund", &n);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    hy_id_format("fund", n, id, sizeof id);
    json_t *rules = json_deep_copy(json_object_get(args, "rules"));
    if (rules && !json_object_get(rules, "guarantor_exposure_multiple"))
        json_object_set_new(rules, "guarantor_exposure_multiple", json_integer(1));
    mf_fund_t fund = {n, NULL, NULL};
    fund.rec = json_pack("{s:s, s:O, s:s, s:O, s:O, s:s, s:o, s:o, s:o, s:o, s:[], s:i, s:i, "
                         "s:[]}",
                         "id", id, "name", json_object_get(args, "name"), "office", office,
                         "neighbourhood", json_object_get(args, "neighbourhood"),
                         "facilitator_person_id", json_object_get(args, "facilitator_person_id"),
                         "date", microfund_date_arg(ctx, args, "date"), "rules", rules, "cycle",
                         s_new_cycle(1, start, end), "members", json_array(), "ledger",
                         s_zeros(s_ledger_keys, json_object()), "history", "meetings_held", 0,
                         "trainings_held", 0, "trained_person_ids");
    if (!fund.rec)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    fund.id = json_string_value(json_object_get(fund.rec, "id"));
    microfund_stamp(ctx, fund.rec);
    if ((rc = hy_store_put_id(ctx->txn, st->funds, n, fund.rec)) != 0 ||
        (oklen && (rc = hy_index_put(ctx->txn, st->fund_idx, okey, oklen, n)) != 0) ||
        (rc = hy_index_put(ctx->txn, st->fund_idx, hkey, hklen, n)) != 0) {
        microfund_fund_close(&fund);
        return hy_fail_mdb(ctx, rc);
    }
    status = microfund_emit(
        ctx, &fund, "microfund.fund.formed", NULL,
        json_pack("{s:O, s:O, s:O, s:O, s:O}", "date", json_object_get(fund.rec, "date"), "name",
                  json_object_get(fund.rec, "name"), "facilitator_person_id",
                  json_object_get(fund.rec, "facilitator_person_id"), "cycle",
                  json_object_get(fund.rec, "cycle"), "rules", json_object_get(fund.rec, "rules")));
    if (!status)
        *out = microfund_fund_render(fund.rec);
    microfund_fund_close(&fund);
    return status ? status : 0;
}

int microfund_fund_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    *out = microfund_fund_render(fund.rec);
    microfund_fund_close(&fund);
    return 0;
}

/* List filter: the fund is in the wanted (normalised) neighbourhood. */
static bool s_in_neighbourhood(const json_t *fund, void *want)
{
    char *norm = hy_fa_normalize(json_string_value(json_object_get(fund, "neighbourhood")));
    bool keep = norm && strcmp(norm, want) == 0;
    free(norm);
    return keep;
}

int microfund_fund_list(hy_ctx_t *ctx, const char *office, const char *neighbourhood,
                        uint64_t after, int limit, json_t **items, uint64_t *next)
{
    microfund_t *st = microfund_state(ctx);
    const char *mine = hy_scope_office(ctx);   /* an office key lists its own office's funds */
    if (mine && office && *office && !hy_scope_same(mine, office))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s; it sees only that office's funds", mine);
    if (mine)
        office = mine;
    bool by_office = office && *office, by_place = neighbourhood && *neighbourhood;
    char key[KEY_MAX + 16], *want = NULL;
    size_t klen = by_office ? s_key('o', office, key, sizeof key)
                : by_place  ? s_key('h', neighbourhood, key, sizeof key)
                            : 0;
    *next = 0;
    if ((by_office || by_place) && !klen) {   /* no fund can be filed under such a key */
        *items = json_array();
        return 0;
    }
    if (by_office && by_place && !(want = hy_fa_normalize(neighbourhood)))
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    int rc = hy_page_json(ctx->txn, st->funds, klen ? &st->fund_idx : NULL, key, klen, after,
                          limit, want ? s_in_neighbourhood : NULL, want, items, next);
    free(want);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    size_t i;
    json_t *fund;
    json_array_foreach(*items, i, fund)
        json_array_set_new(*items, i, microfund_fund_render(fund));
    return 0;
}

int microfund_cycle_start(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    json_t *old = json_object_get(fund.rec, "cycle");
    const char *start = json_string_value(json_object_get(args, "start"));
    const char *end = json_string_value(json_object_get(args, "end"));
    const char *last = json_string_value(json_object_get(old, "shareout_date"));
    if (strcmp(json_string_value(json_object_get(old, "status")), "open") == 0) {
        status = hy_fail(ctx, 422, "cycle_open", NULL,
                         "cycle %lld is still open: share it out first (POST /v1/funds/%s/shareout)",
                         (long long)microfund_int(old, "number"), id);
    } else if (last && strcmp(start, last) < 0) {
        status = hy_fail(ctx, 422, "invalid_cycle", "start",
                         "the next cycle cannot start before the share-out of %s", last);
    } else if (!(status = s_check_cycle(ctx, start, end, "end"))) {
        json_t *rules = json_object_get(fund.rec, "rules");
        json_object_update(rules, json_object_get(args, "rules"));
        json_object_set_new(fund.rec, "cycle",
                            s_new_cycle(microfund_int(old, "number") + 1, start, end));
        json_t *cycle = json_object_get(fund.rec, "cycle");
        if (!(status = microfund_fund_save(ctx, &fund)))
            status = microfund_emit(ctx, &fund, "microfund.cycle_started", NULL,
                                    json_pack("{s:O, s:s, s:s, s:O}", "cycle",
                                              json_object_get(cycle, "number"), "start", start,
                                              "end", end, "rules", rules));
    }
    if (!status)
        *out = microfund_fund_render(fund.rec);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
