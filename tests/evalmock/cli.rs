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
fn generate_writes_the_bundled_set_by_default() {
    let dir = TempDir::new("generate-bundled");
    let output = run(&["fixtures", "generate"], &dir.0);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for entry in std::fs::read_dir(repo_path("fixtures/groups")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        let written =
            std::fs::read(dir.0.join("groups").join(name)).expect("the same file is written");
        assert!(
            written == std::fs::read(&path).expect("read"),
            "{} is what the generator writes",
            path.display()
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
        "3",
        "--seed",
        "9",
    ];
    assert!(run(&args, &a.0).status.success());
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
