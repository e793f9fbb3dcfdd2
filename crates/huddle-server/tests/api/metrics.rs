//! `GET /metrics`: Prometheus text that a parser reads line by line, with request counters per
//! matched route (never the raw path), latency histograms, open sockets per protocol and the
//! SQLite writer's figures; and the optional bearer token.
//!
//! The recorder is global to this process and other tests run beside this one, so figures are
//! compared as "moved by at least what this test did", never as exact values.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde_json::json;

use crate::ddp::Ddp;
use crate::helpers::{unique, TestApp, APP_ID};
use crate::native::Native;

/// Scrapes `/metrics` (with `bearer`, if any).
async fn scrape(app: &TestApp, bearer: Option<&str>) -> (StatusCode, String) {
    let mut rb = app.client.get(app.url("/metrics"));
    if let Some(b) = bearer {
        rb = rb.bearer_auth(b);
    }
    let res = rb.send().await.expect("scrape");
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.text().await.expect("body");
    if status == StatusCode::OK {
        assert!(content_type.starts_with("text/plain"), "{content_type}");
    }
    (status, body)
}

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Line {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: the samples, and the `# TYPE` of each family.
struct Exposition {
    samples: Vec<Line>,
    types: HashMap<String, String>,
}

/// Parses the Prometheus text format (0.0.4) strictly: names and label names by the format's
/// grammar, quoted label values with their escapes, float values (`NaN`, `+Inf`), an optional
/// timestamp, and every sample of a family announced by its `# TYPE` first (histograms'
/// `_bucket` with an `le` label, `_sum`, `_count`). Any other line fails the test.
fn parse(body: &str) -> Exposition {
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(is_name(name, true), "bad family name {name:?}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type {kind:?}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "two TYPEs for {name}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            assert!(is_name(name, true), "bad HELP line {line:?}");
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = parse_sample(line).unwrap_or_else(|why| panic!("{why}: {line:?}"));
        let family = family_of(&sample, &types)
            .unwrap_or_else(|| panic!("sample before its # TYPE: {line:?}"));
        if types[&family] == "histogram" && sample.name.ends_with("_bucket") {
            assert!(
                sample.labels.contains_key("le"),
                "bucket without le: {line:?}"
            );
        }
        samples.push(sample);
    }
    Exposition { samples, types }
}

/// The family a sample belongs to (its own name, or a histogram's/summary's base name).
fn family_of(sample: &Line, types: &HashMap<String, String>) -> Option<String> {
    if types.contains_key(&sample.name) {
        return Some(sample.name.clone());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = sample.name.strip_suffix(suffix)?;
        matches!(
            types.get(base).map(String::as_str),
            Some("histogram" | "summary")
        )
        .then(|| base.to_string())
    })
}

fn is_name(s: &str, colons: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (colons && c == ':')
            || (!first && c.is_ascii_digit())
    };
    let mut chars = s.chars();
    chars.next().is_some_and(|c| ok(c, true)) && chars.all(|c| ok(c, false))
}

fn parse_sample(line: &str) -> Result<Line, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !is_name(name, true) {
        return Err("bad metric name");
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inner.split_once("=\"").ok_or("label without =\"")?;
            if !is_name(key, false) {
                return Err("bad label name");
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        _ => return Err("bad escape"),
                    },
                    (_, c) => value.push(c),
                }
            };
            if labels.insert(key.to_string(), value).is_some() {
                return Err("repeated label");
            }
            inner = &after[end + 1..];
            inner = inner.strip_prefix(',').unwrap_or(inner);
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ');
    let value = match fields.next().ok_or("no value")? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| "bad value")?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if fields.next().is_some() {
        return Err("trailing fields");
    }
    Ok(Line {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The value of the series `name` with exactly these labels (0 when it does not exist yet).
fn value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    e.samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map_or(0.0, |s| s.value)
}

const REQUESTS: &str = "huddle_http_requests_total";
const DURATION: &str = "huddle_http_request_duration_seconds";

#[tokio::test]
async fn metrics_count_requests_by_matched_route_and_parse_as_prometheus_text() {
    let app = TestApp::spawn().await;
    let me = [
        ("method", "GET"),
        ("route", "/api/v1/me"),
        ("status", "200"),
    ];
    let user_route = "/v1/{app}/users/{uid}";
    let probe = unique("metrics-probe-");

    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = parse(&body);

    for _ in 0..3 {
        app.get_ok(&app.admin, "me", &[]).await;
    }
    // Ids in paths: one route label, whatever the id.
    let mut user_status = StatusCode::OK;
    for i in 0..4 {
        let (s, _) = app.talk("GET", &format!("users/{probe}-{i}"), None).await;
        user_status = s;
    }
    let user_labels = [
        ("method", "GET"),
        ("route", user_route),
        ("status", user_status.as_str()),
    ];
    // No route at all.
    let (s, _) = app.get(None, &format!("/{probe}/nowhere"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    // Open sockets of both protocols, held while scraping.
    let ddp = Ddp::open(&app).await;
    let uid = unique("metrics-user-");
    app.talk_ok("PUT", &format!("users/{uid}"), Some(json!({ "name": "M" })))
        .await;
    let native = Native::user(&app, &uid).await;

    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK);
    let after = parse(&body);

    let moved = |labels: &[(&str, &str)]| {
        value(&after, REQUESTS, labels) - value(&before, REQUESTS, labels)
    };
    assert!(moved(&me) >= 3.0, "GET /api/v1/me moved {}", moved(&me));
    assert!(
        moved(&user_labels) >= 4.0,
        "GET {user_route} moved {}",
        moved(&user_labels)
    );
    assert!(
        moved(&unmatched) >= 1.0,
        "unmatched moved {}",
        moved(&unmatched)
    );
    assert!(
        !body.contains(&probe),
        "a raw path reached a label:\n{body}"
    );
    assert!(
        !body.contains(&format!("/v1/{APP_ID}/")),
        "a raw app id reached a label"
    );

    // The latency histogram: buckets, and a count of every request it timed.
    assert_eq!(after.types[DURATION], "histogram");
    let timed = [("method", "GET"), ("route", "/api/v1/me")];
    let count = value(&after, &format!("{DURATION}_count"), &timed);
    let inf = [("method", "GET"), ("route", "/api/v1/me"), ("le", "+Inf")];
    let le_inf = value(&after, &format!("{DURATION}_bucket"), &inf);
    assert!(
        count >= 3.0 && le_inf == count,
        "{DURATION} of /api/v1/me: count {count}, +Inf bucket {le_inf}"
    );
    let fast = [("method", "GET"), ("route", "/api/v1/me"), ("le", "30")];
    assert!(value(&after, &format!("{DURATION}_bucket"), &fast) >= 3.0);

    for protocol in ["ddp", "native"] {
        let open = value(
            &after,
            "huddle_websocket_connections",
            &[("protocol", protocol)],
        );
        assert!(open >= 1.0, "open {protocol} sockets: {open}");
    }
    drop((ddp, native));
    // The webhook outbox depth, counted by every server's sender as it starts (the recorder is
    // shared by the test binary's servers, so only its presence and sign are this test's).
    assert_eq!(after.types["huddle_webhook_outbox_pending"], "gauge");
    assert!(value(&after, "huddle_webhook_outbox_pending", &[]) >= 0.0);

    // The SQLite writer's figures (PostgreSQL has no writer task).
    if std::env::var("HUDDLE_TEST_BACKEND").as_deref() != Ok("postgres") {
        assert!(
            value(&after, "huddle_sqlite_writer_commits_total", &[]) >= 1.0,
            "{body}"
        );
        let batches = value(&after, "huddle_sqlite_writer_batch_jobs_count", &[]);
        assert!(batches >= 1.0, "{body}");
        assert_eq!(after.types["huddle_sqlite_writer_batch_jobs"], "histogram");
        assert!(body.contains("huddle_sqlite_writer_queue_depth"), "{body}");
    }
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() {
    let app = TestApp::spawn_with(|c| c.metrics_token = Some("metrics-secret-1".into())).await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&app, Some("metrics-secret-2")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = scrape(&app, Some("metrics-secret-1")).await;
    assert_eq!(status, StatusCode::OK);
    parse(&body);
}

/// The parser above is what makes "parses as Prometheus text" mean something: it must refuse
/// what the format does not allow, and read label values with braces and escapes.
#[test]
fn the_parser_refuses_what_is_not_prometheus_text() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\n\
                a_total{route=\"/v1/{app}/x\",q=\"a\\\"b\\\\c\"} 3 1700000000000\n\
                # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
    let e = parse(good);
    assert_eq!(
        value(&e, "a_total", &[("route", "/v1/{app}/x"), ("q", "a\"b\\c")]),
        3.0
    );
    assert_eq!(value(&e, "h_count", &[]), 2.0);
    for bad in [
        "no_type 1",
        "# TYPE x counter\nx{a=\"1\" 2",
        "# TYPE x counter\nx{a=1} 2",
        "# TYPE x counter\nx one",
        "# TYPE x counter\nx{1a=\"v\"} 2",
        "# TYPE x counter\nx 1 2 3",
        "# TYPE x wrong\nx 1",
        "# TYPE h histogram\nh_bucket 1",
    ] {
        let refused = std::panic::catch_unwind(|| parse(bad)).is_err();
        assert!(refused, "accepted {bad:?}");
    }
}
