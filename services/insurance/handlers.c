/*
 * handlers.c — the insurance service's handlers (named in insurance_api.c's rows), the fund's
 * feed, and the wiring into the service skeleton.
 *
 * By the time a handler runs, the skeleton has checked the caller's role and the arguments
 * against insurance_api.c. The rows that only pass the args or some of their strings to a
 * domain function name it (.handler, or .call: shared/bind.h); the handlers here choose the
 * fund's view or the staff's, wrap the list's page as {"items":[...],"next_cursor":...}, and
 * serve the fund's feed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "insurance.h"
#include "page.h"

#define FEED_DEFAULT_LIMIT 100

/* The fund reads through its own view (only what was handed to it); staff read their office's
 * (enrolments.c). */
static bool s_is_fund(const hy_ctx_t *ctx)
{
    return insurance_is_fund(ctx);
}

int insurance_h_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    if (s_is_fund(ctx))
        return insurance_enrolment_get_for_fund(ctx, hy_json_str(args, "id"), result);
    return insurance_enrolment_get(ctx, hy_json_str(args, "id"), result);
}

int insurance_h_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    insurance_filter_t f = {
        .person_id = hy_json_str(args, "person_id"),
        .status = hy_json_str(args, "status"),
        .office = hy_json_str(args, "office"),
        .fund_view = s_is_fund(ctx),
    };
    int status = hy_page_args(ctx, args, &f.after, &f.limit);
    if (status)
        return status;
    json_t *items = NULL;
    uint64_t next = 0;
    status = insurance_enrolment_list(ctx, &f, &items, &next);
    return status ? status : hy_page_result(ctx, items, next, result);
}

/* The fund's feed. Every event of this service is an enrolment event with only the fund's
 * fields (records.c), so the feed is the outbox itself, read like events.since: the same
 * events, byte for byte, as the PUB socket and events.since give. `wait` is the gateway's
 * (long polling); nothing to do with it here. */
int insurance_h_feed(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    json_t *limit = json_object_get(args, "limit");
    json_t *since = json_pack("{s:I,s:I}", "after", json_integer_value(json_object_get(args, "after")),
                              "limit", limit ? json_integer_value(limit) : FEED_DEFAULT_LIMIT);
    if (!since)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    int status = hy_events_since(ctx, since, result);
    json_decref(since);
    return status;
}

static int s_open(hy_store_t *store, void **state)
{
    insurance_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    const hy_store_db_t dbs[] = {
        {"insurance.meta", 0, &st->meta},
        {"insurance.enrolments", 0, &st->enrolments},
        {"insurance.enrolment_idx", MDB_DUPSORT, &st->enrolment_idx},
        {"insurance.businesses", 0, &st->businesses},
    };
    int rc;
    if ((rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0 ||
        (rc = hy_persons_open(store, &st->persons)) != 0 ||
        (rc = insurance_migrate_persons(store, st)) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static const char *const s_sources[] = {"registry", NULL};

const hy_service_def_t insurance_def = {
    .name = "insurance",
    .api = &insurance_api,
    .open = s_open,
    .sources = s_sources,
    .apply = insurance_apply,
    .reset = insurance_reset,
};
