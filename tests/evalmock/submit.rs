//! `POST /v1/eval/submit`: the four vendor request shapes, what cannot run, the quota, and the
//! new batches showing up everywhere.

use std::time::Duration;

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use evalmock::engine::SubmitSettings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The vendor's named submit examples, from our spec (they are the same values).
fn vendor_example(name: &str) -> Value {
    request_example("/v1/eval/submit", name)
}

#[tokio::test]
async fn the_four_vendor_request_shapes_are_accepted() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for name in [
        "singleEval",
        "multiModelEval",
        "adHocRecords",
        "toolVariations",
    ] {
        let body = vendor_example(name);
        assert!(body.is_object(), "example {name} exists");
        let reply = app.post_json("/v1/eval/submit", body).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        answers.push(json!({"example": name, "answer": reply.body}));
    }
    // Ids are ULIDs from the clock now: their shape is checked, their value redacted.
    insta::assert_json_snapshot!(answers, {
        ".**.batchExecutionId" => ulid_id("evalbatch"), ".**.evalGroupId" => ulid_id("evalgrp")
    });
}

#[tokio::test]
async fn a_submitted_eval_shows_up_in_every_operation() {
    let app = TestApp::spawn().await;
    let submitted = app
        .post_json("/v1/eval/submit", vendor_example("multiModelEval"))
        .await;
    let group_id = submitted.body["evalGroupId"]
        .as_str()
        .expect("evalGroupId")
        .to_string();
    let batch_ids: Vec<String> = submitted.body["submissions"]
        .as_array()
        .expect("submissions")
        .iter()
        .map(|s| s["batchExecutionId"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(batch_ids.len(), 4);

    let listing = app.get("/v1/eval/batches?limit=4").await;
    let newest: Vec<&str> = listing.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["batchExecutionId"].as_str().expect("id"))
        .collect();
    for id in &batch_ids {
        assert!(
            newest.contains(&id.as_str()),
            "the new batches are the newest: {newest:?}"
        );
    }

    let group = app.get(&format!("/v1/eval/group/{group_id}")).await;
    assert_eq!(group.status, 200);
    assert_eq!(group.body["totalEvals"], 4);
    assert!(
        group.body["batches"]
            .as_array()
            .expect("batches")
            .iter()
            .all(|b| b["status"] == "completed"),
        "instant run time in tests"
    );

    let results = app.get(&format!("/v1/eval/{}/results", batch_ids[1])).await;
    assert_eq!(results.status, 200);
    assert_eq!(results.body["evalName"], "Claude Sonnet");
    let steps: Vec<&Value> = results.body["resultsByRecord"]
        .as_object()
        .expect("by record")
        .values()
        .flat_map(|v| v.as_array().expect("steps"))
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s["stepId"] == STEP_1 && s["modelUsed"] == "claude-sonnet-4-5"),
        "the override's model ran step 1"
    );

    let compare = app
        .post_json("/v1/eval/compare", json!({"evalGroupId": group_id}))
        .await;
    assert_eq!(compare.status, 200);
    let compared_record = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": group_id, "recordId": RECORD_1}),
        )
        .await;
    assert_eq!(compared_record.status, 200);
    assert_eq!(
        compared_record.body["evals"]
            .as_array()
            .expect("evals")
            .len(),
        4
    );
    insta::assert_json_snapshot!(group.body, {
        ".**.createdAt" => "[time]", ".**.startedAt" => "[time]", ".**.completedAt" => "[time]",
        ".**.batchExecutionId" => ulid_id("evalbatch"), ".**.evalGroupId" => ulid_id("evalgrp")
    });
}

#[tokio::test]
async fn the_later_apis_request_shapes_run_as_the_current_client_sends_them() {
    let app = TestApp::spawn().await;
    let saved = "evalcfg_01jvaz0h7wafn4p8qmgqv3np40";
    let accepted = [
        // The typed SDK call cannot send flowId or records: with `agent`, a saved config names
        // the flow, and the eval runs on the flow's saved records.
        json!({"agent": {"alias": "production"}, "evalConfigs": [{"evalConfigId": saved}]}),
        json!({"agent": {"alias": "production"}, "evalConfig": {"overrides": {"steps": {STEP_1: {"model": "claude-haiku-4-5", "topP": 0.9}}}}}),
        json!({"flowId": FLOW_1, "evalConfig": {"evalName": "no records named"}}),
        // A saved config's step overrides join the spelling the request uses, so the batch's
        // echoed config never holds both spellings (found by schemathesis).
        json!({"agent": {"versionId": "v1"}, "evalConfigs": [{"evalConfigId": saved, "overrides": {"flow": {"maxTurns": 3}}}]}),
    ];
    for body in accepted {
        let reply = app.post_json("/v1/eval/submit", body.clone()).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.body);
    }
    let listing = app.get("/v1/eval/batches").await;
    assert_eq!(
        listing.status, 200,
        "every echoed config is valid: {}",
        listing.body
    );
    let all_records = app
        .post_json(
            "/v1/eval/submit",
            json!({"flowId": FLOW_1, "evalConfig": {}}),
        )
        .await;
    let group = app
        .get(&format!(
            "/v1/eval/group/{}",
            all_records.body["evalGroupId"].as_str().expect("group id")
        ))
        .await;
    assert_eq!(
        group.body["batches"][0]["totalRecords"], 20,
        "without records the eval runs on all 20 of the flow's records"
    );

    let mut refused = Vec::new();
    for (case, body) in [
        (
            "both spellings of step overrides",
            json!({"flowId": FLOW_1, "evalConfig": {"stepOverrides": {STEP_1: {"model": "gpt-4o"}}, "overrides": {"steps": {STEP_1: {"model": "gpt-4o"}}}}}),
        ),
        (
            "unknown saved config",
            json!({"agent": {"alias": "production"}, "evalConfigs": [{"evalConfigId": "evalcfg_01jv0000000000000000000000"}]}),
        ),
        ("no target", json!({"evalConfig": {}})),
        (
            "a saved config of another flow",
            json!({"flowId": "flow_01jv0000000000000000000002", "evalConfigs": [{"evalConfigId": saved}]}),
        ),
    ] {
        let reply = app.post_json("/v1/eval/submit", body).await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.body);
        refused.push(json!({"case": case, "answer": reply.body}));
    }
    insta::assert_json_snapshot!(refused);
}

#[tokio::test]
async fn what_cannot_run_is_rejected_with_every_problem_at_its_path() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    let cases = [
        (
            "no flow, no records",
            json!({"evalName": "x", "evalConfig": {}}),
        ),
        (
            "conflicting fields",
            json!({"flowId": FLOW_1, "evalName": "x", "evalConfig": {}, "evalConfigs": [{"evalName": "y"}], "recordIds": [RECORD_1], "records": [{"name": "n", "type": "t"}]}),
        ),
        (
            "unknown flow",
            json!({"flowId": "flow_nope", "evalName": "x", "evalConfig": {}, "recordIds": [RECORD_1]}),
        ),
        (
            "unknown record and step",
            json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "a", "stepOverrides": {"step_nope": {"model": "gpt-4o"}}}], "recordIds": [RECORD_1, "record_nope"]}),
        ),
        (
            "empty records",
            json!({"flowId": FLOW_1, "evalName": "x", "evalConfig": {}, "recordIds": []}),
        ),
        (
            "bad override values",
            json!({"flowId": FLOW_1, "evalName": "x", "evalConfig": {"stepOverrides": {STEP_1: {"temperature": 3, "tools": {"toolCallStrategy": "sometimes"}}}}, "recordIds": [RECORD_1]}),
        ),
    ];
    // The documented version's rules (2026-06); the later API's are tested above.
    for (case, body) in cases {
        let reply = send(
            app.request(reqwest::Method::POST, "/v1/eval/submit")
                .header("Authorization", format!("Bearer {API_KEY}"))
                .header("Content-Type", "application/json")
                .header("evalmock-api-version", "2026-06")
                .body(body.to_string()),
        )
        .await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.body);
        answers.push(json!({"case": case, "answer": reply.body}));
    }
    insta::assert_json_snapshot!(answers);
}

#[tokio::test]
async fn the_quota_answers_402_until_reset() {
    let options = EngineOptions {
        submit: SubmitSettings {
            quota: Some(1),
            run_time: Duration::ZERO,
        },
        ..instant()
    };
    let app = TestApp::spawn_with(Sources::default(), options).await;
    let first = app
        .post_json("/v1/eval/submit", vendor_example("singleEval"))
        .await;
    assert_eq!(first.status, 200);
    let second = app
        .post_json("/v1/eval/submit", vendor_example("singleEval"))
        .await;
    assert_eq!(second.status, 402);
    insta::assert_json_snapshot!(second.body);
    let stream = app
        .post_json(
            "/v1/eval/stream",
            json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "a"}], "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(stream.status, 402, "streams count against the same quota");

    let reset = send(
        app.request(Method::POST, "/__mock/reset")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(reset.status, 204);
    let group = app
        .get(&format!(
            "/v1/eval/group/{}",
            first.body["evalGroupId"].as_str().expect("id")
        ))
        .await;
    assert_eq!(group.status, 404, "reset forgets submitted evals");
    let again = app
        .post_json("/v1/eval/submit", vendor_example("singleEval"))
        .await;
    assert_eq!(again.status, 200, "reset restores the quota");
    assert_ne!(
        again.body["evalGroupId"], first.body["evalGroupId"],
        "ids never come back after a reset (a client may have cached them)"
    );
}

#[tokio::test]
async fn a_key_limited_to_some_groups_may_not_submit() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json_as(SCOPED_KEY, "/v1/eval/submit", vendor_example("singleEval"))
        .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn a_new_batch_is_queued_until_its_simulated_run_starts() {
    let options = EngineOptions {
        submit: SubmitSettings {
            quota: None,
            run_time: Duration::from_secs(600),
        },
        ..instant()
    };
    let app = TestApp::spawn_with(Sources::default(), options).await;
    let submitted = app
        .post_json("/v1/eval/submit", vendor_example("singleEval"))
        .await;
    let batch_id = submitted.body["batchExecutionId"].as_str().expect("id");
    let results = app.get(&format!("/v1/eval/{batch_id}/results")).await;
    assert_eq!(results.status, 200);
    assert_eq!(results.body["status"], "queued");
    assert_eq!(results.body["processedRecords"], 0);
    assert_eq!(results.body["resultsByRecord"], json!({}));
    assert!(
        results.body.get("completedAt").is_none(),
        "completedAt is left out until the batch finishes"
    );
}

/// Milliseconds since the epoch of an API time, or a failure naming the field.
fn ms(value: &Value, what: &str) -> i64 {
    value
        .as_str()
        .and_then(evalmock::clock::parse_iso_ms)
        .unwrap_or_else(|| panic!("{what} is an ISO time: {value}"))
}

/// What must hold of a batch summary at every poll, whatever its progress: `createdAt <=
/// startedAt <= completedAt <= now`, counts bounded, `completedAt` null until completed.
fn assert_batch_adds_up(batch: &Value, now: i64) -> (i64, i64, Option<i64>) {
    let created = ms(&batch["createdAt"], "createdAt");
    let started = ms(&batch["startedAt"], "startedAt");
    assert!(created <= started && started <= now, "{batch} at {now}");
    let (total, processed, failed) = (
        batch["totalRecords"].as_i64().expect("totalRecords"),
        batch["processedRecords"]
            .as_i64()
            .expect("processedRecords"),
        batch["failedRecords"].as_i64().expect("failedRecords"),
    );
    assert!(failed <= processed && processed <= total, "{batch}");
    let completed = match batch["status"].as_str() {
        Some("completed") => {
            let completed = ms(&batch["completedAt"], "completedAt");
            assert!(started <= completed && completed <= now, "{batch} at {now}");
            assert_eq!(processed, total, "{batch}");
            Some(completed)
        }
        Some("queued" | "processing") => {
            assert!(batch["completedAt"].is_null(), "not finished: {batch}");
            None
        }
        other => panic!("unexpected status {other:?}"),
    };
    (created, started, completed)
}

#[tokio::test]
async fn a_submitted_eval_compressed_into_the_run_time_never_stamps_the_future() {
    let run_ms = 1_000;
    let options = EngineOptions {
        submit: SubmitSettings {
            quota: None,
            run_time: Duration::from_millis(run_ms),
        },
        ..instant()
    };
    let app = TestApp::spawn_with(Sources::default(), options).await;
    let submitted = app
        .post_json("/v1/eval/submit", vendor_example("multiModelEval"))
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let group_id = submitted.body["evalGroupId"]
        .as_str()
        .expect("id")
        .to_string();
    let batch_id = submitted.body["submissions"][0]["batchExecutionId"]
        .as_str()
        .expect("id")
        .to_string();
    let mut unfinished_polls = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let group = app.get(&format!("/v1/eval/group/{group_id}")).await;
        let results = app.get(&format!("/v1/eval/{batch_id}/results")).await;
        // Taken after both answers: nothing in them may be later than this.
        let now = evalmock::clock::now_ms();
        assert_eq!((group.status, results.status), (200, 200));
        let batches = group.body["batches"].as_array().expect("batches");
        let mut done = true;
        for batch in batches {
            let (created, _, completed) = assert_batch_adds_up(batch, now);
            if let Some(completed) = completed {
                assert_eq!(
                    completed - created,
                    run_ms as i64,
                    "the run takes --eval-run-ms"
                );
            }
            done &= completed.is_some();
        }
        // Every step ran between the batch's start and its end (or now, while it runs).
        let started = ms(&results.body["startedAt"], "startedAt");
        let end = results
            .body
            .get("completedAt")
            .map_or(now, |c| ms(c, "completedAt"));
        for (record, steps) in results.body["resultsByRecord"].as_object().expect("map") {
            for step in steps.as_array().expect("steps") {
                let at = ms(&step["executedAt"], "executedAt");
                assert!(
                    started <= at && at <= end,
                    "{record}: {step} in [{started}, {end}]"
                );
                for call in step["toolCalls"].as_array().into_iter().flatten() {
                    let at = ms(&call["executedAt"], "tool call executedAt");
                    assert!(started <= at && at <= end, "{record}: {call}");
                }
            }
        }
        if done {
            break;
        }
        unfinished_polls += 1;
        assert!(std::time::Instant::now() < deadline, "the run completes");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(unfinished_polls > 0, "the run was observed under way");
}

/// The evalGroupId and batch ids of one submit answer.
fn submitted_ids(answer: &Value) -> Vec<String> {
    let mut ids = vec![answer["evalGroupId"].as_str().expect("id").to_string()];
    for entry in answer["submissions"].as_array().expect("submissions") {
        ids.push(entry["batchExecutionId"].as_str().expect("id").to_string());
    }
    ids
}

#[tokio::test]
async fn ids_are_unique_across_restarts_and_resets_and_never_those_of_a_stream() {
    let mut seen = std::collections::HashSet::new();
    for _restart in 0..2 {
        let app = TestApp::spawn().await;
        for _reset in 0..2 {
            let answer = app
                .post_json("/v1/eval/submit", vendor_example("multiModelEval"))
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            for id in submitted_ids(&answer.body) {
                let prefix = id.split('_').next().expect("prefix");
                assert!(is_typeid(&id, prefix), "{id} is a prefixed lowercase ULID");
                assert!(seen.insert(id.clone()), "{id} came back");
            }
            let reset = send(
                app.request(Method::POST, "/__mock/reset")
                    .header("evalmock-admin", "1"),
            )
            .await;
            assert_eq!(reset.status, 204);
        }
    }
    // A stream's seeded ids read as ULIDs of a time before any submission (ULIDs sort by
    // time), so the two kinds cannot meet.
    let app = TestApp::spawn().await;
    let stream = app
        .request(Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("Content-Type", "application/json")
        .body(json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}]}).to_string())
        .send()
        .await
        .expect("stream");
    let events = parse_sse(&stream.text().await.expect("body"));
    let execution = events[0]["executionId"].as_str().expect("executionId");
    let stream_time = &execution["exec_".len().."exec_".len() + 10];
    for id in &seen {
        let body = &id[id.find('_').expect("prefix") + 1..];
        assert!(stream_time < &body[..10], "{execution} sorts before {id}");
    }
}
