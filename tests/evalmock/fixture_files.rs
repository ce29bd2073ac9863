//! What `evalmock check` says about fixture folders that hold something other than fixture
//! files (issue 11): a FIFO or a broken symlink named like a fixture or scenario, and token
//! rules that could never match. Each must fail with the file (and entry) named, not hang.

use std::path::Path;

use crate::helpers::*;

/// A copy of the bundled fixture folder to break.
fn fixture_copy(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    copy_dir(&repo_path("fixtures"), &dir.0);
    dir
}

/// `evalmock check --fixtures DIR`: (exit code, stdout and stderr together).
fn check(dir: &Path) -> (Option<i32>, String) {
    let path = dir.display().to_string();
    let (code, out, err) = run_evalmock(&["check", "--fixtures", &path]);
    (code, format!("{out}{err}"))
}

fn assert_check_fails_naming(dir: &Path, names: &[&str]) {
    let (code, output) = check(dir);
    assert_eq!(code, Some(1), "{output}");
    for name in names {
        assert!(output.contains(name), "{name:?} missing from: {output}");
    }
}

#[test]
fn a_fifo_named_like_a_group_file_fails_check_instead_of_hanging() {
    let dir = fixture_copy("fifo-group");
    let fifo = dir.0.join("groups/pipe.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo is installed (this test needs it)");
    assert!(made.success(), "mkfifo failed");
    assert_check_fails_naming(&dir.0, &["pipe.json", "not a regular file"]);
}

#[test]
fn a_broken_symlink_named_like_a_scenario_fails_check_naming_it() {
    let dir = fixture_copy("broken-scenario-link");
    let link = dir.0.join("scenarios/gone.yaml");
    std::os::unix::fs::symlink(dir.0.join("nowhere.yaml"), &link).expect("symlink");
    assert_check_fails_naming(&dir.0, &["gone.yaml", "broken symlink", "nowhere.yaml"]);
}

#[test]
fn a_symlink_to_a_regular_group_file_is_read() {
    let dir = fixture_copy("group-link");
    let groups = dir.0.join("groups");
    let first = std::fs::read_dir(&groups)
        .expect("groups")
        .map(|e| e.expect("entry").path())
        .min()
        .expect("a group file");
    let moved = dir.0.join("elsewhere.json");
    std::fs::rename(&first, &moved).expect("move");
    std::os::unix::fs::symlink(&moved, &first).expect("symlink");
    let (code, output) = check(&dir.0);
    assert_eq!(code, Some(0), "{output}");
}

/// The bundled `tokens.json` with its `tokens` replaced.
fn with_tokens(name: &str, tokens: serde_json::Value) -> TempDir {
    let dir = fixture_copy(name);
    let file = serde_json::json!({ "tokens": tokens });
    std::fs::write(dir.0.join("tokens.json"), file.to_string()).expect("write tokens.json");
    dir
}

#[test]
fn tokens_that_can_never_match_fail_check_naming_the_entry() {
    let revoked = serde_json::json!({ "kind": "revoked" });
    for (case, token) in [
        ("non-ascii", "rt_tëst_0000000000000000"),
        ("inner-space", "rt_test 0000000000000000"),
        ("empty", ""),
    ] {
        let dir = with_tokens(
            &format!("token-{case}"),
            serde_json::json!([
                { "token": "rt_test_fine_00000000000000000000", "access": revoked },
                { "token": token, "access": revoked },
            ]),
        );
        assert_check_fails_naming(
            &dir.0,
            &["tokens.json", "tokens[1].token", "printable ASCII"],
        );
    }
}

#[test]
fn duplicate_tokens_fail_check_naming_both_entries() {
    let revoked = serde_json::json!({ "kind": "revoked" });
    let dir = with_tokens(
        "token-duplicate",
        serde_json::json!([
            { "token": "rt_test_twice_0000000000000000000", "access": revoked },
            { "token": "rt_test_other_0000000000000000000", "access": revoked },
            { "token": "rt_test_twice_0000000000000000000", "access": revoked },
        ]),
    );
    assert_check_fails_naming(
        &dir.0,
        &["tokens.json", "tokens[2].token", "tokens[0].token"],
    );
}
