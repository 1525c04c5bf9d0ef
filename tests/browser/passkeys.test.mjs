// End-to-end test of the hosted passkey pages in a real browser: Debian's Chromium driven
// by playwright-core, with the DevTools Protocol's virtual authenticators standing in for a
// platform authenticator (and, once, a USB security key), against the real `latchkey`
// server on a fresh data directory. Emailed codes and links are read from that server's
// mailbox file. See README.md beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import * as oidc from 'openid-client';
// The server start the SDK's tests use too (Node.js built-ins only: no install in sdk/js needed).
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import {
  AUTHENTICATOR,
  launchChromium,
  newDevice,
  shownStep,
  status,
  statusOf,
  stepsInOrder,
  subjectOf,
  waitForAccount,
  waitUntil,
} from './support.mjs';

const SCREENSHOT = process.env.LATCHKEY_SCREENSHOT ?? '/tmp/latchkey-account.png';

const EMAIL = 'ada@example.com';
const DISPLAY_NAME = 'Ada Lovelace';

/** One GraphQL POST to the demo tenant's API, outside the browser; answers the response body. */
async function graphql(url, query, variables, accessToken) {
  return (await postGraphql(`${url}/t/demo/graphql`, query, variables, accessToken)).body;
}

/** The `navigator.credentials.create` calls a device's pages made. */
function webauthnCreates(device) {
  return device.webauthn.all().filter((call) => call.kind === 'create');
}

async function accountState(page) {
  return page.evaluate(() => ({
    email: document.getElementById('account-email').textContent,
    displayName: document.getElementById('account-name').textContent,
    passkeys: [...document.querySelectorAll('#passkey-list [data-passkey-id]')].map((item) => ({
      id: item.dataset.passkeyId,
      name: item.querySelector('.passkey-name').textContent,
    })),
    sessions: [...document.querySelectorAll('#session-list [data-session-id]')].map((item) => ({
      id: item.dataset.sessionId,
      current: item.dataset.current === 'true',
      device: item.querySelector('.session-device').textContent,
      badgeShown: !item.querySelector('.session-current').hidden,
      canRevoke: !!item.querySelector('.session-revoke'),
    })),
  }));
}

/** Replaces the stored access token with one the server refuses (as after a key rotation). */
function forgeAccessToken(page) {
  return page.evaluate(() => {
    const tokens = JSON.parse(localStorage.getItem('latchkey.demo.tokens'));
    localStorage.setItem('latchkey.demo.tokens', JSON.stringify({ ...tokens, accessToken: 'not-a-token' }));
  });
}

// ---------------------------------------------------------------------------------------
// The steps

describe('hosted passkey pages in Chromium', { timeout: 180_000 }, () => {
  let server;
  let browser;
  let laptop;
  const steps = stepsInOrder(60_000);
  const { step } = steps;

  before(async () => {
    try {
      await setUp();
    } catch (error) {
      steps.setupError = error;
    }
  });

  async function setUp() {
    server = await startServer();
    browser = await launchChromium();
    laptop = await newDevice(browser);
  }

  after(async () => {
    await browser?.close();
    if (server) {
      if (steps.failed) console.error(`server stderr (last part):\n${server.stderr()}`);
      await server.stop();
    }
  });

  step('the sign-in page shows the tenant and both forms, and starts an autofill request', async () => {
    const { page, webauthn } = laptop;
    const config = await (await fetch(`${server.url}/t/demo/config.json`)).json();
    assert.equal(config.slug, 'demo');
    assert.equal(config.selfSignUp, true, 'the demo tenant allows self sign-up');
    assert.equal(config.requireVerifiedEmail, true, 'sign-up proves the address by default');
    assert.equal(config.recoveryRequiresApproval, false);

    await page.goto(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    assert.equal(await page.locator('h1').textContent(), config.name);
    assert.equal(await page.title(), `Sign in · ${config.name}`);
    const brand = await page.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--brand').trim(),
    );
    assert.equal(brand.toLowerCase(), config.primaryColor.toLowerCase());
    assert.ok(await page.locator('#signup-section').isVisible(), 'the sign-up section is shown');
    assert.ok(await page.locator('#signin-section').isVisible());
    assert.ok(await page.locator('#lost-passkey-button').isVisible(), 'recovery is offered');
    assert.equal(await page.locator('#email-section').isVisible(), false);

    assert.equal(await page.locator('#signin-email').getAttribute('autocomplete'), 'username webauthn');
    assert.equal(await status(page).getAttribute('aria-live'), 'polite');
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input')].filter((input) => input.labels.length === 0).map((input) => input.id),
    );
    assert.deepEqual(unlabelled, [], 'every input has a label');

    // The autofill request starts on load. With no credential on the virtual authenticator,
    // Chromium rejects it at once (a real browser would keep it waiting); the page must stay quiet.
    await waitUntil(() => webauthn.all().some((call) => call.mediation === 'conditional' && call.state === 'rejected'));
    const conditional = webauthn.all().find((call) => call.mediation === 'conditional');
    assert.equal(conditional.kind, 'get');
    assert.equal(conditional.error, 'NotAllowedError');
    assert.equal((await status(page).textContent()).trim(), '', 'no error is shown for an unused autofill');
  });

  step('signing up proves the address with the emailed code, then creates the account and its first passkey', async () => {
    const { page, operations, webauthn } = laptop;
    operations.clear();
    webauthn.clear();
    await page.fill('#signup-email', EMAIL);
    await page.click('#signup-button');
    await page.locator('#code-form:not([hidden])').waitFor();
    assert.deepEqual(operations.named('startEmailVerification').map((operation) => operation.variables.input), [
      { email: EMAIL, purpose: 'SIGN_UP' },
    ]);
    assert.match(await page.locator('#code-sent').textContent(), new RegExp(`sent an email to ${EMAIL}`));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code-input', 'the code field has the focus');

    const mail = await server.mailbox.nextCode(EMAIL);
    assert.match(mail.code ?? '', /^\d{6}$/, `the email starts with the code:\n${mail.text}`);
    const link = new URL(mail.link);
    assert.equal(`${link.origin}${link.pathname}`, `${server.url}/t/demo/`);
    assert.equal(link.searchParams.get('code'), mail.code);

    // A wrong code first: the page says so, and the code can be typed again.
    const wrong = String((Number(mail.code) + 1) % 1_000_000).padStart(6, '0');
    await page.fill('#code-input', wrong);
    await page.click('#code-button');
    assert.match(await statusOf(page, 'error'), /not right/);
    assert.equal(await page.getAttribute('#code-input', 'aria-invalid'), 'true');
    assert.equal(await shownStep(page), 'code');

    await page.fill('#code-input', mail.code);
    await page.click('#code-button');
    await page.locator('#create-form:not([hidden])').waitFor();
    assert.match(await page.locator('#create-text').textContent(), new RegExp(`${EMAIL} is confirmed`));
    const completed = operations.named('completeEmailVerification');
    assert.deepEqual(completed.map((operation) => operation.variables.input.code), [wrong, mail.code]);
    assert.deepEqual(webauthn.all(), [], 'no passkey prompt before the person asks for it');

    await page.fill('#create-name', DISPLAY_NAME);
    await page.click('#create-button');
    await waitForAccount(page, server.url);

    const begin = operations.named('beginPasskeyRegistration');
    assert.equal(begin.length, 1);
    assert.deepEqual(Object.keys(begin[0].variables.input).sort(), ['displayName', 'emailProof']);
    assert.equal(begin[0].variables.input.displayName, DISPLAY_NAME);
    assert.equal(operations.named('finishPasskeyRegistration').length, 1);
    assert.deepEqual(
      webauthn.all().filter((call) => call.kind === 'create').map((call) => call.state),
      ['resolved'],
    );

    const account = await accountState(page);
    assert.equal(account.email, EMAIL);
    assert.equal(account.displayName, DISPLAY_NAME);
    assert.equal(account.passkeys.length, 1);
    assert.equal(account.sessions.length, 1);
    assert.equal(account.sessions[0].current, true);
    assert.equal(account.sessions[0].badgeShown, true);
    assert.equal(account.sessions[0].canRevoke, false, 'this session signs out with the Sign out button');
    assert.equal(account.sessions[0].device, 'Chrome on Linux', 'the session records the User-Agent');
    assert.equal(await page.locator('#passkey-count').textContent(), '(1 passkey)');

    const [credential] = await laptop.credentials();
    assert.equal((await laptop.credentials()).length, 1);
    assert.equal(credential.rpId, 'localhost');
    assert.equal(credential.isResidentCredential, true, 'a discoverable credential, for usernameless sign-in');
    assert.equal(credential.userName, EMAIL, 'the passkey is labelled with the email in the browser');

    const tokens = await laptop.tokens();
    assert.ok(tokens?.accessToken && tokens?.refreshToken, 'the tokens are stored');
  });

  step('a passkey can be renamed, and the new name is kept', async () => {
    const { page } = laptop;
    const item = page.locator('#passkey-list [data-passkey-id]').first();
    await item.locator('.passkey-rename').click();
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('rename-input')), true);
    await item.locator('.rename-input').fill('Laptop');
    await item.locator('.rename-save').click();
    assert.match(await statusOf(page, 'success'), /renamed to “Laptop”/);
    await page.reload();
    await waitForAccount(page, server.url);
    assert.deepEqual((await accountState(page)).passkeys.map((passkey) => passkey.name), ['Laptop']);
  });

  step('adding a passkey on a device that already holds one is refused as already registered', async () => {
    const { page, webauthn } = laptop;
    webauthn.clear();
    await page.click('#add-passkey-button');
    assert.match(await statusOf(page, 'error'), /already holds a passkey/);
    const creates = webauthn.all().filter((call) => call.kind === 'create');
    assert.deepEqual(creates.map((call) => call.error), ['InvalidStateError'], 'the server excluded the existing credential');
    await page.reload();
    await waitForAccount(page, server.url);
    assert.equal((await accountState(page)).passkeys.length, 1);
  });

  step('a security key can be added as a second passkey and removed again', async () => {
    const { page, cdp } = laptop;
    const { authenticatorId: securityKey } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { ...AUTHENTICATOR, transport: 'usb' },
    });
    try {
      await page.fill('#add-passkey-name', 'Security key');
      await page.click('#add-passkey-button');
      assert.equal(await statusOf(page, 'success'), 'Passkey added.');
      let account = await accountState(page);
      assert.deepEqual(account.passkeys.map((passkey) => passkey.name).sort(), ['Laptop', 'Security key']);
      assert.equal(await page.locator('#passkey-count').textContent(), '(2 passkeys)');
      assert.equal((await laptop.credentials(securityKey)).length, 1);
      assert.equal((await laptop.credentials()).length, 1);

      page.once('dialog', (dialog) => dialog.accept());
      await page
        .locator('#passkey-list [data-passkey-id]', { hasText: 'Security key' })
        .locator('.passkey-revoke')
        .click();
      assert.equal(await statusOf(page, 'success', 'removed'), 'Passkey “Security key” removed.');
      account = await accountState(page);
      assert.deepEqual(account.passkeys.map((passkey) => passkey.name), ['Laptop']);
    } finally {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: securityKey });
    }
  });

  step('signing out ends the session; "Sign in with a passkey" signs in without an email', async () => {
    const { page, operations, webauthn } = laptop;
    const before = await accountState(page);
    const oldTokens = await laptop.tokens();

    // Nobody at the keyboard: the sign-in page's autofill request waits, as for a person
    // who has not picked a passkey yet.
    await laptop.setPresence(false);
    webauthn.clear();
    operations.clear();
    await page.click('#signout-button');
    await page.waitForURL(`${server.url}/t/demo/`);
    assert.equal(await statusOf(page, 'info'), 'You have signed out.');
    assert.equal(await laptop.tokens(), null, 'the tokens are gone');
    assert.equal(operations.named('signOut').length, 1);

    const refused = await graphql(
      server.url,
      'mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken } }',
      { input: { refreshToken: oldTokens.refreshToken } },
    );
    assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'the ended session cannot be refreshed');

    await waitUntil(() => webauthn.all().some((call) => call.mediation === 'conditional'));
    await page.waitForTimeout(500);
    const waiting = webauthn.all().filter((call) => call.mediation === 'conditional');
    assert.deepEqual(waiting.map((call) => call.state), ['pending'], 'the autofill request waits for the person');

    await laptop.setPresence(true);
    operations.clear();
    await page.click('#signin-passkey-button');
    await waitForAccount(page, server.url);

    const calls = webauthn.all().filter((call) => call.kind === 'get');
    assert.deepEqual(
      calls.map((call) => [call.mediation, call.state, call.error ?? null]),
      [
        ['conditional', 'rejected', 'AbortError'],
        ['optional', 'resolved', null],
      ],
      'the autofill request was aborted before the modal request',
    );
    assert.equal(calls[1].allowCredentials, 0, 'a discoverable (usernameless) request');
    const begins = operations.named('beginPasskeySignIn');
    assert.deepEqual(begins.at(-1).variables.input, {}, 'no email was sent');

    const account = await accountState(page);
    assert.equal(account.email, EMAIL);
    assert.equal(account.sessions.length, 1, 'the signed-out session is no longer listed');
    assert.equal(account.sessions[0].current, true);
    assert.notEqual(account.sessions[0].id, before.sessions[0].id, 'a new session');
    assert.deepEqual(account.passkeys.map((passkey) => passkey.name), ['Laptop']);
  });

  step('signing in through the autofill of the email field (conditional mediation)', async () => {
    const { page, operations, webauthn } = laptop;
    const before = await accountState(page);
    webauthn.clear();
    operations.clear();
    // Presence on: Chromium's virtual authenticator answers a conditional request at once,
    // without the field being focused or a suggestion being picked (see README.md).
    await Promise.all([
      page.waitForURL(`${server.url}/t/demo/`, { waitUntil: 'commit' }),
      page.click('#signout-button'),
    ]);
    await waitForAccount(page, server.url);

    const calls = webauthn.all();
    assert.deepEqual(
      calls.map((call) => [call.kind, call.page, call.mediation, call.state]),
      [['get', '/t/demo/', 'conditional', 'resolved']],
      'one conditional request on the sign-in page signed in; no button was pressed',
    );
    assert.deepEqual(
      operations.all().map((operation) => operation.field),
      ['signOut', 'beginPasskeySignIn', 'finishPasskeySignIn', 'viewer'],
    );
    assert.deepEqual(operations.named('beginPasskeySignIn')[0].variables.input, {});

    const account = await accountState(page);
    assert.equal(account.email, EMAIL);
    assert.equal(account.sessions.length, 1);
    assert.notEqual(account.sessions[0].id, before.sessions[0].id);
  });

  step('signing in with an email asks only for that account’s passkeys', async () => {
    const { page, operations, webauthn } = laptop;
    await laptop.setPresence(false);
    await page.click('#signout-button');
    await page.waitForURL(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    await page.fill('#signin-email', EMAIL);
    await laptop.autofillWaiting();
    await laptop.setPresence(true);
    webauthn.clear();
    operations.clear();
    await page.press('#signin-email', 'Enter');
    await waitForAccount(page, server.url);

    assert.deepEqual(operations.named('beginPasskeySignIn')[0].variables.input, { email: EMAIL });
    const modal = webauthn.all().filter((call) => call.mediation === 'optional');
    assert.equal(modal.length, 1);
    assert.equal(modal[0].state, 'resolved');
    assert.equal(modal[0].allowCredentials, 1, 'the one remaining passkey (the security key was removed)');
    assert.equal((await accountState(page)).email, EMAIL);
  });

  step('an expired or refused access token is refreshed once; a reused refresh token ends the session', async () => {
    const { page, operations } = laptop;
    const original = await laptop.tokens();

    // Refused by the server: refresh after UNAUTHENTICATED.
    await forgeAccessToken(page);
    operations.clear();
    await page.reload();
    await waitForAccount(page, server.url);
    assert.equal((await accountState(page)).email, EMAIL);
    assert.deepEqual(operations.all().map((operation) => operation.field), ['viewer', 'refreshSession', 'viewer']);
    const refreshed = await laptop.tokens();
    assert.notEqual(refreshed.refreshToken, original.refreshToken, 'refresh tokens rotate');
    assert.notEqual(refreshed.accessToken, 'not-a-token');

    // Expired on the client's clock: refresh before asking.
    await page.evaluate(() => {
      const tokens = JSON.parse(localStorage.getItem('latchkey.demo.tokens'));
      localStorage.setItem('latchkey.demo.tokens', JSON.stringify({ ...tokens, expiresAt: Date.now() - 1000 }));
    });
    operations.clear();
    await page.reload();
    await waitForAccount(page, server.url);
    assert.deepEqual(operations.all().map((operation) => operation.field), ['refreshSession', 'viewer']);
    assert.notEqual((await laptop.tokens()).refreshToken, refreshed.refreshToken);

    // Presenting a rotated-away refresh token (as a thief would) is refused and ends the
    // session: the page's next refresh fails too, and it goes back to sign-in.
    const reused = await graphql(
      server.url,
      'mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken } }',
      { input: { refreshToken: original.refreshToken } },
    );
    assert.equal(reused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'a rotated refresh token is refused');
    await laptop.setPresence(false);
    await forgeAccessToken(page);
    await page.reload();
    await page.waitForURL(`${server.url}/t/demo/`);
    assert.equal(await statusOf(page, 'info'), 'Your session has ended. Please sign in again.');
    assert.equal(await laptop.tokens(), null);

    await laptop.autofillWaiting();
    await laptop.setPresence(true);
    await page.click('#signin-passkey-button');
    await waitForAccount(page, server.url);
    assert.equal((await accountState(page)).sessions.length, 1);
  });

  step('a session on another device is listed, can be signed out, and that device is sent to sign in', async () => {
    // A second browser profile whose platform authenticator holds the same (synced) passkey.
    const phone = await newDevice(browser);
    try {
      const [credential] = await laptop.credentials();
      await phone.cdp.send('WebAuthn.addCredential', { authenticatorId: phone.authenticatorId, credential });
      await phone.page.goto(`${server.url}/t/demo/`);
      await waitForAccount(phone.page, server.url);
      const phoneAccount = await accountState(phone.page);
      assert.equal(phoneAccount.email, EMAIL);
      assert.equal(phoneAccount.sessions.length, 2);
      const phoneSession = phoneAccount.sessions.find((session) => session.current);
      assert.ok(phoneSession);

      const { page } = laptop;
      await page.reload();
      await waitForAccount(page, server.url);
      let account = await accountState(page);
      assert.equal(account.sessions.length, 2);
      assert.equal(account.sessions.filter((session) => session.current).length, 1);
      const other = account.sessions.find((session) => !session.current);
      assert.equal(other.id, phoneSession.id, 'the laptop sees the phone’s session');
      assert.equal(other.canRevoke, true);
      assert.equal(await page.locator('#session-count').textContent(), '(2 sessions)');

      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      await page.locator(`[data-session-id="${other.id}"] .session-revoke`).click();
      assert.equal(await statusOf(page, 'success', 'signed out'), 'That session has been signed out.');
      account = await accountState(page);
      assert.deepEqual(account.sessions.map((session) => session.current), [true]);

      // The phone's next request fails and its refresh token is refused: back to sign-in,
      // with nobody at the keyboard so the autofill does not sign it straight back in.
      await phone.setPresence(false);
      await forgeAccessToken(phone.page);
      await phone.page.reload();
      await phone.page.waitForURL(`${server.url}/t/demo/`);
      assert.equal(await statusOf(phone.page, 'info'), 'Your session has ended. Please sign in again.');
      assert.equal(await phone.tokens(), null);
    } finally {
      await phone.context.close();
    }
  });

  step('a one-time registration link adds a passkey on a new device, and works only once', async () => {
    const admin = server.apiKey;
    const found = await graphql(server.url, 'query($email: String) { identities(filter: { email: $email }) { nodes { id } } }', { email: EMAIL }, admin);
    const identityId = found.data.identities.nodes[0].id;
    const created = await graphql(
      server.url,
      'mutation($id: ID!) { createRegistrationLink(input: { identityId: $id }) { url } }',
      { id: identityId },
      admin,
    );
    const link = created.data.createRegistrationLink.url;
    assert.ok(link.startsWith(`${server.url}/t/demo/?registration=`), link);

    const tablet = await newDevice(browser);
    try {
      await tablet.page.goto(link);
      await tablet.page.locator('#recovery-section:not([hidden])').waitFor();
      await tablet.page.click('#recovery-button');
      await waitForAccount(tablet.page, server.url);
      const account = await accountState(tablet.page);
      assert.equal(account.email, EMAIL);
      assert.equal(account.passkeys.length, 2, 'the laptop’s passkey and the new one');
      assert.equal((await tablet.credentials()).length, 1);
    } finally {
      await tablet.context.close();
    }

    const again = await newDevice(browser);
    try {
      await again.page.goto(link);
      await again.page.click('#recovery-button');
      assert.match(await statusOf(again.page, 'error'), /already used/);
      assert.equal((await again.credentials()).length, 0, 'no passkey was created');
    } finally {
      await again.context.close();
    }
  });

  step('an application signs in through the sign-in page with openid-client as its relying party', async () => {
    // The application: a confidential web app (client_secret_basic) that may be given refresh
    // tokens and has a page to come back to after signing out. Web apps must use https, and
    // app.example does not resolve: the test answers the browser's requests to it.
    const CALLBACK = 'https://app.example/callback';
    const SIGNED_OUT = 'https://app.example/signed-out';
    const SCOPE = 'openid profile email offline_access';
    const created = await graphql(
      server.url,
      `mutation($input: CreateApplicationInput!) {
        createApplication(input: $input) { application { id clientId } clientSecret }
      }`,
      {
        input: {
          name: 'Example app',
          type: 'WEB',
          redirectUris: [CALLBACK],
          postLogoutRedirectUris: [SIGNED_OUT],
          scopes: SCOPE.split(' '),
        },
      },
      server.apiKey,
    );
    const { application, clientSecret } = created.data?.createApplication ?? {};
    assert.ok(application?.clientId && clientSecret, JSON.stringify(created));

    // Discovery checks that the document names the issuer it was fetched for. The test
    // server speaks plain http on localhost, which the library refuses unless told.
    const issuer = `${server.url}/t/demo`;
    const config = await oidc.discovery(
      new URL(issuer),
      application.clientId,
      undefined,
      oidc.ClientSecretBasic(clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, issuer);
    // The library then requires `iss` on every authorization response (RFC 9207).
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);

    /** An authorization request as the application builds it, with what it checks on return. */
    async function authorizationRequest(parameters = {}) {
      const checks = {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: oidc.randomState(),
        expectedNonce: oidc.randomNonce(),
        idTokenExpected: true,
      };
      const url = oidc.buildAuthorizationUrl(config, {
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
    const withoutQuery = (url) => `${url.origin}${url.pathname}`;

    // A device without the provider's cookie, holding a copy of the laptop's passkey.
    const desktop = await newDevice(browser);
    try {
      const { context, page, cdp } = desktop;
      const [credential] = await laptop.credentials();
      await cdp.send('WebAuthn.addCredential', { authenticatorId: desktop.authenticatorId, credential });
      // The application's pages. The browser reaches them only through the provider's
      // redirects, and Playwright's route handlers never see a redirect's target (it lets
      // redirected requests through), so the DevTools Protocol's Fetch domain answers them.
      const atApplication = [];
      cdp.on('Fetch.requestPaused', ({ requestId, request }) => {
        atApplication.push(request.url);
        cdp
          .send('Fetch.fulfillRequest', {
            requestId,
            responseCode: 200,
            responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }],
            // The data: icon keeps the browser from asking app.example for a favicon.
            body: Buffer.from('<!doctype html><title>Example app</title><link rel="icon" href="data:,">').toString('base64'),
          })
          .catch(() => {});
      });
      await cdp.send('Fetch.enable', { patterns: [{ urlPattern: 'https://app.example/*', requestStage: 'Request' }] });
      const sessionRequests = [];
      context.on('request', (request) => {
        if (new URL(request.url()).pathname !== '/t/demo/oauth2/session') return;
        sessionRequests.push([request.method(), request.headers().authorization?.startsWith('Bearer ') ?? false]);
      });
      const shown = [];
      await context.exposeBinding('__latchkeyStatus', (_source, text) => shown.push(text));
      await context.addInitScript(() => {
        document.addEventListener('DOMContentLoaded', () => {
          const region = document.getElementById('status');
          const report = () => window.__latchkeyStatus(region.textContent);
          new MutationObserver(report).observe(region, { childList: true, characterData: true, subtree: true });
        });
      });

      // authorize → the hosted sign-in page. Nobody at the keyboard yet, so the autofill
      // request waits rather than signing in.
      const signIn = await authorizationRequest({ login_hint: EMAIL });
      await desktop.setPresence(false);
      await page.goto(signIn.url.href);
      await page.waitForURL((url) => url.pathname === '/t/demo/');
      assert.ok(new URL(page.url()).searchParams.get('authorization_request'), page.url());
      await page.locator('main[aria-busy="false"]').waitFor();
      assert.equal(await page.inputValue('#signin-email'), EMAIL, 'login_hint fills in the email');

      // The passkey → the provider's cookie → authorize again → the application's callback.
      await desktop.autofillWaiting();
      await desktop.setPresence(true);
      await Promise.all([
        page.waitForURL((url) => url.href.startsWith(`${CALLBACK}?`)),
        page.press('#signin-email', 'Enter'),
      ]).catch((error) => {
        // What the page and the application saw, so a failure here says where it stopped.
        error.message += `\npage: ${page.url()}\nstatus shown: ${JSON.stringify(shown)}\nat the application: ${JSON.stringify(atApplication)}\noauth2/session: ${JSON.stringify(sessionRequests)}`;
        throw error;
      });
      const callback = new URL(page.url());
      assert.deepEqual(sessionRequests, [['POST', true]], 'the session became the provider’s browser session');
      assert.deepEqual(shown.slice(0, 2), ['Waiting for your passkey…', 'Signing you in…']);

      // The library checks state, iss, the PKCE verifier and the ID token (signature against
      // the JWKS, iss, aud, exp, iat, nonce) before it returns.
      const tokens = await oidc.authorizationCodeGrant(config, callback, signIn.checks);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, SCOPE);
      assert.equal(typeof tokens.refresh_token, 'string', 'offline_access gives a refresh token');
      const claims = tokens.claims();
      assert.equal(claims.iss, issuer);
      assert.equal(claims.aud, application.clientId);
      assert.equal(claims.nonce, signIn.checks.expectedNonce);
      assert.equal(claims.email, EMAIL);
      assert.equal(claims.name, DISPLAY_NAME);
      assert.deepEqual(claims.amr, ['webauthn']);

      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.deepEqual([userinfo.sub, userinfo.email, userinfo.name], [claims.sub, EMAIL, DISPLAY_NAME]);

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.equal(typeof refreshed.refresh_token, 'string');
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
      assert.equal(refreshed.claims()?.sub, claims.sub);
      assert.equal((await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub)).email, EMAIL);

      // While the browser session lives, prompt=none comes back with a code, for the same
      // sign-in (so login_required below is the logout's doing).
      const silent = await authorizationRequest({ prompt: 'none' });
      await page.goto(silent.url.href);
      const silentCallback = new URL(page.url());
      assert.equal(withoutQuery(silentCallback), CALLBACK);
      const silentClaims = (await oidc.authorizationCodeGrant(config, silentCallback, silent.checks)).claims();
      assert.deepEqual([silentClaims.sid, silentClaims.auth_time], [claims.sid, claims.auth_time]);

      // RP-initiated logout with the ID token as the hint, back to the registered page.
      const logoutState = oidc.randomState();
      const endSession = oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: SIGNED_OUT,
        state: logoutState,
      });
      assert.equal(withoutQuery(endSession), metadata.end_session_endpoint);
      await page.goto(endSession.href);
      const signedOut = new URL(page.url());
      assert.equal(withoutQuery(signedOut), SIGNED_OUT);
      assert.equal(signedOut.searchParams.get('state'), logoutState);
      const cookies = await context.cookies(`${issuer}/`);
      assert.deepEqual(cookies.map((cookie) => cookie.name), [], 'the provider’s cookie is removed');

      // The application's sessions ended with the browser session.
      await assert.rejects(
        oidc.refreshTokenGrant(config, refreshed.refresh_token),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
      );
      await assert.rejects(
        oidc.fetchUserInfo(config, refreshed.access_token, claims.sub),
        (error) =>
          error instanceof oidc.WWWAuthenticateChallengeError &&
          error.cause.some((challenge) => challenge.parameters.error === 'invalid_token'),
      );

      // And the browser is no longer signed in: prompt=none answers login_required, which the
      // library raises after checking that response's state and iss.
      const afterLogout = await authorizationRequest({ prompt: 'none' });
      await page.goto(afterLogout.url.href);
      const denied = new URL(page.url());
      assert.equal(withoutQuery(denied), CALLBACK);
      assert.equal(denied.searchParams.get('error'), 'login_required');
      await assert.rejects(
        oidc.authorizationCodeGrant(config, denied, afterLogout.checks),
        (error) => error instanceof oidc.AuthorizationResponseError && error.error === 'login_required',
      );

      assert.deepEqual(
        atApplication,
        [callback.href, silentCallback.href, signedOut.href, denied.href],
        'the browser reached the application exactly at these addresses',
      );
    } finally {
      await desktop.context.close();
    }
  });

  step('a lost passkey: an emailed code lets a new device create a passkey for the same account, signing out everywhere else', async () => {
    // The laptop is signed in; its session should end when the person chooses so.
    const { page } = laptop;
    await page.goto(`${server.url}/t/demo/account`);
    await waitForAccount(page, server.url);
    const laptopTokens = await laptop.tokens();
    const identityId = subjectOf(laptopTokens.accessToken);
    const passkeysBefore = (await accountState(page)).passkeys.length;

    // A new phone with a new platform authenticator that holds no passkey of this site.
    const phone = await newDevice(browser);
    try {
      await phone.page.goto(`${server.url}/t/demo/`);
      await phone.page.locator('main[aria-busy="false"]').waitFor();
      await phone.page.click('#lost-passkey-button');
      await phone.page.locator('#recover-form:not([hidden])').waitFor();
      assert.equal(await phone.page.locator('#email-heading').textContent(), 'Recover your account');
      await phone.page.fill('#recover-email', EMAIL);
      await phone.page.click('#recover-button');
      await phone.page.locator('#code-form:not([hidden])').waitFor();
      assert.deepEqual(phone.operations.named('startEmailVerification').map((operation) => operation.variables.input), [
        { email: EMAIL, purpose: 'RECOVERY' },
      ]);
      assert.match(await phone.page.locator('#code-sent').textContent(), /If ada@example\.com belongs to an account/);

      const mail = await server.mailbox.nextCode(EMAIL);
      assert.match(mail.code ?? '', /^\d{6}$/, mail.text);
      await phone.page.fill('#code-input', mail.code);
      await phone.page.click('#code-button');
      await phone.page.locator('#replace-form:not([hidden])').waitFor();
      assert.equal(await phone.page.isChecked('#replace-signout'), true, 'signing out everywhere else is the default');
      phone.webauthn.clear();
      await phone.page.click('#replace-button');
      await waitForAccount(phone.page, server.url);
      assert.equal(
        await statusOf(phone.page, 'success'),
        'Your new passkey is ready, and your account was signed out everywhere else.',
      );

      const begin = phone.operations.named('beginPasskeyRegistration');
      assert.equal(begin.length, 1);
      assert.equal(typeof begin[0].variables.input.emailProof, 'string');
      assert.equal(begin[0].variables.input.signOutEverywhere, true);
      assert.deepEqual(phone.webauthn.all().map((call) => [call.kind, call.state]), [['create', 'resolved']]);
      assert.equal((await phone.credentials()).length, 1, 'the phone holds the new passkey');

      const phoneTokens = await phone.tokens();
      assert.equal(subjectOf(phoneTokens.accessToken), identityId, 'the same account, not a new one');
      let account = await accountState(phone.page);
      assert.equal(account.email, EMAIL);
      assert.equal(account.passkeys.length, passkeysBefore + 1, 'the old passkeys are kept, the new one added');
      assert.deepEqual(account.sessions.map((session) => session.current), [true], 'the laptop’s session ended');
      const events = await phone.page.evaluate(() =>
        [...document.querySelectorAll('#event-list [data-action]')].map((item) => ({
          action: item.dataset.action,
          text: item.querySelector('.event-action').textContent,
        })),
      );
      assert.ok(events.length >= 2, `security events are listed: ${JSON.stringify(events)}`);
      assert.ok(events.some((event) => event.text === 'Passkey added'), JSON.stringify(events));
      assert.ok(events.some((event) => event.text === 'Account recovered'), JSON.stringify(events));

      // The laptop's refresh token is refused: the session was ended on the server.
      const refused = await graphql(
        server.url,
        'mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken } }',
        { input: { refreshToken: laptopTokens.refreshToken } },
      );
      assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

      // Signing out and back in with the new passkey (usernameless), nobody at the keyboard
      // until the button is pressed so the autofill does not sign in first.
      await phone.setPresence(false);
      await phone.page.click('#signout-button');
      await phone.page.waitForURL(`${server.url}/t/demo/`);
      await phone.page.locator('main[aria-busy="false"]').waitFor();
      await phone.autofillWaiting();
      await phone.setPresence(true);
      phone.webauthn.clear();
      const [created] = await phone.credentials();
      await phone.page.click('#signin-passkey-button');
      await waitForAccount(phone.page, server.url);
      assert.deepEqual(
        phone.webauthn.all().filter((call) => call.mediation === 'optional').map((call) => [call.kind, call.state]),
        [['get', 'resolved']],
      );
      assert.equal(subjectOf((await phone.tokens()).accessToken), identityId);
      account = await accountState(phone.page);
      assert.equal(account.email, EMAIL);
      const [credential] = await phone.credentials();
      assert.equal(credential.signCount, created.signCount + 1, 'the new passkey signed in');
    } finally {
      await phone.context.close();
    }
  });

  step('the link in the email shows a Confirm button and spends the code only when it is clicked', async () => {
    const email = 'grace@example.com';
    const device = await newDevice(browser);
    try {
      // Asked for on this browser: the link, opened in another tab, can name the address.
      const { page, context, operations } = device;
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.fill('#signup-email', email);
      await page.click('#signup-button');
      await page.locator('#code-form:not([hidden])').waitFor();
      const mail = await server.mailbox.nextCode(email);
      assert.ok(mail.link, mail.text);

      // A mail scanner fetches the link: the page is served, nothing is spent.
      const scanned = await fetch(mail.link);
      assert.equal(scanned.status, 200);
      assert.match(scanned.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      await scanned.text();

      const tab = await context.newPage();
      // Virtual authenticators belong to a page (a DevTools target): the new tab gets its own.
      const tabDevTools = await context.newCDPSession(tab);
      await tabDevTools.send('WebAuthn.enable');
      await tabDevTools.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
      await tab.goto(mail.link);
      await tab.locator('main[aria-busy="false"]').waitFor();
      await tab.locator('#link-form:not([hidden])').waitFor();
      assert.equal(await tab.locator('#link-text').textContent(), `Confirm ${email} to create your account.`);
      assert.equal(await tab.locator('#entry').isVisible(), false, 'only the Confirm step is shown');
      await tab.waitForTimeout(500);
      assert.deepEqual(operations.named('completeEmailVerification'), [], 'nothing completes on load');

      await tab.click('#link-button');
      await tab.locator('#create-form:not([hidden])').waitFor();
      assert.equal(new URL(tab.url()).search, '', 'the code left the address bar');
      assert.deepEqual(operations.named('completeEmailVerification').map((operation) => operation.variables.input), [
        { challengeId: new URL(mail.link).searchParams.get('verify'), code: mail.code },
      ]);
      await tab.fill('#create-name', 'Grace Hopper');
      await tab.click('#create-button');
      await waitForAccount(tab, server.url);
      assert.equal((await accountState(tab)).email, email);

      // The link works once; the page says so rather than failing silently.
      const again = await newDevice(browser);
      try {
        await again.page.goto(mail.link);
        await again.page.locator('main[aria-busy="false"]').waitFor();
        assert.equal(
          await again.page.locator('#link-text').textContent(),
          'Confirm your email address to continue.',
          'another browser cannot name the address before Confirm',
        );
        await again.page.click('#link-button');
        assert.match(await statusOf(again.page, 'error'), /no longer works/);
        assert.equal(await shownStep(again.page), 'link');
      } finally {
        await again.context.close();
      }
    } finally {
      await device.context.close();
    }
  });

  step('the link of an administrator’s verification email confirms the address after a click', async () => {
    const email = 'linus@example.com';
    const created = await graphql(
      server.url,
      'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id emailVerified } } }',
      { input: { email } },
      server.apiKey,
    );
    const identity = created.data?.createIdentity.identity;
    assert.equal(identity?.emailVerified, false, JSON.stringify(created));
    const sent = await graphql(
      server.url,
      'mutation($input: SendVerificationEmailInput!) { sendVerificationEmail(input: $input) { challengeId } }',
      { input: { identityId: identity.id } },
      server.apiKey,
    );
    assert.ok(sent.data?.sendVerificationEmail.challengeId, JSON.stringify(sent));
    const mail = await server.mailbox.nextCode(email);

    const device = await newDevice(browser);
    try {
      const { page, operations } = device;
      await page.goto(mail.link);
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.locator('#link-form:not([hidden])').waitFor();
      assert.deepEqual(operations.named('completeEmailVerification'), []);
      await page.click('#link-button');
      await page.locator('#done-step:not([hidden])').waitFor();
      assert.equal(await page.locator('#email-heading').textContent(), 'Email address verified');
      assert.equal(await page.locator('#done-text').textContent(), `Your email address ${email} is verified.`);
      assert.deepEqual(webauthnCreates(device), [], 'no passkey is involved');
    } finally {
      await device.context.close();
    }
    const after = await graphql(server.url, 'query($id: ID!) { identity(id: $id) { emailVerified } }', { id: identity.id }, server.apiKey);
    assert.equal(after.data?.identity.emailVerified, true, JSON.stringify(after));
  });

  step('where recoveries need approval, the page files the request; once approved, the emailed link adds the passkey', async () => {
    const settings = 'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { recoveryRequiresApproval } } }';
    const on = await graphql(server.url, settings, { input: { recoveryRequiresApproval: true } }, server.apiKey);
    assert.equal(on.data?.updateTenantSettings.settings.recoveryRequiresApproval, true, JSON.stringify(on));
    const device = await newDevice(browser);
    try {
      const { page, operations } = device;
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      await page.click('#lost-passkey-button');
      await page.fill('#recover-email', EMAIL);
      await page.click('#recover-button');
      await page.locator('#code-form:not([hidden])').waitFor();
      const mail = await server.mailbox.nextCode(EMAIL);
      await page.fill('#code-input', mail.code);
      await page.click('#code-button');
      await page.locator('#done-step:not([hidden])').waitFor();
      assert.match(await page.locator('#done-text').textContent(), /has been sent.*you will receive an email/s);
      assert.equal(operations.named('requestAccountRecovery').length, 1);
      assert.equal(operations.named('beginPasskeyRegistration').length, 0, 'no passkey without an approval');
      assert.equal(await device.tokens(), null, 'not signed in');

      // An administrator approves; the account's address gets a registration link.
      const pending = await graphql(
        server.url,
        'query { recoveryRequests(status: PENDING) { nodes { id identity { email } } } }',
        {},
        server.apiKey,
      );
      const [request] = pending.data?.recoveryRequests.nodes ?? [];
      assert.equal(request?.identity.email, EMAIL, JSON.stringify(pending));
      const approved = await graphql(
        server.url,
        'mutation($input: DecideRecoveryRequestInput!) { approveRecoveryRequest(input: $input) { request { status } } }',
        { input: { requestId: request.id } },
        server.apiKey,
      );
      assert.equal(approved.data?.approveRecoveryRequest.request.status, 'APPROVED', JSON.stringify(approved));
      const letter = await server.mailbox.next(EMAIL, { matching: (message) => /[?&]registration=/.test(message.text) });
      const link = /https?:\/\/\S+[?&]registration=[\w-]+/.exec(letter.text)[0];
      assert.ok(link.startsWith(`${server.url}/t/demo/?registration=`), link);
      await page.goto(link);
      await page.locator('#recovery-section:not([hidden])').waitFor();
      await page.click('#recovery-button');
      await waitForAccount(page, server.url);
      assert.equal((await accountState(page)).email, EMAIL);
      assert.equal((await device.credentials()).length, 1, 'the new passkey is on this device');
    } finally {
      await device.context.close();
      await graphql(server.url, settings, { input: { recoveryRequiresApproval: false } }, server.apiKey);
    }
  });

  step('"Email me a code" signs in with the emailed code; the offered passkey is added and then signs in', async () => {
    const tablet = await newDevice(browser);
    try {
      const { page, operations, webauthn } = tablet;
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      assert.deepEqual(
        (await (await fetch(`${server.url}/t/demo/config.json`)).json()).signInMethods,
        ['PASSKEY', 'EMAIL_CODE'],
        'the default sign-in methods',
      );
      assert.ok(await page.locator('#signin-code-button').isVisible(), 'a code is offered');
      assert.ok(await page.locator('#signin-passkey-button').isVisible(), 'and passkeys');

      operations.clear();
      await page.fill('#signin-email', EMAIL);
      await page.click('#signin-code-button');
      await page.locator('#code-form:not([hidden])').waitFor();
      assert.deepEqual(operations.named('startEmailVerification').map((operation) => operation.variables.input), [
        { email: EMAIL, purpose: 'SIGN_IN' },
      ]);
      assert.equal(await page.locator('#email-heading').textContent(), 'Sign in');
      const mail = await server.mailbox.nextCode(EMAIL);
      await page.fill('#code-input', mail.code);
      await page.click('#code-button');

      // Signed in: the page offers a passkey before going on, with no way back to sign-in.
      await page.locator('#offer-form:not([hidden])').waitFor();
      assert.equal(await page.locator('#email-back-button').isVisible(), false);
      assert.match(await page.locator('#offer-text').textContent(), new RegExp(`signed in as ${EMAIL}`));
      assert.deepEqual(operations.named('signInWithEmailCode').map((operation) => operation.variables.input), [
        { challengeId: new URL(mail.link).searchParams.get('verify'), code: mail.code },
      ]);
      assert.deepEqual(operations.named('completeEmailVerification'), [], 'a sign-in code is not turned into a proof');
      const tokens = await tablet.tokens();
      assert.ok(tokens?.accessToken, 'the session is stored');
      const identityId = subjectOf(tokens.accessToken);
      assert.deepEqual(webauthnCreates(tablet), [], 'no passkey prompt before the person asks for it');

      await page.click('#offer-button');
      await waitForAccount(page, server.url);
      assert.match(await statusOf(page, 'success'), /passkey is ready/);
      const begin = operations.named('beginPasskeyRegistration');
      assert.deepEqual(begin.map((operation) => [operation.variables.input, operation.authorized]), [[{}, true]],
        'a passkey for the signed-in person');
      assert.equal((await tablet.credentials()).length, 1, 'the new passkey is on this device');
      assert.equal((await accountState(page)).email, EMAIL);

      // Signed out, the new passkey signs in to the same account (nobody at the keyboard
      // until the button: the autofill request waits rather than signing in).
      await tablet.setPresence(false);
      webauthn.clear();
      await page.click('#signout-button');
      await page.waitForURL(`${server.url}/t/demo/`);
      await tablet.autofillWaiting();
      await tablet.setPresence(true);
      operations.clear();
      await page.click('#signin-passkey-button');
      await waitForAccount(page, server.url);
      assert.equal(subjectOf((await tablet.tokens()).accessToken), identityId);
      assert.equal(operations.named('finishPasskeySignIn').length, 1);
      assert.ok(webauthn.all().some((call) => call.kind === 'get' && call.mediation === 'optional' && call.state === 'resolved'));
    } finally {
      await tablet.context.close();
    }
  });

  step('a tenant that allows only email codes shows no passkey sign-in, and the link in another browser signs in', async () => {
    const settings = 'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { signInMethods } } }';
    const changed = await graphql(server.url, settings, { input: { signInMethods: ['EMAIL_CODE'] } }, server.apiKey);
    assert.deepEqual(changed.data?.updateTenantSettings.settings.signInMethods, ['EMAIL_CODE'], JSON.stringify(changed));
    const device = await newDevice(browser);
    const other = await newDevice(browser);
    try {
      const { page, operations, webauthn } = device;
      await page.goto(`${server.url}/t/demo/`);
      await page.locator('main[aria-busy="false"]').waitFor();
      for (const id of ['#signin-passkey-button', '#signin-email-button', '#lost-passkey-button']) {
        assert.equal(await page.locator(id).isVisible(), false, `${id} is hidden`);
      }
      assert.ok(await page.locator('#signin-code-button').isVisible());
      assert.equal(await page.locator('#signin-email').getAttribute('autocomplete'), 'email', 'no passkeys in the autofill');
      assert.deepEqual(webauthn.all(), [], 'no autofill request');

      // Enter asks for a code: it is the form's one action.
      await page.fill('#signin-email', EMAIL);
      await page.press('#signin-email', 'Enter');
      await page.locator('#code-form:not([hidden])').waitFor();
      assert.deepEqual(operations.named('startEmailVerification').map((operation) => operation.variables.input), [
        { email: EMAIL, purpose: 'SIGN_IN' },
      ]);
      assert.deepEqual(operations.named('beginPasskeySignIn'), []);

      // The link, opened in a browser that did not ask for the code: Confirm signs in there,
      // with no passkey offered (the tenant does not allow them).
      const mail = await server.mailbox.nextCode(EMAIL);
      await other.page.goto(mail.link);
      await other.page.locator('#link-form:not([hidden])').waitFor();
      assert.deepEqual(other.operations.named('signInWithEmailCode'), [], 'not on load');
      await other.page.click('#link-button');
      await waitForAccount(other.page, server.url);
      assert.equal((await accountState(other.page)).email, EMAIL);
      assert.deepEqual(other.operations.named('completeEmailVerification'), []);
      assert.equal(other.operations.named('signInWithEmailCode').length, 1);
      assert.deepEqual(other.webauthn.all(), []);
    } finally {
      await device.context.close();
      await other.context.close();
      await graphql(server.url, settings, { input: { signInMethods: ['PASSKEY', 'EMAIL_CODE'] } }, server.apiKey);
    }
  });
});

