//! Every response is checked against the spec before it is sent; fixture-derived bodies are
//! checked at load, so a fixture that drifts from the contract stops start-up.

use evalmock::config::Sources;
use evalmock::engine::{EngineOptions, ResponseValidation};
use serde_json::{Value, json};

use crate::helpers::*;

const STEP_RESULTS_SCHEMA: &str = "/paths/~1v1~1eval~1compare-record/post/responses/200/content/application~1json/schema/properties/evals/items/properties/stepResults";

/// The vendor's document (prose-free copy) with one schema tightened, written to a temp file.
fn tightened_vendor_spec(dir: &TempDir, keyword: &str, value: Value) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_path("tests/data/vendor-evals-structure.json"))
        .expect("vendor copy");
    let mut spec: Value = serde_json::from_str(&text).expect("JSON");
    spec.pointer_mut(STEP_RESULTS_SCHEMA)
        .expect("stepResults schema")[keyword] = value;
    let path = dir.0.join("spec.json");
    std::fs::write(&path, spec.to_string()).expect("write spec");
    path
}

async fn compare_matching_no_step(app: &TestApp) -> Reply {
    app.post_json(
        "/v1/eval/compare-record",
        json!({"evalGroupId": GROUP_1, "recordId": RECORD_1, "stepIds": ["step_not_in_the_flow"]}),
    )
    .await
}

#[tokio::test]
async fn a_response_that_breaks_the_spec_becomes_a_500_naming_the_schema_path() {
    let dir = TempDir::new("strict");
    let spec = tightened_vendor_spec(&dir, "minItems", json!(1));
    let app = TestApp::spawn_with(
        Sources {
            spec: Some(spec),
            fixtures: None,
            ..Sources::default()
        },
        EngineOptions::default(),
    )
    .await;

    let unfiltered = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": GROUP_1, "recordId": RECORD_1}),
        )
        .await;
    assert_eq!(unfiltered.status, 200, "valid responses pass");

    let reply = compare_matching_no_step(&app).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("evalmock-error"), Some("response-invalid"));
    let detail = &reply.body["details"][0];
    assert_eq!(detail["code"], "RESPONSE_SCHEMA_VIOLATION");
    assert_eq!(detail["path"], "evals[0].stepResults");
    assert!(
        detail["suggestion"]
            .as_str()
            .expect("suggestion")
            .contains("minItems"),
        "{detail}"
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn warn_mode_logs_the_violation_and_sends_the_response() {
    let dir = TempDir::new("warn");
    let spec = tightened_vendor_spec(&dir, "minItems", json!(1));
    let options = EngineOptions {
        response_validation: ResponseValidation::Warn,
        ..EngineOptions::default()
    };
    let app = TestApp::spawn_with(
        Sources {
            spec: Some(spec),
            fixtures: None,
            ..Sources::default()
        },
        options,
    )
    .await;
    let reply = compare_matching_no_step(&app).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["evals"][0]["stepResults"], json!([]));
}

#[test]
fn a_fixture_that_breaks_the_spec_stops_loading_naming_file_and_field() {
    let dir = TempDir::new("load");
    let spec = tightened_vendor_spec(&dir, "maxItems", json!(1));
    let error = evalmock::app::load(
        &Sources {
            spec: Some(spec),
            fixtures: None,
            ..Sources::default()
        },
        EngineOptions::default(),
    )
    .expect_err("fixtures with more than one step per record break maxItems: 1");
    let message = error.to_string();
    assert!(
        message.contains("fixtures/groups/"),
        "names the file: {message}"
    );
    // The place in the fixture file, not in the answer: compare-record's `evals[0]` is the
    // record's result in the group's first batch (compare_record_fixture_path).
    assert!(
        message.contains("fixtures/groups/01-support-triage-agent-model-comparison.json: batches[0].results[0].stepResults:"),
        "names the fixture file and its field: {message}"
    );
    assert!(
        message.contains("at most 1"),
        "says what is wrong: {message}"
    );
}
