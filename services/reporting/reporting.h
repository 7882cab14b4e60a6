/*
 * reporting.h — the reporting service: the six-month evaluation report and indicator tables,
 * answered from aggregates kept up to date from every other service's events.
 *
 * Route -> op -> handler -> domain function: reporting_api.c describes the ops (reports,
 * submissions, office targets, a person's timeline), handlers.c maps them (and the event feed)
 * to the domain files:
 *
 *   aggregates.c     the counters: per (dimension, day) additive slots; what every indicator
 *                    counts is documented at its top
 *   distinct.c       distinct people for any period: per-person days, first/last-day marks,
 *                    gap counters
 *   figures.c        the records behind a figure (drill-down of submitted reports)
 *   submissions.c    submitted reports: frozen, SHA-256 over canonical JSON, drill-down, diff
 *   targets.c        an office's targets per half
 *   timeline.c       a person's events from every source, in date order (voided facts kept,
 *                    marked voided)
 *   proj_people.c    corrections, transfers, merges, voided and corrected activities
 *   indicators.c     the indicator table (names, Persian labels, kinds) and the figures of a
 *                    period for one dimension value, derived from the counters
 *   dims.c           dimension values (interned office / neighbourhood names) and the small
 *                    fixed-size projections that attribute other services' events to a
 *                    person's sex and neighbourhood, a business's field, a network
 *   feed.c           apply(): the cursor's companion (last sequence and time per source) and
 *                    the dispatch to one projection file per source
 *   proj_registry.c  proj_loans.c  proj_networks.c  proj_microfund.c  proj_insurance.c
 *                    what each source's events add to the counters, and what its voids,
 *                    corrections, transfers and merges take back or move
 *   reports.c        the half-year report (interim while in progress), the indicators table
 *                    (JSON) and the printed page's sections
 *   render.c         the CSV rendering and the Persian helpers (digits, Jalali, money)
 *   render_html.c    the printable right-to-left Persian page with its SVG charts
 *
 * Several replicas run at once, each with its own LMDB (--data DIR --pub none): the skeleton
 * keeps the per-source cursor in the same transaction as apply(), and announces the replica to
 * the broker only once it has caught up (serve_after_catch_up). Figures depend only on the
 * events applied, never on the order sources were interleaved in (see dims.c), so replicas with
 * the same cursors give the same figures.
 */
#ifndef REPORTING_H
#define REPORTING_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "service.h"

/* The service's state: its database handles, opened once by reporting_open. Every one of them
 * is derived from events, so --rebuild drops them all. */
typedef struct {
    MDB_dbi meta;      /* "asof:<source>" -> u64 sequence + event time; "names" counter */
    MDB_dbi agg;       /* counters (aggregates.c) */
    MDB_dbi seen;      /* per person days of distinct counts (distinct.c) */
    MDB_dbi gaps;      /* gaps between a person's days (distinct.c) */
    MDB_dbi timeline;  /* person | day | source | sequence -> event summary (timeline.c) */
    MDB_dbi tl_reg;    /* the same for registrations (timeline.c: appended in person order) */
    MDB_dbi names;     /* interned dimension values (dims.c) */
    MDB_dbi persons;   /* person number -> rp_person_t */
    MDB_dbi nids;      /* national ID (10 digits) -> person number */
    MDB_dbi records;   /* tagged small records: businesses, networks, funds, memberships,
                          enrolments, loans (dims.c, proj_*.c) */
    MDB_dbi contrib;   /* the records behind each counter change (figures.c) */
    MDB_dbi subs;      /* submitted reports, as the registry published them: u64 N of sub_N ->
                          canonical JSON (ledger.c, submissions.c); kept by --rebuild */
    MDB_dbi targets;   /* office targets per half, as the registry published them (targets.c) */
    struct hy_client_pool *owner; /* clients asking the registry to record them (ledger.c) */
    bool in_registry;  /* applying a registry event now (dims.c: it may not wait for itself) */
    struct rp_agg_page *agg_page; /* counter changes of the page being applied (aggregates.c) */
    struct rp_contrib_page *contrib_page; /* its drill-down changes (figures.c) */
    struct rp_names_page *names_page;     /* values interned in its transaction (dims.c) */
    struct {                      /* the "as of" of the page being applied (feed.c) */
        bool pending;
        char source[16];
        uint64_t seq;
        char time[40];
    } asof;
    const char *subject; /* the subject of the event being applied (borrowed) */
} reporting_t;

extern const hy_api_t reporting_api;
extern const hy_service_def_t reporting_def;

/* Opens the databases into a new reporting_t; returns 0 or an LMDB error. */
int  reporting_open(hy_store_t *store, void **state);
reporting_t *reporting_state(hy_ctx_t *ctx);

/* --- the ledger (ledger.c): submissions and targets, owned by the registry ------------------- */
int  rp_ledger_open(hy_store_t *store, reporting_t *st);
void rp_ledger_close(reporting_t *st);
/* Asks the registry to run op with args (stolen) as the caller's actor; 0 with *out its result,
 * or -1 with its refusal (or 503 owner_unavailable / 504 owner_timeout) in ctx. For a reader
 * thread: never inside a write transaction. */
int  rp_ledger_ask(hy_ctx_t *ctx, const char *op, json_t *args, json_t **out);
/* Applies the registry's registry.report.submitted and registry.office.targets_set (stored
 * verbatim; nothing counted, nothing on a timeline): *owned tells whether the event was one of
 * them (submissions.c). 0 or an LMDB error. */
int  rp_owned_apply(hy_ctx_t *ctx, const char *source, const char *type, json_t *data, bool *owned);
/* targets.c: stores one registry.office.targets_set. 0 or an LMDB error. */
int  rp_targets_apply(hy_ctx_t *ctx, json_t *data);

/* --- dimensions (dims.c) -------------------------------------------------------------------- */
/* The ways a figure is broken down. RP_DIM_ALL has the single value 0; in the others 0 means
 * "not attributed" (no office given, a class has no sex, ...). */
enum { RP_DIM_ALL, RP_DIM_OFFICE, RP_DIM_HOOD, RP_DIM_OFFICE_HOOD, RP_DIM_FIELD, RP_DIM_SEX,
       RP_DIM_NETWORK, RP_NDIMS };
extern const char *const rp_dim_names[RP_NDIMS];   /* "all", "office", "neighbourhood", ... */
/* Kinds of counters that are not tags: the referring agency (interned like an office), and an
 * office crossed with a value of another kind (interned pairs), for an office's page. */
enum { RP_DIM_AGENCY = RP_NDIMS, RP_DIM_OFFICE_AGENCY, RP_DIM_OFFICE_FIELD, RP_DIM_OFFICE_SEX,
       RP_DIM_OFFICE_NETWORK };
/* The id of (office, value) under a cross kind (RP_DIM_OFFICE_HOOD or RP_DIM_OFFICE_*),
 * interned; 0 when either is 0. Returns 0 or an LMDB error. */
int rp_intern_cross(hy_ctx_t *ctx, int kind, uint32_t office, uint32_t value, uint32_t *id);
/* Forgets the values interned in the page's transaction (feed.c, when the page ends either way:
 * an id given in a transaction rolled back is no one's). */
void rp_names_page_end(reporting_t *st);
/* Looks it up without interning: MDB_NOTFOUND when never seen. */
int rp_lookup_cross(MDB_txn *txn, reporting_t *st, int kind, uint32_t office, uint32_t value, uint32_t *id);

/* The dimension values one figure is attributed to (v[RP_DIM_ALL] is always 0). */
typedef struct {
    uint32_t v[RP_NDIMS];
} rp_tags_t;

/* Sex and field values are fixed small numbers; offices and neighbourhoods are interned. */
enum { RP_SEX_NONE, RP_SEX_FEMALE, RP_SEX_MALE };
int rp_sex_code(const char *sex);                    /* 0 when absent or unknown */
int rp_field_code(const char *field);                /* 1..4, 0 when absent or unknown */
extern const char *const rp_field_names[5];          /* [0] = NULL */
extern const char *const rp_sex_names[3];

/* Interns a text value of kind (RP_DIM_OFFICE or RP_DIM_HOOD): the same id for every spelling
 * hy_fa_normalize folds together; the first spelling seen is kept for display. NULL or empty
 * text gives 0. Returns 0 or an LMDB error. */
int rp_intern(hy_ctx_t *ctx, int kind, const char *text, uint32_t *id);
/* The id of the (office, neighbourhood) pair, interned; 0 when either is 0. */
int rp_intern_pair(hy_ctx_t *ctx, uint32_t office, uint32_t hood, uint32_t *id);
/* Looks a value up without interning it: MDB_NOTFOUND when never seen. */
int rp_lookup(MDB_txn *txn, reporting_t *st, int kind, const char *text, uint32_t *id);
int rp_lookup_pair(MDB_txn *txn, reporting_t *st, uint32_t office, uint32_t hood, uint32_t *id);
/* The display text of a value (office/neighbourhood/pair names, field and sex names,
 * "net_N"); a new string the caller frees, NULL when unknown. */
char *rp_value_name(MDB_txn *txn, reporting_t *st, int kind, uint32_t id);

/* What is kept of a person: her office, neighbourhood and sex as the registry last said
 * (corrections and transfers move them, proj_people.c), her registration day and flags. */
enum { RP_P_HEAD = 1, RP_P_AGENCY = 2, RP_P_MERGED = 4, RP_P_EXITED = 8,
       RP_P_IN_HH = 16,     /* a member of a household now (proj_households.c) */
       RP_P_HH_HEAD = 32 }; /* the woman heading a household counted now */
typedef struct {
    uint32_t office, hood, pair;
    uint8_t sex;
    uint8_t flags;      /* RP_P_* */
    uint8_t pad[2];
    int32_t reg_day;    /* day of registration (registered_on, else the first referral's) */
    int32_t exit_day;   /* day she exited or died (RP_P_EXITED) */
    uint32_t agency;    /* the referring agency (RP_DIM_AGENCY), 0 for none */
    uint32_t household; /* the household she is in (RP_P_IN_HH), its number */
} rp_person_t;

/* The Persian name of an office code (registry.office.* events), else the code itself; a new
 * string, NULL for NULL. */
char *rp_office_name(hy_ctx_t *ctx, const char *office);

/* Parses the number of an id "<prefix>_<n>" whatever the prefix. 0 or -1. */
int rp_id_num(const char *id, uint64_t *n);

/* Loads a person by id; MDB_NOTFOUND when the registry has not told us of her, HY_PARKED when
 * the event being applied waits for the registry (return it as is: dims.c), or an LMDB error. */
int rp_person_get(hy_ctx_t *ctx, const char *person_id, rp_person_t *p);
/* Same by national ID. */
int rp_person_by_nid(hy_ctx_t *ctx, const char *nid, rp_person_t *p);
/* The person number of a national ID (the same). */
int rp_person_num_by_nid(hy_ctx_t *ctx, const char *nid, uint64_t *n);
int rp_person_put(hy_ctx_t *ctx, uint64_t n, const char *nid, const rp_person_t *p);

/* Tags of a figure about a person: the office of the record (an interned id; 0 = the
 * person's own), the person's neighbourhood and sex, the given field code and network number.
 * An unknown person leaves neighbourhood and sex unattributed. Returns 0, HY_PARKED (the
 * event waits for the registry) or an LMDB error. */
int rp_tags_person(hy_ctx_t *ctx, uint32_t office, const char *person_id, int field,
                   uint32_t network, rp_tags_t *tags);
/* Tags of a figure about an event with its own office and neighbourhood (no person). */
int rp_tags_place(hy_ctx_t *ctx, uint32_t office, uint32_t hood, int field, uint32_t network,
                  rp_tags_t *tags);

/* Small fixed-size records keyed by a tag letter and one or two numbers, in st->records. */
int rp_record_get(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, void *out, size_t size);
int rp_record_put(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, const void *val, size_t size);
int rp_record_del(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b);
/* The field code of a business (record 'b': u32 field, u32 unused, as created); 0 when the
 * id is absent or unknown. Returns 0 or an LMDB error. */
int rp_business_field(hy_ctx_t *ctx, const char *business_id, int *field);
/* A variable-size record: *data borrowed until the transaction changes. */
int rp_record_raw(hy_ctx_t *ctx, char tag, uint64_t a, uint64_t b, MDB_val *data);

/* --- days ------------------------------------------------------------------------------------ */
/* Day number (hy_days_from_civil) of an ISO date; false when it is not one. */
bool rp_day_of(const char *iso, int64_t *day);
/* Unix seconds of an event time "YYYY-MM-DDTHH:MM:SSZ". */
bool rp_time_unix(const char *time, int64_t *t);
/* The business date of a figure: the ISO date in data[key] when there is one, else the date
 * (in Tehran) of the event's time. false when neither can be read. */
bool rp_event_day(const json_t *event, const json_t *data, const char *key, int64_t *day);
/* Solar Hijri dates by table (calendar.c; the same answers as fa_calendar.c, faster): the
 * Jalali date of a day number, the number of days of a month (-1 outside the range), the day
 * number of a Jalali date. false outside HY_JALALI_MIN_YEAR..HY_JALALI_MAX_YEAR. */
bool rp_jalali_of(int64_t day, int *jy, int *jm, int *jd);
int  rp_jalali_month_days(int jy, int jm);
bool rp_day_of_jalali(int jy, int jm, int jd, int64_t *day);
/* "1403/01/13" as hy_date_iso_to_jalali writes it. */
bool rp_jalali_text(int64_t day, char out[11]);
/* Solar Hijri half of a day: jy * 2 + (half - 1); -1 outside the calendar's range. */
int rp_half_of(int64_t day);
/* First and last day of Solar Hijri half (1 or 2) of year jy. 0 or -1. */
int rp_half_bounds(int jy, int half, int64_t *from, int64_t *to);
void rp_iso(int64_t day, char out[11]);

/* --- aggregates (aggregates.c) -------------------------------------------------------------- */
/* Counter slots. Flows are counted on their day; stocks (outstanding, PAR30, members) are kept
 * as changes on their day and read as a running sum; distinct slots live per half. */
enum {
    RP_S_BENEFICIARIES,     /* persons registered (new); total = running sum */
    RP_S_MEET_WG, RP_S_MEET_SC, RP_S_MEET_EG,
    RP_S_CLASSES,
    RP_S_PEOPLE_LOANS,      /* distinct */
    RP_S_JOBS,
    RP_S_COUNSELLED,        /* distinct */
    RP_S_FUNDS,
    RP_S_FUND_TRAININGS,
    RP_S_FUND_TRAINED,      /* distinct */
    RP_S_LOANS_DISBURSED,
    RP_S_LOANS_OUTSTANDING, /* stock */
    RP_S_PAR30,             /* stock */
    RP_S_INS_ENROLLED,
    RP_S_INS_CONFIRMED,
    RP_S_INS_COHORT,        /* enrolments of the day (start date) confirmed since */
    RP_S_NET_MEMBERS,       /* stock */
    RP_S_NET_ORDERS,
    RP_S_NET_ORDERS_RIALS,
    RP_S_FUND_SAVINGS,
    RP_S_FUND_LOANS,
    RP_S_JOBS_PEOPLE,       /* distinct */
    RP_S_PEOPLE_LOANS_L, RP_S_COUNSELLED_L, RP_S_FUND_TRAINED_L, RP_S_JOBS_PEOPLE_L,
                            /* last-day marks of the distinct slots (distinct.c) */
    RP_S_INS_INSURED,       /* stock: confirmed and neither suspended nor cancelled */
    RP_S_WOMEN_HEADS,       /* stock: women heads of household registered */
    RP_S_REF_AGENCY,        /* persons registered on an agency's referral */
    RP_S_EMPLOYER_REF,      /* employer_referral participants */
    RP_S_AID,               /* aid (in kind) participants */
    RP_S_CLASS_ATTENDANCE,  /* training_class participants */
    RP_S_NET_BUYERS, RP_S_NET_DELIVERIES,
    RP_S_FUND_SHAREOUTS,    /* rials paid out at share-outs */
    RP_S_LOANS_RECOVERED,   /* rials recovered on written-off loans */
    RP_S_PAR30_RESTRUCTURED,/* stock: PAR30 of restructured (rescheduled) loans */
    RP_S_TRANSFERS,         /* beneficiaries moved between offices: part of the stock only */
    RP_S_EXITED,            /* stock: beneficiaries who exited or died (status_changed) */
    RP_NSLOTS
};

/* Adds delta to slot on day under every dimension value of tags (attributed ones only).
 * Returns 0, EOVERFLOW, or an LMDB error. */
int rp_agg_add(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, int64_t delta);
/* The same for one dimension value only (value 0 included). */
int rp_agg_add_one(hy_ctx_t *ctx, int kind, uint32_t id, int64_t day, int slot, int64_t delta);
/* The biased day number counters are keyed by. */
uint32_t rp_day_u(int64_t day);
/* Big-endian 4 bytes (keys sort by number), and back. */
void rp_be32(uint8_t *p, uint32_t v);
uint32_t rp_get32(const uint8_t *p);
/* Adds delta to the int64 count under key (absent = 0; a count back to 0 is deleted). Returns
 * 0, EOVERFLOW or an LMDB error. */
int rp_count_add(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, int64_t delta);
/* The same through cur (a cursor on the counters' db): callers adding in key order keep most
 * seeks on the cursor's leaf. The cursor is left wherever the add left it. */
int rp_count_add_at(MDB_cursor *cur, const void *key, size_t klen, int64_t delta);

/* --- distinct people (distinct.c) ------------------------------------------------------------- */
/* Adds (removes) one occurrence of person on day in the distinct slot, under every dimension of
 * tags (unattributed ones too, as value 0). Returns 0 or an LMDB error. */
int rp_agg_distinct(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person);
int rp_agg_undistinct(hy_ctx_t *ctx, const rp_tags_t *tags, int64_t day, int slot, uint64_t person);
/* A merge: every day of person `from` becomes `to`'s (distinct people count her once). */
int rp_distinct_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to);
/* The last-day slot of a distinct slot, -1 for another slot. */
int rp_distinct_last(int slot);
/* Distinct people of (kind, id) in from..to, given the running sums up to `to` and up to the
 * day before `from`. */
int rp_distinct_count(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int slot, int64_t from,
                      int64_t to, const int64_t upto_to[], const int64_t upto_before[], int64_t *out);

/* Sums of one dimension value: every slot summed over days <= day. */
int rp_agg_upto(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, int64_t day,
                int64_t out[RP_NSLOTS]);
/* Visits every value of a dimension kind that has any counter, in id order. */
typedef int (*rp_value_fn)(uint32_t id, void *user);
int rp_agg_values(MDB_txn *txn, reporting_t *st, int kind, rp_value_fn fn, void *user);
int rp_agg_reset(reporting_t *st, MDB_txn *txn);
/* The end of a page of events (def->apply_end): keep writes the counter changes the page summed
 * in memory into ctx->txn (0 or an LMDB error / EOVERFLOW); !keep forgets them. */
int rp_agg_page_end(hy_ctx_t *ctx, bool keep);
/* Frees what the pages' changes kept allocated (at close). */
void rp_agg_close(reporting_t *st);

/* --- indicators (indicators.c) -------------------------------------------------------------- */
typedef enum { RP_FLOW, RP_STOCK, RP_DISTINCT, RP_RATIO } rp_kind_t;
typedef enum { RP_COUNT, RP_RIALS, RP_BP } rp_unit_t;
typedef struct {
    const char *name;       /* "classes" */
    const char *label_fa;   /* Persian label for CSV and HTML */
    rp_kind_t kind;
    rp_unit_t unit;
    int slot, den;          /* the slot read; for a ratio, numerator slot and denominator slot */
    bool den_stock;         /* ratio of stocks (PAR30) rather than of flows (coverage) */
} rp_indicator_t;
extern const rp_indicator_t rp_indicators[];
extern const size_t rp_nindicators;

/* The raw sums of one dimension value for a period. */
typedef struct {
    int64_t range[RP_NSLOTS];   /* from..to */
    int64_t upto[RP_NSLOTS];    /* everything up to to */
    int64_t distinct[RP_NSLOTS];
    bool has_distinct;          /* the period is exactly one half */
} rp_raw_t;

typedef struct {
    int64_t from, to;           /* days, inclusive */
    int half_id;                /* the half from..to is exactly, or -1 */
} rp_period_t;

/* Reads the raw sums of (kind, id) for the period. Returns 0 or an LMDB error. */
int rp_raw_read(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, const rp_period_t *p,
                rp_raw_t *raw);
/* The value of indicator i (false when it has none: a distinct count over a period that is not
 * one half). */
bool rp_indicator_value(const rp_raw_t *raw, size_t i, int64_t *value);
/* {"name": value|null, ...} in table order; a new reference or NULL. */
json_t *rp_indicators_json(const rp_raw_t *raw);

/* --- reports (reports.c), renderings (render.c, render_html.c) --------------------------------- */
int reporting_half_year(hy_ctx_t *ctx, json_t *args, json_t **out);
/* A Solar Hijri year 1300..1499: an integer, or text in ASCII or Persian digits. 0 or -1. */
int rp_parse_year(const json_t *value, int *year);
/* The period of args {year, half}: a half in progress is cut at today (*interim). 0, or the
 * status of the problem set on ctx. */
int rp_half_period(hy_ctx_t *ctx, json_t *args, rp_period_t *p, int *year, int *half, bool *interim);
/* What a half-year request reads: its period (cut at today while in progress) and the
 * dimension value of its office / neighbourhood filter (their texts borrowed from args). */
typedef struct {
    int year, half;
    bool interim;
    rp_period_t p;
    int kind;
    uint32_t id;
    const char *office, *hood;
} rp_scope_t;
/* 0, or the status of the problem set on ctx (invalid period, unknown filter). */
int rp_half_year_scope(hy_ctx_t *ctx, json_t *args, rp_scope_t *sc);
/* The half-year report of args as JSON without its stamp (as_of, generated_at, replica). 0 or
 * the status of the problem set on ctx. */
int rp_half_year_json(hy_ctx_t *ctx, json_t *args, json_t **out);
int reporting_indicators(hy_ctx_t *ctx, json_t *args, json_t **out);
/* {"source": {"seq": N, "time": "..."}, ...} for every source; NULL on failure. */
json_t *rp_as_of(hy_ctx_t *ctx);

/* Renders a half-year report (the JSON the op answers) as CSV / HTML; new strings or NULL. */
char *rp_render_csv(const json_t *report);
/* The Content-Disposition of a half-year CSV: an ASCII file name and, RFC 5987, its Persian
 * name (filename*=UTF-8''...). A new string or NULL. */
char *rp_csv_disposition(const json_t *report);
/* The latest event time in an as_of object ("" when none). */
const char *rp_latest_time(const json_t *as_of);
char *rp_render_indicators_csv(const json_t *table);
char *rp_render_html(const json_t *report, const char *today);

/* Persian rendering helpers shared by the renderings (render.c). */
typedef hy_buf_t rp_buf_t;   /* shared/buf.h: hy_buf_add, hy_buf_addn, hy_buf_addf, hy_buf_take */
/* Adds text escaped for HTML (&, <, >, ", '). */
void rp_buf_html(rp_buf_t *b, const char *s);
/* Adds text with its ASCII digits as Persian digits (U+06F0..U+06F9), the rest as it is. */
void rp_buf_fa_text(rp_buf_t *b, const char *text);
/* Adds v in Persian digits with no separator (years, sequence numbers). */
void rp_buf_fa_plain(rp_buf_t *b, int64_t v);
/* Adds v with Persian digits and the Persian thousands separator. */
void rp_buf_fa_int(rp_buf_t *b, int64_t v);
/* Adds rials as whole toman (rounded) in Persian digits. */
void rp_buf_fa_toman(rp_buf_t *b, int64_t rials);
/* Adds basis points as a whole Persian percentage (rounded). */
void rp_buf_fa_bp(rp_buf_t *b, int64_t bp);
/* Adds an ISO date as a Jalali date in Persian digits ("۱۴۰۳/۰۶/۳۱"). */
void rp_buf_fa_jalali(rp_buf_t *b, const char *iso);

/* --- drill-down (figures.c) and submitted reports (submissions.c) ------------------------------ */
/* Whether a slot counts persons by their registration (beneficiaries, women heads, agency
 * referrals, transfers): the records behind it are read from the persons, not kept. */
bool rp_person_slot(int slot);
/* Keeps the subject of the event being applied beside a counter change. */
int rp_contrib_add(hy_ctx_t *ctx, int kind, uint32_t id, int64_t day, int slot, int64_t delta);
/* Writes the page's kept changes (keep) or drops them; either way the page is emptied, its
 * memory kept for the next page (rp_contrib_close frees it). */
int rp_contrib_page_end(hy_ctx_t *ctx, bool keep);
/* Frees what the pages' drill-down changes kept allocated (at close). */
void rp_contrib_close(reporting_t *st);
/* The ids of the records behind indicator i of (kind, id) for the period: a new array of
 * strings, NULL on failure. */
json_t *rp_figure_ids(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, size_t i,
                      const rp_period_t *p);
int reporting_submit(hy_ctx_t *ctx, json_t *args, json_t **out);
int reporting_submission(hy_ctx_t *ctx, json_t *args, json_t **out);
int reporting_submission_figure(hy_ctx_t *ctx, json_t *args, json_t **out);
int reporting_submission_diff(hy_ctx_t *ctx, json_t *args, json_t **out);

/* The targets of office for a half id ({indicator: value}), a new reference or NULL. */
json_t *rp_targets_get(hy_ctx_t *ctx, const char *office, int half_id);
int reporting_targets_put(hy_ctx_t *ctx, json_t *args, json_t **out);
/* The page's sections: {"neighbourhood"|"field"|"sex"|"network": [{key, indicators}]} of the
 * scope's period (neighbourhoods within the office when the scope has one; the other
 * breakdowns only for a report of every office). A new reference or NULL. */
json_t *rp_sections_json(hy_ctx_t *ctx, const rp_scope_t *sc);

/* --- a person's timeline (timeline.c) ------------------------------------------------------- */
/* Files the event under every person it is about. Returns 0 or an LMDB error. */
int rp_timeline_apply(hy_ctx_t *ctx, const char *source, json_t *event);
int reporting_timeline(hy_ctx_t *ctx, json_t *args, json_t **out);
/* A merge: the retired person's timeline becomes the survivor's. */
int rp_timeline_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to);

/* --- feed (feed.c) and the projections (proj_*.c) ------------------------------------------- */
int reporting_apply(hy_ctx_t *ctx, const char *source, json_t *event);
/* def->apply_end: writes (keep) or forgets what the page kept in memory (as of, counters). */
int reporting_apply_end(hy_ctx_t *ctx, bool keep);
int reporting_reset(void *state, MDB_txn *txn);
int rp_registry_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);
/* An activity's figures added (sign 1) or taken back (-1: voided, or the before of a
 * correction). Returns 0 or an LMDB error. */
int rp_activity_apply(hy_ctx_t *ctx, json_t *event, const json_t *act, int sign);
/* A person's registration figures (beneficiary, woman head, agency referral) under tags p
 * added or taken back on day. */
int rp_person_figures(hy_ctx_t *ctx, const rp_person_t *p, int64_t day, int slot_beneficiaries,
                      int sign);
/* registry.person.updated / transferred / merged and registry.activity.corrected / voided
 * (proj_people.c). Returns 0 or an LMDB error. */
int rp_people_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);
/* registry.household.* (proj_households.c): women heads of household from households. */
int rp_households_apply(hy_ctx_t *ctx, json_t *event, json_t *data);
/* A merge: the retired record's household membership becomes the survivor's (when she is in
 * none). Returns 0 or an LMDB error. */
int rp_households_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to, const rp_person_t *dup);
int rp_loans_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);
int rp_networks_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);
int rp_microfund_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);
int rp_insurance_apply(hy_ctx_t *ctx, const char *type, json_t *event, json_t *data);

/* Event data is read with the shared getters (json.h): hy_json_str, hy_json_int(obj, key, 0). */

#endif
