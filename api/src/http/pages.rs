//! The hosted pages of each tenant (sign-in / sign-up, account) and its public documents
//! (`config.json` for the pages, `jwks.json` for token verifiers). The pages are plain HTML,
//! CSS and ES modules from `web/tenant/`, embedded in the binary; no third-party origin. Their
//! words are in one catalog per language (`locales/<tag>.json`, see [`page_catalogs`]).

use super::AppState;
use super::caller::tenant_by_path;
use super::errors::HttpError;
use super::page_catalogs;
use crate::graphql::types::code;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::languages::Language;
use latchkey_core::signing_keys;
use latchkey_core::validate::Slug;
use serde_json::json;

const INDEX: &str = include_str!("../../../web/tenant/index.html");
const ACCOUNT: &str = include_str!("../../../web/tenant/account.html");
const ASSETS: [(&str, &str, &str); 9] = [
    (
        "latchkey.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../sdk/js/latchkey.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/app.js"),
    ),
    (
        "signin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/signin.js"),
    ),
    (
        "proof.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/proof.js"),
    ),
    (
        "account.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/account.js"),
    ),
    (
        "profile.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/profile.js"),
    ),
    (
        "data.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/data.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/tenant/i18n.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/tenant/style.css"),
    ),
];
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/t/{slug}", web::get().to(with_slash))
        .route("/t/{slug}/", web::get().to(sign_in_page))
        .route("/t/{slug}/account", web::get().to(account_page))
        .route("/t/{slug}/assets/{name}", web::get().to(asset))
        .route("/t/{slug}/locales/{name}", web::get().to(catalog))
        .route("/t/{slug}/config.json", web::get().to(page_config))
        .route("/t/{slug}/jwks.json", web::get().to(jwks));
}

pub(super) fn page(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn resolve(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
) -> Result<(latchkey_core::TenantScope, latchkey_tenants::Tenant), HttpError> {
    Ok(tenant_by_path(&state.services, request, slug).await?)
}

/// `/t/{slug}` → `/t/{slug}/`. A slug no tenant can have (a CR or LF, say) is a 404, never
/// echoed into the `Location` header.
async fn with_slash(slug: web::Path<String>) -> Result<HttpResponse, HttpError> {
    let slug = Slug::parse("slug", &slug)
        .map_err(|_| HttpError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such tenant"))?;
    Ok(HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("/t/{}/", slug.as_str())))
        .finish())
}

async fn sign_in_page(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    resolve(&state, &request, &slug).await?;
    Ok(page(INDEX))
}

async fn account_page(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    resolve(&state, &request, &slug).await?;
    Ok(page(ACCOUNT))
}

async fn asset(
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (_, name) = path.into_inner();
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such asset"))?;
    Ok(embedded(&request, content_type, body))
}

/// A file embedded in the binary, revalidated on every use so a new release shows at once: its
/// `ETag` is a hash of its bytes, and a browser that holds them gets 304 without them.
pub(super) fn embedded(
    request: &HttpRequest,
    content_type: &'static str,
    body: &'static str,
) -> HttpResponse {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    let tag = format!("\"{:016x}\"", hasher.finish());
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|held| held.trim() == tag));
    let mut response = match held {
        true => HttpResponse::NotModified(),
        false => HttpResponse::Ok(),
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    match held {
        true => response.finish(),
        false => response.content_type(content_type).body(body),
    }
}

/// The pages' catalog of one language, `{tag}.json`: the same for every tenant.
async fn catalog(
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (_, name) = path.into_inner();
    let body = name
        .strip_suffix(".json")
        .and_then(page_catalogs::catalog)
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such catalog"))?;
    Ok(embedded(&request, "application/json; charset=utf-8", body))
}

/// What the hosted pages need before anyone signs in: the tenant's name and branding, its
/// sign-in settings and identity providers, and for the account page the attributes end users may edit themselves
/// (only the `userEditable` ones: the others are the tenant's business) and the consent
/// purposes they decide on. Public: nothing in it is secret.
async fn page_config(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (scope, tenant) = resolve(&state, &request, &slug).await?;
    let settings = &tenant.settings;
    let federation =
        latchkey_core::federation::sign_in_options(&state.services.db, &scope, settings).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(json!({
            "slug": tenant.slug,
            "name": tenant.name,
            "primaryColor": settings.primary_color,
            "defaultLocale": settings.default_locale,
            "locales": Language::tags(),
            "selfSignUp": settings.self_sign_up,
            "requireVerifiedEmail": settings.require_verified_email,
            "recoveryRequiresApproval": settings.recovery_requires_approval,
            "signInMethods": settings
                .sign_in_methods
                .iter()
                .map(|method| method.api_name())
                .collect::<Vec<_>>(),
            "requireSecondFactor": settings.require_second_factor,
            // The tenant-wide providers, as buttons (with `FEDERATED` in `signInMethods`).
            "identityProviders": federation
                .buttons
                .iter()
                .map(|provider| json!({
                    "id": provider.id,
                    "name": provider.name,
                    "preset": provider.preset.as_str(),
                }))
                .collect::<Vec<_>>(),
            // Some organization signs its people in with SSO: the page asks for the address
            // first (`federation/discover`).
            "enterpriseSso": federation.enterprise,
            "attributeSchema": settings
                .attribute_schema
                .iter()
                .filter(|attribute| attribute.user_editable)
                .map(|attribute| json!({
                    "name": attribute.name,
                    "kind": attribute.kind.api_name(),
                    "label": attribute.label,
                    "allowedValues": attribute.allowed_values,
                    "maxLength": attribute.max_length,
                }))
                .collect::<Vec<_>>(),
            "consentPurposes": settings
                .consent_purposes
                .iter()
                .map(|purpose| json!({
                    "key": purpose.key,
                    "version": purpose.version,
                    "title": purpose.title,
                }))
                .collect::<Vec<_>>(),
        })))
}

/// The tenant's public signing keys: next, current and recently retired.
async fn jwks(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (scope, _) = resolve(&state, &request, &slug).await?;
    let keys = signing_keys::published_keys(&state.services.db, &scope).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/jwk-set+json")
        .json(keys))
}
