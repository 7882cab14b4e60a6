// fa.js — Persian text: digits, numbers, rials, Jalali dates, and the words the console shows
// for the API's codes and states. Pure functions, no DOM.

const FA_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const AR_DIGITS = '٠١٢٣٤٥٦٧٨٩';

/** Latin digits of a text turned Persian. */
export function faDigits(text) {
  return String(text ?? '').replace(/[0-9]/g, (d) => FA_DIGITS[d]);
}

/** Persian and Arabic-Indic digits turned Latin (what the API takes). */
export function latinDigits(text) {
  return String(text ?? '').replace(/[۰-۹]/g, (d) => String(FA_DIGITS.indexOf(d)))
    .replace(/[٠-٩]/g, (d) => String(AR_DIGITS.indexOf(d)));
}

/** An integer with Persian digits and the Persian thousands separator. */
export function faNumber(n) {
  if (n === null || n === undefined || n === '') return '—';
  const s = String(Math.trunc(Number(n)));
  const neg = s.startsWith('-');
  const body = (neg ? s.slice(1) : s).replace(/\B(?=(\d{3})+(?!\d))/g, '٬');
  return (neg ? '−' : '') + faDigits(body);
}

export function faRials(n) {
  return n === null || n === undefined ? '—' : `${faNumber(n)} ریال`;
}

/** Basis points as a Persian percentage. */
export function faPercent(bp) {
  if (bp === null || bp === undefined) return '—';
  return `${faDigits((Number(bp) / 100).toFixed(2).replace('.', '٫'))}٪`;
}

// ---- Jalali calendar (the arithmetic of jdf / jalaali-js, proleptic) ----------------------
function div(a, b) { return Math.trunc(a / b); }

/** Gregorian (y, m, d) to Jalali [jy, jm, jd]. */
export function toJalali(gy, gm, gd) {
  const gdm = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
  const gy2 = gm > 2 ? gy + 1 : gy;
  let days = 355666 + 365 * gy + div(gy2 + 3, 4) - div(gy2 + 99, 100) + div(gy2 + 399, 400) +
    gd + gdm[gm - 1];
  let jy = -1595 + 33 * div(days, 12053);
  days %= 12053;
  jy += 4 * div(days, 1461);
  days %= 1461;
  if (days > 365) {
    jy += div(days - 1, 365);
    days = (days - 1) % 365;
  }
  const jm = days < 186 ? 1 + div(days, 31) : 7 + div(days - 186, 30);
  const jd = 1 + (days < 186 ? days % 31 : (days - 186) % 30);
  return [jy, jm, jd];
}

const pad = (n) => String(n).padStart(2, '0');

/** "YYYY/MM/DD" (Latin digits) of an ISO date or timestamp, in Tehran's day for a timestamp. */
export function jalaliOf(iso) {
  if (!iso) return '';
  let y, m, d;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) {
    [y, m, d] = iso.split('-').map(Number);
  } else {
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) return '';
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tehran', year: 'numeric',
      month: '2-digit', day: '2-digit' }).format(t).split('-').map(Number);
    [y, m, d] = parts;
  }
  const [jy, jm, jd] = toJalali(y, m, d);
  return `${jy}/${pad(jm)}/${pad(jd)}`;
}

/** The Jalali date with Persian digits: from a `_jalali` twin when the API gave one. */
export function faDate(jalali, iso) {
  const j = jalali || jalaliOf(iso);
  return j ? faDigits(j) : '—';
}

/** Today's Jalali date with Persian digits (the browser's clock, Tehran's day). */
export function faToday() {
  return faDigits(jalaliOf(new Date().toISOString()));
}

/** A Jalali date typed by a user (any digits, / or -) as the API's YYYY/MM/DD, or null. */
export function parseJalali(text) {
  const t = latinDigits(String(text || '').trim()).replace(/-/g, '/');
  const m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(t);
  if (!m) return null;
  return `${m[1]}/${pad(m[2])}/${pad(m[3])}`;
}

// ---- words ----------------------------------------------------------------------------------
export const ROLES = {
  social_services: 'کارشناس دفتر', operator: 'راهبر سامانه', auditor: 'حسابرس',
  insurance_fund: 'صندوق بیمه',
};

export const STATES = {
  active: 'فعال', exited: 'خارج‌شده', deceased: 'فوت‌شده', merged: 'ادغام‌شده',
  applied: 'درخواست‌شده', appraised: 'ارزیابی‌شده', approved: 'تصویب‌شده', rejected: 'ردشده',
  withdrawn: 'انصراف', disbursed: 'پرداخت‌شده', repaid: 'بازپرداخت‌شده', closed: 'بسته',
  written_off: 'سوخت‌شده', requested: 'درخواست‌شده', submitted: 'ارسال به صندوق',
  confirmed: 'تأییدشده', refused: 'نپذیرفته', suspended: 'معلق', cancelled: 'لغوشده',
  upcoming: 'آینده', due: 'سررسید', paid: 'پرداخت‌شده', overdue: 'معوق', partial: 'ناقص',
  current: 'جاری', queued: 'در صف', running: 'در حال اجرا', done: 'پایان‌یافته',
  failed: 'ناموفق', voided: 'باطل‌شده', dissolved: 'منحل‌شده',
};

export const SEXES = { female: 'زن', male: 'مرد' };

/** A household member's relationship to the head (the registry's enum). */
export const RELATIONS = {
  head: 'سرپرست', spouse: 'همسر', child: 'فرزند', parent: 'پدر یا مادر', sibling: 'خواهر یا برادر',
  grandchild: 'نوه', grandparent: 'پدربزرگ یا مادربزرگ', other_relative: 'خویشاوند دیگر', other: 'دیگر',
};

export const ACTIVITY_KINDS = {
  training_class: 'کلاس آموزشی', counselling: 'مشاوره', employer_referral: 'معرفی به کارفرما',
  job_created: 'ایجاد شغل', aid: 'کمک غیرنقدی', meeting: 'جلسه',
};

export const FIELDS = {
  agriculture: 'کشاورزی', industry: 'صنعت', handicrafts: 'صنایع دستی', services: 'خدمات',
};

export const SERVICES = {
  registry: 'ثبت', loans: 'وام', networks: 'شبکه', microfund: 'صندوق خرد', insurance: 'بیمه',
  reporting: 'گزارش',
};

/** A state's Persian word, or the state itself. */
export function faState(s) { return STATES[s] || s || '—'; }

const NOUNS = {
  person: 'پرونده', business: 'کسب‌وکار', activity: 'فعالیت', office: 'دفتر', loan: 'وام',
  product: 'طرح وام', household: 'خانوار', enrolment: 'بیمه', network: 'شبکه', buyer: 'خریدار', fund: 'صندوق',
};
const VERBS = {
  registered: 'ثبت‌نام', updated: 'تغییر', created: 'ثبت', recorded: 'ثبت', corrected: 'اصلاح',
  voided: 'ابطال', merged: 'ادغام', transferred: 'انتقال به دفتر دیگر', status_changed: 'تغییر وضعیت',
  stage_changed: 'تغییر مرحله', applied: 'درخواست', appraised: 'ارزیابی', approved: 'تصویب',
  rejected: 'رد', withdrawn: 'انصراف', disbursed: 'پرداخت', repaid: 'بازپرداخت',
  repayment_recorded: 'بازپرداخت', overdue: 'معوق شدن', written_off: 'سوخت', recovered: 'وصول',
  rescheduled: 'امهال', requested: 'درخواست', submitted: 'ارسال به صندوق', confirmed: 'تأیید صندوق',
  refused: 'نپذیرفتن صندوق', suspended: 'تعلیق', reinstated: 'بازگشت', cancelled: 'لغو',
  contribution_recorded: 'پرداخت حق بیمه', member_joined: 'عضویت', member_left: 'خروج از عضویت',
  order_placed: 'سفارش', order_fulfilled: 'انجام سفارش', delivery_recorded: 'تحویل کار',
  payment_recorded: 'پرداخت', work_assigned: 'واگذاری کار', lead_assigned: 'تعیین سرگروه',
  formed: 'تشکیل', meeting_held: 'جلسه', saving_recorded: 'پس‌انداز', loan_issued: 'وام صندوق',
  loan_settled: 'تسویهٔ وام صندوق', loan_defaulted: 'نکول وام صندوق', shareout_completed: 'تقسیم سود',
  training_held: 'آموزش', fine_paid: 'جریمه', grant_paid: 'کمک بلاعوض', cycle_started: 'دورهٔ تازه',
  social_fund_contributed: 'صندوق اجتماعی', head_changed: 'تغییر سرپرست',
};

/** The Persian words of an event type: "وام: پرداخت وام" for loans.loan.disbursed. */
export function faEvent(type) {
  const parts = String(type || '').split('.');
  const svc = parts[0];
  const verb = parts[parts.length - 1];
  const noun = parts.length > 2 ? NOUNS[parts[1]] : null;
  const what = VERBS[verb] ? `${VERBS[verb]}${noun && !VERBS[verb].includes(noun) ? ` ${noun}` : ''}` : parts.slice(1).join('.');
  return `${SERVICES[svc] || svc}: ${what}`;
}

/** Persian words for the API's problem codes; the API's own Persian title wins when it sends
 * one (Content-Language: fa), this is the fallback. */
export const PROBLEMS = {
  unauthenticated: 'کلید دسترسی فرستاده نشد.',
  invalid_api_key: 'کلید دسترسی معتبر نیست.',
  forbidden: 'نقش شما اجازهٔ این کار را ندارد.',
  other_office: 'این رکورد از دفتر دیگری است.',
  not_found: 'پیدا نشد.',
  missing_field: 'این خانه باید پر شود.',
  invalid_field: 'مقدار این خانه درست نیست.',
  invalid_national_id: 'کد ملی درست نیست.',
  invalid_mobile: 'شمارهٔ همراه درست نیست.',
  invalid_date: 'تاریخ درست نیست.',
  duplicate_national_id: 'فردی با این کد ملی پیش‌تر ثبت شده است.',
  possible_duplicate: 'فردی با همین نام و تاریخ تولد ثبت شده است.',
  neighbourhood_not_in_office: 'این محله در حوزهٔ دفتر نیست.',
  precondition_failed: 'این رکورد پس از بازکردن شما تغییر کرده است.',
  invalid_state: 'در وضعیت کنونی این کار ممکن نیست.',
  date_out_of_order: 'تاریخ پیش از آخرین تاریخ ثبت‌شده است.',
  already_submitted: 'این گزارش پیش‌تر ارسال شده است.',
  already_in_household: 'این فرد اکنون عضو خانوار دیگری است.',
  member_left: 'این عضو پیش‌تر از خانوار خارج شده است.',
  household_dissolved: 'این خانوار منحل شده است.',
  household_conflict: 'این دو پرونده در دو خانوار جدا هستند.',
  person_or_name: 'یا فرد ثبت‌شده را برگزینید یا نام فرد تحت تکفل را بنویسید، نه هر دو.',
  missing_member: 'عضو را مشخص کنید.',
  missing_sex: 'جنسیت فرد تحت تکفل را بگویید.',
  missing_birth_date: 'تاریخ تولد فرد تحت تکفل را بنویسید.',
  invalid_name: 'نام باید حرف داشته باشد.',
  invalid_birth_date: 'تاریخ تولد درست نیست.',
  unknown_person: 'فردی با این کد ملی یا شناسه ثبت نشده است.',
  person_in_other_office: 'این فرد در دفتر دیگری ثبت شده است.',
  invalid_relationship: 'این نسبت پذیرفته نیست؛ سرپرست را از بخش تغییر سرپرست عوض کنید.',
  head_leaving: 'سرپرست تا دیگران در خانوارند نمی‌تواند خارج شود؛ نخست سرپرست تازه را برگزینید.',
  head_not_registered: 'سرپرست باید فرد ثبت‌شده باشد.',
  already_head: 'این فرد هم‌اکنون سرپرست است.',
  missing_relationship: 'نسبت سرپرست پیشین را با سرپرست تازه بگویید.',
  future_date: 'تاریخ نمی‌تواند در آینده باشد.',
  already_resolved: 'این مورد پیش‌تر بررسی شده است.',
  merged: 'این پرونده در پروندهٔ دیگری ادغام شده است.',
  merge_into_self: 'پرونده را نمی‌توان در خودش ادغام کرد.',
  missing_reason: 'علت را بنویسید.',
  before_programme_start: 'تاریخ پیش از آغاز برنامه است.',
  service_unavailable: 'سرویس در دسترس نیست؛ کمی بعد دوباره تلاش کنید.',
  timeout: 'پاسخی نرسید؛ دوباره تلاش کنید.',
  network: 'ارتباط با سامانه برقرار نشد.',
};

export const MEETING_KINDS = {
  working_group: 'کارگروه', steering_council: 'شورای راهبری', empowerment_group: 'گروه توانمندسازی',
};

export const STAGES = {
  applicant: 'متقاضی', training: 'در حال آموزش', producing: 'در حال تولید', developing: 'در حال توسعه',
  established: 'تثبیت‌شده',
};
