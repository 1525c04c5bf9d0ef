//! HTTP: routes, tenant resolution, caller authentication, request limits and the mapping of
//! GraphQL results to status codes. Every error body has the GraphQL shape
//! `{"errors":[{"message", "extensions":{"code"}}]}`.
//!
//! [`routes`] wires the endpoints of the other modules (`graphql`, `oidc`, `inbound`, `pages`,
//! `console`, `health`); they share [`errors`], [`caller`] and [`body`], and none of them imports
//! [`routes`]. `pages` serves the catalogs of [`page_catalogs`].

pub mod body;
pub mod caller;
pub mod console;
pub mod errors;
pub mod graphql;
pub mod health;
pub mod inbound;
pub mod oidc;
pub mod page_catalogs;
pub mod pages;
pub mod routes;
pub mod scim;
pub mod transfer;

use crate::config::Config;
use crate::graphql::platform::PlatformSchema;
use crate::graphql::tenant::TenantSchema;
use crate::shutdown::Draining;
use crate::state::Services;
use std::sync::Arc;

/// Shared state of the HTTP server.
pub struct AppState {
    /// Shared by every request (an `Arc`, so a request's GraphQL data costs no copy).
    pub services: Arc<Services>,
    pub config: Arc<Config>,
    pub tenant_schema: TenantSchema,
    pub platform_schema: PlatformSchema,
    /// Set once the replica is shutting down: `/readyz` reports it.
    pub draining: Draining,
}

/// A request's query-string parameters; a malformed query string reads as what it holds, so
/// the endpoint answers in its own format.
pub(crate) fn query_parameters(
    request: &actix_web::HttpRequest,
) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(request.query_string().as_bytes())
        .into_owned()
        .collect()
}
