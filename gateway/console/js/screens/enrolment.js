// enrolment.js — an insurance enrolment's page: the person, field, start, contributions, its
// history, and the actions its state allows the key's role.

import { get, post, etagOf } from '../api.js';
import { faDate, faDigits, faState, faRials, FIELDS } from '../fa.js';
import { h, screen, busy, facts, table, link, notice, field, values, showError } from '../ui.js';

const ACTIONS = {
  social_services: { requested: [['approve', 'تأیید دفتر']], approved: [['submit', 'ارسال به صندوق بیمه']],
    suspended: [['reinstate', 'بازگرداندن']] },
  insurance_fund: { submitted: [['confirm', 'تأیید صندوق']] },
};

export async function enrolmentScreen(me, id) {
  const e = await get(`/v1/enrolments/${id}`);
  const buttons = (ACTIONS[me.role]?.[e.status] || []).map(([verb, text]) => {
    const b = h('button', { type: 'button', id: `enr-${verb}` }, text);
    b.addEventListener('click', () => busy(b, document.getElementById('main'), async () => {
      const body = verb === 'confirm' ? { insurance_number: values(document.getElementById('enr-extra')).insurance_number } : {};
      try {
        await post(`/v1/enrolments/${id}/${verb}`, body, { ifMatch: etagOf(`/v1/enrolments/${id}`) });
      } catch (e) {
        if (e.status !== 412) throw e;
        await enrolmentScreen(me, id);   // as it now is: the user decides again
        showError(document.getElementById('main'), e);
        return;
      }
      await enrolmentScreen(me, id);
      notice(document.getElementById('main'), `${text} انجام شد.`);
    }));
    return b;
  });
  const extra = me.role === 'insurance_fund' && e.status === 'submitted'
    ? h('form', { id: 'enr-extra' }, field({ name: 'insurance_number', label: 'شمارهٔ بیمه', required: true })) : null;
  screen(`بیمهٔ ${e.first_name || ''} ${e.last_name || ''}`,
    h('section', { class: 'card' }, facts([
      ['فرد', link(`#/person/${e.person_id}`, e.person_id)], ['کد ملی', faDigits(e.national_id || '—')],
      ['زمینه', FIELDS[e.field] || e.field], ['شروع', faDate(e.start_date_jalali, e.start_date)],
      ['سن در شروع', faDigits(e.age_at_start ?? '—')], ['دفتر', e.office],
      ['وضعیت', h('span', { id: 'enr-state' }, faState(e.status))],
      ['شمارهٔ بیمه', faDigits(e.insurance_number || '—')],
    ]), extra, buttons.length ? h('div', { class: 'actions' }, ...buttons) : null),
    table('سابقهٔ وضعیت', [
      ['وضعیت', (x) => faState(x.status)], ['تاریخ', (x) => faDate(x.date_jalali, x.date)],
      ['ثبت‌کننده', (x) => h('span', { dir: 'ltr' }, x.created_by || '—')],
    ], e.history || []),
    (e.contributions || []).length ? table('حق بیمه‌ها', [
      ['ماه', (x) => faDigits(x.month || x.month_jalali || '')], ['مبلغ', (x) => faRials(x.amount_rials)],
    ], e.contributions) : null);
}
