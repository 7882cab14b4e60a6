/*
 * buyers.c — who networks sell to: shops (such as the municipality's Dast-Afarin stores),
 * exhibitions, exporters, and other networks (one lead may buy another network's output).
 *
 * A buyer of kind network names that network (422 missing_network_id without it, unknown_network
 * when there is no such network); other kinds name none (422 unexpected_network_id). Buyers are
 * shared by every network; that a network cannot buy from itself is checked when an order is
 * placed (orders.c, 422 self_purchase).
 */
#include <string.h>

#include "json.h"
#include "networks.h"
#include "page.h"

int networks_buyer_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    networks_t *st = networks_state(ctx);
    const char *kind = hy_json_str(args, "kind");
    const char *network_id = hy_json_str(args, "network_id");
    bool of_network = kind && strcmp(kind, "network") == 0;
    json_t *network = NULL, *buyer = NULL;
    int status = 0;
    if (of_network && !network_id)
        return hy_fail(ctx, 422, "missing_network_id", "network_id",
                       "a buyer of kind network names the network that buys");
    if (!of_network && network_id)
        return hy_fail(ctx, 422, "unexpected_network_id", "network_id",
                       "only a buyer of kind network names a network, not a %s", kind);
    if (of_network && (status = networks_network_find(ctx, network_id, "network_id", NULL,
                                                      &network)) != 0)
        return status;
    const char *office = hy_json_str(args, "office");
    if (!office || !*office)
        office = ctx->req ? ctx->req->actor.office : NULL;
    uint64_t n;
    char id[32];
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "buyer", &n))) != 0)
        goto done;
    hy_id_format("buy", n, id, sizeof id);
    buyer = json_pack("{s:s,s:O,s:s,s:s}", "id", id, "name", json_object_get(args, "name"),
                      "kind", kind, "office", office ? office : "");
    if (network_id)
        json_object_set_new(buyer, "network_id", json_string(network_id));
    networks_stamp(ctx, buyer);
    if ((status = hy_mdb_status(ctx, hy_store_put_id(ctx->txn, st->buyers, n, buyer))) != 0 ||
        (status = networks_emit(ctx, "networks.buyer.created", id, network,
                                json_deep_copy(buyer))) != 0)
        goto done;
    *out = json_incref(buyer);
done:
    json_decref(network);
    json_decref(buyer);
    return status;
}

/* Loads a buyer: 0, MDB_NOTFOUND (also for a malformed id) or an LMDB error. */
static int s_load(hy_ctx_t *ctx, const char *id, json_t **buyer)
{
    uint64_t n;
    if (!id || hy_id_parse("buy", id, &n) != 0)
        return MDB_NOTFOUND;
    return hy_store_get_id(ctx->txn, networks_state(ctx)->buyers, n, buyer);
}

int networks_buyer_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int rc = s_load(ctx, id, out);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no buyer has the id %s", id ? id : "");
    return hy_mdb_status(ctx, rc);
}

int networks_buyer_find(hy_ctx_t *ctx, const char *id, json_t **buyer)
{
    int rc = s_load(ctx, id, buyer);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_buyer", "buyer_id", "no buyer has the id %s",
                       id ? id : "");
    return hy_mdb_status(ctx, rc);
}

/* The list's filters: kind and buying network (none given: every buyer). */
static bool s_keep(const json_t *buyer, void *user)
{
    const networks_buyer_filter_t *f = user;
    return networks_same(buyer, "kind", f->kind) &&
           networks_same(buyer, "network_id", f->network_id);
}

int networks_buyer_list(hy_ctx_t *ctx, const networks_buyer_filter_t *f, json_t **items,
                        uint64_t *next)
{
    networks_t *st = networks_state(ctx);
    hy_page_t page = {.db = st->buyers, .records = st->buyers, .keep = s_keep,
                      .user = (void *)f};
    return hy_page(ctx, &page, f->after, f->limit, items, next);
}
