//! Two API versions side by side: the documented snapshot (2026-06) and the later API the
//! current client `runtype-sdk` 5.5.0 speaks (2026-09, the default), picked per request with
//! the mock's `evalmock-api-version` header. Answers of 2026-09 are checked against the SDK's
//! own response models (`tests/data/sdk-5.5.0-evals-schemas.json`, a copy of
//! `shared/runtype-docs/`), so a client built on it parses everything the mock sends.

use std::collections::HashSet;

use evalmock::config::Sources;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const DOCUMENTED: &str = "2026-06";
const LATER: &str = "2026-09";

fn sdk_schemas() -> Value {
    let text = std::fs::read_to_string(repo_path("tests/data/sdk-5.5.0-evals-schemas.json"))
        .expect("tests/data/sdk-5.5.0-evals-schemas.json");
    serde_json::from_str(&text).expect("JSON")
}

/// Validates `instance` against the SDK model of `operation` (`"GET /v1/eval/batches"`).
/// The stream model is a union whose variants do not require `type` (see later-version.md §7),
/// so an event is checked against the variant its `type` names, as the SDK's discriminator
/// picks it.
fn assert_sdk_parses(schemas: &Value, operation: &str, instance: &Value) {
    let model = &schemas[operation];
    assert!(model.is_object(), "no SDK model for {operation}");
    let schema = if operation == "POST /v1/eval/stream" {
        let tag = instance["type"].as_str().expect("an event has a type");
        let defs = model["$defs"].as_object().expect("$defs");
        let (name, _) = defs
            .iter()
            .find(|(_, variant)| variant["properties"]["type"]["const"] == tag)
            .unwrap_or_else(|| panic!("the SDK has no `{tag}` event: it would skip it"));
        json!({ "$defs": model["$defs"], "$ref": format!("#/$defs/{name}") })
    } else {
        model.clone()
    };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("the SDK schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "runtype-sdk 5.5.0 would not parse this {operation} answer: {errors:#?}\n{instance}"
    );
}

async fn as_version(
    app: &TestApp,
    version: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .request(method, path)
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("evalmock-api-version", version);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    send(request).await
}

/// The stream's events for `body` in `version`, and the raw text (to check its framing).
async fn stream_events(app: &TestApp, version: &str, body: &Value) -> (Vec<Value>, String) {
    let response = app
        .request(Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("Content-Type", "application/json")
        .header("evalmock-api-version", version)
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("evalmock-api-version")
            .and_then(|v| v.to_str().ok()),
        Some(version)
    );
    let text = response.text().await.expect("body");
    let events = text
        .split_terminator("\n\n")
        .map(|message| {
            let data = message.strip_prefix("data: ").expect("a data line");
            serde_json::from_str(data).expect("JSON")
        })
        .collect();
    (events, text)
}

fn stream_body() -> Value {
    json!({
        "flowId": FLOW_1,
        "evalConfigs": [
            {"evalName": "GPT-4o", "stepOverrides": {STEP_1: {"model": "gpt-4o"}}},
            {"evalName": "Claude", "stepOverrides": {STEP_1: {"model": "claude-sonnet-4-5"}}}
        ],
        "record": {"name": "Test Customer 1", "type": "customer", "metadata": {"plan": "enterprise"}}
    })
}

#[tokio::test]
async fn a_request_picks_its_api_version_with_the_mocks_header() {
    let app = TestApp::spawn().await;
    let default = app.get("/v1/eval/batches?limit=1").await;
    assert_eq!(
        default.header("evalmock-api-version"),
        Some(LATER),
        "the later API is the default"
    );
    let older = as_version(
        &app,
        DOCUMENTED,
        Method::GET,
        "/v1/eval/batches?limit=1",
        None,
    )
    .await;
    assert_eq!(older.status, 200);
    assert_eq!(older.header("evalmock-api-version"), Some(DOCUMENTED));

    let unknown = as_version(&app, "2025-01", Method::GET, "/v1/eval/batches", None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.header("evalmock-error"),
        Some("unknown-api-version")
    );
    insta::assert_json_snapshot!(unknown.body);

    let versions: Vec<Value> = app
        .journal("")
        .await
        .iter()
        .map(|e| e["apiVersion"].clone())
        .collect();
    assert_eq!(versions, [Value::Null, json!(DOCUMENTED), json!(LATER)]);
}

#[tokio::test]
async fn the_default_version_is_set_at_start_and_an_unknown_one_refuses_to_start() {
    let sources = Sources {
        api_version: Some(DOCUMENTED.into()),
        ..Sources::default()
    };
    let app = TestApp::spawn_with(sources, instant()).await;
    let reply = app.get("/v1/eval/batches?limit=1").await;
    assert_eq!(reply.header("evalmock-api-version"), Some(DOCUMENTED));

    let wrong = Sources {
        api_version: Some("2020-01".into()),
        ..Sources::default()
    };
    let error = evalmock::app::load(&wrong, instant()).expect_err("an unknown version is refused");
    let message = error.to_string();
    assert!(
        message.contains("2020-01") && message.contains(DOCUMENTED) && message.contains(LATER),
        "{message}"
    );
}

#[tokio::test]
async fn the_documented_version_streams_flow_events_and_the_later_one_execution_events() {
    let app = TestApp::spawn().await;
    let mut kinds = Vec::new();
    for (version, delta_type, delta_field, first, last) in [
        (
            DOCUMENTED,
            "step_delta",
            "text",
            "flow_start",
            "flow_complete",
        ),
        (
            LATER,
            "text_delta",
            "delta",
            "execution_start",
            "execution_complete",
        ),
    ] {
        let (events, text) = stream_events(&app, version, &stream_body()).await;
        assert!(
            text.ends_with("\n\n"),
            "{version}: the last event ends with a blank line"
        );
        let execution = events[0]["executionId"].as_str().expect("executionId");
        let run: Vec<&Value> = events
            .iter()
            .filter(|e| e["executionId"] == execution)
            .collect();
        assert_eq!(run[0]["type"], first, "{version}");
        assert_eq!(run[run.len() - 1]["type"], last, "{version}");
        // The text of each step arrives as deltas that add up to its output.
        let streamed: String = run
            .iter()
            .filter(|e| e["type"] == delta_type)
            .map(|e| e[delta_field].as_str().expect("delta text"))
            .collect();
        let outputs: String = run
            .iter()
            .filter(|e| e["type"] == "step_complete")
            .map(|e| e["output"].as_str().unwrap_or_default())
            .collect();
        assert!(!streamed.is_empty(), "{version}: text streams");
        assert_eq!(streamed, outputs, "{version}");
        let types: Vec<&str> = run
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        kinds.push(json!({ "version": version, "eventTypes": types }));
    }
    insta::assert_json_snapshot!(kinds);
}

#[tokio::test]
async fn every_later_answer_parses_with_the_current_clients_models() {
    let app = TestApp::spawn().await;
    let schemas = sdk_schemas();
    let later = |method: Method, path: &str, body: Option<Value>| {
        let path = path.to_string();
        let app = &app;
        async move { as_version(app, LATER, method, &path, body).await }
    };

    let batches = later(Method::GET, "/v1/eval/batches", None).await;
    assert_sdk_parses(&schemas, "GET /v1/eval/batches", &batches.body);
    for group in [GROUP_1, GROUP_2, GROUP_3] {
        let reply = later(Method::GET, &format!("/v1/eval/group/{group}"), None).await;
        assert_sdk_parses(&schemas, "GET /v1/eval/group/{groupId}", &reply.body);
        for batch in reply.body["batches"].as_array().expect("batches") {
            let id = batch["batchExecutionId"].as_str().expect("id");
            let results = later(Method::GET, &format!("/v1/eval/{id}/results"), None).await;
            assert_sdk_parses(&schemas, "GET /v1/eval/{id}/results", &results.body);
        }
        let compare = later(
            Method::POST,
            "/v1/eval/compare",
            Some(json!({"evalGroupId": group})),
        )
        .await;
        assert_sdk_parses(&schemas, "POST /v1/eval/compare", &compare.body);
        let analyze = later(
            Method::POST,
            "/v1/eval/analyze-steps",
            Some(json!({"evalGroupId": group, "stepIds": [], "searchTerms": ["the", "sorry|apolog"]})),
        )
        .await;
        assert_sdk_parses(&schemas, "POST /v1/eval/analyze-steps", &analyze.body);
    }
    let record = later(
        Method::POST,
        "/v1/eval/compare-record",
        Some(docs_compare_record_body()),
    )
    .await;
    assert_sdk_parses(&schemas, "POST /v1/eval/compare-record", &record.body);
    for body in [
        json!({"flowId": FLOW_1, "evalConfig": {"overrides": {"steps": {STEP_1: {"model": "gpt-4o"}}}}}),
        json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "a"}, {"evalName": "b"}], "recordIds": [RECORD_1]}),
    ] {
        let submitted = later(Method::POST, "/v1/eval/submit", Some(body)).await;
        assert_eq!(submitted.status, 200, "{}", submitted.body);
        assert_sdk_parses(&schemas, "POST /v1/eval/submit", &submitted.body);
    }
    let (events, _) = stream_events(&app, LATER, &stream_body()).await;
    for event in &events {
        assert_sdk_parses(&schemas, "POST /v1/eval/stream", event);
    }
    // A run that fails part way (group 3's flow calls a tool that hits its quota on some records).
    let failing =
        json!({"flowId": "flow_01jv0000000000000000000003", "evalConfigs": [{"evalName": "x"}]});
    let (events, _) = stream_events(&app, LATER, &failing).await;
    for event in &events {
        assert_sdk_parses(&schemas, "POST /v1/eval/stream", event);
    }
}

#[test]
fn the_sdk_model_copy_matches_shared_when_present() {
    let shared = repo_path("../shared/runtype-docs/sdk-5.5.0-evals-schemas.json");
    let copy = sdk_schemas();
    if shared.exists() {
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(&shared).expect("read")).expect("JSON");
        assert_eq!(
            copy, original,
            "tests/data/sdk-5.5.0-evals-schemas.json has drifted from shared/"
        );
    }
    assert_eq!(
        copy.as_object().map(|o| o.len()),
        Some(8),
        "one model per operation"
    );
}

#[tokio::test]
async fn a_status_chosen_with_prefer_answers_in_each_versions_shape() {
    let app = TestApp::spawn().await;
    for version in [DOCUMENTED, LATER] {
        for code in [400, 401, 403, 404, 500] {
            // Strict response validation is on: a body that broke this version's spec would be
            // a 500 naming the violation, not the chosen status.
            let reply = send(
                app.request(Method::POST, "/v1/eval/compare-record")
                    .header("evalmock-api-version", version)
                    .header("Prefer", format!("code={code}"))
                    .body("{}"),
            )
            .await;
            assert_eq!(reply.status, code, "{version} {code}: {}", reply.body);
            assert_eq!(reply.header("evalmock-api-version"), Some(version));
            assert!(
                reply.body["details"][0]["code"].is_string(),
                "{}",
                reply.body
            );
        }
        let list = send(
            app.request(Method::GET, "/v1/eval/batches")
                .header("evalmock-api-version", version)
                .header("Prefer", "code=200, dynamic=true")
                .header("Authorization", format!("Bearer {API_KEY}")),
        )
        .await;
        assert_eq!(
            list.status, 200,
            "{version}: a generated page is valid: {}",
            list.body
        );
    }
}
