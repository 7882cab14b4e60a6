/*
 * proj_registry.c — what the registry's events add: beneficiaries, the persons and businesses
 * other services' events are attributed to, and the activities of the Rey table (meetings,
 * classes, counselling, jobs).
 *
 *   registry.person.registered   the person's office, neighbourhood and sex (dims.c: kept as
 *                                registered) and one beneficiary on the registration date
 *                                (the first referral's date, else the event's day)
 *   registry.business.created    the business's field (as created), for loans and activities
 *   registry.activity.recorded   meeting (by meeting_kind), training_class: one each, counted
 *                                at the activity's office and neighbourhood; counselling: each
 *                                participant among the people counselled (distinct.c);
 *                                job_created: each participant one job record and among the
 *                                people with a job (distinct: a person with two records, or a
 *                                record and a network job, is one person). Attributed to the business's field when
 *                                the activity names a business.
 *                                employer_referral, aid, training_class: each participant one
 *                                (employer referrals, in-kind aid, class attendance).
 *                                A registration on an agency's referral counts among the
 *                                referrals by agency (and under its agency: agency_code,
 *                                else the agency's name folded by hy_fa_key); a woman head of household among the
 *                                women heads of household (a stock, like beneficiaries).
 *   registry.office.created/updated  the office's Persian name (for the printed page)
 * Updates (person.updated, business.updated, stage_changed) change nothing counted here.
 */
#include <string.h>

#include "reporting.h"

/* A new person: her record and one beneficiary (a repeated event counts nothing). */
static int s_person(hy_ctx_t *ctx, json_t *event, const json_t *person)
{
    uint64_t n;
    rp_person_t p = {0};
    if (rp_id_num(hy_json_str(person, "id"), &n) != 0)
        return 0;
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(ctx->txn, reporting_state(ctx)->persons, &k, &v);
    if (rc != MDB_NOTFOUND)
        return rc;   /* 0: already known (counted once) */
    int64_t day;
    json_t *first = json_array_get(json_object_get(person, "referrals"), 0);
    if (!rp_day_of(hy_json_str(person, "registered_on"), &day) && !rp_day_of(hy_json_str(first, "date"), &day) &&
        !rp_event_day(event, NULL, NULL, &day))
        return 0;
    const char *source = hy_json_str(first, "source");
    p.sex = (uint8_t)rp_sex_code(hy_json_str(person, "sex"));
    p.reg_day = (int32_t)day;
    p.flags = (uint8_t)((json_is_true(json_object_get(person, "head_of_household")) ? RP_P_HEAD : 0) |
                        (source && strcmp(source, "agency") == 0 ? RP_P_AGENCY : 0));
    const char *agency = hy_json_str(first, "agency_code") ? hy_json_str(first, "agency_code") : hy_json_str(first, "agency");
    if ((p.flags & RP_P_AGENCY) && (rc = rp_intern(ctx, RP_DIM_AGENCY, agency, &p.agency)) != 0)
        return rc;
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(person, "office"), &p.office)) != 0 ||
        (rc = rp_intern(ctx, RP_DIM_HOOD, hy_json_str(person, "neighbourhood"), &p.hood)) != 0 ||
        (rc = rp_intern_pair(ctx, p.office, p.hood, &p.pair)) != 0 ||
        (rc = rp_person_put(ctx, n, hy_json_str(person, "national_id"), &p)) != 0)
        return rc;
    return rp_person_figures(ctx, &p, day, RP_S_BENEFICIARIES, 1);
}

int rp_person_figures(hy_ctx_t *ctx, const rp_person_t *p, int64_t day, int slot_beneficiaries,
                      int sign)
{
    rp_tags_t tags;
    int rc = rp_tags_place(ctx, p->office, p->hood, 0, 0, &tags);
    if (rc)
        return rc;
    tags.v[RP_DIM_SEX] = p->sex;
    if ((rc = rp_agg_add(ctx, &tags, day, slot_beneficiaries, sign)) != 0 ||
        (slot_beneficiaries == RP_S_BENEFICIARIES && (p->flags & RP_P_AGENCY) &&
         (rc = rp_agg_add(ctx, &tags, day, RP_S_REF_AGENCY, sign)) != 0))
        return rc;
    if (slot_beneficiaries == RP_S_BENEFICIARIES && (p->flags & RP_P_AGENCY) && p->agency) {
        uint32_t cross;   /* referrals by agency, for the province and within the office */
        if ((rc = rp_agg_add_one(ctx, RP_DIM_AGENCY, p->agency, day, RP_S_REF_AGENCY, sign)) != 0 ||
            (rc = rp_intern_cross(ctx, RP_DIM_OFFICE_AGENCY, p->office, p->agency, &cross)) != 0 ||
            (cross && (rc = rp_agg_add_one(ctx, RP_DIM_OFFICE_AGENCY, cross, day, RP_S_REF_AGENCY, sign)) != 0))
            return rc;
    }
    /* a woman in a household is counted by it (proj_households.c) */
    return (p->flags & RP_P_HEAD) && p->sex == RP_SEX_FEMALE && !(p->flags & RP_P_IN_HH)
               ? rp_agg_add(ctx, &tags, day, RP_S_WOMEN_HEADS, sign)
               : 0;
}

/* Only the field is kept: other services' events name the business. */
static int s_business(hy_ctx_t *ctx, const json_t *business)
{
    uint64_t n;
    uint32_t field[2] = {(uint32_t)rp_field_code(hy_json_str(business, "field")), 0};
    if (rp_id_num(hy_json_str(business, "id"), &n) != 0)
        return 0;
    return rp_record_put(ctx, 'b', n, 0, field, sizeof field);
}

static int s_distinct(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person,
                      int sign)
{
    return sign > 0 ? rp_agg_distinct(ctx, tags, day, slot, person)
                    : rp_agg_undistinct(ctx, tags, day, slot, person);
}

/* The counter of a meeting kind, -1 for an unknown one. */
static int s_meeting_slot(const char *meeting_kind)
{
    static const char *const kinds[] = {"working_group", "steering_council", "empowerment_group"};
    for (int i = 0; meeting_kind && i < 3; i++)
        if (strcmp(meeting_kind, kinds[i]) == 0)
            return RP_S_MEET_WG + i;
    return -1;
}

/* Meetings and classes count once at their place; counselling and jobs per participant. */
int rp_activity_apply(hy_ctx_t *ctx, json_t *event, const json_t *act, int sign)
{
    const char *kind = hy_json_str(act, "kind");
    bool per_person = kind && (strcmp(kind, "counselling") == 0 || strcmp(kind, "job_created") == 0 ||
                               strcmp(kind, "employer_referral") == 0 || strcmp(kind, "aid") == 0 ||
                               strcmp(kind, "training_class") == 0);
    int slot = !kind ? -1
               : strcmp(kind, "meeting") == 0        ? s_meeting_slot(hy_json_str(act, "meeting_kind"))
               : strcmp(kind, "training_class") == 0 ? RP_S_CLASSES
                                                     : -1;
    int64_t day;
    if ((slot < 0 && !per_person) || !rp_event_day(event, act, "date", &day))
        return 0;
    uint32_t office, hood;
    int field;
    rp_tags_t tags;
    int rc;
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(act, "office"), &office)) != 0 ||
        (rc = rp_intern(ctx, RP_DIM_HOOD, hy_json_str(act, "neighbourhood"), &hood)) != 0 ||
        (rc = rp_business_field(ctx, hy_json_str(act, "business_id"), &field)) != 0)
        return rc;
    if (slot >= 0 && ((rc = rp_tags_place(ctx, office, hood, field, 0, &tags)) != 0 ||
                      (rc = rp_agg_add(ctx, &tags, day, slot, sign)) != 0))
        return rc;
    if (!per_person)
        return 0;
    bool counselling = strcmp(kind, "counselling") == 0, job = strcmp(kind, "job_created") == 0;
    int each = job                                     ? RP_S_JOBS
               : counselling                           ? -1
               : strcmp(kind, "employer_referral") == 0 ? RP_S_EMPLOYER_REF
               : strcmp(kind, "aid") == 0               ? RP_S_AID
                                                        : RP_S_CLASS_ATTENDANCE;
    size_t i;
    json_t *pid;
    json_array_foreach(json_object_get(act, "person_ids"), i, pid) {
        uint64_t person;
        if (rp_id_num(json_string_value(pid), &person) != 0)
            continue;
        if ((rc = rp_tags_person(ctx, office, json_string_value(pid), field, 0, &tags)) != 0 ||
            (rc = counselling ? s_distinct(ctx, &tags, day, RP_S_COUNSELLED, person, sign)
                              : rp_agg_add(ctx, &tags, day, each, sign)) != 0 ||
            (job && (rc = s_distinct(ctx, &tags, day, RP_S_JOBS_PEOPLE, person, sign)) != 0))
            return rc;
    }
    return 0;
}

/* An office's Persian name, kept for the printed page (an office is named by its code
 * everywhere else). */
static int s_office(hy_ctx_t *ctx, const json_t *office)
{
    uint32_t id;
    const char *name = hy_json_str(office, "name");
    int rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(office, "code"), &id);
    if (rc || !id || !name || !*name)
        return rc;
    return rp_record_put(ctx, 'O', id, 0, name, strlen(name));
}

int rp_registry_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    if (strcmp(type, "registry.office.created") == 0 || strcmp(type, "registry.office.updated") == 0)
        return s_office(ctx, data);
    if (strcmp(type, "registry.person.registered") == 0)
        return s_person(ctx, event, data);
    if (strcmp(type, "registry.business.created") == 0)
        return s_business(ctx, data);
    if (strcmp(type, "registry.activity.recorded") == 0)
        return rp_activity_apply(ctx, event, data, 1);
    if (strncmp(type, "registry.household.", 19) == 0)
        return rp_households_apply(ctx, event, data);
    return rp_people_apply(ctx, type, event, data);
}
