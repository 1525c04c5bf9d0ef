//! Client authentication of the form endpoints (token, introspection, revocation): HTTP Basic
//! or credentials in the body.

use super::parameters;
use super::responses::oauth_error;
use crate::config::ip_range::IpRange;
use crate::http::caller::client_info;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::oauth::{ClientCredentials, OAuthError, Provider};
use std::collections::HashMap;

/// Client credentials from the `Authorization: Basic` header or the body; both at once, or a
/// header that does not decode, is an error.
fn client_credentials<'a>(
    request: &HttpRequest,
    params: &'a HashMap<String, String>,
    basic: &'a mut Option<(String, String)>,
) -> Result<ClientCredentials<'a>, OAuthError> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let decoded = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
            .and_then(|v| STANDARD.decode(v.trim()).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                let (id, secret) = text.split_once(':')?;
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("v={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                Some((decode(id)?, decode(secret)?))
            })
            .ok_or_else(|| {
                OAuthError::new(
                    "invalid_client",
                    "the Authorization header must be HTTP Basic with the client id and secret",
                )
            })?;
        if params.contains_key("client_secret") {
            return Err(OAuthError::new(
                "invalid_request",
                "use one client authentication method, not both",
            ));
        }
        if params.get("client_id").is_some_and(|id| *id != decoded.0) {
            return Err(OAuthError::new(
                "invalid_request",
                "client_id differs from the Authorization header's",
            ));
        }
        let (id, secret) = basic.insert(decoded);
        return Ok(ClientCredentials {
            client_id: id,
            secret: Some(secret),
        });
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::new("invalid_client", "client authentication is required"))?;
    Ok(ClientCredentials {
        client_id,
        secret: params.get("client_secret").map(String::as_str),
    })
}

/// Reads a form body and authenticates its client, within the tenant's rate limits.
pub(super) async fn authenticated_form(
    provider: &Provider<'_>,
    request: &HttpRequest,
    trusted_proxies: &[IpRange],
    body: &[u8],
) -> Result<
    (
        latchkey_core::applications::Application,
        HashMap<String, String>,
    ),
    HttpResponse,
> {
    let basic_used = request.headers().contains_key(header::AUTHORIZATION);
    let params = parameters(body).map_err(|e| oauth_error(&e, basic_used))?;
    let mut basic = None;
    let credentials = client_credentials(request, &params, &mut basic)
        .map_err(|e| oauth_error(&e, basic_used))?;
    let client = client_info(request, trusted_proxies);
    let app = provider
        .authenticate_client_limited(credentials, client.ip_address.as_deref())
        .await
        .map_err(|e| oauth_error(&e, basic_used))?;
    Ok((app, params))
}

pub(super) fn is_form(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

pub(super) fn not_a_form() -> HttpResponse {
    oauth_error(
        &OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ),
        false,
    )
}
