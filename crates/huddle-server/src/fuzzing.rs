//! The checks of the parsers that read what clients send, shared by the proptest fuzz tests
//! (`fuzz_tests.rs`, in the ordinary test run) and the cargo-fuzz targets (`fuzz/`,
//! coverage-guided). Built for tests and with the `fuzzing` feature only. Each takes raw input,
//! runs the parser and every accessor handlers use on what it accepts, and panics when a
//! property breaks: nothing panics inside, and what is accepted keeps the limits (frames no
//! deeper than allowed, parameters an object).

use serde_json::Value;

use crate::realtime::ddp::{ejson, wire as ddp};
use crate::realtime::limits::too_deep;
use crate::realtime::native::wire as native;
use crate::rocketchat::extract::{body_params, parse_query, Params};

/// The nesting limit the checks parse with (the server's default is of the same order).
pub const DEPTH: usize = 32;

/// A DDP frame; the EJSON dates in an accepted method's or subscription's parameters.
pub fn check_ddp_frame(text: &str) {
    if let ddp::Inbound::Method { params, .. } | ddp::Inbound::Sub { params, .. } =
        ddp::parse(text, DEPTH)
    {
        let params = Value::Array(params);
        assert!(!too_deep(&params, DEPTH), "{text:?}");
        check_ejson_value(&params);
    }
}

/// Any JSON text read as EJSON: every value, at every depth, through the date readers.
pub fn check_ejson(text: &str) {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if !too_deep(&v, DEPTH) {
            check_ejson_value(&v);
        }
    }
}

fn check_ejson_value(v: &Value) {
    let _ = ejson::date(v);
    let _ = ejson::opt_date(Some(v));
    match v {
        Value::Array(items) => items.iter().for_each(check_ejson_value),
        Value::Object(o) => o.values().for_each(check_ejson_value),
        _ => {}
    }
}

/// A native socket frame: what is accepted is a version-1 object within the depth limit.
pub fn check_native_frame(text: &str) {
    if let Ok(v) = native::parse_frame(text, DEPTH) {
        assert!(v.is_object(), "{text:?}");
        assert!(!too_deep(&v, DEPTH), "{text:?}");
        assert_eq!(v["v"].as_u64(), Some(1), "{text:?}");
    }
}

/// Rocket.Chat's parameters from a query string and a JSON or form body, and every accessor.
pub fn check_rc_params(body: &[u8], query: &str, is_form: bool) {
    let q = parse_query(query);
    exercise(&Params(q.clone()));
    if let Ok(map) = body_params(q, is_form, body) {
        exercise(&Params(map));
    }
}

/// A webhook signature is 64 uppercase hex digits (as TalkJS sends them), the same for the same input, and another for
/// another body (HMAC-SHA256 over `timestamp.body`).
pub fn check_webhook_signature(secret: &str, timestamp: &str, body: &str) {
    let sig = crate::talkjs::webhooks::sign(secret, timestamp, body);
    assert_eq!(sig.len(), 64);
    assert!(sig
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
    assert_eq!(sig, crate::talkjs::webhooks::sign(secret, timestamp, body));
    let other = format!("{body}x");
    assert_ne!(
        sig,
        crate::talkjs::webhooks::sign(secret, timestamp, &other)
    );
}

/// Every accessor a handler may call on parameters, on every key present and some absent.
fn exercise(p: &Params) {
    let keys: Vec<String> =
        p.0.keys()
            .cloned()
            .chain(["roomId".into(), "x".into()])
            .collect();
    for k in &keys {
        let _ = p.str(k);
        let _ = p.text(k);
        let _ = p.required(k);
        let _ = p.bool(k);
        let _ = p.i64(k);
        let _ = p.list(k);
        let _ = p.json_object(k, "error-invalid-params", "parameter");
        let _ = p.sort_desc(k);
    }
    let _ = p.room();
    let _ = p.user();
    let _ = p.user_list();
    let _ = p.paging();
}
