//! Who is calling (`viewer`: the kind of caller; for an end user their identity, passkeys,
//! sessions and roles; for an API key the key) and the tenant being called (`tenant`).

use super::api_keys::{AdminRole, ApiKey};
use super::context::request;
use super::cost::page_cost;
use super::objects::Identity;
use super::passkeys::{Passkey, own_passkeys};
use super::relationships::{CustomerOrganization, customer_organizations};
use super::sessions::{Session, own_sessions};
use super::settings::{TenantSettingsObject, settings_object};
use super::types::{Connection, IntoGraphql};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::audit::AuditEvent;
use latchkey_core::{Principal, api_keys, identities, security_events};

/// The tenant being called.
#[derive(SimpleObject, Clone, Debug)]
pub struct Tenant {
    pub id: ID,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub settings: TenantSettingsObject,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ViewerKind {
    Anonymous,
    ApiKey,
    /// An end user, with an access token.
    Identity,
    /// An administrator signed in to the console.
    Administrator,
}

/// Who is calling.
pub struct Viewer;

#[Object]
impl Viewer {
    async fn kind(&self, ctx: &Context<'_>) -> ViewerKind {
        match *request(ctx).1.actor.principal() {
            Principal::ApiKey { .. } => ViewerKind::ApiKey,
            Principal::Identity { .. } => ViewerKind::Identity,
            Principal::Administrator { .. } => ViewerKind::Administrator,
            // Connectors act inside the server only; they never call the API.
            // SCIM tokens are refused on the GraphQL API before they get here.
            Principal::Anonymous
            | Principal::Platform { .. }
            | Principal::Connector { .. }
            | Principal::ScimToken { .. } => ViewerKind::Anonymous,
        }
    }

    /// The signed-in end user, if the caller is one.
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        own_identity(ctx).await
    }

    /// The customer organizations the signed-in end user administers as an admin of a
    /// partner organization (relationships in force), by name; empty for anyone else.
    async fn customer_organizations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CustomerOrganization>> {
        customer_organizations(ctx).await
    }

    /// The signed-in end user's passkeys.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn passkeys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Passkey>>> {
        own_passkeys(ctx, first, after).await
    }

    /// The signed-in end user's live sessions.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Session>>> {
        own_sessions(ctx, first, after).await
    }

    /// The signed-in end user's newest security events (passkeys added and removed,
    /// recoveries, a verified address), newest first; at most `first` (default 20, up to 100).
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<Option<Vec<SecurityEvent>>> {
        let (services, req) = request(ctx);
        let Principal::Identity { .. } = *req.actor.principal() else {
            return Ok(None);
        };
        let first = u64::try_from(first.clamp(0, 100)).unwrap_or(0);
        let events =
            security_events::own_security_events(&services.db, &req.scope, &req.actor, first)
                .await
                .gql()?;
        Ok(Some(events.into_iter().map(SecurityEvent::from).collect()))
    }

    /// The caller's tenant-level roles.
    async fn roles(&self, ctx: &Context<'_>) -> Vec<AdminRole> {
        request(ctx)
            .1
            .actor
            .roles()
            .iter()
            .copied()
            .map(Into::into)
            .collect()
    }

    /// The API key the caller authenticated with, if any.
    async fn api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        let (services, req) = request(ctx);
        match *req.actor.principal() {
            Principal::ApiKey { .. } => Ok(Some(
                api_keys::own_api_key(&services.db, &req.scope, &req.actor)
                    .await
                    .gql()?
                    .into(),
            )),
            _ => Ok(None),
        }
    }
}

/// Something that happened to the signed-in end user's account's security.
#[derive(SimpleObject, Clone, Debug)]
pub struct SecurityEvent {
    /// Such as `passkey.register`, `passkey.revoke`, `identity.recover`.
    pub action: String,
    pub occurred_at: DateTime<Utc>,
    /// The client address the change came from, where it was recorded.
    pub ip_address: Option<String>,
}

impl From<AuditEvent> for SecurityEvent {
    fn from(event: AuditEvent) -> Self {
        Self {
            ip_address: event.data["ipAddress"].as_str().map(str::to_owned),
            action: event.action,
            occurred_at: event.occurred_at,
        }
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who is calling. Open to every caller.
    async fn viewer(&self) -> Viewer {
        Viewer
    }

    /// The tenant this endpoint belongs to. Requires the viewer role.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Tenant> {
        let (services, req) = request(ctx);
        let tenant = latchkey_tenants::get_tenant(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(Tenant {
            id: ID(tenant.id.to_string()),
            settings: settings_object((*req.settings).clone(), req.relying_party.clone()),
            slug: tenant.slug,
            name: tenant.name,
            created_at: tenant.created_at,
        })
    }
}

/// The calling end user's identity.
async fn own_identity(ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
    let (services, req) = request(ctx);
    let Principal::Identity { .. } = *req.actor.principal() else {
        return Ok(None);
    };
    Ok(Some(
        identities::own_identity(&services.db, &req.scope, &req.actor)
            .await
            .gql()?
            .into(),
    ))
}
