//! `TestApp`: a running evalmock on a free port, and a client that speaks to it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use evalmock::config::Sources;
use evalmock::domain::evals::SubmitSettings;
use evalmock::engine::EngineOptions;
use evalmock::server::{self, AppState};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A key that the bundled fixtures give full access (any well-formed key does).
pub const API_KEY: &str = "rt_test_frontend_team_0000000000000000";
/// Revoked in `fixtures/tokens.json`.
pub const REVOKED_KEY: &str = "rt_test_revoked_0000000000000000000000";
/// Limited to eval group 1 in `fixtures/tokens.json`.
pub const SCOPED_KEY: &str = "rt_test_scoped_support_0000000000000000";

pub const GROUP_1: &str = "evalgrp_01jv0000000000000000000001";
pub const GROUP_2: &str = "evalgrp_01jv0000000000000000000002";
pub const RECORD_1: &str = "record_01jv0000000000000000000001";
pub const STEP_1: &str = "step_01jv0000000000000000000001";
pub const STEP_2: &str = "step_01jv0000000000000000000002";
pub const STEP_3: &str = "step_01jv0000000000000000000003";
pub const GROUP_3: &str = "evalgrp_01jv0000000000000000000003";
pub const FLOW_1: &str = "flow_01jv0000000000000000000001";

/// Engine options for tests: no simulated waiting anywhere.
pub fn instant() -> EngineOptions {
    EngineOptions {
        stream_interval: Duration::ZERO,
        submit: SubmitSettings {
            quota: None,
            run_time: Duration::ZERO,
        },
        ..EngineOptions::default()
    }
}

pub struct TestApp {
    pub base: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

/// A response read whole: status, headers and the body parsed as JSON (`Null` when empty).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `path` of every `details[]` entry, in order.
    pub fn detail_paths(&self) -> Vec<&str> {
        self.body["details"]
            .as_array()
            .expect("details")
            .iter()
            .filter_map(|d| d["path"].as_str())
            .collect()
    }
}

/// The embedded spec, loaded as the server loads it.
pub fn bundled_spec() -> evalmock::spec::Spec {
    evalmock::spec::Spec::load(evalmock::config::BUNDLED_SPEC, "bundled")
        .expect("the bundled spec loads")
}

/// The operation of `spec` at `path_template`.
pub fn operation<'a>(
    spec: &'a evalmock::spec::Spec,
    path_template: &str,
) -> &'a evalmock::spec::Operation {
    spec.operations()
        .iter()
        .find(|op| op.path_template == path_template)
        .unwrap_or_else(|| panic!("{path_template} is in the spec"))
}

impl TestApp {
    /// evalmock on its embedded spec and fixtures; submitted evals complete at once and
    /// streams are not paced.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Sources::default(), instant()).await
    }

    pub async fn spawn_with(sources: Sources, options: EngineOptions) -> TestApp {
        let mock = evalmock::app::load(&sources, options).expect("spec and fixtures load");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let state = Arc::new(AppState::new(mock, 64 * 1024));
        tokio::spawn(async move {
            server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// POST a JSON body with a valid key, as the docs' curl examples do.
    pub async fn post_json(&self, path: &str, body: Value) -> Reply {
        self.post_json_as(API_KEY, path, body).await
    }

    /// POST a JSON body with the given API key.
    pub async fn post_json_as(&self, key: &str, path: &str, body: Value) -> Reply {
        send(
            self.request(reqwest::Method::POST, path)
                .header("Authorization", format!("Bearer {key}"))
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(API_KEY, path).await
    }

    /// GET with the given API key.
    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        send(
            self.request(reqwest::Method::GET, path)
                .header("Authorization", format!("Bearer {key}")),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn send(builder: reqwest::RequestBuilder) -> Reply {
    let response = builder.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body reads");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// The docs' compare-record request body, verbatim.
pub fn docs_compare_record_body() -> Value {
    serde_json::json!({
        "evalGroupId": GROUP_1,
        "recordId": RECORD_1,
        "stepIds": [STEP_1, STEP_2]
    })
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A scratch directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("evalmock-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts that compare-record's step results are the same step results as `expected` (from a
/// fixture file or from get-eval-results): same ids, numbers, texts, tool calls, and `error`
/// exactly where `errorMessage` is set. Fields the source lacks (stepName in a fixture) are skipped.
pub fn assert_same_steps(served: &Value, expected: &Value, context: &str) {
    let served = served.as_array().expect("served step results");
    let expected = expected.as_array().expect("expected step results");
    assert_eq!(served.len(), expected.len(), "{context}: number of steps");
    for (s, e) in served.iter().zip(expected) {
        for field in [
            "stepResultId",
            "stepId",
            "stepName",
            "stepType",
            "modelUsed",
            "promptTokens",
            "completionTokens",
            "totalCost",
            "durationMs",
            "output",
            "executedAt",
            "toolCalls",
        ] {
            if e.get(field).is_some() {
                assert_eq!(
                    s[field], e[field],
                    "{context}: {field} of {}",
                    e["stepResultId"]
                );
            }
        }
        assert_eq!(
            s.get("error"),
            e.get("errorMessage").filter(|m| m.is_string()),
            "{context}: error"
        );
    }
}
