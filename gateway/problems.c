/*
 * problems.c — the problem types (RFC 9457): one stable relative URI per code,
 * /v1/problems/<code>, a page there that explains it, and the Persian texts for clients that
 * ask for them with Accept-Language: fa.
 *
 * The title of a problem is its type's (the same for every occurrence, as RFC 9457 means it);
 * the detail is the occurrence's. In Persian the title comes from the table below and the
 * detail is built from it and the field; the service's English sentence stays in detail_en.
 * Every code a service can answer with has a row (tests/integration/test_gateway_http.py
 * finds the codes in the sources and checks).
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

typedef struct {
    const char *code;
    int status;
    const char *title_fa;
} s_type_t;

/* Sorted by code (bsearch). */
static const s_type_t s_types[] = {
    {"absent_saver", 422, "پس‌انداز عضو غایب"},
    {"active_guarantee", 422, "ضمانت فعال"},
    {"active_loan_exists", 422, "وام فعال دیگری هست"},
    {"already_enrolled", 422, "پیش‌تر ثبت‌نام شده"},
    {"already_head", 422, "پیش‌تر سرپرست خانوار است"},
    {"already_in_household", 409, "پیش‌تر عضو خانواری است"},
    {"already_left", 409, "پیش‌تر خارج شده"},
    {"already_member", 409, "پیش‌تر عضو است"},
    {"already_paid", 409, "پیش‌تر پرداخت شده"},
    {"already_resolved", 409, "پیش‌تر رسیدگی شده"},
    {"amount_too_large", 422, "مبلغ بیش از حد"},
    {"appraisal_negative", 422, "ارزیابی منفی"},
    {"as_of_before_last_run", 422, "تاریخ پیش از آخرین اجرا"},
    {"backup_failed", 422, "پشتیبان‌گیری ناموفق"},
    {"bad_gateway", 502, "پاسخ نادرست سرویس"},
    {"before_joined", 422, "پیش از تاریخ عضویت"},
    {"before_last_activity", 422, "پیش از آخرین فعالیت"},
    {"before_loan_date", 422, "پیش از تاریخ وام"},
    {"before_programme_start", 422, "پیش از آغاز برنامه"},
    {"body_too_large", 413, "بدنهٔ درخواست بیش از حد بزرگ"},
    {"business_not_owned", 422, "کسب‌وکار از آنِ این فرد نیست"},
    {"conflicting_content_length", 400, "سرآیندهای Content-Length ناسازگار"},
    {"contribution_mismatch", 422, "حق بیمهٔ ناهمخوان"},
    {"contributions_overdue", 422, "حق بیمه‌های معوق"},
    {"cycle_closed", 422, "دوره بسته است"},
    {"cycle_open", 422, "دوره باز است"},
    {"date_out_of_order", 422, "تاریخ خارج از ترتیب"},
    {"dependency_unavailable", 503, "سرویس وابسته در دسترس نیست"},
    {"duplicate_agency", 409, "نهاد تکراری"},
    {"duplicate_contribution", 409, "حق بیمهٔ تکراری"},
    {"duplicate_entry", 422, "ردیف تکراری"},
    {"duplicate_insurance_number", 409, "شمارهٔ بیمهٔ تکراری"},
    {"duplicate_item", 422, "قلم تکراری"},
    {"duplicate_licence", 409, "شمارهٔ مجوز تکراری"},
    {"duplicate_meeting", 409, "جلسهٔ تکراری"},
    {"duplicate_national_id", 409, "کد ملی تکراری"},
    {"duplicate_office", 409, "کد دفتر تکراری"},
    {"duplicate_participant", 422, "شرکت‌کنندهٔ تکراری"},
    {"duplicate_product", 409, "محصول تکراری"},
    {"duplicate_reference", 409, "شمارهٔ مرجع تکراری"},
    {"duplicate_referral", 409, "ارجاع تکراری"},
    {"empty_delivery", 422, "تحویل خالی"},
    {"export_too_large", 422, "خروجی بیش از حد بزرگ"},
    {"forbidden", 403, "دسترسی ممنوع"},
    {"fund_full", 422, "صندوق پر است"},
    {"future_date", 422, "تاریخ آینده"},
    {"future_period", 422, "دورهٔ آینده"},
    {"guarantor_capacity", 422, "ظرفیت ضامن پر است"},
    {"guarantor_overdue", 422, "ضامن بدهی معوق دارد"},
    {"guarantors_required", 422, "ضامن لازم است"},
    {"head_leaving", 422, "خروج سرپرست خانوار"},
    {"head_not_registered", 422, "سرپرست خانوار ثبت نشده"},
    {"header_timeout", 408, "سرآیندهای درخواست بیش از حد کند"},
    {"household_conflict", 409, "ناسازگاری خانوار"},
    {"household_dissolved", 409, "خانوار منحل شده"},
    {"idempotency_key_reused", 409, "کلید تکرارناپذیری دوباره به کار رفته"},
    {"immutable_field", 422, "فیلد تغییرناپذیر"},
    {"import_not_receiving", 409, "درون‌بُرد بخش دیگری نمی‌پذیرد"},
    {"inconsistent_household", 422, "خانوار ناسازگار"},
    {"insufficient_cash", 409, "موجودی نقد کافی نیست"},
    {"insufficient_fund_cash", 422, "موجودی نقد صندوق کافی نیست"},
    {"insufficient_network_cash", 422, "موجودی نقد شبکه کافی نیست"},
    {"insufficient_social_fund", 422, "صندوق اجتماعی کافی نیست"},
    {"internal_error", 500, "خطای داخلی"},
    {"invalid_agency_code", 422, "کد نهاد نامعتبر"},
    {"invalid_api_key", 401, "کلید API نامعتبر"},
    {"invalid_birth_date", 422, "تاریخ تولد نامعتبر"},
    {"invalid_body", 400, "بدنهٔ درخواست نامعتبر"},
    {"invalid_cursor", 400, "نشانگر صفحه نامعتبر"},
    {"invalid_cycle", 422, "دورهٔ نامعتبر"},
    {"invalid_data", 422, "دادهٔ نامعتبر"},
    {"invalid_date", 422, "تاریخ نامعتبر"},
    {"invalid_document", 422, "سند نامعتبر"},
    {"invalid_encoding", 422, "رمزگذاری نامعتبر"},
    {"invalid_field", 422, "فیلد نامعتبر"},
    {"invalid_idempotency_key", 400, "کلید تکرارناپذیری نامعتبر"},
    {"invalid_insurance_number", 422, "شمارهٔ بیمهٔ نامعتبر"},
    {"invalid_licence_number", 422, "شمارهٔ مجوز نامعتبر"},
    {"invalid_mobile", 422, "شمارهٔ همراه نامعتبر"},
    {"invalid_month", 422, "ماه نامعتبر"},
    {"invalid_name", 422, "نام نامعتبر"},
    {"invalid_national_id", 422, "کد ملی نامعتبر"},
    {"invalid_neighbourhood", 422, "محلهٔ نامعتبر"},
    {"invalid_office_code", 422, "کد دفتر نامعتبر"},
    {"invalid_parameter", 400, "پارامتر نامعتبر"},
    {"invalid_period", 422, "دورهٔ گزارش نامعتبر"},
    {"invalid_range", 422, "بازهٔ نامعتبر"},
    {"invalid_relationship", 422, "نسبت خانوادگی نامعتبر"},
    {"invalid_social_fund_amount", 422, "مبلغ صندوق اجتماعی نامعتبر"},
    {"invalid_stage_transition", 422, "گذار مرحلهٔ نامجاز"},
    {"invalid_target", 422, "هدف نامعتبر"},
    {"invalid_utf8", 400, "UTF-8 نامعتبر"},
    {"invalid_year", 422, "سال نامعتبر"},
    {"join_before_leave", 422, "پیوستن پیش از خروج"},
    {"leave_before_join", 422, "خروج پیش از پیوستن"},
    {"malformed_json", 400, "JSON نادرست"},
    {"malformed_request", 400, "درخواست نادرست"},
    {"member_left", 409, "عضو خارج شده"},
    {"merge_into_self", 422, "ادغام در خود"},
    {"merged", 409, "ادغام شده"},
    {"merged_person", 422, "فرد ادغام‌شده"},
    {"method_not_allowed", 405, "روش مجاز نیست"},
    {"missing_agency", 422, "نهاد ارجاع‌دهنده نیامده"},
    {"missing_birth_date", 422, "تاریخ تولد نیامده"},
    {"missing_column", 422, "ستون لازم نیامده"},
    {"missing_employer", 422, "کارفرما نیامده"},
    {"missing_field", 400, "فیلد لازم نیامده"},
    {"missing_lead_business", 422, "کسب‌وکار پیشرو نیامده"},
    {"missing_meeting_kind", 422, "نوع جلسه نیامده"},
    {"missing_member", 422, "عضو نیامده"},
    {"missing_network_id", 422, "شناسهٔ شبکه نیامده"},
    {"missing_office", 422, "دفتر نیامده"},
    {"missing_order_id", 422, "شناسهٔ سفارش نیامده"},
    {"missing_participants", 422, "شرکت‌کنندگان نیامده‌اند"},
    {"missing_person_id", 422, "شناسهٔ فرد نیامده"},
    {"missing_reason", 422, "دلیل نیامده"},
    {"missing_relationship", 422, "نسبت خانوادگی نیامده"},
    {"missing_sex", 422, "جنسیت نیامده"},
    {"neighbourhood_not_in_office", 422, "محله در حوزهٔ دفتر نیست"},
    {"network_closed", 409, "شبکه بسته است"},
    {"network_not_active", 409, "شبکه فعال نیست"},
    {"no_items", 422, "بی‌قلم"},
    {"no_participants", 422, "بی‌شرکت‌کننده"},
    {"no_social_fund", 422, "صندوق اجتماعی ندارد"},
    {"no_void_request", 409, "درخواست ابطالی نیست"},
    {"not_a_member", 422, "عضو نیست"},
    {"not_assigned", 422, "واگذار نشده"},
    {"not_eligible_for_product", 422, "شرایط این محصول را ندارد"},
    {"not_found", 404, "یافت نشد"},
    {"not_last_disbursement", 409, "آخرین پرداخت نیست"},
    {"not_overdue", 422, "معوق نیست"},
    {"not_submitted", 403, "ارسال نشده"},
    {"not_yet_received", 503, "هنوز دریافت نشده"},
    {"order_fulfilled", 409, "سفارش انجام شده"},
    {"other_office", 403, "دفتر دیگر"},
    {"outside_cycle", 422, "بیرون از دوره"},
    {"over_approved", 422, "بیش از مبلغ مصوب"},
    {"over_assigned", 422, "بیش از مقدار واگذارشده"},
    {"over_cap", 422, "بیش از سقف"},
    {"over_max_shares", 422, "بیش از بیشینهٔ سهم"},
    {"over_max_term", 422, "بیش از بیشینهٔ مدت"},
    {"over_member_limit", 422, "بیش از سقف اعضا"},
    {"over_order_value", 422, "بیش از ارزش سفارش"},
    {"over_ordered", 422, "بیش از مقدار سفارش"},
    {"over_outstanding", 422, "بیش از مانده"},
    {"over_recommended", 422, "بیش از مبلغ پیشنهادی"},
    {"over_requested", 422, "بیش از مبلغ درخواستی"},
    {"over_term", 422, "بیش از مدت"},
    {"overpayment", 422, "پرداخت بیش از بدهی"},
    {"owner_timeout", 504, "پاسخ ثبت‌کننده دیر رسید"},
    {"owner_unavailable", 503, "ثبت‌کننده در دسترس نیست"},
    {"paid_off_early", 409, "پیش از موعد تسویه شده"},
    {"part_out_of_order", 409, "بخش خارج از ترتیب"},
    {"person_in_other_office", 422, "فرد در دفتر دیگری است"},
    {"person_merged", 422, "فرد ادغام شده"},
    {"person_or_name", 422, "شناسهٔ فرد یا نام لازم است"},
    {"precondition_failed", 412, "پیش‌شرط برقرار نیست"},
    {"product_kind_mismatch", 422, "نوع محصول ناهمخوان"},
    {"product_not_current", 422, "محصول جاری نیست"},
    {"record_too_long", 422, "رکورد بیش از حد بلند"},
    {"repayments_after", 409, "بازپرداخت‌های پس از آن"},
    {"rescheduled_after", 409, "پس از آن امهال شده"},
    {"same_approver", 422, "تصویب‌کنندهٔ یکسان"},
    {"same_office", 422, "همان دفتر"},
    {"self_purchase", 422, "خرید از خود"},
    {"service_busy", 503, "سرویس سرشلوغ است"},
    {"service_timeout", 504, "سرویس به‌موقع پاسخ نداد"},
    {"service_unavailable", 503, "سرویس در دسترس نیست"},
    {"short_fragment", 422, "عبارت جست‌وجو کوتاه است"},
    {"stage_too_early", 422, "مرحله هنوز زود است"},
    {"start_date_out_of_range", 422, "تاریخ آغاز خارج از بازه"},
    {"submission_too_large", 413, "گزارش ارسالی بیش از حد بزرگ است"},
    {"too_deep", 400, "تودرتویی بیش از حد"},
    {"too_many_members", 400, "اعضای بیش از حد"},
    {"tranches_closed", 409, "قسط‌های پرداخت بسته شده"},
    {"unauthenticated", 401, "احراز هویت لازم است"},
    {"unexpected_agency", 422, "نهاد ارجاع‌دهندهٔ نابجا"},
    {"unexpected_meeting_kind", 422, "نوع جلسهٔ نابجا"},
    {"unexpected_network_id", 422, "شناسهٔ شبکهٔ نابجا"},
    {"unexpected_person_id", 422, "شناسهٔ فرد نابجا"},
    {"unknown_agency", 422, "نهاد ناشناخته"},
    {"unknown_business", 422, "کسب‌وکار ناشناخته"},
    {"unknown_buyer", 422, "خریدار ناشناخته"},
    {"unknown_field", 400, "فیلد ناشناخته"},
    {"unknown_figure", 404, "رقم ناشناخته"},
    {"unknown_indicator", 422, "شاخص ناشناخته"},
    {"unknown_item", 422, "قلم ناشناخته"},
    {"unknown_network", 422, "شبکهٔ ناشناخته"},
    {"unknown_office", 422, "دفتر ناشناخته"},
    {"unknown_op", 404, "عملیات ناشناخته"},
    {"unknown_order", 422, "سفارش ناشناخته"},
    {"unknown_parameter", 400, "پارامتر ناشناخته"},
    {"unknown_person", 422, "فرد ناشناخته"},
    {"unknown_product", 422, "محصول ناشناخته"},
    {"unsupported_media_type", 415, "نوع محتوای پشتیبانی‌نشده"},
    {"value_too_large", 422, "مقدار بیش از حد"},
    {"void_pending", 409, "ابطال در انتظار است"},
    {"voided", 409, "باطل شده"},
    {"wrong_office", 403, "دفتر نادرست"},
    {"wrong_state", 409, "وضعیت نادرست"},
};

#define NTYPES (sizeof s_types / sizeof s_types[0])

static int s_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const s_type_t *)elem)->code);
}

static const s_type_t *s_find(const char *code)
{
    return code ? bsearch(code, s_types, NTYPES, sizeof s_types[0], s_cmp) : NULL;
}

bool hy_gw_problem_known(const char *code)
{
    return s_find(code) != NULL;
}

/* What a status family means, in Persian: the second half of a Persian detail. */
static const char *s_status_fa(int status)
{
    switch (status) {
    case 400: return "درخواست را اصلاح کنید و دوباره بفرستید";
    case 401: return "کلید API را با سرآیند Authorization: Bearer بفرستید";
    case 403: return "این کلید اجازهٔ این کار را ندارد";
    case 404: return "چنین منبعی نیست";
    case 405: return "این روش برای این مسیر پذیرفته نیست";
    case 406: return "قالب دیگری بخواهید";
    case 408: return "درخواست را سریع‌تر بفرستید";
    case 409: return "با وضعیت کنونی داده‌ها ناسازگار است";
    case 412: return "منبع پس از خواندن شما تغییر کرده است؛ دوباره بخوانید و با ETag تازه بفرستید";
    case 413: return "بدنهٔ درخواست را کوچک‌تر کنید";
    case 415: return "بدنه باید JSON باشد";
    case 422: return "مقدار با قواعد برنامه سازگار نیست";
    case 502: case 503: case 504: return "کمی بعد دوباره تلاش کنید";
    default: return status >= 500 ? "خطای سرور؛ کمی بعد دوباره تلاش کنید"
                                  : "درخواست پذیرفته نشد";
    }
}

/* One language range's quality ("fa-IR;q=0.8" -> 0.8); *tag gets the range, *n its length. */
static double s_range(const char *p, size_t len, const char **tag, size_t *n)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    size_t t = 0;
    while (t < len && p[t] != ';' && p[t] != ' ')
        t++;
    *tag = p;
    *n = t;
    double q = 1.0;
    for (size_t i = t; i + 2 < len; i++)
        if ((p[i] == 'q' || p[i] == 'Q') && p[i + 1] == '=') {
            char buf[16];
            size_t m = len - i - 2 < sizeof buf - 1 ? len - i - 2 : sizeof buf - 1;
            memcpy(buf, p + i + 2, m);
            buf[m] = '\0';
            q = strtod(buf, NULL);
            break;
        }
    return q;
}

static bool s_lang_is(const char *tag, size_t n, const char *lang)
{
    size_t l = strlen(lang);
    return n >= l && strncasecmp(tag, lang, l) == 0 && (n == l || tag[l] == '-');
}

bool hy_gw_prefers_fa(const char *accept_language)
{
    double fa = -1, other = -1;
    for (const char *p = accept_language; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *tag;
        size_t n;
        double q = s_range(p, len, &tag, &n);
        if (s_lang_is(tag, n, "fa") || s_lang_is(tag, n, "per")) {
            if (q > fa)
                fa = q;
        } else if (!(n == 1 && tag[0] == '*') && q > other) {
            other = q;   /* a wildcard says nothing between the two: English stays the default */
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return fa > 0 && fa > other;
}

int hy_gw_problem_translate(json_t *problem)
{
    const char *code = json_string_value(json_object_get(problem, "code"));
    const s_type_t *t = s_find(code);
    const char *field = json_string_value(json_object_get(problem, "field"));
    int status = (int)json_integer_value(json_object_get(problem, "status"));
    char detail[1024];
    const char *title = t ? t->title_fa : "خطا";
    if (field && *field)
        snprintf(detail, sizeof detail, "%s (فیلد «%s»)؛ %s.", title, field, s_status_fa(status));
    else
        snprintf(detail, sizeof detail, "%s؛ %s.", title, s_status_fa(status));
    json_t *en = json_object_get(problem, "detail");
    if ((json_is_string(en) && json_string_length(en) &&
         json_object_set(problem, "detail_en", en) != 0) ||
        json_object_set_new(problem, "title", json_string(title)) != 0 ||
        json_object_set_new(problem, "detail", json_string(detail)) != 0)
        return -1;
    return 0;
}

/* The description of one type: code, type, status, title and the Persian texts. */
static json_t *s_describe(const s_type_t *t)
{
    char type[96], detail[512];
    snprintf(type, sizeof type, "/v1/problems/%s", t->code);
    snprintf(detail, sizeof detail, "%s؛ %s.", t->title_fa, s_status_fa(t->status));
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "code", t->code, "type", type, "status",
                     t->status, "title", hy_proto_title(t->code), "title_fa", t->title_fa,
                     "detail_fa", detail);
}

json_t *hy_gw_problem_types(void)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < NTYPES; i++)
        if (json_array_append_new(items, s_describe(&s_types[i])) != 0) {
            json_decref(items);
            return NULL;
        }
    return items ? json_pack("{s:o}", "items", items) : NULL;
}

json_t *hy_gw_problem_type(const char *code)
{
    const s_type_t *t = s_find(code);
    return t ? s_describe(t) : NULL;
}

/* Appends text to buf escaped for HTML. */
static size_t s_html(char *buf, size_t size, size_t used, const char *text)
{
    for (const char *p = text; *p && used + 8 < size; p++) {
        const char *e = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : NULL;
        if (e) {
            memcpy(buf + used, e, strlen(e));
            used += strlen(e);
        } else {
            buf[used++] = *p;
        }
    }
    buf[used] = '\0';
    return used;
}

char *hy_gw_problem_page(const char *code, bool fa, size_t *len)
{
    const s_type_t *t = s_find(code);
    if (!t)
        return NULL;
    size_t size = 4096, used = 0;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    char head[1024];
    snprintf(head, sizeof head,
             "<!doctype html>\n<html lang=\"%s\" dir=\"%s\"><head><meta charset=\"utf-8\">"
             "<title>", fa ? "fa" : "en", fa ? "rtl" : "ltr");
    memcpy(buf, head, strlen(head) + 1);
    used = strlen(head);
    used = s_html(buf, size, used, fa ? t->title_fa : hy_proto_title(t->code));
    char mid[1536];
    snprintf(mid, sizeof mid,
             "</title></head><body><h1>%s</h1><p><code>%s</code> — HTTP %d</p><p>%s؛ %s.</p>"
             "<p>A problem document (application/problem+json) with <code>\"code\": \"%s\"</code> "
             "has <code>\"type\": \"/v1/problems/%s\"</code>, the title above, and a "
             "<code>detail</code> that says what was wrong with this request; <code>field</code> "
             "names the offending member when there is one. Send <code>Accept-Language: fa</code> "
             "for the title and detail in Persian.</p></body></html>\n",
             fa ? t->title_fa : hy_proto_title(t->code), t->code, t->status, t->title_fa,
             s_status_fa(t->status), t->code, t->code);
    size_t m = strlen(mid);
    if (used + m + 1 > size) {
        free(buf);
        return NULL;
    }
    memcpy(buf + used, mid, m + 1);
    *len = used + m;
    return buf;
}
