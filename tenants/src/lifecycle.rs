//! The tenant lifecycle: create, list, suspend and resume tenants (their custom domains are in
//! [`crate::custom_domains`]). Every call here is a platform operation and takes a
//! [`PlatformScope`].

use latchkey_core::audit::Target;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::catalogue::{self, Tenant, TenantStatus, tenant_row};
use latchkey_core::crypto::MasterKey;
use latchkey_core::granted;
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::settings::TenantSettings;
use latchkey_core::validate::{Name, Slug};
use latchkey_core::{
    Actor, AdminRole, Database, Error, Permission, PlatformScope, Result, api_keys, signing_keys,
};
use sea_orm::{ColumnTrait, QueryFilter, Set};
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
    let (tx, tenant) = catalogue::create_tenant(tx, &slug, name, stored).await?;
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
    let (tx, _) = catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    let row = tx
        .find::<tenant_row::Entity>()
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let mut active: tenant_row::ActiveModel = row.into();
    active.status = Set(status.as_str().to_owned());
    active.updated_at = Set(chrono::Utc::now());
    let tenant = Tenant::try_from(tx.update(active).await?)?;
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

/// Every tenant, oldest first.
pub async fn list_tenants(
    db: &Database,
    platform: &PlatformScope,
    page: PageRequest,
) -> Result<Page<Tenant>> {
    let tx = db.begin_platform(platform).await?;
    let rows = keyset(
        tx.find::<tenant_row::Entity>(),
        tenant_row::Column::Id,
        page,
    )
    .await?;
    tx.commit().await?;
    rows.try_map(Tenant::try_from)
}

/// One tenant by slug, whatever its status.
pub async fn find_tenant(db: &Database, platform: &PlatformScope, slug: &str) -> Result<Tenant> {
    let tx = db.begin_platform(platform).await?;
    let row = tx
        .find::<tenant_row::Entity>()
        .filter(tenant_row::Column::Slug.eq(slug))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    row.try_into()
}
