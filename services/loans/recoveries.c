/*
 * recoveries.c — money recovered on a loan after it was written off (Fineract's "recovery
 * payment"). A written-off loan stays written off: nothing is owed on its books any more, and a
 * recovery is recorded beside it, never allocated to installments. What may be recovered in all
 * is what the write-off took off the books (principal plus fee: 422 over_outstanding beyond
 * it). A recovery is dated on or after the write-off and the previous recovery (422
 * date_out_of_order), never after today (422 future_date); a reference already recorded among
 * the loan's recoveries is 409 duplicate_reference. The portfolio reports recovered_rials (by
 * as_of) beside written_off_rials.
 */
#include <string.h>

#include "loans.h"

/* The last date of the write-off and its recoveries. */
static const char *s_last_date(const json_t *loan)
{
    json_t *recs = json_object_get(loan, "recoveries");
    const char *last = hy_json_str(json_array_get(recs, json_array_size(recs) - 1), "date");
    return last ? last : hy_json_str(json_object_get(loan, "write_off"), "date");
}

/* POST /v1/loans/{id}/recoveries. */
int loans_loan_recover(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    json_t *loan = NULL;
    uint64_t n;
    int64_t day, amount = hy_json_int(args, "amount_rials", 0);
    char date[11];
    const char *reference = hy_json_str(args, "reference");
    int old, status = loans_load_in(ctx, args, 1u << LOANS_WRITTEN_OFF, "recovered", &n, &loan,
                                    &old);
    if (status)
        return status;
    const json_t *wo = json_object_get(loan, "write_off");
    const char *last = s_last_date(loan);
    int64_t lost = hy_json_int(wo, "principal_rials", 0) + hy_json_int(wo, "fee_rials", 0);
    int64_t before = hy_json_int(loan, "recovered_rials", 0), total;
    if ((status = loans_arg_date(ctx, args, "date", &day, date)) != 0)
        goto fail;
    if (last && strcmp(date, last) < 0) {
        status = hy_fail(ctx, 422, "date_out_of_order", "date",
                         "%s is before the loan's last recorded date %s", date, last);
        goto fail;
    }
    if ((status = loans_check_reference(ctx, loan, "recoveries", "recovery", reference)) != 0)
        goto fail;
    if (__builtin_add_overflow(before, amount, &total) || total > lost) {
        status = hy_fail(ctx, 422, "over_outstanding", "amount_rials",
                         "%lld rials would recover more than the %lld rials written off "
                         "(%lld recovered already)",
                         (long long)amount, (long long)lost, (long long)before);
        hy_fail_extra(ctx, "outstanding_rials", json_integer(lost - before));
        goto fail;
    }
    json_t *rec = json_pack("{s:I}", "amount_rials", (json_int_t)amount);
    loans_set_date(rec, "date", date);
    if (reference && *reference)
        json_object_set_new(rec, "reference", json_string(reference));
    loans_append(loan, "recoveries", json_deep_copy(rec));
    json_object_set_new(loan, "recovered_rials", json_integer(total));
    json_object_set_new(rec, "recovered_rials", json_integer(total));
    return loans_commit(ctx, n, old, loan, "recovery_recorded", rec, out);
fail:
    json_decref(loan);
    return status;
}
