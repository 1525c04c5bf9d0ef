//! The rate limits of the endpoints where clients authenticate (token, introspection,
//! revocation), from the tenant's `rateLimits`:
//!
//! - `tokenPerIp`: requests per minute from one client address, every request counted before
//!   the client is authenticated, so one source cannot keep the endpoints busy;
//! - `tokenPerClient`: failed client authentications per minute naming one client id (a wrong
//!   or missing secret, an unknown id). Past it, a failing attempt answers 429 instead of 401,
//!   while the client presenting its right credentials still passes: a stranger who knows a
//!   client id cannot lock the client out.
//!
//! Counters live in the ephemeral store under the tenant's keys, so one tenant's traffic never
//! counts against another's. Without the store they are not counted (see
//! [`crate::lenient_limits`]).

use super::clients::ClientCredentials;
use super::{OAuthResult, Provider};
use crate::applications::Application;
use crate::lenient_limits::rate_limit_or_allow;

impl Provider<'_> {
    /// Authenticates a client at the token, introspection or revocation endpoint, within the
    /// tenant's rate limits (see the module). `client_ip` is the request's client address.
    pub async fn authenticate_client_limited(
        &self,
        credentials: ClientCredentials<'_>,
        client_ip: Option<&str>,
    ) -> OAuthResult<Application> {
        let limits = self.issuer.settings.rate_limits;
        if let Some(ip) = client_ip {
            rate_limit_or_allow(self.store, self.scope, "token-ip", ip, limits.token_per_ip)
                .await?;
        }
        match self.authenticate_client(credentials).await {
            Err(error) if error.error == "invalid_client" => {
                rate_limit_or_allow(
                    self.store,
                    self.scope,
                    "token-client",
                    credentials.client_id,
                    limits.token_per_client,
                )
                .await?;
                Err(error)
            }
            other => other,
        }
    }
}
