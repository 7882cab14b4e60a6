/*
 * handlers.c — the registry's handlers (named in registry_api.c's rows) and its wiring into
 * the service skeleton.
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

#include "json.h"
#include "page.h"
#include "registry.h"

/* ------------------------------------------------------------------ persons ------------- */

int registry_h_persons_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_create_raw(ctx, args, result);
}

int registry_h_persons_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_persons_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_update(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_persons_add_referral(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_add_referral(ctx, hy_json_str(args, "id"), hy_json_str(args, "source"),
                                        hy_json_str(args, "agency"), hy_json_str(args, "date"),
                                        result);
}

int registry_h_persons_set_status(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_set_status(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_persons_transfer(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_transfer(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_persons_merge(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_merge(ctx, hy_json_str(args, "id"), hy_json_str(args, "into"), result);
}

int registry_h_persons_correct_nid(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_correct_nid(ctx, hy_json_str(args, "id"),
                                       hy_json_str(args, "national_id"),
                                       hy_json_str(args, "reason"), result);
}

int registry_h_persons_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_person_filter_t f = {
        .national_id = hy_json_str(args, "national_id"),
        .q = hy_json_str(args, "q"),
        .neighbourhood = hy_json_str(args, "neighbourhood"),
        .office = hy_json_str(args, "office"),
        .mobile = hy_json_str(args, "mobile"),
        .nid_part = hy_json_str(args, "national_id_contains"),
    };
    if (hy_page_args(ctx, args, &f.after, &f.limit) != 0)
        return -1;
    if (hy_json_str(args, "format") && strcmp(hy_json_str(args, "format"), "csv") == 0)
        return registry_person_export_csv(ctx, &f, result);
    json_t *items = NULL;
    uint64_t next = 0;
    if (registry_person_list(ctx, &f, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}

/* ------------------------------------------------------------------- offices ------------- */

int registry_h_offices_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_create(ctx, args, result);
}

int registry_h_offices_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_update(ctx, hy_json_str(args, "code"), args, result);
}

int registry_h_offices_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_office_get(ctx, hy_json_str(args, "code"), result);
}

int registry_h_offices_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    json_t *items = NULL;
    if (registry_office_list(ctx, hy_json_str(args, "province"), &items) != 0)
        return -1;
    return hy_page_result(ctx, items, 0, result);
}

/* ---------------------------------------------------------------- businesses ------------- */

int registry_h_businesses_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_create(ctx, args, result);
}

int registry_h_businesses_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_businesses_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_business_update(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_businesses_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_business_filter_t f = {
        .owner_id = hy_json_str(args, "owner_id"),
        .field = hy_json_str(args, "field"),
        .stage = hy_json_str(args, "stage"),
        .office = hy_json_str(args, "office"),
    };
    json_t *items = NULL;
    uint64_t next = 0;
    if (hy_page_args(ctx, args, &f.after, &f.limit) != 0 ||
        registry_business_list(ctx, &f, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}

/* ---------------------------------------------------------------- activities ------------- */

int registry_h_activities_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_create(ctx, args, result);
}

int registry_h_activities_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_activities_void(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_void(ctx, hy_json_str(args, "id"), hy_json_str(args, "reason"),
                                  result);
}

int registry_h_activities_correct(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_activity_correct(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_activities_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_activity_filter_t f = {
        .kind = hy_json_str(args, "kind"),
        .office = hy_json_str(args, "office"),
        .person_id = hy_json_str(args, "person_id"),
        .from = hy_json_str(args, "from"),
        .to = hy_json_str(args, "to"),
        .include_voided = json_is_true(json_object_get(args, "include_voided")),
    };
    json_t *items = NULL;
    uint64_t next = 0;
    if (hy_page_args(ctx, args, &f.after, &f.limit) != 0 ||
        registry_activity_list(ctx, &f, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}

/* ---------------------------------------------------------------- households ------------- */

int registry_h_households_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_create(ctx, args, result);
}

int registry_h_households_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_households_add_member(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_add_member(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_households_leave(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_leave(ctx, hy_json_str(args, "id"), hy_json_str(args, "member"),
                                    args, result);
}

int registry_h_households_set_head(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_household_set_head(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_households_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    registry_household_filter_t f = {
        .office = hy_json_str(args, "office"),
        .person_id = hy_json_str(args, "person_id"),
    };
    json_t *items = NULL;
    uint64_t next = 0;
    if (hy_page_args(ctx, args, &f.after, &f.limit) != 0 ||
        registry_household_list(ctx, &f, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
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
