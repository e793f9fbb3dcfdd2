//! Storage faults: the database going away (a private PostgreSQL stopped mid-storm) and the disk
//! filling up under SQLite. What must hold either way: an outage answers 503 with `Retry-After`
//! quickly (never 500, never a hang, never 200 for a write that was not committed), the server
//! serves again once the storage is back, and nothing it acknowledged is lost. Each test prints
//! its figures (`figure: ...`).

mod disk_full;
mod pg_outage;
mod private_pg;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// One answer during a fault, as the tests judge it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Value,
    pub took: Duration,
}

/// Sends a request and records status, `Retry-After`, body and time to the answer.
pub async fn answer(rb: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let res = rb.send().await.expect("request");
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

/// An outage answer as both API flavours must give it: 503, a positive `Retry-After`, and the
/// flavour's error body.
pub fn assert_unavailable(a: &Answer, talkjs: bool) {
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    let secs: u64 = a
        .retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("503 without a numeric Retry-After: {a:?}"));
    assert!(secs >= 1, "{a:?}");
    if talkjs {
        assert_eq!(a.body["errorCode"], "UNAVAILABLE", "{a:?}");
        assert!(a.body["reason"].is_string(), "{a:?}");
    } else {
        assert_eq!(a.body["success"], false, "{a:?}");
        assert!(a.body["error"].is_string(), "{a:?}");
    }
}
