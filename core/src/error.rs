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
    /// A dependency (the database, Redis) did not answer in time or refused the connection:
    /// the request did nothing it acknowledged and may be retried after `retry_after`.
    #[error("{dependency} is unavailable; retry in {} seconds", retry_after.as_secs().max(1))]
    Unavailable {
        dependency: Dependency,
        retry_after: Duration,
    },
    /// The tenant exists but is suspended.
    #[error("tenant is suspended")]
    TenantSuspended,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a request may find unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Redis,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Redis => "redis",
        }
    }
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a client is told to wait after [`Error::Unavailable`].
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(1);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: &str, reason: impl Into<String>) -> Self {
        Error::Validation {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The dependency failed; the cause goes to the log, the caller gets `Unavailable`.
    pub fn unavailable(dependency: Dependency, cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(dependency = dependency.as_str(), error = %cause, "dependency unavailable");
        Error::Unavailable {
            dependency,
            retry_after: UNAVAILABLE_RETRY_AFTER,
        }
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(source.into())
    }
}

/// The database driver's error (what [`crate::connect`] fails with).
pub type DbError = sea_orm::DbErr;

/// A connection that did not come within the pool's acquire timeout (the pool retries refused
/// connections until then, so the cause is not in the error).
pub fn is_pool_timeout(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => {
            matches!(**e, sea_orm::sqlx::Error::PoolTimedOut)
        }
        _ => false,
    }
}

/// A database error that says the database could not be reached (no connection within the
/// acquire timeout, connection refused or dropped), as opposed to a failed statement.
pub fn is_unreachable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    use sea_orm::{DbErr, RuntimeErr};
    let (sqlx, connecting) = match error {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e)) => (e, true),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            (e, false)
        }
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match &**sqlx {
        // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many
        // connections (classes 57P and 53300). Other answers of the server (a wrong
        // password, a database that does not exist) are not outages.
        SqlxError::Database(e) => e
            .code()
            .is_some_and(|code| matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")),
        // Anything else while connecting (refused, reset, a connection closed during the
        // handshake, which the driver reads as a protocol error) means the server is not
        // there; during a statement, a broken or timed-out connection does.
        _ if connecting => true,
        SqlxError::Io(_)
        | SqlxError::Protocol(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed
        | SqlxError::Tls(_) => true,
        _ => false,
    }
}

/// The innermost cause of a connection failure, in the words an operator looks for.
pub fn connection_cause(error: &sea_orm::DbErr) -> String {
    use sea_orm::sqlx::Error as SqlxError;
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx = match error {
        DbErr::Conn(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => e,
        other => return other.to_string(),
    };
    match &**sqlx {
        SqlxError::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
            _ => io.to_string(),
        },
        SqlxError::PoolTimedOut => "no connection within the acquire timeout".to_owned(),
        SqlxError::Database(e) => e.message().to_owned(),
        other => other.to_string(),
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        if is_unreachable(&error) {
            Error::unavailable(Dependency::Database, &error)
        } else {
            Error::internal(error)
        }
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
