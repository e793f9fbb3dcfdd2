//! EJSON values (`{"$date": ...}` at any depth) through the date readers.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        huddle_server::fuzzing::check_ejson(text);
    }
});
