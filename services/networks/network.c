/*
 * network.c — networks: creating one under its lead, changing it (name, activity, status, the
 * member share, the lead), reading it with its members and figures, and listing them.
 *
 * The lead (پیشران) is a registered person who owns the registered business given with them
 * (422 unknown_person, unknown_business, business_not_owned). Becoming a lead is an event other
 * services use (the loans approval queue puts leads first): networks.network.created carries
 * lead_person_id, and a change of lead emits networks.network.lead_assigned {network_id,
 * lead_person_id, previous_lead_person_id}.
 *
 * Status: active (takes new members, orders and assignments), suspended (takes none until made
 * active again), closed (final: 409 network_closed for any change). Deliveries and payments on
 * work already given are accepted in every status, so that members are always paid what they
 * earned.
 *
 * The network record carries its figures, kept in the same transaction as every change that
 * moves them (members.c, orders.c, ledger.c): members (ever), active_members, orders_open,
 * orders_fulfilled, delivered_value_rials, earned_by_members_rials, income_rials (paid by
 * buyers), paid_to_members_rials, balance_rials (income - paid) and owed_to_members_rials
 * (earned - paid). Tests re-derive each of them from the ledger.
 */
#include <string.h>

#include "json.h"
#include "networks.h"
#include "page.h"
#include "scope.h"

static const char *const s_figures[] = {
    "members",          "active_members",          "orders_open",
    "orders_fulfilled", "delivered_value_rials",   "earned_by_members_rials",
    "income_rials",     "paid_to_members_rials",   "balance_rials",
    "owed_to_members_rials", NULL,
};

int networks_network_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **network)
{
    uint64_t num;
    if (!id || hy_id_parse("net", id, &num) != 0)
        return MDB_NOTFOUND;
    int rc = hy_store_get_id(ctx->txn, networks_state(ctx)->networks, num, network);
    if (rc == 0 && n)
        *n = num;
    return rc;
}

int networks_network_find(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                          json_t **network)
{
    int rc = networks_network_load(ctx, id, n, network);
    if (rc == MDB_NOTFOUND && field)
        return hy_fail(ctx, 422, "unknown_network", field, "no network has the id %s",
                       id ? id : "");
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no network has the id %s", id ? id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int status = hy_scope_write(ctx, field ? field : "id", hy_json_str(*network, "office"));
    if (status) {
        json_decref(*network);
        *network = NULL;
    }
    return status;
}

int networks_network_save(hy_ctx_t *ctx, uint64_t n, json_t *network)
{
    json_object_set_new(network, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_id(ctx->txn, networks_state(ctx)->networks, n, network);
    return hy_mdb_status(ctx, rc);
}

int networks_network_open_for_work(hy_ctx_t *ctx, const json_t *network)
{
    const char *status = hy_json_str(network, "status");
    if (status && strcmp(status, "active") == 0)
        return 0;
    return hy_fail(ctx, 409, "network_not_active", "id",
                   "network %s is %s and takes no new members, orders or assignments",
                   hy_json_str(network, "id"), status ? status : "?");
}

int64_t networks_figure(const json_t *network, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(network, "figures"), key));
}

int networks_figure_add(hy_ctx_t *ctx, json_t *network, const char *key, int64_t delta)
{
    return networks_bump(ctx, json_object_get(network, "figures"), key, delta);
}

/* Index entries of a network: office, field and lead. */
static int s_index(hy_ctx_t *ctx, uint64_t n, const json_t *network, bool put)
{
    MDB_dbi idx = networks_state(ctx)->network_idx;
    char keys[3][512];
    size_t lens[3] = {0};
    uint64_t lead;
    lens[0] = networks_key_text('o', hy_json_str(network, "office"),
                                keys[0], sizeof keys[0]);
    lens[1] = networks_key_text('f', hy_json_str(network, "field"),
                                keys[1], sizeof keys[1]);
    if (hy_id_parse("prs", hy_json_str(network, "lead_person_id"),
                    &lead) == 0)
        lens[2] = networks_key_num('l', lead, 0, false, (uint8_t *)keys[2]);
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++)
        if (lens[i])
            rc = put ? hy_index_put(ctx->txn, idx, keys[i], lens[i], n)
                     : hy_index_del(ctx->txn, idx, keys[i], lens[i], n);
    return rc;
}

/* The lead rule: a registered person owning the registered business. *person (when not NULL)
 * gets the lead's projection record. */
static int s_check_lead(hy_ctx_t *ctx, const char *person_id, const char *business_id,
                        json_t **person)
{
    json_t *owner = NULL;
    int status = networks_person(ctx, person_id, "lead_person_id", NULL, person);
    if (status == 0)
        status = networks_business(ctx, business_id, "lead_business_id", &owner);
    const char *owner_id = json_string_value(owner);
    if (status == 0 && !(owner_id && strcmp(owner_id, person_id) == 0))
        status = hy_fail(ctx, 422, "business_not_owned", "lead_business_id",
                         "business %s belongs to %s, not to the lead %s", business_id,
                         owner_id ? owner_id : "nobody", person_id);
    json_decref(owner);
    if (status && person) {
        json_decref(*person);
        *person = NULL;
    }
    return status;
}

int networks_network_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    networks_t *st = networks_state(ctx);
    const char *lead_id = hy_json_str(args, "lead_person_id");
    const char *business_id = hy_json_str(args, "lead_business_id");
    json_t *lead = NULL, *network = NULL;
    int rc, status = s_check_lead(ctx, lead_id, business_id, &lead);
    if (status)
        return status;
    const char *office = hy_json_str(args, "office");
    if (!office || !*office)
        office = ctx->req && ctx->req->actor.office && *ctx->req->actor.office
                     ? ctx->req->actor.office
                     : hy_json_str(lead, "office");
    if (!office || !*office) {
        status = hy_fail(ctx, 422, "missing_office", "office",
                         "no office given, the caller acts for none and the lead has none");
        goto fail;
    }
    if ((status = hy_scope_write(ctx, "office", office)) != 0)
        goto fail;
    json_t *share = json_object_get(args, "member_share_bp");
    uint64_t n;
    char id[32];
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "network", &n))) != 0)
        goto fail;
    hy_id_format("net", n, id, sizeof id);
    network = json_pack("{s:s,s:O,s:O,s:O,s:s,s:s,s:s,s:s,s:I,s:s}", "id", id, "name",
                        json_object_get(args, "name"), "field", json_object_get(args, "field"),
                        "activity", json_object_get(args, "activity"), "office", office,
                        "lead_person_id", lead_id, "lead_business_id", business_id, "status",
                        "active", "member_share_bp",
                        (json_int_t)(share ? json_integer_value(share)
                                           : NETWORKS_DEFAULT_SHARE_BP),
                        "date", ctx->today);
    if (!network) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto fail;
    }
    json_t *figures = json_object();
    for (const char *const *f = s_figures; *f; f++)
        json_object_set_new(figures, *f, json_integer(0));
    json_object_set_new(network, "figures", figures);
    static const char *const dates[] = {"date", NULL};
    networks_jalali(network, dates);
    networks_stamp(ctx, network);
    if ((rc = hy_store_put_id(ctx->txn, st->networks, n, network)) != 0 ||
        (rc = s_index(ctx, n, network, true)) != 0)
        status = hy_fail_mdb(ctx, rc);
    else if ((status = networks_emit(ctx, "networks.network.created", id, network,
                                     json_deep_copy(network))) == 0)
        *out = json_incref(network);
fail:
    json_decref(lead);
    json_decref(network);
    return status;
}

/* A member as shown inside its network: who, role, state and what they are owed. */
static int s_member_summary(hy_ctx_t *ctx, uint64_t person, void *user, json_t **rec)
{
    json_t *member = NULL;
    int rc = networks_member_load(ctx, *(uint64_t *)user, person, &member);
    if (rc)
        return rc;
    static const char *const keep[] = {"person_id", "role", "status", "joined", "left",
                                       "balance_rials", NULL};
    *rec = json_object();
    for (const char *const *k = keep; *k; k++) {
        json_t *v = json_object_get(member, *k);
        if (v)
            json_object_set(*rec, *k, v);
    }
    json_decref(member);
    return 0;
}

/* GET shows up to this many members inline; GET .../members pages through all of them. */
#define INLINE_MEMBERS 500

int networks_network_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    json_t *network = NULL, *members = NULL;
    uint64_t n, next = 0;
    int status = networks_network_find(ctx, id, NULL, &n, &network);
    if (status)
        return status;
    uint8_t key[18];
    hy_page_t page = {.db = networks_state(ctx)->member_idx,
                      .key = key,
                      .klen = networks_key_num('n', n, 0, false, key),
                      .load = s_member_summary,
                      .user = &n};
    status = hy_page(ctx, &page, 0, INLINE_MEMBERS, &members, &next);
    if (status != 0) {
        json_decref(network);
        return status;
    }
    json_object_set_new(network, "members", members);
    json_object_set_new(network, "members_truncated", json_boolean(next != 0));
    *out = network;
    return 0;
}

/* A change of lead (both ids given, or only a business of the current lead). *previous gets the
 * previous lead's id when the person changed (new reference), else NULL. */
static int s_set_lead(hy_ctx_t *ctx, json_t *network, json_t *args, json_t **previous)
{
    const char *person = hy_json_str(args, "lead_person_id");
    const char *business = hy_json_str(args, "lead_business_id");
    const char *current = hy_json_str(network, "lead_person_id");
    *previous = NULL;
    if (!person && !business)
        return 0;
    bool new_person = person && (!current || strcmp(person, current) != 0);
    if (new_person && !business)
        return hy_fail(ctx, 422, "missing_lead_business", "lead_business_id",
                       "a new lead comes with the registered business they own");
    if (!person)
        person = current;
    int status = s_check_lead(ctx, person, business, NULL);
    if (status)
        return status;
    if (new_person)
        *previous = json_incref(json_object_get(network, "lead_person_id"));
    json_object_set_new(network, "lead_person_id", json_string(person));
    json_object_set_new(network, "lead_business_id", json_string(business));
    return 0;
}

/* Records {"from","to"} in changes for every listed key that differs between old and new. */
static void s_diff(json_t *changes, const json_t *old, const json_t *new)
{
    static const char *const keys[] = {"name", "activity", "status", "member_share_bp",
                                       "lead_person_id", "lead_business_id", NULL};
    for (const char *const *k = keys; *k; k++) {
        json_t *from = json_object_get(old, *k), *to = json_object_get(new, *k);
        if (!json_equal(from, to))
            json_object_set_new(changes, *k, json_pack("{s:O,s:O}", "from", from, "to", to));
    }
}

/* The events of an update: updated with the changes, and lead_assigned for a new lead. */
static int s_emit_update(hy_ctx_t *ctx, const json_t *network, json_t *changes, json_t *previous)
{
    const char *id = hy_json_str(network, "id");
    int status = networks_emit(ctx, "networks.network.updated", id, network,
                               json_pack("{s:O,s:O}", "changes", changes, "network", network));
    if (status == 0 && previous)
        status = networks_emit(
            ctx, "networks.network.lead_assigned", id, network,
            json_pack("{s:O,s:O,s:O,s:s}", "lead_person_id",
                      json_object_get(network, "lead_person_id"), "previous_lead_person_id",
                      previous, "lead_business_id", json_object_get(network, "lead_business_id"),
                      "date", ctx->today));
    return status;
}

int networks_network_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *old = NULL, *network = NULL, *changes = NULL, *previous = NULL;
    uint64_t n;
    int rc, status = networks_network_find(ctx, id, NULL, &n, &old);
    if (status)
        return status;
    if (networks_same(old, "status", "closed")) {
        status = hy_fail(ctx, 409, "network_closed", "status",
                         "network %s is closed and cannot change", id);
        goto fail;
    }
    network = json_deep_copy(old);
    static const char *const plain[] = {"name", "activity", "member_share_bp", NULL};
    for (const char *const *k = plain; *k; k++) {
        json_t *v = json_object_get(args, *k);
        if (v)
            json_object_set(network, *k, v);
    }
    json_t *to = json_object_get(args, "status");
    if (to)
        json_object_set(network, "status", to);
    if ((status = s_set_lead(ctx, network, args, &previous)) != 0)
        goto fail;
    changes = json_object();
    s_diff(changes, old, network);
    if (json_object_size(changes) > 0) {
        if ((rc = s_index(ctx, n, old, false)) != 0 || (rc = s_index(ctx, n, network, true)) != 0) {
            status = hy_fail_mdb(ctx, rc);
            goto fail;
        }
        if ((status = networks_network_save(ctx, n, network)) != 0 ||
            (status = s_emit_update(ctx, network, changes, previous)) != 0)
            goto fail;
    }
    *out = network;
    json_decref(old);
    json_decref(changes);
    json_decref(previous);
    return 0;
fail:
    json_decref(old);
    json_decref(network);
    json_decref(changes);
    json_decref(previous);
    return status;
}

/* Every filter of the list; the index walked covers at most one of them. */
static bool s_keep(const json_t *network, void *user)
{
    const networks_filter_t *f = user;
    return networks_same(network, "office", f->office) &&
           networks_same(network, "field", f->field) &&
           networks_same(network, "lead_person_id", f->lead_person_id) &&
           networks_same(network, "status", f->status);
}

int networks_network_list(hy_ctx_t *ctx, const networks_filter_t *asked, json_t **items,
                          uint64_t *next)
{
    networks_t *st = networks_state(ctx);
    networks_filter_t mine = *asked, *f = &mine;
    const char *confined = hy_scope_office(ctx);
    if (confined) {   /* an office key lists its own office's networks */
        if (f->office && *f->office && !hy_scope_same(confined, f->office))
            return hy_scope_write(ctx, "office", f->office);
        f->office = confined;
    }
    uint8_t lkey[18];
    char key[512];
    uint64_t lead;
    hy_page_t page = {.db = st->networks, .records = st->networks, .keep = s_keep,
                      .user = (void *)f};
    if (f->lead_person_id && *f->lead_person_id) {
        if (hy_id_parse("prs", f->lead_person_id, &lead) != 0) {
            *items = json_array();
            *next = 0;
            return 0;
        }
        page.klen = networks_key_num('l', lead, 0, false, lkey);
        page.key = lkey;
    } else if ((f->office && *f->office &&
                (page.klen = networks_key_text('o', f->office, key, sizeof key))) ||
               (f->field && *f->field &&
                (page.klen = networks_key_text('f', f->field, key, sizeof key)))) {
        page.key = key;
    }
    if (page.key)
        page.db = st->network_idx;
    return hy_page(ctx, &page, f->after, f->limit, items, next);
}
