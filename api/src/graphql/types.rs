//! Types shared by both schemas: Relay connections, cursors, ids and error mapping.

use async_graphql::{ErrorExtensions, ID, OutputType, SimpleObject, TypeName};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::Error;
use latchkey_core::page::{Page, PageRequest};
use std::borrow::Cow;
use uuid::Uuid;

/// The error codes clients see in `extensions.code`.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL: &str = "INTERNAL";
    /// A dependency (the database, Redis) is down or too slow; retry after `retryAfter`.
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    /// The operation ran past `LATCHKEY_GRAPHQL_TIMEOUT_SECONDS`.
    pub const TIMEOUT: &str = "TIMEOUT";
}

/// Maps a core error to a GraphQL error with `extensions.code`. Internal causes are logged
/// here, once, and never sent to the client.
pub fn graphql_error(error: Error) -> async_graphql::Error {
    let (code, message) = match &error {
        Error::NotFound => (code::NOT_FOUND, "not found".to_owned()),
        Error::Conflict(message) => (code::CONFLICT, message.clone()),
        Error::Unauthenticated => (code::UNAUTHENTICATED, error.to_string()),
        Error::PermissionDenied => (
            code::FORBIDDEN,
            "your credential does not allow this".to_owned(),
        ),
        Error::Validation { .. } => (code::BAD_USER_INPUT, error.to_string()),
        Error::RateLimited { .. } => (code::RATE_LIMITED, error.to_string()),
        Error::Unavailable { .. } => (code::UNAVAILABLE, error.to_string()),
        Error::TenantSuspended | Error::Refused(_) => (code::FORBIDDEN, error.to_string()),
        Error::Internal(source) => {
            tracing::error!(error = %source, "internal error");
            (code::INTERNAL, "internal error".to_owned())
        }
    };
    let retry_after = match &error {
        Error::RateLimited { retry_after } | Error::Unavailable { retry_after, .. } => {
            Some(retry_after.as_secs().max(1))
        }
        _ => None,
    };
    let field = match &error {
        Error::Validation { field, .. } => Some(field.clone()),
        _ => None,
    };
    async_graphql::Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", code);
        if let Some(seconds) = retry_after {
            extensions.set("retryAfter", seconds);
        }
        if let Some(field) = &field {
            extensions.set("field", field.as_str());
        }
    })
}

/// `?` on core results inside resolvers.
pub trait IntoGraphql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGraphql<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(graphql_error)
    }
}

/// Parses a GraphQL `ID` argument. Malformed ids are bad input; well-formed ids that do not
/// exist in this tenant are `NOT_FOUND` later.
pub fn parse_id(field: &str, id: &ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| graphql_error(Error::validation(field, "is not a valid id")))
}

/// Relay page information.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    /// Always false: pages are only walked forward.
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// One item of a connection with its cursor.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name_type)]
pub struct Edge<T: OutputType> {
    pub cursor: String,
    pub node: T,
}

/// Named after the node type: `IdentityEdge`.
impl<T: OutputType> TypeName for Edge<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", T::type_name()).into()
    }
}

/// A Relay connection: `edges`, `nodes` (the same items without cursors), `pageInfo` and the
/// total number of items matching the filter.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name_type)]
pub struct Connection<T: OutputType> {
    pub edges: Vec<Edge<T>>,
    pub nodes: Vec<T>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

/// Named after the node type: `IdentityConnection`.
impl<T: OutputType> TypeName for Connection<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", T::type_name()).into()
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Parses `first`/`after` into a page request.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let after = match after {
        Some(cursor) => Some(decode_cursor(&cursor).ok_or_else(|| {
            graphql_error(Error::validation("after", "is not a cursor from this list"))
        })?),
        None => None,
    };
    PageRequest::new(first.map(i64::from), after).gql()
}

impl<T: OutputType + Clone> Connection<T> {
    /// Builds a connection from a core page; `id` gives each item's cursor.
    pub fn from_page<U>(page: Page<U>, id: impl Fn(&U) -> Uuid, node: impl Fn(U) -> T) -> Self {
        let edges: Vec<Edge<T>> = page
            .items
            .into_iter()
            .map(|item| Edge {
                cursor: encode_cursor(id(&item)),
                node: node(item),
            })
            .collect();
        Self {
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                has_previous_page: false,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            nodes: edges.iter().map(|e| e.node.clone()).collect(),
            edges,
            total_count: page.total_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert!(page_request(Some(10), Some("not a cursor".into())).is_err());
        assert!(page_request(Some(5000), None).is_err());
    }
}
