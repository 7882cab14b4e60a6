/*
 * members.c — who belongs to a fund, and the training sessions a fund holds.
 *
 * A member is a registered person. She may leave at any time unless she still owes a loan or
 * guarantees one still open (the group's collective guarantee must not walk out of the door).
 * Her savings of the cycle stay in the fund: she takes part in the share-out like everyone else,
 * with her savings and her part of the profit in proportion to her shares, so a departure never
 * needs cash the fund has lent out. A person who left may join again.
 *
 * Trainings record who was trained (members, new members, the facilitator: any registered
 * person) and feed the programme's figures "fund training sessions / fund members trained".
 */
#include <stdio.h>
#include <string.h>

#include "microfund.h"

int microfund_member_join(hy_ctx_t *ctx, const char *id, const char *person_id,
                          const char *joined, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    if ((status = microfund_not_future(ctx, joined, "joined")) != 0 ||
        (status = microfund_person_require(ctx, person_id, "person_id")) != 0)
        goto done;
    json_t *members = json_object_get(fund.rec, "members");
    json_t *m = microfund_member(fund.rec, person_id);
    const char *was = json_string_value(json_object_get(m, "status"));
    if (m && was && strcmp(was, "active") == 0) {
        status = hy_fail(ctx, 409, "already_member", "person_id", "%s is already a member of %s",
                         person_id, id);
        goto done;
    }
    if (!m && json_array_size(members) >= MICROFUND_MAX_MEMBERS) {
        status = hy_fail(ctx, 422, "fund_full", "person_id",
                         "a fund has at most %d members; form another fund",
                         MICROFUND_MAX_MEMBERS);
        goto done;
    }
    bool rejoined = m != NULL;
    if (!m) {
        m = json_pack("{s:s, s:i, s:i}", "person_id", person_id, "shares", 0, "savings_rials", 0);
        json_array_append_new(members, m);
    }
    json_object_set_new(m, "status", json_string("active"));
    json_object_set_new(m, "joined", json_string(joined));
    json_object_del(m, "left");
    if ((status = microfund_fund_save(ctx, &fund)) != 0 ||
        (status = microfund_emit(ctx, &fund, "microfund.member_joined", NULL,
                                 json_pack("{s:s, s:s, s:b}", "person_id", person_id, "joined",
                                           joined, "rejoined", rejoined))) != 0)
        goto done;
    *out = json_deep_copy(m);
done:
    microfund_fund_close(&fund);
    return status ? status : 0;
}

/* 422 when person_id still owes or guarantees a loan of the fund; 0 when she is free to go. */
static int s_free_to_leave(hy_ctx_t *ctx, const mf_fund_t *fund, const json_t *member,
                           const char *person_id)
{
    const char *loan_id = json_string_value(json_object_get(member, "active_loan_id"));
    if (loan_id)
        return hy_fail(ctx, 422, "active_loan_exists", "person_id",
                       "%s still owes loan %s; it must be repaid before she leaves", person_id,
                       loan_id);
    json_t *loans = NULL;
    int rc = microfund_loans_active(ctx, fund->n, &loans);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int status = 0;
    size_t i, j;
    json_t *loan, *g;
    json_array_foreach(loans, i, loan) {
        json_array_foreach(json_object_get(loan, "guarantor_ids"), j, g) {
            if (!status && strcmp(json_string_value(g), person_id) == 0)
                status = hy_fail(ctx, 422, "active_guarantee", "person_id",
                                 "%s guarantees loan %s, still open", person_id,
                                 json_string_value(json_object_get(loan, "id")));
        }
    }
    json_decref(loans);
    return status;
}

int microfund_member_leave(hy_ctx_t *ctx, const char *id, const char *person_id,
                           const char *date, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    json_t *m = microfund_member(fund.rec, person_id);
    const char *joined = json_string_value(json_object_get(m, "joined"));
    if (!m)
        status = hy_fail(ctx, 404, "not_found", "person_id", "%s never joined %s",
                         person_id ? person_id : "", id);
    else if (json_object_get(m, "left"))
        status = hy_fail(ctx, 409, "already_left", "person_id", "%s already left %s on %s",
                         person_id, id, json_string_value(json_object_get(m, "left")));
    else if ((status = microfund_not_future(ctx, date, "date")) != 0)
        ;
    else if (joined && strcmp(date, joined) < 0)
        status = hy_fail(ctx, 422, "before_joined", "date", "%s joined on %s, after %s",
                         person_id, joined, date);
    else
        status = s_free_to_leave(ctx, &fund, m, person_id);
    if (status)
        goto done;
    json_object_set_new(m, "status", json_string("left"));
    json_object_set_new(m, "left", json_string(date));
    if ((status = microfund_fund_save(ctx, &fund)) != 0 ||
        (status = microfund_emit(ctx, &fund, "microfund.member_left", NULL,
                                 json_pack("{s:s, s:s, s:O, s:O}", "person_id", person_id, "date",
                                           date, "shares", json_object_get(m, "shares"),
                                           "savings_rials",
                                           json_object_get(m, "savings_rials")))) != 0)
        goto done;
    *out = json_deep_copy(m);
done:
    microfund_fund_close(&fund);
    return status ? status : 0;
}

/* Adds person_id to the fund's set of persons ever trained. */
static void s_trained(json_t *fund, const char *person_id)
{
    json_t *set = json_object_get(fund, "trained_person_ids");
    size_t i;
    json_t *v;
    json_array_foreach(set, i, v) {
        if (strcmp(json_string_value(v), person_id) == 0)
            return;
    }
    json_array_append_new(set, json_string(person_id));
}

int microfund_training_create(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    json_t *participants = json_object_get(args, "participants"), *members = json_array();
    json_t *rec = NULL;
    if ((status = microfund_not_future(ctx, json_string_value(json_object_get(args, "date")),
                                       "date")) != 0)
        ;
    else if (json_array_size(participants) == 0)
        status = hy_fail(ctx, 422, "no_participants", "participants",
                         "a training session has at least one participant");
    else
        status = microfund_unique(ctx, participants, NULL, "participants");
    size_t i;
    json_t *p;
    json_array_foreach(participants, i, p) {
        char field[48];
        snprintf(field, sizeof field, "participants[%zu]", i);
        const char *pid = json_string_value(p);
        if (!status)
            status = microfund_person_require(ctx, pid, field);
        json_t *m = microfund_member(fund.rec, pid);
        const char *ms = json_string_value(json_object_get(m, "status"));
        if (!status && ms && strcmp(ms, "active") == 0)
            json_array_append(members, p);
    }
    if (status)
        goto done;
    int64_t number = microfund_int(fund.rec, "trainings_held") + 1;
    json_object_set_new(fund.rec, "trainings_held", json_integer(number));
    json_array_foreach(participants, i, p)
        s_trained(fund.rec, json_string_value(p));
    rec = json_pack("{s:s, s:I, s:s, s:O, s:O}", "fund_id", id, "number", (json_int_t)number,
                    "date", json_string_value(json_object_get(args, "date")), "participant_ids",
                    participants, "member_ids", members);
    if (json_object_get(args, "topic"))
        json_object_set(rec, "topic", json_object_get(args, "topic"));
    microfund_stamp(ctx, rec);
    uint8_t key[16];
    hy_key_u64(fund.n, key);
    hy_key_u64((uint64_t)number, key + 8);
    int rc = hy_store_put_json(ctx->txn, microfund_state(ctx)->trainings, key, sizeof key, rec);
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    json_t *data = json_pack("{s:I, s:O, s:I, s:O, s:I, s:O}", "number", (json_int_t)number,
                             "date", json_object_get(rec, "date"), "participants",
                             (json_int_t)json_array_size(participants), "participant_ids",
                             participants, "members", (json_int_t)json_array_size(members),
                             "member_ids", members);
    if (data && json_object_get(rec, "topic"))
        json_object_set(data, "topic", json_object_get(rec, "topic"));
    if ((status = microfund_fund_save(ctx, &fund)) != 0 ||
        (status = microfund_emit(ctx, &fund, "microfund.training_held", NULL, data)) != 0)
        goto done;
    *out = json_incref(rec);
done:
    json_decref(rec);
    json_decref(members);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
