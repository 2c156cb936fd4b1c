//! The one place an [`AppError`] becomes an HTTP response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid`, `not_found`, `duplicate`.
    pub code: String,
    pub message: String,
    /// The field to blame, when there is one (the first, when several are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field to blame and why (a 422 names all of a body's problems
    /// at once); absent when the error names no field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// For `overbooked`: per category, asked, free, short and the days.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shortages: Vec<crate::error::CategoryShortage>,
}

/// One field's problem.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field, by its API name (`loan_start`, `items[2].epc`).
    pub field: String,
    pub message: String,
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = status_of(self.kind);
        if self.kind == ErrorKind::Internal {
            // Details go to the log, not to the client.
            tracing::error!(error = %self.message(), "internal error");
        }
        let retry_after = self.retry_after_secs();
        let message = self.text(Lang::En);
        let errors = self
            .field_problems()
            .into_iter()
            .map(|(field, reason)| FieldProblem {
                field: field.to_owned(),
                message: reason.en(),
            })
            .collect();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message,
                field: self.field,
                errors,
                shortages: match &*self.reason {
                    crate::error::Reason::Overbooked { shortages, .. } => shortages.clone(),
                    _ => Vec::new(),
                },
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
