//! The tenant's administrators: people who sign in to the console with passkeys. Listed with
//! their roles, invited by email (a one-time link into `/console`), given another role, or
//! removed; the last owner stays. Changing needs the owner role (an owner API key or an
//! owner's console session).

use super::api_keys::AdminRole;
use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::administrators;

/// An administrator of the tenant.
#[derive(SimpleObject, Clone, Debug)]
pub struct Administrator {
    pub id: ID,
    pub email: String,
    pub display_name: Option<String>,
    /// Their role in this tenant.
    pub role: AdminRole,
    /// When they were given that role.
    pub granted_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl From<administrators::TenantAdministrator> for Administrator {
    fn from(held: administrators::TenantAdministrator) -> Self {
        let person = held.administrator;
        Self {
            id: ID(person.id.to_string()),
            email: person.email,
            display_name: person.display_name,
            role: held.role.into(),
            granted_at: held.granted_at,
            created_at: person.created_at,
            last_sign_in_at: person.last_sign_in_at,
        }
    }
}

/// An invitation to administer the tenant, not yet accepted.
#[derive(SimpleObject, Clone, Debug)]
pub struct AdministratorInvitation {
    pub id: ID,
    pub email: String,
    pub role: AdminRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<administrators::AdministratorInvitation> for AdministratorInvitation {
    fn from(invitation: administrators::AdministratorInvitation) -> Self {
        Self {
            id: ID(invitation.id.to_string()),
            email: invitation.email,
            role: invitation.role.into(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        }
    }
}

#[derive(Default)]
pub struct AdministratorQuery;

#[Object]
impl AdministratorQuery {
    /// The tenant's administrators, by address. Requires the viewer role.
    async fn administrators(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Administrator>> {
        let (services, req) = request(ctx);
        let held = administrators::administrators(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(held.into_iter().map(Administrator::from).collect())
    }

    /// Invitations that can still be accepted, newest first. Requires the viewer role.
    async fn administrator_invitations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AdministratorInvitation>> {
        let (services, req) = request(ctx);
        let pending = administrators::invitations(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(pending
            .into_iter()
            .map(AdministratorInvitation::from)
            .collect())
    }
}

#[derive(InputObject)]
pub struct InviteAdministratorInput {
    pub email: String,
    pub role: AdminRole,
}

#[derive(SimpleObject)]
pub struct InviteAdministratorPayload {
    /// The invitation: its link went to the address, valid for 7 days, once.
    pub invitation: AdministratorInvitation,
}

#[derive(InputObject)]
pub struct UpdateAdministratorInput {
    pub id: ID,
    pub role: AdminRole,
}

#[derive(SimpleObject)]
pub struct UpdateAdministratorPayload {
    pub administrator: Administrator,
}

#[derive(InputObject)]
pub struct RemoveAdministratorInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RemoveAdministratorPayload {
    pub removed_administrator_id: ID,
}

#[derive(InputObject)]
pub struct CancelAdministratorInvitationInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct CancelAdministratorInvitationPayload {
    pub cancelled_invitation_id: ID,
}

#[derive(Default)]
pub struct AdministratorMutation;

#[Object]
impl AdministratorMutation {
    /// Emails `email` a one-time link into the console to enrol a passkey as `role` of this
    /// tenant. Requires the owner role.
    async fn invite_administrator(
        &self,
        ctx: &Context<'_>,
        input: InviteAdministratorInput,
    ) -> async_graphql::Result<InviteAdministratorPayload> {
        let (services, req) = request(ctx);
        let invitation = administrators::invite(
            &services.db,
            services.mailer.as_ref(),
            &services.public_url,
            &req.scope,
            &req.actor,
            &input.email,
            input.role.into(),
        )
        .await
        .gql()?;
        Ok(InviteAdministratorPayload {
            invitation: invitation.into(),
        })
    }

    /// Cancels a pending invitation: its link no longer works. Requires the owner role.
    async fn cancel_administrator_invitation(
        &self,
        ctx: &Context<'_>,
        input: CancelAdministratorInvitationInput,
    ) -> async_graphql::Result<CancelAdministratorInvitationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        administrators::cancel_invitation(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(CancelAdministratorInvitationPayload {
            cancelled_invitation_id: input.id,
        })
    }

    /// Gives an administrator another role here and ends their console sessions at once. The
    /// last owner stays owner. Requires the owner role.
    async fn update_administrator(
        &self,
        ctx: &Context<'_>,
        input: UpdateAdministratorInput,
    ) -> async_graphql::Result<UpdateAdministratorPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let held = administrators::update_administrator(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            input.role.into(),
        )
        .await
        .gql()?;
        Ok(UpdateAdministratorPayload {
            administrator: held.into(),
        })
    }

    /// Takes an administrator's role here away (their roles in other tenants stay) and ends
    /// their console sessions and their pending invitations here at once. The last owner cannot be removed. Requires the owner
    /// role.
    async fn remove_administrator(
        &self,
        ctx: &Context<'_>,
        input: RemoveAdministratorInput,
    ) -> async_graphql::Result<RemoveAdministratorPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        administrators::remove_administrator(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RemoveAdministratorPayload {
            removed_administrator_id: input.id,
        })
    }
}
