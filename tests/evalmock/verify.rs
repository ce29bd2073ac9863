//! `evalmock verify` against the mock itself and a non-conforming provider; `check --format`.

use crate::helpers::*;
use crate::upstream;

#[tokio::test(flavor = "multi_thread")]
async fn verify_against_the_mock_itself_passes_and_exits_0() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run_evalmock(&["verify", "--upstream", &base, "--token", API_KEY])
    })
    .await
    .expect("joins");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("23 cases, 23 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("404 with an unknown id"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_against_a_non_conforming_provider_exits_1_with_junit_naming_the_operation() {
    let upstream = upstream::spawn(true).await;
    let base = upstream.base.clone();
    let (code, junit, stderr) = tokio::task::spawn_blocking(move || {
        run_evalmock(&[
            "verify",
            "--upstream",
            &base,
            "--token",
            API_KEY,
            "--format",
            "junit",
        ])
    })
    .await
    .expect("joins");
    assert_eq!(code, Some(1), "{junit}{stderr}");
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_eq!(junit.matches("<testsuite ").count(), 1);
    let failing = junit
        .split("<testcase ")
        .find(|case| case.contains("classname=\"getEvalGroup\"") && case.contains("valid request"))
        .expect("a test case for getEvalGroup");
    assert!(failing.contains("<failure"), "{failing}");
    assert!(failing.contains("status"), "{failing}");
}

#[test]
fn verify_exits_2_when_the_upstream_is_unreachable() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let (code, _, stderr) = run_evalmock(&["verify", "--upstream", &base]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the upstream"), "{stderr}");
}

#[test]
fn check_reports_as_json_and_junit_with_the_same_exit_codes() {
    let (code, json, _) = run_evalmock(&["check", "--format", "json"]);
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["operations"], 16);
    let (code, junit, _) =
        run_evalmock(&["check", "--format", "junit", "--spec", "/nonexistent.yaml"]);
    assert_eq!(code, Some(1));
    assert!(
        junit.contains("<failure message=\"cannot read the spec /nonexistent.yaml"),
        "{junit}"
    );
}
