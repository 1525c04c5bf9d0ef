// End-to-end test of the hosted pages' passwords, authenticator apps and passkey step-up in a
// real browser (Debian's Chromium driven by playwright-core) against the real `latchkey`
// server on a fresh data directory, whose demo tenant allows PASSWORD. Emailed codes are read
// from the server's mailbox file; the authenticator app's codes come from `otpauth`, fed the
// `otpauth://` link the account page shows; an application's OpenID Connect sign-in uses
// `openid-client`. See README.md beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import * as oidc from 'openid-client';
import * as OTPAuth from 'otpauth';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import {
  launchChromium,
  newDevice,
  shownStep,
  status,
  statusOf,
  stepsInOrder,
  subjectOf,
  waitForAccount,
} from './support.mjs';

const EMAIL = 'margaret@example.com';
const DISPLAY_NAME = 'Margaret Hamilton';
// Long, letters and spaces only: no composition rules.
const PASSWORD = 'lunar module quietly lands on time';
const NEW_PASSWORD = 'apollo guidance computer keeps counting';
const RESET_PASSWORD = 'restart priority displays at the console';

const SIGN_IN_METHODS = ['PASSKEY', 'EMAIL_CODE', 'PASSWORD'];

/** One GraphQL POST to the demo tenant's API, outside the browser; answers the response body. */
async function graphql(url, query, variables, accessToken) {
  return (await postGraphql(`${url}/t/demo/graphql`, query, variables, accessToken)).body;
}

const TOTP_PERIOD_MS = 30_000;

/**
 * The person's authenticator app, set up from the `otpauth://` link the account page shows.
 * `next()` answers the code of the earliest time step after the last one used (the server
 * accepts a step once) that the server accepts now (one step of drift), waiting when needed.
 */
function authenticatorApp(otpauthUri) {
  const totp = OTPAuth.URI.parse(otpauthUri);
  let last = -1;
  const now = () => Math.floor(Date.now() / TOTP_PERIOD_MS);
  return {
    totp,
    async next() {
      const step = Math.max(now(), last + 1);
      while (step > now() + 1) await new Promise((resolve) => setTimeout(resolve, 250));
      last = step;
      return totp.generate({ timestamp: step * TOTP_PERIOD_MS });
    },
    /** A 6-digit code that no step around now has. */
    wrong() {
      const taken = new Set([-1, 0, 1, 2].map((offset) => totp.generate({ timestamp: (now() + offset) * TOTP_PERIOD_MS })));
      for (let n = 1; ; n += 1) {
        const code = String((Number(totp.generate()) + n) % 1_000_000).padStart(6, '0');
        if (!taken.has(code)) return code;
      }
    },
  };
}

/** What the account page says about the password and the authenticator app. */
async function securityState(page) {
  return page.evaluate(() => {
    const section = document.getElementById('password-section');
    const shown = (id) => !document.getElementById(id).hidden;
    return {
      shown: !section.hidden,
      hasPassword: section.dataset.hasPassword === 'true',
      totpEnrolled: section.dataset.totpEnrolled === 'true',
      password: document.getElementById('password-state').textContent,
      totp: document.getElementById('totp-state').textContent,
      currentPasswordAsked: shown('current-password-field'),
      canStart: shown('totp-start-button'),
      canRemove: shown('totp-remove-button'),
      enrolling: shown('totp-enroll-form'),
      codes: shown('recovery-codes')
        ? [...document.querySelectorAll('#recovery-code-list li')].map((item) => item.textContent.trim())
        : null,
    };
  });
}

/** Which of the sign-in page's controls a person can see. */
async function visibleControls(page) {
  const ids = [
    'signin-email',
    'signin-password',
    'signin-password-button',
    'signin-email-button',
    'signin-code-button',
    'signin-passkey-button',
    'forgot-password-button',
    'lost-passkey-button',
    'signup-section',
    'step-up-notice',
    'signed-in-notice',
  ];
  const visible = [];
  for (const id of ids) if (await page.locator(`#${id}`).isVisible()) visible.push(id);
  return visible;
}

async function signOut(page, url) {
  await page.click('#signout-button');
  await page.waitForURL(`${url}/t/demo/`);
  await page.locator('main[aria-busy="false"]').waitFor();
}

// ---------------------------------------------------------------------------------------
// The steps

describe('hosted pages: passwords, authenticator apps and passkey step-up in Chromium', { timeout: 300_000 }, () => {
  let server;
  let browser;
  let laptop;
  let config;
  let app;
  let recoveryCodes;
  let identityId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      server = await startServer();
      // Every sign-in comes from 127.0.0.1: lift the per-IP limits.
      const settings = await graphql(
        server.url,
        'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { signInMethods } } }',
        {
          input: {
            signInMethods: SIGN_IN_METHODS,
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
      assert.deepEqual(settings.data?.updateTenantSettings.settings.signInMethods, SIGN_IN_METHODS, JSON.stringify(settings));
      config = await (await fetch(`${server.url}/t/demo/config.json`)).json();
      browser = await launchChromium();
      laptop = await newDevice(browser);
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

  step('where the tenant allows passwords, the sign-in form has a password field with a "Show password" button', async () => {
    const { page } = laptop;
    assert.deepEqual(config.signInMethods, SIGN_IN_METHODS);
    await page.goto(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    assert.deepEqual(await visibleControls(page), [
      'signin-email',
      'signin-password',
      'signin-password-button',
      'signin-email-button',
      'signin-code-button',
      'signin-passkey-button',
      'forgot-password-button',
      'lost-passkey-button',
      'signup-section',
    ]);
    assert.equal(await page.getAttribute('#signin-email', 'autocomplete'), 'username webauthn');
    assert.equal(await page.getAttribute('#signin-password', 'autocomplete'), 'current-password');
    assert.equal(await page.getAttribute('#signin-password', 'type'), 'password');
    assert.equal(await page.locator('label[for="signin-password"]').textContent(), 'Password');
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input')].filter((input) => input.labels.length === 0).map((input) => input.id),
    );
    assert.deepEqual(unlabelled, [], 'every input has a label');

    const toggle = page.locator('#signin-form .password-toggle');
    assert.equal(await toggle.textContent(), 'Show password');
    await page.fill('#signin-password', 'typed');
    await toggle.click();
    assert.equal(await page.getAttribute('#signin-password', 'type'), 'text');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await toggle.click();
    assert.equal(await page.getAttribute('#signin-password', 'type'), 'password');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await page.fill('#signin-password', '');
  });

  step('signing up with a password after the emailed code: a weak password is refused with the reason', async () => {
    const { page, operations } = laptop;
    operations.clear();
    await page.fill('#signup-email', EMAIL);
    await page.click('#signup-button');
    await page.locator('#code-form:not([hidden])').waitFor();
    const mail = await server.mailbox.nextCode(EMAIL);
    await page.fill('#code-input', mail.code);
    await page.click('#code-button');
    await page.locator('#create-form:not([hidden])').waitFor();
    assert.ok(await page.locator('#create-password').isVisible(), 'a password is offered beside the passkey');
    assert.ok(await page.locator('#create-button').isVisible());
    assert.match(await page.locator('#create-text').textContent(), /create a passkey or choose a password/);
    assert.equal(await page.getAttribute('#create-password-input', 'autocomplete'), 'new-password');
    assert.equal(await page.inputValue('#create-username'), EMAIL, 'password managers learn the account');
    assert.match(await page.locator('#create-password-hint').textContent(), /At least 15 characters/);

    await page.fill('#create-name', DISPLAY_NAME);
    await page.fill('#create-password-input', 'passwordpassword');
    await page.click('#create-password-button');
    const refusal = await statusOf(page, 'error');
    assert.match(refusal, /common|breach/i, 'the server’s reason is shown');
    assert.match(refusal, /^[A-Z].*\.$/, 'as a sentence');
    assert.equal(await page.getAttribute('#create-password-input', 'aria-invalid'), 'true');
    assert.equal(await shownStep(page), 'create');

    await page.fill('#create-password-input', PASSWORD);
    // Enter in the password field chooses the password, not the passkey.
    await page.press('#create-password-input', 'Enter');
    await waitForAccount(page, server.url);
    const signUps = operations.named('signUpWithPassword');
    assert.equal(signUps.length, 2);
    assert.deepEqual(Object.keys(signUps[1].variables).sort(), ['displayName', 'emailProof', 'password']);
    assert.equal(signUps[1].variables.password, PASSWORD);
    assert.equal(signUps[0].variables.emailProof, signUps[1].variables.emailProof, 'the refused password did not spend the proof');
    assert.deepEqual(operations.named('beginPasskeyRegistration'), [], 'no passkey');
    assert.deepEqual(laptop.webauthn.all().filter((call) => call.kind === 'create'), []);
    identityId = subjectOf((await laptop.tokens()).accessToken);

    const state = await securityState(page);
    assert.deepEqual(
      [state.shown, state.hasPassword, state.totpEnrolled, state.canStart, state.canRemove, state.currentPasswordAsked],
      [true, true, false, true, false, true],
    );
    assert.match(state.password, /^Set/);
    assert.equal(state.totp, 'Off');
    assert.equal(await page.locator('#passkey-count').textContent(), '(0 passkeys)');
  });

  step('a wrong password is refused; the right one signs in and offers a passkey, which can wait', async () => {
    const { page, operations } = laptop;
    await signOut(page, server.url);
    operations.clear();
    await page.fill('#signin-email', EMAIL);
    await page.fill('#signin-password', NEW_PASSWORD);
    await page.click('#signin-password-button');
    assert.equal(
      await statusOf(page, 'error'),
      'The email address or password is not right. Check both, or use “Forgot your password?”.',
    );
    assert.equal(await page.getAttribute('#signin-password', 'aria-invalid'), 'true');
    assert.equal(await laptop.tokens(), null);

    await page.fill('#signin-password', PASSWORD);
    await page.press('#signin-password', 'Enter');
    await page.locator('#offer-form:not([hidden])').waitFor();
    assert.match(await page.locator('#offer-text').textContent(), new RegExp(`signed in as ${EMAIL}`));
    assert.match(await page.locator('#offer-hint').textContent(), /no password to type/);
    assert.deepEqual(operations.named('signInWithPassword').map((operation) => operation.variables), [
      { email: EMAIL, password: NEW_PASSWORD },
      { email: EMAIL, password: PASSWORD },
    ]);
    // (The autofill request asks for no email: only a modal passkey sign-in would.)
    assert.deepEqual(
      operations.named('beginPasskeySignIn').filter((operation) => operation.variables.input?.email),
      [],
      'Enter with a password typed is not a passkey sign-in',
    );
    assert.deepEqual(laptop.webauthn.all().filter((call) => call.mediation === 'optional'), []);
    assert.equal(subjectOf((await laptop.tokens()).accessToken), identityId);
    await page.click('#offer-skip-button');
    await waitForAccount(page, server.url);
  });

  step('the account page sets up an authenticator app from its link and shows the ten recovery codes once', async () => {
    const { page, operations } = laptop;
    operations.clear();
    await page.click('#totp-start-button');
    await page.locator('#totp-enroll-form:not([hidden])').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'totp-code');
    const href = await page.getAttribute('#totp-link', 'href');
    assert.equal(await page.locator('#totp-uri').textContent(), href, 'the link is also shown as text');
    app = authenticatorApp(href);
    assert.deepEqual([app.totp.issuer, app.totp.label, app.totp.digits, app.totp.period], [config.name, EMAIL, 6, 30]);
    const secret = await page.getAttribute('#totp-secret', 'data-secret');
    assert.equal(secret, app.totp.secret.base32);
    assert.equal((await page.locator('#totp-secret').textContent()).replace(/ /g, ''), secret, 'the key, in groups');
    assert.deepEqual((await securityState(page)).totpEnrolled, false, 'not on before a code confirms it');

    await page.fill('#totp-code', app.wrong());
    await page.click('#totp-confirm-button');
    assert.match(await statusOf(page, 'error'), /not right/);
    assert.equal(await page.getAttribute('#totp-code', 'aria-invalid'), 'true');

    await page.fill('#totp-code', await app.next());
    await page.click('#totp-confirm-button');
    await page.locator('#recovery-codes:not([hidden])').waitFor();
    const state = await securityState(page);
    recoveryCodes = state.codes;
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const code of recoveryCodes) assert.match(code, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
    assert.deepEqual([state.totpEnrolled, state.enrolling, state.canRemove], [true, false, false]);
    assert.match(state.totp, /^On/);
    assert.deepEqual(operations.all().map((operation) => operation.field), [
      'beginTotpEnrollment',
      'viewer',
      'finishTotpEnrollment',
      'finishTotpEnrollment',
      'viewer',
    ]);

    await page.click('#recovery-done-button');
    assert.equal((await securityState(page)).codes, null);
    await page.reload();
    await waitForAccount(page, server.url);
    const reloaded = await securityState(page);
    assert.deepEqual([reloaded.codes, reloaded.totpEnrolled, reloaded.canRemove, reloaded.canStart], [null, true, true, false]);
  });

  step('a password sign-in then asks for the app’s code; a recovery code works once', async () => {
    const { page, operations } = laptop;
    await signOut(page, server.url);
    operations.clear();
    await page.fill('#signin-email', EMAIL);
    await page.fill('#signin-password', PASSWORD);
    await page.click('#signin-password-button');
    await page.locator('#second-factor-form:not([hidden])').waitFor();
    assert.equal(await laptop.tokens(), null, 'not signed in by the password alone');
    assert.equal(await page.locator('#email-heading').textContent(), 'Two-step verification');
    assert.equal(await page.locator('#second-factor-label').textContent(), '6-digit code');
    assert.equal(await page.getAttribute('#second-factor-input', 'autocomplete'), 'one-time-code');
    assert.equal(await page.getAttribute('#second-factor-input', 'inputmode'), 'numeric');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'second-factor-input');

    await page.fill('#second-factor-input', app.wrong());
    await page.click('#second-factor-button');
    assert.match(await statusOf(page, 'error'), /not right/);
    assert.equal(await page.getAttribute('#second-factor-input', 'aria-invalid'), 'true');
    assert.equal(await shownStep(page), 'second-factor');

    await page.fill('#second-factor-input', await app.next());
    await page.click('#second-factor-button');
    await page.locator('#offer-form:not([hidden])').waitFor();
    const [{ variables: first }] = operations.named('signInWithPassword');
    assert.deepEqual(first, { email: EMAIL, password: PASSWORD });
    const completed = operations.named('completeSecondFactor');
    assert.equal(completed.length, 2);
    assert.equal(typeof completed[1].variables.secondFactorToken, 'string');
    assert.equal(subjectOf((await laptop.tokens()).accessToken), identityId);
    await page.click('#offer-skip-button');
    await waitForAccount(page, server.url);

    // A recovery code, typed in capitals: the field switches to take one.
    await signOut(page, server.url);
    await page.fill('#signin-email', EMAIL);
    await page.fill('#signin-password', PASSWORD);
    await page.click('#signin-password-button');
    await page.locator('#second-factor-form:not([hidden])').waitFor();
    await page.click('#second-factor-switch');
    assert.equal(await page.locator('#second-factor-label').textContent(), 'Recovery code');
    assert.equal(await page.getAttribute('#second-factor-input', 'inputmode'), 'text');
    assert.equal(await page.locator('#second-factor-switch').textContent(), 'Use the code from your app instead');
    await page.fill('#second-factor-input', recoveryCodes[0].toUpperCase());
    await page.click('#second-factor-button');
    await page.locator('#offer-form:not([hidden])').waitFor();
    assert.equal(operations.named('completeSecondFactor').at(-1).variables.code, recoveryCodes[0]);
    await page.click('#offer-skip-button');
    await waitForAccount(page, server.url);

    // The same recovery code again is refused.
    await signOut(page, server.url);
    await page.fill('#signin-email', EMAIL);
    await page.fill('#signin-password', PASSWORD);
    await page.click('#signin-password-button');
    await page.locator('#second-factor-form:not([hidden])').waitFor();
    await page.click('#second-factor-switch');
    await page.fill('#second-factor-input', recoveryCodes[0]);
    await page.click('#second-factor-button');
    assert.match(await statusOf(page, 'error'), /not right/);
    assert.equal(await laptop.tokens(), null);
    await page.click('#email-back-button');
    assert.ok(await page.locator('#signin-password').isVisible());
  });

  step('"Forgot your password?": the emailed RECOVERY code, a new password, then a sign-in with it', async () => {
    const { page, operations } = laptop;
    operations.clear();
    await page.fill('#signin-email', EMAIL);
    await page.click('#forgot-password-button');
    await page.locator('#recover-form:not([hidden])').waitFor();
    assert.equal(await page.locator('#email-heading').textContent(), 'Reset your password');
    assert.equal(await page.inputValue('#recover-email'), EMAIL);
    assert.match(await page.locator('#recover-hint').textContent(), /choose a new password/);
    await page.click('#recover-button');
    await page.locator('#code-form:not([hidden])').waitFor();
    assert.equal(await page.locator('#email-heading').textContent(), 'Reset your password');
    assert.deepEqual(operations.named('startEmailVerification').map((operation) => operation.variables.input), [
      { email: EMAIL, purpose: 'RECOVERY' },
    ]);
    const mail = await server.mailbox.nextCode(EMAIL);
    await page.fill('#code-input', mail.code);
    await page.click('#code-button');
    await page.locator('#reset-form:not([hidden])').waitFor();
    assert.match(await page.locator('#reset-text').textContent(), new RegExp(`${EMAIL} is confirmed`));
    assert.equal(await page.getAttribute('#reset-password', 'autocomplete'), 'new-password');
    assert.equal(await page.isChecked('#reset-signout'), true, 'signing out everywhere is the default');
    assert.ok(await page.locator('#reset-passkey-button').isVisible(), 'a new passkey instead is offered');

    await page.fill('#reset-password', RESET_PASSWORD);
    await page.click('#reset-button');
    await page.locator('#entry:not([hidden])').waitFor();
    assert.match(await statusOf(page, 'success'), /password has been changed.*Sign in with your new password/);
    assert.equal(await page.inputValue('#signin-email'), EMAIL);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-password');
    const [reset] = operations.named('resetPassword');
    assert.deepEqual(Object.keys(reset.variables).sort(), ['emailProof', 'newPassword', 'signOutEverywhere']);
    assert.deepEqual([reset.variables.newPassword, reset.variables.signOutEverywhere], [RESET_PASSWORD, true]);
    assert.equal(await laptop.tokens(), null, 'a reset does not sign in');
    const notice = await server.mailbox.next(EMAIL, { matching: (message) => message.code === null && /password/i.test(message.text) });
    assert.ok(notice.subject, 'a notice of the change');

    // The old password no longer works; the new one does (with a recovery code as the second factor).
    await page.fill('#signin-password', PASSWORD);
    await page.click('#signin-password-button');
    assert.match(await statusOf(page, 'error'), /not right/);
    await page.fill('#signin-password', RESET_PASSWORD);
    await page.click('#signin-password-button');
    await page.locator('#second-factor-form:not([hidden])').waitFor();
    await page.click('#second-factor-switch');
    await page.fill('#second-factor-input', recoveryCodes[1]);
    await page.click('#second-factor-button');
    await page.locator('#offer-form:not([hidden])').waitFor();
    await page.click('#offer-skip-button');
    await waitForAccount(page, server.url);
  });

  step('where recoveries need approval, "Forgot your password?" files a recovery request and resets nothing', async () => {
    const settings = 'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { recoveryRequiresApproval } } }';
    const on = await graphql(server.url, settings, { input: { recoveryRequiresApproval: true } }, server.apiKey);
    assert.equal(on.data?.updateTenantSettings.settings.recoveryRequiresApproval, true, JSON.stringify(on));
    const device = await newDevice(browser);
    try {
      const { page, operations } = device;
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.fill('#signin-email', EMAIL);
      await page.click('#forgot-password-button');
      await page.click('#recover-button');
      await page.locator('#code-form:not([hidden])').waitFor();
      await page.fill('#code-input', (await server.mailbox.nextCode(EMAIL)).code);
      await page.click('#code-button');
      await page.locator('#done-step:not([hidden])').waitFor();
      assert.match(await page.locator('#done-text').textContent(), /has been sent.*administrator/s);
      assert.equal(operations.named('requestAccountRecovery').length, 1);
      assert.deepEqual(operations.named('resetPassword'), [], 'no password without an approval');
      assert.equal(await device.tokens(), null);
    } finally {
      await device.context.close();
      await graphql(server.url, settings, { input: { recoveryRequiresApproval: false } }, server.apiKey);
    }
  });

  step('the account page changes the password (the current one is checked) and removes the app', async () => {
    const { page, operations } = laptop;
    operations.clear();
    await page.fill('#current-password', PASSWORD);
    await page.fill('#new-password', NEW_PASSWORD);
    await page.click('#password-button');
    assert.match(await statusOf(page, 'error'), /\S/);
    assert.equal(await page.getAttribute('#current-password', 'aria-invalid'), 'true');

    await page.fill('#current-password', RESET_PASSWORD);
    await page.fill('#new-password', NEW_PASSWORD);
    await page.click('#password-button');
    assert.equal(await statusOf(page, 'success'), 'Your password has been changed.');
    assert.equal(await page.inputValue('#new-password'), '', 'the form is cleared');
    const changes = operations.named('changePassword');
    assert.deepEqual(changes.at(-1).variables, {
      currentPassword: RESET_PASSWORD,
      newPassword: NEW_PASSWORD,
      signOutOtherSessions: false,
    });

    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#totp-remove-button');
    assert.equal(await statusOf(page, 'success', 'removed'), 'Your authenticator app has been removed.');
    const state = await securityState(page);
    assert.deepEqual([state.totpEnrolled, state.canStart, state.canRemove, state.totp], [false, true, false, 'Off']);
  });

  step('step-up: an application asking for acr_values=phr sends a password session back for a passkey, and only a passkey', async () => {
    const { page, context, cdp } = laptop;
    // The password (no second factor now) signs in, and the offered passkey is added.
    await signOut(page, server.url);
    await page.fill('#signin-email', EMAIL);
    await page.fill('#signin-password', NEW_PASSWORD);
    await page.click('#signin-password-button');
    await page.locator('#offer-form:not([hidden])').waitFor();
    await page.click('#offer-button');
    await waitForAccount(page, server.url);
    assert.match(await statusOf(page, 'success'), /passkey is ready/);
    assert.equal((await laptop.credentials()).length, 1);

    // The application: a confidential web app whose pages the test answers (app.example does
    // not resolve; the DevTools Protocol's Fetch domain sees the redirects' targets).
    const CALLBACK = 'https://app.example/callback';
    const SCOPE = 'openid email';
    const created = await graphql(
      server.url,
      `mutation($input: CreateApplicationInput!) {
        createApplication(input: $input) { application { clientId } clientSecret }
      }`,
      { input: { name: 'Mission control', type: 'WEB', redirectUris: [CALLBACK], scopes: SCOPE.split(' ') } },
      server.apiKey,
    );
    const { application, clientSecret } = created.data?.createApplication ?? {};
    assert.ok(application?.clientId, JSON.stringify(created));
    const issuer = `${server.url}/t/demo`;
    const client = await oidc.discovery(new URL(issuer), application.clientId, undefined, oidc.ClientSecretBasic(clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    cdp.on('Fetch.requestPaused', ({ requestId }) => {
      cdp
        .send('Fetch.fulfillRequest', {
          requestId,
          responseCode: 200,
          responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }],
          body: Buffer.from('<!doctype html><title>Mission control</title><link rel="icon" href="data:,">').toString('base64'),
        })
        .catch(() => {});
    });
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: 'https://app.example/*', requestStage: 'Request' }] });
    async function authorizationRequest(parameters = {}) {
      const checks = {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: oidc.randomState(),
        expectedNonce: oidc.randomNonce(),
        idTokenExpected: true,
      };
      const url = oidc.buildAuthorizationUrl(client, {
        redirect_uri: CALLBACK,
        scope: SCOPE,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.pkceCodeVerifier),
        code_challenge_method: 'S256',
        state: checks.expectedState,
        nonce: checks.expectedNonce,
        ...parameters,
      });
      return { url, checks };
    }

    // Without acr_values, the password session is enough: a code at once, amr pwd.
    const plain = await authorizationRequest();
    await page.goto(plain.url.href);
    await page.waitForURL((url) => url.href.startsWith(`${CALLBACK}?`));
    const plainClaims = (await oidc.authorizationCodeGrant(client, new URL(page.url()), plain.checks)).claims();
    assert.deepEqual(plainClaims.amr, ['pwd']);
    assert.notEqual(plainClaims.acr, 'phr');
    assert.equal(plainClaims.sub, identityId);

    // acr_values=phr: back to the sign-in page, passkey only. Nobody at the keyboard yet, so
    // the autofill request waits rather than signing in before the page is looked at.
    await laptop.setPresence(false);
    laptop.webauthn.clear();
    const stepUp = await authorizationRequest({ acr_values: 'phr' });
    await page.goto(stepUp.url.href);
    await page.waitForURL((url) => url.pathname === '/t/demo/');
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('step_up'), 'passkey');
    assert.ok(landed.searchParams.get('authorization_request'), page.url());
    await page.locator('main[aria-busy="false"]').waitFor();
    assert.deepEqual(await visibleControls(page), [
      'signin-email',
      'signin-email-button',
      'signin-passkey-button',
      'step-up-notice',
    ]);
    assert.match(await page.locator('#step-up-notice').textContent(), /application or organization .* asks for a passkey/);
    assert.match(await page.locator('#lede').textContent(), /passkey/);
    await laptop.autofillWaiting();

    await laptop.setPresence(true);
    laptop.operations.clear();
    await Promise.all([page.waitForURL((url) => url.href.startsWith(`${CALLBACK}?`)), page.click('#signin-passkey-button')]);
    assert.equal(laptop.operations.named('finishPasskeySignIn').length, 1);
    const tokens = await oidc.authorizationCodeGrant(client, new URL(page.url()), stepUp.checks);
    const claims = tokens.claims();
    assert.equal(claims.acr, 'phr', 'a phishing-resistant sign-in');
    assert.deepEqual(claims.amr, ['webauthn']);
    assert.equal(claims.sub, identityId);
    assert.equal(claims.nonce, stepUp.checks.expectedNonce);
  });

  step('step-up after an emailed code: the page offers only the passkey there too', async () => {
    // A device that holds a copy of the passkey (synced) signs in with an emailed code.
    const phone = await newDevice(browser);
    try {
      const { page } = phone;
      const [credential] = await laptop.credentials();
      await phone.setPresence(false);
      await phone.cdp.send('WebAuthn.addCredential', { authenticatorId: phone.authenticatorId, credential });
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.fill('#signin-email', EMAIL);
      await page.click('#signin-code-button');
      await page.locator('#code-form:not([hidden])').waitFor();
      const mail = await server.mailbox.nextCode(EMAIL);
      await page.fill('#code-input', mail.code);
      await page.click('#code-button');
      await page.locator('#offer-form:not([hidden])').waitFor();
      await page.click('#offer-skip-button');
      await waitForAccount(page, server.url);

      // An application's authorize asking for phr, built by hand this time: the provider
      // sends the email-code session to the step-up page.
      const authorize = new URL(`${server.url}/t/demo/oauth2/authorize`);
      const created = await graphql(
        server.url,
        `mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { clientId } } }`,
        { input: { name: 'Phone app', type: 'WEB', redirectUris: ['https://app.example/phone'], scopes: ['openid'] } },
        server.apiKey,
      );
      const clientId = created.data?.createApplication.application.clientId;
      assert.ok(clientId, JSON.stringify(created));
      Object.entries({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://app.example/phone',
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: 'phone',
        acr_values: 'phr',
      }).forEach(([name, value]) => authorize.searchParams.set(name, value));
      await page.goto(authorize.href);
      await page.waitForURL((url) => url.pathname === '/t/demo/');
      assert.equal(new URL(page.url()).searchParams.get('step_up'), 'passkey');
      await page.locator('main[aria-busy="false"]').waitFor();
      assert.deepEqual(await visibleControls(page), ['signin-email', 'signin-email-button', 'signin-passkey-button', 'step-up-notice']);
      assert.equal((await status(page).textContent()).trim(), '', 'no error');
    } finally {
      await phone.context.close();
    }
  });
});
