//! The stored passkeys (the `passkeys` table), shared by the ceremonies and management.

use crate::db::TenantTx;
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub(super) mod passkey_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "passkeys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub credential_id: String,
        pub name: String,
        pub passkey: Json,
        pub sign_count: i64,
        pub backup_eligible: bool,
        pub backup_state: bool,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(passkey_row);

/// The row of a new passkey, its counter and backup flags read from the stored credential.
pub(super) fn new_row(
    tenant_id: Uuid,
    identity_id: Uuid,
    credential_id: String,
    name: String,
    stored: serde_json::Value,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
) -> passkey_row::ActiveModel {
    let flag = |name: &str| stored["cred"][name].as_bool().unwrap_or(false);
    passkey_row::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        identity_id: Set(identity_id),
        credential_id: Set(credential_id),
        name: Set(name),
        sign_count: Set(stored["cred"]["counter"].as_i64().unwrap_or(0)),
        backup_eligible: Set(flag("backup_eligible")),
        backup_state: Set(flag("backup_state")),
        passkey: Set(stored),
        created_at: Set(created_at),
        last_used_at: Set(last_used_at),
        revoked_at: Set(None),
    }
}

pub(super) async fn passkeys_of(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<passkey_row::Model>> {
    Ok(tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .order_by_asc(passkey_row::Column::Id)
        .all()
        .await?)
}

/// Whether the identity has an active passkey.
pub(crate) async fn has_passkey_in(tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
    Ok(!passkeys_of(tx, identity_id).await?.is_empty())
}

/// The ids of every passkey an identity ever registered, revoked ones included.
pub(crate) async fn all_passkey_ids_of(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect())
}

/// Every passkey of `identity_id`, removed ones included, for its owner's data export: what
/// the account page shows, with the credential id (never the stored credential).
pub(crate) async fn passkeys_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .order_by_asc(passkey_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "name": row.name,
                "credentialId": row.credential_id,
                "backupEligible": row.backup_eligible,
                "backedUp": row.backup_state,
                "createdAt": row.created_at,
                "lastUsedAt": row.last_used_at,
                "revokedAt": row.revoked_at,
            })
        })
        .collect())
}

/// Removes every passkey of `identity_id` (its account is being erased).
pub(crate) async fn erase_passkeys_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
