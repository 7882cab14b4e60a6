// api.js — the console's only way to the system: the public HTTP API of this gateway.
//
// The API key lives in sessionStorage only (gone when the tab closes; never localStorage, never
// a cookie). Every call asks for Persian (Accept-Language: fa). A GET remembers the resource's
// ETag; a PATCH of that resource sends it back as If-Match, so a change made meanwhile by
// someone else comes back as 412 precondition_failed instead of being overwritten.

import { PROBLEMS } from './fa.js';

const KEY = 'hamyar.key';
const etags = new Map();

export function getKey() { return sessionStorage.getItem(KEY); }
export function setKey(key) { sessionStorage.setItem(KEY, key); }
export function clearKey() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem('hamyar.who');
  etags.clear();
}

/** The ETag last seen for a path, if any. */
export function etagOf(path) { return etags.get(path.split('?')[0]) || null; }

/** An error from the API: its problem document (RFC 9457) with a Persian message. */
export class ApiError extends Error {
  constructor(status, problem, persian) {
    const code = problem?.code || (status === 0 ? 'network' : 'error');
    const text = (persian && (problem?.title || problem?.detail))
      ? [problem.title, problem.detail].filter(Boolean).join(': ')
      : (PROBLEMS[code] || `خطا (${code})`);
    super(text);
    this.status = status;
    this.code = code;
    this.field = problem?.field || null;
    this.problem = problem || {};
  }
}

/**
 * One call. opts: {method, body (JSON) or raw with contentType, key, ifMatch (true: the
 * remembered ETag), idempotency}.
 * Resolves to {status, data, etag, headers}; rejects with ApiError for 4xx/5xx or no answer.
 */
export async function call(path, opts = {}) {
  const method = opts.method || 'GET';
  const headers = { Accept: 'application/json', 'Accept-Language': 'fa' };
  const key = opts.key || getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body;
  if (opts.raw !== undefined) {          // a file as it is (an agency's list)
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
    body = opts.raw;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const bare = path.split('?')[0];
  if (opts.ifMatch) {
    const tag = typeof opts.ifMatch === 'string' ? opts.ifMatch : etags.get(bare);
    if (tag) headers['If-Match'] = tag;
  }
  if (opts.idempotency) headers['Idempotency-Key'] = opts.idempotency;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, null, false);
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const lang = resp.headers.get('Content-Language') || '';
    throw new ApiError(resp.status, data, lang.toLowerCase().startsWith('fa'));
  }
  const etag = resp.headers.get('ETag');
  if (etag && (method === 'GET' || method === 'PATCH')) etags.set(bare, etag);
  return { status: resp.status, data, etag, headers: resp.headers };
}

export const get = (path, opts) => call(path, { ...opts, method: 'GET' }).then((r) => r.data);
export const post = (path, body, opts) => call(path, { ...opts, method: 'POST', body });
export const patch = (path, body, opts) =>
  call(path, { ifMatch: true, ...opts, method: 'PATCH', body });

/** A query string of the set values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * Who a key is. When the API offers GET /v1/me (its OpenAPI document lists it), its answer
 * ({role, office}); otherwise, or when it answers nothing usable, the API is asked by probing
 * (whoAmIByProbing). Either way the offices come from GET /v1/offices.
 */
export async function whoAmI(key) {
  return (await whoAmIFromMe(key)) || whoAmIByProbing(key);
}

async function officesOf(key, role) {
  if (role === 'insurance_fund') return [];
  try { return (await call('/v1/offices', { key })).data?.items || []; } catch (e) {
    if (e.status === 401) throw e;
    return [];
  }
}

async function whoAmIFromMe(key) {
  let doc;
  try { doc = (await call('/v1/openapi.json', { key })).data; } catch (e) { return null; }
  if (!doc?.paths?.['/v1/me']?.get) return null;
  let me;
  try { me = (await call('/v1/me', { key })).data; } catch (e) {
    if (e.status === 401) throw e;
    return null;
  }
  const role = typeof me?.role === 'string' ? me.role : (Array.isArray(me?.roles) ? me.roles[0] : null);
  if (!role) return null;
  const office = typeof me.office === 'string' && me.office ? me.office : '*';
  return { role, office, offices: await officesOf(key, role), from: 'me' };
}

/**
 * Who a key is, asked of the API without a "me" endpoint: the role from which reads it may
 * make (the audit log is the auditor's, persons the offices', enrolments the fund's), the office
 * from the office filter a key of one office is refused (403 other_office).
 */
async function whoAmIByProbing(key) {
  const ok = async (path) => {
    try { await call(path, { key }); return true; } catch (e) {
      if (e.status === 403) return false;       // the role or the office may not
      if (e.status >= 400 && e.status < 500 && e.status !== 401) return true;  // may, asked wrong
      throw e;
    }
  };
  let role;
  if (!(await ok('/v1/offices'))) {
    if (await ok('/v1/enrolments?limit=1')) role = 'insurance_fund';
    else throw new ApiError(403, { code: 'forbidden' }, false);
  } else if (!(await ok('/v1/persons?limit=1'))) role = 'operator';
  else role = (await ok('/v1/audit?limit=1')) ? 'auditor' : 'social_services';
  let office = '*';
  const offices = await officesOf(key, role);
  if (role === 'social_services' || role === 'auditor') {
    if (!(await ok('/v1/persons?limit=1&office=%2A%2Aprobe'))) {
      office = null;
      for (const o of offices) {
        if (await ok(`/v1/persons${qs({ limit: 1, office: o.code })}`)) { office = o.code; break; }
      }
    }
  }
  return { role, office, offices };
}
