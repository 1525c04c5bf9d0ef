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
import { readFile } from 'node:fs/promises';
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
  waitUntil,
  webhookReceiver,
} from './support.mjs';

const SCREENSHOTS = process.env.LATCHKEY_SCREENSHOTS_DIR ?? fileURLToPath(new URL('./screenshots/', import.meta.url));

const OWNER = 'owner@example.com';
const ADMIN = 'admin@example.com';
const VIEWER = 'viewer@example.com';
const OTHER_OWNER = 'b-owner@example.com';
const PERSON = 'pat.person@example.com';
const MEMBER = 'mia.member@example.com';
const HOOK_SECRET = 'a webhook secret of the console test';

/** Clicks a form's submit button and waits until the form has done its work (`aria-busy`). */
async function submit(page, button) {
  await page.click(button);
  await page.locator(`form:has(${button})[aria-busy="false"]`).waitFor();
}

/** Saves the connector's edit form and waits until the page shows the saved connector. */
async function saveConnector(page) {
  await page.click('#connector-save');
  await page.locator('#connector-edit-toggle[aria-expanded="false"]').waitFor();
  await statusOf(page, 'success', 'saved');
}

/**
 * Clicks `refresh` until `selector` is on the page (a server that works in the background,
 * such as CRM deliveries), for at most `timeout` ms.
 */
async function refreshUntil(page, refresh, selector, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await submit(page, refresh);
    if (await page.locator(selector).count()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${selector}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

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
  let organizationId;
  let applicationId;
  let connectorId;
  /** The local receiver of the webhook connector the owner creates. */
  let receiver;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      receiver = await webhookReceiver(HOOK_SECRET);
      // The receiver is on loopback, which connectors refuse unless the deployment allows it.
      server = await startServer({ env: { LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS: 'true' } });
      browser = await launchChromium();
      ownerDevice = await newDevice(browser);
      mkdirSync(SCREENSHOTS, { recursive: true });
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

    // An invitation sent by mistake is cancelled, and its link no longer opens.
    const MISTAKE = 'mistake@example.com';
    await page.fill('#invite-email', MISTAKE);
    await page.selectOption('#invite-role', 'VIEWER');
    await page.click('#invite-button');
    await page.locator(`#invitation-list tr[data-email="${MISTAKE}"]`).waitFor();
    const mistaken = await emailedConsoleLink(server, MISTAKE);
    await page.click(`#invitation-list tr[data-email="${MISTAKE}"] button`);
    await page.click('#confirm-ok');
    await statusOf(page, 'success', 'cancelled');
    await page.locator(`#invitation-list tr[data-email="${MISTAKE}"]`).waitFor({ state: 'detached' });
    const token = new URL(mistaken).hash.slice('#token='.length);
    const answer = await page.evaluate(async (token) => (await fetch('/console/api/enrolment', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) })).status, token);
    assert.equal(answer, 404);
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

  step('the overview shows sign-ins per day by method, with the person’s email-code sign-in', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/overview', '#sign-in-table');
    const emailCodes = Number(await page.locator('#sign-in-totals td[data-method="email_code"]').textContent());
    assert.ok(emailCodes >= 1, `email_code sign-ins: ${emailCodes}`);
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(Number(await page.locator(`#sign-in-table tr[data-date="${today}"] td[data-method="email_code"]`).textContent()) >= 1, 'today’s row counts it');
    assert.equal(await page.locator('#sign-in-table tbody tr').count(), 14, 'one row a day, today included');
    assert.match(await page.locator('#figure-active-sessions .figure-value').textContent(), /^\d+$/);
    assert.match(await page.locator('#figure-crm-pending .figure-value').textContent(), /^\d+$/);
    assert.match(await page.locator('#overview-activity').textContent(), /sessions they started/, 'the figures say where they come from');
  });

  step('the owner creates an organization and invites a member, who gets the email', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/organizations', '#organization-results');
    await page.click('#create-organization-toggle');
    await page.fill('#create-organization-name', 'Acme Corp');
    assert.equal(await page.inputValue('#create-organization-slug'), 'acme-corp', 'the slug follows the name');
    await page.click('#create-organization-submit');
    await page.waitForURL(/\/console\/t\/demo\/organizations\/[^/?#]+$/);
    await consoleReady(page);
    await statusOf(page, 'success', 'created');
    organizationId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1));
    assert.equal((await page.locator('h1').textContent()).trim(), 'Acme Corp');

    await page.fill('#invite-member-email', MEMBER);
    assert.ok(await page.locator('#invite-member-roles input[value="org:member"]').isChecked(), 'org:member is ticked by default');
    await page.click('#invite-member-submit');
    await statusOf(page, 'success', 'Invitation sent');
    await page.locator(`#org-invitation-list tr[data-email="${MEMBER}"]`).waitFor();
    assert.match(await page.locator(`#org-invitation-list tr[data-email="${MEMBER}"]`).textContent(), /Pending/);
    const message = await server.mailbox.next(MEMBER);
    assert.ok(message, 'the invitation mail arrives');

    // The list finds it by name.
    await visit(page, server, '/console/t/demo/organizations?search=acme', `#organization-results tr[data-organization-id="${organizationId}"]`);
    assert.equal(await page.locator('#organization-results tbody tr').count(), 1);
  });

  step('the owner registers an application: a refused redirect URI is marked, the secret is shown once', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/applications', '#application-results');
    await page.click('#create-application-toggle');
    await page.fill('#create-application-name', 'Storefront');
    await page.selectOption('#create-application-type', 'WEB');
    await page.fill('#create-application-redirects', 'http://shop.example.com/callback');
    await page.click('#create-application-submit');
    await page.locator('#create-application-redirects[aria-invalid="true"]').waitFor();
    assert.match(await page.locator('#create-application-redirects-error').textContent(), /https/);
    assert.match(await statusOf(page, 'error'), /\([A-Z_]+\)$/, 'the refusal shows its code');

    await page.fill('#create-application-redirects', 'https://shop.example.com/callback');
    await page.click('#create-application-submit');
    await page.waitForURL(/\/console\/t\/demo\/applications\/[^/?#]+$/);
    await consoleReady(page);
    applicationId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1));
    const secret = await page.inputValue('#client-secret-value');
    assert.ok(secret.length >= 16, 'the client secret is shown');
    assert.ok(await page.locator('#client-secret-copy').isVisible(), 'with a Copy button');
    assert.match(await page.locator('#client-secret').textContent(), /you will not see it again/);
    const clientId = (await page.locator('#application-client-id').textContent()).trim();
    assert.match(await page.locator('#snippet-node').textContent(), new RegExp(clientId));
    assert.match(await page.locator('#snippet-spring').textContent(), /issuer-uri: http.+\/t\/demo/);
    assert.ok(!(await page.locator('#application-snippets').textContent()).includes(secret), 'no snippet holds the secret');

    const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, 'query App($id: ID!) { application(id: $id) { clientId confidential } }', { id: applicationId }, server.apiKey);
    assert.deepEqual(body.data.application, { clientId, confidential: true });

    // After a reload the secret is gone for good.
    await page.reload();
    await consoleReady(page);
    await page.locator('#application-client-id').waitFor();
    assert.equal(await page.locator('#client-secret-value').count(), 0, 'the secret is not shown again');
    assert.ok(!(await page.locator('main').textContent()).includes(secret));
  });

  step('a webhook connector delivers to a local receiver; a failed delivery is replayed', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/connectors', '#connector-results');
    await page.click('#create-connector-toggle');
    await page.fill('#create-connector-name', 'Back office hook');
    await page.selectOption('#create-connector-kind', 'WEBHOOK');
    await page.fill('#connector-setting-url', receiver.url);
    await page.fill('#connector-credential-secret', HOOK_SECRET);
    await page.check('#create-connector-trigger-IDENTITY_CREATED');
    await page.click('#create-connector-submit');
    await page.waitForURL(/\/console\/t\/demo\/connectors\/[^/?#]+$/);
    await consoleReady(page);
    connectorId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1));
    assert.match(await page.locator('#connector-state').textContent(), /Enabled/);

    // An event: an identity created (with the API key).
    const create = (email) =>
      postGraphql(`${server.apiUrl}/t/demo/graphql`, CREATE_IDENTITY, { email }, server.apiKey).then(({ body }) => {
        assert.equal(body.errors, undefined, JSON.stringify(body));
        return body.data.createIdentity.identity.id;
      });
    const first = await create('hook.one@example.com');
    await waitUntil(() => receiver.events.some((event) => event.type === 'identity.created' && event.data?.id === first), 20_000);
    await refreshUntil(page, '#delivery-refresh', `#delivery-list tr[data-subject-id="${first}"][data-status="DELIVERED"]`);
    assert.equal(await page.locator(`#delivery-list tr[data-subject-id="${first}"] .delivery-replay`).count(), 0, 'a delivered event has no replay');

    // A wrong secret: the receiver refuses (401), the delivery is dead at once.
    await page.click('#connector-edit-toggle');
    await page.fill('#connector-edit-credential-secret', 'not the receiver’s secret');
    await saveConnector(page);
    const second = await create('hook.two@example.com');
    await waitUntil(() => receiver.refused.length >= 1, 20_000);
    await refreshUntil(page, '#delivery-refresh', `#delivery-list tr[data-subject-id="${second}"][data-status="DEAD"]`);
    assert.match(await page.locator(`#delivery-list tr[data-subject-id="${second}"]`).textContent(), /401/, 'the last error names the answer');

    // Filters: dead only.
    await page.selectOption('#delivery-filter-status', 'DEAD');
    await refreshUntil(page, '#delivery-refresh', `#delivery-list tr[data-subject-id="${second}"]`);
    assert.equal(await page.locator(`#delivery-list tr[data-subject-id="${first}"]`).count(), 0, 'the delivered one is filtered out');

    // The right secret again, then replay: the receiver gets it.
    await page.click('#connector-edit-toggle');
    await page.fill('#connector-edit-credential-secret', HOOK_SECRET);
    await saveConnector(page);
    await page.selectOption('#delivery-filter-status', '');
    await refreshUntil(page, '#delivery-refresh', `#delivery-list tr[data-subject-id="${second}"] .delivery-replay`);
    await page.click(`#delivery-list tr[data-subject-id="${second}"] .delivery-replay`);
    await statusOf(page, 'success', 'queued again');
    await waitUntil(() => receiver.events.some((event) => event.type === 'identity.created' && event.data?.id === second), 20_000);
    await refreshUntil(page, '#delivery-refresh', `#delivery-list tr[data-subject-id="${second}"][data-status="DELIVERED"]`);
  });

  step('the audit log, filtered by action, names the administrator and exports JSON lines', async () => {
    const adminId = (await consoleSession(adminDevice.page)).administrator.id;
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/audit', '#audit-results');
    await page.fill('#audit-action', 'identity.create');
    await submit(page, '#audit-apply');
    assert.match(page.url(), /\/audit\?action=identity\.create$/, 'the filter is kept in the address');
    await page.locator(`#audit-results tr[data-actor-id="${adminId}"]`).first().waitFor();
    const actions = await page.locator('#audit-results tbody tr').evaluateAll((rows) => rows.map((row) => row.dataset.action));
    assert.ok(actions.length >= 1 && actions.every((action) => action === 'identity.create'), actions.join());
    assert.match(await page.locator(`#audit-results tr[data-actor-id="${adminId}"] .audit-actor`).first().textContent(), new RegExp(ADMIN.replace(/\./g, '\\.')));
    assert.match(await page.locator('#audit-filter-note').textContent(), /in this browser/, 'the screen says what is filtered where');

    // The actor filter (in the browser) keeps the ADMIN's events only.
    await page.fill('#audit-actor', ADMIN);
    await submit(page, '#audit-apply');
    const actors = await page.locator('#audit-results tbody tr').evaluateAll((rows) => rows.map((row) => row.dataset.actorId));
    assert.ok(actors.length >= 1 && actors.every((actor) => actor === adminId), actors.join());

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    assert.match(download.suggestedFilename(), /^demo-audit-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const lines = (await readFile(await download.path(), 'utf8')).split('\n').filter(Boolean);
    assert.ok(lines.length >= 1);
    const events = lines.map((line) => JSON.parse(line));
    assert.ok(events.every((event) => event.action === 'identity.create' && event.actorId === adminId), JSON.stringify(events));
    assert.ok(events.some((event) => event.targetId === personId), 'the creation of the person is in the file');
  });

  step('settings: a branding colour changes the preview, is saved and kept after a reload', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/settings', '#branding-preview');
    const before = await page.locator('#branding-preview-button').evaluate((element) => getComputedStyle(element).backgroundColor);
    await page.fill('#settings-primary-color', '#0f766e');
    const after = await page.locator('#branding-preview-button').evaluate((element) => getComputedStyle(element).backgroundColor);
    assert.equal(after, 'rgb(15, 118, 110)');
    assert.notEqual(after, before, 'the preview follows the form');
    await page.click('#settings-branding-save');
    await statusOf(page, 'success', 'Branding');
    await page.reload();
    await consoleReady(page);
    assert.equal(await page.inputValue('#settings-primary-color'), '#0f766e');
    const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, '{ tenant { settings { primaryColor } } }', {}, server.apiKey);
    assert.equal(body.data.tenant.settings.primaryColor.toLowerCase(), '#0f766e');
    assert.ok(await page.locator('#signing-key-list').isVisible(), 'the signing keys are listed');
  });

  step('API keys: one is created, its secret shown once and working', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/t/demo/api-keys', '#api-key-list table');
    await page.fill('#create-api-key-name', 'Billing service');
    await page.click('#create-api-key-submit');
    await statusOf(page, 'success', 'created');
    const secret = await page.inputValue('#api-key-secret-value');
    assert.ok(secret.length >= 16);
    assert.ok(await page.locator('#api-key-secret-copy').isVisible());
    await page.locator('#api-key-list tr[data-name="Billing service"]').waitFor();
    const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, '{ identities(first: 1) { totalCount } }', {}, secret);
    assert.equal(body.errors, undefined, JSON.stringify(body));
    await page.reload();
    await consoleReady(page);
    assert.equal(await page.locator('#api-key-secret-value').count(), 0, 'not shown again');
  });

  step('a VIEWER sees no write control in the new areas', async () => {
    const viewer = viewerDevice.page;
    const paths = [
      ['/console/t/demo/overview', '#sign-in-table'],
      ['/console/t/demo/organizations', '#organization-results table'],
      [`/console/t/demo/organizations/${encodeURIComponent(organizationId)}`, '#member-list'],
      ['/console/t/demo/applications', '#application-results table'],
      [`/console/t/demo/applications/${encodeURIComponent(applicationId)}`, '#snippet-node'],
      ['/console/t/demo/connectors', '#connector-results table'],
      [`/console/t/demo/connectors/${encodeURIComponent(connectorId)}`, '#delivery-list table'],
      ['/console/t/demo/audit', '#audit-results table'],
      ['/console/t/demo/access', '#access-providers'],
      ['/console/t/demo/directory', '#directory-scim'],
      ['/console/t/demo/settings', '#settings-signing-keys'],
      ['/console/t/demo/api-keys', '#api-key-list'],
    ];
    const found = [];
    for (const [path, ready] of paths) {
      await visit(viewer, server, path, ready);
      const count = await viewer.locator('main [data-write]').count();
      if (count) found.push(`${path}: ${count}`);
    }
    assert.deepEqual(found, []);
    assert.equal(await viewer.locator('#nav a[href="/console/platform/tenants"]').count(), 0, 'no platform area');
  });

  step('platform: the owner lists the tenants and creates one (its API key shown once)', async () => {
    const { page } = ownerDevice;
    await visit(page, server, '/console/platform/tenants', '#tenant-list table');
    await page.locator('#tenant-list tr[data-slug="demo"]').waitFor();
    await page.locator('#tenant-list tr[data-slug="other"]').waitFor();
    await page.fill('#create-tenant-name', 'Third Corp');
    await page.fill('#create-tenant-slug', 'third');
    await page.click('#create-tenant-submit');
    await statusOf(page, 'success', 'created');
    const key = await page.inputValue('#tenant-api-key-value');
    assert.ok(key.length >= 16);
    await page.locator('#tenant-list tr[data-slug="third"]').waitFor();
    const { body } = await postGraphql(`${server.apiUrl}/t/third/graphql`, '{ tenant { slug name } }', {}, key);
    assert.deepEqual(body.data?.tenant, { slug: 'third', name: 'Third Corp' }, JSON.stringify(body));

    await visit(page, server, '/console/platform/tenants/third', '#platform-domains');
    assert.match(await page.locator('#platform-tenant-status').textContent(), /Active/);
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
      ['organizations', ownerDevice, '/console/t/demo/organizations', '#organization-results table'],
      ['organization', ownerDevice, `/console/t/demo/organizations/${encodeURIComponent(organizationId)}`, '#member-list'],
      ['applications', ownerDevice, '/console/t/demo/applications', '#application-results table'],
      ['application', ownerDevice, `/console/t/demo/applications/${encodeURIComponent(applicationId)}`, '#snippet-node'],
      ['connectors', ownerDevice, '/console/t/demo/connectors', '#connector-results table'],
      ['connector', ownerDevice, `/console/t/demo/connectors/${encodeURIComponent(connectorId)}`, '#delivery-list table'],
      ['audit', ownerDevice, '/console/t/demo/audit', '#audit-results table'],
      ['access', ownerDevice, '/console/t/demo/access', '#provider-list'],
      ['directory', ownerDevice, '/console/t/demo/directory', '#scim-token-list'],
      ['settings', ownerDevice, '/console/t/demo/settings', '#signing-key-list'],
      ['api-keys', ownerDevice, '/console/t/demo/api-keys', '#api-key-list table'],
      ['platform-tenants', ownerDevice, '/console/platform/tenants', '#tenant-list table'],
      ['platform-tenant', ownerDevice, '/console/platform/tenants/third', '#platform-domains'],
      ['explorer', ownerDevice, '/console/t/demo/explorer', '#schema-type-name'],
      ['platform-explorer', ownerDevice, '/console/platform/explorer', '#schema-type-name'],
      ['viewer-identity', viewerDevice, identity, '#identity-audit h2'],
      ['no-access', otherDevice, '/console/t/demo/identities', '#no-access'],
    ];
  }

  step('axe finds no serious or critical violation, light and dark, and 360 px wide does not overflow', async () => {
    const failures = [];
    for (const [name, device, path, ready] of areas()) {
      if (['platform-explorer', 'viewer-identity', 'no-access'].includes(name)) continue;
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
