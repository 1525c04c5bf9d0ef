//! Client authentication at the token, introspection and revocation endpoints.

use super::{OAuthError, OAuthResult, Provider};
use crate::applications::Application;

/// How a client presented its credentials at the token, introspection or revocation endpoint.
#[derive(Clone, Copy, Debug)]
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a str>,
}

impl Provider<'_> {
    /// Authenticates a client at the token, introspection or revocation endpoint. Every
    /// failure gets the same answer, so that the endpoint does not tell which client ids
    /// exist (or which are public): an unknown client, a wrong or missing secret, and a
    /// secret sent by a public client are all `invalid_client`, "client authentication
    /// failed".
    pub async fn authenticate_client(
        &self,
        credentials: ClientCredentials<'_>,
    ) -> OAuthResult<Application> {
        let failed = || OAuthError::invalid_client("client authentication failed");
        let app = self
            .application(credentials.client_id)
            .await?
            .ok_or_else(failed)?;
        let authenticated = match (app.app_type.is_public(), credentials.secret) {
            (true, None) => true,
            (true, Some(_)) => false,
            (false, Some(secret)) => app.secret_matches(secret),
            (false, None) => false,
        };
        if authenticated {
            Ok(app)
        } else {
            Err(failed())
        }
    }
}
