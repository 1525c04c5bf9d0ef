//! The SCIM 2.0 endpoints of a tenant, `/t/{slug}/scim/v2/…` (RFC 7644): Users, Groups,
//! `.search`, and the discovery documents. This module only speaks HTTP: it authenticates the
//! SCIM token, reads query parameters, headers and the body, calls one `latchkey_core::scim`
//! service, and writes the answer as `application/scim+json` (errors in SCIM's format, the
//! version as `ETag`, `attributes`/`excludedAttributes` applied).

use super::body::read_body;
use super::caller::{bearer, request_id, tenant_by_path};
use super::{AppState, query_parameters};
use crate::state::Services;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_core::error::Error;
use latchkey_core::scim::{self, ListQuery, ScimCaller, ScimRequest};
use latchkey_core::scope::TenantScope;
use latchkey_scim::schema::{self, ResourceSchema};
use latchkey_scim::{Pagination, Projection, ScimError, list_response};
use serde_json::Value;
use std::collections::HashMap;

/// SCIM's media type (RFC 7644 §8.1); `application/json` is accepted too (Okta sends it).
const SCIM_JSON: &str = "application/scim+json";
/// The largest request body (a user is a few KiB; a group PATCH with many members more).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Resources per page when the client does not say, and at most.
const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;

/// `Users` or `Groups`: the two resource types, served by the same handlers.
const KIND: &str = "{kind:Users|Groups}";

pub fn routes(config: &mut web::ServiceConfig) {
    let base = "/t/{slug}/scim/v2";
    let collection = format!("{base}/{KIND}");
    let search = format!("{base}/{KIND}/.search");
    let item = format!("{base}/{KIND}/{{id}}");
    config
        .route(&collection, web::get().to(list))
        .route(&collection, web::post().to(create))
        .route(&search, web::post().to(search_kind))
        .route(&item, web::get().to(get_one))
        .route(&item, web::put().to(replace))
        .route(&item, web::patch().to(patch))
        .route(&item, web::delete().to(delete))
        .route(
            &format!("{base}/ServiceProviderConfig"),
            web::get().to(service_provider_config),
        )
        .route(
            &format!("{base}/ResourceTypes"),
            web::get().to(resource_types),
        )
        .route(
            &format!("{base}/ResourceTypes/{{name}}"),
            web::get().to(resource_type),
        )
        .route(&format!("{base}/Schemas"), web::get().to(schemas))
        .route(
            &format!("{base}/Schemas/{{id}}"),
            web::get().to(schema_by_id),
        )
        .route(
            &format!("{base}/.search"),
            web::post().to(search_everything),
        );
    // Known paths with another method: 405, after the routes above.
    for path in [
        collection,
        search,
        item,
        format!("{base}/ServiceProviderConfig"),
        format!("{base}/ResourceTypes"),
        format!("{base}/ResourceTypes/{{name}}"),
        format!("{base}/Schemas"),
        format!("{base}/Schemas/{{id}}"),
    ] {
        config.route(&path, web::to(method_not_allowed));
    }
    config
        .route(base, web::to(unknown))
        .route(&format!("{base}/{{rest:.*}}"), web::to(unknown));
}

/// A SCIM error as the HTTP answer.
struct Refusal {
    error: ScimError,
    retry_after: Option<u64>,
}

impl From<ScimError> for Refusal {
    fn from(error: ScimError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        let retry_after = match &error {
            Error::RateLimited { retry_after } | Error::Unavailable { retry_after, .. } => {
                Some(retry_after.as_secs().max(1))
            }
            _ => None,
        };
        Self {
            error: scim::scim_error(error),
            retry_after,
        }
    }
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl actix_web::ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.error.status == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response
            .content_type(SCIM_JSON)
            .body(self.error.body().to_string())
    }
}

type Answer = Result<HttpResponse, Refusal>;

/// The tenant and the SCIM caller of a request. Everything about the token is checked before
/// anything else is read; a bad one is 401 whatever the path.
struct Authenticated {
    scope: TenantScope,
    caller: ScimCaller,
    base_url: String,
}

impl Authenticated {
    fn request<'a>(&'a self, services: &'a Services) -> ScimRequest<'a> {
        ScimRequest {
            db: &services.db,
            scope: &self.scope,
            caller: &self.caller,
            base_url: &self.base_url,
        }
    }
}

async fn authenticate(
    services: &Services,
    request: &HttpRequest,
    slug: &str,
) -> Result<Authenticated, Refusal> {
    let (scope, tenant) = tenant_by_path(services, request, slug)
        .await
        .map_err(Refusal::from)?;
    tracing::Span::current().record("tenant.id", tracing::field::display(scope.tenant_id()));
    let unauthorized =
        || ScimError::unauthorized("a valid SCIM token is required (Authorization: Bearer lks_…)");
    let token = bearer(request)
        .map_err(|_| unauthorized())?
        .ok_or_else(unauthorized)?;
    let caller = scim::authenticate_scim_token(
        &services.db,
        services.store.as_ref(),
        &scope,
        tenant.settings.rate_limits.scim_per_token,
        token,
        request_id(request),
    )
    .await
    .map_err(|error| match error {
        Error::Unauthenticated => Refusal::from(unauthorized()),
        other => Refusal::from(other),
    })?;
    Ok(Authenticated {
        base_url: format!("{}/t/{}/scim/v2", services.public_url, tenant.slug),
        scope,
        caller,
    })
}

fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}

/// A single resource's answer, with its version as the `ETag`.
fn resource(
    status: StatusCode,
    resource: &Value,
    projection: &Projection,
    kind: &ResourceSchema,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type(SCIM_JSON);
    if let Some(version) = resource["meta"]["version"].as_str() {
        response.insert_header((header::ETAG, version.to_owned()));
    }
    if status == StatusCode::CREATED
        && let Some(location) = resource["meta"]["location"].as_str()
    {
        response.insert_header((header::LOCATION, location.to_owned()));
    }
    // `meta` stays with the version the ETag carries, whatever the client selected.
    let mut shown = projection.apply(resource, kind);
    if shown.get("meta").is_none()
        && let Some(meta) = resource.get("meta")
    {
        shown["meta"] = meta.clone();
    }
    response.body(shown.to_string())
}

fn header_value(request: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The JSON body; SCIM's media type or plain JSON (or none said).
async fn json_body(request: &HttpRequest, payload: web::Payload) -> Result<Value, Refusal> {
    if let Some(kind) = header_value(request, header::CONTENT_TYPE)
        && !kind.to_ascii_lowercase().contains("json")
    {
        return Err(
            ScimError::new(415, None, format!("send {SCIM_JSON} or application/json")).into(),
        );
    }
    let body = read_body(request, payload, MAX_BODY_BYTES)
        .await
        .map_err(|error| {
            let status = actix_web::ResponseError::status_code(&error);
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(413, None, "the request body is larger than 1 MiB")
            } else {
                ScimError::invalid_syntax("could not read the request body")
            }
        })?;
    serde_json::from_slice(&body)
        .map_err(|error| ScimError::invalid_syntax(format!("the body is not JSON: {error}")).into())
}

/// `attributes` / `excludedAttributes` from a query string or a SearchRequest.
fn projection_of(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, Refusal> {
    Ok(Projection::parse(attributes, excluded)?)
}

fn is_excluded(list: Option<&str>, attribute: &str) -> bool {
    list.is_some_and(|l| {
        l.split(',')
            .any(|a| a.trim().eq_ignore_ascii_case(attribute))
    })
}

/// A list request's parameters, from the query string or a `.search` body.
struct ListParameters {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListParameters {
    fn from_query(query: &HashMap<String, String>) -> Self {
        Self {
            filter: query.get("filter").cloned(),
            start_index: query.get("startIndex").cloned(),
            count: query.get("count").cloned(),
            attributes: query.get("attributes").cloned(),
            excluded_attributes: query.get("excludedAttributes").cloned(),
        }
    }

    /// A SearchRequest (RFC 7644 §3.4.3): the same names, in a JSON body.
    fn from_search(body: &Value) -> Result<Self, Refusal> {
        let text = |name: &str| -> Option<String> {
            match &body[name] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            }
        };
        if !body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == schema::SEARCH_REQUEST))
        {
            return Err(ScimError::invalid_syntax(format!(
                "a search request's schemas must include {}",
                schema::SEARCH_REQUEST
            ))
            .into());
        }
        Ok(Self {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            attributes: text("attributes"),
            excluded_attributes: text("excludedAttributes"),
        })
    }

    fn query(&self) -> Result<(ListQuery, Projection), Refusal> {
        let pagination = Pagination::parse(
            self.start_index.as_deref(),
            self.count.as_deref(),
            DEFAULT_COUNT,
            MAX_COUNT,
        )?;
        let projection = projection_of(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )?;
        let include_members = !is_excluded(self.excluded_attributes.as_deref(), "members")
            && self
                .attributes
                .as_deref()
                .is_none_or(|a| a.to_ascii_lowercase().contains("members"));
        Ok((
            ListQuery {
                filter: self.filter.clone(),
                pagination,
                include_members,
            },
            projection,
        ))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn schema(self) -> &'static ResourceSchema {
        match self {
            Kind::Users => schema::user(),
            Kind::Groups => schema::group(),
        }
    }
}

/// The request's resource type and tenant slug, from its path.
fn kind_of(request: &HttpRequest) -> (String, Kind) {
    let info = request.match_info();
    let kind = match info.get("kind") {
        Some("Groups") => Kind::Groups,
        _ => Kind::Users,
    };
    (info.get("slug").unwrap_or_default().to_owned(), kind)
}

/// The `{id}` of the request's path.
fn id_of(request: &HttpRequest) -> String {
    request
        .match_info()
        .get("id")
        .unwrap_or_default()
        .to_owned()
}

async fn listed(
    services: &Services,
    authenticated: &Authenticated,
    kind: Kind,
    parameters: ListParameters,
) -> Answer {
    let (query, projection) = parameters.query()?;
    let start_index = query.pagination.start_index;
    let scim_request = authenticated.request(services);
    let listed = match kind {
        Kind::Users => scim::list_users(&scim_request, query).await?,
        Kind::Groups => scim::list_groups(&scim_request, query).await?,
    };
    let resources = listed
        .resources
        .iter()
        .map(|r| projection.apply(r, kind.schema()))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(listed.total, start_index, resources),
    ))
}

/// `GET /Users`, `GET /Groups`.
async fn list(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let (slug, kind) = kind_of(&request);
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    let parameters = ListParameters::from_query(&query_parameters(&request));
    listed(&state.services, &authenticated, kind, parameters).await
}

/// `POST /Users/.search`, `POST /Groups/.search`.
async fn search_kind(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let (slug, kind) = kind_of(&request);
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    let body = json_body(&request, payload).await?;
    let parameters = ListParameters::from_search(&body)?;
    listed(&state.services, &authenticated, kind, parameters).await
}

fn single_projection(request: &HttpRequest) -> Result<Projection, Refusal> {
    let query = query_parameters(request);
    projection_of(
        query.get("attributes").map(String::as_str),
        query.get("excludedAttributes").map(String::as_str),
    )
}

/// `GET /Users/{id}`, `GET /Groups/{id}`.
async fn get_one(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let (slug, kind) = kind_of(&request);
    let id = id_of(&request);
    let services = &state.services;
    let authenticated = authenticate(services, &request, &slug).await?;
    let projection = single_projection(&request)?;
    let scim_request = authenticated.request(services);
    let found = match kind {
        Kind::Users => scim::get_user(&scim_request, &id).await?,
        Kind::Groups => scim::get_group(&scim_request, &id).await?,
    };
    // RFC 7644 §3.14: a client holding the current version gets 304.
    if let (Some(held), Some(current)) = (
        header_value(&request, header::IF_NONE_MATCH),
        found["meta"]["version"].as_str(),
    ) && held
        .split(',')
        .any(|tag| tag.trim() == current || tag.trim() == "*")
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, current.to_owned()))
            .finish());
    }
    Ok(resource(StatusCode::OK, &found, &projection, kind.schema()))
}

/// `POST /Users`, `POST /Groups`.
async fn create(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Answer {
    let (slug, kind) = kind_of(&request);
    let services = &state.services;
    let authenticated = authenticate(services, &request, &slug).await?;
    let projection = single_projection(&request)?;
    let body = json_body(&request, payload).await?;
    let scim_request = authenticated.request(services);
    let created = match kind {
        Kind::Users => scim::create_user(&scim_request, body).await?,
        Kind::Groups => scim::create_group(&scim_request, body).await?,
    };
    Ok(resource(
        StatusCode::CREATED,
        &created,
        &projection,
        kind.schema(),
    ))
}

#[derive(Clone, Copy)]
enum Change {
    Replace,
    Patch,
}

async fn change(
    request: HttpRequest,
    state: &AppState,
    how: Change,
    payload: web::Payload,
) -> Answer {
    let (slug, kind) = kind_of(&request);
    let id = id_of(&request);
    let services = &state.services;
    let authenticated = authenticate(services, &request, &slug).await?;
    let projection = single_projection(&request)?;
    let body = json_body(&request, payload).await?;
    let if_match = header_value(&request, header::IF_MATCH);
    let scim_request = authenticated.request(services);
    let changed = match (kind, how) {
        (Kind::Users, Change::Replace) => {
            scim::replace_user(&scim_request, &id, body, if_match).await?
        }
        (Kind::Users, Change::Patch) => {
            scim::patch_user(&scim_request, &id, body, if_match).await?
        }
        (Kind::Groups, Change::Replace) => {
            scim::replace_group(&scim_request, &id, body, if_match).await?
        }
        (Kind::Groups, Change::Patch) => {
            scim::patch_group(&scim_request, &id, body, if_match).await?
        }
    };
    Ok(resource(
        StatusCode::OK,
        &changed,
        &projection,
        kind.schema(),
    ))
}

/// `PUT /Users/{id}`, `PUT /Groups/{id}`.
async fn replace(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Answer {
    change(request, &state, Change::Replace, payload).await
}

/// `PATCH /Users/{id}`, `PATCH /Groups/{id}`.
async fn patch(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Answer {
    change(request, &state, Change::Patch, payload).await
}

/// `DELETE /Users/{id}`, `DELETE /Groups/{id}`.
async fn delete(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let (slug, kind) = kind_of(&request);
    let id = id_of(&request);
    let services = &state.services;
    let authenticated = authenticate(services, &request, &slug).await?;
    let if_match = header_value(&request, header::IF_MATCH);
    let scim_request = authenticated.request(services);
    match kind {
        Kind::Users => scim::delete_user(&scim_request, &id, if_match).await?,
        Kind::Groups => scim::delete_group(&scim_request, &id, if_match).await?,
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn service_provider_config(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Answer {
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    Ok(scim_json(
        StatusCode::OK,
        &schema::service_provider_config(&authenticated.base_url, MAX_COUNT, None),
    ))
}

const KINDS: [Kind; 2] = [Kind::Users, Kind::Groups];

async fn resource_types(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Answer {
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    let types: Vec<Value> = KINDS
        .iter()
        .map(|kind| {
            kind.schema()
                .resource_type_document(&authenticated.base_url)
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(types.len(), 1, types),
    ))
}

async fn resource_type(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Answer {
    let (slug, name) = path.into_inner();
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    KINDS
        .iter()
        .map(|kind| kind.schema())
        .find(|kind| kind.name == name)
        .map(|kind| {
            scim_json(
                StatusCode::OK,
                &kind.resource_type_document(&authenticated.base_url),
            )
        })
        .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")).into())
}

fn schema_documents(base_url: &str) -> Vec<Value> {
    KINDS
        .iter()
        .flat_map(|kind| kind.schema().schema_documents(base_url))
        .collect()
}

async fn schemas(
    state: web::Data<AppState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> Answer {
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    let documents = schema_documents(&authenticated.base_url);
    Ok(scim_json(
        StatusCode::OK,
        &list_response(documents.len(), 1, documents),
    ))
}

async fn schema_by_id(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Answer {
    let (slug, id) = path.into_inner();
    let authenticated = authenticate(&state.services, &request, &slug).await?;
    schema_documents(&authenticated.base_url)
        .into_iter()
        .find(|document| document["id"] == id.as_str())
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")).into())
}

/// `POST /.search` across resource types (RFC 7644 §3.4.3) is not offered: 501, as §3.12
/// has it, pointing at the searches per type.
async fn search_everything(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let slug = request
        .match_info()
        .get("slug")
        .unwrap_or_default()
        .to_owned();
    authenticate(&state.services, &request, &slug).await?;
    Err(ScimError::new(
        501,
        None,
        "searching several resource types at once is not supported: POST /Users/.search or /Groups/.search",
    )
    .into())
}

async fn method_not_allowed(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let slug = request
        .match_info()
        .get("slug")
        .unwrap_or_default()
        .to_owned();
    authenticate(&state.services, &request, &slug).await?;
    Err(ScimError::new(
        405,
        None,
        format!("{} is not allowed on this endpoint", request.method()),
    )
    .into())
}

async fn unknown(state: web::Data<AppState>, request: HttpRequest) -> Answer {
    let slug = request
        .match_info()
        .get("slug")
        .unwrap_or_default()
        .to_owned();
    authenticate(&state.services, &request, &slug).await?;
    Err(ScimError::not_found("no such SCIM endpoint: the endpoints are /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas").into())
}
