//! Starting a verification (a code by email) and completing it (the code for a proof).

use super::messages::{Letter, compose};
use super::{CODE_TTL, MAX_FAILURES, PROOF_PREFIX, PROOF_TTL, Purpose, Verifications, rows};
use crate::actor::Permission;
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::TenantTx;
use crate::ephemeral::rate_limit;
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityStatus};
use crate::mail::Recipient;
use crate::secrets;
use crate::settings::SignInMethod;
use crate::validate::Email;
use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

/// What `startEmailVerification` answers, the same whether or not an account exists.
#[derive(Clone, Debug)]
pub struct StartedVerification {
    pub challenge_id: Uuid,
    pub expires_in: u32,
}

/// What `completeEmailVerification` answers: the proof (shown once) and what it proves.
#[derive(Clone, Debug)]
pub struct CompletedVerification {
    pub email_proof: String,
    pub expires_in: u32,
    pub purpose: Purpose,
    pub email: String,
}

fn code_hash(challenge_id: Uuid, code: &str) -> String {
    secrets::hash(&format!("{challenge_id}:{code}"))
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

fn seconds(duration: chrono::Duration) -> u32 {
    u32::try_from(Ord::max(duration.num_seconds(), 0)).unwrap_or(u32::MAX)
}

/// Which message an address gets for `purpose`, from the account that has it (if any).
async fn letter_for(
    tx: &TenantTx,
    purpose: Purpose,
    normalized: &str,
) -> Result<(Letter, Option<Identity>)> {
    let account = identities::find_by_email(tx, normalized).await?;
    let active = account
        .as_ref()
        .is_some_and(|identity| identity.status == IdentityStatus::Active);
    let letter = match purpose {
        Purpose::SignUp if account.is_some() => Letter::AlreadyHaveAccount,
        Purpose::SignUp => Letter::Code,
        Purpose::EmailChange if account.is_some() => Letter::AddressTaken,
        Purpose::EmailChange => Letter::Code,
        Purpose::SignIn | Purpose::Recovery if active => Letter::Code,
        Purpose::SignIn | Purpose::Recovery => Letter::NoAccount,
        Purpose::VerifyAddress => match &account {
            Some(identity) if identity.email_verified => Letter::AlreadyVerified,
            Some(_) if active => Letter::Code,
            _ => Letter::NoAccount,
        },
    };
    Ok((letter, account))
}

/// The live (unexpired, not completed) challenge for an address and purpose, if any.
async fn live_challenge(
    tx: &TenantTx,
    purpose: Purpose,
    normalized: &str,
    now: DateTime<Utc>,
) -> Result<Option<rows::Model>> {
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::EmailNormalized.eq(normalized))
        .filter(rows::Column::Purpose.eq(purpose.as_str()))
        .filter(rows::Column::CompletedAt.is_null())
        .filter(rows::Column::ExpiresAt.gt(now))
        .order_by_desc(rows::Column::CreatedAt)
        .one()
        .await?)
}

fn unknown_challenge() -> Error {
    Error::validation(
        "challengeId",
        "is unknown, expired or already used; ask for a new code",
    )
}

impl Verifications<'_> {
    async fn limit(&self, kind: &str, subject: &str, limit: u32) -> Result<()> {
        rate_limit(self.store, self.scope, kind, subject, limit).await
    }

    /// `startEmailVerification`: sends a code for `purpose` to `email` (or, where a code must
    /// not be had, a message saying why) and answers the challenge id. Anonymous.
    #[tracing::instrument(name = "core.start_email_verification", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn start(&self, email: &str, purpose: Purpose) -> Result<StartedVerification> {
        if purpose == Purpose::SignIn {
            self.settings
                .require_sign_in_method(SignInMethod::EmailCode)?;
        }
        let email = Email::parse("email", email)?;
        let limits = &self.settings.rate_limits;
        let ip = self.client_ip.unwrap_or("unknown");
        self.limit(
            "email-verification-ip",
            ip,
            limits.email_verification_per_ip,
        )
        .await?;
        self.limit(
            "email-verification-address-ip",
            &format!("{}\n{ip}", email.normalized()),
            limits.email_verification_per_address,
        )
        .await?;
        self.limit(
            "email-verification-address",
            email.normalized(),
            limits.email_verification_per_address_all_ips,
        )
        .await?;
        self.limit(
            "email-verification-tenant",
            "",
            limits.email_verification_per_tenant,
        )
        .await?;

        let now = self.clock.now();
        let tx = self.db.begin_tenant(self.scope).await?;
        let (letter, account) = letter_for(&tx, purpose, email.normalized()).await?;
        let code = new_code();
        let expires_at = now + CODE_TTL;
        let challenge_id = match live_challenge(&tx, purpose, email.normalized(), now).await? {
            Some(live) if live.failures >= MAX_FAILURES => {
                return Err(Error::RateLimited {
                    retry_after: (live.expires_at - now).to_std().unwrap_or_default(),
                });
            }
            Some(live) => {
                // The new code replaces the old one; the failures stay.
                let id = live.id;
                let mut active: rows::ActiveModel = live.into();
                active.code_hash = Set(stored_code(letter, id, &code));
                active.expires_at = Set(expires_at);
                active.email = Set(email.as_str().to_owned());
                tx.update(active).await?;
                id
            }
            None => {
                let id = Uuid::now_v7();
                tx.insert(rows::ActiveModel {
                    tenant_id: Set(tx.tenant_id()),
                    id: Set(id),
                    purpose: Set(purpose.as_str().to_owned()),
                    email: Set(email.as_str().to_owned()),
                    email_normalized: Set(email.normalized().to_owned()),
                    code_hash: Set(stored_code(letter, id, &code)),
                    failures: Set(0),
                    created_at: Set(now),
                    expires_at: Set(expires_at),
                    completed_at: Set(None),
                    proof_hash: Set(None),
                    proof_expires_at: Set(None),
                    proof_used_at: Set(None),
                })
                .await?;
                id
            }
        };
        let target = challenge_id.to_string();
        audit::record(
            &tx,
            self.actor,
            "email_verification.start",
            Some(Target {
                kind: "email_challenge",
                id: &target,
            }),
            json!({
                "purpose": purpose.as_str(),
                "email": email.as_str(),
                "codeSent": letter == Letter::Code,
                "ipAddress": self.client_ip,
            }),
        )
        .await?;
        let message = compose(self.mail.page_url, letter, purpose, challenge_id, &code);
        // Written in the account's language where there is one, else the browser's.
        let recipient = match &account {
            Some(identity) => Recipient::identity(identity),
            None => Recipient::address(email.as_str()),
        };
        // The address as typed, not as stored on the account.
        let recipient = Recipient {
            address: email.as_str(),
            ..recipient
        };
        // Sent before the commit: a message the mailer refused leaves no challenge behind.
        self.mail.send_in(&tx, &recipient, &message).await?;
        tx.commit().await?;
        Ok(StartedVerification {
            challenge_id,
            expires_in: seconds(CODE_TTL),
        })
    }

    /// `completeEmailVerification`: the right code of a live challenge answers a proof; a
    /// wrong one counts against the challenge. Anonymous.
    #[tracing::instrument(name = "core.complete_email_verification", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn complete(&self, challenge_id: Uuid, code: &str) -> Result<CompletedVerification> {
        self.complete_checked(challenge_id, code, None).await
    }

    /// [`Self::complete`] for a challenge of `purpose` only: one of another purpose is
    /// answered as unknown (and counts no failure).
    pub async fn complete_for(
        &self,
        challenge_id: Uuid,
        code: &str,
        purpose: Purpose,
    ) -> Result<CompletedVerification> {
        self.complete_checked(challenge_id, code, Some(purpose))
            .await
    }

    async fn complete_checked(
        &self,
        challenge_id: Uuid,
        code: &str,
        expected: Option<Purpose>,
    ) -> Result<CompletedVerification> {
        let code: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if code.is_empty() || code.len() > 12 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::validation(
                "code",
                "must be the digits from the email",
            ));
        }
        let now = self.clock.now();
        let tx = self.db.begin_tenant(self.scope).await?;
        let challenge = tx
            .find::<rows::Entity>()
            .filter(rows::Column::Id.eq(challenge_id))
            .one()
            .await?
            .filter(|row| row.completed_at.is_none() && row.expires_at > now)
            .ok_or_else(unknown_challenge)?;
        let purpose = Purpose::parse(&challenge.purpose)?;
        if expected.is_some_and(|expected| expected != purpose) {
            return Err(unknown_challenge());
        }
        let target = challenge_id.to_string();
        let audit_target = || Target {
            kind: "email_challenge",
            id: &target,
        };
        if challenge.failures >= MAX_FAILURES {
            return Err(Error::Refused(
                "too many wrong codes: this code no longer works; ask for a new one once it expires"
                    .into(),
            ));
        }
        if !secrets::same_secret(&code_hash(challenge_id, &code), &challenge.code_hash) {
            tx.update_many::<rows::Entity>()
                .col_expr(
                    rows::Column::Failures,
                    Expr::col(rows::Column::Failures).add(1),
                )
                .filter(rows::Column::Id.eq(challenge_id))
                .exec()
                .await?;
            let failures = challenge.failures + 1;
            audit::record(
                &tx,
                self.actor,
                "email_verification.fail",
                Some(audit_target()),
                json!({ "purpose": purpose.as_str(), "failures": failures, "ipAddress": self.client_ip }),
            )
            .await?;
            tx.commit().await?;
            let left = MAX_FAILURES - failures;
            return Err(Error::validation(
                "code",
                if left > 0 {
                    format!("is wrong; {left} tries left")
                } else {
                    "is wrong, and that was the last try: ask for a new code once this one expires"
                        .to_owned()
                },
            ));
        }
        let proof = secrets::generate(PROOF_PREFIX);
        let completed = tx
            .update_many::<rows::Entity>()
            .col_expr(rows::Column::CompletedAt, Expr::value(now))
            .col_expr(rows::Column::ProofHash, Expr::value(secrets::hash(&proof)))
            .col_expr(rows::Column::ProofExpiresAt, Expr::value(now + PROOF_TTL))
            .filter(rows::Column::Id.eq(challenge_id))
            .filter(rows::Column::CompletedAt.is_null())
            .filter(rows::Column::Failures.lt(MAX_FAILURES))
            .exec()
            .await?
            .rows_affected;
        if completed != 1 {
            return Err(unknown_challenge());
        }
        if purpose == Purpose::VerifyAddress
            && let Some(identity) =
                identities::find_by_email(&tx, &challenge.email_normalized).await?
        {
            identities::mark_email_verified_in(&tx, self.actor, identity.id).await?;
        }
        audit::record(
            &tx,
            self.actor,
            "email_verification.complete",
            Some(audit_target()),
            json!({ "purpose": purpose.as_str(), "email": challenge.email, "ipAddress": self.client_ip }),
        )
        .await?;
        tx.commit().await?;
        Ok(CompletedVerification {
            email_proof: proof,
            expires_in: seconds(PROOF_TTL),
            purpose,
            email: challenge.email,
        })
    }
}

/// The stored hash of a challenge's code: of the code sent, or of a secret nobody has when the
/// message carries no code (so no code completes it).
fn stored_code(letter: Letter, challenge_id: Uuid, code: &str) -> String {
    match letter {
        Letter::Code => code_hash(challenge_id, code),
        _ => code_hash(challenge_id, &secrets::generate("")),
    }
}

impl Verifications<'_> {
    /// `sendVerificationEmail`: sends the identity's address a code and link that verify it.
    /// Requires `WriteIdentities`.
    #[tracing::instrument(name = "core.send_verification_email", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn send_verification_email(&self, identity_id: Uuid) -> Result<StartedVerification> {
        authorize(self.actor, Permission::WriteIdentities, Resource::Tenant)?;
        let tx = self.db.begin_tenant(self.scope).await?;
        let identity = identities::find_in(&tx, identity_id).await?;
        tx.commit().await?;
        if identity.email_verified {
            return Err(Error::Conflict("the address is verified already".into()));
        }
        self.start(&identity.email, Purpose::VerifyAddress).await
    }
}
