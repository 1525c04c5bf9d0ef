//! A SCIM client for the suites: a directory's requests to `/t/{slug}/scim/v2` with its
//! token, and the tokens themselves (`createScimToken`).

use crate::{TestApp, TestTenant};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const CREATE_TOKEN: &str = "mutation($input: CreateScimTokenInput!) { createScimToken(input: $input) { scimToken { id name organizationId } token } }";

/// One answer: status, headers and the JSON body (null when there is none).
#[derive(Debug)]
pub struct ScimAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl ScimAnswer {
    /// Checks an error's status and `scimType` and that it is in SCIM's error format.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string());
        assert!(self.body["detail"].is_string(), "{}", self.body);
        match scim_type {
            Some(kind) => assert_eq!(self.body["scimType"], kind, "{}", self.body),
            None => assert!(self.body.get("scimType").is_none(), "{}", self.body),
        }
    }
}

/// A directory talking to one tenant's SCIM endpoint.
pub struct Directory<'a> {
    pub app: &'a TestApp,
    pub base: String,
    pub token: String,
}

impl<'a> Directory<'a> {
    /// A directory of `tenant` with `token`.
    pub fn new(app: &'a TestApp, tenant: &TestTenant, token: &str) -> Self {
        Self {
            app,
            base: format!("{}/t/{}/scim/v2", app.url, tenant.slug),
            token: token.to_owned(),
        }
    }

    /// Sends `method` to `path` (under the base) with an optional JSON body and headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> ScimAnswer {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer: {text}"))
        };
        ScimAnswer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> ScimAnswer {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> ScimAnswer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> ScimAnswer {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, operations: Value) -> ScimAnswer {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> ScimAnswer {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// `GET /Users?filter=…` (URL-encoded).
    pub async fn filter(&self, resource: &str, filter: &str) -> ScimAnswer {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .finish();
        self.get(&format!("/{resource}?{query}")).await
    }

    /// Creates a user with `userName` and the other fields of `extra`; answers its id.
    pub async fn create_user(&self, user_name: &str, extra: Value) -> String {
        let mut user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
        });
        for (key, value) in extra.as_object().unwrap() {
            user[key] = value.clone();
        }
        let created = self.post("/Users", user).await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Creates a SCIM token for `tenant` (tenant-wide, or for `organization`); answers its
    /// id and secret.
    pub async fn create_scim_token(
        &self,
        tenant: &TestTenant,
        organization: Option<&str>,
    ) -> (String, String) {
        let created = self
            .tenant(
                tenant,
                CREATE_TOKEN,
                json!({ "input": { "name": "Entra ID", "organizationId": organization } }),
            )
            .await;
        let payload = &created.data()["createScimToken"];
        (
            payload["scimToken"]["id"].as_str().unwrap().to_owned(),
            payload["token"].as_str().unwrap().to_owned(),
        )
    }
}
