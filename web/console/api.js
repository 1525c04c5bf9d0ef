// The console's HTTP client: the console's own JSON endpoints (`/console/api/…`) and the
// GraphQL APIs (`/t/{slug}/graphql`, `/platform/graphql`), same origin, with the session's
// HttpOnly cookie and its CSRF token in `X-Latchkey-CSRF`; never an Authorization header.
// Every refusal becomes a `ConsoleError` with the server's message, `extensions.code` and,
// for validation errors, `extensions.field`.

/** A refusal or failure: `code` is the server's `extensions.code` (or NETWORK, HTTP_<status>). */
export class ConsoleError extends Error {
  constructor(message, code, { field = null, status = 0, errors = [] } = {}) {
    super(message);
    this.name = 'ConsoleError';
    this.code = code;
    /** The input an error is about (camelCase, such as `email` or `attributes.tier`). */
    this.field = field;
    this.status = status;
    /** Every error of a GraphQL answer, as the server sent them. */
    this.errors = errors;
  }
}

const CODES_BY_STATUS = { 400: 'BAD_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 429: 'RATE_LIMITED' };

/** The CSRF token of the current session, kept in memory only. */
let csrfToken = null;

/** Sets the CSRF token the console sends with every GraphQL request and sign-out. */
export function setCsrfToken(token) {
  csrfToken = token ?? null;
}

/** Called once with the error when the server says the session has ended. */
let sessionEndedHandler = () => {};

/** Registers what happens when a GraphQL request says the session has ended (UNAUTHENTICATED). */
export function onSessionEnded(handler) {
  sessionEndedHandler = handler;
}

function errorFrom(status, body) {
  const first = body?.errors?.[0];
  const extensions = first?.extensions ?? {};
  const code = extensions.code ?? CODES_BY_STATUS[status] ?? `HTTP_${status}`;
  const message = first?.message ?? `The server answered ${status}.`;
  return new ConsoleError(message, code, { field: extensions.field ?? null, status, errors: body?.errors ?? [] });
}

async function send(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new ConsoleError('The server could not be reached. Check the connection and try again.', 'NETWORK', { status: 0, errors: [{ message: String(cause) }] });
  }
  let json = null;
  if (response.status !== 204) {
    const text = await response.text();
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
  }
  return { status: response.status, ok: response.ok, json };
}

/**
 * A request to the console's JSON API (`/console/api/<path>`): answers the parsed body (null
 * for 204) or throws a `ConsoleError`.
 */
export async function consoleApi(path, { method = 'GET', body, csrf = false } = {}) {
  const headers = csrf && csrfToken ? { 'x-latchkey-csrf': csrfToken } : {};
  const { status, ok, json } = await send(`/console/api/${path}`, { method, body, headers });
  if (!ok) throw errorFrom(status, json);
  return json;
}

/** The GraphQL endpoint of tenant `slug`, or of the platform API for `null`. */
export function endpointOf(slug) {
  return slug ? `/t/${encodeURIComponent(slug)}/graphql` : '/platform/graphql';
}

/**
 * One GraphQL request with the session, answered as it came: `{ status, body }` (for the
 * explorer, which shows errors as they are). An answer that says the session has ended also
 * tells the `onSessionEnded` handler.
 */
export async function rawGraphql(endpoint, query, variables, operationName) {
  const payload = { query, variables: variables ?? {} };
  if (operationName) payload.operationName = operationName;
  const headers = csrfToken ? { 'x-latchkey-csrf': csrfToken } : {};
  const { status, json } = await send(endpoint, { method: 'POST', body: payload, headers });
  const ended = status === 401 || !!json?.errors?.some((error) => error?.extensions?.code === 'UNAUTHENTICATED');
  if (ended) sessionEndedHandler(errorFrom(status, json));
  return { status, body: json, ended };
}

/**
 * A GraphQL request with the session: answers `data`, or throws a `ConsoleError` for the
 * first error (its message, code and field). When the session has ended the promise never
 * settles: the sign-in screen has taken over and says why.
 */
export async function graphql(endpoint, query, variables) {
  const { status, body, ended } = await rawGraphql(endpoint, query, variables);
  if (ended) return new Promise(() => {});
  if (body?.errors?.length || status >= 400 || !body?.data) throw errorFrom(status, body);
  return body.data;
}
