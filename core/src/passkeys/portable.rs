//! Passkeys as exports carry them and imports bring them back: the stored credential (its
//! public key, counter and flags; a server never holds a private key) with its name and
//! times. An imported passkey signs in as before as long as the relying party (the tenant's
//! host name) is the same, since the authenticator's key is bound to it.

use super::rows::{new_row, passkey_row};
use crate::db::TenantTx;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use uuid::Uuid;

/// A passkey in an export file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortablePasskey {
    /// The credential id, base64url without padding.
    pub credential_id: String,
    pub name: String,
    /// The credential as stored: public key (COSE), signature counter, flags.
    pub credential: Value,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl PortablePasskey {
    /// Checks that the credential is one this server can verify sign-ins with and that its
    /// id is the one it names.
    pub fn check(&self) -> Result<()> {
        let passkey: webauthn_rs::prelude::Passkey =
            serde_json::from_value(self.credential.clone()).map_err(|e| {
                Error::validation(
                    "passkeys.credential",
                    format!("is not a stored passkey: {e}"),
                )
            })?;
        let id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref() as &[u8]);
        if id != self.credential_id {
            return Err(Error::validation(
                "passkeys.credentialId",
                "is not the id of the credential it comes with",
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(Error::validation(
                "passkeys.name",
                "must be 1 to 100 characters",
            ));
        }
        Ok(())
    }
}

/// The active passkeys of `identity_ids`, oldest first, with the identity each belongs to.
pub(crate) async fn portable_of_in(
    tx: &TenantTx,
    identity_ids: &[Uuid],
) -> Result<Vec<(Uuid, PortablePasskey)>> {
    Ok(tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .order_by_asc(passkey_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(|row| {
            (
                row.identity_id,
                PortablePasskey {
                    credential_id: row.credential_id,
                    name: row.name,
                    credential: row.passkey,
                    created_at: row.created_at,
                    last_used_at: row.last_used_at,
                },
            )
        })
        .collect())
}

/// Stores imported passkeys (each [`PortablePasskey::check`]ed beforehand); one whose
/// credential id the tenant already has is left out. Returns how many were stored.
pub(crate) async fn import_in(
    tx: &TenantTx,
    passkeys: Vec<(Uuid, PortablePasskey)>,
) -> Result<u64> {
    let known: HashSet<String> = tx
        .find::<passkey_row::Entity>()
        .filter(
            passkey_row::Column::CredentialId
                .is_in(passkeys.iter().map(|(_, p)| p.credential_id.clone())),
        )
        .all()
        .await?
        .into_iter()
        .map(|row| row.credential_id)
        .collect();
    let mut seen = HashSet::new();
    let rows: Vec<passkey_row::ActiveModel> = passkeys
        .into_iter()
        .filter(|(_, p)| !known.contains(&p.credential_id) && seen.insert(p.credential_id.clone()))
        .map(|(identity_id, p)| {
            new_row(
                tx.tenant_id(),
                identity_id,
                p.credential_id,
                p.name,
                p.credential,
                p.created_at,
                p.last_used_at,
            )
        })
        .collect();
    let stored = rows.len() as u64;
    tx.insert_many(rows).await?;
    Ok(stored)
}
