//! Passkeys of identities: listed, renamed and revoked, and the one-time link that registers
//! a new one (a lost device).

use super::context::request;
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::Principal;
use latchkey_core::passkeys;

/// A passkey registered to an identity.
#[derive(SimpleObject, Clone, Debug)]
pub struct Passkey {
    pub id: ID,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The authenticator may sync this passkey to other devices.
    pub backup_eligible: bool,
    /// The passkey is synced (backed up).
    pub backup_state: bool,
    pub sign_count: i64,
}

impl From<passkeys::Passkey> for Passkey {
    fn from(passkey: passkeys::Passkey) -> Self {
        Self {
            id: ID(passkey.id.to_string()),
            name: passkey.name,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
            backup_eligible: passkey.backup_eligible,
            backup_state: passkey.backup_state,
            sign_count: passkey.sign_count,
        }
    }
}

/// The calling end user's passkeys (`None` for any other caller).
pub async fn own_passkeys(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Option<Connection<Passkey>>> {
    let (services, req) = request(ctx);
    let Principal::Identity { id, .. } = *req.actor.principal() else {
        return Ok(None);
    };
    let page = page_request(first, after)?;
    let result = passkeys::list_passkeys(&services.db, &req.scope, &req.actor, id, page)
        .await
        .gql()?;
    Ok(Some(Connection::from_page(result, |p| p.id, Passkey::from)))
}

#[derive(Default)]
pub struct PasskeyQuery;

#[Object]
impl PasskeyQuery {
    /// An identity's passkeys. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn passkeys(
        &self,
        ctx: &Context<'_>,
        identity_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Passkey>> {
        let (services, req) = request(ctx);
        let identity_id = parse_id("identityId", &identity_id)?;
        let page = page_request(first, after)?;
        let result =
            passkeys::list_passkeys(&services.db, &req.scope, &req.actor, identity_id, page)
                .await
                .gql()?;
        Ok(Connection::from_page(result, |p| p.id, Passkey::from))
    }
}

#[derive(InputObject)]
pub struct RenamePasskeyInput {
    pub id: ID,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct RenamePasskeyPayload {
    pub passkey: Passkey,
}

#[derive(InputObject)]
pub struct RevokePasskeyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokePasskeyPayload {
    pub passkey: Passkey,
}

#[derive(InputObject)]
pub struct CreateRegistrationLinkInput {
    pub identity_id: ID,
    /// Default one day; between 300 and 604800.
    pub expires_in_seconds: Option<i64>,
    /// Also email the link to the identity (`PASSKEY_ENROLLMENT`): a first passkey for an
    /// imported account, or a new one for a lost device.
    #[graphql(default)]
    pub send_email: bool,
}

#[derive(SimpleObject)]
pub struct CreateRegistrationLinkPayload {
    /// The hosted page that registers a new passkey with the token. Shown once.
    pub url: String,
    /// The token itself, for `beginPasskeyRegistration(input: { registrationToken })`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct PasskeyMutation;

#[Object]
impl PasskeyMutation {
    /// Renames a passkey: your own, or any with the admin role.
    async fn rename_passkey(
        &self,
        ctx: &Context<'_>,
        input: RenamePasskeyInput,
    ) -> async_graphql::Result<RenamePasskeyPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let passkey =
            passkeys::rename_passkey(&services.db, &req.scope, &req.actor, id, &input.name)
                .await
                .gql()?;
        Ok(RenamePasskeyPayload {
            passkey: passkey.into(),
        })
    }

    /// Revokes a passkey: your own, or any with the admin role.
    async fn revoke_passkey(
        &self,
        ctx: &Context<'_>,
        input: RevokePasskeyInput,
    ) -> async_graphql::Result<RevokePasskeyPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let passkey = passkeys::revoke_passkey(
            &services.db,
            &req.scope,
            &req.actor,
            &req.mail(services),
            id,
        )
        .await
        .gql()?;
        Ok(RevokePasskeyPayload {
            passkey: passkey.into(),
        })
    }

    /// A one-time link for an identity to register a passkey (a lost device, or a first
    /// passkey for an imported account), emailed to it with `sendEmail`. Requires the admin
    /// role.
    async fn create_registration_link(
        &self,
        ctx: &Context<'_>,
        input: CreateRegistrationLinkInput,
    ) -> async_graphql::Result<CreateRegistrationLinkPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("identityId", &input.identity_id)?;
        let valid_for = chrono::Duration::try_seconds(input.expires_in_seconds.unwrap_or(86_400))
            .ok_or_else(|| {
            super::types::graphql_error(latchkey_core::Error::validation(
                "expiresInSeconds",
                "must be between 300 and 604800",
            ))
        })?;
        let mail = req.mail(services);
        let (token, expires_at) = passkeys::create_registration_link(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            valid_for,
            input.send_email.then_some(&mail),
        )
        .await
        .gql()?;
        Ok(CreateRegistrationLinkPayload {
            url: format!("{}/?registration={token}", req.issuer),
            token,
            expires_at,
        })
    }
}
