//! The one error type of the service. Every failure that reaches a client is an `AppError`,
//! rendered as `{"error":{"code","message","details"}}` over REST and with the same `code`
//! in GraphQL `extensions`. Codes are part of the API contract: never rename one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    /// A JSON body or GraphQL document nests deeper than the configured limit.
    NestingTooDeep,
    RateLimited,
    TooManyAttempts,
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::NestingTooDeep => "nesting_too_deep",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NestingTooDeep => StatusCode::BAD_REQUEST,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into(), details: None }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, format!("{} not found", what.into()))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// A field-level validation failure: `details` names the field so clients can point at it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::ValidationFailed, format!("{field}: {message}"))
            .with_details(serde_json::json!({ "field": field, "reason": message }))
    }
    /// `what` ("JSON body", "GraphQL document") nests deeper than `too_deep.max`.
    pub fn nesting_too_deep(what: &str, too_deep: crate::domain::nesting::TooDeep) -> Self {
        Self::new(
            ErrorCode::NestingTooDeep,
            format!("{what} nests deeper than {} levels (at byte {})", too_deep.max, too_deep.offset),
        )
        .with_details(serde_json::json!({ "max_depth": too_deep.max, "offset": too_deep.offset }))
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, message)
    }
    /// No database connection within the acquire timeout (pool exhausted or database gone).
    pub fn database_unavailable() -> Self {
        Self::unavailable("database unavailable, retry shortly")
    }
    /// A refusal that ends by itself (`rate_limited`, `too_many_attempts`): `details` and the
    /// `Retry-After` header say when to try again, in whole seconds (at least 1).
    pub fn retry_later(code: ErrorCode, message: impl Into<String>, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::new(code, message).with_details(serde_json::json!({ "retry_after_seconds": seconds.max(1) }))
    }
    /// Seconds for a `Retry-After` header, for the errors that have one.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self.code {
            ErrorCode::ServiceUnavailable => Some(1),
            ErrorCode::RateLimited | ErrorCode::TooManyAttempts => {
                Some(self.details.as_ref().and_then(|d| d["retry_after_seconds"].as_u64()).unwrap_or(1))
            }
            _ => None,
        }
    }
    /// Logs the cause and hides it from the client: internals are not an API.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    pub fn body(&self) -> Value {
        serde_json::json!({ "error": {
            "code": self.code.as_str(),
            "message": self.message,
            "details": self.details,
        }})
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after_seconds() {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(self.body())
    }
}

/// The message of a serialization failure (SQLSTATE 40001): a concurrent update, or on a hot
/// standby a query cancelled by a conflict with recovery.
pub const CONCURRENT_UPDATE: &str = "concurrent update: retry the request";

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        match &error {
            Error::NotFound => AppError::new(ErrorCode::NotFound, "not found"),
            Error::DatabaseError(kind, info) => match kind {
                Kind::UniqueViolation => AppError::conflict("a record with the same unique key already exists")
                    .with_details(serde_json::json!({ "constraint": info.constraint_name() })),
                Kind::SerializationFailure => AppError::conflict(CONCURRENT_UPDATE),
                Kind::CheckViolation | Kind::NotNullViolation | Kind::ForeignKeyViolation => {
                    AppError::new(ErrorCode::ValidationFailed, info.message().to_string())
                        .with_details(serde_json::json!({ "constraint": info.constraint_name() }))
                }
                Kind::ClosedConnection => AppError::unavailable("database connection lost"),
                // PostgreSQL text and jsonb cannot hold U+0000 (found by schemathesis: a NUL in
                // any JSON string was a 500). It is bad input, refused as a whole.
                _ if info.message().contains("0x00") || info.message().contains("\\u0000") => {
                    AppError::new(ErrorCode::ValidationFailed, "text must not contain the NUL character (\\u0000)")
                }
                _ if is_connection_failure(info.message()) => {
                    tracing::warn!(%error, "database connection failed");
                    AppError::unavailable("database connection lost, retry shortly")
                }
                _ => AppError::internal(error),
            },
            _ => AppError::internal(error),
        }
    }
}

/// libpq reports a server that went away (stopped, restarted, killed) as an error without a
/// SQLSTATE, which diesel classifies as `Unknown`; SQLSTATE 57P01..57P03 (shutdown, crash,
/// cannot connect now) arrive the same way. These are outages, not bugs: 503, never 500.
fn is_connection_failure(message: &str) -> bool {
    const SIGNS: [&str; 7] = [
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "the database system is shutting down",
        "the database system is starting up",
    ];
    let message = message.to_ascii_lowercase();
    SIGNS.iter().any(|sign| message.contains(sign))
}

impl From<r2d2_error::PoolError> for AppError {
    fn from(error: r2d2_error::PoolError) -> Self {
        tracing::warn!(%error, "database pool exhausted or database unreachable");
        AppError::database_unavailable()
    }
}

/// Re-export under a private name so callers do not need the r2d2 crate in scope.
mod r2d2_error {
    pub use diesel::r2d2::PoolError;
}
