//! Password sign-up and sign-in, and enrolling an authenticator app, as a client does them.
//! Codes come from `totp-rs`, an independent TOTP implementation, reading the `otpauth://` URI
//! the server hands out, as an authenticator app would.

use crate::passkey::SignedIn;
use crate::{GraphqlResponse, TestApp, TestTenant};
use serde_json::{Value, json};

pub const SIGN_UP: &str = "mutation($input: SignUpWithPasswordInput!) { signUpWithPassword(input: $input) { identity { id } session { id } accessToken refreshToken expiresIn } }";
pub const SIGN_IN: &str = "mutation($input: SignInWithPasswordInput!) { signInWithPassword(input: $input) { identity { id } session { id } accessToken refreshToken expiresIn secondFactorRequired secondFactorToken } }";
pub const COMPLETE: &str = "mutation($input: CompleteSecondFactorInput!) { completeSecondFactor(input: $input) { identity { id } session { id } accessToken refreshToken expiresIn } }";
pub const BEGIN_TOTP: &str = "mutation { beginTotpEnrollment { secret otpauthUri } }";
pub const FINISH_TOTP: &str =
    "mutation($code: String!) { finishTotpEnrollment(input: { code: $code }) { recoveryCodes } }";
const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { signInMethods requireSecondFactor } } }";

/// A password good enough for every rule.
pub const PASSWORD: &str = "violet tractor harbor lemon";

impl TestApp {
    /// Allows passwords (with passkeys and email codes) in `tenant`; `extra` adds settings.
    pub async fn allow_passwords(&self, tenant: &TestTenant, extra: Value) {
        let mut input = json!({ "signInMethods": ["PASSKEY", "EMAIL_CODE", "PASSWORD"] });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        self.tenant(tenant, SETTINGS, json!({ "input": input }))
            .await
            .data();
    }

    /// `signUpWithPassword` with a fresh proof of `email`.
    pub async fn sign_up_with_password(
        &self,
        tenant: &TestTenant,
        email: &str,
        password: &str,
    ) -> GraphqlResponse {
        let proof = self.prove_email(tenant, email, "SIGN_UP").await;
        self.anonymous(
            tenant,
            None,
            SIGN_UP,
            json!({ "input": { "emailProof": proof, "password": password } }),
        )
        .await
    }

    /// A new account of `email` with [`PASSWORD`], signed in.
    pub async fn password_account(&self, tenant: &TestTenant, email: &str) -> SignedIn {
        let signed_up = self.sign_up_with_password(tenant, email, PASSWORD).await;
        SignedIn::from_payload(&signed_up.data()["signUpWithPassword"])
    }

    /// `signInWithPassword`.
    pub async fn sign_in_with_password(
        &self,
        tenant: &TestTenant,
        email: &str,
        password: &str,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            None,
            SIGN_IN,
            json!({ "input": { "email": email, "password": password } }),
        )
        .await
    }

    /// `completeSecondFactor`.
    pub async fn complete_second_factor(
        &self,
        tenant: &TestTenant,
        token: &str,
        code: &str,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            None,
            COMPLETE,
            json!({ "input": { "secondFactorToken": token, "code": code } }),
        )
        .await
    }

    /// Enrolls an authenticator app for the signed-in `access_token` at Unix time `now`:
    /// returns the app and the recovery codes.
    pub async fn enroll_totp(
        &self,
        tenant: &TestTenant,
        access_token: &str,
        now: u64,
    ) -> (totp_rs::TOTP, Vec<String>) {
        let begun = self
            .anonymous(tenant, Some(access_token), BEGIN_TOTP, json!({}))
            .await;
        let uri = begun.data()["beginTotpEnrollment"]["otpauthUri"]
            .as_str()
            .unwrap()
            .to_owned();
        let app = totp_rs::TOTP::from_url(&uri).expect("an otpauth URI an app takes");
        let finished = self
            .anonymous(
                tenant,
                Some(access_token),
                FINISH_TOTP,
                json!({ "code": app.generate(now) }),
            )
            .await;
        let codes = finished.data()["finishTotpEnrollment"]["recoveryCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (app, codes)
    }
}
