//! The HTTP transport of the CRM clients: calls go to public addresses only (by
//! [`crate::outbound`], unless private networks are allowed), carry the W3C trace
//! context of the current span, and their answers are read into a JSON body or a [`Failure`]
//! that says whether a retry can help.

use super::Failure;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::time::Duration;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Sends the W3C trace context of the current span (`traceparent`, `tracestate`) along, when
/// spans are exported.
struct HeaderInjector<'a>(&'a mut Vec<(String, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// Sends `request` with the W3C trace context of the current span.
pub(super) async fn send_traced(
    client: &reqwest::Client,
    allow_private: bool,
    mut request: RequestBuilder,
) -> Result<Response, Failure> {
    let mut headers = Vec::new();
    TraceContextPropagator::new().inject_context(
        &tracing::Span::current().context(),
        &mut HeaderInjector(&mut headers),
    );
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .build()
        .map_err(|error| Failure::permanent(format!("the request cannot be built: {error}")))?;
    if let Some(why) = crate::outbound::refused_literal(request.url(), allow_private) {
        return Err(Failure::permanent(why));
    }
    client.execute(request).await.map_err(|error| {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        // The cause (a refused address, a TLS or DNS failure) is in the source chain.
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure::transient(format!("the request {what}: {chain}"))
    })
}

/// The JSON body of a successful response (`null` when empty), or the failure it describes.
pub(super) async fn check(response: Response) -> Result<Value, Failure> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = describe(&body).unwrap_or_else(|| text.chars().take(300).collect());
    let permanent = status.is_client_error()
        && !matches!(status.as_u16(), 408 | 425 | 429)
        // Salesforce's daily API limit comes back as 403 REQUEST_LIMIT_EXCEEDED.
        && !message.contains("REQUEST_LIMIT_EXCEEDED");
    Err(Failure {
        message: format!("{status}: {message}"),
        retry_after: retry_after
            .or_else(|| (status.as_u16() == 429).then(|| Duration::from_secs(10))),
        permanent,
    })
}

/// Like [`check`], but a record that is already gone (404) is fine.
pub(super) async fn check_allowing_missing(response: Response) -> Result<Value, Failure> {
    if response.status() == StatusCode::NOT_FOUND {
        return Ok(Value::Null);
    }
    check(response).await
}

/// The error message of HubSpot (`message`, `category`), Salesforce (`[{message, errorCode}]`)
/// and Dataverse (`{error: {code, message}}`) bodies.
fn describe(body: &Value) -> Option<String> {
    if let Some(first) = body.as_array().and_then(|a| a.first()) {
        return Some(format!(
            "{} {}",
            first["errorCode"].as_str().unwrap_or(""),
            first["message"].as_str().unwrap_or("")
        ));
    }
    if let Some(error) = body.get("error").filter(|e| e.is_object()) {
        return Some(format!(
            "{} {}",
            error["code"].as_str().unwrap_or(""),
            error["message"].as_str().unwrap_or("")
        ));
    }
    body["message"]
        .as_str()
        .map(|message| match body["category"].as_str() {
            Some(category) => format!("{category}: {message}"),
            None => message.to_owned(),
        })
}
