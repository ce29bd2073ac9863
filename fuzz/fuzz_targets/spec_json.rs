//! The spec loader on JSON text: parse, normalise ($ref checks, 3.0 rewrites), lower and
//! compile every schema. Any input must give a `Spec` or a `SpecError`, never a panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // Only text that takes the JSON path; the YAML target covers the rest.
    if text.trim_start().starts_with('{') {
        let _ = evalmock::spec::Spec::load(text, "fuzz.json");
    }
});
