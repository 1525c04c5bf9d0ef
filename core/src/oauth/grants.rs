//! The token endpoint's grants other than `authorization_code` (see `codes`): the refresh
//! token with rotation, and client credentials for machine applications.

use super::tokens::TokenResponse;
use super::{OAuthError, OAuthResult, Provider, has_scope, scopes};
use crate::applications::{AppType, Application};
use crate::sessions::{self, Redeemed, ReuseInterval};
use crate::signing_keys::TokenType;

impl Provider<'_> {
    /// `grant_type=refresh_token`: rotates the refresh token. A spent one revokes the session,
    /// unless it comes again within the tenant's reuse interval (a retry, or concurrent
    /// refreshes): then the answer carries the same new refresh token again, with a new
    /// access token of the same session.
    #[tracing::instrument(name = "core.oauth.refresh", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn refresh(
        &self,
        app: &Application,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let reuse = ReuseInterval::of(self.issuer.settings, self.clock);
        let (session, next) =
            match sessions::redeem_refresh_token(&tx, refresh_token, reuse).await? {
                Redeemed::Live(session, next) if session.application_id == Some(app.id) => {
                    (*session, next)
                }
                Redeemed::Reused => {
                    tx.commit().await?;
                    return Err(OAuthError::invalid_grant(
                        "the refresh token was already used; the session is revoked",
                    ));
                }
                Redeemed::Live(..) | Redeemed::Invalid => {
                    return Err(OAuthError::invalid_grant(
                        "the refresh token is invalid, expired or revoked",
                    ));
                }
            };
        let granted = session.scope.clone().unwrap_or_default();
        let scope = match scope.map(|s| scopes(s).collect::<Vec<_>>()) {
            None => granted.clone(),
            Some(requested) if requested.iter().all(|s| has_scope(&granted, s)) => {
                requested.join(" ")
            }
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the scope granted",
                ));
            }
        };
        let tokens = self
            .user_tokens(&tx, app, &session, &scope, None, next)
            .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// `grant_type=client_credentials`, for machine applications.
    #[tracing::instrument(name = "core.oauth.client_credentials", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn client_credentials(
        &self,
        app: &Application,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        if app.app_type != AppType::Machine {
            return Err(OAuthError::new(
                "unauthorized_client",
                "only machine applications may use the client_credentials grant",
            ));
        }
        let scope = match scope.map(|s| scopes(s).collect::<Vec<_>>()) {
            None => app.scopes.join(" "),
            Some(requested) if app.allows_scopes(requested.iter().copied()) => requested.join(" "),
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "a requested scope is not allowed for this client",
                ));
            }
        };
        let grant = self.app_grant(app, &scope, None);
        let claims = sessions::access_claims(&self.issuer, &grant, &app.client_id, None);
        let access_token = self
            .issuer
            .signer()
            .sign_alone(self.db, self.scope, TokenType::Access, &claims)
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: grant.access_ttl_seconds,
            refresh_token: None,
            id_token: None,
            scope,
        })
    }
}
