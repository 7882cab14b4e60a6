/*
 * import_handlers.c — the handlers of agencies, possible duplicates and imports (listed in
 * handlers.c's table): arguments picked apart into the domain functions' plain values, lists
 * wrapped as {"items":[...],"next_cursor":...}.
 */
#include "page.h"
#include "registry.h"

static const char *s_str(const json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static int s_list_result(hy_ctx_t *ctx, int status, json_t *items, uint64_t next, json_t **result)
{
    return status == 200 ? hy_page_result(ctx, items, next, result) : status;
}

int registry_h_agencies_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_agency_create(ctx, args, result);
}

int registry_h_agencies_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)args;
    json_t *items = NULL;
    int status = registry_agency_list(ctx, &items);
    return s_list_result(ctx, status, items, 0, result);
}

int registry_h_possible_duplicates(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    uint64_t after = 0, next = 0;
    int limit = 0;
    int status = hy_page_args(ctx, args, &after, &limit);
    if (status)
        return status;
    json_t *items = NULL;
    status = registry_dups_list(ctx, s_str(args, "status"), after, limit, &items, &next);
    return s_list_result(ctx, status, items, next, result);
}

int registry_h_not_same(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_dups_not_same(ctx, s_str(args, "id"), s_str(args, "reason"), result);
}

int registry_h_imports_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_create(ctx, args, result);
}

int registry_h_imports_add_part(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_add_part(ctx, s_str(args, "id"), args, result);
}

int registry_h_imports_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_import_get(ctx, s_str(args, "id"), result);
}

int registry_h_imports_rows(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    uint64_t after = 0, next = 0;
    int limit = 0;
    int status = hy_page_args(ctx, args, &after, &limit);
    if (status)
        return status;
    json_t *items = NULL;
    status = registry_import_rows(ctx, s_str(args, "id"), s_str(args, "outcome"), after, limit,
                                  &items, &next);
    return s_list_result(ctx, status, items, next, result);
}
