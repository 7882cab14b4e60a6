/*
 * households.c — families as the registry records them: the members, who heads them, and the
 * size and dependants that follow from the members (never typed).
 *
 * A household (hhd_N) belongs to one office and is headed by a registered person. Its members
 * are registered persons (person_id) or dependants recorded by name, birth date, sex,
 * relationship and disability (OpenSPP's group memberships and openIMIS's family members are
 * the models). A member is never removed: leaving sets left_on, so the household's history stays
 * readable. size counts the members present (no left_on); dependants counts those of them other
 * than the head (the persons the head supports, تحت تکفل). A person is present in one household
 * at a time: the "p:"<person> entry of household_idx names it, and a second join is 409
 * already_in_household with household_id. The head is a fact of the household: it changes
 * only by POST /head, which names a present registered member; the head leaves only last (the
 * household is then dissolved).
 *
 * Every change is an event whose data is the whole household after, plus the date it took
 * effect (EVENTS.md): registry.household.created, .member_joined, .member_left and
 * .head_changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "happened.h"
#include "json.h"
#include "page.h"
#include "registry.h"
#include "scope.h"

#define MAX_AGE 120

static int s_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **hh)
{
    return hy_load_or_404(ctx, registry_state(ctx)->households, "hhd", "household", id, n, hh);
}

/* true when the member is present (has not left). */
static bool s_present(const json_t *m)
{
    return json_object_get(m, "left_on") == NULL;
}

/* Sets size and dependants from the members. */
static void s_derive(json_t *hh)
{
    const char *head = hy_json_str(hh, "head_id");
    json_int_t size = 0, dependants = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(hh, "members"), i, m) {
        if (!s_present(m))
            continue;
        size++;
        const char *pid = hy_json_str(m, "person_id");
        if (!head || !pid || strcmp(pid, head) != 0)
            dependants++;
    }
    json_object_set_new(hh, "size", json_integer(size));
    json_object_set_new(hh, "dependants", json_integer(dependants));
}

/* The household a person is present in: 0 with *hn, MDB_NOTFOUND, or an LMDB error. */
static int s_membership(hy_ctx_t *ctx, uint64_t pn, uint64_t *hn)
{
    uint8_t key[10];
    size_t klen = registry_key_num('p', pn, key);
    return hy_index_first(ctx->txn, registry_state(ctx)->household_idx, key, klen, hn);
}

static int s_index_person(hy_ctx_t *ctx, uint64_t pn, uint64_t hn, bool put)
{
    registry_t *st = registry_state(ctx);
    uint8_t key[10];
    size_t klen = registry_key_num('p', pn, key);
    return put ? hy_index_put(ctx->txn, st->household_idx, key, klen, hn)
               : hy_index_del(ctx->txn, st->household_idx, key, klen, hn);
}

/* 0 when the person is in no household, else 409 already_in_household naming it. */
static int s_check_free(hy_ctx_t *ctx, const char *field, uint64_t pn, const char *person_id)
{
    uint64_t hn;
    int rc = s_membership(ctx, pn, &hn);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return hy_fail_mdb(ctx, rc);
    char hid[32];
    hy_id_format("hhd", hn, hid, sizeof hid);
    hy_fail(ctx, 409, "already_in_household", field,
            "%s is a member of household %s; she leaves it first "
            "(POST /v1/households/%s/members/%s/leave)",
            person_id, hid, hid, person_id);
    hy_fail_extra(ctx, "household_id", json_string(hid));
    return -1;
}

/* A registered person as a member of a household of office: the person must exist, not be a
 * retired record, belong to that office and be in no household. *member gets the member's
 * person fields (new reference), *pn her number. */
static int s_registered(hy_ctx_t *ctx, const char *field, const char *person_id,
                        const char *office, json_t **member, uint64_t *pn)
{
    json_t *person = NULL;
    int status, rc = registry_person_load(ctx, person_id, pn, &person);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_person", field, "no person has the id %s",
                       person_id ? person_id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    const char *home = hy_json_str(person, "office");
    if ((status = hy_scope_write(ctx, field, home)) != 0)
        goto done;
    if (json_object_get(person, "merged_into")) {
        status = hy_fail(ctx, 409, "merged", field, "%s was merged into %s", person_id,
                         hy_json_str(person, "merged_into"));
        goto done;
    }
    if (!hy_scope_same(home, office)) {
        status = hy_fail(ctx, 422, "person_in_other_office", field,
                         "%s belongs to office %s, the household to office %s", person_id,
                         home ? home : "", office);
        goto done;
    }
    if ((status = s_check_free(ctx, field, *pn, person_id)) != 0)
        goto done;
    *member = json_pack("{s:s}", "person_id", person_id);
    json_t *v;
    if ((v = json_object_get(person, "sex")))
        json_object_set(*member, "sex", v);
    if ((v = json_object_get(person, "birth_date"))) {
        json_object_set(*member, "birth_date", v);
        hy_spec_set_jalali(*member, "birth_date");
    }
    json_object_set_new(*member, "disability",
                        json_boolean(json_is_true(json_object_get(person, "disability"))));
done:
    json_decref(person);
    return status;
}

/* A dependant recorded by name: name, sex and birth date are required. */
static int s_dependant(hy_ctx_t *ctx, const json_t *args, json_t **member)
{
    const char *name = hy_json_str(args, "name"), *sex = hy_json_str(args, "sex");
    const char *birth = hy_json_str(args, "birth_date");
    char *norm = hy_fa_normalize(name ? name : "");
    bool empty = !norm || !*norm;
    free(norm);
    if (empty)
        return hy_fail(ctx, 422, "invalid_name", "name", "a dependant's name must contain letters");
    if (!sex)
        return hy_fail(ctx, 422, "missing_sex", "sex", "a dependant recorded by name needs sex");
    if (!birth)
        return hy_fail(ctx, 422, "missing_birth_date", "birth_date",
                       "a dependant recorded by name needs a birth date");
    int age = hy_age_on(birth, ctx->today);
    if (strcmp(birth, ctx->today) > 0 || age < 0 || age > MAX_AGE)
        return hy_fail(ctx, 422, "invalid_birth_date", "birth_date",
                       "birth date %s is in the future or gives an age over %d", birth, MAX_AGE);
    *member = json_pack("{s:s,s:s,s:s}", "name", name, "sex", sex, "birth_date", birth);
    hy_spec_set_jalali(*member, "birth_date");
    return 0;
}

/* Numbers the member within the household ("m1", "m2", ...), and dates the join. */
static void s_add_member(hy_ctx_t *ctx, json_t *hh, json_t *member, const char *relationship,
                         const char *date)
{
    json_t *members = json_object_get(hh, "members");
    char mid[32];
    snprintf(mid, sizeof mid, "m%zu", json_array_size(members) + 1);
    json_object_set_new(member, "member_id", json_string(mid));
    json_object_set_new(member, "relationship", json_string(relationship));
    json_object_set_new(member, "joined_on", json_string(date ? date : ctx->today));
    hy_spec_set_jalali(member, "joined_on");
    json_array_append(members, member);
}

/* Writes the household (derived counts, updated_at) and publishes type with the whole
 * household after, the date and, when given, extra's members (extra is stolen). */
static int s_save(hy_ctx_t *ctx, uint64_t n, json_t *hh, const char *type, const char *date,
                  json_t *extra)
{
    s_derive(hh);
    json_object_set_new(hh, "updated_at", json_string(ctx->now_iso));
    int rc = hy_store_put_id(ctx->txn, registry_state(ctx)->households, n, hh);
    if (rc) {
        json_decref(extra);
        return hy_fail_mdb(ctx, rc);
    }
    json_t *data = json_deep_copy(hh);
    json_object_set_new(data, "date", json_string(date ? date : ctx->today));
    if (extra)
        json_object_update(data, extra);
    json_decref(extra);
    int status = registry_emit(ctx, type, hy_json_str(hh, "id"), data);
    json_decref(data);
    return status;
}

int registry_household_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    registry_t *st = registry_state(ctx);
    json_t *head = NULL, *office_rec = NULL, *member = NULL, *hh = NULL;
    const char *head_id = hy_json_str(args, "head_person_id"), *date = hy_json_str(args, "date");
    int status, rc = registry_person_load(ctx, head_id, NULL, &head);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 422, "unknown_person", "head_person_id", "no person has the id %s",
                       head_id ? head_id : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if ((status = hy_happened_check(ctx, "date", date)) != 0 ||
        (status = registry_new_office(ctx, args, hy_json_str(head, "office"), &office_rec)) != 0)
        goto fail;
    const char *office = registry_code(office_rec);
    uint64_t pn, n;
    if ((status = s_registered(ctx, "head_person_id", head_id, office, &member, &pn)) != 0)
        goto fail;
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "household", &n))) != 0)
        goto fail;
    char id[32], okey[512];
    hy_id_format("hhd", n, id, sizeof id);
    hh = json_pack("{s:s,s:s,s:s,s:[]}", "id", id, "head_id", head_id, "status", "active",
                   "members");
    registry_stamp_new(ctx, hh, office);
    s_add_member(ctx, hh, member, "head", date);
    size_t klen = registry_key_text('o', office, okey, sizeof okey);
    if ((rc = s_index_person(ctx, pn, n, true)) != 0 ||
        (klen && (rc = hy_index_put(ctx->txn, st->household_idx, okey, klen, n)) != 0))
        status = hy_fail_mdb(ctx, rc);
    else if ((status = s_save(ctx, n, hh, "registry.household.created", date, NULL)) == 0)
        *out = json_incref(hh);
fail:
    json_decref(head);
    json_decref(office_rec);
    json_decref(member);
    json_decref(hh);
    return status;
}

int registry_household_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int status = s_load_or_404(ctx, id, NULL, out);
    if (status == 0 && !hy_scope_reads(ctx, hy_json_str(*out, "office"))) {
        status = hy_scope_write(ctx, "id", hy_json_str(*out, "office"));
        json_decref(*out);
        *out = NULL;
    }
    return status ? status : 0;
}

/* Loads a household the caller is about to change: 404, 403 other_office, 409 dissolved. */
static int s_load_for_write(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **hh)
{
    int status = s_load_or_404(ctx, id, n, hh);
    if (status)
        return status;
    status = hy_scope_write(ctx, "id", hy_json_str(*hh, "office"));
    if (status == 0 && strcmp(hy_json_str(*hh, "status") ? hy_json_str(*hh, "status") : "", "dissolved") == 0)
        status = hy_fail(ctx, 409, "household_dissolved", "id",
                         "household %s was dissolved when its last member left", id);
    if (status) {
        json_decref(*hh);
        *hh = NULL;
    }
    return status;
}

int registry_household_add_member(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *hh = NULL, *member = NULL;
    uint64_t n, pn = 0;
    const char *person_id = hy_json_str(args, "person_id"), *name = hy_json_str(args, "name");
    const char *relationship = hy_json_str(args, "relationship"), *date = hy_json_str(args, "date");
    int status = s_load_for_write(ctx, id, &n, &hh);
    if (status)
        return status;
    if (relationship && strcmp(relationship, "head") == 0) {
        status = hy_fail(ctx, 422, "invalid_relationship", "relationship",
                         "a household has one head; change it with POST /v1/households/%s/head",
                         id);
        goto fail;
    }
    if (person_id && name) {
        status = hy_fail(ctx, 422, "person_or_name", "name",
                         "a member is a registered person (person_id) or a dependant recorded "
                         "by name, not both");
        goto fail;
    }
    if (!person_id && !name) {
        status = hy_fail(ctx, 422, "missing_member", "person_id",
                         "name a registered person (person_id) or a dependant (name, sex, "
                         "birth_date)");
        goto fail;
    }
    if ((status = hy_happened_check(ctx, "date", date)) != 0)
        goto fail;
    if (person_id) {
        if ((status = s_registered(ctx, "person_id", person_id, hy_json_str(hh, "office"), &member,
                                   &pn)) != 0)
            goto fail;
        json_t *dis = json_object_get(args, "disability");
        if (dis)
            json_object_set(member, "disability", dis);
    } else {
        if ((status = s_dependant(ctx, args, &member)) != 0)
            goto fail;
        json_object_set_new(member, "disability",
                            json_boolean(json_is_true(json_object_get(args, "disability"))));
    }
    s_add_member(ctx, hh, member, relationship, date);
    int rc = pn ? s_index_person(ctx, pn, n, true) : 0;
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = s_save(ctx, n, hh, "registry.household.member_joined", date,
                         json_pack("{s:O}", "member", member))) != 0)
        goto fail;
    *out = hh;
    json_decref(member);
    return 0;
fail:
    json_decref(hh);
    json_decref(member);
    return status;
}

/* The index of the member named by its member id or person id (present one preferred), or -1. */
static int s_find_member(const json_t *hh, const char *which)
{
    int found = -1;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(hh, "members"), i, m) {
        const char *mid = hy_json_str(m, "member_id"), *pid = hy_json_str(m, "person_id");
        if (!which || !((mid && strcmp(mid, which) == 0) || (pid && strcmp(pid, which) == 0)))
            continue;
        if (found < 0 || s_present(m))
            found = (int)i;
    }
    return found;
}

static int s_no_member(hy_ctx_t *ctx, const char *id, const char *which)
{
    return hy_fail(ctx, 404, "not_found", "member", "household %s has no member %s", id,
                   which ? which : "");
}

int registry_household_leave(hy_ctx_t *ctx, const char *id, const char *which, json_t *args,
                             json_t **out)
{
    json_t *hh = NULL;
    uint64_t n;
    const char *date = hy_json_str(args, "date"), *reason = hy_json_str(args, "reason");
    int status = s_load_for_write(ctx, id, &n, &hh);
    if (status)
        return status;
    int i = s_find_member(hh, which);
    json_t *m = i >= 0 ? json_array_get(json_object_get(hh, "members"), (size_t)i) : NULL;
    const char *pid = hy_json_str(m, "person_id"), *head = hy_json_str(hh, "head_id");
    bool is_head = pid && head && strcmp(pid, head) == 0;
    if (!m) {
        status = s_no_member(ctx, id, which);
        goto fail;
    }
    if (!s_present(m)) {
        status = hy_fail(ctx, 409, "member_left", "member", "%s left household %s on %s", which,
                         id, hy_json_str(m, "left_on"));
        goto fail;
    }
    s_derive(hh);
    if (is_head && json_integer_value(json_object_get(hh, "size")) > 1) {
        status = hy_fail(ctx, 422, "head_leaving", "member",
                         "the head leaves last: name another head first "
                         "(POST /v1/households/%s/head)", id);
        goto fail;
    }
    if ((status = hy_happened_check(ctx, "date", date)) != 0)
        goto fail;
    const char *joined = hy_json_str(m, "joined_on");
    if (joined && strcmp(date ? date : ctx->today, joined) < 0) {
        status = hy_fail(ctx, 422, "date_out_of_order", "date",
                         "the member joined on %s and cannot leave before", joined);
        goto fail;
    }
    json_object_set_new(m, "left_on", json_string(date ? date : ctx->today));
    hy_spec_set_jalali(m, "left_on");
    if (reason && *reason)
        json_object_set_new(m, "leave_reason", json_string(reason));
    if (is_head) { /* the last member: the household ends */
        json_object_set_new(hh, "head_id", json_null());
        json_object_set_new(hh, "status", json_string("dissolved"));
    }
    uint64_t pn;
    int rc = pid && hy_id_parse("prs", pid, &pn) == 0 ? s_index_person(ctx, pn, n, false) : 0;
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto fail;
    }
    if ((status = s_save(ctx, n, hh, "registry.household.member_left", date,
                         json_pack("{s:O}", "member", m))) != 0)
        goto fail;
    *out = hh;
    return 0;
fail:
    json_decref(hh);
    return status;
}

int registry_household_set_head(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *hh = NULL;
    uint64_t n;
    const char *which = hy_json_str(args, "member"), *date = hy_json_str(args, "date");
    const char *prev_rel = hy_json_str(args, "previous_head_relationship");
    int status = s_load_for_write(ctx, id, &n, &hh);
    if (status)
        return status;
    int i = s_find_member(hh, which);
    json_t *members = json_object_get(hh, "members");
    json_t *m = i >= 0 ? json_array_get(members, (size_t)i) : NULL;
    if (!m || !s_present(m)) {
        status = s_no_member(ctx, id, which);
        goto fail;
    }
    const char *pid = hy_json_str(m, "person_id");
    char old[32] = "";
    snprintf(old, sizeof old, "%s", hy_json_str(hh, "head_id") ? hy_json_str(hh, "head_id") : "");
    if (!pid) {
        status = hy_fail(ctx, 422, "head_not_registered", "member",
                         "the head of a household is a registered person; register %s first",
                         hy_json_str(m, "name") ? hy_json_str(m, "name") : which);
        goto fail;
    }
    if (strcmp(pid, old) == 0) {
        status = hy_fail(ctx, 422, "already_head", "member", "%s heads the household already",
                         pid);
        goto fail;
    }
    if ((status = hy_happened_check(ctx, "date", date)) != 0)
        goto fail;
    int h = s_find_member(hh, old);
    json_t *hm = h >= 0 ? json_array_get(members, (size_t)h) : NULL;
    if (hm && s_present(hm)) {
        if (!prev_rel) {
            status = hy_fail(ctx, 422, "missing_relationship", "previous_head_relationship",
                             "the previous head stays a member: say how she is related to the "
                             "new head");
            goto fail;
        }
        json_object_set_new(hm, "relationship", json_string(prev_rel));
    }
    json_object_set_new(m, "relationship", json_string("head"));
    json_object_set_new(hh, "head_id", json_string(pid));
    if ((status = s_save(ctx, n, hh, "registry.household.head_changed", date,
                         json_pack("{s:s}", "previous_head_id", old))) != 0)
        goto fail;
    *out = hh;
    return 0;
fail:
    json_decref(hh);
    return status;
}

/* ------------------------------------------------------------------- merges -------------- */

/* Replaces from by into in the member entry and head_id (the person is the same woman). */
static void s_rename(json_t *hh, json_t *m, const char *from, const char *into)
{
    json_object_set_new(m, "person_id", json_string(into));
    const char *head = hy_json_str(hh, "head_id");
    if (head && strcmp(head, from) == 0)
        json_object_set_new(hh, "head_id", json_string(into));
}

int registry_household_merge(hy_ctx_t *ctx, uint64_t from_n, const char *from, uint64_t into_n,
                             const char *into)
{
    registry_t *st = registry_state(ctx);
    uint64_t hn, other;
    json_t *hh = NULL;
    int status = 0, rc = s_membership(ctx, from_n, &hn);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0)
        rc = hy_store_get_id(ctx->txn, st->households, hn, &hh);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    int at = s_find_member(hh, from);
    json_t *m = json_array_get(json_object_get(hh, "members"), at < 0 ? 0 : (size_t)at);
    rc = s_membership(ctx, into_n, &other);
    if (rc == 0 && other != hn) {
        char a[32], b[32];
        hy_id_format("hhd", hn, a, sizeof a);
        hy_id_format("hhd", other, b, sizeof b);
        status = hy_fail(ctx, 409, "household_conflict", "into",
                         "%s is a member of household %s and %s of household %s; one leaves "
                         "first", from, a, into, b);
    } else if (rc == MDB_NOTFOUND) {
        /* She is in no other household: her entry now names the surviving record. Followers
         * re-point it by registry.person.merged, so no household event. */
        s_rename(hh, m, from, into);
        if ((rc = s_index_person(ctx, from_n, hn, false)) != 0 ||
            (rc = s_index_person(ctx, into_n, hn, true)) != 0 ||
            (rc = hy_store_put_id(ctx->txn, st->households, hn, hh)) != 0)
            status = hy_fail_mdb(ctx, rc);
    } else if (rc == 0) {
        /* Both records are members of this household: the retired one leaves it, and hands
         * the headship to the surviving one. */
        const char *head = hy_json_str(hh, "head_id");
        bool was_head = head && strcmp(head, from) == 0;
        json_object_set_new(m, "left_on", json_string(ctx->today));
        hy_spec_set_jalali(m, "left_on");
        json_object_set_new(m, "leave_reason", json_string("merged"));
        if (was_head) {
            json_t *keep = json_array_get(json_object_get(hh, "members"),
                                          (size_t)s_find_member(hh, into));
            json_object_set_new(keep, "relationship", json_string("head"));
            json_object_set_new(hh, "head_id", json_string(into));
        }
        json_t *extra = json_pack("{s:O}", "member", m);
        if (was_head)
            json_object_set_new(extra, "previous_head_id", json_string(from));
        if ((rc = s_index_person(ctx, from_n, hn, false)) != 0) {
            json_decref(extra);
            status = hy_fail_mdb(ctx, rc);
        } else {
            status = s_save(ctx, hn, hh, was_head ? "registry.household.head_changed"
                                                  : "registry.household.member_left",
                            NULL, extra);
        }
    } else {
        status = hy_fail_mdb(ctx, rc);
    }
    json_decref(hh);
    return status;
}

/* ------------------------------------------------------------------- listing ------------- */

static bool s_keep(const json_t *hh, void *user)
{
    const char *office = user;
    return !office || hy_scope_same(office, hy_json_str(hh, "office"));
}

/* The person's index, else the office's, else every household. */
static int s_list(hy_ctx_t *ctx, const registry_filter_t *f, json_t **items, uint64_t *next)
{
    registry_t *st = registry_state(ctx);
    char key[512];
    uint8_t pkey[10];
    const void *k = NULL;
    size_t klen = 0;
    if (f->person) {
        klen = registry_key_num('p', f->person, pkey);
        k = pkey;
    } else if (f->office && (klen = registry_key_text('o', f->office, key, sizeof key)) != 0) {
        k = key;
    }
    return registry_page(ctx, st->households, st->household_idx, k, klen, f->after, f->limit,
                         s_keep, (void *)f->office, items, next);
}

int registry_household_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    return registry_list(ctx, args, "households", s_list, result);
}
