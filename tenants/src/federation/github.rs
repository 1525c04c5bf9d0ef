//! GitHub, which speaks OAuth 2 only: the authorization request (PKCE S256, `state`), the code
//! exchanged for an access token (GitHub answers errors with 200 and an `error` field), and
//! the person read from its API: `GET /user` for the stable numeric id, `GET /user/emails`
//! for the primary address, which counts only when GitHub says it is verified (the public
//! profile address proves nothing).

use super::http::{ClientAuth, ProviderHttp};
use super::oidc::{Refused, refused};
use latchkey_core::error::{Error, Result};
use latchkey_core::federation::{Credentials, FederatedProfile, IdentityProvider};
use serde_json::Value;

fn setting<'a>(provider: &'a IdentityProvider, name: &str) -> &'a str {
    provider.settings[name].as_str().unwrap_or_default()
}

/// The URL that sends the browser to GitHub.
pub fn authorization_url(
    provider: &IdentityProvider,
    credentials: &Credentials,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
    login_hint: Option<&str>,
) -> Result<String> {
    let mut url = url::Url::parse(setting(provider, "authorizationEndpoint"))
        .map_err(|_| Error::internal("a checked GitHub authorization endpoint"))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", &credentials.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &provider.scopes().join(" "))
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "true");
        if let Some(hint) = login_hint {
            query.append_pair("login", hint);
        }
    }
    Ok(url.into())
}

/// Exchanges the code and reads the person from GitHub's API.
pub async fn profile(
    http: &ProviderHttp,
    provider: &IdentityProvider,
    credentials: &Credentials,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> std::result::Result<FederatedProfile, Refused> {
    let failed = |why: String| {
        tracing::warn!(provider.id = %provider.id, error = %why, "GitHub sign-in failed");
        refused(
            "code_exchange_failed",
            format!("{} did not accept the sign-in: {why}", provider.name),
        )
    };
    let secret = credentials.client_secret.as_deref().unwrap_or_default();
    let answer = http
        .post_form(
            setting(provider, "tokenEndpoint"),
            &[
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
            &credentials.client_id,
            ClientAuth::Post(secret),
        )
        .await
        .map_err(failed)?;
    if let Some(error) = answer["error"].as_str() {
        let description = answer["error_description"].as_str().unwrap_or_default();
        return Err(failed(format!("{error} {description}").trim().to_owned()));
    }
    let Some(token) = answer["access_token"].as_str() else {
        return Err(failed("no access token in the answer".into()));
    };
    let api = setting(provider, "apiUrl");
    let user = http
        .get_api(&format!("{api}/user"), token)
        .await
        .map_err(failed)?;
    let Some(id) = user["id"].as_u64() else {
        return Err(failed("its user has no numeric id".into()));
    };
    let emails = http
        .get_api(&format!("{api}/user/emails"), token)
        .await
        .map_err(failed)?;
    let primary = emails
        .as_array()
        .into_iter()
        .flatten()
        .find(|email| email["primary"] == Value::Bool(true));
    let display_name = user["name"]
        .as_str()
        .or_else(|| user["login"].as_str())
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    Ok(FederatedProfile {
        subject: id.to_string(),
        email: primary.and_then(|e| e["email"].as_str()).map(str::to_owned),
        email_proven: primary.is_some_and(|e| e["verified"] == Value::Bool(true)),
        display_name,
        groups: Vec::new(),
    })
}
