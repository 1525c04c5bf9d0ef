//! TOTP authenticator apps as the second factor of password sign-ins (RFC 6238; `code` has the
//! arithmetic). The signed-in owner enrolls one (`beginTotpEnrollment` answers the secret and an
//! `otpauth://` URI; `finishTotpEnrollment` with a first right code turns it on and answers ten
//! single-use recovery codes, shown once) and may remove it (`removeTotp`); each change sends a
//! notice. Secrets are sealed under the master key, bound to the tenant and identity; a time
//! step once accepted is never accepted again (the update that records it is conditional, so
//! two requests racing with one code cannot both pass); recovery codes are stored hashed.

pub mod code;
mod rows;

use rows::{authenticator, recovery_code};

crate::tenant_owned!(authenticator);
crate::tenant_owned!(recovery_code);

use crate::audit::{self, Target};
use crate::crypto::MasterKey;
use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::identities;
use crate::mail::Recipient;
use crate::notices::{Notice, send_notice};
use crate::passkeys::Ceremonies;
use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, QuerySelect};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

/// Recovery codes made at enrollment.
pub const RECOVERY_CODES: usize = 10;

/// What `beginTotpEnrollment` answers.
#[derive(Clone, Debug)]
pub struct TotpEnrollment {
    /// Base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code or a link on the device.
    pub otpauth_uri: String,
}

/// Which second factor a sign-in used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    /// A recovery code, with how many are left.
    RecoveryCode {
        left: u64,
    },
}

fn seal_context(tx: &TenantTx, identity_id: Uuid) -> Vec<u8> {
    format!("totp:{}:{identity_id}", tx.tenant_id()).into_bytes()
}

async fn authenticator_of(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Option<authenticator::Model>> {
    Ok(tx
        .find::<authenticator::Entity>()
        .filter(authenticator::Column::IdentityId.eq(identity_id))
        .one()
        .await?)
}

/// The identities among `identity_ids` with a TOTP authenticator in use.
pub(crate) async fn enrolled_among(tx: &TenantTx, identity_ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = tx
        .find::<authenticator::Entity>()
        .select_only()
        .column(authenticator::Column::IdentityId)
        .filter(authenticator::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .filter(authenticator::Column::ConfirmedAt.is_not_null())
        .into_tuple()
        .all()
        .await?;
    Ok(ids.into_iter().collect())
}

/// Whether `identity_id` has a TOTP authenticator in use.
pub(crate) async fn enrolled_in(tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
    Ok(enrolled_among(tx, &[identity_id])
        .await?
        .contains(&identity_id))
}

/// A new recovery code: 50 random bits as `xxxxx-xxxxx` (lowercase base32).
fn new_recovery_code() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 7];
    rand::rng().fill_bytes(&mut bytes);
    let text = data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase();
    format!("{}-{}", &text[..5], &text[5..10])
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn recovery_code_hash(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crate::secrets::hash(&normalized)
}

/// Checks a second-factor `code` of `identity_id` at `now` and spends it: a six-digit code of
/// the authenticator (its step recorded so it never works again), or an unused recovery code.
/// `None` when it is wrong.
pub(crate) async fn spend_second_factor_in(
    tx: &TenantTx,
    master_key: &MasterKey,
    identity_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<SecondFactor>> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == code::DIGITS as usize && digits.chars().all(|c| c.is_ascii_digit()) {
        let Some(row) = authenticator_of(tx, identity_id)
            .await?
            .filter(|row| row.confirmed_at.is_some())
        else {
            return Ok(None);
        };
        let secret = master_key.open(&seal_context(tx, identity_id), &row.sealed_secret)?;
        let Some(step) = code::matching_step(&secret, &digits, now, row.last_used_step) else {
            return Ok(None);
        };
        let recorded = tx
            .update_many::<authenticator::Entity>()
            .col_expr(authenticator::Column::LastUsedStep, Expr::value(step))
            .filter(authenticator::Column::IdentityId.eq(identity_id))
            .filter(
                authenticator::Column::LastUsedStep
                    .is_null()
                    .or(authenticator::Column::LastUsedStep.lt(step)),
            )
            .exec()
            .await?
            .rows_affected;
        return Ok((recorded == 1).then_some(SecondFactor::Totp));
    }
    let spent = tx
        .update_many::<recovery_code::Entity>()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .filter(recovery_code::Column::CodeHash.eq(recovery_code_hash(code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec()
        .await?
        .rows_affected;
    if spent != 1 {
        return Ok(None);
    }
    let left = tx
        .find::<recovery_code::Entity>()
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count()
        .await?;
    Ok(Some(SecondFactor::RecoveryCode { left }))
}

fn audit_target(identity_id: &str) -> Target<'_> {
    Target {
        kind: "identity",
        id: identity_id,
    }
}

/// Audits a change of `identity_id`'s authenticator as `action`, commits it, then tells the
/// owner with `notice`.
async fn finish_change(
    c: &Ceremonies<'_>,
    tx: TenantTx,
    identity_id: Uuid,
    action: &str,
    notice: Notice<'_>,
) -> Result<identities::Identity> {
    let target = identity_id.to_string();
    audit::record(&tx, c.actor, action, Some(audit_target(&target)), json!({})).await?;
    let identity = identities::find_in(&tx, identity_id).await?;
    tx.commit().await?;
    send_notice(&c.mail, &Recipient::identity(&identity), notice).await;
    Ok(identity)
}

/// `beginTotpEnrollment`: a new secret for the signed-in caller, who must have a password (TOTP
/// is the second factor of password sign-ins). Replaces an enrollment not yet finished; an
/// authenticator in use must be removed first.
#[tracing::instrument(name = "core.begin_totp_enrollment", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn begin_enrollment(c: &Ceremonies<'_>) -> Result<TotpEnrollment> {
    let (identity_id, _) = c.actor.signed_in()?;
    let tx = c.db.begin_tenant(c.scope).await?;
    if !super::has_password_in(&tx, identity_id).await? {
        return Err(Error::Refused(
            "an authenticator app is the second factor of password sign-ins: set a password first (changePassword)"
                .into(),
        ));
    }
    let existing = authenticator_of(&tx, identity_id).await?;
    if existing
        .as_ref()
        .is_some_and(|row| row.confirmed_at.is_some())
    {
        return Err(Error::Conflict(
            "an authenticator app is already in use: remove it first (removeTotp)".into(),
        ));
    }
    let identity = identities::find_in(&tx, identity_id).await?;
    let secret = code::new_secret();
    let sealed = c
        .issuer
        .master_key
        .seal(&seal_context(&tx, identity_id), &secret)?;
    let row = authenticator::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        identity_id: Set(identity_id),
        sealed_secret: Set(sealed),
        confirmed_at: Set(None),
        last_used_step: Set(None),
        created_at: Set(c.clock.now()),
    };
    if existing.is_some() {
        tx.update(row).await?;
    } else {
        tx.insert(row).await?;
    }
    tx.commit().await?;
    let secret = code::secret_text(&secret);
    let issuer = c.mail.tenant_name;
    let label = format!("{issuer}:{}", identity.email);
    let mut uri = url::Url::parse("otpauth://totp/").map_err(Error::internal)?;
    uri.set_path(&label);
    uri.query_pairs_mut()
        .append_pair("secret", &secret)
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &code::DIGITS.to_string())
        .append_pair("period", &code::STEP_SECONDS.to_string());
    Ok(TotpEnrollment {
        secret,
        otpauth_uri: uri.to_string(),
    })
}

/// `finishTotpEnrollment`: a right code from the app turns the authenticator on and answers
/// [`RECOVERY_CODES`] new recovery codes (older ones stop working).
#[tracing::instrument(name = "core.finish_totp_enrollment", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn finish_enrollment(c: &Ceremonies<'_>, code_typed: &str) -> Result<Vec<String>> {
    let (identity_id, _) = c.actor.signed_in()?;
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    let row = authenticator_of(&tx, identity_id)
        .await?
        .filter(|row| row.confirmed_at.is_none())
        .ok_or_else(|| {
            Error::Refused("no enrollment is waiting: call beginTotpEnrollment first".into())
        })?;
    let secret = c
        .issuer
        .master_key
        .open(&seal_context(&tx, identity_id), &row.sealed_secret)?;
    let digits: String = code_typed.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = code::matching_step(&secret, &digits, now, None) else {
        return Err(Error::validation(
            "code",
            "is not the app's current code: check that the device's clock is right and type the code it shows now",
        ));
    };
    let confirmed = tx
        .update_many::<authenticator::Entity>()
        .col_expr(authenticator::Column::ConfirmedAt, Expr::value(now))
        .col_expr(authenticator::Column::LastUsedStep, Expr::value(step))
        .filter(authenticator::Column::IdentityId.eq(identity_id))
        .filter(authenticator::Column::ConfirmedAt.is_null())
        .exec()
        .await?
        .rows_affected;
    if confirmed != 1 {
        return Err(Error::Conflict(
            "the enrollment was already finished".into(),
        ));
    }
    tx.delete_many::<recovery_code::Entity>()
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        tx.insert(recovery_code::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            identity_id: Set(identity_id),
            code_hash: Set(recovery_code_hash(code)),
            used_at: Set(None),
            created_at: Set(now),
        })
        .await?;
    }
    finish_change(c, tx, identity_id, "totp.enable", Notice::TotpEnabled).await?;
    Ok(codes)
}

/// `removeTotp`: the signed-in caller's authenticator and recovery codes are deleted.
#[tracing::instrument(name = "core.remove_totp", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn remove(c: &Ceremonies<'_>) -> Result<identities::Identity> {
    let (identity_id, _) = c.actor.signed_in()?;
    let tx = c.db.begin_tenant(c.scope).await?;
    let removed = tx
        .delete_many::<authenticator::Entity>()
        .filter(authenticator::Column::IdentityId.eq(identity_id))
        .exec()
        .await?
        .rows_affected;
    if removed == 0 {
        return Err(Error::NotFound);
    }
    tx.delete_many::<recovery_code::Entity>()
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    let identity = finish_change(c, tx, identity_id, "totp.remove", Notice::TotpRemoved).await?;
    Ok(identity)
}

/// Whether `identity_id` has an authenticator app, since when, and how many unused recovery
/// codes it holds, for its owner's data export (never the secret or the codes).
pub(crate) async fn totp_data_in(tx: &TenantTx, identity_id: Uuid) -> Result<serde_json::Value> {
    let authenticator = authenticator_of(tx, identity_id).await?;
    let unused_codes = tx
        .find::<recovery_code::Entity>()
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count()
        .await?;
    Ok(json!({
        "enrolled": authenticator.as_ref().is_some_and(|a| a.confirmed_at.is_some()),
        "confirmedAt": authenticator.and_then(|a| a.confirmed_at),
        "unusedRecoveryCodes": unused_codes,
    }))
}

/// Removes the authenticator app and recovery codes of `identity_id` (its account is being
/// erased).
pub(crate) async fn erase_totp_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<recovery_code::Entity>()
        .filter(recovery_code::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    tx.delete_many::<authenticator::Entity>()
        .filter(authenticator::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
