/*
 * proj_microfund.c — what the micro-fund service's events add: funds formed, fund training
 * sessions and the members they trained, savings paid in and loans issued.
 *
 * Every micro-fund event carries its fund's office and neighbourhood; a fund's own figures
 * (formed, sessions) are counted there, a member's figures (trained, saved, borrowed) at the
 * fund's office with the member's neighbourhood and sex. Event types are matched on their last
 * word (formed, training_held, saving_recorded, loan_issued), so "microfund.fund.formed" and
 * "microfund.training_held" are both understood whatever the grouping in the middle.
 *
 *   formed           one fund on the fund's date
 *   training_held    one session on its date; each member trained counted once per half
 *                    (member_ids; participant_ids when the event has no member_ids)
 *   saving_recorded  amount_rials saved, on the meeting's date
 *   loan_issued      amount_rials lent, on the loan's date
 *   shareout_completed  paid_rials paid out to the members, at the fund's place
 *
 * Voids (issue 15) take a fact's figures back on the fact's own date, exactly as they were
 * added (it counts nowhere afterwards, as for the registry's voided activities):
 *   meeting_voided   every saving line of `before` (the meeting as recorded) leaves
 *                    fund_savings_rials on the meeting's date
 *   training_voided  the session leaves fund_training_sessions, and each member it trained
 *                    loses that day (still counted when another session trained her)
 *   member_merged    nothing here: the registry's merge already made the retired record's days
 *                    the survivor's (proj_people.c)
 * A fund-loan repayment voided changes no figure of the report (repayments are not counted).
 */
#include <string.h>

#include "reporting.h"

/* The last word of an event type. */
static const char *s_verb(const char *type)
{
    const char *dot = strrchr(type, '.');
    return dot ? dot + 1 : type;
}

/* The fund's place: its office and neighbourhood as the event carries them. */
static int s_place(hy_ctx_t *ctx, const json_t *data, uint32_t *office, uint32_t *hood)
{
    int rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), office);
    return rc ? rc : rp_intern(ctx, RP_DIM_HOOD, hy_json_str(data, "neighbourhood"), hood);
}

/* Each member trained, once per half (sign -1: the session's day taken back). */
static int s_trained(hy_ctx_t *ctx, const json_t *data, uint32_t office, int64_t day, int sign)
{
    json_t *ids = json_object_get(data, "member_ids");
    if (!json_is_array(ids))
        ids = json_object_get(data, "participant_ids");
    size_t i;
    json_t *pid;
    json_array_foreach(ids, i, pid) {
        uint64_t person;
        rp_tags_t tags;
        if (rp_id_num(json_string_value(pid), &person) != 0)
            continue;
        int rc = rp_tags_person(ctx, office, json_string_value(pid), 0, 0, &tags);
        if (rc || (rc = (sign > 0 ? rp_agg_distinct : rp_agg_undistinct)(ctx, &tags, day,
                                                                         RP_S_FUND_TRAINED, person)) != 0)
            return rc;
    }
    return 0;
}

/* What a share-out paid its members, at the fund's place (a preview emits nothing). */
static int s_shareout(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    int64_t day, paid = hy_json_int(data, "paid_rials", 0);
    uint32_t office, hood;
    rp_tags_t tags;
    if (json_is_true(json_object_get(data, "preview")) || paid <= 0 ||
        !rp_event_day(event, data, "date", &day))
        return 0;
    int rc = s_place(ctx, data, &office, &hood);
    if (rc == 0)
        rc = rp_tags_place(ctx, office, hood, 0, 0, &tags);
    return rc ? rc : rp_agg_add(ctx, &tags, day, RP_S_FUND_SHAREOUTS, paid);
}

/* A voided meeting's savings or a voided training, taken back on the fact's date. */
static int s_voided(hy_ctx_t *ctx, bool meeting, json_t *event, const json_t *data)
{
    const json_t *before = json_object_get(data, "before");
    int64_t day;
    uint32_t office, hood;
    rp_tags_t tags;
    if (!json_is_object(before) || !rp_event_day(event, before, "date", &day))
        return 0;
    int rc = s_place(ctx, data, &office, &hood);
    if (rc == 0 && meeting) {
        size_t i;
        json_t *line;
        json_array_foreach(json_object_get(before, "savings"), i, line) {
            int64_t amount = hy_json_int(line, "amount_rials", 0);
            if ((rc = rp_tags_person(ctx, office, hy_json_str(line, "person_id"), 0, 0, &tags)) != 0 ||
                (rc = rp_agg_add(ctx, &tags, day, RP_S_FUND_SAVINGS, -amount)) != 0)
                return rc;
        }
        return 0;
    }
    if (rc == 0)
        rc = rp_tags_place(ctx, office, hood, 0, 0, &tags);
    if (rc == 0)
        rc = rp_agg_add(ctx, &tags, day, RP_S_FUND_TRAININGS, -1);
    return rc ? rc : s_trained(ctx, before, office, day, -1);
}

int rp_microfund_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    const char *verb = s_verb(type);
    if (strcmp(verb, "meeting_voided") == 0 || strcmp(verb, "training_voided") == 0)
        return s_voided(ctx, verb[0] == 'm', event, data);
    bool formed = strcmp(verb, "formed") == 0, training = strcmp(verb, "training_held") == 0;
    int slot = strcmp(verb, "saving_recorded") == 0 ? RP_S_FUND_SAVINGS
               : strcmp(verb, "loan_issued") == 0   ? RP_S_FUND_LOANS
                                                    : -1;
    if (strcmp(verb, "shareout_completed") == 0)
        return s_shareout(ctx, event, data);
    int64_t day;
    uint32_t office, hood;
    rp_tags_t tags;
    if ((!formed && !training && slot < 0) || !rp_event_day(event, data, "date", &day))
        return 0;
    int rc = s_place(ctx, data, &office, &hood);
    if (rc == 0 && slot >= 0) {
        int64_t amount = hy_json_int(data, "amount_rials", 0);
        rc = rp_tags_person(ctx, office, hy_json_str(data, "person_id"), 0, 0, &tags);
        return rc ? rc : rp_agg_add(ctx, &tags, day, slot, amount);
    }
    if (rc == 0)
        rc = rp_tags_place(ctx, office, hood, 0, 0, &tags);
    if (rc == 0)
        rc = rp_agg_add(ctx, &tags, day, formed ? RP_S_FUNDS : RP_S_FUND_TRAININGS, 1);
    if (rc == 0 && training)
        rc = s_trained(ctx, data, office, day, 1);
    return rc;
}
