//! Email ownership proof. `startEmailVerification` sends a one-time code (and a link to the
//! hosted page that does the same after a click) to an address; `completeEmailVerification`
//! trades the right code for an *email proof*: a short-lived, single-use bearer secret that
//! says "whoever holds this controls that address, for that purpose, in this tenant". Sign-up,
//! recovery and (later) email sign-in and email change take a proof instead of trusting a
//! typed address.
//!
//! The rules (NIST SP 800-63B rev 4 out-of-band secrets; OWASP forgot-password):
//! - a code is 6 digits from the OS random source, the first run of digits in the message's
//!   text, stored only as a salted hash, valid [`CODE_TTL`], single use;
//! - [`MAX_FAILURES`] wrong codes kill the challenge; a new code for the same address and
//!   purpose replaces the old one in place and keeps the failure count, and a dead challenge
//!   gets no new code until it expires;
//! - the answer has the same shape and the same work behind it whether or not an account
//!   exists: only the email differs (a sign-up for a taken address gets "you already have an
//!   account", with no code);
//! - rate limits per (address, IP), per address, per IP, and a per-tenant ceiling;
//! - every step is audited; codes and proofs never are.
//!
//! Submodules: `rows` (the stored challenges), `messages` (what each email says), `challenges`
//! (start and complete) and `proofs` (checking and spending a proof).

mod challenges;
mod messages;
mod proofs;
mod rows;

crate::tenant_owned!(rows);

pub use challenges::{CompletedVerification, StartedVerification};
pub use proofs::{ProvenEmail, check_proof_in, spend_proof_in};

use crate::actor::Actor;
use crate::clock::Clock;
use crate::db::Database;
use crate::ephemeral::EphemeralStore;
use crate::error::{Error, Result};
use crate::mail::TenantMail;
use crate::scope::TenantScope;
use crate::settings::TenantSettings;
use chrono::Duration;

/// How long a code works.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// How long a proof works once the code was right.
pub const PROOF_TTL: Duration = Duration::minutes(15);
/// Wrong codes after which a challenge is dead.
pub const MAX_FAILURES: i32 = 5;
/// Every email proof starts with this.
pub const PROOF_PREFIX: &str = "lkprf_";

/// What an address is being proven for; a proof serves only its own purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Purpose {
    /// Creating an account with the address.
    SignUp,
    /// Signing in with an emailed code.
    SignIn,
    /// Registering a new passkey to the account of the address (a lost passkey).
    Recovery,
    /// Moving the signed-in account to a new address.
    EmailChange,
    /// Verifying the address of an existing account (an admin's `sendVerificationEmail`, or
    /// the owner's own request): completing it marks the address verified.
    VerifyAddress,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignUp => "sign_up",
            Purpose::SignIn => "sign_in",
            Purpose::Recovery => "recovery",
            Purpose::EmailChange => "email_change",
            Purpose::VerifyAddress => "verify_address",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "sign_up" => Ok(Purpose::SignUp),
            "sign_in" => Ok(Purpose::SignIn),
            "recovery" => Ok(Purpose::Recovery),
            "email_change" => Ok(Purpose::EmailChange),
            "verify_address" => Ok(Purpose::VerifyAddress),
            other => Err(Error::internal(format!("unknown proof purpose {other:?}"))),
        }
    }

    /// The GraphQL name, for messages that tell a caller which purpose a proof has.
    pub fn api_name(self) -> &'static str {
        match self {
            Purpose::SignUp => "SIGN_UP",
            Purpose::SignIn => "SIGN_IN",
            Purpose::Recovery => "RECOVERY",
            Purpose::EmailChange => "EMAIL_CHANGE",
            Purpose::VerifyAddress => "VERIFY_ADDRESS",
        }
    }
}

/// What starting and completing a verification need from the request.
pub struct Verifications<'a> {
    pub db: &'a Database,
    pub store: &'a dyn EphemeralStore,
    pub scope: &'a TenantScope,
    pub actor: &'a Actor,
    pub settings: &'a TenantSettings,
    pub clock: &'a dyn Clock,
    pub mail: TenantMail<'a>,
    /// The caller's address, for the rate limits and the audit.
    pub client_ip: Option<&'a str>,
}

/// The codes sent to `email_normalized`, for its owner's data export (never a code or proof).
pub(crate) async fn challenges_data_in(
    tx: &crate::db::TenantTx,
    email_normalized: &str,
) -> Result<Vec<serde_json::Value>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::EmailNormalized.eq(email_normalized))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            serde_json::json!({
                "purpose": row.purpose,
                "sentAt": row.created_at,
                "completedAt": row.completed_at,
            })
        })
        .collect())
}

/// Removes the codes and proofs of `email_normalized` (its account is being erased).
pub(crate) async fn erase_challenges_in(
    tx: &crate::db::TenantTx,
    email_normalized: &str,
) -> Result<()> {
    use sea_orm::{ColumnTrait, QueryFilter};
    tx.delete_many::<rows::Entity>()
        .filter(rows::Column::EmailNormalized.eq(email_normalized))
        .exec()
        .await?;
    Ok(())
}
