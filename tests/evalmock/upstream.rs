//! A real upstream for the proxy, recording, drift and verify tests: an axum app on port 0
//! that answers with bodies the mock itself gave (conforming) or spoilt copies of them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::helpers::*;

/// A group whose answer carries an undeclared field and a status outside the enum.
pub const BAD_GROUP: &str = "evalgrp_bad";
/// A group answered with 418, a status no operation declares.
pub const TEAPOT_GROUP: &str = "evalgrp_teapot";
/// Must never reach a recorded file.
pub const CANARY: &str = "rt_test_CANARY_0000000000000000000000";

#[derive(Clone)]
struct Bodies {
    group: Value,
    missing: Value,
    compare_record: Value,
    events: Vec<String>,
    /// Spoil GROUP_1's answer too (a non-conforming provider for verify).
    spoil_all: bool,
}

pub struct Upstream {
    pub base: String,
    _shutdown: oneshot::Sender<()>,
}

fn spoilt(group: &Value) -> Value {
    let mut bad = group.clone();
    bad["surprise"] = json!(42);
    bad["batches"][0]["status"] = json!("exploded");
    bad
}

/// Starts the upstream; `spoil_all` makes even the example group's answer break the spec.
pub async fn spawn(spoil_all: bool) -> Upstream {
    let mock = TestApp::spawn().await;
    let group = mock.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    assert_eq!(group.status, 200);
    let missing = mock.get("/v1/eval/group/evalgrp_nope").await;
    assert_eq!(missing.status, 404);
    let compare_record = mock
        .post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    assert_eq!(compare_record.status, 200);
    let stream = mock
        .request(reqwest::Method::POST, "/v1/eval/stream")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("Content-Type", "application/json")
        .body(
            json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "GPT-4o"}],
                   "record": {"name": "T", "type": "customer"}})
            .to_string(),
        )
        .send()
        .await
        .expect("stream")
        .text()
        .await
        .expect("stream body");
    let events: Vec<String> = stream
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .take(3)
        .map(|e| format!("{e}\n\n"))
        .collect();
    assert_eq!(events.len(), 3, "{stream}");
    let bodies = Arc::new(Bodies {
        group: group.body,
        missing: missing.body,
        compare_record: compare_record.body,
        events,
        spoil_all,
    });
    let app = axum::Router::new()
        .route("/v1/eval/group/{id}", axum::routing::get(group_answer))
        .route(
            "/v1/eval/compare-record",
            axum::routing::post(compare_record_answer),
        )
        .route("/v1/eval/stream", axum::routing::post(stream_answer))
        .with_state(bodies);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Upstream {
        base,
        _shutdown: tx,
    }
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn group_answer(State(bodies): State<Arc<Bodies>>, Path(id): Path<String>) -> Response {
    match id.as_str() {
        GROUP_1 if bodies.spoil_all => json_answer(StatusCode::OK, &spoilt(&bodies.group)),
        GROUP_1 => json_answer(StatusCode::OK, &bodies.group),
        BAD_GROUP => json_answer(StatusCode::OK, &spoilt(&bodies.group)),
        TEAPOT_GROUP => json_answer(StatusCode::IM_A_TEAPOT, &json!({"error": "teapot"})),
        _ => json_answer(StatusCode::NOT_FOUND, &bodies.missing),
    }
}

/// Echoes the request's `apiKey` field back (so redaction of answers is tested too).
async fn compare_record_answer(State(bodies): State<Arc<Bodies>>, body: String) -> Response {
    let mut answer = bodies.compare_record.clone();
    if let Ok(request) = serde_json::from_str::<Value>(&body)
        && let Some(key) = request.get("apiKey")
    {
        answer["apiKey"] = key.clone();
    }
    json_answer(StatusCode::OK, &answer)
}

/// Three events of the mock's own stream, 40 ms apart.
async fn stream_answer(State(bodies): State<Arc<Bodies>>) -> Response {
    let events = bodies.events.clone();
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let events = events.clone();
        async move {
            let event = events.get(i)?.clone();
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            Some((Ok::<_, std::convert::Infallible>(event), i + 1))
        }
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
