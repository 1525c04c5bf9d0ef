// Ready-to-paste configuration of an application for common client libraries, built from the
// tenant's issuer (read from its discovery document, `/t/<slug>/.well-known/openid-configuration`,
// so a deployment behind another public address shows its own) and the client id. The secret
// is never in a snippet: each reads it from an environment variable.

import { h, showError, showStatus } from './ui.js';

/** The tenant's issuer: the discovery document's `issuer`, else `<origin>/t/<slug>`. */
export async function issuerOf(slug) {
  const fallback = `${location.origin}/t/${encodeURIComponent(slug)}`;
  try {
    const response = await fetch(`/t/${encodeURIComponent(slug)}/.well-known/openid-configuration`, { credentials: 'omit', headers: { accept: 'application/json' } });
    if (!response.ok) return fallback;
    const document = await response.json();
    return typeof document.issuer === 'string' && document.issuer ? document.issuer : fallback;
  } catch {
    return fallback;
  }
}

/** The snippets for `application` at `issuer`: `[{ id, label, language, text }]`. */
export function snippetsFor(application, issuer) {
  const clientId = application.clientId;
  const redirect = application.redirectUris[0] ?? 'https://app.example.com/callback';
  const scopes = (application.scopes?.length ? application.scopes : ['openid', 'profile', 'email']).join(' ');
  const confidential = application.confidential;
  const list = [];
  list.push({
    id: 'node',
    label: 'Node.js (openid-client 6)',
    language: 'javascript',
    text: `import * as client from 'openid-client';

const config = await client.discovery(
  new URL('${issuer}'),
  '${clientId}',
  ${confidential ? 'process.env.LATCHKEY_CLIENT_SECRET' : 'undefined'},
);

// Sign-in: send the browser to the authorization URL (PKCE).
const codeVerifier = client.randomPKCECodeVerifier();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: '${redirect}',
  scope: '${scopes}',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
});

// Callback: exchange the code for tokens.
const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
  pkceCodeVerifier: codeVerifier,
});
`,
  });
  list.push({
    id: 'authjs',
    label: 'Auth.js / NextAuth (auth.ts)',
    language: 'typescript',
    text: `import NextAuth from 'next-auth';

export const { handlers, auth, signIn, signOut } = NextAuth({
  providers: [
    {
      id: 'latchkey',
      name: 'Latchkey',
      type: 'oidc',
      issuer: '${issuer}',
      clientId: '${clientId}',
      ${confidential ? 'clientSecret: process.env.LATCHKEY_CLIENT_SECRET,' : "client: { token_endpoint_auth_method: 'none' },"}
      authorization: { params: { scope: '${scopes}' } },
      checks: ['pkce', 'state'],
    },
  ],
});
// Redirect URI to register: <your site>/api/auth/callback/latchkey
`,
  });
  list.push({
    id: 'authlib',
    label: 'Python (Authlib, Flask)',
    language: 'python',
    text: `import os
from authlib.integrations.flask_client import OAuth

oauth = OAuth(app)
oauth.register(
    name="latchkey",
    server_metadata_url="${issuer}/.well-known/openid-configuration",
    client_id="${clientId}",
    ${confidential ? 'client_secret=os.environ["LATCHKEY_CLIENT_SECRET"],' : 'token_endpoint_auth_method="none",'}
    client_kwargs={"scope": "${scopes}", "code_challenge_method": "S256"},
)

@app.route("/login")
def login():
    return oauth.latchkey.authorize_redirect("${redirect}")

@app.route("/callback")
def callback():
    token = oauth.latchkey.authorize_access_token()
    return token["userinfo"]
`,
  });
  list.push({
    id: 'spring',
    label: 'Spring Boot (application.yml)',
    language: 'yaml',
    text: `spring:
  security:
    oauth2:
      client:
        provider:
          latchkey:
            issuer-uri: ${issuer}
        registration:
          latchkey:
            provider: latchkey
            client-id: ${clientId}
${confidential ? '            client-secret: ${LATCHKEY_CLIENT_SECRET}\n            client-authentication-method: client_secret_basic' : '            client-authentication-method: none'}
            authorization-grant-type: ${application.type === 'MACHINE' ? 'client_credentials' : 'authorization_code'}
            scope: ${scopes.split(' ').join(', ')}
            redirect-uri: "{baseUrl}/login/oauth2/code/{registrationId}"
`,
  });
  return list;
}

/** The snippets as tabs-free sections: a heading, the code, and a Copy button each. */
export function snippetSections(application, issuer) {
  return snippetsFor(application, issuer).map((snippet) => {
    const code = h('pre', { id: `snippet-${snippet.id}`, className: 'code', tabindex: '0', 'aria-label': `${snippet.label} configuration` }, h('code', { dataset: { language: snippet.language } }, snippet.text));
    const copy = h('button', { id: `snippet-${snippet.id}-copy`, type: 'button', className: 'button button-small', 'aria-label': `Copy the ${snippet.label} configuration` }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(snippet.text);
        showStatus(`The ${snippet.label} configuration is in the clipboard.`, 'success');
      } catch (error) {
        showError({ message: `The browser refused the clipboard: ${error?.message ?? error}`, code: 'CLIPBOARD' });
      }
    });
    return h('div', { className: 'snippet', dataset: { snippet: snippet.id } }, h('div', { className: 'section-header' }, h('h3', {}, snippet.label), copy), code);
  });
}
