// activity.js — record a delivered service, class or meeting; an activity's page, where the
// recording office corrects it (with a reason, If-Match) or voids it.

import { get, post, patch, etagOf } from '../api.js';
import { parseJalali, faDate, faDigits, faNumber, faToday, ACTIVITY_KINDS, MEETING_KINDS } from '../fa.js';
import { h, screen, field, values, busy, link, notice, facts, hashQuery } from '../ui.js';
import { showConflict } from '../conflict.js';

const ids = (text) => text.split(/[\s,،]+/).map((x) => x.trim()).filter(Boolean);

function activityFields(a = {}) {
  return [
    field({ name: 'kind', label: 'نوع', type: 'select', required: true, value: a.kind, options: Object.entries(ACTIVITY_KINDS) }),
    field({ name: 'meeting_kind', label: 'نوع جلسه', type: 'select', value: a.meeting_kind, options: [['', '—'], ...Object.entries(MEETING_KINDS)], hint: 'فقط برای جلسه' }),
    field({ name: 'date', label: 'تاریخ (خورشیدی)', type: 'date', required: true, value: a.date_jalali ? faDigits(a.date_jalali) : faToday() }),
    field({ name: 'title', label: 'عنوان', value: a.title }),
    field({ name: 'person_ids', label: 'شرکت‌کنندگان (شناسه‌ها)', type: 'textarea', value: (a.person_ids || []).join('، '), dir: 'ltr' }),
  ];
}

function bodyOf(v) {
  const body = { kind: v.kind };
  if (v.meeting_kind) body.meeting_kind = v.meeting_kind;
  if (v.date) body.date_jalali = parseJalali(v.date) || v.date;
  if (v.title) body.title = v.title;
  const people = ids(v.person_ids || '');
  if (people.length) body.person_ids = people;
  return body;
}

export function activityNewScreen() {
  const person = hashQuery().get('person');
  const form = h('form', { class: 'card', id: 'activity-form', novalidate: true },
    h('div', { class: 'grid' }, ...activityFields({ person_ids: person ? [person] : [] })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'activity-save' }, 'ثبت فعالیت')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form.querySelector('button'), form, async () => {
      const r = await post('/v1/activities', bodyOf(values(form)));
      location.hash = `#/activity/${r.data.id}`;
    });
  });
  screen('ثبت فعالیت یا جلسه', form);
}

export async function activityScreen(me, id) {
  const path = `/v1/activities/${id}`;
  const a = await get(path);
  const voided = a.voided || a.status === 'voided';
  const mine = me.role === 'social_services' && (me.office === '*' || me.office === a.office);
  const correct = h('form', { class: 'card', id: 'correct-form', novalidate: true },
    h('h2', {}, 'اصلاح'), h('div', { class: 'grid' }, ...activityFields(a),
      field({ name: 'reason', label: 'دلیل اصلاح', required: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'correct-save' }, 'ذخیرهٔ اصلاح')));
  const conflict = h('div', { id: 'conflict' });
  const fix = async (body) => {
    try {
      await patch(path, body);
    } catch (e) {
      if (e.status !== 412) throw e;
      const now = await get(path);   // the new version (and its ETag)
      showConflict(conflict, {
        fields: [['kind', 'نوع'], ['meeting_kind', 'نوع جلسه'], ['date_jalali', 'تاریخ'], ['title', 'عنوان'], ['person_ids', 'شرکت‌کنندگان']],
        base: a, now, mine: { ...body, date_jalali: body.date_jalali }, err: e,
        onRetry: () => busy(conflict.querySelector('#retry'), conflict, () => fix(body)),
        onDiscard: () => activityScreen(me, id),
      });
      return;
    }
    await activityScreen(me, id);
    notice(document.getElementById('main'), 'اصلاح ثبت شد.');
  };
  correct.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = values(correct);
    busy(correct.querySelector('button'), correct, () => fix({ ...bodyOf(v), reason: v.reason }));
  });
  const voidForm = h('form', { class: 'card', id: 'void-form', novalidate: true },
    h('h2', {}, 'ابطال'), field({ name: 'reason', label: 'دلیل ابطال', required: true }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger', id: 'void-save' }, 'ابطال این فعالیت')));
  voidForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(voidForm.querySelector('button'), voidForm, async () => {
      await post(`${path}/void`, { reason: values(voidForm).reason }, { ifMatch: etagOf(path) });
      await activityScreen(me, id);
      notice(document.getElementById('main'), 'این فعالیت باطل شد.');
    });
  });
  screen(`${ACTIVITY_KINDS[a.kind] || a.kind} ${a.title ? `«${a.title}»` : ''}`,
    h('section', { class: 'card' }, facts([
      ['نوع', ACTIVITY_KINDS[a.kind] || a.kind], ['نوع جلسه', MEETING_KINDS[a.meeting_kind] || '—'],
      ['تاریخ', faDate(a.date_jalali, a.date)], ['دفتر', a.office],
      ['شرکت‌کنندگان', (a.person_ids || []).length ? h('span', {}, ...a.person_ids.flatMap((p, i) => [i ? '، ' : '', link(`#/person/${p}`, p)])) : faNumber(0)],
      ['وضعیت', h('span', { id: 'activity-state' }, voided ? 'باطل‌شده' : 'معتبر')],
    ])),
    mine && !voided ? [conflict, correct, voidForm] : null);
}
