// report.js — the office's half-year report: every indicator beside its target, breakdowns by
// neighbourhood, sex and field (the indicators endpoint for the same half), and the submit
// action that freezes and signs it.

import { get, post, qs } from '../api.js';
import { faDigits, faNumber, faRials, faPercent, faDate, latinDigits, jalaliOf, SEXES, FIELDS } from '../fa.js';
import { h, screen, field, values, busy, table, notice, facts } from '../ui.js';

const LABELS = {
  beneficiaries_total: 'کل افراد تحت پوشش', beneficiaries_new: 'افراد تازه', women_heads_of_household: 'زنان سرپرست خانوار',
  meetings_working_group: 'جلسات کارگروه', meetings_steering_council: 'جلسات شورای راهبری',
  meetings_empowerment_group: 'جلسات گروه توانمندسازی', classes: 'کلاس‌ها', class_attendance: 'حضور در کلاس‌ها',
  people_with_loans: 'افراد دارای وام', loans_disbursed_rials: 'وام پرداخت‌شده', loans_outstanding_rials: 'ماندهٔ وام‌ها',
  par30_rials: 'معوقهٔ بیش از ۳۰ روز', par30_bp: 'نسبت معوقهٔ ۳۰ روزه', jobs_created: 'شغل ایجادشده',
  job_records: 'سوابق اشتغال', people_counselled: 'افراد مشاوره‌شده', funds_formed: 'صندوق‌های تشکیل‌شده',
  insurance_enrolled: 'بیمه‌شدگان (درخواست)', insurance_confirmed: 'بیمه‌شدگان (تأییدشده)',
  insurance_coverage_bp: 'پوشش بیمه', referrals_by_agency: 'معرفی سازمان‌ها', employer_referrals: 'معرفی به کارفرما',
  fund_training_sessions: 'جلسات آموزش صندوق', fund_members_trained: 'اعضای آموزش‌دیدهٔ صندوق',
  insured_at_end: 'بیمه‌شدگان در پایان دوره', network_members_active: 'اعضای فعال شبکه‌ها',
  network_orders: 'سفارش‌های شبکه‌ها', network_orders_rials: 'مبلغ سفارش‌های شبکه‌ها',
  fund_savings_rials: 'پس‌انداز صندوق‌ها', fund_loans_issued_rials: 'وام‌های صندوق‌ها',
  fund_shareouts_rials: 'تقسیم سود صندوق‌ها', in_kind_aid: 'کمک‌های غیرنقدی', network_buyers: 'خریداران شبکه‌ها',
  network_deliveries: 'تحویل‌های شبکه‌ها', loans_recovered_rials: 'وصول پس از سوخت',
  par30_restructured_rials: 'معوقهٔ ۳۰ روزهٔ وام‌های امهال‌شده',
};

function shown(name, v) {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : faDigits(String(v));
  if (name.endsWith('_rials')) return faRials(v);
  if (name.endsWith('_bp')) return faPercent(v);
  return faNumber(v);
}

/** The Jalali half of today, as the default. */
function thisHalf() {
  const [y, m] = jalaliOf(new Date().toISOString()).split('/').map(Number);
  return { year: y, half: m <= 6 ? 1 : 2 };
}

const GROUPS = [['neighbourhood', 'محله'], ['sex', 'جنسیت'], ['field', 'زمینه']];
const MAIN = ['beneficiaries_new', 'people_with_loans', 'loans_disbursed_rials', 'insurance_enrolled', 'jobs_created'];

function groupName(by, key) {
  if (key === null || key === undefined) return 'نامشخص';
  if (by === 'sex') return SEXES[key] || key;
  if (by === 'field') return FIELDS[key] || key;
  return String(key);
}

export async function reportScreen(me) {
  const d = thisHalf();
  const out = h('div', { id: 'report', 'aria-live': 'polite' });
  const officeOpts = me.office === '*' ? me.offices.map((o) => [o.code, o.name]) : [[me.office, me.offices.find((o) => o.code === me.office)?.name || me.office]];
  const form = h('form', { class: 'card', id: 'report-form', novalidate: true }, h('div', { class: 'grid' },
    field({ name: 'year', label: 'سال', value: faDigits(d.year), inputmode: 'numeric', required: true }),
    field({ name: 'half', label: 'نیمه', type: 'select', value: d.half, options: [[1, 'نیمهٔ نخست'], [2, 'نیمهٔ دوم']] }),
    field({ name: 'office', label: 'دفتر', type: 'select', options: officeOpts })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'report-go' }, 'نمایش گزارش')));
  const show = async (v) => {
    const year = Number(latinDigits(v.year));
    const half = Number(v.half);
    const r = await get(`/v1/reports/half-year${qs({ year, half, office: v.office })}`);
    const ind = r.indicators || {};
    const targets = r.targets || {};
    const breakdowns = await Promise.all(GROUPS.map(([by]) =>
      get(`/v1/reports/indicators${qs({ from: r.from, to: r.to, group_by: by })}`).catch(() => null)));
    const submit = h('button', { type: 'button', id: 'report-submit' }, 'ارسال و امضای گزارش');
    submit.addEventListener('click', () => busy(submit, out, async () => {
      const s = await post('/v1/reports/half-year/submissions', { year, half, office: v.office });
      notice(out, `گزارش با شناسهٔ ${faDigits(s.data.id)} ارسال و امضا شد.`);
    }));
    out.replaceChildren(
      h('section', { class: 'card' }, facts([
        ['دفتر', r.office_name || r.office], ['دوره', `${faDate(r.from_jalali, r.from)} تا ${faDate(r.to_jalali, r.to)}`],
        ['تا تاریخ', faDate(r.cut_jalali, r.cut)], ['نوع', r.interim ? 'میان‌دوره‌ای (نیمه هنوز تمام نشده)' : 'پایانی'],
      ]), me.role !== 'auditor' ? h('div', { class: 'actions' }, submit) : null),
      table('شاخص‌ها', [['شاخص', ([k]) => LABELS[k] || k], ['مقدار', ([k, x]) => shown(k, x)],
        ['هدف', ([k]) => (targets[k] === undefined ? '—' : shown(k, targets[k]))]], Object.entries(ind)),
      ...GROUPS.map(([by, title], i) => {
        const b = breakdowns[i];
        const groups = b?.groups || [];
        return groups.length ? table(`به تفکیک ${title} (همهٔ دفترهایی که این کلید می‌بیند)`, [[title, (g) => groupName(by, g.key)],
          ...MAIN.map((k) => [LABELS[k], (g) => shown(k, (g.figures || g.indicators || g)[k])])], groups) : null;
      }));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form.querySelector('#report-go'), form, () => show(values(form)));
  });
  screen('گزارش شش‌ماهه', form, out);
}
