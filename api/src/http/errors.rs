//! Requests refused before GraphQL execution ([`HttpError`], answered in the GraphQL error
//! shape), and the HTTP status of each error code.

use crate::graphql::types::{code, graphql_error};
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use latchkey_core::Error;
use serde_json::json;

/// A request refused before GraphQL execution, answered in the GraphQL error shape.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: String,
    message: String,
    /// Seconds until a rate-limited caller may try again (`Retry-After`).
    retry_after: Option<u64>,
    /// The input field a `BAD_USER_INPUT` is about, for forms to mark it.
    field: Option<String>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
            field: None,
        }
    }

    pub(super) fn bad_input(status: StatusCode, message: impl Into<String>) -> Self {
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
        let mut extensions = json!({ "code": self.code });
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
            extensions["retryAfter"] = json!(seconds);
        }
        if let Some(field) = &self.field {
            extensions["field"] = json!(field);
        }
        response.json(json!({
            "errors": [{ "message": self.message, "extensions": extensions }]
        }))
    }
}

/// Maps a core error met outside GraphQL execution (resolution, authentication).
impl From<Error> for HttpError {
    fn from(error: Error) -> Self {
        let error = graphql_error(error);
        let extension = |name: &str| error.extensions.as_ref().and_then(|e| e.get(name));
        let code = extension("code")
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| code::INTERNAL.to_owned());
        let retry_after = extension("retryAfter").and_then(|v| match v {
            async_graphql::Value::Number(n) => n.as_u64(),
            _ => None,
        });
        let field = extension("field").and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.clone()),
            _ => None,
        });
        Self {
            retry_after,
            field,
            ..Self::new(status_for_code(&code), &code, error.message.clone())
        }
    }
}

pub(super) fn status_for_code(code: &str) -> StatusCode {
    match code {
        code::UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
        code::FORBIDDEN => StatusCode::FORBIDDEN,
        code::NOT_FOUND => StatusCode::NOT_FOUND,
        code::CONFLICT => StatusCode::CONFLICT,
        code::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        code::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
        code::TIMEOUT | code::UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}
