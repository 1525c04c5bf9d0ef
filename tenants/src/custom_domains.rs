//! Custom domains of tenants: a platform operator adds one, its owner publishes a DNS TXT
//! record, the operator verifies it, and from then on the tenant answers on it
//! ([`crate::resolution`]). Names of the deployment itself (its base domain and public host,
//! and names under them) are refused. Every call here takes a [`PlatformScope`].

use crate::resolution::Hosts;
use chrono::{DateTime, Utc};
use latchkey_core::audit::Target;
use latchkey_core::authz::{Grant, Resource, authorize};
use latchkey_core::catalogue::{self, Tenant, domain_row};
use latchkey_core::db::TenantTx;
use latchkey_core::dns::{DnsVerifier, VerificationRecord};
use latchkey_core::error::is_unique_violation;
use latchkey_core::validate::Domain;
use latchkey_core::{Actor, Database, Error, Permission, PlatformScope, Result, granted, secrets};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

/// A custom domain of a tenant, verified or waiting for its DNS record.
#[derive(Clone, Debug)]
pub struct TenantDomain {
    pub tenant_id: Uuid,
    /// Lower case, such as `login.example.com`.
    pub domain: String,
    /// The TXT record that proves the tenant's owner controls the domain.
    pub record: VerificationRecord,
    /// When its record was found; the domain routes to the tenant from then on.
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<domain_row::Model> for TenantDomain {
    fn from(row: domain_row::Model) -> Self {
        Self {
            tenant_id: row.tenant_id,
            record: VerificationRecord::new(&row.domain, &row.verification_token),
            domain: row.domain,
            verified_at: row.verified_at,
            created_at: row.created_at,
        }
    }
}

async fn audit(
    tx: &TenantTx,
    manage: &Grant<'_>,
    tenant: &Tenant,
    action: &str,
    domain: &str,
) -> Result<()> {
    let id = tenant.id.to_string();
    granted::audit(
        tx,
        manage,
        action,
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        json!({ "domain": domain }),
    )
    .await
}

async fn find_domain(tx: &TenantTx, domain: &Domain) -> Result<domain_row::Model> {
    tx.find::<domain_row::Entity>()
        .filter(domain_row::Column::Domain.eq(domain.as_str()))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// Adds a custom domain to a tenant, unverified: it routes once [`verify_domain`] has found
/// its TXT record. A domain belongs to one tenant at most (`Conflict`); the deployment's own
/// names are refused (a validation error of `domain`).
pub async fn add_domain(
    db: &Database,
    platform: &PlatformScope,
    hosts: &Hosts,
    tenant_id: Uuid,
    domain: &str,
    request_id: Option<String>,
) -> Result<(Tenant, TenantDomain)> {
    let domain = Domain::parse("domain", domain)?;
    hosts.check_custom_domain("domain", &domain)?;
    let actor = Actor::platform(platform, request_id);
    let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    let (tx, tenant) =
        catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    let row = tx
        .insert(domain_row::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(Uuid::now_v7()),
            domain: Set(domain.as_str().to_owned()),
            created_at: Set(Utc::now()),
            verification_token: Set(secrets::generate("")),
            verified_at: Set(None),
        })
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!("domain {:?} is already in use", domain.as_str()))
            } else {
                e.into()
            }
        })?;
    audit(&tx, &manage, &tenant, "tenant.domain.add", domain.as_str()).await?;
    tx.commit().await?;
    Ok((tenant, row.into()))
}

/// Looks up the TXT record of a tenant's custom domain and, when it holds the domain's token,
/// marks the domain verified, so it routes to the tenant. A domain of another tenant (or of
/// none) is `NotFound`; a missing record is `Refused` with what to publish.
pub async fn verify_domain(
    db: &Database,
    platform: &PlatformScope,
    hosts: &Hosts,
    dns: &DnsVerifier,
    tenant_id: Uuid,
    domain: &str,
    request_id: Option<String>,
) -> Result<(Tenant, TenantDomain)> {
    let domain = Domain::parse("domain", domain)?;
    // The base domain or public URL may have changed since the domain was added.
    hosts.check_custom_domain("domain", &domain)?;
    let actor = Actor::platform(platform, request_id);
    let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)?;
    // The lookup can take seconds: no transaction stays open during it.
    let (tx, tenant) =
        catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    let claimed = TenantDomain::from(find_domain(&tx, &domain).await?);
    tx.commit().await?;
    if claimed.verified_at.is_some() {
        return Ok((tenant, claimed));
    }
    dns.check(&claimed.record).await?;
    let (tx, tenant) =
        catalogue::enter_tenant(db.begin_platform(platform).await?, tenant_id).await?;
    let row = find_domain(&tx, &domain).await?;
    if row.verified_at.is_some() {
        return Ok((tenant, row.into()));
    }
    let mut active: domain_row::ActiveModel = row.into();
    active.verified_at = Set(Some(Utc::now()));
    let row = tx.update(active).await?;
    audit(
        &tx,
        &manage,
        &tenant,
        "tenant.domain.verify",
        domain.as_str(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, domain = domain.as_str(), "custom domain verified");
    Ok((tenant, row.into()))
}

/// The custom domains of the tenants in `tenant_ids`, verified or not, in one query (for
/// DataLoaders).
pub async fn domains_of(
    db: &Database,
    platform: &PlatformScope,
    tenant_ids: &[Uuid],
) -> Result<Vec<TenantDomain>> {
    let tx = db.begin_platform(platform).await?;
    let rows = tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .order_by_asc(domain_row::Column::Domain)
        .all()
        .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(TenantDomain::from).collect())
}

/// Custom domains stored before the deployment's own names were refused (or before the base
/// domain or public URL changed) that are such names now. They never route
/// ([`crate::resolution`] treats such hosts as the deployment's own and never looks them up);
/// the server logs them at start-up.
pub async fn conflicting_domains(
    db: &Database,
    platform: &PlatformScope,
    hosts: &Hosts,
) -> Result<Vec<TenantDomain>> {
    let tx = db.begin_platform(platform).await?;
    let rows = tx
        .find::<domain_row::Entity>()
        .order_by_asc(domain_row::Column::Domain)
        .all()
        .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(TenantDomain::from)
        .filter(|d| {
            Domain::parse("domain", &d.domain)
                .and_then(|parsed| hosts.check_custom_domain("domain", &parsed))
                .is_err()
        })
        .collect())
}
