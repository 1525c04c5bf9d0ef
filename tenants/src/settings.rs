//! A tenant's settings, changed under a lock so concurrent changes do not undo each other.

use latchkey_core::audit::Target;
use latchkey_core::authz::{Grant, Resource, authorize};
use latchkey_core::catalogue::{Tenant, tenant_row};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::TenantTx;
use latchkey_core::granted;
use latchkey_core::settings::{SettingsChange, TenantSettings};
use latchkey_core::signing_keys::{self, SigningKeyCache};
use latchkey_core::{Actor, Database, Error, Permission, Result, TenantScope};
use sea_orm::{QuerySelect, Set};
use serde_json::json;

/// `updateTenantSettings`: applies `change` to the settings as stored now (inside the
/// transaction, so concurrent updates do not undo each other), validates and stores them.
/// Changing the signing algorithm rotates to a key of the new algorithm at once, and the
/// tenant's key is dropped from `key_cache` once committed. Requires `ManageTenant`.
pub async fn update_settings(
    db: &Database,
    master_key: &MasterKey,
    key_cache: &SigningKeyCache,
    scope: &TenantScope,
    actor: &Actor,
    change: SettingsChange,
) -> Result<Tenant> {
    let manage = authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = lock_tenant(&tx, &manage).await?;
    let before = TenantSettings::from_json(&row.settings);
    let mut settings = before.clone();
    change.apply(&mut settings);
    settings.validate()?;
    let stored = serde_json::to_value(&settings).map_err(Error::internal)?;
    let mut active: tenant_row::ActiveModel = row.into();
    active.settings = Set(stored.clone());
    active.updated_at = Set(chrono::Utc::now());
    let tenant = Tenant::try_from(tx.update(active).await?)?;
    let rotated = before.signing_algorithm != settings.signing_algorithm;
    if rotated {
        signing_keys::rotate_in(&tx, &manage, master_key, settings.signing_algorithm).await?;
    }
    let id = tenant.id.to_string();
    granted::audit(
        &tx,
        &manage,
        "tenant.settings.update",
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        json!({ "settings": stored }),
    )
    .await?;
    tx.commit().await?;
    if rotated {
        key_cache.invalidate(scope).await;
    }
    Ok(tenant)
}

/// The tenant of `tx`, locked for update until the transaction ends (PostgreSQL; SQLite has
/// one writer anyway), for a caller granted `ManageTenant` that is about to change it.
async fn lock_tenant(tx: &TenantTx, grant: &Grant<'_>) -> Result<tenant_row::Model> {
    grant.require(Permission::ManageTenant)?;
    tx.find::<tenant_row::Entity>()
        .lock_exclusive()
        .one()
        .await?
        .ok_or(Error::NotFound)
}
