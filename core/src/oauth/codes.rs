//! Authorization codes: issuing one for a satisfied request and the `authorization_code`
//! grant that exchanges it (PKCE checked); a code presented again revokes what it issued.

use super::authorize::AuthorizationRequest;
use super::pkce::{is_pkce_value, s256_challenge};
use super::tokens::TokenResponse;
use super::{OAuthError, OAuthResult, Provider};
use crate::actor::{Actor, Principal};
use crate::applications::Application;
use crate::audit::{self, Target};
use crate::error::Error;
use crate::organizations;
use crate::secrets;
use crate::sessions::{self, ClientInfo, NewSession, NextRefreshToken, Session};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// How long an authorization code may wait for its exchange.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a redeemed code is remembered, so that a replay revokes its tokens.
const SPENT_CODE_MEMORY: Duration = Duration::from_secs(15 * 60);
const AUTHORIZATION_CODE_PREFIX: &str = "lkac_";

/// What the data in an authorization code stands for.
#[derive(Serialize, Deserialize)]
struct CodeGrant {
    application_id: Uuid,
    client_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    identity_id: Uuid,
    browser_session_id: Uuid,
    organization_id: Option<Uuid>,
}

impl Provider<'_> {
    /// Issues the authorization code for a request the user's `session` satisfies. A request
    /// for an organization the user is not a member of is `access_denied`.
    pub(super) async fn issue_code(
        &self,
        app: &Application,
        request: &AuthorizationRequest,
        session: &Session,
    ) -> OAuthResult<String> {
        let organization_id = match &request.organization {
            None => None,
            Some(reference) => {
                let tx = self.db.begin_tenant(self.scope).await?;
                let context =
                    organizations::context_by_reference(&tx, reference, session.identity_id)
                        .await?;
                tx.commit().await?;
                let context = context.ok_or_else(|| {
                    OAuthError::new(
                        "access_denied",
                        "the user is not a member of the requested organization",
                    )
                })?;
                context.admit(&session.auth_method).map_err(|_| {
                    OAuthError::new(
                        "access_denied",
                        "the organization requires a passkey sign-in",
                    )
                })?;
                Some(context.id)
            }
        };
        let code = secrets::generate(AUTHORIZATION_CODE_PREFIX);
        let grant = CodeGrant {
            application_id: app.id,
            client_id: app.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            identity_id: session.identity_id,
            browser_session_id: session.id,
            organization_id,
        };
        let value = serde_json::to_vec(&grant).map_err(Error::internal)?;
        self.store
            .set(&self.key("oauth-code", &code), &value, CODE_TTL)
            .await?;
        Ok(code)
    }

    /// `grant_type=authorization_code`.
    #[tracing::instrument(name = "core.oauth.exchange_code", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn exchange_code(
        &self,
        app: &Application,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        client: &ClientInfo,
    ) -> OAuthResult<TokenResponse> {
        if !app.app_type.signs_users_in() {
            return Err(OAuthError::new(
                "unauthorized_client",
                "machine applications use the client_credentials grant",
            ));
        }
        let Some(value) = self.store.take(&self.key("oauth-code", code)).await? else {
            return Err(self.replayed_code(app, code).await?);
        };
        let grant: CodeGrant = serde_json::from_slice(&value).map_err(Error::internal)?;
        if grant.client_id != app.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        match (&grant.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier)
                    || aws_lc_rs::constant_time::verify_slices_are_equal(
                        s256_challenge(verifier).as_bytes(),
                        challenge.as_bytes(),
                    )
                    .is_err()
                {
                    return Err(OAuthError::invalid_grant("code_verifier does not match"));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is missing")),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier sent, but the authorization request had no code_challenge",
                ));
            }
            (None, None) if app.app_type.is_public() => {
                return Err(OAuthError::invalid_grant("public clients must use PKCE"));
            }
            (None, None) => {}
        }
        let tx = self.db.begin_tenant(self.scope).await?;
        let Some(browser) = sessions::live_session_in(&tx, grant.browser_session_id).await? else {
            return Err(OAuthError::invalid_grant("the sign-in session has ended"));
        };
        let session = sessions::insert_session(
            &tx,
            NewSession {
                identity_id: grant.identity_id,
                auth_method: &browser.auth_method,
                lifetime_seconds: app
                    .refresh_token_ttl_seconds
                    .unwrap_or(self.issuer.settings.refresh_token_ttl_seconds),
                client,
                application_id: Some(app.id),
                parent_session_id: Some(browser.id),
                scope: Some(grant.scope.clone()),
                organization_id: grant.organization_id,
            },
        )
        .await?;
        let spent = format!("{} {}", session.id, app.client_id);
        self.store
            .set(
                &self.key("oauth-code-spent", code),
                spent.as_bytes(),
                SPENT_CODE_MEMORY,
            )
            .await?;
        let tokens = self
            .user_tokens(
                &tx,
                app,
                &session,
                &grant.scope,
                grant.nonce,
                NextRefreshToken::New,
            )
            .await?;
        audit::record(
            &tx,
            &Actor::new(
                Principal::Identity {
                    id: session.identity_id,
                    session_id: session.id,
                },
                None,
            ),
            "oauth.authorization_code.exchange",
            Some(Target {
                kind: "application",
                id: &app.id.to_string(),
            }),
            json!({ "clientId": app.client_id, "scope": grant.scope, "sessionId": session.id }),
        )
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// An unknown code: if it was already redeemed, revokes what was issued for it.
    /// Only the client the code was issued to triggers the revocation (someone else holding a
    /// used code must not be able to end the user's session).
    async fn replayed_code(&self, app: &Application, code: &str) -> crate::Result<OAuthError> {
        let unknown = || OAuthError::invalid_grant("the authorization code is unknown or expired");
        let Some(spent) = self.store.get(&self.key("oauth-code-spent", code)).await? else {
            return Ok(unknown());
        };
        let (session_id, client_id) = std::str::from_utf8(&spent)
            .ok()
            .and_then(|s| s.split_once(' '))
            .and_then(|(session, client)| Some((Uuid::parse_str(session).ok()?, client)))
            .ok_or_else(|| Error::internal("spent-code record is not a session and a client"))?;
        if client_id != app.client_id {
            return Ok(unknown());
        }
        let tx = self.db.begin_tenant(self.scope).await?;
        sessions::revoke_tree_in(&tx, session_id, "authorization_code_replay").await?;
        audit::record(
            &tx,
            &Actor::new(Principal::Anonymous, None),
            "oauth.authorization_code.replay",
            Some(Target {
                kind: "session",
                id: &session_id.to_string(),
            }),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(session.id = %session_id, "an authorization code was presented twice; its tokens are revoked");
        Ok(OAuthError::invalid_grant(
            "the authorization code was already used; the tokens issued for it are revoked",
        ))
    }
}
