/*
 * render_html.c — the six-month report as the page staff print and send to the provincial
 * social-affairs office: one standalone right-to-left Persian HTML document, no external
 * resource (fonts, scripts, images), print-friendly (A4, no background colours needed).
 *
 * It shows the period with its Jalali dates, the office by its Persian name, the date it was
 * made, an "interim" banner while the half is in progress, one sentence saying how current the
 * figures are, every indicator with its Persian label and its value in Persian digits (money in
 * whole toman, ratios as rounded percentages) beside the previous half's and the office's
 * target, sections by neighbourhood, field, sex and network, three simple inline SVG bar charts
 * (meetings by kind; loans disbursed, outstanding and at risk; insurance requests and
 * confirmations) and a signature block (prepared by, approved by, dates).
 *
 * Every figure sits in an element carrying data-indicator="<name>" and data-value="<the JSON
 * value>" (empty when there is none) so that a test, or another program, can read the page and
 * compare it with the JSON report.
 */
#include <stdio.h>
#include <string.h>

#include "fa.h"
#include "reporting.h"

#define TEHRAN_OFFSET 12600   /* +03:30 */

/* A Persian font stack: Vazirmatn where installed, else the farsiweb fonts Debian ships
 * (fonts-farsiweb: Nazli, Homa), then Noto Naskh Arabic and DejaVu Sans. */
static const char s_style[] =
    "body{font-family:Vazirmatn,Nazli,Homa,'Noto Naskh Arabic','DejaVu Sans',Tahoma,sans-serif;"
    "margin:1.5cm;color:#111;line-height:1.6}"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em;"
    "border-bottom:1px solid #888}"
    "table{border-collapse:collapse;width:100%;table-layout:auto}"
    "th,td{border:1px solid #999;padding:3px 6px;vertical-align:top}"
    "th{background:#eee;text-align:right}"
    "td.v{text-align:left;white-space:nowrap;font-variant-numeric:tabular-nums;direction:rtl}"
    "td.prev,td.goal{color:#444}"
    ".meta{margin:.2em 0}.charts svg{display:block;margin:.5em 0;max-width:100%;height:auto}"
    ".banner{border:2px solid #a33;color:#a33;padding:.4em .8em;margin:.6em 0;font-weight:bold}"
    ".fresh{margin:.8em 0}.unit{color:#444;font-size:.9em}"
    ".sign td{height:4.5em;width:50%}"
    "@page{size:A4;margin:1.5cm}@media print{body{margin:0}h2{page-break-after:avoid}"
    "tr,svg,.sign{page-break-inside:avoid}}";

/* The value of one indicator as people read it: count, whole toman or rounded percentage; a
 * dash when none. */
static void s_value_text(rp_buf_t *b, const rp_indicator_t *ind, const json_t *v)
{
    if (!json_is_integer(v)) {
        hy_buf_add(b, "—");
        return;
    }
    int64_t x = json_integer_value(v);
    if (ind->unit == RP_RIALS)
        rp_buf_fa_toman(b, x);
    else if (ind->unit == RP_BP)
        rp_buf_fa_bp(b, x);
    else
        rp_buf_fa_int(b, x);
}

/* Every indicator with its label, its value (with its data attributes), the previous half's
 * value and the office's target. */
static void s_table(rp_buf_t *b, const json_t *report)
{
    const json_t *figures = json_object_get(report, "indicators");
    const json_t *prev = json_object_get(json_object_get(report, "previous"), "indicators");
    const json_t *targets = json_object_get(report, "targets");
    hy_buf_add(b, "<h2>شاخص‌ها</h2><p class=\"unit\">مبالغ به تومان است.</p><table><thead><tr>"
                  "<th>شاخص</th><th>این دوره</th><th>نیمه قبل</th><th>هدف دفتر</th></tr></thead><tbody>");
    for (size_t i = 0; i < rp_nindicators; i++) {
        const rp_indicator_t *ind = &rp_indicators[i];
        json_t *v = json_object_get(figures, ind->name), *t = json_object_get(targets, ind->name);
        hy_buf_add(b, "<tr><td>");
        rp_buf_html(b, ind->label_fa);
        hy_buf_addf(b, "</td><td class=\"v\" data-indicator=\"%s\" data-value=\"", ind->name);
        if (json_is_integer(v))
            hy_buf_addf(b, "%lld", (long long)json_integer_value(v));
        hy_buf_add(b, "\">");
        s_value_text(b, ind, v);
        hy_buf_addf(b, "</td><td class=\"v prev\" data-previous=\"%s\">", ind->name);
        s_value_text(b, ind, json_object_get(prev, ind->name));
        hy_buf_addf(b, "</td><td class=\"v goal\" data-target=\"%s\">", ind->name);
        s_value_text(b, ind, t);
        hy_buf_add(b, "</td></tr>");
    }
    hy_buf_add(b, "</tbody></table>");
}

/* A group key as people read it: Persian field and sex names, "شبکه N", "نامشخص". */
static void s_key_text(rp_buf_t *b, const char *dim, const char *key)
{
    static const char *const fa[][2] = {
        {"agriculture", "کشاورزی"}, {"industry", "صنعت"}, {"handicrafts", "صنایع دستی"},
        {"services", "خدمات"}, {"female", "زن"}, {"male", "مرد"},
    };
    if (!key) {
        hy_buf_add(b, "نامشخص");
        return;
    }
    for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++)
        if (strcmp(fa[i][0], key) == 0) {
            hy_buf_add(b, fa[i][1]);
            return;
        }
    if (strcmp(dim, "network") == 0 && strncmp(key, "net_", 4) == 0) {
        hy_buf_add(b, "شبکه ");
        rp_buf_fa_text(b, key + 4);
        return;
    }
    rp_buf_html(b, key);
}

/* One section: a few key figures per group of a breakdown. */
static void s_section(rp_buf_t *b, const char *dim, const char *title, const json_t *groups)
{
    static const char *const cols[][2] = {
        {"beneficiaries_new", "ثبت‌نام جدید"}, {"people_counselled", "مشاوره (نفر)"},
        {"jobs_created", "اشتغال (نفر)"}, {"people_with_loans", "وام‌گیرنده (نفر)"},
        {"loans_disbursed_rials", "وام پرداختی"},
    };
    if (!json_array_size(groups))
        return;
    hy_buf_addf(b, "<h2>%s</h2><table data-section=\"%s\"><thead><tr><th></th>", title, dim);
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        hy_buf_addf(b, "<th>%s</th>", cols[c][1]);
    hy_buf_add(b, "</tr></thead><tbody>");
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        hy_buf_add(b, "<tr><td>");
        s_key_text(b, dim, hy_json_str(g, "key"));
        hy_buf_add(b, "</td>");
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            json_t *v = json_object_get(json_object_get(g, "indicators"), cols[c][0]);
            hy_buf_add(b, "<td class=\"v\">");
            if (c == 4)
                rp_buf_fa_toman(b, json_integer_value(v));
            else
                rp_buf_fa_int(b, json_integer_value(v));
            hy_buf_add(b, "</td>");
        }
        hy_buf_add(b, "</tr>");
    }
    hy_buf_add(b, "</tbody></table>");
}

/* Referrals by agency: one figure per agency. */
static void s_agencies(rp_buf_t *b, const json_t *groups)
{
    size_t i;
    json_t *g;
    if (!json_array_size(groups))
        return;
    hy_buf_add(b, "<h2>معرفی‌شدگان به تفکیک نهاد معرف</h2><table data-section=\"agency\"><thead><tr>"
                  "<th></th><th>معرفی‌شدگان</th></tr></thead><tbody>");
    json_array_foreach(groups, i, g) {
        hy_buf_add(b, "<tr><td>");
        rp_buf_html(b, hy_json_str(g, "key") ? hy_json_str(g, "key") : "");
        hy_buf_add(b, "</td><td class=\"v\">");
        rp_buf_fa_int(b, json_integer_value(json_object_get(json_object_get(g, "indicators"), "referrals_by_agency")));
        hy_buf_add(b, "</td></tr>");
    }
    hy_buf_add(b, "</tbody></table>");
}

static void s_sections(rp_buf_t *b, const json_t *sections)
{
    s_agencies(b, json_object_get(sections, "agency"));
    s_section(b, "neighbourhood", "به تفکیک محله", json_object_get(sections, "neighbourhood"));
    s_section(b, "field", "به تفکیک حوزه فعالیت", json_object_get(sections, "field"));
    s_section(b, "sex", "به تفکیک جنسیت", json_object_get(sections, "sex"));
    s_section(b, "network", "به تفکیک شبکه", json_object_get(sections, "network"));
}

typedef struct {
    const char *name;   /* indicator */
    const char *label;  /* bar label */
} s_bar_t;

/* A horizontal bar chart, bars growing leftwards from the labels on the right. Text runs right
 * to left: x is where a text begins, its right edge (text-anchor start in an rtl context). */
static void s_chart(rp_buf_t *b, const char *title, const json_t *figures, const s_bar_t *bars,
                    int n)
{
    const int width = 640, row = 34, label_w = 190, bar_max = 300;
    int64_t max = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = json_integer_value(json_object_get(figures, bars[i].name));
        max = v > max ? v : max;
    }
    hy_buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" role=\"img\" direction=\"rtl\" style=\"direction:rtl\" "
                   "aria-label=\"",
                width, row * n + 40, width, row * n + 40);
    rp_buf_html(b, title);
    hy_buf_addf(b, "\"><text x=\"%d\" y=\"20\" text-anchor=\"start\" font-size=\"15\" "
                   "font-weight=\"bold\">", width - 4);
    rp_buf_html(b, title);
    hy_buf_add(b, "</text>");
    for (int i = 0; i < n; i++) {
        const rp_indicator_t *ind = NULL;
        for (size_t k = 0; k < rp_nindicators; k++)
            if (strcmp(rp_indicators[k].name, bars[i].name) == 0)
                ind = &rp_indicators[k];
        json_t *v = json_object_get(figures, bars[i].name);
        int64_t x = json_integer_value(v);
        int len = max > 0 && x > 0 ? (int)((__int128)x * bar_max / max) : 0;
        int y = 36 + i * row, right = width - label_w;
        hy_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\" font-size=\"13\">", width - 4,
                    y + 15);
        rp_buf_html(b, bars[i].label);
        hy_buf_addf(b, "</text><rect data-chart=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                       "fill=\"#4a6fa5\"/>",
                    bars[i].name, right - len, y, len > 0 ? len : 1, row - 10);
        hy_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\" font-size=\"12\">",
                    right - len - 6, y + 15);
        if (ind)
            s_value_text(b, ind, v);
        hy_buf_add(b, "</text>");
    }
    hy_buf_add(b, "</svg>");
}

/* Meetings by kind, loans disbursed / outstanding / at risk, insurance requests / confirmations. */
static void s_charts(rp_buf_t *b, const json_t *figures)
{
    static const s_bar_t meetings[] = {{"meetings_working_group", "کارگروه"},
                                       {"meetings_steering_council", "شورای راهبری"},
                                       {"meetings_empowerment_group", "گروه توانمندسازی"}};
    static const s_bar_t loans[] = {{"loans_disbursed_rials", "پرداخت‌شده در دوره"},
                                    {"loans_outstanding_rials", "مانده در پایان دوره"},
                                    {"par30_rials", "در معرض ریسک"}};
    static const s_bar_t insurance[] = {{"insurance_enrolled", "درخواست واجد شرایط"},
                                        {"insurance_confirmed", "تأییدشده"}};
    hy_buf_add(b, "<h2>نمودارها</h2><div class=\"charts\">");
    s_chart(b, "جلسات به تفکیک نوع", figures, meetings, 3);
    s_chart(b, "وام‌ها (تومان)", figures, loans, 3);
    s_chart(b, "بیمه", figures, insurance, 2);
    hy_buf_add(b, "</div>");
}

/* The Jalali date and Tehran time of an event time, in Persian digits. */
static void s_when(rp_buf_t *b, const char *time)
{
    int64_t t;
    char iso[11], hm[8];
    if (!rp_time_unix(time, &t)) {
        hy_buf_add(b, "—");
        return;
    }
    hy_date_today(t, iso);
    rp_buf_fa_jalali(b, iso);
    int64_t s = ((t + TEHRAN_OFFSET) % 86400 + 86400) % 86400;
    snprintf(hm, sizeof hm, " %02d:%02d", (int)(s / 3600), (int)(s / 60 % 60));
    hy_buf_add(b, " ساعت ");
    rp_buf_fa_text(b, hm + 1);
}

/* How current the figures are, in one Persian sentence: the latest event applied. */
static void s_freshness(rp_buf_t *b, const json_t *as_of)
{
    const char *latest = rp_latest_time(as_of);
    hy_buf_add(b, "<p class=\"fresh\">");
    if (!*latest) {
        hy_buf_add(b, "هنوز هیچ داده‌ای از سامانه‌ها به این گزارش نرسیده است.</p>");
        return;
    }
    hy_buf_add(b, "ارقام این گزارش بر پایه همه داده‌هایی است که تا ");
    s_when(b, latest);
    hy_buf_add(b, " از سامانه‌های ثبت ذی‌نفعان، وام، شبکه‌ها، صندوق‌ها و بیمه رسیده است.</p>");
}

/* Prepared by, approved by, with their dates. */
static void s_signatures(rp_buf_t *b)
{
    hy_buf_add(b, "<h2>تأیید</h2><table class=\"sign\"><tr>"
                  "<td>تهیه‌کننده: نام و نام خانوادگی، سمت، امضا<br>تاریخ:</td>"
                  "<td>تأییدکننده: نام و نام خانوادگی، سمت، امضا<br>تاریخ:</td></tr></table>");
}

/* Title, period with its Jalali dates, filter and the date the report was made. */
static void s_header(rp_buf_t *b, const json_t *report, const char *today)
{
    int half = (int)hy_json_int(report, "half", 0);
    const char *half_fa = half == 1 ? "نیمه اول" : "نیمه دوم";
    hy_buf_addf(b, "<h1>گزارش ارزیابی شش‌ماهه دفاتر تسهیلگری و توسعه محلی</h1>"
                   "<p class=\"meta\" data-year=\"%d\" data-half=\"%d\">دوره: %s سال ",
                (int)hy_json_int(report, "year", 0), half, half_fa);
    rp_buf_fa_plain(b, hy_json_int(report, "year", 0));
    hy_buf_add(b, " (از ");
    rp_buf_fa_jalali(b, hy_json_str(report, "from"));
    hy_buf_add(b, " تا ");
    rp_buf_fa_jalali(b, hy_json_str(report, "to"));
    hy_buf_add(b, ")</p><p class=\"meta\">دفتر: ");
    rp_buf_html(b, hy_json_str(report, "office_name") ? hy_json_str(report, "office_name") : "همه دفاتر");
    hy_buf_add(b, " — محله: ");
    rp_buf_html(b, hy_json_str(report, "neighbourhood") ? hy_json_str(report, "neighbourhood") : "همه محله‌ها");
    hy_buf_add(b, "</p><p class=\"meta\">تاریخ تهیه گزارش: ");
    rp_buf_fa_jalali(b, today);
    hy_buf_add(b, "</p>");
    if (json_is_true(json_object_get(report, "interim"))) {
        hy_buf_add(b, "<div class=\"banner\" data-interim=\"true\">گزارش موقت: این نیمه هنوز به پایان "
                      "نرسیده است و ارقام تا ");
        rp_buf_fa_jalali(b, hy_json_str(report, "cut"));
        hy_buf_add(b, " را در بر می‌گیرد.</div>");
    }
}

char *rp_render_html(const json_t *report, const char *today)
{
    rp_buf_t b = {0};
    const json_t *figures = json_object_get(report, "indicators");
    hy_buf_add(&b, "<!DOCTYPE html>\n<html dir=\"rtl\" lang=\"fa\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width\"><title>گزارش ارزیابی شش‌ماهه ");
    rp_buf_fa_plain(&b, hy_json_int(report, "year", 0));
    hy_buf_addf(&b, "</title><style>%s</style></head><body>", s_style);
    s_header(&b, report, today);
    s_freshness(&b, json_object_get(report, "as_of"));
    s_table(&b, report);
    s_sections(&b, json_object_get(report, "sections"));
    s_charts(&b, figures);
    s_signatures(&b);
    hy_buf_add(&b, "</body></html>\n");
    return hy_buf_take(&b, NULL);
}
