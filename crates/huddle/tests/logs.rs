//! Operations: `--log-format json` writes one JSON object a line, and the request id a client
//! sends in `x-request-id` (or the one Huddle makes) is echoed in the response and appears in
//! the log lines written while the request ran.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use serde_json::Value;

mod common;
use common::Serve;

/// One request; returns the response head (status line and headers).
fn head(port: u16, path: &str, request_id: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    if let Some(id) = request_id {
        req.push_str(&format!("X-Request-Id: {id}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    let server = Serve::new(&db)
        .global(&["--log-format", "json"])
        // tower_http's request lines are at debug: they are the lines a request always writes.
        .env("HUDDLE_LOG", "info,sqlx=warn,tower_http=debug")
        .log_to(&log)
        .start();
    let port = server.port;
    let given = head(port, "/api/info", Some("edge-7f3a-42"));
    assert!(given.starts_with("HTTP/1.1 200"), "{given}");
    assert_eq!(header(&given, "x-request-id"), Some("edge-7f3a-42"));
    let made = head(port, "/api/info", None);
    let made_id = header(&made, "x-request-id")
        .expect("an id is made")
        .to_string();
    assert!(!made_id.is_empty());
    // A client cannot put anything it likes into the logs: an odd id is replaced.
    let odd = head(port, "/api/info", Some("a\"b{c}"));
    assert_ne!(header(&odd, "x-request-id"), Some("a\"b{c}"));

    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    for id in ["edge-7f3a-42", made_id.as_str()] {
        let tagged = lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id || l["spans"].to_string().contains(id))
            .count();
        assert!(tagged > 0, "no log line carries request id {id}:\n{text}");
    }
    println!(
        "figure: {} JSON log lines, each request's lines tagged with its x-request-id",
        lines.len()
    );
}
