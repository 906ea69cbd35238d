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

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        AppError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::PoolTimedOut) {
            return AppError::Unavailable("the database is not answering; retry later".into());
        }
        AppError::Internal(anyhow::Error::new(error).context("database"))
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
            AppError::Unavailable(message) => Status::unavailable(message),
            AppError::OutOfRange(message) => Status::out_of_range(message),
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Status::internal("internal error; it has been logged")
            }
        }
    }
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
