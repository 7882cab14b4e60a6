/*
 * merge.c — memberships follow a merge of two persons (registry.person.merged {id, into, date}).
 *
 * Two records of one woman become one in the registry; in every network where the retired id
 * is a member, her membership becomes the survivor's, with everything under it: her work on
 * the network's orders (assignment rows) and her ledger entries (deliveries, payments), whose
 * person_id changes and whose index entries move. When the survivor is a member of the same
 * network already, the two memberships become one: earned, paid, balance and quantities add
 * up, the periods are kept side by side, the earlier join date stays, it is active when either
 * was (the network's member counts drop by the one person fewer), and assignment rows of one
 * item on one order add up into one row. Each network emits networks.network.member_merged
 * {person_id: survivor, merged_from} so reporting counts her once. A network she leads is led
 * by the survivor (networks.network.lead_assigned). All of it happens in the
 * follow transaction that advances the registry cursor: applied once, replayed never.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "networks.h"

/* An LMDB-style code for the follow loop from a failed domain call. */
static int s_rc(hy_ctx_t *ctx, int status)
{
    return status == 0 ? 0 : ctx->mdb_rc ? ctx->mdb_rc : MDB_CORRUPTED;
}

static int s_collect(MDB_txn *txn, uint64_t id, void *user)
{
    (void)txn;
    return json_array_append_new(user, json_integer((json_int_t)id)) == 0 ? 1 : ENOMEM;
}

/* The u64 ids an index key lists, as a new array of integers (NULL: out of memory). */
static int s_ids(hy_ctx_t *ctx, MDB_dbi idx, const uint8_t *key, size_t klen, json_t **ids)
{
    uint64_t next;
    if (!(*ids = json_array()))
        return ENOMEM;
    return hy_store_page(ctx->txn, idx, key, klen, 0, INT32_MAX, s_collect, *ids, &next);
}

/* Moves one index entry key(from) -> id to key(into) -> id. */
static int s_move_index(hy_ctx_t *ctx, MDB_dbi idx, char tag, uint64_t a, uint64_t from,
                        uint64_t into, bool two, uint64_t id)
{
    uint8_t key[18];
    size_t klen = two ? networks_key_num(tag, a, from, true, key)
                      : networks_key_num(tag, from, 0, false, key);
    int rc = hy_index_del(ctx->txn, idx, key, klen, id);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    klen = two ? networks_key_num(tag, a, into, true, key) : networks_key_num(tag, into, 0, false, key);
    return hy_index_put(ctx->txn, idx, key, klen, id);
}

/* The survivor's rows of one order take over the retired id's. */
static int s_order(hy_ctx_t *ctx, uint64_t n, const char *from, const char *into)
{
    networks_t *st = networks_state(ctx);
    json_t *order = NULL, *rows, *row;
    int rc = hy_store_get_id(ctx->txn, st->orders, n, &order);
    if (rc)
        return rc;
    rows = json_object_get(order, "assignments");
    for (size_t i = 0; i < json_array_size(rows);) {
        row = json_array_get(rows, i);
        if (!networks_same(row, "person_id", from)) {
            i++;
            continue;
        }
        json_t *mine = networks_order_assignment(order, into, hy_json_str(row, "item"));
        if (!mine) {
            json_object_set_new(row, "person_id", json_string(into));
            i++;
            continue;
        }
        static const char *const keys[] = {"assigned", "accepted", "rejected"};
        for (size_t k = 0; k < 3 && rc == 0; k++)
            rc = s_rc(ctx, networks_bump(ctx, mine, keys[k], hy_json_int(row, keys[k], 0)));
        if (rc)
            break;
        json_array_remove(rows, i);
    }
    if (rc == 0)
        rc = s_rc(ctx, networks_order_save(ctx, n, order));
    json_decref(order);
    return rc;
}

/* The retired id's ledger entries in network net become the survivor's. */
static int s_ledger(hy_ctx_t *ctx, uint64_t net, uint64_t from, uint64_t into, const char *into_id)
{
    networks_t *st = networks_state(ctx);
    uint8_t key[18];
    json_t *ids = NULL, *num;
    size_t i;
    int rc = s_ids(ctx, st->ledger_idx, key, networks_key_num('m', net, from, true, key), &ids);
    json_array_foreach(ids, i, num) {
        uint64_t e = (uint64_t)json_integer_value(num);
        json_t *entry = NULL;
        if (rc || (rc = hy_store_get_id(ctx->txn, st->ledger, e, &entry)) != 0)
            break;
        json_object_set_new(entry, "person_id", json_string(into_id));
        rc = hy_store_put_id(ctx->txn, st->ledger, e, entry);
        json_decref(entry);
        if (rc == 0)
            rc = s_move_index(ctx, st->ledger_idx, 'm', net, from, into, true, e);
    }
    json_decref(ids);
    return rc;
}

/* The retired id's work on the network's orders becomes the survivor's. */
static int s_work(hy_ctx_t *ctx, uint64_t net, uint64_t from, uint64_t into, const char *from_id,
                  const char *into_id)
{
    networks_t *st = networks_state(ctx);
    uint8_t key[18];
    json_t *ids = NULL, *num;
    size_t i;
    int rc = s_ids(ctx, st->order_idx, key, networks_key_num('a', net, from, true, key), &ids);
    json_array_foreach(ids, i, num) {
        uint64_t o = (uint64_t)json_integer_value(num);
        if (rc || (rc = s_order(ctx, o, from_id, into_id)) != 0 ||
            (rc = s_move_index(ctx, st->order_idx, 'a', net, from, into, true, o)) != 0)
            break;
    }
    json_decref(ids);
    return rc;
}

/* Adds the retired membership mf into the survivor's mi (both of network), as the top says. */
static int s_combine(hy_ctx_t *ctx, json_t *network, json_t *mi, const json_t *mf)
{
    static const char *const sums[] = {"earned_rials", "paid_rials", "balance_rials",
                                       "accepted_quantity", "rejected_quantity"};
    int status = 0;
    for (size_t k = 0; k < sizeof sums / sizeof sums[0] && status == 0; k++)
        status = networks_bump(ctx, mi, sums[k], hy_json_int(mf, sums[k], 0));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(mf, "periods"), i, p)
        json_array_append(json_object_get(mi, "periods"), p);
    const char *jf = hy_json_str(mf, "joined"), *ji = hy_json_str(mi, "joined");
    if (jf && (!ji || strcmp(jf, ji) < 0)) {
        json_object_set(mi, "joined", json_object_get(mf, "joined"));
        json_object_set(mi, "joined_jalali", json_object_get(mf, "joined_jalali"));
    }
    if (hy_json_true(mf, "job_created"))
        json_object_set_new(mi, "job_created", json_true());
    bool fa = networks_same(mf, "status", "active"), ia = networks_same(mi, "status", "active");
    if (fa && !ia) {
        json_object_set_new(mi, "status", json_string("active"));
        json_object_del(mi, "left");
        json_object_del(mi, "left_jalali");
    }
    if (status == 0 && fa && ia)
        status = networks_figure_add(ctx, network, "active_members", -1);
    if (status == 0)
        status = networks_figure_add(ctx, network, "members", -1);
    return status;
}

/* One network where the retired id is a member. */
static int s_membership(hy_ctx_t *ctx, uint64_t net, uint64_t from, uint64_t into,
                        const char *from_id, const char *into_id)
{
    networks_t *st = networks_state(ctx);
    json_t *network = NULL, *mf = NULL, *mi = NULL, *merged;
    uint8_t key[18];
    int rc;
    if ((rc = hy_store_get_id(ctx->txn, st->networks, net, &network)) != 0 ||
        (rc = networks_member_load(ctx, net, from, &mf)) != 0)
        goto done;
    rc = networks_member_load(ctx, net, into, &mi);
    if (rc == MDB_NOTFOUND) {
        mi = json_incref(mf);
        json_object_set_new(mi, "person_id", json_string(into_id));
        rc = hy_index_put(ctx->txn, st->member_idx, key, networks_key_num('n', net, 0, false, key),
                          into);
        if (rc == 0)
            rc = hy_index_put(ctx->txn, st->member_idx, key,
                              networks_key_num('p', into, 0, false, key), net);
    } else if (rc == 0) {
        rc = s_rc(ctx, s_combine(ctx, network, mi, mf));
    }
    if (rc)
        goto done;
    if (!json_is_array(merged = json_object_get(mi, "merged_from")))
        json_object_set_new(mi, "merged_from", merged = json_array());
    json_array_append_new(merged, json_string(from_id));
    MDB_val k = {networks_key_num('m', net, from, true, key), key};
    if ((rc = mdb_del(ctx->txn, st->members, &k, NULL)) != 0 ||
        (rc = hy_index_del(ctx->txn, st->member_idx, key,
                           networks_key_num('n', net, 0, false, key), from)) != 0 ||
        (rc = hy_index_del(ctx->txn, st->member_idx, key,
                           networks_key_num('p', from, 0, false, key), net)) != 0 ||
        (rc = s_rc(ctx, networks_member_save(ctx, net, into, mi))) != 0 ||
        (rc = s_work(ctx, net, from, into, from_id, into_id)) != 0 ||
        (rc = s_ledger(ctx, net, from, into, into_id)) != 0 ||
        (rc = s_rc(ctx, networks_network_save(ctx, net, network))) != 0)
        goto done;
    rc = s_rc(ctx, networks_emit(ctx, "networks.network.member_merged",
                                 hy_json_str(network, "id"), network,
                                 json_pack("{s:s,s:s,s:O}", "person_id", into_id, "merged_from",
                                           from_id, "status", json_object_get(mi, "status"))));
done:
    json_decref(network);
    json_decref(mf);
    json_decref(mi);
    return rc;
}

/* A network the retired id leads is led by the survivor: networks.network.lead_assigned, as a
 * change of lead by hand says it (the lead's business stays: it is the same woman's). Networks
 * are few and merges rare, so every network is read rather than indexed by lead. */
static int s_leads(hy_ctx_t *ctx, const char *from_id, const char *into_id)
{
    networks_t *st = networks_state(ctx);
    json_t *ids = NULL, *num;
    size_t i;
    uint64_t next;
    if (!(ids = json_array()))
        return ENOMEM;
    int rc = hy_store_page(ctx->txn, st->networks, NULL, 0, 0, INT32_MAX, s_collect, ids, &next);
    json_array_foreach(ids, i, num) {
        uint64_t n = (uint64_t)json_integer_value(num);
        json_t *network = NULL;
        if (rc || (rc = hy_store_get_id(ctx->txn, st->networks, n, &network)) != 0)
            break;
        if (networks_same(network, "lead_person_id", from_id)) {
            json_object_set_new(network, "lead_person_id", json_string(into_id));
            if ((rc = s_rc(ctx, networks_network_save(ctx, n, network))) == 0)
                rc = s_rc(ctx, networks_emit(
                    ctx, "networks.network.lead_assigned", hy_json_str(network, "id"), network,
                    json_pack("{s:s,s:s,s:O,s:s}", "lead_person_id", into_id,
                              "previous_lead_person_id", from_id, "lead_business_id",
                              json_object_get(network, "lead_business_id"), "date", ctx->today)));
        }
        json_decref(network);
    }
    json_decref(ids);
    return rc;
}

int networks_merge_apply(hy_ctx_t *ctx, const json_t *data)
{
    const char *from_id = hy_json_str(data, "id"), *into_id = hy_json_str(data, "into");
    uint64_t from, into;
    if (!from_id || !into_id || hy_id_parse("prs", from_id, &from) != 0 ||
        hy_id_parse("prs", into_id, &into) != 0 || from == into)
        return 0;
    uint8_t key[18];
    json_t *nets = NULL, *num;
    size_t i;
    int rc = s_ids(ctx, networks_state(ctx)->member_idx, key,
                   networks_key_num('p', from, 0, false, key), &nets);
    json_array_foreach(nets, i, num)
        if (rc == 0)
            rc = s_membership(ctx, (uint64_t)json_integer_value(num), from, into, from_id, into_id);
    json_decref(nets);
    return rc ? rc : s_leads(ctx, from_id, into_id);
}
