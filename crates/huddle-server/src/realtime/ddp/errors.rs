//! Meteor error objects (`result.error`, `nosub.error`), and the one mapping from the core
//! `Error` to them (reference §1.6).

use huddle_core::Error;
use serde_json::{json, Value};

/// `{"isClientSafe":true,"error":…,"reason":…,"message":"<reason> [<error>]",
/// "errorType":"Meteor.Error","details":…}`.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteorError {
    /// A code string, or a number (403, 404, 500) where Rocket.Chat uses one.
    pub error: Value,
    pub reason: Option<String>,
    pub details: Option<Value>,
}

impl MeteorError {
    pub fn new(error: impl Into<Value>, reason: impl Into<String>) -> Self {
        MeteorError {
            error: error.into(),
            reason: Some(reason.into()),
            details: None,
        }
    }

    pub fn bare(error: impl Into<Value>) -> Self {
        MeteorError {
            error: error.into(),
            reason: None,
            details: None,
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.details = Some(json!({ "method": method }));
        self
    }

    /// Malformed parameters (Meteor's `check` failing).
    pub fn match_failed() -> Self {
        Self::new(400, "Match failed")
    }

    pub fn invalid_user(method: &str) -> Self {
        Self::new("error-invalid-user", "Invalid user").method(method)
    }

    pub fn not_allowed(method: &str) -> Self {
        Self::new("error-not-allowed", "Not allowed").method(method)
    }

    pub fn invalid_room(method: &str) -> Self {
        Self::new("error-invalid-room", "Invalid room").method(method)
    }

    /// Meteor's `DDPRateLimiter` refusal (`too-many-requests`, its text, `details.timeToReset`
    /// in milliseconds), for frames over a per-connection rate.
    pub fn too_many_requests(wait: std::time::Duration) -> Self {
        let (secs, ms) = crate::realtime::limits::wait_parts(wait);
        let mut err = Self::new(
            "too-many-requests",
            format!("Error, too many requests. Please slow down. You must wait {secs} seconds before trying again."),
        );
        err.details = Some(json!({ "timeToReset": ms }));
        err
    }

    /// Rocket.Chat's own `RateLimiter` refusal (`error-too-many-requests`, with `timeToReset` and
    /// `seconds`), which `sendMessage` answers past the message rate.
    pub fn error_too_many_requests(secs: u64) -> Self {
        let mut err = Self::new(
            "error-too-many-requests",
            format!("Error, too many requests. Please slow down. You must wait {secs} seconds before trying again."),
        );
        err.details = Some(json!({ "timeToReset": secs * 1000, "seconds": secs }));
        err
    }

    pub fn internal() -> Self {
        Self::new(500, "Internal server error")
    }

    pub fn to_json(&self) -> Value {
        let code = match &self.error {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let message = match &self.reason {
            Some(r) => format!("{r} [{code}]"),
            None => format!("[{code}]"),
        };
        let mut v = json!({
            "isClientSafe": true,
            "error": self.error,
            "message": message,
            "errorType": "Meteor.Error",
        });
        if let Some(r) = &self.reason {
            v["reason"] = json!(r);
        }
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }

    /// The core error as a method's error. `method` fills `details.method` when the failure did
    /// not name one. Internal failures are logged and never shown.
    pub fn from_core(e: Error, method: &str) -> Self {
        match e {
            Error::Unauthenticated => Self::invalid_user(method),
            Error::LoginFailed(f) => match f.code.as_ref() {
                // Rocket.Chat answers every password failure alike, so accounts cannot be probed.
                "Unauthorized" | "error-invalid-credentials" => Self::new(403, "User not found"),
                "403" => Self::new(403, f.reason.to_string()),
                code => Self::new(code.to_string(), f.reason.to_string()),
            },
            Error::Forbidden(f) | Error::NotFound(f) | Error::Conflict(f) | Error::Invalid(f) => {
                let (code, reason) = if f.code.is_empty() {
                    // A bare reason: Rocket.Chat's plain `Error`s, shown as their text.
                    if f.reason == "error-not-allowed" {
                        ("error-not-allowed".to_string(), "Not allowed".to_string())
                    } else {
                        ("error-action-not-allowed".to_string(), f.reason.to_string())
                    }
                } else {
                    (f.code.to_string(), f.reason.to_string())
                };
                let code: Value = match code.parse::<u16>() {
                    Ok(n) => json!(n),
                    Err(_) => json!(code),
                };
                let mut err = Self::new(code, reason);
                err.details = Some(json!({ "method": f.method.unwrap_or(method) }));
                err
            }
            Error::RateLimited { retry_after_secs } => {
                let mut err = Self::new(
                    "too-many-requests",
                    format!("Error, too many requests. Please slow down. You must wait {retry_after_secs} seconds before trying this endpoint again."),
                );
                err.details = Some(json!({ "timeToReset": retry_after_secs * 1000 }));
                err
            }
            Error::Unavailable(detail) => {
                tracing::warn!(%detail, method, "store unavailable");
                Self::new(503, "Service unavailable, try again later")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, method, "internal error in DDP method");
                Self::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_rocket_chat() {
        assert_eq!(
            MeteorError::new(403, "User has no password set").to_json(),
            json!({"isClientSafe":true,"error":403,"reason":"User has no password set","message":"User has no password set [403]","errorType":"Meteor.Error"})
        );
        assert_eq!(
            MeteorError::bare("not-allowed").to_json(),
            json!({"isClientSafe":true,"error":"not-allowed","message":"[not-allowed]","errorType":"Meteor.Error"})
        );
    }
}
