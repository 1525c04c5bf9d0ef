//! HTTP: routes, tenant resolution, caller authentication, request limits and the mapping of
//! GraphQL results to status codes. Every error body has the GraphQL shape
//! `{"errors":[{"message", "extensions":{"code"}}]}`.

use crate::config::GraphqlLimits;
use crate::graphql::limits::count_aliases;
use crate::graphql::platform::PlatformRequest;
use crate::graphql::tenant::TenantRequest;
use crate::graphql::types::{code, graphql_error};
use crate::state::{AppState, Services};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, ObjectType, Request, Response, Schema};
use futures::StreamExt;
use latchkey_core::api_keys::{API_KEY_PREFIX, authenticate_api_key};
use latchkey_core::{Actor, Error, Principal, TenantScope, platform, tenancy};
use serde_json::json;

/// The id of the request being handled (from `X-Request-Id`, or generated).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/platform/graphql", web::post().to(platform_post))
        .route("/platform/graphql", web::get().to(platform_get))
        .route("/t/{slug}/graphql", web::post().to(tenant_post_by_path))
        .route("/t/{slug}/graphql", web::get().to(tenant_get_by_path))
        .route("/graphql", web::post().to(tenant_post_by_host))
        .route("/graphql", web::get().to(tenant_get_by_host))
        .default_service(web::to(not_found));
}

/// A GraphQL-shaped error response.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    response.json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }))
}

fn status_for_code(code: &str) -> StatusCode {
    match code {
        code::UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
        code::FORBIDDEN => StatusCode::FORBIDDEN,
        code::NOT_FOUND => StatusCode::NOT_FOUND,
        code::CONFLICT => StatusCode::CONFLICT,
        code::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        code::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Maps a core error met outside GraphQL execution (resolution, authentication).
fn core_error_response(error: Error) -> HttpResponse {
    let error = graphql_error(error);
    let code = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| code::INTERNAL.to_owned());
    error_response(status_for_code(&code), &code, &error.message)
}

fn request_id(request: &HttpRequest) -> Option<String> {
    request.extensions().get::<RequestId>().map(|r| r.0.clone())
}

async fn not_found() -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such endpoint")
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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

/// Reads the body up to the configured limit.
async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpResponse> {
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::BAD_USER_INPUT,
            &format!("request body is larger than {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_USER_INPUT,
                &format!("could not read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a POST body into one operation or a bounded batch.
fn parse_body(body: &[u8], limits: &GraphqlLimits) -> Result<BatchRequest, HttpResponse> {
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|e| {
        error_response(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            &format!("the body must be a GraphQL request as JSON ({{\"query\": …}}): {e}"),
        )
    })?;
    if let BatchRequest::Batch(requests) = &batch {
        if requests.len() > limits.max_batch {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_USER_INPUT,
                &format!(
                    "a batch may hold at most {} operations (got {})",
                    limits.max_batch,
                    requests.len()
                ),
            ));
        }
        if requests.is_empty() {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_USER_INPUT,
                "a batch must hold at least one operation",
            ));
        }
    }
    Ok(batch)
}

/// Runs one operation with the alias limit, and gives every error a code.
async fn run_one<Q, M>(
    schema: &Schema<Q, M, async_graphql::EmptySubscription>,
    request: Request,
    limits: &GraphqlLimits,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    if let Ok(document) = async_graphql::parser::parse_query(&request.query) {
        let aliases = count_aliases(&document);
        if aliases > limits.max_aliases {
            return with_codes(Response::from_errors(vec![
                async_graphql::ServerError::new(
                    format!(
                        "the query uses {aliases} aliases; at most {} are allowed",
                        limits.max_aliases
                    ),
                    None,
                ),
            ]));
        }
    }
    with_codes(schema.execute(request).await)
}

/// Errors raised by async-graphql itself (parse, validation, limits) carry no code: they are
/// the client's mistake.
fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", code::BAD_USER_INPUT);
        }
    }
    response
}

/// The HTTP status of a single response: 200 when there is data; otherwise the status of the
/// first error's code, so a request that did nothing is never a 200.
fn status_of(response: &Response) -> StatusCode {
    if response.errors.is_empty() || response.data != async_graphql::Value::Null {
        return StatusCode::OK;
    }
    response.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .map(|v| match v {
            async_graphql::Value::String(s) => status_for_code(s),
            _ => StatusCode::BAD_REQUEST,
        })
        .unwrap_or(StatusCode::BAD_REQUEST)
}

async fn execute<Q, M>(
    schema: &Schema<Q, M, async_graphql::EmptySubscription>,
    batch: BatchRequest,
    limits: &GraphqlLimits,
    attach: impl Fn(Request) -> Request,
) -> HttpResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    match batch {
        BatchRequest::Single(request) => {
            let response = run_one(schema, attach(request), limits).await;
            HttpResponse::build(status_of(&response)).json(BatchResponse::Single(response))
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run_one(schema, attach(request), limits).await);
            }
            HttpResponse::Ok().json(BatchResponse::Batch(responses))
        }
    }
}

/// GET: GraphiQL without a `query` parameter; otherwise the query, which must not be a
/// mutation (GET must stay safe).
fn get_request(request: &HttpRequest, endpoint: &str) -> Result<Request, HttpResponse> {
    let query_string = request.query_string();
    let has_query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(query_string)
            .map(|q| q.contains_key("query"))
            .unwrap_or(false);
    if !has_query {
        return Err(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(
                async_graphql::http::GraphiQLSource::build()
                    .endpoint(endpoint)
                    .title("Latchkey GraphiQL")
                    .finish(),
            ));
    }
    let parsed = async_graphql::http::parse_query_string(query_string).map_err(|e| {
        error_response(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            &format!("bad query string: {e}"),
        )
    })?;
    if let Ok(document) = async_graphql::parser::parse_query(&parsed.query) {
        let operation_type = match &document.operations {
            DocumentOperations::Single(op) => Some(op.node.ty),
            DocumentOperations::Multiple(ops) => match &parsed.operation_name {
                Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
                None => ops.values().next().map(|op| op.node.ty),
            },
        };
        if operation_type.is_some_and(|ty| ty != OperationType::Query) {
            return Err(error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                code::BAD_USER_INPUT,
                "mutations must be sent with POST",
            ));
        }
    }
    Ok(parsed)
}

/// Resolves the tenant and authenticates the caller on it. A credential of another tenant, a
/// revoked key or a garbage token is `UNAUTHENTICATED`.
async fn tenant_caller(
    services: &Services,
    request: &HttpRequest,
    resolved: latchkey_core::Result<(TenantScope, tenancy::Tenant)>,
) -> Result<TenantRequest, HttpResponse> {
    let (scope, _) = resolved.map_err(core_error_response)?;
    let request_id = request_id(request);
    let actor = match bearer(request)? {
        None => Actor::new(Principal::Anonymous, request_id),
        Some(token) if token.starts_with(API_KEY_PREFIX) => authenticate_api_key(
            &services.db,
            services.store.as_ref(),
            &scope,
            token,
            request_id,
        )
        .await
        .map_err(core_error_response)?,
        Some(_) => return Err(core_error_response(Error::Unauthenticated)),
    };
    Ok(TenantRequest { scope, actor })
}

/// The bearer token of the `Authorization` header, if there is one.
fn bearer(request: &HttpRequest) -> Result<Option<&str>, HttpResponse> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        error_response(
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

async fn resolve_by_host(
    state: &AppState,
    request: &HttpRequest,
) -> latchkey_core::Result<(TenantScope, tenancy::Tenant)> {
    let host = request.connection_info().host().to_owned();
    tenancy::resolve_host(
        &state.services.db,
        &host,
        state.config.base_domain.as_deref(),
    )
    .await
}

async fn tenant_post(
    state: &AppState,
    request: HttpRequest,
    payload: web::Payload,
    resolved: latchkey_core::Result<(TenantScope, tenancy::Tenant)>,
) -> HttpResponse {
    let limits = &state.config.limits;
    let caller = match tenant_caller(&state.services, &request, resolved).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let batch = match read_body(&request, payload, limits.max_body_bytes)
        .await
        .and_then(|body| parse_body(&body, limits))
    {
        Ok(batch) => batch,
        Err(response) => return response,
    };
    execute(&state.tenant_schema, batch, limits, |r| {
        r.data(state.services.clone()).data(TenantRequest {
            scope: caller.scope.clone(),
            actor: caller.actor.clone(),
        })
    })
    .await
}

async fn tenant_get(
    state: &AppState,
    request: HttpRequest,
    resolved: latchkey_core::Result<(TenantScope, tenancy::Tenant)>,
    endpoint: &str,
) -> HttpResponse {
    let caller = match tenant_caller(&state.services, &request, resolved).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let graphql_request = match get_request(&request, endpoint) {
        Ok(r) => r,
        Err(response) => return response,
    };
    execute(
        &state.tenant_schema,
        BatchRequest::Single(graphql_request),
        &state.config.limits,
        |r| {
            r.data(state.services.clone()).data(TenantRequest {
                scope: caller.scope.clone(),
                actor: caller.actor.clone(),
            })
        },
    )
    .await
}

async fn tenant_post_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let resolved = tenancy::resolve_slug(&state.services.db, &slug).await;
    tenant_post(&state, request, payload, resolved).await
}

async fn tenant_get_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> HttpResponse {
    let resolved = tenancy::resolve_slug(&state.services.db, &slug).await;
    let endpoint = format!("/t/{slug}/graphql");
    tenant_get(&state, request, resolved, &endpoint).await
}

async fn tenant_post_by_host(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let resolved = resolve_by_host(&state, &request).await;
    tenant_post(&state, request, payload, resolved).await
}

async fn tenant_get_by_host(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let resolved = resolve_by_host(&state, &request).await;
    tenant_get(&state, request, resolved, "/graphql").await
}

async fn platform_caller(
    state: &AppState,
    request: &HttpRequest,
) -> Result<PlatformRequest, HttpResponse> {
    let token = bearer(request)?.ok_or_else(|| {
        error_response(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "the platform API needs `Authorization: Bearer <platform token>`",
        )
    })?;
    let scope = platform::authenticate(&state.services.db, token)
        .await
        .map_err(core_error_response)?;
    Ok(PlatformRequest::new(
        state.services.db.clone(),
        scope,
        request_id(request),
    ))
}

async fn platform_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let limits = &state.config.limits;
    let caller = match platform_caller(&state, &request).await {
        Ok(caller) => std::sync::Arc::new(caller),
        Err(response) => return response,
    };
    let batch = match read_body(&request, payload, limits.max_body_bytes)
        .await
        .and_then(|body| parse_body(&body, limits))
    {
        Ok(batch) => batch,
        Err(response) => return response,
    };
    execute(&state.platform_schema, batch, limits, |r| {
        r.data(state.services.clone()).data(caller.clone())
    })
    .await
}

async fn platform_get(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let graphql_request = match get_request(&request, "/platform/graphql") {
        Ok(r) => r,
        Err(response) => return response,
    };
    let caller = match platform_caller(&state, &request).await {
        Ok(caller) => std::sync::Arc::new(caller),
        Err(response) => return response,
    };
    execute(
        &state.platform_schema,
        BatchRequest::Single(graphql_request),
        &state.config.limits,
        |r| r.data(state.services.clone()).data(caller.clone()),
    )
    .await
}
