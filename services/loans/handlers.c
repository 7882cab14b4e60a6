/*
 * handlers.c — the loans service's wiring into the service skeleton (its handlers are the
 * domain functions named in loans_api.c's rows).
 *
 * By the time a handler runs the skeleton has checked the caller's role and the arguments
 * against loans_api.c (types, ranges, enums, Jalali dates folded, limit and cursor for lists),
 * so every op goes straight to its domain function with the checked arguments; path parameters
 * arrive as args.id.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "loans.h"

/* The one handler that needs more than its args: the path id. */
int loans_h_product_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return loans_product_get(ctx, hy_json_str(args, "id"), result);
}

/* Opens the seven databases (loans.h) into a new loans_t. */
int loans_open(hy_store_t *store, void **state)
{
    loans_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    const hy_store_db_t dbs[] = {
        {"loans.meta", 0, &st->meta},
        {"loans.products", 0, &st->products},
        {"loans.product_idx", MDB_DUPSORT, &st->product_idx},
        {"loans.loans", 0, &st->loans},
        {"loans.loan_idx", MDB_DUPSORT, &st->loan_idx},
        {"loans.summary", 0, &st->summary},
        {"loans.proj", 0, &st->proj},
    };
    int rc;
    if ((rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0 ||
        (rc = hy_persons_open(store, &st->persons)) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static const char *const s_sources[] = {"registry", "networks", NULL};

const hy_service_def_t loans_def = {
    .name = "loans",
    .api = &loans_api,
    .open = loans_open,
    .sources = s_sources,
    .apply = loans_apply,
};
