/*
 * handlers.c — the micro-fund's handlers (named in microfund_api.c's rows) and its wiring into
 * the service skeleton.
 *
 * By the time a handler runs, the skeleton has checked the caller's role and the arguments
 * against microfund_api.c (types, ranges, required fields, Jalali dates folded, strings
 * trimmed, limit and cursor defaulted for lists). The rows that only pass the args or some of
 * their strings to a domain function name it (.handler, or .call: shared/bind.h); the handlers
 * here page the lists and turn other arguments (a default date, an amount, a flag) into the
 * plain values the domain functions take.
 */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "microfund.h"
#include "page.h"

/* Runs a list op's domain function over the page arguments and wraps its page as the list
 * result. */
typedef int (*s_list_fn)(hy_ctx_t *ctx, const char *a, const char *b, uint64_t after, int limit,
                         json_t **items, uint64_t *next);
static int s_list(hy_ctx_t *ctx, json_t *args, s_list_fn fn, const char *a, const char *b,
                  json_t **result)
{
    uint64_t after = 0, next = 0;
    int limit;
    int status = hy_page_args(ctx, args, &after, &limit);
    json_t *items = NULL;
    if (status || (status = fn(ctx, a, b, after, limit, &items, &next)) != 0)
        return status;
    return hy_page_result(ctx, items, next, result);
}

int microfund_h_funds_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return s_list(ctx, args, microfund_fund_list, hy_json_str(args, "office"),
                  hy_json_str(args, "neighbourhood"), result);
}

int microfund_h_loans_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return s_list(ctx, args, microfund_loan_list, hy_json_str(args, "fund_id"),
                  hy_json_str(args, "status"), result);
}

int microfund_h_members_join(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *joined = hy_json_str(args, "joined");
    return microfund_member_join(ctx, hy_json_str(args, "id"), hy_json_str(args, "person_id"),
                                 joined ? joined : ctx->today, result);
}

int microfund_h_loans_repay(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return microfund_loan_repay(ctx, hy_json_str(args, "id"),
                                (int64_t)json_integer_value(json_object_get(args, "amount_rials")),
                                hy_json_str(args, "date"), result);
}

int microfund_h_shareout(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return microfund_shareout(ctx, hy_json_str(args, "id"),
                              json_is_true(json_object_get(args, "preview")),
                              hy_json_str(args, "date"), result);
}

int microfund_h_meetings_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return s_list(ctx, args, microfund_meeting_list, hy_json_str(args, "id"), NULL, result);
}

int microfund_h_trainings_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return s_list(ctx, args, microfund_training_list, hy_json_str(args, "id"), NULL, result);
}

/* Opens the databases into a new microfund_t; returns 0 or an LMDB error. */
static int s_open(hy_store_t *store, void **state)
{
    microfund_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    const hy_store_db_t dbs[] = {
        {"microfund.meta", 0, &st->meta},
        {"microfund.funds", 0, &st->funds},
        {"microfund.fund_idx", MDB_DUPSORT, &st->fund_idx},
        {"microfund.loans", 0, &st->loans},
        {"microfund.loan_idx", MDB_DUPSORT, &st->loan_idx},
        {"microfund.meetings", 0, &st->meetings},
        {"microfund.trainings", 0, &st->trainings},
        {"microfund.persons", 0, &st->persons},
        {"microfund.shareouts", 0, &st->shareouts},
    };
    int rc;
    if ((rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0 ||
        (rc = hy_persons_open(store, &st->shared)) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static const char *const s_sources[] = {"registry", NULL};

const hy_service_def_t microfund_def = {
    .name = "microfund",
    .api = &microfund_api,
    .open = s_open,
    .sources = s_sources,
    .apply = microfund_apply,
    .reset = microfund_reset,
};
