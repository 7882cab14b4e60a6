/*
 * trainings.c — voiding a training session recorded by mistake (shared/correct.h).
 *
 * A training is no money, so one key voids it (POST /v1/funds/{id}/trainings/{number}/void
 * {reason}): the fund's office (or the province) only, as for any write to the fund. The session
 * stays readable with voided:true, voided_by, voided_at and void_reason; the fund's
 * trained_person_ids is derived again from the sessions still standing (a person trained in
 * another session stays trained); trainings_held stays the number of sessions ever recorded
 * (it numbers them). Event microfund.training_voided {id, number, before, reason, voided_by,
 * voided_at}. A voided session is 409 voided.
 */
#include <errno.h>
#include <string.h>

#include "correct.h"
#include "microfund.h"

/* Adds every participant of a standing session to the set (user), once. */
static int s_trained_each(json_t *rec, void *user)
{
    json_t *set = user, *p, *v;
    size_t i, j;
    if (hy_correct_is_voided(rec))
        return 0;
    json_array_foreach(json_object_get(rec, "participant_ids"), i, p) {
        bool seen = false;
        json_array_foreach(set, j, v) seen = seen || json_equal(v, p);
        if (!seen && json_array_append(set, p) != 0)
            return ENOMEM;
    }
    return 0;
}

int microfund_training_void(hy_ctx_t *ctx, const char *id, const char *number,
                            const char *reason, json_t **out)
{
    mf_fund_t fund;
    json_t *rec = NULL, *data = NULL, *set = NULL;
    int status = microfund_fund_open(ctx, id, &fund);
    if (status)
        return status;
    uint64_t n = 0;
    bool valid = number && *number && strlen(number) <= 18;
    for (const char *p = number; valid && *p; p++) {
        valid = *p >= '0' && *p <= '9';
        n = n * 10 + (uint64_t)(*p - '0');
    }
    uint8_t key[16];
    hy_key_u64(fund.n, key);
    hy_key_u64(n, key + 8);
    MDB_dbi db = microfund_state(ctx)->trainings;
    int rc = valid && n ? hy_store_get_json(ctx->txn, db, key, sizeof key, &rec) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        status = hy_fail(ctx, 404, "not_found", "number", "%s has no training number %s", id,
                         number ? number : "");
    else if (rc)
        status = hy_fail_mdb(ctx, rc);
    else {
        json_object_set_new(rec, "id", json_string(fund.id));   /* the event names the fund */
        status = hy_correct_void(ctx, rec, reason, &data);
        json_object_del(rec, "id");
        json_object_del(json_object_get(data, "before"), "id");
    }
    if (!status && (rc = hy_store_put_json(ctx->txn, db, key, sizeof key, rec)) == 0 &&
        (set = json_array()) != NULL &&
        (rc = microfund_scan(ctx, db, fund.n, NULL, 0, s_trained_each, set)) == 0) {
        json_object_set(fund.rec, "trained_person_ids", set);
        json_object_set(data, "number", json_object_get(rec, "number"));
        if ((status = microfund_fund_save(ctx, &fund)) == 0)
            status = microfund_emit(ctx, &fund, "microfund.training_voided", NULL,
                                    json_incref(data));
    } else if (!status)
        status = hy_fail_mdb(ctx, rc ? rc : ENOMEM);
    if (!status)
        *out = json_incref(rec);
    json_decref(set);
    json_decref(data);
    json_decref(rec);
    microfund_fund_close(&fund);
    return status ? status : 0;
}
