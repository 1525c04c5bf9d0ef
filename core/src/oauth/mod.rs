//! The OpenID Connect provider of a tenant: authorization requests, authorization codes,
//! the token grants (authorization code with PKCE, refresh token with rotation, client
//! credentials), userinfo, introspection (RFC 7662), revocation (RFC 7009) and RP-initiated
//! logout, following the OAuth 2.0 Security Best Current Practice (RFC 9700).
//!
//! HTTP lives in `api`; this module holds the rules. Authorization codes and pending
//! authorization requests live in the ephemeral store (single-use, short-lived); a code that
//! is presented again revokes the session issued from it.
//!
//! The submodules, in layers (a module uses only those listed before it):
//! `pkce` (code challenges), `clients` (client authentication), `tokens` (what the
//! token endpoint issues and the claims in it), `authorize` (authorization requests),
//! `codes` (authorization codes and their exchange), `grants` (refresh and client
//! credentials), `introspection` (introspection, revocation, userinfo), `browser_session`
//! (the browser-session cookie and RP-initiated logout), `endpoint` (the authorization
//! endpoint's decisions) and `limits` (client authentication within the rate limits). This
//! module holds what they share: [`OAuthError`], the [`Provider`] and the [`issuer_url`].

mod authorize;
mod browser_session;
mod clients;
mod codes;
mod custom_claims;
mod endpoint;
mod grants;
mod introspection;
mod limits;
mod pkce;
mod tokens;

pub use authorize::{AuthorizeParams, PENDING_REQUEST_TTL};
pub use browser_session::seal_browser_session;
pub use clients::ClientCredentials;
pub use codes::CODE_TTL;
pub use endpoint::{AuthorizeInput, AuthorizeOutcome};
pub use pkce::s256_challenge;
pub use tokens::{IdTokenClaims, TokenResponse};

use crate::applications::{self, Application};
use crate::clock::Clock;
use crate::db::Database;
use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::Error;
use crate::scope::TenantScope;
use crate::secrets;
use crate::sessions::{KeyCache, TokenIssuer};

/// The issuer (and tenant API audience) of a tenant's tokens: `{public_url}/t/{slug}`, where
/// `public_url` is the deployment's public URL without a trailing slash.
pub fn issuer_url(public_url: &str, scope: &TenantScope) -> String {
    format!("{public_url}/t/{}", scope.slug())
}

/// An OAuth 2.0 / OpenID Connect error (RFC 6749 §5.2, OIDC Core §3.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
    /// Set when a rate limit refused the request: when to try again (HTTP 429, `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// A dependency (the database, Redis) is down: HTTP 503 with `Retry-After`.
    pub unavailable: bool,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
            retry_after: None,
            unavailable: false,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }

    fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }

    fn invalid_token(description: impl Into<String>) -> Self {
        Self::new("invalid_token", description)
    }
}

impl From<Error> for OAuthError {
    fn from(error: Error) -> Self {
        match error {
            Error::Internal(source) => {
                tracing::error!(error = %source, "OAuth request failed");
                OAuthError::new("server_error", "internal error")
            }
            Error::RateLimited { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..OAuthError::new(
                    "temporarily_unavailable",
                    format!(
                        "too many requests; retry in {} seconds",
                        retry_after.as_secs().max(1)
                    ),
                )
            },
            Error::Unavailable { retry_after, .. } => OAuthError {
                retry_after: Some(retry_after),
                unavailable: true,
                ..OAuthError::new("temporarily_unavailable", error.to_string())
            },
            other => OAuthError::new("server_error", other.to_string()),
        }
    }
}

type OAuthResult<T> = std::result::Result<T, OAuthError>;

fn scopes(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scopes(scope).any(|s| s == wanted)
}

/// The provider of one tenant for one request.
pub struct Provider<'a> {
    pub db: &'a Database,
    pub store: &'a dyn EphemeralStore,
    pub keys: &'a KeyCache,
    pub scope: &'a TenantScope,
    pub issuer: TokenIssuer<'a>,
    /// What the refresh token reuse interval is measured against.
    pub clock: &'a dyn Clock,
}

impl Provider<'_> {
    fn key(&self, kind: &str, secret: &str) -> StoreKey {
        StoreKey::tenant(self.scope, kind, &secrets::hash(secret))
    }

    async fn application(&self, client_id: &str) -> crate::Result<Option<Application>> {
        applications::find_by_client_id(self.db, self.scope, client_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_issuer_is_the_tenant_path_under_the_public_url() {
        let scope = TenantScope::new(Uuid::nil(), "acme".into());
        assert_eq!(
            issuer_url("https://auth.example.com", &scope),
            "https://auth.example.com/t/acme"
        );
        assert_eq!(
            issuer_url("http://localhost:8080", &scope),
            "http://localhost:8080/t/acme"
        );
    }
}
