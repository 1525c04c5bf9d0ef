//! Entitlements in the tenant API: the keys the tenant defines (`entitlements`,
//! `createEntitlement`, `deleteEntitlement`), what organizations hold (`grantEntitlement`,
//! `revokeEntitlement`, `Organization.entitlements`).

use super::context::request;
use super::objects::{MembershipStatus, Organization};
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::organizations as core_orgs;

/// A feature or product the tenant sells, by key.
#[derive(SimpleObject, Clone, Debug)]
pub struct Entitlement {
    pub key: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<core_orgs::Entitlement> for Entitlement {
    fn from(entitlement: core_orgs::Entitlement) -> Self {
        Self {
            key: entitlement.key,
            description: entitlement.description,
            created_at: entitlement.created_at,
        }
    }
}

/// An entitlement an organization holds, for its window.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationEntitlement {
    pub id: ID,
    pub key: String,
    /// When it starts (open if null).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it ends (open if null).
    pub valid_until: Option<DateTime<Utc>>,
    /// Whether it is in force now.
    pub status: MembershipStatus,
    /// Who manages it: null for an administrator's grant, `connector:<id>` for a CRM
    /// connector's (from a contract).
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OrganizationEntitlement {
    /// `held` as it stands at `now`.
    fn at(held: core_orgs::HeldEntitlement, now: DateTime<Utc>) -> Self {
        Self {
            id: ID(held.id.to_string()),
            status: held.status(now).into(),
            key: held.key,
            valid_from: held.window.valid_from,
            valid_until: held.window.valid_until,
            source: held.source,
            created_at: held.created_at,
        }
    }
}

/// `Organization.entitlements`: what organization `id` holds.
pub(super) async fn held_by(
    ctx: &Context<'_>,
    id: &ID,
) -> async_graphql::Result<Vec<OrganizationEntitlement>> {
    let (services, req) = request(ctx);
    let id = parse_id("id", id)?;
    let holdings = core_orgs::organization_entitlements(&services.db, &req.scope, &req.actor, id)
        .await
        .gql()?;
    let now = holdings.read_at;
    Ok(holdings
        .entitlements
        .into_iter()
        .map(|held| OrganizationEntitlement::at(held, now))
        .collect())
}

#[derive(Default)]
pub struct EntitlementQuery;

#[Object]
impl EntitlementQuery {
    /// The tenant's entitlement keys.
    async fn entitlements(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Entitlement>> {
        let (services, req) = request(ctx);
        let all = core_orgs::list_entitlements(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(all.into_iter().map(Into::into).collect())
    }
}

#[derive(InputObject)]
pub struct CreateEntitlementInput {
    /// 2 to 64 characters of a-z, 0-9, ':', '_', '.' and '-', starting with a letter.
    pub key: String,
    pub description: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreateEntitlementPayload {
    pub entitlement: Entitlement,
}

#[derive(InputObject)]
pub struct DeleteEntitlementInput {
    pub key: String,
}

#[derive(SimpleObject)]
pub struct DeleteEntitlementPayload {
    pub entitlement: Entitlement,
}

#[derive(InputObject)]
pub struct GrantEntitlementInput {
    pub organization_id: ID,
    /// An entitlement key of the tenant.
    pub key: String,
    /// When it starts (RFC 3339; at once if left out).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it ends (RFC 3339; never if left out). Must be after `validFrom`.
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct RevokeEntitlementInput {
    pub organization_id: ID,
    pub key: String,
}

#[derive(SimpleObject)]
pub struct EntitlementPayload {
    /// The entitlement as granted, or as it was when revoked.
    pub entitlement: OrganizationEntitlement,
    pub organization: Organization,
}

impl From<core_orgs::EntitlementChange> for EntitlementPayload {
    fn from(change: core_orgs::EntitlementChange) -> Self {
        Self {
            entitlement: OrganizationEntitlement::at(change.entitlement, change.read_at),
            organization: change.organization.into(),
        }
    }
}

#[derive(Default)]
pub struct EntitlementMutation;

#[Object]
impl EntitlementMutation {
    /// Defines an entitlement key for the tenant (tenant admins).
    async fn create_entitlement(
        &self,
        ctx: &Context<'_>,
        input: CreateEntitlementInput,
    ) -> async_graphql::Result<CreateEntitlementPayload> {
        let (services, req) = request(ctx);
        let entitlement = core_orgs::create_entitlement(
            &services.db,
            &req.scope,
            &req.actor,
            &input.key,
            input.description.as_deref(),
        )
        .await
        .gql()?;
        Ok(CreateEntitlementPayload {
            entitlement: entitlement.into(),
        })
    }

    /// Deletes an entitlement key no organization holds (tenant admins).
    async fn delete_entitlement(
        &self,
        ctx: &Context<'_>,
        input: DeleteEntitlementInput,
    ) -> async_graphql::Result<DeleteEntitlementPayload> {
        let (services, req) = request(ctx);
        let entitlement =
            core_orgs::delete_entitlement(&services.db, &req.scope, &req.actor, &input.key)
                .await
                .gql()?;
        Ok(DeleteEntitlementPayload {
            entitlement: entitlement.into(),
        })
    }

    /// Gives an organization an entitlement for a window, or changes the window of one it
    /// holds (tenant admins; writes `entitlement.granted`).
    async fn grant_entitlement(
        &self,
        ctx: &Context<'_>,
        input: GrantEntitlementInput,
    ) -> async_graphql::Result<EntitlementPayload> {
        let (services, req) = request(ctx);
        let grant = core_orgs::EntitlementGrant {
            organization_id: parse_id("organizationId", &input.organization_id)?,
            key: input.key,
            window: core_orgs::Window {
                valid_from: input.valid_from,
                valid_until: input.valid_until,
            },
            source: None,
        };
        let change = core_orgs::grant_entitlement(&services.db, &req.scope, &req.actor, grant)
            .await
            .gql()?;
        Ok(change.into())
    }

    /// Takes an entitlement from an organization (tenant admins; writes
    /// `entitlement.revoked`).
    async fn revoke_entitlement(
        &self,
        ctx: &Context<'_>,
        input: RevokeEntitlementInput,
    ) -> async_graphql::Result<EntitlementPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let change = core_orgs::revoke_entitlement(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            &input.key,
        )
        .await
        .gql()?;
        Ok(change.into())
    }
}
