//! The tenant catalogue and tenant resolution: the only code that makes a [`TenantScope`].

use crate::actor::{Actor, Permission};
use crate::authz::{Grant, Resource, authorize};
use crate::db::{Database, PlatformTx, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::{PlatformScope, TenantScope};
use crate::validate::{Domain, Name, Slug};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value;
use uuid::Uuid;

mod tenant_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub slug: String,
        pub name: String,
        pub status: String,
        pub settings: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod domain_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_domains")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub domain: String,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(domain_row);
crate::tenant_owned!(tenant_row, Id);
impl crate::db::PlatformTable for tenant_row::Entity {}
impl crate::db::PlatformTable for domain_row::Entity {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            other => Err(Error::internal(format!("unknown tenant status {other:?}"))),
        }
    }
}

/// A tenant as the control plane sees it.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    pub settings: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<tenant_row::Model> for Tenant {
    type Error = Error;

    fn try_from(row: tenant_row::Model) -> Result<Self> {
        Ok(Tenant {
            id: row.id,
            status: TenantStatus::parse(&row.status)?,
            slug: row.slug,
            name: row.name,
            settings: row.settings,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn scope_of(tenant: &Tenant) -> Result<TenantScope> {
    match tenant.status {
        TenantStatus::Active => Ok(TenantScope::new(tenant.id, tenant.slug.clone())),
        TenantStatus::Suspended => Err(Error::TenantSuspended),
    }
}

/// The one tenant matching `condition`: `NotFound` when there is none, `TenantSuspended` when
/// it is suspended.
async fn resolve_where(
    db: &Database,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<(TenantScope, Tenant)> {
    let tx = db.begin_resolution().await?;
    let row = tx
        .find::<tenant_row::Entity>()
        .filter(condition)
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    let tenant = Tenant::try_from(row)?;
    Ok((scope_of(&tenant)?, tenant))
}

/// Resolves `/t/{slug}/…`: an unknown slug is `NotFound`, a suspended tenant `TenantSuspended`.
pub async fn resolve_slug(db: &Database, slug: &str) -> Result<(TenantScope, Tenant)> {
    resolve_where(db, tenant_row::Column::Slug.eq(slug)).await
}

/// Resolves a tenant by id, for background work that found the id in a row.
pub async fn resolve_id(db: &Database, id: Uuid) -> Result<(TenantScope, Tenant)> {
    resolve_where(db, tenant_row::Column::Id.eq(id)).await
}

/// Resolves a request's host: a registered custom domain, or `{slug}.{base_domain}`.
pub async fn resolve_host(
    db: &Database,
    host: &str,
    base_domain: Option<&str>,
) -> Result<(TenantScope, Tenant)> {
    let host = host.split(':').next().unwrap_or("").to_lowercase();
    let tx = db.begin_resolution().await?;
    let domain = tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::Domain.eq(host.as_str()))
        .one()
        .await?;
    let row = match domain {
        Some(domain) => {
            tx.find::<tenant_row::Entity>()
                .filter(tenant_row::Column::Id.eq(domain.tenant_id))
                .one()
                .await?
        }
        None => match base_domain.and_then(|base| host.strip_suffix(&format!(".{base}"))) {
            Some(slug) if !slug.contains('.') => {
                tx.find::<tenant_row::Entity>()
                    .filter(tenant_row::Column::Slug.eq(slug))
                    .one()
                    .await?
            }
            _ => None,
        },
    };
    tx.commit().await?;
    let tenant = Tenant::try_from(row.ok_or(Error::NotFound)?)?;
    Ok((scope_of(&tenant)?, tenant))
}

/// The tenant a scope stands for, as stored now. Requires `ReadTenant`.
#[tracing::instrument(name = "core.get_tenant", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_tenant(db: &Database, scope: &TenantScope, actor: &Actor) -> Result<Tenant> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let tenant = get_tenant_in(&tx).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// The tenant of `tx`, as stored now.
async fn get_tenant_in(tx: &TenantTx) -> Result<Tenant> {
    tx.find::<tenant_row::Entity>()
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// The tenant of `tx`, locked for update until the transaction ends (PostgreSQL; SQLite has
/// one writer anyway), for a caller granted `ManageTenant` that is about to change it.
pub async fn lock_tenant_in(tx: &TenantTx, grant: &Grant<'_>) -> Result<Tenant> {
    use sea_orm::QuerySelect;
    grant.require(Permission::ManageTenant)?;
    tx.find::<tenant_row::Entity>()
        .lock_exclusive()
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// Creates a tenant and returns a transaction bound to it, so the caller writes the tenant's
/// first rows (owner key, audit event) atomically with it.
pub async fn create_tenant(
    tx: PlatformTx,
    slug: &Slug,
    name: Name,
    settings: Value,
) -> Result<(TenantTx, Tenant)> {
    let now = Utc::now();
    let row = tx
        .insert(tenant_row::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug.as_str().to_owned()),
            name: Set(name.into_inner()),
            status: Set(TenantStatus::Active.as_str().to_owned()),
            settings: Set(settings),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!("a tenant with slug {:?} exists", slug.as_str()))
            } else {
                e.into()
            }
        })?;
    let tenant = Tenant::try_from(row)?;
    let scope = TenantScope::new(tenant.id, tenant.slug.clone());
    Ok((tx.into_tenant(scope).await?, tenant))
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

/// Sets a tenant's status and returns a transaction bound to it for the audit event.
pub async fn set_tenant_status(
    db: &Database,
    platform: &PlatformScope,
    tenant_id: Uuid,
    status: TenantStatus,
) -> Result<(TenantTx, Tenant)> {
    let tx = db.begin_platform(platform).await?;
    let row = tx
        .find::<tenant_row::Entity>()
        .filter(tenant_row::Column::Id.eq(tenant_id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let mut active: tenant_row::ActiveModel = row.into();
    active.status = Set(status.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let tenant = Tenant::try_from(tx.update(active).await?)?;
    let scope = TenantScope::new(tenant.id, tenant.slug.clone());
    Ok((tx.into_tenant(scope).await?, tenant))
}

/// Replaces a tenant's settings document (validated by the caller).
pub async fn store_settings(tx: &TenantTx, grant: &Grant<'_>, settings: Value) -> Result<Tenant> {
    grant.require(Permission::ManageTenant)?;
    let row = tx
        .find::<tenant_row::Entity>()
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let mut active: tenant_row::ActiveModel = row.into();
    active.settings = Set(settings);
    active.updated_at = Set(Utc::now());
    tx.update(active).await?.try_into()
}

/// Adds a custom domain on which the tenant's endpoints answer (one tenant per domain).
pub async fn add_domain(
    db: &Database,
    platform: &PlatformScope,
    tenant_id: Uuid,
    domain: &Domain,
) -> Result<(TenantTx, Tenant)> {
    let tx = db.begin_platform(platform).await?;
    let tenant = Tenant::try_from(
        tx.find::<tenant_row::Entity>()
            .filter(tenant_row::Column::Id.eq(tenant_id))
            .one()
            .await?
            .ok_or(Error::NotFound)?,
    )?;
    let tx = tx
        .into_tenant(TenantScope::new(tenant.id, tenant.slug.clone()))
        .await?;
    tx.insert(domain_row::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        domain: Set(domain.as_str().to_owned()),
        created_at: Set(Utc::now()),
    })
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("domain {:?} is already in use", domain.as_str()))
        } else {
            e.into()
        }
    })?;
    Ok((tx, tenant))
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
