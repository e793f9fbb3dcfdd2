//! Prometheus metrics at `GET /metrics`, through the `metrics` facade and its Prometheus
//! exporter (which formats the text, so no hand-written exposition here).
//!
//! The facade's recorder is global to the process: `install` sets it once (a `OnceLock`), and
//! every `Application` in the process (the integration tests run many) shares it, so the
//! figures are per process, not per application. The store records into the same recorder
//! (`huddle-store/src/writer.rs`: the SQLite writer's queue, commits and batch sizes).
//!
//! Requests are labelled by their *matched route* (`/api/v1/channels.invite`,
//! `/v1/{app}/users/{id}`), never the raw path, so ids in paths cannot grow the label set;
//! requests no route matched share the label `unmatched`, and unusual methods `OTHER`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::state::AppState;

pub const HTTP_REQUESTS: &str = "huddle_http_requests_total";
pub const HTTP_DURATION: &str = "huddle_http_request_duration_seconds";
pub const WEBSOCKETS: &str = "huddle_websocket_connections";
pub const OUTBOX_PENDING: &str = "huddle_webhook_outbox_pending";
/// Recorded by `huddle-store` (the names are repeated there; the API test reads them all).
const WRITER_QUEUE: &str = "huddle_sqlite_writer_queue_depth";
const WRITER_COMMITS: &str = "huddle_sqlite_writer_commits_total";
const WRITER_FAILED: &str = "huddle_sqlite_writer_failed_batches_total";
const WRITER_BATCH: &str = "huddle_sqlite_writer_batch_jobs";

/// The label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets, seconds: from a cached read to the request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Jobs per SQLite transaction: 1 to the writer's cap of 256.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often histograms are drained into their buckets when nobody scrapes (the exporter keeps
/// raw samples until then).
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder on the first call; later calls return the same handle.
/// `None` when another recorder was installed first (an embedding program's): then `/metrics`
/// answers 503 rather than an empty page that looks healthy.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build).as_ref()
}

fn build() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), LATENCY_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(WRITER_BATCH.into()), BATCH_BUCKETS));
    let handle = match builder.and_then(|b| b.install_recorder()) {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed; /metrics answers 503");
            return None;
        }
    };
    describe();
    // A plain thread, not a task: the first application's runtime may end (tests) while the
    // recorder lives on.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("huddle-metrics".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP);
            upkeep.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started; histograms drain on scrape only");
    }
    Some(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, matched route and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the response head, by method and matched route"
    );
    describe_gauge!(
        WEBSOCKETS,
        "Open WebSockets by protocol (ddp: /websocket, native: /v1/{appId}/realtime)"
    );
    describe_gauge!(
        WRITER_QUEUE,
        "SQLite write jobs waiting for the writer when its last batch ended"
    );
    describe_counter!(WRITER_COMMITS, "SQLite group-commit transactions committed");
    describe_counter!(
        WRITER_FAILED,
        "SQLite group-commit transactions that failed (every job of the batch got the error)"
    );
    describe_histogram!(WRITER_BATCH, "Write jobs per SQLite transaction");
    describe_gauge!(
        OUTBOX_PENDING,
        "Webhook deliveries waiting in the outbox that will still be attempted (counted every 2 s)"
    );
}

/// The webhook outbox's depth, as the sender last counted it.
pub fn outbox_depth(pending: i64) {
    metrics::gauge!(OUTBOX_PENDING).set(pending as f64);
}

/// Middleware: counts and times every request by method, matched route and status.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.clone())
        .record(start.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// Methods outside the standard set share one label: a client cannot invent new series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts one open WebSocket of `protocol` for as long as it lives.
pub struct OpenSocket(&'static str);

impl OpenSocket {
    pub fn new(protocol: &'static str) -> OpenSocket {
        metrics::gauge!(WEBSOCKETS, "protocol" => protocol).increment(1.0);
        OpenSocket(protocol)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(WEBSOCKETS, "protocol" => self.0).decrement(1.0);
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// `GET /metrics`: the Prometheus text format. With `metrics_token` configured, only with
/// `Authorization: Bearer <token>`.
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        if !bearer_matches(&headers, token) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need Authorization: Bearer <metrics_token>\n",
            )
                .into_response();
        }
    }
    match install() {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are unavailable: another metrics recorder was installed in this process\n",
        )
            .into_response(),
    }
}

/// Compares in constant time, so the token cannot be guessed byte by byte from timings.
fn bearer_matches(headers: &HeaderMap, token: &Arc<str>) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token: Arc<str> = Arc::from("s3cret");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            if let Ok(v) = v.parse() {
                h.insert(header::AUTHORIZATION, v);
            }
            bearer_matches(&h, &token)
        };
        assert!(with("Bearer s3cret"));
        assert!(!with("Bearer s3cre"));
        assert!(!with("Bearer s3cret2"));
        assert!(!with("s3cret"));
        assert!(!with(""));
    }

    /// The gauge goes up while a socket lives and down when it ends (checked on a private
    /// recorder: the process-wide one is shared with every other test).
    #[test]
    fn an_open_socket_is_counted_until_it_is_dropped() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let line = |protocol: &str| {
            let text = handle.render();
            let prefix = format!("{WEBSOCKETS}{{protocol=\"{protocol}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
        };
        metrics::with_local_recorder(&recorder, || {
            let a = OpenSocket::new("ddp");
            let b = OpenSocket::new("ddp");
            let c = OpenSocket::new("native");
            assert_eq!(line("ddp").as_deref(), Some("2"));
            assert_eq!(line("native").as_deref(), Some("1"));
            drop((a, c));
            assert_eq!(line("ddp").as_deref(), Some("1"));
            assert_eq!(line("native").as_deref(), Some("0"));
            drop(b);
            assert_eq!(line("ddp").as_deref(), Some("0"));
        });
    }

    #[test]
    fn unusual_methods_share_a_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap_or(Method::TRACE);
        assert_eq!(method_label(&odd), "OTHER");
    }
}
