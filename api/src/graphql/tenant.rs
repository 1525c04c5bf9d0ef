//! The tenant API, `/t/{slug}/graphql`: identities, API keys and the audit log of one tenant.
//! The tenant comes from the URL or host, never from an argument; resolvers only translate
//! between GraphQL and one core call each.

use super::account::{
    AccountMutation, AccountQuery, Passkey, Session, TenantSettingsObject, own_identity,
    own_passkeys, own_sessions, settings_object, settings_of,
};
use super::applications::{ApplicationMutation, ApplicationQuery};
use super::connectors::{ConnectorMutation, ConnectorQuery};
use super::domains::DomainMutation;
use super::events::EventQuery;
use super::organizations::{OrganizationMutation, OrganizationQuery};
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use crate::state::Services;
use async_graphql::{
    Context, EmptySubscription, Enum, ID, InputObject, Json, MaybeUndefined, MergedObject, Object,
    Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use latchkey_core::audit::{self as core_audit, AuditFilter};
use latchkey_core::identities::{self as core_identities, Change, IdentityStatus as CoreStatus};
use latchkey_core::sessions::ClientInfo;
use latchkey_core::{Actor, AdminRole as CoreRole, Principal, TenantScope, api_keys, tenancy};
use serde_json::Value;

pub type TenantSchema = Schema<TenantQuery, TenantMutation, EmptySubscription>;

/// The tenant API's queries: administration and the end user's account.
#[derive(MergedObject, Default)]
pub struct TenantQuery(
    AdminQuery,
    AccountQuery,
    ApplicationQuery,
    OrganizationQuery,
    EventQuery,
    ConnectorQuery,
);

/// The tenant API's mutations: administration and the end user's account.
#[derive(MergedObject, Default)]
pub struct TenantMutation(
    AdminMutation,
    AccountMutation,
    ApplicationMutation,
    OrganizationMutation,
    DomainMutation,
    ConnectorMutation,
);

/// Per-request context of the tenant API, built by the HTTP layer after tenant resolution and
/// authentication.
#[derive(Clone)]
pub struct TenantRequest {
    pub scope: TenantScope,
    /// The tenant as resolved for this request (name, settings).
    pub tenant: tenancy::Tenant,
    pub actor: Actor,
    pub client: ClientInfo,
}

pub(super) fn request<'a>(ctx: &'a Context<'_>) -> (&'a Services, &'a TenantRequest) {
    (
        ctx.data_unchecked::<Services>(),
        ctx.data_unchecked::<TenantRequest>(),
    )
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AdminRole {
    Owner,
    Admin,
    Viewer,
}

impl From<CoreRole> for AdminRole {
    fn from(role: CoreRole) -> Self {
        match role {
            CoreRole::Owner => AdminRole::Owner,
            CoreRole::Admin => AdminRole::Admin,
            CoreRole::Viewer => AdminRole::Viewer,
        }
    }
}

impl From<AdminRole> for CoreRole {
    fn from(role: AdminRole) -> Self {
        match role {
            AdminRole::Owner => CoreRole::Owner,
            AdminRole::Admin => CoreRole::Admin,
            AdminRole::Viewer => CoreRole::Viewer,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdentityStatus {
    Active,
    Suspended,
    Deleted,
}

impl From<CoreStatus> for IdentityStatus {
    fn from(status: CoreStatus) -> Self {
        match status {
            CoreStatus::Active => IdentityStatus::Active,
            CoreStatus::Suspended => IdentityStatus::Suspended,
            CoreStatus::Deleted => IdentityStatus::Deleted,
        }
    }
}

impl From<IdentityStatus> for CoreStatus {
    fn from(status: IdentityStatus) -> Self {
        match status {
            IdentityStatus::Active => CoreStatus::Active,
            IdentityStatus::Suspended => CoreStatus::Suspended,
            IdentityStatus::Deleted => CoreStatus::Deleted,
        }
    }
}

/// An end user of the tenant.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Identity {
    pub id: ID,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    pub status: IdentityStatus,
    /// Custom attributes (a JSON object).
    pub attributes: Json<Value>,
    /// The id of this identity in another system, such as a CRM contact id.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<core_identities::Identity> for Identity {
    fn from(identity: core_identities::Identity) -> Self {
        Self {
            id: ID(identity.id.to_string()),
            email: identity.email,
            email_verified: identity.email_verified,
            phone: identity.phone,
            display_name: identity.display_name,
            status: identity.status.into(),
            attributes: Json(identity.attributes),
            external_id: identity.external_id,
            created_at: identity.created_at,
            updated_at: identity.updated_at,
            last_sign_in_at: identity.last_sign_in_at,
            deleted_at: identity.deleted_at,
        }
    }
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

/// One administrative change.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditEvent {
    pub id: ID,
    /// `api_key`, `platform`, …
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// Such as `identity.create`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
    pub data: Json<Value>,
    pub occurred_at: DateTime<Utc>,
}

impl From<core_audit::AuditEvent> for AuditEvent {
    fn from(event: core_audit::AuditEvent) -> Self {
        Self {
            id: ID(event.id.to_string()),
            actor_type: event.actor_type,
            actor_id: event.actor_id,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            request_id: event.request_id,
            data: Json(event.data),
            occurred_at: event.occurred_at,
        }
    }
}

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
}

/// Who is calling.
pub struct Viewer;

#[Object]
impl Viewer {
    async fn kind(&self, ctx: &Context<'_>) -> ViewerKind {
        match *request(ctx).1.actor.principal() {
            Principal::ApiKey { .. } => ViewerKind::ApiKey,
            Principal::Identity { .. } => ViewerKind::Identity,
            // Connectors act inside the server only; they never call the API.
            Principal::Anonymous | Principal::Platform { .. } | Principal::Connector { .. } => {
                ViewerKind::Anonymous
            }
        }
    }

    /// The signed-in end user, if the caller is one.
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        own_identity(ctx).await
    }

    /// The signed-in end user's passkeys.
    async fn passkeys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Passkey>>> {
        own_passkeys(ctx, first, after).await
    }

    /// The signed-in end user's live sessions.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Session>>> {
        own_sessions(ctx, first, after).await
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

#[derive(InputObject, Default)]
pub struct IdentityFilter {
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Deleted identities are listed only with `status: DELETED`.
    pub status: Option<IdentityStatus>,
    /// Case-insensitive text in the email or display name.
    pub search: Option<String>,
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Who is calling. Open to every caller.
    async fn viewer(&self) -> Viewer {
        Viewer
    }

    /// The tenant this endpoint belongs to. Requires the viewer role.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Tenant> {
        let (services, req) = request(ctx);
        let tenant = tenancy::get_tenant(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(Tenant {
            id: ID(tenant.id.to_string()),
            settings: settings_object(services, req, settings_of(req)),
            slug: tenant.slug,
            name: tenant.name,
            created_at: tenant.created_at,
        })
    }

    /// Identities, oldest first. Requires the viewer role.
    async fn identities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<IdentityFilter>,
    ) -> async_graphql::Result<Connection<Identity>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let result = core_identities::list_identities(
            &services.db,
            &req.scope,
            &req.actor,
            core_identities::IdentityFilter {
                email: filter.email,
                status: filter.status.map(Into::into),
                search: filter.search,
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |i| i.id, Identity::from))
    }

    /// One identity. Requires the viewer role.
    async fn identity(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Identity> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_identities::get_identity(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }

    /// API keys, oldest first, revoked ones included. Requires the viewer role.
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

    /// The audit log, oldest first. Requires the viewer role.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> async_graphql::Result<Connection<AuditEvent>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let result = core_audit::list_audit_events(
            &services.db,
            &req.scope,
            &req.actor,
            AuditFilter {
                action: filter.action,
                target_id: filter.target_id,
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |e| e.id, AuditEvent::from))
    }
}

#[derive(InputObject)]
pub struct CreateIdentityInput {
    pub email: String,
    #[graphql(default)]
    pub email_verified: bool,
    pub display_name: Option<String>,
    /// E.164, such as +14155550100.
    pub phone: Option<String>,
    /// A JSON object of at most 16 KiB.
    pub attributes: Option<Json<Value>>,
    pub external_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreateIdentityPayload {
    pub identity: Identity,
}

/// Fields left out are kept; fields set to null are cleared.
#[derive(InputObject)]
pub struct UpdateIdentityInput {
    pub id: ID,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub display_name: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    /// Replaces the whole attribute object.
    pub attributes: Option<Json<Value>>,
    pub external_id: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct UpdateIdentityPayload {
    pub identity: Identity,
}

#[derive(InputObject)]
pub struct IdentityIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct SuspendIdentityPayload {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct ResumeIdentityPayload {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct DeleteIdentityPayload {
    pub deleted_identity_id: ID,
    pub identity: Identity,
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

fn change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates an identity. Requires the admin role.
    async fn create_identity(
        &self,
        ctx: &Context<'_>,
        input: CreateIdentityInput,
    ) -> async_graphql::Result<CreateIdentityPayload> {
        let (services, req) = request(ctx);
        let identity = core_identities::create_identity(
            &services.db,
            &req.scope,
            &req.actor,
            core_identities::NewIdentity {
                email: input.email,
                email_verified: input.email_verified,
                display_name: input.display_name,
                phone: input.phone,
                attributes: input.attributes.map(|j| j.0),
                external_id: input.external_id,
            },
        )
        .await
        .gql()?;
        Ok(CreateIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Changes an identity's profile. Requires the admin role.
    async fn update_identity(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdentityInput,
    ) -> async_graphql::Result<UpdateIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::update_identity(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            core_identities::IdentityChanges {
                email: input.email,
                email_verified: input.email_verified,
                display_name: change(input.display_name),
                phone: change(input.phone),
                attributes: input.attributes.map(|j| j.0),
                external_id: change(input.external_id),
            },
        )
        .await
        .gql()?;
        Ok(UpdateIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Suspends an identity: it can no longer sign in. Requires the admin role.
    async fn suspend_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<SuspendIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::set_identity_status(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            CoreStatus::Suspended,
        )
        .await
        .gql()?;
        Ok(SuspendIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Makes a suspended identity active again. Requires the admin role.
    async fn resume_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<ResumeIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::set_identity_status(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            CoreStatus::Active,
        )
        .await
        .gql()?;
        Ok(ResumeIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Soft-deletes an identity; its email becomes free for a new one. Requires the admin role.
    async fn delete_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<DeleteIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::delete_identity(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteIdentityPayload {
            deleted_identity_id: input.id,
            identity: identity.into(),
        })
    }

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
        let key = api_keys::revoke_api_key(
            &services.db,
            services.store.as_ref(),
            &req.scope,
            &req.actor,
            id,
        )
        .await
        .gql()?;
        Ok(RevokeApiKeyPayload {
            api_key: key.into(),
        })
    }
}
