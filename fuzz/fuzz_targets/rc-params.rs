//! Rocket.Chat's parameter extraction: the first line is the query string, the rest the body
//! (bytes, as a request body may be anything), read as a form when the first byte is odd.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let is_form = data.first().is_some_and(|b| b & 1 == 1);
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    let query = String::from_utf8_lossy(query);
    huddle_server::fuzzing::check_rc_params(body, &query, is_form);
});
