// ui.js — small DOM helpers shared by the screens: elements, forms, tables, messages and the
// error display (the API's problem in Persian, its `field` highlighted in the form).

/** An element: h('p', {class: 'x'}, 'text', child, ...). on* attributes add listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the main area with a screen: a heading (focused, for screen readers) and content. */
export function screen(title, ...content) {
  const main = document.getElementById('main');
  main.replaceChildren(h('h1', { tabindex: '-1', id: 'screen-title' }, title),
    ...content.flat().filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} — همیار`;
  document.getElementById('screen-title').focus();
  return main;
}

/**
 * A labelled form field. spec: {name, label, type ('text', 'number', 'select', 'checkbox',
 * 'textarea', 'date' (a Jalali date typed as text)), options: [[value, text]], value,
 * required, hint, inputmode}.
 */
export function field(spec) {
  const id = `f-${spec.name.replace(/[^a-z0-9_-]/gi, '-')}`;
  let input;
  if (spec.type === 'select') {
    input = h('select', { id, name: spec.name, required: spec.required },
      ...(spec.options || []).map(([v, t]) => h('option', { value: v, selected: String(spec.value ?? '') === String(v) }, t)));
  } else if (spec.type === 'textarea') {
    input = h('textarea', { id, name: spec.name, rows: 2, required: spec.required }, spec.value ?? '');
  } else if (spec.type === 'checkbox') {
    input = h('input', { id, name: spec.name, type: 'checkbox', checked: !!spec.value });
  } else {
    input = h('input', {
      id, name: spec.name, type: 'text', value: spec.value ?? '', required: spec.required,
      inputmode: spec.inputmode || (spec.type === 'number' || spec.type === 'date' ? 'numeric' : null),
      placeholder: spec.type === 'date' ? 'سال/ماه/روز' : null, dir: spec.dir || null,
      autocomplete: 'off',
    });
  }
  const hint = spec.hint ? h('small', { class: 'hint', id: `${id}-hint` }, spec.hint) : null;
  if (hint) input.setAttribute('aria-describedby', `${id}-hint`);
  const wrap = h('div', { class: `field${spec.type === 'checkbox' ? ' check' : ''}` },
    h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input, hint);
  return wrap;
}

/** The values of a form's fields by name (checkboxes as booleans). */
export function values(form) {
  const out = {};
  for (const el of form.querySelectorAll('input, select, textarea')) {
    if (!el.name) continue;
    out[el.name] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return out;
}

/** Clears a form's error marks. */
export function clearErrors(root) {
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    const msg = document.getElementById(`${el.id}-error`);
    if (msg) msg.remove();
  }
  for (const el of root.querySelectorAll('.alert')) el.remove();
}

/**
 * Shows an error in Persian at the top of root; when the API named a field, that field is
 * marked invalid (aria-invalid, red border, the message under it) and focused.
 */
export function showError(root, err) {
  clearErrors(root);
  const text = err?.message || 'خطای ناشناخته';
  const alert = h('div', { class: 'alert error', role: 'alert' }, text,
    err?.code ? h('span', { class: 'code', dir: 'ltr' }, ` (${err.code})`) : null);
  root.prepend(alert);
  const name = err?.field;
  if (name) {
    const leaf = name.split('.').pop().replace(/\[\d+\]$/, '');
    const input = root.querySelector(`[name="${CSS.escape(name)}"]`) ||
      root.querySelector(`[name="${CSS.escape(leaf)}"]`) ||
      root.querySelector(`[name="${CSS.escape(name.replace(/_jalali$/, ''))}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      const msg = h('small', { class: 'field-error', id: `${input.id}-error` }, text);
      input.setAttribute('aria-describedby', `${input.id}-error`);
      input.after(msg);
      input.focus();
    }
  }
  return alert;
}

/** A message of success at the top of root. */
export function notice(root, text) {
  for (const el of root.querySelectorAll('.alert')) el.remove();
  const n = h('div', { class: 'alert ok', role: 'status' }, text);
  root.prepend(n);
  return n;
}

/** A table: columns [[heading, row => cell]], rows. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...columns.map(([t]) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...columns.map(([, f]) => h('td', {}, f(r))))))));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** Runs fn with the button disabled; errors go to showError(root). */
export async function busy(button, root, fn) {
  button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    showError(root, e);
    return undefined;
  } finally {
    button.disabled = false;
  }
}

export function link(href, text) { return h('a', { href }, text); }

/** The query of the hash (#/search?q=…). */
export function hashQuery() {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : location.hash.slice(i + 1));
}
