//! `POST /v1/eval/compare-record` against the bundled fixtures.

use serde_json::{Value, json};

use crate::helpers::*;

/// The bundled fixture file of group 1, read directly: the reference the mock must agree with.
fn fixture_group(id: &str) -> Value {
    let dir = repo_path("fixtures/groups");
    for entry in std::fs::read_dir(&dir).expect("fixtures/groups exists") {
        let path = entry.expect("dir entry").path();
        let group: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
            .expect("fixture is JSON");
        if group["evalGroupId"] == id {
            return group;
        }
    }
    panic!("no fixture file holds {id}");
}

#[tokio::test]
async fn the_docs_curl_example_returns_every_batch_with_only_the_requested_steps() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let group = fixture_group(GROUP_1);
    let batches_with_record: Vec<&Value> = group["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .filter(|b| {
            b["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|r| r["recordId"] == RECORD_1)
        })
        .collect();
    let evals = reply.body["evals"].as_array().expect("evals array");
    assert!(evals.len() >= 3, "every batch of the group is compared");
    assert_eq!(evals.len(), batches_with_record.len());
    for (eval, batch) in evals.iter().zip(&batches_with_record) {
        assert_eq!(eval["batchExecutionId"], batch["batchExecutionId"]);
        assert_eq!(eval["evalName"], batch["evalName"]);
        for step in eval["stepResults"].as_array().expect("stepResults") {
            assert!(
                step["stepId"] == STEP_1 || step["stepId"] == STEP_2,
                "only requested steps: {step}"
            );
        }
    }
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn without_step_ids_every_step_of_the_record_is_returned_as_in_the_fixture() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": RECORD_1}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let group = fixture_group(GROUP_1);
    let evals = reply.body["evals"].as_array().expect("evals");
    for eval in evals {
        let batch = group["batches"]
            .as_array()
            .expect("batches")
            .iter()
            .find(|b| b["batchExecutionId"] == eval["batchExecutionId"])
            .expect("the batch exists in the fixture");
        let result = batch["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["recordId"] == RECORD_1)
            .expect("the record has results in that batch");
        assert_same_steps(
            &eval["stepResults"],
            &result["stepResults"],
            "the fixture's record",
        );
    }
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn an_empty_step_ids_list_is_the_same_as_no_filter() {
    let app = TestApp::spawn().await;
    let all = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": RECORD_1}),
        )
        .await;
    let empty = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": RECORD_1, "stepIds": []}),
        )
        .await;
    assert_eq!(empty.status, 200);
    assert_eq!(all.body, empty.body);
}

#[tokio::test]
async fn step_ids_the_flow_lacks_match_nothing() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": RECORD_1, "stepIds": ["step_does_not_exist"]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    for eval in reply.body["evals"].as_array().expect("evals") {
        assert_eq!(eval["stepResults"], json!([]));
    }
}

#[tokio::test]
async fn an_unknown_group_answers_404_naming_the_group() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": "evalgrp_nope", "recordId": RECORD_1}),
        )
        .await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.body["details"][0]["message"]
            .as_str()
            .expect("message")
            .contains("evalgrp_nope")
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_record_outside_the_group_answers_404_naming_the_record() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_2, "recordId": RECORD_1}),
        )
        .await;
    assert_eq!(reply.status, 404);
    let message = reply.body["details"][0]["message"]
        .as_str()
        .expect("message");
    assert!(
        message.contains(RECORD_1) && message.contains(GROUP_2),
        "{message}"
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn every_fixture_group_and_record_compares_with_a_spec_valid_body() {
    let app = TestApp::spawn().await;
    let mock = evalmock::app::load(&Default::default(), Default::default()).expect("loads");
    let groups: Vec<(String, Vec<String>)> = mock
        .world()
        .fixtures
        .groups()
        .iter()
        .map(|g| {
            (
                g.group.eval_group_id.clone(),
                g.group
                    .records
                    .iter()
                    .map(|r| r.record_id.clone())
                    .collect(),
            )
        })
        .collect();
    assert!(groups.len() >= 3);
    for (group, records) in groups {
        assert!(records.len() >= 20, "{group} has 20+ records");
        for record in records.iter().take(5) {
            let reply = app
                .post_json(
                    "/v1/eval/compare-record",
                    json!({"evalGroupId": group, "recordId": record}),
                )
                .await;
            assert_eq!(reply.status, 200, "{group}/{record}: {}", reply.body);
            assert_eq!(reply.body["recordId"], json!(record));
        }
    }
}
