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
    /// Authenticates a client at the token, introspection or revocation endpoint.
    pub async fn authenticate_client(
        &self,
        credentials: ClientCredentials<'_>,
    ) -> OAuthResult<Application> {
        let app = self
            .application(credentials.client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        match (app.app_type.is_public(), credentials.secret) {
            (true, None) => Ok(app),
            (true, Some(_)) => Err(OAuthError::invalid_client(
                "public clients have no client secret",
            )),
            (false, Some(secret)) if app.secret_matches(secret) => Ok(app),
            (false, _) => Err(OAuthError::invalid_client("client authentication failed")),
        }
    }
}
