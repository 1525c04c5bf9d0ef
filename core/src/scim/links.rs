//! What a directory keeps about its users and groups beyond the identity and the
//! organization: its `externalId`, and for users the attributes only SCIM carries (`name`,
//! `title`, `emails` as sent, the enterprise extension). One row per directory and resource,
//! so an organization's directory and the tenant's never see each other's.

use super::Directory;
use crate::db::TenantTx;
use crate::error::{Error, Result, is_unique_violation};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

mod user_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scim_users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub identity_id: Uuid,
        pub external_id: Option<String>,
        pub profile: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(user_row);

mod group_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scim_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: String,
        pub external_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(group_row);

/// A directory's link to one identity.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct UserLink {
    pub external_id: Option<String>,
    /// `{ "name", "title", "emails", "<enterprise URN>" }`, as the directory sent them.
    pub profile: Value,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<user_row::Model> for UserLink {
    fn from(row: user_row::Model) -> Self {
        Self {
            external_id: row.external_id,
            profile: row.profile,
            updated_at: Some(row.updated_at),
        }
    }
}

fn taken(error: sea_orm::DbErr, what: &str) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict(format!(
            "another {what} of this directory has this externalId"
        ))
    } else {
        error.into()
    }
}

/// The directory's links to `identity_ids` (those it has).
pub(super) async fn user_links_in(
    tx: &TenantTx,
    directory: Directory,
    identity_ids: &[Uuid],
) -> Result<Vec<(Uuid, UserLink)>> {
    Ok(tx
        .find::<user_row::Entity>()
        .filter(user_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(user_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(|row| (row.identity_id, UserLink::from(row)))
        .collect())
}

/// The identity the directory linked to `external_id`, if any.
pub(super) async fn user_by_external_id_in(
    tx: &TenantTx,
    directory: Directory,
    external_id: &str,
) -> Result<Option<Uuid>> {
    Ok(tx
        .find::<user_row::Entity>()
        .filter(user_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(user_row::Column::ExternalId.eq(external_id))
        .one()
        .await?
        .map(|row| row.identity_id))
}

/// Writes the directory's link to `identity_id` (new or changed). `Conflict` when another
/// identity of the directory has the same `externalId`.
pub(super) async fn save_user_link_in(
    tx: &TenantTx,
    directory: Directory,
    identity_id: Uuid,
    link: &UserLink,
) -> Result<()> {
    let now = Utc::now();
    let existing = tx
        .find::<user_row::Entity>()
        .filter(user_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(user_row::Column::IdentityId.eq(identity_id))
        .one()
        .await?;
    match existing {
        Some(row) => {
            let mut active: user_row::ActiveModel = row.into();
            active.external_id = Set(link.external_id.clone());
            active.profile = Set(link.profile.clone());
            active.updated_at = Set(now);
            tx.update(active).await.map_err(|e| taken(e, "user"))?;
        }
        None => {
            tx.insert(user_row::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                scope_id: Set(directory.scope_id()),
                identity_id: Set(identity_id),
                external_id: Set(link.external_id.clone()),
                profile: Set(link.profile.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .await
            .map_err(|e| taken(e, "user"))?;
        }
    }
    Ok(())
}

/// Forgets the directory's link to `identity_id`.
pub(super) async fn delete_user_link_in(
    tx: &TenantTx,
    directory: Directory,
    identity_id: Uuid,
) -> Result<()> {
    tx.delete_many::<user_row::Entity>()
        .filter(user_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(user_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}

/// The directory's group links (`group_id` → `externalId`).
pub(super) async fn group_links_in(
    tx: &TenantTx,
    directory: Directory,
) -> Result<Vec<(String, Option<String>)>> {
    Ok(tx
        .find::<group_row::Entity>()
        .filter(group_row::Column::ScopeId.eq(directory.scope_id()))
        .all()
        .await?
        .into_iter()
        .map(|row| (row.group_id, row.external_id))
        .collect())
}

/// Links `group_id` to the directory with `external_id` (new or changed).
pub(super) async fn save_group_link_in(
    tx: &TenantTx,
    directory: Directory,
    group_id: &str,
    external_id: Option<String>,
) -> Result<()> {
    let now = Utc::now();
    let existing = tx
        .find::<group_row::Entity>()
        .filter(group_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(group_row::Column::GroupId.eq(group_id))
        .one()
        .await?;
    match existing {
        Some(row) => {
            let mut active: group_row::ActiveModel = row.into();
            active.external_id = Set(external_id);
            active.updated_at = Set(now);
            tx.update(active).await.map_err(|e| taken(e, "group"))?;
        }
        None => {
            tx.insert(group_row::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                scope_id: Set(directory.scope_id()),
                group_id: Set(group_id.to_owned()),
                external_id: Set(external_id),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .await
            .map_err(|e| taken(e, "group"))?;
        }
    }
    Ok(())
}

/// Takes `external_id` from any group link of the directory that holds it.
pub(super) async fn forget_group_external_id_in(
    tx: &TenantTx,
    directory: Directory,
    external_id: &str,
) -> Result<()> {
    tx.delete_many::<group_row::Entity>()
        .filter(group_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(group_row::Column::ExternalId.eq(external_id))
        .exec()
        .await?;
    Ok(())
}

/// Forgets the directory's link to `group_id`.
pub(super) async fn delete_group_link_in(
    tx: &TenantTx,
    directory: Directory,
    group_id: &str,
) -> Result<()> {
    tx.delete_many::<group_row::Entity>()
        .filter(group_row::Column::ScopeId.eq(directory.scope_id()))
        .filter(group_row::Column::GroupId.eq(group_id))
        .exec()
        .await?;
    Ok(())
}

/// The directories that provision `identity_id` over SCIM, for its owner's data export: the
/// scope (the tenant's id, or an organization's), the directory's id for it and what it sent.
pub(crate) async fn provisioning_data_in(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<Value>> {
    Ok(tx
        .find::<user_row::Entity>()
        .filter(user_row::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            serde_json::json!({
                "scope": row.scope_id,
                "externalId": row.external_id,
                "profile": row.profile,
                "createdAt": row.created_at,
                "updatedAt": row.updated_at,
            })
        })
        .collect())
}

/// Removes the SCIM links of `identity_id` (its account is being erased): its directories
/// find the user gone.
pub(crate) async fn erase_provisioning_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<user_row::Entity>()
        .filter(user_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
