/*
 * feed.c — applying the other services' events: the skeleton calls reporting_apply once per
 * event, in the same transaction in which it advances that source's cursor, so an event's
 * effect on the counters and the cursor commit together (exactly once in effect, kill -9
 * included). Here we also keep, in that same transaction, the sequence and time of the last
 * event applied per source: every report says how current it is from them. A page of events is
 * one transaction: the last event's "as of" is written once, when the page ends
 * (reporting_apply_end, with the page's counters), not once per event.
 *
 * Each source's events are handled in a file of their own (proj_<source>.c); an event type a
 * file does not know is applied as "nothing to count", so new event types never stall the feed.
 */
#include <stdio.h>
#include <string.h>

#include "reporting.h"
#include "outbox.h"

#define ASOF_TIME_MAX 40

typedef struct {
    uint64_t seq;
    char time[ASOF_TIME_MAX];
} s_asof_t;

/* The meta key of a source's "as of". */
static size_t s_asof_key(const char *source, char *buf, size_t n)
{
    int w = snprintf(buf, n, "asof:%s", source);
    return (size_t)w < n ? (size_t)w : n - 1;
}

/* Written in the apply transaction, so it always matches the cursor. */
static int s_asof_write(hy_ctx_t *ctx, const char *source, uint64_t seq, const char *time)
{
    s_asof_t a = {.seq = seq};
    snprintf(a.time, sizeof a.time, "%s", time);
    char key[64];
    MDB_val k = {s_asof_key(source, key, sizeof key), key}, v = {sizeof a, &a};
    return mdb_put(ctx->txn, reporting_state(ctx)->meta, &k, &v, 0);
}

/* What snprintf(dst, n, "%s", src) keeps, without a format per event; NULL is "". */
static void s_copy(char *dst, size_t n, const char *src)
{
    size_t len = src ? strnlen(src, n - 1) : 0;
    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
}

/* Kept for the end of the page (a page is one source's: another source writes the first's). */
static int s_asof_put(hy_ctx_t *ctx, const char *source, const json_t *event)
{
    reporting_t *st = reporting_state(ctx);
    int rc = 0;
    if (st->asof.pending && strcmp(st->asof.source, source) != 0)
        rc = s_asof_write(ctx, st->asof.source, st->asof.seq, st->asof.time);
    st->asof.pending = true;
    s_copy(st->asof.source, sizeof st->asof.source, source);
    st->asof.seq = hy_event_seq(event);
    s_copy(st->asof.time, sizeof st->asof.time, hy_json_str(event, "time"));
    return rc;
}

int reporting_apply_end(hy_ctx_t *ctx, bool keep)
{
    reporting_t *st = reporting_state(ctx);
    int rc = 0;
    if (keep && st->asof.pending)
        rc = s_asof_write(ctx, st->asof.source, st->asof.seq, st->asof.time);
    st->asof.pending = false;
    rp_names_page_end(st);
    int agg = rp_agg_page_end(ctx, keep && rc == 0);
    int contrib = rp_contrib_page_end(ctx, keep && rc == 0 && agg == 0);
    return rc ? rc : agg ? agg : contrib;
}

json_t *rp_as_of(hy_ctx_t *ctx)
{
    json_t *out = json_object();
    for (const char *const *s = reporting_def.sources; out && *s; s++) {
        char key[64];
        MDB_val k = {s_asof_key(*s, key, sizeof key), key}, v;
        s_asof_t a = {0};
        if (mdb_get(ctx->txn, reporting_state(ctx)->meta, &k, &v) == 0 && v.mv_size == sizeof a)
            memcpy(&a, v.mv_data, sizeof a);
        a.time[ASOF_TIME_MAX - 1] = '\0';
        json_t *one = json_pack("{s:I,s:o}", "seq", (json_int_t)a.seq, "time",
                                a.seq ? json_string(a.time) : json_null());
        if (!one || json_object_set_new(out, *s, one) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int reporting_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    static const struct {
        const char *source;
        int (*fn)(hy_ctx_t *, const char *, json_t *, json_t *);
    } table[] = {
        {"registry", rp_registry_apply},   {"loans", rp_loans_apply},
        {"networks", rp_networks_apply},   {"microfund", rp_microfund_apply},
        {"insurance", rp_insurance_apply},
    };
    reporting_t *st = reporting_state(ctx);
    const char *type = hy_json_str(event, "type");
    json_t *data = json_object_get(event, "data");
    int rc = s_asof_put(ctx, source, event);
    if (rc || !type || !json_is_object(data))
        return rc;
    bool owned = false;   /* submissions and targets (submissions.c): no figure, no timeline */
    if ((rc = rp_owned_apply(ctx, source, type, data, &owned)) != 0 || owned)
        return rc;
    bool was = st->in_registry;
    st->in_registry = strcmp(source, "registry") == 0;
    st->subject = hy_json_str(event, "subject");
    if (!st->subject || !*st->subject)
        st->subject = hy_json_str(data, "id");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].source, source) == 0)
            rc = table[i].fn(ctx, type, event, data);
    if (rc == 0)
        rc = rp_timeline_apply(ctx, source, event);
    st->in_registry = was;
    st->subject = NULL;
    return rc;
}

/* Every database of the service is derived: all of them go (the skeleton clears the cursors). */
int reporting_reset(void *state, MDB_txn *txn)
{
    reporting_t *st = state;
    MDB_dbi all[] = {st->meta, st->names, st->persons, st->nids, st->records, st->timeline,
                      st->tl_reg};
    /* submitted reports (st->subs) are not derived from events: they stay */
    int rc = rp_agg_reset(st, txn);
    for (size_t i = 0; rc == 0 && i < sizeof all / sizeof all[0]; i++)
        rc = mdb_drop(txn, all[i], 0);
    return rc;
}
