/*
 * records.c — what every insurance domain file needs: the configuration, loading an enrolment,
 * its index entries, and saving a change together with the one event that describes it.
 *
 * The event is the fund's view of the enrolment and nothing more: national ID, names, birth
 * date, sex, field, start date (both dates also in Jalali), status, the insurance number once known, the office (for
 * reporting) and, where they matter, the contribution figures. The person's mobile, address,
 * household and the rest of the registry record never leave this service, so the outbox can be
 * served to the fund as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "fa.h"
#include "insurance.h"
#include "scope.h"

#define DEFAULT_MIN_AGE 18
#define DEFAULT_MAX_AGE 50
#define DEFAULT_SUSPEND_MONTHS 3
#define DEFAULT_BACKDATE_MONTHS 3
#define DEFAULT_AHEAD_MONTHS 3

/* An integer setting from the environment, or dflt when unset or not a whole number >= 0. */
static int s_env_int(const char *name, int dflt)
{
    const char *e = getenv(name);
    if (!e || !*e)
        return dflt;
    char *end;
    long v = strtol(e, &end, 10);
    return *end || v < 0 || v > 1000 ? dflt : (int)v;
}

int insurance_min_age(void)
{
    return s_env_int("HY_INSURANCE_MIN_AGE", DEFAULT_MIN_AGE);
}

int insurance_max_age(void)
{
    return s_env_int("HY_INSURANCE_MAX_AGE", DEFAULT_MAX_AGE);
}

int insurance_suspend_months(void)
{
    return s_env_int("HY_INSURANCE_SUSPEND_MONTHS", DEFAULT_SUSPEND_MONTHS);
}

int insurance_backdate_months(void)
{
    return s_env_int("HY_INSURANCE_BACKDATE_MONTHS", DEFAULT_BACKDATE_MONTHS);
}

int insurance_ahead_months(void)
{
    return s_env_int("HY_INSURANCE_AHEAD_MONTHS", DEFAULT_AHEAD_MONTHS);
}

insurance_t *insurance_state(hy_ctx_t *ctx)
{
    return (insurance_t *)ctx->state;
}

int insurance_load_or_404(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **enrolment)
{
    return hy_load_or_404(ctx, insurance_state(ctx)->enrolments, "enr", "enrolment", id, n,
                          enrolment);
}

bool insurance_is_fund(const hy_ctx_t *ctx)
{
    const char *role = ctx->req ? ctx->req->actor.role : NULL;
    return role && hy_role_parse(role) == HY_ROLE_INSURANCE_FUND;
}

int insurance_load_writable(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **enrolment)
{
    int status = insurance_load_or_404(ctx, id, n, enrolment);
    if (status || insurance_is_fund(ctx))
        return status;
    if ((status = hy_scope_write(ctx, "id", json_string_value(json_object_get(*enrolment,
                                                                              "office")))) != 0) {
        json_decref(*enrolment);
        *enrolment = NULL;
    }
    return status;
}

size_t insurance_index_key(char tag, const char *text, uint64_t num, char *out, size_t outsz)
{
    size_t len = text ? strlen(text) : 8;
    if (outsz < 2 || len == 0 || len > outsz - 2)
        return 0;
    out[0] = tag;
    out[1] = ':';
    if (text)
        memcpy(out + 2, text, len);
    else
        hy_key_u64(num, (uint8_t *)out + 2);
    return len + 2;
}

/* Puts or deletes one index entry; a key too long to index is skipped (never looked up). */
static int s_index_one(hy_ctx_t *ctx, char tag, const char *text, uint64_t num, uint64_t n,
                       bool put)
{
    char key[INSURANCE_KEY_MAX];
    size_t klen = insurance_index_key(tag, text, num, key, sizeof key);
    if (!klen)
        return 0;
    MDB_dbi idx = insurance_state(ctx)->enrolment_idx;
    return put ? hy_index_put(ctx->txn, idx, key, klen, n)
               : hy_index_del(ctx->txn, idx, key, klen, n);
}

int insurance_index(hy_ctx_t *ctx, uint64_t n, const json_t *enrolment, bool put)
{
    uint64_t person;
    int rc = 0;
    if (hy_id_parse("prs", json_string_value(json_object_get(enrolment, "person_id")), &person) ==
        0)
        rc = s_index_one(ctx, 'p', NULL, person, n, put);
    static const struct {
        char tag;
        const char *field;
    } plain[] = {{'s', "status"}, {'o', "office"}, {'i', "insurance_number"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0] && rc == 0; i++) {
        const char *text = json_string_value(json_object_get(enrolment, plain[i].field));
        if (text)
            rc = s_index_one(ctx, plain[i].tag, text, 0, n, put);
    }
    return rc;
}

/* The event's data: the fund's fields of the enrolment plus extra. */
static json_t *s_event_data(const json_t *enrolment, const json_t *extra)
{
    /* Dates are echoed in Jalali next to them, as the gateway does for every date it answers:
     * so the HTTP feed and the ZeroMQ feed give the same bytes. */
    static const char *const keys[] = {"national_id", "first_name", "last_name",
                                       "birth_date",  "birth_date_jalali", "sex",
                                       "field",       "start_date", "start_date_jalali",
                                       "status",      "insurance_number", "office",
                                       "refusal"};
    json_t *data = json_pack("{s:O}", "enrolment_id", json_object_get(enrolment, "id"));
    for (size_t i = 0; data && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(enrolment, keys[i]);
        if (v && json_object_set(data, keys[i], v) != 0) {
            json_decref(data);
            return NULL;
        }
    }
    if (data && extra && json_object_update(data, (json_t *)extra) != 0) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/* Copies the person's current names, office (and the rest the fund gets) from the projection,
 * so a correction made in the registry reaches the fund with the enrolment's next event. */
static int s_refresh_person(hy_ctx_t *ctx, json_t *enrolment)
{
    static const char *const keys[] = {"national_id", "first_name", "last_name", "birth_date",
                                       "sex", "office"};
    json_t *person = NULL;
    int rc = insurance_person_load(ctx, json_string_value(json_object_get(enrolment, "person_id")),
                                   &person);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(person, keys[i]);
        if (v)
            json_object_set(enrolment, keys[i], v);
    }
    hy_spec_set_jalali(enrolment, "birth_date");
    json_decref(person);
    return 0;
}

int insurance_save(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *enrolment,
                   const char *verb, const json_t *extra)
{
    json_object_set_new(enrolment, "updated_at", json_string(ctx->now_iso));
    int rc = s_refresh_person(ctx, enrolment);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if ((old && (rc = insurance_index(ctx, n, old, false)) != 0) ||
        (rc = insurance_index(ctx, n, enrolment, true)) != 0 ||
        (rc = hy_store_put_id(ctx->txn, insurance_state(ctx)->enrolments, n, enrolment)) != 0)
        return hy_fail_mdb(ctx, rc);
    char type[64];
    snprintf(type, sizeof type, "insurance.enrolment.%s", verb);
    json_t *data = s_event_data(enrolment, extra);
    if (!data)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    rc = hy_emit(ctx, type, json_string_value(json_object_get(enrolment, "id")), data);
    return hy_mdb_status(ctx, rc);
}

void insurance_set_status(hy_ctx_t *ctx, json_t *enrolment, const char *status,
                          const char *reason)
{
    json_object_set_new(enrolment, "status", json_string(status));
    json_t *entry = json_pack("{s:s,s:s}", "status", status, "date", ctx->today);
    if (!entry)
        return;
    if (reason)
        json_object_set_new(entry, "reason", json_string(reason));
    json_object_set_new(
        entry, "created_by",
        json_string(ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : ""));
    json_t *history = json_object_get(enrolment, "history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(enrolment, "history", history);
    }
    json_array_append_new(history, entry);
}

int insurance_wrong_state(hy_ctx_t *ctx, const json_t *enrolment, const char *action)
{
    const char *status = json_string_value(json_object_get(enrolment, "status"));
    hy_fail(ctx, 409, "wrong_state", "status", "an enrolment that is %s cannot be %s",
            status ? status : "?", action);
    hy_fail_extra(ctx, "current_status", json_string(status ? status : ""));
    return -1;
}
