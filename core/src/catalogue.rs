//! The tenant catalogue's storage and the two capabilities minted from it: a [`TenantScope`]
//! for an active tenant found in the catalogue, and a [`PlatformScope`] for a live platform
//! credential. Nothing else can make either.
//!
//! The rules around them live in the control plane (`latchkey_tenants`): which host or path
//! names which tenant, the tenant lifecycle, custom domains, settings and the management of
//! platform credentials. They reach these tables through [`PlatformTx`] and [`TenantTx`].

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, PlatformTx, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::scope::{PlatformScope, TenantScope};
use crate::secrets;
use crate::settings::TenantSettings;
use crate::validate::{Name, Slug};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// The `tenants` table: one row per tenant, its settings document included.
pub mod tenant_row {
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

/// The `tenant_domains` table: the custom domains of tenants. A domain routes to its tenant
/// once `verified_at` is set (its DNS record was found).
pub mod domain_row {
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
        /// The token of the domain's TXT verification record.
        pub verification_token: String,
        pub verified_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `platform_credentials` table: platform operators' bearer tokens, as SHA-256 hashes.
pub mod credential_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

crate::tenant_owned!(domain_row, guards Catalogue);
crate::tenant_owned!(tenant_row, Id, guards Catalogue);
impl crate::db::PlatformTable for tenant_row::Entity {}
impl crate::db::PlatformTable for domain_row::Entity {}
impl crate::db::PlatformTable for credential_row::Entity {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
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
    /// Read once from the row, shared by every request that resolves the tenant.
    pub settings: Arc<TenantSettings>,
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
            settings: Arc::new(TenantSettings::from_json(&row.settings)),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// How a request names its tenant.
#[derive(Clone, Copy, Debug)]
pub enum TenantKey<'a> {
    /// `/t/{slug}/…` or `{slug}.{base domain}`.
    Slug(&'a str),
    /// A tenant id found in a row by background work.
    Id(Uuid),
    /// A verified custom domain of the tenant (lower-case, without port).
    Domain(&'a str),
}

/// The tenant `key` names, with its scope: `NotFound` when there is none, `TenantSuspended`
/// when it is suspended.
pub async fn resolve(db: &Database, key: TenantKey<'_>) -> Result<(TenantScope, Tenant)> {
    let cache_key = match key {
        TenantKey::Slug(slug) => format!("s:{slug}"),
        TenantKey::Id(id) => format!("i:{id}"),
        TenantKey::Domain(domain) => format!("d:{domain}"),
    };
    db.near_cache()
        .get_or_load(CACHE_KIND, None, &cache_key, read(db, key), |_| true)
        .await
}

/// The near cache's kind of entry: a resolved tenant (only active ones are kept; a change to
/// any tenant or domain makes every entry stale).
const CACHE_KIND: &str = "tenant";

async fn read(db: &Database, key: TenantKey<'_>) -> Result<(TenantScope, Tenant)> {
    let tx = db.begin_resolution().await?;
    let condition = match key {
        TenantKey::Slug(slug) => tenant_row::Column::Slug.eq(slug),
        TenantKey::Id(id) => tenant_row::Column::Id.eq(id),
        TenantKey::Domain(domain) => {
            let domain = tx
                .find::<domain_row::Entity>()
                .filter(domain_row::Column::Domain.eq(domain))
                .filter(domain_row::Column::VerifiedAt.is_not_null())
                .one()
                .await?
                .ok_or(Error::NotFound)?;
            tenant_row::Column::Id.eq(domain.tenant_id)
        }
    };
    let row = tx
        .find::<tenant_row::Entity>()
        .filter(condition)
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    let tenant = Tenant::try_from(row)?;
    match tenant.status {
        TenantStatus::Active => Ok((TenantScope::new(tenant.id, tenant.slug.clone()), tenant)),
        TenantStatus::Suspended => Err(Error::TenantSuspended),
    }
}

/// The ids of the active tenants, for background work that visits each (the audit-log
/// retention).
pub(crate) async fn active_tenant_ids(db: &Database) -> Result<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    let tx = db.begin_resolution().await?;
    let ids = tx
        .find::<tenant_row::Entity>()
        .select_only()
        .column(tenant_row::Column::Id)
        .filter(tenant_row::Column::Status.eq(TenantStatus::Active.as_str()))
        .into_tuple()
        .all()
        .await?;
    tx.commit().await?;
    Ok(ids)
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

/// Binds a platform transaction to the tenant `tenant_id`, whatever its status, for platform
/// work on that tenant (suspending it, adding a domain): `NotFound` when there is none.
pub async fn enter_tenant(tx: PlatformTx, tenant_id: Uuid) -> Result<(TenantTx, Tenant)> {
    let tenant = Tenant::try_from(
        tx.find::<tenant_row::Entity>()
            .filter(tenant_row::Column::Id.eq(tenant_id))
            .one()
            .await?
            .ok_or(Error::NotFound)?,
    )?;
    let scope = TenantScope::new(tenant.id, tenant.slug.clone());
    Ok((tx.into_tenant(scope).await?, tenant))
}

/// The tenant a scope stands for, as stored now. Requires `ReadTenant`.
#[tracing::instrument(name = "core.get_tenant", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_tenant(db: &Database, scope: &TenantScope, actor: &Actor) -> Result<Tenant> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let tenant = tx
        .find::<tenant_row::Entity>()
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()?;
    tx.commit().await?;
    Ok(tenant)
}

/// Turns a bearer token into a platform scope, or `Unauthenticated`.
pub async fn authenticate_operator(db: &Database, token: &str) -> Result<PlatformScope> {
    let tx = db.begin_resolution().await?;
    let row = tx
        .find::<credential_row::Entity>()
        .filter(credential_row::Column::TokenHash.eq(secrets::hash(token)))
        .filter(credential_row::Column::RevokedAt.is_null())
        .one()
        .await?;
    tx.commit().await?;
    let row = row.ok_or(Error::Unauthenticated)?;
    Ok(PlatformScope::new(format!("platform:{}", row.name)))
}

/// The operator at the console of this deployment (CLI, first-start bootstrap): holding a
/// connection to the database is its credential, since whoever has one can reach every row.
pub fn local_operator(_db: &Database) -> PlatformScope {
    PlatformScope::new("local-operator".to_owned())
}
