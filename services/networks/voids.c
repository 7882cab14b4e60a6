/*
 * voids.c — voiding a ledger entry recorded by mistake: a delivery or a payment (issue 15; the
 * bookkeeping is shared/correct.h's, Fineract's undo is the model).
 *
 * A voided entry stays in the ledger and the statements, readable, with voided:true, who, when
 * and why, and counts nowhere: everything it moved is moved back in the same transaction, so
 * the figures stay what re-deriving them from the live entries gives.
 *   delivery   the assignment row, the item line and the order give back its accepted and
 *              rejected units (they may be delivered again; a fulfilled order opens again);
 *              the member's earned and balance, and the network's delivered value, members'
 *              earnings and what it owes them lose its value. Refused 409 already_paid when
 *              the member's balance is less than its member value: she has been paid it, void
 *              that payment first (no balance ever goes below zero).
 *   from_buyer the order's paid_rials, the network's income and cash lose the amount. Refused
 *              409 insufficient_network_cash when the network no longer holds it (paid out).
 *   to_member  the member is owed the amount again; the network's cash gets it back.
 * A money reversal needs a second key (maker-checker, as loan approval): the key that recorded
 * the entry cannot void it (422 same_approver). Allowed to the network's office (or the
 * province) and operators. Emits networks.network.delivery_voided or payment_voided with
 * {id: entry number, before, reason, voided_by, voided_at} and the network's grouping keys.
 */
#include <stdlib.h>
#include <string.h>

#include "correct.h"
#include "json.h"
#include "networks.h"

/* Loads the entry named in the path; 404 not_found when it is not this network's. */
static int s_load(hy_ctx_t *ctx, const char *network_id, const char *text, uint64_t *n,
                  json_t **entry)
{
    char *end = NULL;
    unsigned long long num = text && *text ? strtoull(text, &end, 10) : 0;
    int rc = num && end && !*end ? hy_store_get_id(ctx->txn, networks_state(ctx)->ledger,
                                                   (uint64_t)num, entry)
                                 : MDB_NOTFOUND;
    if (rc == 0 && !networks_same(*entry, "network_id", network_id)) {
        json_decref(*entry);
        *entry = NULL;
        rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "entry", "network %s has no ledger entry %s",
                       network_id, text ? text : "");
    *n = (uint64_t)num;
    return hy_mdb_status(ctx, rc);
}

/* The member of the entry (net, its person): 0 with *person and *member, or a status. */
static int s_member(hy_ctx_t *ctx, uint64_t net, const json_t *entry, uint64_t *person,
                    json_t **member)
{
    int rc = hy_id_parse("prs", hy_json_str(entry, "person_id"), person) != 0
                 ? MDB_NOTFOUND
                 : networks_member_load(ctx, net, *person, member);
    return rc ? hy_fail_mdb(ctx, rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc) : 0;
}

/* Gives back one delivery. */
static int s_undo_delivery(hy_ctx_t *ctx, uint64_t net, json_t *network, const json_t *entry)
{
    int64_t accepted = hy_json_int(entry, "accepted", 0), rejected = hy_json_int(entry, "rejected", 0);
    int64_t value = hy_json_int(entry, "value_rials", 0);
    int64_t mine = hy_json_int(entry, "member_value_rials", 0);
    const char *person_id = hy_json_str(entry, "person_id"), *item = hy_json_str(entry, "item");
    json_t *order = NULL, *member = NULL;
    uint64_t on, person;
    int status = networks_order_find(ctx, hy_json_str(entry, "order_id"), "order_id", &on, &order);
    if (status || (status = s_member(ctx, net, entry, &person, &member)) != 0)
        goto done;
    if (hy_json_int(member, "balance_rials", 0) < mine) {
        status = hy_fail(ctx, 409, "already_paid", "entry",
                         "%s has been paid part of this delivery's %lld rials; void that payment "
                         "first", person_id, (long long)mine);
        goto done;
    }
    json_t *line = networks_order_item(order, item);
    json_t *row = networks_order_assignment(order, person_id, item);
    if (!line || !row) {
        status = hy_fail_mdb(ctx, MDB_CORRUPTED);
        goto done;
    }
    bool was_fulfilled = networks_same(order, "status", "fulfilled");
    if ((status = networks_bump(ctx, row, "accepted", -accepted)) != 0 ||
        (status = networks_bump(ctx, row, "rejected", -rejected)) != 0 ||
        (status = networks_bump(ctx, line, "accepted", -accepted)) != 0 ||
        (status = networks_bump(ctx, line, "rejected", -rejected)) != 0 ||
        (status = networks_bump(ctx, order, "accepted_value_rials", -value)) != 0 ||
        (status = networks_bump(ctx, member, "accepted_quantity", -accepted)) != 0 ||
        (status = networks_bump(ctx, member, "rejected_quantity", -rejected)) != 0 ||
        (status = networks_bump(ctx, member, "earned_rials", -mine)) != 0 ||
        (status = networks_bump(ctx, member, "balance_rials", -mine)) != 0 ||
        (status = networks_figure_add(ctx, network, "delivered_value_rials", -value)) != 0 ||
        (status = networks_figure_add(ctx, network, "earned_by_members_rials", -mine)) != 0 ||
        (status = networks_figure_add(ctx, network, "owed_to_members_rials", -mine)) != 0)
        goto done;
    if (was_fulfilled && accepted > 0) {   /* it lacks these units again */
        json_object_set_new(order, "status", json_string("open"));
        json_object_del(order, "fulfilled_date");
        json_object_del(order, "fulfilled_date_jalali");
        if ((status = networks_figure_add(ctx, network, "orders_open", 1)) != 0 ||
            (status = networks_figure_add(ctx, network, "orders_fulfilled", -1)) != 0)
            goto done;
    }
    if ((status = networks_order_save(ctx, on, order)) == 0)
        status = networks_member_save(ctx, net, person, member);
done:
    json_decref(order);
    json_decref(member);
    return status;
}

/* Gives back one payment. */
static int s_undo_payment(hy_ctx_t *ctx, uint64_t net, json_t *network, const json_t *entry)
{
    int64_t amount = hy_json_int(entry, "amount_rials", 0);
    json_t *order = NULL, *member = NULL;
    uint64_t on, person;
    int status;
    if (networks_same(entry, "direction", "from_buyer")) {
        int64_t cash = networks_figure(network, "balance_rials");
        if (amount > cash) {
            hy_fail(ctx, 409, "insufficient_network_cash", "entry",
                    "the network holds %lld rials; it has paid out the %lld this payment "
                    "brought: void those payments first", (long long)cash, (long long)amount);
            hy_fail_extra(ctx, "balance_rials", json_integer(cash));
            return -1;
        }
        if ((status = networks_order_find(ctx, hy_json_str(entry, "order_id"), "order_id", &on,
                                          &order)) == 0 &&
            (status = networks_bump(ctx, order, "paid_rials", -amount)) == 0 &&
            (status = networks_order_save(ctx, on, order)) == 0 &&
            (status = networks_figure_add(ctx, network, "income_rials", -amount)) == 0)
            status = networks_figure_add(ctx, network, "balance_rials", -amount);
        json_decref(order);
        return status;
    }
    if ((status = s_member(ctx, net, entry, &person, &member)) == 0 &&
        (status = networks_bump(ctx, member, "paid_rials", -amount)) == 0 &&
        (status = networks_bump(ctx, member, "balance_rials", amount)) == 0 &&
        (status = networks_member_save(ctx, net, person, member)) == 0 &&
        (status = networks_figure_add(ctx, network, "paid_to_members_rials", -amount)) == 0 &&
        (status = networks_figure_add(ctx, network, "owed_to_members_rials", amount)) == 0)
        status = networks_figure_add(ctx, network, "balance_rials", amount);
    json_decref(member);
    return status;
}

int networks_entry_void(hy_ctx_t *ctx, const char *network_id, const char *entry_id,
                        const char *reason, json_t **out)
{
    json_t *network = NULL, *entry = NULL, *data = NULL;
    uint64_t net, n = 0;
    int rc, status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    if ((status = s_load(ctx, network_id, entry_id, &n, &entry)) != 0 ||
        (status = hy_correct_check_live(ctx, entry, "ledger entry")) != 0 ||
        (status = hy_correct_check_checker(ctx, entry, "ledger entry")) != 0)
        goto fail;
    bool delivery = networks_same(entry, "kind", "delivery");
    if ((status = delivery ? s_undo_delivery(ctx, net, network, entry)
                           : s_undo_payment(ctx, net, network, entry)) != 0)
        goto fail;
    /* The shared bookkeeping, with the entry number as the event data's id. */
    json_object_set_new(entry, "id", json_integer((json_int_t)n));
    status = hy_correct_void(ctx, entry, reason, &data);
    json_object_del(entry, "id");
    json_object_del(json_object_get(data, "before"), "id");
    if (status)
        goto fail;
    if ((rc = hy_store_put_id(ctx->txn, networks_state(ctx)->ledger, n, entry)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = networks_network_save(ctx, net, network)) != 0)
        goto fail;
    status = networks_emit(ctx, delivery ? "networks.network.delivery_voided"
                                         : "networks.network.payment_voided",
                           network_id, network, data);
    data = NULL;   /* networks_emit took it */
    if (status)
        goto fail;
    *out = entry;
    json_decref(network);
    return 0;
fail:
    json_decref(network);
    json_decref(entry);
    json_decref(data);
    return status;
}
