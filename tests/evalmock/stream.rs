//! `POST /v1/eval/stream`: a real `text/event-stream`, read with a real HTTP client.

use std::collections::HashMap;
use std::time::Duration;

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn two_config_request() -> Value {
    json!({
        "flowId": FLOW_1,
        "evalConfigs": [
            {"evalName": "GPT-4o", "stepOverrides": {STEP_1: {"model": "gpt-4o", "temperature": 0.7}}},
            {"evalName": "Claude Sonnet", "stepOverrides": {STEP_1: {"model": "claude-sonnet-4-5", "temperature": 0.7}}}
        ],
        "record": {"name": "Test Customer 1", "type": "customer", "metadata": {"company": "Acme Corp", "plan": "enterprise"}}
    })
}

/// A stream request to the documented version (2026-06, `FlowSSEEvent`s); `versions.rs`
/// covers the later vocabulary.
fn stream_request(app: &TestApp, body: &Value) -> reqwest::RequestBuilder {
    app.request(Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("evalmock-api-version", "2026-06")
        .header("Content-Type", "application/json")
        .body(body.to_string())
}

/// The whole event stream of a request, as text.
async fn stream_text(app: &TestApp, body: &Value) -> String {
    let response = stream_request(app, body).send().await.expect("request");
    response.text().await.expect("body")
}

fn flow_sse_event_schema() -> evalmock::spec::CompiledSchema {
    let spec = bundled_spec();
    operation(&spec, "/v1/eval/stream")
        .response(200)
        .expect("200")
        .content[0]
        .item_schema
        .clone()
        .expect("itemSchema")
}

#[tokio::test]
async fn every_config_streams_its_execution_interleaved_in_order_and_valid() {
    let app = TestApp::spawn().await;
    let response = stream_request(&app, &two_config_request())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = parse_sse(&response.text().await.expect("body"));

    let schema = flow_sse_event_schema();
    for event in &events {
        assert!(
            schema.is_valid(event),
            "every event is a FlowSSEEvent: {event}"
        );
    }

    let mut by_execution: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut order = Vec::new();
    for event in &events {
        let id = event["executionId"]
            .as_str()
            .expect("executionId")
            .to_string();
        if !by_execution.contains_key(&id) {
            order.push(id.clone());
        }
        by_execution.entry(id).or_default().push(event);
    }
    assert_eq!(by_execution.len(), 2, "one execution per eval config");
    assert_ne!(
        events[0]["executionId"], events[1]["executionId"],
        "executions are multiplexed, not one after another"
    );

    for id in &order {
        let run = &by_execution[id];
        let seqs: Vec<u64> = run
            .iter()
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(
            seqs,
            (0..run.len() as u64).collect::<Vec<_>>(),
            "seq counts up from 0 within an execution"
        );
        assert_eq!(run[0]["type"], "flow_start");
        let last = run.last().expect("events")["type"].as_str().expect("type");
        assert!(last == "flow_complete" || last == "flow_error", "{last}");

        // Token deltas (the documented `step_delta` carries `text`) add up to each step's output.
        let mut deltas: HashMap<&str, String> = HashMap::new();
        for event in run {
            match event["type"].as_str() {
                Some("step_delta") => deltas
                    .entry(event["id"].as_str().expect("id"))
                    .or_default()
                    .push_str(event["text"].as_str().expect("text")),
                Some("step_complete") => {
                    let step = event["id"].as_str().expect("id");
                    assert_eq!(
                        deltas.get(step).map(String::as_str).unwrap_or(""),
                        event["output"].as_str().expect("output"),
                        "{step}"
                    );
                }
                _ => {}
            }
        }
    }
    let types: Vec<&str> = by_execution[&order[0]]
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .filter(|t| *t != "step_delta")
        .collect();
    insta::assert_debug_snapshot!("stream_event_types_of_the_first_execution", types);
}

#[tokio::test]
async fn the_same_request_streams_the_same_ids_and_texts() {
    let app = TestApp::spawn().await;
    let first = stream_text(&app, &two_config_request()).await;
    let second = stream_text(&app, &two_config_request()).await;
    let strip_times = |text: &str| -> Vec<Value> {
        parse_sse(text)
            .into_iter()
            .map(|mut e| {
                for key in ["startedAt", "completedAt", "timestamp", "failedAt"] {
                    e.as_object_mut().expect("object").remove(key);
                }
                e
            })
            .collect()
    };
    assert_eq!(strip_times(&first), strip_times(&second));
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_ends_the_work_on_the_server() {
    let options = EngineOptions {
        stream_interval: Duration::from_millis(50),
        ..instant()
    };
    let app = TestApp::spawn_with(Sources::default(), options).await;
    let mut response = stream_request(&app, &two_config_request())
        .send()
        .await
        .expect("request");
    let first = response
        .chunk()
        .await
        .expect("a chunk")
        .expect("not the end");
    assert!(first.starts_with(b"data: "));
    let active =
        send(app.request(Method::GET, "/__mock/health")).await.body["activeStreams"].clone();
    assert_eq!(active, 1, "the stream is being sent");
    drop(response);

    let mut remaining = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        remaining = send(app.request(Method::GET, "/__mock/health")).await.body["activeStreams"]
            .as_u64()
            .expect("count");
        if remaining == 0 {
            break;
        }
    }
    assert_eq!(
        remaining, 0,
        "the server stopped streaming to a client that went away"
    );
}

#[tokio::test]
async fn errors_before_the_stream_starts_are_json_error_responses() {
    let app = TestApp::spawn().await;
    let empty = send(stream_request(&app, &json!({}))).await;
    assert_eq!(
        empty.status, 400,
        "the docs' `{{}}` curl names no flow, configs or input"
    );
    insta::assert_json_snapshot!(empty.body);

    let scoped = app
        .post_json_as(SCOPED_KEY, "/v1/eval/stream", two_config_request())
        .await;
    assert_eq!(scoped.status, 403);

    let unknown_step = send(stream_request(&app, &json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "a", "stepOverrides": {"step_nope": {}}}], "messages": [{"role": "user", "content": "Where is my order?"}]}))).await;
    assert_eq!(unknown_step.status, 400);
    assert_eq!(
        unknown_step.body["details"][0]["path"],
        "evalConfigs[0].stepOverrides.step_nope"
    );
}

/// A copy of `spec_text` whose `StepStartEvent` requires a field the mock never sends, written
/// to a scratch folder: every stream then holds an event that breaks the spec.
fn spec_requiring_an_unsent_step_start_field(
    spec_text: &str,
    name: &str,
) -> (TempDir, std::path::PathBuf) {
    let mut document: Value = serde_norway::from_str(spec_text).expect("the spec parses");
    // Ours names each variant; the vendor's lists them inline in FlowSSEEvent's oneOf.
    let schemas = &mut document["components"]["schemas"];
    let step_start = match schemas.get("StepStartEvent") {
        Some(_) => &mut schemas["StepStartEvent"],
        None => schemas["FlowSSEEvent"]["oneOf"]
            .as_array_mut()
            .and_then(|variants| {
                variants
                    .iter_mut()
                    .find(|v| v["properties"]["type"]["enum"][0] == "step_start")
            })
            .expect("a step_start variant"),
    };
    step_start["required"] = json!(["type", "neverSentByTheMock"]);
    let dir = TempDir::new(name);
    let path = dir.0.join("spec.json");
    std::fs::write(&path, document.to_string()).expect("write the spec");
    (dir, path)
}

#[tokio::test]
async fn an_event_that_breaks_the_spec_is_caught_whichever_form_the_stream_schema_takes() {
    // Ours: OpenAPI 3.2's form (itemSchema is the event, the payload is data's contentSchema).
    // The vendor's: the payload schema directly as itemSchema. Both must catch the event.
    let vendor = std::fs::read_to_string(repo_path("tests/data/vendor-evals-structure.json"))
        .expect("the vendor document copy");
    for (form, text, version) in [
        (
            "oas-3.2-event",
            evalmock::config::BUNDLED_SPEC.to_string(),
            "2026-06",
        ),
        ("vendor-payload", vendor, "1.0.0"),
    ] {
        let (_dir, path) = spec_requiring_an_unsent_step_start_field(&text, form);
        let sources = Sources {
            spec: Some(path),
            ..Sources::default()
        };
        let app = TestApp::spawn_with(sources, instant()).await;
        let reply = send(
            app.request(Method::POST, "/v1/eval/stream")
                .header("Authorization", format!("Bearer {API_KEY}"))
                .header("Content-Type", "application/json")
                .header("evalmock-api-version", version)
                .body(two_config_request().to_string()),
        )
        .await;
        assert_eq!(reply.status, 500, "{form}: {}", reply.body);
        assert_eq!(
            reply.header("evalmock-error"),
            Some("response-invalid"),
            "{form}"
        );
        let detail = &reply.body["details"][0];
        assert_eq!(detail["code"], "RESPONSE_SCHEMA_VIOLATION", "{form}");
        assert!(
            detail["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("events[") && p.contains("neverSentByTheMock")),
            "{form}: names the event and the field: {detail}"
        );
    }
}

#[tokio::test]
async fn a_named_stream_example_is_sent_as_its_events_in_both_versions() {
    let app = TestApp::spawn().await;
    for version in ["2026-06", "2026-09"] {
        let response = app
            .request(Method::POST, "/v1/eval/stream")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-api-version", version)
            .header("Prefer", "example=oneConfig")
            .json(&request_example("/v1/eval/stream", "oneConfig"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{version}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        let text = response.text().await.expect("body");
        let events = parse_sse(&text);
        // The spec's `serializedValue` holds the first 20 events of the oneConfig stream.
        assert_eq!(events.len(), 20, "{version}: {text}");
        assert!(events.iter().all(|e| e["type"].is_string()), "{version}");
        let entry = &app.journal("?limit=1").await[0];
        assert_eq!(
            entry["source"],
            json!({"kind": "example", "detail": "oneConfig"})
        );
        assert_eq!(
            entry["violations"],
            json!([]),
            "{version}: validated, valid"
        );
    }
}
