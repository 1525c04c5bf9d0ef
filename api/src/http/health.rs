//! Health and metrics: `/healthz` (the process is up), `/readyz` (the database and the
//! ephemeral store answer) and `/metrics` (Prometheus; behind a bearer token when
//! `LATCHKEY_METRICS_TOKEN` is set).

use super::AppState;
use super::caller::bearer;
use super::errors::HttpError;
use crate::graphql::types::code;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::secrets::same_secret;
use serde_json::json;

pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// With a metrics token configured, `/metrics` answers only a request that presents it.
fn check_metrics_token(state: &AppState, request: &HttpRequest) -> Result<(), HttpError> {
    let Some(expected) = &state.config.metrics_token else {
        return Ok(());
    };
    match bearer(request)? {
        Some(presented) if same_secret(presented, expected) => Ok(()),
        _ => Err(HttpError::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "/metrics needs `Authorization: Bearer <LATCHKEY_METRICS_TOKEN>`",
        )),
    }
}

pub(super) async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    check_metrics_token(&state, &request)?;
    let metrics = &state.services.metrics;
    let (open, idle) = state.services.db.pool_usage();
    metrics.database_connections.set(i64::from(open));
    metrics.database_idle_connections.set(idle as i64);
    metrics.observe_statements(state.services.db.statements());
    match latchkey_tenants::crm::dispatch::queue_depth(&state.services.db).await {
        Ok(depth) => metrics
            .crm_queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX)),
        Err(error) => tracing::warn!(%error, "reading the CRM queue depth failed"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()))
}

pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let services = &state.services;
    let (database, store) = futures::join!(services.db.ping(), services.store.ping());
    let describe = |result: &latchkey_core::Result<()>| match result {
        Ok(()) => "ok".to_owned(),
        Err(error) => {
            tracing::warn!(error = ?error, "readiness check failed");
            "unreachable".to_owned()
        }
    };
    let body = json!({
        "database": describe(&database),
        "store": describe(&store),
        "storeKind": services.store.kind(),
    });
    if database.is_ok() && store.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
