//! Scenarios: the bundled ones as a frontend team uses them, every rule kind from a scenario
//! file of one's own, choosing them (flag, admin API, header), and the load-time checks.

use std::time::{Duration, Instant};

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The mock with the bundled files and `scenario` active from the start.
async fn spawn_in(scenario: &str) -> TestApp {
    TestApp::spawn_with(
        Sources::default(),
        EngineOptions {
            scenario: Some(scenario.to_string()),
            ..instant()
        },
    )
    .await
}

/// The mock on a copy of the bundled fixtures plus `scenarios/NAME.yaml` holding `yaml`.
fn fixtures_with_scenario(name: &str, yaml: &str) -> TempDir {
    let dir = TempDir::new(&format!("scenario-{name}"));
    copy_dir(&repo_path("fixtures"), &dir.0);
    std::fs::write(dir.0.join("scenarios").join(format!("{name}.yaml")), yaml)
        .expect("write scenario");
    dir
}

async fn spawn_custom(name: &str, yaml: &str) -> (TestApp, TempDir) {
    let dir = fixtures_with_scenario(name, yaml);
    let app = TestApp::spawn_with(
        Sources {
            fixtures: Some(dir.0.clone()),
            ..Sources::default()
        },
        EngineOptions {
            scenario: Some(name.to_string()),
            ..instant()
        },
    )
    .await;
    (app, dir)
}

fn stream_body() -> Value {
    request_example("/v1/eval/stream", "twoModels")
}

/// The `data` payloads of an SSE body.
fn events_of(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            let data = m
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("an event without data: {m:?}"));
            serde_json::from_str(data).expect("event data is JSON")
        })
        .collect()
}

async fn set_scenario(app: &TestApp, name: Value) -> Reply {
    let reply = send(
        app.request(Method::PUT, "/__mock/scenario")
            .json(&json!({ "name": name })),
    )
    .await;
    assert_admin_contract("PUT", "/__mock/scenario", &reply);
    reply
}

#[tokio::test]
async fn the_bundled_scenarios_are_listed_and_one_is_chosen_at_runtime() {
    let app = TestApp::spawn().await;
    let listed = send(app.request(Method::GET, "/__mock/scenario")).await;
    assert_eq!(listed.status, 200);
    assert_admin_contract("GET", "/__mock/scenario", &listed);
    let names: Vec<&str> = listed.body["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "connection-drops",
            "empty-account",
            "expired-key",
            "failed-batch",
            "flaky",
            "quota-exhausted",
            "slow-network",
            "stream-fails-midway"
        ]
    );
    assert_eq!(listed.body["active"], Value::Null);
    assert_eq!(app.get("/v1/eval/batches").await.status, 200);

    let chosen = set_scenario(&app, json!("expired-key")).await;
    assert_eq!(chosen.status, 200);
    assert_eq!(chosen.body["active"], "expired-key");
    assert_eq!(chosen.body["state"], "start");
    assert_eq!(app.get("/v1/eval/batches").await.status, 401);

    let unknown = set_scenario(&app, json!("on-fire")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("evalmock-error"), Some("unknown-scenario"));
    let detail = unknown.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("\"on-fire\"") && detail.contains("flaky"),
        "{detail}"
    );
    let malformed = send(
        app.request(Method::PUT, "/__mock/scenario")
            .json(&json!({"scenario": "flaky"})),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert_admin_contract("PUT", "/__mock/scenario", &malformed);

    assert_eq!(
        set_scenario(&app, Value::Null).await.body["active"],
        Value::Null
    );
    assert_eq!(app.get("/v1/eval/batches").await.status, 200);
}

#[tokio::test]
async fn a_request_picks_its_own_scenario_with_the_mocks_header() {
    let app = spawn_in("expired-key").await;
    let own = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-scenario", "empty-account"),
    )
    .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["batches"], json!([]));
    let none = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-scenario", "none"),
    )
    .await;
    assert_eq!(none.status, 200);
    assert!(!none.body["batches"].as_array().expect("batches").is_empty());
    let unknown = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-scenario", "on-fire"),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.header("evalmock-error"), Some("unknown-scenario"));
    assert!(
        unknown.body["available"]
            .as_array()
            .expect("list")
            .contains(&json!("flaky"))
    );
    // The active scenario still answers requests that name none.
    assert_eq!(app.get("/v1/eval/batches").await.status, 401);
}

#[tokio::test]
async fn empty_account_lists_nothing_and_every_id_is_unknown_in_the_apis_words() {
    let app = spawn_in("empty-account").await;
    let listing = app.get("/v1/eval/batches").await;
    let group = app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    let record = app
        .post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    let results = app
        .get("/v1/eval/evalbatch_01jvxxxxxxxxxxxxxxxxxxxxxx/results")
        .await;
    insta::assert_json_snapshot!(json!({
        "listing": [listing.status, listing.body],
        "group": [group.status, group.body],
        "compareRecord": [record.status, record.body],
        "results": [results.status, results.body],
    }));
    let entries = app.journal("?limit=1").await;
    assert_eq!(entries[0]["source"]["kind"], "scenario");
    assert_eq!(entries[0]["source"]["detail"], "empty-account: no results");
    // 404 is the data's state, not a failing server: a request without a key still gets 401.
    let anonymous = send(app.request(Method::GET, &format!("/v1/eval/group/{GROUP_1}"))).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn failed_batch_shows_every_batch_failed_in_listings_and_groups() {
    let app = spawn_in("failed-batch").await;
    for path in [
        "/v1/eval/batches".to_string(),
        format!("/v1/eval/group/{GROUP_3}"),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let batches = reply.body["batches"].as_array().expect("batches");
        assert!(!batches.is_empty());
        assert!(
            batches.iter().all(|b| b["status"] == "failed"),
            "{path}: {batches:?}"
        );
        // Everything else of the batch is the fixtures'.
        assert!(batches.iter().all(|b| b["batchExecutionId"].is_string()));
    }
}

#[tokio::test]
async fn quota_exhausted_refuses_new_evals_with_402_and_still_reads() {
    let app = spawn_in("quota-exhausted").await;
    let submit = app
        .post_json(
            "/v1/eval/submit",
            request_example("/v1/eval/submit", "multiModelEval"),
        )
        .await;
    let stream = app.post_json("/v1/eval/stream", stream_body()).await;
    insta::assert_json_snapshot!(json!({
        "submit": [submit.status, submit.body],
        "stream": [stream.status, stream.body],
    }));
    assert_eq!(app.get("/v1/eval/batches").await.status, 200);
}

#[tokio::test]
async fn expired_key_answers_401_whatever_the_request() {
    let app = spawn_in("expired-key").await;
    let valid = app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    let invalid = app.post_json("/v1/eval/compare-record", json!({})).await;
    assert_eq!((valid.status, invalid.status), (401, 401));
    assert_eq!(valid.body, invalid.body);
    insta::assert_json_snapshot!(valid.body);
}

#[tokio::test]
async fn flaky_fails_every_third_call_with_the_apis_500_and_reset_starts_counting_again() {
    let app = spawn_in("flaky").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/v1/eval/batches").await.status);
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);
    let entries = app.journal("?status=500&limit=1").await;
    assert_eq!(
        entries[0]["source"],
        json!({"kind": "scenario", "detail": "flaky: every third call fails"})
    );
    assert_eq!(entries[0]["errorCodes"], json!(["INTERNAL_ERROR"]));
    let reset = send(
        app.request(Method::POST, "/__mock/reset")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(reset.status, 204);
    let mut again = Vec::new();
    for _ in 0..3 {
        again.push(app.get("/v1/eval/batches").await.status);
    }
    assert_eq!(again, [200, 200, 500]);
}

#[tokio::test]
async fn slow_network_delays_each_answer_by_an_amount_drawn_from_its_range_with_the_seed() {
    let app = spawn_in("slow-network").await;
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(app.get("/v1/eval/batches").await.status, 200);
    }
    let waited = started.elapsed();
    let delays = |entries: &[Value]| -> Vec<u64> {
        entries
            .iter()
            .map(|e| e["delayMs"].as_u64().expect("delayMs"))
            .collect()
    };
    let first = delays(&app.journal("?limit=3").await);
    assert!(first.iter().all(|d| (300..=1500).contains(d)), "{first:?}");
    assert!(
        waited >= Duration::from_millis(first.iter().sum()),
        "the client waited {waited:?} for delays {first:?}"
    );
    // The same seed draws the same delays: a second mock, or this one after a reset.
    let other = spawn_in("slow-network").await;
    for _ in 0..3 {
        other.get("/v1/eval/batches").await;
    }
    assert_eq!(delays(&other.journal("?limit=3").await), first);
}

#[tokio::test]
async fn stream_fails_midway_ends_with_the_served_versions_error_event() {
    let app = spawn_in("stream-fails-midway").await;
    for (version, error_type) in [("2026-06", "flow_error"), ("2026-09", "execution_error")] {
        let response = app
            .request(Method::POST, "/v1/eval/stream")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-api-version", version)
            .json(&stream_body())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let events = events_of(&response.text().await.expect("the stream ends cleanly"));
        // Six events, then one error event per execution under way (two configs).
        assert_eq!(events.len(), 8, "{version}: {events:#?}");
        for failure in &events[6..] {
            assert_eq!(failure["type"], error_type, "{version}");
            assert_eq!(failure["error"]["code"], "internal_error");
            assert_eq!(
                failure["error"]["message"],
                "The model provider returned an error; the run was stopped."
            );
        }
        let executions: std::collections::HashSet<&str> = events[6..]
            .iter()
            .map(|e| e["executionId"].as_str().expect("executionId"))
            .collect();
        assert_eq!(executions.len(), 2, "{version}");
        let entry = &app.journal("?limit=1").await[0];
        assert_eq!(
            entry["violations"],
            json!([]),
            "{version}: validated and valid"
        );
    }
}

#[tokio::test]
async fn a_stream_error_without_after_keeps_the_first_half_of_the_events() {
    let app = TestApp::spawn_with(Sources::default(), instant()).await;
    let stream = |prefer: Option<&str>| {
        let mut request = app
            .request(Method::POST, "/v1/eval/stream")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .json(&stream_body());
        if let Some(prefer) = prefer {
            request = request.header("Prefer", prefer);
        }
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200);
            events_of(&response.text().await.expect("the stream ends cleanly"))
        }
    };
    // Each event by what it is (times differ between two runs).
    let shape = |events: Vec<Value>| -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{} {} {}", e["type"], e["executionId"], e["seq"]))
            .collect()
    };
    let whole = shape(stream(None).await);
    let broken = shape(stream(Some("fault=stream-error")).await);
    let kept = whole.len() / 2;
    assert!(kept >= 2, "a stream long enough to halve: {whole:?}");
    assert_eq!(
        broken[..kept],
        whole[..kept],
        "the first half, as in the whole stream"
    );
    assert!(broken.len() > kept, "at least one error event: {broken:?}");
    assert!(
        broken[kept..]
            .iter()
            .all(|e| e.starts_with("\"execution_error\"")),
        "then only the version's error events: {broken:?}"
    );
}

#[tokio::test]
async fn connection_drops_cuts_streams_and_resets_every_second_call() {
    let app = spawn_in("connection-drops").await;
    let response = app
        .request(Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .json(&stream_body())
        .send()
        .await
        .expect("the stream starts");
    let (events, error) = read_until_error(response).await;
    assert_eq!(events_of(&events).len(), 5);
    assert!(error.is_some(), "the stream must break, not end");

    let first = app
        .request(Method::GET, "/v1/eval/batches")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .send()
        .await;
    let second = app
        .request(Method::GET, "/v1/eval/batches")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .send()
        .await;
    assert!(first.is_ok(), "the first call answers");
    assert!(second.is_err(), "the second call's connection is reset");
    let faults: Vec<Value> = app
        .journal("?limit=3")
        .await
        .iter()
        .map(|e| e["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        [json!("connection-reset"), Value::Null, json!("stream-cut")]
    );
}

/// Reads a streamed body until it ends or breaks: (text received, the error if it broke).
async fn read_until_error(mut response: reqwest::Response) -> (String, Option<reqwest::Error>) {
    let mut text = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => text.extend_from_slice(&chunk),
            Ok(None) => return (String::from_utf8_lossy(&text).into_owned(), None),
            Err(e) => return (String::from_utf8_lossy(&text).into_owned(), Some(e)),
        }
    }
}

/// A scenario file using every kind of condition and answer.
const EVERY_RULE: &str = r#"
description: Every rule kind, for the tests.
rules:
  - name: header
    match: {operation: listEvalBatches, headers: {x-team: checkout}}
    respond:
      status: 200
      example: page
      headers: {x-answered-by: header-rule}
  - name: query
    match: {operation: listEvalBatches, query: {limit: "1"}}
    respond: {patch: {hasMore: false, count: 1}}
  - name: path parameter
    match: {path: "/v1/eval/group/{groupId}", params: {groupId: evalgrp_01jv0000000000000000000002}}
    respond: {status: 404}
  - name: body subset
    match: {operation: compareRecordAcrossEvals, body: {recordId: record_01jv0000000000000000000002}}
    respond: {status: 500}
  - name: first call fails then works
    match: {method: POST, path: /v1/eval/compare}
    sequence:
      - {status: 500}
      - {}
    afterSequence: pass
  - name: submitted
    match: {operation: submitEval}
    then: {state: running}
  - name: processing twice then completed
    match: {operation: getEvalGroup, state: running}
    sequence:
      - patch: {batches: {status: processing}}
      - patch: {batches: {status: processing}}
      - patch: {batches: {status: completed}}
    then: {state: done}
  - name: third and fifth results calls
    match: {operation: getEvalResults, call: [3, 5]}
    respond: {status: 500, body: {error: "Internal error", details: []}}
"#;

#[tokio::test]
async fn every_rule_kind_matches_and_answers_as_written() {
    let (app, _dir) = spawn_custom("every-rule", EVERY_RULE).await;
    let by_header = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("x-team", "checkout"),
    )
    .await;
    assert_eq!(by_header.header("x-answered-by"), Some("header-rule"));
    let example = app.get("/v1/eval/batches?limit=1").await;
    assert_eq!(example.body["hasMore"], false);
    assert_eq!(example.body["batches"].as_array().map(Vec::len), Some(1));

    assert_eq!(
        app.get(&format!("/v1/eval/group/{GROUP_1}")).await.status,
        200
    );
    let by_param = app
        .get("/v1/eval/group/evalgrp_01jv0000000000000000000002")
        .await;
    assert_eq!(by_param.status, 404);
    assert_eq!(by_param.body["details"][0]["code"], "EVAL_GROUP_NOT_FOUND");

    assert_eq!(
        app.post_json("/v1/eval/compare-record", docs_compare_record_body())
            .await
            .status,
        200
    );
    let by_body = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": "record_01jv0000000000000000000002"}),
        )
        .await;
    assert_eq!(by_body.status, 500);

    let compare = || app.post_json("/v1/eval/compare", json!({"evalGroupId": GROUP_1}));
    let sequence = [
        compare().await.status,
        compare().await.status,
        compare().await.status,
    ];
    assert_eq!(sequence, [500, 200, 200]);

    // The state machine: before a submit the group is as the fixtures say; after it, the
    // submitted group shows processing twice, then completed, then the usual answer.
    let submitted = app
        .post_json(
            "/v1/eval/submit",
            request_example("/v1/eval/submit", "multiModelEval"),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let group_id = submitted.body["evalGroupId"].as_str().expect("group id");
    let state = send(app.request(Method::GET, "/__mock/scenario")).await;
    assert_eq!(state.body["state"], "running");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let group = app.get(&format!("/v1/eval/group/{group_id}")).await;
        assert_eq!(group.status, 200, "{}", group.body);
        statuses.push(group.body["batches"][0]["status"].clone());
    }
    assert_eq!(
        statuses,
        [json!("processing"), json!("processing"), json!("completed")]
    );
    let state = send(app.request(Method::GET, "/__mock/scenario")).await;
    assert_eq!(state.body["state"], "done");

    let batch = "evalbatch_01jvaszsn036edcseyqtgbfb30";
    let mut results = Vec::new();
    for _ in 0..5 {
        results.push(app.get(&format!("/v1/eval/{batch}/results")).await.status);
    }
    assert_eq!(results, [200, 200, 500, 200, 500]);
}

#[tokio::test]
async fn a_prefer_header_wins_over_the_scenario_and_can_ask_for_delays_and_faults() {
    let app = spawn_in("expired-key").await;
    let chosen = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Prefer", "code=500, delay=150ms"),
    )
    .await;
    assert_eq!(chosen.status, 500);
    let entry = &app.journal("?limit=1").await[0];
    assert_eq!(entry["source"]["kind"], "prefer");
    assert_eq!(entry["delayMs"], 150);

    let bad = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Prefer", "fault=meltdown"),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("evalmock-error"), Some("invalid-prefer"));
    assert!(
        bad.body["detail"]
            .as_str()
            .expect("detail")
            .contains("connection-reset"),
        "lists the faults: {}",
        bad.body
    );
}

#[tokio::test]
async fn an_unknown_preferred_example_is_a_mock_error_listing_the_names() {
    let app = TestApp::spawn().await;
    let reply = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Prefer", "example=nope"),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("evalmock-error"), Some("unknown-example"));
    assert_eq!(reply.body["available"], json!(["page"]));
    let named = send(
        app.request(Method::GET, "/v1/eval/batches")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Prefer", "example=page"),
    )
    .await;
    assert_eq!(named.status, 200);
}

#[tokio::test]
async fn global_latency_is_drawn_from_its_range_and_repeats_for_a_seed() {
    let spawn = |seed| {
        TestApp::spawn_with(
            Sources::default(),
            EngineOptions {
                latency: Some(evalmock::scenarios::Delay::parse("5ms..60ms").expect("range")),
                seed,
                ..instant()
            },
        )
    };
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let app = spawn(seed).await;
        for _ in 0..4 {
            app.get("/v1/eval/batches").await;
        }
        let delays: Vec<u64> = app
            .journal("?limit=4")
            .await
            .iter()
            .map(|e| e["delayMs"].as_u64().expect("delay"))
            .collect();
        assert!(delays.iter().all(|d| (5..=60).contains(d)), "{delays:?}");
        runs.push(delays);
    }
    assert_eq!(runs[0], runs[1], "the same seed draws the same delays");
    assert_ne!(runs[0], runs[2], "another seed draws others");
}

/// Scenario files with mistakes, and what loading says about each.
#[test]
fn a_broken_scenario_file_is_a_load_error_naming_the_file_and_place() {
    let cases = [
        (
            "rules:\n  - match: {operation: listEvalBatches}\n    respond: {status: 200, body: {batches: 3}}\n",
            "rules[0].respond",
            "`limit` is required",
        ),
        (
            "rules:\n  - match: {operation: listEvalBatches}\n    respond: {example: nope}\n",
            "rules[0].respond",
            "its examples are page",
        ),
        (
            "rules:\n  - match: {operation: listEvalBatchez}\n",
            "rules[0].match",
            "listEvalBatches",
        ),
        (
            "rules:\n  - match: {operation: listEvalBatches}\n    respond: {status: 418}\n",
            "rules[0].respond",
            "does not declare status 418",
        ),
        (
            "rules:\n  - match: {operation: listEvalBatches}\n    respond: {patch: {hasMore: yes please}}\n",
            "rules[0].respond",
            "hasMore",
        ),
        (
            "rules:\n  - match: {operation: listEvalBatches}\n    respond: {delay: soon}\n",
            "rules[0].respond.delay",
            "",
        ),
    ];
    for (yaml, place, words) in cases {
        let dir = fixtures_with_scenario("broken", yaml);
        let error = evalmock::app::load(
            &Sources {
                fixtures: Some(dir.0.clone()),
                ..Sources::default()
            },
            instant(),
        )
        .expect_err("a broken scenario does not load")
        .to_string();
        assert!(error.contains("scenarios/broken.yaml"), "{error}");
        assert!(error.contains(place), "{yaml}: {error}");
        assert!(error.contains(words), "{yaml}: {error}");
    }
}

#[test]
fn an_unknown_scenario_at_start_is_refused_with_the_names() {
    let error = evalmock::app::load(
        &Sources::default(),
        EngineOptions {
            scenario: Some("on-fire".into()),
            ..instant()
        },
    )
    .expect_err("no such scenario")
    .to_string();
    assert!(
        error.contains("on-fire") && error.contains("slow-network"),
        "{error}"
    );
}

/// The scenario example of README.md, as a user copies it.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README.md");
    let start = readme
        .find("# my-fixtures/scenarios/checkout.yaml")
        .expect("README shows a scenario file");
    let end = start + readme[start..].find("```").expect("the block ends");
    readme[start..end].to_string()
}

#[tokio::test]
async fn the_readme_scenario_example_passes_check_and_answers_as_described() {
    let dir = fixtures_with_scenario("checkout", &readme_example());
    let fixtures = dir.0.to_string_lossy().to_string();
    let (code, stdout, stderr) = run_evalmock(&["check", "--fixtures", &fixtures]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("9 scenarios"), "{stdout}");
    let app = TestApp::spawn_with(
        Sources {
            fixtures: Some(dir.0.clone()),
            ..Sources::default()
        },
        EngineOptions {
            scenario: Some("checkout".into()),
            ..instant()
        },
    )
    .await;
    let compare = || app.post_json("/v1/eval/compare", json!({"evalGroupId": GROUP_1}));
    assert_eq!([compare().await.status, compare().await.status], [500, 200]);
    let entry = &app.journal("?limit=1").await[0];
    assert_eq!(entry["delayMs"], 80, "the scenario's latency");
}

#[test]
fn check_names_a_broken_scenario_and_counts_recordings() {
    let broken = fixtures_with_scenario(
        "broken",
        "rules:\n  - match: {operation: getEvalGroup}\n    respond: {status: 402}\n",
    );
    let fixtures = broken.0.to_string_lossy().to_string();
    let (code, _, stderr) = run_evalmock(&["check", "--fixtures", &fixtures]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(
            "scenarios/broken.yaml: rules[0].respond: getEvalGroup does not declare status 402"
        ),
        "{stderr}"
    );
    let recordings = TempDir::new("check-recordings");
    std::fs::write(
        recordings.0.join("0001-getEvalGroup-200.yaml"),
        format!("rules:\n- match: {{method: GET, path: /v1/eval/group/{GROUP_1}}}\n  respond: {{status: 200, body: {{}}}}\n"),
    )
    .expect("write");
    let replay = recordings.0.to_string_lossy().to_string();
    let (code, stdout, stderr) = run_evalmock(&["check", "--replay", &replay, "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["recordings"], 1);
    std::fs::write(recordings.0.join("0002-bad.yaml"), "rules:\n- matchh: {}\n").expect("write");
    let (code, stdout, _) = run_evalmock(&["check", "--replay", &replay, "--format", "json"]);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert!(
        report["error"]["file"]
            .as_str()
            .expect("file")
            .ends_with("0002-bad.yaml"),
        "{report}"
    );
}
