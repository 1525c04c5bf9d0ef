//! Time-bound access in the tenant API: role grants with a window of their own
//! (`grantOrganizationRole`, `revokeOrganizationRole`), the member filter by status and end,
//! and the admin view of what expires soon (`expiringAccess`). The windows of memberships
//! themselves are set where memberships are (`organizations`, `invitations`).

use super::context::request;
use super::cost::page_cost;
use super::objects::{Membership, MembershipStatus, RoleGrant};
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::organizations as core_orgs;

/// Which members a list answers.
#[derive(InputObject, Clone, Copy, Default)]
pub struct MemberFilter {
    /// Only memberships in this status now.
    pub status: Option<MembershipStatus>,
    /// Only memberships whose window ends before this time (ended ones included: add
    /// `status: ACTIVE` for those still to end).
    pub expiring_before: Option<DateTime<Utc>>,
}

impl From<MemberFilter> for core_orgs::MemberFilter {
    fn from(filter: MemberFilter) -> Self {
        Self {
            status: filter.status.map(Into::into),
            expiring_before: filter.expiring_before,
        }
    }
}

#[derive(InputObject)]
pub struct GrantOrganizationRoleInput {
    pub membership_id: ID,
    /// An organization role of the tenant.
    pub role: String,
    /// When the grant starts (RFC 3339; at once if left out).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it ends (RFC 3339; never if left out). Must be after `validFrom`.
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct GrantOrganizationRolePayload {
    pub grant: RoleGrant,
    pub membership: Membership,
}

/// Either `grantId`, or `membershipId` with `role` (every grant of that role in the
/// membership).
#[derive(InputObject)]
pub struct RevokeOrganizationRoleInput {
    pub grant_id: Option<ID>,
    pub membership_id: Option<ID>,
    pub role: Option<String>,
}

#[derive(SimpleObject)]
pub struct RevokeOrganizationRolePayload {
    /// The grants removed.
    pub grants: Vec<RoleGrant>,
    pub membership: Membership,
}

#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Gives a member a role for a window (temporary elevated access, such as a day of support
    /// access): tenant admins, or members with `members:write` for roles within their own.
    async fn grant_organization_role(
        &self,
        ctx: &Context<'_>,
        input: GrantOrganizationRoleInput,
    ) -> async_graphql::Result<GrantOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let grant = core_orgs::NewGrant {
            membership_id: parse_id("membershipId", &input.membership_id)?,
            role: input.role,
            window: core_orgs::Window {
                valid_from: input.valid_from,
                valid_until: input.valid_until,
            },
        };
        let change = core_orgs::grant_role(&services.db, &req.scope, &req.actor, grant)
            .await
            .gql()?;
        let now = change.member.read_at;
        Ok(GrantOrganizationRolePayload {
            grant: change
                .grants
                .into_iter()
                .map(|grant| RoleGrant::at(grant, now))
                .next()
                .ok_or("the grant was not returned")?,
            membership: change.member.into(),
        })
    }

    /// Ends grants before their time. Lasting roles change with `updateOrganizationMember`.
    async fn revoke_organization_role(
        &self,
        ctx: &Context<'_>,
        input: RevokeOrganizationRoleInput,
    ) -> async_graphql::Result<RevokeOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let selector = match (input.grant_id, input.membership_id, input.role) {
            (Some(id), None, None) => core_orgs::GrantSelector::Grant(parse_id("grantId", &id)?),
            (None, Some(membership_id), Some(role)) => core_orgs::GrantSelector::Role {
                membership_id: parse_id("membershipId", &membership_id)?,
                role,
            },
            _ => {
                return Err(latchkey_core::Error::validation(
                    "grantId",
                    "give either grantId, or membershipId with role",
                ))
                .gql();
            }
        };
        let change = core_orgs::revoke_role(&services.db, &req.scope, &req.actor, selector)
            .await
            .gql()?;
        let now = change.member.read_at;
        Ok(RevokeOrganizationRolePayload {
            grants: change
                .grants
                .into_iter()
                .map(|grant| RoleGrant::at(grant, now))
                .collect(),
            membership: change.member.into(),
        })
    }
}

#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// What expires soon, for tenant admins: memberships in force that end before `before`, or
    /// that have a grant in force ending before it; oldest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn expiring_access(
        &self,
        ctx: &Context<'_>,
        before: DateTime<Utc>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let members =
            core_orgs::expiring_access(&services.db, &req.scope, &req.actor, before, page)
                .await
                .gql()?;
        Ok(Connection::from_page(
            members,
            |m| m.membership.id,
            Membership::from,
        ))
    }
}
