//! The admin console at `/console` (on the deployment's host and on tenant hosts): a
//! single-page app of plain ES modules and CSS from `web/console/`, embedded in the binary,
//! under the hosted pages' strict CSP; and its JSON endpoints under `/console/api/`:
//! what a one-time link grants and enrolling a passkey with it, signing in with one, recovery by email, the
//! session and signing out. Everything else the console does goes through the GraphQL APIs
//! with the session's cookie and CSRF header (see [`super::caller`]).

use super::AppState;
use super::body::read_body;
use super::caller::{ConsoleCredential, client_info, console_cookie_name};
use super::errors::HttpError;
use super::pages::{embedded, page};
use crate::graphql::types::code;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::administrators::{self, Console, SessionView, SignedIn};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

const INDEX: &str = include_str!("../../../web/console/index.html");
const ASSETS: [(&str, &str); 28] = [
    ("access.js", include_str!("../../../web/console/access.js")),
    (
        "administrators.js",
        include_str!("../../../web/console/administrators.js"),
    ),
    ("api.js", include_str!("../../../web/console/api.js")),
    (
        "apikeys.js",
        include_str!("../../../web/console/apikeys.js"),
    ),
    (
        "application.js",
        include_str!("../../../web/console/application.js"),
    ),
    (
        "applications.js",
        include_str!("../../../web/console/applications.js"),
    ),
    ("audit.js", include_str!("../../../web/console/audit.js")),
    (
        "connector.js",
        include_str!("../../../web/console/connector.js"),
    ),
    (
        "connectors.js",
        include_str!("../../../web/console/connectors.js"),
    ),
    (
        "console.css",
        include_str!("../../../web/console/console.css"),
    ),
    (
        "console.js",
        include_str!("../../../web/console/console.js"),
    ),
    (
        "directory.js",
        include_str!("../../../web/console/directory.js"),
    ),
    ("enrol.js", include_str!("../../../web/console/enrol.js")),
    (
        "explorer.js",
        include_str!("../../../web/console/explorer.js"),
    ),
    (
        "identities.js",
        include_str!("../../../web/console/identities.js"),
    ),
    (
        "identity.js",
        include_str!("../../../web/console/identity.js"),
    ),
    (
        "organization.js",
        include_str!("../../../web/console/organization.js"),
    ),
    (
        "organizations.js",
        include_str!("../../../web/console/organizations.js"),
    ),
    (
        "overview.js",
        include_str!("../../../web/console/overview.js"),
    ),
    (
        "platform.js",
        include_str!("../../../web/console/platform.js"),
    ),
    ("roles.js", include_str!("../../../web/console/roles.js")),
    ("schema.js", include_str!("../../../web/console/schema.js")),
    ("secret.js", include_str!("../../../web/console/secret.js")),
    (
        "session.js",
        include_str!("../../../web/console/session.js"),
    ),
    (
        "settings.js",
        include_str!("../../../web/console/settings.js"),
    ),
    ("signin.js", include_str!("../../../web/console/signin.js")),
    (
        "snippets.js",
        include_str!("../../../web/console/snippets.js"),
    ),
    ("ui.js", include_str!("../../../web/console/ui.js")),
];
/// The largest body a console endpoint reads (a WebAuthn response is a few kilobytes).
const MAX_BODY: usize = 64 * 1024;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/console/api/session", web::get().to(session))
        .route("/console/api/enrolment", web::post().to(enrolment))
        .route(
            "/console/api/enrolment/begin",
            web::post().to(enrolment_begin),
        )
        .route(
            "/console/api/enrolment/finish",
            web::post().to(enrolment_finish),
        )
        .route("/console/api/sign-in/begin", web::post().to(sign_in_begin))
        .route(
            "/console/api/sign-in/finish",
            web::post().to(sign_in_finish),
        )
        .route("/console/api/recovery", web::post().to(recovery))
        .route("/console/api/sign-out", web::post().to(sign_out))
        .route("/console/assets/{name}", web::get().to(asset))
        .route("/console", web::get().to(app))
        .route("/console/{route:.*}", web::get().to(app));
}

/// The app, for every route of it (`/console/t/{slug}/identities`, `/console/enrol`…).
async fn app(route: Option<web::Path<String>>) -> Result<HttpResponse, HttpError> {
    if route.is_some_and(|route| route.starts_with("api/") || route.starts_with("assets/")) {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            "no such endpoint",
        ));
    }
    Ok(page(INDEX))
}

async fn asset(request: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, HttpError> {
    let (_, body) = ASSETS
        .iter()
        .find(|(file, _)| *file == name.as_str())
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such asset"))?;
    let content_type = match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "text/javascript; charset=utf-8",
    };
    Ok(embedded(&request, content_type, body))
}

fn console<'a>(
    state: &'a AppState,
    client: &'a latchkey_core::sessions::ClientInfo,
) -> Console<'a> {
    let services = &state.services;
    Console {
        db: &services.db,
        store: services.store.as_ref(),
        mailer: services.mailer.as_ref(),
        public_url: &services.public_url,
        client,
        ceremony_ttl: services.ceremony_ttl,
    }
}

async fn json_body<T: for<'de> Deserialize<'de>>(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<T, HttpError> {
    let body = read_body(request, payload, MAX_BODY).await?;
    serde_json::from_slice(&body).map_err(|e| {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            format!("the body is not the JSON this endpoint takes: {e}"),
        )
    })
}

fn unauthenticated() -> HttpError {
    HttpError::new(
        StatusCode::UNAUTHORIZED,
        code::UNAUTHENTICATED,
        "not signed in to the console",
    )
}

/// `{administrator, platformRole, tenants, csrfToken, expiresAt}`.
fn session_json(view: &SessionView) -> Value {
    let person = &view.administrator;
    json!({
        "administrator": {
            "id": person.id,
            "email": person.email,
            "displayName": person.display_name,
        },
        "platformRole": person.platform_role.map(|role| role.as_str().to_uppercase()),
        "tenants": view.tenants.iter().map(|(slug, name, role)| json!({
            "slug": slug,
            "name": name,
            "role": role.as_str().to_uppercase(),
        })).collect::<Vec<_>>(),
        "csrfToken": view.csrf_token,
        "expiresAt": view.expires_at,
    })
}

async fn session(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let credential = ConsoleCredential::cookie(&request, &state.services.public_url)
        .ok_or_else(unauthenticated)?;
    let view = administrators::session_view(&state.services.db, credential.presented()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(session_json(&view)))
}

/// The session cookie: `HttpOnly`, `SameSite=Strict`, path `/`, `Secure` over HTTPS; no
/// `Max-Age` (it goes with the browser), and the server ends it sooner.
fn session_cookie(public_url: &str, value: String) -> Cookie<'static> {
    Cookie::build(console_cookie_name(public_url), value)
        .path("/")
        .http_only(true)
        .secure(public_url.starts_with("https://"))
        .same_site(SameSite::Strict)
        .finish()
}

/// The answer to a finished ceremony: the session, with its cookie set.
fn signed_in(state: &AppState, signed_in: SignedIn) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .cookie(session_cookie(&state.services.public_url, signed_in.token))
        .json(session_json(&signed_in.view))
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

/// What a link grants. A POST, so that the token stays out of access logs.
async fn enrolment(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let input: Token = json_body(&request, payload).await?;
    let view = administrators::view_enrolment(&state.services.db, &input.token)
        .await
        .map_err(|error| match error {
            latchkey_core::Error::NotFound => HttpError::new(
                StatusCode::NOT_FOUND,
                code::NOT_FOUND,
                "this link was used or has expired; ask an owner for a new invitation",
            ),
            other => other.into(),
        })?;
    let upper = |role: Option<latchkey_core::AdminRole>| role.map(|r| r.as_str().to_uppercase());
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "purpose": view.purpose.as_str().to_uppercase(),
            "email": view.email,
            "tenant": view.tenant.map(|(slug, name)| json!({ "slug": slug, "name": name })),
            "role": upper(view.role),
            "platformRole": upper(view.platform_role),
            "expiresAt": view.expires_at,
        })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BeginEnrolment {
    token: String,
    email: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Finish {
    ceremony_id: Uuid,
    credential: Value,
}

fn begun(ceremony: administrators::ConsoleCeremony) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "ceremonyId": ceremony.ceremony_id, "options": ceremony.options }))
}

async fn enrolment_begin(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let input: BeginEnrolment = json_body(&request, payload).await?;
    let client = client_info(&request, &state.config.trusted_proxies);
    let ceremony = console(&state, &client)
        .begin_enrolment(
            &input.token,
            input.email.as_deref(),
            input.display_name.as_deref(),
        )
        .await?;
    Ok(begun(ceremony))
}

async fn enrolment_finish(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let input: Finish = json_body(&request, payload).await?;
    let client = client_info(&request, &state.config.trusted_proxies);
    let session = console(&state, &client)
        .finish_enrolment(input.ceremony_id, input.credential)
        .await?;
    Ok(signed_in(&state, session))
}

async fn sign_in_begin(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let client = client_info(&request, &state.config.trusted_proxies);
    Ok(begun(console(&state, &client).begin_sign_in().await?))
}

async fn sign_in_finish(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let input: Finish = json_body(&request, payload).await?;
    let client = client_info(&request, &state.config.trusted_proxies);
    let session = console(&state, &client)
        .finish_sign_in(input.ceremony_id, input.credential)
        .await?;
    Ok(signed_in(&state, session))
}

#[derive(Deserialize)]
struct Recovery {
    email: String,
}

async fn recovery(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let input: Recovery = json_body(&request, payload).await?;
    let client = client_info(&request, &state.config.trusted_proxies);
    console(&state, &client)
        .request_recovery(&input.email)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "sent": true })))
}

async fn sign_out(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let public_url = &state.services.public_url;
    let credential = ConsoleCredential::cookie(&request, public_url).ok_or_else(unauthenticated)?;
    administrators::sign_out(&state.services.db, credential.presented()).await?;
    let mut cookie = session_cookie(public_url, String::new());
    cookie.set_max_age(time::Duration::ZERO);
    Ok(HttpResponse::NoContent().cookie(cookie).finish())
}
