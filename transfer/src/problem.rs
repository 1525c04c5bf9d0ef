//! What is wrong with a record of an import file, for the validation report and a job's
//! errors: where (the record's number), which field, and what to do about it.

use latchkey_core::Error;
use serde::{Deserialize, Serialize};

/// One problem with one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The record's line (JSON lines, CSV; the header is line 1) or its position in `users`
    /// (Keycloak, Firebase), from 1.
    pub record: u64,
    /// The field, in the file's own names where it has them.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(record: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            record,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A problem from a service's error: its field and reason when it is a validation error.
    pub fn from_error(record: u64, error: &Error) -> Self {
        match error {
            Error::Validation { field, reason } => Self::new(record, field, reason),
            other => Self::new(record, "", other.to_string()),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "record {}: {}", self.record, self.message)
        } else {
            write!(
                f,
                "record {}: {}: {}",
                self.record, self.field, self.message
            )
        }
    }
}
