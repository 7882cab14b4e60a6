/*
 * proj_networks.c — what the networks service's events add: active memberships, the jobs a
 * network creates, and orders.
 *
 *   networks.network.created       the network's office and field (as created) and the lead's
 *                                  neighbourhood, where its orders are counted
 *   networks.network.member_joined one active membership from the join date (the person's
 *                                  neighbourhood and sex, the network's office, field and
 *                                  number); one job record when the event says job_created,
 *                                  and the person among the people with a job
 *   networks.network.member_left   the membership ends on the leaving date (counted where it
 *                                  was counted when it began: the tags are kept with it)
 *   networks.network.order_placed  one order and its value on the order's date
 *   networks.buyer.created         one buyer (at its network's place, else its office)
 *   networks.network.delivery_recorded  one delivery, at the network's place
 *   networks.network.delivery_voided    the delivery (`before`, the entry as recorded) leaves
 *                                  network_deliveries on its own date: it counts nowhere
 *   networks.network.member_merged {person_id: survivor, merged_from}  the retired record's
 *                                  active membership becomes the survivor's (her leaving ends
 *                                  it); when both were active members the two are one, so the
 *                                  active members drop by one from the merge's day
 * A payment voided changes no figure of the report (payments are not counted).
 */
#include <errno.h>
#include <string.h>

#include "reporting.h"

typedef struct {
    uint32_t office, hood, field, pad;
} s_network_t;

/* The network of an event: as created, else as the event describes it. */
static int s_network_load(hy_ctx_t *ctx, const json_t *data, uint64_t *n, s_network_t *net)
{
    memset(net, 0, sizeof *net);
    if (rp_id_num(hy_json_str(data, "network_id"), n) != 0)
        return MDB_NOTFOUND;
    int rc = rp_record_get(ctx, 'n', *n, 0, net, sizeof *net);
    if (rc == MDB_NOTFOUND) {   /* not seen created: what the event itself says */
        net->field = (uint32_t)rp_field_code(hy_json_str(data, "field"));
        return rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &net->office);
    }
    return rc;
}

/* Remembers the network's office, field and its lead's neighbourhood. */
static int s_created(hy_ctx_t *ctx, const json_t *data)
{
    uint64_t n;
    s_network_t net = {0};
    rp_person_t lead;
    if (rp_id_num(hy_json_str(data, "id"), &n) != 0)
        return 0;
    int rc = rp_person_get(ctx, hy_json_str(data, "lead_person_id"), &lead);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    net.hood = lead.hood;
    net.field = (uint32_t)rp_field_code(hy_json_str(data, "field"));
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &net.office)) != 0)
        return rc;
    return rp_record_put(ctx, 'n', n, 0, &net, sizeof net);
}

/* One active membership (and maybe a job) from the join date; its tags are kept for its end. */
static int s_joined(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n, person;
    s_network_t net;
    rp_tags_t tags;
    int64_t day;
    if (rp_id_num(hy_json_str(data, "person_id"), &person) != 0 || !rp_event_day(event, data, "joined", &day))
        return 0;
    int rc = s_network_load(ctx, data, &n, &net);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if ((rc = rp_record_get(ctx, 'm', n, person, &tags, sizeof tags)) != MDB_NOTFOUND)
        return rc;   /* already an active member: counted once */
    if ((rc = rp_tags_person(ctx, net.office, hy_json_str(data, "person_id"), (int)net.field,
                             (uint32_t)n, &tags)) != 0 ||
        (rc = rp_record_put(ctx, 'm', n, person, &tags, sizeof tags)) != 0 ||
        (rc = rp_agg_add(ctx, &tags, day, RP_S_NET_MEMBERS, 1)) != 0)
        return rc;
    if (!json_is_true(json_object_get(data, "job_created")))
        return 0;
    rc = rp_agg_add(ctx, &tags, day, RP_S_JOBS, 1);
    return rc ? rc : rp_agg_distinct(ctx, &tags, day, RP_S_JOBS_PEOPLE, person);
}

/* The membership ends where it was counted. */
static int s_left(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n, person;
    rp_tags_t tags;
    int64_t day;
    if (rp_id_num(hy_json_str(data, "network_id"), &n) != 0 ||
        rp_id_num(hy_json_str(data, "person_id"), &person) != 0 || !rp_event_day(event, data, "left", &day))
        return 0;
    int rc = rp_record_get(ctx, 'm', n, person, &tags, sizeof tags);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if ((rc = rp_agg_add(ctx, &tags, day, RP_S_NET_MEMBERS, -1)) != 0)
        return rc;
    return rp_record_del(ctx, 'm', n, person);
}

/* One order and its value, at the network's place. */
static int s_order(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n;
    s_network_t net;
    rp_tags_t tags;
    int64_t day, value = hy_json_int(data, "value_rials", 0);
    if (!rp_event_day(event, data, "date", &day))
        return 0;
    int rc = s_network_load(ctx, data, &n, &net);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if ((rc = rp_tags_place(ctx, net.office, net.hood, (int)net.field, (uint32_t)n, &tags)) != 0 ||
        (rc = rp_agg_add(ctx, &tags, day, RP_S_NET_ORDERS, 1)) != 0)
        return rc;
    return value > 0 ? rp_agg_add(ctx, &tags, day, RP_S_NET_ORDERS_RIALS, value) : 0;
}

/* A buyer registered (at its office; at its network's when it names one) or a delivery
 * (sign -1: a delivery voided, its `before` as data). */
static int s_count(hy_ctx_t *ctx, json_t *event, const json_t *data, int slot, int sign)
{
    uint64_t n = 0;
    s_network_t net;
    rp_tags_t tags;
    int64_t day;
    if (!rp_event_day(event, data, "date", &day))
        return 0;
    int rc = s_network_load(ctx, data, &n, &net);
    if (rc == MDB_NOTFOUND) {
        n = 0;
        rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &net.office);
    }
    if (rc || (rc = rp_tags_place(ctx, net.office, net.hood, (int)net.field, (uint32_t)n, &tags)) != 0)
        return rc;
    return rp_agg_add(ctx, &tags, day, slot, sign);
}

/* The retired record's active membership becomes the survivor's (one, when both had one). */
static int s_merged(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n, from, into;
    rp_tags_t was, kept;
    int64_t day;
    if (rp_id_num(hy_json_str(data, "network_id"), &n) != 0 ||
        rp_id_num(hy_json_str(data, "merged_from"), &from) != 0 ||
        rp_id_num(hy_json_str(data, "person_id"), &into) != 0 || from == into ||
        !rp_event_day(event, data, "date", &day))
        return 0;
    int rc = rp_record_get(ctx, 'm', n, from, &was, sizeof was);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if ((rc = rp_record_del(ctx, 'm', n, from)) != 0)
        return rc;
    rc = rp_record_get(ctx, 'm', n, into, &kept, sizeof kept);
    if (rc == MDB_NOTFOUND)
        return rp_record_put(ctx, 'm', n, into, &was, sizeof was);
    return rc ? rc : rp_agg_add(ctx, &was, day, RP_S_NET_MEMBERS, -1);
}

int rp_networks_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    if (strcmp(type, "networks.buyer.created") == 0)
        return s_count(ctx, event, data, RP_S_NET_BUYERS, 1);
    if (strcmp(type, "networks.network.delivery_recorded") == 0)
        return s_count(ctx, event, data, RP_S_NET_DELIVERIES, 1);
    if (strcmp(type, "networks.network.delivery_voided") == 0) {
        json_t *before = json_object_get(data, "before");
        if (!json_is_object(before))
            return 0;
        json_t *place = json_deep_copy(before);   /* the entry, placed by the event's network */
        if (!place || json_object_update(place, data) != 0 ||
            json_object_set(place, "date", json_object_get(before, "date")) != 0) {
            json_decref(place);
            return ENOMEM;
        }
        reporting_t *st = reporting_state(ctx);
        const char *subject = st->subject;   /* drill-down: taken back from its order */
        if (hy_json_str(before, "order_id"))
            st->subject = hy_json_str(before, "order_id");
        int rc = s_count(ctx, event, place, RP_S_NET_DELIVERIES, -1);
        st->subject = subject;
        json_decref(place);
        return rc;
    }
    if (strcmp(type, "networks.network.member_merged") == 0)
        return s_merged(ctx, event, data);
    if (strcmp(type, "networks.network.created") == 0)
        return s_created(ctx, data);
    if (strcmp(type, "networks.network.member_joined") == 0)
        return s_joined(ctx, event, data);
    if (strcmp(type, "networks.network.member_left") == 0)
        return s_left(ctx, event, data);
    if (strcmp(type, "networks.network.order_placed") == 0)
        return s_order(ctx, event, data);
    return 0;
}
