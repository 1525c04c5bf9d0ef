//! The routes of the server: the endpoints of every HTTP module, and the answer to any other
//! path.

use super::errors::HttpError;
use super::{console, graphql, health, inbound, oidc, pages, scim, transfer};
use crate::graphql::types::code;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/platform/graphql", web::post().to(graphql::platform_post))
        .route("/platform/graphql", web::get().to(graphql::platform_get))
        .route(
            "/t/{slug}/graphql",
            web::post().to(graphql::tenant_post_by_path),
        )
        .route(
            "/t/{slug}/graphql",
            web::get().to(graphql::tenant_get_by_path),
        )
        .route("/graphql", web::post().to(graphql::tenant_post_by_host))
        .route("/graphql", web::get().to(graphql::tenant_get_by_host))
        .configure(oidc::routes)
        .configure(inbound::routes)
        .configure(scim::routes)
        .configure(transfer::routes)
        .configure(pages::routes)
        .configure(console::routes)
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "no such endpoint",
    ))
}
