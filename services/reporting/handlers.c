/*
 * handlers.c — the reporting service's wiring into the skeleton: the
 * databases it opens, the sources it follows, how it applies and resets, and that a replica
 * serves only once it has caught up.
 *
 * The skeleton has checked roles and arguments against reporting_api.c before a handler runs;
 * both reports are GET ops, answered in a read transaction.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "reporting.h"

/* The databases, all derived from events but the ledger's (ledger.c). */
int reporting_open(hy_store_t *store, void **state)
{
    reporting_t *st = calloc(1, sizeof *st);
    if (!st)
        return ENOMEM;
    const hy_store_db_t dbs[] = {
        {"reporting.meta", 0, &st->meta},
        {"reporting.agg", 0, &st->agg},
        {"reporting.seen", 0, &st->seen},
        {"reporting.gaps", 0, &st->gaps},
        {"reporting.timeline", 0, &st->timeline},
        {"reporting.timeline_reg", 0, &st->tl_reg},
        {"reporting.contrib", 0, &st->contrib},
        {"reporting.names", 0, &st->names},
        {"reporting.persons", 0, &st->persons},
        {"reporting.nids", 0, &st->nids},
        {"reporting.records", 0, &st->records},
    };
    int rc;
    if ((rc = hy_store_open_dbs(store, dbs, sizeof dbs / sizeof dbs[0])) != 0 ||
        (rc = rp_ledger_open(store, st)) != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void s_close(void *state)
{
    rp_ledger_close(state);
    rp_agg_close(state);
    rp_contrib_close(state);
    free(state);
}

static const char *const s_sources[] = {"registry", "loans", "networks", "microfund", "insurance",
                                        NULL};

const hy_service_def_t reporting_def = {
    .name = "reporting",
    .api = &reporting_api,
    .open = reporting_open,
    .sources = s_sources,
    .apply = reporting_apply,
    .reset = reporting_reset,
    .apply_end = reporting_apply_end,
    .close = s_close,
    .serve_after_catch_up = true,
};
