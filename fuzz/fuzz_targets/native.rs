//! Native socket frames.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        huddle_server::fuzzing::check_native_frame(text);
    }
});
