//! The platform API, `/platform/graphql`: the operators' view of every tenant.

use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, graphql_error, page_request, parse_id};
use crate::state::Services;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, Enum, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use latchkey_core::quotas;
use latchkey_core::{Database, PlatformScope};
use latchkey_tenants::{TenantStatus as CoreStatus, custom_domains};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub type PlatformSchema = Schema<PlatformQuery, PlatformMutation, EmptySubscription>;

/// Per-request context of the platform API: the authenticated operator, the request id, and
/// the request's own DataLoader (never shared between callers).
pub struct PlatformRequest {
    pub scope: PlatformScope,
    pub request_id: Option<String>,
    pub domains: DataLoader<DomainLoader>,
    pub quotas: DataLoader<QuotaLoader>,
}

impl PlatformRequest {
    pub fn new(db: Database, scope: PlatformScope, request_id: Option<String>) -> Self {
        Self {
            domains: DataLoader::new(
                DomainLoader {
                    db: db.clone(),
                    scope: scope.clone(),
                },
                tokio::spawn,
            ),
            quotas: DataLoader::new(
                QuotaLoader {
                    db,
                    scope: scope.clone(),
                },
                tokio::spawn,
            ),
            scope,
            request_id,
        }
    }
}

/// Loads the custom domains of many tenants in one query.
pub struct DomainLoader {
    db: Database,
    scope: PlatformScope,
}

impl Loader<Uuid> for DomainLoader {
    type Value = Vec<TenantDomain>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<TenantDomain>>, Self::Error> {
        let rows = custom_domains::domains_of(&self.db, &self.scope, keys)
            .await
            .map_err(graphql_error)?;
        let mut map: HashMap<Uuid, Vec<TenantDomain>> = HashMap::new();
        for domain in rows {
            map.entry(domain.tenant_id).or_default().push(domain.into());
        }
        Ok(map)
    }
}

/// Loads the request quotas of many tenants in one query.
pub struct QuotaLoader {
    db: Database,
    scope: PlatformScope,
}

impl Loader<Uuid> for QuotaLoader {
    type Value = u32;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, u32>, Self::Error> {
        quotas::quotas_of(&self.db, &self.scope, keys)
            .await
            .map_err(graphql_error)
    }
}

fn request<'a>(ctx: &'a Context<'_>) -> (&'a Services, &'a PlatformRequest) {
    (
        ctx.data_unchecked::<Arc<Services>>(),
        ctx.data_unchecked::<Arc<PlatformRequest>>(),
    )
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// A tenant: one customer of this deployment.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Tenant {
    pub id: ID,
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
}

#[async_graphql::ComplexObject]
impl Tenant {
    /// Custom domains on which the tenant's endpoints also answer (the verified ones).
    async fn domains(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(self
            .custom_domains(ctx)
            .await?
            .into_iter()
            .filter(|d| d.verified)
            .map(|d| d.domain)
            .collect())
    }

    /// Every custom domain added to the tenant, verified or waiting for its DNS record, by
    /// name.
    async fn custom_domains(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TenantDomain>> {
        let (_, req) = request(ctx);
        Ok(req.domains.load_one(self.uuid).await?.unwrap_or_default())
    }

    /// Requests per minute the tenant's endpoints answer before refusing with 429
    /// (`setTenantQuota`); null = no quota (the default).
    async fn requests_per_minute_quota(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<u32>> {
        let (_, req) = request(ctx);
        req.quotas.load_one(self.uuid).await
    }
}

/// A custom domain of a tenant. It routes to the tenant once verified.
#[derive(SimpleObject, Clone, Debug)]
pub struct TenantDomain {
    /// Lower case, such as `login.example.com`.
    pub domain: String,
    /// Whether its TXT record was found: only a verified domain answers for the tenant.
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    /// The TXT record that proves the tenant's owner controls the domain: publish a record
    /// named `txtRecordName` with the value `txtRecordValue`, then call `verifyTenantDomain`.
    pub txt_record_name: String,
    pub txt_record_value: String,
    pub created_at: DateTime<Utc>,
}

impl From<custom_domains::TenantDomain> for TenantDomain {
    fn from(domain: custom_domains::TenantDomain) -> Self {
        Self {
            domain: domain.domain,
            verified: domain.verified_at.is_some(),
            verified_at: domain.verified_at,
            txt_record_name: domain.record.name,
            txt_record_value: domain.record.value,
            created_at: domain.created_at,
        }
    }
}

impl From<latchkey_tenants::Tenant> for Tenant {
    fn from(tenant: latchkey_tenants::Tenant) -> Self {
        Self {
            id: ID(tenant.id.to_string()),
            uuid: tenant.id,
            slug: tenant.slug,
            name: tenant.name,
            status: match tenant.status {
                CoreStatus::Active => TenantStatus::Active,
                CoreStatus::Suspended => TenantStatus::Suspended,
            },
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

pub struct PlatformQuery;

#[Object]
impl PlatformQuery {
    /// Every tenant, oldest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Tenant>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = latchkey_tenants::list_tenants(&services.db, &req.scope, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |t| t.id, Tenant::from))
    }

    /// One tenant by slug.
    async fn tenant(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<Tenant> {
        let (services, req) = request(ctx);
        Ok(
            latchkey_tenants::find_tenant(&services.db, &req.scope, &slug)
                .await
                .gql()?
                .into(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateTenantInput {
    /// `[a-z0-9-]{3,63}`; the tenant's endpoints live under `/t/{slug}/`.
    pub slug: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct CreateTenantPayload {
    pub tenant: Tenant,
    /// The tenant's first owner API key. Shown only here; store it now.
    pub admin_api_key: String,
}

#[derive(InputObject)]
pub struct TenantIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct SuspendTenantPayload {
    pub tenant: Tenant,
}

#[derive(SimpleObject)]
pub struct ResumeTenantPayload {
    pub tenant: Tenant,
}

#[derive(InputObject)]
pub struct AddTenantDomainInput {
    pub tenant_id: ID,
    /// A host name such as `login.example.com`, pointed at this deployment.
    pub domain: String,
}

#[derive(SimpleObject)]
pub struct AddTenantDomainPayload {
    pub tenant: Tenant,
    /// The domain just added, unverified, with the TXT record to publish.
    pub domain: TenantDomain,
}

#[derive(InputObject)]
pub struct VerifyTenantDomainInput {
    pub tenant_id: ID,
    /// A domain added to this tenant with `addTenantDomain`.
    pub domain: String,
}

#[derive(SimpleObject)]
pub struct VerifyTenantDomainPayload {
    pub tenant: Tenant,
    pub domain: TenantDomain,
}

#[derive(InputObject)]
pub struct SetTenantQuotaInput {
    pub tenant_id: ID,
    /// Requests per minute the tenant's endpoints answer (all of them together, counted per
    /// minute); null removes the quota.
    pub requests_per_minute: Option<u32>,
}

#[derive(SimpleObject)]
pub struct SetTenantQuotaPayload {
    pub tenant: Tenant,
}

pub struct PlatformMutation;

impl PlatformMutation {
    async fn set_status(
        ctx: &Context<'_>,
        id: &ID,
        status: CoreStatus,
    ) -> async_graphql::Result<Tenant> {
        let (services, req) = request(ctx);
        let id = parse_id("id", id)?;
        Ok(latchkey_tenants::set_status(
            &services.db,
            &req.scope,
            id,
            status,
            req.request_id.clone(),
        )
        .await
        .gql()?
        .into())
    }
}

#[Object]
impl PlatformMutation {
    /// Creates a tenant with its first owner API key.
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<CreateTenantPayload> {
        let (services, req) = request(ctx);
        let created = latchkey_tenants::create_tenant(
            &services.db,
            &services.master_key,
            &req.scope,
            &input.slug,
            &input.name,
            req.request_id.clone(),
        )
        .await
        .gql()?;
        Ok(CreateTenantPayload {
            tenant: created.tenant.into(),
            admin_api_key: created.owner_api_key,
        })
    }

    /// Suspends a tenant: every request to its endpoints is refused until it is resumed.
    async fn suspend_tenant(
        &self,
        ctx: &Context<'_>,
        input: TenantIdInput,
    ) -> async_graphql::Result<SuspendTenantPayload> {
        Ok(SuspendTenantPayload {
            tenant: Self::set_status(ctx, &input.id, CoreStatus::Suspended).await?,
        })
    }

    /// Resumes a suspended tenant.
    async fn resume_tenant(
        &self,
        ctx: &Context<'_>,
        input: TenantIdInput,
    ) -> async_graphql::Result<ResumeTenantPayload> {
        Ok(ResumeTenantPayload {
            tenant: Self::set_status(ctx, &input.id, CoreStatus::Active).await?,
        })
    }

    /// Adds a custom domain to a tenant, unverified: publish its TXT record, then call
    /// `verifyTenantDomain`. The deployment's base domain and public host, and names under
    /// them, are refused.
    async fn add_tenant_domain(
        &self,
        ctx: &Context<'_>,
        input: AddTenantDomainInput,
    ) -> async_graphql::Result<AddTenantDomainPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("tenantId", &input.tenant_id)?;
        let (tenant, domain) = latchkey_tenants::add_domain(
            &services.db,
            &req.scope,
            &services.hosts,
            id,
            &input.domain,
            req.request_id.clone(),
        )
        .await
        .gql()?;
        Ok(AddTenantDomainPayload {
            tenant: tenant.into(),
            domain: domain.into(),
        })
    }

    /// Looks up the TXT record of a tenant's custom domain and, when it holds the domain's
    /// token, marks the domain verified: from then on the tenant answers on it.
    async fn verify_tenant_domain(
        &self,
        ctx: &Context<'_>,
        input: VerifyTenantDomainInput,
    ) -> async_graphql::Result<VerifyTenantDomainPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("tenantId", &input.tenant_id)?;
        let (tenant, domain) = latchkey_tenants::verify_domain(
            &services.db,
            &req.scope,
            &services.hosts,
            &services.dns,
            id,
            &input.domain,
            req.request_id.clone(),
        )
        .await
        .gql()?;
        Ok(VerifyTenantDomainPayload {
            tenant: tenant.into(),
            domain: domain.into(),
        })
    }

    /// Sets or removes a tenant's request quota, so that one tenant cannot use up the
    /// deployment. Off by default; a suspended tenant's quota is set once it is resumed.
    async fn set_tenant_quota(
        &self,
        ctx: &Context<'_>,
        input: SetTenantQuotaInput,
    ) -> async_graphql::Result<SetTenantQuotaPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("tenantId", &input.tenant_id)?;
        let tenant = quotas::set_quota(
            &services.db,
            &req.scope,
            id,
            input.requests_per_minute,
            req.request_id.clone(),
        )
        .await
        .gql()?;
        Ok(SetTenantQuotaPayload {
            tenant: tenant.into(),
        })
    }
}
