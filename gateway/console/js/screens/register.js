// register.js — register a person (her own statement of her household's size as she gives it,
// and, when she heads one, her household formed through POST /v1/households), then her home
// business. Duplicates are
// handled as the API answers: 409 duplicate_national_id names the existing record (opened when
// this office may read it); possible duplicates the API reports are listed for review.

import { post } from '../api.js';
import { parseJalali, latinDigits, FIELDS, STAGES, faDigits } from '../fa.js';
import { h, screen, field, values, busy, link, notice, showError, hashQuery } from '../ui.js';

function hoods(me) {
  const mine = me.offices.filter((o) => me.office === '*' || o.code === me.office);
  return [...new Set(mine.flatMap((o) => o.neighbourhoods || []))];
}

const int = (v) => (v === '' ? undefined : Number(latinDigits(v)));

export function registerScreen(me) {
  const form = h('form', { class: 'card', id: 'register-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'مشخصات'), h('div', { class: 'grid' },
      field({ name: 'national_id', label: 'کد ملی', required: true, inputmode: 'numeric' }),
      field({ name: 'first_name', label: 'نام', required: true }),
      field({ name: 'last_name', label: 'نام خانوادگی', required: true }),
      field({ name: 'sex', label: 'جنسیت', type: 'select', required: true, options: [['female', 'زن'], ['male', 'مرد']] }),
      field({ name: 'birth_date', label: 'تاریخ تولد (خورشیدی)', type: 'date' }),
      field({ name: 'mobile', label: 'شمارهٔ همراه', inputmode: 'tel' }),
      field({ name: 'neighbourhood', label: 'محله', type: 'select', options: [['', '—'], ...hoods(me).map((x) => [x, x])] }),
      me.office === '*' ? field({ name: 'office', label: 'دفتر', type: 'select', options: me.offices.map((o) => [o.code, o.name]) }) : null)),
    h('fieldset', {}, h('legend', {}, 'خانوار (به گفتهٔ خود او)'), h('div', { class: 'grid' },
      field({ name: 'household_size', label: 'تعداد افراد خانوار', inputmode: 'numeric' }),
      field({ name: 'dependants', label: 'افراد تحت تکفل', inputmode: 'numeric' }),
      field({ name: 'head_of_household', label: 'سرپرست خانوار است', type: 'checkbox', value: true }),
      field({ name: 'form_household', label: 'پروندهٔ خانوار با سرپرستی او هم ساخته شود', type: 'checkbox',
        hint: 'اعضا را سپس در پروندهٔ خانوار بیفزایید' }))),
    h('fieldset', {}, h('legend', {}, 'معرفی'), h('div', { class: 'grid' },
      field({ name: 'source', label: 'معرف', type: 'select', options: [['self', 'مراجعهٔ خود'], ['agency', 'سازمان']] }),
      field({ name: 'agency', label: 'نام سازمان معرف', hint: 'مثلاً بهزیستی یا کمیتهٔ امداد' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'register' }, 'ثبت')));
  const result = h('div', { id: 'register-result', 'aria-live': 'polite' });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = values(form);
    const body = {
      national_id: latinDigits(v.national_id), first_name: v.first_name, last_name: v.last_name,
      sex: v.sex, mobile: v.mobile ? latinDigits(v.mobile) : undefined,
      neighbourhood: v.neighbourhood || undefined, office: v.office || undefined,
      household_size: int(v.household_size), dependants: int(v.dependants),
      head_of_household: v.head_of_household,
      referral: v.source === 'agency' ? { source: 'agency', agency: v.agency } : { source: 'self' },
    };
    if (v.birth_date) body.birth_date_jalali = parseJalali(v.birth_date) || v.birth_date;
    busy(form.querySelector('#register'), form, async () => {
      result.replaceChildren();
      try {
        const r = await post('/v1/persons', body);
        const p = r.data;
        const dups = p.possible_duplicates || p.possible_duplicate_of || [];
        notice(form, `${p.first_name} ${p.last_name} ثبت شد.`);
        let household = null;
        if (v.form_household) {   // her household, headed by her, from today
          try {
            const hh = await post('/v1/households', { head_person_id: p.id });
            household = link(`#/household/${hh.data.id}`, 'پروندهٔ خانوار او (افزودن اعضا)');
          } catch (e) {
            household = h('span', { class: 'alert error', role: 'alert' }, `خانوار ساخته نشد: ${e.message}`);
          }
        }
        result.replaceChildren(h('div', { class: 'card' },
          h('p', {}, link(`#/person/${p.id}`, 'پروندهٔ او'), ' · ', link(`#/business/new?owner=${p.id}`, 'ثبت کسب‌وکار او'),
            household ? [' · ', household] : null),
          [].concat(dups).length ? h('div', { class: 'alert warn', role: 'alert' },
            'احتمال تکراری بودن: فرد(های) زیر همین نام و تاریخ تولد را دارند؛ بررسی کنید:',
            h('ul', {}, ...[].concat(dups).map((d) => h('li', {}, link(`#/person/${d.id || d}`, d.id || d)))),
            h('p', {}, link('#/duplicates', 'بررسی در فهرست تکراری‌های احتمالی'))) : null));
      } catch (e) {
        showError(form, e);
        if (e.code === 'duplicate_national_id' && e.problem.existing_id) {
          const existing = e.problem.existing_id;
          const add = h('button', { type: 'button', id: 'add-referral' }, 'افزودن این معرفی به پروندهٔ موجود');
          const box = h('div', { class: 'card', id: 'duplicate' },
            h('p', {}, 'این کد ملی پیش‌تر ثبت شده است: ', link(`#/person/${existing}`, 'پروندهٔ موجود'),
              ' — به‌جای ثبت دوباره، معرفی تازه را به همان پرونده بیفزایید.'),
            h('div', { class: 'actions' }, add));
          // The referral as the form now has it (source, agency), on the record that holds her.
          add.addEventListener('click', () => busy(add, box, async () => {
            const now = values(form);
            const ref = now.source === 'agency' ? { source: 'agency', agency: now.agency } : { source: 'self' };
            await post(`/v1/persons/${existing}/referrals`, ref);
            notice(box, `معرفی ${now.source === 'agency' ? now.agency : 'مراجعهٔ خود'} به پروندهٔ او افزوده شد.`);
          }));
          result.replaceChildren(box);
        }
      }
    });
  });
  screen('ثبت فرد و خانوار', form, result);
}

export function businessScreen(me) {
  const owner = hashQuery().get('owner') || '';
  const form = h('form', { class: 'card', id: 'business-form', novalidate: true },
    h('div', { class: 'grid' },
      field({ name: 'owner_id', label: 'شناسهٔ صاحب کسب‌وکار', required: true, value: owner, dir: 'ltr' }),
      field({ name: 'activity', label: 'فعالیت', required: true, hint: 'مثلاً خیاطی یا قالی‌بافی' }),
      field({ name: 'field', label: 'زمینه', type: 'select', required: true, options: Object.entries(FIELDS) }),
      field({ name: 'stage', label: 'مرحله', type: 'select', options: Object.entries(STAGES) })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'business-save' }, 'ثبت کسب‌وکار')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = values(form);
    busy(form.querySelector('button'), form, async () => {
      const r = await post('/v1/businesses', { owner_id: v.owner_id, activity: v.activity, field: v.field, stage: v.stage });
      notice(form, `کسب‌وکار ${faDigits(r.data.id)} ثبت شد.`);
      form.append(h('p', {}, link(`#/person/${v.owner_id}`, 'بازگشت به پروندهٔ او')));
    });
  });
  screen('ثبت کسب‌وکار خانگی', form);
}
