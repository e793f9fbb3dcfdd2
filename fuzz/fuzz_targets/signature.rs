//! Signatures: a user id's signature (HMAC-SHA256, hex) matches only the true one, and webhook
//! signatures are well-formed and deterministic. The input is `user id \n signature`; the whole
//! input is also signed as a webhook body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (user_id, given) = text.split_once('\n').unwrap_or(("alice", text));
    huddle_core::fuzzing::check_signature(given, user_id);
    huddle_server::fuzzing::check_webhook_signature(huddle_core::fuzzing::SECRET, user_id, given);
});
