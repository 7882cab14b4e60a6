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
    static const struct {
        const char *name;
        size_t offset;
    } dbs[] = {
        {"reporting.meta", offsetof(reporting_t, meta)},
        {"reporting.agg", offsetof(reporting_t, agg)},
        {"reporting.seen", offsetof(reporting_t, seen)},
        {"reporting.gaps", offsetof(reporting_t, gaps)},
        {"reporting.timeline", offsetof(reporting_t, timeline)},
        {"reporting.timeline_reg", offsetof(reporting_t, tl_reg)},
        {"reporting.contrib", offsetof(reporting_t, contrib)},
        {"reporting.names", offsetof(reporting_t, names)},
        {"reporting.persons", offsetof(reporting_t, persons)},
        {"reporting.nids", offsetof(reporting_t, nids)},
        {"reporting.records", offsetof(reporting_t, records)},
    };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int rc = hy_store_open_db(store, dbs[i].name, 0, (MDB_dbi *)((char *)st + dbs[i].offset));
        if (rc) {
            free(st);
            return rc;
        }
    }
    int rc = rp_ledger_open(store, st);
    if (rc) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void s_close(void *state)
{
    rp_ledger_close(state);
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
