// The SDK in Node.js against the real `latchkey` server. A small software authenticator,
// written here, stands in for `navigator.credentials`: real ES256 keys, authenticator data,
// a "none" attestation in CBOR and real assertion signatures, so the server verifies every
// ceremony exactly as it verifies a browser's. Email codes are read from the server's mailbox
// file (test-support/mailbox.mjs). Each test signs up its own person, so no test depends on
// another's state.

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Latchkey,
  LatchkeyError,
  creationOptionsFromJSON,
  credentialToJSON,
  memoryTokens,
  requestOptionsFromJSON,
} from '../latchkey.js';
import { postGraphql, startServer } from '../test-support/server.mjs';

// ---------------------------------------------------------------------------------------
// A software authenticator

/** The smallest CBOR encoder WebAuthn needs: integers, byte and text strings, maps. */
function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const bytes = Buffer.alloc(5);
    bytes[0] = (major << 5) | 26;
    bytes.writeUInt32BE(n, 1);
    return bytes;
  };
  if (Number.isInteger(value)) return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
  }
  throw new TypeError(`cannot encode ${value} in CBOR`);
}

const sha256 = (data) => createHash('sha256').update(data).digest();
const uint32 = (n) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const arrayBuffer = (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);

const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;
const ATTESTED_CREDENTIAL = 0x40;
const COSE_ES256 = -7;

/**
 * A platform authenticator in software, with the browser's part of WebAuthn (client data,
 * origin, one request at a time, abort signals, autofill) folded in. A modal request is
 * answered at once, as by a person at the keyboard; a conditional (autofill) request waits
 * until the test calls `pickAutofill()`, as a person picking a suggestion would. Every
 * request is kept in `requests`.
 */
class SoftwareAuthenticator {
  /** @type {{ kind: string, mediation: string, publicKey: object, state: string, error?: string }[]} */
  requests = [];
  /** @type {{ id: Buffer, rpId: string, userHandle: Buffer, discoverable: boolean, privateKey: import('node:crypto').KeyObject, signCount: number }[]} */
  credentials = [];
  #busy = false;
  #pickAutofill = null;

  /** `origin` is the page's origin, which goes into the client data. */
  constructor(origin) {
    this.origin = origin;
  }

  isConditionalMediationAvailable() {
    return Promise.resolve(true);
  }

  get waitingForAutofill() {
    return this.#pickAutofill !== null;
  }

  /** The person picks the passkey offered in the autofill. */
  pickAutofill() {
    assert.ok(this.#pickAutofill, 'no autofill request is waiting');
    this.#pickAutofill();
  }

  create(options) {
    return this.#request('create', options, () => this.#makeCredential(options.publicKey));
  }

  get(options) {
    return this.#request('get', options, () => this.#getAssertion(options.publicKey));
  }

  #request(kind, { publicKey, mediation = 'optional', signal }, work) {
    const record = { kind, mediation, publicKey, state: 'pending' };
    this.requests.push(record);
    const fail = (error) => {
      Object.assign(record, { state: 'rejected', error: error?.name ?? String(error) });
      return Promise.reject(error);
    };
    // Browsers run one WebAuthn request at a time (Chromium: "A request is already pending.").
    if (this.#busy) return fail(new DOMException('A request is already pending.', 'NotAllowedError'));
    if (signal?.aborted) return fail(signal.reason);
    this.#busy = true;
    return new Promise((resolve, reject) => {
      const settle = (outcome) => {
        if (record.state !== 'pending') return;
        this.#busy = false;
        this.#pickAutofill = null;
        signal?.removeEventListener('abort', abort);
        if (outcome.error === undefined) {
          record.state = 'resolved';
          resolve(outcome.value);
        } else {
          fail(outcome.error).catch(reject);
        }
      };
      const abort = () => settle({ error: signal.reason });
      signal?.addEventListener('abort', abort, { once: true });
      const run = () =>
        Promise.resolve()
          .then(work)
          .then(
            (value) => settle({ value }),
            (error) => settle({ error }),
          );
      if (mediation === 'conditional') this.#pickAutofill = run;
      else run();
    });
  }

  #rpIdOf(publicKeyRpId) {
    const host = new URL(this.origin).hostname;
    const rpId = publicKeyRpId ?? host;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      throw new DOMException(`the RP id ${rpId} is not valid for ${this.origin}`, 'SecurityError');
    }
    return rpId;
  }

  #clientData(type, challenge) {
    const json = { type, challenge: Buffer.from(challenge).toString('base64url'), origin: this.origin, crossOrigin: false };
    return Buffer.from(JSON.stringify(json));
  }

  #makeCredential(publicKey) {
    const rpId = this.#rpIdOf(publicKey.rp.id);
    if (!publicKey.pubKeyCredParams.some((param) => param.alg === COSE_ES256)) {
      throw new DOMException('only ES256 is supported', 'NotSupportedError');
    }
    const excluded = (publicKey.excludeCredentials ?? []).map((descriptor) => Buffer.from(descriptor.id));
    if (this.credentials.some((c) => c.rpId === rpId && excluded.some((id) => id.equals(c.id)))) {
      throw new DOMException('the authenticator already holds an excluded credential', 'InvalidStateError');
    }
    const { privateKey, publicKey: publicKeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKeyObject.export({ format: 'jwk' });
    const coseKey = cbor(
      new Map([
        [1, 2], // kty: EC2
        [3, COSE_ES256], // alg
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );
    const id = randomBytes(16);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authenticatorData = Buffer.concat([
      sha256(rpId),
      Buffer.from([USER_PRESENT | USER_VERIFIED | ATTESTED_CREDENTIAL]),
      uint32(0),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      id,
      coseKey,
    ]);
    const attestationObject = cbor(
      new Map([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authenticatorData],
      ]),
    );
    const residentKey = publicKey.authenticatorSelection?.residentKey;
    this.credentials.push({
      id,
      rpId,
      userHandle: Buffer.from(publicKey.user.id),
      discoverable: residentKey === 'required' || residentKey === 'preferred',
      privateKey,
      signCount: 0,
    });
    const clientDataJSON = this.#clientData('webauthn.create', publicKey.challenge);
    return {
      id: id.toString('base64url'),
      rawId: arrayBuffer(id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: arrayBuffer(clientDataJSON),
        attestationObject: arrayBuffer(attestationObject),
        getTransports: () => ['internal'],
      },
      getClientExtensionResults: () => ({}),
    };
  }

  #getAssertion(publicKey) {
    const rpId = this.#rpIdOf(publicKey.rpId);
    const allowed = (publicKey.allowCredentials ?? []).map((descriptor) => Buffer.from(descriptor.id));
    const credential = this.credentials.find(
      (c) => c.rpId === rpId && (allowed.length ? allowed.some((id) => id.equals(c.id)) : c.discoverable),
    );
    if (!credential) throw new DOMException('no passkey on this device matches', 'NotAllowedError');
    credential.signCount += 1;
    const authenticatorData = Buffer.concat([
      sha256(rpId),
      Buffer.from([USER_PRESENT | USER_VERIFIED]),
      uint32(credential.signCount),
    ]);
    const clientDataJSON = this.#clientData('webauthn.get', publicKey.challenge);
    // ECDSA over authenticatorData ‖ SHA-256(clientDataJSON), DER-encoded as WebAuthn wants.
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: credential.id.toString('base64url'),
      rawId: arrayBuffer(credential.id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: arrayBuffer(clientDataJSON),
        authenticatorData: arrayBuffer(authenticatorData),
        signature: arrayBuffer(signature),
        userHandle: arrayBuffer(credential.userHandle),
      },
      getClientExtensionResults: () => ({}),
    };
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

const VIEWER = `query Viewer {
  viewer {
    kind
    identity { id email displayName }
    passkeys { nodes { id name signCount } }
    sessions { nodes { id current } }
  }
}`;

const REFRESH = 'mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken } }';

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
    fields: () => operations.map((operation) => operation.field),
    all: () => operations,
    clear: () => operations.splice(0),
  };
}

let people = 0;
const uniqueEmail = () => `person-${++people}@example.com`;

async function until(condition, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---------------------------------------------------------------------------------------
// Without a server

describe('configuration and conversions', () => {
  it('derives the tenant endpoint from the issuer or from baseUrl and tenant', () => {
    assert.equal(new Latchkey({ issuer: 'https://id.example.com/t/acme/' }).endpoint, 'https://id.example.com/t/acme/graphql');
    assert.equal(new Latchkey({ baseUrl: 'https://id.example.com/', tenant: 'acme' }).endpoint, 'https://id.example.com/t/acme/graphql');
    assert.equal(new Latchkey({ baseUrl: '', tenant: 'acme' }).endpoint, '/t/acme/graphql');
    assert.throws(() => new Latchkey({ issuer: 'https://id.example.com' }), TypeError);
    assert.throws(() => new Latchkey({ baseUrl: 'https://id.example.com' }), TypeError);
  });

  it('decodes the base64url fields of the options and encodes a credential back', () => {
    // 0xfb 0xff give "-" and "_" in base64url; lengths 1, 2 and 3 cover every padding.
    const creation = creationOptionsFromJSON({
      challenge: '-_8',
      rp: { id: 'localhost', name: 'Demo' },
      user: { id: 'AQ', name: 'ada@example.com', displayName: 'Ada' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      excludeCredentials: [{ type: 'public-key', id: 'AAEC' }],
    });
    assert.deepEqual([...new Uint8Array(creation.challenge)], [0xfb, 0xff]);
    assert.deepEqual([...new Uint8Array(creation.user.id)], [1]);
    assert.deepEqual([...new Uint8Array(creation.excludeCredentials[0].id)], [0, 1, 2]);
    assert.equal(creation.rp.name, 'Demo');
    const request = requestOptionsFromJSON({ challenge: 'AAEC', rpId: 'localhost' });
    assert.deepEqual([...new Uint8Array(request.challenge)], [0, 1, 2]);
    assert.deepEqual(request.allowCredentials, []);

    const bytes = (...values) => new Uint8Array(values).buffer;
    const json = credentialToJSON({
      id: '-_8',
      rawId: bytes(0xfb, 0xff),
      type: 'public-key',
      response: { clientDataJSON: bytes(1), authenticatorData: bytes(2, 3), signature: bytes(4), userHandle: bytes(5, 6, 7) },
    });
    assert.deepEqual(json, {
      id: '-_8',
      rawId: '-_8',
      type: 'public-key',
      authenticatorAttachment: undefined,
      clientExtensionResults: {},
      response: { clientDataJSON: 'AQ', authenticatorData: 'AgM', signature: 'BA', userHandle: 'BQYH' },
    });
  });

  it('refuses ceremonies where there is no WebAuthn, before calling the server', async () => {
    const operations = recordOperations();
    const latchkey = new Latchkey({ baseUrl: 'http://127.0.0.1:9', tenant: 'demo', fetch: operations.fetch });
    await assert.rejects(latchkey.signIn(), { name: 'LatchkeyError', code: 'NOT_SUPPORTED' });
    await assert.rejects(latchkey.signUp({ email: 'ada@example.com' }), { code: 'NOT_SUPPORTED' });
    await assert.rejects(latchkey.recover({ emailProof: 'proof' }), { code: 'NOT_SUPPORTED' });
    assert.equal(await latchkey.isConditionalMediationAvailable(), false);
    await assert.rejects(latchkey.signInWithAutofill(), { code: 'NOT_SUPPORTED' });
    assert.equal(await latchkey.getAccessToken(), null, 'nobody is signed in');
    await assert.rejects(latchkey.graphql(VIEWER), { code: 'UNAUTHENTICATED' });
    assert.deepEqual(operations.fields(), []);
  });
});

// ---------------------------------------------------------------------------------------
// Against the server

describe('the SDK against a real server', { timeout: 60_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
    // Every test signs up its own person from 127.0.0.1: lift the per-IP limits of the demo
    // tenant so the suite is not rate limited (the limits themselves are tested in a tenant
    // of their own).
    await raiseLimits('demo', server.apiKey);
  });

  /** Lifts a tenant's per-IP limits (sign-in, sign-up, verification emails) for the suite. */
  async function raiseLimits(slug, apiKey) {
    const raised = await postGraphql(
      `${server.apiUrl}/t/${slug}/graphql`,
      'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rateLimits { signUpPerIp emailVerificationPerIp } } } }',
      {
        input: {
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
      apiKey,
    );
    const limits = raised.body.data?.updateTenantSettings.settings.rateLimits;
    assert.deepEqual(limits, { signUpPerIp: 10_000, emailVerificationPerIp: 10_000 }, JSON.stringify(raised.body));
  }

  /** Changes a tenant's settings with its API key; answers the settings asked for. */
  async function updateSettings(slug, apiKey, input, selection) {
    const changed = await postGraphql(
      `${server.apiUrl}/t/${slug}/graphql`,
      `mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { ${selection} } } }`,
      { input },
      apiKey,
    );
    assert.ok(changed.body.data?.updateTenantSettings, JSON.stringify(changed.body));
    return changed.body.data.updateTenantSettings.settings;
  }

  /** Proves `email` for `purpose` with the code from the mailbox; answers the proof. */
  async function prove(latchkey, email, purpose = 'SIGN_UP') {
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose });
    const { code } = await server.mailbox.nextCode(email);
    assert.match(code ?? '', /^\d{6}$/, `a code for ${email}`);
    return latchkey.completeEmailVerification({ challengeId, code });
  }

  after(async () => {
    await server?.stop();
  });

  /** A Latchkey client of `tenant` with a recording fetch, on `device`. */
  function client({ device, tenant = 'demo', storage = memoryTokens(), fetch } = {}) {
    const operations = recordOperations(fetch);
    const latchkey = new Latchkey({ baseUrl: server.apiUrl, tenant, credentials: device, storage, fetch: operations.fetch });
    const changes = [];
    latchkey.onChange((session) => changes.push(session));
    return { latchkey, operations, storage, changes };
  }

  /** A new person with a new device, signed up to the demo tenant with a proven address. */
  async function signedUp(options = {}) {
    const device = new SoftwareAuthenticator(server.url);
    const email = uniqueEmail();
    const person = client({ device, ...options });
    const { emailProof } = await prove(person.latchkey, email);
    const result = await person.latchkey.signUp({ emailProof, displayName: 'Ada Lovelace', passkeyName: 'Laptop' });
    person.operations.clear();
    person.changes.splice(0);
    return { ...person, device, email, result };
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

  it('signUp with an email proof registers a discoverable passkey, starts a session, and the access token reads the viewer', async () => {
    const device = new SoftwareAuthenticator(server.url);
    const { latchkey, operations, changes } = client({ device });
    const email = uniqueEmail();

    const challenge = await latchkey.startEmailVerification({ email, purpose: 'SIGN_UP' });
    assert.equal(typeof challenge.challengeId, 'string');
    assert.ok(challenge.expiresIn > 0);
    const mail = await server.mailbox.nextCode(email);
    assert.match(mail.code ?? '', /^\d{6}$/, 'the email starts with the code');
    const link = new URL(mail.link);
    assert.equal(`${link.origin}${link.pathname}`, `${server.url}/t/demo/`, 'the link opens the hosted page');
    assert.deepEqual(Object.fromEntries(link.searchParams), { verify: challenge.challengeId, code: mail.code });
    const proof = await latchkey.completeEmailVerification({ challengeId: challenge.challengeId, code: ` ${mail.code.slice(0, 3)} ${mail.code.slice(3)} ` });
    assert.equal(typeof proof.emailProof, 'string');
    assert.deepEqual([proof.purpose, proof.email], ['SIGN_UP', email]);
    assert.ok(proof.expiresIn > 0);
    assert.deepEqual(changes, [], 'a proof is not a session');
    assert.equal(await latchkey.getSession(), null);
    assert.deepEqual(operations.all().map(({ field, authorized }) => [field, authorized]), [
      ['startEmailVerification', false],
      ['completeEmailVerification', false],
    ]);
    assert.deepEqual(operations.all()[0].variables.input, { email, purpose: 'SIGN_UP' });
    assert.deepEqual(operations.all()[1].variables.input, { challengeId: challenge.challengeId, code: mail.code }, 'spaces are dropped');
    operations.clear();

    const answered = [];
    const onCredential = () => answered.push(operations.fields());
    const result = await latchkey.signUp({ emailProof: proof.emailProof, displayName: 'Ada Lovelace', passkeyName: 'Laptop', onCredential });

    assert.equal(result.identity.email, email);
    assert.equal(result.identity.displayName, 'Ada Lovelace');
    assert.equal(result.passkey.name, 'Laptop');
    assert.match(result.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
    assert.equal(result.session.identityId, result.identity.id, 'the token names the identity');
    assert.ok(result.session.accessTokenExpiresAt > Date.now() + 60_000);
    assert.deepEqual(changes, [result.session]);
    assert.deepEqual(await latchkey.getSession(), result.session);
    assert.deepEqual(operations.all().map(({ field, authorized }) => [field, authorized]), [
      ['beginPasskeyRegistration', false],
      ['finishPasskeyRegistration', false],
    ]);
    assert.deepEqual(operations.all()[0].variables.input, { emailProof: proof.emailProof, displayName: 'Ada Lovelace' });
    assert.deepEqual(answered, [['beginPasskeyRegistration']], 'onCredential: once, between the authenticator and finish');

    const [request] = device.requests;
    assert.deepEqual([device.requests.length, request.kind, request.state], [1, 'create', 'resolved']);
    assert.equal(request.publicKey.rp.id, 'localhost', 'the RP id comes from the public URL');
    assert.equal(request.publicKey.user.name, email);
    assert.equal(request.publicKey.authenticatorSelection.residentKey, 'required', 'discoverable, for usernameless sign-in');
    assert.ok(request.publicKey.challenge instanceof ArrayBuffer, 'binary options, as navigator.credentials takes them');

    const { viewer } = await latchkey.graphql(VIEWER);
    assert.equal(viewer.kind, 'IDENTITY');
    assert.deepEqual(viewer.identity, result.identity);
    assert.deepEqual(viewer.passkeys.nodes.map((passkey) => passkey.name), ['Laptop']);
    assert.deepEqual(viewer.sessions.nodes, [{ id: result.session.sessionId, current: true }]);
    assert.equal(operations.all().at(-1).authorized, true);
  });

  it('a code proves the address once: a wrong code says so, and a spent or unknown challenge is refused', async () => {
    const { latchkey } = client({ device: new SoftwareAuthenticator(server.url) });
    const email = uniqueEmail();
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose: 'SIGN_UP' });
    const { code } = await server.mailbox.nextCode(email);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    const refused = await latchkey.completeEmailVerification({ challengeId, code: wrong }).catch((error) => error);
    assert.ok(refused instanceof LatchkeyError, String(refused));
    assert.deepEqual([refused.code, refused.field], ['BAD_USER_INPUT', 'code']);
    assert.match(refused.message, /\d/, `the message says how many tries are left: ${refused.message}`);

    const proof = await latchkey.completeEmailVerification({ challengeId, code });
    assert.equal(proof.email, email, 'a wrong try does not spend the challenge');
    const spent = await latchkey.completeEmailVerification({ challengeId, code }).catch((error) => error);
    assert.deepEqual([spent.code, spent.field], ['BAD_USER_INPUT', 'challengeId']);
    const unknown = await latchkey.completeEmailVerification({ challengeId: 'no-such-challenge', code }).catch((error) => error);
    assert.deepEqual([unknown.code, unknown.field], ['BAD_USER_INPUT', 'challengeId']);
  });

  it('five wrong codes end a challenge, and a new code waits until it expires', async () => {
    const { latchkey } = client({ device: new SoftwareAuthenticator(server.url) });
    const email = uniqueEmail();
    const { challengeId } = await latchkey.startEmailVerification({ email, purpose: 'SIGN_UP' });
    const { code } = await server.mailbox.nextCode(email);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const answers = [];
    for (let i = 0; i < 5; i += 1) {
      const error = await latchkey.completeEmailVerification({ challengeId, code: wrong }).catch((failure) => failure);
      answers.push([error.code, error.field]);
    }
    assert.deepEqual(answers, Array(5).fill(['BAD_USER_INPUT', 'code']));
    const dead = await latchkey.completeEmailVerification({ challengeId, code }).catch((error) => error);
    assert.equal(dead.code, 'FORBIDDEN', 'not even the right code works now');
    const again = await latchkey.startEmailVerification({ email, purpose: 'SIGN_UP' }).catch((error) => error);
    assert.equal(again.code, 'RATE_LIMITED');
    assert.ok(again.retryAfter > 0, `retryAfter ${again.retryAfter}`);
  });

  it('asking to sign up with a taken address answers the same, and the email says so without a code', async () => {
    const person = await signedUp();
    const { latchkey } = client({ device: new SoftwareAuthenticator(server.url) });
    const challenge = await latchkey.startEmailVerification({ email: person.email, purpose: 'SIGN_UP' });
    assert.deepEqual(Object.keys(challenge).sort(), ['challengeId', 'expiresIn']);
    const mail = await server.mailbox.next(person.email, { matching: (message) => /already have/i.test(message.subject) });
    assert.equal(mail.code, null, 'no code');
    assert.equal(mail.link, null, 'no link to confirm');
    assert.match(mail.text, /you already have an account/i);
  });

  it('recover registers a new passkey on a new device for the same account, and can sign out everywhere else', async () => {
    const person = await signedUp();
    const phone = new SoftwareAuthenticator(server.url);
    const { latchkey, operations, changes } = client({ device: phone });
    const { emailProof, purpose } = await prove(latchkey, person.email, 'RECOVERY');
    assert.equal(purpose, 'RECOVERY');
    operations.clear();

    const result = await latchkey.recover({ emailProof, signOutEverywhere: true, passkeyName: 'Phone' });
    assert.equal(result.identity.id, person.result.identity.id, 'the same account');
    assert.equal(result.passkey.name, 'Phone');
    assert.deepEqual(changes, [result.session]);
    assert.deepEqual(operations.all().map(({ field, authorized }) => [field, authorized]), [
      ['beginPasskeyRegistration', false],
      ['finishPasskeyRegistration', false],
    ]);
    assert.deepEqual(operations.all()[0].variables.input, { emailProof, signOutEverywhere: true });
    assert.equal(phone.credentials.length, 1);

    // The laptop's session is over; the new passkey signs in.
    await assert.rejects(person.latchkey.graphql(VIEWER), { code: 'UNAUTHENTICATED' });
    const again = client({ device: phone });
    const signedIn = await again.latchkey.signIn();
    assert.equal(signedIn.identity.id, person.result.identity.id);
    const { viewer } = await again.latchkey.graphql(`query { viewer {
      passkeys { nodes { name } } sessions { nodes { id } } securityEvents(first: 10) { action occurredAt }
    } }`);
    assert.deepEqual(viewer.passkeys.nodes.map((passkey) => passkey.name).sort(), ['Laptop', 'Phone']);
    assert.equal(viewer.sessions.nodes.length, 2, 'the recovery’s session and this one; the laptop’s ended');
    const actions = viewer.securityEvents.map((event) => event.action);
    assert.ok(actions.includes('identity.recover') && actions.includes('passkey.register'), JSON.stringify(actions));

    // A proof is good once.
    await assert.rejects(latchkey.recover({ emailProof }), { code: 'BAD_USER_INPUT', field: 'emailProof' });
  });

  it('a recovery without signOutEverywhere keeps the other sessions', async () => {
    const person = await signedUp();
    const { latchkey } = client({ device: new SoftwareAuthenticator(server.url) });
    const { emailProof } = await prove(latchkey, person.email, 'RECOVERY');
    const result = await latchkey.recover({ emailProof });
    assert.equal(result.identity.id, person.result.identity.id);
    assert.equal((await person.latchkey.graphql(VIEWER)).viewer.sessions.nodes.length, 2);
  });

  it('signIn with an email hint asks only for that account’s passkeys', async () => {
    const person = await signedUp();
    const { latchkey, operations } = client({ device: person.device });
    const answered = [];
    const result = await latchkey.signIn({ email: person.email, onCredential: () => answered.push(operations.fields()) });

    assert.deepEqual(operations.fields(), ['beginPasskeySignIn', 'finishPasskeySignIn']);
    assert.deepEqual(answered, [['beginPasskeySignIn']], 'onCredential: once, between the authenticator and finish');
    assert.deepEqual(operations.all()[0].variables.input, { email: person.email });
    const request = person.device.requests.at(-1);
    assert.deepEqual([request.kind, request.mediation, request.state], ['get', 'optional', 'resolved']);
    assert.deepEqual(
      request.publicKey.allowCredentials.map((descriptor) => Buffer.from(descriptor.id).toString('base64url')),
      [person.device.credentials[0].id.toString('base64url')],
    );
    assert.equal(result.identity.id, person.result.identity.id);
    assert.equal(result.passkey, null);
    assert.notEqual(result.session.sessionId, person.result.session.sessionId, 'a new session');

    const { viewer } = await latchkey.graphql(VIEWER);
    assert.equal(viewer.identity.email, person.email);
    assert.equal(viewer.passkeys.nodes[0].signCount, 1, 'the server kept the signature counter');
    assert.equal(viewer.sessions.nodes.length, 2);
  });

  it('signIn without an email is a discoverable (usernameless) request', async () => {
    const person = await signedUp();
    const { latchkey, operations } = client({ device: person.device });
    const result = await latchkey.signIn();

    assert.deepEqual(operations.all()[0].variables.input, {}, 'no email was sent');
    const request = person.device.requests.at(-1);
    assert.deepEqual([request.kind, request.state, request.publicKey.allowCredentials.length], ['get', 'resolved', 0]);
    assert.equal(result.identity.id, person.result.identity.id);
    assert.equal((await latchkey.graphql(VIEWER)).viewer.identity.email, person.email);
  });

  // Its own time limit: a request the SDK fails to withdraw waits forever.
  it('autofill waits for the person, aborts without leaving a request behind, yields to other ceremonies, and signs in', { timeout: 10_000 }, async () => {
    const person = await signedUp();
    const { device } = person;
    const { latchkey } = client({ device });
    assert.equal(await latchkey.isConditionalMediationAvailable(), true);
    const gets = () => device.requests.filter((r) => r.kind === 'get').map((r) => [r.mediation, r.state, r.error ?? null]);

    // The caller aborts: the request is withdrawn from the authenticator.
    const controller = new AbortController();
    const aborted = latchkey.signInWithAutofill({ signal: controller.signal }).catch((error) => error);
    await until(() => device.waitingForAutofill);
    controller.abort();
    const abortError = await aborted;
    assert.ok(abortError instanceof LatchkeyError, String(abortError));
    assert.equal(abortError.code, 'ABORTED');
    assert.equal(device.waitingForAutofill, false);
    assert.deepEqual(gets(), [['conditional', 'rejected', 'AbortError']]);

    // A new autofill request replaces the waiting one, and another ceremony of the client
    // aborts it before starting its own. The authenticator refuses overlapping requests, so
    // either fails if the SDK does not withdraw the waiting request first.
    const replaced = latchkey.signInWithAutofill().catch((error) => error);
    await until(() => device.waitingForAutofill);
    const displaced = latchkey.signInWithAutofill().catch((error) => error);
    assert.equal((await replaced).code, 'ABORTED');
    await until(() => device.waitingForAutofill);
    const modal = await latchkey.signIn();
    assert.equal((await displaced).code, 'ABORTED');
    assert.equal(modal.identity.id, person.result.identity.id);
    assert.deepEqual(gets().slice(1), [
      ['conditional', 'rejected', 'AbortError'],
      ['conditional', 'rejected', 'AbortError'],
      ['optional', 'resolved', null],
    ]);

    // The person picks the passkey in the autofill; onCredential tells the app at once.
    let pickedAt = null;
    const picked = latchkey.signInWithAutofill({ onCredential: () => (pickedAt = device.requests.at(-1).state) });
    await until(() => device.waitingForAutofill);
    assert.equal(pickedAt, null, 'not before the person picks');
    device.pickAutofill();
    const result = await picked;
    assert.equal(pickedAt, 'resolved');
    assert.equal(result.identity.id, person.result.identity.id);
    assert.notEqual(result.session.sessionId, modal.session.sessionId);
    assert.deepEqual(gets().at(-1), ['conditional', 'resolved', null]);
    assert.equal((await latchkey.getSession()).sessionId, result.session.sessionId);
  });

  it('a ceremony started while autofill is still getting ready goes alone', { timeout: 10_000 }, async () => {
    const person = await signedUp();
    const { device } = person;
    const { latchkey, operations } = client({ device });
    // Both start in the same turn: the autofill has not asked the authenticator anything yet.
    const autofill = latchkey.signInWithAutofill().catch((error) => error);
    const modal = await latchkey.signIn();
    assert.equal((await autofill).code, 'ABORTED');
    assert.equal(modal.identity.id, person.result.identity.id);
    assert.deepEqual(operations.fields(), ['beginPasskeySignIn', 'finishPasskeySignIn'], 'the autofill never began');
    assert.deepEqual(
      device.requests.slice(1).map((r) => [r.kind, r.mediation, r.state]),
      [['get', 'optional', 'resolved']],
    );
  });

  it('getAccessToken refreshes an expired token once for concurrent callers, and only when due', async () => {
    const { latchkey, operations, storage, changes, result } = await signedUp();
    const first = storage.load();

    assert.equal(await latchkey.getAccessToken(), first.accessToken);
    assert.deepEqual(operations.fields(), [], 'a fresh token needs no request');

    storage.save({ ...first, expiresAt: Date.now() - 1_000 });
    const [a, b] = await Promise.all([latchkey.getAccessToken(), latchkey.getAccessToken()]);
    assert.equal(a, b, 'both callers got the one new token');
    assert.notEqual(a, first.accessToken);
    assert.deepEqual(operations.fields(), ['refreshSession'], 'one exchange for both callers');
    assert.deepEqual(operations.all()[0].variables, { input: { refreshToken: first.refreshToken } });
    const second = storage.load();
    assert.equal(second.accessToken, a);
    assert.notEqual(second.refreshToken, first.refreshToken, 'the rotated refresh token is stored');
    assert.ok(second.expiresAt > Date.now() + 60_000);
    assert.deepEqual(changes.map((session) => session.sessionId), [result.session.sessionId]);

    // Had the spent refresh token gone out twice, the server would have revoked the session.
    const { viewer } = await latchkey.graphql(VIEWER);
    assert.deepEqual(viewer.sessions.nodes, [{ id: result.session.sessionId, current: true }]);

    // Within the 30 s margin counts as due; refresh() exchanges regardless.
    storage.save({ ...second, expiresAt: Date.now() + 10_000 });
    operations.clear();
    assert.notEqual(await latchkey.getAccessToken(), second.accessToken);
    const session = await latchkey.refresh();
    assert.equal(session.sessionId, result.session.sessionId);
    assert.deepEqual(operations.fields(), ['refreshSession', 'refreshSession']);
    assert.equal((await latchkey.graphql(VIEWER)).viewer.identity.id, result.identity.id);
  });

  it('an access token the server refuses is refreshed once and the request sent again', async () => {
    const { latchkey, operations, storage, email } = await signedUp();
    storage.save({ ...storage.load(), accessToken: 'not-a-token' });
    const { viewer } = await latchkey.graphql(VIEWER);
    assert.equal(viewer.identity.email, email);
    assert.deepEqual(operations.fields(), ['viewer', 'refreshSession', 'viewer']);
    assert.notEqual(storage.load().accessToken, 'not-a-token');
  });

  it('a reused refresh token ends the session: the SDK forgets it and answers UNAUTHENTICATED', async () => {
    const { latchkey, storage, changes } = await signedUp();
    const spent = storage.load().refreshToken;
    await latchkey.refresh();
    // The SDK goes on using the rotated token, so the spent one is no longer a retry within the
    // tenant's reuse interval (refreshTokenReuseSeconds) but a replay.
    await latchkey.refresh();
    // Someone presents the spent token (as a thief would): the server revokes the session.
    const reused = await postGraphql(`${server.apiUrl}/t/demo/graphql`, REFRESH, { input: { refreshToken: spent } });
    assert.equal(reused.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

    await assert.rejects(latchkey.graphql(VIEWER), { code: 'UNAUTHENTICATED' });
    assert.equal(storage.load(), null, 'the tokens are forgotten');
    assert.equal(changes.at(-1), null, 'listeners heard that the session ended');
    assert.equal(await latchkey.getAccessToken(), null);
  });

  it('signOut ends the session on the server and forgets the tokens', async () => {
    const { latchkey, operations, storage, changes } = await signedUp();
    const tokens = storage.load();
    await latchkey.signOut();

    assert.deepEqual(operations.fields(), ['signOut']);
    assert.deepEqual(operations.all()[0].variables, { input: { everywhere: false } });
    assert.equal(storage.load(), null);
    assert.equal(await latchkey.getSession(), null);
    assert.deepEqual(changes, [null]);
    await assert.rejects(latchkey.graphql(VIEWER), { name: 'LatchkeyError', code: 'UNAUTHENTICATED' });

    const endpoint = `${server.apiUrl}/t/demo/graphql`;
    const withOldToken = await postGraphql(endpoint, VIEWER, {}, tokens.accessToken);
    assert.equal(withOldToken.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'the access token stopped working');
    const refreshed = await postGraphql(endpoint, REFRESH, { input: { refreshToken: tokens.refreshToken } });
    assert.equal(refreshed.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'so did the refresh token');

    operations.clear();
    await latchkey.signOut();
    assert.deepEqual(operations.fields(), [], 'signing out again does nothing');
  });

  it('signOut everywhere ends the person’s other sessions too', async () => {
    const person = await signedUp();
    const other = client({ device: person.device });
    await other.latchkey.signIn({ email: person.email });
    await person.latchkey.signOut({ everywhere: true });
    assert.deepEqual(person.operations.all()[0].variables, { input: { everywhere: true } });

    await assert.rejects(other.latchkey.graphql(VIEWER), { code: 'UNAUTHENTICATED' });
    assert.equal(other.storage.load(), null);
    assert.deepEqual(other.operations.fields().slice(-2), ['viewer', 'refreshSession'], 'its token and then its refresh were refused');
  });

  it('addPasskey registers a second authenticator; one that already holds a passkey is refused', async () => {
    const person = await signedUp();
    const securityKey = new SoftwareAuthenticator(server.url);
    const onKey = client({ device: securityKey, storage: person.storage });
    const passkey = await onKey.latchkey.addPasskey({ passkeyName: 'Security key' });

    assert.equal(passkey.name, 'Security key');
    assert.deepEqual(onKey.operations.all().map(({ field, authorized }) => [field, authorized]), [
      ['beginPasskeyRegistration', true],
      ['finishPasskeyRegistration', true],
    ]);
    assert.deepEqual(onKey.operations.all()[0].variables.input, {}, 'no email: a passkey for the caller');
    const [request] = securityKey.requests;
    assert.equal(request.publicKey.excludeCredentials.length, 1, 'the laptop’s passkey is excluded');

    await assert.rejects(person.latchkey.addPasskey(), { code: 'PASSKEY_EXISTS' });
    assert.equal(person.device.credentials.length, 1);

    const elsewhere = client({ device: securityKey });
    await elsewhere.latchkey.signIn({ email: person.email });
    assert.equal(securityKey.requests.at(-1).publicKey.allowCredentials.length, 2);
    const { viewer } = await elsewhere.latchkey.graphql(VIEWER);
    assert.deepEqual(viewer.passkeys.nodes.map((node) => node.name).sort(), ['Laptop', 'Security key']);
  });

  it('server errors keep their code, field and retryAfter; WebAuthn refusals have codes of their own', async () => {
    const device = new SoftwareAuthenticator(server.url);
    const { latchkey } = client({ device });

    const invalid = await latchkey.startEmailVerification({ email: 'not-an-email', purpose: 'SIGN_UP' }).catch((error) => error);
    assert.ok(invalid instanceof LatchkeyError, String(invalid));
    assert.equal(invalid.code, 'BAD_USER_INPUT');
    assert.equal(invalid.field, 'email');
    assert.match(invalid.message, /^email: /);
    const forged = await latchkey.signUp({ emailProof: 'not-a-proof', displayName: 'Ada' }).catch((error) => error);
    assert.deepEqual([forged.code, forged.field], ['BAD_USER_INPUT', 'emailProof']);
    assert.equal(device.requests.length, 0, 'no passkey prompt for refused input');

    // A tenant of its own with one sign-in per email per minute.
    const tenant = await createTenant('sdk-limits');
    const limited = await postGraphql(
      `${server.apiUrl}/t/${tenant.slug}/graphql`,
      'mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rateLimits { signInPerIdentity } } } }',
      { input: { rateLimits: { signInPerIp: 100, signInPerIdentity: 1, signUpPerIp: 100 } } },
      tenant.apiKey,
    );
    assert.equal(limited.body.data?.updateTenantSettings.settings.rateLimits.signInPerIdentity, 1);
    const there = client({ device, tenant: tenant.slug });
    // An unknown email gets a decoy credential id: no passkey on the device matches it.
    await assert.rejects(there.latchkey.signIn({ email: 'nobody@example.com' }), { code: 'NOT_ALLOWED' });
    const limitedError = await there.latchkey.signIn({ email: 'nobody@example.com' }).catch((error) => error);
    assert.equal(limitedError.code, 'RATE_LIMITED');
    assert.ok(limitedError.retryAfter > 0 && limitedError.retryAfter <= 60, `retryAfter ${limitedError.retryAfter}`);
    assert.deepEqual(there.operations.fields(), ['beginPasskeySignIn', 'beginPasskeySignIn']);
  });

  it('a sign-up without a proof is refused where addresses must be verified, and works where the tenant turned that off', async () => {
    const device = new SoftwareAuthenticator(server.url);
    const { latchkey } = client({ device });
    const refused = await latchkey.signUp({ email: uniqueEmail(), displayName: 'Ada' }).catch((error) => error);
    assert.ok(refused instanceof LatchkeyError, String(refused));
    assert.equal(refused.code, 'BAD_USER_INPUT', refused.message);
    assert.equal(refused.field, 'emailProof', refused.message);
    assert.equal(device.requests.length, 0, 'no passkey prompt');

    const tenant = await createTenant('sdk-unverified');
    await raiseLimits(tenant.slug, tenant.apiKey);
    const settings = await updateSettings(tenant.slug, tenant.apiKey, { requireVerifiedEmail: false }, 'requireVerifiedEmail');
    assert.equal(settings.requireVerifiedEmail, false);
    const there = client({ device, tenant: tenant.slug });
    const email = uniqueEmail();
    const result = await there.latchkey.signUp({ email, displayName: 'Ada' });
    assert.equal(result.identity.email, email);
    assert.deepEqual(there.operations.all()[0].variables.input, { email, displayName: 'Ada' });
    const taken = client({ device: new SoftwareAuthenticator(server.url), tenant: tenant.slug });
    await assert.rejects(taken.latchkey.signUp({ email }), { code: 'CONFLICT' });
  });

  it('where recoveries need approval, requestAccountRecovery files a pending request and recover is refused', async () => {
    const tenant = await createTenant('sdk-approval');
    await raiseLimits(tenant.slug, tenant.apiKey);
    const settings = await updateSettings(tenant.slug, tenant.apiKey, { recoveryRequiresApproval: true }, 'recoveryRequiresApproval');
    assert.equal(settings.recoveryRequiresApproval, true);
    const laptop = client({ device: new SoftwareAuthenticator(server.url), tenant: tenant.slug });
    const email = uniqueEmail();
    const signedUpThere = await laptop.latchkey.signUp({ ...(await prove(laptop.latchkey, email)), displayName: 'Ada' });

    const phone = client({ device: new SoftwareAuthenticator(server.url), tenant: tenant.slug });
    const { emailProof } = await prove(phone.latchkey, email, 'RECOVERY');
    const direct = await phone.latchkey.recover({ emailProof }).catch((error) => error);
    assert.ok(direct instanceof LatchkeyError, String(direct));
    assert.equal(direct.code, 'FORBIDDEN', direct.message);
    assert.match(direct.message, /requestAccountRecovery/, 'the refusal says what to do instead');

    const request = await phone.latchkey.requestAccountRecovery({ emailProof });
    assert.equal(request.status, 'PENDING');
    assert.equal(typeof request.id, 'string');
    assert.ok(!Number.isNaN(Date.parse(request.createdAt)), request.createdAt);
    assert.equal(await phone.latchkey.getSession(), null, 'no session before an administrator approves');
    assert.equal(signedUpThere.identity.email, email);
  });

  it('an unreachable server is NETWORK; a refresh that could not be sent keeps the session', async () => {
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    const device = new SoftwareAuthenticator(server.url);
    const unreachable = new Latchkey({ baseUrl: `http://127.0.0.1:${port}`, tenant: 'demo', credentials: device });
    const error = await unreachable.signIn().catch((failure) => failure);
    assert.equal(error.code, 'NETWORK');
    assert.ok(error.cause, 'the underlying failure is kept');
    assert.equal(device.requests.length, 0);

    let offline = false;
    const flaky = (url, init) => (offline ? Promise.reject(new TypeError('fetch failed')) : fetch(url, init));
    const { latchkey, storage } = await signedUp({ fetch: flaky });
    const expired = { ...storage.load(), expiresAt: Date.now() - 1_000 };
    storage.save(expired);
    offline = true;
    await assert.rejects(latchkey.getAccessToken(), { code: 'NETWORK' });
    assert.deepEqual(storage.load(), expired, 'the tokens are kept for a later try');
    offline = false;
    assert.notEqual(await latchkey.getAccessToken(), expired.accessToken);
  });

  it('tokens and passkeys of one tenant are refused by another', async () => {
    const other = await createTenant('sdk-other');
    const person = await signedUp();
    const tokens = person.storage.load();

    const direct = await postGraphql(`${server.apiUrl}/t/${other.slug}/graphql`, VIEWER, {}, tokens.accessToken);
    assert.equal(direct.status, 401);
    assert.equal(direct.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

    // The SDK pointed at the other tenant with the demo tenant's tokens: the access token and
    // then the refresh token are refused, and that client forgets them.
    const stolen = memoryTokens();
    stolen.save({ ...tokens });
    const there = client({ device: person.device, tenant: other.slug, storage: stolen });
    await assert.rejects(there.latchkey.graphql(VIEWER), { code: 'UNAUTHENTICATED' });
    assert.deepEqual(there.operations.fields(), ['viewer', 'refreshSession']);
    assert.equal(stolen.load(), null);

    // The passkey is the demo tenant's, even though the RP id (localhost) is the same.
    const refused = await there.latchkey.signIn().catch((error) => error);
    assert.equal(refused.code, 'FORBIDDEN');
    assert.match(refused.message, /not registered/);

    // An email proof of the demo tenant is worthless in the other one.
    const fresh = client({ device: new SoftwareAuthenticator(server.url) });
    const { emailProof } = await prove(fresh.latchkey, uniqueEmail());
    const elsewhere = client({ device: new SoftwareAuthenticator(server.url), tenant: other.slug });
    await assert.rejects(elsewhere.latchkey.signUp({ emailProof, displayName: 'Ada' }), { code: 'BAD_USER_INPUT', field: 'emailProof' });
    const address = uniqueEmail();
    const { challengeId } = await fresh.latchkey.startEmailVerification({ email: address, purpose: 'SIGN_UP' });
    const { code } = await server.mailbox.nextCode(address);
    await assert.rejects(elsewhere.latchkey.completeEmailVerification({ challengeId, code }), { code: 'BAD_USER_INPUT', field: 'challengeId' });

    // None of this touched the demo session: its refresh token was not spent elsewhere.
    await person.latchkey.refresh();
    assert.equal((await person.latchkey.graphql(VIEWER)).viewer.identity.email, person.email);
  });
});
