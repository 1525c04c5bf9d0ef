// Passwords and authenticator apps (TOTP) through the SDK, in Node.js against the real
// `latchkey` server: sign-up with a password after an email proof, sign-in with and without a
// second factor, recovery codes, changing and resetting a password, a tenant that requires a
// second factor, and the same things tried in another tenant. The codes of the authenticator
// app come from `otpauth`, an implementation independent of the server's, fed the `otpauth://`
// URI the server hands out. Emailed codes are read from the server's mailbox file. No passkey
// is involved: accounts without a password are made by an administrator and signed in with an
// emailed code. Each test makes its own people.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import { Latchkey, LatchkeyError, memoryTokens } from '../latchkey.js';
import { postGraphql, startServer } from '../test-support/server.mjs';

let people = 0;
const uniqueEmail = () => `member-${++people}@example.com`;

/** A password nobody has used: 18 random lower-case letters (long enough, and no composition rules). */
const newPassword = () => Array.from(randomBytes(18), (byte) => 'abcdefghijklmnopqrstuvwxyz'[byte % 26]).join('');

const TOTP_PERIOD_MS = 30_000;

/**
 * An authenticator app, from the `otpauth://` URI the server gave: an independent TOTP
 * implementation (the `otpauth` package). `next()` answers the code of the earliest time step
 * after the last one used (the server never accepts a step twice) that the server accepts
 * now, with its one step of drift: the current step, or the next when the current was used;
 * further ahead, it waits.
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
    /** A 6-digit code no step around now has. */
    wrong() {
      const taken = new Set([-1, 0, 1, 2].map((offset) => totp.generate({ timestamp: (now() + offset) * TOTP_PERIOD_MS })));
      for (let n = 0; ; n += 1) {
        const code = String((Number(totp.generate()) + 1 + n) % 1_000_000).padStart(6, '0');
        if (!taken.has(code)) return code;
      }
    },
  };
}

/** A `fetch` that records the root field, variables and authorization of every operation. */
function recordOperations(inner = fetch) {
  const operations = [];
  return {
    fetch(url, init) {
      const body = JSON.parse(init.body);
      operations.push({
        field: /\{\s*(\w+)/.exec(body.query)?.[1],
        variables: body.variables,
        authorized: Boolean(init.headers.authorization),
      });
      return inner(url, init);
    },
    all: () => operations,
    clear: () => operations.splice(0),
  };
}

const ACCOUNT = 'query { viewer { identity { id email hasPassword totpEnrolled } sessions { nodes { id current } } } }';

// Hashing passwords is deliberately slow (argon2id), more so in a debug build: a generous bound.
describe('passwords and authenticator apps against a real server', { timeout: 240_000 }, () => {
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

  async function createTenant(slug) {
    const created = await postGraphql(
      `${server.apiUrl}/platform/graphql`,
      'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { slug } adminApiKey } }',
      { input: { slug, name: slug } },
      server.platformToken,
    );
    assert.equal(created.body.data?.createTenant.tenant.slug, slug, JSON.stringify(created.body));
    return { slug, apiKey: created.body.data.createTenant.adminApiKey };
  }

  /** Changes a tenant's settings with its API key; answers the settings asked for. */
  async function updateSettings(tenant, input, selection) {
    const changed = await graphql(
      tenant.slug,
      `mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { ${selection} } } }`,
      { input },
      tenant.apiKey,
    );
    assert.ok(changed.data?.updateTenantSettings, JSON.stringify(changed));
    return changed.data.updateTenantSettings.settings;
  }

  /**
   * A tenant with password sign-in (and, with `requireSecondFactor`, a second factor required)
   * whose per-IP limits are lifted: every test here comes from 127.0.0.1.
   */
  async function passwordTenant(slug, { requireSecondFactor = false } = {}) {
    const tenant = await createTenant(slug);
    const input = {
      signInMethods: ['PASSKEY', 'EMAIL_CODE', 'PASSWORD'],
      rateLimits: {
        signInPerIp: 10_000,
        signInPerIdentity: 10_000,
        signUpPerIp: 10_000,
        emailVerificationPerIp: 10_000,
        emailVerificationPerAddress: 1_000,
        emailVerificationPerAddressAllIps: 1_000,
      },
    };
    if (requireSecondFactor) input.requireSecondFactor = true;
    const settings = await updateSettings(tenant, input, 'signInMethods');
    assert.deepEqual(settings.signInMethods, ['PASSKEY', 'EMAIL_CODE', 'PASSWORD']);
    return tenant;
  }

  let mainTenant = null;
  /** The tenant most tests share (made once). */
  function passwords() {
    mainTenant ??= passwordTenant('sdk-passwords');
    return mainTenant;
  }

  /** A Latchkey client of `slug` with a recording fetch; no authenticator (no passkeys here). */
  function client(slug) {
    const operations = recordOperations();
    const storage = memoryTokens();
    const latchkey = new Latchkey({ baseUrl: server.apiUrl, tenant: slug, storage, fetch: operations.fetch });
    const changes = [];
    latchkey.onChange((session) => changes.push(session));
    return { latchkey, operations, storage, changes };
  }

  /** Proves `email` for `purpose` with the code from the mailbox; answers the proof. */
  async function prove(latchkey, email, purpose = 'SIGN_UP') {
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose });
    const { code } = await server.mailbox.nextCode(email);
    assert.match(code ?? '', /^\d{6}$/, `a code for ${email}`);
    return latchkey.completeEmailVerification({ challengeId, code });
  }

  /** A new person signed up with a password in `tenant` (default: the shared one), signed in. */
  async function passwordPerson(tenant) {
    const { slug } = tenant ?? (await passwords());
    const email = uniqueEmail();
    const password = newPassword();
    const person = client(slug);
    const { emailProof } = await prove(person.latchkey, email);
    const result = await person.latchkey.signUpWithPassword({ emailProof, password, displayName: 'Ada Lovelace' });
    person.operations.clear();
    person.changes.splice(0);
    return { ...person, slug, email, password, result };
  }

  /**
   * A new person without a password: made by the tenant's administrator, signed in with an
   * emailed code.
   */
  async function codePerson(tenant) {
    const email = uniqueEmail();
    const created = await graphql(
      tenant.slug,
      'mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }',
      { input: { email } },
      tenant.apiKey,
    );
    assert.ok(created.data?.createIdentity.identity.id, JSON.stringify(created));
    const person = client(tenant.slug);
    const { challengeId } = await person.latchkey.startEmailVerification({ email, purpose: 'SIGN_IN' });
    const { code } = await server.mailbox.nextCode(email);
    const result = await person.latchkey.signInWithEmailCode({ challengeId, code });
    person.operations.clear();
    person.changes.splice(0);
    return { ...person, slug: tenant.slug, email, result };
  }

  it('signUpWithPassword creates an account from a SIGN_UP proof and signs in; signInWithPassword signs in again', async () => {
    const { slug } = await passwords();
    const { latchkey, operations, changes } = client(slug);
    const email = uniqueEmail();
    const password = newPassword();
    assert.match(password, /^[a-z]{18}$/, 'letters only: no composition rules');
    const { emailProof } = await prove(latchkey, email);
    operations.clear();
    const signedUp = await latchkey.signUpWithPassword({ emailProof, password, displayName: 'Ada Lovelace' });
    assert.deepEqual(operations.all().map(({ field, authorized }) => [field, authorized]), [['signUpWithPassword', false]]);
    assert.deepEqual(operations.all()[0].variables, { emailProof, password, displayName: 'Ada Lovelace' });
    assert.equal(signedUp.identity.email, email);
    assert.equal(signedUp.identity.displayName, 'Ada Lovelace');
    assert.equal(signedUp.passkey, null);
    assert.equal(signedUp.session.identityId, signedUp.identity.id);
    assert.deepEqual(changes, [signedUp.session]);
    const { viewer } = await latchkey.graphql(ACCOUNT);
    assert.deepEqual(
      [viewer.identity.id, viewer.identity.hasPassword, viewer.identity.totpEnrolled],
      [signedUp.identity.id, true, false],
    );

    const again = client(slug);
    const signedIn = await again.latchkey.signInWithPassword({ email, password });
    assert.equal(signedIn.secondFactorRequired, false);
    assert.equal(signedIn.identity.id, signedUp.identity.id);
    assert.equal(signedIn.passkey, null);
    assert.notEqual(signedIn.session.sessionId, signedUp.session.sessionId, 'a new session');
    assert.deepEqual(await again.latchkey.getSession(), signedIn.session);
    assert.deepEqual(again.changes, [signedIn.session]);
    assert.equal((await again.latchkey.graphql(ACCOUNT)).viewer.identity.email, email);

    // The proof was spent on the account.
    const reused = await again.latchkey.signUpWithPassword({ emailProof, password: newPassword() }).catch((error) => error);
    assert.deepEqual([reused.code, reused.field], ['BAD_USER_INPUT', 'emailProof'], reused.message);
  });

  it('a password the rules refuse is BAD_USER_INPUT with the reason: too short, too common, or made of the email', async () => {
    const { slug } = await passwords();
    const { latchkey } = client(slug);
    const email = uniqueEmail();
    const local = email.split('@')[0];
    const refusals = [];
    for (const password of ['qwkzhtyplmvb', 'passwordpassword', `${local}${local}`]) {
      const { emailProof } = await prove(latchkey, email);
      const error = await latchkey.signUpWithPassword({ emailProof, password }).catch((failure) => failure);
      assert.ok(error instanceof LatchkeyError, `${password}: ${error}`);
      assert.deepEqual([error.code, error.field], ['BAD_USER_INPUT', 'password'], `${password}: ${error.message}`);
      refusals.push(error.message);
    }
    assert.match(refusals[0], /15/, 'too short says the minimum');
    assert.match(refusals[1], /common|breach/i);
    assert.match(refusals[2], /email|name/i);
    assert.equal(await latchkey.getSession(), null, 'no session');
  });

  it('a wrong password and an unknown address get the same FORBIDDEN, and nothing is stored', async () => {
    const person = await passwordPerson();
    const { latchkey, changes } = client(person.slug);
    const wrong = await latchkey.signInWithPassword({ email: person.email, password: newPassword() }).catch((error) => error);
    const unknown = await latchkey.signInWithPassword({ email: uniqueEmail(), password: person.password }).catch((error) => error);
    assert.ok(wrong instanceof LatchkeyError, String(wrong));
    assert.equal(wrong.code, 'FORBIDDEN');
    assert.match(wrong.message, /email address or password is not right/);
    assert.deepEqual([unknown.code, unknown.message], [wrong.code, wrong.message]);
    assert.equal(await latchkey.getSession(), null);
    assert.deepEqual(changes, []);
  });

  it('an authenticator app: enrolled with a code, then a password sign-in needs its code or a recovery code (once each), until it is removed', async () => {
    const person = await passwordPerson();
    const tenantName = person.slug;

    const enrollment = await person.latchkey.beginTotpEnrollment();
    assert.match(enrollment.secret, /^[A-Z2-7]{26,}$/, 'base32 without padding, at least 128 bits');
    const uri = new URL(enrollment.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    const app = authenticatorApp(enrollment.otpauthUri);
    assert.deepEqual(
      [app.totp.issuer, app.totp.label, app.totp.secret.base32, app.totp.algorithm, app.totp.digits, app.totp.period],
      [tenantName, person.email, enrollment.secret, 'SHA1', 6, 30],
    );

    // Until a code confirms the app, nothing changes.
    const before = client(person.slug);
    assert.equal((await before.latchkey.signInWithPassword({ email: person.email, password: person.password })).secondFactorRequired, false);
    await assert.rejects(person.latchkey.finishTotpEnrollment({ code: app.wrong() }), { code: 'BAD_USER_INPUT', field: 'code' });
    assert.equal((await person.latchkey.graphql(ACCOUNT)).viewer.identity.totpEnrolled, false);

    const code = await app.next();
    const { recoveryCodes } = await person.latchkey.finishTotpEnrollment({ code: `${code.slice(0, 3)} ${code.slice(3)}` });
    assert.deepEqual(person.operations.all().at(-1).variables, { code }, 'spaces are dropped');
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const recoveryCode of recoveryCodes) assert.match(recoveryCode, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
    assert.equal((await person.latchkey.graphql(ACCOUNT)).viewer.identity.totpEnrolled, true);

    // The password alone now stores nothing, and answers a token for the second step.
    const laptop = client(person.slug);
    const first = await laptop.latchkey.signInWithPassword({ email: person.email, password: person.password });
    assert.equal(first.secondFactorRequired, true);
    assert.equal(typeof first.secondFactorToken, 'string');
    assert.deepEqual(Object.keys(first).sort(), ['secondFactorRequired', 'secondFactorToken']);
    assert.equal(await laptop.latchkey.getSession(), null);
    assert.deepEqual(laptop.changes, []);

    const wrongCode = await laptop.latchkey.completeSecondFactor({ secondFactorToken: first.secondFactorToken, code: app.wrong() }).catch((error) => error);
    assert.ok(wrongCode instanceof LatchkeyError, String(wrongCode));
    assert.equal(await laptop.latchkey.getSession(), null);
    const totpCode = await app.next();
    const signedIn = await laptop.latchkey.completeSecondFactor({ secondFactorToken: first.secondFactorToken, code: totpCode });
    assert.equal(signedIn.identity.id, person.result.identity.id);
    assert.deepEqual(await laptop.latchkey.getSession(), signedIn.session);
    assert.deepEqual(laptop.changes, [signedIn.session]);

    // The token was spent; a code already used is refused in a new sign-in.
    await assert.rejects(laptop.latchkey.completeSecondFactor({ secondFactorToken: first.secondFactorToken, code: totpCode }));
    const phone = client(person.slug);
    const second = await phone.latchkey.signInWithPassword({ email: person.email, password: person.password });
    await assert.rejects(phone.latchkey.completeSecondFactor({ secondFactorToken: second.secondFactorToken, code: totpCode }));
    assert.equal(await phone.latchkey.getSession(), null, 'a replayed code does not sign in');

    // A recovery code, typed in capitals with a space, works once.
    const typed = ` ${recoveryCodes[3].toUpperCase().replace('-', ' - ')} `;
    const third = await phone.latchkey.signInWithPassword({ email: person.email, password: person.password });
    const recovered = await phone.latchkey.completeSecondFactor({ secondFactorToken: third.secondFactorToken, code: typed });
    assert.equal(phone.operations.all().at(-1).variables.code, recoveryCodes[3]);
    assert.equal(recovered.identity.id, person.result.identity.id);
    const fourth = await before.latchkey.signInWithPassword({ email: person.email, password: person.password });
    await assert.rejects(before.latchkey.completeSecondFactor({ secondFactorToken: fourth.secondFactorToken, code: recoveryCodes[3] }));
    assert.equal(
      (await before.latchkey.completeSecondFactor({ secondFactorToken: fourth.secondFactorToken, code: recoveryCodes[4] })).identity.id,
      person.result.identity.id,
      'another recovery code still works',
    );

    // Removed: the password alone signs in again.
    const removed = await person.latchkey.removeTotp();
    assert.deepEqual([removed.id, removed.hasPassword, removed.totpEnrolled], [person.result.identity.id, true, false]);
    const after = client(person.slug);
    const plain = await after.latchkey.signInWithPassword({ email: person.email, password: person.password });
    assert.equal(plain.secondFactorRequired, false);
    assert.equal(plain.identity.id, person.result.identity.id);
  });

  it('a password, its second-factor token and its recovery proof are worthless in another tenant', async () => {
    const person = await passwordPerson();
    const other = await passwordTenant('sdk-passwords-other');
    const elsewhere = client(other.slug);

    const wrongTenant = await elsewhere.latchkey.signInWithPassword({ email: person.email, password: person.password }).catch((error) => error);
    const unknown = await elsewhere.latchkey.signInWithPassword({ email: uniqueEmail(), password: person.password }).catch((error) => error);
    assert.equal(wrongTenant.code, 'FORBIDDEN', wrongTenant.message);
    assert.equal(wrongTenant.message, unknown.message, 'answered as an unknown address');

    const app = authenticatorApp((await person.latchkey.beginTotpEnrollment()).otpauthUri);
    await person.latchkey.finishTotpEnrollment({ code: await app.next() });
    const home = client(person.slug);
    const { secondFactorToken } = await home.latchkey.signInWithPassword({ email: person.email, password: person.password });
    const code = await app.next();
    await assert.rejects(elsewhere.latchkey.completeSecondFactor({ secondFactorToken, code }));
    assert.equal(await elsewhere.latchkey.getSession(), null);
    // Neither the token nor the code was spent by the try elsewhere.
    const signedIn = await home.latchkey.completeSecondFactor({ secondFactorToken, code });
    assert.equal(signedIn.identity.id, person.result.identity.id);

    const { emailProof } = await prove(home.latchkey, person.email, 'RECOVERY');
    await assert.rejects(elsewhere.latchkey.resetPassword({ emailProof, newPassword: newPassword() }), { code: 'BAD_USER_INPUT', field: 'emailProof' });
    const { emailProof: signUpProof } = await prove(home.latchkey, uniqueEmail());
    await assert.rejects(elsewhere.latchkey.signUpWithPassword({ emailProof: signUpProof, password: newPassword() }), { code: 'BAD_USER_INPUT', field: 'emailProof' });
  });

  it('changePassword sets the first password of an account without one, then needs the current one, and can end the other sessions', async () => {
    const tenant = await passwords();
    const { slug } = tenant;
    const person = await codePerson(tenant);
    assert.equal((await person.latchkey.graphql(ACCOUNT)).viewer.identity.hasPassword, false);
    const first = newPassword();
    const set = await person.latchkey.changePassword({ newPassword: first });
    assert.deepEqual([set.id, set.hasPassword, set.totpEnrolled], [person.result.identity.id, true, false]);
    assert.deepEqual(person.operations.all().at(-1).variables, { newPassword: first, signOutOtherSessions: false });
    assert.ok(person.operations.all().at(-1).authorized);
    const notice = await server.mailbox.next(person.email, { matching: (message) => /password/i.test(`${message.subject}\n${message.text}`) });
    assert.equal(notice.code, null, 'a notice, not a code');

    const laptop = client(slug);
    assert.equal((await laptop.latchkey.signInWithPassword({ email: person.email, password: first })).identity.id, person.result.identity.id);

    const second = newPassword();
    await assert.rejects(person.latchkey.changePassword({ newPassword: second }), (error) => ['BAD_USER_INPUT', 'FORBIDDEN'].includes(error.code));
    await assert.rejects(person.latchkey.changePassword({ currentPassword: newPassword(), newPassword: second }), (error) => ['BAD_USER_INPUT', 'FORBIDDEN'].includes(error.code));
    await person.latchkey.changePassword({ currentPassword: first, newPassword: second, signOutOtherSessions: true });

    // The laptop's session ended; this one goes on.
    await assert.rejects(laptop.latchkey.refresh(), { code: 'UNAUTHENTICATED' });
    const { viewer } = await person.latchkey.graphql(ACCOUNT);
    assert.deepEqual(viewer.sessions.nodes.map((session) => session.current), [true]);
    const fresh = client(slug);
    await assert.rejects(fresh.latchkey.signInWithPassword({ email: person.email, password: first }), { code: 'FORBIDDEN' });
    assert.equal((await fresh.latchkey.signInWithPassword({ email: person.email, password: second })).identity.id, person.result.identity.id);
  });

  it('resetPassword with a RECOVERY proof sets a new password without signing in, and ends the sessions', async () => {
    const person = await passwordPerson();
    const helper = client(person.slug);
    const { emailProof: signUpProof } = await prove(helper.latchkey, uniqueEmail());
    await assert.rejects(helper.latchkey.resetPassword({ emailProof: signUpProof, newPassword: newPassword() }), { code: 'BAD_USER_INPUT', field: 'emailProof' });

    const { emailProof } = await prove(helper.latchkey, person.email, 'RECOVERY');
    const replacement = newPassword();
    helper.operations.clear();
    const identity = await helper.latchkey.resetPassword({ emailProof, newPassword: replacement });
    assert.deepEqual(helper.operations.all().map(({ field, authorized }) => [field, authorized]), [['resetPassword', false]]);
    assert.deepEqual(helper.operations.all()[0].variables, { emailProof, newPassword: replacement, signOutEverywhere: true });
    assert.deepEqual([identity.id, identity.email], [person.result.identity.id, person.email]);
    assert.equal(await helper.latchkey.getSession(), null, 'a reset does not sign in');
    await assert.rejects(person.latchkey.refresh(), { code: 'UNAUTHENTICATED' }, 'the sessions ended');
    await assert.rejects(helper.latchkey.resetPassword({ emailProof, newPassword: newPassword() }), { code: 'BAD_USER_INPUT', field: 'emailProof' });

    await assert.rejects(helper.latchkey.signInWithPassword({ email: person.email, password: person.password }), { code: 'FORBIDDEN' });
    assert.equal((await helper.latchkey.signInWithPassword({ email: person.email, password: replacement })).identity.id, person.result.identity.id);
  });

  it('where the tenant requires a second factor, 8 characters are enough and a password alone is refused until an app is set up', async () => {
    const tenant = await passwordTenant('sdk-second-factor', { requireSecondFactor: true });
    const read = await graphql(tenant.slug, 'query { tenant { settings { signInMethods requireSecondFactor } } }', {}, tenant.apiKey);
    assert.deepEqual(read.data?.tenant.settings, { signInMethods: ['PASSKEY', 'EMAIL_CODE', 'PASSWORD'], requireSecondFactor: true }, JSON.stringify(read));
    const config = await (await fetch(`${server.apiUrl}/t/${tenant.slug}/config.json`)).json();
    assert.equal(config.requireSecondFactor, true, 'the hosted pages learn it from config.json');

    // An account without a password sets a 10-character one (15 would be the minimum elsewhere).
    const person = await codePerson(tenant);
    const password = newPassword().slice(0, 10);
    await person.latchkey.changePassword({ newPassword: password });
    const { latchkey } = client(tenant.slug);
    const refused = await latchkey.signInWithPassword({ email: person.email, password }).catch((error) => error);
    assert.equal(refused.code, 'FORBIDDEN', refused.message);
    assert.match(refused.message, /authenticator/i, 'the message says what to do');
    assert.equal(await latchkey.getSession(), null);

    const app = authenticatorApp((await person.latchkey.beginTotpEnrollment()).otpauthUri);
    await person.latchkey.finishTotpEnrollment({ code: await app.next() });
    const { secondFactorToken } = await latchkey.signInWithPassword({ email: person.email, password });
    assert.equal((await latchkey.completeSecondFactor({ secondFactorToken, code: await app.next() })).identity.id, person.result.identity.id);
  });

  it('a tenant that does not allow PASSWORD refuses password sign-in, sign-up and reset, naming the method', async () => {
    const person = await passwordPerson();
    const tenant = await passwords();
    await updateSettings(tenant, { signInMethods: ['PASSKEY', 'EMAIL_CODE'] }, 'signInMethods');
    const { latchkey } = client(tenant.slug);
    const refused = await latchkey.signInWithPassword({ email: person.email, password: person.password }).catch((error) => error);
    assert.equal(refused.code, 'FORBIDDEN', refused.message);
    assert.match(refused.message, /PASSWORD/);
    const { emailProof: recoveryProof } = await prove(latchkey, person.email, 'RECOVERY');
    await assert.rejects(latchkey.resetPassword({ emailProof: recoveryProof, newPassword: newPassword() }), { code: 'FORBIDDEN' });
    const { emailProof } = await prove(latchkey, uniqueEmail());
    const signUp = await latchkey.signUpWithPassword({ emailProof, password: newPassword() }).catch((error) => error);
    assert.equal(signUp.code, 'FORBIDDEN', signUp.message);
    assert.equal(await latchkey.getSession(), null);
    const config = await (await fetch(`${server.apiUrl}/t/${tenant.slug}/config.json`)).json();
    assert.deepEqual(config.signInMethods, ['PASSKEY', 'EMAIL_CODE']);
    // Allowed again, the same password signs in: turning the method off kept it.
    await updateSettings(tenant, { signInMethods: ['PASSKEY', 'EMAIL_CODE', 'PASSWORD'] }, 'signInMethods');
    assert.equal((await latchkey.signInWithPassword({ email: person.email, password: person.password })).identity.id, person.result.identity.id);
  });
});
