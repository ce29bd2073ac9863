//! The live page in a real browser (Debian's headless Chromium; `.ci/run` installs it). The
//! test fails, never skips, when Chromium cannot run: a page nobody looked at is not tested.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

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

    let profile = TempDir::new("chromium-live");
    let mut page = Devtools::open(&format!("{}/__mock/", app.base), &profile.0).await;
    // Once the list on the page was loaded after the live feed opened (the page says so in
    // data-list-gen >= data-feed-gen), an entry sent can only arrive over the feed. (Asked
    // before the page has a body, the expression must not throw.)
    page.until(
        30,
        "!!document.body && !!document.body.dataset.feedGen && +document.body.dataset.listGen >= +document.body.dataset.feedGen",
    )
    .await;
    assert!(
        page.evaluate("!!document.querySelector('#rows tr[data-id=\"1\"]')")
            .await
            == json!(true),
        "entry 1 came with the page's first load"
    );
    let rejected = app
        .post_json(
            "/v1/eval/compare-record",
            json!({ "evalGroupId": GROUP_1, "stepIds": [7] }),
        )
        .await;
    assert_eq!(rejected.status, 400);

    page.until(30, "!!document.querySelector('#rows tr[data-id=\"2\"]')")
        .await;
    let row = page
        .evaluate("document.querySelector('#rows tr[data-id=\"2\"]').outerHTML")
        .await;
    let row = row.as_str().expect("the row's HTML");
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

/// A headless Chromium on one page, driven over the DevTools protocol: scripts run in the page
/// as a person's actions would (choosing an option fires the same `change` event), and the
/// DOM is read back. Killed when dropped.
struct Devtools {
    child: std::process::Child,
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Devtools {
    async fn open(url: &str, profile: &Path) -> Devtools {
        let mut command = chromium(profile);
        command
            .arg("--remote-debugging-port=0")
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("chromium starts");
        let stderr = child.stderr.take().expect("piped");
        // Chromium says where its DevTools endpoint listens on stderr.
        let port = tokio::task::spawn_blocking(move || {
            use std::io::BufRead as _;
            std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .find_map(|line| {
                    let rest = line.split("DevTools listening on ws://127.0.0.1:").nth(1)?;
                    rest.split('/').next()?.parse::<u16>().ok()
                })
        })
        .await
        .expect("reads stderr")
        .expect("chromium announces its DevTools port");
        let mut page_socket = None;
        for _ in 0..100 {
            let targets: Value = http_client()
                .get(format!("http://127.0.0.1:{port}/json/list"))
                .send()
                .await
                .expect("DevTools answers")
                .json()
                .await
                .expect("JSON");
            page_socket = targets
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| {
                    t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.contains("/__mock/"))
                })
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string));
            if page_socket.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let page_socket = page_socket.expect("the page is a DevTools target");
        let (socket, _) = tokio_tungstenite::connect_async(page_socket.as_str())
            .await
            .expect("DevTools WebSocket");
        Devtools {
            child,
            socket,
            next_id: 0,
        }
    }

    /// Runs `expression` in the page and returns its value.
    async fn evaluate(&mut self, expression: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({"id": id, "method": "Runtime.evaluate", "params": {
            "expression": expression, "returnByValue": true, "awaitPromise": true}});
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .expect("sends");
        while let Some(message) = self.socket.next().await {
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if reply["id"] == id {
                assert!(
                    reply["result"]["exceptionDetails"].is_null(),
                    "{expression} threw: {reply}"
                );
                return reply["result"]["result"]["value"].clone();
            }
        }
        panic!("DevTools closed while evaluating {expression}");
    }

    /// Waits until `expression` is true in the page (at most `seconds`). Until the page has
    /// loaded, what the expression reads may not exist yet: a throw counts as not yet.
    async fn until(&mut self, seconds: u64, expression: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let guarded =
            format!("(() => {{ try {{ return {expression}; }} catch (_) {{ return false; }} }})()");
        while self.evaluate(&guarded).await != json!(true) {
            assert!(
                std::time::Instant::now() < deadline,
                "the page never showed: {expression}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Devtools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn choosing_a_scenario_on_the_page_answers_the_next_request_with_it() {
    let app = TestApp::spawn().await;
    let profile = TempDir::new("chromium-scenario");
    let mut page = Devtools::open(&format!("{}/__mock/", app.base), &profile.0).await;
    page.until(
        30,
        "!!document.getElementById('scenario') && document.getElementById('scenario').options.length === 9",
    )
    .await;
    assert_eq!(
        page.evaluate("document.getElementById('scenario').value")
            .await,
        "",
        "no scenario is active at first"
    );
    // What a person's choice in the list does: the option is selected, `change` fires.
    page.evaluate(
        "(() => { const s = document.getElementById('scenario'); s.value = 'expired-key';          s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()",
    )
    .await;
    eventually(
        20,
        "the page made expired-key the active scenario",
        || async {
            let scenario = send(app.request(Method::GET, "/__mock/scenario")).await;
            scenario.body["active"] == "expired-key"
        },
    )
    .await;
    page.until(
        10,
        "document.getElementById('scenario').classList.contains('active')",
    )
    .await;

    // The app's next request is answered by the scenario, and the page shows it so.
    let answered = app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    assert_eq!(answered.status, 401);
    page.until(
        20,
        "[...document.querySelectorAll('#rows tr[data-status=\"401\"] .k-scenario')]         .some(k => k.title === 'scenario: expired-key: key rejected')",
    )
    .await;

    // And back to the fixtures.
    page.evaluate(
        "(() => { const s = document.getElementById('scenario'); s.value = '';          s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()",
    )
    .await;
    eventually(20, "the page turned scenarios off", || async {
        let scenario = send(app.request(Method::GET, "/__mock/scenario")).await;
        scenario.body["active"].is_null()
    })
    .await;
    assert_eq!(
        app.get(&format!("/v1/eval/group/{GROUP_1}")).await.status,
        200
    );
}
