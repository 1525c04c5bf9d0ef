// Shared code for the hosted pages of one tenant (served at /t/{slug}/): tenant
// configuration, a small GraphQL client that keeps the session's tokens fresh, WebAuthn
// helpers, and error messages a person can act on. Plain ES module, no build step.

/** The tenant's slug, from `/t/{slug}/…`. */
export const slug = location.pathname.split('/')[2] ?? '';

/** `/t/{slug}/`, the base every page, asset and API path hangs from. */
export const base = `/t/${slug}/`;

const tokenKey = `latchkey.${slug}.tokens`;
const flashKey = `latchkey.${slug}.flash`;

// ---------------------------------------------------------------------------------------
// Tenant configuration and page chrome

/**
 * Loads `config.json` and applies the tenant's name and colour to the page: the `h1` with
 * `data-tenant-name`, the document title (`{page} · {name}`) and the `--brand` property.
 */
export async function loadConfig(pageTitle) {
  const response = await fetch(`${base}config.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = await response.json();
  for (const element of document.querySelectorAll('[data-tenant-name]')) {
    element.textContent = config.name;
  }
  document.title = pageTitle ? `${pageTitle} · ${config.name}` : config.name;
  if (typeof config.primaryColor === 'string' && /^#[0-9a-f]{3,8}$/i.test(config.primaryColor)) {
    document.documentElement.style.setProperty('--brand', config.primaryColor);
  }
  return config;
}

// ---------------------------------------------------------------------------------------
// Status region

let statusRegion = null;

/**
 * Shows a message in the page's `#status` live region. `kind` is `info`, `success` or
 * `error`; an empty message clears the region.
 */
export function showStatus(message, kind = 'info') {
  statusRegion ??= document.getElementById('status');
  if (!statusRegion) return;
  statusRegion.dataset.kind = message ? kind : '';
  statusRegion.textContent = message ?? '';
}

/** Shows an error's message (see `describeError`) unless it is a deliberate abort. */
export function showError(error, context) {
  const message = describeError(error, context);
  if (message) showStatus(message, 'error');
  else showStatus('');
}

/** Keeps a message for the next page of this tenant (shown once by `showFlash`). */
export function setFlash(message, kind = 'info') {
  try {
    sessionStorage.setItem(flashKey, JSON.stringify({ message, kind }));
  } catch {
    // Storage can be unavailable (private modes, quotas); a lost notice is not worth failing for.
  }
}

/** Shows and forgets the message left by `setFlash`, if any. */
export function showFlash() {
  try {
    const raw = sessionStorage.getItem(flashKey);
    if (!raw) return;
    sessionStorage.removeItem(flashKey);
    const { message, kind } = JSON.parse(raw);
    showStatus(message, kind);
  } catch {
    // See setFlash.
  }
}

// ---------------------------------------------------------------------------------------
// Tokens

/** The stored tokens of this tenant's session: `{ accessToken, refreshToken, expiresAt }`. */
export function loadTokens() {
  try {
    const tokens = JSON.parse(localStorage.getItem(tokenKey) ?? 'null');
    return tokens && typeof tokens.refreshToken === 'string' ? tokens : null;
  } catch {
    return null;
  }
}

/** Stores the tokens of a sign-in or refresh payload (`accessToken`, `refreshToken`, `expiresIn`). */
export function saveTokens({ accessToken, refreshToken, expiresIn }) {
  const expiresAt = Date.now() + Math.max(0, Number(expiresIn) || 0) * 1000;
  localStorage.setItem(tokenKey, JSON.stringify({ accessToken, refreshToken, expiresAt }));
}

export function clearTokens() {
  localStorage.removeItem(tokenKey);
}

// ---------------------------------------------------------------------------------------
// GraphQL

/** An error from the API: `code` is `extensions.code`, `retryAfter` is in seconds. */
export class ApiError extends Error {
  constructor(message, code, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function post(query, variables, { accessToken, signal } = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(`${base}graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      signal,
      credentials: 'omit',
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError('The server could not be reached. Check your connection and try again.', 'NETWORK');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: described from the status below.
  }
  const error = body?.errors?.[0];
  if (error) {
    const extensions = error.extensions ?? {};
    throw new ApiError(error.message, extensions.code ?? 'INTERNAL', extensions.retryAfter);
  }
  if (response.status === 401) throw new ApiError('Your session has ended.', 'UNAUTHENTICATED');
  if (response.status === 429) {
    const retryAfter = Number(response.headers.get('retry-after')) || undefined;
    throw new ApiError('Too many requests.', 'RATE_LIMITED', retryAfter);
  }
  if (!response.ok || !body || !body.data) {
    throw new ApiError(`The server answered ${response.status}.`, 'INTERNAL');
  }
  return body.data;
}

/** Runs an operation without credentials (sign-up and sign-in ceremonies). */
export function anonymous(query, variables, { signal } = {}) {
  return post(query, variables, { signal });
}

const REFRESH = `mutation Refresh($input: RefreshSessionInput!) {
  refreshSession(input: $input) { accessToken refreshToken expiresIn session { id } }
}`;

const SESSION_OVER = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

let refreshInFlight = null;

/**
 * Swaps the stored refresh token for new tokens. Refresh tokens rotate and presenting a
 * rotated one revokes the whole session, so one refresh runs at a time: within this page
 * (a shared promise) and across this tenant's tabs (a Web Lock, where available). Whoever
 * gets the lock second sees that the stored token changed and uses the new tokens.
 */
function refreshTokens(staleRefreshToken) {
  refreshInFlight ??= (async () => {
    const run = async () => {
      const current = loadTokens();
      if (!current) throw new ApiError('You are not signed in.', 'UNAUTHENTICATED');
      if (current.refreshToken !== staleRefreshToken) return current;
      let data;
      try {
        data = await post(REFRESH, { input: { refreshToken: current.refreshToken } });
      } catch (error) {
        // However the server words a refused refresh token, the session is over.
        if (error instanceof ApiError && SESSION_OVER.has(error.code)) {
          throw new ApiError(error.message, 'UNAUTHENTICATED');
        }
        throw error;
      }
      saveTokens(data.refreshSession);
      return loadTokens();
    };
    return navigator.locks ? navigator.locks.request(`latchkey.${slug}.refresh`, run) : run();
  })().finally(() => {
    refreshInFlight = null;
  });
  return refreshInFlight;
}

/** Ends this page's session locally and goes to the sign-in page with a notice. */
export function signedOutRedirect(message = 'Your session has ended. Please sign in again.') {
  clearTokens();
  setFlash(message, 'info');
  location.assign(base);
}

/**
 * Runs an operation as the signed-in user. A token that has expired (or that the server
 * calls UNAUTHENTICATED) is refreshed once; when that fails too, the stored tokens are
 * cleared and the browser goes to the sign-in page. The returned promise then never settles.
 */
export async function authenticated(query, variables, { signal } = {}) {
  let tokens = loadTokens();
  if (!tokens) {
    signedOutRedirect('Please sign in.');
    return new Promise(() => {});
  }
  let refreshed = false;
  try {
    // A few seconds early, so a token does not expire between here and the server.
    if (!tokens.accessToken || tokens.expiresAt - 5000 <= Date.now()) {
      tokens = await refreshTokens(tokens.refreshToken);
      refreshed = true;
    }
    try {
      return await post(query, variables, { accessToken: tokens.accessToken, signal });
    } catch (error) {
      if (refreshed || !(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
      tokens = await refreshTokens(tokens.refreshToken);
      return await post(query, variables, { accessToken: tokens.accessToken, signal });
    }
  } catch (error) {
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
      signedOutRedirect();
      return new Promise(() => {});
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// WebAuthn

/** Whether this browser has WebAuthn at all. */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

/**
 * Whether the browser can offer passkeys in the autofill of a field with
 * `autocomplete="… webauthn"` (conditional mediation).
 */
export async function conditionalMediationAvailable() {
  try {
    return passkeysSupported() && (await PublicKeyCredential.isConditionalMediationAvailable?.()) === true;
  } catch {
    return false;
  }
}

// The `options` field of a begin payload is a JSON scalar; tolerate it arriving as a string.
function publicKeyOf(options) {
  const parsed = typeof options === 'string' ? JSON.parse(options) : options;
  if (!parsed?.publicKey) throw new ApiError('The server sent incomplete passkey options.', 'INTERNAL');
  return parsed.publicKey;
}

/** Runs `navigator.credentials.create` for a begin-registration `options` and returns its JSON. */
export async function createCredential(options, { signal } = {}) {
  const json = publicKeyOf(options);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON
    ? PublicKeyCredential.parseCreationOptionsFromJSON(json)
    : creationOptionsFromJSON(json);
  const credential = await navigator.credentials.create({ publicKey, signal });
  if (!credential) throw new DOMException('No passkey was created.', 'NotAllowedError');
  return credentialToJSON(credential);
}

/**
 * Runs `navigator.credentials.get` for a begin-sign-in `options` and returns its JSON.
 * `mediation: 'conditional'` offers the passkeys in the autofill of the username field.
 */
export async function getCredential(options, { mediation, signal } = {}) {
  const json = publicKeyOf(options);
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON
    ? PublicKeyCredential.parseRequestOptionsFromJSON(json)
    : requestOptionsFromJSON(json);
  const request = { publicKey, signal };
  if (mediation) request.mediation = mediation;
  const credential = await navigator.credentials.get(request);
  if (!credential) throw new DOMException('No passkey was used.', 'NotAllowedError');
  return credentialToJSON(credential);
}

// Fallbacks for browsers without the JSON helpers of WebAuthn level 3 (before Chrome 129,
// Safari 18.4, Firefox 119).

function fromBase64url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptorFromJSON = (descriptor) => ({ ...descriptor, id: fromBase64url(descriptor.id) });

function creationOptionsFromJSON(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(descriptorFromJSON),
  };
}

function requestOptionsFromJSON(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials ?? []).map(descriptorFromJSON),
  };
}

function credentialToJSON(credential) {
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

// ---------------------------------------------------------------------------------------
// Errors

/** Whether an error is a ceremony we stopped ourselves (no message is due). */
export function isAbort(error) {
  return error?.name === 'AbortError';
}

function seconds(n) {
  const value = Math.max(1, Math.ceil(Number(n) || 1));
  return `${value} second${value === 1 ? '' : 's'}`;
}

/**
 * A sentence for a person about what went wrong, or `''` for a deliberate abort.
 * `context` is `signin`, `signup` or `add-passkey`.
 */
export function describeError(error, context = 'signin') {
  if (isAbort(error)) return '';
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'RATE_LIMITED':
        return error.retryAfter
          ? `Too many attempts. Please try again in ${seconds(error.retryAfter)}.`
          : 'Too many attempts. Please wait a little and try again.';
      case 'UNAUTHENTICATED':
        return 'Your session has ended. Please sign in again.';
      case 'INTERNAL':
        return error.message && !/^internal/i.test(error.message)
          ? error.message
          : 'Something went wrong on our side. Please try again.';
      default:
        return error.message;
    }
  }
  switch (error?.name) {
    case 'NotAllowedError':
      return context === 'signin'
        ? 'No passkey was used: the request was cancelled or timed out, or this device has no passkey for this site.'
        : 'The passkey was not created: the request was cancelled, timed out, or was not allowed.';
    case 'InvalidStateError':
      return context === 'add-passkey'
        ? 'This device or security key already holds a passkey for your account.'
        : 'This device already holds a passkey for this account. Sign in with it instead.';
    case 'SecurityError':
      return 'Passkeys cannot be used on this address: it does not match the site the passkeys belong to.';
    case 'NotSupportedError':
      return 'This device does not support the kind of passkey this site asks for.';
    default:
      return error?.message || 'Something went wrong. Please try again.';
  }
}
