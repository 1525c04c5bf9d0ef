// Latchkey's JavaScript SDK: email proofs (one-time codes), passkey sign-up, sign-in and
// recovery, sign-in with an emailed code, passwords with an authenticator app (TOTP) as a
// second factor, the signed-in person's own profile, address and consents, against one
// tenant's GraphQL API, a session whose access token is kept fresh, and authenticated GraphQL
// calls. One plain ES module without dependencies or a build step.
// It runs in browsers, and in Node.js 20 or later when it is given a `credentials`
// implementation (an authenticator) and, for a server that is not on the same origin, an
// absolute `baseUrl`/`issuer`.

/** Refresh this long before the access token expires, so it does not lapse in flight. */
const REFRESH_MARGIN_MS = 30_000;

/**
 * How the tenant API answers a refresh token it will not exchange. However the server words
 * it, the session is over: the SDK forgets the tokens and reports `UNAUTHENTICATED`.
 */
const SESSION_OVER = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

/** What a failed `navigator.credentials` call means, by its `DOMException` name. */
const WEBAUTHN_CODES = {
  AbortError: 'ABORTED',
  NotAllowedError: 'NOT_ALLOWED',
  InvalidStateError: 'PASSKEY_EXISTS',
  NotSupportedError: 'NOT_SUPPORTED',
};

// The selection of a finished ceremony: one for sign-up and sign-in, so both results have
// the same shape (`passkey` is null after a sign-in).
const CEREMONY_RESULT = `identity { id email displayName }
    passkey { id name }
    session { id }
    accessToken refreshToken expiresIn`;

const BEGIN_REGISTRATION = `mutation BeginPasskeyRegistration($input: BeginPasskeyRegistrationInput!) {
  beginPasskeyRegistration(input: $input) { ceremonyId options }
}`;

const FINISH_REGISTRATION = `mutation FinishPasskeyRegistration($input: FinishPasskeyRegistrationInput!) {
  finishPasskeyRegistration(input: $input) { ${CEREMONY_RESULT} }
}`;

const BEGIN_SIGN_IN = `mutation BeginPasskeySignIn($input: BeginPasskeySignInInput!) {
  beginPasskeySignIn(input: $input) { ceremonyId options }
}`;

const FINISH_SIGN_IN = `mutation FinishPasskeySignIn($input: FinishPasskeySignInInput!) {
  finishPasskeySignIn(input: $input) { ${CEREMONY_RESULT} }
}`;

const START_EMAIL_VERIFICATION = `mutation StartEmailVerification($input: StartEmailVerificationInput!) {
  startEmailVerification(input: $input) { challengeId expiresIn }
}`;

const COMPLETE_EMAIL_VERIFICATION = `mutation CompleteEmailVerification($input: CompleteEmailVerificationInput!) {
  completeEmailVerification(input: $input) { emailProof expiresIn purpose email }
}`;

const SIGN_IN_WITH_EMAIL_CODE = `mutation SignInWithEmailCode($input: SignInWithEmailCodeInput!) {
  signInWithEmailCode(input: $input) { ${CEREMONY_RESULT} }
}`;

// Passwords and TOTP. The identity fields the account calls answer.
const ACCOUNT_IDENTITY = `identity { id email displayName hasPassword totpEnrolled }`;

// The inputs are spelled out field by field, so the operations depend on the contract's
// field names and types only, not on what the input objects are called.
const SIGN_UP_WITH_PASSWORD = `mutation SignUpWithPassword($emailProof: String!, $password: String!, $displayName: String) {
  signUpWithPassword(input: { emailProof: $emailProof, password: $password, displayName: $displayName }) {
    ${CEREMONY_RESULT}
  }
}`;

const SIGN_IN_WITH_PASSWORD = `mutation SignInWithPassword($email: String!, $password: String!) {
  signInWithPassword(input: { email: $email, password: $password }) {
    identity { id email displayName }
    session { id }
    accessToken refreshToken expiresIn
    secondFactorRequired secondFactorToken
  }
}`;

const COMPLETE_SECOND_FACTOR = `mutation CompleteSecondFactor($secondFactorToken: String!, $code: String!) {
  completeSecondFactor(input: { secondFactorToken: $secondFactorToken, code: $code }) { ${CEREMONY_RESULT} }
}`;

const CHANGE_PASSWORD = `mutation ChangePassword($currentPassword: String, $newPassword: String!, $signOutOtherSessions: Boolean!) {
  changePassword(input: { currentPassword: $currentPassword, newPassword: $newPassword, signOutOtherSessions: $signOutOtherSessions }) {
    ${ACCOUNT_IDENTITY}
  }
}`;

const RESET_PASSWORD = `mutation ResetPassword($emailProof: String!, $newPassword: String!, $signOutEverywhere: Boolean!) {
  resetPassword(input: { emailProof: $emailProof, newPassword: $newPassword, signOutEverywhere: $signOutEverywhere }) {
    identity { id email displayName }
  }
}`;

const BEGIN_TOTP_ENROLLMENT = `mutation BeginTotpEnrollment {
  beginTotpEnrollment { secret otpauthUri }
}`;

const FINISH_TOTP_ENROLLMENT = `mutation FinishTotpEnrollment($code: String!) {
  finishTotpEnrollment(input: { code: $code }) { recoveryCodes }
}`;

const REMOVE_TOTP = `mutation RemoveTotp {
  removeTotp { ${ACCOUNT_IDENTITY} }
}`;

const REQUEST_ACCOUNT_RECOVERY = `mutation RequestAccountRecovery($input: RequestAccountRecoveryInput!) {
  requestAccountRecovery(input: $input) { request { id status createdAt } }
}`;

// The signed-in person's own profile, address and consents. The input objects go whole, so
// a field left out is unchanged and a null clears it (the two differ for `updateViewerProfile`).
const PROFILE_IDENTITY = `identity {
    id email emailVerified displayName phone locale attributes
    consents { purpose granted version decidedAt }
  }`;

const UPDATE_VIEWER_PROFILE = `mutation UpdateViewerProfile($input: UpdateViewerProfileInput!) {
  updateViewerProfile(input: $input) { ${PROFILE_IDENTITY} }
}`;

const CHANGE_VIEWER_EMAIL = `mutation ChangeViewerEmail($input: ChangeViewerEmailInput!) {
  changeViewerEmail(input: $input) { ${PROFILE_IDENTITY} }
}`;

const UNDO_EMAIL_CHANGE = `mutation UndoEmailChange($input: UndoEmailChangeInput!) {
  undoEmailChange(input: $input)
}`;

const SET_VIEWER_CONSENT = `mutation SetViewerConsent($input: SetViewerConsentInput!) {
  setViewerConsent(input: $input) { ${PROFILE_IDENTITY} }
}`;

const REFRESH_SESSION = `mutation RefreshSession($input: RefreshSessionInput!) {
  refreshSession(input: $input) { accessToken refreshToken expiresIn }
}`;

const SIGN_OUT = `mutation SignOut($input: SignOutInput!) {
  signOut(input: $input) { sessionId }
}`;

// ---------------------------------------------------------------------------------------
// Errors

/**
 * Every failure the SDK reports. `code` is the server's `extensions.code` (`UNAUTHENTICATED`,
 * `FORBIDDEN`, `NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`, `RATE_LIMITED`, `INTERNAL`) or one
 * of the client's own: `NETWORK` (the server could not be reached), `ABORTED` (the caller's
 * signal, or another ceremony of this client, stopped it), `NOT_SUPPORTED` (no WebAuthn, or
 * not the kind asked for), `NOT_ALLOWED` (the person cancelled, the request timed out, or no
 * passkey matched: WebAuthn deliberately does not say which), `PASSKEY_EXISTS` (the
 * authenticator already holds a passkey for this account) and `WEBAUTHN` (any other failure
 * of the browser's WebAuthn call; see `cause`).
 */
export class LatchkeyError extends Error {
  constructor(message, code, { retryAfter, field, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LatchkeyError';
    this.code = code;
    /** Seconds to wait before trying again (`RATE_LIMITED`). */
    this.retryAfter = retryAfter;
    /** The input field a `BAD_USER_INPUT` is about, such as `email`. */
    this.field = field;
  }
}

function aborted(signal) {
  return new LatchkeyError('The request was aborted.', 'ABORTED', { cause: signal.reason });
}

/** Calls one of the app's callbacks: a bug in it must not break the ceremony or refresh that called it. */
function callBack(callback, ...args) {
  try {
    callback(...args);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

// ---------------------------------------------------------------------------------------
// Token storage

/**
 * Keeps the tokens in this object only: they are gone when the page or process ends. The
 * default, because nothing is left in web storage for other scripts on the origin to find.
 */
export function memoryTokens() {
  let tokens = null;
  return {
    load: () => tokens,
    save: (value) => {
      tokens = value;
    },
  };
}

function webStorageTokens(area, key) {
  if (typeof key !== 'string' || !key) throw new TypeError('a storage key is required');
  return {
    load() {
      try {
        const tokens = JSON.parse(area().getItem(key) ?? 'null');
        return typeof tokens?.refreshToken === 'string' ? tokens : null;
      } catch {
        // Unreadable (storage blocked, or a value that is not ours): signed out.
        return null;
      }
    },
    save(tokens) {
      if (tokens) area().setItem(key, JSON.stringify(tokens));
      else area().removeItem(key);
    },
  };
}

/**
 * Keeps the tokens in `localStorage` under `key`: the session survives reloads and is shared
 * by the origin's tabs (refreshes are coordinated across them with a Web Lock). The stored
 * value is `{ accessToken, refreshToken, expiresAt }`, as the hosted pages store it.
 */
export function localStorageTokens(key) {
  return webStorageTokens(() => globalThis.localStorage, key);
}

/** Keeps the tokens in `sessionStorage` under `key`: one tab, until it is closed. */
export function sessionStorageTokens(key) {
  return webStorageTokens(() => globalThis.sessionStorage, key);
}

// ---------------------------------------------------------------------------------------
// WebAuthn JSON ⇄ binary

function fromBase64url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptorFromJSON = (descriptor) => ({ ...descriptor, id: fromBase64url(descriptor.id) });

/**
 * The `publicKey` of `navigator.credentials.create` from its JSON form (the `options.publicKey`
 * of `beginPasskeyRegistration`): the browser's own `parseCreationOptionsFromJSON` where it
 * exists (WebAuthn level 3), else the base64url fields decoded here, for older browsers and
 * for authenticators injected outside a browser.
 */
export function creationOptionsFromJSON(json) {
  const native = globalThis.PublicKeyCredential?.parseCreationOptionsFromJSON;
  if (native) return native.call(globalThis.PublicKeyCredential, json);
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(descriptorFromJSON),
  };
}

/** The `publicKey` of `navigator.credentials.get` from its JSON form; see `creationOptionsFromJSON`. */
export function requestOptionsFromJSON(json) {
  const native = globalThis.PublicKeyCredential?.parseRequestOptionsFromJSON;
  if (native) return native.call(globalThis.PublicKeyCredential, json);
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials ?? []).map(descriptorFromJSON),
  };
}

/**
 * A `PublicKeyCredential` (from `create` or `get`) in the JSON form the finish mutations take:
 * its own `toJSON()` where it has one, else built here with base64url fields.
 */
export function credentialToJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const response = credential.response;
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    response: { clientDataJSON: toBase64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = toBase64url(response.attestationObject);
    json.response.transports = response.getTransports?.() ?? [];
  } else {
    json.response.authenticatorData = toBase64url(response.authenticatorData);
    json.response.signature = toBase64url(response.signature);
    if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
  }
  return json;
}

/**
 * `options.publicKey` of a begin payload (`{ publicKey }`, the form `navigator.credentials`
 * takes). `options` is a JSON scalar; it is tolerated arriving as a string.
 */
function publicKeyOf(options) {
  const parsed = typeof options === 'string' ? JSON.parse(options) : options;
  if (!parsed?.publicKey) throw new LatchkeyError('The server sent incomplete passkey options.', 'INTERNAL');
  return parsed.publicKey;
}

/** Runs one `navigator.credentials` call and reports its failure as a `LatchkeyError`. */
async function webauthn(call, signal) {
  let credential;
  try {
    credential = await call();
  } catch (error) {
    // Browsers reject an aborted request with the signal's reason, whatever it is.
    if (signal?.aborted) throw aborted(signal);
    const code = WEBAUTHN_CODES[error?.name] ?? 'WEBAUTHN';
    throw new LatchkeyError(error?.message || `The passkey request failed (${code}).`, code, { cause: error });
  }
  if (!credential) throw new LatchkeyError('No passkey was used.', 'NOT_ALLOWED');
  return credentialToJSON(credential);
}

// ---------------------------------------------------------------------------------------
// Sessions

/** The claims of a JWT, unverified: only for showing who is signed in, never for trust. */
function claimsOf(accessToken) {
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64url(accessToken.split('.')[1])));
  } catch {
    return {};
  }
}

function sessionOf(tokens) {
  if (!tokens) return null;
  const claims = claimsOf(tokens.accessToken);
  return { identityId: claims.sub, sessionId: claims.sid, accessTokenExpiresAt: tokens.expiresAt };
}

/** The stored form of a ceremony's or a refresh's tokens; `expiresAt` is on this client's clock. */
function tokensOf({ accessToken, refreshToken, expiresIn }) {
  return { accessToken, refreshToken, expiresAt: Date.now() + Math.max(0, Number(expiresIn) || 0) * 1000 };
}

/** The input of a typed code: spaces a person may type between the digits are dropped. */
function codeInput(challengeId, code) {
  return { challengeId, code: typeof code === 'string' ? code.replace(/\s+/g, '') : code };
}

/**
 * A typed second factor: a 6-digit code from an authenticator app or a recovery code
 * (`xxxxx-xxxxx`, issued in lower case). Spaces are dropped and letters lowered, so a code
 * read out in groups or typed with caps lock on still matches.
 */
function secondFactorCode(code) {
  return typeof code === 'string' ? code.replace(/\s+/g, '').toLowerCase() : code;
}

// ---------------------------------------------------------------------------------------
// The client

/**
 * A client of one tenant. Create one per tenant and storage, and share it: it is what makes
 * concurrent refreshes share one request.
 */
export class Latchkey {
  #fetch;
  #credentials;
  #storage;
  #refreshLock;
  #listeners = new Set();
  /** The refresh in flight, shared by every caller that needs fresh tokens meanwhile. */
  #refreshing = null;
  /** The autofill request in flight, `{ controller, settled }`, until a passkey is picked. */
  #autofill = null;
  /** Counts the ceremonies started: an autofill request still getting ready yields to a newer one. */
  #started = 0;

  /**
   * @param {object} options `issuer` (`{public URL}/t/{slug}`, the access tokens' `iss`), or
   *   `baseUrl` (the server's public URL; `''` for the page's own origin) and `tenant` (the
   *   slug); `fetch`; `credentials` (default `navigator.credentials`); `storage` (default
   *   `memoryTokens()`).
   */
  constructor({ issuer, baseUrl, tenant, fetch, credentials, storage } = {}) {
    let root;
    let slug;
    if (issuer !== undefined) {
      root = String(issuer).replace(/\/+$/, '');
      slug = /\/t\/([^/]+)$/.exec(root)?.[1];
      if (!slug) throw new TypeError(`issuer ${JSON.stringify(issuer)} is not {public URL}/t/{slug}`);
    } else if (typeof baseUrl === 'string' && typeof tenant === 'string' && tenant) {
      slug = encodeURIComponent(tenant);
      root = `${baseUrl.replace(/\/+$/, '')}/t/${slug}`;
    } else {
      throw new TypeError('new Latchkey() needs an issuer, or a baseUrl and a tenant');
    }
    /** The tenant GraphQL endpoint this client calls. */
    this.endpoint = `${root}/graphql`;
    // One lock name per tenant, whatever the client: the hosted pages (built on this module)
    // and an app's own copy of it, sharing `latchkey.{slug}.tokens`, must never exchange the
    // same stored refresh token at once.
    this.#refreshLock = `latchkey.${slug}.refresh`;
    // A bare `window.fetch` called as a method of another object throws "Illegal invocation".
    this.#fetch = fetch ?? ((...args) => globalThis.fetch(...args));
    this.#credentials = credentials ?? null;
    this.#storage = storage ?? memoryTokens();
  }

  // -------------------------------------------------------------------------------------
  // GraphQL

  /** One POST to the tenant API; answers `data` or throws the first error as a `LatchkeyError`. */
  async #post(query, variables, { accessToken, signal } = {}) {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (accessToken) headers.authorization = `Bearer ${accessToken}`;
    let response;
    try {
      response = await this.#fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
        signal,
        // The bearer token is the credential; the server's cookies have no business here.
        credentials: 'omit',
      });
    } catch (error) {
      if (signal?.aborted) throw aborted(signal);
      throw new LatchkeyError(`Latchkey could not be reached at ${this.endpoint}.`, 'NETWORK', { cause: error });
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      if (signal?.aborted) throw aborted(signal);
      // A proxy's HTML error page or an empty body: described from the status below.
    }
    const error = body?.errors?.[0];
    if (error) {
      const extensions = error.extensions ?? {};
      throw new LatchkeyError(error.message, extensions.code ?? 'INTERNAL', {
        retryAfter: extensions.retryAfter,
        field: extensions.field,
      });
    }
    if (response.status === 401) throw new LatchkeyError('The credential was refused.', 'UNAUTHENTICATED');
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after')) || undefined;
      throw new LatchkeyError('Too many requests.', 'RATE_LIMITED', { retryAfter });
    }
    if (!response.ok || !body?.data) {
      throw new LatchkeyError(`The server answered ${response.status} without data.`, 'INTERNAL');
    }
    return body.data;
  }

  /**
   * Runs a query or mutation as the signed-in person, with a fresh access token. A token the
   * server refuses is refreshed once and the request sent again (a refused token means the
   * request did nothing). Throws `UNAUTHENTICATED` when nobody is signed in or the session has
   * ended; the tokens are then forgotten.
   */
  async graphql(query, variables = {}, { signal } = {}) {
    let [tokens, refreshed] = await this.#freshTokens();
    if (!tokens) throw new LatchkeyError('Nobody is signed in.', 'UNAUTHENTICATED');
    try {
      return await this.#post(query, variables, { accessToken: tokens.accessToken, signal });
    } catch (error) {
      if (refreshed || error.code !== 'UNAUTHENTICATED') throw error;
      tokens = await this.#refresh(tokens);
      return this.#post(query, variables, { accessToken: tokens.accessToken, signal });
    }
  }

  // -------------------------------------------------------------------------------------
  // Tokens and the session

  /** The stored tokens, refreshed first when the access token is expired or about to be. */
  async #freshTokens() {
    const tokens = await this.#storage.load();
    if (!tokens) return [null, false];
    if (tokens.accessToken && tokens.expiresAt - REFRESH_MARGIN_MS > Date.now()) return [tokens, false];
    return [await this.#refresh(tokens), true];
  }

  /**
   * Swaps `stale`'s refresh token for new tokens. The server rotates refresh tokens and ends
   * the whole session when a spent one comes back, so exactly one exchange may run per token:
   * callers in this client share one promise, and clients in other tabs sharing the storage
   * take turns under a Web Lock (where there is one) and, on their turn, find that the stored
   * refresh token is no longer the stale one and use the new tokens instead.
   */
  #refresh(stale) {
    this.#refreshing ??= this.#exclusively(async () => {
      const current = await this.#storage.load();
      if (!current) throw new LatchkeyError('Nobody is signed in.', 'UNAUTHENTICATED');
      if (current.refreshToken !== stale.refreshToken) return current;
      let data;
      try {
        data = await this.#post(REFRESH_SESSION, { input: { refreshToken: current.refreshToken } });
      } catch (error) {
        // A network failure or a rate limit leaves the session as it was: keep the tokens.
        if (!SESSION_OVER.has(error.code)) throw error;
        await this.#setTokens(null);
        throw new LatchkeyError('The session has ended; sign in again.', 'UNAUTHENTICATED', { cause: error });
      }
      return this.#setTokens(tokensOf(data.refreshSession));
    }).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  #exclusively(run) {
    const locks = globalThis.navigator?.locks;
    return locks ? locks.request(this.#refreshLock, run) : run();
  }

  async #setTokens(tokens) {
    await this.#storage.save(tokens);
    const session = sessionOf(tokens);
    for (const listener of this.#listeners) callBack(listener, session);
    return tokens;
  }

  /**
   * A valid access token for `Authorization: Bearer` (refreshed first when it has expired or
   * expires within 30 s), or null when nobody is signed in. Throws `UNAUTHENTICATED` when the
   * refresh shows the session has ended, `NETWORK` when it could not be tried.
   */
  async getAccessToken() {
    const [tokens] = await this.#freshTokens();
    return tokens?.accessToken ?? null;
  }

  /** Exchanges the refresh token now, whatever the access token's age; answers the session. */
  async refresh() {
    const tokens = await this.#storage.load();
    if (!tokens) throw new LatchkeyError('Nobody is signed in.', 'UNAUTHENTICATED');
    return sessionOf(await this.#refresh(tokens));
  }

  /**
   * Who is signed in, from the stored tokens, without a request: `{ identityId, sessionId,
   * accessTokenExpiresAt }` (the ids are the access token's `sub` and `sid` claims), or null.
   */
  async getSession() {
    return sessionOf(await this.#storage.load());
  }

  /**
   * Calls `listener(session)` whenever this client signs in, refreshes, signs out or finds the
   * session ended (`null`). Changes made by other tabs are not reported. Returns a function
   * that stops the calls.
   */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Ends this session (with `everywhere`, every session of the person) and forgets the tokens.
   * The tokens are forgotten even when the server cannot be told, in which case the error is
   * thrown; a session that had already ended is not an error.
   */
  async signOut({ everywhere = false } = {}) {
    if (!(await this.#storage.load())) return;
    try {
      await this.graphql(SIGN_OUT, { input: { everywhere } });
    } catch (error) {
      if (error.code !== 'UNAUTHENTICATED') throw error;
    } finally {
      await this.#setTokens(null);
    }
  }

  // -------------------------------------------------------------------------------------
  // Email proofs

  /**
   * Emails a one-time code for `email` (and a link to the hosted page that carries it) and
   * answers `{ challengeId, expiresIn }`. `purpose` is `SIGN_UP`, `SIGN_IN`, `RECOVERY`,
   * `EMAIL_CHANGE` or `VERIFY_ADDRESS`. Anonymous. The answer is the same whether or not the
   * address has an account, so the app cannot tell either (and should not say). Asking again
   * for the same address and purpose sends a new code for the same challenge; the old code
   * stops working.
   */
  async startEmailVerification({ email, purpose, signal } = {}) {
    const data = await this.#post(START_EMAIL_VERIFICATION, { input: { email, purpose } }, { signal });
    return data.startEmailVerification;
  }

  /**
   * Exchanges the emailed code for an email proof: `{ emailProof, expiresIn, purpose, email }`.
   * The proof is what `signUp`, `recover` and `requestAccountRecovery` take. A wrong code is
   * `BAD_USER_INPUT` with `field: 'code'` (the message says how many tries are left); an
   * unknown, expired or used challenge is `BAD_USER_INPUT` with `field: 'challengeId'`: start
   * again. After five wrong codes the challenge is dead (`FORBIDDEN`), and a new code for that
   * address and purpose waits until it expires (`RATE_LIMITED`).
   */
  async completeEmailVerification({ challengeId, code, signal } = {}) {
    const data = await this.#post(COMPLETE_EMAIL_VERIFICATION, { input: codeInput(challengeId, code) }, { signal });
    return data.completeEmailVerification;
  }

  /**
   * Signs in with the code of a `SIGN_IN` challenge (`startEmailVerification({ email, purpose:
   * 'SIGN_IN' })`), in one step, and stores the tokens like `signIn`, replacing any stored
   * session; a waiting autofill request is withdrawn first. A wrong code, and any code for an
   * address without an account, are the same `BAD_USER_INPUT` with `field: 'code'`; a challenge
   * of another purpose, or unknown, expired or used, `field: 'challengeId'`. `FORBIDDEN` where
   * the tenant does not allow `EMAIL_CODE` (or after five wrong codes).
   */
  async signInWithEmailCode({ challengeId, code, signal } = {}) {
    await this.#startCeremony();
    const data = await this.#post(SIGN_IN_WITH_EMAIL_CODE, { input: codeInput(challengeId, code) }, { signal });
    return this.#completeSignIn(data.signInWithEmailCode);
  }

  // -------------------------------------------------------------------------------------
  // Passwords and authenticator apps (TOTP)

  /**
   * Creates an account with a password, for the address of `emailProof` (from
   * `completeEmailVerification` with purpose `SIGN_UP`), and signs it in like `signUp` (tokens
   * stored, any stored session replaced, a waiting autofill request withdrawn first). Only where
   * the tenant's `signInMethods` has `PASSWORD`. A password the server's rules refuse is
   * `BAD_USER_INPUT` with `field: 'password'` and a message that says why (too short, too
   * common, found in breaches, or containing the email address or name).
   */
  async signUpWithPassword({ emailProof, password, displayName, signal } = {}) {
    await this.#startCeremony();
    const data = await this.#post(SIGN_UP_WITH_PASSWORD, { emailProof, password, displayName }, { signal });
    return this.#completeSignIn(data.signUpWithPassword);
  }

  /**
   * Signs in with an email address and a password. Without an authenticator app enrolled, the
   * answer is a sign-in like `signIn`'s (tokens stored) with `secondFactorRequired: false`.
   * With one, nothing is stored yet and the answer is `{ secondFactorRequired: true,
   * secondFactorToken }`: pass the token and the person's code to `completeSecondFactor`
   * (within 5 minutes, 5 tries). A wrong address and a wrong password are the same
   * `FORBIDDEN`; too many tries are `RATE_LIMITED`.
   */
  async signInWithPassword({ email, password, signal } = {}) {
    await this.#startCeremony();
    const data = await this.#post(SIGN_IN_WITH_PASSWORD, { email, password }, { signal });
    const payload = data.signInWithPassword;
    if (payload.secondFactorRequired) {
      return { secondFactorRequired: true, secondFactorToken: payload.secondFactorToken };
    }
    return { ...(await this.#completeSignIn(payload)), secondFactorRequired: false };
  }

  /**
   * The second step of a password sign-in that asked for one: `code` is the 6-digit code of
   * the person's authenticator app or one of their recovery codes (each works once). Spaces
   * are dropped and letters lowered. Signs in like `signIn` (tokens stored).
   */
  async completeSecondFactor({ secondFactorToken, code, signal } = {}) {
    await this.#startCeremony();
    const variables = { secondFactorToken, code: secondFactorCode(code) };
    const data = await this.#post(COMPLETE_SECOND_FACTOR, variables, { signal });
    return this.#completeSignIn(data.completeSecondFactor);
  }

  /**
   * As the signed-in person: changes their password (`currentPassword` required when they
   * have one) or, without one yet, sets their first. With `signOutOtherSessions`, their other
   * sessions end. Answers the identity (`{ id, email, displayName, hasPassword, totpEnrolled }`).
   * The person gets a notice by email.
   */
  async changePassword({ currentPassword, newPassword, signOutOtherSessions = false, signal } = {}) {
    const variables = { currentPassword, newPassword, signOutOtherSessions };
    const data = await this.graphql(CHANGE_PASSWORD, variables, { signal });
    return data.changePassword.identity;
  }

  /**
   * Sets a new password for the account of `emailProof` (purpose `RECOVERY`); with
   * `signOutEverywhere` (the default) every session of the account ends. Does not sign in: the
   * person then signs in with the new password. Answers the identity (`{ id, email,
   * displayName }`: the caller is anonymous, and `hasPassword` is for the signed-in person).
   */
  async resetPassword({ emailProof, newPassword, signOutEverywhere = true, signal } = {}) {
    const variables = { emailProof, newPassword, signOutEverywhere };
    const data = await this.#post(RESET_PASSWORD, variables, { signal });
    return data.resetPassword.identity;
  }

  /**
   * As the signed-in person, who has a password: starts adding an authenticator app. Answers
   * `{ secret, otpauthUri }`, the base32 secret to type into the app and the `otpauth://totp/…`
   * URI that apps read (from a link, or a QR code of it). Nothing changes until
   * `finishTotpEnrollment` confirms a code from the app.
   */
  async beginTotpEnrollment({ signal } = {}) {
    const data = await this.graphql(BEGIN_TOTP_ENROLLMENT, {}, { signal });
    return data.beginTotpEnrollment;
  }

  /**
   * Confirms the app with a code it shows, which turns the second factor on. Answers `{
   * recoveryCodes }`: ten single-use codes, shown to the person this once.
   */
  async finishTotpEnrollment({ code, signal } = {}) {
    const data = await this.graphql(FINISH_TOTP_ENROLLMENT, { code: secondFactorCode(code) }, { signal });
    return data.finishTotpEnrollment;
  }

  /** As the signed-in person: removes their authenticator app and recovery codes. Answers the identity. */
  async removeTotp({ signal } = {}) {
    const data = await this.graphql(REMOVE_TOTP, {}, { signal });
    return data.removeTotp.identity;
  }

  // -------------------------------------------------------------------------------------
  // The signed-in person's profile, address and consents

  /**
   * As the signed-in person: changes their own profile. Only the options given change; `null`
   * clears one (`displayName`, `phone` in E.164, `locale` a BCP 47 tag). `attributes` holds
   * only the custom attributes to change (`null` removes one), each one the tenant's
   * `attributeSchema` marks `userEditable`, with a value of its kind. A refused value is
   * `BAD_USER_INPUT` with `field` naming it (`phone`, `attributes.tier`) and nothing is saved.
   * Answers the identity (`{ id, email, emailVerified, displayName, phone, locale, attributes,
   * consents }`).
   */
  async updateViewerProfile({ displayName, phone, locale, attributes, signal } = {}) {
    const data = await this.graphql(UPDATE_VIEWER_PROFILE, { input: { displayName, phone, locale, attributes } }, { signal });
    return data.updateViewerProfile.identity;
  }

  /**
   * As the signed-in person: moves their account to the address of `emailProof` (from
   * `startEmailVerification({ email, purpose: 'EMAIL_CHANGE' })` and
   * `completeEmailVerification`). The old address gets a notice with a link to undo it for 7
   * days (`undoEmailChange`). A proof for the current address or one another account uses is
   * `BAD_USER_INPUT` with `field: 'emailProof'`. Answers the identity, as `updateViewerProfile`.
   */
  async changeViewerEmail({ emailProof, signal } = {}) {
    const data = await this.graphql(CHANGE_VIEWER_EMAIL, { input: { emailProof } }, { signal });
    return data.changeViewerEmail.identity;
  }

  /**
   * The undo link of an email change (`?undo_email_change=<token>` on the hosted sign-in page):
   * moves the account back to its old address and ends every session of the account.
   * Anonymous; the stored tokens are not touched (when they were that account's, the next call
   * finds the session ended). A token that is unknown, expired or used is `BAD_USER_INPUT` with
   * `field: 'token'`. Answers true.
   */
  async undoEmailChange({ token, signal } = {}) {
    const data = await this.#post(UNDO_EMAIL_CHANGE, { input: { token } }, { signal });
    return data.undoEmailChange;
  }

  /**
   * As the signed-in person: grants (`granted: true`) or withdraws consent for `purpose`, a key
   * of the tenant's `consentPurposes`, at its current version. An unknown purpose is
   * `BAD_USER_INPUT` with `field: 'purpose'`. Answers the identity, whose `consents` hold the
   * current decision of each purpose (`{ purpose, granted, version, decidedAt }`).
   */
  async setViewerConsent({ purpose, granted, signal } = {}) {
    const data = await this.graphql(SET_VIEWER_CONSENT, { input: { purpose, granted } }, { signal });
    return data.setViewerConsent.identity;
  }

  // -------------------------------------------------------------------------------------
  // Passkey ceremonies

  #container() {
    return this.#credentials ?? globalThis.navigator?.credentials ?? null;
  }

  #requireContainer() {
    const container = this.#container();
    if (!container) throw new LatchkeyError('Passkeys are not supported here.', 'NOT_SUPPORTED');
    return container;
  }

  /**
   * Whether passkeys can be offered in the autofill of a field with `autocomplete="username
   * webauthn"`: the `credentials` object's own `isConditionalMediationAvailable()` if it has
   * one, else the browser's `PublicKeyCredential.isConditionalMediationAvailable()`.
   */
  async isConditionalMediationAvailable() {
    const container = this.#container();
    if (!container) return false;
    try {
      if (typeof container.isConditionalMediationAvailable === 'function') {
        return (await container.isConditionalMediationAvailable()) === true;
      }
      return (await globalThis.PublicKeyCredential?.isConditionalMediationAvailable?.()) === true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the autofill request, if one is waiting, and waits until the browser has let go of
   * it: a browser runs one WebAuthn request at a time and refuses a second.
   */
  async #stopAutofill() {
    const running = this.#autofill;
    if (!running) return;
    this.#autofill = null;
    running.controller.abort();
    await running.settled;
  }

  /** Every ceremony but autofill starts here: a waiting autofill request is withdrawn first. */
  async #startCeremony() {
    this.#started += 1;
    await this.#stopAutofill();
  }

  /**
   * begin → `navigator.credentials.create` → finish: anonymous for a sign-up, a recovery or a
   * registration link, as the signed-in person (`authenticated`) to add a passkey to their
   * account.
   */
  async #register(input, passkeyName, { signal, onCredential, authenticated }) {
    const container = this.#requireContainer();
    await this.#startCeremony();
    const call = (query, variables) =>
      authenticated ? this.graphql(query, variables, { signal }) : this.#post(query, variables, { signal });
    const { ceremonyId, options } = (await call(BEGIN_REGISTRATION, { input })).beginPasskeyRegistration;
    const publicKey = creationOptionsFromJSON(publicKeyOf(options));
    const credential = await webauthn(() => container.create({ publicKey, signal }), signal);
    if (onCredential) callBack(onCredential);
    const finished = await call(FINISH_REGISTRATION, { input: { ceremonyId, credential, passkeyName } });
    return finished.finishPasskeyRegistration;
  }

  /** beginPasskeySignIn → `navigator.credentials.get`: the ceremony and the picked passkey. */
  async #pickPasskey(input, { mediation, signal, onCredential }) {
    const container = this.#requireContainer();
    const begun = await this.#post(BEGIN_SIGN_IN, { input }, { signal });
    const { ceremonyId, options } = begun.beginPasskeySignIn;
    const publicKey = requestOptionsFromJSON(publicKeyOf(options));
    const request = mediation ? { publicKey, mediation, signal } : { publicKey, signal };
    const credential = await webauthn(() => container.get(request), signal);
    if (onCredential) callBack(onCredential);
    return { ceremonyId, credential };
  }

  /** Stores a ceremony's tokens and answers what the app needs to know. */
  async #completeSignIn(payload) {
    const tokens = await this.#setTokens(tokensOf(payload));
    return {
      identity: payload.identity,
      passkey: payload.passkey ?? null,
      session: sessionOf(tokens),
      accessToken: tokens.accessToken,
    };
  }

  async #finishSignIn(ceremonyId, credential, signal) {
    const finished = await this.#post(FINISH_SIGN_IN, { input: { ceremonyId, credential } }, { signal });
    return this.#completeSignIn(finished.finishPasskeySignIn);
  }

  /**
   * Creates an account and its first passkey, and signs it in. The address is proven with
   * `emailProof` (from `completeEmailVerification` with purpose `SIGN_UP`); a tenant that does
   * not require verified addresses also takes a bare `email`. With `registrationToken` (from
   * a registration link) it registers a new passkey to that link's account instead, and signs
   * it in. Replaces any stored session. Every ceremony calls `onCredential()`, when given, once
   * the authenticator has answered and before the server checks the answer.
   */
  async signUp({ email, emailProof, displayName, passkeyName, registrationToken, signal, onCredential } = {}) {
    const input = { email, emailProof, displayName, registrationToken };
    const payload = await this.#register(input, passkeyName, { signal, onCredential, authenticated: false });
    return this.#completeSignIn(payload);
  }

  /**
   * Account recovery: registers a new passkey to the account of `emailProof` (purpose
   * `RECOVERY`) and signs it in; with `signOutEverywhere`, the account's other sessions end.
   * Refused when the tenant wants recoveries approved: see `requestAccountRecovery`.
   */
  async recover({ emailProof, signOutEverywhere = false, passkeyName, signal, onCredential } = {}) {
    const input = { emailProof, signOutEverywhere };
    const payload = await this.#register(input, passkeyName, { signal, onCredential, authenticated: false });
    return this.#completeSignIn(payload);
  }

  /**
   * For a tenant whose recoveries an administrator approves: files the request of the account
   * of `emailProof` (purpose `RECOVERY`) and answers it, `{ id, status: 'PENDING', createdAt }`.
   * Once approved, the person receives an email with a registration link
   * (`signUp({ registrationToken })`).
   */
  async requestAccountRecovery({ emailProof, signal } = {}) {
    const data = await this.#post(REQUEST_ACCOUNT_RECOVERY, { input: { emailProof } }, { signal });
    return data.requestAccountRecovery.request;
  }

  /** Adds a passkey to the signed-in person's account; answers it (`{ id, name }`). */
  async addPasskey({ passkeyName, signal, onCredential } = {}) {
    const payload = await this.#register({}, passkeyName, { signal, onCredential, authenticated: true });
    return payload.passkey;
  }

  /**
   * Signs in with a passkey. With `email`, the browser offers only that account's passkeys;
   * without it, any passkey of this site (a discoverable, "usernameless" request).
   */
  async signIn({ email, signal, onCredential } = {}) {
    await this.#startCeremony();
    const { ceremonyId, credential } = await this.#pickPasskey(email ? { email } : {}, { signal, onCredential });
    return this.#finishSignIn(ceremonyId, credential, signal);
  }

  /**
   * Offers the site's passkeys in the autofill of the page's `autocomplete="username webauthn"`
   * field (conditional mediation) and signs in with the one the person picks. The returned
   * promise waits until then. It rejects with `ABORTED` when `signal` aborts, or when this
   * client starts another ceremony (`signIn`, `signUp`, `recover`, `addPasskey`, another
   * autofill), which aborts the waiting request first so it never blocks the browser. Once a
   * passkey is picked (`onCredential()` tells when), the sign-in completes regardless.
   * `NOT_SUPPORTED` where autofill is not available.
   */
  async signInWithAutofill({ signal, onCredential } = {}) {
    const turn = ++this.#started;
    if (!(await this.isConditionalMediationAvailable())) {
      throw new LatchkeyError('Passkey autofill is not available here.', 'NOT_SUPPORTED');
    }
    // One autofill request at a time: a newer one replaces the one waiting.
    await this.#stopAutofill();
    // Another ceremony started while this one got ready: it goes first, and this one not at all.
    if (turn !== this.#started) throw new LatchkeyError('Another ceremony took over.', 'ABORTED');
    if (signal?.aborted) throw aborted(signal);
    const controller = new AbortController();
    const forward = () => controller.abort(signal.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const picking = this.#pickPasskey({}, { mediation: 'conditional', signal: controller.signal, onCredential });
    const running = { controller, settled: picking.then(() => {}, () => {}) };
    this.#autofill = running;
    let picked;
    try {
      picked = await picking;
    } finally {
      signal?.removeEventListener('abort', forward);
      if (this.#autofill === running) this.#autofill = null;
    }
    return this.#finishSignIn(picked.ceremonyId, picked.credential);
  }
}
