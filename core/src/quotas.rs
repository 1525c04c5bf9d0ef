//! Per-tenant request quotas: a platform operator may cap how many requests per minute a
//! tenant's endpoints answer, so that one tenant cannot use up a shared deployment. Off by
//! default (no quota row, or a null one). Over its quota, a tenant's requests are refused with
//! `RateLimited` (HTTP 429) until the minute's window ends; other tenants are not affected.
//!
//! The quota is kept in the replica's near cache (a change makes it stale on every replica at
//! once) and counted in the ephemeral store in fixed windows of a minute (shared by the
//! replicas when the store is Redis).

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::catalogue::{self, Tenant};
use crate::db::Database;
use crate::ephemeral::EphemeralStore;
use crate::error::{Error, Result};
use crate::freshness::Guard;
use crate::lenient_limits::rate_limit_or_allow;
use crate::scope::{PlatformScope, TenantScope};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use std::collections::HashMap;
use uuid::Uuid;

/// The near cache's kind of entry: a tenant's quota.
const CACHE_KIND: &str = "quota";

/// The largest quota accepted.
const MAX_REQUESTS_PER_MINUTE: u32 = 10_000_000;

mod quota_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_quotas")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        pub requests_per_minute: Option<i32>,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(quota_row, guards Tenant);
impl crate::db::PlatformTable for quota_row::Entity {}

fn requests_per_minute(row: Option<quota_row::Model>) -> Option<u32> {
    row.and_then(|r| r.requests_per_minute)
        .and_then(|n| u32::try_from(n).ok())
}

/// The tenant's quota, from the near cache or the database.
async fn quota(db: &Database, scope: &TenantScope) -> Result<Option<u32>> {
    let read = async {
        let tx = db.begin_tenant(scope).await?;
        let row = tx.find::<quota_row::Entity>().one().await?;
        tx.commit().await?;
        Ok(requests_per_minute(row))
    };
    db.near_cache()
        .get_or_load(CACHE_KIND, Some(scope.tenant_id()), "", read, |_| true)
        .await
}

/// Counts one request of the tenant against its quota: `RateLimited` past it. Without the
/// store the request is not counted (see [`crate::lenient_limits`]).
pub async fn enforce_quota(
    db: &Database,
    store: &dyn EphemeralStore,
    scope: &TenantScope,
) -> Result<()> {
    match quota(db, scope).await? {
        Some(limit) => rate_limit_or_allow(store, scope, "quota", "requests", limit).await,
        None => Ok(()),
    }
}

/// Sets (or with `None` removes) a tenant's quota, whatever its status, and audits it in the
/// tenant's log; answers the tenant. Platform operators only.
pub async fn set_quota(
    db: &Database,
    platform: &PlatformScope,
    tenant_id: Uuid,
    requests_per_minute: Option<u32>,
    request_id: Option<String>,
) -> Result<Tenant> {
    let actor = Actor::platform(platform, request_id);
    authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    if let Some(n) = requests_per_minute
        && !(1..=MAX_REQUESTS_PER_MINUTE).contains(&n)
    {
        return Err(Error::validation(
            "requestsPerMinute",
            format!("must be between 1 and {MAX_REQUESTS_PER_MINUTE}, or null for no quota"),
        ));
    }
    let (tx, tenant) =
        catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    let existing = tx.find::<quota_row::Entity>().one().await?;
    let row = quota_row::ActiveModel {
        tenant_id: Set(tenant_id),
        requests_per_minute: Set(requests_per_minute.map(|n| n as i32)),
        updated_at: Set(chrono::Utc::now()),
    };
    match existing {
        Some(_) => tx.update(row).await?,
        None => {
            // The near cache keeps "no quota" too, which an insert makes stale.
            tx.changes(Guard::Tenant);
            tx.insert(row).await?
        }
    };
    let id = tenant_id.to_string();
    audit::record(
        &tx,
        &actor,
        "tenant.quota.set",
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        serde_json::json!({ "requestsPerMinute": requests_per_minute }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        tenant.id = %tenant_id,
        quota.requests_per_minute = ?requests_per_minute,
        operator = platform.operator(),
        "tenant quota set"
    );
    Ok(tenant)
}

/// The quotas of many tenants (those without one are absent), for the platform API.
pub async fn quotas_of(
    db: &Database,
    platform: &PlatformScope,
    tenant_ids: &[Uuid],
) -> Result<HashMap<Uuid, u32>> {
    let tx = db.begin_platform(platform).await?;
    let rows = tx
        .find::<quota_row::Entity>()
        .filter(quota_row::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .all()
        .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.tenant_id, requests_per_minute(Some(row))?)))
        .collect())
}
