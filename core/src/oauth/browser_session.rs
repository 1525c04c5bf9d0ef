//! The provider's browser session: the sealed cookie that names it, finding it live, and
//! RP-initiated logout, which ends it.

use super::tokens::IdTokenClaims;
use super::{OAuthError, OAuthResult, Provider};
use crate::actor::{Actor, Principal};
use crate::audit::{self, Target};
use crate::crypto::MasterKey;
use crate::scope::TenantScope;
use crate::sessions::{self, Session, TokenChecks};
use serde_json::json;
use uuid::Uuid;

impl Provider<'_> {
    /// The live browser session a cookie names: a first-party session of an active identity.
    pub async fn browser_session(&self, session_id: Uuid) -> crate::Result<Option<Session>> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let session = sessions::live_session_in(&tx, session_id).await?;
        tx.commit().await?;
        Ok(session.filter(|s| s.application_id.is_none()))
    }

    /// The live browser session of a browser-session cookie's value, if it names one.
    pub async fn cookie_session(&self, cookie: &str) -> crate::Result<Option<Session>> {
        match open_browser_session(self.issuer.master_key, self.scope, cookie) {
            Some(session_id) => self.browser_session(session_id).await,
            None => Ok(None),
        }
    }

    /// RP-initiated logout: checks `id_token_hint` (expired ones too) and the post-logout
    /// redirect URI, then ends the browser session (and the application sessions started from
    /// it). Returns where to send the browser, if the client registered that URI.
    #[tracing::instrument(name = "core.oauth.end_session", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn end_session(
        &self,
        browser_session: Option<Uuid>,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
    ) -> OAuthResult<Option<String>> {
        let hint = match id_token_hint {
            Some(token) => Some(
                sessions::verify_jwt::<IdTokenClaims>(
                    self.db,
                    self.keys,
                    self.scope,
                    self.issuer.issuer,
                    token,
                    TokenChecks {
                        audience: None,
                        expiry: false,
                    },
                )
                .await
                .map_err(|_| {
                    OAuthError::invalid_request("id_token_hint is not an ID token of this tenant")
                })?,
            ),
            None => None,
        };
        let client_id = match (client_id, hint.as_ref().map(|h| h.aud.as_str())) {
            (Some(given), Some(aud)) if given != aud => {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the id_token_hint's audience",
                ));
            }
            (Some(given), _) => Some(given),
            (None, aud) => aud,
        };
        let redirect = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let app = match client_id {
                    Some(client_id) => self.application(client_id).await?,
                    None => None,
                }
                .ok_or_else(|| {
                    OAuthError::invalid_request(
                        "post_logout_redirect_uri needs a client (id_token_hint or client_id)",
                    )
                })?;
                if !app.post_logout_redirect_uris.iter().any(|u| u == uri) {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                Some(uri.to_owned())
            }
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        let mut ended = Vec::new();
        if let Some(hint) = &hint
            && let Ok(sid) = Uuid::parse_str(&hint.sid)
            && sessions::find_session_in(&tx, sid)
                .await?
                .is_some_and(|s| s.identity_id.to_string() == hint.sub)
        {
            ended.push(sid);
        }
        if let Some(cookie_session) = browser_session
            && let Some(session) = sessions::find_session_in(&tx, cookie_session).await?
            && hint
                .as_ref()
                .is_none_or(|h| h.sub == session.identity_id.to_string())
            && !ended.contains(&cookie_session)
        {
            ended.push(cookie_session);
        }
        for session_id in &ended {
            sessions::revoke_tree_in(&tx, *session_id, "signed_out").await?;
            audit::record(
                &tx,
                &Actor::new(Principal::Anonymous, None),
                "oauth.end_session",
                Some(Target {
                    kind: "session",
                    id: &session_id.to_string(),
                }),
                json!({ "clientId": client_id }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(redirect)
    }
}

/// The sealed value of the browser-session cookie: the session id, bound to the tenant.
pub fn seal_browser_session(
    master_key: &MasterKey,
    scope: &TenantScope,
    session_id: Uuid,
) -> crate::Result<String> {
    master_key.seal(
        &browser_cookie_context(scope),
        session_id.as_bytes().as_slice(),
    )
}

/// The session id in a browser-session cookie, if the cookie is genuine and of this tenant.
pub(super) fn open_browser_session(
    master_key: &MasterKey,
    scope: &TenantScope,
    cookie: &str,
) -> Option<Uuid> {
    let bytes = master_key
        .open(&browser_cookie_context(scope), cookie)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn browser_cookie_context(scope: &TenantScope) -> Vec<u8> {
    let mut context = b"latchkey browser session ".to_vec();
    context.extend_from_slice(scope.tenant_id().as_bytes());
    context
}
