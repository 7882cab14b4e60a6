/*
 * corrections.c — voiding and correcting activities (shared/correct.h holds the bookkeeping
 * every service shares).
 *
 * A void keeps the record, marks it (voided, who, when, why) and leaves it out of lists unless
 * include_voided is asked; registry.activity.voided tells followers to count it nowhere. A
 * correction replaces kind, date, office or participants (with meeting_kind, employer and title,
 * which go with a kind) under exactly the rules of recording, moves the index entries, and
 * publishes registry.activity.corrected with the whole record before and after. Either is
 * allowed to the office that recorded the activity (or the province) and to an operator.
 */
#include <stdlib.h>
#include <string.h>

#include "correct.h"
#include "happened.h"
#include "page.h"
#include "registry.h"
#include "scope.h"

/* Loads an activity the caller may void or correct: 0 with *n and *activity, or a status. */
static int s_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **activity)
{
    int status = hy_load_or_404(ctx, registry_state(ctx)->activities, "act", "activity", id, n,
                                activity);
    if (status)
        return status;
    if ((status = hy_correct_allowed(
             ctx, json_string_value(json_object_get(*activity, "office")))) != 0 ||
        (status = hy_correct_check_live(ctx, *activity, "activity")) != 0) {
        json_decref(*activity);
        *activity = NULL;
    }
    return status;
}

static int s_put(hy_ctx_t *ctx, uint64_t n, const json_t *activity)
{
    int rc = hy_store_put_id(ctx->txn, registry_state(ctx)->activities, n, activity);
    return hy_mdb_status(ctx, rc);
}

int registry_activity_void(hy_ctx_t *ctx, const char *id, const char *reason, json_t **out)
{
    json_t *activity = NULL, *data = NULL;
    uint64_t n;
    int status = s_load(ctx, id, &n, &activity);
    if (status)
        return status;
    if ((status = hy_correct_void(ctx, activity, reason, &data)) != 0 ||
        (status = s_put(ctx, n, activity)) != 0 ||
        (status = registry_emit(ctx, "registry.activity.voided", id, data)) != 0) {
        json_decref(activity);
        json_decref(data);
        return status;
    }
    json_decref(data);
    *out = activity;
    return 0;
}

/* Applies the corrected members of args to after: a null clears (meeting_kind, employer,
 * title), the date is checked as when recorded, the office must exist and be the caller's. */
static int s_apply(hy_ctx_t *ctx, json_t *after, const json_t *args)
{
    static const char *const fields[] = {"kind", "date", "meeting_kind", "employer", "title"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(args, fields[i]);
        if (v)
            registry_set_or_clear(after, fields[i], json_incref(v));
    }
    int status = hy_happened_check(ctx, "date", json_string_value(json_object_get(after, "date")));
    if (status)
        return status;
    hy_spec_set_jalali(after, "date");
    const char *office = json_string_value(json_object_get(args, "office"));
    if (office) {
        json_t *rec = NULL;
        if ((status = registry_office_resolve(ctx, "office", office, &rec)) == 0 &&
            (status = hy_scope_write(ctx, "office", registry_code(rec))) == 0)
            json_object_set_new(after, "office", json_string(registry_code(rec)));
        json_decref(rec);
    }
    return status;
}

int registry_activity_correct(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *before = NULL, *after = NULL, *people = NULL, *data = NULL;
    uint64_t n, *nums = NULL;
    int rc, status = s_load(ctx, id, &n, &before);
    if (status)
        return status;
    after = json_deep_copy(before);
    if ((status = s_apply(ctx, after, args)) != 0)
        goto fail;
    /* New participants are checked as when recorded; the recorded ones stand as they are (one
     * may have moved to another office since, which does not make the old record wrong). */
    json_t *ids = json_object_get(args, "person_ids");
    if (ids && (status = registry_activity_participants(ctx, ids, &people, &nums)) != 0)
        goto fail;
    if (ids)
        json_object_set(after, "person_ids", people);
    if ((status = registry_activity_check_kind(
             ctx, after, json_array_size(json_object_get(after, "person_ids")))) != 0)
        goto fail;
    if (json_equal(before, after)) { /* nothing to correct: no event, no stamp */
        *out = after;
        json_decref(before);
        json_decref(people);
        free(nums);
        return 0;
    }
    data = hy_correct_data(ctx, before, after, json_string_value(json_object_get(args, "reason")));
    if ((rc = registry_activity_index(ctx, n, before, false)) != 0 ||
        (rc = registry_activity_index(ctx, n, after, true)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = s_put(ctx, n, after)) != 0 ||
        (status = registry_emit(ctx, "registry.activity.corrected", id, data)) != 0)
        goto fail;
    *out = after;
    json_decref(before);
    json_decref(people);
    json_decref(data);
    free(nums);
    return 0;
fail:
    json_decref(before);
    json_decref(after);
    json_decref(people);
    json_decref(data);
    free(nums);
    return status;
}
