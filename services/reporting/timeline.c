/*
 * timeline.c — a person's whole story: every event about her from the five services reporting
 * follows (the registry's own and the loans, networks, micro-fund and insurance events), in
 * date order, for GET /v1/persons/{id}/timeline.
 *
 * WHO AN EVENT IS ABOUT. Any person named anywhere in its data (a person id "prs_N" as any
 * value: person_id, owner_id, lead_person_id, the lists of participants, members, guarantors,
 * attendance, a merge's `into`, the `id` of registry.person.* events); an insurance
 * enrolment's `national_id` (through the registry's projection); and, for loan events that
 * name no one, the borrower of the loan (remembered from the first of its events that names a
 * person). A person named twice in one event gets it once.
 *
 * WHEN. The event's business date: the first of data.date, registered_on, joined, left,
 * confirmed_date, requested_date, start_date that is a date (a registration without
 * registered_on: its first referral's date), else the Tehran day of its time.
 *
 * LAYOUT. One record per (person, event) in the timeline database:
 *     person (8, BE) | biased day (4, BE) | source index (1) | sequence (8, BE)
 * -> {"date", "date_jalali", "source", "type", "sequence", "subject", "data"} (compact JSON; in
 * data a list of more than 8 items is replaced by its length, "<key>_count"). A timeline is one
 * range read in date order (then source, then sequence), and the stored JSON is sent as it is
 * (a rendering the gateway passes through: nothing is decoded), so 1,000 events cost
 * microseconds of copying rather than milliseconds of JSON.
 *
 * Registrations (registry.person.registered) go to a database of their own, tl_reg, with the
 * same keys; a timeline is the merge of the person's two ranges in key order. A catch-up
 * registers persons in number order, so tl_reg is appended to (full pages, written once), and
 * the other sources' events, about persons anywhere in that order, are inserted among far fewer
 * pages than when every registration's entry sat between them (a loan about a random person
 * split a full page of registrations: two pages written per event). A store written before
 * tl_reg existed has its registrations in the timeline database: read the same way.
 *
 * VOIDED FACTS stay, marked (DHIS2 keeps a deleted event readable in its audit): a void event
 * (<type>_voided, from any service) is filed like any other, and the entries of the fact it
 * voids (the same source, the fact's date, the persons it names) get "voided": true,
 * "voided_at" and "void_reason". The fact is found by its kind and number (table s_voids):
 * a loan's repayment or tranche number, a fund meeting's number (its line events too) or a
 * training's, a network ledger entry's number, an insurance contribution's month, a registry
 * activity's id.
 *
 * OFFICE SCOPE. Like the registry's own reads: a key acting for an office sees only persons of
 * that office (404 otherwise, so that a person's existence does not leak); a key acting for no
 * office or for every office ("*", a provincial key) sees everyone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"
#include "outbox.h"

#define TL_KEY 21
#define MAX_NAMED 256
#define LIST_MAX 8

static const char *const s_date_keys[] = {"date",           "registered_on",  "joined",
                                          "left",           "confirmed_date", "requested_date",
                                          "start_date",     NULL};

static int s_source_index(const char *source)
{
    for (int i = 0; reporting_def.sources[i]; i++)
        if (strcmp(reporting_def.sources[i], source) == 0)
            return i;
    return 255;
}

static void s_key(uint8_t k[TL_KEY], uint64_t person, int64_t day, int source, uint64_t seq)
{
    uint32_t u = rp_day_u(day);
    hy_key_u64(person, k);
    rp_be32(k + 8, u);
    k[12] = (uint8_t)source;
    hy_key_u64(seq, k + 13);
}

/* Adds n to the list unless it is there. */
static void s_name(uint64_t *list, size_t *n, uint64_t person)
{
    for (size_t i = 0; i < *n; i++)
        if (list[i] == person)
            return;
    if (*n < MAX_NAMED)
        list[(*n)++] = person;
}

static void s_name_id(uint64_t *list, size_t *n, const char *id)
{
    uint64_t p;
    if (id && strncmp(id, "prs_", 4) == 0 && rp_id_num(id, &p) == 0)
        s_name(list, n, p);
}

/* Every person id anywhere in a JSON value. */
static void s_walk(const json_t *v, uint64_t *list, size_t *n, int depth)
{
    const char *key;
    json_t *x;
    size_t i;
    if (depth > 8)
        return;
    if (json_is_string(v))
        s_name_id(list, n, json_string_value(v));
    else if (json_is_array(v))
        json_array_foreach(v, i, x) s_walk(x, list, n, depth + 1);
    else if (json_is_object(v))
        json_object_foreach((json_t *)v, key, x) s_walk(x, list, n, depth + 1);
}

/* The persons an event is about (top of file). */
static int s_named(hy_ctx_t *ctx, const char *type, const json_t *data, uint64_t *list, size_t *n)
{
    *n = 0;
    s_walk(data, list, n, 0);
    if (strncmp(type, "registry.person.", 16) == 0)
        s_name_id(list, n, hy_json_str(data, "id"));
    int rc = 0;
    uint64_t loan, person;
    if (strncmp(type, "loans.", 6) == 0 && rp_id_num(hy_json_str(data, "id"), &loan) == 0) {
        if (rp_id_num(hy_json_str(data, "person_id"), &person) == 0)   /* the borrower, for later */
            rc = rp_record_put(ctx, 't', loan, 0, &person, sizeof person);
        else if (*n == 0 && (rc = rp_record_get(ctx, 't', loan, 0, &person, sizeof person)) == 0)
            s_name(list, n, person);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    const char *nid = hy_json_str(data, "national_id");
    if (rc == 0 && *n == 0 && nid && strncmp(type, "insurance.", 10) == 0) {
        rc = rp_person_num_by_nid(ctx, nid, &person);
        if (rc == 0)
            s_name(list, n, person);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    return rc;
}

/* The data kept in a timeline entry: the event's, with long lists (a session's 120
 * participants) replaced by their length under "<key>_count", so that an event about many
 * persons does not cost each of them its whole list, and without nested records (the whole
 * person before and after an update, a transfer's person) nor her identity (names, national ID,
 * mobile, address, birth date): the registry answers for those, and a copy here would cost
 * every registration hundreds of bytes more. A new reference or NULL. */
static bool s_entry_skip(const char *key, const json_t *v)
{
    static const char *const personal[] = {"national_id", "first_name", "last_name", "father_name",
                                           "mobile", "phone", "address", "postal_code",
                                           "birth_date", "birth_date_jalali", NULL};
    bool skip = (json_is_object(v) && strcmp(key, "contribution") != 0) ||
                (json_is_string(v) && json_string_length(v) > 200);
    for (int i = 0; personal[i] && !skip; i++)
        skip = strcmp(key, personal[i]) == 0;
    return skip;
}

static json_t *s_entry_data(const json_t *data)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)data, key, v) {
        if (!out)
            break;
        if (s_entry_skip(key, v))
            continue;   /* the whole person before/after, her identity: the registry has them */
        if (json_is_array(v) && json_array_size(v) > LIST_MAX) {
            char name[96];
            snprintf(name, sizeof name, "%.80s_count", key);
            json_object_set_new(out, name, json_integer((json_int_t)json_array_size(v)));
        } else {
            json_object_set(out, key, v);
        }
    }
    return out;
}

/* Compact JSON into b, byte for byte what json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes
 * (members in insertion order, jansson's escapes: \" \\ \b \f \n \r \t, other controls
 * \u00XX; UTF-8 as it is), without building a string per call: a timeline entry is written
 * once per event applied. Reals, rare in events, are left to jansson's own formatting. */
static void s_json_string(rp_buf_t *b, const char *s, size_t n)
{
    hy_buf_addn(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        hy_buf_addn(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': hy_buf_addn(b, "\\\"", 2); break;
        case '\\': hy_buf_addn(b, "\\\\", 2); break;
        case '\b': hy_buf_addn(b, "\\b", 2); break;
        case '\f': hy_buf_addn(b, "\\f", 2); break;
        case '\n': hy_buf_addn(b, "\\n", 2); break;
        case '\r': hy_buf_addn(b, "\\r", 2); break;
        case '\t': hy_buf_addn(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            hy_buf_addn(b, esc, 6);
        }
    }
    hy_buf_addn(b, s + run, n - run);
    hy_buf_addn(b, "\"", 1);
}

static int s_dump_cb(const char *buffer, size_t size, void *data)
{
    hy_buf_addn(data, buffer, size);
    return 0;
}

static void s_json(rp_buf_t *b, const json_t *v, int depth)
{
    char num[32];
    if (!v || depth > 4096) {   /* the decoder makes none deeper than 2048 */
        b->failed = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: s_json_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        hy_buf_addn(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        break;
    case JSON_TRUE: hy_buf_addn(b, "true", 4); break;
    case JSON_FALSE: hy_buf_addn(b, "false", 5); break;
    case JSON_NULL: hy_buf_addn(b, "null", 4); break;
    case JSON_ARRAY:
        hy_buf_addn(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                hy_buf_addn(b, ",", 1);
            s_json(b, json_array_get(v, i), depth + 1);
        }
        hy_buf_addn(b, "]", 1);
        break;
    case JSON_OBJECT: {
        hy_buf_addn(b, "{", 1);
        bool first = true;
        for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                hy_buf_addn(b, ",", 1);
            first = false;
            s_json_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            hy_buf_addn(b, ":", 1);
            s_json(b, json_object_iter_value(it), depth + 1);
        }
        hy_buf_addn(b, "}", 1);
        break;
    }
    default:
        if (json_dump_callback(v, s_dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
            b->failed = true;
    }
}

/* The members of s_entry_data(data) written straight into b, when no list is shortened (a
 * "<key>_count" could meet a member of that name: those go through s_entry_data). False when
 * this path does not apply. */
static bool s_entry_data_fast(rp_buf_t *b, const json_t *data)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)data, key, v)
        if (json_is_array(v) && json_array_size(v) > LIST_MAX)
            return false;
    hy_buf_addn(b, "{", 1);
    bool first = true;
    for (void *it = json_object_iter((json_t *)data); it; it = json_object_iter_next((json_t *)data, it)) {
        key = json_object_iter_key(it);
        v = json_object_iter_value(it);
        if (s_entry_skip(key, v))
            continue;
        if (!first)
            hy_buf_addn(b, ",", 1);
        first = false;
        s_json_string(b, key, json_object_iter_key_len(it));
        hy_buf_addn(b, ":", 1);
        s_json(b, v, 1);
    }
    hy_buf_addn(b, "}", 1);
    return true;
}

/* The entry's text (file top's LAYOUT) into b. */
static void s_entry_text(rp_buf_t *b, const char *iso, const char *jal, const char *source,
                         const char *type, json_t *event, const json_t *data)
{
    char num[32];
    hy_buf_addn(b, "{\"date\":\"", 9);
    hy_buf_addn(b, iso, strlen(iso));
    hy_buf_addn(b, "\",\"date_jalali\":\"", 17);
    hy_buf_addn(b, jal, strlen(jal));
    hy_buf_addn(b, "\",\"source\":", 11);
    s_json_string(b, source, strlen(source));
    hy_buf_addn(b, ",\"type\":", 8);
    s_json_string(b, type, strlen(type));
    hy_buf_addn(b, num, (size_t)snprintf(num, sizeof num, ",\"sequence\":%" JSON_INTEGER_FORMAT,
                                         (json_int_t)hy_event_seq(event)));
    hy_buf_addn(b, ",\"subject\":", 11);
    const json_t *subject = json_object_get(event, "subject");
    s_json(b, subject ? subject : json_null(), 0);
    hy_buf_addn(b, ",\"data\":", 8);
    if (!s_entry_data_fast(b, data)) {
        json_t *d = s_entry_data(data);
        s_json(b, d, 1);
        json_decref(d);
    }
    hy_buf_addn(b, "}", 1);
}

/* What a void names: the void's type, the types of the facts it voids, the member of their
 * data that numbers the fact, and where the void's data has that number. The facts must also
 * have the void's subject (loans, insurance) or fund (micro-fund). */
static const struct {
    const char *type;
    const char *facts[5];
    const char *key;      /* in the fact's data */
    const char *number;   /* in the void's data: "before.number", "id", "contribution.month" */
} s_voids[] = {
    {"loans.loan.repayment_voided", {"loans.loan.repayment_recorded"}, "number", "before.number"},
    {"loans.loan.disbursement_voided", {"loans.loan.disbursed"}, "number", "before.number"},
    {"microfund.meeting_voided", {"microfund.saving_recorded", "microfund.social_fund_contributed",
                                  "microfund.fine_paid", "microfund.grant_paid"}, "meeting", "before.number"},
    {"microfund.meeting_voided", {"microfund.meeting_held"}, "number", "before.number"},
    {"microfund.training_voided", {"microfund.training_held"}, "number", "before.number"},
    {"networks.network.delivery_voided", {"networks.network.delivery_recorded"}, "entry", "id"},
    {"networks.network.payment_voided", {"networks.network.payment_recorded"}, "entry", "id"},
    {"insurance.enrolment.contribution_voided", {"insurance.enrolment.contribution_recorded"},
     "contribution.month", "contribution.month"},
    {"registry.activity.voided", {"registry.activity.recorded"}, "id", "id"},
};

/* data.a.b for the path "a.b" (one dot at most). */
static const json_t *s_path(const json_t *data, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_object_get(data, path);
    char head[32];
    snprintf(head, sizeof head, "%.*s", (int)(dot - path), path);
    return json_object_get(json_object_get(data, head), dot + 1);
}

/* Whether a stored entry is a fact void (row i of s_voids) voids. */
static bool s_is_voided(const json_t *entry, size_t i, const json_t *event, const json_t *data)
{
    const char *type = hy_json_str(entry, "type");
    bool kind = false;
    for (int k = 0; k < 5 && s_voids[i].facts[k] && type && !kind; k++)
        kind = strcmp(type, s_voids[i].facts[k]) == 0;
    const json_t *fact = json_object_get(entry, "data");
    if (!kind || json_is_true(json_object_get(entry, "voided")) ||
        !json_equal(s_path(fact, s_voids[i].key), s_path(data, s_voids[i].number)))
        return false;
    if (strncmp(s_voids[i].type, "microfund.", 10) == 0)
        return json_equal(json_object_get(fact, "fund_id"), json_object_get(data, "fund_id"));
    return json_equal(json_object_get(entry, "subject"), json_object_get(event, "subject")) ||
           strncmp(s_voids[i].type, "networks.", 9) == 0;   /* ledger numbers are unique */
}

/* Marks the entries of person on day (of source) that the void event voids: read with a
 * cursor, rewritten after it (a timeline day holds a few entries). */
static int s_mark_voided(hy_ctx_t *ctx, uint64_t person, int64_t day, int source, json_t *event,
                         const json_t *data, size_t row)
{
    MDB_dbi db = reporting_state(ctx)->timeline;
    MDB_cursor *cur;
    uint8_t start[TL_KEY], keys[MAX_NAMED][TL_KEY];
    char *texts[MAX_NAMED];
    size_t n = 0;
    s_key(start, person, day, source, 0);
    int rc = mdb_cursor_open(ctx->txn, db, &cur);
    if (rc)
        return rc;
    MDB_val k = {TL_KEY, start}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < MAX_NAMED;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != TL_KEY || memcmp(k.mv_data, start, 13) != 0)
            break;
        json_t *entry = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        bool hit = false;
        for (size_t i = row; entry && i < sizeof s_voids / sizeof s_voids[0] && !hit; i++)
            hit = strcmp(s_voids[i].type, s_voids[row].type) == 0 && s_is_voided(entry, i, event, data);
        if (hit) {
            const json_t *at = json_object_get(data, "voided_at"), *why = json_object_get(data, "reason");
            json_object_set_new(entry, "voided", json_true());
            json_object_set_new(entry, "voided_at", at ? json_incref((json_t *)at) : json_null());
            json_object_set_new(entry, "void_reason", why ? json_incref((json_t *)why) : json_null());
            memcpy(keys[n], k.mv_data, TL_KEY);
            if (!(texts[n] = json_dumps(entry, JSON_COMPACT)))
                rc = ENOMEM;
            else
                n++;
        }
        json_decref(entry);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    for (size_t i = 0; i < n; i++) {
        MDB_val mk = {TL_KEY, keys[i]}, mv = {strlen(texts[i]), texts[i]};
        if (rc == 0)
            rc = mdb_put(ctx->txn, db, &mk, &mv, 0);
        free(texts[i]);
    }
    return rc;
}

/* A void event: the fact it voids is marked on the timelines of the persons it names, on the
 * fact's date (before.date, else the void's own day). */
static int s_voided(hy_ctx_t *ctx, const char *source, json_t *event, const json_t *data,
                    const uint64_t *named, size_t n, int64_t day)
{
    size_t row = 0, rows = sizeof s_voids / sizeof s_voids[0];
    const char *type = hy_json_str(event, "type");
    while (row < rows && strcmp(s_voids[row].type, type) != 0)
        row++;
    if (row == rows)
        return 0;
    int64_t fact_day;
    if (!rp_day_of(hy_json_str(json_object_get(data, "before"), "date"), &fact_day))
        fact_day = day;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s_mark_voided(ctx, named[i], fact_day, s_source_index(source), event, data, row);
    return rc;
}

int rp_timeline_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    const char *type = hy_json_str(event, "type");
    json_t *data = json_object_get(event, "data");
    uint64_t named[MAX_NAMED];
    size_t n;
    int64_t day = 0;
    if (!type || !json_is_object(data))
        return 0;
    int rc = s_named(ctx, type, data, named, &n);
    if (rc || n == 0)
        return rc;
    bool dated = false;
    for (int i = 0; s_date_keys[i] && !dated; i++)
        dated = rp_day_of(hy_json_str(data, s_date_keys[i]), &day);
    if (!dated && strcmp(type, "registry.person.registered") == 0)   /* before registered_on */
        dated = rp_day_of(hy_json_str(json_array_get(json_object_get(data, "referrals"), 0), "date"), &day);
    if (!dated && !rp_event_day(event, NULL, NULL, &day))
        return 0;
    char iso[11], jal[11];
    rp_iso(day, iso);
    if (!rp_jalali_text(day, jal))   /* by table: once per event applied */
        jal[0] = '\0';
    /* one buffer for every entry the thread writes (reused, never freed: a scratch area) */
    static _Thread_local rp_buf_t b;
    b.len = 0;
    b.failed = false;
    s_entry_text(&b, iso, jal, source, type, event, data);
    if (b.failed || !b.buf)
        return ENOMEM;
    reporting_t *st = reporting_state(ctx);
    bool reg = strcmp(type, "registry.person.registered") == 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t key[TL_KEY];
        s_key(key, named[i], day, s_source_index(source), hy_event_seq(event));
        MDB_val k = {TL_KEY, key}, v = {b.len, b.buf};
        rc = reg ? hy_store_put_last(ctx->txn, st->tl_reg, &k, &v)
                 : mdb_put(ctx->txn, st->timeline, &k, &v, 0);
    }
    return rc ? rc : s_voided(ctx, source, event, data, named, n, day);
}

/* Whether the caller may see a person of office (interned id): top of file. */
static bool s_in_scope(hy_ctx_t *ctx, uint32_t office)
{
    const char *mine = ctx->req ? ctx->req->actor.office : NULL;
    if (!mine || !*mine || strcmp(mine, "*") == 0)
        return true;
    uint32_t id;
    return rp_lookup(ctx->txn, reporting_state(ctx), RP_DIM_OFFICE, mine, &id) == 0 && id == office;
}

/* The cursor's next entry (op) of the person whose key starts with start's 8 bytes; 0 with k
 * and v, MDB_NOTFOUND past her entries, or an LMDB error. */
static int s_person_step(MDB_cursor *cur, MDB_val *k, MDB_val *v, const uint8_t *start, MDB_cursor_op op)
{
    int rc = mdb_cursor_get(cur, k, v, op);
    if (rc == 0 && (k->mv_size != TL_KEY || memcmp(k->mv_data, start, 8) != 0))
        rc = MDB_NOTFOUND;
    return rc;
}

int reporting_timeline(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    const char *id = hy_json_str(args, "id");
    uint64_t n;
    rp_person_t p;
    if (!id || strncmp(id, "prs_", 4) != 0 || rp_id_num(id, &n) != 0)
        return hy_fail(ctx, 404, "not_found", "id", "no person %.64s", id ? id : "");
    int rc = rp_person_get(ctx, id, &p);
    if (rc == MDB_NOTFOUND || (rc == 0 && !s_in_scope(ctx, p.office)))
        return hy_fail(ctx, 404, "not_found", "id", "no person %.64s", id);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    reporting_t *st = reporting_state(ctx);
    MDB_cursor *cur[2] = {NULL, NULL};
    if ((rc = mdb_cursor_open(ctx->txn, st->timeline, &cur[0])) != 0 ||
        (rc = mdb_cursor_open(ctx->txn, st->tl_reg, &cur[1])) != 0) {
        mdb_cursor_close(cur[0]);
        return hy_fail_mdb(ctx, rc);
    }
    /* The timeline is written here as the reply's text (a raw result): the stored entries are
     * JSON already, so they are neither decoded nor serialised again, to be hashed for the ETag
     * and then sent; the gateway passes the text through (splice.c) without a tree either. The
     * person's entries of both databases, merged in key order (file top). */
    rp_buf_t w = {0};
    hy_buf_addf(&w, "{\"person_id\":\"prs_%llu\",\"events\":[", (unsigned long long)n);
    uint8_t start[TL_KEY];
    memset(start, 0, sizeof start);
    hy_key_u64(n, start);
    MDB_val k[2], v[2];
    bool more[2], first = true;
    for (int i = 0; i < 2; i++) {
        k[i] = (MDB_val){TL_KEY, start};
        int r = s_person_step(cur[i], &k[i], &v[i], start, MDB_SET_RANGE);
        more[i] = r == 0;
        rc = rc ? rc : r == MDB_NOTFOUND ? 0 : r;
    }
    while (rc == 0 && (more[0] || more[1])) {
        int i = !more[0] ? 1 : !more[1] ? 0 : memcmp(k[1].mv_data, k[0].mv_data, TL_KEY) < 0;
        if (!first)
            hy_buf_addn(&w, ",", 1);
        hy_buf_addn(&w, v[i].mv_data, v[i].mv_size);   /* stored as JSON: sent as it is */
        first = false;
        int r = s_person_step(cur[i], &k[i], &v[i], start, MDB_NEXT);
        more[i] = r == 0;
        rc = r == MDB_NOTFOUND ? 0 : r;
    }
    mdb_cursor_close(cur[0]);
    mdb_cursor_close(cur[1]);
    json_t *as_of = rp_as_of(ctx);
    char *as_of_text = as_of ? json_dumps(as_of, JSON_COMPACT) : NULL;
    json_decref(as_of);
    hy_buf_add(&w, "],\"as_of\":");
    hy_buf_add(&w, as_of_text ? as_of_text : "null");
    hy_buf_addn(&w, "}", 1);
    free(as_of_text);
    size_t len = w.len;
    char *text = hy_buf_take(&w, NULL);   /* NULL when an allocation failed */
    if (rc && rc != MDB_NOTFOUND) {
        free(text);
        return hy_fail_mdb(ctx, rc);
    }
    *out = text ? hy_result_raw(text, len) : NULL;
    return *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

/* Moves one database's entries of person from to person to. */
static int s_repoint(hy_ctx_t *ctx, MDB_dbi db, uint64_t from, uint64_t to)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(ctx->txn, db, &cur);
    if (rc)
        return rc;
    uint8_t start[TL_KEY];
    memset(start, 0, sizeof start);
    hy_key_u64(from, start);
    MDB_val k = {TL_KEY, start}, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) == 0 && k.mv_size == TL_KEY &&
           memcmp(k.mv_data, start, 8) == 0) {
        uint8_t moved[TL_KEY];
        memcpy(moved, k.mv_data, TL_KEY);
        hy_key_u64(to, moved);
        MDB_val mk = {TL_KEY, moved};
        if ((rc = mdb_put(ctx->txn, db, &mk, &v, 0)) != 0 || (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        k = (MDB_val){TL_KEY, start};
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int rp_timeline_repoint(hy_ctx_t *ctx, uint64_t from, uint64_t to)
{
    reporting_t *st = reporting_state(ctx);
    int rc = s_repoint(ctx, st->timeline, from, to);
    return rc ? rc : s_repoint(ctx, st->tl_reg, from, to);
}
