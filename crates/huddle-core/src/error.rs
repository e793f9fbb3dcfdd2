//! The one error type of the domain. Each API flavour maps it to its own wire shape in exactly one
//! place (see `huddle-server`), so a rule never has to know how its failure is spelled on the wire.

use std::borrow::Cow;

/// A failure a client caused or may see: a stable machine code and a human reason.
///
/// `code` is Rocket.Chat's `errorType` vocabulary (`error-room-not-found`, ...). An empty code means
/// the failure has only a message (Rocket.Chat answers those without `errorType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Cow<'static, str>,
    pub reason: Cow<'static, str>,
    /// The Rocket.Chat method name reported in `details.method`.
    pub method: Option<&'static str>,
}

impl Failure {
    pub fn new(code: impl Into<Cow<'static, str>>, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
            method: None,
        }
    }

    /// A failure with only a message and no machine code.
    pub fn plain(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new("", reason)
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A login attempt was refused (wrong password, unknown user, expired resume token).
    #[error("login failed: {}", .0.reason)]
    LoginFailed(Failure),
    /// Credentials were valid but the rule said no (`error-not-allowed`, `unauthorized`, ...).
    #[error("forbidden: {}", .0.reason)]
    Forbidden(Failure),
    /// The thing named does not exist (or may not be seen, which must look the same).
    #[error("not found: {}", .0.reason)]
    NotFound(Failure),
    /// The request contradicts existing state (duplicate name, last owner, ...).
    #[error("conflict: {}", .0.reason)]
    Conflict(Failure),
    /// The request itself is malformed or incomplete.
    #[error("invalid: {}", .0.reason)]
    Invalid(Failure),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency (the database) is down or saturated; the client may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected store failure. Logged, never shown to clients.
    #[error("internal: {0}")]
    Internal(String),
}

/// What `Retry-After` says during an outage: about the time a request waits for a database
/// connection before giving up, so a client retrying at this pace adds no more than one waiting
/// request per interval.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(
        code: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Invalid(Failure::new(code, reason))
    }
    pub fn not_found(
        code: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::NotFound(Failure::new(code, reason))
    }
    pub fn conflict(
        code: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Conflict(Failure::new(code, reason))
    }
    /// Rocket.Chat's `error-not-allowed` / `Not allowed` with the method it came from.
    pub fn not_allowed(method: &'static str) -> Self {
        Error::Forbidden(Failure::new("error-not-allowed", "Not allowed").method(method))
    }
    /// The bare "unauthorized" refusal Rocket.Chat answers with HTTP 403 (a handler's own check).
    pub fn unauthorized() -> Self {
        Error::Forbidden(Failure::new("unauthorized", "unauthorized"))
    }
    /// The 403 of a route whose `permissionsRequired` the caller lacks (Rocket.Chat 7's route
    /// wrapper): `User does not have the permissions required for this action [error-unauthorized]`.
    pub fn permission_required() -> Self {
        Error::Forbidden(Failure::new(
            "error-unauthorized",
            "User does not have the permissions required for this action",
        ))
    }
    /// The failure behind this error, when it has one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Error::Forbidden(f)
            | Error::NotFound(f)
            | Error::Conflict(f)
            | Error::Invalid(f)
            | Error::LoginFailed(f) => Some(f),
            _ => None,
        }
    }
    /// Seconds a client should wait before retrying (the `Retry-After` header), for the errors
    /// that say "not now" rather than "no": rate limits and outages.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Error::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }
    /// Whether the failure is the server's (an outage or a bug) rather than the request's. Code
    /// that turns "not found" into its own refusal must let these through, or an outage would
    /// reach the client as a 400 saying the room does not exist.
    pub fn is_server_side(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Internal(_))
    }
    /// The machine code, or "" for errors without one.
    pub fn code(&self) -> &str {
        self.failure().map(|f| f.code.as_ref()).unwrap_or("")
    }
    /// Attach a Rocket.Chat method name to a failure that lacks one.
    pub fn in_method(mut self, method: &'static str) -> Self {
        if let Error::Forbidden(f) | Error::NotFound(f) | Error::Conflict(f) | Error::Invalid(f) =
            &mut self
        {
            if f.method.is_none() {
                f.method = Some(method);
            }
        }
        self
    }
}
