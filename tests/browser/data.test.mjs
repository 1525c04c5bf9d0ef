// End-to-end test of each person's data on the account page, in a real browser (Debian's
// Chromium driven by playwright-core) against the real `latchkey` server: "Download my data"
// saves a JSON file with everything held about the person; "Delete my account" with the
// tenant's grace period signs them out with the erasure's date, and signing in again cancels
// it; without a grace period the account is erased at once, and a WEBHOOK connector (a small
// HTTP server this test runs on loopback, which checks the signature) receives
// `identity.deleted`. Emailed codes are read from the server's mailbox file. See README.md
// beside this file.
//
// The steps share one browser and one server and run in order; once a step fails, the
// later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe } from 'node:test';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import { launchChromium, message, newDevice, signInWithCode, statusOf, stepsInOrder, waitUntil, webhookReceiver } from './support.mjs';

const EMAIL = 'grace@example.com';
const SECRET = 'a webhook secret of the data test';
const en = (key, values) => message('en', key, values);

async function graphql(url, query, variables, bearer) {
  return (await postGraphql(`${url}/t/demo/graphql`, query, variables, bearer)).body;
}

describe('hosted pages: downloading one’s data and deleting the account in Chromium', { timeout: 300_000 }, () => {
  let server;
  let receiver;
  let browser;
  let laptop;
  let identityId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  async function admin(query, variables = {}) {
    return graphql(server.url, query, variables, server.apiKey);
  }

  async function setGrace(days) {
    const set = await admin(
      'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { accountDeletionGraceDays } } }',
      { input: { accountDeletionGraceDays: days } },
    );
    assert.equal(set.data?.updateTenantSettings.settings.accountDeletionGraceDays, days, JSON.stringify(set));
  }

  async function auditActions() {
    const audit = await admin('{ auditEvents(first: 100) { nodes { action targetId } } }');
    return audit.data.auditEvents.nodes;
  }

  before(async () => {
    try {
      receiver = await webhookReceiver(SECRET);
      // The receiver is on loopback, which connectors refuse unless the deployment allows it.
      server = await startServer({ env: { LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS: 'true' } });
      const connector = await admin(
        'mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }',
        {
          input: {
            name: 'Back office',
            kind: 'WEBHOOK',
            triggers: ['IDENTITY_DELETED'],
            settings: { url: receiver.url },
            credentials: { secret: SECRET },
          },
        },
      );
      assert.ok(connector.data?.createCrmConnector.connector.id, JSON.stringify(connector));
      const created = await admin(
        'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }',
        { input: { email: EMAIL, displayName: 'Grace Hopper' } },
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

  step('"Download my data" saves a JSON file of everything held about the person', async () => {
    await signInWithCode(laptop.page, server, EMAIL);
    const { page } = laptop;
    assert.equal(await page.locator('#data-heading').textContent(), en('data.heading'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#data-export-button')]);
    assert.match(download.suggestedFilename(), /^demo-account-data-\d{4}-\d{2}-\d{2}\.json$/);
    const data = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(data.identity.id, identityId);
    assert.equal(data.identity.email, EMAIL);
    assert.equal(data.identity.displayName, 'Grace Hopper');
    assert.ok(data.sessions.length >= 1, 'the session of this sign-in');
    assert.ok(data.auditEntries.some((entry) => entry.action === 'identity.sign_in'));
    assert.deepEqual(data.crmLinks, []);
    assert.equal(await statusOf(page, 'success'), en('data.exported'));
  });

  step('"Delete my account" with a grace period signs the person out with the date; signing in again keeps the account', async () => {
    await setGrace(14);
    const { page } = laptop;
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#data-delete-button');
    await page.waitForURL(`${server.url}/t/demo/`);
    const shown = await statusOf(page, 'info');
    assert.match(shown, /^Your account will be erased on .+\. Sign in before then to keep it\.$/);
    assert.equal(await laptop.tokens(), null, 'the tokens are forgotten');
    assert.ok((await auditActions()).some((e) => e.action === 'identity.deletion_request' && e.targetId === identityId));

    await signInWithCode(laptop.page, server, EMAIL);
    assert.ok((await auditActions()).some((e) => e.action === 'identity.deletion_cancel' && e.targetId === identityId));
  });

  step('without a grace period the account is erased at once and the connector is told', async () => {
    await setGrace(0);
    const { page } = laptop;
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#data-delete-button');
    await page.waitForURL(`${server.url}/t/demo/`);
    assert.equal(await statusOf(page, 'info'), en('data.erased'));
    const gone = await admin('query($id: ID!) { identity(id: $id) { id } }', { id: identityId });
    assert.equal(gone.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(gone));
    await waitUntil(() => receiver.events.some((event) => event.type === 'identity.deleted'), 20_000);
    const told = receiver.events.find((event) => event.type === 'identity.deleted');
    assert.equal(told.data.id, identityId);
    assert.equal(told.data.erased, true);
    assert.ok(!JSON.stringify(told).includes(EMAIL), 'the address is not sent');
    assert.deepEqual(receiver.refused, []);
  });
});
