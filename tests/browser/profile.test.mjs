// End-to-end test of the account page's self-service profile in a real browser (Debian's
// Chromium driven by playwright-core) against the real `latchkey` server: the profile form
// with the tenant's user-editable attributes (an admin-only one refused through the API), the
// change reaching a WEBHOOK connector (a small HTTP server this test runs on loopback, which
// checks the signature), the consents, and an email change with the undo link of the notice
// sent to the old address. Emailed codes and notices are read from the server's mailbox file.
// The person chooses French on the profile form: the account page is in French from then on
// (the sign-in page stays in the browser's English). See README.md beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import { launchChromium, message, newDevice, signInWithCode, statusOf, stepsInOrder, subjectOf, waitForAccount, waitUntil, webhookReceiver } from './support.mjs';

/** A message of the French catalog, as the account page shows it once French is chosen. */
const fr = (key, values) => message('fr', key, values);

const EMAIL = 'ada@example.com';
const NEW_EMAIL = 'countess@example.com';
const SECRET = 'a webhook secret of the test';

const SCHEMA = [
  { name: 'tier', kind: 'STRING', userEditable: true, allowedValues: ['free', 'pro'], label: 'Plan' },
  { name: 'score', kind: 'NUMBER', userEditable: true, label: 'Score' },
  { name: 'newsletter', kind: 'BOOLEAN', userEditable: true, label: 'Newsletter' },
  { name: 'birthday', kind: 'DATE', userEditable: true, label: 'Birthday' },
  { name: 'creditLimit', kind: 'NUMBER', userEditable: false, label: 'Credit limit' },
];
const PURPOSES = [
  { key: 'terms', version: 2, title: 'Terms of service' },
  { key: 'marketing', version: 1, title: 'News by email' },
];

async function graphql(url, query, variables, bearer) {
  return (await postGraphql(`${url}/t/demo/graphql`, query, variables, bearer)).body;
}

/** What the profile form shows, by field. */
async function formValues(page) {
  return page.evaluate(() => {
    const value = (id) => {
      const element = document.getElementById(id);
      return element.type === 'checkbox' ? element.checked : element.value;
    };
    return {
      displayName: value('profile-display-name'),
      phone: value('profile-phone'),
      locale: value('profile-locale'),
      tier: value('profile-attribute-tier'),
      score: value('profile-attribute-score'),
      newsletter: value('profile-attribute-newsletter'),
      birthday: value('profile-attribute-birthday'),
    };
  });
}

/** Each consent on the page: `{ purpose, checked, granted, label, meta }`. */
async function consentsShown(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#consent-list [data-purpose]')].map((item) => ({
      purpose: item.dataset.purpose,
      checked: item.querySelector('input[type=checkbox]').checked,
      granted: item.dataset.granted ?? null,
      label: item.querySelector('label').textContent.trim(),
      meta: item.querySelector('.consent-meta').textContent.trim(),
    })),
  );
}

async function openAccount(page, url) {
  await page.goto(`${url}/t/demo/account`);
  await waitForAccount(page, url);
  await page.locator('main[data-profile-ready="true"]').waitFor();
}

describe('hosted pages: the self-service profile, consents and email change in Chromium', { timeout: 300_000 }, () => {
  let server;
  let receiver;
  let browser;
  let laptop;
  let identityId;
  let connectorId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  /** The administrator's view of the identity. */
  async function asAdmin() {
    const answer = await graphql(
      server.url,
      'query($id: ID!) { identity(id: $id) { email displayName phone locale attributes consents { purpose granted version } } }',
      { id: identityId },
      server.apiKey,
    );
    assert.ok(answer.data?.identity, JSON.stringify(answer));
    return answer.data.identity;
  }

  /** Waits for the first `identity.updated` event of the person that `matching` accepts. */
  async function delivered(matching) {
    const wanted = (event) => event.type === 'identity.updated' && event.data?.id === identityId && matching(event.data);
    await waitUntil(() => receiver.events.some(wanted), 20_000);
    return receiver.events.find(wanted);
  }

  before(async () => {
    try {
      receiver = await webhookReceiver(SECRET);
      // The receiver is on loopback, which connectors refuse unless the deployment allows it.
      server = await startServer({ env: { LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS: 'true' } });
      const settings = await graphql(
        server.url,
        'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { attributeSchema { name } consentPurposes { key } } } }',
        {
          input: {
            attributeSchema: SCHEMA,
            consentPurposes: PURPOSES,
            rateLimits: {
              signInPerIp: 10_000,
              signInPerIdentity: 10_000,
              signUpPerIp: 10_000,
              emailVerificationPerIp: 10_000,
              emailVerificationPerAddress: 1_000,
              emailVerificationPerAddressAllIps: 1_000,
            },
          },
        },
        server.apiKey,
      );
      assert.equal(settings.data?.updateTenantSettings.settings.consentPurposes.length, 2, JSON.stringify(settings));
      const connector = await graphql(
        server.url,
        'mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id kind } } }',
        {
          input: {
            name: 'Back office',
            kind: 'WEBHOOK',
            triggers: ['IDENTITY_UPDATED'],
            settings: { url: receiver.url },
            credentials: { secret: SECRET },
          },
        },
        server.apiKey,
      );
      connectorId = connector.data?.createCrmConnector.connector.id;
      assert.ok(connectorId, JSON.stringify(connector));
      const created = await graphql(
        server.url,
        'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }',
        { input: { email: EMAIL, displayName: 'Ada Lovelace', attributes: { creditLimit: 500 } } },
        server.apiKey,
      );
      identityId = created.data?.createIdentity.identity.id;
      assert.ok(identityId, JSON.stringify(created));
      browser = await launchChromium();
      laptop = await newDevice(browser);
    } catch (error) {
      steps.setupError = error;
    }
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    if (server) {
      if (steps.failed) console.error(`server stderr (last part):\n${server.stderr()}`);
      await server.stop();
    }
  });

  step('signed in with an emailed code, the account page shows the profile form with the user-editable attributes only', async () => {
    const { page } = laptop;
    await signInWithCode(page, server, EMAIL);
    await page.locator('main[data-profile-ready="true"]').waitFor();
    assert.equal(subjectOf((await laptop.tokens()).accessToken), identityId);

    const labels = await page.evaluate(() =>
      [...document.querySelectorAll('#profile-form label')].map((label) => [label.htmlFor, label.textContent]),
    );
    assert.deepEqual(labels, [
      ['profile-display-name', 'Display name'],
      ['profile-phone', 'Phone'],
      ['profile-locale', 'Language'],
      ['profile-attribute-tier', 'Plan'],
      ['profile-attribute-score', 'Score'],
      ['profile-attribute-newsletter', 'Newsletter'],
      ['profile-attribute-birthday', 'Birthday'],
    ]);
    const kinds = await page.evaluate(() =>
      ['tier', 'score', 'newsletter', 'birthday'].map((name) => {
        const control = document.getElementById(`profile-attribute-${name}`);
        return control.tagName === 'SELECT' ? ['select', ...[...control.options].map((option) => option.value)] : [control.type];
      }),
    );
    assert.deepEqual(kinds, [['select', '', 'free', 'pro'], ['number'], ['checkbox'], ['date']]);
    assert.equal(await page.locator('#profile-attribute-creditLimit').count(), 0, 'an admin-only attribute is not in the form');
    assert.deepEqual(await formValues(page), {
      displayName: 'Ada Lovelace',
      phone: '',
      locale: '',
      tier: '',
      score: '',
      newsletter: false,
      birthday: '',
    });
  });

  step('saving the profile sends only what changed; a refused phone is shown under its field and saves nothing; the page is then in the chosen language', async () => {
    const { page, operations } = laptop;
    operations.clear();
    await page.fill('#profile-display-name', 'Ada King');
    await page.fill('#profile-phone', 'call me maybe');
    await page.selectOption('#profile-locale', 'fr');
    await page.selectOption('#profile-attribute-tier', 'pro');
    await page.check('#profile-attribute-newsletter');
    await page.fill('#profile-attribute-birthday', '1815-12-10');
    await page.click('#profile-save-button');
    assert.equal(await statusOf(page, 'error'), 'Please check the field marked below.');
    const error = page.locator('[data-field="phone"] .field-error');
    await error.waitFor();
    assert.ok((await error.textContent()).length > 0, 'the server’s reason');
    assert.equal(await page.getAttribute('#profile-phone', 'aria-invalid'), 'true');
    assert.match(await page.getAttribute('#profile-phone', 'aria-describedby'), /profile-phone-error/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'profile-phone');
    assert.equal((await asAdmin()).displayName, 'Ada Lovelace', 'nothing saved');

    await page.fill('#profile-phone', '+442079460958');
    await page.click('#profile-save-button');
    // Saved with French as the language: the page switches to French at once.
    assert.equal(await statusOf(page, 'success'), 'Votre profil a été enregistré.');
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.locator('h1').textContent(), 'Votre compte');
    assert.equal(await page.locator('label[for="profile-display-name"]').textContent(), 'Nom affiché');
    assert.equal(await page.locator('#profile-save-button').textContent(), 'Enregistrer le profil');
    assert.equal(await page.locator('#email-change-heading').textContent(), 'Adresse e-mail');
    assert.match(await page.locator('#passkey-count').textContent(), /^\(0 clé d’accès\)$/);
    assert.equal(await page.title(), 'Votre compte · Demo');
    assert.equal(await page.locator('[data-field="phone"] .field-error').isVisible(), false);
    assert.equal(await page.getAttribute('#profile-phone', 'aria-invalid'), null);
    assert.equal(await page.locator('#account-name').textContent(), 'Ada King');
    const saves = operations.named('updateViewerProfile');
    assert.equal(saves.length, 2);
    assert.deepEqual(saves[1].variables.input, {
      displayName: 'Ada King',
      phone: '+442079460958',
      locale: 'fr',
      attributes: { tier: 'pro', newsletter: true, birthday: '1815-12-10' },
    });
    const stored = await asAdmin();
    assert.deepEqual(
      [stored.displayName, stored.phone, stored.locale, stored.attributes],
      ['Ada King', '+442079460958', 'fr', { creditLimit: 500, tier: 'pro', newsletter: true, birthday: '1815-12-10' }],
    );

    // A reload shows what the server holds; saving again with nothing changed sends nothing.
    await openAccount(page, server.url);
    assert.deepEqual(await formValues(page), {
      displayName: 'Ada King',
      phone: '+442079460958',
      locale: 'fr',
      tier: 'pro',
      score: '',
      newsletter: true,
      birthday: '1815-12-10',
    });
    assert.equal(await page.getAttribute('html', 'lang'), 'fr', 'the stored locale chooses the language');
    operations.clear();
    await page.click('#profile-save-button');
    assert.equal(await statusOf(page, 'info'), fr('profile.unchanged'));
    assert.deepEqual(operations.named('updateViewerProfile'), []);

    // Clearing a field and a number attribute.
    await page.fill('#profile-attribute-score', '42.5');
    await page.selectOption('#profile-attribute-tier', '');
    await page.click('#profile-save-button');
    await statusOf(page, 'success', fr('profile.saved'));
    assert.deepEqual(operations.named('updateViewerProfile').at(-1).variables.input, { attributes: { tier: null, score: 42.5 } });
    assert.deepEqual((await asAdmin()).attributes, { creditLimit: 500, newsletter: true, birthday: '1815-12-10', score: 42.5 });
  });

  step('an attribute only administrators may change is refused through the API with the page’s session', async () => {
    const { accessToken } = await laptop.tokens();
    const refused = await graphql(
      server.url,
      'mutation($input: UpdateViewerProfileInput!) { updateViewerProfile(input: $input) { identity { attributes } } }',
      { input: { displayName: 'Someone Else', attributes: { creditLimit: 100000 } } },
      accessToken,
    );
    assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(refused));
    assert.equal(refused.errors[0].extensions.field, 'attributes.creditLimit');
    assert.equal(refused.data, null);
    const stored = await asAdmin();
    assert.equal(stored.attributes.creditLimit, 500);
    assert.equal(stored.displayName, 'Ada King');
  });

  step('the profile edit reaches the WEBHOOK connector as a signed identity.updated event', async () => {
    const event = await delivered((data) => data.displayName === 'Ada King' && data.attributes?.tier === 'pro');
    assert.equal(event.tenant, 'demo');
    assert.equal(event.idempotencyKey, event.id);
    assert.equal(event.data.email, EMAIL);
    assert.equal(event.data.phone, '+442079460958');
    assert.equal(event.data.attributes.tier, 'pro');
    assert.deepEqual(receiver.refused, []);
  });

  step('consents: one checkbox per purpose with its title and version, granted and withdrawn at once, and delivered', async () => {
    const { page, operations } = laptop;
    operations.clear();
    assert.deepEqual(await consentsShown(page), [
      { purpose: 'terms', checked: false, granted: null, label: 'Terms of service (version 2)', meta: fr('consents.notDecided') },
      { purpose: 'marketing', checked: false, granted: null, label: 'News by email (version 1)', meta: fr('consents.notDecided') },
    ]);
    await page.check('#consent-marketing');
    assert.equal(await statusOf(page, 'success', 'News by email'), fr('consents.granted', { title: 'News by email' }));
    let shown = await consentsShown(page);
    assert.deepEqual([shown[1].checked, shown[1].granted], [true, 'true']);
    assert.ok(shown[1].meta.startsWith(fr('consents.grantedOn', { date: '' })), shown[1].meta);
    assert.deepEqual(operations.named('setViewerConsent').map((operation) => operation.variables.input), [
      { purpose: 'marketing', granted: true },
    ]);
    const granted = await delivered((data) => data.consents?.marketing?.granted === true);
    assert.equal(granted.data.consents.marketing.version, 1);
    assert.equal(granted.data.displayName, 'Ada King');

    await openAccount(page, server.url);
    shown = await consentsShown(page);
    assert.deepEqual(shown.map((consent) => consent.checked), [false, true], 'the page shows what the server holds');

    await page.uncheck('#consent-marketing');
    const withdrawnText = fr('consents.withdrawn', { title: 'News by email' });
    assert.equal(await statusOf(page, 'success', withdrawnText), withdrawnText);
    shown = await consentsShown(page);
    assert.deepEqual([shown[1].checked, shown[1].granted], [false, 'false']);
    assert.ok(shown[1].meta.startsWith(fr('consents.withdrawnOn', { date: '' })), shown[1].meta);
    await page.check('#consent-terms');
    await statusOf(page, 'success', 'Terms of service');
    assert.deepEqual(
      (await asAdmin()).consents.map((consent) => [consent.purpose, consent.granted, consent.version]).sort(),
      [
        ['marketing', false, 1],
        ['terms', true, 2],
      ],
    );
    const withdrawn = await delivered((data) => data.consents?.marketing?.granted === false && data.consents?.terms?.granted === true);
    assert.equal(withdrawn.data.consents.terms.version, 2);

    // New terms (version 3): the page says the decision was on an older text.
    const bumped = await graphql(
      server.url,
      'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { consentPurposes { key version } } } }',
      { input: { consentPurposes: [{ ...PURPOSES[0], version: 3 }, PURPOSES[1]] } },
      server.apiKey,
    );
    assert.deepEqual(bumped.data?.updateTenantSettings.settings.consentPurposes, [
      { key: 'terms', version: 3 },
      { key: 'marketing', version: 1 },
    ]);
    await openAccount(page, server.url);
    shown = await consentsShown(page);
    assert.equal(shown[0].label, 'Terms of service (version 3)');
    assert.equal(shown[0].checked, true);
    assert.ok(shown[0].meta.startsWith(fr('consents.grantedOn', { date: '' })), shown[0].meta);
    assert.ok(shown[0].meta.endsWith(` · ${fr('consents.outdated', { version: 2 })}`), shown[0].meta);
    assert.doesNotMatch(shown[1].meta, / · /);
  });

  step('changing the email address with the emailed code; the notice to the old address undoes it, and the person signs in again', async () => {
    const { page, operations } = laptop;
    operations.clear();
    assert.match(await page.locator('#email-change-current').textContent(), new RegExp(EMAIL));
    await page.fill('#new-email', NEW_EMAIL);
    await page.click('#email-change-button');
    await page.locator('#email-code-form:not([hidden])').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email-code');
    assert.match(await page.locator('#email-code-sent').textContent(), new RegExp(NEW_EMAIL));
    const mail = await server.mailbox.nextCode(NEW_EMAIL);
    const wrong = String((Number(mail.code) + 1) % 1_000_000).padStart(6, '0');
    await page.fill('#email-code', wrong);
    await page.click('#email-code-button');
    await page.locator('[data-field="code"] .field-error:not([hidden])').waitFor();
    assert.match(await page.locator('[data-field="code"] .field-error').textContent(), /n’est pas correct/);
    assert.equal(await page.getAttribute('#email-code', 'aria-invalid'), 'true');

    await page.fill('#email-code', mail.code);
    await page.click('#email-code-button');
    assert.equal(await statusOf(page, 'success', NEW_EMAIL), fr('emailChange.changed', { email: NEW_EMAIL }));
    assert.equal(await page.locator('#account-email').textContent(), NEW_EMAIL);
    assert.equal(await page.locator('#email-code-form').isHidden(), true);
    assert.deepEqual(
      operations.all().map((operation) => operation.field).filter((field) => field !== 'refreshSession'),
      ['startEmailVerification', 'completeEmailVerification', 'completeEmailVerification', 'changeViewerEmail'],
    );
    assert.equal((await asAdmin()).email, NEW_EMAIL);
    await delivered((data) => data.email === NEW_EMAIL);

    // The notice to the old address carries the undo link to the sign-in page.
    const notice = await server.mailbox.next(EMAIL, { matching: (message) => /undo_email_change=/.test(message.text) });
    const link = /https?:\/\/\S+\?undo_email_change=\S+/.exec(notice.text)[0].replace(/[.,;:)>]+$/, '');
    assert.ok(link.startsWith(`${server.url}/t/demo/?undo_email_change=`), link);

    // Opening it changes nothing until the button is pressed. The sign-in page knows nobody's
    // stored locale: it is in the browser's language.
    await page.goto(link);
    await page.locator('#undo-form:not([hidden])').waitFor();
    await page.locator('main[aria-busy="false"]').waitFor();
    assert.equal(await page.locator('#email-heading').textContent(), 'Undo the email address change');
    assert.equal((await asAdmin()).email, NEW_EMAIL);
    operations.clear();
    await page.click('#undo-button');
    assert.match(await statusOf(page, 'success', 'undone'), /Please sign in again\.$/);
    assert.deepEqual(operations.named('undoEmailChange').map((operation) => operation.authorized), [false]);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    assert.equal(await laptop.tokens(), null, 'this device’s session of the account ended');
    assert.equal(await page.locator('#signed-in-notice').isHidden(), true);
    assert.equal(await page.locator('#signin-section').isVisible(), true);
    assert.equal((await asAdmin()).email, EMAIL);
    // In the language the person chose on the profile form (French).
    await server.mailbox.next(EMAIL, { matching: (message) => /a été annulé/.test(message.subject) });
    await delivered((data) => data.email === EMAIL);

    // The link works once.
    await page.goto(link);
    await page.locator('#undo-form:not([hidden])').waitFor();
    await page.locator('main[aria-busy="false"]').waitFor();
    await page.click('#undo-button');
    assert.match(await statusOf(page, 'error'), /no longer works/);

    // Signing in again with the old address.
    await signInWithCode(page, server, EMAIL);
    assert.equal(subjectOf((await laptop.tokens()).accessToken), identityId);
    assert.equal(await page.locator('#account-email').textContent(), EMAIL);
  });

  step('the link in the code’s email, opened in the same browser, changes the address on Confirm', async () => {
    const { page } = laptop;
    await page.locator('main[data-profile-ready="true"]').waitFor();
    await page.fill('#new-email', NEW_EMAIL);
    await page.click('#email-change-button');
    await page.locator('#email-code-form:not([hidden])').waitFor();
    const mail = await server.mailbox.nextCode(NEW_EMAIL);
    assert.ok(mail.link, 'the email has a link');
    await page.goto(mail.link);
    await page.locator('#link-form:not([hidden])').waitFor();
    await page.locator('main[aria-busy="false"]').waitFor();
    assert.equal(await page.locator('#link-text').textContent(), `Confirm ${NEW_EMAIL} to make it your account’s address.`);
    assert.equal((await asAdmin()).email, EMAIL, 'nothing changes before Confirm');
    await page.click('#link-button');
    await waitForAccount(page, server.url);
    // The notice is kept as a message, and shown in the account page's language.
    assert.equal(await statusOf(page, 'success', NEW_EMAIL), fr('emailChange.changed', { email: NEW_EMAIL }));
    assert.equal(await page.locator('#account-email').textContent(), NEW_EMAIL);
    assert.equal((await asAdmin()).email, NEW_EMAIL);
  });
});
