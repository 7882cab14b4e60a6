/*
 * merge.c — two registry records of one woman become one (registry.person.merged {id, into}):
 * every reference the micro-fund holds to the retired id now names the surviving one.
 *
 * In each fund: the facilitator; the membership (person_id becomes `into`, and `merged_from`
 * keeps the retired id, so her passbook still reads the meeting lines recorded under it; when
 * both records were members of one fund, the retired membership's shares and savings join the
 * surviving one and it is kept as status "merged" with merged_into); and the fund's loans, as
 * borrower and as guarantor. Each fund changed emits microfund.member_merged {person_id,
 * from_person_id}. The retired id is refused from then on (422 merged_person with merged_into;
 * meta "merged:<id>", persons.c). Applied in the registry cursor's transaction, so a replay changes nothing
 * (a second pass finds nothing under the retired id).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "microfund.h"

/* Appends id to the member's merged_from. */
static void s_merged_from(json_t *member, const char *id)
{
    json_t *arr = json_object_get(member, "merged_from");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(member, "merged_from", arr);
    }
    json_array_append_new(arr, json_string(id));
}

/* Re-points the fund's record; *changed says whether anything named gone. 0 or a status. */
static int s_fund(hy_ctx_t *ctx, mf_fund_t *fund, const char *gone, const char *into,
                  bool *changed)
{
    const char *fac = json_string_value(json_object_get(fund->rec, "facilitator_person_id"));
    if (fac && strcmp(fac, gone) == 0) {
        json_object_set_new(fund->rec, "facilitator_person_id", json_string(into));
        *changed = true;
    }
    json_t *old = microfund_member(fund->rec, gone), *keep = microfund_member(fund->rec, into);
    if (!old)
        return 0;
    *changed = true;
    if (!keep) {
        json_object_set_new(old, "person_id", json_string(into));
        s_merged_from(old, gone);
        return 0;
    }
    int status;
    if ((status = microfund_add(ctx, keep, "shares", microfund_int(old, "shares"))) != 0 ||
        (status = microfund_add(ctx, keep, "savings_rials",
                                microfund_int(old, "savings_rials"))) != 0)
        return status;
    if (!json_object_get(keep, "active_loan_id") && json_object_get(old, "active_loan_id"))
        json_object_set(keep, "active_loan_id", json_object_get(old, "active_loan_id"));
    s_merged_from(keep, gone);
    json_object_set_new(old, "status", json_string("merged"));
    json_object_set_new(old, "merged_into", json_string(into));
    json_object_set_new(old, "shares", json_integer(0));
    json_object_set_new(old, "savings_rials", json_integer(0));
    json_object_del(old, "active_loan_id");
    return 0;
}

/* Re-points the fund's loans (borrower, guarantors). 0 or an LMDB error. */
static int s_loans(hy_ctx_t *ctx, uint64_t fund_n, const char *gone, const char *into)
{
    json_t *loans = NULL, *loan, *g;
    size_t i, j;
    int rc = microfund_loans_of(ctx, fund_n, &loans);
    json_array_foreach(loans, i, loan) {
        bool changed = false;
        const char *who = json_string_value(json_object_get(loan, "person_id"));
        if (who && strcmp(who, gone) == 0) {
            json_object_set_new(loan, "person_id", json_string(into));
            changed = true;
        }
        json_array_foreach(json_object_get(loan, "guarantor_ids"), j, g) {
            if (strcmp(json_string_value(g), gone) == 0) {
                json_array_set_new(json_object_get(loan, "guarantor_ids"), j, json_string(into));
                changed = true;
            }
        }
        uint64_t n;
        if (!rc && changed &&
            hy_id_parse("floan", json_string_value(json_object_get(loan, "id")), &n) == 0)
            rc = hy_store_put_id(ctx->txn, microfund_state(ctx)->loans, n, loan);
    }
    json_decref(loans);
    return rc;
}

int microfund_person_merged(hy_ctx_t *ctx, const json_t *data)
{
    microfund_t *st = microfund_state(ctx);
    const char *gone = json_string_value(json_object_get(data, "id"));
    const char *into = json_string_value(json_object_get(data, "into"));
    uint64_t max = 0;
    if (!gone || !into || strcmp(gone, into) == 0)
        return 0;
    char key[64];
    int klen = snprintf(key, sizeof key, "merged:%s", gone);
    json_t *mark = json_pack("{s:s}", "into", into);   /* refuses the old id from now on */
    int rc = mark && klen > 0 && (size_t)klen < sizeof key
                 ? hy_store_put_json(ctx->txn, st->meta, key, (size_t)klen, mark)
                 : 0;
    json_decref(mark);
    if (rc == 0)
        rc = hy_store_counter(ctx->txn, st->meta, "fund", &max);
    for (uint64_t n = 1; rc == 0 && n <= max; n++) {
        mf_fund_t fund = {.n = n};
        bool changed = false;
        rc = hy_store_get_id(ctx->txn, st->funds, n, &fund.rec);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        fund.id = json_string_value(json_object_get(fund.rec, "id"));
        int status = rc ? 0 : s_fund(ctx, &fund, gone, into, &changed);
        if (status)
            rc = ctx->mdb_rc ? ctx->mdb_rc : EOVERFLOW;
        else if (!rc && changed &&
                 ((status = microfund_fund_save(ctx, &fund)) != 0 ||
                  (status = microfund_emit(ctx, &fund, "microfund.member_merged", NULL,
                                           json_pack("{s:s,s:s,s:O}", "person_id", into,
                                                     "from_person_id", gone, "date",
                                                     json_object_get(data, "date")
                                                         ? json_object_get(data, "date")
                                                         : json_null()))) != 0))
            rc = ctx->mdb_rc ? ctx->mdb_rc : ENOMEM;
        if (!rc && changed)
            rc = s_loans(ctx, n, gone, into);
        microfund_fund_close(&fund);
    }
    return rc;
}
