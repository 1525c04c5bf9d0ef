//! Passkey management: a passkey as its owner or an admin sees it, listing and counting an
//! identity's passkeys, renaming and revoking one.

use super::rows::passkey_row;
use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::identities;
use crate::mail::{Recipient, TenantMail};
use crate::notices::{Notice, send_notice};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::validate::Name;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// A registered passkey as its owner or an admin sees it.
#[derive(Clone, Debug)]
pub struct Passkey {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub name: String,
    pub credential_id: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<passkey_row::Model> for Passkey {
    fn from(row: passkey_row::Model) -> Self {
        Self {
            id: row.id,
            identity_id: row.identity_id,
            name: row.name,
            credential_id: row.credential_id,
            sign_count: row.sign_count,
            backup_eligible: row.backup_eligible,
            backup_state: row.backup_state,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// An identity's passkeys (revoked ones excluded), oldest first: the caller's own, or any
/// identity's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.list_passkeys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_passkeys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    page: PageRequest,
) -> Result<Page<Passkey>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .filter(passkey_row::Column::RevokedAt.is_null());
    let rows = keyset(query, passkey_row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(Passkey::from))
}

/// How many active passkeys each of `identity_ids` has, in one statement (identities without
/// passkeys are absent): the caller's own count, or anyone's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.count_passkeys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn count_passkeys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>> {
    for identity_id in identity_ids {
        authorize(
            actor,
            Permission::ReadIdentities,
            Resource::OwnedBy(*identity_id),
        )?;
    }
    let tx = db.begin_tenant(scope).await?;
    let counts: Vec<(Uuid, i64)> = tx
        .find::<passkey_row::Entity>()
        .select_only()
        .column(passkey_row::Column::IdentityId)
        .column_as(passkey_row::Column::Id.count(), "passkeys")
        .filter(passkey_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .group_by(passkey_row::Column::IdentityId)
        .into_tuple()
        .all()
        .await?;
    tx.commit().await?;
    Ok(counts
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

async fn change_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    action: &str,
    change: impl FnOnce(&mut passkey_row::ActiveModel),
) -> Result<(Passkey, identities::Identity)> {
    if actor.principal() == &Principal::Anonymous {
        return Err(Error::Unauthenticated);
    }
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::Id.eq(id))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    authorize(
        actor,
        Permission::WriteIdentities,
        Resource::OwnedBy(row.identity_id),
    )?;
    let identity_id = row.identity_id;
    let mut active: passkey_row::ActiveModel = row.into();
    change(&mut active);
    let row = tx.update(active).await?;
    let target = id.to_string();
    audit::record(
        &tx,
        actor,
        action,
        Some(Target {
            kind: "passkey",
            id: &target,
        }),
        json!({ "identityId": identity_id }),
    )
    .await?;
    let owner = identities::find_in(&tx, identity_id).await?;
    tx.commit().await?;
    Ok((row.into(), owner))
}

/// Renames a passkey: the caller's own, or any for admins (`WriteIdentities`).
#[tracing::instrument(name = "core.rename_passkey", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn rename_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    name: &str,
) -> Result<Passkey> {
    let name = Name::parse("name", name, 100)?.into_inner();
    let (passkey, _) = change_passkey(db, scope, actor, id, "passkey.rename", |active| {
        active.name = Set(name)
    })
    .await?;
    Ok(passkey)
}

/// Revokes a passkey: it can no longer sign in. The caller's own, or any for admins. The
/// owner gets a notice by email.
#[tracing::instrument(name = "core.revoke_passkey", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    mail: &TenantMail<'_>,
    id: Uuid,
) -> Result<Passkey> {
    let (passkey, owner) = change_passkey(db, scope, actor, id, "passkey.revoke", |active| {
        active.revoked_at = Set(Some(Utc::now()))
    })
    .await?;
    send_notice(
        mail,
        &Recipient::identity(&owner),
        Notice::PasskeyRemoved {
            name: &passkey.name,
        },
    )
    .await;
    Ok(passkey)
}
