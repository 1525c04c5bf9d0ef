//! Discovery: `/.well-known/openid-configuration`, the provider's metadata.

use super::tenant;
use crate::http::AppState;
use crate::http::errors::HttpError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::settings::SigningAlgorithm;
use serde_json::json;

pub(super) async fn discovery(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let tenant = tenant(&state, &request, &slug).await?;
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
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "azp", "name", "updated_at", "email", "email_verified", "phone_number", "org_id", "org_kind", "org_entitlements", "org_permissions", "roles"],
            "prompt_values_supported": ["none", "login", "consent", "select_account", "select_organization"],
            "ui_locales_supported": latchkey_core::languages::Language::tags(),
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "frontchannel_logout_supported": false,
            "backchannel_logout_supported": false,
        })))
}
