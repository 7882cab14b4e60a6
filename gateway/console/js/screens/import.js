// import.js — bring in an agency's list (CSV or JSON Lines) and follow it to the end: POST
// /v1/imports answers 202 with an id at once, GET /v1/imports/{id} tells the state, rows done
// of total (the progress bar) and the counts per outcome (created, referral_added, updated,
// possible_duplicate, invalid, unchanged). The contract is issue #18's.

import { get, post, qs } from '../api.js';
import { faDigits, faNumber, faState, parseJalali, PROBLEMS } from '../fa.js';
import { h, screen, field, values, busy, table, showError } from '../ui.js';

const OUTCOMES = {
  created: 'ثبت تازه', referral_added: 'معرفی افزوده به پروندهٔ موجود', updated: 'تکمیل خانه‌های خالی',
  possible_duplicate: 'احتمال تکرار (برای بررسی)', invalid: 'نادرست', unchanged: 'بدون تغییر',
};
const FINAL = new Set(['done', 'completed', 'finished', 'failed', 'cancelled']);

// The figures of an import, whatever the exact member names of the answer turn out to be.
const doneOf = (s) => s.rows_done ?? s.done ?? s.progress?.done ?? 0;
const totalOf = (s) => s.rows_total ?? s.total ?? s.progress?.total ?? 0;
const stateOf = (s) => s.state ?? s.status ?? '';
const countsOf = (s) => s.counts ?? s.outcomes ?? {};

// The gateway takes JSON bodies of at most a megabyte, so the file travels in parts of 256 KiB,
// base64 in the body, as hamyarctl import sends it: POST /v1/imports with the first part, then
// POST /v1/imports/{id}/parts {seq: 1, 2, ..., last}. The registry carries a character or a
// record cut between two parts over to the next one.
const PART = 256 * 1024;

function base64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function upload(file, args) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const parts = Math.max(1, Math.ceil(bytes.length / PART));
  const part = (i) => base64(bytes.subarray(i * PART, (i + 1) * PART));
  const r = await post('/v1/imports', { ...args, data: part(0), more: parts > 1, file_name: file.name });
  for (let i = 1; i < parts; i++) {
    await post(`/v1/imports/${r.data.id}/parts`, { seq: i, data: part(i), last: i === parts - 1 });
  }
  return r.data.id;
}

// The agency as the registry knows it: its code, typed as the code or as its Persian name.
async function agencyCode(typed) {
  const fold = (t) => (t || '').trim().replace(/\u200c/g, ' ').replace(/ي/g, 'ی').replace(/ك/g, 'ک').toLowerCase();
  const list = await get('/v1/agencies').catch(() => null);
  const hit = (list?.items || []).find((a) => fold(a.code) === fold(typed) || fold(a.name) === fold(typed));
  return hit ? hit.code : typed;
}

async function follow(id, box) {
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0, 'aria-label': 'پیشرفت ورود فهرست' });
  const text = h('p', { id: 'import-text', 'aria-live': 'polite' });
  const counts = h('div', { id: 'import-counts' });
  box.replaceChildren(h('section', { class: 'card' }, h('h2', {}, `ورود ${faDigits(id)}`), bar, text, counts));
  for (;;) {
    const s = await get(`/v1/imports/${id}`);
    const done = doneOf(s);
    const total = totalOf(s);
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
    text.textContent = `${faState(stateOf(s))}: ${faNumber(done)} از ${faNumber(total)} ردیف`;
    const c = countsOf(s);
    counts.replaceChildren(table('نتیجهٔ ردیف‌ها', [['نتیجه', ([k]) => OUTCOMES[k] || k], ['تعداد', ([, v]) => faNumber(v)]],
      Object.entries(c)));
    if (FINAL.has(stateOf(s))) {
      box.dataset.state = stateOf(s);
      if (c.invalid) {
        const rows = await get(`/v1/imports/${id}/rows${qs({ outcome: 'invalid' })}`).catch(() => null);
        if (rows?.items?.length) {
          counts.append(table('ردیف‌های نادرست', [['ردیف', (r) => faNumber(r.row ?? r.line)], ['خانه', (r) => r.field || '—'],
            ['خطا', (r) => PROBLEMS[r.code] || r.code || r.detail || '—']], rows.items));
        }
      }
      return s;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

export async function importScreen(me, id) {
  const box = h('div', { id: 'import-status' });
  const form = h('form', { class: 'card', id: 'import-form', novalidate: true }, h('div', { class: 'grid' },
    field({ name: 'agency', label: 'سازمان فرستنده', required: true, hint: 'مثلاً بهزیستی' }),
    field({ name: 'date', label: 'تاریخ فهرست (خورشیدی)', type: 'date', required: true }),
    h('div', { class: 'field' }, h('label', { for: 'f-file' }, 'پرونده (CSV یا JSON Lines)'),
      h('input', { id: 'f-file', name: 'file', type: 'file', accept: '.csv,.jsonl,.ndjson,text/csv' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'import-go' }, 'بارگذاری')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = values(form);
    const file = form.querySelector('#f-file').files[0];
    busy(form.querySelector('#import-go'), form, async () => {
      if (!file) {
        showError(form, Object.assign(new Error('پرونده‌ای برگزیده نشده است.'), { field: 'file', code: 'missing_field' }));
        return;
      }
      const agency = await agencyCode(v.agency);
      const date = parseJalali(v.date) || v.date;
      const newId = await upload(file, { agency, [/^\d{4}-/.test(date) ? 'date' : 'date_jalali']: date });
      history.replaceState(null, '', `#/import/${newId}`);
      await follow(newId, box);
    });
  });
  screen('ورود فهرست سازمان‌ها', form, box);
  if (id) await follow(id, box);
}
