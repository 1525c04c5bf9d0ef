//! The OpenID Connect endpoints of each tenant, under `/t/{slug}/`: discovery, authorize,
//! token, userinfo, introspection, revocation, end session, and the endpoint the hosted
//! sign-in page calls to turn its session into the provider's browser session (a cookie).
//! The rules are in `latchkey_core::oauth`; this module speaks HTTP.

use super::AppState;
use super::caller::{bearer, client_info, request_id};
use super::errors::HttpError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::oauth::{
    self, AuthorizationRequest, AuthorizeParams, ClientCredentials, OAuthError, Provider,
};
use latchkey_core::organizations::Organization;
use latchkey_core::sessions::{TokenIssuer, authenticate_access_token};
use latchkey_core::settings::{SigningAlgorithm, TenantSettings};
use latchkey_core::{Principal, TenantScope, tenancy};
use serde_json::json;
use std::collections::HashMap;

/// The provider's browser-session cookie (HttpOnly, SameSite=Lax, path `/t/{slug}/`).
const SESSION_COOKIE: &str = "latchkey_session";
/// How soon after the passkey sign-in the hosted page may turn its session into the cookie.
const FRESH_SIGN_IN_SECONDS: i64 = 300;
const PAGE_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/t/{slug}/.well-known/openid-configuration",
            web::get().to(discovery),
        )
        .route("/t/{slug}/oauth2/authorize", web::get().to(authorize_get))
        .route("/t/{slug}/oauth2/authorize", web::post().to(authorize_post))
        .route("/t/{slug}/oauth2/token", web::post().to(token))
        .route("/t/{slug}/oauth2/userinfo", web::get().to(userinfo))
        .route("/t/{slug}/oauth2/userinfo", web::post().to(userinfo))
        .route("/t/{slug}/oauth2/introspect", web::post().to(introspect))
        .route("/t/{slug}/oauth2/revoke", web::post().to(revoke))
        .route("/t/{slug}/oauth2/logout", web::get().to(end_session_get))
        .route("/t/{slug}/oauth2/logout", web::post().to(end_session_post))
        .route(
            "/t/{slug}/oauth2/session",
            web::post().to(establish_session),
        )
        .route(
            "/t/{slug}/oauth2/{endpoint}",
            web::method(actix_web::http::Method::OPTIONS).to(preflight),
        )
        .route(
            "/t/{slug}/.well-known/openid-configuration",
            web::method(actix_web::http::Method::OPTIONS).to(preflight),
        );
}

/// The tenant of a request with what its provider needs.
struct Tenant {
    scope: TenantScope,
    settings: TenantSettings,
    issuer: String,
}

async fn tenant(state: &AppState, slug: &str) -> Result<Tenant, HttpError> {
    let (scope, tenant) = tenancy::resolve_slug(&state.services.db, slug).await?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    Ok(Tenant {
        issuer: state.services.issuer(&scope),
        settings: TenantSettings::from_json(&tenant.settings),
        scope,
    })
}

fn provider<'a>(state: &'a AppState, tenant: &'a Tenant) -> Provider<'a> {
    Provider {
        db: &state.services.db,
        store: state.services.store.as_ref(),
        keys: &state.services.token_keys,
        scope: &tenant.scope,
        issuer: TokenIssuer {
            issuer: &tenant.issuer,
            settings: &tenant.settings,
            master_key: &state.services.master_key,
            signing_keys: &state.services.signing_keys,
        },
    }
}

/// Parses form or query parameters. A parameter sent twice is an error (RFC 6749 §3.1);
/// one sent without a value counts as absent.
fn parameters(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut map = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw) {
        if value.is_empty() {
            continue;
        }
        if map.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::new(
                "invalid_request",
                format!("parameter {name} is repeated"),
            ));
        }
    }
    Ok(map)
}

/// An OAuth error as JSON (token, introspection, revocation).
fn oauth_error(error: &OAuthError, basic_auth_used: bool) -> HttpResponse {
    let status = match error.error {
        "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
        "insufficient_scope" => StatusCode::FORBIDDEN,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
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
fn answer(
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

fn no_store_json(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(body)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page for the person at the browser: errors that must not be redirected and the
/// logout confirmation.
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
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

fn error_page(error: &OAuthError) -> HttpResponse {
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
fn redirect(uri: &str, pairs: &[(&str, Option<&str>)]) -> HttpResponse {
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
fn redirect_error(
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

fn cookie_path(tenant: &Tenant) -> String {
    format!("/t/{}/", tenant.scope.slug())
}

/// The live browser session of the request's cookie, if any.
async fn cookie_session(
    state: &AppState,
    tenant: &Tenant,
    request: &HttpRequest,
) -> latchkey_core::Result<Option<latchkey_core::sessions::Session>> {
    let Some(cookie) = request.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session_id) =
        oauth::open_browser_session(&state.services.master_key, &tenant.scope, cookie.value())
    else {
        return Ok(None);
    };
    provider(state, tenant).browser_session(session_id).await
}

async fn discovery(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &slug).await?;
    let issuer = &tenant.issuer;
    let endpoint = |path: &str| format!("{issuer}/oauth2/{path}");
    let algorithm = match tenant.settings.signing_algorithm {
        SigningAlgorithm::ES256 => "ES256",
        SigningAlgorithm::EdDSA => "EdDSA",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(json!({
            "issuer": issuer,
            "authorization_endpoint": endpoint("authorize"),
            "token_endpoint": endpoint("token"),
            "userinfo_endpoint": endpoint("userinfo"),
            "jwks_uri": format!("{issuer}/jwks.json"),
            "revocation_endpoint": endpoint("revoke"),
            "introspection_endpoint": endpoint("introspect"),
            "end_session_endpoint": endpoint("logout"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [algorithm],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": latchkey_core::applications::OIDC_SCOPES,
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "azp", "name", "updated_at", "email", "email_verified", "phone_number", "org_id", "org_kind", "roles"],
            "prompt_values_supported": ["none", "login", "consent", "select_account", "select_organization"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "frontchannel_logout_supported": false,
            "backchannel_logout_supported": false,
        })))
}

async fn authorize_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &request, &slug, request.query_string().as_bytes()).await
}

async fn authorize_post(
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

/// Reads a form body and authenticates its client.
async fn authenticated_form(
    provider: &Provider<'_>,
    request: &HttpRequest,
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
    let app = provider
        .authenticate_client(credentials)
        .await
        .map_err(|e| oauth_error(&e, basic_used))?;
    Ok((app, params))
}

fn is_form(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn not_a_form() -> HttpResponse {
    oauth_error(
        &OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ),
        false,
    )
}

/// The token endpoint.
async fn token(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &slug).await?;
    let provider = provider(&state, &tenant);
    if !is_form(&request) {
        return Ok(not_a_form());
    }
    let (app, params) = match authenticated_form(&provider, &request, &body).await {
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
                        &client_info(&request, &state.config.trusted_proxies),
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

async fn userinfo(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &slug).await?;
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

async fn introspect(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    token_action(&state, &request, &slug, &body, TokenAction::Introspect).await
}

async fn revoke(
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
    let tenant = tenant(state, slug).await?;
    let provider = provider(state, &tenant);
    if !is_form(request) {
        return Ok(not_a_form());
    }
    let (app, params) = match authenticated_form(&provider, request, body).await {
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

async fn end_session_get(
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

async fn end_session_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    end_session(&state, &request, &slug, &body, true).await
}

/// RP-initiated logout. With a valid `id_token_hint` the sign-out happens at once; without
/// one the user confirms with a same-origin POST (a cross-site page cannot forge it: the
/// cookie is SameSite=Lax).
async fn end_session(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    raw: &[u8],
    posted: bool,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(state, slug).await?;
    let params = match parameters(raw) {
        Ok(params) => params,
        Err(error) => return Ok(error_page(&error)),
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    let confirmed = posted && get("confirm") == Some("yes");
    if get("id_token_hint").is_none() && !confirmed {
        let hidden: String = ["client_id", "post_logout_redirect_uri", "state"]
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
            StatusCode::OK,
            "Sign out?",
            &format!(
                "<p>An application asked to sign you out.</p>\
                 <form method=\"post\" action=\"{}oauth2/logout\">{hidden}\
                 <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
                cookie_path(&tenant)
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
        Ok(Some(uri)) => redirect(&uri, &[("state", get("state"))]),
        Ok(None) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, cookie_path(&tenant)))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(error) => return Ok(error_page(&error)),
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

fn session_cookie(state: &AppState, tenant: &Tenant, value: String) -> Cookie<'static> {
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
async fn establish_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &slug).await?;
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

/// CORS preflight for the endpoints single-page apps call (they carry no cookies).
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .finish()
}
