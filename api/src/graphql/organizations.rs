//! Organizations in the tenant API: the organizations themselves and their members, and the
//! fields resolved on organizations (`members`, `invitations`, `domains`, `joinRequests`) and
//! on identities (`passkeyCount`, `organizations`).

use super::access::MemberFilter;
use super::context::request;
use super::cost::page_cost;
use super::domains::{JoinRequest, JoinRequestStatus, OrganizationDomain};
use super::entitlements::{OrganizationEntitlement, held_by};
use super::invitations::Invitation;
use super::loaders::Loaders;
use super::objects::{
    AuthenticationPolicy, DomainPolicy, Identity, Membership, Organization, OrganizationKind,
};
use super::profile::ConsentDecision;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{
    ComplexObject, Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject,
};
use chrono::{DateTime, Utc};
use latchkey_core::domains as core_domains;
use latchkey_core::invitations as core_invitations;
use latchkey_core::organizations as core_orgs;
use latchkey_core::page::Page;
use latchkey_core::passwords::SignInFactors;
use serde_json::Value;

#[ComplexObject]
impl Organization {
    /// The entitlements the organization holds (any status), by key: tenant admins, or its
    /// members with `organization:read`.
    async fn entitlements(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OrganizationEntitlement>> {
        held_by(ctx, &self.id).await
    }

    /// The organization's members, oldest first (tenant admins, or members with
    /// `members:read`).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<MemberFilter>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        // The first unfiltered page comes from the DataLoader, batched with the other
        // organizations of the response; later pages, filtered ones and refusals (with their
        // reason), from the direct query.
        if page.after.is_none()
            && filter.is_none()
            && let Some(members) = ctx
                .data_unchecked::<Loaders>()
                .members
                .load_one((id, page.first))
                .await?
        {
            return Ok(connection(members));
        }
        let filter = filter.map(Into::into).unwrap_or_default();
        let members =
            core_orgs::list_members(&services.db, &req.scope, &req.actor, id, filter, page)
                .await
                .gql()?;
        Ok(connection(members))
    }

    /// Invitations to this organization, oldest first; by default only pending ones (tenant
    /// admins, or members with `members:write`).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = true)] pending_only: bool,
    ) -> async_graphql::Result<Connection<Invitation>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        // As for `members`: the first page batched, the rest (and refusals) queried directly.
        if page.after.is_none()
            && let Some(invitations) = ctx
                .data_unchecked::<Loaders>()
                .invitations
                .load_one((id, (pending_only, page.first)))
                .await?
        {
            return Ok(Connection::from_page(
                invitations,
                |i| i.id,
                Invitation::from,
            ));
        }
        let result = core_invitations::list_invitations(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            pending_only,
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |i| i.id, Invitation::from))
    }

    /// The email domains the organization claims, verified or not (tenant admins, or members
    /// with `organization:read`).
    async fn domains(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrganizationDomain>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        // Batched with the other organizations of the response; refusals queried directly.
        let domains = match ctx.data_unchecked::<Loaders>().domains.load_one(id).await? {
            Some(domains) => domains,
            None => core_domains::list_domains(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?,
        };
        Ok(domains.into_iter().map(OrganizationDomain::from).collect())
    }

    /// Requests to join from people who signed up at a verified domain, oldest first (tenant
    /// admins, or members with `members:read`).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn join_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<JoinRequestStatus>,
    ) -> async_graphql::Result<Connection<JoinRequest>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        let status = status.map(Into::into);
        // As for `members`: the first page batched, the rest (and refusals) queried directly.
        if page.after.is_none()
            && let Some(requests) = ctx
                .data_unchecked::<Loaders>()
                .join_requests
                .load_one((id, (status, page.first)))
                .await?
        {
            return Ok(Connection::from_page(requests, |r| r.id, JoinRequest::from));
        }
        let result = core_domains::list_join_requests(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            status,
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |r| r.id, JoinRequest::from))
    }
}

#[ComplexObject]
impl Identity {
    /// How many passkeys the identity has (revoked ones excluded): admins with the viewer role,
    /// or the identity itself.
    async fn passkey_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let id = parse_id("id", &self.id)?;
        let count = ctx
            .data_unchecked::<Loaders>()
            .passkey_counts
            .load_one(id)
            .await?;
        Ok(count.unwrap_or(0))
    }

    /// Whether the identity can sign in with a password: admins with the viewer role, or the
    /// identity itself.
    async fn has_password(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(sign_in_factors(ctx, &self.id).await?.password)
    }

    /// Whether the identity has an authenticator app (TOTP) as its password's second factor.
    async fn totp_enrolled(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(sign_in_factors(ctx, &self.id).await?.totp)
    }

    /// Every consent decision, newest first (at most 100): admins with the viewer role, or the
    /// identity itself.
    async fn consent_history(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ConsentDecision>> {
        super::profile::consent_history(ctx, &self.id).await
    }

    /// The identity providers this identity is linked to (oldest first): admins with the
    /// viewer role, or the identity itself.
    async fn federated_links(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::identity_providers::FederatedLink>> {
        super::identity_providers::federated_links(ctx, parse_id("id", &self.id)?).await
    }

    /// The organizations this identity belongs to, as memberships (oldest first).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        // As for `Organization.members`: the first page batched, the rest queried directly.
        if page.after.is_none()
            && let Some(members) = ctx
                .data_unchecked::<Loaders>()
                .identity_organizations
                .load_one((id, page.first))
                .await?
        {
            return Ok(connection(members));
        }
        let filter = core_orgs::MemberFilter::default();
        let members =
            core_orgs::identity_memberships(&services.db, &req.scope, &req.actor, id, filter, page)
                .await
                .gql()?;
        Ok(connection(members))
    }

    /// Who this identity is to which organization until when: its memberships with their
    /// windows, statuses, grants and the roles in force now (every status unless `filter`
    /// says otherwise), oldest first. The identity itself, or tenant admins.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn access(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<MemberFilter>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        let filter = filter.map(Into::into).unwrap_or_default();
        let members =
            core_orgs::identity_memberships(&services.db, &req.scope, &req.actor, id, filter, page)
                .await
                .gql()?;
        Ok(connection(members))
    }
}

pub(super) fn connection(page: Page<core_orgs::Member>) -> Connection<Membership> {
    Connection::from_page(page, |m| m.membership.id, Membership::from)
}

#[derive(InputObject, Default)]
pub struct OrganizationFilter {
    /// Part of the name or slug.
    pub search: Option<String>,
    pub kind: Option<OrganizationKind>,
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The tenant's organizations, oldest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OrganizationFilter>,
    ) -> async_graphql::Result<Connection<Organization>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let result = core_orgs::list_organizations(
            &services.db,
            &req.scope,
            &req.actor,
            core_orgs::OrganizationFilter {
                search: filter.search,
                kind: filter.kind.map(Into::into),
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |o| o.id, Organization::from))
    }

    /// One organization (tenant admins, or its members).
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Organization> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_orgs::get_organization(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub name: String,
    pub slug: String,
    #[graphql(default_with = "OrganizationKind::Customer")]
    pub kind: OrganizationKind,
    pub metadata: Option<Json<Value>>,
    pub external_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreateOrganizationPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub id: ID,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub metadata: Option<Json<Value>>,
    /// An empty string clears it.
    pub external_id: Option<String>,
    pub domain_policy: Option<DomainPolicy>,
    /// `PASSKEY` requires members to have signed in with a passkey for the organization's
    /// sessions and tokens.
    pub authentication_policy: Option<AuthenticationPolicy>,
}

#[derive(SimpleObject)]
pub struct UpdateOrganizationPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct DeleteOrganizationInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteOrganizationPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct AddOrganizationMemberInput {
    pub organization_id: ID,
    pub identity_id: ID,
    #[graphql(default_with = "vec![core_orgs::ORG_MEMBER.to_owned()]")]
    pub roles: Vec<String>,
    /// When the membership starts giving access (RFC 3339; at once if left out).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it stops (RFC 3339; never if left out). Must be after `validFrom`.
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct AddOrganizationMemberPayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct UpdateOrganizationMemberInput {
    pub organization_id: ID,
    pub identity_id: ID,
    /// The lasting roles; left out, they stay.
    pub roles: Option<Vec<String>>,
    /// The window's start; left out, it stays; null, access starts at once.
    pub valid_from: MaybeUndefined<DateTime<Utc>>,
    /// The window's end; left out, it stays; null, access does not end.
    pub valid_until: MaybeUndefined<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct UpdateOrganizationMemberPayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct RemoveOrganizationMemberInput {
    pub organization_id: ID,
    pub identity_id: ID,
}

#[derive(SimpleObject)]
pub struct RemoveOrganizationMemberPayload {
    /// The membership that ended; the member's sessions in the organization are revoked.
    pub membership: Membership,
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> async_graphql::Result<CreateOrganizationPayload> {
        let (services, req) = request(ctx);
        let organization = core_orgs::create_organization(
            &services.db,
            &req.scope,
            &req.actor,
            core_orgs::NewOrganization {
                name: input.name,
                slug: input.slug,
                kind: input.kind.into(),
                metadata: input.metadata.map(|m| m.0),
                external_id: input.external_id,
            },
        )
        .await
        .gql()?;
        Ok(CreateOrganizationPayload {
            organization: organization.into(),
        })
    }

    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> async_graphql::Result<UpdateOrganizationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let organization = core_orgs::update_organization(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            core_orgs::OrganizationChanges {
                name: input.name,
                slug: input.slug,
                kind: input.kind.map(Into::into),
                metadata: input.metadata.map(|m| m.0),
                external_id: input
                    .external_id
                    .map(|id| Some(id).filter(|id| !id.is_empty())),
                domain_policy: input.domain_policy.map(Into::into),
                authentication_policy: input.authentication_policy.map(Into::into),
            },
        )
        .await
        .gql()?;
        Ok(UpdateOrganizationPayload {
            organization: organization.into(),
        })
    }

    /// Deletes an organization and its memberships; sessions scoped to it are revoked.
    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationInput,
    ) -> async_graphql::Result<DeleteOrganizationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let organization = core_orgs::delete_organization(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteOrganizationPayload {
            organization: organization.into(),
        })
    }

    /// Adds an existing identity to an organization (tenant admins, or members with
    /// `members:write` such as `org:admin`).
    async fn add_organization_member(
        &self,
        ctx: &Context<'_>,
        input: AddOrganizationMemberInput,
    ) -> async_graphql::Result<AddOrganizationMemberPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let identity_id = parse_id("identityId", &input.identity_id)?;
        let member = core_orgs::add_member(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            identity_id,
            &input.roles,
            core_orgs::Window {
                valid_from: input.valid_from,
                valid_until: input.valid_until,
            },
        )
        .await
        .gql()?;
        Ok(AddOrganizationMemberPayload {
            membership: member.into(),
        })
    }

    /// Changes a member's lasting roles and window; a window that no longer holds the present
    /// ends the member's access at once.
    async fn update_organization_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationMemberInput,
    ) -> async_graphql::Result<UpdateOrganizationMemberPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let identity_id = parse_id("identityId", &input.identity_id)?;
        let member = core_orgs::update_member(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            identity_id,
            core_orgs::MemberChanges {
                roles: input.roles,
                valid_from: maybe(input.valid_from),
                valid_until: maybe(input.valid_until),
            },
        )
        .await
        .gql()?;
        Ok(UpdateOrganizationMemberPayload {
            membership: member.into(),
        })
    }

    /// Removes a member (or, for an identity, leaves the organization).
    async fn remove_organization_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveOrganizationMemberInput,
    ) -> async_graphql::Result<RemoveOrganizationMemberPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let identity_id = parse_id("identityId", &input.identity_id)?;
        let member = core_orgs::remove_member(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            identity_id,
        )
        .await
        .gql()?;
        Ok(RemoveOrganizationMemberPayload {
            membership: member.into(),
        })
    }
}

/// A field left out (`None`), set to null (`Some(None)`) or to a value.
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// The sign-in factors of the identity `id`, batched with the other identities of the response.
async fn sign_in_factors(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<SignInFactors> {
    let id = parse_id("id", id)?;
    let factors = ctx
        .data_unchecked::<Loaders>()
        .sign_in_factors
        .load_one(id)
        .await?;
    Ok(factors.unwrap_or_default())
}
