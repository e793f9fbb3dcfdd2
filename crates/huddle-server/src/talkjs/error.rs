//! The one mapping from the core `Error` to the TalkJS-style wire: the HTTP status is the
//! signal (400/401/403/404/429/5xx) and the body is `{"errorCode", "reason"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use huddle_core::Error;
use serde_json::json;

#[derive(Debug)]
pub struct TalkError(pub Error);

impl From<Error> for TalkError {
    fn from(e: Error) -> Self {
        TalkError(e)
    }
}

pub type TalkResult<T = Response> = Result<T, TalkError>;

/// A 400 with a code and reason, for malformed requests caught at the edge.
pub fn bad_request(code: &'static str, reason: impl Into<String>) -> TalkError {
    TalkError(Error::invalid(code, reason.into()))
}

impl IntoResponse for TalkError {
    fn into_response(self) -> Response {
        let (status, code, reason) = match &self.0 {
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED".to_string(),
                "Missing or invalid credentials".to_string(),
            ),
            Error::LoginFailed(f) => (
                StatusCode::UNAUTHORIZED,
                f.code.to_string(),
                f.reason.to_string(),
            ),
            Error::Forbidden(f) => (
                StatusCode::FORBIDDEN,
                f.code.to_string(),
                f.reason.to_string(),
            ),
            Error::NotFound(f) => (
                StatusCode::NOT_FOUND,
                f.code.to_string(),
                f.reason.to_string(),
            ),
            Error::Conflict(f) | Error::Invalid(f) => (
                StatusCode::BAD_REQUEST,
                f.code.to_string(),
                f.reason.to_string(),
            ),
            Error::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED".into(),
                format!("Retry after {retry_after_secs} s"),
            ),
            Error::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "UNAVAILABLE".into(),
                    "Service unavailable, safe to retry".into(),
                )
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL".into(),
                    "Internal server error, safe to retry".into(),
                )
            }
        };
        let mut response =
            (status, Json(json!({ "errorCode": code, "reason": reason }))).into_response();
        crate::rocketchat::with_retry_after(&mut response, &self.0);
        response
    }
}
