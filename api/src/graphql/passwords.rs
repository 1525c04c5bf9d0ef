//! Passwords and the TOTP second factor: sign-up, sign-in and its second step, change and
//! reset, and the signed-in user's authenticator app. Each resolver translates and calls one
//! core function (`latchkey_core::passwords`).

use super::ceremonies::{PasskeyCeremonyPayload, count_sign_in, with_ceremonies};
use super::objects::Identity;
use super::sessions::{SessionReference, count_tokens};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use latchkey_core::passwords::{self, PasswordSignIn, totp};

#[derive(InputObject)]
pub struct SignUpWithPasswordInput {
    /// A `SIGN_UP` proof from `completeEmailVerification`.
    pub email_proof: String,
    /// At least 15 characters (8 where the tenant requires a second factor), at most 256; not
    /// a common or breached password. No composition rules.
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(InputObject)]
pub struct SignInWithPasswordInput {
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct CompleteSecondFactorInput {
    /// From `signInWithPassword`; works for five minutes and five wrong codes.
    pub second_factor_token: String,
    /// The six digits the authenticator app shows, or one of the recovery codes.
    pub code: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// Required when the account has a password; leave out to set a first one.
    pub current_password: Option<String>,
    pub new_password: String,
    /// End every other session of the account.
    #[graphql(default)]
    pub sign_out_other_sessions: bool,
}

#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// A `RECOVERY` proof from `completeEmailVerification`.
    pub email_proof: String,
    pub new_password: String,
    /// End every session of the account (default true).
    #[graphql(default = true)]
    pub sign_out_everywhere: bool,
}

#[derive(InputObject)]
pub struct FinishTotpEnrollmentInput {
    /// The six digits the authenticator app shows now.
    pub code: String,
}

/// What `signInWithPassword` answers: a session, or (with an authenticator app enrolled) the
/// token for `completeSecondFactor`.
#[derive(SimpleObject, Default)]
pub struct PasswordSignInPayload {
    pub identity: Option<Identity>,
    pub session: Option<SessionReference>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u32>,
    /// True when the account has an authenticator app: nothing is signed in yet; call
    /// `completeSecondFactor` with `secondFactorToken` and a code.
    pub second_factor_required: bool,
    pub second_factor_token: Option<String>,
}

impl From<PasskeyCeremonyPayload> for PasswordSignInPayload {
    fn from(signed_in: PasskeyCeremonyPayload) -> Self {
        Self {
            identity: Some(signed_in.identity),
            session: signed_in.session,
            access_token: signed_in.access_token,
            refresh_token: signed_in.refresh_token,
            expires_in: signed_in.expires_in,
            ..Self::default()
        }
    }
}

#[derive(SimpleObject)]
pub struct PasswordPayload {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct TotpEnrollment {
    /// Base32; for typing into the authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`; for a QR code, or a link on the device itself.
    pub otpauth_uri: String,
}

#[derive(SimpleObject)]
pub struct TotpRecoveryCodes {
    /// Ten single-use codes for when the authenticator app is not at hand; shown only now.
    pub recovery_codes: Vec<String>,
}

#[derive(Default)]
pub struct PasswordMutation;

#[Object]
impl PasswordMutation {
    /// Creates an account with a password for the address of a `SIGN_UP` proof and signs it
    /// in (`amr: ["pwd"]`). Anonymous; the tenant must allow `PASSWORD` and self sign-up.
    async fn sign_up_with_password(
        &self,
        ctx: &Context<'_>,
        input: SignUpWithPasswordInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let outcome = with_ceremonies(ctx, async |c| {
            passwords::sign_up_with_password(
                c,
                &input.email_proof,
                &input.password,
                input.display_name.as_deref(),
            )
            .await
        })
        .await?;
        count_tokens(ctx);
        Ok(outcome.into())
    }

    /// Signs in with an address and a password. A wrong password and an unknown address get
    /// the same `FORBIDDEN` answer; repeated failures from one IP are throttled
    /// (`RATE_LIMITED`). With an authenticator app enrolled, answers `secondFactorRequired`.
    async fn sign_in_with_password(
        &self,
        ctx: &Context<'_>,
        input: SignInWithPasswordInput,
    ) -> async_graphql::Result<PasswordSignInPayload> {
        let outcome = with_ceremonies(ctx, async |c| {
            passwords::sign_in_with_password(c, &input.email, &input.password).await
        })
        .await;
        count_sign_in(ctx, "password", outcome.is_ok());
        Ok(match outcome? {
            PasswordSignIn::SignedIn(outcome) => {
                count_tokens(ctx);
                PasskeyCeremonyPayload::from(*outcome).into()
            }
            PasswordSignIn::SecondFactorRequired { token } => PasswordSignInPayload {
                second_factor_required: true,
                second_factor_token: Some(token),
                ..PasswordSignInPayload::default()
            },
        })
    }

    /// Finishes a password sign-in with the authenticator app's code or a recovery code
    /// (`amr: ["pwd", "otp", "mfa"]`).
    async fn complete_second_factor(
        &self,
        ctx: &Context<'_>,
        input: CompleteSecondFactorInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let outcome = with_ceremonies(ctx, async |c| {
            passwords::complete_second_factor(c, &input.second_factor_token, &input.code).await
        })
        .await;
        count_sign_in(ctx, "password_mfa", outcome.is_ok());
        let outcome = outcome?;
        count_tokens(ctx);
        Ok(outcome.into())
    }

    /// Sets or changes the signed-in user's password; sends a notice.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<PasswordPayload> {
        let identity = with_ceremonies(ctx, async |c| {
            passwords::change_password(
                c,
                input.current_password.as_deref(),
                &input.new_password,
                input.sign_out_other_sessions,
            )
            .await
        })
        .await?;
        Ok(PasswordPayload {
            identity: identity.into(),
        })
    }

    /// Sets a new password with a `RECOVERY` proof of the account's address; signs nobody
    /// in (sign in with the new password next). Sends a notice.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> async_graphql::Result<PasswordPayload> {
        let identity = with_ceremonies(ctx, async |c| {
            passwords::reset_password(
                c,
                &input.email_proof,
                &input.new_password,
                input.sign_out_everywhere,
            )
            .await
        })
        .await?;
        Ok(PasswordPayload {
            identity: identity.into(),
        })
    }

    /// Starts adding an authenticator app to the signed-in user (who has a password): the
    /// secret to put in the app. Finish with `finishTotpEnrollment`.
    async fn begin_totp_enrollment(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<TotpEnrollment> {
        let begun = with_ceremonies(ctx, async |c| totp::begin_enrollment(c).await).await?;
        Ok(TotpEnrollment {
            secret: begun.secret,
            otpauth_uri: begun.otpauth_uri,
        })
    }

    /// Turns the authenticator app on with its current code; answers ten recovery codes.
    async fn finish_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        input: FinishTotpEnrollmentInput,
    ) -> async_graphql::Result<TotpRecoveryCodes> {
        let recovery_codes =
            with_ceremonies(ctx, async |c| totp::finish_enrollment(c, &input.code).await).await?;
        Ok(TotpRecoveryCodes { recovery_codes })
    }

    /// Removes the signed-in user's authenticator app and its recovery codes.
    async fn remove_totp(&self, ctx: &Context<'_>) -> async_graphql::Result<PasswordPayload> {
        let identity = with_ceremonies(ctx, async |c| totp::remove(c).await).await?;
        Ok(PasswordPayload {
            identity: identity.into(),
        })
    }
}
