/*
 * corrections.c — correcting an enrolment whose request details were wrong (issue 15; the
 * bookkeeping is shared/correct.h's).
 *
 * While an enrolment is requested or approved it is the office's own: its business, field and
 * start date may be corrected, with a reason, under exactly the rules of a request (the
 * start-date window, the business owned, the field the business's, the age at the new start
 * date). Once submitted it is the fund's to judge, and a correction is 409 wrong_state: the
 * office cancels and requests again, as the fund's process expects. The enrolment keeps
 * corrected_by, corrected_at and correction_reason; insurance.enrolment.corrected carries the
 * enrolment's fund fields after, and "before" (business_id, field, start date) and the reason,
 * so the fund's consumer and reporting undo the old version and apply the new one.
 */
#include <string.h>

#include "correct.h"
#include "fa.h"
#include "insurance.h"
#include "json.h"

static const char *const s_fields[] = {"business_id", "field", "start_date"};

int insurance_enrolment_correct(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    json_t *old = NULL, *after = NULL, *asked = NULL, *person = NULL, *data = NULL;
    json_t *extra = NULL;
    uint64_t n;
    int status = insurance_load_writable(ctx, id, &n, &old);
    if (status)
        return status;
    const char *st = hy_json_str(old, "status");
    if (!st || (strcmp(st, INS_REQUESTED) != 0 && strcmp(st, INS_APPROVED) != 0)) {
        status = insurance_wrong_state(ctx, old, "corrected (it was handed to the fund)");
        goto done;
    }
    asked = json_pack("{s:O}", "person_id", json_object_get(old, "person_id"));
    for (size_t i = 0; asked && i < sizeof s_fields / sizeof s_fields[0]; i++) {
        json_t *v = json_object_get(args, s_fields[i]);
        json_object_set(asked, s_fields[i], v ? v : json_object_get(old, s_fields[i]));
    }
    if (!asked || !(after = json_deep_copy(old))) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    if ((status = insurance_enrolment_judge(ctx, asked, &person)) != 0)
        goto done;
    json_object_update(after, asked);
    hy_spec_set_jalali(after, "start_date");
    json_object_set_new(after, "age_at_start",
                        json_integer(hy_age_on_jalali(hy_json_str(person, "birth_date"),
                                                      hy_json_str(after, "start_date"))));
    data = hy_correct_data(ctx, old, after, hy_json_str(args, "reason"));
    json_t *before = json_pack("{s:O,s:O,s:O,s:O*}", "business_id",
                               json_object_get(old, "business_id"), "field",
                               json_object_get(old, "field"), "start_date",
                               json_object_get(old, "start_date"), "start_date_jalali",
                               json_object_get(old, "start_date_jalali"));
    extra = data && before ? json_pack("{s:o,s:O}", "before", before, "reason",
                                       json_object_get(data, "reason"))
                           : NULL;
    if (!extra) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    if ((status = insurance_save(ctx, n, old, after, "corrected", extra)) == 0)
        *out = json_incref(after);
done:
    json_decref(old);
    json_decref(after);
    json_decref(asked);
    json_decref(person);
    json_decref(data);
    json_decref(extra);
    return status;
}
