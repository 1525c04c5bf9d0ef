// The signed-in person's own profile, email address and consents through the SDK, in Node.js
// against the real `latchkey` server: `updateViewerProfile` within the tenant's attribute
// schema (and refusals outside it), `changeViewerEmail` with an `EMAIL_CHANGE` proof and the
// notice's undo link (`undoEmailChange`), `setViewerConsent`, and the same things tried from
// another tenant. People are made by the tenant's administrator and signed in with an emailed
// code read from the server's mailbox file. Each test makes its own people.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Latchkey, memoryTokens } from '../latchkey.js';
import { postGraphql, startServer } from '../test-support/server.mjs';

let people = 0;
const uniqueEmail = () => `profile-${++people}@example.com`;

const SCHEMA = [
  { name: 'tier', kind: 'STRING', userEditable: true, allowedValues: ['free', 'pro'], label: 'Plan' },
  { name: 'score', kind: 'NUMBER', userEditable: true },
  { name: 'newsletter', kind: 'BOOLEAN', userEditable: true },
  { name: 'birthday', kind: 'DATE', userEditable: true },
  { name: 'creditLimit', kind: 'NUMBER', userEditable: false, label: 'Credit limit' },
];
const PURPOSES = [
  { key: 'terms', version: 2, title: 'Terms of service' },
  { key: 'marketing', version: 1, title: 'News by email' },
];

const ADMIN_IDENTITY = `query($id: ID!) { identity(id: $id) {
  email displayName phone locale attributes consents { purpose granted version }
} }`;

describe('profile, email change and consents against a real server', { timeout: 180_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  async function graphql(slug, query, variables, apiKey) {
    return (await postGraphql(`${server.apiUrl}/t/${slug}/graphql`, query, variables, apiKey)).body;
  }

  /** A tenant with the profile schema and consent purposes above, and per-IP limits lifted. */
  async function profileTenant(slug) {
    const created = await postGraphql(
      `${server.apiUrl}/platform/graphql`,
      'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { slug } adminApiKey } }',
      { input: { slug, name: slug } },
      server.platformToken,
    );
    assert.equal(created.body.data?.createTenant.tenant.slug, slug, JSON.stringify(created.body));
    const tenant = { slug, apiKey: created.body.data.createTenant.adminApiKey };
    const changed = await graphql(
      slug,
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
      tenant.apiKey,
    );
    assert.equal(changed.data?.updateTenantSettings.settings.attributeSchema.length, SCHEMA.length, JSON.stringify(changed));
    return tenant;
  }

  const tenants = new Map();
  /** A tenant by its slug, made once. */
  function tenantOf(slug) {
    if (!tenants.has(slug)) tenants.set(slug, profileTenant(slug));
    return tenants.get(slug);
  }

  function client(slug, storage = memoryTokens()) {
    return new Latchkey({ baseUrl: server.apiUrl, tenant: slug, storage });
  }

  /** A person made by the administrator (with `attributes`, if any) and signed in with an emailed code. */
  async function person(tenant, { attributes } = {}) {
    const email = uniqueEmail();
    const created = await graphql(
      tenant.slug,
      'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }',
      { input: { email, displayName: 'Grace Hopper' } },
      tenant.apiKey,
    );
    const id = created.data?.createIdentity.identity.id;
    assert.ok(id, JSON.stringify(created));
    if (attributes) {
      const updated = await graphql(
        tenant.slug,
        'mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { attributes } } }',
        { input: { id, attributes } },
        tenant.apiKey,
      );
      assert.deepEqual(updated.data?.updateIdentity.identity.attributes, attributes, JSON.stringify(updated));
    }
    const storage = memoryTokens();
    const latchkey = client(tenant.slug, storage);
    return { id, email, storage, latchkey, ...(await signIn(latchkey, email)) };
  }

  async function signIn(latchkey, email) {
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose: 'SIGN_IN' });
    const { code } = await server.mailbox.nextCode(email);
    return { signedIn: await latchkey.signInWithEmailCode({ challengeId, code }) };
  }

  /** An `EMAIL_CHANGE` proof of `email` (the code read from the mailbox). */
  async function changeProof(latchkey, email) {
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose: 'EMAIL_CHANGE' });
    const { code } = await server.mailbox.nextCode(email);
    assert.match(code ?? '', /^\d{6}$/, `a code for ${email}`);
    return (await latchkey.completeEmailVerification({ challengeId, code })).emailProof;
  }

  async function asAdmin(tenant, id) {
    const answer = await graphql(tenant.slug, ADMIN_IDENTITY, { id }, tenant.apiKey);
    assert.ok(answer.data?.identity, JSON.stringify(answer));
    return answer.data.identity;
  }

  it('updateViewerProfile changes what it is given, within the schema; a refused field names itself and saves nothing', async () => {
    const tenant = await tenantOf('sdk-profile');
    const grace = await person(tenant, { attributes: { creditLimit: 500 } });

    const saved = await grace.latchkey.updateViewerProfile({
      displayName: 'Grace B. Hopper',
      phone: '+442079460958',
      locale: 'de',
      attributes: { tier: 'pro', score: 42.5, newsletter: true, birthday: '1906-12-09' },
    });
    assert.equal(saved.id, grace.id);
    assert.deepEqual(
      [saved.displayName, saved.phone, saved.locale],
      ['Grace B. Hopper', '+442079460958', 'de'],
    );
    assert.deepEqual(saved.attributes, { creditLimit: 500, tier: 'pro', score: 42.5, newsletter: true, birthday: '1906-12-09' });

    // Left out: unchanged. Null: cleared, or for an attribute removed.
    const cleared = await grace.latchkey.updateViewerProfile({ phone: null, attributes: { score: null } });
    assert.deepEqual([cleared.displayName, cleared.phone, cleared.locale], ['Grace B. Hopper', null, 'de']);
    assert.deepEqual(cleared.attributes, { creditLimit: 500, tier: 'pro', newsletter: true, birthday: '1906-12-09' });

    const refusals = [
      [{ attributes: { creditLimit: 100_000 } }, 'attributes.creditLimit', /administrator/],
      [{ attributes: { shoeSize: 9 } }, 'attributes.shoeSize', /not an attribute/],
      [{ attributes: { tier: 'gold' } }, 'attributes.tier', /free, pro/],
      [{ attributes: { score: 'many' } }, 'attributes.score', /number/],
      [{ attributes: { birthday: '9 December 1906' } }, 'attributes.birthday', /date/],
      [{ phone: 'call me' }, 'phone', /./],
    ];
    for (const [input, field, reason] of refusals) {
      await assert.rejects(
        grace.latchkey.updateViewerProfile({ displayName: 'Someone Else', ...input }),
        (error) => {
          assert.equal(error.code, 'BAD_USER_INPUT', error.message);
          assert.equal(error.field, field);
          assert.match(error.message, reason);
          return true;
        },
        field,
      );
    }
    const stored = await asAdmin(tenant, grace.id);
    assert.equal(stored.displayName, 'Grace B. Hopper', 'nothing of a refused change was saved');
    assert.deepEqual(stored.attributes, { creditLimit: 500, tier: 'pro', newsletter: true, birthday: '1906-12-09' });
  });

  it('changeViewerEmail moves the account to a proven address; the notice’s undo link moves it back and signs out everywhere, once', async () => {
    const tenant = await tenantOf('sdk-profile');
    const ada = await person(tenant);
    const laptop = client(tenant.slug);
    await signIn(laptop, ada.email);
    const newEmail = uniqueEmail();

    const changed = await ada.latchkey.changeViewerEmail({ emailProof: await changeProof(ada.latchkey, newEmail) });
    assert.deepEqual([changed.id, changed.email, changed.emailVerified], [ada.id, newEmail, true]);
    assert.equal((await asAdmin(tenant, ada.id)).email, newEmail);

    const notice = await server.mailbox.next(ada.email, { matching: (message) => /undo_email_change=/.test(message.text) });
    assert.equal(notice.code, null, 'a notice, not a code');
    assert.match(notice.text, new RegExp(newEmail.replace(/[.]/g, '\\.')));
    const link = /https?:\/\/\S+\?undo_email_change=\S+/.exec(notice.text)[0].replace(/[.,;:)>]+$/, '');
    const url = new URL(link);
    assert.equal(url.pathname, `/t/${tenant.slug}/`, 'the link opens the tenant’s sign-in page');
    const token = url.searchParams.get('undo_email_change');

    // The new address signs in; the old one is no longer the account's.
    const elsewhere = client(tenant.slug);
    assert.equal((await signIn(elsewhere, newEmail)).signedIn.identity.id, ada.id);

    // Anonymous, like a person who opened the link in a browser that is not signed in.
    assert.equal(await client(tenant.slug).undoEmailChange({ token }), true);
    assert.equal((await asAdmin(tenant, ada.id)).email, ada.email);
    for (const session of [ada.latchkey, laptop, elsewhere]) {
      await assert.rejects(session.refresh(), { code: 'UNAUTHENTICATED' }, 'every session of the account ended');
    }
    await server.mailbox.next(ada.email, { matching: (message) => /undone/i.test(message.subject) });
    await assert.rejects(client(tenant.slug).undoEmailChange({ token }), { code: 'BAD_USER_INPUT', field: 'token' });
    const back = client(tenant.slug);
    assert.equal((await signIn(back, ada.email)).signedIn.identity.id, ada.id);
  });

  it('changeViewerEmail refuses a proof of an address another account took meanwhile', async () => {
    const tenant = await tenantOf('sdk-profile');
    const ada = await person(tenant);
    const wanted = uniqueEmail();
    const emailProof = await changeProof(ada.latchkey, wanted);
    const taken = await graphql(
      tenant.slug,
      'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }',
      { input: { email: wanted } },
      tenant.apiKey,
    );
    assert.ok(taken.data?.createIdentity.identity.id, JSON.stringify(taken));
    await assert.rejects(ada.latchkey.changeViewerEmail({ emailProof }), (error) => {
      assert.deepEqual([error.code, error.field], ['BAD_USER_INPUT', 'emailProof']);
      assert.match(error.message, /another account/);
      return true;
    });
    assert.equal((await asAdmin(tenant, ada.id)).email, ada.email);
  });

  it('setViewerConsent records grants and withdrawals at the purpose’s version, newest first in the history', async () => {
    const tenant = await tenantOf('sdk-profile');
    const alan = await person(tenant);

    const granted = await alan.latchkey.setViewerConsent({ purpose: 'marketing', granted: true });
    assert.deepEqual(
      granted.consents.map(({ purpose, granted: yes, version }) => ({ purpose, granted: yes, version })),
      [{ purpose: 'marketing', granted: true, version: 1 }],
    );
    assert.ok(!Number.isNaN(Date.parse(granted.consents[0].decidedAt)));
    const terms = await alan.latchkey.setViewerConsent({ purpose: 'terms', granted: true });
    assert.deepEqual(
      terms.consents.map((consent) => [consent.purpose, consent.granted, consent.version]).sort(),
      [
        ['marketing', true, 1],
        ['terms', true, 2],
      ],
    );
    const withdrawn = await alan.latchkey.setViewerConsent({ purpose: 'marketing', granted: false });
    const marketing = withdrawn.consents.find((consent) => consent.purpose === 'marketing');
    assert.deepEqual([marketing.granted, marketing.version], [false, 1]);
    assert.ok(Date.parse(marketing.decidedAt) >= Date.parse(granted.consents[0].decidedAt));
    await assert.rejects(alan.latchkey.setViewerConsent({ purpose: 'cookies', granted: true }), { code: 'BAD_USER_INPUT', field: 'purpose' });

    const { viewer } = await alan.latchkey.graphql('query { viewer { identity { consentHistory { purpose granted version ipAddress } } } }');
    assert.deepEqual(
      viewer.identity.consentHistory.map(({ purpose, granted: yes, version }) => [purpose, yes, version]),
      [
        ['marketing', false, 1],
        ['terms', true, 2],
        ['marketing', true, 1],
      ],
    );
    assert.ok(viewer.identity.consentHistory.every((decision) => decision.ipAddress === '127.0.0.1'));
    const stored = await asAdmin(tenant, alan.id);
    assert.deepEqual(
      stored.consents.map((consent) => [consent.purpose, consent.granted]).sort(),
      [
        ['marketing', false],
        ['terms', true],
      ],
    );
  });

  it('another tenant refuses the first one’s access token, undo token and email-change proof', async () => {
    const home = await tenantOf('sdk-profile');
    const other = await tenantOf('sdk-profile-other');
    const grace = await person(home);
    const stranger = await person(other);

    // The same tokens, sent to the other tenant: refused (and forgotten by that client), and
    // nothing changed at home.
    const stolen = memoryTokens();
    await stolen.save(await grace.storage.load());
    const wrongTenant = client(other.slug, stolen);
    await assert.rejects(wrongTenant.updateViewerProfile({ displayName: 'Mallory' }), { code: 'UNAUTHENTICATED' });
    await assert.rejects(wrongTenant.setViewerConsent({ purpose: 'marketing', granted: true }), { code: 'UNAUTHENTICATED' });
    const untouched = await asAdmin(home, grace.id);
    assert.equal(untouched.displayName, 'Grace Hopper');
    assert.deepEqual(untouched.consents, []);
    assert.equal((await asAdmin(other, stranger.id)).displayName, 'Grace Hopper', 'nor the other tenant’s person');

    // An email-change proof of the home tenant is unknown in the other one.
    const proof = await changeProof(grace.latchkey, uniqueEmail());
    await assert.rejects(stranger.latchkey.changeViewerEmail({ emailProof: proof }), { code: 'BAD_USER_INPUT', field: 'emailProof' });

    // The undo token of the home tenant's change is unknown in the other one, and still works at home.
    const moved = uniqueEmail();
    await grace.latchkey.changeViewerEmail({ emailProof: await changeProof(grace.latchkey, moved) });
    const notice = await server.mailbox.next(grace.email, { matching: (message) => /undo_email_change=/.test(message.text) });
    const token = /undo_email_change=([^\s.,;:)>]+)/.exec(notice.text)[1];
    await assert.rejects(client(other.slug).undoEmailChange({ token }), { code: 'BAD_USER_INPUT', field: 'token' });
    assert.equal((await asAdmin(home, grace.id)).email, moved);
    assert.equal(await client(home.slug).undoEmailChange({ token }), true);
    assert.equal((await asAdmin(home, grace.id)).email, grace.email);
  });
});
