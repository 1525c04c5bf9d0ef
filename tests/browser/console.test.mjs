// End-to-end test of the admin console (web/console/, served at /console) in a real browser:
// Debian's Chromium driven by playwright-core, a virtual platform authenticator per device
// (browser profile), against the real `latchkey` server on a fresh data directory. The first
// owner enrols from the one-time link the server prints at first start; every other
// administrator from the link emailed with their invitation (read from the mailbox file).
// See README.md beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import {
  axeViolations,
  consoleLinkIn,
  consoleReady,
  consoleSession,
  graphqlFromPage,
  launchChromium,
  newDevice,
  signInWithCode,
  statusOf,
  stepsInOrder,
} from './support.mjs';

const SCREENSHOTS = process.env.LATCHKEY_SCREENSHOTS_DIR ?? fileURLToPath(new URL('./screenshots/', import.meta.url));

const OWNER = 'owner@example.com';
const ADMIN = 'admin@example.com';
const VIEWER = 'viewer@example.com';
const OTHER_OWNER = 'b-owner@example.com';
const PERSON = 'pat.person@example.com';

/** The next console link emailed to `address`. */
async function emailedConsoleLink(server, address) {
  const message = await server.mailbox.next(address, { matching: (candidate) => consoleLinkIn(candidate, server.url) !== null });
  return consoleLinkIn(message, server.url);
}

/**
 * Enrols on `device` from `link`: fills in the address (only asked for when the link names
 * none) and the name, creates the passkey, and waits for the console it lands in.
 */
async function enrol(device, link, { email, displayName, landsOn }) {
  const { page } = device;
  await page.goto(link);
  await consoleReady(page);
  await page.locator('#enrol-form').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  if (email) await page.fill('#enrol-email', email);
  if (displayName && (await page.locator('#enrol-name').count())) await page.fill('#enrol-name', displayName);
  await page.click('#enrol-button');
  await page.waitForURL((url) => url.pathname.startsWith(landsOn));
  await consoleReady(page);
}

/** Opens a console path and waits for its screen. */
async function visit(page, server, path, readySelector) {
  await page.goto(`${server.url}${path}`);
  await consoleReady(page);
  if (readySelector) await page.locator(readySelector).first().waitFor();
}

/** The `X-Latchkey-CSRF`-carrying write a VIEWER or another tenant's owner must not get through. */
const CREATE_IDENTITY = 'mutation Create($email: String!) { createIdentity(input: { email: $email }) { identity { id } } }';

describe('admin console in Chromium', { timeout: 900_000 }, () => {
  let server;
  let browser;
  /** The first owner's laptop. */
  let ownerDevice;
  /** The invited ADMIN. */
  let adminDevice;
  let viewerDevice;
  /** The owner of tenant `other`. */
  let otherDevice;
  /** An end user of the demo tenant, on the hosted pages. */
  let personDevice;
  let personId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      server = await startServer();
      browser = await launchChromium();
      ownerDevice = await newDevice(browser);
      mkdirSync(SCREENSHOTS, { recursive: true });
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

  step('the first owner enrols from the start-up link and lands in the console of demo', async () => {
    assert.ok(server.consoleLink, 'the banner prints the first owner’s console link');
    const { page } = ownerDevice;
    await page.goto(server.consoleLink);
    await consoleReady(page);
    await page.locator('#enrol-form').waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
    assert.equal(new URL(page.url()).pathname, '/console/enrol');
    // The first owner's link names no address: the page asks for it and for a name.
    assert.ok(await page.locator('#enrol-email').isVisible());
    assert.ok(await page.locator('#enrol-name').isVisible());

    // Nothing typed: the form marks the field instead of starting a ceremony.
    await page.click('#enrol-button');
    await page.locator('#enrol-email[aria-invalid="true"]').waitFor();
    assert.equal(ownerDevice.webauthn.all().length, 0, 'no passkey request without an address');

    await page.fill('#enrol-email', OWNER);
    await page.fill('#enrol-name', 'Olive Owner');
    await page.click('#enrol-button');
    await page.waitForURL((url) => url.pathname.startsWith('/console/t/demo/'));
    await consoleReady(page);
    assert.equal((await ownerDevice.credentials()).length, 1, 'one passkey on the owner’s authenticator');
    assert.equal((await page.locator('#admin-email').textContent()).trim(), OWNER);
    assert.equal(await page.locator('#tenant-picker').inputValue(), 'demo');

    const session = await consoleSession(page);
    assert.equal(session.administrator.email, OWNER);
    assert.equal(session.platformRole, 'OWNER');
    assert.deepEqual(
      session.tenants.map(({ slug, role }) => ({ slug, role })),
      [{ slug: 'demo', role: 'OWNER' }],
    );
    assert.equal(typeof session.csrfToken, 'string');
    assert.ok(await page.locator('#nav a[href="/console/platform/explorer"]').isVisible(), 'a platform owner sees the platform explorer');

    // The link works once.
    const again = await newDevice(browser);
    await again.page.goto(server.consoleLink);
    await consoleReady(again.page);
    assert.match(await again.page.locator('#enrol-invalid').textContent(), /used or has expired/);
    await again.context.close();
  });

  step('the owner invites an ADMIN, who enrols from the emailed link on another device', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/administrators', '#administrator-list table');
    assert.equal(await page.locator(`#administrator-list tr[data-email="${OWNER}"] .administrator-role`).textContent(), 'Owner');
    await page.fill('#invite-email', ADMIN);
    await page.selectOption('#invite-role', 'ADMIN');
    await page.click('#invite-button');
    await statusOf(page, 'success', 'Invitation sent');
    await page.locator(`#invitation-list tr[data-email="${ADMIN}"]`).waitFor();

    const link = await emailedConsoleLink(server, ADMIN);
    adminDevice = await newDevice(browser);
    const { page: adminPage } = adminDevice;
    await adminPage.goto(link);
    await consoleReady(adminPage);
    await adminPage.locator('#enrol-form').waitFor();
    assert.equal(await adminPage.locator('#enrol-email').count(), 0, 'the invitation names the address: not asked');
    assert.equal((await adminPage.locator('#enrol-link-email').textContent()).trim(), ADMIN);
    assert.match(await adminPage.locator('#enrol-grants').textContent(), /as Admin/);
    await adminPage.fill('#enrol-name', 'Ada Admin');
    await adminPage.click('#enrol-button');
    await adminPage.waitForURL((url) => url.pathname.startsWith('/console/t/demo/'));
    await consoleReady(adminPage);

    const session = await consoleSession(adminPage);
    assert.equal(session.administrator.email, ADMIN);
    assert.equal(session.platformRole, null);
    assert.deepEqual(
      session.tenants.map(({ slug, role }) => ({ slug, role })),
      [{ slug: 'demo', role: 'ADMIN' }],
    );
    assert.equal(await adminPage.locator('#nav a[href="/console/platform/explorer"]').count(), 0);

    // The owner sees the new administrator, and no pending invitation for them any more.
    await visit(page, server, '/console/t/demo/administrators', `#administrator-list tr[data-email="${ADMIN}"]`);
    assert.equal(await page.locator(`#administrator-list tr[data-email="${ADMIN}"] .administrator-role`).textContent(), 'Admin');
    assert.equal(await page.locator(`#invitation-list tr[data-email="${ADMIN}"]`).count(), 0);
  });

  step('the ADMIN creates an identity, finds it, and revokes its session', async () => {
    const { page } = adminDevice;
    await visit(page, server, '/console/t/demo/identities', '#identity-results');

    await page.click('#create-identity-toggle');
    // A refused input is marked on its field.
    await page.fill('#create-identity-email', PERSON);
    await page.fill('#create-identity-attributes', '{ not json');
    await page.click('#create-identity-submit');
    await page.locator('#create-identity-attributes[aria-invalid="true"]').waitFor();
    await page.fill('#create-identity-attributes', '{"tier": "gold"}');
    await page.fill('#create-identity-name', 'Pat Person');
    await page.check('#create-identity-verified');
    await page.click('#create-identity-submit');
    await page.waitForURL(/\/console\/t\/demo\/identities\/[^/?#]+$/);
    await consoleReady(page);
    await statusOf(page, 'success', 'created');
    personId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1));
    assert.match(await page.locator('#identity-email').textContent(), new RegExp(PERSON.replace(/\./g, '\\.')));
    assert.match(await page.locator('#identity-attributes').textContent(), /"tier": "gold"/);

    // The same address again: the server's refusal names the field.
    await visit(page, server, '/console/t/demo/identities', '#identity-results');
    await page.click('#create-identity-toggle');
    await page.fill('#create-identity-email', PERSON);
    await page.click('#create-identity-submit');
    const refusal = await statusOf(page, 'error');
    assert.match(refusal, /\([A-Z_]+\)$/, 'the refusal shows its code');

    // Search by part of the name.
    await page.fill('#identity-search-text', 'pat pers');
    await page.click('#identity-search button[type="submit"]');
    await page.locator(`#identity-results tr[data-identity-id="${personId}"]`).waitFor();
    assert.equal(await page.locator('#identity-results tbody tr').count(), 1);
    assert.match(page.url(), /\?search=pat\+pers$/, 'the search is kept in the address');

    // The person signs in on the hosted pages (an emailed code): a live session.
    personDevice = await newDevice(browser);
    await signInWithCode(personDevice.page, server, PERSON);

    await page.click(`#identity-results tr[data-identity-id="${personId}"] a`);
    await page.waitForURL((url) => url.pathname.endsWith(`/identities/${personId}`));
    await consoleReady(page);
    await page.locator('#session-list tr[data-session-id]').first().waitFor();
    const sessionCount = await page.locator('#session-list tr[data-session-id]').count();
    assert.ok(sessionCount >= 1);
    await page.locator('#session-list .session-revoke').first().click();
    await statusOf(page, 'success', 'revoked');
    await page.locator('#session-list tr[data-session-id]').nth(sessionCount - 1).waitFor({ state: 'detached' });
    assert.equal(await page.locator('#session-list tr[data-session-id]').count(), sessionCount - 1);

    const { body } = await postGraphql(
      `${server.apiUrl}/t/demo/graphql`,
      'query Sessions($id: ID!) { sessions(identityId: $id) { totalCount } }',
      { id: personId },
      server.apiKey,
    );
    assert.equal(body.data.sessions.totalCount, sessionCount - 1, 'the server has revoked it');

    // The audit trail of the identity names its creation.
    assert.match(await page.locator('#identity-audit').textContent(), /identity\.create/);
  });

  step('a VIEWER sees no write buttons and the API refuses their writes', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/administrators', '#invite-form');
    await page.fill('#invite-email', VIEWER);
    await page.selectOption('#invite-role', 'VIEWER');
    await page.click('#invite-button');
    await statusOf(page, 'success', 'Invitation sent');

    viewerDevice = await newDevice(browser);
    await enrol(viewerDevice, await emailedConsoleLink(server, VIEWER), { displayName: 'Vic Viewer', landsOn: '/console/t/demo/' });
    const viewer = viewerDevice.page;
    const session = await consoleSession(viewer);
    assert.deepEqual(
      session.tenants.map(({ slug, role }) => ({ slug, role })),
      [{ slug: 'demo', role: 'VIEWER' }],
    );

    await visit(viewer, server, '/console/t/demo/identities', `#identity-results tr[data-identity-id="${personId}"]`);
    assert.equal(await viewer.locator('main [data-write]').count(), 0, 'no write button on Identities');
    assert.equal(await viewer.locator('#create-identity-toggle').count(), 0);

    await visit(viewer, server, `/console/t/demo/identities/${encodeURIComponent(personId)}`, '#identity-email');
    await viewer.locator('#session-list').waitFor();
    assert.equal(await viewer.locator('main [data-write]').count(), 0, 'no write button on an identity');
    assert.equal(await viewer.locator('#identity-actions').count(), 0);
    assert.equal(await viewer.locator('.session-revoke').count(), 0);

    await visit(viewer, server, '/console/t/demo/administrators', '#administrator-list table');
    assert.equal(await viewer.locator('main [data-write]').count(), 0, 'no write button on Administrators');
    assert.equal(await viewer.locator('#invite-form').count(), 0);

    // Reads work with the viewer's session; a write is refused.
    const read = await graphqlFromPage(viewer, '/t/demo/graphql', '{ identities(first: 1) { totalCount } }');
    assert.equal(read.body?.errors, undefined, JSON.stringify(read.body));
    assert.ok(read.body.data.identities.totalCount >= 1);
    const write = await graphqlFromPage(viewer, '/t/demo/graphql', CREATE_IDENTITY, { email: 'sneaky@example.com' });
    assert.equal(write.body?.errors?.[0]?.extensions?.code, 'FORBIDDEN', JSON.stringify(write.body));
    assert.equal(write.body?.data?.createIdentity ?? null, null);

    // Without the CSRF header even the owner's session writes nothing.
    const forged = await graphqlFromPage(ownerDevice.page, '/t/demo/graphql', CREATE_IDENTITY, { email: 'forged@example.com' }, { csrf: false });
    assert.ok(forged.status >= 400 || forged.body?.errors?.length, `a write without the CSRF token was accepted: ${JSON.stringify(forged.body)}`);
    const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, '{ identities(filter: { search: "example.com" }) { nodes { email } } }', {}, server.apiKey);
    const emails = body.data.identities.nodes.map((node) => node.email);
    assert.ok(!emails.includes('sneaky@example.com') && !emails.includes('forged@example.com'), emails.join());
  });

  step('an owner of another tenant sees nothing of demo', async () => {
    const created = await postGraphql(
      `${server.apiUrl}/platform/graphql`,
      'mutation { createTenant(input: { slug: "other", name: "Other Corp" }) { tenant { slug } adminApiKey } }',
      {},
      server.platformToken,
    );
    assert.equal(created.body.errors, undefined, JSON.stringify(created.body));
    const otherKey = created.body.data.createTenant.adminApiKey;
    const invited = await postGraphql(
      `${server.apiUrl}/t/other/graphql`,
      'mutation Invite($email: String!) { inviteAdministrator(input: { email: $email, role: OWNER }) { invitation { email role } } }',
      { email: OTHER_OWNER },
      otherKey,
    );
    assert.equal(invited.body.errors, undefined, JSON.stringify(invited.body));
    assert.deepEqual(invited.body.data.inviteAdministrator.invitation, { email: OTHER_OWNER, role: 'OWNER' });

    otherDevice = await newDevice(browser);
    await enrol(otherDevice, await emailedConsoleLink(server, OTHER_OWNER), { displayName: 'Bea Owner', landsOn: '/console/t/other/' });
    const { page } = otherDevice;
    const session = await consoleSession(page);
    assert.deepEqual(
      session.tenants.map(({ slug, role }) => ({ slug, role })),
      [{ slug: 'other', role: 'OWNER' }],
    );
    assert.equal(session.platformRole, null);
    assert.deepEqual(await page.locator('#tenant-picker option').evaluateAll((options) => options.map((option) => option.value)), ['other']);

    const refused = await graphqlFromPage(page, '/t/demo/graphql', '{ identities(first: 50) { nodes { email } } }');
    const code = refused.body?.errors?.[0]?.extensions?.code;
    assert.ok(['UNAUTHENTICATED', 'FORBIDDEN'].includes(code), `demo answered ${refused.status} ${JSON.stringify(refused.body)}`);
    assert.ok(!JSON.stringify(refused.body).includes(PERSON), 'no identity of demo in the answer');
    const write = await graphqlFromPage(page, '/t/demo/graphql', CREATE_IDENTITY, { email: 'intruder@example.com' });
    assert.ok(write.body?.errors?.length && !write.body?.data?.createIdentity, JSON.stringify(write.body));

    await visit(page, server, '/console/t/demo/identities', '#no-access');
    assert.equal((await page.locator('#no-access h1').textContent()).trim(), 'You do not administer this tenant');
    assert.equal(await page.locator('#identity-results').count(), 0);
    assert.ok(!(await page.locator('main').textContent()).includes(PERSON));
  });

  step('the explorer runs a query with the session, browses the schema and keeps a history', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/explorer', '#schema-types button[data-type="Identity"]');

    // Variables that are not JSON are refused before anything is sent.
    await page.fill('#explorer-query', '{ administrators { email role } }');
    await page.fill('#explorer-variables', '{ nope');
    await page.click('#explorer-run');
    await page.locator('#explorer-variables[aria-invalid="true"]').waitFor();
    assert.ok(await page.locator('#explorer-variables-error').isVisible());

    await page.fill('#explorer-variables', '');
    await page.focus('#explorer-query');
    await page.keyboard.press('Control+Enter');
    await page.locator('#explorer-result', { hasText: OWNER }).waitFor();
    const answer = JSON.parse(await page.locator('#explorer-result').textContent());
    const administrators = Object.fromEntries(answer.data.administrators.map(({ email, role }) => [email, role]));
    assert.deepEqual(administrators, { [OWNER]: 'OWNER', [ADMIN]: 'ADMIN', [VIEWER]: 'VIEWER' });
    assert.match(await page.locator('#explorer-result-meta').textContent(), /HTTP 200/);

    // The schema browser: filter, open a type, follow a link to another.
    await page.fill('#schema-filter', 'identity');
    assert.equal(await page.locator('#schema-types button[data-type="Organization"]').count(), 0, 'the filter hides other types');
    await page.click('#schema-types button[data-type="Identity"]');
    await page.locator('#schema-type-name', { hasText: 'Identity' }).waitFor();
    assert.ok(await page.locator('#schema-type li[data-field="email"]').isVisible());
    await page.locator('#schema-type li[data-field="status"] button[data-type="IdentityStatus"]').click();
    await page.locator('#schema-type-name', { hasText: 'IdentityStatus' }).waitFor();
    assert.match(await page.locator('#schema-type').textContent(), /SUSPENDED/);

    // The history survives a reload and puts a run back in the editor.
    await page.reload();
    await consoleReady(page);
    const entry = page.locator('#history-list .history-entry').first();
    await entry.waitFor();
    assert.match(await entry.textContent(), /administrators/);
    await page.fill('#explorer-query', '');
    await entry.click();
    assert.match(await page.locator('#explorer-query').inputValue(), /administrators \{ email role \}/);

    // The platform explorer, for a platform owner.
    await page.click('#nav a[href="/console/platform/explorer"]');
    await consoleReady(page);
    await page.fill('#explorer-query', '{ tenants(first: 10) { nodes { slug } } }');
    await page.click('#explorer-run');
    await page.locator('#explorer-result', { hasText: '"other"' }).waitFor();
    const tenants = JSON.parse(await page.locator('#explorer-result').textContent()).data.tenants.nodes.map((tenant) => tenant.slug);
    assert.ok(tenants.includes('demo') && tenants.includes('other'), tenants.join());
  });

  step('the owner signs out, then signs in again with the passkey (discoverable)', async () => {
    const { page, webauthn } = ownerDevice;
    await visit(page, server, '/console/t/demo/overview', '#overview-figures li');
    await page.click('#signout-button');
    await page.locator('#signin-button').waitFor();
    await statusOf(page, 'success', 'signed out');
    assert.deepEqual(await consoleSession(page), { status: 401 });
    assert.equal(await page.locator('#account').isVisible(), false);

    webauthn.clear();
    await page.click('#signin-button');
    await page.locator('#account:not([hidden])').waitFor();
    await page.waitForURL((url) => url.pathname.startsWith('/console/t/demo/'));
    await consoleReady(page);
    assert.equal((await page.locator('#admin-email').textContent()).trim(), OWNER);
    const gets = webauthn.all().filter((call) => call.kind === 'get');
    assert.equal(gets.length, 1);
    assert.equal(gets[0].state, 'resolved');
    assert.equal(gets[0].allowCredentials, 0, 'a discoverable request: no address, no credential list');
    assert.equal((await consoleSession(page)).administrator.email, OWNER);
  });

  /** The areas checked for accessibility and photographed: [name, device, path, ready selector]. */
  function areas() {
    const identity = `/console/t/demo/identities/${encodeURIComponent(personId)}`;
    return [
      ['sign-in', personDevice, '/console', '#signin-button'],
      ['overview', ownerDevice, '/console/t/demo/overview', '#overview-figures li'],
      ['identities', ownerDevice, '/console/t/demo/identities', '#identity-results table'],
      ['identity', ownerDevice, identity, '#identity-audit h2'],
      ['administrators', ownerDevice, '/console/t/demo/administrators', '#administrator-list table'],
      ['explorer', ownerDevice, '/console/t/demo/explorer', '#schema-type-name'],
      ['platform-explorer', ownerDevice, '/console/platform/explorer', '#schema-type-name'],
      ['viewer-identity', viewerDevice, identity, '#identity-audit h2'],
      ['no-access', otherDevice, '/console/t/demo/identities', '#no-access'],
    ];
  }

  step('axe finds no serious or critical violation, light and dark, and 360 px wide does not overflow', async () => {
    const failures = [];
    for (const [name, device, path, ready] of areas()) {
      if (!['sign-in', 'identities', 'identity', 'administrators', 'explorer'].includes(name)) continue;
      const { page } = device;
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await visit(page, server, path, ready);
        for (const violation of await axeViolations(page)) failures.push(`${name} (${colorScheme}): ${violation}`);
      }
      await page.emulateMedia({ colorScheme: 'light' });
    }
    if (failures.length) console.error(failures.join('\n'));
    assert.deepEqual(failures, []);

    const { page } = ownerDevice;
    await page.setViewportSize({ width: 360, height: 800 });
    try {
      const overflowing = [];
      for (const [name, device, path, ready] of areas()) {
        if (device !== ownerDevice) continue;
        await visit(page, server, path, ready);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        if (width > 360) overflowing.push(`${name}: ${width} px`);
      }
      assert.deepEqual(overflowing, [], 'nothing is wider than a 360 px screen');
      // The nav wraps: every area stays reachable.
      for (const link of await page.locator('#nav a').all()) assert.ok(await link.isVisible());
    } finally {
      await page.setViewportSize({ width: 1100, height: 900 });
    }
  });

  step('screenshots of each area, light and dark', async () => {
    for (const [name, device, path, ready] of areas()) {
      const { page } = device;
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await visit(page, server, path, ready);
        await page.screenshot({ path: `${SCREENSHOTS}/console-${name}-${colorScheme}.png`, fullPage: true });
      }
      await page.emulateMedia({ colorScheme: 'light' });
    }
    // And the narrow layout of the identities list.
    const { page } = ownerDevice;
    await page.setViewportSize({ width: 360, height: 800 });
    try {
      await visit(page, server, '/console/t/demo/identities', '#identity-results table');
      await page.screenshot({ path: `${SCREENSHOTS}/console-identities-360px.png`, fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1100, height: 900 });
    }
  });

  step('a browser GET on a GraphQL path is sent to the console’s explorer', async () => {
    const response = await fetch(`${server.apiUrl}/t/demo/graphql`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(response.status, 303);
    assert.equal(new URL(response.headers.get('location'), server.apiUrl).pathname, '/console/t/demo/explorer');
  });
});
