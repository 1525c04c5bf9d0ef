//! What a presented token is worth: userinfo (the claims of a bearer access token),
//! introspection (RFC 7662) and revocation (RFC 7009).

use super::client::{authenticated_form, is_form, not_a_form};
use super::responses::{answer, no_store_json, oauth_error};
use super::{provider, tenant};
use crate::http::AppState;
use crate::http::caller::bearer;
use crate::http::errors::HttpError;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::oauth::OAuthError;
use serde_json::json;

pub(super) async fn userinfo(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &request, &slug).await?;
    let Some(token) = bearer(&request)? else {
        return Ok(oauth_error(
            &OAuthError::new("invalid_token", "send the access token as a Bearer token"),
            false,
        ));
    };
    Ok(match provider(&state, &tenant).userinfo(token).await {
        Ok(claims) => no_store_json(claims),
        Err(error) => oauth_error(&error, false),
    })
}

/// What a client asks of a token it presents.
#[derive(Clone, Copy)]
enum TokenAction {
    Introspect,
    Revoke,
}

pub(super) async fn introspect(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    token_action(&state, &request, &slug, &body, TokenAction::Introspect).await
}

pub(super) async fn revoke(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    token_action(&state, &request, &slug, &body, TokenAction::Revoke).await
}

/// Introspection (RFC 7662) and revocation (RFC 7009): an authenticated client and `token`.
async fn token_action(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    body: &[u8],
    action: TokenAction,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(state, request, slug).await?;
    let provider = provider(state, &tenant);
    if !is_form(request) {
        return Ok(not_a_form());
    }
    let trusted_proxies = &state.config.trusted_proxies;
    let (app, params) = match authenticated_form(&provider, request, trusted_proxies, body).await {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(token) = params.get("token") else {
        return Ok(oauth_error(
            &OAuthError::new("invalid_request", "token is missing"),
            false,
        ));
    };
    let result = match action {
        TokenAction::Introspect => provider.introspect(&app, token).await,
        TokenAction::Revoke => provider.revoke(&app, token).await.map(|()| json!({})),
    };
    Ok(answer(request, result))
}
