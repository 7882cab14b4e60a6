/*
 * handlers.c — the networks service's list handlers (named in networks_api.c's rows) and its
 * wiring into the skeleton.
 *
 * By the time a handler runs, the skeleton has checked the caller's role and the arguments
 * against networks_api.c. The other rows name their domain function (.handler when it takes the
 * args, .call with the string arguments it takes: shared/bind.h). A list handler picks its
 * filter out of the arguments and wraps the page as {"items":[...],"next_cursor":...}.
 */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "networks.h"
#include "page.h"

/* Runs a list: the filter's after/limit come from the page arguments. */
#define LIST(CALL, FILTER)                                                                         \
    do {                                                                                           \
        int status_ = hy_page_args(ctx, args, &(FILTER).after, &(FILTER).limit);                   \
        json_t *items_ = NULL;                                                                     \
        uint64_t next_ = 0;                                                                        \
        if (status_)                                                                               \
            return status_;                                                                        \
        status_ = (CALL);                                                                          \
        return status_ ? status_ : hy_page_result(ctx, items_, next_, result);                     \
    } while (0)

/* ------------------------------------------------------------------ networks ------------- */

int networks_h_networks_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    networks_filter_t f = {.office = hy_json_str(args, "office"),
                           .field = hy_json_str(args, "field"),
                           .lead_person_id = hy_json_str(args, "lead_person_id"),
                           .status = hy_json_str(args, "status")};
    LIST(networks_network_list(ctx, &f, &items_, &next_), f);
}

/* ------------------------------------------------------------------- members ------------- */

int networks_h_members_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    networks_member_filter_t f = {.status = hy_json_str(args, "status"), .role = hy_json_str(args, "role")};
    LIST(networks_member_list(ctx, hy_json_str(args, "id"), &f, &items_, &next_), f);
}

int networks_h_members_statement(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    uint64_t after;
    int limit, status = hy_page_args(ctx, args, &after, &limit);
    return status ? status
                  : networks_statement(ctx, hy_json_str(args, "id"), hy_json_str(args, "person_id"), after,
                                       limit, result);
}

/* -------------------------------------------------------------------- buyers ------------- */

int networks_h_buyers_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    networks_buyer_filter_t f = {.kind = hy_json_str(args, "kind"),
                                 .network_id = hy_json_str(args, "network_id")};
    LIST(networks_buyer_list(ctx, &f, &items_, &next_), f);
}

/* -------------------------------------------------------------------- orders ------------- */

int networks_h_orders_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    networks_order_filter_t f = {.status = hy_json_str(args, "status"),
                                 .buyer_id = hy_json_str(args, "buyer_id")};
    LIST(networks_order_list(ctx, hy_json_str(args, "id"), &f, &items_, &next_), f);
}

/* -------------------------------------------------------------------- ledger ------------- */

int networks_h_ledger_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    networks_ledger_filter_t f = {.kind = hy_json_str(args, "kind"),
                                  .person_id = hy_json_str(args, "person_id"),
                                  .order_id = hy_json_str(args, "order_id")};
    LIST(networks_ledger_list(ctx, hy_json_str(args, "id"), &f, &items_, &next_), f);
}

/* -------------------------------------------------------------------- wiring ------------- */

int networks_open(hy_store_t *store, void **state)
{
    networks_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    const hy_store_db_t dbs[] = {
        {"networks.meta", 0, &st->meta},
        {"networks.networks", 0, &st->networks},
        {"networks.network_idx", MDB_DUPSORT, &st->network_idx},
        {"networks.members", 0, &st->members},
        {"networks.member_idx", MDB_DUPSORT, &st->member_idx},
        {"networks.buyers", 0, &st->buyers},
        {"networks.orders", 0, &st->orders},
        {"networks.order_idx", MDB_DUPSORT, &st->order_idx},
        {"networks.ledger", 0, &st->ledger},
        {"networks.ledger_idx", MDB_DUPSORT, &st->ledger_idx},
        {"networks.registry", 0, &st->registry},
    };
    int rc;
    if ((rc = hy_persons_open(store, &st->persons)) != 0 ||
        (rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static const char *const s_sources[] = {"registry", NULL};

const hy_service_def_t networks_def = {
    .name = "networks",
    .api = &networks_api,
    .open = networks_open,
    .sources = s_sources,
    .apply = networks_apply,
    .reset = networks_reset,
};
