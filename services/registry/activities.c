/*
 * activities.c — the services an office delivers and the programme's meetings: training classes
 * (person_ids is the attendance), counselling, referrals to employers, jobs created, in-kind aid,
 * and meetings of a working group, the steering council or an empowerment group.
 *
 * The six-month report counts these (classes held, people counselled, jobs created, meetings of
 * each kind), so each is checked where it is recorded: a date not in the future, participants
 * that are registered persons (every kind but a meeting needs at least one), a meeting kind on
 * meetings and only there, an employer on employer referrals, and a business that exists.
 * Activities are records of what happened: one recorded by mistake is voided and one with a
 * wrong detail is corrected (corrections.c), never changed silently.
 */
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "fa.h"
#include "correct.h"
#include "happened.h"
#include "scope.h"
#include "registry.h"

static bool s_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The participants in canonical form, each a registered person, none twice. *nums gets their
 * numbers (caller frees). */
int registry_activity_participants(hy_ctx_t *ctx, const json_t *ids, json_t **out,
                                   uint64_t **nums)
{
    size_t count = json_array_size(ids);
    *nums = calloc(count ? count : 1, sizeof **nums);
    *out = json_array();
    if (!*nums)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    size_t i;
    json_t *item;
    json_array_foreach(ids, i, item) {
        const char *id = json_string_value(item);
        json_t *person = NULL;
        int rc = registry_person_load(ctx, id, &(*nums)[i], &person);
        if (rc == MDB_NOTFOUND)
            return hy_fail(ctx, 422, "unknown_person", "person_ids", "no person has the id %s",
                           id ? id : "");
        if (rc)
            return hy_fail_mdb(ctx, rc);
        /* An office counts only its own people: a key of office A cannot put office B's
         * beneficiaries into A's figures. */
        rc = hy_scope_write(ctx, "person_ids", json_string_value(json_object_get(person, "office")));
        json_decref(person);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if ((*nums)[j] == (*nums)[i])
                return hy_fail(ctx, 422, "duplicate_participant", "person_ids",
                               "%s is listed twice", id);
        char canon[32];
        hy_id_format("prs", (*nums)[i], canon, sizeof canon);
        json_array_append_new(*out, json_string(canon));
    }
    return 0;
}

/* Rules between fields that the op spec cannot express. */
int registry_activity_check_kind(hy_ctx_t *ctx, const json_t *args, size_t participants)
{
    const char *kind = json_string_value(json_object_get(args, "kind"));
    bool meeting = s_is(kind, "meeting");
    bool has_meeting_kind = json_object_get(args, "meeting_kind") != NULL;
    const char *employer = json_string_value(json_object_get(args, "employer"));
    if (meeting && !has_meeting_kind)
        return hy_fail(ctx, 422, "missing_meeting_kind", "meeting_kind",
                       "a meeting must say whether it was a working group, the steering council "
                       "or an empowerment group");
    if (!meeting && has_meeting_kind)
        return hy_fail(ctx, 422, "unexpected_meeting_kind", "meeting_kind",
                       "meeting_kind applies only to activities of kind meeting, not %s", kind);
    if (!meeting && participants == 0)
        return hy_fail(ctx, 422, "missing_participants", "person_ids",
                       "a %s needs at least one participant", kind);
    if (s_is(kind, "employer_referral") && (!employer || !*employer))
        return hy_fail(ctx, 422, "missing_employer", "employer",
                       "an employer referral must name the employer");
    return 0;
}

/* Index entries: kind, office and every participant; put or delete them all. */
int registry_activity_index(hy_ctx_t *ctx, uint64_t n, const json_t *activity, bool put)
{
    registry_t *st = registry_state(ctx);
    char key[512];
    uint8_t pkey[10];
    int rc = 0;
    static const struct {
        char tag;
        const char *field;
    } text[] = {{'k', "kind"}, {'o', "office"}};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        size_t klen = registry_key_text(
            text[i].tag, json_string_value(json_object_get(activity, text[i].field)), key,
            sizeof key);
        if (klen)
            rc = put ? hy_index_put(ctx->txn, st->activity_idx, key, klen, n)
                     : hy_index_del(ctx->txn, st->activity_idx, key, klen, n);
    }
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(activity, "person_ids"), i, id) {
        uint64_t p;
        if (rc != 0 || hy_id_parse("prs", json_string_value(id), &p) != 0)
            continue;
        size_t klen = registry_key_num('p', p, pkey);
        rc = put ? hy_index_put(ctx->txn, st->activity_idx, pkey, klen, n)
                 : hy_index_del(ctx->txn, st->activity_idx, pkey, klen, n);
    }
    return rc;
}

int registry_activity_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    registry_t *st = registry_state(ctx);
    json_t *people = NULL, *activity = NULL;
    uint64_t *nums = NULL, n;
    int rc, status;
    status = hy_happened_check(ctx, "date", json_string_value(json_object_get(args, "date")));
    if (status)
        return status;
    json_t *office_rec = NULL;
    if ((status = registry_new_office(ctx, args, NULL, &office_rec)) != 0)
        return status;
    const char *office = registry_code(office_rec);
    if ((status = registry_activity_participants(ctx, json_object_get(args, "person_ids"), &people,
                                                 &nums)) != 0 ||
        (status = registry_activity_check_kind(ctx, args, json_array_size(people))) != 0)
        goto fail;
    const char *business_id = json_string_value(json_object_get(args, "business_id"));
    if (business_id && (rc = registry_business_load(ctx, business_id, NULL, NULL)) != 0) {
        status = rc == MDB_NOTFOUND ? hy_fail(ctx, 422, "unknown_business", "business_id",
                                              "no business has the id %s", business_id)
                                    : hy_fail_mdb(ctx, rc);
        goto fail;
    }

    char id[32];
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "activity", &n))) != 0)
        goto fail;
    hy_id_format("act", n, id, sizeof id);
    activity = json_pack("{s:s}", "id", id);
    json_object_update(activity, args);
    json_object_set(activity, "person_ids", people);
    hy_spec_set_jalali(activity, "date");
    registry_stamp_new(ctx, activity, office);
    json_object_del(activity, "updated_at"); /* activities are never changed */
    if ((rc = hy_store_put_id(ctx->txn, st->activities, n, activity)) != 0 ||
        (rc = registry_activity_index(ctx, n, activity, true)) != 0)
        status = hy_fail_mdb(ctx, rc);
    else if ((status = registry_emit(ctx, "registry.activity.recorded", id, activity)) == 0)
        *out = json_incref(activity);
fail:
    json_decref(people);
    json_decref(activity);
    json_decref(office_rec);
    free(nums);
    return status;
}

int registry_activity_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int status = hy_load_or_404(ctx, registry_state(ctx)->activities, "act", "activity", id,
                                NULL, out);
    if (status == 0 && !hy_scope_reads(ctx, json_string_value(json_object_get(*out, "office")))) {
        status = hy_scope_write(ctx, "id", json_string_value(json_object_get(*out, "office")));
        json_decref(*out);
        *out = NULL;
    }
    return status ? status : 0;
}

typedef struct {
    const registry_filter_t *in;
    char *office; /* normalised */
} s_filter_t;

static bool s_keep(const json_t *activity, void *user)
{
    const s_filter_t *f = user;
    if (!f->in->include_voided && hy_correct_is_voided(activity))
        return false;
    const char *kind = json_string_value(json_object_get(activity, "kind"));
    const char *date = json_string_value(json_object_get(activity, "date"));
    if (f->in->kind && *f->in->kind && !s_is(kind, f->in->kind))
        return false;
    if (f->in->from && *f->in->from && (!date || strcmp(date, f->in->from) < 0))
        return false;
    if (f->in->to && *f->in->to && (!date || strcmp(date, f->in->to) > 0))
        return false;
    if (f->in->person_id && *f->in->person_id) {
        bool found = false;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(activity, "person_ids"), i, p)
            found = found || s_is(json_string_value(p), f->in->person_id);
        if (!found)
            return false;
    }
    if (f->office) {
        char *have = hy_fa_key(json_string_value(json_object_get(activity, "office")));
        bool same = have && strcmp(have, f->office) == 0;
        free(have);
        if (!same)
            return false;
    }
    return true;
}

/* The person's index, else the kind's, else the office's, else every activity. */
static int s_list(hy_ctx_t *ctx, const registry_filter_t *in, json_t **items, uint64_t *next)
{
    registry_t *st = registry_state(ctx);
    s_filter_t f = {in, NULL};
    char key[512];
    uint8_t pkey[10];
    const void *k = NULL;
    size_t klen = 0;
    if (in->person) {
        klen = registry_key_num('p', in->person, pkey);
        k = pkey;
    } else if (in->kind && *in->kind &&
               (klen = registry_key_text('k', in->kind, key, sizeof key))) {
        k = key;
    } else if (in->office && (klen = registry_key_text('o', in->office, key, sizeof key))) {
        k = key;
    }
    if (in->office)
        f.office = hy_fa_key(in->office);
    int status = registry_page(ctx, st->activities, st->activity_idx, k, klen, in->after, in->limit,
                               s_keep, &f, items, next);
    free(f.office);
    return status;
}

int registry_activity_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_list(ctx, args, "activities", s_list, result);
}
