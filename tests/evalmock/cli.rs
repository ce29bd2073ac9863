//! `evalmock fixtures generate`, as a user runs it.

use std::process::Command;

use crate::helpers::*;

fn run(args: &[&str], out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs")
}

#[test]
fn generate_copies_the_bundled_files_by_default() {
    let dir = TempDir::new("generate-bundled");
    let output = run(&["fixtures", "generate"], &dir.0);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("wrote 3 eval groups ("), "{stdout}");
    let files = |dir: &std::path::Path| {
        let mut files = vec![dir.join("tokens.json")];
        for sub in ["groups", "scenarios"] {
            files.extend(
                std::fs::read_dir(dir.join(sub))
                    .expect("a bundled folder")
                    .map(|e| e.expect("entry").path()),
            );
        }
        files.sort();
        files
    };
    let bundled = files(&repo_path("fixtures"));
    let written = files(&dir.0);
    assert_eq!(bundled.len(), written.len(), "{written:?}");
    for (bundled, written) in bundled.iter().zip(&written) {
        assert_eq!(bundled.file_name(), written.file_name());
        assert!(
            std::fs::read(bundled).expect("read") == std::fs::read(written).expect("read"),
            "{} is copied byte for byte",
            bundled.display()
        );
    }
}

#[test]
fn a_generated_set_of_any_size_is_deterministic_and_passes_check() {
    let a = TempDir::new("generate-a");
    let b = TempDir::new("generate-b");
    let args = [
        "fixtures",
        "generate",
        "--groups",
        "2",
        "--batches",
        "2",
        "--records",
        "6",
        "--steps",
        "6",
        "--seed",
        "9",
    ];
    let output = run(&args, &a.0);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(run(&args, &b.0).status.success());
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("groups"))
            .expect("groups")
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("read"),
                )
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(files(&a.0).len(), 2);
    assert_eq!(files(&a.0), files(&b.0), "same seed, same bytes");

    let check = Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(["check", "--fixtures"])
        .arg(&a.0)
        .output()
        .expect("runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn listening_beyond_loopback_needs_an_admin_token_or_no_admin() {
    let output = Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(["--host", "0.0.0.0", "--port", "0", "--no-watch"])
        .output()
        .expect("runs");
    assert!(!output.status.success(), "it refuses to start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--admin-token") && stderr.contains("--no-admin"),
        "it says what to do: {stderr}"
    );
}
