//! The fixture loader on one eval-group file (parse, index, cross-check ids).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = evalmock::fuzzing::load_fixture_text(text, false);
});
