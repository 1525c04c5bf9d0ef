//! What the endpoints answer: OAuth errors and no-store JSON for clients; small pages, and
//! redirects back to the client, for the person at the browser.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
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

/// A small page for the person at the browser: errors that must not be redirected and the
/// logout confirmation.
pub(super) fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}</style>\
             <h1>{title}</h1>{body}</html>",
            title = escape_html(title)
        ))
}

pub(super) fn error_page(error: &OAuthError) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "This sign-in request cannot be completed",
        &format!(
            "<p>{}</p><p><small>Error: <code>{}</code>. Go back to the application and try again; if it keeps happening, tell the application's owner.</small></p>",
            escape_html(&error.description),
            escape_html(error.error)
        ),
    )
}

/// A redirect to `uri` with `pairs` added to its query.
pub(super) fn redirect(uri: &str, pairs: &[(&str, Option<&str>)]) -> HttpResponse {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => {
            return error_page(&OAuthError::new(
                "server_error",
                "the redirect URI cannot be used",
            ));
        }
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The authorization error response, sent back to the (already checked) redirect URI with
/// `iss` (RFC 9207).
pub(super) fn redirect_error(
    issuer: &str,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> HttpResponse {
    redirect(
        redirect_uri,
        &[
            ("error", Some(error.error)),
            ("error_description", Some(&error.description)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}
