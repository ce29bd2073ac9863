//! `Prefer: dynamic=true`: seeded values valid against both bundled specs for every operation
//! and declared status, that look like the API's data (prefixed ULID ids, ISO times, counts
//! and times that agree), the same for the same seed and different for another; streams send
//! valid generated events.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const VERSIONS: [&str; 2] = ["2026-06", "2026-09"];
const SEEDS: [u64; 5] = [1, 2, 3, 42, 90_210];
const BATCH: &str = "evalbatch_01jvaz0h7wafn4p8qmgqv3np40";

/// The id fields and their prefixes, as the fixtures spell them.
const ID_FIELDS: &[(&str, &str)] = &[
    ("evalGroupId", "evalgrp"),
    ("batchExecutionId", "evalbatch"),
    ("recordId", "record"),
    ("flowId", "flow"),
    ("stepId", "step"),
    ("executionId", "exec"),
    ("stepResultId", "stepres"),
    ("toolExecutionId", "toolexec"),
];

/// A valid request for each operation (dynamic answers come after validation).
fn request_for(method: &str, path_template: &str) -> (String, Option<Value>) {
    let body = match path_template {
        "/v1/eval/compare" => Some(json!({"evalGroupId": GROUP_1})),
        "/v1/eval/compare-record" => Some(docs_compare_record_body()),
        "/v1/eval/analyze-steps" => {
            Some(json!({"evalGroupId": GROUP_1, "stepIds": [], "searchTerms": ["refund"]}))
        }
        "/v1/eval/submit" => Some(request_example("/v1/eval/submit", "singleEval")),
        "/v1/eval/stream" => Some(
            json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}], "record": {"name": "Test Customer 1", "type": "customer", "metadata": {}}}),
        ),
        _ => None,
    };
    let path = path_template
        .replace("{groupId}", GROUP_1)
        .replace("{id}", BATCH);
    assert_eq!(body.is_some(), method == "POST", "{method} {path_template}");
    (path, body)
}

async fn dynamic(
    app: &TestApp,
    version: &str,
    method: &str,
    path: &str,
    body: &Option<Value>,
    prefer: &str,
) -> (u16, Option<String>, String) {
    let mut request = app
        .request(Method::from_bytes(method.as_bytes()).expect("method"), path)
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("evalmock-api-version", version)
        .header("Prefer", prefer);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let marker = response
        .headers()
        .get("evalmock-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, marker, response.text().await.expect("body"))
}

/// The payload(s) of an answer: the JSON body, or each event of a stream.
fn payloads(text: &str) -> Vec<Value> {
    if text.starts_with("data: ") {
        parse_sse(text)
    } else {
        vec![serde_json::from_str(text).expect("a JSON body")]
    }
}

/// Everything that must look like the API's data, wherever it sits in `value`.
fn assert_realistic(value: &Value, at: &str) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let here = format!("{at}.{key}");
                if let (Some((_, prefix)), Some(text)) =
                    (ID_FIELDS.iter().find(|(f, _)| f == key), child.as_str())
                {
                    assert!(
                        is_typeid(text, prefix),
                        "{here}: {text:?} is a {prefix}_ id"
                    );
                }
                if key.ends_with("At")
                    && let Some(text) = child.as_str()
                {
                    assert!(
                        text.len() == 24 && evalmock::clock::parse_iso_ms(text).is_some(),
                        "{here}: {text:?} is an ISO 8601 UTC time with ms"
                    );
                }
                assert_realistic(child, &here);
            }
            let count = |field: &str| object.get(field).and_then(Value::as_i64);
            if let (Some(total), Some(processed)) =
                (count("totalRecords"), count("processedRecords"))
            {
                assert!(processed <= total, "{at}: processed <= total");
                assert!(
                    count("failedRecords").unwrap_or(0) <= processed,
                    "{at}: failed <= processed"
                );
                if object.get("status") == Some(&json!("completed")) {
                    assert_eq!(
                        processed, total,
                        "{at}: a completed batch processed every record"
                    );
                }
            }
            let time = |field: &str| {
                object
                    .get(field)
                    .and_then(Value::as_str)
                    .and_then(evalmock::clock::parse_iso_ms)
            };
            let times: Vec<i64> = ["createdAt", "startedAt", "completedAt"]
                .iter()
                .filter_map(|f| time(f))
                .collect();
            assert!(
                times.is_sorted(),
                "{at}: createdAt <= startedAt <= completedAt"
            );
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_realistic(item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_operation_and_status_of_both_versions_answers_valid_realistic_dynamic_values() {
    let app = TestApp::spawn().await;
    for (version, text) in [
        ("2026-06", evalmock::config::BUNDLED_SPEC),
        ("2026-09", evalmock::config::BUNDLED_LATER_SPEC),
    ] {
        let spec = evalmock::spec::Spec::load(text, version).expect("spec loads");
        for op in spec.operations() {
            let (path, body) = request_for(op.method.as_str(), &op.path_template);
            for status in op.declared_statuses() {
                let Ok(code) = status.parse::<u16>() else {
                    continue;
                };
                for seed in SEEDS {
                    let prefer = format!("code={code}, dynamic=true, seed={seed}");
                    let (got, marker, text) =
                        dynamic(&app, version, op.method.as_str(), &path, &body, &prefer).await;
                    let what = format!("{version} {} {path} {prefer}", op.method);
                    // Strict response validation: a body that broke the spec would be a 500
                    // marked `response-invalid` (a chosen error status is marked `simulated`).
                    assert_eq!(got, code, "{what}: {text}");
                    assert_ne!(marker.as_deref(), Some("response-invalid"), "{what}");
                    for payload in payloads(&text) {
                        assert_realistic(&payload, &what);
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_values_and_another_seed_others() {
    let app = TestApp::spawn().await;
    for version in VERSIONS {
        for (method, template) in [
            ("GET", "/v1/eval/group/{groupId}"),
            ("POST", "/v1/eval/stream"),
            ("GET", "/v1/eval/{id}/results"),
        ] {
            let (path, body) = request_for(method, template);
            let get = |prefer: &'static str| {
                let (app, path, body) = (&app, path.clone(), body.clone());
                async move { dynamic(app, version, method, &path, &body, prefer).await.2 }
            };
            let seven = get("dynamic=true, seed=7").await;
            assert_eq!(seven, get("dynamic=true, seed=7").await, "{version} {path}");
            assert_ne!(seven, get("dynamic=true, seed=8").await, "{version} {path}");
            let unseeded = get("dynamic=true").await;
            assert_eq!(
                unseeded,
                get("dynamic=true").await,
                "{version} {path}: stable without a seed"
            );
        }
    }
}

#[tokio::test]
async fn a_dynamic_group_is_a_realistic_payload() {
    let app = TestApp::spawn().await;
    let (path, body) = request_for("GET", "/v1/eval/group/{groupId}");
    let (status, _, text) =
        dynamic(&app, "2026-09", "GET", &path, &body, "dynamic=true, seed=7").await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_dynamic_stream_sends_one_generated_run_of_valid_events_in_each_vocabulary() {
    let app = TestApp::spawn().await;
    let (path, body) = request_for("POST", "/v1/eval/stream");
    let mut runs = Vec::new();
    for version in VERSIONS {
        let (status, marker, text) =
            dynamic(&app, version, "POST", &path, &body, "dynamic=true, seed=7").await;
        assert_eq!((status, marker), (200, None), "{version}: {text}");
        let events = parse_sse(&text);
        assert!(events.len() >= 4, "a handful of events");
        let execution = events[0]["executionId"].as_str().expect("executionId");
        for (seq, event) in events.iter().enumerate() {
            if let Some(id) = event.get("executionId").and_then(Value::as_str) {
                assert_eq!(id, execution, "{version}: one execution");
            }
            if let Some(n) = event.get("seq").and_then(Value::as_u64) {
                assert_eq!(n, seq as u64, "{version}: seq counts from 0");
            }
        }
        runs.push(json!({"version": version, "events": events}));
    }
    insta::assert_json_snapshot!(runs);
}
