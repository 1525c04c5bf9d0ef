//! The authorization endpoint, with the organization picker and the way to the hosted sign-in
//! page.

use super::browser_session::{cookie_path, cookie_session};
use super::responses::{error_page, escape_html, page, redirect, redirect_error};
use super::{Tenant, parameters, provider, tenant};
use crate::http::AppState;
use crate::http::errors::HttpError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::oauth::{AuthorizationRequest, AuthorizeParams, OAuthError, Provider};
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

/// The authorization endpoint: checks the request, sends the user to the hosted sign-in page
/// when there is no (fresh enough) browser session, and answers with a code.
async fn authorize(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    raw: &[u8],
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(state, slug).await?;
    let provider = provider(state, &tenant);
    let mut params = match parameters(raw) {
        Ok(params) => params,
        Err(error) => return Ok(error_page(&error)),
    };
    let chosen_organization = params.remove("organization");
    let (app, mut auth_request) = match params.remove("authorization_request") {
        Some(handle) => {
            let Some(mut parked) = provider.resume_request(&handle).await? else {
                return Ok(error_page(&OAuthError::new(
                    "invalid_request",
                    "this sign-in request has expired or was already completed; start again from the application",
                )));
            };
            // The organization picker's choice. Membership is checked when the code is issued.
            if let Some(chosen) = chosen_organization {
                if !parked.select_organization {
                    return Ok(error_page(&OAuthError::new(
                        "invalid_request",
                        "the application did not ask to choose an organization here",
                    )));
                }
                parked.organization = Some(chosen);
                parked.select_organization = false;
            }
            match provider
                .authorization_client(Some(&parked.client_id), Some(&parked.redirect_uri))
                .await
            {
                Ok(app) => (app, parked),
                Err(error) => return Ok(error_page(&error)),
            }
        }
        None => {
            if let Some(organization) = chosen_organization {
                params.insert("organization".to_owned(), organization);
            }
            let params: AuthorizeParams = serde_json::from_value(json!(params)).map_err(|_| {
                HttpError::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "bad parameters")
            })?;
            let app = match provider
                .authorization_client(params.client_id.as_deref(), params.redirect_uri.as_deref())
                .await
            {
                Ok(app) => app,
                Err(error) => return Ok(error_page(&error)),
            };
            let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
            let state_param = params.state.clone();
            match provider.check_authorization_request(&app, params) {
                Ok(checked) => (app, checked),
                Err(error) => {
                    return Ok(redirect_error(
                        &tenant.issuer,
                        &redirect_uri,
                        state_param.as_deref(),
                        &error,
                    ));
                }
            }
        }
    };
    let session = cookie_session(state, &tenant, request)
        .await?
        .filter(|session| provider.session_satisfies(&auth_request, session));
    if let Some(session) = &session
        && auth_request.select_organization
    {
        let organizations = provider.member_organizations(session.identity_id).await?;
        match organizations.as_slice() {
            [] => {}
            [only] => auth_request.organization = Some(only.id.to_string()),
            _ => {
                return Ok(
                    organization_picker(&provider, &tenant, &auth_request, &organizations).await?,
                );
            }
        }
        auth_request.select_organization = false;
    }
    match session {
        Some(session) => {
            let code = match provider.issue_code(&app, &auth_request, &session).await {
                Ok(code) => code,
                Err(error) => {
                    return Ok(redirect_error(
                        &tenant.issuer,
                        &auth_request.redirect_uri,
                        auth_request.state.as_deref(),
                        &error,
                    ));
                }
            };
            Ok(redirect(
                &auth_request.redirect_uri,
                &[
                    ("code", Some(&code)),
                    ("state", auth_request.state.as_deref()),
                    ("iss", Some(&tenant.issuer)),
                ],
            ))
        }
        None if auth_request.prompt_none => Ok(redirect_error(
            &tenant.issuer,
            &auth_request.redirect_uri,
            auth_request.state.as_deref(),
            &OAuthError::new("login_required", "the user is not signed in"),
        )),
        None => Ok(to_sign_in(&provider, &tenant, &auth_request).await?),
    }
}

/// The page where a member of several organizations picks the one to sign in to: one link
/// per organization back to `authorize` with the parked request.
async fn organization_picker(
    provider: &Provider<'_>,
    tenant: &Tenant,
    auth_request: &AuthorizationRequest,
    organizations: &[Organization],
) -> latchkey_core::Result<HttpResponse> {
    let handle = provider.park_request(auth_request).await?;
    let choices: String = organizations
        .iter()
        .map(|organization| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("authorization_request", &handle);
            query.append_pair("organization", &organization.id.to_string());
            format!(
                "<li><a href=\"{}/oauth2/authorize?{}\">{}</a></li>",
                escape_html(&cookie_path(tenant)).trim_end_matches('/'),
                escape_html(&query.finish()),
                escape_html(&organization.name)
            )
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        "Choose an organization",
        &format!(
            "<p>You belong to several organizations. Which one do you want to sign in to?</p><ul class=\"organizations\">{choices}</ul>"
        ),
    ))
}

/// Parks the request and sends the browser to the hosted sign-in page, which comes back to
/// `authorize?authorization_request=…` once the user has signed in.
async fn to_sign_in(
    provider: &Provider<'_>,
    tenant: &Tenant,
    auth_request: &AuthorizationRequest,
) -> latchkey_core::Result<HttpResponse> {
    let handle = provider.park_request(auth_request).await?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("authorization_request", &handle);
    if let Some(hint) = &auth_request.login_hint {
        query.append_pair("login_hint", hint);
    }
    if auth_request.prompt_login {
        query.append_pair("prompt", "login");
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{}?{}", cookie_path(tenant), query.finish()),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
