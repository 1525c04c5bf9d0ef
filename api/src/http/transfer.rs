//! Files of imports and exports, outside GraphQL and its body limit:
//! - `POST /t/{slug}/imports?name=<file name>`: the body is a file to import, streamed into
//!   the database as it arrives (up to 1 GiB); answers `201` with `{ uploadId, size, digest,
//!   expiresAt }` for `startIdentityImport`;
//! - `GET /t/{slug}/exports/{id}`: the file of a finished export (`startIdentityExport`).
//!
//! Both take an administrator's API key (`Authorization: Bearer lk_…`); errors come in the
//! GraphQL error shape.

use super::AppState;
use super::caller::{tenant_by_path, tenant_caller};
use super::errors::HttpError;
use super::query_parameters;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;
use latchkey_transfer::{ExportFormat, begin_upload, export_chunk, get_export};
use serde_json::json;
use uuid::Uuid;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/t/{slug}/imports", web::post().to(upload))
        .route("/t/{slug}/exports/{id}", web::get().to(download));
}

async fn upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let services = &state.services;
    let resolved = tenant_by_path(services, &request, &slug).await;
    let caller = tenant_caller(services, &state.config.trusted_proxies, &request, resolved).await?;
    let parameters = query_parameters(&request);
    let name = parameters.get("name").map_or("upload", String::as_str);
    let mut upload = begin_upload(&services.db, &caller.scope, &caller.actor, name).await?;
    while let Some(bytes) = payload.next().await {
        let bytes = bytes.map_err(|error| {
            HttpError::bad_input(
                StatusCode::BAD_REQUEST,
                format!("the upload broke off: {error}"),
            )
        })?;
        upload
            .append(&services.db, &caller.scope, &bytes)
            .await
            .map_err(|error| match error {
                latchkey_core::Error::Validation { reason, .. } => HttpError::bad_input(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the file {reason}"),
                ),
                other => other.into(),
            })?;
    }
    let file = upload.finish(&services.db, &caller.scope).await?;
    Ok(HttpResponse::Created().json(json!({
        "uploadId": file.id,
        "name": file.name,
        "size": file.size,
        "digest": file.digest,
        "expiresAt": file.expires_at,
    })))
}

async fn download(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (slug, id) = path.into_inner();
    let services = state.services.clone();
    let resolved = tenant_by_path(&services, &request, &slug).await;
    let caller =
        tenant_caller(&services, &state.config.trusted_proxies, &request, resolved).await?;
    let id = Uuid::parse_str(&id).map_err(|_| latchkey_core::Error::NotFound)?;
    let job = get_export(&services.db, &caller.scope, &caller.actor, id).await?;
    // The first chunk checks the caller's rights and that the file is ready, before any
    // header is sent.
    let first = export_chunk(&services.db, &caller.scope, &caller.actor, id, 0)
        .await?
        .unwrap_or_default();
    let (content_type, extension) = match job.format {
        ExportFormat::Latchkey => ("application/x-ndjson", "jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let (scope, actor) = (caller.scope.clone(), caller.actor.clone());
    let rest = futures::stream::unfold(1, move |seq| {
        let (services, scope, actor) = (services.clone(), scope.clone(), actor.clone());
        async move {
            match export_chunk(&services.db, &scope, &actor, id, seq).await {
                Ok(Some(chunk)) => Some((Ok(web::Bytes::from(chunk)), seq + 1)),
                Ok(None) => None,
                Err(error) => Some((
                    Err(actix_web::Error::from(HttpError::from(error))),
                    i32::MAX,
                )),
            }
        }
    });
    let body =
        futures::stream::once(async move { Ok::<_, actix_web::Error>(web::Bytes::from(first)) })
            .chain(rest);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"identities-{id}.{extension}\""),
        ))
        .streaming(body))
}
