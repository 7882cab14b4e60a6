/*
 * meetings.c — one meeting of a fund as one atomic request.
 *
 * At a meeting the members present buy shares (their savings), pay into the social fund, pay
 * fines, and the group may pay grants from the social fund. The whole meeting is checked and
 * booked in one transaction: one refused line refuses the meeting and nothing of it is kept.
 *
 * Rules (each refusal names the offending line, e.g. savings[2].shares):
 *  - the cycle is open (422 cycle_closed), the date not after today (422 future_date) and
 *    inside the cycle (422 outside_cycle); one
 *    meeting per date (409 duplicate_meeting), so a meeting sent twice is not booked twice;
 *  - everyone named is a current member (422 not_a_member), at most once per list (422
 *    duplicate_entry);
 *  - savers and social fund contributors are in the attendance (422 absent_saver): money is
 *    handed over at the meeting. A fine may be recorded for a member who is absent (a fine for
 *    absence is common) — it is money the fund received;
 *  - shares per member between 1 and max_shares_per_meeting (422 over_max_shares); a saving is
 *    shares x share_value_rials;
 *  - a social fund contribution is a whole number of the rule's social_fund_rials (catching up
 *    on missed meetings), and a fund whose rule is 0 has no social fund (422 no_social_fund,
 *    invalid_social_fund_amount);
 *  - grants come only from the social fund, after this meeting's contributions (422
 *    insufficient_social_fund), so they never touch the members' savings or the loan cash.
 */
#include <stdio.h>
#include <string.h>

#include "correct.h"
#include "microfund.h"

typedef struct {
    hy_ctx_t *ctx;
    mf_fund_t *fund;
    const json_t *attendance;
    const char *date;
    int64_t number;           /* meeting number within the fund */
    json_t *totals;           /* savings_rials, shares, social_fund_rials, fines_rials, grants_rials */
} s_meeting_t;

/* true when person_id is in the meeting's attendance. */
static bool s_present(const json_t *attendance, const char *person_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(attendance, i, v) {
        if (strcmp(json_string_value(v), person_id) == 0)
            return true;
    }
    return false;
}

/* Checks what every line of a list shares: a current member, once, present when must_attend.
 * *member gets her record (borrowed). */
static int s_line(s_meeting_t *mt, const char *list, size_t i, const json_t *line,
                  bool must_attend, json_t **member)
{
    char field[64];
    snprintf(field, sizeof field, "%s[%zu].person_id", list, i);
    const char *pid = json_string_value(json_object_get(line, "person_id"));
    int status = microfund_member_require(mt->ctx, mt->fund->rec, pid, field, member);
    if (!status && must_attend && !s_present(mt->attendance, pid))
        status = hy_fail(mt->ctx, 422, "absent_saver", field,
                         "%s is not in the attendance: money is handed over at the meeting", pid);
    return status;
}

/* Emits one line's event: its data is the line plus the meeting's date and number. */
static int s_line_event(s_meeting_t *mt, const char *type, const json_t *line)
{
    json_t *data = json_deep_copy(line);
    if (data) {
        json_object_set_new(data, "date", json_string(mt->date));
        json_object_set_new(data, "meeting", json_integer(mt->number));
    }
    return microfund_emit(mt->ctx, mt->fund, type, NULL, data);
}

/* Share purchases: each saver's shares and savings, the cycle's and the ledger's totals. */
static int s_savings(s_meeting_t *mt, json_t *savings)
{
    hy_ctx_t *ctx = mt->ctx;
    json_t *rules = json_object_get(mt->fund->rec, "rules");
    int64_t max = microfund_int(rules, "max_shares_per_meeting");
    int64_t value = microfund_int(rules, "share_value_rials");
    int status = microfund_unique(ctx, savings, "person_id", "savings");
    size_t i;
    json_t *line, *m;
    json_array_foreach(savings, i, line) {
        if (status || (status = s_line(mt, "savings", i, line, true, &m)) != 0)
            return status;
        int64_t shares = microfund_int(line, "shares"), amount;
        char field[48];
        snprintf(field, sizeof field, "savings[%zu].shares", i);
        if (shares > max)
            return hy_fail(ctx, 422, "over_max_shares", field,
                           "%lld shares: a member buys at most %lld per meeting",
                           (long long)shares, (long long)max);
        if (__builtin_mul_overflow(shares, value, &amount))
            return hy_fail(ctx, 422, "amount_too_large", "savings", "the saving overflows");
        json_object_set_new(line, "amount_rials", json_integer(amount));
        if ((status = microfund_add(ctx, m, "shares", shares)) != 0 ||
            (status = microfund_add(ctx, m, "savings_rials", amount)) != 0 ||
            (status = microfund_add(ctx, json_object_get(mt->fund->rec, "cycle"), "shares",
                                    shares)) != 0 ||
            (status = microfund_book(ctx, mt->fund->rec, "savings_rials", amount)) != 0 ||
            (status = microfund_add(ctx, mt->totals, "shares", shares)) != 0 ||
            (status = microfund_add(ctx, mt->totals, "savings_rials", amount)) != 0)
            return status;
        json_object_set(line, "member_savings_rials", json_object_get(m, "savings_rials"));
        if ((status = s_line_event(mt, "microfund.saving_recorded", line)) != 0)
            return status;
    }
    return status;
}

/* Social fund contributions: whole numbers of the rule's amount, into the social fund. */
static int s_social(s_meeting_t *mt, json_t *social)
{
    hy_ctx_t *ctx = mt->ctx;
    int64_t unit = microfund_int(json_object_get(mt->fund->rec, "rules"), "social_fund_rials");
    int status = microfund_unique(ctx, social, "person_id", "social_fund");
    size_t i;
    json_t *line;
    json_array_foreach(social, i, line) {
        if (status || (status = s_line(mt, "social_fund", i, line, true, NULL)) != 0)
            return status;
        int64_t amount = microfund_int(line, "amount_rials");
        if (unit == 0)
            return hy_fail(ctx, 422, "no_social_fund", "social_fund",
                           "this fund's rules have no social fund (social_fund_rials is 0)");
        char field[48];
        snprintf(field, sizeof field, "social_fund[%zu].amount_rials", i);
        if (amount % unit != 0)
            return hy_fail(ctx, 422, "invalid_social_fund_amount", field,
                           "%lld rials is not a whole number of the contribution of %lld",
                           (long long)amount, (long long)unit);
        if ((status = microfund_book(ctx, mt->fund->rec, "social_fund_in_rials", amount)) != 0 ||
            (status = microfund_add(ctx, mt->totals, "social_fund_rials", amount)) != 0 ||
            (status = s_line_event(mt, "microfund.social_fund_contributed", line)) != 0)
            return status;
    }
    return status;
}

/* Fines (into the fund, profit of the cycle) or grants (out of the social fund). */
static int s_reasoned(s_meeting_t *mt, json_t *lines, bool grants)
{
    const char *list = grants ? "grants" : "fines";
    const char *key = grants ? "grants_rials" : "fines_rials";
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line) {
        int64_t amount = microfund_int(line, "amount_rials");
        int status;
        if ((status = s_line(mt, list, i, line, false, NULL)) != 0 ||
            (status = microfund_book(mt->ctx, mt->fund->rec, key, amount)) != 0 ||
            (status = microfund_add(mt->ctx, mt->totals, key, amount)) != 0 ||
            (status = s_line_event(mt, grants ? "microfund.grant_paid" : "microfund.fine_paid",
                                   line)) != 0)
            return status;
    }
    if (!grants)
        return 0;
    mf_cash_t cash;
    microfund_cash(mt->fund->rec, &cash);
    if (cash.social < 0)
        return hy_fail(mt->ctx, 422, "insufficient_social_fund", "grants",
                       "grants of %lld rials exceed the social fund (%lld rials with this "
                       "meeting's contributions)",
                       (long long)microfund_int(mt->totals, "grants_rials"),
                       (long long)(cash.social + microfund_int(mt->totals, "grants_rials")));
    return 0;
}

/* Everyone present is a current member, named once. */
static int s_attendance(s_meeting_t *mt)
{
    int status = microfund_unique(mt->ctx, mt->attendance, NULL, "attendance");
    size_t i;
    json_t *v;
    json_array_foreach(mt->attendance, i, v) {
        char field[48];
        snprintf(field, sizeof field, "attendance[%zu]", i);
        if (!status)
            status = microfund_member_require(mt->ctx, mt->fund->rec, json_string_value(v),
                                              field, NULL);
    }
    return status;
}

/* Stores the meeting under fund number + date; 409 duplicate_meeting when the date is taken. */
static int s_store(s_meeting_t *mt, json_t *rec)
{
    uint8_t key[8 + 10];
    hy_key_u64(mt->fund->n, key);
    memcpy(key + 8, mt->date, 10);
    MDB_dbi db = microfund_state(mt->ctx)->meetings;
    json_t *old = NULL;
    int rc = hy_store_get_json(mt->ctx->txn, db, key, sizeof key, &old);
    /* a voided meeting's date is free again: the meeting recorded on it corrects it and keeps
     * it in "replaces" (corrections.c) */
    if (rc == 0 && !hy_correct_is_voided(old)) {
        json_decref(old);
        return hy_fail(mt->ctx, 409, "duplicate_meeting", "date",
                       "%s already has a meeting on %s", mt->fund->id, mt->date);
    }
    if (rc == 0 && rec)
        json_object_set(rec, "replaces", old);
    json_decref(old);
    if (rc == MDB_NOTFOUND || rc == 0)
        rc = rec ? hy_store_put_json(mt->ctx->txn, db, key, sizeof key, rec) : 0;
    return rc ? hy_fail_mdb(mt->ctx, rc) : 0;
}

int microfund_meeting_create(hy_ctx_t *ctx, const char *id, json_t *request, json_t **out)
{
    mf_fund_t fund;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    /* The lines are annotated (amount_rials, ...) for the record and events: work on a copy,
     * since the skeleton may run the request again (a full map) with its arguments as sent. */
    json_t *args = json_deep_copy(request);
    s_meeting_t mt = {ctx, &fund, json_object_get(args, "attendance"),
                      json_string_value(json_object_get(args, "date")),
                      microfund_int(fund.rec, "meetings_held") + 1,
                      json_pack("{s:i, s:i, s:i, s:i, s:i}", "savings_rials", 0, "shares", 0,
                                "social_fund_rials", 0, "fines_rials", 0, "grants_rials", 0)};
    json_t *rec = NULL;
    json_t *cycle = json_object_get(fund.rec, "cycle");
    if ((status = microfund_cycle_open(ctx, &fund)) != 0 ||
        (status = microfund_activity(ctx, &fund, mt.date, "date")) != 0 ||
        (status = s_store(&mt, NULL)) != 0 || (status = s_attendance(&mt)) != 0 ||
        (status = s_savings(&mt, json_object_get(args, "savings"))) != 0 ||
        (status = s_social(&mt, json_object_get(args, "social_fund"))) != 0 ||
        (status = s_reasoned(&mt, json_object_get(args, "fines"), false)) != 0 ||
        (status = s_reasoned(&mt, json_object_get(args, "grants"), true)) != 0)
        goto done;
    json_object_set_new(fund.rec, "meetings_held", json_integer(mt.number));
    if ((status = microfund_add(ctx, cycle, "meetings", 1)) != 0)
        goto done;
    rec = json_pack("{s:s, s:I, s:O, s:s, s:O, s:O}", "fund_id", id, "number",
                    (json_int_t)mt.number, "cycle", json_object_get(cycle, "number"), "date",
                    mt.date, "attendance", mt.attendance, "totals", mt.totals);
    static const char *const lists[] = {"savings", "social_fund", "fines", "grants", NULL};
    for (const char *const *l = lists; rec && *l; l++) {
        json_t *lines = json_object_get(args, *l);
        json_object_set_new(rec, *l, lines ? json_incref(lines) : json_array());
    }
    if (!rec) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    microfund_stamp(ctx, rec);
    if ((status = s_store(&mt, rec)) != 0 || (status = microfund_fund_save(ctx, &fund)) != 0 ||
        (status = microfund_emit(ctx, &fund, "microfund.meeting_held", NULL,
                                 json_pack("{s:I, s:O, s:s, s:I, s:O, s:O}", "number",
                                           (json_int_t)mt.number, "cycle",
                                           json_object_get(cycle, "number"), "date", mt.date,
                                           "attendance", (json_int_t)json_array_size(mt.attendance),
                                           "attendance_ids", mt.attendance, "totals",
                                           mt.totals))) != 0)
        goto done;
    json_object_set_new(rec, "cash", microfund_cash_json(fund.rec));
    *out = json_incref(rec);
done:
    json_decref(rec);
    json_decref(args);
    json_decref(mt.totals);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
