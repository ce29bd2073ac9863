//! The `Prefer` header parser: each line of the input is one header value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = evalmock::respond::Preference::parse(text.lines());
});
