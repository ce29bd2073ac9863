//! Entry points for the cargo-fuzz targets in `fuzz/` (issue 11), and nothing else.
//!
//! The fuzz crate is a separate crate, so it sees only the public API. Most of what it
//! exercises is public already (`Spec::load`, `validate::validate_request`,
//! `respond::Preference::parse`); the fixture loader is not, because a `FixtureFile` is only
//! ever made by listing a folder or from the bundled set. Rather than make that constructor
//! public for everyone, this module hands the fuzzers the one door they need. Hidden from the
//! docs: it is not an API anyone else should build on.

use crate::fixtures::{FixtureError, FixtureFile, FixtureStore};

/// Loads one fixture file from `text` as the fixture loader reads it from disk: an eval
/// group, or, when `as_tokens`, a `tokens.json` (alone, so a token naming a group fails with
/// "unknown eval group" after the token rules themselves were checked).
pub fn load_fixture_text(text: &str, as_tokens: bool) -> Result<FixtureStore, FixtureError> {
    let name = if as_tokens {
        "fuzz/tokens.json"
    } else {
        "fuzz/groups/fuzz.json"
    };
    FixtureStore::load(vec![FixtureFile::from_text(name, text.to_string())])
}
