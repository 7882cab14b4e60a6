/*
 * reports.c — the two reports, answered from the counters (aggregates.c): the six-month
 * evaluation report for one Solar Hijri half, whole or for one office / neighbourhood, and the
 * indicators table for any period, grouped by a dimension.
 *
 * A report reads two running sums (up to the period's last day and up to the day before its
 * first) of one dimension value, plus the half's distinct counts: a few hundred keys at most,
 * whatever the number of records. A grouped table does the same for each value of the
 * dimension; the group with key null is what no value was attributed to, computed as the
 * total minus the groups (distinct counts: read, since persons are not additive).
 *
 * Every answer says how current it is ("as_of": the last sequence and event time applied per
 * source) and which replica computed it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fa.h"
#include "reporting.h"
#include "scope.h"

/* The dimension a half-year filter reads (*kind, *id); MDB_NOTFOUND with *field naming the
 * filter when an office or neighbourhood has never been seen (422: a misspelt office must not
 * read as an office with nothing to report). */
static int s_filter(hy_ctx_t *ctx, const char *office, const char *hood, int *kind, uint32_t *id,
                    const char **field)
{
    reporting_t *st = reporting_state(ctx);
    uint32_t o = 0, h = 0;
    int rc = 0;
    *kind = RP_DIM_ALL, *id = 0, *field = NULL;
    if (office && (rc = rp_lookup(ctx->txn, st, RP_DIM_OFFICE, office, &o)) == 0)
        *kind = RP_DIM_OFFICE, *id = o;
    if (rc == MDB_NOTFOUND)
        *field = "office";
    if (rc == 0 && hood && (rc = rp_lookup(ctx->txn, st, RP_DIM_HOOD, hood, &h)) == 0)
        *kind = RP_DIM_HOOD, *id = h;
    if (rc == MDB_NOTFOUND && !*field)
        *field = "neighbourhood";
    if (rc == 0 && office && hood) {
        *kind = RP_DIM_OFFICE_HOOD;
        if (rp_lookup_pair(ctx->txn, st, o, h, id) == MDB_NOTFOUND)
            *id = UINT32_MAX;   /* both known, never together: a real pair with nothing in it */
    }
    return rc;
}

int rp_parse_year(const json_t *value, int *year)
{
    const char *text = json_string_value(value);
    char *ascii = text ? hy_fa_ascii_digits(text) : NULL;
    char *end = NULL;
    long y = ascii ? strtol(ascii, &end, 10) : json_is_integer(value) ? (long)json_integer_value(value) : 0;
    bool ok = (json_is_integer(value) || (ascii && end != ascii && *end == '\0')) && y >= 1300 &&
              y <= 1499;
    free(ascii);
    *year = ok ? (int)y : 0;
    return ok ? 0 : -1;
}

int rp_half_period(hy_ctx_t *ctx, json_t *args, rp_period_t *p, int *year, int *half, bool *interim)
{
    *half = (int)hy_json_int(args, "half", 0);
    if (rp_parse_year(json_object_get(args, "year"), year) != 0)
        return hy_fail(ctx, 422, "invalid_year", "year",
                       "year must be a Solar Hijri year 1300..1499 (Persian or ASCII digits)");
    p->half_id = *year * 2 + *half - 1;
    if (rp_half_bounds(*year, *half, &p->from, &p->to) != 0)
        return hy_fail(ctx, 422, "invalid_period", "year", "%d/%d is not a half the calendar knows",
                       *year, *half);
    int64_t today;
    if (!rp_day_of(ctx->today, &today))
        return hy_fail(ctx, 500, "internal_error", NULL, "no date today");
    if (p->from > today)
        return hy_fail(ctx, 422, "future_period", "half", "%d/%d has not started yet", *year, *half);
    *interim = p->to > today;
    if (*interim)
        p->to = today;   /* a half in progress is cut at today: stocks as of today */
    return 0;
}

/* Adds the report's common tail: as_of, generated_at, replica. */
static int s_stamp(hy_ctx_t *ctx, json_t *out)
{
    json_t *as_of = rp_as_of(ctx);
    if (!as_of || json_object_set_new(out, "as_of", as_of) != 0 ||
        json_object_set_new(out, "generated_at", json_string(ctx->now_iso)) != 0 ||
        json_object_set_new(out, "replica", json_pack("{s:i}", "pid", (int)getpid())) != 0)
        return -1;
    return 0;
}

/* Wraps a rendering as the gateway sends it: {"content_type": ..., "body": ...}. */
static int s_rendered(hy_ctx_t *ctx, json_t *report, char *body, const char *type, json_t **out)
{
    json_decref(report);
    *out = body ? json_pack("{s:s,s:s}", "content_type", type, "body", body) : NULL;
    free(body);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "the report could not be rendered");
}

/* Absent filters are shown as null. */
static json_t *s_text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* An office key's reports are its office's: no office named means its own, another office is
 * 403 other_office (shared/scope.h). A province key ('*'), operators and auditors of no office
 * see every office and filter with ?office=. */
static int s_office_scope(hy_ctx_t *ctx, const char **office)
{
    const char *mine = hy_scope_office(ctx);
    if (!mine)
        return 0;
    if (*office && **office && !hy_scope_same(mine, *office))
        return hy_fail(ctx, 403, "other_office", "office",
                       "this key acts for office %s: its reports are that office's", mine);
    *office = mine;
    return 0;
}

int rp_half_year_scope(hy_ctx_t *ctx, json_t *args, rp_scope_t *sc)
{
    const char *office = hy_json_str(args, "office"), *hood = hy_json_str(args, "neighbourhood");
    if (s_office_scope(ctx, &office) != 0)
        return -1;
    sc->office = office && *office ? office : NULL;
    sc->hood = hood && *hood ? hood : NULL;
    int status = rp_half_period(ctx, args, &sc->p, &sc->year, &sc->half, &sc->interim);
    if (status)
        return status;
    const char *unknown;
    int rc = s_filter(ctx, sc->office, sc->hood, &sc->kind, &sc->id, &unknown);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, strcmp(unknown, "office") == 0 ? "unknown_office" : "unknown_neighbourhood",
                       unknown, "no %s '%.100s' is known", unknown,
                       strcmp(unknown, "office") == 0 ? sc->office : sc->hood);
    return hy_mdb_status(ctx, rc);
}

/* The half-year report as JSON (without as_of and the rest of the stamp). */
int rp_half_year_json(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    rp_scope_t sc;
    rp_raw_t raw = {0};
    int status = rp_half_year_scope(ctx, args, &sc);
    if (status)
        return status;
    int rc = rp_raw_read(ctx->txn, reporting_state(ctx), sc.kind, sc.id, &sc.p, &raw);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int64_t end;
    rp_half_bounds(sc.year, sc.half, &end, &end);
    char from[11], to[11], cut[11], jfrom[11], jto[11], jcut[11];
    rp_iso(sc.p.from, from);
    rp_iso(end, to);
    rp_iso(sc.p.to, cut);
    hy_date_iso_to_jalali(from, jfrom);
    hy_date_iso_to_jalali(to, jto);
    hy_date_iso_to_jalali(cut, jcut);
    *out = json_pack("{s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:o,s:o}", "year", sc.year, "half",
                     sc.half, "from", from, "from_jalali", jfrom, "to", to, "to_jalali", jto, "cut", cut,
                     "cut_jalali", jcut, "interim", sc.interim, "currency", "IRR",
                     "office", s_text_or_null(sc.office), "neighbourhood", s_text_or_null(sc.hood),
                     "indicators", rp_indicators_json(&raw));
    char *name = rp_office_name(ctx, sc.office);
    json_t *targets = rp_targets_get(ctx, sc.office, sc.p.half_id);
    if (*out && (json_object_set_new(*out, "office_name", s_text_or_null(name)) != 0 ||
                 json_object_set_new(*out, "targets", targets ? targets : json_object()) != 0)) {
        json_decref(*out);
        *out = NULL;
    }
    free(name);
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* The previous half's figures (whole, never cut) and the page's sections, for the HTML page. */
static int s_page_extras(hy_ctx_t *ctx, json_t *args, json_t *report)
{
    rp_scope_t sc;
    rp_raw_t raw;
    memset(&raw, 0, sizeof raw);
    int status = rp_half_year_scope(ctx, args, &sc);
    if (status)
        return status;
    json_t *sections = rp_sections_json(ctx, &sc), *previous = NULL;
    int prev = sc.p.half_id - 1, rc = 0;
    rp_period_t pp = {.half_id = prev};
    if (rp_half_bounds(prev / 2, prev % 2 + 1, &pp.from, &pp.to) == 0)
        rc = rp_raw_read(ctx->txn, reporting_state(ctx), sc.kind, sc.id, &pp, &raw);
    if (rc == 0)
        previous = json_pack("{s:i,s:i,s:o}", "year", prev / 2, "half", prev % 2 + 1, "indicators",
                             rp_indicators_json(&raw));
    if (rc == 0 && sections && previous) {
        int a = json_object_set_new(report, "previous", previous);
        int b = json_object_set_new(report, "sections", sections);
        return a == 0 && b == 0 ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    json_decref(sections);
    json_decref(previous);
    return rc ? hy_fail_mdb(ctx, rc) : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

int reporting_half_year(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    const char *format = hy_json_str(args, "format");
    json_t *report = NULL;
    int status = rp_half_year_json(ctx, args, &report);
    if (status)
        return status;
    if (s_stamp(ctx, report) != 0) {
        json_decref(report);
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    if (format && strcmp(format, "csv") == 0) {
        char *disposition = rp_csv_disposition(report);
        status = s_rendered(ctx, report, rp_render_csv(report), "text/csv; charset=utf-8", out);
        if (status == 0 && disposition)
            json_object_set_new(*out, "content_disposition", json_string(disposition));
        free(disposition);
        return status;
    }
    if (format && strcmp(format, "html") == 0) {
        if ((status = s_page_extras(ctx, args, report)) != 0) {
            json_decref(report);
            return status;
        }
        return s_rendered(ctx, report, rp_render_html(report, ctx->today),
                          "text/html; charset=utf-8", out);
    }
    if (json_is_true(json_object_get(args, "sections")) && (status = s_page_extras(ctx, args, report)) != 0) {
        json_decref(report);
        return status;
    }
    *out = report;
    return 0;
}

/* --- the indicators table ------------------------------------------------------------------- */

typedef struct {
    hy_ctx_t *ctx;
    int kind;
    int cross;          /* within one office: the cross kind of kind (0: the whole province) */
    bool one_group;     /* by office within one office: that office alone, with the total */
    uint32_t office;    /* that office's id */
    const rp_period_t *p;
    rp_raw_t rest;      /* the total minus every group seen so far */
    json_t *groups;
} s_table_t;

/* Whether a group has anything to show. */
static bool s_any(const rp_raw_t *raw)
{
    for (int i = 0; i < RP_NSLOTS; i++)
        if (raw->range[i] || raw->upto[i] || (raw->has_distinct && raw->distinct[i]))
            return true;
    return false;
}

/* One group of a table. */
static json_t *s_group(const char *key, const rp_raw_t *raw)
{
    return json_pack("{s:o,s:o}", "key", s_text_or_null(key), "indicators", rp_indicators_json(raw));
}

/* rp_agg_values visitor: one group per attributed value with anything in it. */
static int s_visit(uint32_t id, void *user)
{
    s_table_t *t = user;
    rp_raw_t raw;
    reporting_t *st = reporting_state(t->ctx);
    uint32_t at = id;
    if (id == 0 || (t->cross && rp_lookup_cross(t->ctx->txn, st, t->cross, t->office, id, &at) != 0))
        return 0;
    int rc = rp_raw_read(t->ctx->txn, st, t->cross ? t->cross : t->kind, at, t->p, &raw);
    if (rc || !s_any(&raw))
        return rc;
    for (int i = 0; i < RP_NSLOTS; i++) {
        t->rest.range[i] -= raw.range[i];
        t->rest.upto[i] -= raw.upto[i];
    }
    char *name = rp_value_name(t->ctx->txn, st, t->kind, id);
    json_t *g = s_group(name ? name : "?", &raw);
    free(name);
    return g && json_array_append_new(t->groups, g) == 0 ? 0 : ENOMEM;
}

/* The half id when from..to is exactly one Solar Hijri half, else -1. */
static int s_exact_half(int64_t from, int64_t to)
{
    int h = rp_half_of(from);
    int64_t a, b;
    if (h < 0 || rp_half_bounds(h / 2, h % 2 + 1, &a, &b) != 0)
        return -1;
    return a == from && b == to ? h : -1;
}

/* The dimension kind of a group_by value, -1 for none. */
static int s_group_kind(const char *group_by)
{
    static const int kinds[] = {RP_DIM_OFFICE, RP_DIM_HOOD, RP_DIM_FIELD, RP_DIM_SEX, RP_DIM_NETWORK};
    for (size_t i = 0; group_by && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(group_by, rp_dim_names[kinds[i]]) == 0)
            return kinds[i];
    return -1;
}

/* Fills the groups of table t (t->rest starts as the total). */
static int s_groups(s_table_t *t)
{
    reporting_t *st = reporting_state(t->ctx);
    int rc = rp_agg_values(t->ctx->txn, st, t->kind, s_visit, t);
    rp_raw_t none;
    if (t->cross)   /* within an office, what is not attributed has no distinct people of its own */
        memset(t->rest.distinct, 0, sizeof t->rest.distinct);
    else if (rc == 0 && (rc = rp_raw_read(t->ctx->txn, st, t->kind, 0, t->p, &none)) == 0)
        memcpy(t->rest.distinct, none.distinct, sizeof none.distinct);
    if (rc == 0 && s_any(&t->rest)) {
        json_t *g = s_group(NULL, &t->rest);
        rc = g && json_array_append_new(t->groups, g) == 0 ? 0 : ENOMEM;
    }
    return rc;
}

int reporting_indicators(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    const char *from = hy_json_str(args, "from"), *to = hy_json_str(args, "to");
    const char *group_by = hy_json_str(args, "group_by"), *format = hy_json_str(args, "format");
    rp_period_t p;
    if (!rp_day_of(from, &p.from) || !rp_day_of(to, &p.to))
        return hy_fail(ctx, 422, "invalid_date", "from", "from and to must be dates");
    if (p.to < p.from)
        return hy_fail(ctx, 422, "invalid_range", "to", "to (%s) is before from (%s)", to, from);
    p.half_id = s_exact_half(p.from, p.to);
    s_table_t t = {.ctx = ctx, .kind = s_group_kind(group_by), .p = &p};
    /* An office key's table is its office's, each group within it (the cross counters). */
    const char *office = hy_json_str(args, "office");
    if (s_office_scope(ctx, &office) != 0)
        return -1;
    int rc = 0, total_kind = RP_DIM_ALL;
    if (office && *office) {
        rc = rp_lookup(ctx->txn, reporting_state(ctx), RP_DIM_OFFICE, office, &t.office);
        if (rc == MDB_NOTFOUND && !hy_scope_office(ctx))
            return hy_fail(ctx, 422, "unknown_office", "office", "no office '%.100s' is known", office);
        if (rc == MDB_NOTFOUND)
            t.office = UINT32_MAX, rc = 0;   /* the key's office has nothing counted yet */
        total_kind = RP_DIM_OFFICE;
        static const int cross[RP_NDIMS] = {[RP_DIM_HOOD] = RP_DIM_OFFICE_HOOD,
                                            [RP_DIM_FIELD] = RP_DIM_OFFICE_FIELD,
                                            [RP_DIM_SEX] = RP_DIM_OFFICE_SEX,
                                            [RP_DIM_NETWORK] = RP_DIM_OFFICE_NETWORK};
        t.cross = t.kind > 0 && t.kind < RP_NDIMS ? cross[t.kind] : 0;
        t.one_group = t.kind == RP_DIM_OFFICE;
    }
    if (rc == 0)
        rc = rp_raw_read(ctx->txn, reporting_state(ctx), total_kind, t.office, &p, &t.rest);
    json_t *table = rc ? NULL
                       : json_pack("{s:s,s:s,s:o,s:o,s:o}", "from", from, "to", to, "group_by",
                                   s_text_or_null(t.kind >= 0 ? group_by : NULL), "half",
                                   p.half_id < 0 ? json_null()
                                                 : json_pack("{s:i,s:i}", "year", p.half_id / 2,
                                                             "half", p.half_id % 2 + 1),
                                   "total", rp_indicators_json(&t.rest));
    if (rc == 0 && table && t.kind >= 0) {
        t.groups = json_array();
        if (t.one_group) {
            json_t *g = t.groups ? s_group(office, &t.rest) : NULL;
            rc = g && json_array_append_new(t.groups, g) == 0 ? 0 : ENOMEM;
        } else {
            rc = t.groups ? s_groups(&t) : ENOMEM;
        }
        if (json_object_set_new(table, "groups", t.groups) != 0)
            rc = ENOMEM;
    }
    if (rc == 0 && (!table || s_stamp(ctx, table) != 0))
        rc = ENOMEM;
    if (rc) {
        json_decref(table);
        return hy_fail_mdb(ctx, rc);
    }
    if (format && strcmp(format, "csv") == 0)
        return s_rendered(ctx, table, rp_render_indicators_csv(table), "text/csv; charset=utf-8", out);
    *out = table;
    return 0;
}

/* --- the page's sections --------------------------------------------------------------------- */

typedef struct {
    hy_ctx_t *ctx;
    const rp_scope_t *sc;
    int kind, cross;    /* the values listed; the office's part of them (0: not within an office) */
    json_t *groups;
} s_hoods_t;

/* rp_agg_values visitor: one value (within the scope's office when cross is set), when it has
 * anything. */
static int s_office_hood(uint32_t value, void *user)
{
    s_hoods_t *h = user;
    reporting_t *st = reporting_state(h->ctx);
    uint32_t id = value;
    rp_raw_t raw;
    if (value == 0 || (h->cross && rp_lookup_cross(h->ctx->txn, st, h->cross, h->sc->id, value, &id) != 0))
        return 0;
    int rc = rp_raw_read(h->ctx->txn, st, h->cross ? h->cross : h->kind, id, &h->sc->p, &raw);
    if (rc || !s_any(&raw))
        return rc;
    char *name = rp_value_name(h->ctx->txn, st, h->kind, value);
    json_t *g = s_group(name ? name : "?", &raw);
    free(name);
    return g && json_array_append_new(h->groups, g) == 0 ? 0 : ENOMEM;
}

json_t *rp_sections_json(hy_ctx_t *ctx, const rp_scope_t *sc)
{
    static const int kinds[] = {RP_DIM_HOOD, RP_DIM_FIELD, RP_DIM_SEX, RP_DIM_NETWORK};
    reporting_t *st = reporting_state(ctx);
    json_t *out = json_object();
    int rc = out ? 0 : ENOMEM;
    for (size_t i = 0; rc == 0 && sc->kind == RP_DIM_ALL && i < 4; i++) {
        s_table_t t = {.ctx = ctx, .kind = kinds[i], .p = &sc->p, .groups = json_array()};
        rc = t.groups ? rp_raw_read(ctx->txn, st, RP_DIM_ALL, 0, &sc->p, &t.rest) : ENOMEM;
        if (rc == 0)
            rc = s_groups(&t);
        if (json_object_set_new(out, rp_dim_names[kinds[i]], t.groups) != 0 && rc == 0)
            rc = ENOMEM;
    }
    /* an office's page: each breakdown within the office; referrals by agency on every page */
    static const struct {
        const char *name;
        int kind, cross;
    } within[] = {{"neighbourhood", RP_DIM_HOOD, RP_DIM_OFFICE_HOOD}, {"field", RP_DIM_FIELD, RP_DIM_OFFICE_FIELD},
                  {"sex", RP_DIM_SEX, RP_DIM_OFFICE_SEX}, {"network", RP_DIM_NETWORK, RP_DIM_OFFICE_NETWORK},
                  {"agency", RP_DIM_AGENCY, RP_DIM_OFFICE_AGENCY}};
    for (size_t i = 0; rc == 0 && i < sizeof within / sizeof within[0]; i++) {
        bool office = sc->kind == RP_DIM_OFFICE, agency = within[i].kind == RP_DIM_AGENCY;
        if (!office && !agency)
            continue;   /* the province's page has them above */
        if (sc->kind != RP_DIM_OFFICE && sc->kind != RP_DIM_ALL)
            break;      /* a neighbourhood's page: no breakdown */
        s_hoods_t h = {ctx, sc, within[i].kind, office ? within[i].cross : 0, json_array()};
        rc = h.groups ? rp_agg_values(ctx->txn, st, within[i].kind, s_office_hood, &h) : ENOMEM;
        if (json_object_set_new(out, within[i].name, h.groups) != 0 && rc == 0)
            rc = ENOMEM;
    }
    if (rc) {
        json_decref(out);
        return NULL;
    }
    return out;
}
