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

/// Filtered answers are assembled from parts validated at load and are not validated again per
/// request (`respond::assembled`). This checks that what is assembled is valid: every group,
/// every record, in both API versions, with a sample of filters (each single step, the first
/// two, all but the first, and only an id the flow lacks), against the version's own 200
/// schema; and that each is exactly the fixture's step results for those steps.
#[tokio::test]
async fn every_assembled_answer_is_valid_for_every_group_record_and_sample_filter() {
    let app = TestApp::spawn().await;
    let mock = evalmock::app::load(&Default::default(), Default::default()).expect("loads");
    let versions = [
        ("2026-06", evalmock::config::BUNDLED_SPEC),
        ("2026-09", evalmock::config::BUNDLED_LATER_SPEC),
    ];
    let mut checked = 0;
    for (version, text) in versions {
        let spec = evalmock::spec::Spec::load(text, version).expect("loads");
        let schema = operation(&spec, "/v1/eval/compare-record")
            .response(200)
            .and_then(|r| r.content.first())
            .and_then(|m| m.schema.as_ref())
            .expect("a 200 schema");
        for loaded in mock.world().fixtures.groups() {
            let group = &loaded.group;
            let steps: Vec<&str> = group
                .flow
                .steps
                .iter()
                .map(|s| s.step_id.as_str())
                .collect();
            let mut filters: Vec<Vec<&str>> = steps.iter().map(|s| vec![*s]).collect();
            filters.push(steps.iter().take(2).copied().collect());
            filters.push(steps.iter().skip(1).copied().collect());
            filters.push(vec!["step_not_in_this_flow"]);
            for record in &group.records {
                for filter in &filters {
                    let body = json!({
                        "evalGroupId": group.eval_group_id,
                        "recordId": record.record_id,
                        "stepIds": filter,
                    });
                    let reply = send(
                        app.request(reqwest::Method::POST, "/v1/eval/compare-record")
                            .header("Authorization", format!("Bearer {API_KEY}"))
                            .header("Content-Type", "application/json")
                            .header("evalmock-api-version", version)
                            .body(body.to_string()),
                    )
                    .await;
                    let context = format!("{version} {body}");
                    assert_eq!(reply.status, 200, "{context}: {}", reply.body);
                    assert!(schema.is_valid(&reply.body), "{context}: {}", reply.body);
                    let mut expected = Vec::new();
                    for batch in &group.batches {
                        if let Some(result) = batch
                            .results
                            .iter()
                            .find(|r| r.record_id == record.record_id)
                        {
                            let ids: Vec<&str> = result
                                .step_results
                                .iter()
                                .filter(|s| filter.contains(&s.step_id.as_str()))
                                .map(|s| s.step_result_id.as_str())
                                .collect();
                            expected.push((batch.batch_execution_id.as_str(), ids));
                        }
                    }
                    let served: Vec<(&str, Vec<&str>)> = reply.body["evals"]
                        .as_array()
                        .expect("evals")
                        .iter()
                        .map(|e| {
                            let ids = e["stepResults"]
                                .as_array()
                                .expect("stepResults")
                                .iter()
                                .map(|s| s["stepResultId"].as_str().expect("id"))
                                .collect();
                            (e["batchExecutionId"].as_str().expect("batch"), ids)
                        })
                        .collect();
                    assert_eq!(served, expected, "{context}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} answers checked");
}
