//! Email ownership proof: `startEmailVerification`, `completeEmailVerification` (anonymous,
//! from the hosted pages or an app) and the admin's `sendVerificationEmail`.

use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use latchkey_core::email_proof::{CompletedVerification, Purpose, StartedVerification};

/// What an address is proven for; a proof serves only its own purpose.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailVerificationPurpose {
    /// Creating an account (`beginPasskeyRegistration(input: { emailProof })`).
    SignUp,
    /// Signing in with an emailed code.
    SignIn,
    /// Registering a new passkey for the account of the address (a lost passkey).
    Recovery,
    /// Moving the signed-in account to this address.
    EmailChange,
    /// Verifying the address of an existing account: completing it marks the address
    /// verified.
    VerifyAddress,
}

impl From<EmailVerificationPurpose> for Purpose {
    fn from(purpose: EmailVerificationPurpose) -> Self {
        match purpose {
            EmailVerificationPurpose::SignUp => Purpose::SignUp,
            EmailVerificationPurpose::SignIn => Purpose::SignIn,
            EmailVerificationPurpose::Recovery => Purpose::Recovery,
            EmailVerificationPurpose::EmailChange => Purpose::EmailChange,
            EmailVerificationPurpose::VerifyAddress => Purpose::VerifyAddress,
        }
    }
}

impl From<Purpose> for EmailVerificationPurpose {
    fn from(purpose: Purpose) -> Self {
        match purpose {
            Purpose::SignUp => EmailVerificationPurpose::SignUp,
            Purpose::SignIn => EmailVerificationPurpose::SignIn,
            Purpose::Recovery => EmailVerificationPurpose::Recovery,
            Purpose::EmailChange => EmailVerificationPurpose::EmailChange,
            Purpose::VerifyAddress => EmailVerificationPurpose::VerifyAddress,
        }
    }
}

#[derive(InputObject)]
pub struct StartEmailVerificationInput {
    pub email: String,
    pub purpose: EmailVerificationPurpose,
}

/// The same answer whether or not an account has the address; only the email differs.
#[derive(SimpleObject)]
pub struct StartEmailVerificationPayload {
    /// Send it back with the code to `completeEmailVerification`.
    pub challenge_id: ID,
    /// Seconds the code works.
    pub expires_in: u32,
}

impl From<StartedVerification> for StartEmailVerificationPayload {
    fn from(started: StartedVerification) -> Self {
        Self {
            challenge_id: ID(started.challenge_id.to_string()),
            expires_in: started.expires_in,
        }
    }
}

#[derive(InputObject)]
pub struct CompleteEmailVerificationInput {
    pub challenge_id: ID,
    /// The digits from the email.
    pub code: String,
}

#[derive(SimpleObject)]
pub struct CompleteEmailVerificationPayload {
    /// A short-lived, single-use proof of the address for the purpose: pass it to the call
    /// that needs it (e.g. `beginPasskeyRegistration(input: { emailProof })`).
    pub email_proof: String,
    /// Seconds the proof works.
    pub expires_in: u32,
    pub purpose: EmailVerificationPurpose,
    /// The address the proof is for.
    pub email: String,
}

impl From<CompletedVerification> for CompleteEmailVerificationPayload {
    fn from(completed: CompletedVerification) -> Self {
        Self {
            email_proof: completed.email_proof,
            expires_in: completed.expires_in,
            purpose: completed.purpose.into(),
            email: completed.email,
        }
    }
}

#[derive(InputObject)]
pub struct SendVerificationEmailInput {
    pub identity_id: ID,
}

#[derive(Default)]
pub struct EmailVerificationMutation;

#[Object]
impl EmailVerificationMutation {
    /// Sends a one-time code (and a link to the hosted page) that proves the address for the
    /// purpose. Anonymous; rate-limited per address, per client and per tenant.
    async fn start_email_verification(
        &self,
        ctx: &Context<'_>,
        input: StartEmailVerificationInput,
    ) -> async_graphql::Result<StartEmailVerificationPayload> {
        let (services, req) = request(ctx);
        let started = req
            .verifications(services)
            .start(&input.email, input.purpose.into())
            .await
            .gql()?;
        Ok(started.into())
    }

    /// Trades the emailed code for an email proof. Five wrong codes end the challenge.
    async fn complete_email_verification(
        &self,
        ctx: &Context<'_>,
        input: CompleteEmailVerificationInput,
    ) -> async_graphql::Result<CompleteEmailVerificationPayload> {
        let (services, req) = request(ctx);
        let challenge_id = parse_id("challengeId", &input.challenge_id)?;
        let completed = req
            .verifications(services)
            .complete(challenge_id, &input.code)
            .await
            .gql()?;
        Ok(completed.into())
    }

    /// Sends an identity a code and link that verify its address. Requires the admin role.
    async fn send_verification_email(
        &self,
        ctx: &Context<'_>,
        input: SendVerificationEmailInput,
    ) -> async_graphql::Result<StartEmailVerificationPayload> {
        let (services, req) = request(ctx);
        let identity_id = parse_id("identityId", &input.identity_id)?;
        let started = req
            .verifications(services)
            .send_verification_email(identity_id)
            .await
            .gql()?;
        Ok(started.into())
    }
}
