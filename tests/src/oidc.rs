//! OpenID Connect helpers: registering applications, and a browser that follows the
//! authorization flow through the hosted sign-in page the way `web/tenant/signin.js` does
//! (passkey sign-in over GraphQL, `oauth2/session` for the cookie, back to `authorize`).

use crate::passkey::Device;
use crate::{TestApp, TestTenant};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

/// A registered application.
#[derive(Clone, Debug)]
pub struct RegisteredApp {
    pub id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A browser: keeps the provider's session cookie and never follows redirects, so each step
/// can be checked.
pub struct Browser {
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    /// The browser's languages, sent as `Accept-Language` when set.
    pub accept_language: Option<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            accept_language: None,
        }
    }

    /// GETs `url` with the cookie and the browser's languages; returns the status, the
    /// `Location` header and the body.
    pub async fn get(&self, url: &str) -> (StatusCode, Option<String>, String) {
        let mut request = self.client.get(url);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(languages) = &self.accept_language {
            request = request.header(ACCEPT_LANGUAGE, languages);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap_or_default())
    }

    /// What the hosted sign-in page does after a passkey sign-in: trades the session's access
    /// token for the provider's cookie.
    pub async fn establish_session(
        &mut self,
        app: &TestApp,
        tenant: &TestTenant,
        access_token: &str,
    ) {
        let response = self
            .client
            .post(format!("{}/t/{}/oauth2/session", app.url, tenant.slug))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let set_cookie = response.headers().get(SET_COOKIE).expect("a cookie is set");
        let value = set_cookie.to_str().unwrap();
        assert!(value.contains("HttpOnly"), "{value}");
        assert!(value.contains("SameSite=Lax"), "{value}");
        self.cookie = Some(value.split(';').next().unwrap().to_owned());
    }

    /// Runs an authorization request to its redirect back to the client, signing in with
    /// `device` on the hosted page when the provider asks for it. Returns the callback URL.
    pub async fn authorize(
        &mut self,
        app: &TestApp,
        tenant: &TestTenant,
        device: &mut Device,
        credential_id: &str,
        authorize_url: &str,
    ) -> Url {
        let authorize_url = authorize_url.replace("localhost", "127.0.0.1");
        let (status, location, body) = self.get(&authorize_url).await;
        let location = location.unwrap_or_else(|| panic!("no redirect ({status}): {body}"));
        if status == StatusCode::FOUND {
            return Url::parse(&location).unwrap();
        }
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let sign_in_page = Url::parse(&format!("{}{location}", app.url)).unwrap();
        assert_eq!(sign_in_page.path(), format!("/t/{}/", tenant.slug));
        let handle = sign_in_page
            .query_pairs()
            .find(|(k, _)| k == "authorization_request")
            .map(|(_, v)| v.into_owned())
            .expect("the sign-in page gets the parked request");
        let signed_in = app.sign_in(tenant, device, None, credential_id).await;
        self.establish_session(app, tenant, &signed_in.access_token)
            .await;
        let (status, location, body) = self
            .get(&format!(
                "{}/t/{}/oauth2/authorize?authorization_request={handle}",
                app.url, tenant.slug
            ))
            .await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        Url::parse(&location.unwrap()).unwrap()
    }
}

/// A query parameter of `url`.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl TestApp {
    /// The tenant's issuer URL.
    pub fn issuer(&self, tenant: &TestTenant) -> String {
        format!("{}/t/{}", self.public_url, tenant.slug)
    }

    /// A tenant endpoint on the loopback address the test client reaches.
    pub fn oauth_url(&self, tenant: &TestTenant, endpoint: &str) -> String {
        format!("{}/t/{}/oauth2/{endpoint}", self.url, tenant.slug)
    }

    /// A client of `tenant`'s API through the Rust SDK, with its owner key.
    pub fn sdk(&self, tenant: &TestTenant) -> latchkey_sdk::Client {
        latchkey_sdk::Client::new(&format!("{}/t/{}", self.url, tenant.slug), &tenant.api_key)
    }

    /// An authorization request (`response_type=code`) of `client_id` for `redirect_uri`, with
    /// `params` (scope, state, PKCE, prompt…) in that order.
    pub fn authorize_url(
        &self,
        tenant: &TestTenant,
        client_id: &str,
        redirect_uri: &str,
        params: &[(&str, &str)],
    ) -> String {
        let mut url = Url::parse(&self.oauth_url(tenant, "authorize")).unwrap();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri);
            for (name, value) in params {
                query.append_pair(name, value);
            }
        }
        url.into()
    }

    /// Registers an application with `createApplication` (through the Rust SDK); `extra` adds
    /// input fields.
    pub async fn create_application(
        &self,
        tenant: &TestTenant,
        app_type: &str,
        redirect_uris: &[&str],
        extra: Value,
    ) -> RegisteredApp {
        let mut input =
            json!({ "name": "Test app", "type": app_type, "redirectUris": redirect_uris });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let data: Value = self
            .sdk(tenant)
            .execute(
                "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id clientId } clientSecret } }",
                json!({ "input": input }),
            )
            .await
            .expect("createApplication");
        let payload = &data["createApplication"];
        RegisteredApp {
            id: payload["application"]["id"].as_str().unwrap().to_owned(),
            client_id: payload["application"]["clientId"]
                .as_str()
                .unwrap()
                .to_owned(),
            client_secret: payload["clientSecret"].as_str().map(str::to_owned),
        }
    }

    /// POSTs a form to a tenant's OAuth endpoint; returns the status and the JSON body.
    pub async fn oauth_post(
        &self,
        tenant: &TestTenant,
        endpoint: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.oauth_url(tenant, endpoint))
            .form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new user of `tenant` signs up, authorizes the confidential `client` for `scope` at
    /// `redirect_uri` in a browser, and the client exchanges the code: the token endpoint's
    /// answer.
    pub async fn user_tokens(
        &self,
        tenant: &TestTenant,
        client: &RegisteredApp,
        redirect_uri: &str,
        scope: &str,
    ) -> Value {
        let (_device, _, signed_up) = self.sign_up(tenant, &crate::unique_email()).await;
        let mut browser = Browser::new();
        browser
            .establish_session(self, tenant, &signed_up.access_token)
            .await;
        let authorize =
            self.authorize_url(tenant, &client.client_id, redirect_uri, &[("scope", scope)]);
        let (status, location, body) = browser.get(&authorize).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let code = param(&Url::parse(&location.unwrap()).unwrap(), "code").expect("a code");
        let secret = client
            .client_secret
            .as_deref()
            .expect("a confidential client");
        let (status, tokens) = self
            .oauth_post(
                tenant,
                "token",
                Some((&client.client_id, secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect_uri),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }
}
