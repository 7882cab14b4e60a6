// household.js — a household as the registry records it (/v1/households, issue 17): the members
// present and past, who heads it, and the size and dependants that follow from the members
// (never typed). The office forms one headed by a registered person, adds a member (a registered
// person found by national ID, or a dependant recorded by name), records a member leaving and
// changes the head. Every write on a household sends the ETag of the GET that drew the page as
// If-Match: a change made meanwhile comes back as 412, and the screen shows what changed and
// lets the user apply hers again on the new version.

import { get, post, qs, etagOf, ApiError } from '../api.js';
import { faDate, faDigits, faNumber, faState, parseJalali, latinDigits, SEXES, RELATIONS } from '../fa.js';
import { h, screen, field, values, facts, table, busy, link, notice, clearErrors, hashQuery } from '../ui.js';
import { showConflict } from '../conflict.js';

const RELATION_OPTIONS = Object.entries(RELATIONS).filter(([k]) => k !== 'head');
const present = (m) => !m.left_on;
// A date left empty is the API's today (the system's clock, not the browser's).
const TODAY_HINT = 'خالی بماند: امروز';

/** A date cell: the Jalali date in Persian digits inside <time>, or a dash. */
function dateCell(jalali, iso) {
  return iso || jalali ? h('time', { datetime: iso || '' }, faDate(jalali, iso)) : '—';
}

/** The API's date twin of a Jalali date the user typed (empty: the API's default, today). */
function jalaliArg(body, key, text) {
  if (text) body[`${key}_jalali`] = parseJalali(text) || text;
  return body;
}

/** The names of a household's registered members ({person_id: "first last"}), from their
 * records; a record the key may not read keeps its id. */
async function namesOf(hh, known = {}) {
  const ids = [...new Set((hh.members || []).map((m) => m.person_id).filter((p) => p && !(p in known)))];
  const got = await Promise.all(ids.map((p) => get(`/v1/persons/${p}`).then(
    (r) => [p, `${r.first_name} ${r.last_name}`], () => [p, p])));
  return { ...known, ...Object.fromEntries(got) };
}

const nameOf = (m, names) => m.name || names[m.person_id] || m.person_id || m.member_id;

function membersTable(hh, names, id) {
  return h('div', { id }, table('اعضای خانوار، حاضر و پیشین', [
    ['نام', (m) => (m.person_id ? link(`#/person/${m.person_id}`, nameOf(m, names)) : nameOf(m, names))],
    ['نسبت با سرپرست', (m) => RELATIONS[m.relationship] || m.relationship],
    ['جنسیت', (m) => SEXES[m.sex] || '—'],
    ['تاریخ تولد', (m) => dateCell(m.birth_date_jalali, m.birth_date)],
    ['معلولیت', (m) => (m.disability ? 'دارد' : '—')],
    ['پیوستن', (m) => dateCell(m.joined_on_jalali, m.joined_on)],
    ['خروج', (m) => (m.left_on ? h('span', {}, dateCell(m.left_on_jalali, m.left_on), m.leave_reason ? ` (${m.leave_reason})` : '') : '—')],
  ], hh.members || []));
}

function summary(hh, names) {
  return [
    ['سرپرست', h('span', { id: 'hh-head' }, hh.head_id ? names[hh.head_id] || hh.head_id : '—')],
    ['تعداد افراد حاضر', h('span', { id: 'hh-size' }, faNumber(hh.size))],
    ['افراد تحت تکفل', h('span', { id: 'hh-dependants' }, faNumber(hh.dependants))],
    ['وضعیت', faState(hh.status)],
  ];
}

/**
 * The household card of a person's page: her household (head, members, counts) with a link to
 * its screen, or, when she is in none, her own statement from registration and (for an office
 * key) a form that forms a household headed by her.
 */
export async function householdCard(me, p) {
  const list = await get(`/v1/households${qs({ person_id: p.id })}`).catch(() => ({ items: [] }));
  const hh = (list.items || [])[0];
  const card = h('section', { class: 'card', id: 'household', 'aria-labelledby': 'h-hh' }, h('h2', { id: 'h-hh' }, 'خانوار'));
  if (hh) {
    const names = await namesOf(hh);
    card.append(facts(summary(hh, names)), membersTable(hh, names, 'person-hh-members'),
      h('p', {}, link(`#/household/${hh.id}`, me.role === 'social_services' ? 'پروندهٔ خانوار: افزودن عضو، خروج عضو، تغییر سرپرست' : 'پروندهٔ خانوار')));
    return card;
  }
  card.append(h('p', {}, 'در پروندهٔ هیچ خانواری نیست. آنچه هنگام ثبت گفته است:'),
    facts([
      ['تعداد افراد خانوار', faNumber(p.household_size)],
      ['سرپرست خانوار', p.head_of_household ? 'بله' : 'خیر'],
      ['افراد تحت تکفل', faNumber(p.dependants ?? null)],
    ]));
  if (me.role !== 'social_services') return card;
  const form = h('form', { id: 'household-form', novalidate: true },
    h('div', { class: 'grid' }, field({ name: 'formed_on', label: 'تاریخ تشکیل (خورشیدی)', type: 'date', hint: TODAY_HINT })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'household-create' }, 'تشکیل خانوار با سرپرستی او')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form.querySelector('button'), form, mapFields({ date: 'formed_on', head_person_id: 'formed_on' }, async () => {
      try {
        const r = await post('/v1/households', jalaliArg({ head_person_id: p.id }, 'date', values(form).formed_on));
        location.hash = `#/household/${r.data.id}`;
      } catch (e) {
        if (e.code === 'already_in_household' && e.problem.household_id) {
          form.append(h('p', { id: 'household-existing' }, link(`#/household/${e.problem.household_id}`, 'خانواری که در آن است')));
        }
        throw e;
      }
    }));
  });
  card.append(form);
  return card;
}

/** fn with the API's field names turned into this form's (date -> joined_on, ...). */
function mapFields(map, fn) {
  return async () => {
    try {
      return await fn();
    } catch (e) {
      const f = e.field && (map[e.field] || map[e.field.replace(/_jalali$/, '')]);
      if (f) e.field = f;
      throw e;
    }
  };
}

/** A registered person of the office by national ID (any digits) or id (prs_...). */
async function findPerson(text) {
  const t = latinDigits(text).trim();
  if (!t) throw new ApiError(400, { code: 'missing_field', field: 'person_id' }, false);
  if (/^prs_/.test(t)) return t;
  const r = await get(`/v1/persons${qs({ national_id: t, limit: 1 })}`);
  const hit = (r.items || [])[0];
  if (!hit) {
    throw new ApiError(422, { code: 'unknown_person', field: 'person_id' }, false);
  }
  return hit.id;
}

function addForm(hh) {
  const kind = field({ name: 'member_kind', label: 'عضو تازه', type: 'select', options: [['person', 'فرد ثبت‌شده در همین دفتر'], ['dependant', 'فرد تحت تکفل (ثبت با نام)']] });
  const personPart = h('div', { class: 'grid', id: 'member-person' },
    field({ name: 'member_national_id', label: 'کد ملی یا شناسهٔ پرونده', inputmode: 'numeric', required: true }));
  const dependantPart = h('div', { class: 'grid', id: 'member-dependant', hidden: true },
    field({ name: 'dependant_name', label: 'نام و نام خانوادگی', required: true }),
    field({ name: 'dependant_sex', label: 'جنسیت', type: 'select', required: true, options: [['female', 'زن'], ['male', 'مرد']] }),
    field({ name: 'dependant_birth_date', label: 'تاریخ تولد (خورشیدی)', type: 'date', required: true }),
    field({ name: 'disability', label: 'معلولیت دارد', type: 'checkbox' }));
  const form = h('form', { class: 'card', id: 'member-form', novalidate: true }, h('h2', {}, 'افزودن عضو'),
    h('div', { class: 'grid' }, kind), personPart, dependantPart,
    h('div', { class: 'grid' },
      field({ name: 'relationship', label: 'نسبت با سرپرست', type: 'select', required: true, options: RELATION_OPTIONS }),
      field({ name: 'joined_on', label: 'تاریخ پیوستن (خورشیدی)', type: 'date', hint: TODAY_HINT })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'member-add' }, 'افزودن')));
  kind.querySelector('select').addEventListener('change', (ev) => {
    const dep = ev.target.value === 'dependant';
    personPart.hidden = dep;
    dependantPart.hidden = !dep;
  });
  const make = async () => {
    const v = values(form);
    const body = { relationship: v.relationship };
    if (v.member_kind === 'dependant') {
      Object.assign(body, { name: v.dependant_name, sex: v.dependant_sex, disability: v.disability });
      jalaliArg(body, 'birth_date', v.dependant_birth_date);
    } else {
      body.person_id = await findPerson(v.member_national_id);
    }
    jalaliArg(body, 'date', v.joined_on);
    const who = body.name || v.member_national_id;
    return [`/v1/households/${hh.id}/members`, body, `افزودن ${who} (${RELATIONS[v.relationship]})`];
  };
  const map = { person_id: 'member_national_id', name: 'dependant_name', sex: 'dependant_sex', birth_date: 'dependant_birth_date', date: 'joined_on', member: 'member_national_id' };
  return [form, make, map];
}

function leaveForm(hh, names) {
  const here = hh.members.filter(present);
  const form = h('form', { class: 'card', id: 'leave-form', novalidate: true }, h('h2', {}, 'خروج عضو'),
    h('div', { class: 'grid' },
      field({ name: 'leave_member', label: 'عضو', type: 'select', required: true, options: here.map((m) => [m.member_id, `${nameOf(m, names)} — ${RELATIONS[m.relationship] || m.relationship}`]) }),
      field({ name: 'left_on', label: 'تاریخ خروج (خورشیدی)', type: 'date', hint: TODAY_HINT }),
      field({ name: 'leave_reason', label: 'علت', hint: 'مثلاً ازدواج، فوت، جدایی' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'member-leave', class: 'danger' }, 'ثبت خروج')));
  const make = async () => {
    const v = values(form);
    const body = jalaliArg({}, 'date', v.left_on);
    if (v.leave_reason) body.reason = v.leave_reason;
    const m = here.find((x) => x.member_id === v.leave_member);
    return [`/v1/households/${hh.id}/members/${encodeURIComponent(v.leave_member)}/leave`, body, `خروج ${m ? nameOf(m, names) : v.leave_member}`];
  };
  return [form, make, { member: 'leave_member', date: 'left_on', reason: 'leave_reason' }];
}

function headForm(hh, names) {
  const can = hh.members.filter((m) => present(m) && m.person_id && m.person_id !== hh.head_id);
  const form = h('form', { class: 'card', id: 'head-form', novalidate: true }, h('h2', {}, 'تغییر سرپرست'));
  if (!can.length) {
    form.append(h('p', {}, 'عضو ثبت‌شدهٔ دیگری در خانوار نیست؛ سرپرست تنها از میان افراد ثبت‌شده برگزیده می‌شود.'));
    return [form, null, {}];
  }
  form.append(h('div', { class: 'grid' },
    field({ name: 'new_head', label: 'سرپرست تازه', type: 'select', required: true, options: can.map((m) => [m.person_id, nameOf(m, names)]) }),
    field({ name: 'previous_head_relationship', label: 'نسبت سرپرست پیشین با سرپرست تازه', type: 'select', required: true, options: RELATION_OPTIONS }),
    field({ name: 'head_date', label: 'تاریخ (خورشیدی)', type: 'date', hint: TODAY_HINT })),
  h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'head-change' }, 'ثبت سرپرست تازه')));
  const make = async () => {
    const v = values(form);
    const body = jalaliArg({ member: v.new_head }, 'date', v.head_date);
    if (v.previous_head_relationship) body.previous_head_relationship = v.previous_head_relationship;
    return [`/v1/households/${hh.id}/head`, body, `سرپرستی ${names[v.new_head] || v.new_head}`];
  };
  return [form, make, { member: 'new_head', date: 'head_date' }];
}

const CONFLICT_FIELDS = [
  ['head', 'سرپرست'], ['size', 'تعداد افراد حاضر'], ['dependants', 'افراد تحت تکفل'],
  ['present', 'اعضای حاضر'], ['status', 'وضعیت'], ['action', 'کار شما'],
];

function comparable(hh, names) {
  return {
    head: hh.head_id ? names[hh.head_id] || hh.head_id : null, size: hh.size, dependants: hh.dependants,
    present: (hh.members || []).filter(present).map((m) => nameOf(m, names)), status: faState(hh.status),
  };
}

export async function householdScreen(me, id) {
  const path = `/v1/households/${id}`;
  const hh = await get(path);   // remembers its ETag: the If-Match of every write below
  const names = await namesOf(hh);
  const conflict = h('div', { id: 'hh-conflict', 'aria-live': 'polite' });
  const canWrite = me.role === 'social_services' && hh.status !== 'dissolved';
  const forms = canWrite ? [addForm(hh), leaveForm(hh, names), headForm(hh, names)] : [];
  const done = async (text) => {
    await householdScreen(me, id);
    notice(document.getElementById('main'), text);
  };
  /* One write with the ETag the page was drawn from; a 412 shows what changed since. */
  const send = async (form, target, body, what, tag) => {
    try {
      await post(target, body, { ifMatch: tag });
    } catch (e) {
      if (e.status !== 412) throw e;
      const now = await get(path);   // the new version, and its ETag
      const nowNames = await namesOf(now, names);
      showConflict(conflict, {
        fields: CONFLICT_FIELDS, base: comparable(hh, names), now: comparable(now, nowNames),
        mine: { action: what }, err: e,
        onRetry: () => busy(conflict.querySelector('#retry'), conflict,
          () => send(form, target, body, what, etagOf(path))),
        onDiscard: () => householdScreen(me, id),
      });
      conflict.scrollIntoView?.({ block: 'nearest' });
      return;
    }
    await done(`${what} ثبت شد.`);
  };
  for (const [form, make, map] of forms) {
    if (!make) continue;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearErrors(form);
      conflict.replaceChildren();
      busy(form.querySelector('button[type=submit]'), form, mapFields(map, async () => {
        const [target, body, what] = await make();
        await send(form, target, body, what, etagOf(path));
      }));
    });
  }
  const head = hh.head_id ? names[hh.head_id] || hh.head_id : '—';
  screen(`خانوار ${head}`,
    h('div', { class: 'actions' }, hh.head_id ? link(`#/person/${hh.head_id}`, 'پروندهٔ سرپرست') : null),
    conflict,
    h('section', { class: 'card', 'aria-labelledby': 'h-hh-sum' }, h('h2', { id: 'h-hh-sum' }, 'خلاصه'),
      facts([...summary(hh, names), ['تشکیل', dateCell(null, hh.members?.[0]?.joined_on)]]),
      h('p', { class: 'hint' }, 'تعداد افراد و افراد تحت تکفل از اعضای حاضر شمرده می‌شود.')),
    h('section', { class: 'card', 'aria-labelledby': 'h-hh-members' }, h('h2', { id: 'h-hh-members' }, 'اعضا'),
      membersTable(hh, names, 'hh-members')),
    ...forms.map(([form]) => form));
}

/** The office's households (GET /v1/households: a key of one office sees its own), a page at a
 * time, each with its head, size and dependants. */
export async function householdsScreen(me) {
  const cursor = hashQuery().get('cursor');
  const list = await get(`/v1/households${qs({ limit: 25, cursor })}`);
  const items = list.items || [];
  const names = await namesOf({ members: items.filter((x) => x.head_id).map((x) => ({ person_id: x.head_id })) });
  const view = table('خانوارهای دفتر', [
    ['سرپرست', (x) => link(`#/household/${x.id}`, x.head_id ? names[x.head_id] || x.head_id : faDigits(x.id))],
    ['تعداد افراد حاضر', (x) => faNumber(x.size)],
    ['افراد تحت تکفل', (x) => faNumber(x.dependants)],
    ['تشکیل', (x) => dateCell(x.members?.[0]?.joined_on_jalali, x.members?.[0]?.joined_on)],
    ['دفتر', (x) => x.office],
    ['وضعیت', (x) => faState(x.status)],
  ], items);
  view.querySelectorAll('tbody tr').forEach((tr, i) => {
    tr.dataset.household = items[i].id;
    tr.dataset.office = items[i].office;
  });
  screen('خانوارها', h('div', { id: 'households' }, items.length ? view : h('p', {}, 'خانواری ثبت نشده است.')),
    list.next_cursor ? h('p', {}, link(`#/households?cursor=${encodeURIComponent(list.next_cursor)}`, 'صفحهٔ بعد')) : null,
    h('p', { class: 'hint' }, 'خانوار تازه از صفحهٔ سرپرست آن (پروندهٔ فرد) تشکیل می‌شود.'));
}
