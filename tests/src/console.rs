//! The admin console's JSON endpoints driven as a browser would: passkey enrolment with a
//! one-time link and sign-in with the software authenticator, the session's cookie and CSRF
//! token kept by hand, and GraphQL calls made with them.

use crate::passkey::Device;
use crate::{GraphqlResponse, TestApp, TestTenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The user agent a test's browser sends; a session answers only to the browser it began in.
pub const BROWSER: &str = "Mozilla/5.0 (latchkey tests) Console";
/// The console's session cookie on a plain-HTTP deployment.
pub const COOKIE: &str = "latchkey-console";

/// A signed-in administrator: their browser's cookie, CSRF token and passkey.
pub struct Administrator {
    pub id: String,
    pub email: String,
    pub cookie: String,
    pub csrf: String,
    pub session: Value,
    pub device: Device,
}

/// The enrolment token in the last console link mailed to `address`.
pub fn mailed_token(app: &TestApp, address: &str) -> String {
    let text = app
        .last_mail_to(address)
        .unwrap_or_else(|| panic!("no mail to {address}"))
        .text();
    let start = text.find("lke_").expect("a console link in the mail");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

impl TestApp {
    /// A POST to a console endpoint from the test's browser, with `administrator`'s cookie
    /// and CSRF token if given: the status, the session cookie it set, and the JSON body.
    pub async fn console_post(
        &self,
        path: &str,
        body: Value,
        administrator: Option<&Administrator>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("user-agent", BROWSER)
            .json(&body);
        if let Some(administrator) = administrator {
            request = request
                .header("cookie", format!("{COOKIE}={}", administrator.cookie))
                .header("x-latchkey-csrf", &administrator.csrf);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{COOKIE}=")))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        (status, cookie, body)
    }

    /// Enrols a new passkey on a new device with the link of `token`; `email` for a link
    /// that names no address.
    pub async fn enrol(&self, token: &str, email: Option<&str>) -> Administrator {
        self.enrol_on(Device::new(self), token, email).await
    }

    /// The same on `device`.
    pub async fn enrol_on(
        &self,
        mut device: Device,
        token: &str,
        email: Option<&str>,
    ) -> Administrator {
        let (status, _, begun) = self
            .console_post(
                "/console/api/enrolment/begin",
                json!({ "token": token, "email": email, "displayName": "Test Admin" }),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{begun}");
        let credential = device.create(&begun["options"]);
        let (status, cookie, session) = self
            .console_post(
                "/console/api/enrolment/finish",
                json!({ "ceremonyId": begun["ceremonyId"], "credential": credential }),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        Administrator::new(cookie.expect("a session cookie"), session, device)
    }

    /// Signs in again with `device`'s passkey, `credential_id` the one it picks.
    pub async fn console_sign_in(&self, mut device: Device, credential_id: &str) -> Administrator {
        let (status, _, begun) = self
            .console_post("/console/api/sign-in/begin", json!({}), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{begun}");
        let credential = device.get(&begun["options"], Some(credential_id));
        let (status, cookie, session) = self
            .console_post(
                "/console/api/sign-in/finish",
                json!({ "ceremonyId": begun["ceremonyId"], "credential": credential }),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        Administrator::new(cookie.expect("a session cookie"), session, device)
    }

    /// Invites `email` as `role` of `tenant` with its owner key and enrols them from the
    /// mailed link.
    pub async fn invited_administrator(
        &self,
        tenant: &TestTenant,
        email: &str,
        role: &str,
    ) -> Administrator {
        self.tenant(
            tenant,
            "mutation($input: InviteAdministratorInput!) { inviteAdministrator(input: $input) { invitation { id } } }",
            json!({ "input": { "email": email, "role": role } }),
        )
        .await
        .data();
        let token = mailed_token(self, email);
        self.enrol(&token, None).await
    }

    /// A GraphQL call to `path` from `administrator`'s console: cookie, CSRF header, browser.
    pub async fn as_administrator(
        &self,
        administrator: &Administrator,
        path: &str,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        self.console_graphql(
            path,
            &administrator.cookie,
            Some(&administrator.csrf),
            BROWSER,
            query,
            variables,
        )
        .await
    }

    /// A GraphQL call with a console cookie, an optional CSRF header and a user agent.
    pub async fn console_graphql(
        &self,
        path: &str,
        cookie: &str,
        csrf: Option<&str>,
        user_agent: &str,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("cookie", format!("{COOKIE}={cookie}"))
            .header("user-agent", user_agent)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(csrf) = csrf {
            request = request.header("x-latchkey-csrf", csrf);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let body = response.json().await.expect("JSON response");
        GraphqlResponse { status, body }
    }

    /// `GET /console/api/session` with `cookie` from the test's browser.
    pub async fn console_session(&self, cookie: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}/console/api/session", self.url))
            .header("cookie", format!("{COOKIE}={cookie}"))
            .header("user-agent", BROWSER)
            .send()
            .await
            .expect("request is sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Administrator {
    fn new(cookie: String, session: Value, device: Device) -> Self {
        Self {
            id: session["administrator"]["id"].as_str().unwrap().to_owned(),
            email: session["administrator"]["email"]
                .as_str()
                .unwrap()
                .to_owned(),
            csrf: session["csrfToken"].as_str().unwrap().to_owned(),
            cookie,
            session,
            device,
        }
    }

    /// The credential id of the passkey this administrator's device holds.
    pub fn credential_id(&self) -> String {
        self.device
            .credential_ids()
            .into_iter()
            .next()
            .expect("a passkey")
    }
}
