/*
 * handlers.c — the registry's handler table and its wiring into the service skeleton.
 *
 * By the time a handler runs, the skeleton has checked the caller's role and the arguments
 * against registry_api.c (types, required fields, enums, Jalali dates folded, strings trimmed,
 * limit and cursor defaulted for lists). A handler only picks its arguments apart into the
 * plain values the domain functions take and, for lists, wraps the page as
 * {"items":[...],"next_cursor":...}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "registry.h"

static const char *s_str(const json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

/* Wraps a page (items stolen) as the list result, or passes a refusal through. */
static int s_list_result(hy_ctx_t *ctx, int status, json_t *items, uint64_t next, json_t **result)
{
    return status == 200 ? hy_page_result(ctx, items, next, result) : status;
}

/* ------------------------------------------------------------------ persons ------------- */

int registry_h_persons_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_create(ctx, args, result);
}

int registry_h_persons_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_get(ctx, s_str(args, "id"), result);
}

int registry_h_persons_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_update(ctx, s_str(args, "id"), args, result);
}

int registry_h_persons_add_referral(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_add_referral(ctx, s_str(args, "id"), s_str(args, "source"),
                                        s_str(args, "agency"), s_str(args, "date"), result);
}

int registry_h_persons_set_status(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_set_status(ctx, s_str(args, "id"), args, result);
}

int registry_h_persons_transfer(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_transfer(ctx, s_str(args, "id"), args, result);
}

int registry_h_persons_merge(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_merge(ctx, s_str(args, "id"), s_str(args, "into"), result);
}

int registry_h_persons_correct_nid(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_correct_nid(ctx, s_str(args, "id"), s_str(args, "national_id"),
                                       s_str(args, "reason"), result);
}

int registry_h_persons_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_person_filter_t f = {
        .national_id = s_str(args, "national_id"),
        .q = s_str(args, "q"),
        .neighbourhood = s_str(args, "neighbourhood"),
        .office = s_str(args, "office"),
        .mobile = s_str(args, "mobile"),
        .nid_part = s_str(args, "national_id_contains"),
    };
    int status = hy_page_args(ctx, args, &f.after, &f.limit);
    if (status)
        return status;
    if (s_str(args, "format") && strcmp(s_str(args, "format"), "csv") == 0)
        return registry_person_export_csv(ctx, &f, result);
    json_t *items = NULL;
    uint64_t next = 0;
    status = registry_person_list(ctx, &f, &items, &next);
    return s_list_result(ctx, status, items, next, result);
}

/* ------------------------------------------------------------------- offices ------------- */

int registry_h_offices_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_create(ctx, args, result);
}

int registry_h_offices_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_update(ctx, s_str(args, "code"), args, result);
}

int registry_h_offices_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_get(ctx, s_str(args, "code"), result);
}

int registry_h_offices_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    json_t *items = NULL;
    int status = registry_office_list(ctx, s_str(args, "province"), &items);
    return s_list_result(ctx, status, items, 0, result);
}

/* ---------------------------------------------------------------- businesses ------------- */

int registry_h_businesses_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_create(ctx, args, result);
}

int registry_h_businesses_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_get(ctx, s_str(args, "id"), result);
}

int registry_h_businesses_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_update(ctx, s_str(args, "id"), args, result);
}

int registry_h_businesses_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_business_filter_t f = {
        .owner_id = s_str(args, "owner_id"),
        .field = s_str(args, "field"),
        .stage = s_str(args, "stage"),
        .office = s_str(args, "office"),
    };
    int status = hy_page_args(ctx, args, &f.after, &f.limit);
    if (status)
        return status;
    json_t *items = NULL;
    uint64_t next = 0;
    status = registry_business_list(ctx, &f, &items, &next);
    return s_list_result(ctx, status, items, next, result);
}

/* ---------------------------------------------------------------- activities ------------- */

int registry_h_activities_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_create(ctx, args, result);
}

int registry_h_activities_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_get(ctx, s_str(args, "id"), result);
}

int registry_h_activities_void(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_void(ctx, s_str(args, "id"), s_str(args, "reason"), result);
}

int registry_h_activities_correct(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_correct(ctx, s_str(args, "id"), args, result);
}

int registry_h_activities_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_activity_filter_t f = {
        .kind = s_str(args, "kind"),
        .office = s_str(args, "office"),
        .person_id = s_str(args, "person_id"),
        .from = s_str(args, "from"),
        .to = s_str(args, "to"),
        .include_voided = json_is_true(json_object_get(args, "include_voided")),
    };
    int status = hy_page_args(ctx, args, &f.after, &f.limit);
    if (status)
        return status;
    json_t *items = NULL;
    uint64_t next = 0;
    status = registry_activity_list(ctx, &f, &items, &next);
    return s_list_result(ctx, status, items, next, result);
}

/* ---------------------------------------------------------------- households ------------- */

int registry_h_households_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_create(ctx, args, result);
}

int registry_h_households_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_get(ctx, s_str(args, "id"), result);
}

int registry_h_households_add_member(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_add_member(ctx, s_str(args, "id"), args, result);
}

int registry_h_households_leave(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_leave(ctx, s_str(args, "id"), s_str(args, "member"), args, result);
}

int registry_h_households_set_head(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_set_head(ctx, s_str(args, "id"), args, result);
}

int registry_h_households_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_household_filter_t f = {
        .office = s_str(args, "office"),
        .person_id = s_str(args, "person_id"),
    };
    int status = hy_page_args(ctx, args, &f.after, &f.limit);
    if (status)
        return status;
    json_t *items = NULL;
    uint64_t next = 0;
    status = registry_household_list(ctx, &f, &items, &next);
    return s_list_result(ctx, status, items, next, result);
}

/* -------------------------------------------------------------------- wiring ------------- */


int registry_open(hy_store_t *store, void **state)
{
    registry_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    int rc;
    if ((rc = hy_store_open_db(store, "registry.meta", 0, &st->meta)) != 0 ||
        (rc = hy_store_open_db(store, "registry.persons", 0, &st->persons)) != 0 ||
        (rc = hy_store_open_db(store, "registry.person_idx", MDB_DUPSORT, &st->person_idx)) != 0 ||
        (rc = hy_store_open_db(store, "registry.businesses", 0, &st->businesses)) != 0 ||
        (rc = hy_store_open_db(store, "registry.business_idx", MDB_DUPSORT, &st->business_idx)) !=
            0 ||
        (rc = hy_store_open_db(store, "registry.activities", 0, &st->activities)) != 0 ||
        (rc = hy_store_open_db(store, "registry.activity_idx", MDB_DUPSORT, &st->activity_idx)) !=
            0 ||
        (rc = hy_store_open_db(store, "registry.offices", 0, &st->offices)) != 0 ||
        (rc = hy_store_open_db(store, "registry.households", 0, &st->households)) != 0 ||
        (rc = hy_store_open_db(store, "registry.household_idx", MDB_DUPSORT,
                               &st->household_idx)) != 0 ||
        (rc = registry_open_more(store, st)) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

const hy_service_def_t registry_def = {
    .name = "registry",
    .api = &registry_api,
    .open = registry_open,
    .sources = NULL,
    .apply = NULL,
    .background = registry_import_step,
};
