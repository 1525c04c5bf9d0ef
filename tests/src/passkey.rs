//! A real software authenticator (webauthn-authenticator-rs' `SoftPasskey`) driving passkey
//! ceremonies over the GraphQL API, and helpers to tamper with its responses.

use crate::{GraphqlResponse, TestApp, TestTenant};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

pub const BEGIN_REGISTRATION: &str = "mutation($input: BeginPasskeyRegistrationInput!) { beginPasskeyRegistration(input: $input) { ceremonyId options } }";
pub const FINISH_REGISTRATION: &str = "mutation($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { identity { id email displayName } passkey { id name } session { id } accessToken refreshToken expiresIn } }";
pub const BEGIN_SIGN_IN: &str = "mutation($input: BeginPasskeySignInInput!) { beginPasskeySignIn(input: $input) { ceremonyId options } }";
pub const FINISH_SIGN_IN: &str = "mutation($input: FinishPasskeySignInInput!) { finishPasskeySignIn(input: $input) { identity { id } passkey { id } session { id } accessToken refreshToken expiresIn } }";

/// One authenticator (one device) with the origin it runs on.
pub struct Device {
    pub authenticator: SoftPasskey,
    pub origin: url::Url,
    /// The user handle each credential was created for (credential id → base64url), which
    /// a passkey returns with its assertions.
    user_handles: HashMap<String, String>,
}

/// A begun ceremony.
pub struct Begun {
    pub ceremony_id: String,
    pub options: Value,
}

/// The tokens of a signed-in identity.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub identity_id: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl SignedIn {
    pub fn from_payload(payload: &Value) -> Self {
        Self {
            identity_id: payload["identity"]["id"].as_str().unwrap().to_owned(),
            session_id: payload["session"]["id"].as_str().unwrap().to_owned(),
            access_token: payload["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: payload["refreshToken"].as_str().unwrap().to_owned(),
        }
    }
}

impl Device {
    /// An authenticator that reports user verification (as a platform passkey does).
    pub fn new(app: &TestApp) -> Self {
        Self::for_origin(&app.public_url)
    }

    /// The same, on a page of `origin` (a deployment's public URL).
    pub fn for_origin(origin: &str) -> Self {
        Self {
            authenticator: SoftPasskey::new(true),
            origin: url::Url::parse(origin).unwrap(),
            user_handles: HashMap::new(),
        }
    }

    /// Answers registration options as `navigator.credentials.create` would. The software
    /// authenticator cannot store resident keys, so the residency request is dropped; what
    /// the server checks is unchanged.
    pub fn create(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["requireResidentKey"] = json!(false);
        selection["residentKey"] = json!("discouraged");
        let user_handle = options["publicKey"]["user"]["id"].clone();
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .authenticator
            .do_registration(self.origin.clone(), options)
            .expect("the authenticator registers");
        let credential = serde_json::to_value(credential).unwrap();
        self.user_handles.insert(
            credential["id"].as_str().unwrap().to_owned(),
            user_handle.as_str().unwrap().to_owned(),
        );
        credential
    }

    /// The ids of the credentials this device created.
    pub fn credential_ids(&self) -> Vec<String> {
        self.user_handles.keys().cloned().collect()
    }

    /// Answers sign-in options as `navigator.credentials.get` would. For discoverable
    /// ceremonies (no `allowCredentials`), `known` names the credential the authenticator
    /// would pick. The software authenticator keeps no resident credentials, so the user
    /// handle a passkey returns is added here (it is not part of what is signed).
    pub fn get(&mut self, options: &Value, known: Option<&str>) -> Value {
        let mut options = options.clone();
        if let Some(id) = known
            && options["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(|a| a.is_empty())
        {
            options["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": id }]);
        }
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .authenticator
            .do_authentication(self.origin.clone(), options)
            .expect("the authenticator signs");
        let mut credential = serde_json::to_value(credential).unwrap();
        let handle = self.user_handles[credential["id"].as_str().unwrap()].clone();
        credential["response"]["userHandle"] = json!(handle);
        credential
    }
}

impl TestApp {
    /// An anonymous (or bearer-authenticated) call to a tenant's API.
    pub async fn anonymous(
        &self,
        tenant: &TestTenant,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        self.graphql(
            &format!("/t/{}/graphql", tenant.slug),
            token,
            query,
            variables,
        )
        .await
    }

    pub async fn begin_registration(
        &self,
        tenant: &TestTenant,
        token: Option<&str>,
        input: Value,
    ) -> Begun {
        let response = self
            .anonymous(tenant, token, BEGIN_REGISTRATION, json!({ "input": input }))
            .await;
        let data = &response.data()["beginPasskeyRegistration"];
        Begun {
            ceremony_id: data["ceremonyId"].as_str().unwrap().to_owned(),
            options: data["options"].clone(),
        }
    }

    pub async fn finish_registration(
        &self,
        tenant: &TestTenant,
        token: Option<&str>,
        ceremony_id: &str,
        credential: Value,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            token,
            FINISH_REGISTRATION,
            json!({ "input": { "ceremonyId": ceremony_id, "credential": credential } }),
        )
        .await
    }

    pub async fn begin_sign_in(&self, tenant: &TestTenant, email: Option<&str>) -> Begun {
        let response = self
            .anonymous(
                tenant,
                None,
                BEGIN_SIGN_IN,
                json!({ "input": { "email": email } }),
            )
            .await;
        let data = &response.data()["beginPasskeySignIn"];
        Begun {
            ceremony_id: data["ceremonyId"].as_str().unwrap().to_owned(),
            options: data["options"].clone(),
        }
    }

    pub async fn finish_sign_in(
        &self,
        tenant: &TestTenant,
        ceremony_id: &str,
        credential: Value,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            None,
            FINISH_SIGN_IN,
            json!({ "input": { "ceremonyId": ceremony_id, "credential": credential } }),
        )
        .await
    }

    /// Signs up `email` with a new device, proving the address through the mailbox first;
    /// returns the device, its credential id and tokens.
    pub async fn sign_up(&self, tenant: &TestTenant, email: &str) -> (Device, String, SignedIn) {
        let proof = self.prove_email(tenant, email, "SIGN_UP").await;
        let mut device = Device::new(self);
        let begun = self
            .begin_registration(
                tenant,
                None,
                json!({ "emailProof": proof, "displayName": "Test User" }),
            )
            .await;
        let credential = device.create(&begun.options);
        let credential_id = credential["id"].as_str().unwrap().to_owned();
        let response = self
            .finish_registration(tenant, None, &begun.ceremony_id, credential)
            .await;
        let signed_in = SignedIn::from_payload(&response.data()["finishPasskeyRegistration"]);
        (device, credential_id, signed_in)
    }

    /// Signs in with `device` (by email hint, or discoverable with the known credential).
    pub async fn sign_in(
        &self,
        tenant: &TestTenant,
        device: &mut Device,
        email: Option<&str>,
        credential_id: &str,
    ) -> SignedIn {
        let begun = self.begin_sign_in(tenant, email).await;
        let assertion = device.get(&begun.options, Some(credential_id));
        let response = self
            .finish_sign_in(tenant, &begun.ceremony_id, assertion)
            .await;
        SignedIn::from_payload(&response.data()["finishPasskeySignIn"])
    }
}

/// Rewrites a base64url field of a credential's `response` with `change`.
pub fn tamper(credential: &mut Value, field: &str, change: impl FnOnce(&mut Vec<u8>)) {
    let encoded = credential["response"][field].as_str().unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(encoded).unwrap();
    change(&mut bytes);
    credential["response"][field] = json!(URL_SAFE_NO_PAD.encode(bytes));
}

/// The claims of a JWT, without checking it.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The header of a JWT.
pub fn header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}
