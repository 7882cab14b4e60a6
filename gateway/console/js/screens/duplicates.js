// duplicates.js — possible duplicates to review (GET /v1/persons/possible-duplicates): two
// records with the same normalised name and birth date under different national IDs, which
// the registry accepted and listed rather than refused. Side by side, the office says they are
// two people (POST .../{id}/not-same with the reason) or one: the later registration is merged
// into the earlier record (POST /v1/persons/{id}/merge {into}).

import { get, post, qs } from '../api.js';
import { faDate, faDigits, faState } from '../fa.js';
import { h, screen, field, values, busy, link, notice, hashQuery } from '../ui.js';

const SIDE_FIELDS = [
  ['کد ملی', (p) => faDigits(p.national_id || '—')],
  ['نام', (p) => p.first_name || '—'],
  ['نام خانوادگی', (p) => p.last_name || '—'],
  ['تاریخ تولد', (p) => faDate(p.birth_date_jalali, p.birth_date)],
  ['دفتر', (p) => p.office || '—'],
  ['ادغام‌شده در', (p) => (p.merged_into ? faDigits(p.merged_into) : '—')],
];

const STATUSES = [['open', 'در انتظار بررسی'], ['not_same', 'دو نفر جدا'], ['merged', 'ادغام‌شده']];

function pairCard(me, pair, redraw) {
  const person = pair.person || { id: pair.person_id };
  const other = pair.other || { id: pair.other_id };
  const cap = `${faDigits(pair.id)}: ثبت تازه و پروندهٔ پیشین`;
  const rows = SIDE_FIELDS.map(([label, f]) => {
    const a = f(person), b = f(other);
    return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, a), h('td', { class: a === b ? null : 'changed' }, b));
  });
  const card = h('article', { class: 'card pair', 'data-pair': pair.id, 'data-person': pair.person_id, 'data-other': pair.other_id },
    h('div', { class: 'table-wrap diff' }, h('table', {}, h('caption', {}, cap),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'خانه'),
        h('th', { scope: 'col' }, link(`#/person/${pair.person_id}`, 'ثبت تازه')),
        h('th', { scope: 'col' }, link(`#/person/${pair.other_id}`, 'پروندهٔ پیشین')))),
      h('tbody', {}, ...rows))),
    pair.import_id ? h('p', {}, 'از ورود فهرست ', link(`#/import/${pair.import_id}`, faDigits(pair.import_id))) : null,
    h('p', {}, 'وضعیت: ', STATUSES.find(([k]) => k === pair.status)?.[1] || faState(pair.status)));
  if (pair.status !== 'open' || me.role !== 'social_services') return card;
  const reasonName = `reason_${pair.id}`;
  const form = h('form', { novalidate: true },
    field({ name: reasonName, label: 'اگر دو نفرند، چرا', type: 'textarea' }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'not-same secondary' }, 'دو نفر جدا هستند'),
      h('button', { type: 'button', class: 'merge danger' }, 'یک نفرند: ثبت تازه در پروندهٔ پیشین ادغام شود')));
  const act = (button, fn, text) => busy(button, form, async () => {
    try {
      await fn();
    } catch (e) {
      if (e.field === 'reason') e.field = reasonName;
      throw e;
    }
    await redraw();
    notice(document.getElementById('main'), text);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const reason = values(form)[reasonName];
    act(form.querySelector('.not-same'), () => post(`/v1/persons/possible-duplicates/${pair.id}/not-same`,
      reason ? { reason } : {}), 'ثبت شد که دو نفر جدا هستند.');
  });
  form.querySelector('.merge').addEventListener('click', (ev) => {
    act(ev.currentTarget, () => post(`/v1/persons/${pair.person_id}/merge`, { into: pair.other_id }),
      'دو پرونده ادغام شد؛ پروندهٔ پیشین ماند.');
  });
  card.append(form);
  return card;
}

export async function duplicatesScreen(me) {
  const status = hashQuery().get('status') || 'open';
  const list = await get(`/v1/persons/possible-duplicates${qs({ status })}`);
  const items = list.items || [];
  const redraw = () => duplicatesScreen(me);
  const filter = h('form', { class: 'card', id: 'duplicates-filter' },
    h('div', { class: 'grid' }, field({ name: 'status', label: 'کدام‌ها', type: 'select', value: status, options: STATUSES })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'duplicates-go' }, 'نمایش')));
  filter.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/duplicates?status=${values(filter).status}`;
  });
  screen('تکراری‌های احتمالی', filter,
    h('p', { class: 'hint' }, 'ثبت‌هایی با همان نام و تاریخ تولد و کد ملی دیگر؛ سامانه آن‌ها را پذیرفته و برای بررسی نگه داشته است.'),
    h('div', { id: 'duplicates' }, items.length ? items.map((p) => pairCard(me, p, redraw))
      : h('p', {}, 'موردی نیست.')));
}
