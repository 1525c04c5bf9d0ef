// What the browser tests share: Chromium (Debian's, driven by playwright-core) with the
// DevTools Protocol's virtual authenticators, devices (browser profiles) that record the
// WebAuthn and GraphQL requests their pages make, what the hosted pages show, a CRM
// webhook receiver, and what the admin console's test needs (its session, its emailed links,
// axe-core).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, without the background traffic a test has no use for. */
export function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export const AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

/**
 * Wraps `navigator.credentials.get/create` in every page of a context so the test can see
 * which WebAuthn requests ran (mediation, allowCredentials) and how they ended. The records
 * go to the test process, so they survive the navigations that a sign-in causes.
 */
export async function recordWebAuthn(context) {
  const calls = new Map();
  await context.exposeBinding('__latchkeyRecordWebAuthn', (_source, event) => {
    calls.set(event.id, { ...calls.get(event.id), ...event });
  });
  await context.addInitScript(() => {
    const container = navigator.credentials;
    if (!container) return;
    let sequence = 0;
    for (const kind of ['get', 'create']) {
      const original = container[kind].bind(container);
      container[kind] = function (options) {
        const id = `${performance.timeOrigin}-${++sequence}`;
        const record = (state, error) =>
          window.__latchkeyRecordWebAuthn?.({
            id,
            kind,
            page: location.pathname,
            mediation: options?.mediation ?? 'optional',
            allowCredentials: options?.publicKey?.allowCredentials?.length ?? 0,
            state,
            error,
          });
        record('pending');
        const promise = original(options);
        promise.then(
          () => record('resolved'),
          (error) => record('rejected', error?.name),
        );
        return promise;
      };
    }
  });
  return {
    all: () => [...calls.values()],
    clear: () => calls.clear(),
  };
}

/** Records the root field and variables of every GraphQL request a context makes. */
export function recordGraphql(context) {
  const operations = [];
  context.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
    const body = request.postDataJSON();
    const field = /\{\s*(\w+)/.exec(body?.query ?? '')?.[1];
    operations.push({ field, variables: body?.variables ?? {}, authorized: !!request.headers().authorization });
  });
  return {
    all: () => operations,
    named: (field) => operations.filter((operation) => operation.field === field),
    clear: () => operations.splice(0),
  };
}

/**
 * A device: a browser profile (its own cookies and storage) with a platform authenticator
 * (a virtual one, holding no passkey yet) and records of the WebAuthn and GraphQL requests
 * its pages make. `tokens()` reads the session the hosted pages stored for the demo tenant.
 * `locale` is the browser's language (`navigator.languages`, `Accept-Language`); Playwright's
 * default is `en-US`.
 */
export async function newDevice(browser, { locale } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...(locale ? { locale } : {}) });
  context.setDefaultTimeout(15_000);
  const webauthn = await recordWebAuthn(context);
  const operations = recordGraphql(context);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
  const device = {
    context,
    page,
    cdp,
    authenticatorId,
    webauthn,
    operations,
    /** A person at the keyboard (presence on) or not (presence off: requests wait). */
    setPresence: (enabled) =>
      cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled }),
    /**
     * Waits until the sign-in page has asked the browser for its autofill (conditional) request.
     * Turning presence on before that lets the virtual authenticator answer the autofill at
     * once, and the step would sign in through it instead of the ceremony it means to test.
     */
    autofillWaiting: () =>
      waitUntil(() => {
        const conditional = webauthn.all().filter((call) => call.mediation === 'conditional');
        return conditional.at(-1)?.state === 'pending';
      }),
    credentials: async (id = authenticatorId) =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials,
    tokens: () => page.evaluate(() => JSON.parse(localStorage.getItem('latchkey.demo.tokens') ?? 'null')),
  };
  return device;
}

/** The identity an access token was issued to (its `sub`; read, not verified). */
export function subjectOf(accessToken) {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')).sub;
}

/** The shown step of the sign-in page's email section (`code`, `link`, `create`, …), or null. */
export function shownStep(page) {
  return page.evaluate(() =>
    document.getElementById('email-section').hidden
      ? null
      : [...document.querySelectorAll('#email-section [data-step]')].filter((step) => !step.hidden).map((step) => step.dataset.step).join(),
  );
}

export async function waitForAccount(page, url) {
  await page.waitForURL(`${url}/t/demo/account`);
  await page.locator('main[aria-busy="false"]').waitFor();
  await page.locator('#account-email:not(:empty)').waitFor();
}

/**
 * Signs `email` in on the sign-in page of `server` (sdk/js/test-support/server.mjs) with the
 * code emailed to it, skips the offer of a passkey when it is made, and waits for the account
 * page.
 */
export async function signInWithCode(page, server, email) {
  await page.goto(`${server.url}/t/demo/`);
  await page.locator('main[aria-busy="false"]').waitFor();
  await page.fill('#signin-email', email);
  await page.click('#signin-code-button');
  await page.locator('#code-form:not([hidden])').waitFor();
  await page.fill('#code-input', (await server.mailbox.nextCode(email)).code);
  await page.click('#code-button');
  const offer = page.locator('#offer-form:not([hidden])');
  await Promise.race([offer.waitFor(), page.waitForURL(`${server.url}/t/demo/account`)]);
  if (await offer.isVisible()) await page.click('#offer-skip-button');
  await waitForAccount(page, server.url);
}

export const status = (page) => page.locator('#status');

/** Waits until the status region shows `kind` and returns its text. */
export async function statusOf(page, kind, hasText) {
  // `hasText` waits for this message when an earlier one of the same kind may still show.
  await page.locator(`#status[data-kind="${kind}"]`, hasText ? { hasText } : undefined).waitFor();
  return (await status(page).textContent()).trim();
}

export async function waitUntil(condition, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Message `key` of the hosted pages' catalog of language `tag` (web/tenant/locales/<tag>.json)
 * with its `{name}` placeholders filled in from `values`, as the pages show it.
 */
export function message(tag, key, values = {}) {
  const catalog = JSON.parse(readFileSync(new URL(`../../web/tenant/locales/${tag}.json`, import.meta.url), 'utf8'));
  if (typeof catalog[key] !== 'string') throw new Error(`${tag}.json has no message ${key}`);
  return catalog[key].replace(/\{(\w+)\}/g, (placeholder, name) => (name in values ? String(values[name]) : placeholder));
}

/**
 * Steps that share one browser and server and run in order, each within `timeout` ms: once one
 * fails, the later ones are skipped rather than failing for the same reason. A set-up that
 * fails (`steps.setupError = error` in `before`) fails the first step: a failing hook would
 * leave the runner counting no test. `steps.failed` says whether one failed.
 */
export function stepsInOrder(timeout) {
  const steps = {
    failed: false,
    setupError: null,
    step(name, body) {
      it(name, { timeout }, async (t) => {
        if (steps.failed) return t.skip('an earlier step failed');
        try {
          if (steps.setupError) throw steps.setupError;
          await body(t);
        } catch (error) {
          steps.failed = true;
          throw error;
        }
      });
    },
  };
  return steps;
}

/**
 * A webhook receiver on 127.0.0.1: answers 204 to every POST, and keeps each event whose
 * `Latchkey-Signature` verifies (HMAC-SHA256 of `<t>.<body>` with `secret`); a request
 * with a bad signature is answered 401 and kept in `refused`.
 */
export async function webhookReceiver(secret) {
  const events = [];
  const refused = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const header = String(request.headers['latchkey-signature'] ?? '');
      const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
      const signatures = [...header.matchAll(/v1=([0-9a-f]{64})/g)].map((match) => Buffer.from(match[1], 'hex'));
      const expected = t ? createHmac('sha256', secret).update(`${t}.`).update(body).digest() : null;
      const valid = expected && signatures.some((signature) => timingSafeEqual(signature, expected));
      if (!valid || request.method !== 'POST') {
        refused.push({ header, body: body.toString('utf8') });
        response.writeHead(401).end();
        return;
      }
      events.push({ idempotencyKey: request.headers['idempotency-key'], ...JSON.parse(body.toString('utf8')) });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks/latchkey`,
    events,
    refused,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// ---------------------------------------------------------------------------------------
// The admin console (web/console/, console.test.mjs)

/** Waits until the console has drawn its screen (its first data loaded): `main[aria-busy=false]`. */
export async function consoleReady(page) {
  await page.locator('main[aria-busy="false"]').waitFor();
}

/**
 * The console enrolment link in an email (an administrator's invitation or recovery), rebuilt
 * on `origin` (the tests' `http://localhost:PORT`), or null when the message has none.
 */
export function consoleLinkIn(message, origin) {
  const pattern = /\/console\/enrol#token=([A-Za-z0-9_-]+)/;
  const token = pattern.exec(message.text ?? '')?.[1] ?? pattern.exec(message.html ?? '')?.[1];
  return token ? `${origin}/console/enrol#token=${token}` : null;
}

/** The console session of a page's browser profile (`GET /console/api/session`): the JSON, or `{ status }`. */
export function consoleSession(page) {
  return page.evaluate(async () => {
    const response = await fetch('/console/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
    return response.ok ? response.json() : { status: response.status };
  });
}

/**
 * One GraphQL POST from a page, as the console sends it: the session cookie and, unless
 * `csrf: false`, the session's CSRF token in `X-Latchkey-CSRF`; never an Authorization
 * header. Answers `{ status, body }` (`body` null when the answer is not JSON).
 */
export function graphqlFromPage(page, endpoint, query, variables = {}, { csrf = true } = {}) {
  return page.evaluate(
    async ({ endpoint, query, variables, csrf }) => {
      const headers = { 'content-type': 'application/json', accept: 'application/json' };
      if (csrf) {
        const session = await fetch('/console/api/session', { credentials: 'same-origin' });
        if (session.ok) headers['x-latchkey-csrf'] = (await session.json()).csrfToken;
      }
      const response = await fetch(endpoint, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify({ query, variables }) });
      const text = await response.text();
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { status: response.status, body };
    },
    { endpoint, query, variables, csrf },
  );
}

let axeSource = null;

/**
 * Runs axe-core (npm `axe-core`, a dev dependency of these tests) on the page and answers its
 * violations of impact `serious` or `critical`, each as one line (rule, impact, elements). The
 * script goes in through `page.evaluate`, which the pages' CSP does not apply to (a script tag
 * would be refused).
 */
export async function axeViolations(page, { impacts = ['serious', 'critical'] } = {}) {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return violations
    .filter((violation) => impacts.includes(violation.impact))
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help}; ` +
        violation.nodes.map((node) => `${node.target.join(' ')}: ${node.failureSummary.replace(/\s+/g, ' ')}`).join(' | '),
    );
}
