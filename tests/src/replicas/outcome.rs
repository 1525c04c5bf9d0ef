//! What a client saw, in three kinds: a success, a refusal that says a dependency is down
//! and when to retry (`UNAVAILABLE`, HTTP 503 with `Retry-After`), and anything else (a 500,
//! an `INTERNAL` error, data with errors, the load balancer's own error page, a connection
//! that broke).

use reqwest::StatusCode;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Unavailable,
    Failed(String),
}

/// Classifies a GraphQL answer; its `data` when it succeeded.
pub fn graphql_outcome(status: StatusCode, body: &str) -> (Outcome, Option<Value>) {
    let Ok(body) = serde_json::from_str::<Value>(body) else {
        return (
            Outcome::Failed(format!("HTTP {status}, not JSON: {:.80}", body.trim())),
            None,
        );
    };
    let Some(error) = body["errors"].get(0) else {
        return if status == StatusCode::OK && !body["data"].is_null() {
            (Outcome::Ok, Some(body["data"].clone()))
        } else {
            (
                Outcome::Failed(format!("HTTP {status} without errors")),
                None,
            )
        };
    };
    let code = error["extensions"]["code"].as_str().unwrap_or("(no code)");
    let outcome = if !body["data"].is_null() {
        Outcome::Failed(format!("HTTP {status}: data with a {code} error"))
    } else if code == "UNAVAILABLE" && status == StatusCode::SERVICE_UNAVAILABLE {
        Outcome::Unavailable
    } else {
        Outcome::Failed(format!("HTTP {status} {code}: {}", error["message"]))
    };
    (outcome, None)
}

/// Classifies an answer of the OAuth endpoints, given whether it is the one expected.
pub fn http_outcome(
    status: StatusCode,
    location: Option<&str>,
    retry_after: bool,
    body: &str,
    expected: bool,
) -> Outcome {
    if expected {
        Outcome::Ok
    } else if status == StatusCode::SERVICE_UNAVAILABLE && retry_after {
        Outcome::Unavailable
    } else if location.is_some_and(|l| l.contains("error=temporarily_unavailable")) {
        // The authorization endpoint sends errors back to the client by redirect.
        Outcome::Unavailable
    } else {
        let location = location.map(|l| format!(" to {l}")).unwrap_or_default();
        Outcome::Failed(format!("HTTP {status}{location}: {:.80}", body.trim()))
    }
}
