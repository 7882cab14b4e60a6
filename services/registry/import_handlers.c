/*
 * import_handlers.c — the handlers of agencies, possible duplicates and imports (named in
 * registry_api.c's rows): arguments picked apart into the domain functions' plain values, lists
 * wrapped as {"items":[...],"next_cursor":...}.
 */
#include "json.h"
#include "page.h"
#include "registry.h"

int registry_h_agencies_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_agency_create(ctx, args, result);
}

int registry_h_agencies_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)args;
    json_t *items = NULL;
    if (registry_agency_list(ctx, &items) != 0)
        return -1;
    return hy_page_result(ctx, items, 0, result);
}

int registry_h_possible_duplicates(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    uint64_t after = 0, next = 0;
    int limit = 0;
    json_t *items = NULL;
    if (hy_page_args(ctx, args, &after, &limit) != 0 ||
        registry_dups_list(ctx, hy_json_str(args, "status"), after, limit, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}

int registry_h_not_same(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_dups_not_same(ctx, hy_json_str(args, "id"), hy_json_str(args, "reason"), result);
}

int registry_h_imports_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_create(ctx, args, result);
}

int registry_h_imports_add_part(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_add_part(ctx, hy_json_str(args, "id"), args, result);
}

int registry_h_imports_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_get(ctx, hy_json_str(args, "id"), result);
}

int registry_h_imports_rows(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    uint64_t after = 0, next = 0;
    int limit = 0;
    json_t *items = NULL;
    if (hy_page_args(ctx, args, &after, &limit) != 0 ||
        registry_import_rows(ctx, hy_json_str(args, "id"), hy_json_str(args, "outcome"), after,
                             limit, &items, &next) != 0)
        return -1;
    return hy_page_result(ctx, items, next, result);
}
