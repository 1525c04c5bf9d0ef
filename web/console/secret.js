// A secret shown once (an application's client secret, an API key, a SCIM token, a new
// tenant's admin API key): the value in a read-only box, a Copy button
// (`navigator.clipboard.writeText`), and a plain "you will not see it again". Nothing keeps
// it: leaving or reloading the page forgets it, as the server does not answer it twice.

import { h, showError, showStatus, uid } from './ui.js';

/**
 * A notice holding `value`: `{ id, title, value, note }`. The box is `#<id>-value`, the
 * button `#<id>-copy`; the notice is focused so a screen reader reads it at once.
 */
export function secretNotice({ id = uid('secret'), title, value, note = null }) {
  const box = h('input', {
    id: `${id}-value`,
    className: 'secret-value',
    type: 'text',
    readonly: true,
    value,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': `${id}-warning`,
  });
  const copy = h('button', { id: `${id}-copy`, type: 'button', className: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = 'Copied';
      showStatus('Copied to the clipboard.', 'success');
    } catch (error) {
      // Some browsers refuse the clipboard (no permission, not focused): select the text instead.
      box.focus();
      box.select();
      showError({ message: `The browser refused the clipboard (${error?.message ?? error}); the text is selected, copy it with Ctrl+C`, code: 'CLIPBOARD' });
    }
  });
  const notice = h(
    'div',
    { id, className: 'secret-notice', role: 'region', 'aria-labelledby': `${id}-title`, tabindex: '-1' },
    h('h2', { id: `${id}-title` }, title),
    h('p', { id: `${id}-warning`, className: 'secret-warning' }, 'Copy it now: you will not see it again. Latchkey keeps only a hash of it.'),
    note ? h('p', {}, note) : null,
    h('div', { className: 'secret-row' }, h('label', { for: `${id}-value`, className: 'visually-hidden' }, title), box, copy),
  );
  return notice;
}

/** Puts a secret notice into `slot` (replacing an earlier one) and focuses it. */
export function showSecret(slot, options) {
  const notice = secretNotice(options);
  slot.replaceChildren(notice);
  notice.focus();
  return notice;
}

/**
 * A secret handed from the screen that created it to the screen it navigates to (in memory
 * only, taken once): a reload finds nothing.
 */
let handedOver = null;

export function handOverSecret(key, secret) {
  handedOver = { key, secret };
}

export function takeSecret(key) {
  if (handedOver?.key !== key) return null;
  const { secret } = handedOver;
  handedOver = null;
  return secret;
}
