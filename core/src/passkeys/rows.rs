//! The stored passkeys (the `passkeys` table), shared by the ceremonies and management.

use crate::db::TenantTx;
use crate::error::Result;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
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
