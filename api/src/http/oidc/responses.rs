//! What the endpoints answer: OAuth errors and no-store JSON for clients; small pages, and
//! redirects back to the client, for the person at the browser. The pages' words are in the
//! catalogs `core/locales/<tag>/pages.ftl`, in the language [`page_language`] chooses.

use super::Tenant;
use crate::http::caller::accept_language;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use latchkey_core::languages::{self, Language};
use latchkey_core::oauth::OAuthError;
use serde_json::json;

const PAGE_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An OAuth error as JSON (token, introspection, revocation). A rate limit's refusal is 429
/// with `Retry-After`; a dependency that is down, 503 with `Retry-After`.
pub(super) fn oauth_error(error: &OAuthError, basic_auth_used: bool) -> HttpResponse {
    let status = match error.error {
        _ if error.unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ if error.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
        "insufficient_scope" => StatusCode::FORBIDDEN,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if let Some(retry_after) = error.retry_after {
        response.insert_header((header::RETRY_AFTER, retry_after.as_secs().max(1)));
    }
    if error.error == "invalid_client" && basic_auth_used {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"latchkey\""));
    }
    if matches!(error.error, "invalid_token" | "insufficient_scope") {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                error.error,
                error.description.replace('"', "'")
            ),
        ));
    }
    response.json(json!({ "error": error.error, "error_description": error.description }))
}

/// The answer of an endpoint that authenticated a client: the body, or the OAuth error.
pub(super) fn answer(
    request: &HttpRequest,
    result: Result<impl serde::Serialize, OAuthError>,
) -> HttpResponse {
    match result {
        Ok(body) => no_store_json(body),
        Err(error) => oauth_error(
            &error,
            request.headers().contains_key(header::AUTHORIZATION),
        ),
    }
}

pub(super) fn no_store_json(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(body)
}

pub(super) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The language of a page for the person at the browser: the first of `ui_locales` (the
/// request's, where it has them) with a catalog, else the browser's languages
/// (`Accept-Language`), else the default language of the request's tenant.
pub(super) fn page_language(
    request: &HttpRequest,
    tenant: &Tenant,
    ui_locales: Option<&str>,
) -> Language {
    languages::choose(
        ui_locales,
        accept_language(request).as_deref(),
        tenant.settings.default_language(),
    )
}

/// Text `id` of the pages' catalog in `language`, escaped for HTML.
pub(super) fn page_text(language: Language, id: &str) -> String {
    escape_html(&language.page_text(id))
}

/// A small page for the person at the browser, in `language`, titled with the catalog's text
/// `title` and with `body` (HTML; whatever it holds from outside is escaped): errors that must
/// not be redirected, the logout confirmation, the organization picker.
pub(super) fn page(
    language: Language,
    status: StatusCode,
    title: &str,
    body: &str,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_LANGUAGE, language.tag()))
        .body(format!(
            "<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}</style>\
             <h1>{title}</h1>{body}</html>",
            lang = language.tag(),
            title = page_text(language, title)
        ))
}

/// The page of an error that must not be redirected, in `language`. The error's description
/// is the server's own words (English), its code the protocol's. 400, except a dependency that
/// is down (503) or a rate limit (429), which say when to try again (`Retry-After`).
pub(super) fn error_page(language: Language, error: &OAuthError) -> HttpResponse {
    let status = match (error.unavailable, error.retry_after) {
        (true, _) => StatusCode::SERVICE_UNAVAILABLE,
        (false, Some(_)) => StatusCode::TOO_MANY_REQUESTS,
        (false, None) => StatusCode::BAD_REQUEST,
    };
    let mut response = page(
        language,
        status,
        "error-title",
        &format!(
            "<p>{}</p><p><small>{} <code>{}</code>. {}</small></p>",
            escape_html(&error.description),
            page_text(language, "error-code"),
            escape_html(error.error),
            page_text(language, "error-advice")
        ),
    );
    if let Some(retry_after) = error.retry_after {
        let seconds = retry_after.as_secs().max(1).to_string();
        if let Ok(value) = header::HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// `uri` with `pairs` added to its query (the pairs without a value left out); `None` should
/// `uri` not be a URL.
pub(super) fn with_query(uri: &str, pairs: &[(&str, Option<&str>)]) -> Option<url::Url> {
    let mut url = url::Url::parse(uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    Some(url)
}

/// The pairs of an authorization error response (RFC 6749 §4.1.2.1, with `iss` of RFC 9207).
pub(super) fn error_pairs<'a>(
    issuer: &'a str,
    state: Option<&'a str>,
    error: &'a OAuthError,
) -> [(&'static str, Option<&'a str>); 4] {
    [
        ("error", Some(error.error)),
        ("error_description", Some(&error.description)),
        ("state", state),
        ("iss", Some(issuer)),
    ]
}

/// A redirect to `uri` with `pairs` added to its query; the error page in `language` should
/// `uri` not be a URL.
pub(super) fn redirect(
    language: Language,
    uri: &str,
    pairs: &[(&str, Option<&str>)],
) -> HttpResponse {
    match with_query(uri, pairs) {
        Some(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        None => error_page(
            language,
            &OAuthError::new("server_error", "the redirect URI cannot be used"),
        ),
    }
}

/// The authorization error response, sent back to the (already checked) redirect URI with
/// `iss` (RFC 9207).
pub(super) fn redirect_error(
    language: Language,
    issuer: &str,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> HttpResponse {
    redirect(language, redirect_uri, &error_pairs(issuer, state, error))
}
