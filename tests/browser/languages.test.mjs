// End-to-end test of the hosted pages' languages in a real browser (Debian's Chromium driven by
// playwright-core) against the real `latchkey` server: the sign-in and account pages in the
// browser's language (German, from `de-AT`), the account page in the identity's stored locale
// (French) over the browser's, the languages an application asks for (`ui_locales`), and the
// tenant's `defaultLocale` for a browser language without a catalog (Italian). Each page loads
// only its language's catalog. See README.md beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import { launchChromium, message, newDevice, statusOf, stepsInOrder, waitForAccount } from './support.mjs';

const EMAIL = 'grete@example.com';

async function graphql(url, query, variables, bearer) {
  return (await postGraphql(`${url}/t/demo/graphql`, query, variables, bearer)).body;
}

/** The catalogs a device's pages fetched (`de`, …), in order. */
function catalogsFetched(device) {
  return device.catalogs.map((url) => /\/locales\/([^/]+)\.json$/.exec(url)[1]);
}

/** A device whose browser speaks `locale`, recording the catalogs its pages fetch. */
async function deviceIn(browser, locale) {
  const device = await newDevice(browser, { locale });
  device.catalogs = [];
  device.context.on('request', (request) => {
    if (request.url().includes('/locales/')) device.catalogs.push(request.url());
  });
  return device;
}

async function openSignIn(page, url, query = '') {
  await page.goto(`${url}/t/demo/${query}`);
  await page.locator('main[aria-busy="false"]').waitFor();
}

describe('hosted pages: languages in Chromium', { timeout: 300_000 }, () => {
  let server;
  let browser;
  let identityId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      server = await startServer();
      const created = await graphql(
        server.url,
        'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id locale } } }',
        { input: { email: EMAIL, displayName: 'Grete' } },
        server.apiKey,
      );
      identityId = created.data?.createIdentity.identity.id;
      assert.ok(identityId, JSON.stringify(created));
      assert.equal(created.data.createIdentity.identity.locale, null);
      browser = await launchChromium();
    } catch (error) {
      steps.setupError = error;
    }
  });

  after(async () => {
    await browser?.close();
    if (server) {
      if (steps.failed) console.error(`server stderr (last part):\n${server.stderr()}`);
      await server.stop();
    }
  });

  let austrian;

  step('a browser in Austrian German (de-AT) gets the sign-in page in German, errors from server codes included', async () => {
    austrian = await deviceIn(browser, 'de-AT');
    const { page } = austrian;
    assert.deepEqual(await page.evaluate(() => navigator.languages), ['de-AT']);
    await openSignIn(page, server.url);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.title(), 'Anmelden · Demo');
    assert.equal(await page.locator('#signin-heading').textContent(), 'Anmelden');
    assert.equal(await page.locator('label[for="signin-email"]').textContent(), 'E-Mail');
    assert.equal(await page.locator('#signin-passkey-button').textContent(), 'Mit einem Passkey anmelden');
    assert.equal(await page.locator('#signin-email-hint').textContent(), message('de', 'signin.emailHintPasskeyCode'));
    assert.deepEqual(catalogsFetched(austrian), ['de'], 'only the German catalog');

    // A wrong emailed code: the page words the server's BAD_USER_INPUT (field `code`) in German.
    await page.fill('#signin-email', EMAIL);
    await page.click('#signin-code-button');
    await page.locator('#code-form:not([hidden])').waitFor();
    assert.equal(await page.locator('#email-heading').textContent(), 'Anmelden');
    assert.match(await page.locator('#code-sent').textContent(), /^Falls grete@example\.com zu einem Konto gehört/);
    const mail = await server.mailbox.nextCode(EMAIL);
    const wrong = String((Number(mail.code) + 1) % 1_000_000).padStart(6, '0');
    await page.fill('#code-input', wrong);
    await page.click('#code-button');
    assert.match(await statusOf(page, 'error'), /^Dieser Code ist nicht richtig\. Sie haben noch \d+ Versuche?\.$/);

    await page.fill('#code-input', mail.code);
    await page.click('#code-button');
    await page.locator('#offer-form:not([hidden])').waitFor();
    assert.equal(await page.locator('#offer-skip-button').textContent(), 'Nicht jetzt');
    assert.equal(await page.locator('#offer-text').textContent(), message('de', 'offer.textAs', { email: EMAIL }));
    await page.click('#offer-skip-button');
    await waitForAccount(page, server.url);
  });

  step('the account page of an identity with no stored locale is in the browser’s language (German)', async () => {
    const { page } = austrian;
    await page.locator('main[data-profile-ready="true"]').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.title(), 'Ihr Konto · Demo');
    assert.equal(await page.locator('h1').textContent(), 'Ihr Konto');
    assert.equal(await page.locator('#signout-button').textContent(), 'Abmelden');
    assert.equal(await page.locator('#passkey-count').textContent(), '(0 Passkeys)');
    assert.equal(await page.locator('#session-count').textContent(), '(1 Sitzung)');
    assert.equal(await page.locator('.session-current').textContent(), 'Dieses Gerät');
    assert.equal(await page.getAttribute('#add-passkey-name', 'placeholder'), 'z. B. Arbeitslaptop');
    assert.equal(await page.locator('label[for="profile-locale"]').textContent(), 'Sprache');
    const languages = await page.evaluate(() =>
      [...document.querySelectorAll('#profile-locale option')].map((option) => [option.value, option.textContent]),
    );
    assert.deepEqual(languages, [
      ['', 'Standard des Dienstes'],
      ['de', 'Deutsch'],
      ['en', 'English'],
      ['es', 'Español'],
      ['fr', 'Français'],
    ]);
    assert.equal(await page.locator('#events-empty').textContent(), 'Noch nichts.');
    assert.deepEqual(catalogsFetched(austrian), ['de', 'de']);
  });

  step('the identity’s stored locale (French) wins over the German browser', async () => {
    const { page } = austrian;
    const updated = await graphql(
      server.url,
      'mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { locale } } }',
      { input: { id: identityId, locale: 'fr' } },
      server.apiKey,
    );
    assert.equal(updated.data?.updateIdentity.identity.locale, 'fr', JSON.stringify(updated));
    austrian.catalogs.length = 0;
    await page.reload();
    await waitForAccount(page, server.url);
    await page.locator('main[data-profile-ready="true"]').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.locator('h1').textContent(), 'Votre compte');
    assert.equal(await page.locator('#passkey-count').textContent(), '(0 clé d’accès)');
    assert.equal(await page.locator('.session-current').textContent(), 'Cet appareil');
    assert.equal(await page.locator('#profile-locale').inputValue(), 'fr');
    assert.deepEqual(catalogsFetched(austrian), ['fr'], 'only the French catalog');

    // Back to the service's default on the form: the page follows the browser again, at once.
    await page.selectOption('#profile-locale', '');
    await page.click('#profile-save-button');
    assert.equal(await statusOf(page, 'success', 'Ihr Profil'), 'Ihr Profil wurde gespeichert.');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.locator('#passkey-count').textContent(), '(0 Passkeys)');
    assert.equal(await page.locator('#email-change-current').textContent(), message('de', 'emailChange.current', { email: EMAIL }));
  });

  step('an Italian browser gets the tenant’s defaultLocale (Spanish), and an application’s ui_locales come first', async () => {
    const settings = await graphql(
      server.url,
      'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { defaultLocale } } }',
      { input: { defaultLocale: 'es' } },
      server.apiKey,
    );
    assert.equal(settings.data?.updateTenantSettings.settings.defaultLocale, 'es', JSON.stringify(settings));
    const italian = await deviceIn(browser, 'it-IT');
    const { page } = italian;
    await openSignIn(page, server.url);
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    assert.equal(await page.locator('#signin-heading').textContent(), 'Iniciar sesión');
    assert.equal(await page.locator('#lost-passkey-button').textContent(), '¿Ha perdido su llave de acceso?');
    assert.equal(await page.title(), 'Iniciar sesión · Demo');

    // `authorize` passes an application's `ui_locales` on: the first one with a catalog wins.
    await openSignIn(page, server.url, '?ui_locales=it%20fr-CA%20de');
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.locator('#signin-heading').textContent(), 'Connexion');
    assert.deepEqual(catalogsFetched(italian), ['es', 'fr']);
    await italian.context.close();
  });

  step('a browser in English still gets English', async () => {
    const english = await deviceIn(browser);
    const { page } = english;
    assert.equal(await page.evaluate(() => navigator.languages[0]), 'en-US', 'Playwright’s default');
    await openSignIn(page, server.url);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('#signin-heading').textContent(), 'Sign in');
    assert.deepEqual(catalogsFetched(english), ['en']);
    await english.context.close();
  });
});
