//! Embeds the bundled spec and fixture files, so `evalmock` runs from any directory.
//! Generates `include_str!` entries for every JSON and YAML file under `fixtures/`; hand-written rather than
//! a crate because it is twenty lines and keeps the dependency tree lean.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let fixtures = root.join("fixtures");
    let mut files = Vec::new();
    collect(&fixtures, &mut files);
    files.sort();
    let mut out = String::from(
        "/// (path relative to `fixtures/`, contents) of every bundled fixture file.\npub static BUNDLED_FIXTURES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&fixtures).expect("under fixtures/");
        let relative = relative.to_string_lossy().replace('\\', "/");
        writeln!(
            out,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("bundled_fixtures.rs");
    std::fs::write(dest, out).expect("write generated file");
    println!("cargo::rerun-if-changed=fixtures");
    println!("cargo::rerun-if-changed=specs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo::rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "json" || e == "yaml") {
            files.push(path);
        }
    }
}
