//! `serve --replay DIR`: recordings answered offline. A recording made through the proxy in
//! front of a real upstream round-trips; hand-written recordings cover repeated requests,
//! ignored fields, strict misses and the pace of replayed streams.

use std::time::{Duration, Instant};

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::recording::{get, post, proxy};
use crate::upstream::{self, BAD_GROUP};

async fn replaying(dir: &std::path::Path, strict: bool, speed: f64, ignore: &[&str]) -> TestApp {
    TestApp::spawn_with(
        Sources {
            replay: Some(dir.to_path_buf()),
            replay_ignore: ignore.iter().map(|s| s.to_string()).collect(),
            ..Sources::default()
        },
        EngineOptions {
            scenario: Some("replay".into()),
            replay_strict: strict,
            replay_speed: speed,
            ..instant()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_through_the_proxy_replays_offline_with_the_upstreams_answers() {
    let upstream = upstream::spawn(false).await;
    let dir = TempDir::new("replay-roundtrip");
    let record = dir.0.to_string_lossy().to_string();
    let proxy = proxy(
        &upstream.base,
        &["--record", &record, "--max-requests", "4"],
    );
    let group = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
    let group: Value = group.json().await.expect("JSON");
    let bad = get(proxy.url(&format!("/v1/eval/group/{BAD_GROUP}")), API_KEY).await;
    let bad: Value = bad.json().await.expect("JSON");
    let record_body = json!({"evalGroupId": GROUP_1, "recordId": RECORD_1, "stepIds": [STEP_1]});
    let compared = post(proxy.url("/v1/eval/compare-record"), record_body).await;
    let compared: Value = compared.json().await.expect("JSON");
    let stream = post(
        proxy.url("/v1/eval/stream"),
        json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}]}),
    )
    .await
    .text()
    .await
    .expect("stream");
    let (code, stdout, stderr) = proxy.wait_output(20);
    assert_eq!(
        code,
        Some(1),
        "the bad group violated the spec\n{stdout}\n{stderr}"
    );
    drop(upstream);

    let app = replaying(&dir.0, false, 1000.0, &[]).await;
    assert_eq!(
        app.get(&format!("/v1/eval/group/{GROUP_1}")).await.body,
        group
    );
    // The same JSON body, keys in another order, with other whitespace.
    let reordered = send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .body(format!(
                "{{ \"stepIds\": [\"{STEP_1}\"],\n  \"recordId\": \"{RECORD_1}\", \"evalGroupId\": \"{GROUP_1}\" }}"
            )),
    )
    .await;
    assert_eq!(reordered.status, 200);
    assert_eq!(reordered.body, compared);
    // An answer that broke the spec replays as recorded, its violations reported.
    let replayed_bad = app.get(&format!("/v1/eval/group/{BAD_GROUP}")).await;
    assert_eq!(replayed_bad.status, 200);
    assert_eq!(replayed_bad.body, bad);
    let entry = &app.journal("?limit=1").await[0];
    assert_eq!(entry["source"]["kind"], "scenario");
    assert!(
        entry["source"]["detail"]
            .as_str()
            .expect("detail")
            .starts_with("replay: "),
        "{entry}"
    );
    assert!(
        !entry["violations"]
            .as_array()
            .expect("violations")
            .is_empty()
    );
    // The stream: the same events.
    let replayed_stream = app
        .request(Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .json(&json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}]}))
        .send()
        .await
        .expect("stream")
        .text()
        .await
        .expect("ends");
    let data = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(data(&replayed_stream), data(&stream));
    assert_eq!(data(&stream).len(), 3);
    // Not recorded: the fixtures answer.
    let other = app
        .get("/v1/eval/group/evalgrp_01jv0000000000000000000002")
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(
        app.journal("?limit=1").await[0]["source"]["kind"],
        "prepared"
    );
}

fn write(dir: &std::path::Path, name: &str, yaml: &str) {
    std::fs::write(dir.join(name), yaml).expect("write recording");
}

fn recorded_compare(name: &str, body: &str, requested_at: &str) -> String {
    format!(
        r#"rules:
- name: {name}
  match:
    method: POST
    path: /v1/eval/compare
    body: {{evalGroupId: {GROUP_1}, requestedAt: "{requested_at}"}}
    bodyMatch: equal
  respond:
    status: 200
    headers: {{content-type: application/json}}
    body: {body}
"#
    )
}

#[tokio::test]
async fn a_request_recorded_twice_replays_its_answers_in_order_then_the_last_again() {
    let dir = TempDir::new("replay-twice");
    let first = r#"{evalGroupId: x, evals: [], stepIds: [], first: true}"#;
    let second = r#"{evalGroupId: x, evals: [], stepIds: [], first: false}"#;
    write(
        &dir.0,
        "0001-compareEvals-200.yaml",
        &recorded_compare("first", first, "t1"),
    );
    write(
        &dir.0,
        "0002-compareEvals-200.yaml",
        &recorded_compare("second", second, "t2"),
    );
    // `requestedAt` differs between the recordings and every request: ignored, they are one.
    let app = replaying(&dir.0, true, 1.0, &["requestedAt"]).await;
    let mut seen = Vec::new();
    for at in ["now", "later", "much later"] {
        let reply = app
            .post_json(
                "/v1/eval/compare",
                json!({"evalGroupId": GROUP_1, "requestedAt": at}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        seen.push(reply.body["first"].clone());
    }
    assert_eq!(seen, [json!(true), json!(false), json!(false)]);
}

#[tokio::test]
async fn strict_replay_names_the_closest_recordings_and_how_they_differ() {
    let dir = TempDir::new("replay-strict");
    write(
        &dir.0,
        "0001-compareEvals-200.yaml",
        &recorded_compare("compare", "{evalGroupId: x, evals: []}", "t1"),
    );
    let unrecorded = json!({"evalGroupId": GROUP_1, "requestedAt": "t9"});
    let app = replaying(&dir.0, true, 1.0, &[]).await;
    let miss = app.post_json("/v1/eval/compare", unrecorded.clone()).await;
    assert_eq!(miss.status, 404);
    assert_eq!(miss.header("evalmock-error"), Some("no-recording"));
    let closest = &miss.body["closest"][0];
    assert!(
        closest["recording"]
            .as_str()
            .expect("file")
            .ends_with("0001-compareEvals-200.yaml"),
        "{}",
        miss.body
    );
    assert_eq!(
        closest["differences"],
        json!(["body differs: requestedAt is \"t9\", not \"t1\""])
    );
    // Without --replay-strict the fixtures answer a miss.
    let lenient = replaying(&dir.0, false, 1.0, &[]).await;
    let answered = lenient.post_json("/v1/eval/compare", unrecorded).await;
    assert_eq!(answered.status, 200);
}

#[tokio::test]
async fn a_replayed_stream_keeps_its_recorded_pace_scaled_by_the_replay_speed() {
    let dir = TempDir::new("replay-pace");
    write(
        &dir.0,
        "0001-streamEvalExecution-200.yaml",
        r#"rules:
- name: stream
  match: {method: POST, path: /v1/eval/stream}
  respond:
    status: 200
    headers: {content-type: text/event-stream}
    events:
    - {data: {type: flow_start, flowId: flow_1, flowName: F, totalSteps: 1}, delay: 0}
    - {data: {type: flow_complete, flowId: flow_1, success: true}, delay: 2000}
"#,
    );
    for (speed, at_least, under) in [(100.0, 20, 1500), (4.0, 500, 1900)] {
        let app = replaying(&dir.0, true, speed, &[]).await;
        let started = Instant::now();
        let text = app
            .request(Method::POST, "/v1/eval/stream")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .json(&stream_request())
            .send()
            .await
            .expect("stream")
            .text()
            .await
            .expect("ends");
        let took = started.elapsed();
        assert_eq!(text.matches("data: ").count(), 2, "{text}");
        assert!(
            took >= Duration::from_millis(at_least) && took < Duration::from_millis(under),
            "speed {speed}: a 2 s pause took {took:?}"
        );
    }
}

fn stream_request() -> Value {
    json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}]})
}

#[test]
fn serve_replay_is_a_flag_of_the_binary_and_a_missing_folder_is_refused() {
    let (code, _, stderr) = run_evalmock(&[
        "serve",
        "--port",
        "0",
        "--replay",
        "/nonexistent/recordings",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "cannot replay the recordings: cannot read fixtures from /nonexistent/recordings"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "said once: {stderr}"
    );
}
