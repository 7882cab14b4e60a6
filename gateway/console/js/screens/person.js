// person.js — a person's page (her record, her household from /v1/households, businesses, and
// her whole timeline across the six services) and the edit of her record with If-Match: a change someone made since the page was
// opened comes back as 412, and the screen shows what changed and lets the user apply her
// changes again on the new version.

import { get, patch, qs } from '../api.js';
import { faDigits, faDate, faState, faEvent, latinDigits, SEXES, FIELDS, SERVICES, STAGES } from '../fa.js';
import { h, screen, field, values, facts, table, busy, link, notice, clearErrors } from '../ui.js';
import { showConflict } from '../conflict.js';
import { householdCard } from './household.js';

const HREF = { loan_: '#/loan/', enr_: '#/enrolment/', act_: '#/activity/', prs_: '#/person/' };

function subjectLink(id) {
  for (const [prefix, href] of Object.entries(HREF)) {
    if (String(id).startsWith(prefix)) return link(`${href}${id}`, id);
  }
  return h('span', { dir: 'ltr' }, id);
}

export async function personScreen(me, id) {
  const p = await get(`/v1/persons/${id}`);
  const [tl, biz, household] = await Promise.all([
    get(`/v1/persons/${id}/timeline`),
    get(`/v1/businesses${qs({ owner_id: id, limit: 50 })}`).catch(() => ({ items: [] })),
    householdCard(me, p),
  ]);
  const canWrite = me.role === 'social_services';
  const events = tl.events || [];
  screen(`${p.first_name} ${p.last_name}`,
    canWrite ? h('div', { class: 'actions' },
      link(`#/person/${id}/edit`, 'اصلاح مشخصات'),
      link(`#/business/new?owner=${id}`, 'ثبت کسب‌وکار'),
      link(`#/activity/new?person=${id}`, 'ثبت فعالیت یا جلسه')) : null,
    h('section', { class: 'card', 'aria-labelledby': 'h-rec' }, h('h2', { id: 'h-rec' }, 'مشخصات'),
      facts([
        ['کد ملی', faDigits(p.national_id)], ['جنسیت', SEXES[p.sex] || p.sex],
        ['تاریخ تولد', faDate(p.birth_date_jalali, p.birth_date)], ['همراه', faDigits(p.mobile || '—')],
        ['محله', p.neighbourhood], ['دفتر', p.office], ['تاریخ ثبت', faDate(p.registered_on_jalali, p.registered_on)],
        ['وضعیت', faState(p.status)],
        ['معرفی‌ها', h('span', { id: 'referrals' }, (p.referrals || []).map((r) =>
          `${r.source === 'agency' ? r.agency : 'مراجعهٔ خود'} (${faDate(r.date_jalali, r.date)})`).join('، ') || '—')],
      ])),
    household,
    h('section', { class: 'card', 'aria-labelledby': 'h-biz' }, h('h2', { id: 'h-biz' }, 'کسب‌وکارها'),
      (biz.items || []).length ? table('کسب‌وکارهای او', [
        ['فعالیت', (b) => b.activity], ['زمینه', (b) => FIELDS[b.field] || b.field],
        ['مرحله', (b) => STAGES[b.stage] || b.stage], ['شناسه', (b) => h('span', { dir: 'ltr' }, b.id)],
      ], biz.items) : h('p', {}, 'کسب‌وکاری ثبت نشده است.')),
    h('section', { class: 'card', 'aria-labelledby': 'h-tl' }, h('h2', { id: 'h-tl' }, 'سرگذشت در همهٔ خدمات'),
      events.length ? h('ol', { class: 'timeline', id: 'timeline' }, ...events.map((e) =>
        h('li', { 'data-type': e.type },
          h('time', { datetime: e.date }, faDate(e.date_jalali, e.date)),
          h('span', { class: 'badge' }, SERVICES[e.source] || e.source), ' ',
          faEvent(e.type), ' · ', subjectLink(e.subject))))
        : h('p', {}, 'رویدادی نیست.')));
}

// Her own fields; the household (members, head, size, dependants) is the household's record,
// changed on its screen (household.js), not typed here.
const EDITABLE = [
  ['first_name', 'نام'], ['last_name', 'نام خانوادگی'], ['mobile', 'شمارهٔ همراه'],
  ['neighbourhood', 'محله'],
];

/** The fields of the form that differ from the record the user opened, as the API takes them. */
function changes(form, base) {
  const v = values(form);
  const out = {};
  for (const [name] of EDITABLE) {
    let x = v[name];
    if (name === 'mobile') x = latinDigits(x);
    if (x !== (base[name] ?? '')) out[name] = x;
  }
  return out;
}

export async function personEditScreen(me, id) {
  const path = `/v1/persons/${id}`;
  let base = await get(path);
  const form = h('form', { class: 'card', id: 'edit-form', novalidate: true },
    h('div', { class: 'grid' }, ...EDITABLE.map(([name, label]) => field({
      name, label, inputmode: name === 'mobile' ? 'numeric' : null, value: base[name] ?? '',
    }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'save' }, 'ذخیره'),
      link(`#/person/${id}`, 'بازگشت')),
    h('p', { class: 'hint' }, 'خانوار او (اعضا، سرپرست) در پروندهٔ خانوار از صفحهٔ او تغییر می‌کند.'));
  const conflict = h('div', { id: 'conflict' });
  const save = async (body) => {
    try {
      await patch(path, body);
      location.hash = `#/person/${id}`;
    } catch (e) {
      if (e.status !== 412) throw e;
      const now = await get(path);   // the new version (and its ETag)
      const opened = base;
      base = now;
      showConflict(conflict, {
        fields: EDITABLE, base: opened, now, mine: body, err: e,
        onRetry: () => busy(conflict.querySelector('#retry'), conflict, () => save(body)),
        onDiscard: () => personEditScreen(me, id),
      });
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    conflict.replaceChildren();
    const body = changes(form, base);
    if (!Object.keys(body).length) { notice(form, 'تغییری نداده‌اید.'); return; }
    busy(form.querySelector('#save'), form, () => save(body));
  });
  screen(`اصلاح مشخصات ${base.first_name} ${base.last_name}`, conflict, form);
}

