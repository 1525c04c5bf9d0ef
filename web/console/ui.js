// DOM helpers shared by the console's screens: building elements without HTML strings (every
// text from the server goes in as text, never as markup), the status live region, errors on
// form fields, the confirm dialog, and how dates and roles are shown.

/**
 * Builds an element: `h('button', { type: 'button', onclick }, 'Save')`. Attributes whose value
 * is `false`, `null` or `undefined` are left out; `on…` functions become listeners; `dataset`
 * takes an object. Children are nodes or text (arrays are flattened, null/false skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'className') {
      element.className = value;
    } else if (name === 'value' && 'value' in element) {
      element.value = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A unique id for labels and descriptions. */
let counter = 0;
export function uid(prefix = 'field') {
  counter += 1;
  return `${prefix}-${counter}`;
}

// ---------------------------------------------------------------------------------------
// Status region

/**
 * Shows a message in the page's `#status` live region: `kind` is `info`, `success` or `error`;
 * an empty message clears it.
 */
export function showStatus(message, kind = 'info') {
  const region = document.getElementById('status');
  if (!region) return;
  region.dataset.kind = message ? kind : '';
  region.textContent = message ?? '';
}

/** A refused action as a person reads it: the server's message and its code. */
export function describeError(error) {
  const message = String(error?.message ?? 'Something went wrong.').trim();
  return error?.code ? `${message} (${error.code})` : message;
}

/** Shows an error in the status region (message and code). */
export function showError(error) {
  showStatus(describeError(error), 'error');
}

// ---------------------------------------------------------------------------------------
// Forms

/**
 * A labelled field: `{ label, name, type, required, optional, hint, options, value, … }` (other
 * keys become attributes of the control; `optional` adds "(optional)" to the label). A
 * `select` takes `options` as `[value, text]` pairs; `textarea` a `rows`. Answers the wrapper
 * (`.field`), whose control is found by its `name` in the form.
 */
export function field({ label, name, type = 'text', hint, options, rows, optional = false, id = uid(name), ...rest }) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  let control;
  if (type === 'select') {
    control = h(
      'select',
      { id, name, 'aria-describedby': describedBy, ...rest },
      options.map(([value, text]) => h('option', { value }, text)),
    );
    if (rest.value !== undefined) control.value = rest.value;
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, rows: rows ?? 4, 'aria-describedby': describedBy, spellcheck: 'false', ...rest });
  } else {
    control = h('input', { id, name, type, 'aria-describedby': describedBy, ...rest });
  }
  return h(
    'div',
    { className: 'field' },
    h('label', { for: id }, label, optional ? h('span', { className: 'optional' }, ' (optional)') : null),
    control,
    hint ? h('p', { id: hintId, className: 'hint' }, hint) : null,
    h('p', { id: errorId, className: 'field-error', hidden: true }),
  );
}

/** Clears the marks `markField` left on a form. */
export function clearFieldErrors(form) {
  for (const control of form.querySelectorAll('[aria-invalid="true"]')) control.removeAttribute('aria-invalid');
  for (const message of form.querySelectorAll('.field-error')) {
    message.hidden = true;
    message.textContent = '';
  }
}

/**
 * The control of `form` an error's `extensions.field` names (`email`, `displayName`,
 * `attributes.tier` → the `attributes` control, `input.email` → `email`), or null.
 */
function controlFor(form, fieldName) {
  if (!fieldName) return null;
  // `redirectUris[2]` and `redirectUris.2` name the `redirectUris` box.
  const parts = String(fieldName).replace(/\[\d+\]/g, '').split('.').filter((part) => !/^\d+$/.test(part));
  if (parts[0] === 'input' && parts.length > 1) parts.shift();
  for (let length = parts.length; length > 0; length -= 1) {
    const control = form.querySelector(`[name="${CSS.escape(parts.slice(0, length).join('.'))}"]`);
    if (control) return control;
  }
  return null;
}

/**
 * Marks the form control an error is about (`aria-invalid`, the message beside it, focused)
 * when the error names a field of this form; answers whether it did. The message beside the
 * field leaves out the `field: ` prefix the server's validation messages start with.
 */
export function markField(form, error) {
  const control = controlFor(form, error?.field);
  if (!control) return false;
  control.setAttribute('aria-invalid', 'true');
  const message = document.getElementById(`${control.id}-error`);
  if (message) {
    const text = String(error.message ?? '');
    const prefix = `${error.field}: `;
    message.textContent = text.startsWith(prefix) ? text.slice(prefix.length) : text;
    message.hidden = false;
  }
  control.focus();
  return true;
}

/**
 * Wires a form: on submit, clears earlier errors, disables its buttons and runs `action(form)`.
 * A refusal shows in the status region (message and code) and on the field it names.
 */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    clearFieldErrors(form);
    const buttons = [...form.querySelectorAll('button')];
    form.setAttribute('aria-busy', 'true');
    for (const button of buttons) button.disabled = true;
    try {
      await action(form);
    } catch (error) {
      showError(error);
      markField(form, error);
    } finally {
      form.setAttribute('aria-busy', 'false');
      for (const button of buttons) if (button.isConnected) button.disabled = false;
    }
  });
}

/** Runs a button's action with the button disabled; a refusal shows in the status region. */
export async function withButton(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    if (button.isConnected) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Confirmation

/**
 * Asks before a destructive action, in the page's `#confirm-dialog` (a modal `<dialog>`: focus
 * stays in it, Escape cancels). Answers true when the person confirmed.
 */
export function confirmAction({ title, message, confirm = 'Confirm' }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  document.getElementById('confirm-ok').textContent = confirm;
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  return new Promise((resolve) => {
    const returnFocus = document.activeElement;
    dialog.returnValue = '';
    const close = (value) => () => dialog.close(value);
    const onOk = close('confirm');
    const onCancel = close('cancel');
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener(
      'close',
      () => {
        ok.removeEventListener('click', onOk);
        cancel.removeEventListener('click', onCancel);
        resolve(dialog.returnValue === 'confirm');
        if (returnFocus?.isConnected) returnFocus.focus();
      },
      { once: true },
    );
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

// ---------------------------------------------------------------------------------------
// Formats

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A timestamp as a local date and time, inside a `<time>`; an em dash for none. */
export function time(value) {
  if (!value) return h('span', { className: 'muted' }, '—');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return h('time', { datetime: date.toISOString() }, dateFormat.format(date));
}

const ROLE_NAMES = { OWNER: 'Owner', ADMIN: 'Admin', VIEWER: 'Viewer', SUPPORT: 'Support' };

/** A role's name for people (`OWNER` → "Owner"). */
export function roleName(role) {
  return ROLE_NAMES[role] ?? String(role ?? '');
}

/** A small label such as a status: `h('span', { class: 'badge badge-active' })`. */
export function badge(text, kind = 'neutral') {
  return h('span', { className: `badge badge-${kind}` }, text);
}

/** A table in a scrollable, focusable region (so a narrow screen scrolls it, not the page). */
export function table({ label, columns, rows, empty = 'Nothing yet.' }) {
  if (!rows.length) return h('p', { className: 'empty' }, empty);
  return h(
    'div',
    // Named apart from the section around it: two landmarks with one name confuse.
    { className: 'table-wrap', role: 'region', 'aria-label': `${label} (table)`, tabindex: '0' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column)))),
      h('tbody', {}, rows),
    ),
  );
}

/** A "loading" placeholder for a section. */
export function loading(text = 'Loading…') {
  return h('p', { className: 'muted loading' }, text);
}

// ---------------------------------------------------------------------------------------
// Sections and small pieces shared by the areas

/**
 * A card section with a heading (`h2#<id>-heading`) that a screen fills later; answers
 * `{ section, fill(...children), fail(error) }`: `fill` replaces what is under the heading,
 * `fail` shows a refusal there (message and code), so one section a role may not read does
 * not hide the rest.
 */
export function card(id, title, { headerExtra = null } = {}) {
  const headingId = `${id}-heading`;
  const header = () => (headerExtra ? h('div', { className: 'section-header' }, h('h2', { id: headingId }, title), headerExtra) : h('h2', { id: headingId }, title));
  const section = h('section', { id, className: 'card', 'aria-labelledby': headingId }, header(), loading());
  return {
    section,
    fill: (...children) => replace(section, header(), ...children),
    fail: (error) => replace(section, header(), errorNotice(error)),
  };
}

/** A refusal as a notice: the server's message and code. */
export function errorNotice(error) {
  return h('p', { className: 'notice notice-error' }, describeError(error));
}

/** An em dash for a missing value. */
export function none() {
  return h('span', { className: 'muted' }, '—');
}

/** A short "where this comes from" line under a figure or list. */
export function source(...children) {
  return h('p', { className: 'source' }, 'Source: ', children);
}

/**
 * A toggled form: a button (`#<id>-toggle`, `aria-expanded`) that shows and hides `form`, and
 * focuses its first control when opened. Both are write controls (`data-write`).
 */
export function disclosure(id, label, form) {
  form.hidden = true;
  const toggle = h('button', { id: `${id}-toggle`, type: 'button', className: 'button', 'aria-expanded': 'false', 'aria-controls': form.id, dataset: { write: '' } }, label);
  toggle.addEventListener('click', () => {
    const open = form.hidden;
    form.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) form.querySelector('input, select, textarea')?.focus();
  });
  return toggle;
}

/** A comma or newline separated list typed in a box, trimmed, empty items dropped. */
export function listFrom(text) {
  return String(text ?? '')
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Parses a JSON box of a form: the value (`fallback` when empty). A mistake is thrown as a
 * `BAD_USER_INPUT` about `name`, so the form marks the box.
 */
export function parseJsonField(text, name, { fallback = null, object = true } = {}) {
  if (!String(text ?? '').trim()) return fallback;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${name}: is not valid JSON (${error.message})`), { code: 'BAD_USER_INPUT', field: name });
  }
  if (object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw Object.assign(new Error(`${name}: must be a JSON object`), { code: 'BAD_USER_INPUT', field: name });
  }
  return value;
}

/** A datetime-local box's value as an RFC 3339 instant, or null when empty. */
export function instantFrom(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A labelled checkbox: `{ label, name, id, checked, hint }`. */
export function checkbox({ label, name, id = uid(name), checked = false, hint, value }) {
  const hintId = hint ? `${id}-hint` : null;
  return h(
    'div',
    { className: 'checkbox-field' },
    h('div', { className: 'checkbox' }, h('input', { id, name, type: 'checkbox', checked: !!checked, value, 'aria-describedby': hintId }), h('label', { for: id }, label)),
    hint ? h('p', { id: hintId, className: 'hint' }, hint) : null,
  );
}
