//! Federated sign-in over HTTP: `/t/{slug}/federation/{providerId}/start` sends the browser to
//! the provider (keeping a secret in a cookie, so only this browser may finish), and
//! `/t/{slug}/federation/callback` (GET, or POST for providers that answer by form post)
//! finishes: the provider's session cookie is set and the browser goes back to `authorize`,
//! or to the account page. A SAML provider answers at its assertion consumer service,
//! `/t/{slug}/saml/{providerId}/acs` (POST), and its administrator imports Latchkey's service
//! provider metadata from `/t/{slug}/saml/{providerId}/metadata`. The rules are in
//! `latchkey_tenants::federation` and `latchkey_core::federation`.

use super::Tenant;
use super::browser_session::{cookie_path, cookie_session, session_cookie};
use super::responses::{escape_html, page, page_language, page_text};
use crate::http::caller::{tenant_by_path, tenant_caller};
use crate::http::errors::HttpError;
use crate::http::{AppState, query_parameters};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::oauth;
use latchkey_tenants::federation::{Callback, Finished, ServiceProvider, Then, collect, hand_off};
use std::collections::HashMap;
use uuid::Uuid;

/// The cookie that binds a started flow to the browser (HttpOnly, ten minutes, path
/// `/t/{slug}/`, so that both the callback and the SAML assertion consumer services see it).
/// Over https it is `SameSite=None; Secure`, so that it comes along with a provider's
/// cross-site form post (Apple, SAML); it holds only the flow's secret.
const FLOW_COOKIE: &str = "latchkey_federation";

/// Where every OIDC provider of the tenant sends the browser back.
fn callback_url(public_url: &str, slug: &str) -> String {
    format!("{public_url}/t/{slug}/federation/callback")
}

fn flow_cookie(state: &AppState, tenant: &Tenant, value: String) -> Cookie<'static> {
    let https = state.services.public_url.starts_with("https://");
    Cookie::build(FLOW_COOKIE, value)
        .path(cookie_path(tenant))
        .http_only(true)
        .secure(https)
        .same_site(if https { SameSite::None } else { SameSite::Lax })
        .max_age(actix_web::cookie::time::Duration::minutes(10))
        .finish()
}

/// The page of a refused federated sign-in: what went wrong (the server's words, escaped) and
/// the way back to the sign-in page.
fn refused_page(
    request: &HttpRequest,
    tenant: &Tenant,
    status: StatusCode,
    message: &str,
) -> HttpResponse {
    let language = page_language(request, tenant, None);
    page(
        language,
        status,
        "federation-title",
        &format!(
            "<p>{}</p><p><a id=\"return\" href=\"{}\">{}</a></p>",
            escape_html(message),
            escape_html(&cookie_path(tenant)),
            page_text(language, "federation-return")
        ),
    )
}

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// What a refusal answers: a page for what the person can act on, the error otherwise.
fn refusal(
    request: &HttpRequest,
    tenant: &Tenant,
    error: latchkey_core::Error,
) -> Result<HttpResponse, HttpError> {
    match error {
        latchkey_core::Error::Refused(message) => Ok(refused_page(
            request,
            tenant,
            StatusCode::FORBIDDEN,
            &message,
        )),
        latchkey_core::Error::Conflict(message) => Ok(refused_page(
            request,
            tenant,
            StatusCode::CONFLICT,
            &message,
        )),
        other => Err(other.into()),
    }
}

pub(super) async fn start(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (slug, provider) = path.into_inner();
    let (context, tenant) = flow_context(&state, &request, &slug).await?;
    let provider_id = Uuid::parse_str(&provider).map_err(|_| latchkey_core::Error::NotFound)?;
    let params = query_parameters(&request);
    let then = if params.get("intent").map(String::as_str) == Some("link") {
        match cookie_session(&state, &tenant, &request).await? {
            Some(session) => Then::Link {
                identity_id: session.identity_id,
            },
            None => {
                return Ok(refused_page(
                    &request,
                    &tenant,
                    StatusCode::UNAUTHORIZED,
                    "sign in first, then link the provider from your account page",
                ));
            }
        }
    } else {
        match params.get("authorization_request") {
            Some(handle) if handle.len() <= 100 => Then::Authorize {
                handle: handle.clone(),
            },
            _ => Then::Account,
        }
    };
    let ceremonies = context.ceremonies(&state.services);
    let started = state
        .services
        .federation
        .start(
            &ceremonies,
            &state.services.master_key,
            provider_id,
            &callback_url(&state.services.public_url, &slug),
            &ServiceProvider::new(&state.services.public_url, &slug, provider_id),
            then,
            params.get("login_hint").map(String::as_str),
        )
        .await;
    match started {
        Ok(started) => Ok(see_other(&started.redirect)
            .cookie(flow_cookie(&state, &tenant, started.browser_secret))
            .finish()),
        Err(error) => refusal(&request, &tenant, error),
    }
}

/// Home-realm discovery: the organization provider that answers for the address's domain, if
/// any (`{ "providerId": … }`, or null). The hosted page asks before anything else when some
/// organization has SSO.
pub(super) async fn discover(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (scope, _) = tenant_by_path(&state.services, &request, &slug).await?;
    let params = query_parameters(&request);
    let domain = params
        .get("email")
        .and_then(|email| email.trim().rsplit_once('@'))
        .map(|(_, domain)| domain.trim_end_matches('.').to_ascii_lowercase())
        .filter(|domain| !domain.is_empty() && domain.len() <= 253);
    let provider = match domain {
        Some(domain) => {
            latchkey_core::federation::provider_for_domain(&state.services.db, &scope, &domain)
                .await?
        }
        None => None,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "providerId": provider.map(|p| p.id) })))
}

/// The hosted page collects a federated sign-in's tokens with the code the callback gave it
/// (`POST`, form `code`), from the browser holding that session's cookie: `{ accessToken,
/// refreshToken, expiresIn }`.
pub(super) async fn handoff(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let (scope, tenant) = tenant_by_path(&state.services, &request, &slug).await?;
    let tenant = Tenant {
        issuer: oauth::issuer_url(&state.services.public_url, &scope),
        settings: tenant.settings,
        scope,
    };
    let code = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let session = cookie_session(&state, &tenant, &request)
        .await?
        .map(|s| s.id);
    let handed = collect(state.services.store.as_ref(), &tenant.scope, &code, session).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "accessToken": handed.access_token,
            "refreshToken": handed.refresh_token,
            "expiresIn": handed.expires_in,
        })))
}

pub(super) async fn callback_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let params = query_parameters(&request);
    callback(&state, &request, &slug, params).await
}

pub(super) async fn callback_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let params = url::form_urlencoded::parse(&body).into_owned().collect();
    callback(&state, &request, &slug, params).await
}

/// The tenant of a flow's request (its start, or the provider's answer), with the caller.
async fn flow_context(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
) -> Result<(crate::graphql::context::RequestContext, Tenant), HttpError> {
    let context = tenant_caller(
        &state.services,
        &state.config.trusted_proxies,
        request,
        tenant_by_path(&state.services, request, slug).await,
    )
    .await?;
    let tenant = Tenant {
        scope: context.scope.clone(),
        settings: context.settings.clone(),
        issuer: context.issuer.clone(),
    };
    Ok((context, tenant))
}

async fn callback(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    mut params: HashMap<String, String>,
) -> Result<HttpResponse, HttpError> {
    let (context, tenant) = flow_context(state, request, slug).await?;
    let ceremonies = context.ceremonies(&state.services);
    let answer = Callback {
        code: params.remove("code"),
        state: params.remove("state"),
        error: params.remove("error"),
        error_description: params.remove("error_description"),
        browser: request.cookie(FLOW_COOKIE).map(|c| c.value().to_owned()),
        user: params.remove("user"),
    };
    let finished = state
        .services
        .federation
        .finish(
            &ceremonies,
            &state.services.master_key,
            &callback_url(&state.services.public_url, slug),
            answer,
        )
        .await;
    conclude(state, request, &tenant, finished).await
}

/// A SAML provider's assertion consumer service (HTTP-POST binding: form `SAMLResponse`,
/// `RelayState`).
pub(super) async fn saml_acs(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let (slug, provider) = path.into_inner();
    let (context, tenant) = flow_context(&state, &request, &slug).await?;
    let provider_id = Uuid::parse_str(&provider).map_err(|_| latchkey_core::Error::NotFound)?;
    let saml_response = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "SAMLResponse")
        .map(|(_, value)| value.into_owned());
    let ceremonies = context.ceremonies(&state.services);
    let finished = state
        .services
        .federation
        .finish_saml(
            &ceremonies,
            &state.services.master_key,
            &ServiceProvider::new(&state.services.public_url, &slug, provider_id),
            provider_id,
            saml_response.as_deref(),
            request.cookie(FLOW_COOKIE).as_ref().map(|c| c.value()),
        )
        .await;
    conclude(&state, &request, &tenant, finished).await
}

/// Latchkey's service-provider metadata for a SAML provider (for the IdP's administrator).
pub(super) async fn saml_metadata(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (slug, provider) = path.into_inner();
    let (scope, _) = tenant_by_path(&state.services, &request, &slug).await?;
    let provider_id = Uuid::parse_str(&provider).map_err(|_| latchkey_core::Error::NotFound)?;
    let metadata = latchkey_tenants::federation::service_provider_metadata(
        &state.services.db,
        &scope,
        &state.services.master_key,
        &ServiceProvider::new(&state.services.public_url, &slug, provider_id),
        provider_id,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(metadata))
}

/// The answer to a finished (or refused) flow: the session cookie and the way on, or the
/// refusal's page; the flow cookie spent either way.
async fn conclude(
    state: &AppState,
    request: &HttpRequest,
    tenant: &Tenant,
    finished: latchkey_core::Result<Finished>,
) -> Result<HttpResponse, HttpError> {
    let mut spent = flow_cookie(state, tenant, String::new());
    spent.make_removal();
    let account = format!("{}account", cookie_path(tenant));
    let metrics = &state.services.metrics;
    let (preset, outcome) = match &finished {
        Ok(Finished::Linked { preset, .. }) => (*preset, "linked"),
        Ok(Finished::SignedIn { preset, .. }) => (*preset, "signed_in"),
        Err(_) => ("unknown", "refused"),
    };
    metrics
        .federated_sign_ins
        .with_label_values(&[preset, outcome])
        .inc();
    if outcome != "linked" {
        let label = if outcome == "signed_in" {
            "success"
        } else {
            "failure"
        };
        metrics
            .sign_ins
            .with_label_values(&["federated", label])
            .inc();
    }
    let mut response = match finished {
        Ok(Finished::Linked { .. }) => see_other(&account).finish(),
        Ok(Finished::SignedIn { outcome, then, .. }) => {
            let Some(tokens) = outcome.tokens else {
                return Err(latchkey_core::Error::internal(
                    "a federated sign-in without a session",
                )
                .into());
            };
            let sealed = oauth::seal_browser_session(
                &state.services.master_key,
                &tenant.scope,
                tokens.session_id,
            )?;
            let location = match then {
                Then::Authorize { handle } => {
                    let mut query = url::form_urlencoded::Serializer::new(String::new());
                    query.append_pair("authorization_request", &handle);
                    format!("{}oauth2/authorize?{}", cookie_path(tenant), query.finish())
                }
                // The hosted page collects the session's tokens (`handoff`) and opens the
                // account.
                Then::Account | Then::Link { .. } => {
                    let code =
                        hand_off(state.services.store.as_ref(), &tenant.scope, &tokens).await?;
                    format!("{}?federation={code}", cookie_path(tenant))
                }
            };
            see_other(&location)
                .cookie(session_cookie(state, tenant, sealed))
                .finish()
        }
        Err(error) => refusal(request, tenant, error)?,
    };
    response
        .add_cookie(&spent)
        .map_err(|e| latchkey_core::Error::internal(e.to_string()))?;
    Ok(response)
}
