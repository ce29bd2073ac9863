//! The live page in a real browser (Debian's headless Chromium; `.ci/run` installs it). The
//! test fails, never skips, when Chromium cannot run: a page nobody looked at is not tested.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium's headless flags for this machine: no sandbox (root), no GPU, and none of the
/// background networking a closed network refuses.
fn chromium(profile: &Path) -> Command {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; .ci/run does)"
    );
    let mut command = Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null());
    command
}

/// Runs Chromium to the end, for at most `seconds`; returns its stdout.
fn run_chromium(mut command: Command, seconds: u64) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().expect("piped");
    let reader = read_in_background(stdout);
    if wait_for_exit(&mut child, seconds).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromium did not finish within {seconds} s");
    }
    reader.join().unwrap_or_default()
}

fn target_dir() -> PathBuf {
    let dir = repo_path("target/browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

#[tokio::test]
async fn the_live_page_shows_a_rejected_request_with_its_violation_code() {
    let app = TestApp::spawn().await;
    // Entry 1, in the journal before the page loads.
    app.get("/v1/eval/batches?limit=1").await;

    let profile = TempDir::new("chromium-dom");
    let mut command = chromium(&profile.0);
    // `until=2`: the page closes its live feed once entry 2 is shown, so the DOM can be dumped.
    command
        .arg("--virtual-time-budget=20000")
        .arg("--dump-dom")
        .arg(format!("{}/__mock/?until=2", app.base));
    let browser = tokio::task::spawn_blocking(move || run_chromium(command, 90));

    // Entry 2 is sent once the page listens, so it can only arrive over the live feed.
    eventually(60, "the page opens its live feed", || async {
        let health = send(app.request(Method::GET, "/__mock/health")).await;
        health.body["journal"]["subscribers"].as_u64() >= Some(1)
    })
    .await;
    let rejected = app
        .post_json(
            "/v1/eval/compare-record",
            json!({ "evalGroupId": GROUP_1, "stepIds": [7] }),
        )
        .await;
    assert_eq!(rejected.status, 400);

    let dom = browser.await.expect("chromium ran");
    let row_start = dom
        .find("data-id=\"2\"")
        .unwrap_or_else(|| panic!("entry 2 is not on the page:\n{dom}"));
    let row = &dom[row_start..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    assert!(
        row.contains("data-via=\"stream\""),
        "entry 2 came over the live feed: {row}"
    );
    assert!(row.contains("data-status=\"400\""), "{row}");
    assert!(
        row.contains("MISSING_REQUIRED_FIELD"),
        "the violation code shows in the row: {row}"
    );
    assert!(
        row.contains("INVALID_TYPE"),
        "every violation code shows: {row}"
    );
    assert!(
        dom.contains("data-id=\"1\""),
        "entry 1 came with the page's first load"
    );
}

#[tokio::test]
async fn a_screenshot_of_the_page_with_an_open_entry_is_a_png() {
    let app = TestApp::spawn().await;
    app.post_json(
        "/v1/eval/compare-record",
        json!({ "evalGroupId": GROUP_1, "stepIds": [7] }),
    )
    .await;
    app.post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    let shot = target_dir().join("live-page.png");
    let _ = std::fs::remove_file(&shot);
    let profile = TempDir::new("chromium-shot");
    let mut command = chromium(&profile.0);
    // `stream=off`: the page as loaded, nothing held open; `#entry=1` opens the 400's detail.
    command
        .arg("--virtual-time-budget=5000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("{}/__mock/?stream=off#entry=1", app.base));
    tokio::task::spawn_blocking(move || run_chromium(command, 90))
        .await
        .expect("chromium ran");
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    assert!(
        png.len() > 10_000,
        "a real picture, not an empty one: {} bytes",
        png.len()
    );
}
