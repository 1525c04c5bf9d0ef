//! Sessions and their tokens: an identity's live sessions, refreshing the tokens, scoping a
//! session to an organization, signing out and revoking sessions.

use super::context::{RequestContext, request};
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use crate::state::Services;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::Principal;
use latchkey_core::sessions::{self, TokenIssuer};

/// Runs `f` with the token issuer of this request's tenant.
async fn with_token_issuer<T>(
    ctx: &Context<'_>,
    f: impl AsyncFnOnce(&Services, &RequestContext, &TokenIssuer<'_>) -> latchkey_core::Result<T>,
) -> async_graphql::Result<T> {
    let (services, req) = request(ctx);
    f(services, req, &req.token_issuer(services)).await.gql()
}

/// Counts one access token and one refresh token issued.
pub(super) fn count_tokens(ctx: &Context<'_>) {
    let metrics = &request(ctx).0.metrics;
    metrics.tokens_issued.with_label_values(&["access"]).inc();
    metrics.tokens_issued.with_label_values(&["refresh"]).inc();
}

/// A live sign-in session.
#[derive(SimpleObject, Clone, Debug)]
pub struct Session {
    pub id: ID,
    pub identity_id: ID,
    pub auth_method: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// This is the session of the calling access token.
    pub current: bool,
}

fn session(session: sessions::Session, req: &RequestContext) -> Session {
    let current = matches!(*req.actor.principal(), Principal::Identity { session_id, .. } if session_id == session.id);
    Session {
        id: ID(session.id.to_string()),
        identity_id: ID(session.identity_id.to_string()),
        auth_method: session.auth_method,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
        revoked_at: session.revoked_at,
        user_agent: session.user_agent,
        ip_address: session.ip_address,
        current,
    }
}

/// The calling end user's sessions (`None` for any other caller).
pub async fn own_sessions(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Option<Connection<Session>>> {
    let (services, req) = request(ctx);
    let Principal::Identity { id, .. } = *req.actor.principal() else {
        return Ok(None);
    };
    let page = page_request(first, after)?;
    let result = sessions::list_sessions(&services.db, &req.scope, &req.actor, id, page)
        .await
        .gql()?;
    Ok(Some(Connection::from_page(
        result,
        |s| s.id,
        |s| session(s, req),
    )))
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// An identity's live sessions. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        identity_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Session>> {
        let (services, req) = request(ctx);
        let identity_id = parse_id("identityId", &identity_id)?;
        let page = page_request(first, after)?;
        let result =
            sessions::list_sessions(&services.db, &req.scope, &req.actor, identity_id, page)
                .await
                .gql()?;
        Ok(Connection::from_page(result, |s| s.id, |s| session(s, req)))
    }
}

/// A session that was just started or refreshed.
#[derive(SimpleObject)]
pub struct SessionReference {
    pub id: ID,
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(SimpleObject)]
pub struct RefreshSessionPayload {
    pub session: SessionReference,
    pub access_token: String,
    /// The replacement refresh token: the one sent is now spent.
    pub refresh_token: String,
    pub expires_in: u32,
}

#[derive(InputObject)]
pub struct SwitchOrganizationInput {
    /// One of the caller's organizations; null to leave organization context.
    pub organization_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct SwitchOrganizationPayload {
    pub session: SessionReference,
    /// Carries `org_id`, `org_kind`, `org_entitlements`, `org_permissions` and the caller's roles
    /// in the organization.
    pub access_token: String,
    /// A new refresh token of the same session (refreshes keep the organization).
    pub refresh_token: String,
    pub expires_in: u32,
}

#[derive(InputObject, Default)]
pub struct SignOutInput {
    /// Also end every other session of the caller.
    #[graphql(default)]
    pub everywhere: bool,
}

#[derive(SimpleObject)]
pub struct SignOutPayload {
    pub session_id: ID,
}

#[derive(InputObject)]
pub struct RevokeSessionInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    pub session: Session,
}

#[derive(InputObject)]
pub struct RevokeIdentitySessionsInput {
    pub identity_id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeIdentitySessionsPayload {
    pub revoked_count: u64,
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Exchanges a refresh token for new tokens (the refresh token rotates). Presenting a
    /// spent refresh token again revokes the whole session, except within the tenant's
    /// `refreshTokenReuseSeconds` after its rotation (while the new one is unused): that
    /// answers the same new refresh token again.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<RefreshSessionPayload> {
        let tokens = with_token_issuer(ctx, async |services, req, issuer| {
            sessions::refresh_session(
                &services.db,
                &req.scope,
                issuer,
                services.clock.as_ref(),
                &input.refresh_token,
            )
            .await
        })
        .await?;
        count_tokens(ctx);
        Ok(RefreshSessionPayload {
            session: SessionReference {
                id: ID(tokens.session_id.to_string()),
            },
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        })
    }

    /// Scopes the caller's session to one of their organizations (or to none) and returns
    /// new tokens for it.
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        input: SwitchOrganizationInput,
    ) -> async_graphql::Result<SwitchOrganizationPayload> {
        let organization = match &input.organization_id {
            Some(id) => Some(parse_id("organizationId", id)?),
            None => None,
        };
        let tokens = with_token_issuer(ctx, async |services, req, issuer| {
            sessions::switch_organization(
                &services.db,
                &req.scope,
                issuer,
                &req.actor,
                organization,
            )
            .await
        })
        .await?;
        count_tokens(ctx);
        Ok(SwitchOrganizationPayload {
            session: SessionReference {
                id: ID(tokens.session_id.to_string()),
            },
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        })
    }

    /// Ends the caller's session (and, with `everywhere`, all their other sessions).
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: SignOutInput,
    ) -> async_graphql::Result<SignOutPayload> {
        let (services, req) = request(ctx);
        let session_id = sessions::sign_out(&services.db, &req.scope, &req.actor, input.everywhere)
            .await
            .gql()?;
        Ok(SignOutPayload {
            session_id: ID(session_id.to_string()),
        })
    }

    /// Revokes a session: your own, or any with the admin role.
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        input: RevokeSessionInput,
    ) -> async_graphql::Result<RevokeSessionPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let revoked = sessions::revoke_session(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RevokeSessionPayload {
            session: session(revoked, req),
        })
    }

    /// Revokes every session of an identity. Requires the admin role.
    async fn revoke_identity_sessions(
        &self,
        ctx: &Context<'_>,
        input: RevokeIdentitySessionsInput,
    ) -> async_graphql::Result<RevokeIdentitySessionsPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("identityId", &input.identity_id)?;
        let revoked_count =
            sessions::revoke_identity_sessions(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(RevokeIdentitySessionsPayload { revoked_count })
    }
}
