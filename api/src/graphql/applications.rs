//! Applications (OpenID Connect clients) in the tenant API: register, change, rotate the
//! secret, delete and list. Client secrets are returned once and never readable again.

use super::access_policies::{AccessPolicy, AccessPolicyInput};
use super::claim_mappings::{ClaimMapping, ClaimMappingInput, mappings_in, mappings_out};
use super::context::request;
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::applications::{self as core_apps, AppType};

/// The kind of client.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApplicationType {
    /// A server-side web application: confidential (client secret), authorization code.
    Web,
    /// A single-page application: public, authorization code with PKCE.
    Spa,
    /// A mobile or desktop app: public, PKCE, loopback or private-scheme redirect URIs.
    Native,
    /// A back end acting for itself: confidential, client credentials only.
    Machine,
}

impl From<ApplicationType> for AppType {
    fn from(value: ApplicationType) -> Self {
        match value {
            ApplicationType::Web => AppType::Web,
            ApplicationType::Spa => AppType::Spa,
            ApplicationType::Native => AppType::Native,
            ApplicationType::Machine => AppType::Machine,
        }
    }
}

impl From<AppType> for ApplicationType {
    fn from(value: AppType) -> Self {
        match value {
            AppType::Web => ApplicationType::Web,
            AppType::Spa => ApplicationType::Spa,
            AppType::Native => ApplicationType::Native,
            AppType::Machine => ApplicationType::Machine,
        }
    }
}

/// An OpenID Connect client of the tenant.
#[derive(SimpleObject, Clone, Debug)]
pub struct Application {
    pub id: ID,
    /// The public identifier the client sends as `client_id`.
    pub client_id: String,
    pub name: String,
    #[graphql(name = "type")]
    pub app_type: ApplicationType,
    /// Whether the client authenticates with a secret (web and machine applications).
    pub confidential: bool,
    /// Exact redirect URIs (compared as strings).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The scopes the client may request.
    pub scopes: Vec<String>,
    /// Overrides the tenant's access-token lifetime for this client.
    pub access_token_ttl_seconds: Option<u32>,
    /// Overrides the tenant's session (refresh-token) lifetime for this client.
    pub refresh_token_ttl_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Custom claims of this application's tokens, besides the tenant's
    /// (`TenantSettings.claimMappings`); one of the same claim replaces the tenant's.
    pub claim_mappings: Vec<ClaimMapping>,
    /// Who may sign in to this application.
    pub access_policy: AccessPolicy,
}

impl From<core_apps::Application> for Application {
    fn from(app: core_apps::Application) -> Self {
        Self {
            id: ID(app.id.to_string()),
            confidential: !app.app_type.is_public(),
            client_id: app.client_id,
            name: app.name,
            app_type: app.app_type.into(),
            redirect_uris: app.redirect_uris,
            post_logout_redirect_uris: app.post_logout_redirect_uris,
            scopes: app.scopes,
            access_token_ttl_seconds: app.access_token_ttl_seconds,
            refresh_token_ttl_seconds: app.refresh_token_ttl_seconds,
            created_at: app.created_at,
            updated_at: app.updated_at,
            secret_rotated_at: app.secret_rotated_at,
            claim_mappings: mappings_out(app.claim_mappings),
            access_policy: app.access_policy.into(),
        }
    }
}

#[derive(Default)]
pub struct ApplicationQuery;

#[Object]
impl ApplicationQuery {
    /// The tenant's applications, oldest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Application>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = core_apps::list_applications(&services.db, &req.scope, &req.actor, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |a| a.id, Application::from))
    }

    /// One application by id.
    async fn application(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Application> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_apps::get_application(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateApplicationInput {
    pub name: String,
    #[graphql(name = "type")]
    pub app_type: ApplicationType,
    #[graphql(default)]
    pub redirect_uris: Vec<String>,
    #[graphql(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes; default `openid profile email offline_access` (none for machine apps).
    pub scopes: Option<Vec<String>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    /// Custom claims of its tokens (at most 25).
    #[graphql(default)]
    pub claim_mappings: Vec<ClaimMappingInput>,
    /// Who may sign in; anyone by default.
    pub access_policy: Option<AccessPolicyInput>,
}

#[derive(SimpleObject)]
pub struct CreateApplicationPayload {
    pub application: Application,
    /// The client secret of a confidential application, shown only here; null for public
    /// clients.
    pub client_secret: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateApplicationInput {
    pub id: ID,
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    /// Replaces the custom claims (an empty list removes them).
    pub claim_mappings: Option<Vec<ClaimMappingInput>>,
    /// Replaces who may sign in; it applies at the next authorization or refresh.
    pub access_policy: Option<AccessPolicyInput>,
}

#[derive(SimpleObject)]
pub struct UpdateApplicationPayload {
    pub application: Application,
}

#[derive(InputObject)]
pub struct ApplicationIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RotateApplicationSecretPayload {
    pub application: Application,
    /// The new client secret, shown only here. The old one no longer works.
    pub client_secret: String,
}

#[derive(SimpleObject)]
pub struct DeleteApplicationPayload {
    /// The deleted application; its sessions and refresh tokens are revoked.
    pub application: Application,
}

#[derive(Default)]
pub struct ApplicationMutation;

#[Object]
impl ApplicationMutation {
    /// Registers an OpenID Connect client.
    async fn create_application(
        &self,
        ctx: &Context<'_>,
        input: CreateApplicationInput,
    ) -> async_graphql::Result<CreateApplicationPayload> {
        let (services, req) = request(ctx);
        let access_policy = match input.access_policy {
            Some(policy) => policy.into_core()?,
            None => core_apps::AccessPolicy::default(),
        };
        let (app, client_secret) = core_apps::create_application(
            &services.db,
            &req.scope,
            &req.actor,
            &req.settings,
            core_apps::NewApplication {
                name: input.name,
                app_type: input.app_type.into(),
                redirect_uris: input.redirect_uris,
                post_logout_redirect_uris: input.post_logout_redirect_uris,
                scopes: input.scopes,
                access_token_ttl_seconds: input.access_token_ttl_seconds,
                refresh_token_ttl_seconds: input.refresh_token_ttl_seconds,
                claim_mappings: mappings_in(input.claim_mappings),
                access_policy,
            },
        )
        .await
        .gql()?;
        Ok(CreateApplicationPayload {
            application: app.into(),
            client_secret,
        })
    }

    /// Changes an application's name, redirect URIs, scopes, token lifetimes, custom claims
    /// or access policy.
    async fn update_application(
        &self,
        ctx: &Context<'_>,
        input: UpdateApplicationInput,
    ) -> async_graphql::Result<UpdateApplicationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let access_policy = input
            .access_policy
            .map(AccessPolicyInput::into_core)
            .transpose()?;
        let app = core_apps::update_application(
            &services.db,
            &req.scope,
            &req.actor,
            &req.settings,
            id,
            core_apps::ApplicationChanges {
                name: input.name,
                redirect_uris: input.redirect_uris,
                post_logout_redirect_uris: input.post_logout_redirect_uris,
                scopes: input.scopes,
                access_token_ttl_seconds: input.access_token_ttl_seconds,
                refresh_token_ttl_seconds: input.refresh_token_ttl_seconds,
                claim_mappings: input.claim_mappings.map(mappings_in),
                access_policy,
            },
        )
        .await
        .gql()?;
        Ok(UpdateApplicationPayload {
            application: app.into(),
        })
    }

    /// Replaces a confidential application's client secret.
    async fn rotate_application_secret(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<RotateApplicationSecretPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let (app, client_secret) =
            core_apps::rotate_application_secret(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(RotateApplicationSecretPayload {
            application: app.into(),
            client_secret,
        })
    }

    /// Deletes an application and revokes what was issued to it.
    async fn delete_application(
        &self,
        ctx: &Context<'_>,
        input: ApplicationIdInput,
    ) -> async_graphql::Result<DeleteApplicationPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let app = core_apps::delete_application(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteApplicationPayload {
            application: app.into(),
        })
    }
}
