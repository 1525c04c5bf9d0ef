//! Latchkey's control plane: tenant lifecycle (create, suspend, resume, custom domains) on
//! top of the core's tenant catalogue. Every call here is a platform operation and takes a
//! [`PlatformScope`].

pub mod crm;

use latchkey_core::audit::Target;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::crypto::MasterKey;
use latchkey_core::granted;
use latchkey_core::page::{Page, PageRequest};
use latchkey_core::settings::{SettingsChange, TenantSettings};
use latchkey_core::signing_keys::SigningKeyCache;
use latchkey_core::tenancy::{self, Tenant, TenantStatus};
use latchkey_core::validate::{Domain, Name, Slug};
use latchkey_core::{
    Actor, AdminRole, Database, Error, Permission, PlatformScope, Result, TenantScope, api_keys,
    signing_keys,
};
use serde_json::json;
use uuid::Uuid;

/// The name of the first API key of every tenant.
const FIRST_KEY_NAME: &str = "Initial owner key";

/// A tenant just created, with its first owner API key (shown once, stored hashed).
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub owner_api_key: String,
}

/// Creates a tenant with its first owner API key and signing keys, in one transaction.
pub async fn create_tenant(
    db: &Database,
    master_key: &MasterKey,
    platform: &PlatformScope,
    slug: &str,
    name: &str,
    request_id: Option<String>,
) -> Result<CreatedTenant> {
    let slug = Slug::parse("slug", slug)?;
    let name = Name::parse("name", name, 200)?;
    let actor = Actor::platform(platform, request_id);
    let tx = db.begin_platform(platform).await?;
    let settings = TenantSettings::default();
    let stored = serde_json::to_value(&settings).map_err(Error::internal)?;
    let (tx, tenant) = tenancy::create_tenant(tx, &slug, name, stored).await?;
    let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    signing_keys::create_initial_keys(&tx, &manage, master_key, settings.signing_algorithm).await?;
    let tenant_id = tenant.id.to_string();
    granted::audit(
        &tx,
        &manage,
        "tenant.create",
        Some(Target {
            kind: "tenant",
            id: &tenant_id,
        }),
        json!({ "slug": tenant.slug, "name": tenant.name }),
    )
    .await?;
    let (_, secret) = api_keys::issue_api_key(
        &tx,
        &authorize(&actor, Permission::ManageApiKeys, Resource::Tenant)?,
        Name::parse("name", FIRST_KEY_NAME, 100)?,
        vec![AdminRole::Owner],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant.id, tenant.slug = %tenant.slug, "tenant created");
    Ok(CreatedTenant {
        tenant,
        owner_api_key: secret,
    })
}

/// Suspends (`Suspended`) or resumes (`Active`) a tenant. A suspended tenant's endpoints
/// refuse every request.
pub async fn set_status(
    db: &Database,
    platform: &PlatformScope,
    tenant_id: Uuid,
    status: TenantStatus,
    request_id: Option<String>,
) -> Result<Tenant> {
    let actor = Actor::platform(platform, request_id);
    let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    let (tx, tenant) = tenancy::set_tenant_status(db, platform, tenant_id, status).await?;
    let action = match status {
        TenantStatus::Active => "tenant.resume",
        TenantStatus::Suspended => "tenant.suspend",
    };
    let id = tenant.id.to_string();
    granted::audit(
        &tx,
        &manage,
        action,
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant.id, action, "tenant status changed");
    Ok(tenant)
}

/// Adds a custom domain on which the tenant's API and pages answer at `/graphql`, `/…`.
pub async fn add_domain(
    db: &Database,
    platform: &PlatformScope,
    tenant_id: Uuid,
    domain: &str,
    request_id: Option<String>,
) -> Result<Tenant> {
    let domain = Domain::parse("domain", domain)?;
    let actor = Actor::platform(platform, request_id);
    let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    let (tx, tenant) = tenancy::add_domain(db, platform, tenant_id, &domain).await?;
    let id = tenant_id.to_string();
    granted::audit(
        &tx,
        &manage,
        "tenant.domain.add",
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        json!({ "domain": domain.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Every tenant, oldest first.
pub async fn list_tenants(
    db: &Database,
    platform: &PlatformScope,
    page: PageRequest,
) -> Result<Page<Tenant>> {
    tenancy::list_tenants(db, platform, page).await
}

/// One tenant by slug, whatever its status.
pub async fn find_tenant(db: &Database, platform: &PlatformScope, slug: &str) -> Result<Tenant> {
    tenancy::find_tenant(db, platform, slug).await
}

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
    let before = TenantSettings::from_json(&tenancy::lock_tenant_in(&tx, &manage).await?.settings);
    let mut settings = before.clone();
    change.apply(&mut settings);
    settings.validate()?;
    let stored = serde_json::to_value(&settings).map_err(Error::internal)?;
    let tenant = tenancy::store_settings(&tx, &manage, stored.clone()).await?;
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
