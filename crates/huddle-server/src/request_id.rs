//! Request ids: every request carries one in `x-request-id`, taken from the client or proxy when
//! it sent a sensible one (so an id set at the edge follows the request through the logs), made
//! here otherwise; the response carries the same header, and every log line written while the
//! request runs is inside a `request` span with the id (a field of each line in JSON logs), the
//! method, the route and the status: the span OpenTelemetry export sends (`huddle` binary's
//! `telemetry.rs`).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// Longest client-supplied id kept; longer or odd ones are replaced, so a client cannot stuff
/// the logs.
const MAX_LEN: usize = 128;

fn acceptable(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        });
    ok.then_some(s)
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(HEADER).and_then(acceptable) {
        Some(given) => given.to_string(),
        None => huddle_core::ids::new_id(),
    };
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(HEADER, value.clone());
    // The route (a template, never the path with its ids) is known here: this layer runs after
    // routing. `otel.name` names the span for a trace viewer; the status is filled in at the end.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        otel.name = %format!("{method} {route}"),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", res.status().as_u16());
    res.headers_mut().insert(HEADER, value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_sensible() {
        assert_eq!(
            acceptable(&HeaderValue::from_static("abc-123")),
            Some("abc-123")
        );
        assert_eq!(acceptable(&HeaderValue::from_static("")), None);
        assert_eq!(acceptable(&HeaderValue::from_static("a b")), None);
        let long = "a".repeat(MAX_LEN + 1);
        assert_eq!(acceptable(&HeaderValue::from_str(&long).unwrap()), None);
    }
}
