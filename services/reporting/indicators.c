/*
 * indicators.c — the indicator table (what the report shows, in order, with Persian labels)
 * and the figures of a period for one dimension value, derived from the counters.
 *
 * An indicator is a flow (summed over the period's days), a stock (summed over every day up to
 * the period's last: what is outstanding or active at its end), a distinct count of people
 * (distinct.c: exact for any period) or a ratio in basis
 * points of two of those (floor; 0 when the denominator is 0). aggregates.c says what each
 * one counts.
 */
#include <string.h>

#include "reporting.h"

const rp_indicator_t rp_indicators[] = {
    {"beneficiaries_total", "ذی‌نفعان در پایگاه داده", RP_STOCK, RP_COUNT, RP_S_BENEFICIARIES, 0, false},
    {"beneficiaries_new", "ذی‌نفعان ثبت‌شده در دوره", RP_FLOW, RP_COUNT, RP_S_BENEFICIARIES, 0, false},
    {"meetings_working_group", "جلسات کارگروه", RP_FLOW, RP_COUNT, RP_S_MEET_WG, 0, false},
    {"meetings_steering_council", "جلسات شورای راهبری", RP_FLOW, RP_COUNT, RP_S_MEET_SC, 0, false},
    {"meetings_empowerment_group", "جلسات گروه توانمندسازی", RP_FLOW, RP_COUNT, RP_S_MEET_EG, 0, false},
    {"classes", "کلاس‌های آموزشی، مهارتی و فرهنگی", RP_FLOW, RP_COUNT, RP_S_CLASSES, 0, false},
    {"people_with_loans", "افراد دریافت‌کننده وام", RP_DISTINCT, RP_COUNT, RP_S_PEOPLE_LOANS, 0, false},
    {"jobs_created", "افراد دارای اشتغال ایجادشده", RP_DISTINCT, RP_COUNT, RP_S_JOBS_PEOPLE, 0, false},
    {"job_records", "سوابق اشتغال ایجادشده", RP_FLOW, RP_COUNT, RP_S_JOBS, 0, false},
    {"people_counselled", "افراد مشاوره‌گرفته", RP_DISTINCT, RP_COUNT, RP_S_COUNSELLED, 0, false},
    {"funds_formed", "صندوق‌های مالی خرد تشکیل‌شده", RP_FLOW, RP_COUNT, RP_S_FUNDS, 0, false},
    {"fund_training_sessions", "جلسات آموزشی صندوق‌ها", RP_FLOW, RP_COUNT, RP_S_FUND_TRAININGS, 0, false},
    {"fund_members_trained", "اعضای آموزش‌دیده صندوق‌ها", RP_DISTINCT, RP_COUNT, RP_S_FUND_TRAINED, 0, false},
    {"loans_disbursed_rials", "وام‌های پرداخت‌شده", RP_FLOW, RP_RIALS, RP_S_LOANS_DISBURSED, 0, false},
    {"loans_outstanding_rials", "مانده اصل وام‌ها", RP_STOCK, RP_RIALS, RP_S_LOANS_OUTSTANDING, 0, false},
    {"par30_rials", "پرتفوی در معرض ریسک بیش از ۳۰ روز", RP_STOCK, RP_RIALS, RP_S_PAR30, 0, false},
    {"par30_bp", "نسبت پرتفوی در معرض ریسک بیش از ۳۰ روز", RP_RATIO, RP_BP, RP_S_PAR30,
     RP_S_LOANS_OUTSTANDING, true},
    {"insurance_enrolled", "درخواست‌های بیمه واجد شرایط", RP_FLOW, RP_COUNT, RP_S_INS_ENROLLED, 0, false},
    {"insurance_confirmed", "بیمه‌های تأییدشده صندوق", RP_FLOW, RP_COUNT, RP_S_INS_CONFIRMED, 0, false},
    {"insurance_coverage_bp", "پوشش بیمه درخواست‌های دوره", RP_RATIO, RP_BP, RP_S_INS_COHORT,
     RP_S_INS_ENROLLED, false},
    {"insured_at_end", "بیمه‌شدگان در پایان دوره", RP_STOCK, RP_COUNT, RP_S_INS_INSURED, 0, false},
    {"network_members_active", "اعضای فعال شبکه‌ها", RP_STOCK, RP_COUNT, RP_S_NET_MEMBERS, 0, false},
    {"network_orders", "سفارش‌های شبکه‌ها", RP_FLOW, RP_COUNT, RP_S_NET_ORDERS, 0, false},
    {"network_orders_rials", "ارزش سفارش‌های شبکه‌ها", RP_FLOW, RP_RIALS, RP_S_NET_ORDERS_RIALS, 0, false},
    {"fund_savings_rials", "پس‌انداز اعضای صندوق‌ها", RP_FLOW, RP_RIALS, RP_S_FUND_SAVINGS, 0, false},
    {"fund_loans_issued_rials", "وام‌های صندوق‌ها", RP_FLOW, RP_RIALS, RP_S_FUND_LOANS, 0, false},
    {"fund_shareouts_rials", "تقسیم سود و اندوخته صندوق‌ها", RP_FLOW, RP_RIALS, RP_S_FUND_SHAREOUTS, 0, false},
    {"women_heads_of_household", "زنان سرپرست خانوار در پایگاه داده", RP_STOCK, RP_COUNT, RP_S_WOMEN_HEADS, 0, false},
    {"referrals_by_agency", "معرفی‌شدگان از سوی نهادها", RP_FLOW, RP_COUNT, RP_S_REF_AGENCY, 0, false},
    {"employer_referrals", "معرفی به کارفرما", RP_FLOW, RP_COUNT, RP_S_EMPLOYER_REF, 0, false},
    {"in_kind_aid", "کمک‌های غیرنقدی", RP_FLOW, RP_COUNT, RP_S_AID, 0, false},
    {"class_attendance", "حضور در کلاس‌ها (نفر-جلسه)", RP_FLOW, RP_COUNT, RP_S_CLASS_ATTENDANCE, 0, false},
    {"network_buyers", "خریداران جدید شبکه‌ها", RP_FLOW, RP_COUNT, RP_S_NET_BUYERS, 0, false},
    {"network_deliveries", "تحویل‌های شبکه‌ها", RP_FLOW, RP_COUNT, RP_S_NET_DELIVERIES, 0, false},
    {"loans_recovered_rials", "وصول وام‌های سوخت‌شده", RP_FLOW, RP_RIALS, RP_S_LOANS_RECOVERED, 0, false},
    {"par30_restructured_rials", "پرتفوی در معرض ریسک وام‌های امهال‌شده", RP_STOCK, RP_RIALS,
     RP_S_PAR30_RESTRUCTURED, 0, false},
    /* a stock less another: the persons in the database less those exited or dead by then */
    {"beneficiaries_active", "ذی‌نفعان فعال در پایان دوره", RP_STOCK, RP_COUNT, RP_S_BENEFICIARIES,
     RP_S_EXITED, false},
};
const size_t rp_nindicators = sizeof rp_indicators / sizeof rp_indicators[0];

/* Two running sums (flows are their difference) and, for a half, its distinct counts. */
int rp_raw_read(MDB_txn *txn, reporting_t *st, int kind, uint32_t id, const rp_period_t *p,
                rp_raw_t *raw)
{
    int64_t before[RP_NSLOTS];
    memset(raw, 0, sizeof *raw);
    int rc = rp_agg_upto(txn, st, kind, id, p->to, raw->upto);
    if (rc == 0)
        rc = rp_agg_upto(txn, st, kind, id, p->from - 1, before);
    for (int i = 0; rc == 0 && i < RP_NSLOTS; i++)
        raw->range[i] = raw->upto[i] - before[i];   /* both sums of the same counters: no overflow */
    static const int slots[] = {RP_S_PEOPLE_LOANS, RP_S_COUNSELLED, RP_S_FUND_TRAINED,
                                RP_S_JOBS_PEOPLE};
    raw->has_distinct = true;
    for (size_t i = 0; rc == 0 && i < sizeof slots / sizeof slots[0]; i++)
        rc = rp_distinct_count(txn, st, kind, id, slots[i], p->from, p->to, raw->upto, before,
                               &raw->distinct[slots[i]]);
    return rc;
}

/* floor(num * 10000 / den) in 128 bits; 0 when den is not positive. */
static int64_t s_bp(int64_t num, int64_t den)
{
    if (den <= 0 || num <= 0)
        return 0;
    return (int64_t)((__int128)num * 10000 / den);
}

bool rp_indicator_value(const rp_raw_t *raw, size_t i, int64_t *value)
{
    const rp_indicator_t *ind = &rp_indicators[i];
    switch (ind->kind) {
    case RP_FLOW:
        *value = raw->range[ind->slot];
        return true;
    case RP_STOCK:   /* beneficiaries in the database include those transferred in and out; a
                        stock with a den is that stock less the den's */
        *value = raw->upto[ind->slot] + (ind->slot == RP_S_BENEFICIARIES ? raw->upto[RP_S_TRANSFERS] : 0) -
                 (ind->den ? raw->upto[ind->den] : 0);
        return true;
    case RP_DISTINCT:
        *value = raw->has_distinct ? raw->distinct[ind->slot] : 0;
        return raw->has_distinct;
    case RP_RATIO: {
        const int64_t *from = ind->den_stock ? raw->upto : raw->range;
        *value = s_bp(from[ind->slot], from[ind->den]);
        return true;
    }
    }
    return false;
}

json_t *rp_indicators_json(const rp_raw_t *raw)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < rp_nindicators; i++) {
        int64_t v;
        json_t *val = rp_indicator_value(raw, i, &v) ? json_integer(v) : json_null();
        if (json_object_set_new(o, rp_indicators[i].name, val) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
