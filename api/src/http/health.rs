//! Health and metrics: `/healthz` (the process is up), `/readyz` (the database answers, and
//! whether the ephemeral store does) and `/metrics` (Prometheus; behind a bearer token when
//! `LATCHKEY_METRICS_TOKEN` is set).

use super::AppState;
use super::caller::bearer;
use super::errors::HttpError;
use crate::graphql::types::code;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::secrets::same_secret;
use serde_json::json;
use std::time::Duration;

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

/// How long `/readyz` waits for each dependency: it answers within this, whatever they do.
const READINESS_BUDGET: Duration = Duration::from_millis(500);

/// What one dependency said to the readiness check.
async fn probe(check: impl Future<Output = latchkey_core::Result<()>>) -> &'static str {
    match tokio::time::timeout(READINESS_BUDGET, check).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness check failed");
            "unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            "timeout"
        }
    }
}

/// Ready when the database answers. The database is required: without it nothing can be
/// served, so 503 takes this replica out of the load balancer. Redis is not: without it, what
/// needs only the database (API keys, tokens, admin work) is still served and the rest answers
/// `UNAVAILABLE`; since Redis is shared, a 503 would take every replica out at once and turn a
/// degraded service into an outage. So a missing Redis is 200 with `"status": "degraded"`.
/// A replica shutting down answers 503 `draining` (see [`crate::shutdown`]).
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.is_draining() {
        return HttpResponse::ServiceUnavailable().json(json!({ "status": "draining" }));
    }
    let services = &state.services;
    let (database, store) = futures::join!(probe(services.db.ping()), probe(services.store.ping()));
    let status = match (database, store) {
        ("ok", "ok") => "ready",
        ("ok", _) => "degraded",
        _ => "unavailable",
    };
    let body = json!({
        "status": status,
        "database": database,
        "store": store,
        "storeKind": services.store.kind(),
        // Bypassed while this replica may miss the others' changes (its change feed is down).
        "nearCache": if services.db.near_cache().freshness().is_following() {
            "in use"
        } else {
            "bypassed"
        },
    });
    if database == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, 1))
            .json(body)
    }
}
