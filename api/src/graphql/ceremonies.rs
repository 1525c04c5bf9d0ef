//! Passkey ceremonies, begun and finished by the end user's browser: registration (sign-up,
//! account recovery, or another passkey for the signed-in user) and sign-in. A finished
//! sign-up, recovery or sign-in starts a session.

use super::context::request;
use super::objects::Identity;
use super::passkeys::Passkey;
use super::sessions::{SessionReference, count_tokens};
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use latchkey_core::email_sign_in;
use latchkey_core::passkeys::{BeginRegistration, Ceremonies, CeremonyOutcome};
use serde_json::Value;

/// Runs `f` with the ceremony context of this request.
pub(super) async fn with_ceremonies<T>(
    ctx: &Context<'_>,
    f: impl AsyncFnOnce(&Ceremonies<'_>) -> latchkey_core::Result<T>,
) -> async_graphql::Result<T> {
    let (services, req) = request(ctx);
    f(&req.ceremonies(services)).await.gql()
}

#[derive(InputObject, Default)]
pub struct BeginPasskeyRegistrationInput {
    /// From `completeEmailVerification`: a `SIGN_UP` proof creates an account with that
    /// (verified) address; a `RECOVERY` proof registers a new passkey for the account of
    /// that address.
    pub email_proof: Option<String>,
    /// For sign-up without a proof, only where the tenant does not require verified
    /// addresses (`requireVerifiedEmail: false`); the address stays unverified. Leave out
    /// to add a passkey to the signed-in caller.
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// From a registration link (account recovery).
    pub registration_token: Option<String>,
    /// With a recovery (proof or link): end every other session of the account.
    #[graphql(default)]
    pub sign_out_everywhere: bool,
}

#[derive(InputObject, Default)]
pub struct BeginPasskeySignInInput {
    /// Optional: lists that account's passkeys in `allowCredentials`; without it the ceremony
    /// is discoverable (usernameless, autofill).
    pub email: Option<String>,
}

/// The options to hand to `navigator.credentials.create` / `get`.
#[derive(SimpleObject)]
pub struct PasskeyCeremony {
    /// Send it back with the finish call; it works once, for five minutes.
    pub ceremony_id: ID,
    /// `{ publicKey: … }` in the WebAuthn JSON form: pass `options.publicKey` to
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`.
    pub options: Json<Value>,
}

#[derive(InputObject)]
pub struct FinishPasskeyRegistrationInput {
    pub ceremony_id: ID,
    /// The `PublicKeyCredential`'s `toJSON()` form.
    pub credential: Json<Value>,
    /// A name for the new passkey (default "Passkey").
    pub passkey_name: Option<String>,
}

#[derive(InputObject)]
pub struct SignInWithEmailCodeInput {
    /// From `startEmailVerification(input: { email, purpose: SIGN_IN })`.
    pub challenge_id: ID,
    /// The digits from the email.
    pub code: String,
}

#[derive(InputObject)]
pub struct FinishPasskeySignInInput {
    pub ceremony_id: ID,
    /// The `PublicKeyCredential`'s `toJSON()` form.
    pub credential: Json<Value>,
}

/// The result of a ceremony. Tokens are null when a signed-in user added a passkey.
#[derive(SimpleObject)]
pub struct PasskeyCeremonyPayload {
    pub identity: Identity,
    /// The new passkey (registration only).
    pub passkey: Option<Passkey>,
    pub session: Option<SessionReference>,
    /// A short-lived JWT for `Authorization: Bearer`.
    pub access_token: Option<String>,
    /// Opaque; exchange it with `refreshSession`. Each one works once.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub expires_in: Option<u32>,
}

impl From<CeremonyOutcome> for PasskeyCeremonyPayload {
    fn from(outcome: CeremonyOutcome) -> Self {
        let tokens = outcome.tokens;
        Self {
            identity: outcome.identity.into(),
            passkey: outcome.passkey.map(Into::into),
            session: tokens.as_ref().map(|t| SessionReference {
                id: ID(t.session_id.to_string()),
            }),
            access_token: tokens.as_ref().map(|t| t.access_token.clone()),
            refresh_token: tokens.as_ref().map(|t| t.refresh_token.clone()),
            expires_in: tokens.as_ref().map(|t| t.expires_in),
        }
    }
}

/// Counts a sign-in attempt by `method` in the metrics.
pub(super) fn count_sign_in(ctx: &Context<'_>, method: &str, succeeded: bool) {
    let label = if succeeded { "success" } else { "failure" };
    request(ctx)
        .0
        .metrics
        .sign_ins
        .with_label_values(&[method, label])
        .inc();
}

#[derive(Default)]
pub struct CeremonyMutation;

#[Object]
impl CeremonyMutation {
    /// Starts a passkey registration: sign-up (anonymous, with a `SIGN_UP` `emailProof`),
    /// recovery (a `RECOVERY` `emailProof`, or a `registrationToken`), or another passkey for
    /// the signed-in caller (no proof, no email).
    async fn begin_passkey_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: BeginPasskeyRegistrationInput,
    ) -> async_graphql::Result<PasskeyCeremony> {
        let begun = with_ceremonies(ctx, async |c| {
            c.begin_registration(BeginRegistration {
                email: input.email,
                display_name: input.display_name,
                registration_token: input.registration_token,
                email_proof: input.email_proof,
                sign_out_everywhere: input.sign_out_everywhere,
            })
            .await
        })
        .await?;
        Ok(PasskeyCeremony {
            ceremony_id: ID(begun.ceremony_id.to_string()),
            options: Json(begun.options),
        })
    }

    /// Finishes a registration; a sign-up or recovery also signs the identity in.
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeyRegistrationInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let ceremony_id = parse_id("ceremonyId", &input.ceremony_id)?;
        let outcome = with_ceremonies(ctx, async |c| {
            c.finish_registration(ceremony_id, input.credential.0, input.passkey_name)
                .await
        })
        .await?;
        if outcome.tokens.is_some() {
            count_tokens(ctx);
        }
        Ok(outcome.into())
    }

    /// Starts a passkey sign-in, with an optional email hint.
    async fn begin_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: BeginPasskeySignInInput,
    ) -> async_graphql::Result<PasskeyCeremony> {
        let begun = with_ceremonies(ctx, async |c| c.begin_sign_in(input.email).await).await?;
        Ok(PasskeyCeremony {
            ceremony_id: ID(begun.ceremony_id.to_string()),
            options: Json(begun.options),
        })
    }

    /// Signs in with the code of a `SIGN_IN` email verification and starts a session
    /// (`amr: ["otp"]`). A wrong code, and any code for an address without an account, get
    /// the same answer and no session. Anonymous; the tenant must allow `EMAIL_CODE`.
    async fn sign_in_with_email_code(
        &self,
        ctx: &Context<'_>,
        input: SignInWithEmailCodeInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let challenge_id = parse_id("challengeId", &input.challenge_id)?;
        let outcome = with_ceremonies(ctx, async |c| {
            email_sign_in::sign_in_with_email_code(c, challenge_id, &input.code).await
        })
        .await;
        count_sign_in(ctx, "email_code", outcome.is_ok());
        let outcome = outcome?;
        count_tokens(ctx);
        Ok(outcome.into())
    }

    /// Finishes a sign-in and starts a session.
    async fn finish_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeySignInInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let ceremony_id = parse_id("ceremonyId", &input.ceremony_id)?;
        let outcome = with_ceremonies(ctx, async |c| {
            c.finish_sign_in(ceremony_id, input.credential.0).await
        })
        .await;
        count_sign_in(ctx, "passkey", outcome.is_ok());
        let outcome = outcome?;
        count_tokens(ctx);
        Ok(outcome.into())
    }
}
