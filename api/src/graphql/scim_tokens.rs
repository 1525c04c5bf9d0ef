//! SCIM tokens: the bearer secrets directories (Microsoft Entra ID, Okta) present at
//! `/t/{slug}/scim/v2`, for the whole tenant or one organization. Created (the secret is shown
//! once), listed and revoked.

use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::scim;

/// A SCIM token. Its secret is shown once, by `createScimToken`.
#[derive(SimpleObject, Clone, Debug)]
pub struct ScimToken {
    pub id: ID,
    pub name: String,
    /// The organization it provisions (its members and their roles); null for the whole
    /// tenant (identities and organizations).
    pub organization_id: Option<ID>,
    /// The organization roles an organization's directory may assign (its Groups), as listed
    /// at creation; null: the roles within `org:admin`'s permissions.
    pub roles: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    /// When it was last used, to within five minutes.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<scim::ScimToken> for ScimToken {
    fn from(token: scim::ScimToken) -> Self {
        Self {
            id: ID(token.id.to_string()),
            name: token.name,
            organization_id: token.organization_id.map(|id| ID(id.to_string())),
            roles: token.roles,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

#[derive(Default)]
pub struct ScimTokenQuery;

#[Object]
impl ScimTokenQuery {
    /// SCIM tokens, oldest first, revoked ones included; only an organization's when
    /// `organizationId` is given. Requires the viewer role.
    async fn scim_tokens(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
    ) -> async_graphql::Result<Vec<ScimToken>> {
        let (services, req) = request(ctx);
        let organization_id = organization_id
            .map(|id| parse_id("organizationId", &id))
            .transpose()?;
        let tokens = scim::list_scim_tokens(&services.db, &req.scope, &req.actor, organization_id)
            .await
            .gql()?;
        Ok(tokens.into_iter().map(ScimToken::from).collect())
    }
}

#[derive(InputObject)]
pub struct CreateScimTokenInput {
    /// What the token is for, e.g. "Entra ID (Acme)".
    pub name: String,
    /// The organization whose own directory uses it; null for the whole tenant.
    pub organization_id: Option<ID>,
    /// For an organization's token: the organization roles its directory may assign (its
    /// Groups). Left out, the roles within `org:admin`'s permissions, as the organization's own
    /// admins may assign; list others (a role carrying application permissions) to allow them.
    pub roles: Option<Vec<String>>,
}

#[derive(SimpleObject)]
pub struct CreateScimTokenPayload {
    pub scim_token: ScimToken,
    /// The bearer secret for the directory's "Secret Token" or authorization header. Shown
    /// only here; store it now.
    pub token: String,
}

#[derive(InputObject)]
pub struct RevokeScimTokenInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeScimTokenPayload {
    pub scim_token: ScimToken,
}

#[derive(Default)]
pub struct ScimTokenMutation;

#[Object]
impl ScimTokenMutation {
    /// Creates a SCIM token; the secret is in the payload only. Requires the admin role.
    async fn create_scim_token(
        &self,
        ctx: &Context<'_>,
        input: CreateScimTokenInput,
    ) -> async_graphql::Result<CreateScimTokenPayload> {
        let (services, req) = request(ctx);
        let organization_id = input
            .organization_id
            .map(|id| parse_id("organizationId", &id))
            .transpose()?;
        let (token, secret) = scim::create_scim_token(
            &services.db,
            &req.scope,
            &req.actor,
            &input.name,
            organization_id,
            input.roles,
        )
        .await
        .gql()?;
        Ok(CreateScimTokenPayload {
            scim_token: token.into(),
            token: secret,
        })
    }

    /// Revokes a SCIM token; the directory's next request is refused. Requires the admin role.
    async fn revoke_scim_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeScimTokenInput,
    ) -> async_graphql::Result<RevokeScimTokenPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let token = scim::revoke_scim_token(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RevokeScimTokenPayload {
            scim_token: token.into(),
        })
    }
}
