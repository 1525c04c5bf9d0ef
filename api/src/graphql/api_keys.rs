//! API keys of the tenant API and the admin roles they carry: listed, created (the secret is
//! shown once) and revoked.

use super::context::request;
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::{AdminRole as CoreRole, api_keys};

/// A tenant-level administrative role, held by API keys and by administrators.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "CoreRole")]
pub enum AdminRole {
    /// Everything in the tenant, including owner keys and administrators.
    Owner,
    /// Everything but the owner role and managing administrators.
    Admin,
    /// Read-only.
    Viewer,
    /// Support staff: identities (read and write), organizations and the audit log (read);
    /// no settings, keys, connectors or secrets.
    Support,
}

/// A tenant API key. The secret is shown once, by `createApiKey`, and never again.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApiKey {
    pub id: ID,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub roles: Vec<AdminRole>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_keys::ApiKey> for ApiKey {
    fn from(key: api_keys::ApiKey) -> Self {
        Self {
            id: ID(key.id.to_string()),
            name: key.name,
            prefix: key.prefix,
            roles: key.roles.into_iter().map(Into::into).collect(),
            created_by: key.created_by,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// API keys, oldest first, revoked ones included. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<ApiKey>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = api_keys::list_api_keys(&services.db, &req.scope, &req.actor, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |k| k.id, ApiKey::from))
    }
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub roles: Vec<AdminRole>,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKey,
    /// The bearer secret. Shown only here; store it now.
    pub secret: String,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    pub api_key: ApiKey,
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key; the secret is in the payload only. Requires the admin role, and the
    /// owner role to create an owner key.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let (services, req) = request(ctx);
        let (key, secret) = api_keys::create_api_key(
            &services.db,
            &req.scope,
            &req.actor,
            &input.name,
            input.roles.into_iter().map(Into::into).collect(),
        )
        .await
        .gql()?;
        Ok(CreateApiKeyPayload {
            api_key: key.into(),
            secret,
        })
    }

    /// Revokes an API key; it stops working at once. Requires the admin role (owner for an
    /// owner key).
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> async_graphql::Result<RevokeApiKeyPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let key = api_keys::revoke_api_key(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RevokeApiKeyPayload {
            api_key: key.into(),
        })
    }
}
