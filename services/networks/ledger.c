/*
 * ledger.c — a network's ledger: deliveries by members and payments (from buyers, to members),
 * members' statements and the ledger list. This is how the programme counts the income the
 * networks create, so every rule is exact to the rial.
 *
 * THE RULES (all amounts int64 rials, every sum overflow-checked: 422 value_too_large).
 *
 * Deliveries. A member delivers against their assignment on an order: accepted and rejected
 * units of one item (accepted + rejected >= 1: 422 empty_delivery; no assignment of that item
 * to that person: 422 not_assigned; accepted + rejected > assigned - already accepted - already
 * rejected: 422 over_assigned; item not on the order: 422 unknown_item; a date after today:
 * 422 future_date, before HY_PROGRAMME_START: 422 before_programme_start, before the member's
 * (latest) join date: 422 date_out_of_order). For one delivery, with P the item's unit price
 * and S the network's member_share_bp at the time of the delivery (0..10000, default 7000):
 *     value_rials          = accepted × P                     (what the buyer owes for it)
 *     member_value_rials   = floor(value_rials × S / 10000)   (owed to the member)
 *     network_margin_rials = value_rials - member_value_rials (the network's, with the
 *                                                              rounding remainder)
 * Rounding is down, per delivery, and the remainder stays with the network; so Σ member values
 * + Σ margins = Σ values exactly. Rejected units are worth nothing and free the order's
 * capacity (orders.c). Changing member_share_bp changes later deliveries only.
 *
 * Payments from a buyer (direction from_buyer) are against one order of this network
 * (order_id required: 422 missing_order_id; another network's or no such order: 422
 * unknown_order; no person_id: 422 unexpected_person_id). A buyer may pay in advance of
 * deliveries, but never more than the order's value: Σ paid on the order + amount <= Σ ordered
 * quantity × unit price (422 over_order_value).
 *
 * Payments to a member (direction to_member) name the person (422 missing_person_id); order_id
 * is an optional reference to an order of this network. The person must be or have been a
 * member (422 not_a_member; one who left can still be paid what they earned). Then:
 *     owed to the member = Σ member_value_rials of their deliveries - Σ paid to them
 *     network cash       = Σ from_buyer payments - Σ to_member payments
 * and amount <= owed (422 overpayment, checked first) and amount <= network cash (422
 * insufficient_network_cash). So no member's balance and no network's cash ever goes below
 * zero, and Σ from_buyer = Σ to_member + network cash at every point of the ledger.
 *
 * Every entry keeps the balances after it (member_balance_rials for the member it concerns,
 * network_balance_rials for payments), so a statement shows a running balance page by page.
 * The member record, the order and the network's figures are updated in the same transaction
 * as the entry; tests re-derive all of them from the entries.
 */
#include <string.h>

#include "json.h"
#include "networks.h"
#include "page.h"

#define BP_ONE 10000
#define STATEMENT_LIMIT 100

/* floor(value × bp / 10000) without overflow: value = 10000·q + r, so the product is
 * q·bp + floor(r·bp / 10000), with q·bp <= value and r·bp < 10^8. */
static int64_t s_share(int64_t value, int64_t bp)
{
    return (value / BP_ONE) * bp + (value % BP_ONE) * bp / BP_ONE;
}

/* Writes a ledger entry (entry number set here) with its indexes: the network's and, for an
 * entry about a member, the member's. */
static int s_append(hy_ctx_t *ctx, uint64_t net, uint64_t person, json_t *entry)
{
    networks_t *st = networks_state(ctx);
    uint8_t key[18];
    uint64_t n;
    int rc;
    if ((rc = hy_store_next(ctx->txn, st->meta, "entry", &n)) != 0)
        return hy_fail_mdb(ctx, rc);
    json_object_set_new(entry, "entry", json_integer((json_int_t)n));
    static const char *const dates[] = {"date", NULL};
    networks_jalali(entry, dates);
    networks_stamp(ctx, entry);
    json_object_del(entry, "updated_at"); /* entries are never changed */
    if ((rc = hy_store_put_id(ctx->txn, st->ledger, n, entry)) != 0 ||
        (rc = hy_index_put(ctx->txn, st->ledger_idx, key,
                           networks_key_num('n', net, 0, false, key), n)) != 0 ||
        (person && (rc = hy_index_put(ctx->txn, st->ledger_idx, key,
                                      networks_key_num('m', net, person, true, key), n)) != 0))
        return hy_fail_mdb(ctx, rc);
    return 0;
}

/* true when every line of the order has all its ordered units accepted. */
static bool s_complete(const json_t *order)
{
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(order, "items"), i, line) {
        if (json_integer_value(json_object_get(line, "accepted")) <
            json_integer_value(json_object_get(line, "quantity")))
            return false;
    }
    return true;
}

/* The delivery rules above for args against order; *line and *row get the item line and the
 * assignment row (borrowed from order). */
static int s_check_delivery(hy_ctx_t *ctx, const json_t *order, const json_t *args,
                            json_t **line, json_t **row)
{
    const char *person_id = hy_json_str(args, "person_id");
    const char *item = hy_json_str(args, "item");
    int64_t accepted = json_integer_value(json_object_get(args, "accepted"));
    int64_t rejected = json_integer_value(json_object_get(args, "rejected"));
    int status = networks_not_future(ctx, hy_json_str(args, "date"),
                                     "date");
    if (status)
        return status;
    if (accepted + rejected < 1)
        return hy_fail(ctx, 422, "empty_delivery", "accepted",
                       "a delivery has at least one accepted or rejected unit");
    if (!(*line = networks_order_item(order, item)))
        return hy_fail(ctx, 422, "unknown_item", "item", "%s is not an item of this order", item);
    if (!(*row = networks_order_assignment(order, person_id, item)))
        return hy_fail(ctx, 422, "not_assigned", "person_id",
                       "%s has no work assigned on %s of this order", person_id, item);
    int64_t open = json_integer_value(json_object_get(*row, "assigned")) -
                   json_integer_value(json_object_get(*row, "accepted")) -
                   json_integer_value(json_object_get(*row, "rejected"));
    if (accepted + rejected > open) {
        hy_fail(ctx, 422, "over_assigned", "accepted",
                "%s has %lld units of %s still to deliver; %lld accepted + %lld rejected is more",
                person_id, (long long)open, item, (long long)accepted, (long long)rejected);
        hy_fail_extra(ctx, "deliverable", json_integer(open));
        return -1;
    }
    return 0;
}

/* Moves the order, the member and the network by one delivery and builds its entry. */
static int s_apply_delivery(hy_ctx_t *ctx, json_t *order, json_t *line, json_t *row,
                            json_t *member, json_t *network, const json_t *args, json_t **entry)
{
    int64_t accepted = json_integer_value(json_object_get(args, "accepted"));
    int64_t rejected = json_integer_value(json_object_get(args, "rejected"));
    int64_t price = json_integer_value(json_object_get(line, "unit_price_rials"));
    int64_t bp = json_integer_value(json_object_get(network, "member_share_bp"));
    int64_t value, mine;
    if (__builtin_mul_overflow(accepted, price, &value))
        return hy_fail(ctx, 422, "value_too_large", "accepted",
                       "accepted x unit price does not fit in 64-bit rials");
    mine = s_share(value, bp);
    int status;
    if ((status = networks_bump(ctx, row, "accepted", accepted)) != 0 ||
        (status = networks_bump(ctx, row, "rejected", rejected)) != 0 ||
        (status = networks_bump(ctx, line, "accepted", accepted)) != 0 ||
        (status = networks_bump(ctx, line, "rejected", rejected)) != 0 ||
        (status = networks_bump(ctx, order, "accepted_value_rials", value)) != 0 ||
        (status = networks_bump(ctx, member, "accepted_quantity", accepted)) != 0 ||
        (status = networks_bump(ctx, member, "rejected_quantity", rejected)) != 0 ||
        (status = networks_bump(ctx, member, "earned_rials", mine)) != 0 ||
        (status = networks_bump(ctx, member, "balance_rials", mine)) != 0 ||
        (status = networks_figure_add(ctx, network, "delivered_value_rials", value)) != 0 ||
        (status = networks_figure_add(ctx, network, "earned_by_members_rials", mine)) != 0 ||
        (status = networks_figure_add(ctx, network, "owed_to_members_rials", mine)) != 0)
        return status;
    *entry = json_pack("{s:s,s:O,s:O,s:O,s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:O,s:O}", "kind",
                       "delivery", "network_id", json_object_get(order, "network_id"), "order_id",
                       json_object_get(order, "id"), "person_id",
                       json_object_get(args, "person_id"), "item", json_object_get(args, "item"),
                       "accepted", (json_int_t)accepted, "rejected", (json_int_t)rejected,
                       "unit_price_rials", (json_int_t)price, "value_rials", (json_int_t)value,
                       "member_share_bp", (json_int_t)bp, "member_value_rials", (json_int_t)mine,
                       "network_margin_rials", (json_int_t)(value - mine), "member_balance_rials",
                       json_object_get(member, "balance_rials"), "date",
                       json_object_get(args, "date"));
    return *entry ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* An order whose last units were accepted moves to fulfilled, with its event. */
static int s_fulfil(hy_ctx_t *ctx, json_t *order, json_t *network, const char *date)
{
    if (!networks_same(order, "status", "open") || !s_complete(order))
        return 0;
    json_object_set_new(order, "status", json_string("fulfilled"));
    json_object_set_new(order, "fulfilled_date", json_string(date));
    static const char *const dates[] = {"fulfilled_date", NULL};
    networks_jalali(order, dates);
    int status;
    if ((status = networks_figure_add(ctx, network, "orders_open", -1)) != 0 ||
        (status = networks_figure_add(ctx, network, "orders_fulfilled", 1)) != 0)
        return status;
    const char *id = hy_json_str(order, "id");
    return networks_emit(ctx, "networks.network.order_fulfilled", id, network,
                         json_pack("{s:s,s:O,s:O,s:O}", "order_id", id, "buyer_id",
                                   json_object_get(order, "buyer_id"), "value_rials",
                                   json_object_get(order, "value_rials"), "fulfilled_date",
                                   json_object_get(order, "fulfilled_date")));
}

int networks_delivery_record(hy_ctx_t *ctx, const char *order_id, json_t *args, json_t **out)
{
    json_t *order = NULL, *network = NULL, *member = NULL, *entry = NULL;
    json_t *line = NULL, *row = NULL;
    const char *person_id = hy_json_str(args, "person_id");
    uint64_t n, net, person = 0;
    int rc, status = networks_order_find(ctx, order_id, NULL, &n, &order);
    if (status)
        return status;
    if ((status = networks_network_find(ctx, json_string_value(json_object_get(order,
                                                                               "network_id")),
                                        NULL, &net, &network)) != 0 ||
        (status = s_check_delivery(ctx, order, args, &line, &row)) != 0)
        goto fail;
    /* An assignment exists only for a member, so the membership is there. */
    if ((rc = hy_id_parse("prs", person_id, &person) != 0
                  ? MDB_NOTFOUND
                  : networks_member_load(ctx, net, person, &member)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    const char *date = hy_json_str(args, "date"), *joined = hy_json_str(member, "joined");
    if (date && joined && strcmp(date, joined) < 0) {
        status = hy_fail(ctx, 422, "date_out_of_order", "date",
                         "%s joined this network on %s: a delivery cannot be dated %s", person_id,
                         joined, date);
        goto fail;
    }
    if ((status = s_apply_delivery(ctx, order, line, row, member, network, args, &entry)) != 0 ||
        (status = s_append(ctx, net, person, entry)) != 0 ||
        (status = s_fulfil(ctx, order, network,
                           hy_json_str(args, "date"))) != 0 ||
        (status = networks_order_save(ctx, n, order)) != 0 ||
        (status = networks_member_save(ctx, net, person, member)) != 0 ||
        (status = networks_network_save(ctx, net, network)) != 0)
        goto fail;
    json_object_set(entry, "order_status", json_object_get(order, "status"));
    if ((status = networks_emit(ctx, "networks.network.delivery_recorded", order_id, network,
                                json_deep_copy(entry))) != 0)
        goto fail;
    *out = entry;
    json_decref(order);
    json_decref(network);
    json_decref(member);
    return 0;
fail:
    json_decref(order);
    json_decref(network);
    json_decref(member);
    json_decref(entry);
    return status;
}

/* A buyer's payment against an order of the network. */
static int s_from_buyer(hy_ctx_t *ctx, json_t *network, const json_t *args, json_t *entry)
{
    const char *order_id = hy_json_str(args, "order_id");
    int64_t amount = json_integer_value(json_object_get(args, "amount_rials"));
    json_t *order = NULL;
    uint64_t n;
    if (!order_id)
        return hy_fail(ctx, 422, "missing_order_id", "order_id",
                       "a payment from a buyer is against one order");
    if (json_object_get(args, "person_id"))
        return hy_fail(ctx, 422, "unexpected_person_id", "person_id",
                       "a payment from a buyer names no member");
    int status = networks_order_find(ctx, order_id, "order_id", &n, &order);
    if (status)
        return status;
    int64_t value = json_integer_value(json_object_get(order, "value_rials"));
    int64_t paid = json_integer_value(json_object_get(order, "paid_rials"));
    if (!json_equal(json_object_get(order, "network_id"), json_object_get(network, "id"))) {
        status = hy_fail(ctx, 422, "unknown_order", "order_id", "order %s is not of network %s",
                         order_id, hy_json_str(network, "id"));
    } else if (amount > value - paid) {
        status = hy_fail(ctx, 422, "over_order_value", "amount_rials",
                         "order %s is worth %lld rials and %lld are paid: at most %lld more",
                         order_id, (long long)value, (long long)paid, (long long)(value - paid));
        hy_fail_extra(ctx, "payable_rials", json_integer(value - paid));
    } else if ((status = networks_bump(ctx, order, "paid_rials", amount)) == 0 &&
               (status = networks_order_save(ctx, n, order)) == 0 &&
               (status = networks_figure_add(ctx, network, "income_rials", amount)) == 0 &&
               (status = networks_figure_add(ctx, network, "balance_rials", amount)) == 0) {
        json_object_set(entry, "order_id", json_object_get(order, "id"));
        json_object_set(entry, "buyer_id", json_object_get(order, "buyer_id"));
        json_object_set(entry, "order_paid_rials", json_object_get(order, "paid_rials"));
    }
    json_decref(order);
    return status;
}

/* The money checks of a payment to a member: what they are owed, then the network's cash. */
static int s_check_to_member(hy_ctx_t *ctx, const json_t *network, const json_t *member,
                             const char *person_id, int64_t amount)
{
    int64_t owed = json_integer_value(json_object_get(member, "balance_rials"));
    int64_t cash = networks_figure(network, "balance_rials");
    if (amount > owed) {
        hy_fail(ctx, 422, "overpayment", "amount_rials",
                "%s is owed %lld rials by this network; %lld is more", person_id,
                (long long)owed, (long long)amount);
        hy_fail_extra(ctx, "owed_rials", json_integer(owed));
        return -1;
    }
    if (amount > cash) {
        hy_fail(ctx, 422, "insufficient_network_cash", "amount_rials",
                "the network holds %lld rials from buyers; it cannot pay %lld", (long long)cash,
                (long long)amount);
        hy_fail_extra(ctx, "balance_rials", json_integer(cash));
        return -1;
    }
    return 0;
}

/* A payment to a member (or former member) of what they earned. */
static int s_to_member(hy_ctx_t *ctx, uint64_t net, json_t *network, const json_t *args,
                       json_t *entry, uint64_t *person)
{
    const char *person_id = hy_json_str(args, "person_id");
    const char *order_id = hy_json_str(args, "order_id");
    int64_t amount = json_integer_value(json_object_get(args, "amount_rials"));
    json_t *member = NULL, *order = NULL;
    if (!person_id)
        return hy_fail(ctx, 422, "missing_person_id", "person_id",
                       "a payment to a member names the member");
    int status = order_id ? networks_order_find(ctx, order_id, "order_id", NULL, &order) : 0;
    bool other = order && !json_equal(json_object_get(order, "network_id"),
                                      json_object_get(network, "id"));
    json_decref(order);
    if (status)
        return status;
    if (other)
        return hy_fail(ctx, 422, "unknown_order", "order_id", "order %s is not of this network",
                       order_id);
    int rc = hy_id_parse("prs", person_id, person) != 0
                 ? MDB_NOTFOUND
                 : networks_member_load(ctx, net, *person, &member);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "not_a_member", "person_id",
                       "%s has never been a member of this network", person_id);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if ((status = s_check_to_member(ctx, network, member, person_id, amount)) == 0 &&
        (status = networks_bump(ctx, member, "paid_rials", amount)) == 0 &&
        (status = networks_bump(ctx, member, "balance_rials", -amount)) == 0 &&
        (status = networks_member_save(ctx, net, *person, member)) == 0 &&
        (status = networks_figure_add(ctx, network, "paid_to_members_rials", amount)) == 0 &&
        (status = networks_figure_add(ctx, network, "owed_to_members_rials", -amount)) == 0 &&
        (status = networks_figure_add(ctx, network, "balance_rials", -amount)) == 0) {
        json_object_set_new(entry, "person_id", json_string(person_id));
        if (order_id)
            json_object_set_new(entry, "order_id", json_string(order_id));
        json_object_set(entry, "member_balance_rials", json_object_get(member, "balance_rials"));
    }
    json_decref(member);
    return status;
}

int networks_payment_record(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **out)
{
    json_t *network = NULL, *entry = NULL;
    const char *direction = hy_json_str(args, "direction");
    uint64_t net, person = 0;
    int status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    if ((status = networks_not_future(ctx, hy_json_str(args, "date"),
                                      "date")) != 0)
        goto fail;
    entry = json_pack("{s:s,s:s,s:s,s:O,s:O}", "kind", "payment", "network_id", network_id,
                      "direction", direction, "amount_rials",
                      json_object_get(args, "amount_rials"), "date",
                      json_object_get(args, "date"));
    status = direction && strcmp(direction, "from_buyer") == 0
                 ? s_from_buyer(ctx, network, args, entry)
                 : s_to_member(ctx, net, network, args, entry, &person);
    if (status)
        goto fail;
    json_object_set_new(entry, "network_balance_rials",
                        json_integer(networks_figure(network, "balance_rials")));
    if ((status = s_append(ctx, net, person, entry)) != 0 ||
        (status = networks_network_save(ctx, net, network)) != 0 ||
        (status = networks_emit(ctx, "networks.network.payment_recorded", network_id, network,
                                json_deep_copy(entry))) != 0)
        goto fail;
    *out = entry;
    json_decref(network);
    return 0;
fail:
    json_decref(network);
    json_decref(entry);
    return status;
}

int networks_statement(hy_ctx_t *ctx, const char *network_id, const char *person_id,
                       uint64_t after, int limit, json_t **out)
{
    json_t *network = NULL, *member = NULL, *entries = NULL, *work = NULL;
    uint64_t net, person, next = 0;
    int status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    json_decref(network);
    int rc = hy_id_parse("prs", person_id ? person_id : "", &person) != 0
                 ? MDB_NOTFOUND
                 : networks_member_load(ctx, net, person, &member);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "person_id",
                       "%s has never been a member of this network", person_id ? person_id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    uint8_t key[18];
    hy_page_t page = {.db = networks_state(ctx)->ledger_idx,
                      .records = networks_state(ctx)->ledger,
                      .key = key,
                      .klen = networks_key_num('m', net, person, true, key)};
    if ((status = hy_page(ctx, &page, after, limit > 0 ? limit : STATEMENT_LIMIT, &entries,
                          &next)) != 0 ||
        (status = networks_order_work(ctx, net, person, person_id, &work)) != 0) {
        json_decref(member);
        json_decref(entries);
        return status;
    }
    char cursor[32];
    hy_cursor_format(next, cursor, sizeof cursor);
    json_object_set_new(member, "entries", entries);
    json_object_set_new(member, "next_cursor", next ? json_string(cursor) : json_null());
    json_object_set_new(member, "work", work);
    *out = member;
    return 0;
}

/* The ledger list's filters; the person, when given, is the index key itself. */
static bool s_keep(const json_t *entry, void *user)
{
    const networks_ledger_filter_t *f = user;
    return networks_same(entry, "kind", f->kind) && networks_same(entry, "order_id", f->order_id);
}

int networks_ledger_list(hy_ctx_t *ctx, const char *network_id, const networks_ledger_filter_t *f,
                         json_t **items, uint64_t *next)
{
    networks_t *st = networks_state(ctx);
    json_t *network = NULL;
    uint64_t net, person = 0;
    int status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    json_decref(network);
    bool by_person = f->person_id && *f->person_id;
    if (by_person && hy_id_parse("prs", f->person_id, &person) != 0) {
        *items = json_array();
        *next = 0;
        return 0;
    }
    uint8_t key[18];
    hy_page_t page = {.db = st->ledger_idx,
                      .records = st->ledger,
                      .key = key,
                      .klen = by_person ? networks_key_num('m', net, person, true, key)
                                        : networks_key_num('n', net, 0, false, key),
                      .keep = s_keep,
                      .user = (void *)f};
    return hy_page(ctx, &page, f->after, f->limit, items, next);
}
