/*
 * distinct.c — distinct people for ANY period, exactly, without a scan of events.
 *
 * For each distinct indicator (people with loans, counselled, members trained, people with a
 * job) and each dimension value a person is counted under, the person's days are kept, one
 * record per day (-> how many times that day) in the seen database under
 *     slot (1) | dimension kind (1) | value id (4, BE) | person (8, BE) | biased day (4, BE)
 * From those lists three kinds of counters are kept up to date:
 *   F  the person's FIRST day: +1 on it (slot `slot` of the day counters, aggregates.c)
 *   L  the person's LAST day:  +1 on it (slot rp_distinct_last(slot))
 *   G  each GAP between two consecutive days p < d of a person: +1 at the point (p, d) of a
 *      two-dimensional counter (gaps database, below)
 * A person has an event in [a, b] unless all her days are before a (last < a), all after b
 * (first > b), or she has a gap that spans [a, b] (p < a and d > b; at most one does). So
 *     people(a, b) = F(<= b) - L(< a) - G(p < a, d > b)
 * which are two running sums (aggregates.c) and one dominance count. A new day of a person
 * changes at most two F/L marks and three gaps; removing a day (a voided or corrected record)
 * does the reverse, so counts follow corrections exactly.
 *
 * GAPS are counted at four resolutions, so a dominance count reads O(blocks) keys whatever the
 * data: key = kind (1) | id (4) | slot (1) | level (1) | x (4, BE) | y (4, BE), with (x, y) the
 * biased day numbers of (p, d) as 32-day blocks or days:
 *   level 0 (p block, d block), 1 (p block, d day), 2 (p day, d block), 3 (p day, d day).
 * p < a is the p blocks before a's block plus the days of a's block before a; d > b is the days
 * of b's block after b plus the blocks after b's. The four products of those are four levels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"

#define SEEN_LEN 18
#define GAP_LEN 15
#define SHIFT 5

int rp_distinct_last(int slot)
{
    switch (slot) {
    case RP_S_PEOPLE_LOANS: return RP_S_PEOPLE_LOANS_L;
    case RP_S_COUNSELLED: return RP_S_COUNSELLED_L;
    case RP_S_FUND_TRAINED: return RP_S_FUND_TRAINED_L;
    case RP_S_JOBS_PEOPLE: return RP_S_JOBS_PEOPLE_L;
    default: return -1;
    }
}

static void s_gap_key(uint8_t k[GAP_LEN], int kind, uint32_t id, int slot, int level, uint32_t x,
                      uint32_t y)
{
    k[0] = (uint8_t)kind;
    rp_be32(k + 1, id);
    k[5] = (uint8_t)slot;
    k[6] = (uint8_t)level;
    rp_be32(k + 7, x);
    rp_be32(k + 11, y);
}

/* Adds delta to the gap (p, d) at its four resolutions. */
static int s_gap(hy_ctx_t *ctx, int kind, uint32_t id, int slot, int64_t p, int64_t d, int64_t delta)
{
    reporting_t *st = reporting_state(ctx);
    uint32_t up = rp_day_u(p), ud = rp_day_u(d);
    for (int level = 0; level < 4; level++) {
        uint8_t key[GAP_LEN];
        s_gap_key(key, kind, id, slot, level, level & 2 ? up : up >> SHIFT, level & 1 ? ud : ud >> SHIFT);
        int rc = rp_count_add(ctx->txn, st->gaps, key, GAP_LEN, delta);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sums the gap counts of rows x in [x0, x1) and columns y in [y0, y1) of one level, seeking from
 * row to row (empty rows cost one seek at most). */
static int s_rows(MDB_cursor *cur, int kind, uint32_t id, int slot, int level, uint32_t x0,
                  uint32_t x1, uint32_t y0, uint32_t y1, int64_t *sum)
{
    uint8_t key[GAP_LEN];
    for (uint32_t x = x0; x < x1;) {
        s_gap_key(key, kind, id, slot, level, x, y0);
        MDB_val k = {GAP_LEN, key}, v;
        int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc)
            return rc;
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != GAP_LEN || memcmp(kb, key, 7) != 0 || rp_get32(kb + 7) >= x1)
            return 0;
        if (rp_get32(kb + 7) > x) {   /* the next row with anything: seek its column y0 */
            x = rp_get32(kb + 7);
            continue;
        }
        while (rc == 0 && k.mv_size == GAP_LEN && memcmp(kb, key, 7) == 0 && rp_get32(kb + 7) == x &&
               rp_get32(kb + 11) < y1) {
            int64_t n;
            memcpy(&n, v.mv_data, sizeof n);
            *sum += n;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            kb = k.mv_data;
        }
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if (x == UINT32_MAX)
            break;
        x++;
    }
    return 0;
}

/* Gaps (p, d) with p < a and d > b (a <= b). */
static int s_spanning(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int slot, int64_t a,
                      int64_t b, int64_t *sum)
{
    uint32_t ua = rp_day_u(a), ub = rp_day_u(b), A = ua >> SHIFT, B = ub >> SHIFT;
    uint32_t bend = (B + 1) << SHIFT;   /* first day after b's block */
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->gaps, &cur);
    if (rc)
        return rc;
    *sum = 0;
    if ((rc = s_rows(cur, kind, id, slot, 0, 0, A, B + 1, UINT32_MAX, sum)) == 0 &&
        (rc = s_rows(cur, kind, id, slot, 1, 0, A, ub + 1, bend, sum)) == 0 &&
        (rc = s_rows(cur, kind, id, slot, 2, A << SHIFT, ua, B + 1, UINT32_MAX, sum)) == 0)
        rc = s_rows(cur, kind, id, slot, 3, A << SHIFT, ua, ub + 1, bend, sum);
    mdb_cursor_close(cur);
    return rc;
}

int rp_distinct_count(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int slot, int64_t from,
                      int64_t to, const int64_t upto_to[],
                      const int64_t upto_before[], int64_t *out)
{
    int64_t gaps;
    int rc = s_spanning(txn, st, kind, id, slot, from, to, &gaps);
    if (rc == 0)
        *out = upto_to[slot] - upto_before[rp_distinct_last(slot)] - gaps;
    return rc;
}

static void s_seen_key(uint8_t k[SEEN_LEN], int slot, int kind, uint32_t id, uint64_t person,
                       uint32_t u)
{
    k[0] = (uint8_t)slot;
    k[1] = (uint8_t)kind;
    rp_be32(k + 2, id);
    hy_key_u64(person, k + 6);
    rp_be32(k + 14, u);
}

/* The person's day next to u (dir > 0: the first after it, dir < 0: the last before it) under
 * the same 14-byte prefix; false when there is none. */
static int s_neighbour(MDB_cursor *cur, const uint8_t key[SEEN_LEN], int dir, bool *found,
                       int64_t *day)
{
    uint8_t k0[SEEN_LEN];
    uint32_t u = rp_get32(key + 14);
    memcpy(k0, key, SEEN_LEN);
    *found = false;
    if (dir > 0 && u == UINT32_MAX)
        return 0;
    rp_be32(k0 + 14, dir > 0 ? u + 1 : u);
    MDB_val k = {SEEN_LEN, k0}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (dir < 0)
        rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
             : rc == 0          ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
                                : rc;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (k.mv_size == SEEN_LEN && memcmp(k.mv_data, key, 14) == 0) {
        *found = true;
        *day = (int64_t)rp_get32((const uint8_t *)k.mv_data + 14) - ((int64_t)rp_day_u(0));
    }
    return 0;
}

/* One person's days under one dimension value: a day more (delta 1) or less (-1). Each day is
 * its own small record (slot | kind | id | person | biased day -> count), so a person seen on
 * many days costs a few small writes per event, never a rewrite of her whole history. */
static int s_mark(hy_ctx_t *ctx, MDB_cursor *cur, int kind, uint32_t id, int slot, uint64_t person,
                  int64_t day, int delta)
{
    reporting_t *st = reporting_state(ctx);
    uint8_t key[SEEN_LEN];
    s_seen_key(key, slot, kind, id, person, rp_day_u(day));
    MDB_val k = {SEEN_LEN, key}, v;
    int32_t count = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == 0 && v.mv_size == sizeof count)
        memcpy(&count, v.mv_data, sizeof count);
    else if (rc != MDB_NOTFOUND)
        return rc ? rc : MDB_CORRUPTED;
    k = (MDB_val){SEEN_LEN, key};
    if (count > 0 && (delta > 0 || count > 1)) {   /* the day stays: only its count changes */
        count += delta > 0 ? 1 : -1;
        return mdb_cursor_put(cur, &k, &(MDB_val){sizeof count, &count}, MDB_CURRENT);
    }
    if (count == 0 && delta < 0)
        return 0;
    bool has_prev, has_next;
    int64_t prev = 0, next = 0;
    rc = s_neighbour(cur, key, -1, &has_prev, &prev);
    if (rc == 0)
        rc = s_neighbour(cur, key, 1, &has_next, &next);
    int d = delta > 0 ? 1 : -1, last = rp_distinct_last(slot);
    if (rc == 0 && !has_prev && has_next)
        rc = rp_agg_add_one(ctx, kind, id, next, slot, -d);
    if (rc == 0 && !has_prev)
        rc = rp_agg_add_one(ctx, kind, id, day, slot, d);
    if (rc == 0 && !has_next && has_prev)
        rc = rp_agg_add_one(ctx, kind, id, prev, last, -d);
    if (rc == 0 && !has_next)
        rc = rp_agg_add_one(ctx, kind, id, day, last, d);
    if (rc == 0 && has_prev && has_next)
        rc = s_gap(ctx, kind, id, slot, prev, next, -d);
    if (rc == 0 && has_prev)
        rc = s_gap(ctx, kind, id, slot, prev, day, d);
    if (rc == 0 && has_next)
        rc = s_gap(ctx, kind, id, slot, day, next, d);
    count = 1;
    if (rc == 0)
        rc = delta > 0 ? mdb_put(ctx->txn, st->seen, &k, &(MDB_val){sizeof count, &count}, 0)
                       : mdb_del(ctx->txn, st->seen, &k, NULL);
    return rc;
}

/* Under "all" and every dimension kind, the unattributed value 0 included (the "not
 * attributed" group of distinct people is read, not derived). */
static int s_mark_all(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person,
                      int delta)
{
    MDB_cursor *cur;   /* one for every dimension's lookups, neighbours and count changes */
    int rc = mdb_cursor_open(ctx->txn, reporting_state(ctx)->seen, &cur);
    if (rc)
        return rc;
    for (int kind = 0; rc == 0 && kind < RP_NDIMS; kind++)
        rc = s_mark(ctx, cur, kind, kind == RP_DIM_ALL ? 0 : tags->v[kind], slot, person, day, delta);
    mdb_cursor_close(cur);
    return rc;
}

int rp_agg_distinct(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person)
{
    return s_mark_all(ctx, tags, day, slot, person, 1);
}

int rp_agg_undistinct(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person)
{
    return s_mark_all(ctx, tags, day, slot, person, -1);
}

/* Every day record of `from` becomes `to`'s (a merge), under the same slot and dimension
 * value. A scan of every day record (merges are rare; the records are small). */
int rp_distinct_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to)
{
    reporting_t *st = reporting_state(ctx);
    uint8_t who[8];
    hy_key_u64(from, who);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(ctx->txn, st->seen, &cur);
    if (rc)
        return rc;
    size_t n = 0, cap = 0;
    struct s_rec {
        uint8_t key[SEEN_LEN];
        int32_t count;
    } *recs = NULL;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SEEN_LEN || memcmp((const uint8_t *)k.mv_data + 6, who, 8) != 0)
            continue;
        if (hy_array_grow(&recs, &cap, n, sizeof *recs, 64) != 0) {
            rc = ENOMEM;
            break;
        }
        memcpy(recs[n].key, k.mv_data, SEEN_LEN);
        memcpy(&recs[n].count, v.mv_data, sizeof recs[n].count);
        n++;
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *key = recs[i].key;
        int64_t day = (int64_t)rp_get32(key + 14) - (int64_t)rp_day_u(0);
        for (int32_t c = 0; rc == 0 && c < recs[i].count; c++) {
            rc = s_mark(ctx, cur, key[1], rp_get32(key + 2), key[0], from, day, -1);
            if (rc == 0)
                rc = s_mark(ctx, cur, key[1], rp_get32(key + 2), key[0], to, day, 1);
        }
    }
    mdb_cursor_close(cur);   /* the scan's, kept for the marks */
    free(recs);
    return rc;
}
