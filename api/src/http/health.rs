//! Health and metrics: `/healthz` (the process is up), `/readyz` (the database and the
//! ephemeral store answer) and `/metrics` (Prometheus).

use super::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
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
