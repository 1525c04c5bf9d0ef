//! Invitations to organizations: sent by email, sent again, revoked, and accepted by the
//! signed-in identity they were sent to.

use super::context::request;
use super::objects::Membership;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::invitations::{
    self as core_invitations, Delivery, InvitationStatus as CoreStatus,
};
use latchkey_core::organizations as core_orgs;

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
    /// When the membership the invitation creates starts giving access (open if null).
    pub valid_from: Option<DateTime<Utc>>,
    /// When that membership ends (open if null).
    pub valid_until: Option<DateTime<Utc>>,
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
            valid_from: invitation.window.valid_from,
            valid_until: invitation.window.valid_until,
        }
    }
}

#[derive(InputObject)]
pub struct InviteOrganizationMemberInput {
    pub organization_id: ID,
    pub email: String,
    #[graphql(default_with = "vec![core_orgs::ORG_MEMBER.to_owned()]")]
    pub roles: Vec<String>,
    /// The window of the membership the invitation creates (RFC 3339; open if left out).
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
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
    f(&Delivery {
        mail: req.mail(services),
        store: services.store.as_ref(),
    })
    .await
    .gql()
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
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
                core_invitations::Offer {
                    roles: &input.roles,
                    window: core_orgs::Window {
                        valid_from: input.valid_from,
                        valid_until: input.valid_until,
                    },
                },
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
}
