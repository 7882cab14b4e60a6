/*
 * handlers.c — the registry's handlers that do more than call one domain function, its one
 * list handler (registry_list) and its wiring into the service skeleton.
 *
 * By the time a handler runs, the skeleton has checked the caller's role and the arguments
 * against registry_api.c (types, required fields, enums, Jalali dates folded, strings trimmed,
 * limit and cursor defaulted for lists). A row whose op only passes some of its string
 * arguments to a domain function says so in the row (.call, shared/bind.h); a row whose domain
 * function takes the args names it as its handler. What is left here picks arguments apart
 * into the plain values the domain functions take and, for lists, wraps the page as
 * {"items":[...],"next_cursor":...}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "page.h"
#include "happened.h"
#include "log.h"
#include "registry.h"
#include "registry_reports.h"
#include "scope.h"

/* ------------------------------------------------------------------ persons ------------- */

/* With the draft the intake thread made (draft.c), when there is one that reads back. */
int registry_h_persons_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const json_t *prepared = ctx->req ? ctx->req->prepared : NULL;
    registry_draft_t *d = prepared ? malloc(sizeof *d) : NULL;
    if (!d || registry_draft_from_json(prepared, d) != 0) {
        free(d);
        return registry_person_create_raw(ctx, args, result);
    }
    int status = registry_person_create_raw_drafted(ctx, args, d, result);
    registry_draft_clear(d);
    free(d);
    return status;
}

int registry_h_persons_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_persons_update(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_person_update(ctx, hy_json_str(args, "id"), args, result);
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

int registry_h_offices_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    json_t *items = NULL;
    if (registry_office_list(ctx, hy_json_str(args, "province"), &items) != 0)
        return -1;
    return hy_page_result(ctx, items, 0, result);
}

/* ---------------------------------------------------------- the other lists ------------- */

int registry_list(hy_ctx_t *ctx, const json_t *args, const char *what, registry_list_fn list,
                  json_t **result)
{
    registry_filter_t f = {
        .office = hy_json_str(args, "office"),
        .person_id = hy_json_str(args, "person_id"),
        .owner_id = hy_json_str(args, "owner_id"),
        .field = hy_json_str(args, "field"),
        .stage = hy_json_str(args, "stage"),
        .kind = hy_json_str(args, "kind"),
        .from = hy_json_str(args, "from"),
        .to = hy_json_str(args, "to"),
        .include_voided = json_is_true(json_object_get(args, "include_voided")),
    };
    if (hy_page_args(ctx, args, &f.after, &f.limit) != 0)
        return -1;
    const char *mine = hy_scope_office(ctx);
    if (mine && f.office && *f.office && !hy_scope_same(mine, f.office))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s and lists only its %s", mine, what);
    if (mine || (f.office && !*f.office))
        f.office = mine;
    const char *who = f.owner_id && *f.owner_id ? f.owner_id : f.person_id;
    json_t *items = NULL;
    uint64_t next = 0;
    if (who && *who && hy_id_parse("prs", who, &f.person) != 0)
        items = json_array();   /* no person has that id: nothing of hers */
    else if (list(ctx, &f, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}

/* -------------------------------------------------------------------- wiring ------------- */

/* The stage map of what registrations staged (names.c), built before any request. */
static int s_open_stage(hy_store_t *store, registry_t *st)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(hy_store_env(store), NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return rc;
    uint64_t merged = 0;
    if ((rc = registry_names_open(txn, st)) == 0 &&
        (rc = hy_store_counter(txn, st->meta, "names_merged", &merged)) == 0)
        st->stagemap_pruned = merged;
    mdb_txn_abort(txn);
    return rc;
}

int registry_open(hy_store_t *store, void **state)
{
    registry_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    hy_programme_start();   /* read once here, before hy-import-prep drafts dates against it */
    st->names_stage_max = registry_names_stage_max();
    const char *idle = getenv("HY_NAME_STAGE_IDLE_MS");
    st->names_idle_us = (idle && atol(idle) > 0 ? atol(idle) : 500) * 1000;
    st->names_staged_at = hy_now_us();
    const hy_store_db_t dbs[] = {
        {"registry.meta", 0, &st->meta},
        {"registry.persons", 0, &st->persons},
        {"registry.person_keys", MDB_DUPSORT | MDB_DUPFIXED, &st->person_idx},
        {"registry.name_idx", 0, &st->name_idx},
        {"registry.name_new", 0, &st->name_new},
        {"registry.businesses", 0, &st->businesses},
        {"registry.business_idx", MDB_DUPSORT, &st->business_idx},
        {"registry.activities", 0, &st->activities},
        {"registry.activity_idx", MDB_DUPSORT, &st->activity_idx},
        {"registry.offices", 0, &st->offices},
        {"registry.households", 0, &st->households},
        {"registry.household_idx", MDB_DUPSORT, &st->household_idx},
        {"registry.agencies", 0, &st->agencies},
        {"registry.dups", 0, &st->dups},
        {"registry.imports", 0, &st->imports},
        {"registry.import_rows", 0, &st->import_rows},
        {"registry.import_idx", MDB_DUPSORT, &st->import_idx},
    };
    int rc;
    if ((rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0 ||
        (rc = registry_reports_open(store, st)) != 0 ||
        (rc = registry_reindex(store, st)) != 0 ||
        (rc = s_open_stage(store, st)) != 0) {
        registry_names_close(st);
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
    .close = registry_close,
    .sources = NULL,
    .apply = NULL,
    .background = registry_background,
};

/* Staged names (names.c) are merged once HY_NAME_STAGE_MAX persons are staged, or when no
 * registration has come for HY_NAME_STAGE_IDLE_MS (500; counted from start-up too) and no
 * request waits. */
#define NAMES_MERGE_MAX 512

int registry_background(hy_ctx_t *ctx)
{
    registry_t *st = registry_state(ctx);
    int rc = registry_names_prune(ctx->txn, st);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    size_t staged = registry_names_staged(ctx->txn, st);
    bool idle = staged > 0 && hy_now_us() - st->names_staged_at >= st->names_idle_us &&
                !hy_requests_waiting(ctx);
    if (staged > 0 && (staged >= st->names_stage_max || idle)) {
        size_t merged = 0;
        /* the oldest NAMES_MERGE_MAX at a time: a few ms of the writer */
        rc = registry_names_merge(ctx->txn, st, NAMES_MERGE_MAX, &merged);
        if (rc != 0)
            return hy_fail_mdb(ctx, rc);
        hy_log_debug("names", "merged the name keys of %zu persons", merged);
    }
    return registry_import_step(ctx);
}
