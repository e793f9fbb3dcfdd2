//! Fuzzing of the parsers that read what clients send (proptest, in the ordinary test run):
//! DDP frames and the EJSON in them, native socket frames, Rocket.Chat's parameter extraction,
//! webhook signatures. Inputs are arbitrary strings and byte-level mutations of the committed
//! seeds in `fuzz/corpus/<target>/`, through the same checks the cargo-fuzz targets run
//! (`fuzzing.rs`). `HUDDLE_FUZZ_CASES` raises the number of cases for a long run (2,000 per
//! target by default, a few seconds each).

use huddle_core::fuzzing::{cases, corpus, mutate};
use proptest::prelude::*;

use crate::fuzzing::*;

/// A seed with up to sixteen byte-level mutations.
fn mutated(dir: &str) -> impl Strategy<Value = String> {
    (
        prop::sample::select(corpus(dir)),
        prop::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 0..16),
    )
        .prop_map(|(seed, edits)| mutate(&seed, &edits))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ddp_frames(text in prop_oneof![mutated("ddp"), ".*"]) {
        check_ddp_frame(&text);
    }

    #[test]
    fn ejson_values(text in prop_oneof![mutated("ejson"), mutated("ddp"), ".*"]) {
        check_ejson(&text);
    }

    #[test]
    fn native_frames(text in prop_oneof![mutated("native"), ".*"]) {
        check_native_frame(&text);
    }

    #[test]
    fn rocket_chat_parameters(
        body in prop_oneof![mutated("rc-params"), ".*"],
        query in prop_oneof![mutated("rc-params"), "[a-z\\[\\]=&%0-9]{0,40}"],
        is_form in any::<bool>(),
    ) {
        check_rc_params(body.as_bytes(), &query, is_form);
    }

    #[test]
    fn webhook_signatures(secret in ".{0,40}", timestamp in "[0-9]{0,14}", body in prop_oneof![mutated("ddp"), ".*"]) {
        check_webhook_signature(&secret, &timestamp, &body);
    }
}
