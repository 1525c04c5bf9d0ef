//! Inbound CRM webhooks: `POST /t/{slug}/connectors/{id}/webhook`. The core checks the
//! signature before it reads anything and applies each event once
//! ([`latchkey_tenants::crm::inbound`]); this maps its answer to HTTP: 200 with counts, 401 for
//! a bad signature or an old timestamp, 400 for a body that is not an event, 413 over 1 MiB,
//! 404 for a connector that does not exist or does not pull, 503 when the CRM should retry.

use super::AppState;
use super::body::read_body;
use super::caller::tenant_by_path;
use super::errors::HttpError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_tenants::crm::inbound::{self, Inbound, InboundRequest, Rejection};
use latchkey_tenants::crm::pull::PullContext;
use serde_json::json;
use uuid::Uuid;

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/t/{slug}/connectors/{id}/webhook", web::post().to(webhook));
}

fn refused(status: StatusCode, error: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": error, "message": message }))
}

async fn webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let (slug, id) = path.into_inner();
    let services = &state.services;
    let (scope, tenant) = tenant_by_path(services, &request, &slug).await?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    let not_found = || refused(StatusCode::NOT_FOUND, "not_found", "no such connector");
    let Ok(connector_id) = Uuid::parse_str(&id) else {
        return Ok(not_found());
    };
    let body = read_body(&request, payload, inbound::MAX_BODY_BYTES).await?;
    let url = format!(
        "{}{}",
        services.public_url,
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_else(|| request.path())
    );
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let context = PullContext {
        key: services.master_key.clone(),
        mailer: services.mailer.clone(),
        store: services.store.clone(),
        public_url: services.public_url.clone(),
    };
    let inbound = Inbound {
        db: &services.db,
        key: &services.master_key,
        clients: &services.crm,
        context: &context,
    };
    let received = inbound::receive(
        &inbound,
        &scope,
        &tenant.name,
        connector_id,
        &InboundRequest {
            method: request.method().as_str(),
            url: &url,
            header: &header,
            body: &body,
        },
    )
    .await;
    Ok(match received {
        Ok(receipt) => HttpResponse::Ok().json(json!({
            "applied": receipt.applied,
            "unchanged": receipt.unchanged,
            "waiting": receipt.waiting,
            "duplicates": receipt.duplicates,
            "ignored": receipt.ignored,
        })),
        Err(Rejection::NotFound) => not_found(),
        Err(Rejection::Unauthenticated(message)) => {
            refused(StatusCode::UNAUTHORIZED, "invalid_signature", &message)
        }
        Err(Rejection::Malformed(message)) => {
            refused(StatusCode::BAD_REQUEST, "invalid_event", &message)
        }
        Err(Rejection::Unavailable(message)) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &message)
        }
        Err(Rejection::Internal) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the event could not be applied; send it again",
        ),
    })
}
