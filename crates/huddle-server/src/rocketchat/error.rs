//! The one mapping from the core `Error` to Rocket.Chat's wire shapes (reference §1.3, §2.2).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use huddle_core::{Error, Failure};
use serde_json::{json, Value};

/// An error on its way out of a Rocket.Chat-flavoured handler.
#[derive(Debug)]
pub struct RcError(pub Error);

impl From<Error> for RcError {
    fn from(e: Error) -> Self {
        RcError(e)
    }
}

pub type RcResult<T = Response> = Result<T, RcError>;

/// Rocket.Chat's standard failure body: `error` is `"<reason> [<code>]"`, `errorType` the code,
/// `details.method` the method that refused.
pub fn failure_body(f: &Failure) -> Value {
    let mut body = json!({ "success": false });
    if f.code.is_empty() && f.reason.is_empty() {
        // `API.v1.failure()` with nothing to say.
    } else if f.code.is_empty() {
        body["error"] = json!(f.reason);
    } else if f.reason.is_empty() {
        // `Meteor.Error(code)` with no reason reads `[code]`.
        body["error"] = json!(format!("[{}]", f.code));
        body["errorType"] = json!(f.code);
    } else {
        body["error"] = json!(format!("{} [{}]", f.reason, f.code));
        body["errorType"] = json!(f.code);
    }
    if let Some(m) = f.method {
        body["details"] = json!({ "method": m });
    }
    body
}

pub fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"status": "error", "message": "You must be logged in to do this."})),
    )
        .into_response()
}

impl IntoResponse for RcError {
    fn into_response(self) -> Response {
        let (status, body) = match &self.0 {
            Error::Unauthenticated => return unauthenticated(),
            Error::LoginFailed(f) => (
                StatusCode::UNAUTHORIZED,
                json!({"status": "error", "error": f.code, "message": f.reason}),
            ),
            Error::Forbidden(f) if f.code == "unauthorized" => (
                StatusCode::FORBIDDEN,
                json!({"success": false, "error": "unauthorized"}),
            ),
            // The route wrapper's `API.v1.forbidden(message)`: the message alone, no `errorType`.
            Error::Forbidden(f) if f.code == "error-unauthorized" => (
                StatusCode::FORBIDDEN,
                json!({"success": false, "error": format!("{} [{}]", f.reason, f.code)}),
            ),
            Error::NotFound(f) if f.code.is_empty() => (
                StatusCode::NOT_FOUND,
                json!({"success": false, "error": f.reason}),
            ),
            Error::Forbidden(f) | Error::NotFound(f) | Error::Conflict(f) | Error::Invalid(f) => {
                (StatusCode::BAD_REQUEST, failure_body(f))
            }
            Error::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"success": false, "error": format!(
                    "Error, too many requests. Please slow down. You must wait {retry_after_secs} seconds before trying this endpoint again. [error-too-many-requests]"
                )}),
            ),
            Error::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"success": false, "error": "Service unavailable, try again later"}),
                )
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"success": false, "error": "Internal server error"}),
                )
            }
        };
        let mut response = (status, Json(body)).into_response();
        with_retry_after(&mut response, &self.0);
        response
    }
}

/// Adds `Retry-After` to a 429 or 503, so clients and proxies know when to come back (both API
/// flavours answer outages so).
pub fn with_retry_after(response: &mut Response, error: &Error) {
    if let Some(secs) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
    }
}

/// A plain `{success:false, error}` 400 (Rocket.Chat's `API.v1.failure("...")`).
pub fn plain(reason: impl Into<std::borrow::Cow<'static, str>>) -> RcError {
    RcError(Error::Invalid(Failure::plain(reason)))
}

/// `{success:false, error, errorType}` 400.
pub fn coded(code: &'static str, reason: impl Into<std::borrow::Cow<'static, str>>) -> RcError {
    RcError(Error::invalid(code, reason))
}
