//! The service's error type and its single mapping to `tonic::Status`.
//!
//! Client errors carry a clear message (and, for INVALID_ARGUMENT, `google.rpc.BadRequest` field
//! violations). Internal errors are logged with their cause chain and reach the client only as a
//! generic message: never SQL, never personal data.
use crate::domain::Invalid;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid argument: {0:?}")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Unavailable(String),
    /// The caller gave up before the work began; nobody reads this answer.
    #[error("the caller gave up before the work began")]
    Cancelled,
    #[error("{0}")]
    OutOfRange(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A request_id seen before with a different request.
    pub fn reused_request_id() -> Self {
        Self::invalid(
            "request_id",
            "this request_id was already used for a different request; use a new request_id",
        )
    }

    /// UNAVAILABLE for a lost database. The call may or may not have committed; its idempotency
    /// record commits with it, so a retry with the same request_id either replays the answer or
    /// does the work once.
    pub fn connection_lost() -> Self {
        AppError::Unavailable(
            "the database is unreachable or the connection broke; retry with the same request_id (a call that was recorded replays its answer)".into(),
        )
    }

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        AppError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if is_connection_loss(&error) {
            tracing::warn!(%error, "database unreachable or connection lost");
            return AppError::connection_lost();
        }
        AppError::Internal(anyhow::Error::new(error).context("database"))
    }
}

/// Whether `error` means the database could not be reached or the connection broke, rather than
/// that the statement was wrong: I/O and TLS failures, a closed or exhausted pool, a protocol
/// stream cut short, and the server's connection-exception (08…), shutdown and crash (57P…) and
/// too-many-connections (53300) codes, and a write refused as read-only (25006): during a failover
/// a connection can reach a server that is not, or not yet, the primary.
pub fn is_connection_loss(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300" || code == "25006"
        }),
        _ => false,
    }
}

/// Collects every field violation of a request, so the caller sees all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
    }

    /// Keeps the parsed value, or records why it was refused under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.add(field, invalid.0);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The error for the violations collected (an internal error if there were none).
    pub fn into_error(self) -> AppError {
        if self.0.is_empty() {
            AppError::Internal(anyhow::anyhow!(
                "a request was refused without a field violation"
            ))
        } else {
            AppError::InvalidArgument(self.0)
        }
    }

    /// `Ok(())` when nothing was refused.
    pub fn into_result(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidArgument(self.0))
        }
    }
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        match error {
            AppError::InvalidArgument(violations) => {
                let summary = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                Status::with_error_details(Code::InvalidArgument, summary, details)
            }
            AppError::FailedPrecondition(message) => Status::failed_precondition(message),
            AppError::NotFound(message) => Status::not_found(message),
            AppError::AlreadyExists(message) => Status::already_exists(message),
            AppError::PermissionDenied(message) => Status::permission_denied(message),
            AppError::Unauthenticated(message) => Status::unauthenticated(message),
            AppError::Unavailable(message) => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(std::time::Duration::from_secs(1)));
                Status::with_error_details(Code::Unavailable, message, details)
            }
            AppError::OutOfRange(message) => Status::out_of_range(message),
            AppError::Cancelled => Status::cancelled("the caller gave up before the work began"),
            AppError::Internal(cause) if lost_connection_in(&cause) => {
                tracing::warn!(
                    error = format!("{cause:#}"),
                    "database unreachable or connection lost"
                );
                Status::from(AppError::connection_lost())
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Status::internal("internal error; it has been logged")
            }
        }
    }
}

/// Whether a connection loss hides somewhere in an internal error's causes (an error that went
/// through `anyhow` context on its way up).
fn lost_connection_in(cause: &anyhow::Error) -> bool {
    cause
        .chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(is_connection_loss)
}

/// PostgreSQL's SQLSTATE of a database error, if it is one.
pub fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// Whether retrying the whole transaction may succeed: a deadlock or serialization failure.
pub fn is_retryable(error: &AppError) -> bool {
    let AppError::Internal(cause) = error else {
        return false;
    };
    cause
        .chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(|e| {
            matches!(
                sqlstate(e).as_deref(),
                Some(DEADLOCK_DETECTED | SERIALIZATION_FAILURE)
            )
        })
}

/// The google.rpc.Status a client would see for `error`, for results inside a stream.
pub fn rpc_status(error: AppError) -> tonic_types::pb::Status {
    use prost::Message;
    let status = Status::from(error);
    if !status.details().is_empty()
        && let Ok(decoded) = tonic_types::pb::Status::decode(status.details())
    {
        return decoded;
    }
    tonic_types::pb::Status {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details: Vec::new(),
    }
}

pub const UNIQUE_VIOLATION: &str = "23505";
pub const DEADLOCK_DETECTED: &str = "40P01";
pub const SERIALIZATION_FAILURE: &str = "40001";
pub const FOREIGN_KEY_VIOLATION: &str = "23503";
pub const EXCLUSION_VIOLATION: &str = "23P01";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_is_unavailable_with_a_retry_hint_never_internal() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "expected to read 5 bytes, got 0 bytes at EOF",
        ));
        for error in [io, sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            let status = Status::from(AppError::from(error));
            assert_eq!(status.code(), Code::Unavailable);
            assert!(status.get_details_retry_info().is_some(), "{status:?}");
        }
        let wrapped = anyhow::Error::new(sqlx::Error::PoolClosed).context("reading a claim");
        assert_eq!(
            Status::from(AppError::Internal(wrapped)).code(),
            Code::Unavailable
        );
        let other = AppError::from(sqlx::Error::RowNotFound);
        assert_eq!(Status::from(other).code(), Code::Internal);
    }
}
