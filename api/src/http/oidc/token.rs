//! The token endpoint: authorization code, refresh token and client credentials grants.

use super::client::{authenticated_form, is_form, not_a_form};
use super::responses::answer;
use super::{provider, tenant};
use crate::http::AppState;
use crate::http::caller::client_info;
use crate::http::errors::HttpError;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::oauth::OAuthError;

/// The token endpoint.
pub(super) async fn token(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &request, &slug).await?;
    let provider = provider(&state, &tenant);
    if !is_form(&request) {
        return Ok(not_a_form());
    }
    let trusted_proxies = &state.config.trusted_proxies;
    let (app, params) = match authenticated_form(&provider, &request, trusted_proxies, &body).await
    {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    let result = match get("grant_type") {
        Some("authorization_code") => match get("code") {
            Some(code) => {
                provider
                    .exchange_code(
                        &app,
                        code,
                        get("redirect_uri"),
                        get("code_verifier"),
                        &client_info(&request, trusted_proxies),
                    )
                    .await
            }
            None => Err(OAuthError::new("invalid_request", "code is missing")),
        },
        Some("refresh_token") => match get("refresh_token") {
            Some(token) => provider.refresh(&app, token, get("scope")).await,
            None => Err(OAuthError::new(
                "invalid_request",
                "refresh_token is missing",
            )),
        },
        Some("client_credentials") => provider.client_credentials(&app, get("scope")).await,
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "supported grants: authorization_code, refresh_token, client_credentials",
        )),
        None => Err(OAuthError::new("invalid_request", "grant_type is missing")),
    };
    let metrics = &state.services.metrics;
    let grant = match get("grant_type") {
        Some(known @ ("authorization_code" | "refresh_token" | "client_credentials")) => known,
        Some(_) => "unsupported",
        None => "missing",
    };
    let outcome = match &result {
        Ok(tokens) => {
            metrics.tokens_issued.with_label_values(&["access"]).inc();
            if tokens.refresh_token.is_some() {
                metrics.tokens_issued.with_label_values(&["refresh"]).inc();
            }
            if tokens.id_token.is_some() {
                metrics.tokens_issued.with_label_values(&["id"]).inc();
            }
            "issued"
        }
        Err(error) => error.error,
    };
    metrics
        .oauth_token_requests
        .with_label_values(&[grant, outcome])
        .inc();
    Ok(answer(&request, result))
}
