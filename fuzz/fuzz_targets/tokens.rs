//! The fixture loader on a `tokens.json` (token rules: printable ASCII, no duplicates).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = evalmock::fuzzing::load_fixture_text(text, true);
});
