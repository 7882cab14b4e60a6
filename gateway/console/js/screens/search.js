// search.js — find a person by name (the API normalises Persian spellings), national ID or
// mobile, within the key's office.

import { get, qs } from '../api.js';
import { faDigits, faDate, latinDigits, faState } from '../fa.js';
import { h, screen, field, values, table, busy, link } from '../ui.js';

/** What the typed text asks: ten digits a national ID, 09… a mobile, else a name. */
export function searchParams(text) {
  const t = latinDigits(text).replace(/[\s-]/g, '');
  if (/^\d{8,10}$/.test(t)) return { national_id: t.padStart(10, '0') };
  if (/^(\+98|0098|0)?9\d{9}$/.test(t)) return { mobile: `0${t.slice(-10)}` };
  return { q: text.trim() };
}

export async function searchScreen(me) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', role: 'search', id: 'search-form' },
    field({ name: 'q', label: 'نام، کد ملی یا شمارهٔ همراه', value: params.get('q') || '', required: true }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'search-go' }, 'جستجو')));
  const find = async (text) => {
    const p = searchParams(text);
    let items;
    if (p.mobile) {
      // The API has no mobile filter: the office's list is read and filtered here.
      items = [];
      let cursor = '';
      do {
        const page = await get(`/v1/persons${qs({ limit: 200, cursor })}`);
        items.push(...(page.items || []).filter((x) => x.mobile === p.mobile));
        cursor = page.next_cursor || '';
      } while (cursor && items.length < 50);
    } else {
      items = (await get(`/v1/persons${qs({ ...p, limit: 50 })}`)).items || [];
    }
    results.replaceChildren(items.length
      ? table(`${faDigits(items.length)} نفر پیدا شد`, [
        ['نام', (x) => x.restricted ? `پرونده در دفتر ${x.office}` : link(`#/person/${x.id}`, `${x.first_name} ${x.last_name}`)],
        ['کد ملی', (x) => faDigits(x.national_id || '—')],
        ['همراه', (x) => faDigits(x.mobile || '—')],
        ['محله', (x) => x.neighbourhood || '—'],
        ['تاریخ ثبت', (x) => faDate(x.registered_on_jalali, x.registered_on)],
        ['وضعیت', (x) => faState(x.status)],
      ], items)
      : h('p', { class: 'alert warn', role: 'status' }, 'کسی پیدا نشد.',
        me.role === 'social_services' ? [' ', link('#/register', 'ثبت فرد تازه')] : null));
  };
  const run = async (text) => {
    results.setAttribute('aria-busy', 'true');
    try {
      await find(text);
    } finally {
      results.removeAttribute('aria-busy');
      results.dataset.searches = Number(results.dataset.searches || 0) + 1;
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = values(form).q;
    if (!text) return;
    history.replaceState(null, '', `#/search?q=${encodeURIComponent(text)}`);
    busy(form.querySelector('button'), form, () => run(text));
  });
  screen('جستجوی افراد', form, results);
  if (params.get('q')) await busy(form.querySelector('button'), form, () => run(params.get('q')));
}
