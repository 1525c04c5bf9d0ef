//! Checking live tokens: introspection (RFC 7662) for resource servers, revocation (RFC 7009)
//! and the userinfo endpoint.

use super::{OAuthError, OAuthResult, Provider, has_scope};
use crate::actor::{Actor, Principal};
use crate::applications::Application;
use crate::audit::{self, Target};
use crate::error::Error;
use crate::sessions::{self, AccessClaims, TokenChecks};
use chrono::Utc;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// Whether an access token was issued to `client` or names it as its audience.
fn concerns(claims: &AccessClaims, client: &Application) -> bool {
    claims.client_id.as_deref() == Some(client.client_id.as_str()) || claims.aud == client.client_id
}

impl Provider<'_> {
    /// Verifies an access token of this tenant (any audience) and checks it is still live:
    /// its session for user tokens; its client and the revocation list for client tokens.
    async fn live_access_token(&self, token: &str) -> crate::Result<Option<AccessClaims>> {
        let checks = TokenChecks {
            audience: None,
            expiry: true,
        };
        let Ok(claims) = sessions::verify_jwt::<AccessClaims>(
            self.db,
            self.keys,
            self.scope,
            self.issuer.issuer,
            token,
            checks,
        )
        .await
        else {
            return Ok(None);
        };
        if claims.outlived_its_membership(self.clock.now()) {
            return Ok(None);
        }
        let live = match claims.sid.as_deref().map(Uuid::parse_str) {
            Some(Ok(session_id)) => {
                let tx = self.db.begin_tenant(self.scope).await?;
                let session = sessions::live_session_in(&tx, session_id).await?;
                tx.commit().await?;
                session.is_some_and(|s| s.identity_id.to_string() == claims.sub)
            }
            Some(Err(_)) => false,
            None => {
                let client_live = match &claims.client_id {
                    Some(client_id) => self.application(client_id).await?.is_some(),
                    None => false,
                };
                client_live
                    && self
                        .store
                        .get(&self.key("revoked-jti", &claims.jti))
                        .await?
                        .is_none()
            }
        };
        Ok(live.then_some(claims))
    }

    /// RFC 7662 introspection, for confidential clients (resource servers). A token is
    /// `active` only for the client it was issued to or one its audience names (RFC 7662
    /// §4): another application's tokens and first-party session tokens are inactive, with
    /// nothing else said about them.
    #[tracing::instrument(name = "core.oauth.introspect", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn introspect(&self, caller: &Application, token: &str) -> OAuthResult<Value> {
        if caller.app_type.is_public() {
            return Err(OAuthError::invalid_client(
                "introspection is for confidential clients",
            ));
        }
        let inactive = json!({ "active": false });
        if token.starts_with(sessions::REFRESH_TOKEN_PREFIX) {
            let tx = self.db.begin_tenant(self.scope).await?;
            let session = sessions::live_session_of_refresh_token(&tx, token).await?;
            tx.commit().await?;
            return Ok(match session {
                Some(session) if session.application_id == Some(caller.id) => json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "client_id": caller.client_id,
                    "sub": session.identity_id.to_string(),
                    "scope": session.scope,
                    "exp": session.expires_at.timestamp(),
                    "iat": session.last_used_at.timestamp(),
                    "iss": self.issuer.issuer,
                    "sid": session.id.to_string(),
                }),
                _ => inactive,
            });
        }
        Ok(match self.live_access_token(token).await? {
            Some(claims) if concerns(&claims, caller) => {
                let mut answer = serde_json::to_value(&claims).map_err(Error::internal)?;
                answer["active"] = json!(true);
                answer["token_type"] = json!("Bearer");
                answer
            }
            _ => inactive,
        })
    }

    /// RFC 7009 revocation. Tokens of other clients and unknown tokens are ignored (the answer
    /// is the same, so it reveals nothing).
    #[tracing::instrument(name = "core.oauth.revoke", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn revoke(&self, caller: &Application, token: &str) -> OAuthResult<()> {
        let session_id = if token.starts_with(sessions::REFRESH_TOKEN_PREFIX) {
            let tx = self.db.begin_tenant(self.scope).await?;
            let session = sessions::live_session_of_refresh_token(&tx, token).await?;
            tx.commit().await?;
            session
                .filter(|s| s.application_id == Some(caller.id))
                .map(|s| s.id)
        } else {
            match self.live_access_token(token).await? {
                Some(claims) if claims.client_id.as_deref() == Some(&caller.client_id) => {
                    match claims.sid.as_deref().map(Uuid::parse_str) {
                        Some(Ok(session_id)) => Some(session_id),
                        _ => {
                            // A client-credentials token has no session: remember its id
                            // until it expires.
                            let remaining =
                                (claims.exp - Utc::now().timestamp()).max(1) as u64 + 60;
                            self.store
                                .set(
                                    &self.key("revoked-jti", &claims.jti),
                                    b"1",
                                    Duration::from_secs(remaining),
                                )
                                .await?;
                            None
                        }
                    }
                }
                _ => None,
            }
        };
        let Some(session_id) = session_id else {
            return Ok(());
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        sessions::revoke_tree_in(&tx, session_id, "token_revoked").await?;
        audit::record(
            &tx,
            &Actor::new(Principal::Anonymous, None),
            "oauth.token.revoke",
            Some(Target {
                kind: "session",
                id: &session_id.to_string(),
            }),
            json!({ "clientId": caller.client_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The userinfo endpoint: the claims the token's scope releases.
    #[tracing::instrument(name = "core.oauth.userinfo", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn userinfo(&self, token: &str) -> OAuthResult<Value> {
        let claims = self.live_access_token(token).await?.ok_or_else(|| {
            OAuthError::invalid_token("the access token is invalid, expired or revoked")
        })?;
        let scope = claims.scope.unwrap_or_default();
        if claims.sid.is_none() || !has_scope(&scope, "openid") {
            return Err(OAuthError::new(
                "insufficient_scope",
                "userinfo needs a user's access token with the openid scope",
            ));
        }
        let identity_id = Uuid::parse_str(&claims.sub).map_err(Error::internal)?;
        let organization_id = claims
            .org_id
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(Error::internal)?;
        let app = match &claims.client_id {
            Some(client_id) => self.application(client_id).await?,
            None => None,
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        let mut profile = self.profile_claims(&tx, identity_id, &scope).await?;
        // The custom claims the application's ID tokens carry, as OpenID Connect Core §5.3.2
        // has userinfo return the claims the ID token would.
        if let Some(app) = &app {
            let custom = self
                .custom_claims(&tx, app, identity_id, organization_id)
                .await?;
            for (claim, value) in custom.id_token {
                profile.entry(claim).or_insert(value);
            }
        }
        tx.commit().await?;
        profile.insert("sub".into(), json!(claims.sub));
        Ok(Value::Object(profile))
    }
}
