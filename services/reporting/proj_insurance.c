/*
 * proj_insurance.c — what the insurance service's events add: eligible enrolment requests,
 * the fund's confirmations, the coverage of each period's requests and who is insured.
 *
 *   insurance.enrolment.requested  one eligible request (a refused one emits no event) on the
 *                                  day it was MADE (requested_date when the event carries it,
 *                                  else the event's day: not the start date it asks for), at
 *                                  the enrolment's office, in its field, with the person's
 *                                  neighbourhood and sex
 *   insurance.enrolment.confirmed  one confirmation on the confirmation date (confirmed_date
 *                                  when the event has it, else the event's day), and, the first
 *                                  time an enrolment is confirmed, one "confirmed" request on
 *                                  the request's start date: insurance_coverage_bp of a period
 *                                  is those over its requests; insured from that day
 *   insurance.enrolment.suspended  no longer insured from the event's day (reinstated: again)
 *   insurance.enrolment.cancelled  no longer insured, for good
 *   insurance.enrolment.corrected  {before: {business_id, field, start_date}} a request's field
 *                                  was wrong from the start: its request (and its confirmed
 *                                  request, were it confirmed) moves to the new field on the day
 *                                  it was made; later figures are counted in the new field
 *   insurance.enrolment.transferred {office, from_office, date}  it followed its person to
 *                                  another office: insured there from the transfer date (the
 *                                  stock moves; requests and confirmations stay where they were
 *                                  counted); later figures are counted at the new office
 *   contribution_voided and person_merged change no figure (contributions are not counted; a
 *   merge's cancelled duplicates come as insurance.enrolment.cancelled).
 * Enrolment events name the person by national ID (and person_id when they carry it); the
 * registry's projection gives her neighbourhood. Each enrolment keeps its tags and start day in
 * a small record, so its confirmation is counted where its request was.
 */
#include <string.h>

#include "reporting.h"

typedef struct {
    rp_tags_t tags;
    int32_t start;      /* the day the request was made */
    int32_t confirmed;
    int32_t insured;    /* counted in insured_at_end now */
    int32_t cancelled;
} s_enrolment_t;

/* The tags of an enrolment: office and field from the event, the person's neighbourhood and
 * sex (the event's sex when the registry does not know her). */
static int s_tags(hy_ctx_t *ctx, const json_t *data, rp_tags_t *tags)
{
    uint32_t office;
    rp_person_t p;
    const char *pid = hy_json_str(data, "person_id");
    int rc = pid ? rp_person_get(ctx, pid, &p) : rp_person_by_nid(ctx, hy_json_str(data, "national_id"), &p);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &office)) != 0 ||
        (rc = rp_tags_place(ctx, office ? office : p.office, p.hood,
                            rp_field_code(hy_json_str(data, "field")), 0, tags)) != 0)
        return rc;
    tags->v[RP_DIM_SEX] = p.sex ? p.sex : (uint32_t)rp_sex_code(hy_json_str(data, "sex"));
    return 0;
}

/* An eligible request, counted once per enrolment. */
static int s_requested(hy_ctx_t *ctx, uint64_t n, json_t *event, const json_t *data)
{
    s_enrolment_t e = {0};
    int64_t day;
    if (!rp_event_day(event, data, "requested_date", &day))
        return 0;
    int rc = rp_record_get(ctx, 'e', n, 0, &e, sizeof e);
    if (rc != MDB_NOTFOUND)
        return rc;   /* 0: already counted */
    e.start = (int32_t)day;
    if ((rc = s_tags(ctx, data, &e.tags)) != 0 || (rc = rp_record_put(ctx, 'e', n, 0, &e, sizeof e)) != 0)
        return rc;
    return rp_agg_add(ctx, &e.tags, day, RP_S_INS_ENROLLED, 1);
}

/* A confirmation; the first one of an enrolment also counts for its request's period. */
static int s_confirmed(hy_ctx_t *ctx, uint64_t n, json_t *event, const json_t *data)
{
    s_enrolment_t e;
    int64_t day;
    if (!rp_event_day(event, data, "confirmed_date", &day))
        return 0;
    int rc = rp_record_get(ctx, 'e', n, 0, &e, sizeof e);
    if (rc == MDB_NOTFOUND) {   /* its request was never seen: count the confirmation alone */
        rc = s_tags(ctx, data, &e.tags);
        return rc ? rc : rp_agg_add(ctx, &e.tags, day, RP_S_INS_CONFIRMED, 1);
    }
    if (rc || (rc = rp_agg_add(ctx, &e.tags, day, RP_S_INS_CONFIRMED, 1)) != 0)
        return rc;
    if (!e.insured && !e.cancelled && (rc = rp_agg_add(ctx, &e.tags, day, RP_S_INS_INSURED, 1)) != 0)
        return rc;
    e.insured = !e.cancelled;
    if (!e.confirmed && (rc = rp_agg_add(ctx, &e.tags, e.start, RP_S_INS_COHORT, 1)) != 0)
        return rc;
    e.confirmed = 1;
    return rp_record_put(ctx, 'e', n, 0, &e, sizeof e);
}

/* Suspended or cancelled: no longer insured from the event's day; reinstated: insured again. */
static int s_standing(hy_ctx_t *ctx, uint64_t n, json_t *event, const json_t *data, bool insured,
                      bool cancel)
{
    s_enrolment_t e;
    int64_t day;
    if (!rp_event_day(event, data, "date", &day))
        return 0;
    int rc = rp_record_get(ctx, 'e', n, 0, &e, sizeof e);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    if (e.cancelled || (insured && !e.confirmed))
        return 0;
    if (e.insured != insured && (rc = rp_agg_add(ctx, &e.tags, day, RP_S_INS_INSURED, insured ? 1 : -1)) != 0)
        return rc;
    e.insured = insured;
    e.cancelled = cancel;
    return rp_record_put(ctx, 'e', n, 0, &e, sizeof e);
}

/* A correction of the field (from the request's day) or a transfer (of the insured stock, from
 * the transfer date): the enrolment's figures move from its old tags to the new ones. */
static int s_moved(hy_ctx_t *ctx, uint64_t n, json_t *event, const json_t *data, bool transfer)
{
    s_enrolment_t e;
    int64_t day;
    int rc = rp_record_get(ctx, 'e', n, 0, &e, sizeof e);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    rp_tags_t was = e.tags;
    if (transfer) {
        if (!hy_json_str(data, "office") || !rp_event_day(event, data, "date", &day) ||
            (rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &e.tags.v[RP_DIM_OFFICE])) != 0 ||
            (rc = rp_intern_pair(ctx, e.tags.v[RP_DIM_OFFICE], e.tags.v[RP_DIM_HOOD],
                                 &e.tags.v[RP_DIM_OFFICE_HOOD])) != 0)
            return rc;
    } else {
        if (!json_object_get(data, "field"))
            return 0;
        e.tags.v[RP_DIM_FIELD] = (uint32_t)rp_field_code(hy_json_str(data, "field"));
    }
    if (memcmp(&was, &e.tags, sizeof was) == 0)
        return 0;
    if (transfer && e.insured &&
        ((rc = rp_agg_add(ctx, &was, day, RP_S_INS_INSURED, -1)) != 0 ||
         (rc = rp_agg_add(ctx, &e.tags, day, RP_S_INS_INSURED, 1)) != 0))
        return rc;
    if (!transfer && ((rc = rp_agg_add(ctx, &was, e.start, RP_S_INS_ENROLLED, -1)) != 0 ||
                      (rc = rp_agg_add(ctx, &e.tags, e.start, RP_S_INS_ENROLLED, 1)) != 0))
        return rc;
    if (!transfer && e.confirmed && ((rc = rp_agg_add(ctx, &was, e.start, RP_S_INS_COHORT, -1)) != 0 ||
                                     (rc = rp_agg_add(ctx, &e.tags, e.start, RP_S_INS_COHORT, 1)) != 0))
        return rc;
    return rp_record_put(ctx, 'e', n, 0, &e, sizeof e);
}

int rp_insurance_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data)
{
    uint64_t n;
    const char *id = hy_json_str(data, "enrolment_id");
    if (rp_id_num(id ? id : hy_json_str(event, "subject"), &n) != 0)
        return 0;
    if (strcmp(type, "insurance.enrolment.requested") == 0)
        return s_requested(ctx, n, event, data);
    if (strcmp(type, "insurance.enrolment.confirmed") == 0)
        return s_confirmed(ctx, n, event, data);
    if (strcmp(type, "insurance.enrolment.suspended") == 0)
        return s_standing(ctx, n, event, data, false, false);
    if (strcmp(type, "insurance.enrolment.cancelled") == 0)
        return s_standing(ctx, n, event, data, false, true);
    if (strcmp(type, "insurance.enrolment.reinstated") == 0)
        return s_standing(ctx, n, event, data, true, false);
    if (strcmp(type, "insurance.enrolment.corrected") == 0)
        return s_moved(ctx, n, event, data, false);
    if (strcmp(type, "insurance.enrolment.transferred") == 0)
        return s_moved(ctx, n, event, data, true);
    return 0;
}
