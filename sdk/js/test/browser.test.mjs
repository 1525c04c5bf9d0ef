// The SDK in a real browser: Debian's Chromium driven by playwright-core, with the DevTools
// Protocol's virtual authenticator as the platform authenticator, against the real
// `latchkey` server. The page and latchkey.js are served from disk by request interception
// on the server's own origin (http://localhost:PORT/sdk-test/), the origin the tenant's
// WebAuthn settings accept, so the server needs no change.
//
// The steps share one browser and one account and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../test-support/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EMAIL = 'grace@example.com';
// The hosted pages' key: the last step checks that they take over the SDK's session.
const TOKEN_KEY = 'latchkey.demo.tokens';

const AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

// The app: the SDK imported as a module, one client on localStorage, an autofill field.
const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Latchkey SDK test</title>
<input id="email" name="email" autocomplete="username webauthn">
<script type="module">
  import * as sdk from './latchkey.js';
  window.sdk = sdk;
  window.latchkey = new sdk.Latchkey({
    issuer: location.origin + '/t/demo',
    storage: sdk.localStorageTokens(${JSON.stringify(TOKEN_KEY)}),
  });
  document.documentElement.dataset.ready = 'true';
</script>
</html>`;

const VIEWER = 'query { viewer { kind identity { id email } sessions { nodes { id current } } } }';

/**
 * Wraps `navigator.credentials.get/create` so the test sees every WebAuthn request (its
 * mediation, its allowCredentials count, how it ended).
 */
function recordWebAuthn() {
  window.__webauthn = [];
  for (const kind of ['get', 'create']) {
    const original = navigator.credentials[kind].bind(navigator.credentials);
    navigator.credentials[kind] = (options) => {
      const record = {
        kind,
        mediation: options?.mediation ?? 'optional',
        allowCredentials: options?.publicKey?.allowCredentials?.length ?? 0,
        state: 'pending',
      };
      window.__webauthn.push(record);
      const promise = original(options);
      promise.then(
        () => Object.assign(record, { state: 'resolved' }),
        (error) => Object.assign(record, { state: 'rejected', error: error?.name }),
      );
      return promise;
    };
  }
}

describe('the SDK in Chromium against a real server', { timeout: 60_000 }, () => {
  let server;
  let browser;
  let page;
  let cdp;
  let authenticatorId;
  /** The root field and variables of every GraphQL request the page made. */
  const operations = [];
  let failed = false;
  let identityId;
  let firstSessionId;

  before(async () => {
    server = await startServer();
    const sdkSource = await readFile(path.join(here, '..', 'latchkey.js'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    await context.route(`${server.url}/sdk-test/**`, (route) => {
      const { pathname } = new URL(route.request().url());
      if (pathname === '/sdk-test/') return route.fulfill({ contentType: 'text/html', body: PAGE });
      if (pathname === '/sdk-test/latchkey.js') return route.fulfill({ contentType: 'text/javascript', body: sdkSource });
      return route.fulfill({ status: 404, body: 'not found' });
    });
    await context.addInitScript(recordWebAuthn);
    context.on('request', (request) => {
      if (request.method() !== 'POST' || !request.url().endsWith('/t/demo/graphql')) return;
      const body = request.postDataJSON();
      operations.push({ field: /\{\s*(\w+)/.exec(body?.query ?? '')?.[1], variables: body?.variables ?? {} });
    });
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }));
    await page.goto(`${server.url}/sdk-test/`);
    await page.locator('html[data-ready="true"]').waitFor();
  });

  after(async () => {
    await browser?.close();
    if (failed && server) console.error(`latchkey stderr:\n${server.stderr()}`);
    await server?.stop();
  });

  /** One step of the story: skipped once an earlier step has failed. */
  function step(name, fn) {
    it(name, async (t) => {
      if (failed) return t.skip('an earlier step failed');
      try {
        await fn();
      } catch (error) {
        failed = true;
        throw error;
      }
    });
  }

  const webauthnCalls = () => page.evaluate(() => window.__webauthn.map((call) => ({ ...call })));
  const clearCalls = () => page.evaluate(() => window.__webauthn.splice(0));
  const storedTokens = () => page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? 'null'), TOKEN_KEY);
  const setPresence = (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  const fields = () => operations.map((operation) => operation.field);
  /** Runs `latchkey[method](argument)` in the page; a LatchkeyError comes back as `{ error: { name, code } }`. */
  const call = (method, argument) =>
    page.evaluate(
      async ([method, argument]) => {
        try {
          return { value: await window.latchkey[method](argument) };
        } catch (error) {
          return { error: { name: error.name, code: error.code, message: error.message } };
        }
      },
      [method, argument],
    );
  const viewer = async () => {
    const { value, error } = await call('graphql', VIEWER);
    assert.equal(error, undefined, JSON.stringify(error));
    return value.viewer;
  };

  step('signUp with an emailed code creates the account and a discoverable passkey; the tokens are stored', async () => {
    const started = await call('startEmailVerification', { email: EMAIL, purpose: 'SIGN_UP' });
    assert.equal(started.error, undefined, JSON.stringify(started.error));
    const { code } = await server.mailbox.nextCode(EMAIL);
    const proven = await call('completeEmailVerification', { challengeId: started.value.challengeId, code });
    assert.equal(proven.error, undefined, JSON.stringify(proven.error));
    assert.equal(proven.value.email, EMAIL);
    const { value, error } = await call('signUp', { emailProof: proven.value.emailProof, displayName: 'Grace Hopper' });
    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(value.identity.email, EMAIL);
    assert.equal(value.identity.displayName, 'Grace Hopper');
    assert.equal(value.passkey.name, 'Passkey');
    identityId = value.identity.id;
    firstSessionId = value.session.sessionId;
    assert.equal(value.session.identityId, identityId);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].rpId, 'localhost');
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(credentials[0].userName, EMAIL);

    const tokens = await storedTokens();
    assert.equal(tokens.accessToken, value.accessToken);
    assert.match(tokens.refreshToken, /^lkr_/);
    assert.ok(tokens.expiresAt > Date.now());

    const me = await viewer();
    assert.equal(me.kind, 'IDENTITY');
    assert.equal(me.identity.email, EMAIL);
    assert.deepEqual(me.sessions.nodes, [{ id: value.session.sessionId, current: true }]);
  });

  step('signOut ends the session; signIn with the email hint asks for that passkey only', async () => {
    operations.splice(0);
    assert.equal((await call('signOut')).error, undefined);
    assert.equal(await storedTokens(), null);
    assert.deepEqual(fields(), ['signOut']);
    assert.equal((await call('graphql', VIEWER)).error.code, 'UNAUTHENTICATED');

    await clearCalls();
    operations.splice(0);
    const { value, error } = await call('signIn', { email: EMAIL });
    assert.equal(error, undefined, JSON.stringify(error));
    assert.equal(value.identity.id, identityId);
    assert.notEqual(value.session.sessionId, firstSessionId, 'a new session');
    assert.deepEqual(operations[0].variables.input, { email: EMAIL });
    assert.deepEqual(
      (await webauthnCalls()).map((c) => [c.kind, c.mediation, c.allowCredentials, c.state]),
      [['get', 'optional', 1, 'resolved']],
    );
    assert.equal((await viewer()).identity.id, identityId);
  });

  step('autofill: an abort withdraws the request, another ceremony displaces it, and a picked passkey signs in', async () => {
    assert.deepEqual(await call('isConditionalMediationAvailable'), { value: true });
    await call('signOut');

    // Nobody at the keyboard: the conditional request waits, as for a person who has not
    // picked a suggestion yet. Then the app aborts it.
    await setPresence(false);
    await clearCalls();
    await page.evaluate(() => {
      window.autofillController = new AbortController();
      window.autofill = window.latchkey
        .signInWithAutofill({ signal: window.autofillController.signal })
        .then(
          (value) => ({ value }),
          (error) => ({ error: { name: error.name, code: error.code } }),
        );
    });
    await page.waitForFunction(() => window.__webauthn.some((c) => c.mediation === 'conditional'));
    await page.waitForTimeout(300);
    assert.deepEqual((await webauthnCalls()).map((c) => c.state), ['pending']);
    await page.evaluate(() => window.autofillController.abort());
    assert.deepEqual(await page.evaluate(() => window.autofill), { error: { name: 'LatchkeyError', code: 'ABORTED' } });
    assert.deepEqual(
      (await webauthnCalls()).map((c) => [c.mediation, c.state, c.error]),
      [['conditional', 'rejected', 'AbortError']],
      'the browser request was withdrawn',
    );

    // A waiting autofill request, then a modal sign-in: the SDK aborts the autofill first
    // (the browser would refuse a second request while one is pending).
    await clearCalls();
    await page.evaluate(() => {
      window.autofill = window.latchkey.signInWithAutofill().then(
        (value) => ({ value }),
        (error) => ({ error: { name: error.name, code: error.code } }),
      );
    });
    await page.waitForFunction(() => window.__webauthn.some((c) => c.mediation === 'conditional'));
    await setPresence(true);
    const modal = await call('signIn');
    assert.equal(modal.error, undefined, JSON.stringify(modal.error));
    assert.equal(modal.value.identity.id, identityId);
    assert.deepEqual(await page.evaluate(() => window.autofill), { error: { name: 'LatchkeyError', code: 'ABORTED' } });
    assert.deepEqual(
      (await webauthnCalls()).map((c) => [c.mediation, c.state, c.error ?? null, c.allowCredentials]),
      [
        ['conditional', 'rejected', 'AbortError', 0],
        ['optional', 'resolved', null, 0],
      ],
    );

    // Presence on: Chromium's virtual authenticator answers a conditional request at once,
    // as if the person had picked the passkey (see tests/browser/README.md).
    await call('signOut');
    await clearCalls();
    const picked = await call('signInWithAutofill');
    assert.equal(picked.error, undefined, JSON.stringify(picked.error));
    assert.equal(picked.value.identity.id, identityId);
    assert.notEqual(picked.value.session.sessionId, modal.value.session.sessionId);
    assert.deepEqual((await webauthnCalls()).map((c) => [c.mediation, c.state]), [['conditional', 'resolved']]);
    assert.deepEqual((await viewer()).sessions.nodes, [{ id: picked.value.session.sessionId, current: true }]);
  });

  step('an expired access token is refreshed once for concurrent callers; refresh() rotates the tokens', async () => {
    const before = await storedTokens();
    await page.evaluate(
      ([key, tokens]) => localStorage.setItem(key, JSON.stringify({ ...tokens, expiresAt: Date.now() - 1000 })),
      [TOKEN_KEY, before],
    );
    operations.splice(0);
    const [a, b] = await page.evaluate(() => Promise.all([window.latchkey.getAccessToken(), window.latchkey.getAccessToken()]));
    assert.equal(a, b);
    assert.notEqual(a, before.accessToken);
    assert.deepEqual(fields(), ['refreshSession']);
    const rotated = await storedTokens();
    assert.notEqual(rotated.refreshToken, before.refreshToken);
    assert.ok(rotated.expiresAt > Date.now() + 60_000);

    operations.splice(0);
    const { value: session } = await call('refresh');
    assert.equal(session.identityId, identityId);
    assert.notEqual((await storedTokens()).refreshToken, rotated.refreshToken);
    assert.equal((await viewer()).identity.email, EMAIL, 'the session lives on: no refresh token was spent twice');
    assert.deepEqual(fields(), ['refreshSession', 'viewer']);
  });

  step('the hosted account page takes over the session the SDK stored', async () => {
    const { value: session } = await call('getSession');
    await page.goto(`${server.url}/t/demo/account`);
    await page.locator('#account-email:not(:empty)').waitFor();
    assert.equal(await page.locator('#account-email').textContent(), EMAIL);
    const current = page.locator('#session-list [data-current="true"]');
    assert.equal(await current.getAttribute('data-session-id'), session.sessionId);
  });
});
