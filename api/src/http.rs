//! HTTP: routes, tenant resolution, caller authentication, request limits and the mapping of
//! GraphQL results to status codes. Every error body has the GraphQL shape
//! `{"errors":[{"message", "extensions":{"code"}}]}`.

use crate::config::GraphqlLimits;
use crate::config::ip_range::IpRange;
use crate::graphql::limits::count_aliases;
use crate::graphql::loaders::Loaders;
use crate::graphql::platform::PlatformRequest;
use crate::graphql::tenant::TenantRequest;
use crate::graphql::types::{code, graphql_error};
use crate::metrics::Metrics;
use crate::state::{AppState, Services};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{BatchRequest, BatchResponse, ObjectType, Request, Response, Schema};
use futures::StreamExt;
use latchkey_core::api_keys::{API_KEY_PREFIX, authenticate_api_key};
use latchkey_core::sessions::{ClientInfo, authenticate_access_token};
use latchkey_core::{Actor, Error, TenantScope, platform, tenancy};
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;

/// The id of the request being handled (from `X-Request-Id`, or generated).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/platform/graphql", web::post().to(platform_post))
        .route("/platform/graphql", web::get().to(platform_get))
        .route("/t/{slug}/graphql", web::post().to(tenant_post_by_path))
        .route("/t/{slug}/graphql", web::get().to(tenant_get_by_path))
        .route("/graphql", web::post().to(tenant_post_by_host))
        .route("/graphql", web::get().to(tenant_get_by_host))
        .configure(crate::oidc::routes)
        .configure(crate::inbound::routes)
        .configure(crate::pages::routes)
        .default_service(web::to(not_found));
}

/// A request refused before GraphQL execution, answered in the GraphQL error shape.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: String,
    message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    fn bad_input(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, code::BAD_USER_INPUT, message)
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl actix_web::ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(json!({
            "errors": [{ "message": self.message, "extensions": { "code": self.code } }]
        }))
    }
}

/// Maps a core error met outside GraphQL execution (resolution, authentication).
impl From<Error> for HttpError {
    fn from(error: Error) -> Self {
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
        Self::new(status_for_code(&code), &code, error.message)
    }
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

pub(crate) fn request_id(request: &HttpRequest) -> Option<String> {
    request.extensions().get::<RequestId>().map(|r| r.0.clone())
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "no such endpoint",
    ))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.services.metrics;
    let (open, idle) = state.services.db.pool_usage();
    metrics.database_connections.set(i64::from(open));
    metrics.database_idle_connections.set(idle as i64);
    metrics.observe_statements(state.services.db.statements());
    match latchkey_core::crm::dispatch::queue_depth(&state.services.db).await {
        Ok(depth) => metrics
            .crm_queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX)),
        Err(error) => tracing::warn!(%error, "reading the CRM queue depth failed"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
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
pub(crate) async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpError> {
    let too_large = || {
        HttpError::bad_input(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {limit} bytes"),
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
            HttpError::bad_input(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}"),
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
fn parse_body(body: &[u8], limits: &GraphqlLimits) -> Result<BatchRequest, HttpError> {
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|e| {
        HttpError::bad_input(
            StatusCode::BAD_REQUEST,
            format!("the body must be a GraphQL request as JSON ({{\"query\": …}}): {e}"),
        )
    })?;
    if let BatchRequest::Batch(requests) = &batch {
        if requests.len() > limits.max_batch {
            return Err(HttpError::bad_input(
                StatusCode::BAD_REQUEST,
                format!(
                    "a batch may hold at most {} operations (got {})",
                    limits.max_batch,
                    requests.len()
                ),
            ));
        }
        if requests.is_empty() {
            return Err(HttpError::bad_input(
                StatusCode::BAD_REQUEST,
                "a batch must hold at least one operation",
            ));
        }
    }
    Ok(batch)
}

/// Runs one operation with the alias limit, gives every error a code, and counts it.
async fn run_one<Q, M>(
    schema: &Schema<Q, M, async_graphql::EmptySubscription>,
    request: Request,
    limits: &GraphqlLimits,
    observed: &Observed<'_>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    let document = async_graphql::parser::parse_query(&request.query).ok();
    if let Some(document) = &document {
        let aliases = count_aliases(document);
        if aliases > limits.max_aliases {
            let response = with_codes(Response::from_errors(vec![
                async_graphql::ServerError::new(
                    format!(
                        "the query uses {aliases} aliases; at most {} are allowed",
                        limits.max_aliases
                    ),
                    None,
                ),
            ]));
            observed.record(None, &response);
            return response;
        }
    }
    let span = tracing::info_span!("graphql.operation", graphql.api = observed.api);
    let response = with_codes(schema.execute(request).instrument(span).await);
    observed.record(document.as_ref(), &response);
    response
}

/// Where operation metrics go: the registry and which API served the operation.
struct Observed<'a> {
    metrics: &'a Metrics,
    api: &'static str,
}

impl Observed<'_> {
    /// Counts one operation by its first root field (a schema name, so bounded; requests that
    /// failed validation count as "(invalid)") and its outcome.
    fn record(&self, document: Option<&ExecutableDocument>, response: &Response) {
        // Parse and validation errors carry no path: the operation never ran.
        let request_failed = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        let field = match document.filter(|_| !request_failed) {
            Some(document) => document
                .operations
                .iter()
                .next()
                .and_then(|(_, op)| {
                    op.node
                        .selection_set
                        .node
                        .items
                        .iter()
                        .find_map(|s| match &s.node {
                            Selection::Field(f) => Some(f.node.name.node.to_string()),
                            _ => None,
                        })
                })
                .unwrap_or_else(|| "(none)".to_owned()),
            None => "(invalid)".to_owned(),
        };
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        self.metrics
            .graphql_operations
            .with_label_values(&[self.api, field.as_str(), outcome])
            .inc();
        let rate_limited = response.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from(code::RATE_LIMITED))
        });
        if rate_limited {
            self.metrics
                .rate_limited
                .with_label_values(&[self.api])
                .inc();
        }
    }
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
    observed: Observed<'_>,
    attach: impl Fn(Request) -> Request,
) -> HttpResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    match batch {
        BatchRequest::Single(request) => {
            let response = run_one(schema, attach(request), limits, &observed).await;
            HttpResponse::build(status_of(&response)).json(BatchResponse::Single(response))
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run_one(schema, attach(request), limits, &observed).await);
            }
            HttpResponse::Ok().json(BatchResponse::Batch(responses))
        }
    }
}

/// GET: `None` (serve GraphiQL) without a `query` parameter; otherwise the query, which must
/// not be a mutation (GET must stay safe).
fn get_request(request: &HttpRequest) -> Result<Option<Request>, HttpError> {
    let query_string = request.query_string();
    let has_query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(query_string)
            .map(|q| q.contains_key("query"))
            .unwrap_or(false);
    if !has_query {
        return Ok(None);
    }
    let parsed = async_graphql::http::parse_query_string(query_string).map_err(|e| {
        HttpError::bad_input(StatusCode::BAD_REQUEST, format!("bad query string: {e}"))
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
            return Err(HttpError::bad_input(
                StatusCode::METHOD_NOT_ALLOWED,
                "mutations must be sent with POST",
            ));
        }
    }
    Ok(Some(parsed))
}

/// GraphiQL loads its scripts from a CDN, so it is served only where introspection is on (the
/// embedded development mode, or when an operator enables it).
fn graphiql(limits: &GraphqlLimits, endpoint: &str) -> Result<HttpResponse, HttpError> {
    if !limits.introspection {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            "GraphiQL is off on this deployment (LATCHKEY_GRAPHQL_INTROSPECTION)",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            async_graphql::http::GraphiQLSource::build()
                .endpoint(endpoint)
                .title("Latchkey GraphiQL")
                .finish(),
        ))
}

fn observed<'a>(state: &'a AppState, api: &'static str) -> Observed<'a> {
    Observed {
        metrics: &state.services.metrics,
        api,
    }
}

type Resolved = latchkey_core::Result<(TenantScope, tenancy::Tenant)>;

/// Resolves the tenant and authenticates the caller on it. A credential of another tenant, a
/// revoked key or a garbage token is `UNAUTHENTICATED`.
async fn tenant_caller(
    services: &Services,
    trusted_proxies: &[IpRange],
    request: &HttpRequest,
    resolved: Resolved,
) -> Result<TenantRequest, HttpError> {
    let (scope, tenant) = resolved?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    services.metrics.tenant_request(scope.slug());
    let request_id = request_id(request);
    let actor = match bearer(request)? {
        None => Actor::anonymous(request_id),
        Some(token) if token.starts_with(API_KEY_PREFIX) => {
            authenticate_api_key(
                &services.db,
                services.store.as_ref(),
                &scope,
                token,
                request_id,
            )
            .await?
        }
        Some(token) => {
            authenticate_access_token(
                &services.db,
                &services.token_keys,
                &scope,
                &services.issuer(&scope),
                token,
                request_id,
            )
            .await?
        }
    };
    Ok(TenantRequest {
        scope,
        tenant,
        actor,
        client: client_info(request, trusted_proxies),
    })
}

/// The client of a request, for rate limits and session records. Behind trusted proxies the
/// client is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub(crate) fn client_info(request: &HttpRequest, trusted_proxies: &[IpRange]) -> ClientInfo {
    let trusted = |ip: std::net::IpAddr| trusted_proxies.iter().any(|r| r.contains(ip));
    let peer = request.peer_addr().map(|a| a.ip());
    let client = match peer {
        Some(peer) if trusted(peer) => request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<std::net::IpAddr>().ok())
            .rev()
            .find(|ip| !trusted(*ip))
            .or(Some(peer)),
        other => other,
    };
    ClientInfo {
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ip_address: client.map(|ip| ip.to_string()),
    }
}

/// The bearer token of the `Authorization` header, if there is one.
pub(crate) fn bearer(request: &HttpRequest) -> Result<Option<&str>, HttpError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        HttpError::new(
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

async fn resolve_by_host(state: &AppState, request: &HttpRequest) -> Resolved {
    // The Host header itself: Forwarded / X-Forwarded-Host come from the client.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
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
    resolved: Resolved,
) -> Result<HttpResponse, HttpError> {
    let limits = &state.config.limits;
    let caller = tenant_caller(
        &state.services,
        &state.config.trusted_proxies,
        &request,
        resolved,
    )
    .await?;
    let body = read_body(&request, payload, limits.max_body_bytes).await?;
    let batch = parse_body(&body, limits)?;
    Ok(execute(
        &state.tenant_schema,
        batch,
        limits,
        observed(state, "tenant"),
        |r| {
            r.data(Loaders::new(&state.services, &caller))
                .data(state.services.clone())
                .data(caller.clone())
        },
    )
    .await)
}

async fn tenant_get(
    state: &AppState,
    request: HttpRequest,
    resolved: Resolved,
    endpoint: &str,
) -> Result<HttpResponse, HttpError> {
    let caller = tenant_caller(
        &state.services,
        &state.config.trusted_proxies,
        &request,
        resolved,
    )
    .await?;
    let Some(graphql_request) = get_request(&request)? else {
        return graphiql(&state.config.limits, endpoint);
    };
    Ok(execute(
        &state.tenant_schema,
        BatchRequest::Single(graphql_request),
        &state.config.limits,
        observed(state, "tenant"),
        |r| {
            r.data(Loaders::new(&state.services, &caller))
                .data(state.services.clone())
                .data(caller.clone())
        },
    )
    .await)
}

async fn tenant_post_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenancy::resolve_slug(&state.services.db, &slug).await;
    tenant_post(&state, request, payload, resolved).await
}

async fn tenant_get_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenancy::resolve_slug(&state.services.db, &slug).await;
    let endpoint = format!("/t/{slug}/graphql");
    tenant_get(&state, request, resolved, &endpoint).await
}

async fn tenant_post_by_host(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let resolved = resolve_by_host(&state, &request).await;
    tenant_post(&state, request, payload, resolved).await
}

async fn tenant_get_by_host(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let resolved = resolve_by_host(&state, &request).await;
    tenant_get(&state, request, resolved, "/graphql").await
}

async fn platform_caller(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Arc<PlatformRequest>, HttpError> {
    let token = bearer(request)?.ok_or_else(|| {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "the platform API needs `Authorization: Bearer <platform token>`",
        )
    })?;
    let scope = platform::authenticate(&state.services.db, token).await?;
    Ok(Arc::new(PlatformRequest::new(
        state.services.db.clone(),
        scope,
        request_id(request),
    )))
}

async fn platform_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let limits = &state.config.limits;
    let caller = platform_caller(&state, &request).await?;
    let body = read_body(&request, payload, limits.max_body_bytes).await?;
    let batch = parse_body(&body, limits)?;
    Ok(execute(
        &state.platform_schema,
        batch,
        limits,
        observed(&state, "platform"),
        |r| r.data(state.services.clone()).data(caller.clone()),
    )
    .await)
}

async fn platform_get(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let Some(graphql_request) = get_request(&request)? else {
        return graphiql(&state.config.limits, "/platform/graphql");
    };
    let caller = platform_caller(&state, &request).await?;
    Ok(execute(
        &state.platform_schema,
        BatchRequest::Single(graphql_request),
        &state.config.limits,
        observed(&state, "platform"),
        |r| r.data(state.services.clone()).data(caller.clone()),
    )
    .await)
}
