//! Why an inbound webhook request was refused ([`Rejection`]): what the signature checks
//! (`signature`) and the handling of the request (`inbound`) answer, and what the API maps
//! to an HTTP status.

use latchkey_core::error::Error;

/// Why a webhook request was refused; nothing was changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No pulling connector with this id in this tenant.
    NotFound,
    /// Missing or wrong signature, or a timestamp outside the replay window (401).
    Unauthenticated(String),
    /// The body is not what this connector receives (400).
    Malformed(String),
    /// The connector is disabled or its CRM did not answer; the CRM should retry (503).
    Unavailable(String),
    /// Latchkey failed; the CRM should retry (500).
    Internal,
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => Rejection::NotFound,
            Error::Validation { field, reason } => {
                Rejection::Malformed(format!("{field}: {reason}"))
            }
            Error::Refused(message) => Rejection::Malformed(message),
            // Another delivery of the same record raced this one: the CRM should send it again.
            Error::Conflict(message) => Rejection::Unavailable(message),
            Error::RateLimited { .. } => {
                Rejection::Unavailable("rate limited; retry later".to_owned())
            }
            Error::Unavailable { .. } => Rejection::Unavailable(error.to_string()),
            other => {
                tracing::error!(error = %other, "an inbound CRM webhook failed");
                Rejection::Internal
            }
        }
    }
}
