//! Tenant resolution: the tenant a request or a background job names, by path, host or id.

use latchkey_core::catalogue::{self, Tenant, TenantKey};
use latchkey_core::{Database, Error, Result, TenantScope};
use uuid::Uuid;

/// Resolves `/t/{slug}/…`: an unknown slug is `NotFound`, a suspended tenant `TenantSuspended`.
pub async fn resolve_slug(db: &Database, slug: &str) -> Result<(TenantScope, Tenant)> {
    catalogue::resolve(db, TenantKey::Slug(slug)).await
}

/// Resolves a tenant by id, for background work that found the id in a row.
pub async fn resolve_id(db: &Database, id: Uuid) -> Result<(TenantScope, Tenant)> {
    catalogue::resolve(db, TenantKey::Id(id)).await
}

/// Resolves a request's host: a registered custom domain, or `{slug}.{base_domain}`.
pub async fn resolve_host(
    db: &Database,
    host: &str,
    base_domain: Option<&str>,
) -> Result<(TenantScope, Tenant)> {
    let host = host.split(':').next().unwrap_or("").to_lowercase();
    match catalogue::resolve(db, TenantKey::Domain(&host)).await {
        Err(Error::NotFound) => {}
        resolved => return resolved,
    }
    match base_domain.and_then(|base| host.strip_suffix(&format!(".{base}"))) {
        Some(slug) if !slug.contains('.') => resolve_slug(db, slug).await,
        _ => Err(Error::NotFound),
    }
}
