/*
 * enrolments.c — requesting an enrolment and its eligibility rules; reading and listing them.
 *
 * A request names a person, their home business, the insurance field and the start date. It
 * is refused with 422 and its own code when:
 *   unknown_person / unknown_business  the registry has no such person or business;
 *   business_not_owned                 the business belongs to someone else;
 *   invalid_national_id                the person's national ID fails its check digit (the
 *                                      registry validates it too; the fund must never get a
 *                                      bad one, so we check again);
 *   field_mismatch                     the field is not the business's registered field;
 *   age_out_of_range                   the person's age at the start date, in full years
 *                                      by the Solar Hijri calendar as Iranian offices count
 *                                      it, is outside HY_INSURANCE_MIN_AGE..MAX_AGE (18..50);
 *   start_date_out_of_range            the start date is before the first day of the
 *                                      request's Jalali month less HY_INSURANCE_BACKDATE_MONTHS
 *                                      (3), or after today plus HY_INSURANCE_AHEAD_MONTHS (3)
 *                                      Jalali months: cover is not back-dated further than the
 *                                      fund accepts, nor promised too far ahead;
 *   already_enrolled                   the person has an enrolment that is neither cancelled
 *                                      nor refused.
 * Every rule but the last reads what we learnt from the registry's events, which may lag the
 * registry by a moment. So a request refused by one of them is parked (hy_park: its
 * transaction rolled back, the reactor free for other requests) until this service has caught
 * up with everything the registry had committed when the request came, and judged again then:
 * someone the registry acknowledged is never refused for being unknown, or for a field or
 * birth date we had not seen change yet, and nothing waits on the registry inside a
 * transaction (a stalled registry delays only such requests, until HY_PARK_MS).
 *
 * Offices: the enrolment's office is the person's; a key of one office requests, reads and
 * lists only its office's enrolments (403 other_office), a province key ('*') and the fund all.
 * A person the registry merged into another is refused 422 person_merged (+merged_into).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fa.h"
#include "insurance.h"
#include "json.h"
#include "page.h"
#include "scope.h"

/* Why a request is not eligible: filled by s_judge, answered by the caller. */
typedef struct {
    const char *code;
    const char *field;
    char detail[256];
} s_refusal_t;

static int s_refuse(s_refusal_t *r, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_refuse(s_refusal_t *r, const char *code, const char *field, const char *fmt, ...)
{
    r->code = code;
    r->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return 1;
}

/* The rules that depend on the registry's data. Returns 0 when eligible, 1 with *r filled. */
static int s_judge(const json_t *args, const json_t *person, const json_t *business,
                   s_refusal_t *r)
{
    const char *person_id = hy_json_str(args, "person_id"),
               *business_id = hy_json_str(args, "business_id");
    if (!person)
        return s_refuse(r, "unknown_person", "person_id", "no person has the id %s", person_id);
    if (!business)
        return s_refuse(r, "unknown_business", "business_id", "no business has the id %s",
                        business_id);
    const char *owner = hy_json_str(business, "owner_id");
    if (!owner || strcmp(owner, person_id) != 0)
        return s_refuse(r, "business_not_owned", "business_id",
                        "business %s belongs to %s, not to %s", business_id,
                        owner ? owner : "nobody", person_id);
    char nid[11];
    if (hy_national_id_normalize(
            hy_json_str(person, "national_id") ? hy_json_str(person, "national_id") : "", nid) !=
        HY_NID_OK)
        return s_refuse(r, "invalid_national_id", "person_id",
                        "the national ID registered for %s is not valid", person_id);
    const char *field = hy_json_str(args, "field"), *has = hy_json_str(business, "field");
    if (!has || strcmp(field, has) != 0)
        return s_refuse(r, "field_mismatch", "field",
                        "business %s is registered in the field %s, not %s", business_id,
                        has ? has : "(none)", field);
    const char *birth = hy_json_str(person, "birth_date"), *start = hy_json_str(args, "start_date");
    int age = birth ? hy_age_on_jalali(birth, start) : -1;
    int lo = insurance_min_age(), hi = insurance_max_age();
    if (!birth)
        return s_refuse(r, "age_out_of_range", "start_date",
                        "the registry has no birth date for %s, so the age limits cannot be met",
                        person_id);
    if (age < 0)
        return s_refuse(r, "age_out_of_range", "start_date",
                        "the start date %s is before the person's birth date", start);
    if (age < lo || age > hi)
        return s_refuse(r, "age_out_of_range", "start_date",
                        "on %s the person is %d years old; enrolment is for ages %d to %d", start,
                        age, lo, hi);
    return 0;
}

/* Loads both parties from the projection; an absent one is left NULL. 0 or an LMDB error. */
static int s_parties(hy_ctx_t *ctx, const json_t *args, json_t **person, json_t **business)
{
    *person = *business = NULL;
    int rc = insurance_person_load(ctx, hy_json_str(args, "person_id"), person);
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = insurance_business_load(ctx, hy_json_str(args, "business_id"), business);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* hy_page_json filter: an enrolment that is neither cancelled nor refused. */
static bool s_is_active(const json_t *rec, void *user)
{
    (void)user;
    const char *status = hy_json_str(rec, "status");
    return !status || (strcmp(status, INS_CANCELLED) != 0 && strcmp(status, INS_REFUSED) != 0);
}

/* Writes the Jalali date jy/jm/jd as ISO into out (11 bytes). 0 or -1. */
static int s_jalali_iso(int jy, int jm, int jd, char out[11])
{
    char jal[32];
    snprintf(jal, sizeof jal, "%04d/%02d/%02d", jy, jm, jd);
    return hy_date_jalali_to_iso(jal, out);
}

/* The start-date window of the file comment: 0, or 422 start_date_out_of_range with the
 * earliest and latest dates allowed. */
static int s_check_start(hy_ctx_t *ctx, const char *start)
{
    int gy, gm, gd, jy, jm, jd, ey, em, ed, ly, lm, ld;
    char earliest[11], latest[11];
    if (hy_date_parse_iso(ctx->today, &gy, &gm, &gd) != 0 ||
        hy_gregorian_to_jalali(gy, gm, gd, &jy, &jm, &jd) != 0 ||
        hy_jalali_add_months(jy, jm, 1, -insurance_backdate_months(), &ey, &em, &ed) != 0 ||
        hy_jalali_add_months(jy, jm, jd, insurance_ahead_months(), &ly, &lm, &ld) != 0 ||
        s_jalali_iso(ey, em, ed, earliest) != 0 || s_jalali_iso(ly, lm, ld, latest) != 0)
        return hy_fail(ctx, 500, "internal_error", NULL, "today is outside the calendar");
    if (strcmp(start, earliest) >= 0 && strcmp(start, latest) <= 0)
        return 0;
    char ej[11] = "", lj[11] = "";
    hy_date_iso_to_jalali(earliest, ej);
    hy_date_iso_to_jalali(latest, lj);
    hy_fail(ctx, 422, "start_date_out_of_range", "start_date",
            "the start date must be from %s to %s (%s to %s)", ej, lj, earliest, latest);
    hy_fail_extra(ctx, "earliest", json_string(earliest));
    hy_fail_extra(ctx, "latest", json_string(latest));
    return -1;
}

/* The person's enrolment that is not cancelled, if any: *found is its number or 0. */
static int s_active_enrolment(hy_ctx_t *ctx, const char *person_id, uint64_t *found)
{
    insurance_t *st = insurance_state(ctx);
    uint64_t person, next;
    char key[INSURANCE_KEY_MAX];
    json_t *items = NULL;
    *found = 0;
    if (hy_id_parse("prs", person_id, &person) != 0)
        return 0;
    size_t klen = insurance_index_key('p', NULL, person, key, sizeof key);
    int rc = hy_page_json(ctx->txn, st->enrolments, &st->enrolment_idx, key, klen, 0, 1,
                          s_is_active, NULL, &items, &next);
    if (rc == 0 && json_array_size(items) > 0 &&
        hy_id_parse("enr", hy_json_str(json_array_get(items, 0), "id"), found) != 0)
        *found = 0;
    json_decref(items);
    return rc;
}

/* Judges the request; a refusal by a rule that reads the registry's data parks it first (see
 * the top). Returns 0 with both parties loaded, HY_PARKED, or the failure status. */
static int s_eligible(hy_ctx_t *ctx, const json_t *args, json_t **person, json_t **business)
{
    s_refusal_t why = {0};
    int status, rc = s_parties(ctx, args, person, business);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    const char *merged = *person ? hy_json_str(*person, "merged_into") : NULL;
    if (merged) {
        status = hy_fail(ctx, 422, "person_merged", "person_id",
                         "%s was merged into %s: enrol the surviving record",
                         hy_json_str(args, "person_id"), merged);
        hy_fail_extra(ctx, "merged_into", json_string(merged));
    } else if (s_judge(args, *person, *business, &why) == 0) {
        if ((status = hy_scope_write(ctx, "person_id", hy_json_str(*person, "office"))) == 0)
            return 0;
    } else if ((status = hy_park(ctx, "registry")) == 0) {
        status = hy_fail(ctx, 422, why.code, why.field, "%s", why.detail);
    }
    json_decref(*person);
    json_decref(*business);
    *person = *business = NULL;
    return status;
}

/* A new enrolment record from the request and the person as the registry knows them. */
static json_t *s_new_record(hy_ctx_t *ctx, const char *id, const json_t *args,
                            const json_t *person)
{
    const char *office = hy_json_str(person, "office");
    if (!office || !*office)
        office = ctx->req && ctx->req->actor.office ? ctx->req->actor.office : "";
    json_t *rec = json_pack("{s:s,s:O,s:O,s:O,s:O}", "id", id, "person_id",
                            json_object_get(args, "person_id"), "business_id",
                            json_object_get(args, "business_id"), "field",
                            json_object_get(args, "field"), "start_date",
                            json_object_get(args, "start_date"));
    if (!rec)
        return NULL;
    hy_spec_set_jalali(rec, "start_date");
    /* national_id, names, birth date and sex: copied from the projection by insurance_save */
    json_object_set_new(rec, "age_at_start",
                        json_integer(hy_age_on_jalali(hy_json_str(person, "birth_date"),
                                                      hy_json_str(args, "start_date"))));
    json_object_set_new(rec, "contributions", json_array());
    json_object_set_new(rec, "office", json_string(office));
    json_object_set_new(
        rec, "created_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    json_object_set_new(rec, "created_at", json_string(ctx->now_iso));
    insurance_set_status(ctx, rec, INS_REQUESTED, NULL);
    return rec;
}

int insurance_enrolment_judge(hy_ctx_t *ctx, const json_t *args, json_t **person)
{
    json_t *business = NULL;
    int status = s_check_start(ctx, hy_json_str(args, "start_date"));
    if (status || (status = s_eligible(ctx, args, person, &business)) != 0)
        return status;
    json_decref(business);
    return 0;
}

int insurance_enrolment_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    insurance_t *st = insurance_state(ctx);
    json_t *person = NULL, *business = NULL, *rec = NULL;
    int status = insurance_enrolment_judge(ctx, args, &person);
    if (status)
        return status;
    uint64_t existing, n;
    if ((status = hy_mdb_status(ctx, s_active_enrolment(ctx, hy_json_str(args, "person_id"),
                                                        &existing))) != 0)
        goto fail;
    if (existing) {
        char eid[32];
        hy_id_format("enr", existing, eid, sizeof eid);
        status = hy_fail(ctx, 422, "already_enrolled", "person_id",
                         "the person already has enrolment %s, which is not cancelled", eid);
        hy_fail_extra(ctx, "existing_id", json_string(eid));
        goto fail;
    }
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "enrolment", &n))) != 0)
        goto fail;
    char id[32];
    hy_id_format("enr", n, id, sizeof id);
    if (!(rec = s_new_record(ctx, id, args, person))) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto fail;
    }
    if ((status = insurance_save(ctx, n, NULL, rec, "requested", NULL)) == 0)
        *out = json_incref(rec);
fail:
    json_decref(person);
    json_decref(business);
    json_decref(rec);
    return status;
}

/* What a reader sees: the record, plus its arrears today while contributions are due. */
static void s_present(hy_ctx_t *ctx, json_t *rec)
{
    const char *status = hy_json_str(rec, "status");
    insurance_contributions_fill(rec);
    if (status && (strcmp(status, INS_CONFIRMED) == 0 || strcmp(status, INS_SUSPENDED) == 0))
        json_object_set_new(rec, "months_overdue",
                            json_integer(insurance_months_overdue(rec, ctx->today)));
}

int insurance_enrolment_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    uint64_t n;
    int status = insurance_load_or_404(ctx, id, &n, out);
    if (status)
        return status;
    if (!insurance_is_fund(ctx) &&
        (status = hy_scope_write(ctx, "id", hy_json_str(*out, "office"))) != 0) {
        json_decref(*out);
        *out = NULL;
        return status;
    }
    s_present(ctx, *out);
    return 0;
}

/* Removes created_by from obj and from each object of its array members (history,
 * contributions): the staff's API keys are none of the fund's business. */
static void s_strip_keys(json_t *obj)
{
    const char *key;
    json_t *v, *item;
    size_t i;
    json_object_del(obj, "created_by");
    json_object_foreach(obj, key, v)
        if (json_is_array(v))
            json_array_foreach(v, i, item)
                if (json_is_object(item)) {
                    json_object_del(item, "created_by");
                    json_object_del(item, "voided_by");
                }
}

/* Handed to the fund: its history holds a submission. */
static bool s_was_submitted(const json_t *rec)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(rec, "history"), i, h) {
        const char *st = hy_json_str(h, "status");
        if (st && strcmp(st, INS_SUBMITTED) == 0)
            return true;
    }
    return false;
}

int insurance_enrolment_get_for_fund(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int status = insurance_enrolment_get(ctx, id, out);
    if (status != 0)
        return status;
    if (!s_was_submitted(*out)) {
        json_decref(*out);
        *out = NULL;
        return hy_fail(ctx, 403, "not_submitted", "id",
                       "enrolment %s has not been handed to the fund", id);
    }
    s_strip_keys(*out);
    return 0;
}

static bool s_matches(const json_t *rec, const char *key, const char *want)
{
    const char *have = hy_json_str(rec, key);
    return !want || !*want || (have && strcmp(have, want) == 0);
}

/* hy_page_json filter: every filter given agrees. */
static bool s_keep(const json_t *rec, void *user)
{
    const insurance_filter_t *f = user;
    return s_matches(rec, "person_id", f->person_id) && s_matches(rec, "status", f->status) &&
           s_matches(rec, "office", f->office) && (!f->fund_view || s_was_submitted(rec));
}

int insurance_enrolment_list(hy_ctx_t *ctx, const insurance_filter_t *asked, json_t **items,
                             uint64_t *next)
{
    insurance_t *st = insurance_state(ctx);
    insurance_filter_t mine = *asked, *f = &mine;
    const char *confined = insurance_is_fund(ctx) ? NULL : hy_scope_office(ctx);
    if (confined) {   /* an office key lists its own office's enrolments */
        if (f->office && *f->office && !hy_scope_same(confined, f->office))
            return hy_scope_write(ctx, "office", f->office);
        f->office = confined;
    }
    char key[INSURANCE_KEY_MAX];
    size_t klen = 0;
    uint64_t person;
    *next = 0;
    /* The most selective filter given picks the index; s_keep checks the others. */
    if (f->person_id && *f->person_id) {
        if (hy_id_parse("prs", f->person_id, &person) != 0) {
            *items = json_array();
            return 0;
        }
        klen = insurance_index_key('p', NULL, person, key, sizeof key);
    } else if (f->status && *f->status) {
        klen = insurance_index_key('s', f->status, 0, key, sizeof key);
    } else if (f->office && *f->office) {
        klen = insurance_index_key('o', f->office, 0, key, sizeof key);
    }
    int rc = hy_page_json(ctx->txn, st->enrolments, klen ? &st->enrolment_idx : NULL, key, klen,
                          f->after, f->limit, s_keep, (void *)f, items, next);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    size_t i;
    json_t *rec;
    json_array_foreach(*items, i, rec) {
        s_present(ctx, rec);
        if (f->fund_view)
            s_strip_keys(rec);
    }
    return 0;
}
