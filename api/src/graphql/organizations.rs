//! Organizations in the tenant API: the organizations themselves, their members, the
//! tenant's organization roles, and `Identity.organizations`.

use super::context::request;
use super::domains::{JoinRequest, JoinRequestStatus, OrganizationDomain};
use super::loaders::Loaders;
use super::objects::{DomainPolicy, Identity, Membership, Organization, OrganizationKind};
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::domains as core_domains;
use latchkey_core::invitations::{
    self as core_invitations, Delivery, InvitationStatus as CoreStatus,
};
use latchkey_core::organizations as core_orgs;
use latchkey_core::page::Page;
use serde_json::Value;

#[ComplexObject]
impl Organization {
    /// The organization's members, oldest first (tenant admins, or members with
    /// `members:read`).
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        // The first page comes from the DataLoader, batched with the other organizations of
        // the response; later pages, and refusals (with their reason), from the direct query.
        if page.after.is_none()
            && let Some(members) = ctx
                .data_unchecked::<Loaders>()
                .members
                .load_one((id, page.first))
                .await?
        {
            return Ok(connection(members));
        }
        let members = core_orgs::list_members(&services.db, &req.scope, &req.actor, id, page)
            .await
            .gql()?;
        Ok(connection(members))
    }

    /// Invitations to this organization, oldest first; by default only pending ones (tenant
    /// admins, or members with `members:write`).
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
        let domains = core_domains::list_domains(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(domains.into_iter().map(OrganizationDomain::from).collect())
    }

    /// Requests to join from people who signed up at a verified domain, oldest first (tenant
    /// admins, or members with `members:read`).
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
        let result = core_domains::list_join_requests(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            status.map(Into::into),
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

    /// The organizations this identity belongs to, as memberships (oldest first).
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let page = page_request(first, after)?;
        let members =
            core_orgs::identity_memberships(&services.db, &req.scope, &req.actor, id, page)
                .await
                .gql()?;
        Ok(connection(members))
    }
}

fn connection(page: Page<core_orgs::Member>) -> Connection<Membership> {
    Connection::from_page(page, |m| m.membership.id, Membership::from)
}

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl From<CoreStatus> for InvitationStatus {
    fn from(status: CoreStatus) -> Self {
        match status {
            CoreStatus::Pending => InvitationStatus::Pending,
            CoreStatus::Accepted => InvitationStatus::Accepted,
            CoreStatus::Revoked => InvitationStatus::Revoked,
            CoreStatus::Expired => InvitationStatus::Expired,
        }
    }
}

/// An invitation to join an organization (the token is only in the email).
#[derive(SimpleObject, Clone, Debug)]
pub struct Invitation {
    pub id: ID,
    pub organization_id: ID,
    pub email: String,
    pub roles: Vec<String>,
    pub status: InvitationStatus,
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<core_invitations::Invitation> for Invitation {
    fn from(invitation: core_invitations::Invitation) -> Self {
        Self {
            id: ID(invitation.id.to_string()),
            organization_id: ID(invitation.organization_id.to_string()),
            status: invitation.status().into(),
            email: invitation.email,
            roles: invitation.roles,
            invited_by: invitation.invited_by,
            created_at: invitation.created_at,
            sent_at: invitation.sent_at,
            expires_at: invitation.expires_at,
            accepted_at: invitation.accepted_at,
            revoked_at: invitation.revoked_at,
        }
    }
}

/// An organization role: built in (`org:admin`, `org:member`; no id) or the tenant's own.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationRole {
    pub id: Option<ID>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub built_in: bool,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<core_orgs::OrganizationRole> for OrganizationRole {
    fn from(role: core_orgs::OrganizationRole) -> Self {
        Self {
            built_in: role.built_in(),
            id: role.id.map(|id| ID(id.to_string())),
            name: role.name,
            description: role.description,
            permissions: role.permissions,
            created_at: role.created_at,
        }
    }
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

    /// The tenant's organization roles, built-ins first.
    async fn organization_roles(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OrganizationRole>> {
        let (services, req) = request(ctx);
        let roles = core_orgs::list_organization_roles(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(roles.into_iter().map(Into::into).collect())
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
}

#[derive(SimpleObject)]
pub struct AddOrganizationMemberPayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct UpdateOrganizationMemberInput {
    pub organization_id: ID,
    pub identity_id: ID,
    pub roles: Vec<String>,
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

#[derive(InputObject)]
pub struct CreateOrganizationRoleInput {
    pub name: String,
    pub description: Option<String>,
    #[graphql(default)]
    pub permissions: Vec<String>,
}

#[derive(SimpleObject)]
pub struct CreateOrganizationRolePayload {
    pub role: OrganizationRole,
}

#[derive(InputObject)]
pub struct DeleteOrganizationRoleInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteOrganizationRolePayload {
    pub role: OrganizationRole,
}

#[derive(InputObject)]
pub struct InviteOrganizationMemberInput {
    pub organization_id: ID,
    pub email: String,
    #[graphql(default_with = "vec![core_orgs::ORG_MEMBER.to_owned()]")]
    pub roles: Vec<String>,
}

#[derive(SimpleObject)]
pub struct InviteOrganizationMemberPayload {
    /// The invitation; the link went out by email.
    pub invitation: Invitation,
}

#[derive(InputObject)]
pub struct InvitationIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct ResendInvitationPayload {
    pub invitation: Invitation,
}

#[derive(SimpleObject)]
pub struct RevokeInvitationPayload {
    pub invitation: Invitation,
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The `invitation` parameter of the emailed link.
    pub token: String,
}

#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    pub membership: Membership,
}

/// Where invitation emails go out from and link to.
async fn with_delivery<T>(
    ctx: &Context<'_>,
    f: impl AsyncFnOnce(&Delivery<'_>) -> latchkey_core::Result<T>,
) -> async_graphql::Result<T> {
    let (services, req) = request(ctx);
    let page_url = format!("{}/t/{}/", services.public_url, req.scope.slug());
    f(&Delivery {
        mailer: services.mailer.as_ref(),
        store: services.store.as_ref(),
        page_url: &page_url,
        tenant_name: &req.tenant.name,
    })
    .await
    .gql()
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
        )
        .await
        .gql()?;
        Ok(AddOrganizationMemberPayload {
            membership: member.into(),
        })
    }

    /// Replaces a member's roles.
    async fn update_organization_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationMemberInput,
    ) -> async_graphql::Result<UpdateOrganizationMemberPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let identity_id = parse_id("identityId", &input.identity_id)?;
        let member = core_orgs::update_member_roles(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            identity_id,
            &input.roles,
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

    /// Invites `email` into an organization with `roles` and emails the link (tenant admins,
    /// or members with `members:write`).
    async fn invite_organization_member(
        &self,
        ctx: &Context<'_>,
        input: InviteOrganizationMemberInput,
    ) -> async_graphql::Result<InviteOrganizationMemberPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let invitation = with_delivery(ctx, async |delivery| {
            core_invitations::invite_member(
                &services.db,
                &req.scope,
                &req.actor,
                delivery,
                organization_id,
                &input.email,
                &input.roles,
            )
            .await
        })
        .await?;
        Ok(InviteOrganizationMemberPayload {
            invitation: invitation.into(),
        })
    }

    /// Sends an invitation again with a new link (the old one stops working) and a new expiry.
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationIdInput,
    ) -> async_graphql::Result<ResendInvitationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let invitation = with_delivery(ctx, async |delivery| {
            core_invitations::resend_invitation(&services.db, &req.scope, &req.actor, delivery, id)
                .await
        })
        .await?;
        Ok(ResendInvitationPayload {
            invitation: invitation.into(),
        })
    }

    /// Revokes a pending invitation.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationIdInput,
    ) -> async_graphql::Result<RevokeInvitationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let invitation =
            core_invitations::revoke_invitation(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(RevokeInvitationPayload {
            invitation: invitation.into(),
        })
    }

    /// Accepts an invitation as the signed-in identity it was sent to.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> async_graphql::Result<AcceptInvitationPayload> {
        let (services, req) = request(ctx);
        let member =
            core_invitations::accept_invitation(&services.db, &req.scope, &req.actor, &input.token)
                .await
                .gql()?;
        Ok(AcceptInvitationPayload {
            membership: member.into(),
        })
    }

    /// Defines an organization role for the tenant.
    async fn create_organization_role(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationRoleInput,
    ) -> async_graphql::Result<CreateOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let role = core_orgs::create_organization_role(
            &services.db,
            &req.scope,
            &req.actor,
            &input.name,
            input.description.as_deref(),
            &input.permissions,
        )
        .await
        .gql()?;
        Ok(CreateOrganizationRolePayload { role: role.into() })
    }

    /// Deletes a tenant-defined role no member holds.
    async fn delete_organization_role(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationRoleInput,
    ) -> async_graphql::Result<DeleteOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let role = core_orgs::delete_organization_role(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteOrganizationRolePayload { role: role.into() })
    }
}
