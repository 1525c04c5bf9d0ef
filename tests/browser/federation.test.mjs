// End-to-end test of federated sign-in in a real browser (Debian's Chromium driven by
// playwright-core) against the real `latchkey` server, with node's `oidc-provider` as the
// upstream OpenID Connect provider (a third-party implementation, its development login and
// consent pages standing in for a company's identity provider; it puts the address in
// userinfo only, as OpenID Connect Core §5.4 says, so Latchkey reads userinfo too). Through the hosted pages:
// "Continue with …" on the sign-in page, the provider's login and consent, back to the account
// page with the provider linked; and an organization's single sign-on found from the address
// typed (home-realm discovery), which makes the person a member with the mapped role.
//
// The steps share one browser, one Latchkey server and one provider and run in order; once a
// step fails, the later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe } from 'node:test';
import Provider from 'oidc-provider';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import { launchChromium, newDevice, stepsInOrder, waitForAccount } from './support.mjs';

/** A free loopback port (the provider's issuer names it before it listens). */
async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** One GraphQL POST to the demo tenant's API as its owner; answers `data`, failing on errors. */
async function graphql(server, query, variables) {
  const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, query, variables, server.apiKey);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/**
 * node's oidc-provider on `port` with two confidential clients of the demo tenant (a social
 * provider and an organization's SSO), whose accounts are whatever login the development
 * pages get: `{login}@{domain}`, verified, with `groups`.
 */
async function startProvider(port, callback) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-es256', alg: 'ES256', use: 'sig' };
  const client = (clientId) => ({
    client_id: clientId,
    client_secret: `${clientId}-secret-that-is-long-enough`,
    redirect_uris: [callback],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  });
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [client('social'), client('acme-sso')],
    jwks: { keys: [jwk] },
    cookies: { keys: ['a-test-cookie-signing-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    async findAccount(ctx, id) {
      const email = id.includes('@') ? id : `${id}@idp.example`;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email, email_verified: true, name: 'Grace Hopper', groups: ['acme-admins'] }),
      };
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
  });
  provider.proxy = false;
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** The provider's development login and consent pages, as a person fills them in. */
async function signInAtProvider(page, login) {
  await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  // The consent page comes first for a client the person has not allowed yet.
  if (await page.locator('input[name="prompt"][value="consent"]').count()) {
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  }
}

describe('federated sign-in through node oidc-provider in Chromium', { timeout: 300_000 }, () => {
  let server;
  let idp;
  let browser;
  let device;
  let socialId;
  let acmeId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      // The provider is on loopback over http: allowed for this deployment only.
      server = await startServer({ env: { LATCHKEY_ALLOW_PRIVATE_NETWORKS: 'true' } });
      idp = await startProvider(await freePort(), `${server.url}/t/demo/federation/callback`);
      browser = await launchChromium();
      device = await newDevice(browser);
    } catch (error) {
      steps.setupError = error;
    }
  });

  after(async () => {
    await browser?.close();
    await idp?.stop();
    if (server) {
      if (steps.failed) console.error(`server stderr (last part):\n${server.stderr()}`);
      await server.stop();
    }
  });

  step('a tenant-wide provider is checked against its discovery document and shown as a button', async () => {
    const created = await graphql(
      server,
      `mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id startPath } } }`,
      {
        input: {
          name: 'Node IdP',
          protocol: 'OIDC',
          settings: { issuer: idp.url },
          credentials: { clientId: 'social', clientSecret: 'social-secret-that-is-long-enough' },
        },
      },
    );
    socialId = created.createIdentityProvider.identityProvider.id;
    await graphql(
      server,
      'mutation { updateTenantSettings(input: { signInMethods: [PASSKEY, EMAIL_CODE, FEDERATED] }) { settings { signInMethods } } }',
    );
    const { page } = device;
    await page.goto(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    const button = page.locator(`#federation-buttons a[data-provider="${socialId}"]`);
    assert.equal((await button.textContent()).trim(), 'Continue with Node IdP');
  });

  step('"Continue with Node IdP": the provider signs the person in, and the account page opens', async () => {
    const { page } = device;
    await page.click(`#federation-buttons a[data-provider="${socialId}"]`);
    await signInAtProvider(page, 'grace');
    await waitForAccount(page, server.url);
    assert.equal(await page.locator('#account-email').textContent(), 'grace@idp.example');
    assert.equal(await page.locator('#account-name').textContent(), 'Grace Hopper');
    const tokens = await device.tokens();
    assert.ok(tokens?.accessToken, 'the page collected the session tokens');
    await page.locator('#providers-section:not([hidden])').waitFor();
    assert.equal((await page.locator('#provider-list .provider-name').textContent()).trim(), 'Node IdP');
    // The code in the address bar is spent: opening it again signs nobody in.
    assert.equal(new URL(page.url()).search, '');
  });

  step('an organization with single sign-on: its address goes straight to its provider and makes a member', async () => {
    const org = await graphql(
      server,
      'mutation { createOrganization(input: { name: "Acme", slug: "acme", kind: CUSTOMER }) { organization { id } } }',
    );
    const organizationId = org.createOrganization.organization.id;
    const domain = await graphql(
      server,
      'mutation($id: ID!) { addVerifiedDomain(input: { organizationId: $id, domain: "acme.example" }) { domain { id } } }',
      { id: organizationId },
    );
    await graphql(server, 'mutation($id: ID!) { markDomainVerified(input: { id: $id }) { domain { id } } }', {
      id: domain.addVerifiedDomain.domain.id,
    });
    const created = await graphql(
      server,
      `mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id } } }`,
      {
        input: {
          name: 'Acme SSO',
          protocol: 'OIDC',
          organizationId,
          domains: ['acme.example'],
          settings: { issuer: idp.url },
          credentials: { clientId: 'acme-sso', clientSecret: 'acme-sso-secret-that-is-long-enough' },
          roleMapping: { claim: 'groups', rules: [{ value: 'acme-admins', roles: ['org:admin'] }] },
        },
      },
    );
    acmeId = created.createIdentityProvider.identityProvider.id;

    const other = await newDevice(browser);
    const { page } = other;
    await page.goto(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    await page.fill('#signin-email', 'lin@acme.example');
    await page.click('#signin-email-button');
    await page.waitForURL(/127\.0\.0\.1:\d+\/(auth|interaction)/);
    await signInAtProvider(page, 'lin@acme.example');
    await waitForAccount(page, server.url);
    assert.equal(await page.locator('#account-email').textContent(), 'lin@acme.example');
    const members = await graphql(
      server,
      'query($id: ID!) { organization(id: $id) { members(first: 10) { nodes { roles identity { email } } } } }',
      { id: organizationId },
    );
    assert.deepEqual(members.organization.members.nodes, [{ roles: ['org:admin'], identity: { email: 'lin@acme.example' } }]);
    await other.context.close();
    assert.ok(acmeId);
  });
});
