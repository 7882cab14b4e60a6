// conflict.js — what an edit shows when the API answers 412 precondition_failed (the record
// changed since the page read it, If-Match): the fields that differ between the version the
// user opened, the version now stored and her own change, with "apply my changes again" (on
// the new version, whose ETag the GET that fetched it remembered) and "discard mine".

import { faDigits } from './fa.js';
import { h } from './ui.js';

function shown(v) {
  if (v === true) return 'بله';
  if (v === false) return 'خیر';
  if (Array.isArray(v)) return v.length ? faDigits(v.join('، ')) : '—';
  return v === undefined || v === null || v === '' ? '—' : faDigits(v);
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Fills box with the conflict. fields: [[name, label]]; base: the record opened; now: the record
 * stored; mine: the changes sent; err: the ApiError; onRetry, onDiscard: the two choices.
 */
export function showConflict(box, { fields, base, now, mine, err, onRetry, onDiscard }) {
  const rows = fields.filter(([n]) => !same(now[n], base[n]) || n in mine);
  const retry = h('button', { type: 'button', id: 'retry' }, 'اعمال دوبارهٔ تغییرات من');
  retry.addEventListener('click', onRetry);
  box.replaceChildren(
    h('div', { class: 'alert warn', role: 'alert' }, err.message,
      ' — دیگری پس از باز شدن این صفحه آن را تغییر داده است.'),
    h('div', { class: 'table-wrap diff' }, h('table', {}, h('caption', {}, 'چه تغییر کرده است'),
      h('thead', {}, h('tr', {}, ...['خانه', 'هنگام باز کردن', 'اکنون در سامانه', 'تغییر شما']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows.map(([n, label]) => h('tr', {},
        h('td', {}, label), h('td', {}, shown(base[n])),
        h('td', { class: same(base[n], now[n]) ? null : 'changed' }, shown(now[n])),
        h('td', {}, n in mine ? shown(mine[n]) : '—')))))),
    h('div', { class: 'actions' }, retry,
      h('button', { type: 'button', class: 'secondary', id: 'discard', onclick: onDiscard }, 'کنار گذاشتن تغییرات من')));
  retry.focus();
}
