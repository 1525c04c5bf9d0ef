//! The OpenID Connect endpoints of each tenant, under `/t/{slug}/`: discovery, authorize,
//! token, userinfo, introspection, revocation, end session, and the endpoint the hosted
//! sign-in page calls to turn its session into the provider's browser session (a cookie).
//! The rules are in `latchkey_core::oauth`; this module speaks HTTP. Here: the routes and the
//! tenant, provider and parameters every endpoint starts from.

pub mod authorize;
pub mod browser_session;
pub mod client;
pub mod discovery;
pub mod federation;
pub mod introspection;
pub mod responses;
pub mod token;

use super::AppState;
use super::caller::tenant_by_path;
use super::errors::HttpError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::TenantScope;
use latchkey_core::oauth::{self, OAuthError, Provider};
use latchkey_core::sessions::TokenIssuer;
use latchkey_core::settings::TenantSettings;
use std::collections::HashMap;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/t/{slug}/.well-known/openid-configuration",
            web::get().to(discovery::discovery),
        )
        .route(
            "/t/{slug}/oauth2/authorize",
            web::get().to(authorize::authorize_get),
        )
        .route(
            "/t/{slug}/oauth2/authorize",
            web::post().to(authorize::authorize_post),
        )
        .route("/t/{slug}/oauth2/token", web::post().to(token::token))
        .route(
            "/t/{slug}/oauth2/userinfo",
            web::get().to(introspection::userinfo),
        )
        .route(
            "/t/{slug}/oauth2/userinfo",
            web::post().to(introspection::userinfo),
        )
        .route(
            "/t/{slug}/oauth2/introspect",
            web::post().to(introspection::introspect),
        )
        .route(
            "/t/{slug}/oauth2/revoke",
            web::post().to(introspection::revoke),
        )
        .route(
            "/t/{slug}/oauth2/logout",
            web::get().to(browser_session::end_session_get),
        )
        .route(
            "/t/{slug}/oauth2/logout",
            web::post().to(browser_session::end_session_post),
        )
        .route(
            "/t/{slug}/oauth2/session",
            web::post().to(browser_session::establish_session),
        )
        .route(
            "/t/{slug}/federation/{provider}/start",
            web::get().to(federation::start),
        )
        .route(
            "/t/{slug}/federation/handoff",
            web::post().to(federation::handoff),
        )
        .route(
            "/t/{slug}/federation/discover",
            web::get().to(federation::discover),
        )
        .route(
            "/t/{slug}/federation/callback",
            web::get().to(federation::callback_get),
        )
        .route(
            "/t/{slug}/federation/callback",
            web::post().to(federation::callback_post),
        )
        .route(
            "/t/{slug}/saml/{provider}/acs",
            web::post().to(federation::saml_acs),
        )
        .route(
            "/t/{slug}/saml/{provider}/metadata",
            web::get().to(federation::saml_metadata),
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
    settings: std::sync::Arc<TenantSettings>,
    issuer: String,
}

async fn tenant(state: &AppState, request: &HttpRequest, slug: &str) -> Result<Tenant, HttpError> {
    let (scope, tenant) = tenant_by_path(&state.services, request, slug).await?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    Ok(Tenant {
        issuer: oauth::issuer_url(&state.services.public_url, &scope),
        settings: tenant.settings,
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
        clock: state.services.clock.as_ref(),
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
