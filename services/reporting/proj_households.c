/*
 * proj_households.c — women heads of household counted from households (EVENTS.md:
 * registry.household.created / member_joined / member_left / head_changed, each with the whole
 * household after and the date the change took effect).
 *
 * The stock women_heads_of_household (slot RP_S_WOMEN_HEADS) is, on any day:
 *   - every active household whose head member is a woman (from the date she heads it, at the
 *     household's office, with the head's neighbourhood), plus
 *   - every woman in NO household whose own record says head_of_household (the fallback: a
 *     person registered before her household was recorded, or whose household never is).
 * A person who enters a household leaves the fallback on that date (she is counted by her
 * household, or not at all when someone else heads it) and comes back to it when she leaves.
 * So the count never jumps when a household is recorded for a woman counted already.
 *
 * Kept: per household (record 'h') whether it is counted now and where; per person her
 * household and two flags (rp_person_t: RP_P_IN_HH, RP_P_HH_HEAD for the drill-down).
 * Known limits: a transferred person's household stays counted at the household's office
 * until a household event says otherwise; a merge re-points the retired record's household to
 * the survivor (EVENTS.md) without moving a survivor's own fallback count.
 */
#include <stdio.h>
#include <string.h>

#include "reporting.h"

typedef struct {
    uint32_t office, hood;
    uint8_t counted;
    uint8_t pad[7];
    uint64_t head;      /* person number of the head counted */
} s_hh_t;

/* One woman head of household under (office, hood) added or taken back on day. */
static int s_count(hy_ctx_t *ctx, uint32_t office, uint32_t hood, int64_t day, int sign)
{
    rp_tags_t tags;
    int rc = rp_tags_place(ctx, office, hood, 0, 0, &tags);
    if (rc)
        return rc;
    tags.v[RP_DIM_SEX] = RP_SEX_FEMALE;
    return rp_agg_add(ctx, &tags, day, RP_S_WOMEN_HEADS, sign);
}

/* Whether a person counts by her own record (the fallback), were she in no household. */
static bool s_fallback(const rp_person_t *p)
{
    return (p->flags & RP_P_HEAD) && p->sex == RP_SEX_FEMALE && !(p->flags & RP_P_MERGED);
}

/* A member in or out of household n from day: the fallback follows. */
static int s_member(hy_ctx_t *ctx, uint64_t n, const json_t *m, bool active, int64_t day)
{
    uint64_t pn;
    rp_person_t p;
    const char *pid = hy_json_str(m, "person_id");
    if (!pid || rp_id_num(pid, &pn) != 0)
        return 0;   /* a dependant with no record of her own */
    int rc = rp_person_get(ctx, pid, &p);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    bool in = active && !json_object_get(m, "left_on"), was = (p.flags & RP_P_IN_HH) && p.household == n;
    if (in == was || (!in && !(p.flags & RP_P_IN_HH)))
        return 0;
    if (in && !(p.flags & RP_P_IN_HH) && s_fallback(&p) && (rc = s_count(ctx, p.office, p.hood, day, -1)) != 0)
        return rc;
    if (!in && s_fallback(&p) && (rc = s_count(ctx, p.office, p.hood, day, 1)) != 0)
        return rc;
    p.flags = (uint8_t)(in ? p.flags | RP_P_IN_HH : p.flags & ~(RP_P_IN_HH | RP_P_HH_HEAD));
    p.household = in ? (uint32_t)n : 0;
    return rp_person_put(ctx, pn, NULL, &p);
}

/* Sets or clears the head flag of person number pn. */
static int s_head_flag(hy_ctx_t *ctx, uint64_t pn, bool on)
{
    char pid[32];
    rp_person_t p;
    snprintf(pid, sizeof pid, "prs_%llu", (unsigned long long)pn);
    int rc = rp_person_get(ctx, pid, &p);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    p.flags = (uint8_t)(on ? p.flags | RP_P_HH_HEAD : p.flags & ~RP_P_HH_HEAD);
    return rp_person_put(ctx, pn, NULL, &p);
}

int rp_households_apply(hy_ctx_t *ctx, json_t *event, json_t *data)
{
    uint64_t n, head = 0;
    int64_t day;
    s_hh_t was = {0}, now = {0};
    if (rp_id_num(hy_json_str(data, "id"), &n) != 0 || !rp_event_day(event, data, "date", &day))
        return 0;
    int rc = rp_record_get(ctx, 'h', n, 0, &was, sizeof was);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    const char *status = hy_json_str(data, "status");
    bool active = !status || strcmp(status, "active") == 0;
    size_t i;
    json_t *m, *head_m = NULL;
    json_array_foreach(json_object_get(data, "members"), i, m) {
        if ((rc = s_member(ctx, n, m, active, day)) != 0)
            return rc;
        const char *pid = hy_json_str(m, "person_id"), *hid = hy_json_str(data, "head_id");
        if (pid && hid && strcmp(pid, hid) == 0 && !json_object_get(m, "left_on"))
            head_m = m;
    }
    rp_person_t hp;
    if (active && head_m && hy_json_str(head_m, "sex") && strcmp(hy_json_str(head_m, "sex"), "female") == 0 &&
        rp_id_num(hy_json_str(head_m, "person_id"), &head) == 0) {
        rc = rp_person_get(ctx, hy_json_str(head_m, "person_id"), &hp);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        now.counted = 1;
        now.head = head;
        now.hood = rc == 0 ? hp.hood : 0;
        if ((rc = rp_intern(ctx, RP_DIM_OFFICE, hy_json_str(data, "office"), &now.office)) != 0)
            return rc;
        if (!now.office && hy_json_str(head_m, "person_id"))
            now.office = hp.office;
    }
    if (memcmp(&was, &now, sizeof was) == 0)
        return 0;
    if (was.counted && ((rc = s_count(ctx, was.office, was.hood, day, -1)) != 0 ||
                        (rc = s_head_flag(ctx, was.head, false)) != 0))
        return rc;
    if (now.counted && ((rc = s_count(ctx, now.office, now.hood, day, 1)) != 0 ||
                        (rc = s_head_flag(ctx, now.head, true)) != 0))
        return rc;
    return now.counted ? rp_record_put(ctx, 'h', n, 0, &now, sizeof now) : rp_record_del(ctx, 'h', n, 0);
}

int rp_households_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to, const rp_person_t *dup)
{
    rp_person_t p;
    char pid[32];
    snprintf(pid, sizeof pid, "prs_%llu", (unsigned long long)to);
    if (!(dup->flags & RP_P_IN_HH) || !dup->household)
        return 0;
    int rc = rp_person_get(ctx, pid, &p);
    if (rc || (p.flags & RP_P_IN_HH))
        return rc == MDB_NOTFOUND ? 0 : rc;   /* in a household already: the registry sends events */
    p.flags = (uint8_t)(p.flags | (dup->flags & (RP_P_IN_HH | RP_P_HH_HEAD)));
    p.household = dup->household;
    if ((rc = rp_person_put(ctx, to, NULL, &p)) != 0)
        return rc;
    s_hh_t h;
    rc = rp_record_get(ctx, 'h', dup->household, 0, &h, sizeof h);
    if (rc || h.head != from)
        return rc == MDB_NOTFOUND ? 0 : rc;
    h.head = to;
    return rp_record_put(ctx, 'h', dup->household, 0, &h, sizeof h);
}
