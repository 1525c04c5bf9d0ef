//! The tenant lifecycle: create, list, suspend and resume tenants and give them custom
//! domains. Every call here is a platform operation and takes a [`PlatformScope`].

use latchkey_core::audit::Target;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::catalogue::{self, Tenant, TenantStatus, domain_row, tenant_row};
use latchkey_core::crypto::MasterKey;
use latchkey_core::error::is_unique_violation;
use latchkey_core::granted;
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::settings::TenantSettings;
use latchkey_core::validate::{Domain, Name, Slug};
use latchkey_core::{
    Actor, AdminRole, Database, Error, Permission, PlatformScope, Result, api_keys, signing_keys,
};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
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

/// Adds a custom domain on which the tenant's API and pages answer at `/graphql`, `/…` (one
/// tenant per domain).
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
    let (tx, tenant) =
        catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    tx.insert(domain_row::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        domain: Set(domain.as_str().to_owned()),
        created_at: Set(chrono::Utc::now()),
    })
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("domain {:?} is already in use", domain.as_str()))
        } else {
            e.into()
        }
    })?;
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

/// The custom domains of the tenants in `tenant_ids`, in one query (for DataLoaders).
pub async fn domains_of(
    db: &Database,
    platform: &PlatformScope,
    tenant_ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>> {
    let tx = db.begin_platform(platform).await?;
    let rows = tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .order_by_asc(domain_row::Column::Domain)
        .all()
        .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.domain)).collect())
}
