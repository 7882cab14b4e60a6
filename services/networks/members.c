/*
 * members.c — the home producers of a network: joining, leaving, listing.
 *
 * A member is a registered person with a role (producer, supervisor, trainer), skills and a
 * join date; a person may belong to several networks at once, and may rejoin a network after
 * leaving it (the membership keeps every period in "periods"). Only an active network takes
 * members (409 network_not_active); an active member joining again is 409 already_member.
 *
 * THE JOBS RULE. The programme counts jobs created; a network counts one when it gives work to
 * someone who had none. A membership counts as a job created (member_joined carries
 * "job_created": true, and the membership keeps it) exactly when
 *   1. it is the person's first membership of any network (no earlier membership, current or
 *      ended, in this service; a rejoin or a second network never counts), and
 *   2. the registry has recorded no job_created activity for the person (registry.activity.
 *      recorded events of kind job_created, applied before deciding: the projection is brought
 *      up to date with the registry first when it answers).
 * So a person is counted once across the programme whichever service sees the job first.
 *
 * Leaving ends the membership at a date (not before the join date, not in the future; 409
 * already_left the second time). The member's undelivered assigned work goes back to its orders
 * so that it can be given to others (orders.c); what the member earned stays owed to them and
 * can still be paid.
 */
#include <string.h>

#include "json.h"
#include "networks.h"
#include "page.h"

int networks_member_load(hy_ctx_t *ctx, uint64_t net, uint64_t person, json_t **member)
{
    uint8_t key[18];
    return hy_store_get_json(ctx->txn, networks_state(ctx)->members, key,
                             networks_key_num('m', net, person, true, key), member);
}

int networks_member_save(hy_ctx_t *ctx, uint64_t net, uint64_t person, json_t *member)
{
    uint8_t key[18];
    json_object_set_new(member, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_json(ctx->txn, networks_state(ctx)->members, key,
                               networks_key_num('m', net, person, true, key), member);
    return hy_mdb_status(ctx, rc);
}

/* The jobs rule above: first membership anywhere and no job recorded by the registry. */
static int s_job_created(hy_ctx_t *ctx, uint64_t person, const char *person_id, bool *job)
{
    uint8_t key[18];
    uint64_t any;
    *job = false;
    int rc = hy_index_first(ctx->txn, networks_state(ctx)->member_idx, key,
                            networks_key_num('p', person, 0, false, key), &any);
    if (rc == 0)
        return 0;
    if (rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    json_t *proj = NULL;
    int status = networks_person(ctx, person_id, "person_id", NULL, &proj);
    if (status == 0)
        *job = !hy_json_true(proj, "job");
    json_decref(proj);
    return status;
}

/* A new membership record, or the old one opened again for a rejoin. */
static json_t *s_membership(hy_ctx_t *ctx, json_t *old, const json_t *network, json_t *args,
                            bool job)
{
    json_t *m = old ? json_incref(old) : json_object();
    json_t *skills = json_object_get(args, "skills");
    const char *joined = hy_json_str(args, "joined");
    json_object_set(m, "network_id", json_object_get(network, "id"));
    json_object_set(m, "person_id", json_object_get(args, "person_id"));
    json_object_set(m, "role", json_object_get(args, "role"));
    json_object_set_new(m, "skills", skills ? json_incref(skills) : json_array());
    json_object_set_new(m, "joined", json_string(joined));
    json_object_set_new(m, "status", json_string("active"));
    json_object_del(m, "left");
    json_object_set(m, "office", json_object_get(network, "office"));
    if (!old) {
        json_object_set_new(m, "job_created", json_boolean(job));
        json_object_set_new(m, "periods", json_array());
        static const char *const zero[] = {"earned_rials", "paid_rials", "balance_rials",
                                           "accepted_quantity", "rejected_quantity", NULL};
        for (const char *const *k = zero; *k; k++)
            json_object_set_new(m, *k, json_integer(0));
        networks_stamp(ctx, m);
    }
    json_array_append_new(json_object_get(m, "periods"), json_pack("{s:s}", "joined", joined));
    static const char *const dates[] = {"joined", "left", NULL};
    networks_jalali(m, dates);
    return m;
}

/* Checks a join against an earlier membership of the same network (may be NULL). */
static int s_check_rejoin(hy_ctx_t *ctx, const json_t *old, const char *joined)
{
    if (!old)
        return 0;
    if (networks_same(old, "status", "active"))
        return hy_fail(ctx, 409, "already_member", "person_id",
                       "%s is already an active member of this network",
                       hy_json_str(old, "person_id"));
    const char *left = hy_json_str(old, "left");
    if (left && strcmp(joined, left) < 0)
        return hy_fail(ctx, 422, "join_before_leave", "joined",
                       "the person left this network on %s; a rejoin cannot be dated %s", left,
                       joined);
    return 0;
}

int networks_member_join(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **out)
{
    networks_t *st = networks_state(ctx);
    json_t *network = NULL, *old = NULL, *member = NULL;
    const char *person_id = hy_json_str(args, "person_id");
    const char *joined = hy_json_str(args, "joined");
    uint64_t net, person;
    bool job = false;
    int rc, status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    if ((status = networks_network_open_for_work(ctx, network)) != 0 ||
        (status = networks_person(ctx, person_id, "person_id", &person, NULL)) != 0 ||
        (status = networks_not_future(ctx, joined, "joined")) != 0)
        goto done;
    rc = networks_member_load(ctx, net, person, &old);
    if ((status = hy_mdb_status(ctx, rc == MDB_NOTFOUND ? 0 : rc)) != 0 ||
        (status = s_check_rejoin(ctx, old, joined)) != 0 ||
        (!old && (status = s_job_created(ctx, person, person_id, &job)) != 0))
        goto done;
    member = s_membership(ctx, old, network, args, job);
    uint8_t key[18];
    if (!old && ((rc = hy_index_put(ctx->txn, st->member_idx, key,
                                    networks_key_num('n', net, 0, false, key), person)) != 0 ||
                 (rc = hy_index_put(ctx->txn, st->member_idx, key,
                                    networks_key_num('p', person, 0, false, key), net)) != 0)) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    if ((status = networks_member_save(ctx, net, person, member)) != 0 ||
        (!old && (status = networks_figure_add(ctx, network, "members", 1)) != 0) ||
        (status = networks_figure_add(ctx, network, "active_members", 1)) != 0 ||
        (status = networks_network_save(ctx, net, network)) != 0)
        goto done;
    status = networks_emit(ctx, "networks.network.member_joined", network_id, network,
                           json_pack("{s:s,s:O,s:O,s:s,s:O,s:b}", "person_id", person_id, "role",
                                     json_object_get(member, "role"), "skills",
                                     json_object_get(member, "skills"), "joined", joined,
                                     "joined_jalali", json_object_get(member, "joined_jalali"),
                                     "job_created", !old && job));
    if (status == 0)
        *out = json_incref(member);
done:
    json_decref(network);
    json_decref(old);
    json_decref(member);
    return status;
}

/* Loads a membership named in the path: 404 not_found when the person never joined. */
static int s_find(hy_ctx_t *ctx, uint64_t net, const char *person_id, uint64_t *person,
                  json_t **member)
{
    int rc = hy_id_parse("prs", person_id ? person_id : "", person) != 0
                 ? MDB_NOTFOUND
                 : networks_member_load(ctx, net, *person, member);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "person_id",
                       "%s has never been a member of this network", person_id ? person_id : "");
    return hy_mdb_status(ctx, rc);
}

int networks_member_leave(hy_ctx_t *ctx, const char *network_id, const char *person_id,
                          const char *date, json_t **out)
{
    json_t *network = NULL, *member = NULL, *released = NULL;
    uint64_t net, person;
    int status = networks_network_find(ctx, network_id, NULL, &net, &network);
    if (status)
        return status;
    if ((status = s_find(ctx, net, person_id, &person, &member)) != 0)
        goto fail;
    const char *joined = hy_json_str(member, "joined");
    if (networks_same(member, "status", "left")) {
        status = hy_fail(ctx, 409, "already_left", "person_id",
                         "%s left this network on %s", person_id,
                         hy_json_str(member, "left"));
        goto fail;
    }
    if ((status = networks_not_future(ctx, date, "date")) != 0)
        goto fail;
    if (joined && strcmp(date, joined) < 0) {
        status = hy_fail(ctx, 422, "leave_before_join", "date",
                         "%s joined on %s and cannot leave on %s", person_id, joined, date);
        goto fail;
    }
    if ((status = networks_order_release(ctx, net, person, person_id, &released)) != 0)
        goto fail;
    json_object_set_new(member, "status", json_string("left"));
    json_object_set_new(member, "left", json_string(date));
    json_t *periods = json_object_get(member, "periods");
    json_object_set_new(json_array_get(periods, json_array_size(periods) - 1), "left",
                        json_string(date));
    static const char *const dates[] = {"left", NULL};
    networks_jalali(member, dates);
    if ((status = networks_member_save(ctx, net, person, member)) != 0 ||
        (status = networks_figure_add(ctx, network, "active_members", -1)) != 0 ||
        (status = networks_network_save(ctx, net, network)) != 0)
        goto fail;
    status = networks_emit(ctx, "networks.network.member_left", network_id, network,
                           json_pack("{s:s,s:s,s:O,s:O,s:O}", "person_id", person_id, "left",
                                     date, "left_jalali", json_object_get(member, "left_jalali"),
                                     "released", released, "balance_rials",
                                     json_object_get(member, "balance_rials")));
    if (status)
        goto fail;
    *out = member;
    json_decref(network);
    json_decref(released);
    return 0;
fail:
    json_decref(network);
    json_decref(member);
    json_decref(released);
    return status;
}

typedef struct {
    uint64_t net;
    const networks_member_filter_t *f;
} s_list_t;

/* The member index lists person numbers; a membership is keyed by network and person. */
static int s_load(hy_ctx_t *ctx, uint64_t person, void *user, json_t **rec)
{
    return networks_member_load(ctx, ((s_list_t *)user)->net, person, rec);
}

/* The list's filters: status and role. */
static bool s_keep(const json_t *member, void *user)
{
    const networks_member_filter_t *f = ((s_list_t *)user)->f;
    return networks_same(member, "status", f->status) && networks_same(member, "role", f->role);
}

int networks_member_list(hy_ctx_t *ctx, const char *network_id,
                         const networks_member_filter_t *f, json_t **items, uint64_t *next)
{
    json_t *network = NULL;
    s_list_t list = {0, f};
    int status = networks_network_find(ctx, network_id, NULL, &list.net, &network);
    if (status)
        return status;
    json_decref(network);
    uint8_t key[18];
    hy_page_t page = {.db = networks_state(ctx)->member_idx,
                      .key = key,
                      .klen = networks_key_num('n', list.net, 0, false, key),
                      .load = s_load,
                      .keep = s_keep,
                      .user = &list};
    return hy_page(ctx, &page, f->after, f->limit, items, next);
}
