/*
 * proj_people.c — figures follow the records: what the registry's corrections, transfers,
 * merges and voided or corrected activities change (the event contract of this wave).
 *
 *   registry.person.updated (with `before`)  a CORRECTION of sex, office, neighbourhood or
 *        head of household: the person was wrongly recorded from the start, so her
 *        registration figures (beneficiary, woman head of household, agency referral) move from
 *        the old values to the new on her registration day, and every later event about her
 *        is attributed with the new values. (Events already applied keep where they were
 *        counted: see below.)
 *   registry.person.transferred {id, from_office, to_office, date, person}  she is a
 *        beneficiary of the new office FROM THE TRANSFER DATE: the stock beneficiaries_total
 *        (and women heads of household) moves on that date (slot RP_S_TRANSFERS, so that
 *        beneficiaries_new, a flow of registrations, does not count a transfer as one); later
 *        events are attributed to the new office.
 *   registry.person.merged {id, into, date}  the retired record was a duplicate: its
 *        registration figures are taken back (on its registration day), her days in the
 *        distinct counts and her timeline become the survivor's (a person counselled under both
 *        records counts once), and later events naming the retired id are attributed with the
 *        survivor's office, neighbourhood and sex. (Later events naming the retired id still
 *        count her days under that id: the registry re-points its own references.)
 *   registry.activity.voided {id, before}    the activity counts nowhere: its figures are
 *        taken back exactly as they were added (counters and distinct people alike).
 *   registry.activity.corrected {id, before, after}  before taken back, after added.
 *   registry.person.status_changed {id, status, date}  exited or deceased: she leaves the
 *        stock of ACTIVE beneficiaries on that date (slot RP_S_EXITED; beneficiaries_total, the
 *        persons in the database, keeps her: the Rey table counts everyone ever registered);
 *        back to active: she returns on that date. duplicate_of comes with the merge, which
 *        does the work (registry.person.merged follows it in the same commit).
 *   A corrected registered_on moves her registration figures to the new day.
 *
 * Known limit: the figures of OTHER services' events already applied (a loan, a membership)
 * stay where they were counted when a person's sex or neighbourhood is corrected afterwards;
 * only her registration figures and everything applied after the correction follow it.
 */
#include <string.h>

#include "fa.h"
#include "reporting.h"

/* Loads person id into *p (and her number); MDB_NOTFOUND when unknown. */
static int s_load(hy_ctx_t *ctx, const char *id, uint64_t *n, rp_person_t *p)
{
    if (rp_id_num(id, n) != 0)
        return MDB_NOTFOUND;
    return rp_person_get(ctx, id, p);
}

/* Her exit (RP_S_EXITED) under her values, added or taken back on day. */
static int s_exit_figure(hy_ctx_t *ctx, const rp_person_t *p, int64_t day, int sign)
{
    rp_tags_t tags;
    if (!(p->flags & RP_P_EXITED))
        return 0;
    int rc = rp_tags_place(ctx, p->office, p->hood, 0, 0, &tags);
    if (rc)
        return rc;
    tags.v[RP_DIM_SEX] = p->sex;
    return rp_agg_add(ctx, &tags, day, RP_S_EXITED, sign);
}

/* Every figure of a person's record moved from was to now: registration on the registration
 * day, exit on the exit day. */
static int s_move(hy_ctx_t *ctx, const rp_person_t *was, const rp_person_t *now)
{
    int rc;
    if ((rc = rp_person_figures(ctx, was, was->reg_day, RP_S_BENEFICIARIES, -1)) != 0 ||
        (rc = rp_person_figures(ctx, now, now->reg_day, RP_S_BENEFICIARIES, 1)) != 0 ||
        (rc = s_exit_figure(ctx, was, was->exit_day, -1)) != 0)
        return rc;
    return s_exit_figure(ctx, now, now->exit_day, 1);
}

/* The values of a person record (the event's "person" or "after"). */
static int s_values(hy_ctx_t *ctx, const json_t *person, rp_person_t *p)
{
    int rc;
    int64_t day;
    if (rp_day_of(hy_json_str(person, "registered_on"), &day))
        p->reg_day = (int32_t)day;
    if (json_object_get(person, "sex"))
        p->sex = (uint8_t)rp_sex_code(hy_json_str(person, "sex"));
    if (json_object_get(person, "head_of_household"))
        p->flags = (uint8_t)((p->flags & ~RP_P_HEAD) |
                             (json_is_true(json_object_get(person, "head_of_household")) ? RP_P_HEAD : 0));
    if (json_object_get(person, "office") &&
        (rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(person, "office"), &p->office)) != 0)
        return rc;
    if (json_object_get(person, "neighbourhood") &&
        (rc = rp_intern(ctx, RP_DIM_HOOD, hy_json_str(person, "neighbourhood"), &p->hood)) != 0)
        return rc;
    return rp_intern_pair(ctx, p->office, p->hood, &p->pair);
}

/* A correction: the registration figures move on the registration day. */
static int s_updated(hy_ctx_t *ctx, const json_t *data)
{
    const json_t *after = json_object_get(data, "person");
    uint64_t n;
    rp_person_t was, now;
    if (!json_object_get(data, "before") || !after)
        return 0;   /* nothing changed, or an update of the old shape */
    int rc = s_load(ctx, hy_json_str(data, "id"), &n, &was);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    now = was;
    if ((rc = s_values(ctx, after, &now)) != 0)
        return rc;
    if (memcmp(&was, &now, sizeof was) == 0 || (was.flags & RP_P_MERGED))
        return 0;
    if ((rc = s_move(ctx, &was, &now)) != 0)
        return rc;
    return rp_person_put(ctx, n, NULL, &now);
}

/* A transfer: the stock moves on the transfer date. */
static int s_transferred(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n;
    rp_person_t was, now;
    int64_t day;
    int rc = s_load(ctx, hy_json_str(data, "id"), &n, &was);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if (!rp_event_day(event, data, "date", &day) || (was.flags & RP_P_MERGED))
        return 0;
    now = was;
    if ((rc = s_values(ctx, json_object_get(data, "person"), &now)) != 0)
        return rc;
    if (hy_json_str(data, "to_office") && (rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "to_office"),
                                                     &now.office)) != 0)
        return rc;
    if ((rc = rp_intern_pair(ctx, now.office, now.hood, &now.pair)) != 0)
        return rc;
    rp_person_t a = was, b = now;   /* only the stock moves: no agency referral, no new one */
    a.flags &= (uint8_t)~RP_P_AGENCY;
    b.flags &= (uint8_t)~RP_P_AGENCY;
    if ((rc = rp_person_figures(ctx, &a, day, RP_S_TRANSFERS, -1)) != 0 ||
        (rc = rp_person_figures(ctx, &b, day, RP_S_TRANSFERS, 1)) != 0 ||
        (rc = s_exit_figure(ctx, &a, day, -1)) != 0 || (rc = s_exit_figure(ctx, &b, day, 1)) != 0)
        return rc;
    return rp_person_put(ctx, n, NULL, &now);
}

/* A merge: the duplicate's registration is taken back; later events about it are the
 * survivor's (its record now carries the survivor's values). */
static int s_merged(hy_ctx_t *ctx, const json_t *data)
{
    uint64_t n, m = 0;
    rp_person_t dup, into;
    int rc = s_load(ctx, hy_json_str(data, "id"), &n, &dup);
    if (rc || (dup.flags & RP_P_MERGED))
        return rc == MDB_NOTFOUND ? 0 : rc;
    if ((rc = rp_person_figures(ctx, &dup, dup.reg_day, RP_S_BENEFICIARIES, -1)) != 0 ||
        (rc = s_exit_figure(ctx, &dup, dup.exit_day, -1)) != 0)
        return rc;
    rc = s_load(ctx, hy_json_str(data, "into"), &m, &into);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    rp_person_t now = rc == 0 ? into : dup;
    now.flags = (uint8_t)((now.flags & ~RP_P_EXITED) | RP_P_MERGED);
    now.reg_day = dup.reg_day;
    if ((rc = rp_person_put(ctx, n, NULL, &now)) != 0 || m == 0 || m == n)
        return rc;
    if ((rc = rp_households_repoint(ctx, n, m, &dup)) != 0)
        return rc;
    if ((rc = rp_distinct_repoint(ctx, n, m)) != 0)
        return rc;
    return rp_timeline_repoint(ctx, n, m);
}

/* An exit or a death takes her out of the active stock on its date; a return puts her back. */
static int s_status(hy_ctx_t *ctx, json_t *event, const json_t *data)
{
    uint64_t n;
    rp_person_t p;
    int64_t day;
    const char *status = hy_json_str(data, "status");
    int rc = s_load(ctx, hy_json_str(data, "id"), &n, &p);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if (!status || (p.flags & RP_P_MERGED) || !rp_event_day(event, data, "date", &day))
        return 0;
    bool out = strcmp(status, "exited") == 0 || strcmp(status, "deceased") == 0;
    bool back = strcmp(status, "active") == 0;
    if (out == !!(p.flags & RP_P_EXITED) || (!out && !back))
        return 0;   /* no change of the active stock (exited then deceased; duplicate_of) */
    if (back) {
        rc = s_exit_figure(ctx, &p, day, -1);
        p.flags &= (uint8_t)~RP_P_EXITED;
    } else {
        p.flags |= RP_P_EXITED;
        p.exit_day = (int32_t)day;
        rc = s_exit_figure(ctx, &p, day, 1);
    }
    return rc ? rc : rp_person_put(ctx, n, NULL, &p);
}

int rp_people_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    if (strcmp(type, "registry.person.status_changed") == 0)
        return s_status(ctx, event, data);
    if (strcmp(type, "registry.person.updated") == 0)
        return s_updated(ctx, data);
    if (strcmp(type, "registry.person.transferred") == 0)
        return s_transferred(ctx, event, data);
    if (strcmp(type, "registry.person.merged") == 0)
        return s_merged(ctx, data);
    if (strcmp(type, "registry.activity.voided") == 0)
        return rp_activity_apply(ctx, event, json_object_get(data, "before"), -1);
    if (strcmp(type, "registry.activity.corrected") == 0) {
        int rc = rp_activity_apply(ctx, event, json_object_get(data, "before"), -1);
        return rc ? rc : rp_activity_apply(ctx, event, json_object_get(data, "after"), 1);
    }
    return 0;
}
