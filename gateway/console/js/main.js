// main.js — the console's shell: sign-in, the navigation the key's role allows, and the hash
// router (#/search, #/person/ID, …) that draws one screen at a time. No build step: the
// browser loads these ES modules as they are.

import * as api from './api.js';
import { ROLES, faDigits } from './fa.js';
import { h, screen, field, values, showError, busy } from './ui.js';
import { searchScreen } from './screens/search.js';
import { personScreen, personEditScreen } from './screens/person.js';
import { registerScreen, businessScreen } from './screens/register.js';
import { householdScreen, householdsScreen } from './screens/household.js';
import { duplicatesScreen } from './screens/duplicates.js';
import { activityNewScreen, activityScreen } from './screens/activity.js';
import { loanScreen } from './screens/loan.js';
import { enrolmentScreen } from './screens/enrolment.js';
import { reportScreen } from './screens/report.js';
import { importScreen } from './screens/import.js';

const NAV = [
  ['#/search', 'جستجو', ['social_services', 'auditor']],
  ['#/register', 'ثبت فرد', ['social_services']],
  ['#/activity/new', 'ثبت فعالیت', ['social_services']],
  ['#/report', 'گزارش شش‌ماهه', ['social_services', 'operator', 'auditor']],
  ['#/import', 'ورود فهرست', ['social_services']],
  ['#/households', 'خانوارها', ['social_services']],
  ['#/duplicates', 'تکراری‌های احتمالی', ['social_services']],
];

export function who() {
  try { return JSON.parse(sessionStorage.getItem('hamyar.who') || 'null'); } catch (e) { return null; }
}

function drawHeader() {
  const me = who();
  const nav = document.getElementById('nav');
  const box = document.getElementById('who');
  if (!me) { nav.replaceChildren(); box.replaceChildren(); return; }
  const here = location.hash.split('?')[0];
  nav.replaceChildren(...NAV.filter(([, , roles]) => roles.includes(me.role)).map(([href, text]) =>
    h('a', { href, 'aria-current': here.startsWith(href) ? 'page' : null }, text)));
  const office = me.office === '*' ? 'همهٔ دفترهای استان' :
    (me.offices.find((o) => o.code === me.office)?.name || me.office || '—');
  box.replaceChildren(h('span', { id: 'who-role' }, ROLES[me.role] || me.role), ' · ',
    h('span', { id: 'who-office' }, faDigits(office)),
    h('button', { type: 'button', id: 'signout', onclick: () => { api.clearKey(); location.hash = '#/signin'; } }, 'خروج'));
}

function signinScreen() {
  const form = h('form', { class: 'card signin', id: 'signin-form', novalidate: true },
    h('p', {}, 'کلید دسترسی (API key) خود را وارد کنید. کلید فقط تا بسته شدن همین زبانه نگه داشته می‌شود.'),
    field({ name: 'key', label: 'کلید دسترسی', required: true, dir: 'ltr' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'signin' }, 'ورود')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = values(form).key;
    busy(form.querySelector('button'), form, async () => {
      if (!key) { showError(form, Object.assign(new Error('این خانه باید پر شود.'), { field: 'key', code: 'missing_field' })); return; }
      const me = await api.whoAmI(key);
      api.setKey(key);
      sessionStorage.setItem('hamyar.who', JSON.stringify(me));
      location.hash = me.role === 'social_services' || me.role === 'auditor' ? '#/search' : '#/report';
    });
  });
  screen('ورود به میز کار', form);
}

const ROUTES = [
  [/^#\/search$/, searchScreen],
  [/^#\/person\/([\w-]+)$/, personScreen],
  [/^#\/person\/([\w-]+)\/edit$/, personEditScreen],
  [/^#\/household\/([\w-]+)$/, householdScreen],
  [/^#\/duplicates$/, duplicatesScreen],
  [/^#\/households$/, householdsScreen],
  [/^#\/register$/, registerScreen],
  [/^#\/business\/new$/, businessScreen],
  [/^#\/activity\/new$/, activityNewScreen],
  [/^#\/activity\/([\w-]+)$/, activityScreen],
  [/^#\/loan\/([\w-]+)$/, loanScreen],
  [/^#\/enrolment\/([\w-]+)$/, enrolmentScreen],
  [/^#\/report$/, reportScreen],
  [/^#\/import$/, importScreen],
  [/^#\/import\/([\w-]+)$/, importScreen],
];

async function route() {
  const me = who();
  if (!api.getKey() || !me) {
    drawHeader();
    signinScreen();
    document.body.dataset.ready = '#/signin';
    return;
  }
  const path = location.hash.split('?')[0] || '#/search';
  drawHeader();
  for (const [re, fn] of ROUTES) {
    const m = re.exec(path);
    if (m) {
      try {
        await fn(me, ...m.slice(1));
      } catch (e) {
        if (e.status === 401) { api.clearKey(); location.hash = '#/signin'; return; }
        const box = h('div', {});
        screen('خطا', box);
        showError(box, e);
      }
      document.body.dataset.ready = location.hash;
      return;
    }
  }
  location.hash = me.role === 'social_services' || me.role === 'auditor' ? '#/search' : '#/report';
}

// Routes are drawn one after the other: a slow screen still loading when the user moves on
// draws first and the newer one over it, never the other way round.
let drawing = Promise.resolve();
const next = () => { drawing = drawing.then(route, route); };
window.addEventListener('hashchange', next);
next();
