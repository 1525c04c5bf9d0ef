//! The GraphQL endpoints: `/t/{slug}/graphql`, `/graphql` (the tenant by host) and
//! `/platform/graphql`. POST takes one operation or a bounded batch; GET takes a query (never a
//! mutation); a GET without one sends a browser to the console's explorer and tells other
//! clients where to send queries (no GraphiQL: the server serves no third-party script). Each operation is checked against the alias limit, run with
//! the caller attached, counted, and answered with the status of its first error.

use super::AppState;
use super::body::read_body;
use super::caller::{Resolved, platform_caller, tenant_by_host, tenant_by_path, tenant_caller};
use super::errors::{HttpError, status_for_code};
use crate::config::GraphqlLimits;
use crate::graphql::context::RequestContext;
use crate::graphql::cost::Budget;
use crate::graphql::limits::count_aliases;
use crate::graphql::loaders::Loaders;
use crate::graphql::types::code;
use crate::metrics::Metrics;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{BatchRequest, BatchResponse, ObjectType, Request, Response, Schema};
use latchkey_core::error::UNAVAILABLE_RETRY_AFTER;
use std::sync::Arc;
use tracing::Instrument;

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
    let mut request = request;
    // Parsed once: the request keeps the document for the schema to run.
    let operation_name = request.operation_name.clone();
    let parsed = request.parsed_query().ok().map(|document| {
        (
            count_aliases(document),
            operation_type(document, operation_name.as_deref()),
            first_root_field(document),
        )
    });
    let (is_query, root_field) = match parsed {
        Some((aliases, _, root_field)) if aliases > limits.max_aliases => {
            let response = with_codes(Response::from_errors(vec![
                async_graphql::ServerError::new(
                    format!(
                        "the query uses {aliases} aliases; at most {} are allowed",
                        limits.max_aliases
                    ),
                    None,
                ),
            ]));
            observed.record(Some(root_field.as_str()), &response);
            return response;
        }
        Some((_, ty, root_field)) => (ty == Some(OperationType::Query), Some(root_field)),
        None => (false, None),
    };
    let span = tracing::info_span!("graphql.operation", graphql.api = observed.api);
    let response = match tokio::time::timeout(
        limits.timeout,
        schema.execute(request).instrument(span),
    )
    .await
    {
        Ok(response) => without_partial_answers(with_codes(response), is_query),
        Err(_) => timed_out(limits),
    };
    observed.record(root_field.as_deref(), &response);
    response
}

/// The first root field of the document's first operation, `(none)` if it has none.
fn first_root_field(document: &ExecutableDocument) -> String {
    document
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
        .unwrap_or_else(|| "(none)".to_owned())
}

/// The answer to an operation stopped at the time limit (its work is dropped, so its
/// transactions roll back).
fn timed_out(limits: &GraphqlLimits) -> Response {
    let mut error = async_graphql::ServerError::new(
        format!(
            "the operation ran longer than {} s (LATCHKEY_GRAPHQL_TIMEOUT_SECONDS) and was \
             stopped; ask for smaller pages or fewer nested lists",
            limits.timeout.as_secs()
        ),
        None,
    );
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code::TIMEOUT);
    Response::from_errors(vec![error])
}

/// Where operation metrics go: the registry and which API served the operation.
struct Observed<'a> {
    metrics: &'a Metrics,
    api: &'static str,
}

impl Observed<'_> {
    /// Counts one operation by its first root field (a schema name, so bounded; requests that
    /// failed to parse or validate count as "(invalid)") and its outcome.
    fn record(&self, root_field: Option<&str>, response: &Response) {
        // Parse and validation errors carry no path: the operation never ran.
        let request_failed = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        let field = root_field
            .filter(|_| !request_failed)
            .unwrap_or("(invalid)");
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        self.metrics
            .graphql_operations
            .with_label_values(&[self.api, field, outcome])
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

/// Whether the operation `name` (or the only or first one) of `document` is a query or a
/// mutation.
fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None => ops.values().next().map(|op| op.node.ty),
        },
    }
}

fn is_unavailable(error: &async_graphql::ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .is_some_and(|c| *c == async_graphql::Value::from(code::UNAVAILABLE))
}

/// A dependency that failed during an operation leaves no partial answer: a query answers no
/// data at all (a client must not take half an answer for the whole), with the `UNAVAILABLE`
/// error first, so the response is a 503. A mutation keeps the data of the fields that ran
/// before the failure: each committed, and hiding that would invite a client to repeat it.
fn without_partial_answers(mut response: Response, is_query: bool) -> Response {
    if let Some(index) = response.errors.iter().position(is_unavailable) {
        let error = response.errors.remove(index);
        response.errors.insert(0, error);
        if is_query {
            response.data = async_graphql::Value::Null;
        }
    }
    response
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

/// The HTTP status of a single response: 503 when a dependency failed; 200 when there is data;
/// otherwise the status of the first error's code, so a request that did nothing is never a 200.
fn status_of(response: &Response) -> StatusCode {
    if response.errors.first().is_some_and(is_unavailable) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
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
    // One budget for the whole HTTP request: a batch's operations share it.
    let budget = Budget::new(limits.max_cost, limits.max_nodes);
    let attach = |request: Request| attach(request).data(budget.clone());
    match batch {
        BatchRequest::Single(request) => {
            let response = run_one(schema, attach(request), limits, &observed).await;
            let status = status_of(&response);
            let mut answer = HttpResponse::build(status);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                answer.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.as_secs()));
            }
            answer.json(BatchResponse::Single(response))
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

/// GET: `None` (answer [`no_query`]) without a `query` parameter; otherwise the query, which must
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
        let operation_type = operation_type(&document, parsed.operation_name.as_deref());
        if operation_type.is_some_and(|ty| ty != OperationType::Query) {
            return Err(HttpError::bad_input(
                StatusCode::METHOD_NOT_ALLOWED,
                "mutations must be sent with POST",
            ));
        }
    }
    Ok(Some(parsed))
}

/// A GET without `query`: a browser (it accepts HTML) goes to the console's explorer at
/// `explorer`; other clients learn where to send queries. No GraphiQL: it loads scripts from
/// a CDN, and no origin of this server serves a third-party script.
fn no_query(
    request: &HttpRequest,
    endpoint: &str,
    explorer: &str,
) -> Result<HttpResponse, HttpError> {
    let browser = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if browser {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, explorer))
            .finish());
    }
    Err(HttpError::bad_input(
        StatusCode::BAD_REQUEST,
        format!(
            "no query: POST {{\"query\": …}} to {endpoint}, or GET {endpoint}?query=…; \
             to explore the schema open {explorer} in a browser (the console's explorer) or \
             use any GraphQL client (see docs/api.md)"
        ),
    ))
}

fn observed<'a>(state: &'a AppState, api: &'static str) -> Observed<'a> {
    Observed {
        metrics: &state.services.metrics,
        api,
    }
}

/// The caller of a tenant request, shared by its operations and their DataLoaders.
async fn shared_caller(
    state: &AppState,
    request: &HttpRequest,
    resolved: Resolved,
) -> Result<Arc<RequestContext>, HttpError> {
    let caller = tenant_caller(
        &state.services,
        &state.config.trusted_proxies,
        request,
        resolved,
    )
    .await?;
    Ok(Arc::new(caller))
}

/// One tenant operation with what its resolvers read: the services, the caller, the loaders.
/// With introspection off, only callers with a tenant role (administrators, API keys) may
/// introspect: the console's explorer works, an anonymous caller learns nothing.
fn with_tenant_caller(request: Request, state: &AppState, caller: &Arc<RequestContext>) -> Request {
    let request = if state.config.limits.introspection || !caller.actor.roles().is_empty() {
        request
    } else {
        request.disable_introspection()
    };
    request
        .data(Loaders::new(&state.services, caller))
        .data(state.services.clone())
        .data(caller.clone())
}

async fn tenant_post(
    state: &AppState,
    request: HttpRequest,
    payload: web::Payload,
    resolved: Resolved,
) -> Result<HttpResponse, HttpError> {
    let limits = &state.config.limits;
    let caller = shared_caller(state, &request, resolved).await?;
    let body = read_body(&request, payload, limits.max_body_bytes).await?;
    let batch = parse_body(&body, limits)?;
    Ok(execute(
        &state.tenant_schema,
        batch,
        limits,
        observed(state, "tenant"),
        |r| with_tenant_caller(r, state, &caller),
    )
    .await)
}

async fn tenant_get(
    state: &AppState,
    request: HttpRequest,
    resolved: Resolved,
    endpoint: &str,
) -> Result<HttpResponse, HttpError> {
    let caller = shared_caller(state, &request, resolved).await?;
    let Some(graphql_request) = get_request(&request)? else {
        let explorer = format!("/console/t/{}/explorer", caller.scope.slug());
        return no_query(&request, endpoint, &explorer);
    };
    Ok(execute(
        &state.tenant_schema,
        BatchRequest::Single(graphql_request),
        &state.config.limits,
        observed(state, "tenant"),
        |r| with_tenant_caller(r, state, &caller),
    )
    .await)
}

pub(super) async fn tenant_post_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenant_by_path(&state.services, &request, &slug).await;
    tenant_post(&state, request, payload, resolved).await
}

pub(super) async fn tenant_get_by_path(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenant_by_path(&state.services, &request, &slug).await;
    let endpoint = format!("/t/{slug}/graphql");
    tenant_get(&state, request, resolved, &endpoint).await
}

pub(super) async fn tenant_post_by_host(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenant_by_host(&state.services, &request).await;
    tenant_post(&state, request, payload, resolved).await
}

pub(super) async fn tenant_get_by_host(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let resolved = tenant_by_host(&state.services, &request).await;
    tenant_get(&state, request, resolved, "/graphql").await
}

pub(super) async fn platform_post(
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

pub(super) async fn platform_get(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let Some(graphql_request) = get_request(&request)? else {
        return no_query(&request, "/platform/graphql", "/console/platform/explorer");
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
