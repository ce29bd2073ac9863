//! The spec loader on YAML text (anything not starting with `{` is read as YAML).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(spec) = evalmock::spec::Spec::load(text, "fuzz.yaml") {
        // What `check` and the health page do with a loaded document.
        for warning in spec.warnings() {
            let _ = warning.to_string();
        }
    }
});
