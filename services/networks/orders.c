/*
 * orders.c — orders from buyers and the work a network assigns to its members.
 *
 * An order lists items (each name once: 422 duplicate_item; at least one: 422 no_items) with a
 * quantity and a unit price in rials, and a due date. Its value is Σ quantity × unit price,
 * overflow-checked (422 value_too_large). Only an active network takes orders (409
 * network_not_active), and a network cannot buy from itself (422 self_purchase).
 *
 * Each item line keeps what was ordered and, for the work on it, assigned, accepted and
 * rejected totals; each assignment row (person, item) keeps the same three for one member.
 * Assignment rules:
 *   - only an active member of the order's network gets work (422 not_a_member);
 *   - the item must be on the order (422 unknown_item); a fulfilled order takes no more work
 *     (409 order_fulfilled);
 *   - an item's assigned quantity net of rejected units never exceeds its ordered quantity:
 *     assigned - rejected + new quantity <= ordered (422 over_ordered). Rejected units must be
 *     made again, so they free the order's capacity for a new assignment (to anyone).
 * Deliveries against the assignments are in ledger.c. An order is fulfilled (status open ->
 * fulfilled, event networks.network.order_fulfilled) when every item's accepted quantity has
 * reached its ordered quantity.
 *
 * When a member leaves, their undelivered work (assigned - accepted - rejected on each open
 * order) is released: taken off their assignment and the item's assigned total, so the network
 * can give it to someone else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "networks.h"
#include "page.h"

int networks_order_find(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                        json_t **order)
{
    uint64_t num = 0;
    int rc = !id || hy_id_parse("ord", id, &num) != 0
                 ? MDB_NOTFOUND
                 : hy_store_get_id(ctx->txn, networks_state(ctx)->orders, num, order);
    if (rc == MDB_NOTFOUND && field)
        return hy_fail(ctx, 422, "unknown_order", field, "no order has the id %s", id ? id : "");
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no order has the id %s", id ? id : "");
    if (rc == 0 && n)
        *n = num;
    return hy_mdb_status(ctx, rc);
}

int networks_order_save(hy_ctx_t *ctx, uint64_t n, json_t *order)
{
    json_object_set_new(order, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_id(ctx->txn, networks_state(ctx)->orders, n, order);
    return hy_mdb_status(ctx, rc);
}

/* The line of item in an array of lines, or NULL. */
static json_t *s_line(const json_t *lines, const char *item)
{
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line) {
        if (networks_same(line, "item", item))
            return line;
    }
    return NULL;
}

json_t *networks_order_item(const json_t *order, const char *item)
{
    return s_line(json_object_get(order, "items"), item);
}

json_t *networks_order_assignment(const json_t *order, const char *person_id, const char *item)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(order, "assignments"), i, row) {
        if (networks_same(row, "person_id", person_id) && networks_same(row, "item", item))
            return row;
    }
    return NULL;
}

/* Checks the items and builds the order's lines with their value; *total is the order value. */
static int s_lines(hy_ctx_t *ctx, const json_t *items, json_t **lines, int64_t *total)
{
    size_t i;
    json_t *in;
    char field[64];
    *total = 0;
    if (json_array_size(items) == 0)
        return hy_fail(ctx, 422, "no_items", "items", "an order has at least one item");
    *lines = json_array();
    json_array_foreach(items, i, in) {
        const char *item = hy_json_str(in, "item");
        int64_t qty = json_integer_value(json_object_get(in, "quantity"));
        int64_t price = json_integer_value(json_object_get(in, "unit_price_rials"));
        int64_t value;
        snprintf(field, sizeof field, "items[%zu].item", i);
        int status = s_line(*lines, item) ? hy_fail(ctx, 422, "duplicate_item", field,
                                                    "%s is listed twice", item)
                                          : 0;
        snprintf(field, sizeof field, "items[%zu].quantity", i);
        if (status == 0 && __builtin_mul_overflow(qty, price, &value))
            status = hy_fail(ctx, 422, "value_too_large", field,
                             "quantity x unit price does not fit in 64-bit rials");
        if (status || (status = networks_add(ctx, *total, value, "items", total)) != 0) {
            json_decref(*lines);
            *lines = NULL;
            return status;
        }
        json_array_append_new(*lines,
                              json_pack("{s:s,s:I,s:I,s:I,s:i,s:i,s:i}", "item", item,
                                        "quantity", (json_int_t)qty, "unit_price_rials",
                                        (json_int_t)price, "value_rials", (json_int_t)value,
                                        "assigned", 0, "accepted", 0, "rejected", 0));
    }
    return 0;
}

int networks_order_create(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **out)
{
    networks_t *st = networks_state(ctx);
    json_t *network = NULL, *buyer = NULL, *lines = NULL, *order = NULL;
    const char *buyer_id = hy_json_str(args, "buyer_id");
    uint64_t net, n;
    int64_t total;
    int rc, status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    if ((status = networks_network_open_for_work(ctx, network)) != 0 ||
        (status = networks_buyer_find(ctx, buyer_id, &buyer)) != 0)
        goto fail;
    if (networks_same(buyer, "kind", "network") &&
        networks_same(buyer, "network_id", network_id)) {
        status = hy_fail(ctx, 422, "self_purchase", "buyer_id",
                         "buyer %s is network %s itself; a network cannot buy from itself",
                         buyer_id, network_id);
        goto fail;
    }
    if ((status = s_lines(ctx, json_object_get(args, "items"), &lines, &total)) != 0)
        goto fail;
    char id[32];
    uint8_t key[18];
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "order", &n))) != 0)
        goto fail;
    hy_id_format("ord", n, id, sizeof id);
    order = json_pack("{s:s,s:s,s:s,s:O,s:O,s:o,s:[],s:O,s:s,s:s,s:I,s:i,s:i}", "id", id,
                      "network_id", network_id, "buyer_id", buyer_id, "buyer_kind",
                      json_object_get(buyer, "kind"), "buyer_name", json_object_get(buyer, "name"),
                      "items", lines, "assignments", "due_date", json_object_get(args, "due_date"),
                      "date", ctx->today, "status", "open", "value_rials", (json_int_t)total,
                      "accepted_value_rials", 0, "paid_rials", 0);
    lines = NULL;
    json_object_set(order, "office", json_object_get(network, "office"));
    json_object_set(order, "field", json_object_get(network, "field"));
    static const char *const dates[] = {"due_date", "date", NULL};
    networks_jalali(order, dates);
    networks_stamp(ctx, order);
    if ((rc = hy_store_put_id(ctx->txn, st->orders, n, order)) != 0 ||
        (rc = hy_index_put(ctx->txn, st->order_idx, key, networks_key_num('n', net, 0, false, key),
                           n)) != 0)
        status = hy_fail_mdb(ctx, rc);
    else if ((status = networks_figure_add(ctx, network, "orders_open", 1)) == 0 &&
             (status = networks_network_save(ctx, net, network)) == 0 &&
             (status = networks_emit(ctx, "networks.network.order_placed", id, network,
                                     json_deep_copy(order))) == 0)
        *out = json_incref(order);
fail:
    json_decref(network);
    json_decref(buyer);
    json_decref(lines);
    json_decref(order);
    return status;
}

int networks_order_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    json_t *network = NULL;
    int status = networks_order_find(ctx, id, NULL, NULL, out);
    if (status)
        return status;
    /* the order is its network's office's (403 other_office) */
    status = networks_network_find(ctx, hy_json_str(*out, "network_id"), NULL, NULL, &network);
    json_decref(network);
    if (status) {
        json_decref(*out);
        *out = NULL;
        return status;
    }
    return 0;
}

/* The assignment rules above, for a person and an item of order. */
static int s_check_assign(hy_ctx_t *ctx, const json_t *order, uint64_t net, const char *person_id,
                          const char *item, int64_t qty, uint64_t *person)
{
    json_t *member = NULL, *line = networks_order_item(order, item);
    if (networks_same(order, "status", "fulfilled"))
        return hy_fail(ctx, 409, "order_fulfilled", "id", "order %s is already fulfilled",
                       hy_json_str(order, "id"));
    if (!line)
        return hy_fail(ctx, 422, "unknown_item", "item", "%s is not an item of this order", item);
    int rc = hy_id_parse("prs", person_id, person) != 0
                 ? MDB_NOTFOUND
                 : networks_member_load(ctx, net, *person, &member);
    if (rc && rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    bool active = rc == 0 && networks_same(member, "status", "active");
    json_decref(member);
    if (!active)
        return hy_fail(ctx, 422, "not_a_member", "person_id",
                       "%s is not an active member of this order's network", person_id);
    int64_t ordered = json_integer_value(json_object_get(line, "quantity"));
    int64_t taken = json_integer_value(json_object_get(line, "assigned")) -
                    json_integer_value(json_object_get(line, "rejected"));
    if (qty > ordered - taken) {
        hy_fail(ctx, 422, "over_ordered", "quantity",
                "%lld of %s ordered, %lld already assigned (net of rejected units): at most "
                "%lld more can be assigned",
                (long long)ordered, item, (long long)taken, (long long)(ordered - taken));
        hy_fail_extra(ctx, "assignable", json_integer(ordered - taken));
        return -1;
    }
    return 0;
}

int networks_order_assign(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *order = NULL, *network = NULL;
    const char *person_id = hy_json_str(args, "person_id");
    const char *item = hy_json_str(args, "item");
    int64_t qty = json_integer_value(json_object_get(args, "quantity"));
    uint64_t n, net, person;
    int rc, status = networks_order_find(ctx, id, NULL, &n, &order);
    if (status)
        return status;
    if ((status = networks_network_find(ctx, json_string_value(json_object_get(order,
                                                                               "network_id")),
                                        NULL, &net, &network)) != 0 ||
        (status = networks_network_open_for_work(ctx, network)) != 0 ||
        (status = s_check_assign(ctx, order, net, person_id, item, qty, &person)) != 0)
        goto fail;
    json_t *row = networks_order_assignment(order, person_id, item);
    if (!row) {
        row = json_pack("{s:s,s:s,s:i,s:i,s:i}", "person_id", person_id, "item", item,
                        "assigned", 0, "accepted", 0, "rejected", 0);
        json_array_append_new(json_object_get(order, "assignments"), row);
    }
    uint8_t key[18];
    if ((status = networks_bump(ctx, row, "assigned", qty)) != 0 ||
        (status = networks_bump(ctx, networks_order_item(order, item), "assigned", qty)) != 0)
        goto fail;
    if ((rc = hy_index_put(ctx->txn, networks_state(ctx)->order_idx, key,
                           networks_key_num('a', net, person, true, key), n)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = networks_order_save(ctx, n, order)) != 0 ||
        (status = networks_emit(ctx, "networks.network.work_assigned", id, network,
                                json_pack("{s:s,s:s,s:s,s:I,s:O}", "order_id", id, "person_id",
                                          person_id, "item", item, "quantity", (json_int_t)qty,
                                          "assigned", json_object_get(row, "assigned")))) != 0)
        goto fail;
    *out = order;
    json_decref(network);
    return 0;
fail:
    json_decref(order);
    json_decref(network);
    return status;
}

/* Collects the order numbers an index key lists (hy_store_page visitor). */
static int s_collect(MDB_txn *txn, uint64_t id, void *user)
{
    (void)txn;
    return json_array_append_new(user, json_integer((json_int_t)id)) == 0 ? 1 : ENOMEM;
}

/* Calls fn on every order on which person has (or had) work in network net. */
typedef int (*s_order_fn)(hy_ctx_t *ctx, uint64_t n, json_t *order, const char *person_id,
                          json_t *out);
static int s_each_order(hy_ctx_t *ctx, uint64_t net, uint64_t person, const char *person_id,
                        s_order_fn fn, json_t *out)
{
    networks_t *st = networks_state(ctx);
    json_t *orders = json_array(), *num;
    uint8_t key[18];
    uint64_t next;
    size_t i;
    int rc = hy_store_page(ctx->txn, st->order_idx, key,
                           networks_key_num('a', net, person, true, key), 0, INT32_MAX,
                           s_collect, orders, &next);
    int status = hy_mdb_status(ctx, rc);
    json_array_foreach(orders, i, num) {
        json_t *order = NULL;
        uint64_t n = (uint64_t)json_integer_value(num);
        if (status || (rc = hy_store_get_id(ctx->txn, st->orders, n, &order)) != 0) {
            status = status ? status : hy_fail_mdb(ctx, rc);
            break;
        }
        status = fn(ctx, n, order, person_id, out);
        json_decref(order);
    }
    json_decref(orders);
    return status;
}

/* Undelivered work of a row: assigned - accepted - rejected. */
static int64_t s_open(const json_t *row)
{
    return json_integer_value(json_object_get(row, "assigned")) -
           json_integer_value(json_object_get(row, "accepted")) -
           json_integer_value(json_object_get(row, "rejected"));
}

/* Releases person's undelivered work on one order into released. */
static int s_release_one(hy_ctx_t *ctx, uint64_t n, json_t *order, const char *person_id,
                         json_t *released)
{
    bool changed = false;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(order, "assignments"), i, row) {
        int64_t open = s_open(row);
        if (!networks_same(row, "person_id", person_id) || open <= 0)
            continue;
        const char *item = hy_json_str(row, "item");
        int status;
        if ((status = networks_bump(ctx, row, "assigned", -open)) != 0 ||
            (status = networks_bump(ctx, networks_order_item(order, item), "assigned", -open)) !=
                0)
            return status;
        json_array_append_new(released, json_pack("{s:O,s:s,s:I}", "order_id",
                                                  json_object_get(order, "id"), "item", item,
                                                  "quantity", (json_int_t)open));
        changed = true;
    }
    return changed ? networks_order_save(ctx, n, order) : 0;
}

int networks_order_release(hy_ctx_t *ctx, uint64_t net, uint64_t person, const char *person_id,
                           json_t **released)
{
    *released = json_array();
    return s_each_order(ctx, net, person, person_id, s_release_one, *released);
}

/* Adds person's rows of one order to work, with the order id and what is still open. */
static int s_work_one(hy_ctx_t *ctx, uint64_t n, json_t *order, const char *person_id,
                      json_t *work)
{
    (void)ctx, (void)n;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(order, "assignments"), i, row) {
        if (!networks_same(row, "person_id", person_id))
            continue;
        json_t *w = json_deep_copy(row);
        json_object_del(w, "person_id");
        json_object_set(w, "order_id", json_object_get(order, "id"));
        json_object_set_new(w, "outstanding", json_integer(s_open(row)));
        json_array_append_new(work, w);
    }
    return 0;
}

int networks_order_work(hy_ctx_t *ctx, uint64_t net, uint64_t person, const char *person_id,
                        json_t **work)
{
    *work = json_array();
    return s_each_order(ctx, net, person, person_id, s_work_one, *work);
}

/* The list's filters: status and buyer. */
static bool s_keep(const json_t *order, void *user)
{
    const networks_order_filter_t *f = user;
    return networks_same(order, "status", f->status) &&
           networks_same(order, "buyer_id", f->buyer_id);
}

int networks_order_list(hy_ctx_t *ctx, const char *network_id, const networks_order_filter_t *f,
                        json_t **items, uint64_t *next)
{
    networks_t *st = networks_state(ctx);
    json_t *network = NULL;
    uint64_t net;
    int status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    json_decref(network);
    uint8_t key[18];
    hy_page_t page = {.db = st->order_idx,
                      .records = st->orders,
                      .key = key,
                      .klen = networks_key_num('n', net, 0, false, key),
                      .keep = s_keep,
                      .user = (void *)f};
    return hy_page(ctx, &page, f->after, f->limit, items, next);
}
