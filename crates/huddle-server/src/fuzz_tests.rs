//! Fuzzing of the parsers that read what clients send (proptest, in the ordinary test run):
//! DDP frames (and the EJSON in them), native socket frames, and Rocket.Chat's parameter
//! extraction (JSON and form bodies, query strings, and every typed accessor handlers use).
//! Inputs are arbitrary strings and byte-level mutations of the committed seeds in
//! `fuzz/corpus/<target>/`. The properties: nothing panics, and what is accepted keeps the
//! limits (frames no deeper than allowed, parameters an object). `HUDDLE_FUZZ_CASES` raises
//! the number of cases for a long run (2,000 per target by default, a few seconds each).

use proptest::prelude::*;
use serde_json::Value;

use crate::realtime::ddp::{ejson, wire as ddp};
use crate::realtime::limits::too_deep;
use crate::realtime::native::wire as native;
use crate::rocketchat::extract::{body_params, parse_query, Params};

const DEPTH: usize = 32;

fn cases() -> u32 {
    std::env::var("HUDDLE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn corpus(dir: &str) -> Vec<String> {
    let path = format!("{}/../../fuzz/corpus/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{path} holds no seed");
    out
}

/// A seed with up to sixteen byte-level mutations (replace, insert, delete, or a structural
/// character, which reaches the parsers' nesting and quoting paths faster than random bytes).
fn mutated(dir: &str) -> impl Strategy<Value = String> {
    const STRUCT: &[u8] = b"{}[]\",:\\$&=%0-";
    (
        prop::sample::select(corpus(dir)),
        prop::collection::vec((any::<u16>(), 0u8..4, any::<u8>()), 0..16),
    )
        .prop_map(|(seed, edits)| {
            let mut b = seed.into_bytes();
            for (pos, kind, byte) in edits {
                let at = if b.is_empty() {
                    0
                } else {
                    pos as usize % b.len()
                };
                match kind {
                    0 if !b.is_empty() => b[at] = byte,
                    1 => b.insert(at, byte),
                    2 => b.insert(at, STRUCT[byte as usize % STRUCT.len()]),
                    _ if !b.is_empty() => {
                        b.remove(at);
                    }
                    _ => {}
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
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

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ddp_frames(text in prop_oneof![mutated("ddp"), ".*"]) {
        match ddp::parse(&text, DEPTH) {
            ddp::Inbound::Method { params, .. } | ddp::Inbound::Sub { params, .. } => {
                prop_assert!(!too_deep(&Value::Array(params.clone()), DEPTH));
                for p in &params {
                    let _ = ejson::date(p);
                    let _ = ejson::opt_date(Some(p));
                    if let Value::Object(o) = p {
                        for v in o.values() {
                            let _ = ejson::date(v);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    #[test]
    fn native_frames(text in prop_oneof![mutated("native"), ".*"]) {
        if let Ok(v) = native::parse_frame(&text, DEPTH) {
            prop_assert!(v.is_object());
            prop_assert!(!too_deep(&v, DEPTH));
            prop_assert_eq!(v["v"].as_u64(), Some(1));
        }
    }

    #[test]
    fn rocket_chat_parameters(
        body in prop_oneof![mutated("rc-params"), ".*"],
        query in prop_oneof![mutated("rc-params"), "[a-z\\[\\]=&%0-9]{0,40}"],
        is_form in any::<bool>(),
    ) {
        let q = parse_query(&query);
        exercise(&Params(q.clone()));
        if let Ok(map) = body_params(q, is_form, body.as_bytes()) {
            exercise(&Params(map));
        }
    }
}
