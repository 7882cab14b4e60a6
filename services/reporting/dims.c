/*
 * dims.c — where a figure is counted: dimension values and the small projections that
 * attribute other services' events to a person, a business, a network.
 *
 * Offices and neighbourhoods are interned: every spelling hy_fa_normalize folds together (ي/ی,
 * ZWNJ, digits, spacing) gets one 4-byte id, so a counter key stays 10 bytes and a filter typed
 * either way finds it. Sex and field are fixed small codes; a network is its own number.
 *
 * A person is attributed with the office, neighbourhood and sex she was REGISTERED with.
 * Corrections made later in the registry do not move her figures. This is deliberate: the
 * reporting service applies five sources in whatever order their events reach it, and a figure
 * that depended on which registry update had arrived before a loans event would differ between
 * two replicas with the same cursors. With registration-time values a figure depends only on
 * the events, never on their interleaving. A person another service names before the registry
 * has told us of her parks the event (hy_park: its source waits, nothing waits inside a
 * transaction) until this replica has caught up with what the registry had then; only a person
 * still unknown after that is counted unattributed. While the registry cannot be reached the event
 * waits (retried at each park deadline) rather than being counted unattributed; the other
 * sources and every report go on meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

#define NAME_KEY_MAX 480

const char *const rp_dim_names[RP_NDIMS] = {"all", "office", "neighbourhood", "office_neighbourhood",
                                            "field", "sex", "network"};
const char *const rp_field_names[5] = {NULL, "agriculture", "industry", "handicrafts", "services"};
const char *const rp_sex_names[3] = {NULL, "female", "male"};

/* Index of text in a names table (1-based), 0 when absent. */
static int s_code(const char *const *names, int n, const char *text)
{
    for (int i = 1; text && i < n; i++)
        if (strcmp(names[i], text) == 0)
            return i;
    return 0;
}

int rp_sex_code(const char *sex)
{
    return s_code(rp_sex_names, 3, sex);
}

int rp_field_code(const char *field)
{
    return s_code(rp_field_names, 5, field);
}

reporting_t *reporting_state(hy_ctx_t *ctx)
{
    return (reporting_t *)ctx->state;
}

/* Ids are "<prefix>_<n>"; only the number matters here, so a renamed prefix changes nothing. */
int rp_id_num(const char *id, uint64_t *n)
{
    const char *us = id ? strrchr(id, '_') : NULL;
    if (!us || !us[1])
        return -1;
    char *end;
    unsigned long long v = strtoull(us + 1, &end, 10);
    if (*end || v == 0)
        return -1;
    *n = v;
    return 0;
}

/* "n"<kind><normalised text>: the lookup key of a text value; 0 when empty. */
static size_t s_name_key(int kind, const char *text, uint8_t *out)
{
    char *norm = text ? hy_fa_key(text) : NULL;
    size_t len = norm ? strlen(norm) : 0;
    if (len > NAME_KEY_MAX)
        len = NAME_KEY_MAX;
    out[0] = 'n';
    out[1] = (uint8_t)kind;
    if (len)
        memcpy(out + 2, norm, len);
    free(norm);
    return len ? len + 2 : 0;
}

/* An (office, value) pair of a cross kind is interned by the two ids. */
static size_t s_pair_key(int kind, uint32_t office, uint32_t hood, uint8_t out[10])
{
    out[0] = 'n';
    out[1] = (uint8_t)kind;
    memcpy(out + 2, &office, 4);
    memcpy(out + 6, &hood, 4);
    return 10;
}

/* The kind of the second member of a cross kind. */
static int s_cross_of(int kind)
{
    switch (kind) {
    case RP_DIM_OFFICE_AGENCY: return RP_DIM_AGENCY;
    case RP_DIM_OFFICE_FIELD: return RP_DIM_FIELD;
    case RP_DIM_OFFICE_SEX: return RP_DIM_SEX;
    case RP_DIM_OFFICE_NETWORK: return RP_DIM_NETWORK;
    default: return RP_DIM_HOOD;
    }
}

/* "i"<kind><id BE>: the reverse entry that keeps a value's display text. */
static void s_rev_key(int kind, uint32_t id, uint8_t out[6])
{
    out[0] = 'i';
    out[1] = (uint8_t)kind;
    out[2] = (uint8_t)(id >> 24), out[3] = (uint8_t)(id >> 16), out[4] = (uint8_t)(id >> 8);
    out[5] = (uint8_t)id;
}

/* The id under a lookup key. */
static int s_find(MDB_txn *txn, reporting_t *st, const uint8_t *key, size_t klen, uint32_t *id)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, st->names, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        memcpy(id, v.mv_data, 4);
    return rc;
}

/* Gives key a new id with display text shown (kept in the reverse entry). */
static int s_new_name(hy_ctx_t *ctx, int kind, const uint8_t *key, size_t klen, const char *shown,
                      uint32_t *id)
{
    reporting_t *st = reporting_state(ctx);
    uint64_t n;
    int rc = hy_store_next(ctx->txn, st->meta, "names", &n);
    if (rc)
        return rc;
    if (n > UINT32_MAX)
        return EOVERFLOW;
    *id = (uint32_t)n;
    uint8_t rkey[6];
    s_rev_key(kind, *id, rkey);
    MDB_val k = {klen, (void *)key}, v = {4, id};
    MDB_val rk = {6, rkey}, rv = {strlen(shown), (void *)shown};
    if ((rc = mdb_put(ctx->txn, st->names, &k, &v, 0)) != 0)
        return rc;
    return mdb_put(ctx->txn, st->names, &rk, &rv, 0);
}

int rp_lookup(MDB_txn *txn, reporting_t *st, int kind, const char *text, uint32_t *id)
{
    uint8_t key[NAME_KEY_MAX + 2];
    size_t klen = s_name_key(kind, text, key);
    *id = 0;
    return klen ? s_find(txn, st, key, klen, id) : MDB_NOTFOUND;
}

int rp_lookup_cross(MDB_txn *txn, reporting_t *st, int kind, uint32_t office, uint32_t value, uint32_t *id)
{
    uint8_t key[10];
    *id = 0;
    return office && value ? s_find(txn, st, key, s_pair_key(kind, office, value, key), id) : MDB_NOTFOUND;
}

int rp_lookup_pair(MDB_txn *txn, reporting_t *st, uint32_t office, uint32_t hood, uint32_t *id)
{
    return rp_lookup_cross(txn, st, RP_DIM_OFFICE_HOOD, office, hood, id);
}

/* --- the page's interned values ----------------------------------------------------------------
 * A page of events names the same few offices, neighbourhoods and pairs thousands of times: each
 * value's id is remembered for the page's transaction (by the text as given, or the pair's two
 * ids), so that the normalisation and the lookup run once a page. Forgotten when the page ends,
 * committed or not (rp_names_page_end), and never used in another transaction. */
#define NP_SLOTS 256          /* a power of two */
#define NP_TEXT_MAX 60

typedef struct {
    uint32_t id;              /* 0: the slot is free */
    uint8_t kind, len;        /* len: of the text; 0 for a pair (text holds its two ids) */
    char text[NP_TEXT_MAX];
} s_np_slot_t;

struct rp_names_page {
    MDB_txn *txn;
    size_t used;
    s_np_slot_t slots[NP_SLOTS];
};

void rp_names_page_end(reporting_t *st)
{
    free(st->names_page);
    st->names_page = NULL;
}

/* The slot of (kind, text[len]) — found, or free to fill — or NULL when nothing is kept for it. */
static s_np_slot_t *s_np_slot(hy_ctx_t *ctx, int kind, const void *text, size_t len, bool pair)
{
    reporting_t *st = reporting_state(ctx);
    if (len > NP_TEXT_MAX || (!pair && len == 0) || kind > UINT8_MAX)
        return NULL;
    if (st->names_page && (st->names_page->txn != ctx->txn || st->names_page->used >= NP_SLOTS / 2))
        rp_names_page_end(st);   /* another transaction's, or full: start again */
    if (!st->names_page && !(st->names_page = calloc(1, sizeof *st->names_page)))
        return NULL;
    struct rp_names_page *np = st->names_page;
    np->txn = ctx->txn;
    uint32_t h = 2166136261u ^ (uint32_t)kind;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ ((const uint8_t *)text)[i]) * 16777619u;
    uint8_t stored_len = pair ? 0 : (uint8_t)len;
    for (uint32_t i = h & (NP_SLOTS - 1);; i = (i + 1) & (NP_SLOTS - 1)) {
        s_np_slot_t *s = &np->slots[i];
        if (!s->id || (s->kind == kind && s->len == stored_len && memcmp(s->text, text, len) == 0))
            return s;
    }
}

static void s_np_fill(hy_ctx_t *ctx, s_np_slot_t *s, int kind, const void *text, size_t len, bool pair,
                      uint32_t id)
{
    if (!s || !id)
        return;
    s->kind = (uint8_t)kind;
    s->len = pair ? 0 : (uint8_t)len;
    memcpy(s->text, text, len);
    s->id = id;
    reporting_state(ctx)->names_page->used++;
}

int rp_intern(hy_ctx_t *ctx, int kind, const char *text, uint32_t *id)
{
    size_t tlen = text ? strlen(text) : 0;
    s_np_slot_t *slot = s_np_slot(ctx, kind, text, tlen, false);
    if (slot && slot->id) {
        *id = slot->id;
        return 0;
    }
    uint8_t key[NAME_KEY_MAX + 2];
    size_t klen = s_name_key(kind, text, key);
    *id = 0;
    if (!klen)
        return 0;
    int rc = s_find(ctx->txn, reporting_state(ctx), key, klen, id);
    if (rc == MDB_NOTFOUND)
        rc = s_new_name(ctx, kind, key, klen, text, id);
    if (rc == 0)
        s_np_fill(ctx, slot, kind, text, tlen, false, *id);
    return rc;
}

int rp_intern_cross(hy_ctx_t *ctx, int kind, uint32_t office, uint32_t value, uint32_t *id)
{
    reporting_t *st = reporting_state(ctx);
    uint8_t key[10];
    *id = 0;
    if (!office || !value)
        return 0;
    uint32_t two[2] = {office, value};
    s_np_slot_t *slot = s_np_slot(ctx, kind, two, sizeof two, true);
    if (slot && slot->id) {
        *id = slot->id;
        return 0;
    }
    size_t klen = s_pair_key(kind, office, value, key);
    int rc = s_find(ctx->txn, st, key, klen, id);
    if (rc == 0)
        s_np_fill(ctx, slot, kind, two, sizeof two, true, *id);
    if (rc != MDB_NOTFOUND)
        return rc;
    char *a = rp_value_name(ctx->txn, st, RP_DIM_OFFICE, office);
    char *b = rp_value_name(ctx->txn, st, s_cross_of(kind), value);
    char shown[1024];
    snprintf(shown, sizeof shown, "%s / %s", a ? a : "?", b ? b : "?");
    free(a);
    free(b);
    rc = s_new_name(ctx, kind, key, klen, shown, id);
    if (rc == 0)
        s_np_fill(ctx, slot, kind, two, sizeof two, true, *id);
    return rc;
}

int rp_intern_pair(hy_ctx_t *ctx, uint32_t office, uint32_t hood, uint32_t *id)
{
    return rp_intern_cross(ctx, RP_DIM_OFFICE_HOOD, office, hood, id);
}

char *rp_value_name(MDB_txn *txn, reporting_t *st, int kind, uint32_t id)
{
    char buf[32];
    if (kind == RP_DIM_SEX)
        return id > 0 && id < 3 ? strdup(rp_sex_names[id]) : NULL;
    if (kind == RP_DIM_FIELD)
        return id > 0 && id < 5 ? strdup(rp_field_names[id]) : NULL;
    if (kind == RP_DIM_NETWORK) {
        snprintf(buf, sizeof buf, "net_%u", id);
        return id ? strdup(buf) : NULL;
    }
    uint8_t rkey[6];
    s_rev_key(kind, id, rkey);
    MDB_val k = {6, rkey}, v;
    if (mdb_get(txn, st->names, &k, &v) != 0)
        return NULL;
    return strndup(v.mv_data, v.mv_size);
}

/* --- persons --------------------------------------------------------------------------------- */

int rp_person_put(hy_ctx_t *ctx, uint64_t n, const char *nid, const rp_person_t *p)
{
    reporting_t *st = reporting_state(ctx);
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v = {sizeof *p, (void *)p};
    int rc = hy_store_put_last(ctx->txn, st->persons, &k, &v);
    if (rc == 0 && nid && strlen(nid) == 10) {
        MDB_val nk = {10, (void *)nid}, nv = {8, key};
        rc = mdb_put(ctx->txn, st->nids, &nk, &nv, 0);
    }
    return rc;
}

/* The person record by number. */
static int s_person_num(hy_ctx_t *ctx, uint64_t n, rp_person_t *p)
{
    uint8_t key[8];
    hy_key_u64(n, key);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(ctx->txn, reporting_state(ctx)->persons, &k, &v);
    if (rc == 0 && v.mv_size == sizeof *p)
        memcpy(p, v.mv_data, sizeof *p);
    else if (rc == 0)
        rc = MDB_CORRUPTED;
    return rc;
}

/* A person not found: HY_PARKED when the event being applied may wait for the registry (see the
 * top of this file), else MDB_NOTFOUND (a registry event itself, whose own source is the one to
 * wait for; a read; the event running again after the registry caught up). */
static int s_unknown_person(hy_ctx_t *ctx)
{
    if (reporting_state(ctx)->in_registry)
        return MDB_NOTFOUND;
    return hy_park(ctx, "registry") == HY_PARKED ? HY_PARKED : MDB_NOTFOUND;
}

int rp_person_get(hy_ctx_t *ctx, const char *person_id, rp_person_t *p)
{
    uint64_t n;
    memset(p, 0, sizeof *p);
    if (rp_id_num(person_id, &n) != 0)
        return MDB_NOTFOUND;
    int rc = s_person_num(ctx, n, p);
    return rc == MDB_NOTFOUND ? s_unknown_person(ctx) : rc;
}

int rp_person_by_nid(hy_ctx_t *ctx, const char *nid, rp_person_t *p)
{
    uint64_t n;
    memset(p, 0, sizeof *p);
    int rc = rp_person_num_by_nid(ctx, nid, &n);
    return rc ? rc : s_person_num(ctx, n, p);
}

int rp_person_num_by_nid(hy_ctx_t *ctx, const char *nid, uint64_t *n)
{
    reporting_t *st = reporting_state(ctx);
    if (!nid || strlen(nid) != 10)
        return MDB_NOTFOUND;
    MDB_val k = {10, (void *)nid}, v;
    int rc = mdb_get(ctx->txn, st->nids, &k, &v);
    if (rc == 0 && v.mv_size == 8) {
        *n = hy_key_u64_get(v.mv_data);
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc ? rc : MDB_CORRUPTED;
    return s_unknown_person(ctx);
}

/* The pair is interned here so every caller gets it the same way. */
int rp_tags_place(hy_ctx_t *ctx, uint32_t office, uint32_t hood, int field, uint32_t network,
                  rp_tags_t *tags)
{
    memset(tags, 0, sizeof *tags);
    tags->v[RP_DIM_OFFICE] = office;
    tags->v[RP_DIM_HOOD] = hood;
    tags->v[RP_DIM_FIELD] = (uint32_t)field;
    tags->v[RP_DIM_NETWORK] = network;
    return rp_intern_pair(ctx, office, hood, &tags->v[RP_DIM_OFFICE_HOOD]);
}

int rp_tags_person(hy_ctx_t *ctx, uint32_t office, const char *person_id, int field,
                   uint32_t network, rp_tags_t *tags)
{
    rp_person_t p;
    int rc = rp_person_get(ctx, person_id, &p);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = rp_tags_place(ctx, office ? office : p.office, p.hood, field, network, tags)) != 0)
        return rc;
    tags->v[RP_DIM_SEX] = p.sex;
    return 0;
}

/* --- tagged small records ------------------------------------------------------------------- */

/* tag (1) | a (8, BE) | b (8, BE). */
static void s_rec_key(uint8_t key[17], char tag, uint64_t a, uint64_t b)
{
    key[0] = (uint8_t)tag;
    hy_key_u64(a, key + 1);
    hy_key_u64(b, key + 9);
}

int rp_record_raw(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, MDB_val *data)
{
    uint8_t key[17];
    s_rec_key(key, tag, a, b);
    MDB_val k = {17, key};
    return mdb_get(ctx->txn, reporting_state(ctx)->records, &k, data);
}

int rp_record_get(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, void *out, size_t size)
{
    MDB_val v;
    int rc = rp_record_raw(ctx, tag, a, b, &v);
    if (rc == 0 && v.mv_size != size)
        return MDB_CORRUPTED;
    if (rc == 0)
        memcpy(out, v.mv_data, size);
    return rc;
}

int rp_record_put(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, const void *val, size_t size)
{
    uint8_t key[17];
    s_rec_key(key, tag, a, b);
    MDB_val k = {17, key}, v = {size, (void *)val};
    return mdb_put(ctx->txn, reporting_state(ctx)->records, &k, &v, 0);
}

int rp_record_del(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b)
{
    uint8_t key[17];
    s_rec_key(key, tag, a, b);
    MDB_val k = {17, key};
    int rc = mdb_del(ctx->txn, reporting_state(ctx)->records, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int rp_business_field(hy_ctx_t *ctx, const char *business_id, int *field)
{
    uint64_t n;
    uint32_t rec[2];
    *field = 0;
    if (rp_id_num(business_id, &n) != 0)
        return 0;
    int rc = rp_record_get(ctx, 'b', n, 0, rec, sizeof rec);
    if (rc == 0)
        *field = (int)rec[0];
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* --- days ------------------------------------------------------------------------------------ */

bool rp_day_of(const char *iso, int64_t *day)
{
    int y, m, d;
    if (!iso || strlen(iso) != 10 || hy_date_parse_iso(iso, &y, &m, &d) != 0)
        return false;
    *day = hy_days_from_civil(y, m, d);
    return true;
}

/* Event times are UTC, "YYYY-MM-DDTHH:MM:SSZ" (the outbox writes them). */
bool rp_time_unix(const char *time, int64_t *t)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!time || sscanf(time, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) < 3)
        return false;
    *t = hy_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool rp_event_day(const json_t *event, const json_t *data, const char *key, int64_t *day)
{
    int64_t t;
    char iso[11];
    if (key && rp_day_of(hy_json_str(data, key), day))
        return true;
    if (!rp_time_unix(hy_json_str(event, "time"), &t))
        return false;
    hy_date_today(t, iso);
    return rp_day_of(iso, day);
}

/* Halves are numbered so that consecutive halves have consecutive ids. */
int rp_half_of(int64_t day)
{
    int jy, jm, jd;
    if (!rp_jalali_of(day, &jy, &jm, &jd))
        return -1;
    return jy * 2 + (jm > 6);
}

int rp_half_bounds(int jy, int half, int64_t *from, int64_t *to)
{
    int gy, gm, gd, last = half == 1 ? 6 : 12;
    if (half < 1 || half > 2 || hy_jalali_to_gregorian(jy, half == 1 ? 1 : 7, 1, &gy, &gm, &gd) != 0)
        return -1;
    *from = hy_days_from_civil(gy, gm, gd);
    int len = hy_jalali_month_length(jy, last);
    if (len < 0 || hy_jalali_to_gregorian(jy, last, len, &gy, &gm, &gd) != 0)
        return -1;
    *to = hy_days_from_civil(gy, gm, gd);
    return 0;
}

/* Written by hand: always 10 characters, whatever the compiler thinks the ranges are. */
void rp_iso(int64_t day, char out[11])
{
    int y, m, d;
    hy_civil_from_days(day, &y, &m, &d);
    out[0] = (char)('0' + y / 1000 % 10), out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10), out[3] = (char)('0' + y % 10), out[4] = '-';
    out[5] = (char)('0' + m / 10), out[6] = (char)('0' + m % 10), out[7] = '-';
    out[8] = (char)('0' + d / 10), out[9] = (char)('0' + d % 10), out[10] = '\0';
}

char *rp_office_name(hy_ctx_t *ctx, const char *office)
{
    uint32_t id;
    MDB_val v;
    if (!office || rp_lookup(ctx->txn, reporting_state(ctx), RP_DIM_OFFICE, office, &id) != 0 ||
        rp_record_raw(ctx, 'O', id, 0, &v) != 0)
        return office ? strdup(office) : NULL;
    return strndup(v.mv_data, v.mv_size);
}
