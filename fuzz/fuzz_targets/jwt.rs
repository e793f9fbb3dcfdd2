//! App and user tokens (JWT, HS256 pinned): nothing but the genuine token's claims verify.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        huddle_core::fuzzing::check_jwt(token);
    }
});
