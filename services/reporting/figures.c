/*
 * figures.c — the records behind a figure (drill-down), for submitted reports.
 *
 * Every change a projection adds to a counter (rp_agg_add) is also kept beside the record it
 * came from: the subject of the event being applied (an activity, loan, order, fund, enrolment,
 * membership's network, person id), in the contrib database under
 *     dimension kind (1) | value id (4, BE) | slot (1) | biased day (4, BE) | subject
 * -> the sum of the changes (int64). The records behind a flow of a period are the subjects
 * whose changes in its days do not sum to zero; behind a stock, those whose changes up to its
 * last day do not; behind a ratio, its numerator's. The people behind a distinct figure are
 * read from the per-person day lists (distinct.c): those with a day in the period.
 *
 * Figures about registrations (beneficiaries, women heads of household, agency referrals) keep
 * no such record: their ids are read from the persons themselves (registration day, office,
 * neighbourhood, sex and flags as they stand now), which costs a scan of the persons at a
 * submission rather than a record per person and dimension at every registration.
 *
 * This is read only when a report is submitted (or its drill-down asked): it scans the
 * changes of one dimension value, never the hot path of a report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"

#define SUBJECT_MAX 64
#define HEAD 10

static void s_head(uint8_t k[HEAD], int kind, uint32_t id, int slot, uint32_t u)
{
    k[0] = (uint8_t)kind;
    rp_be32(k + 1, id);
    k[5] = (uint8_t)slot;
    rp_be32(k + 6, u);
}

/* The page's changes, in the order they came: summed and written in key order when the page
 * ends (neighbours share LMDB pages), as the counters are (aggregates.c). The sum of a key's
 * changes is what adding them one by one would have stored, a zero sum deleting the record. */
typedef struct {
    uint8_t key[HEAD + SUBJECT_MAX];
    uint8_t len;
    int64_t delta;
} s_change_t;

struct rp_contrib_page {
    s_change_t *v;
    size_t n, cap;
};

int rp_contrib_add(hy_ctx_t *ctx, int kind, uint32_t id, int64_t day, int slot, int64_t delta)
{
    reporting_t *st = reporting_state(ctx);
    struct rp_contrib_page *pg = st->contrib_page;
    if (!pg && !(pg = st->contrib_page = calloc(1, sizeof *pg)))
        return ENOMEM;
    if (hy_array_grow(&pg->v, &pg->cap, pg->n, sizeof *pg->v, 1024) != 0)
        return ENOMEM;
    s_change_t *c = &pg->v[pg->n++];
    const char *subject = st->subject ? st->subject : "";
    size_t len = strlen(subject) < SUBJECT_MAX ? strlen(subject) : SUBJECT_MAX;
    s_head(c->key, kind, id, slot, rp_day_u(day));
    memcpy(c->key + HEAD, subject, len);
    c->len = (uint8_t)(HEAD + len);
    c->delta = delta;
    return 0;
}

/* Key order (a shorter key first, as LMDB's), then arrival: the sort is stable in effect. */
static int s_change_cmp(const void *a, const void *b)
{
    const s_change_t *x = *(const s_change_t *const *)a, *y = *(const s_change_t *const *)b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c == 0)
        c = (int)x->len - (int)y->len;
    return c ? c : (x < y ? -1 : x > y);
}

int rp_contrib_page_end(hy_ctx_t *ctx, bool keep)
{
    reporting_t *st = reporting_state(ctx);
    struct rp_contrib_page *pg = st->contrib_page;
    int rc = 0;
    const s_change_t **order = keep && pg && pg->n ? malloc(pg->n * sizeof *order) : NULL;
    if (keep && pg && pg->n && !order)
        rc = ENOMEM;
    MDB_cursor *cur = NULL;   /* one cursor in key order: most seeks stay on its leaf */
    if (order && (rc = mdb_cursor_open(ctx->txn, st->contrib, &cur)) == 0) {
        for (size_t i = 0; i < pg->n; i++)
            order[i] = &pg->v[i];
        qsort(order, pg->n, sizeof *order, s_change_cmp);
        for (size_t i = 0; rc == 0 && i < pg->n;) {
            int64_t sum = 0;
            size_t j = i;
            for (; j < pg->n && order[j]->len == order[i]->len &&
                   memcmp(order[j]->key, order[i]->key, order[i]->len) == 0; j++)
                if (__builtin_add_overflow(sum, order[j]->delta, &sum))
                    rc = EOVERFLOW;
            if (rc == 0 && sum != 0)
                rc = rp_count_add_at(cur, order[i]->key, order[i]->len, sum);
            i = j;
        }
        mdb_cursor_close(cur);
    }
    free(order);
    if (pg)
        pg->n = 0;   /* its memory kept for the next page (rp_contrib_close frees it) */
    return rc;
}

void rp_contrib_close(reporting_t *st)
{
    if (st->contrib_page)
        free(st->contrib_page->v);
    free(st->contrib_page);
    st->contrib_page = NULL;
}

/* Subjects whose changes to slot on days [from, to] do not sum to zero, sorted. */
static int s_subjects(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int slot, uint32_t from,
                      uint32_t to, json_t *out)
{
    json_t *sums = json_object();
    MDB_cursor *cur;
    int rc = sums ? mdb_cursor_open(txn, st->contrib, &cur) : ENOMEM;
    if (rc) {
        json_decref(sums);
        return rc;
    }
    uint8_t start[HEAD];
    s_head(start, kind, id, slot, from);
    MDB_val k = {HEAD, start}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size < HEAD || memcmp(kb, start, 6) != 0 || rp_get32(kb + 6) > to)
            break;
        char subject[SUBJECT_MAX + 1];
        int64_t n;
        memcpy(subject, kb + HEAD, k.mv_size - HEAD);
        subject[k.mv_size - HEAD] = '\0';
        memcpy(&n, v.mv_data, sizeof n);
        int64_t was = json_integer_value(json_object_get(sums, subject));
        if (json_object_set_new(sums, subject, json_integer(was + n)) != 0) {
            rc = ENOMEM;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(sums, key, val)
        if (rc == 0 && json_integer_value(val) != 0 && *key)
            rc = json_array_append_new(out, json_string(key)) ? ENOMEM : 0;
    json_decref(sums);
    return rc;
}

/* Persons with a day in [from, to] in the day records of (slot, kind, id) (distinct.c): for
 * each person, a seek to her first day >= from. */
static int s_people(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int slot, int64_t from,
                    int64_t to, json_t *out)
{
    uint8_t key[18] = {(uint8_t)slot, (uint8_t)kind};
    rp_be32(key + 2, id);
    memset(key + 6, 0, 12);
    uint32_t ufrom = rp_day_u(from), uto = rp_day_u(to);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->seen, &cur);
    if (rc)
        return rc;
    MDB_val k = {18, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != 18 || memcmp(kb, key, 6) != 0)
            break;
        uint64_t person = hy_key_u64_get(kb + 6);
        uint32_t u = rp_get32(kb + 14);
        uint8_t seek[18];
        memcpy(seek, kb, 14);
        if (u < ufrom) {   /* her first day >= from */
            rp_be32(seek + 14, ufrom);
            k = (MDB_val){18, seek};
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            continue;
        }
        if (u <= uto) {
            char pid[32];
            snprintf(pid, sizeof pid, "prs_%llu", (unsigned long long)person);
            if (json_array_append_new(out, json_string(pid)) != 0) {
                rc = ENOMEM;
                break;
            }
        }
        if (person == UINT64_MAX)
            break;
        hy_key_u64(person + 1, seek + 6);   /* the next person */
        memset(seek + 14, 0, 4);
        k = (MDB_val){18, seek};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

bool rp_person_slot(int slot)
{
    return slot == RP_S_BENEFICIARIES || slot == RP_S_WOMEN_HEADS || slot == RP_S_REF_AGENCY ||
           slot == RP_S_TRANSFERS;
}

/* Whether person p is under (kind, id). */
static bool s_person_in(const rp_person_t *p, int kind, uint32_t id)
{
    switch (kind) {
    case RP_DIM_ALL: return true;
    case RP_DIM_OFFICE: return p->office == id;
    case RP_DIM_HOOD: return p->hood == id;
    case RP_DIM_OFFICE_HOOD: return p->pair == id;
    case RP_DIM_SEX: return p->sex == id;
    default: return id == 0;
    }
}

/* The persons behind a registration figure (a flow: registered in the period; a stock: up to
 * its end), by a scan of the persons. */
static int s_registered(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, const rp_indicator_t *ind,
                        const rp_period_t *per, json_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->persons, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rp_person_t p;
        if (k.mv_size != 8 || v.mv_size != sizeof p)
            continue;
        memcpy(&p, v.mv_data, sizeof p);
        bool in = !(p.flags & RP_P_MERGED) && s_person_in(&p, kind, id) && p.reg_day <= per->to &&
                  (ind->kind == RP_STOCK || p.reg_day >= per->from) &&
                  (ind->slot != RP_S_WOMEN_HEADS || (p.flags & RP_P_HH_HEAD) ||
                   ((p.flags & RP_P_HEAD) && p.sex == RP_SEX_FEMALE && !(p.flags & RP_P_IN_HH))) &&
                  (ind->slot != RP_S_REF_AGENCY || (p.flags & RP_P_AGENCY)) &&
                  (ind->den != RP_S_EXITED || !(p.flags & RP_P_EXITED) || p.exit_day > per->to);
        char pid[32];
        snprintf(pid, sizeof pid, "prs_%llu", (unsigned long long)hy_key_u64_get(k.mv_data));
        if (in && json_array_append_new(out, json_string(pid)) != 0) {
            rc = ENOMEM;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

json_t *rp_figure_ids(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, size_t i,
                      const rp_period_t *p)
{
    const rp_indicator_t *ind = &rp_indicators[i];
    json_t *out = json_array();
    bool stock = ind->kind == RP_STOCK || (ind->kind == RP_RATIO && ind->den_stock);
    int rc = !out                         ? ENOMEM
             : ind->kind == RP_DISTINCT ? s_people(txn, st, kind, id, ind->slot, p->from, p->to, out)
             : rp_person_slot(ind->slot) ? s_registered(txn, st, kind, id, ind, p, out)
                                         : s_subjects(txn, st, kind, id, ind->slot,
                                                      stock ? 0 : rp_day_u(p->from), rp_day_u(p->to), out);
    if (rc) {
        json_decref(out);
        return NULL;
    }
    return out;
}
