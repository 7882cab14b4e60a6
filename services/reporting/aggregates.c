/*
 * aggregates.c — the counters every report is read from, kept up to date event by event.
 *
 * WHAT EACH INDICATOR COUNTS (DOMAIN.md's Rey table, then what the other services add). Every
 * figure counts on its business date, converted to the Solar Hijri calendar for halves (half 1
 * = months 1-6, Farvardin..Shahrivar; half 2 = months 7-12, Mehr..Esfand); an event with no
 * business date counts on the Tehran date of its `time`.
 *
 *   beneficiaries_total     persons registered (registry.person.registered) on or before the
 *                           period's last day: "beneficiaries in the database". Date: the first
 *                           referral's date (the day of registration in Tehran).
 *   beneficiaries_new       persons registered within the period.
 *   meetings_working_group, meetings_steering_council, meetings_empowerment_group
 *                           activities of kind meeting, by meeting_kind; date: the activity's.
 *   classes                 activities of kind training_class (one per class held).
 *   people_with_loans       DISTINCT persons with a loan disbursement (any tranche,
 *                           loans.loan.disbursed) dated in the period.
 *   jobs_created            DISTINCT persons with a job in the period: participants of
 *                           job_created activities and network memberships whose member_joined
 *                           event says job_created (a person with both, or two records, is one).
 *   job_records             the records behind jobs_created (each participant, each membership).
 *   people_counselled       DISTINCT participants of counselling activities in the period.
 *   funds_formed            micro-funds formed (microfund.fund.formed), on the fund's date.
 *   fund_training_sessions  micro-fund training sessions held (microfund.training_held).
 *   fund_members_trained    DISTINCT members trained in those sessions (member_ids; the
 *                           participant_ids when an event has no member_ids).
 *   loans_disbursed_rials   sum of disbursed tranches dated in the period.
 *   loans_outstanding_rials principal outstanding at the end of the period's last day:
 *                           disbursed minus principal repaid minus principal written off.
 *   par30_rials             outstanding principal of loans more than 30 days past due at the end
 *                           of the period's last day (proj_loans.c: exact from the events, with
 *                           the schedule in force on that day), par30_bp its share of the
 *                           outstanding principal (floor; 0 when nothing is outstanding).
 *   insurance_enrolled      eligible enrolment requests (insurance.enrolment.requested: the
 *                           service emits nothing for a refused one), on the day they were made.
 *   insurance_confirmed     confirmations by the fund (insurance.enrolment.confirmed), on the
 *                           confirmation date.
 *   insurance_coverage_bp   of the eligible requests of the period (by date made), the share
 *                           the fund has confirmed since, in basis points (floor; 0 when none).
 *   insured_at_end          enrolments confirmed and neither suspended nor cancelled at the end.
 *   (and the figures proj_registry.c, proj_networks.c, proj_microfund.c, proj_loans.c add:
 *   women heads of household, referrals by agency, employer referrals, in-kind aid, class
 *   attendance, network buyers and deliveries, share-outs, loans recovered, restructured PAR30)
 *   network_members_active  network memberships active at the end of the period's last day
 *                           (joined on or before it and not left by then; a person in two
 *                           networks counts twice).
 *   network_orders, network_orders_rials
 *                           orders placed with networks in the period, and their value.
 *   fund_savings_rials      savings paid into micro-funds at meetings in the period
 *                           (microfund.saving_recorded).
 *   fund_loans_issued_rials micro-fund loans issued in the period (microfund.loan_issued).
 *
 * WHERE A FIGURE IS COUNTED. Each figure carries tags (dims.c): the office of its record (the
 * activity's, loan's, network's, fund's, enrolment's, or the person's own for registrations);
 * the neighbourhood and sex of the person it is about (for figures about no one person — a
 * meeting, a class, a fund, an order — the record's own neighbourhood, and no sex); the field of
 * the business or network concerned; the network for network figures. It is added under "all"
 * and under each attributed value; an unattributed value is not written, and the gap ("not
 * attributed") is the total minus the attributed groups.
 *
 * LAYOUT. Counters are arrays of RP_NSLOTS int64 (native order: one process owns the store) in
 * the agg database under a 10-byte key
 *     dimension kind (1) | value id (4, BE) | level (1) | block (4, BE)
 * Level 0 blocks are days, level 1 blocks are 32 days: a change is added to both, so the sum
 * of everything up to a day reads the level-1 blocks before it and at most 32 days, whatever
 * the size of the data (keys exist only where something happened). Flows of a period are the
 * difference of two such sums; stocks are the sum up to the period's last day.
 *
 * A PAGE OF EVENTS is applied in one transaction; its counter changes are summed in memory
 * (a hash of the touched keys) and each touched array is read and rewritten once, when the
 * page ends (rp_agg_page_end, before the commit). Nothing in the feed reads the counters, so
 * the arrays written are the same as event by event: a key touched is written even when its
 * changes cancel out.
 *
 * DISTINCT COUNTS (people with loans, counselled, trained, with a job) are exact for any
 * period: distinct.c keeps each person's days per indicator and dimension value, and from them
 * first-day and last-day marks (running sums here) and gaps (its own counters).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"

#define KEY_LEN 10
#define LEVEL_DAY 0
#define LEVEL_BLOCK 1
#define BLOCK_SHIFT 5
#define DAY_BIAS (1LL << 28)   /* day numbers become positive u32 block numbers */

static uint32_t s_u(int64_t day)
{
    int64_t u = day + DAY_BIAS;
    return u < 0 ? 0 : u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

void rp_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

uint32_t rp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The count after adding delta to what a lookup (rc, v) found: 0 with *n, or the lookup's
 * error, MDB_CORRUPTED (a stored value of another size) or EOVERFLOW. */
static int s_count_next(int rc, const MDB_val *v, int64_t delta, int64_t *n)
{
    *n = 0;
    if (rc == 0 && v->mv_size == sizeof *n)
        memcpy(n, v->mv_data, sizeof *n);
    else if (rc != MDB_NOTFOUND)
        return rc ? rc : MDB_CORRUPTED;
    return __builtin_add_overflow(*n, delta, n) ? EOVERFLOW : 0;
}

int rp_count_add(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, int64_t delta)
{
    MDB_val k = {klen, (void *)key}, v;
    int64_t n;
    int found = mdb_get(txn, db, &k, &v), rc = s_count_next(found, &v, delta, &n);
    if (rc)
        return rc;
    if (n == 0)
        return found == 0 ? mdb_del(txn, db, &k, NULL) : 0;
    return mdb_put(txn, db, &k, &(MDB_val){sizeof n, &n}, 0);
}

int rp_count_add_at(MDB_cursor *cur, const void *key, size_t klen, int64_t delta)
{
    MDB_val k = {klen, (void *)key}, v;
    int64_t n;
    int found = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY), rc = s_count_next(found, &v, delta, &n);
    if (rc)
        return rc;
    if (n == 0)
        return found == 0 ? mdb_cursor_del(cur, 0) : 0;
    k = (MDB_val){klen, (void *)key};
    return mdb_cursor_put(cur, &k, &(MDB_val){sizeof n, &n}, found == 0 ? MDB_CURRENT : 0);
}

/* The 10-byte counter key (layout above). */
static void s_key(uint8_t key[KEY_LEN], int kind, uint32_t id, int level, uint32_t block)
{
    key[0] = (uint8_t)kind;
    rp_be32(key + 1, id);
    key[5] = (uint8_t)level;
    rp_be32(key + 6, block);
}

/* Reads a counter array; a shorter stored array (written before slots were added) reads as
 * zeros beyond its end. */
static void s_load(const MDB_val *v, int64_t vals[RP_NSLOTS])
{
    memset(vals, 0, sizeof(int64_t) * RP_NSLOTS);
    size_t n = v->mv_size < sizeof(int64_t) * RP_NSLOTS ? v->mv_size : sizeof(int64_t) * RP_NSLOTS;
    memcpy(vals, v->mv_data, n);
}

/* --- the page's changes ------------------------------------------------------------------- */
/* The touched arrays in the order first touched (cells), found through an open-addressing
 * index of (hash, cell number + 1) pairs that is small enough to stay in cache. */
typedef struct {
    uint8_t key[KEY_LEN];
    int64_t vals[RP_NSLOTS];
} s_cell_t;

struct rp_agg_page {
    s_cell_t *cells;
    size_t n, ncap;         /* cells used and allocated */
    uint64_t *index;        /* hash << 32 | (cell + 1); 0 = empty */
    size_t cap;             /* a power of two, at least twice n */
};

static uint32_t s_hash(const uint8_t key[KEY_LEN])
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < KEY_LEN; i++)
        h = (h ^ key[i]) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

/* Empties the page's changes for the next page, keeping what was allocated (as much as the
 * largest page touched, freed at close): a page of registrations touches tens of thousands of
 * arrays, and growing them from nothing again for every page cost a catching-up replica about a
 * tenth of its CPU (reallocation and page faults; 20.8 -> 18.3 s, mean of three paired runs). */
static void s_page_clear(struct rp_agg_page *pg)
{
    if (!pg)
        return;
    pg->n = 0;
    if (pg->index)
        memset(pg->index, 0, pg->cap * sizeof *pg->index);
}

static void s_page_free(reporting_t *st)
{
    if (st->agg_page) {
        free(st->agg_page->cells);
        free(st->agg_page->index);
    }
    free(st->agg_page);
    st->agg_page = NULL;
}

/* Doubles the index (rehashing from the stored hashes). 0 or ENOMEM. */
static int s_index_grow(struct rp_agg_page *pg)
{
    size_t cap = pg->cap ? pg->cap * 2 : 4096;
    uint64_t *index = calloc(cap, sizeof *index);
    if (!index)
        return ENOMEM;
    for (size_t i = 0; i < pg->cap; i++) {
        if (!pg->index[i])
            continue;
        size_t j = (size_t)(pg->index[i] >> 32) & (cap - 1);
        while (index[j])
            j = (j + 1) & (cap - 1);
        index[j] = pg->index[i];
    }
    free(pg->index);
    pg->index = index;
    pg->cap = cap;
    return 0;
}

/* The cell of key in the page (created zeroed); NULL when out of memory. */
static s_cell_t *s_cell(reporting_t *st, const uint8_t key[KEY_LEN])
{
    struct rp_agg_page *pg = st->agg_page;
    if (!pg && !(pg = st->agg_page = calloc(1, sizeof *pg)))
        return NULL;
    if (2 * (pg->n + 1) > pg->cap && s_index_grow(pg) != 0)
        return NULL;
    uint32_t h = s_hash(key);
    size_t j = h & (pg->cap - 1);
    for (; pg->index[j]; j = (j + 1) & (pg->cap - 1)) {
        s_cell_t *c = &pg->cells[(uint32_t)pg->index[j] - 1];
        if ((uint32_t)(pg->index[j] >> 32) == h && memcmp(c->key, key, KEY_LEN) == 0)
            return c;
    }
    if (hy_array_grow(&pg->cells, &pg->ncap, pg->n, sizeof *pg->cells, 1024) != 0)
        return NULL;
    s_cell_t *c = &pg->cells[pg->n];
    memcpy(c->key, key, KEY_LEN);
    memset(c->vals, 0, sizeof c->vals);
    pg->index[j] = (uint64_t)h << 32 | (uint64_t)(pg->n + 1);
    pg->n++;
    return c;
}

static int s_page_add(reporting_t *st, const uint8_t key[KEY_LEN], int slot, int64_t delta)
{
    s_cell_t *c = s_cell(st, key);
    if (!c)
        return ENOMEM;
    return __builtin_add_overflow(c->vals[slot], delta, &c->vals[slot]) ? EOVERFLOW : 0;
}

/* Adds a cell's changes to its stored array (created when absent), through cur. */
static int s_page_write(MDB_cursor *cur, const s_cell_t *c)
{
    int64_t vals[RP_NSLOTS];
    MDB_val k = {KEY_LEN, (void *)c->key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    bool same = rc == 0 && v.mv_size == sizeof vals;
    if (rc == 0)
        s_load(&v, vals);
    else
        memset(vals, 0, sizeof vals);
    for (int i = 0; i < RP_NSLOTS; i++)
        if (__builtin_add_overflow(vals[i], c->vals[i], &vals[i]))
            return EOVERFLOW;
    k = (MDB_val){KEY_LEN, (void *)c->key};
    v = (MDB_val){sizeof vals, vals};
    return mdb_cursor_put(cur, &k, &v, same ? MDB_CURRENT : 0);
}

static int s_cell_cmp(const void *a, const void *b)
{
    return memcmp((*(const s_cell_t *const *)a)->key, (*(const s_cell_t *const *)b)->key, KEY_LEN);
}

/* Each day's changes into its 32-day block's (s_add_at keeps only the day's while the page is
 * applied: one lookup per change rather than two; the block gets the same sums). */
static int s_page_blocks(reporting_t *st)
{
    struct rp_agg_page *pg = st->agg_page;
    for (size_t i = 0, n = pg->n; i < n; i++) {
        if (pg->cells[i].key[5] != LEVEL_DAY)
            continue;
        uint8_t key[KEY_LEN];
        memcpy(key, pg->cells[i].key, KEY_LEN);
        key[5] = LEVEL_BLOCK;
        rp_be32(key + 6, rp_get32(key + 6) >> BLOCK_SHIFT);
        s_cell_t *b = s_cell(st, key);   /* may move the cells: the day's is read after */
        if (!b)
            return ENOMEM;
        for (int j = 0; j < RP_NSLOTS; j++)
            if (__builtin_add_overflow(b->vals[j], pg->cells[i].vals[j], &b->vals[j]))
                return EOVERFLOW;
    }
    return 0;
}

/* The touched arrays are written in key order: neighbours share LMDB pages. */
int rp_agg_page_end(hy_ctx_t *ctx, bool keep)
{
    reporting_t *st = reporting_state(ctx);
    struct rp_agg_page *pg = st->agg_page;
    int rc = keep && pg ? s_page_blocks(st) : 0;
    MDB_cursor *cur;
    const s_cell_t **order = rc == 0 && keep && pg && pg->n ? malloc(pg->n * sizeof *order) : NULL;
    if (rc == 0 && keep && pg && pg->n && !order)
        rc = ENOMEM;
    if (order && (rc = mdb_cursor_open(ctx->txn, st->agg, &cur)) == 0) {
        for (size_t i = 0; i < pg->n; i++)
            order[i] = &pg->cells[i];
        qsort(order, pg->n, sizeof *order, s_cell_cmp);
        for (size_t i = 0; rc == 0 && i < pg->n; i++)
            rc = s_page_write(cur, order[i]);
        mdb_cursor_close(cur);
    }
    free(order);
    s_page_clear(pg);
    return rc;
}

void rp_agg_close(reporting_t *st)
{
    s_page_free(st);
}

/* The day's and the 32-day block's arrays of one dimension value, in the page's changes. */
static int s_add_at(reporting_t *st, int kind, uint32_t id, uint32_t u, int slot, int64_t delta)
{
    uint8_t key[KEY_LEN];   /* the block's share is added when the page ends (s_page_blocks) */
    s_key(key, kind, id, LEVEL_DAY, u);
    return s_page_add(st, key, slot, delta);
}

uint32_t rp_day_u(int64_t day)
{
    return s_u(day);
}

/* A change is added at the day and at its 32-day block of one dimension value. */
int rp_agg_add_one(hy_ctx_t *ctx, int kind, uint32_t id, int64_t day, int slot, int64_t delta)
{
    return delta ? s_add_at(reporting_state(ctx), kind, id, s_u(day), slot, delta) : 0;
}

/* Under "all" and every attributed value; the record behind the change (the subject of the
 * event being applied) is kept beside it for drill-down (figures.c). */
int rp_agg_add(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, int64_t delta)
{
    reporting_t *st = reporting_state(ctx);
    uint32_t u = s_u(day);
    int rc = 0;
    if (delta == 0)
        return 0;
    for (int kind = 0; kind < RP_NDIMS && rc == 0; kind++) {
        uint32_t id = kind == RP_DIM_ALL ? 0 : tags->v[kind];
        if (kind != RP_DIM_ALL && id == 0)
            continue;
        rc = s_add_at(st, kind, id, u, slot, delta);
        if (rc == 0 && !rp_person_slot(slot))   /* persons: read from their records */
            rc = rp_contrib_add(ctx, kind, id, day, slot, delta);
    }
    /* an office's page breaks its figures down by field, sex and network too */
    static const int cross[][2] = {{RP_DIM_FIELD, RP_DIM_OFFICE_FIELD}, {RP_DIM_SEX, RP_DIM_OFFICE_SEX},
                                   {RP_DIM_NETWORK, RP_DIM_OFFICE_NETWORK}};
    for (size_t i = 0; rc == 0 && tags->v[RP_DIM_OFFICE] && i < sizeof cross / sizeof cross[0]; i++) {
        uint32_t id;
        if (!tags->v[cross[i][0]])
            continue;
        rc = rp_intern_cross(ctx, cross[i][1], tags->v[RP_DIM_OFFICE], tags->v[cross[i][0]], &id);
        if (rc == 0)
            rc = s_add_at(st, cross[i][1], id, u, slot, delta);
    }
    return rc;
}

/* Adds every array under keys [kind|id|level|from, kind|id|level|to) into sum. */
static int s_sum_range(MDB_cursor *cur, int kind, uint32_t id, int level, uint32_t from,
                       uint32_t to, int64_t sum[RP_NSLOTS])
{
    uint8_t start[KEY_LEN];
    s_key(start, kind, id, level, from);
    MDB_val k = {KEY_LEN, start}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != KEY_LEN || memcmp(kb, start, 6) != 0 || rp_get32(kb + 6) >= to)
            return 0;
        int64_t vals[RP_NSLOTS];
        s_load(&v, vals);
        for (int i = 0; i < RP_NSLOTS; i++)
            if (__builtin_add_overflow(sum[i], vals[i], &sum[i]))
                return EOVERFLOW;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Blocks before the day's block, then the days of its block up to the day: at most ~32 keys
 * more than there are blocks with data. */
int rp_agg_upto(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int64_t day,
                int64_t out[RP_NSLOTS])
{
    memset(out, 0, sizeof(int64_t) * RP_NSLOTS);
    uint32_t u = s_u(day), block = u >> BLOCK_SHIFT;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->agg, &cur);
    if (rc)
        return rc;
    rc = s_sum_range(cur, kind, id, LEVEL_BLOCK, 0, block, out);
    if (rc == 0 && u < UINT32_MAX)
        rc = s_sum_range(cur, kind, id, LEVEL_DAY, block << BLOCK_SHIFT, u + 1, out);
    mdb_cursor_close(cur);
    return rc;
}

/* Seeks from value to value (MDB_SET_RANGE past each id) instead of reading every key. */
int rp_agg_values(MDB_txn *txn, reporting_t *st, int kind, rp_value_fn fn, void *user)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->agg, &cur);
    if (rc)
        return rc;
    uint32_t next = 0;
    for (;;) {
        uint8_t start[KEY_LEN];
        s_key(start, kind, next, 0, 0);
        MDB_val k = {KEY_LEN, start}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND || (rc == 0 && ((const uint8_t *)k.mv_data)[0] != kind)) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        uint32_t id = rp_get32((const uint8_t *)k.mv_data + 1);
        if ((rc = fn(id, user)) != 0 || id == UINT32_MAX)
            break;
        next = id + 1;
    }
    mdb_cursor_close(cur);
    return rc;
}

/* For --rebuild: counters and marks go; they are rebuilt from the events. */
int rp_agg_reset(reporting_t *st, MDB_txn *txn)
{
    int rc = mdb_drop(txn, st->agg, 0);
    if (rc == 0)
        rc = mdb_drop(txn, st->gaps, 0);
    if (rc == 0)
        rc = mdb_drop(txn, st->contrib, 0);
    return rc ? rc : mdb_drop(txn, st->seen, 0);
}
