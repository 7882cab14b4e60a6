// loan.js — a loan's page: its terms, schedule, arrears as of today, and the one next action
// its state allows (appraise, approve or reject, disburse, repay, recover).

import { get, post, etagOf } from '../api.js';
import { faDate, faDigits, faRials, faNumber, faState, faToday, parseJalali, latinDigits } from '../fa.js';
import { h, screen, field, values, busy, facts, table, link, notice, showError } from '../ui.js';

const rials = (v) => Number(latinDigits(v).replace(/[,٬\s]/g, ''));

/** The next action of a loan in its state: [title, fields, (values) => [path, body]]. */
function nextAction(l) {
  const date = (v) => (v.date ? { date_jalali: parseJalali(v.date) || v.date } : {});
  switch (l.status) {
    case 'applied':
      return ['ارزیابی', [field({ name: 'appraiser', label: 'ارزیاب', required: true }),
        field({ name: 'amount', label: 'مبلغ پیشنهادی (ریال)', required: true, inputmode: 'numeric', value: l.requested_rials })],
      (v) => [`/v1/loans/${l.id}/appraise`, { appraiser: v.appraiser, recommended_amount_rials: rials(v.amount) }]];
    case 'appraised':
      return ['تصویب', [field({ name: 'amount', label: 'مبلغ مصوب (ریال)', inputmode: 'numeric', value: l.appraisal?.recommended_amount_rials ?? l.requested_rials })],
        (v) => [`/v1/loans/${l.id}/approve`, v.amount ? { amount_rials: rials(v.amount) } : {}]];
    case 'approved':
      return ['پرداخت', [field({ name: 'amount', label: 'مبلغ پرداخت (ریال)', required: true, inputmode: 'numeric', value: (l.approved_rials || 0) - (l.disbursed_rials || 0) }),
        field({ name: 'date', label: 'تاریخ (خورشیدی)', type: 'date', required: true, value: faToday() })],
      (v) => [`/v1/loans/${l.id}/disburse`, { amount_rials: rials(v.amount), ...date(v) }]];
    case 'disbursed':
      return ['ثبت بازپرداخت', [field({ name: 'amount', label: 'مبلغ (ریال)', required: true, inputmode: 'numeric', value: l.due_rials || '' }),
        field({ name: 'date', label: 'تاریخ (خورشیدی)', type: 'date', required: true, value: faToday() })],
      (v) => [`/v1/loans/${l.id}/repayments`, { amount_rials: rials(v.amount), ...date(v) }]];
    case 'written_off':
      return ['ثبت وصول', [field({ name: 'amount', label: 'مبلغ (ریال)', required: true, inputmode: 'numeric' })],
        (v) => [`/v1/loans/${l.id}/recoveries`, { amount_rials: rials(v.amount) }]];
    default:
      return null;
  }
}

export async function loanScreen(me, id) {
  const l = await get(`/v1/loans/${id}`);
  const action = me.role === 'social_services' ? nextAction(l) : null;
  let form = null;
  if (action) {
    const [title, fields, make] = action;
    form = h('form', { class: 'card', id: 'loan-action', novalidate: true }, h('h2', {}, `اقدام بعدی: ${title}`),
      h('div', { class: 'grid' }, ...fields),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'loan-go' }, title)));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const [path, body] = make(values(form));
      busy(form.querySelector('button'), form, async () => {
        try {
          await post(path, body, { ifMatch: etagOf(`/v1/loans/${id}`) });
        } catch (e) {
          if (e.status !== 412) throw e;
          await loanScreen(me, id);   // the loan as it now is: the user decides again
          showError(document.getElementById('main'), e);
          return;
        }
        await loanScreen(me, id);
        notice(document.getElementById('main'), `${title} ثبت شد.`);
      });
    });
  }
  const overdue = (l.overdue_rials || 0) > 0;
  screen(`وام ${faDigits(l.id)}`,
    h('section', { class: 'card' }, facts([
      ['وام‌گیرنده', link(`#/person/${l.person_id}`, l.person_id)],
      ['وضعیت', h('span', { id: 'loan-state' }, faState(l.status))],
      ['طرح', l.terms?.name || l.product_id], ['هدف', l.purpose],
      ['درخواستی', faRials(l.requested_rials)], ['مصوب', faRials(l.approved_rials)],
      ['پرداخت‌شده', faRials(l.disbursed_rials)], ['بازپرداخت‌شده', h('span', { id: 'loan-paid' }, faRials(l.paid_rials ?? l.repaid_rials))],
      ['مانده', faRials(l.outstanding_rials)],
      ['معوقه', h('span', { class: overdue ? 'badge overdue' : 'badge', id: 'loan-overdue' }, faRials(l.overdue_rials))],
      ['روزهای تأخیر', faNumber(l.days_past_due)], ['تا تاریخ', faDate(l.as_of_jalali, l.as_of)],
    ])),
    form,
    (l.schedule || []).length ? table('جدول اقساط', [
      ['قسط', (r) => faNumber(r.n)], ['سررسید', (r) => faDate(r.due_date_jalali, r.due_date)],
      ['اصل', (r) => faRials(r.principal_rials)], ['کارمزد', (r) => faRials(r.fee_rials)],
      ['پرداخت‌شده', (r) => faRials((r.principal_paid_rials || 0) + (r.fee_paid_rials || 0))],
      ['وضعیت', (r) => h('span', { class: r.state === 'overdue' ? 'badge overdue' : 'badge' }, faState(r.state))],
    ], l.schedule) : h('p', {}, 'جدول اقساط پس از پرداخت ساخته می‌شود.'));
}
