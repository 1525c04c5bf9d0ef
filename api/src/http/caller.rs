//! Who is calling: the request id, the client (address and user agent), and the caller
//! authenticated on the tenant API (API key, access token or console session) or on the
//! platform API (platform token or a platform owner's console session).
//!
//! A console session counts only with its CSRF header (`X-Latchkey-CSRF`): without it the
//! cookie is ignored, so a hosted page on the same origin, or a page of another site, calls
//! as itself, never as the administrator whose browser it runs in.

use super::AppState;
use super::errors::HttpError;
use crate::config::ip_range::IpRange;
use crate::graphql::context::RequestContext;
use crate::graphql::platform::PlatformRequest;
use crate::graphql::types::code;
use crate::state::Services;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest};
use latchkey_core::administrators::{self, Presented};
use latchkey_core::api_keys::{API_KEY_PREFIX, authenticate_api_key};
use latchkey_core::sessions::{ClientInfo, authenticate_access_token};
use latchkey_core::{Actor, TenantScope, oauth, quotas};
use latchkey_tenants::{operators, resolution};
use std::sync::Arc;

/// The id of the request being handled (from `X-Request-Id`, or generated).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub(crate) fn request_id(request: &HttpRequest) -> Option<String> {
    request.extensions().get::<RequestId>().map(|r| r.0.clone())
}

pub(super) type Resolved = latchkey_core::Result<(TenantScope, latchkey_tenants::Tenant)>;

/// The tenant a request resolved to, once the request is counted against the tenant's quota
/// (429 `RATE_LIMITED` past it). Every tenant endpoint starts here, through
/// [`tenant_by_path`] or [`tenant_by_host`].
async fn admitted(services: &Services, resolved: Resolved) -> Resolved {
    let (scope, tenant) = resolved?;
    quotas::enforce_quota(&services.db, services.store.as_ref(), &scope).await?;
    Ok((scope, tenant))
}

/// The `Host` header itself: `Forwarded` and `X-Forwarded-Host` come from the client.
fn host(request: &HttpRequest) -> &str {
    request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The tenant of a `/t/{slug}/…` request: on a tenant's own host (`{slug}.{base domain}` or
/// a verified custom domain) only that tenant's slug.
pub(super) async fn tenant_by_path(
    services: &Services,
    request: &HttpRequest,
    slug: &str,
) -> Resolved {
    admitted(
        services,
        resolution::resolve_path(&services.db, &services.hosts, host(request), slug).await,
    )
    .await
}

/// The tenant of a request without a slug in its path (`/graphql`), from its host.
pub(super) async fn tenant_by_host(services: &Services, request: &HttpRequest) -> Resolved {
    admitted(
        services,
        resolution::resolve_host(&services.db, &services.hosts, host(request)).await,
    )
    .await
}

/// Authenticates the caller on the tenant a request resolved to (and was admitted to), into
/// the request's context. A credential of another tenant, a
/// revoked key or a garbage token is `UNAUTHENTICATED`.
pub(super) async fn tenant_caller(
    services: &Services,
    trusted_proxies: &[IpRange],
    request: &HttpRequest,
    resolved: Resolved,
) -> Result<RequestContext, HttpError> {
    let (scope, tenant) = resolved?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    services.metrics.tenant_request(scope.slug());
    let request_id = request_id(request);
    let issuer = oauth::issuer_url(&services.public_url, &scope);
    let actor = match bearer(request)? {
        None => match ConsoleCredential::of(request, &services.public_url) {
            Some(console) => {
                administrators::authenticate_tenant(
                    &services.db,
                    &scope,
                    console.presented(),
                    request_id,
                )
                .await?
            }
            None => Actor::anonymous(request_id),
        },
        Some(token) if token.starts_with(API_KEY_PREFIX) => {
            authenticate_api_key(&services.db, &scope, token, request_id).await?
        }
        Some(token) => {
            authenticate_access_token(
                &services.db,
                &services.token_keys,
                &scope,
                &issuer,
                token,
                request_id,
            )
            .await?
        }
    };
    Ok(RequestContext::new(
        &services.public_url,
        scope,
        tenant,
        issuer,
        actor,
        client_info(request, trusted_proxies),
        accept_language(request),
    ))
}

/// The browser's languages (`Accept-Language`), if sent and short enough to be a browser's.
pub(crate) fn accept_language(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 512)
        .map(str::to_owned)
}

/// The client of a request, for rate limits and session records. Behind trusted proxies the
/// client is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub(crate) fn client_info(request: &HttpRequest, trusted_proxies: &[IpRange]) -> ClientInfo {
    let trusted = |ip: std::net::IpAddr| trusted_proxies.iter().any(|r| r.contains(ip));
    let peer = request.peer_addr().map(|a| a.ip());
    let client = match peer {
        Some(peer) if trusted(peer) => request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<std::net::IpAddr>().ok())
            .rev()
            .find(|ip| !trusted(*ip))
            .or(Some(peer)),
        other => other,
    };
    ClientInfo {
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ip_address: client.map(|ip| ip.to_string()),
    }
}

/// The bearer token of the `Authorization` header, if there is one.
pub(crate) fn bearer(request: &HttpRequest) -> Result<Option<&str>, HttpError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "the Authorization header must be `Bearer <token>`",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(malformed()),
    }
}

/// The console's session cookie: `__Host-` prefixed (Secure, path `/`, no domain) where the
/// deployment is served over HTTPS; browsers refuse `Secure` cookies on plain HTTP.
pub(crate) fn console_cookie_name(public_url: &str) -> &'static str {
    if public_url.starts_with("https://") {
        "__Host-latchkey-console"
    } else {
        "latchkey-console"
    }
}

/// The header a console request carries its session's CSRF token in.
const CSRF_HEADER: &str = "x-latchkey-csrf";

/// A console session as a request presents it: the cookie, the CSRF header, the browser.
pub(crate) struct ConsoleCredential {
    token: String,
    csrf_token: Option<String>,
    user_agent: Option<String>,
}

impl ConsoleCredential {
    /// The request's console cookie with its CSRF header; `None` without either.
    fn of(request: &HttpRequest, public_url: &str) -> Option<Self> {
        let credential = Self::cookie(request, public_url)?;
        credential.csrf_token.is_some().then_some(credential)
    }

    /// The request's console cookie, with the CSRF header if it has one.
    pub(crate) fn cookie(request: &HttpRequest, public_url: &str) -> Option<Self> {
        let cookie = request.cookie(console_cookie_name(public_url))?;
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Some(Self {
            token: cookie.value().to_owned(),
            csrf_token: header(CSRF_HEADER),
            user_agent: header(header::USER_AGENT.as_str()),
        })
    }

    pub(crate) fn presented(&self) -> Presented<'_> {
        Presented {
            token: &self.token,
            csrf_token: self.csrf_token.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

pub(super) async fn platform_caller(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Arc<PlatformRequest>, HttpError> {
    let db = &state.services.db;
    let scope = match (
        bearer(request)?,
        ConsoleCredential::of(request, &state.services.public_url),
    ) {
        (Some(token), _) => operators::authenticate(db, token).await?,
        (None, Some(console)) => {
            administrators::authenticate_platform(db, console.presented()).await?
        }
        (None, None) => {
            return Err(HttpError::new(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                "the platform API needs `Authorization: Bearer <platform token>` (or a platform owner's console session)",
            ));
        }
    };
    Ok(Arc::new(PlatformRequest::new(
        state.services.db.clone(),
        scope,
        request_id(request),
    )))
}
