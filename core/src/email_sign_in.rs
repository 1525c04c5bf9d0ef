//! Signing in with an emailed code (`signInWithEmailCode`): the code of a `SIGN_IN` challenge
//! (`startEmailVerification`) starts a session for the active account of the address, in one
//! step. An address without an account got an email without a code, so every code for it is
//! wrong: the answer is the same as for a wrong code, and no session starts. Tokens say
//! `amr: ["otp"]`: an email code is not phishing-resistant, and organizations that require a
//! passkey ask for one on top.

use crate::auth_method::EMAIL_CODE;
use crate::email_proof::{self, Purpose, Verifications};
use crate::error::{Error, Result};
use crate::identities::{self, IdentityStatus};
use crate::passkeys::{Ceremonies, CeremonyOutcome};
use crate::settings::SignInMethod;
use serde_json::json;
use uuid::Uuid;

/// `signInWithEmailCode`: anonymous.
#[tracing::instrument(name = "core.sign_in_with_email_code", skip_all, fields(tenant.id = %ceremonies.scope.tenant_id()))]
pub async fn sign_in_with_email_code(
    ceremonies: &Ceremonies<'_>,
    challenge_id: Uuid,
    code: &str,
) -> Result<CeremonyOutcome> {
    let settings = ceremonies.issuer.settings;
    settings.require_sign_in_method(SignInMethod::EmailCode)?;
    let verifications = Verifications {
        db: ceremonies.db,
        store: ceremonies.store,
        scope: ceremonies.scope,
        actor: ceremonies.actor,
        settings,
        clock: ceremonies.clock,
        mail: ceremonies.mail,
        client_ip: ceremonies.client.ip_address.as_deref(),
    };
    let completed = verifications
        .complete_for(challenge_id, code, Purpose::SignIn)
        .await?;
    let now = ceremonies.clock.now();
    let tx = ceremonies.db.begin_tenant(ceremonies.scope).await?;
    let proven =
        email_proof::check_proof_in(&tx, now, &completed.email_proof, &[Purpose::SignIn]).await?;
    email_proof::spend_proof_in(&tx, now, &proven).await?;
    let identity = identities::find_by_email(&tx, &proven.email_normalized)
        .await?
        .filter(|identity| identity.status == IdentityStatus::Active)
        .ok_or_else(|| Error::Refused("this account cannot sign in".into()))?;
    let tokens = ceremonies
        .start_session_in(&tx, identity.id, EMAIL_CODE, json!({}))
        .await?;
    tx.commit().await?;
    Ok(CeremonyOutcome {
        identity,
        passkey: None,
        tokens: Some(tokens),
    })
}
