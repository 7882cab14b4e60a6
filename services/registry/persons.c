/*
 * persons.c — registering beneficiaries, changing their records and attaching referrals.
 *
 * One person per national ID: the ID is normalised (Persian digits, dashes, padding), checked
 * against its check digit and kept unique through the "i:" index. A second registration of a
 * known ID is refused with 409 duplicate_national_id and the existing id. A refused request's
 * nested transaction is rolled back by the skeleton, so a 409 reply cannot also carry a write:
 * when a second agency refers a person already registered, the client attaches that referral
 * with POST /v1/persons/{id}/referrals (persons.add_referral), and the 409's detail says so.
 * Both sources are then kept in the person's "referrals" array.
 *
 * Names are stored as typed (trimmed); their normalised words live in the name index
 * (search.c), so "علي" finds "علی" and ZWNJ never matters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "page.h"
#include "fa.h"
#include "happened.h"
#include "log.h"
#include "scope.h"
#include "registry.h"

#define MAX_AGE 120

int registry_person_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **person)
{
    return hy_store_get_by_id(ctx->txn, registry_state(ctx)->persons, "prs", id, n, person);
}

/* Loads or answers 404, the common start of every call on one person. */
static int s_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **person)
{
    return hy_load_or_404(ctx, registry_state(ctx)->persons, "prs", "person", id, n, person);
}

int registry_person_load_for_write(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **person)
{
    int status = s_load_or_404(ctx, id, n, person);
    if (status)
        return status;
    status = hy_scope_write(ctx, "id", json_string_value(json_object_get(*person, "office")));
    if (status == 0 && json_object_get(*person, "merged_into"))
        status = hy_fail(ctx, 409, "merged", "id", "%s was merged into %s; write to that record",
                         id, json_string_value(json_object_get(*person, "merged_into")));
    if (status) {
        json_decref(*person);
        *person = NULL;
    }
    return status;
}

json_t *registry_person_stub(const json_t *person, const char *nid_asked)
{
    json_t *stub = json_pack("{s:O,s:O,s:b}", "id", json_object_get(person, "id"), "office",
                             json_object_get(person, "office"), "restricted", 1);
    if (nid_asked) {
        char nid[11];
        const char *have = json_string_value(json_object_get(person, "national_id"));
        json_object_set_new(stub, "national_id_match",
                            json_boolean(hy_national_id_normalize(nid_asked, nid) == 0 && have &&
                                         strcmp(nid, have) == 0));
    }
    json_t *into = json_object_get(person, "merged_into");
    if (into)
        json_object_set(stub, "merged_into", into);
    return stub;
}

/* The national ID in its one stored form, or 422 saying what is wrong with it. */
static int s_national_id(hy_ctx_t *ctx, const char *text, char nid[11])
{
    int rc = hy_national_id_normalize(text ? text : "", nid);
    if (rc == HY_NID_FORMAT)
        return hy_fail(ctx, 422, "invalid_national_id", "national_id",
                       "a national ID has 10 digits (8 or 9 are padded with zeros)");
    if (rc == HY_NID_CHECK)
        return hy_fail(ctx, 422, "invalid_national_id", "national_id",
                       "check digit does not match (or all digits are equal)");
    return 0;
}

static int s_birth_date(hy_ctx_t *ctx, const char *date)
{
    if (strcmp(date, ctx->today) > 0)
        return hy_fail(ctx, 422, "invalid_birth_date", "birth_date",
                       "birth date %s is in the future", date);
    int age = hy_age_on(date, ctx->today);
    if (age < 0 || age > MAX_AGE)
        return hy_fail(ctx, 422, "invalid_birth_date", "birth_date",
                       "birth date %s gives an age over %d years", date, MAX_AGE);
    return 0;
}

/* Checks one field of a person and stores its canonical form in person (null clears it).
 * The skeleton has already checked type, range and enum; here are the rules it cannot know. */
static int s_set_field(hy_ctx_t *ctx, json_t *person, const char *key, json_t *value)
{
    if (json_is_null(value)) {
        json_object_del(person, key);
        if (strcmp(key, "birth_date") == 0)
            hy_spec_set_jalali(person, key);
        return 0;
    }
    const char *s = json_string_value(value);
    if (strcmp(key, "first_name") == 0 || strcmp(key, "last_name") == 0) {
        char *norm = hy_fa_normalize(s);
        bool empty = !norm || !*norm;
        free(norm);
        if (empty)
            return hy_fail(ctx, 422, "invalid_name", key, "%s must contain letters", key);
    } else if (strcmp(key, "birth_date") == 0 || strcmp(key, "registered_on") == 0) {
        int status = key[0] == 'b' ? s_birth_date(ctx, s) : hy_happened_check(ctx, key, s);
        if (status)
            return status;
        json_object_set(person, key, value);
        hy_spec_set_jalali(person, key);
        return 0;
    } else if (strcmp(key, "mobile") == 0) {
        char mobile[12];
        if (hy_mobile_normalize(s, mobile) != 0)
            return hy_fail(ctx, 422, "invalid_mobile", "mobile",
                           "%s is not an Iranian mobile number (09xxxxxxxxx)", s);
        json_object_set_new(person, key, json_string(mobile));
        return 0;
    } else if (strcmp(key, "office") == 0) {
        if (!*s)
            return hy_fail(ctx, 422, "missing_office", "office", "office must not be empty");
    } else if (s && !*s) {
        json_object_del(person, key); /* an empty optional string clears it */
        return 0;
    }
    json_object_set(person, key, value);
    return 0;
}

/* Builds one entry of "referrals". office is the office recording it; field names the agency
 * argument in errors (its date field is the sibling "date"); date NULL means today. */
static int s_referral(hy_ctx_t *ctx, const char *field, const char *source, const char *agency,
                      const char *date, const char *office, json_t **out)
{
    if (date) {
        char dfield[32];
        const char *dot = strrchr(field, '.');
        snprintf(dfield, sizeof dfield, "%.*sdate", dot ? (int)(dot - field + 1) : 0, field);
        int status = hy_happened_check(ctx, dfield, date);
        if (status)
            return status;
    }
    bool from_agency = strcmp(source, "agency") == 0;
    if (from_agency && (!agency || !*agency))
        return hy_fail(ctx, 422, "missing_agency", field,
                       "a referral from an agency must name the agency");
    if (!from_agency && agency && *agency)
        return hy_fail(ctx, 422, "unexpected_agency", field, "a self referral names no agency");
    json_t *ref = json_pack("{s:s}", "source", source);
    if (from_agency)
        json_object_set_new(ref, "agency", json_string(agency));
    json_object_set_new(ref, "date", json_string(date ? date : ctx->today));
    hy_spec_set_jalali(ref, "date");
    json_object_set_new(ref, "office", office ? json_string(office) : json_null());
    json_object_set_new(
        ref, "created_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    *out = ref;
    return 0;
}

/* true when referrals already hold this source (self) or this agency (normalised). */
static bool s_has_referral(const json_t *person, const char *source, const char *agency)
{
    char *want = agency ? hy_fa_normalize(agency) : NULL;
    bool found = false;
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(person, "referrals"), i, ref) {
        const char *src = json_string_value(json_object_get(ref, "source"));
        if (!src || strcmp(src, source) != 0)
            continue;
        if (strcmp(source, "self") == 0) {
            found = true;
            break;
        }
        char *have = hy_fa_normalize(json_string_value(json_object_get(ref, "agency")));
        found = have && want && strcmp(have, want) == 0;
        free(have);
        if (found)
            break;
    }
    free(want);
    return found;
}

/* The 409 for a known national ID. When the request came from an agency the person has no
 * referral from yet, the detail points at the route that records it. */
static int s_duplicate(hy_ctx_t *ctx, uint64_t existing, const json_t *args)
{
    char id[32];
    hy_id_format("prs", existing, id, sizeof id);
    json_t *referral = json_object_get(args, "referral");
    const char *source = json_string_value(json_object_get(referral, "source"));
    const char *agency = json_string_value(json_object_get(referral, "agency"));
    json_t *person = NULL;
    int rc = hy_store_get_id(ctx->txn, registry_state(ctx)->persons, existing, &person);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    bool new_agency = source && strcmp(source, "agency") == 0 && agency && *agency &&
                      !s_has_referral(person, "agency", agency);
    const char *into = json_string_value(json_object_get(person, "merged_into"));
    if (into) /* a retired duplicate: the record that holds her now */
        snprintf(id, sizeof id, "%s", into);
    json_decref(person);
    if (new_agency)
        hy_fail(ctx, 409, "duplicate_national_id", "national_id",
                "this national ID is already registered as %s; to record the referral by %s, "
                "POST /v1/persons/%s/referrals",
                id, agency, id);
    else
        hy_fail(ctx, 409, "duplicate_national_id", "national_id",
                "this national ID is already registered as %s", id);
    hy_fail_extra(ctx, "existing_id", json_string(id));
    hy_fail_extra(ctx, "new_referral", json_boolean(new_agency));
    return -1;
}

/* The older typed counts a person may still carry cannot contradict each other: the
 * dependants are members of the household other than the person. 0 or 422. */
static int s_check_counts(hy_ctx_t *ctx, const json_t *person)
{
    json_t *size = json_object_get(person, "household_size");
    json_t *deps = json_object_get(person, "dependants");
    if (!json_is_integer(size) || !json_is_integer(deps) ||
        json_integer_value(deps) < json_integer_value(size))
        return 0;
    return hy_fail(ctx, 422, "inconsistent_household", "dependants",
                   "%lld dependants do not fit a household of %lld (households are recorded "
                   "with POST /v1/households, which derives both)",
                   (long long)json_integer_value(deps), (long long)json_integer_value(size));
}

/* The neighbourhood check against the office the person belongs to. */
static int s_check_hood_of_office(hy_ctx_t *ctx, json_t *person)
{
    json_t *office = NULL;
    int status = registry_office_resolve(
        ctx, "office", json_string_value(json_object_get(person, "office")), &office);
    if (status == 0)
        status = registry_person_check_hood(ctx, person, office);
    json_decref(office);
    return status;
}

int registry_person_check_hood(hy_ctx_t *ctx, json_t *person, const json_t *office)
{
    const char *hood = json_string_value(json_object_get(person, "neighbourhood"));
    if (!hood)
        return 0;
    if (!registry_office_covers(office, hood))
        return hy_fail(ctx, 422, "neighbourhood_not_in_office", "neighbourhood",
                       "office %s does not cover the neighbourhood %s", registry_code(office),
                       hood);
    const char *name = registry_office_hood_name(office, hood);
    if (name && strcmp(name, hood) != 0)
        json_object_set_new(person, "neighbourhood", json_string(name));
    return 0;
}

void registry_draft_clear(registry_draft_t *d)
{
    json_decref(d->error);
    json_decref(d->fields);
    json_decref(d->ref);
    d->error = d->fields = d->ref = NULL;
    d->made = false;
}

/* Keeps the refusal hy_fail left in ctx, with the stage it came at. Returns -1. */
static int s_draft_refused(hy_ctx_t *ctx, registry_draft_t *d, int stage)
{
    d->error = ctx->error;
    d->status = ctx->status;
    d->stage = stage;
    ctx->error = NULL;
    return -1;
}

int registry_person_draft(hy_ctx_t *ctx, const json_t *args, registry_draft_t *d)
{
    registry_draft_init(d);
    d->made = true;
    memcpy(d->today, ctx->today, sizeof d->today);
    if (s_national_id(ctx, json_string_value(json_object_get(args, "national_id")), d->nid))
        return s_draft_refused(ctx, d, REGISTRY_DRAFT_BEFORE_LOOKUP);
    d->fields = json_object();
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)args, name, value) {
        if (strcmp(name, "national_id") == 0 || strcmp(name, "referral") == 0 ||
            strcmp(name, "office") == 0)
            continue;
        if (s_set_field(ctx, d->fields, name, value) != 0)
            return s_draft_refused(ctx, d, REGISTRY_DRAFT_AFTER_LOOKUP);
    }
    if (s_check_counts(ctx, d->fields) != 0)
        return s_draft_refused(ctx, d, REGISTRY_DRAFT_AFTER_LOOKUP);
    /* the referral's "office" is a null placeholder, so that the writer's code takes its
     * place in the member order a referral always has */
    json_t *referral = json_object_get(args, "referral");
    const char *source = json_string_value(json_object_get(referral, "source"));
    if (s_referral(ctx, "referral.agency", source ? source : "self",
                   json_string_value(json_object_get(referral, "agency")),
                   json_string_value(json_object_get(referral, "date")), NULL, &d->ref) != 0)
        return s_draft_refused(ctx, d, REGISTRY_DRAFT_AFTER_OFFICE);
    if (registry_name_runs(d->fields, &d->keys) != 0 ||
        registry_dups_key_add(d->fields, &d->keys) != 0) {
        hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        return s_draft_refused(ctx, d, REGISTRY_DRAFT_BEFORE_LOOKUP);
    }
    return 0;
}

/* Answers the refusal a draft holds, at its stage. -1. */
static int s_draft_fail(hy_ctx_t *ctx, const registry_draft_t *d)
{
    json_decref(ctx->error);
    ctx->error = json_deep_copy(d->error);
    ctx->status = d->status;
    return -1;
}

/* Registers a drafted person: looks up the national ID, resolves the office and checks the
 * neighbourhood, allocates the next number and writes record, index and event. *out gets the
 * person, or with raw set the text stored (a raw result). stage: her name keys are staged
 * (names.c: a registration by request, a small commit) rather than put into name_idx (an
 * import's step, whose commit of thousands of rows writes each leaf once anyway). */
static int s_create_drafted(hy_ctx_t *ctx, const json_t *args, const registry_draft_t *d,
                            bool raw, bool stage, json_t **out)
{
    registry_t *st = registry_state(ctx);
    char key[16], id[32];
    json_t *person = NULL, *ref = NULL, *office_rec = NULL;
    int status = 0;
    if (d->error && d->stage == REGISTRY_DRAFT_BEFORE_LOOKUP)
        return s_draft_fail(ctx, d);
    size_t klen = registry_key_text('i', d->nid, key, sizeof key);
    uint64_t n;
    int rc = registry_nid_owner(ctx, key, klen, &n);
    if (rc == 0)
        return s_duplicate(ctx, n, args);
    if (rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    if (d->error && d->stage == REGISTRY_DRAFT_AFTER_LOOKUP)
        return s_draft_fail(ctx, d);

    /* her members in their order: id (numbered once every check has passed), national ID,
     * then the fields */
    person = json_pack("{s:s,s:s}", "id", "", "national_id", d->nid);
    json_object_update(person, d->fields);
    if ((status = registry_new_office(ctx, args, NULL, &office_rec)) != 0 ||
        (status = registry_person_check_hood(ctx, person, office_rec)) != 0)
        goto fail;
    if (d->error) {   /* REGISTRY_DRAFT_AFTER_OFFICE: the referral */
        status = s_draft_fail(ctx, d);
        goto fail;
    }
    if ((rc = hy_store_next(ctx->txn, st->meta, "person", &n)) != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    hy_id_format("prs", n, id, sizeof id);
    json_object_set_new(person, "id", json_string(id));
    const char *office = registry_code(office_rec);
    ref = json_copy(d->ref);
    json_object_set_new(ref, "office", json_string(office));
    json_object_set_new(person, "referrals", json_pack("[O]", ref));
    if (!json_object_get(person, "registered_on")) {
        json_object_set_new(person, "registered_on", json_string(ctx->today));
        hy_spec_set_jalali(person, "registered_on");
    }
    json_object_set_new(person, "status", json_string("active"));
    registry_stamp_new(ctx, person, office);
    /* The person is serialised once: her record, and the event's data, which also names the
     * referral that brought her (EVENTS.md: referral.date), as her members then "referral". */
    size_t tlen = 0, rlen = 0;
    char *text = hy_json_dump(person, &tlen);
    char *reftext = text ? hy_json_dump(ref, &rlen) : NULL;
    char *data = text && reftext && tlen >= 2 ? malloc(tlen + rlen + 14) : NULL;
    uint8_t pk[8];
    hy_key_u64(n, pk);
    MDB_val k = {8, pk}, v = {tlen, text};
    /* numbers only grow: appended at the end of the B-tree (an out-of-order one, never made
     * today, would still be put in its place) */
    rc = data ? hy_store_put_last(ctx->txn, st->persons, &k, &v) : ENOMEM;
    if (rc == 0 && d->keys.full) {   /* cannot be within the spec: the keys made here */
        if ((rc = registry_person_keys(ctx->txn, st, n, person, true)) == 0)
            rc = registry_dups_keys(ctx->txn, st, n, person, true);
    } else if (rc == 0 && stage && st->names_stage_max > 0) {
        /* her office and neighbourhood keys; her national ID's and name keys staged, to be
         * merged in sorted steps (names.c) */
        if ((rc = registry_person_plain_keys(ctx->txn, st, n, person, false, true)) == 0)
            rc = registry_names_stage(ctx->txn, st, n, key, klen, &d->keys);
        st->names_staged_at = hy_now_us();
    } else if (rc == 0) {   /* the keyset holds the runs and the duplicate key */
        rc = registry_person_keys_with(ctx->txn, st, n, person, &d->keys, true);
    }
    if (rc == 0) {
        size_t at = tlen - 1;   /* without the closing brace */
        memcpy(data, text, at);
        at += (size_t)sprintf(data + at, "%s\"referral\":", tlen > 2 ? "," : "");
        memcpy(data + at, reftext, rlen);
        memcpy(data + at + rlen, "}", 2);
        rc = hy_emit_text(ctx, "registry.person.registered", id, data, at + rlen + 1);
    }
    free(reftext);
    free(data);
    status = hy_mdb_status(ctx, rc);
    if (status == 0) {   /* the duplicate key is among the name keys just put */
        const registry_keyset_t *ks = &d->keys;
        status = ks->full || ks->dup < 0
                     ? registry_dups_flag(ctx, n, person)
                     : registry_dups_flag_key(ctx, n, person, ks->buf + ks->off[ks->dup],
                                              ks->len[ks->dup]);
    }
    if (status) {
        free(text);
        goto fail;
    }
    /* The reply is the stored text unless it names possible duplicates (not stored). */
    if (raw && !json_object_get(person, "possible_duplicates")) {
        json_decref(person);
        person = hy_result_raw(text, tlen);   /* takes text */
        if (!person) {
            status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
            goto fail;
        }
    } else {
        free(text);
    }
    *out = person;
    json_decref(ref);
    json_decref(office_rec);
    return 0;
fail:
    json_decref(ref);
    json_decref(person);
    json_decref(office_rec);
    return status;
}

/* A registration: drafted here unless a draft made ahead for these args is given (and was
 * made today), then written. */
static int s_create(hy_ctx_t *ctx, json_t *args, const registry_draft_t *ahead, bool raw,
                    bool stage, json_t **out)
{
    if (ahead && ahead->made && strcmp(ahead->today, ctx->today) == 0)
        return s_create_drafted(ctx, args, ahead, raw, stage, out);
    registry_draft_t *d = malloc(sizeof *d);
    if (!d)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    registry_person_draft(ctx, args, d);
    int status = s_create_drafted(ctx, args, d, raw, stage, out);
    registry_draft_clear(d);
    free(d);
    return status;
}

/* The stored text of a person the caller may read in full, served as it is (no decoding and
 * encoding again; the ETag hashes the same bytes): 0 with *out a raw result, 1 when the text
 * cannot be served so (not found, another office's, an office with escapes in it: the caller
 * takes the decoding path, which answers each of those), or -1 with the error in ctx. */
static int s_get_text(hy_ctx_t *ctx, const char *id, json_t **out)
{
    uint64_t n;
    const char *text, *office;
    size_t len, olen;
    char code[128];
    if (hy_id_parse("prs", id, &n) != 0 ||
        hy_store_get_text(ctx->txn, registry_state(ctx)->persons, n, &text, &len) != 0 ||
        hy_json_text_str(text, len, "office", &office, &olen) != 0 || olen >= sizeof code)
        return 1;
    memcpy(code, office, olen);
    code[olen] = '\0';
    if (!hy_scope_reads(ctx, code))
        return 1;
    char *copy = malloc(len);
    if (copy)
        memcpy(copy, text, len);
    *out = copy ? hy_result_raw(copy, len) : NULL;
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

int registry_person_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    return s_create(ctx, args, NULL, false, false, out);
}

int registry_person_create_drafted(hy_ctx_t *ctx, json_t *args, const registry_draft_t *d,
                                   json_t **out)
{
    return s_create(ctx, args, d, false, false, out);
}

int registry_person_create_raw(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return s_create(ctx, args, NULL, true, true, result);
}

int registry_person_create_raw_drafted(hy_ctx_t *ctx, json_t *args, const registry_draft_t *d,
                                       json_t **result)
{
    return s_create(ctx, args, d, true, true, result);
}

int registry_person_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int status = s_get_text(ctx, id, out);
    if (status <= 0)
        return status;
    status = s_load_or_404(ctx, id, NULL, out);
    if (status)
        return status;
    if (!hy_scope_reads(ctx, json_string_value(json_object_get(*out, "office")))) {
        json_t *stub = registry_person_stub(*out, NULL);
        json_decref(*out);
        *out = stub;
    }
    return 0;
}

int registry_person_put(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *person)
{
    registry_t *st = registry_state(ctx);
    json_object_set_new(person, "updated_at", json_string(ctx->now_iso));
    int rc;
    if ((rc = registry_person_index(ctx, n, old, false)) != 0 ||
        (rc = registry_person_index(ctx, n, person, true)) != 0 ||
        (rc = registry_dups_index(ctx, n, old, false)) != 0 ||
        (rc = registry_dups_index(ctx, n, person, true)) != 0 ||
        (rc = hy_store_put_id(ctx->txn, st->persons, n, person)) != 0)
        return hy_fail_mdb(ctx, rc);
    return 0;
}

int registry_person_save(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *person,
                         json_t *changes, const char *reason)
{
    int status = registry_person_put(ctx, n, old, person);
    if (status)
        return status;
    const char *id = json_string_value(json_object_get(person, "id"));
    json_t *data = json_pack("{s:s,s:O,s:O,s:O,s:s}", "id", id, "changes", changes, "person",
                             person, "before", old, "date", ctx->today);
    if (reason)
        json_object_set_new(data, "reason", json_string(reason));
    status = registry_emit(ctx, "registry.person.updated", id, data);
    json_decref(data);
    return status;
}

int registry_person_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *old = NULL, *person = NULL, *changes = NULL;
    uint64_t n;
    int status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    const char *office_arg = json_string_value(json_object_get(args, "office"));
    if (office_arg && !hy_scope_same(office_arg, json_string_value(json_object_get(old, "office")))) {
        status = hy_fail(ctx, 422, "immutable_field", "office",
                         "a person moves to another office by POST /v1/persons/%s/transfer", id);
        goto fail;
    }
    const char *nid_arg = json_string_value(json_object_get(args, "national_id"));
    if (nid_arg) {
        char nid[11];
        const char *have = json_string_value(json_object_get(old, "national_id"));
        if (hy_national_id_normalize(nid_arg, nid) != 0 || !have || strcmp(nid, have) != 0) {
            status = hy_fail(ctx, 422, "immutable_field", "national_id",
                             "the national ID of a registered person cannot change");
            goto fail;
        }
    }
    if (json_object_get(args, "referral")) {
        status = hy_fail(ctx, 422, "immutable_field", "referral",
                         "referrals are added with POST /v1/persons/%s/referrals", id);
        goto fail;
    }
    person = json_deep_copy(old);
    changes = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(args, key, value) {
        if (strcmp(key, "id") == 0 || strcmp(key, "national_id") == 0 ||
            strcmp(key, "office") == 0)
            continue;
        if ((status = s_set_field(ctx, person, key, value)) != 0)
            goto fail;
        registry_diff(changes, old, person, key);
    }
    if ((status = s_check_counts(ctx, person)) != 0)
        goto fail;
    if (json_object_get(changes, "neighbourhood")) {
        if ((status = s_check_hood_of_office(ctx, person)) != 0)
            goto fail;
        json_object_del(changes, "neighbourhood"); /* as stored: the office's spelling */
        registry_diff(changes, old, person, "neighbourhood");
    }
    if (json_object_size(changes) > 0 && (status = registry_person_save(ctx, n, old, person, changes, NULL)) != 0)
        goto fail;
    *out = person;
    json_decref(old);
    json_decref(changes);
    return 0;
fail:
    json_decref(old);
    json_decref(person);
    json_decref(changes);
    return status;
}

int registry_person_add_referral(hy_ctx_t *ctx, const char *id, const char *source,
                                 const char *agency, const char *date, json_t **out)
{
    json_t *old = NULL, *person = NULL, *ref = NULL, *changes = NULL;
    uint64_t n;
    int status = registry_person_load_for_write(ctx, id, &n, &old);
    if (status)
        return status;
    const char *office = hy_scope_office(ctx);
    if (!office)
        office = json_string_value(json_object_get(old, "office"));
    if ((status = s_referral(ctx, "agency", source, agency, date, office ? office : "", &ref)) !=
        0)
        goto fail;
    if (s_has_referral(old, source, agency)) {
        if (strcmp(source, "self") == 0)
            status = hy_fail(ctx, 409, "duplicate_referral", "source",
                             "the person is already recorded as self-referred");
        else
            status = hy_fail(ctx, 409, "duplicate_referral", "agency",
                             "%s has already referred this person", agency);
        goto fail;
    }
    person = json_deep_copy(old);
    json_array_append(json_object_get(person, "referrals"), ref);
    changes = json_object();
    registry_diff(changes, old, person, "referrals");
    if ((status = registry_person_save(ctx, n, old, person, changes, NULL)) != 0)
        goto fail;
    *out = person;
    json_decref(old);
    json_decref(ref);
    json_decref(changes);
    return 0;
fail:
    json_decref(old);
    json_decref(person);
    json_decref(ref);
    json_decref(changes);
    return status;
}
