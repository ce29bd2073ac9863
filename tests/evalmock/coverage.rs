//! `evalmock coverage` over a journal dump.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn coverage_of_a_journal_dump_lists_exercised_and_missing_statuses() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get(&format!("/v1/eval/group/{GROUP_1}")).await.status,
        200
    );
    assert_eq!(app.get("/v1/eval/group/evalgrp_nope").await.status, 404);
    let dump = send(app.request(reqwest::Method::GET, "/__mock/requests")).await;
    let dir = TempDir::new("coverage");
    let file = dir.0.join("journal.json");
    std::fs::write(&file, dump.body.to_string()).expect("write dump");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(["coverage", "--format", "json"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let group = report["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|o| o["operation"] == "getEvalGroup")
        .expect("getEvalGroup");
    assert_eq!(group["requests"], 2);
    let exercised = |status: &str| {
        group["statuses"]
            .as_array()
            .expect("statuses")
            .iter()
            .find(|s| s["status"] == status)
            .map(|s| s["exercised"] == true)
    };
    assert_eq!(exercised("200"), Some(true));
    assert_eq!(exercised("404"), Some(true));
    assert_eq!(exercised("500"), Some(false));
    assert_eq!(report["summary"]["operationsExercised"], 1);
    assert_eq!(report["summary"]["operations"], 8);

    let broken = dir.0.join("broken.json");
    std::fs::write(&broken, "{\"nope\": 1}").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .arg("coverage")
        .arg(&broken)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
}
