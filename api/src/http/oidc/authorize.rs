//! The authorization endpoint, with the organization picker and the way to the hosted sign-in
//! page.

use super::browser_session::{cookie_path, session_cookie_value};
use super::responses::{
    error_page, error_pairs, escape_html, page, page_language, page_text, redirect, redirect_error,
    with_query,
};
use super::{Tenant, parameters, provider, tenant};
use crate::http::AppState;
use crate::http::errors::HttpError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::languages::Language;
use latchkey_core::oauth::{AuthorizeInput, AuthorizeOutcome, OAuthError};
use latchkey_core::organizations::Organization;
use serde_json::json;

pub(super) async fn authorize_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &request, &slug, request.query_string().as_bytes()).await
}

pub(super) async fn authorize_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &request, &slug, &body).await
}

/// The authorization endpoint: reads the request and the browser-session cookie, lets the
/// provider decide, and answers with the sign-in page, the organization picker, or a redirect.
/// Its pages are in the request's `ui_locales` where the provider knows them (see
/// [`page_language`]).
async fn authorize(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    raw: &[u8],
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(state, request, slug).await?;
    let provider = provider(state, &tenant);
    let language = |ui_locales: Option<&str>| page_language(request, &tenant, ui_locales);
    let mut params = match parameters(raw) {
        Ok(params) => params,
        Err(error) => return Ok(error_page(language(None), &error)),
    };
    let chosen_organization = params.remove("organization");
    let input = match params.remove("authorization_request") {
        Some(handle) => AuthorizeInput::Resume {
            handle,
            organization: chosen_organization,
        },
        None => {
            if let Some(organization) = chosen_organization {
                params.insert("organization".to_owned(), organization);
            }
            AuthorizeInput::New(serde_json::from_value(json!(params)).map_err(|_| {
                HttpError::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "bad parameters")
            })?)
        }
    };
    let cookie = session_cookie_value(request);
    Ok(match provider.authorize(input, cookie.as_deref()).await? {
        AuthorizeOutcome::ErrorPage { error, ui_locales } => {
            error_page(language(ui_locales.as_deref()), &error)
        }
        AuthorizeOutcome::RedirectError {
            redirect_uri,
            state,
            error,
        } => redirect_error(
            language(None),
            &tenant.issuer,
            &redirect_uri,
            state.as_deref(),
            &error,
        ),
        AuthorizeOutcome::Denied {
            redirect_uri,
            state,
            error,
            application,
            ui_locales,
        } => access_denied(
            language(ui_locales.as_deref()),
            &tenant,
            &application,
            &redirect_uri,
            state.as_deref(),
            &error,
        ),
        AuthorizeOutcome::Code {
            redirect_uri,
            state,
            code,
        } => redirect(
            language(None),
            &redirect_uri,
            &[
                ("code", Some(&code)),
                ("state", state.as_deref()),
                ("iss", Some(&tenant.issuer)),
            ],
        ),
        AuthorizeOutcome::SignIn {
            handle,
            login_hint,
            idp_hint,
            ui_locales,
            prompt_login,
            passkey_required,
        } => to_sign_in(
            &tenant,
            &handle,
            login_hint.as_deref(),
            idp_hint.filter(|_| !passkey_required),
            ui_locales.as_deref(),
            prompt_login,
            passkey_required,
        ),
        AuthorizeOutcome::ChooseOrganization {
            handle,
            organizations,
            ui_locales,
        } => organization_picker(
            language(ui_locales.as_deref()),
            &tenant,
            &handle,
            &organizations,
        ),
    })
}

/// The page where a member of several organizations picks the one to sign in to, in
/// `language`: one link per organization (its name as the tenant typed it, escaped) back to
/// `authorize` with the request parked under `handle`.
fn organization_picker(
    language: Language,
    tenant: &Tenant,
    handle: &str,
    organizations: &[Organization],
) -> HttpResponse {
    let choices: String = organizations
        .iter()
        .map(|organization| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("authorization_request", handle);
            query.append_pair("organization", &organization.id.to_string());
            format!(
                "<li><a href=\"{}/oauth2/authorize?{}\">{}</a></li>",
                escape_html(&cookie_path(tenant)).trim_end_matches('/'),
                escape_html(&query.finish()),
                escape_html(&organization.name)
            )
        })
        .collect();
    page(
        language,
        StatusCode::OK,
        "choose-organization-title",
        &format!(
            "<p>{}</p><ul class=\"organizations\">{choices}</ul>",
            page_text(language, "choose-organization-text")
        ),
    )
}

/// The page for a signed-in user the application's access policy keeps out, in `language`:
/// the application's name and the reason (escaped), and a link back to its redirect URI with
/// `access_denied`, as the client expects. Forbidden (403).
fn access_denied(
    language: Language,
    tenant: &Tenant,
    application: &str,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> HttpResponse {
    let Some(back) = with_query(redirect_uri, &error_pairs(&tenant.issuer, state, error)) else {
        return error_page(language, error);
    };
    page(
        language,
        StatusCode::FORBIDDEN,
        "access-denied-title",
        &format!(
            "<p><strong>{}</strong></p><p>{}</p><p>{}.</p><p><a id=\"return\" href=\"{}\">{}</a></p>",
            escape_html(application),
            page_text(language, "access-denied-text"),
            escape_html(&error.description),
            escape_html(back.as_str()),
            page_text(language, "access-denied-return")
        ),
    )
}

/// Sends the browser to the hosted sign-in page, which comes back to
/// `authorize?authorization_request={handle}` once the user has signed in. The page is shown in
/// the first of `ui_locales` it has a catalog for. With an `idp_hint`, the browser goes to that
/// identity provider's start instead (which comes back the same way).
fn to_sign_in(
    tenant: &Tenant,
    handle: &str,
    login_hint: Option<&str>,
    idp_hint: Option<uuid::Uuid>,
    ui_locales: Option<&str>,
    prompt_login: bool,
    passkey_required: bool,
) -> HttpResponse {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("authorization_request", handle);
    if let Some(provider) = idp_hint {
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
        return HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "{}federation/{provider}/start?{}",
                    cookie_path(tenant),
                    query.finish()
                ),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    }
    if passkey_required {
        query.append_pair("step_up", "passkey");
    }
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    if let Some(languages) = ui_locales {
        query.append_pair("ui_locales", languages);
    }
    if prompt_login {
        query.append_pair("prompt", "login");
    }
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{}?{}", cookie_path(tenant), query.finish()),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
