// End-to-end test of SAML 2.0 single sign-on in a real browser (Debian's Chromium driven by
// playwright-core) against the real `latchkey` server, with npm `samlify` as the identity
// provider: a third-party SAML implementation that reads Latchkey's HTTP-Redirect
// `AuthnRequest` and Latchkey's service-provider metadata, and signs its assertion with
// xml-crypto (the IdP's key and certificate are the test fixtures in tests/fixtures/saml/).
// Through the hosted pages: the address typed on the sign-in page belongs to an organization
// with SSO (home-realm discovery), the browser goes to the IdP's login page, the IdP posts its
// signed response to Latchkey's assertion consumer service, and the account page opens with the
// person a member of the organization with the role mapped from a SAML attribute. The same
// response posted again is refused.
//
// The steps share one browser, one Latchkey server and one IdP and run in order; once a step
// fails, the later ones are skipped rather than failing for the same reason.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe } from 'node:test';
import * as samlify from 'samlify';
import { postGraphql, startServer } from '../../sdk/js/test-support/server.mjs';
import { launchChromium, newDevice, stepsInOrder, waitForAccount } from './support.mjs';

const fixture = (name) => readFileSync(new URL(`../fixtures/saml/${name}`, import.meta.url), 'utf8');

// The IdP side parses Latchkey's request without XML schema validation (this test IdP takes
// what Latchkey sends; what is under test is Latchkey's side).
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

/** One GraphQL POST to the demo tenant's API as its owner; answers `data`, failing on errors. */
async function graphql(server, query, variables) {
  const { body } = await postGraphql(`${server.apiUrl}/t/demo/graphql`, query, variables, server.apiKey);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

const escape = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/**
 * A samlify identity provider on a loopback port: `/metadata`, `/sso` (HTTP-Redirect: a login
 * page for the request it parsed) and `/login` (the signed response, posted by the browser to
 * the assertion consumer service the service provider's metadata names). `spMetadata()` gives
 * the service provider's metadata as Latchkey serves it.
 */
async function startIdp(spMetadata) {
  const http = createServer();
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  // Named `localhost`, like Latchkey here: the same site, so the browser sends Latchkey's flow
  // cookie (SameSite=Lax over http) with the IdP's form post. Over https the cookie is
  // SameSite=None; Secure and any IdP's post carries it.
  const url = `http://localhost:${http.address().port}`;
  const idp = samlify.IdentityProvider({
    entityID: `${url}/metadata`,
    privateKey: fixture('idp-a.key'),
    signingCert: fixture('idp-a.crt'),
    isAssertionEncrypted: false,
    wantAuthnRequestsSigned: false,
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${url}/sso` }],
  });
  const responses = [];
  const read = (request) =>
    new Promise((resolve) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => resolve(new URLSearchParams(body)));
    });
  http.on('request', async (request, response) => {
    try {
      const address = new URL(request.url, url);
      if (address.pathname === '/metadata') {
        response.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idp.getMetadata());
        return;
      }
      const sp = samlify.ServiceProvider({ metadata: await spMetadata() });
      if (address.pathname === '/sso') {
        const query = Object.fromEntries(address.searchParams);
        const parsed = await idp.parseLoginRequest(sp, 'redirect', { query });
        response.writeHead(200, { 'content-type': 'text/html' }).end(
          `<!doctype html><title>Test IdP</title><form method="post" action="/login">` +
            `<input type="hidden" name="request" value="${escape(parsed.extract.request.id)}">` +
            `<input type="hidden" name="relay" value="${escape(query.RelayState ?? '')}">` +
            `<label>User <input name="login"></label><button type="submit">Sign in</button></form>`,
        );
        return;
      }
      if (address.pathname === '/login' && request.method === 'POST') {
        const form = await read(request);
        const login = form.get('login');
        const answer = await idp.createLoginResponse(
          sp,
          { extract: { request: { id: form.get('request') } } },
          'post',
          { email: login },
          {
            relayState: form.get('relay'),
            customTagReplacement: (template) => {
              const now = new Date();
              const later = new Date(now.getTime() + 5 * 60_000).toISOString();
              const id = `_${crypto.randomUUID()}`;
              const attribute = (name, values) =>
                `<saml:Attribute Name="${name}">${values
                  .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escape(v)}</saml:AttributeValue>`)
                  .join('')}</saml:Attribute>`;
              const values = {
                ID: id,
                AssertionID: `_${crypto.randomUUID()}`,
                Destination: sp.entityMeta.getAssertionConsumerService('post'),
                Audience: sp.entityMeta.getEntityID(),
                SubjectRecipient: sp.entityMeta.getAssertionConsumerService('post'),
                Issuer: idp.entityMeta.getEntityID(),
                IssueInstant: now.toISOString(),
                StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
                ConditionsNotBefore: now.toISOString(),
                ConditionsNotOnOrAfter: later,
                SubjectConfirmationDataNotOnOrAfter: later,
                NameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
                NameID: `idp-user-${login.split('@')[0]}`,
                InResponseTo: form.get('request'),
                AuthnStatement: `<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
                AttributeStatement: `<saml:AttributeStatement>${attribute('email', [login])}${attribute('displayName', ['Lin Initech'])}${attribute('groups', ['initech-admins', 'everyone'])}</saml:AttributeStatement>`,
              };
              return { id, context: template.replace(/\{(\w+)\}/g, (_, tag) => values[tag] ?? '') };
            },
          },
        );
        responses.push({ endpoint: answer.entityEndpoint, context: answer.context });
        response.writeHead(200, { 'content-type': 'text/html' }).end(
          `<!doctype html><title>Test IdP</title><form method="post" action="${escape(answer.entityEndpoint)}">` +
            `<input type="hidden" name="SAMLResponse" value="${escape(answer.context)}">` +
            `<input type="hidden" name="RelayState" value="${escape(form.get('relay'))}">` +
            `<button type="submit">Continue</button></form><script>document.forms[0].submit()</script>`,
        );
        return;
      }
      response.writeHead(404).end();
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.stack ?? error));
    }
  });
  return { url, responses, stop: () => new Promise((resolve) => http.close(resolve)) };
}

describe('SAML single sign-on through a samlify identity provider in Chromium', { timeout: 300_000 }, () => {
  let server;
  let idp;
  let browser;
  let providerId;
  let organizationId;
  const steps = stepsInOrder(90_000);
  const { step } = steps;

  before(async () => {
    try {
      // The IdP's metadata is on loopback over http: allowed for this deployment only.
      server = await startServer({ env: { LATCHKEY_ALLOW_PRIVATE_NETWORKS: 'true' } });
      idp = await startIdp(async () => {
        const metadata = await fetch(`${server.url}/t/demo/saml/${providerId}/metadata`);
        assert.equal(metadata.status, 200);
        return metadata.text();
      });
      browser = await launchChromium();
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

  step("an organization's SAML provider is created from the IdP's metadata URL", async () => {
    const org = await graphql(
      server,
      'mutation { createOrganization(input: { name: "Initech", slug: "initech", kind: CUSTOMER }) { organization { id } } }',
    );
    organizationId = org.createOrganization.organization.id;
    const domain = await graphql(
      server,
      'mutation($id: ID!) { addVerifiedDomain(input: { organizationId: $id, domain: "initech.example" }) { domain { id } } }',
      { id: organizationId },
    );
    await graphql(server, 'mutation($id: ID!) { markDomainVerified(input: { id: $id }) { domain { id } } }', {
      id: domain.addVerifiedDomain.domain.id,
    });
    const created = await graphql(
      server,
      `mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id protocol serviceProviderMetadataPath } } }`,
      {
        input: {
          name: 'Initech SSO',
          protocol: 'SAML',
          organizationId,
          domains: ['initech.example'],
          settings: { metadataUrl: `${idp.url}/metadata` },
          credentials: {},
          roleMapping: { claim: 'groups', rules: [{ value: 'initech-admins', roles: ['org:admin'] }] },
        },
      },
    );
    const provider = created.createIdentityProvider.identityProvider;
    providerId = provider.id;
    assert.equal(provider.protocol, 'SAML');
    assert.equal(provider.serviceProviderMetadataPath, `/t/demo/saml/${providerId}/metadata`);
    const tested = await graphql(server, 'mutation($id: ID!) { testIdentityProvider(id: $id) { ok message } }', {
      id: providerId,
    });
    assert.equal(tested.testIdentityProvider.ok, true, tested.testIdentityProvider.message);
  });

  step("the address typed goes to the IdP, whose signed response signs the person in as a member", async () => {
    const device = await newDevice(browser);
    const { page } = device;
    await page.goto(`${server.url}/t/demo/`);
    await page.locator('main[aria-busy="false"]').waitFor();
    await page.fill('#signin-email', 'lin@initech.example');
    await page.click('#signin-email-button');
    await page.waitForURL(`${idp.url}/sso?**`);
    await page.fill('input[name="login"]', 'lin@initech.example');
    await page.click('button[type="submit"]');
    await waitForAccount(page, server.url);
    assert.equal(await page.locator('#account-email').textContent(), 'lin@initech.example');
    assert.equal(await page.locator('#account-name').textContent(), 'Lin Initech');
    const members = await graphql(
      server,
      'query($id: ID!) { organization(id: $id) { members(first: 10) { nodes { roles identity { email } } } } }',
      { id: organizationId },
    );
    assert.deepEqual(members.organization.members.nodes, [{ roles: ['org:admin'], identity: { email: 'lin@initech.example' } }]);
    await device.context.close();
  });

  step("the IdP's response posted a second time is refused", async () => {
    assert.equal(idp.responses.length, 1);
    const [{ endpoint, context }] = idp.responses;
    const again = await fetch(endpoint, {
      method: 'POST',
      body: new URLSearchParams({ SAMLResponse: context }),
      redirect: 'manual',
    });
    assert.equal(again.status, 403);
    assert.match(await again.text(), /already used/);
  });
});
