/*
 * records.c — small pieces every networks domain file needs: index keys, the stamp of a new
 * record, Jalali echoes of dates, checked sums, events that carry the network's grouping keys,
 * and filtered pagination over an index key or a primary database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "fa.h"
#include "happened.h"
#include "networks.h"

/* LMDB's default maximum key size is 511 bytes; stay clear of it. */
#define KEY_MAX 480

networks_t *networks_state(hy_ctx_t *ctx)
{
    return (networks_t *)ctx->state;
}

size_t networks_key_num(char tag, uint64_t a, uint64_t b, bool two, uint8_t out[18])
{
    out[0] = (uint8_t)tag;
    out[1] = ':';
    hy_key_u64(a, out + 2);
    if (!two)
        return 10;
    hy_key_u64(b, out + 10);
    return 18;
}

/* Offices and fields are codes ("rey-1", "handicrafts"), so their keys are the text as is. */
size_t networks_key_text(char tag, const char *text, char *out, size_t outsz)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len + 2 > KEY_MAX || len + 2 > outsz)
        return 0;
    out[0] = tag;
    out[1] = ':';
    memcpy(out + 2, text, len);
    return len + 2;
}

/* DOMAIN.md: every record says which office and user made it. The office is set by the
 * domain file (a member's or an order's is its network's). */
void networks_stamp(hy_ctx_t *ctx, json_t *rec)
{
    const char *key = ctx->req && ctx->req->actor.key_id ? ctx->req->actor.key_id : "";
    json_object_set_new(rec, "created_by", json_string(key));
    json_object_set_new(rec, "created_at", json_string(ctx->now_iso));
    json_object_set_new(rec, "updated_at", json_string(ctx->now_iso));
}

/* API.md: every date field X is echoed as X and X_jalali; kept in the record so that event
 * consumers see both too. */
void networks_jalali(json_t *rec, const char *const *fields)
{
    for (; *fields; fields++) {
        char key[64], jalali[11];
        snprintf(key, sizeof key, "%s_jalali", *fields);
        const char *iso = json_string_value(json_object_get(rec, *fields));
        if (iso && hy_date_iso_to_jalali(iso, jalali) == 0)
            json_object_set_new(rec, key, json_string(jalali));
        else
            json_object_del(rec, key);
    }
}

int networks_not_future(hy_ctx_t *ctx, const char *date, const char *field)
{
    return date ? hy_happened_check(ctx, field, date) : 0;
}

int networks_add(hy_ctx_t *ctx, int64_t a, int64_t b, const char *field, int64_t *sum)
{
    if (__builtin_add_overflow(a, b, sum))
        return hy_fail(ctx, 422, "value_too_large", field,
                       "the sum does not fit in a 64-bit count of rials or units");
    return 0;
}

int networks_bump(hy_ctx_t *ctx, json_t *obj, const char *key, int64_t delta)
{
    int64_t sum;
    int status = networks_add(ctx, json_integer_value(json_object_get(obj, key)), delta, key, &sum);
    if (status == 0 && json_object_set_new(obj, key, json_integer(sum)) != 0)
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    return status;
}

int networks_emit(hy_ctx_t *ctx, const char *type, const char *subject, const json_t *network,
                  json_t *data)
{
    if (!data)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    static const char *const keys[][2] = {{"network_id", "id"}, {"office", "office"},
                                          {"field", "field"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = network ? json_object_get(network, keys[i][1]) : NULL;
        if (!json_object_get(data, keys[i][0]))
            json_object_set_new(data, keys[i][0], v ? json_incref(v) : json_null());
    }
    int rc = hy_emit(ctx, type, subject, data);
    return hy_mdb_status(ctx, rc);
}

bool networks_same(const json_t *rec, const char *key, const char *want)
{
    const char *have = hy_json_str(rec, key);
    return !want || !*want || (have && strcmp(want, have) == 0);
}
