//! DDP frames (and the EJSON in accepted methods and subscriptions).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is UTF-8 before the parser sees it.
    if let Ok(text) = std::str::from_utf8(data) {
        huddle_server::fuzzing::check_ddp_frame(text);
    }
});
