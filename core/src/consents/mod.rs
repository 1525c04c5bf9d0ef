//! Consent: the tenant declares purposes (`consentPurposes`, each with a version), the
//! signed-in user grants or withdraws each (`setViewerConsent`), and every decision is kept
//! with its time, version and client address. The current decisions live on the identity
//! (`Identity.consents`), so they are in its `identity.updated` events (CRM connectors map
//! `consents.<purpose>` to a CRM field, e.g. a marketing opt-in) and in data exports.

mod rows;

crate::tenant_owned!(rows);

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityChanges};
use crate::passkeys::Ceremonies;
use crate::scope::TenantScope;
use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

/// Decisions listed at most.
pub const MAX_LISTED: u64 = 100;

/// One decision.
#[derive(Clone, Debug)]
pub struct ConsentDecision {
    pub purpose: String,
    pub version: u32,
    pub granted: bool,
    pub ip_address: Option<String>,
    pub decided_at: DateTime<Utc>,
}

impl From<rows::Model> for ConsentDecision {
    fn from(row: rows::Model) -> Self {
        Self {
            purpose: row.purpose,
            version: u32::try_from(row.version).unwrap_or_default(),
            granted: row.granted,
            ip_address: row.ip_address,
            decided_at: row.decided_at,
        }
    }
}

/// `setViewerConsent`: records the signed-in user's decision on `purpose` at its current
/// version and publishes the identity's new consents.
#[tracing::instrument(name = "core.set_viewer_consent", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn set_viewer_consent(
    c: &Ceremonies<'_>,
    purpose: &str,
    granted: bool,
) -> Result<Identity> {
    let (identity_id, _) = c.actor.signed_in()?;
    let declared = c
        .issuer
        .settings
        .consent_purposes
        .iter()
        .find(|declared| declared.key == purpose)
        .ok_or_else(|| Error::validation("purpose", "is not a consent purpose of this tenant"))?;
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    tx.insert(rows::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        identity_id: Set(identity_id),
        purpose: Set(declared.key.clone()),
        version: Set(i32::try_from(declared.version).map_err(Error::internal)?),
        granted: Set(granted),
        ip_address: Set(c.client.ip_address.clone()),
        decided_at: Set(now),
    })
    .await?;
    let current = identities::find_in(&tx, identity_id).await?;
    let mut consents = current.consents.as_object().cloned().unwrap_or_default();
    consents.insert(
        declared.key.clone(),
        json!({ "granted": granted, "version": declared.version, "decidedAt": now }),
    );
    let identity = identities::update_in(
        &tx,
        c.actor,
        identity_id,
        IdentityChanges {
            consents: Some(consents.into()),
            ..IdentityChanges::default()
        },
    )
    .await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        c.actor,
        if granted { "consent.grant" } else { "consent.withdraw" },
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "purpose": declared.key, "version": declared.version, "ipAddress": c.client.ip_address }),
    )
    .await?;
    tx.commit().await?;
    Ok(identity)
}

/// The newest decisions of `identity_id` (at most [`MAX_LISTED`]), newest first: the user's
/// own, or anyone's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.consent_history", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn consent_history(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
) -> Result<Vec<ConsentDecision>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let decisions = tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .order_by_desc(rows::Column::DecidedAt)
        .order_by_desc(rows::Column::Id)
        .limit(MAX_LISTED)
        .all()
        .await?;
    tx.commit().await?;
    Ok(decisions.into_iter().map(Into::into).collect())
}

/// Every consent decision of `identity_id` as it was made, oldest first, for its owner's data
/// export.
pub(crate) async fn decisions_data_in(
    tx: &crate::db::TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .order_by_asc(rows::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "purpose": row.purpose,
                "version": row.version,
                "granted": row.granted,
                "ipAddress": row.ip_address,
                "decidedAt": row.decided_at,
            })
        })
        .collect())
}

/// Removes the consent history of `identity_id` (its account is being erased).
pub(crate) async fn erase_decisions_in(tx: &crate::db::TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
