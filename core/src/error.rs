//! The one error type of the core. `api` maps each variant to a GraphQL `extensions.code`;
//! `Display` of [`Error::Internal`] never carries the cause, which goes to the log only.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist in this tenant (or exists only in another one).
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// No usable credential was presented.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but may not do this; the reason is logged, not returned.
    #[error("not allowed")]
    PermissionDenied,
    #[error("{field}: {reason}")]
    Validation { field: String, reason: String },
    #[error("too many requests; retry in {} seconds", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// Refused for a reason the caller may know (a sign-in rule, a disabled feature).
    #[error("{0}")]
    Refused(String),
    /// The tenant exists but is suspended.
    #[error("tenant is suspended")]
    TenantSuspended,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: &str, reason: impl Into<String>) -> Self {
        Error::Validation {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(source.into())
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        Error::internal(error)
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(error: sea_orm::TransactionError<Error>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// True when a database error is a unique-key violation (on either backend).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
