//! What the token endpoint issues: the token response, the access token grant of an
//! application, the ID token and its claims, and the profile claims a scope releases (for the
//! ID token and userinfo).

use super::{OAuthError, OAuthResult, Provider, has_scope};
use crate::applications::Application;
use crate::auth_method;
use crate::db::TenantTx;
use crate::error::Error;
use crate::identities;
use crate::organizations::OrgContext;
use crate::sessions::{self, Grant, NextRefreshToken, Session};
use crate::signing_keys::TokenType;
use chrono::{Duration as Span, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// The claims of an ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    /// `phr` after a phishing-resistant (passkey) sign-in; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// An access token's claims with the application's custom claims beside them (never in place
/// of them: their names are checked when saved).
#[derive(Serialize)]
struct WithCustomClaims<'a> {
    #[serde(flatten)]
    claims: &'a sessions::AccessClaims,
    #[serde(flatten)]
    custom: &'a Map<String, Value>,
}

impl Provider<'_> {
    fn access_ttl(&self, app: &Application) -> u32 {
        app.access_token_ttl_seconds
            .unwrap_or(self.issuer.settings.access_token_ttl_seconds)
    }

    pub(super) fn app_grant(
        &self,
        app: &Application,
        scope: &str,
        organization: Option<OrgContext>,
    ) -> Grant {
        Grant {
            audience: app.client_id.clone(),
            client_id: Some(app.client_id.clone()),
            scope: Some(scope.to_owned()),
            access_ttl_seconds: self.access_ttl(app),
            organization,
        }
        .within_membership(self.clock.now())
    }

    /// Access token, refresh token (when the session was granted `offline_access`; `refresh`
    /// says which) and ID token (when `scope` has `openid`) for an application session;
    /// `scope` may be narrower than the session's grant (a refresh that asks for less).
    pub(super) async fn user_tokens(
        &self,
        tx: &TenantTx,
        app: &Application,
        session: &Session,
        scope: &str,
        nonce: Option<String>,
        refresh: NextRefreshToken,
    ) -> OAuthResult<TokenResponse> {
        // Roles are read now: a refresh carries the member's current roles, and a removed
        // member's session is over.
        let organization =
            sessions::organization_of(tx, session)
                .await
                .map_err(|error| match error {
                    Error::Unauthenticated => {
                        OAuthError::invalid_grant("the organization membership has ended")
                    }
                    other => other.into(),
                })?;
        // The application's access policy, checked whenever its tokens are issued: a policy
        // changed later, or a membership ended, stops the next refresh.
        if let Some(reason) = app
            .access_policy
            .refusal_in(tx, session.identity_id, organization.as_ref())
            .await?
        {
            return Err(OAuthError::invalid_grant(format!(
                "the application's access policy does not let this user in: {reason}"
            )));
        }
        let grant = self.app_grant(app, scope, organization);
        let custom = self
            .custom_claims(tx, app, session.identity_id, session.organization_id)
            .await?;
        let claims = sessions::access_claims(
            &self.issuer,
            &grant,
            &session.identity_id.to_string(),
            Some(session.id),
        );
        let access_token = self
            .issuer
            .signer()
            .sign(
                tx,
                TokenType::Access,
                &WithCustomClaims {
                    claims: &claims,
                    custom: &custom.access_token,
                },
            )
            .await?;
        let offline = session
            .scope
            .as_deref()
            .is_some_and(|granted| has_scope(granted, "offline_access"));
        let refresh_token = match offline {
            true => Some(sessions::next_refresh_token(tx, session.id, refresh).await?),
            false => None,
        };
        let id_token = match has_scope(scope, "openid") {
            true => Some(
                self.id_token(
                    tx,
                    app,
                    session,
                    scope,
                    nonce,
                    grant.organization.as_ref(),
                    custom.id_token,
                )
                .await?,
            ),
            false => None,
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: grant.access_ttl_seconds,
            refresh_token,
            id_token,
            scope: scope.to_owned(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn id_token(
        &self,
        tx: &TenantTx,
        app: &Application,
        session: &Session,
        scope: &str,
        nonce: Option<String>,
        organization: Option<&OrgContext>,
        custom: Map<String, Value>,
    ) -> crate::Result<String> {
        // The user signed in when the browser session started.
        let browser = match session.parent_session_id {
            Some(parent) => sessions::find_session_in(tx, parent).await?,
            None => None,
        };
        let browser = browser.as_ref().unwrap_or(session);
        let now = Utc::now();
        let mut claims = IdTokenClaims {
            iss: self.issuer.issuer.to_owned(),
            sub: session.identity_id.to_string(),
            aud: app.client_id.clone(),
            exp: (now + Span::seconds(self.access_ttl(app).into())).timestamp(),
            iat: now.timestamp(),
            auth_time: browser.created_at.timestamp(),
            nonce,
            amr: auth_method::amr(&browser.auth_method),
            acr: auth_method::phishing_resistant(&browser.auth_method)
                .then(|| auth_method::ACR_PHISHING_RESISTANT.to_owned()),
            sid: browser.id.to_string(),
            azp: Some(app.client_id.clone()),
            profile: self.profile_claims(tx, session.identity_id, scope).await?,
        };
        if let Some(org) = organization {
            claims
                .profile
                .insert("org_id".into(), json!(org.id.to_string()));
            claims
                .profile
                .insert("org_kind".into(), json!(org.kind.as_str()));
            claims.profile.insert("roles".into(), json!(org.roles));
            claims
                .profile
                .insert("org_entitlements".into(), json!(org.entitlements));
            claims
                .profile
                .insert("org_permissions".into(), json!(org.permissions));
        }
        // Custom claims never replace Latchkey's own (their names are checked when saved).
        for (claim, value) in custom {
            claims.profile.entry(claim).or_insert(value);
        }
        self.issuer.signer().sign(tx, TokenType::Id, &claims).await
    }

    /// The identity's claims that `scope` releases (OIDC Core §5.4).
    pub(super) async fn profile_claims(
        &self,
        tx: &TenantTx,
        identity_id: Uuid,
        scope: &str,
    ) -> crate::Result<Map<String, Value>> {
        let identity = identities::find_in(tx, identity_id).await?;
        let mut claims = Map::new();
        if has_scope(scope, "profile") {
            if let Some(name) = identity.display_name {
                claims.insert("name".into(), json!(name));
            }
            claims.insert("updated_at".into(), json!(identity.updated_at.timestamp()));
        }
        if has_scope(scope, "email") {
            claims.insert("email".into(), json!(identity.email));
            claims.insert("email_verified".into(), json!(identity.email_verified));
        }
        if has_scope(scope, "phone")
            && let Some(phone) = identity.phone
        {
            claims.insert("phone_number".into(), json!(phone));
        }
        Ok(claims)
    }
}
