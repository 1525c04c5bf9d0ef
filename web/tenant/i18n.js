// The hosted pages' words in the reader's language. Each language has one catalog,
// `locales/<tag>.json` (served by the binary at `/t/{slug}/locales/<tag>.json`): a flat map of
// message keys to text, where `{name}` stands for a value the page puts in. A count that
// changes the words (`{count} minutes`) has one key per plural form of the language
// (`key.one`, `key.other`, as `Intl.PluralRules` names them). A page loads only the catalog of
// the language it shows. The pages' markup names its messages: `data-i18n="key"` for an
// element's text, `data-i18n-placeholder="key"` for a field's placeholder.

let catalog = {};
let language = 'en';
let plurals = new Intl.PluralRules('en');

/** The tag of the language the page shows (`de`). */
export function currentLanguage() {
  return language;
}

/**
 * The first of `candidates` (BCP 47 tags, best first) whose language is one of `supported`:
 * a region falls back to its language (`de-AT` → `de`); one without a catalog is passed over.
 * `fallback` (the tenant's default language) when none is, else English.
 */
export function chooseLanguage(candidates, supported, fallback) {
  const available = new Set(supported);
  for (const candidate of candidates) {
    const primary = String(candidate ?? '').trim().split(/[-_]/)[0].toLowerCase();
    if (available.has(primary)) return primary;
  }
  return available.has(fallback) ? fallback : 'en';
}

/** Loads the catalog of `tag` from `url`; its messages are the page's from then on. */
export async function loadCatalog(url, tag) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  catalog = await response.json();
  language = tag;
  plurals = new Intl.PluralRules(tag);
}

/** Whether the catalog has message `key`. */
export function has(key) {
  return typeof catalog[key] === 'string';
}

/** Message `key` with each `{name}` replaced by `values[name]`; a missing message shows its key. */
export function t(key, values = {}) {
  const text = has(key) ? catalog[key] : key;
  return text.replace(/\{(\w+)\}/g, (placeholder, name) => (name in values ? String(values[name]) : placeholder));
}

/** Message `key` in the plural form for `count` (`key.one`, `key.few`, … else `key.other`), with `{count}`. */
export function plural(key, count, values = {}) {
  const form = `${key}.${plurals.select(count)}`;
  return t(has(form) ? form : `${key}.other`, { ...values, count });
}

/**
 * Puts the catalog's text into `root` and the elements below it that name a message
 * (`data-i18n`, `data-i18n-placeholder`).
 */
export function translate(root = document) {
  const named = (attribute) => [
    ...(root.matches?.(`[${attribute}]`) ? [root] : []),
    ...root.querySelectorAll(`[${attribute}]`),
  ];
  for (const element of named('data-i18n')) element.textContent = t(element.dataset.i18n);
  for (const element of named('data-i18n-placeholder')) element.placeholder = t(element.dataset.i18nPlaceholder);
}
