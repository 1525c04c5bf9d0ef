//! The provider's browser session: the cookie the hosted sign-in page sets right after a
//! sign-in, and RP-initiated logout, which ends it.

use super::responses::{error_page, escape_html, page, page_language, page_text, redirect};
use super::{Tenant, parameters, provider, tenant};
use crate::http::AppState;
use crate::http::caller::{bearer, request_id};
use crate::http::errors::HttpError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::Principal;
use latchkey_core::oauth;
use latchkey_core::sessions::authenticate_access_token;

/// The provider's browser-session cookie (HttpOnly, SameSite=Lax, path `/t/{slug}/`).
const SESSION_COOKIE: &str = "latchkey_session";
/// How soon after the passkey sign-in the hosted page may turn its session into the cookie.
const FRESH_SIGN_IN_SECONDS: i64 = 300;

pub(super) fn cookie_path(tenant: &Tenant) -> String {
    format!("/t/{}/", tenant.scope.slug())
}

/// The live browser session of the request's cookie, if any.
pub(super) async fn cookie_session(
    state: &AppState,
    tenant: &Tenant,
    request: &HttpRequest,
) -> latchkey_core::Result<Option<latchkey_core::sessions::Session>> {
    match session_cookie_value(request) {
        Some(cookie) => provider(state, tenant).cookie_session(&cookie).await,
        None => Ok(None),
    }
}

/// The value of the request's browser-session cookie, if it has one.
pub(super) fn session_cookie_value(request: &HttpRequest) -> Option<String> {
    request
        .cookie(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

pub(super) async fn end_session_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    end_session(
        &state,
        &request,
        &slug,
        request.query_string().as_bytes(),
        false,
    )
    .await
}

pub(super) async fn end_session_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    end_session(&state, &request, &slug, &body, true).await
}

/// RP-initiated logout. With a valid `id_token_hint` the sign-out happens at once; without
/// one the user confirms with a same-origin POST (a cross-site page cannot forge it: the
/// cookie is SameSite=Lax). The confirmation and the error page are in the request's
/// `ui_locales` (RP-Initiated Logout 1.0 §2) or, failing that, as [`page_language`] says.
async fn end_session(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    raw: &[u8],
    posted: bool,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(state, request, slug).await?;
    let params = match parameters(raw) {
        Ok(params) => params,
        Err(error) => return Ok(error_page(page_language(request, &tenant, None), &error)),
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    let language = page_language(request, &tenant, get("ui_locales"));
    let confirmed = posted && get("confirm") == Some("yes");
    if get("id_token_hint").is_none() && !confirmed {
        let hidden: String = [
            "client_id",
            "post_logout_redirect_uri",
            "state",
            "ui_locales",
        ]
        .iter()
        .filter_map(|name| {
            get(name).map(|value| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape_html(value)
                )
            })
        })
        .collect();
        return Ok(page(
            language,
            StatusCode::OK,
            "sign-out-title",
            &format!(
                "<p>{}</p>\
                 <form method=\"post\" action=\"{}oauth2/logout\">{hidden}\
                 <button type=\"submit\" name=\"confirm\" value=\"yes\">{}</button></form>",
                page_text(language, "sign-out-text"),
                cookie_path(&tenant),
                page_text(language, "sign-out-button")
            ),
        ));
    }
    let browser = cookie_session(state, &tenant, request).await?.map(|s| s.id);
    let result = provider(state, &tenant)
        .end_session(
            browser,
            get("id_token_hint"),
            get("client_id"),
            get("post_logout_redirect_uri"),
        )
        .await;
    let mut response = match result {
        Ok(Some(uri)) => redirect(language, &uri, &[("state", get("state"))]),
        Ok(None) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, cookie_path(&tenant)))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(error) => return Ok(error_page(language, &error)),
    };
    // The cookie goes only if its session ended (a logout for someone else's session, or a
    // forged one, leaves this browser signed in).
    let had_cookie = request.cookie(SESSION_COOKIE).is_some();
    if had_cookie && cookie_session(state, &tenant, request).await?.is_none() {
        let mut removal = session_cookie(state, &tenant, String::new());
        removal.make_removal();
        response
            .add_cookie(&removal)
            .map_err(|e| latchkey_core::Error::internal(e.to_string()))?;
    }
    Ok(response)
}

pub(super) fn session_cookie(state: &AppState, tenant: &Tenant, value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path(cookie_path(tenant))
        .http_only(true)
        .secure(state.services.public_url.starts_with("https://"))
        .same_site(SameSite::Lax)
        .finish()
}

/// Called by the hosted sign-in page with the access token of the session it just started:
/// sets the provider's browser-session cookie, so `authorize` knows the user. The bearer
/// header (not a cookie) authenticates the call, so another site cannot forge it.
pub(super) async fn establish_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &request, &slug).await?;
    let token = bearer(&request)?.ok_or_else(|| {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send the session's access token as a Bearer token",
        )
    })?;
    let actor = authenticate_access_token(
        &state.services.db,
        &state.services.token_keys,
        &tenant.scope,
        &tenant.issuer,
        token,
        request_id(&request),
    )
    .await?;
    let Principal::Identity { session_id, .. } = *actor.principal() else {
        return Err(latchkey_core::Error::Unauthenticated.into());
    };
    // Only right after a sign-in (the hosted page calls this at once): an access token taken
    // from a page later must not become a long-lived single sign-on cookie.
    let fresh = provider(&state, &tenant)
        .browser_session(session_id)
        .await?
        .is_some_and(|session| {
            chrono::Utc::now() - session.created_at
                < chrono::Duration::seconds(FRESH_SIGN_IN_SECONDS)
        });
    if !fresh {
        return Err(HttpError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "the provider session is set right after a sign-in; sign in again",
        ));
    }
    let sealed =
        oauth::seal_browser_session(&state.services.master_key, &tenant.scope, session_id)?;
    let mut response = HttpResponse::NoContent();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response.cookie(session_cookie(&state, &tenant, sealed));
    Ok(response.finish())
}
