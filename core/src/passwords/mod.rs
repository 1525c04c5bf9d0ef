//! Passwords, for tenants that allow them (`signInMethods` with `PASSWORD`, off by default):
//! sign-up with an email proof, sign-in (with a TOTP second factor where enrolled), change by
//! the signed-in owner, and reset with a `RECOVERY` proof. The rules (NIST SP 800-63B rev 4,
//! OWASP):
//! - `policy`: length (15, or 8 with a required second factor), no composition rules, a check
//!   against common and breached passwords, NFKC normalization;
//! - `hashing`: argon2id at OWASP parameters, off the async workers and bounded; hashes of
//!   other algorithms or parameters are hashed again at the next successful sign-in;
//! - `throttle`: failures counted per (account, IP) and per IP, never per account alone;
//! - an unknown address costs a hash check too and gets the same answer as a wrong password;
//! - every set, change, reset and second-factor change sends a notice.
//!
//! Submodules: `rows`, `policy`, `hashing`, `throttle`, `sign_in` (sign-up, sign-in, second
//! factor), `manage` (change and reset), `totp` (the second factor) and `factors` (what an
//! identity has, for the API).

mod factors;
mod hashing;
mod manage;
mod policy;
mod rows;
mod sign_in;
mod throttle;
pub mod totp;

crate::tenant_owned!(rows);

pub use factors::{SignInFactors, sign_in_factors};
pub use manage::{change_password, reset_password};
pub use policy::{MAX_LENGTH, MIN_LENGTH_SINGLE_FACTOR, MIN_LENGTH_WITH_SECOND_FACTOR};
pub use sign_in::{
    PasswordSignIn, complete_second_factor, sign_in_with_password, sign_up_with_password,
};
pub use throttle::WINDOW as THROTTLE_WINDOW;

use crate::db::TenantTx;
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Every second-factor token starts with this.
pub const SECOND_FACTOR_TOKEN_PREFIX: &str = "lk2fa_";

/// The stored password hash of `identity_id`, if it has one.
pub(crate) async fn stored_hash_in(tx: &TenantTx, identity_id: Uuid) -> Result<Option<String>> {
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .one()
        .await?
        .map(|row| row.hash))
}

/// Whether `identity_id` has a password.
pub(crate) async fn has_password_in(tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
    Ok(stored_hash_in(tx, identity_id).await?.is_some())
}

/// Whether `identity_id` has a password and since when, with its second factor, for its
/// owner's data export (never the hash).
pub(crate) async fn password_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<serde_json::Value> {
    let password = tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .one()
        .await?;
    Ok(serde_json::json!({
        "hasPassword": password.is_some(),
        "setAt": password.as_ref().map(|row| row.created_at),
        "changedAt": password.map(|row| row.updated_at),
        "authenticatorApp": totp::totp_data_in(tx, identity_id).await?,
    }))
}

/// Removes the password and second factor of `identity_id` (its account is being erased).
pub(crate) async fn erase_password_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    totp::erase_totp_in(tx, identity_id).await
}

/// Stores `hash` as the password of `identity_id` (replacing any).
async fn store_hash_in(
    tx: &TenantTx,
    identity_id: Uuid,
    hash: String,
    now: DateTime<Utc>,
) -> Result<()> {
    let existing = tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .one()
        .await?;
    match existing {
        Some(row) => {
            let mut row: rows::ActiveModel = row.into();
            row.hash = Set(hash);
            row.updated_at = Set(now);
            tx.update(row).await?;
        }
        None => {
            tx.insert(rows::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                identity_id: Set(identity_id),
                hash: Set(hash),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .await?;
        }
    }
    Ok(())
}

/// Stores imported hashes (checked by `latchkey-password-hashes` beforehand) for the
/// identities that have no password yet; one that has a password keeps it (it may have been
/// changed since the file was made). Returns how many were stored.
pub(crate) async fn import_hashes_in(
    tx: &TenantTx,
    hashes: Vec<(Uuid, String)>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let having: HashSet<Uuid> =
        hashes_of_in(tx, &hashes.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .await?
            .into_keys()
            .collect();
    let rows: Vec<rows::ActiveModel> = hashes
        .into_iter()
        .filter(|(identity_id, _)| !having.contains(identity_id))
        .map(|(identity_id, hash)| rows::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            identity_id: Set(identity_id),
            hash: Set(hash),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    let stored = rows.len() as u64;
    tx.insert_many(rows).await?;
    Ok(stored)
}

/// The stored hashes of those of `identity_ids` that have a password (for exports that ask
/// for them; the caller authorizes and audits).
pub(crate) async fn hashes_of_in(
    tx: &TenantTx,
    identity_ids: &[Uuid],
) -> Result<HashMap<Uuid, String>> {
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(|row| (row.identity_id, row.hash))
        .collect())
}
