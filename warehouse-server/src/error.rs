//! The one application error type. Every layer (store, policy, handlers)
//! returns it; [`crate::http::error`] is the single place that turns it into
//! an HTTP response `{"error": {"code", "message", "field"?}}`.

use std::fmt;

/// What kind of failure, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request could not be read (malformed JSON, bad path/query).
    BadRequest,
    /// 401: no or invalid credentials.
    Unauthenticated,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: the named thing does not exist.
    NotFound,
    /// 409: conflicts with what is stored (duplicate, wrong state).
    Conflict,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 422: well-formed but invalid (missing field, wrong type, bad value).
    Invalid,
    /// 429: the caller holds too many of a limited thing (live streams).
    TooManyRequests,
    /// 500: our fault; details are logged, not returned.
    Internal,
    /// 503: the request ran past the server's time limit.
    Unavailable,
}

/// An application error: kind, a stable machine code, a message for people
/// and, where one field is to blame, its name.
#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, "bad_request", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    /// 403: a reader token spoke for a daemon id or a reader not bound to
    /// it (`crate::daemons::may_send`), naming the field.
    pub fn not_bound(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "not_bound", message).with_field(field)
    }

    pub fn not_found(what: &str, id: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} {id} not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, "conflict", message)
    }

    /// 422 naming the offending field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, "invalid", message).with_field(field)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal", message)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            let msg = msg.clone().unwrap_or_default();
            match f.code {
                ErrorCode::ConstraintViolation => {
                    // "UNIQUE constraint failed: units.name" → field "name".
                    let field = msg
                        .rsplit(": ")
                        .next()
                        .and_then(|cols| cols.split(", ").next())
                        .and_then(|col| col.rsplit('.').next())
                        .map(str::to_owned);
                    let (code, text) = if msg.starts_with("UNIQUE") {
                        ("duplicate", "a record with this value already exists")
                    } else if msg.starts_with("FOREIGN KEY") {
                        ("unknown_reference", "a referenced record does not exist")
                    } else {
                        ("constraint", "the change violates a data rule")
                    };
                    let mut err =
                        AppError::new(ErrorKind::Conflict, code, format!("{text} ({msg})"));
                    err.field = field.filter(|f| !f.is_empty() && !msg.starts_with("FOREIGN"));
                    return err;
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    return AppError::internal(format!("database busy: {msg}"));
                }
                _ => {}
            }
        }
        AppError::internal(format!("database error: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format!("background task failed: {e}"))
    }
}
