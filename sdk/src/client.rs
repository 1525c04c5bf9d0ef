//! A client for a tenant's GraphQL API.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The API answered with an error: `code` is its `extensions.code` (`UNAUTHENTICATED`,
    /// `FORBIDDEN`, `NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`, `RATE_LIMITED`, `INTERNAL`),
    /// `field` names the bad input field.
    #[error("{code}: {message}")]
    Api {
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// A client of one tenant's GraphQL API, authenticated with an API key (`lk_…`) or an
/// access token.
#[derive(Clone)]
pub struct Client {
    endpoint: String,
    credential: String,
    http: reqwest::Client,
}

/// An identity as the API returns it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub status: String,
}

/// The kind of application (OpenID Connect client).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum ApplicationType {
    Web,
    Spa,
    Native,
    Machine,
}

/// What [`Client::create_application`] registers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApplication {
    pub name: String,
    #[serde(rename = "type")]
    pub app_type: ApplicationType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// A registered application.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub client_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub app_type: ApplicationType,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

/// A new application and its client secret (shown once; `None` for public clients).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    pub application: Application,
    pub client_secret: Option<String>,
}

const IDENTITY_FIELDS: &str = "id email displayName status";
const APPLICATION_FIELDS: &str = "id clientId name type redirectUris scopes";

impl Client {
    /// A client for the tenant whose issuer is `issuer` (`https://…/t/{slug}`).
    pub fn new(issuer: &str, credential: impl Into<String>) -> Self {
        Self {
            endpoint: format!("{}/graphql", issuer.trim_end_matches('/')),
            credential: credential.into(),
            http: reqwest::Client::new(),
        }
    }

    /// Runs any operation; `T` is what `data` deserializes into.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ClientError> {
        let body: Value = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.credential)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(error) = body.get("errors").and_then(|e| e.get(0)) {
            let extension = |name: &str| error["extensions"][name].as_str().map(str::to_owned);
            return Err(ClientError::Api {
                code: extension("code").unwrap_or_else(|| "INTERNAL".into()),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
                field: extension("field"),
            });
        }
        serde_json::from_value(body["data"].clone()).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Runs a mutation and returns the field `name` of its payload.
    async fn field<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        path: &[&str],
    ) -> Result<T, ClientError> {
        let mut data: Value = self.execute(query, variables).await?;
        for name in path {
            data = data[*name].take();
        }
        serde_json::from_value(data).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `createIdentity`.
    pub async fn create_identity(
        &self,
        email: &str,
        display_name: Option<&str>,
    ) -> Result<Identity, ClientError> {
        self.field(
            &format!("mutation($input: CreateIdentityInput!) {{ createIdentity(input: $input) {{ identity {{ {IDENTITY_FIELDS} }} }} }}"),
            json!({ "input": { "email": email, "displayName": display_name } }),
            &["createIdentity", "identity"],
        )
        .await
    }

    /// `identity(id)`; `None` when there is no such identity in this tenant.
    pub async fn identity(&self, id: &str) -> Result<Option<Identity>, ClientError> {
        match self
            .field(
                &format!("query($id: ID!) {{ identity(id: $id) {{ {IDENTITY_FIELDS} }} }}"),
                json!({ "id": id }),
                &["identity"],
            )
            .await
        {
            Err(ClientError::Api { code, .. }) if code == "NOT_FOUND" => Ok(None),
            other => other,
        }
    }

    /// `createApplication`.
    pub async fn create_application(
        &self,
        application: &NewApplication,
    ) -> Result<CreatedApplication, ClientError> {
        self.field(
            &format!("mutation($input: CreateApplicationInput!) {{ createApplication(input: $input) {{ application {{ {APPLICATION_FIELDS} }} clientSecret }} }}"),
            json!({ "input": application }),
            &["createApplication"],
        )
        .await
    }

    /// `rotateApplicationSecret`: returns the new secret.
    pub async fn rotate_application_secret(&self, id: &str) -> Result<String, ClientError> {
        self.field(
            "mutation($input: ApplicationIdInput!) { rotateApplicationSecret(input: $input) { clientSecret } }",
            json!({ "input": { "id": id } }),
            &["rotateApplicationSecret", "clientSecret"],
        )
        .await
    }
}
