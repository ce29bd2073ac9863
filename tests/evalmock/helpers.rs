//! `TestApp`: a running evalmock on a free port, and a client that speaks to it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use evalmock::engine::SubmitSettings;
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
    /// Watches the files while the app lives (see [`TestApp::spawn_watching`]).
    _watcher: Option<evalmock::reload::Watcher>,
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
        Self::start(sources, options, false, evalmock::server::AdminAccess::Open).await
    }

    /// The embedded mock with an admin access rule (`--admin-token`, `--no-admin`).
    pub async fn spawn_with_admin(admin: evalmock::server::AdminAccess) -> TestApp {
        Self::start(Sources::default(), instant(), false, admin).await
    }

    /// Like `evalmock --spec ... --fixtures ...`: reloads when those files change.
    pub async fn spawn_watching(sources: Sources) -> TestApp {
        Self::start(
            sources,
            instant(),
            true,
            evalmock::server::AdminAccess::Open,
        )
        .await
    }

    /// The embedded mock with other connection timeouts (short ones, to see them act).
    pub async fn spawn_with_timeouts(timeouts: evalmock::server::Timeouts) -> TestApp {
        Self::start_with(
            Sources::default(),
            instant(),
            false,
            evalmock::server::AdminAccess::Open,
            timeouts,
        )
        .await
    }

    async fn start(
        sources: Sources,
        options: EngineOptions,
        watch: bool,
        admin: evalmock::server::AdminAccess,
    ) -> TestApp {
        let timeouts = evalmock::server::Timeouts::default();
        Self::start_with(sources, options, watch, admin, timeouts).await
    }

    async fn start_with(
        sources: Sources,
        options: EngineOptions,
        watch: bool,
        admin: evalmock::server::AdminAccess,
        timeouts: evalmock::server::Timeouts,
    ) -> TestApp {
        let mock =
            Arc::new(evalmock::app::load(&sources, options).expect("spec and fixtures load"));
        let watcher = watch.then(|| {
            let paths = evalmock::world::watched_paths(&sources);
            assert!(!paths.is_empty(), "watching needs --spec or --fixtures");
            evalmock::reload::Watcher::start(mock.clone(), &paths).expect("the watcher starts")
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let state = Arc::new(
            AppState::new(mock, 64 * 1024, watch)
                .with_admin(admin)
                .with_timeouts(timeouts),
        );
        tokio::spawn(async move {
            server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            client: http_client(),
            shutdown: Some(tx),
            _watcher: watcher,
        }
    }

    /// The journal's entries (newest first) for a `GET /__mock/requests` query string.
    pub async fn journal(&self, query: &str) -> Vec<Value> {
        let reply =
            send(self.request(reqwest::Method::GET, &format!("/__mock/requests{query}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_admin_contract("GET", "/__mock/requests", &reply);
        reply.body["entries"].as_array().expect("entries").clone()
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

/// An HTTP client for the tests (the build's rustls has its provider installed first).
pub fn http_client() -> reqwest::Client {
    evalmock::recording::install_tls_provider();
    reqwest::Client::new()
}

/// A named request-body example of a POST operation of the documented spec (2026-06).
pub fn request_example(path: &str, name: &str) -> Value {
    let spec: Value = serde_norway::from_str(evalmock::config::BUNDLED_SPEC).expect("spec parses");
    let example =
        spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"][name]
            ["value"]
            .clone();
    assert!(
        !example.is_null(),
        "the spec has no example {name} for {path}"
    );
    example
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
    /// Unique per call, not only per process: tests run in parallel, and two that asked for the
    /// same name would otherwise write into (and remove) each other's directory.
    pub fn new(name: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("evalmock-test-{name}-{}-{n}", std::process::id()));
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

/// `specs/admin.yaml`, loaded as the engine loads any spec.
pub fn admin_spec() -> evalmock::spec::Spec {
    let text = std::fs::read_to_string(repo_path("specs/admin.yaml")).expect("specs/admin.yaml");
    evalmock::spec::Spec::load(&text, "specs/admin.yaml").expect("the admin spec loads")
}

/// Checks an admin answer against `specs/admin.yaml` with the engine's own response
/// validation: the admin API is held to its document like any mocked API.
pub fn assert_admin_contract(method: &str, path: &str, reply: &Reply) {
    let spec = admin_spec();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let op = match spec.route(&method, path) {
        evalmock::spec::RouteMatch::Found { operation, .. } => spec.operation(operation),
        _ => panic!("{method} {path} is not in specs/admin.yaml"),
    };
    let violations = evalmock::engine::response_violations(op, &engine_reply(reply));
    assert!(
        violations.is_empty(),
        "{method} {path} answered {} breaking specs/admin.yaml: {violations:#?}\n{}",
        reply.status,
        reply.body
    );
}

/// An answer received over HTTP as the engine's [`evalmock::respond::Reply`], so the engine's
/// own response validation can judge it.
pub fn engine_reply(reply: &Reply) -> evalmock::respond::Reply {
    evalmock::respond::Reply {
        status: reply.status,
        content_type: reply.header("content-type").map(str::to_string),
        body: if reply.body.is_null() {
            evalmock::respond::ReplyBody::Empty
        } else {
            evalmock::respond::ReplyBody::Json(reply.body.clone())
        },
        mock_marker: None,
    }
}

/// Copies a folder tree (fixtures into a scratch folder a test may edit).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Polls `check` every 50 ms until it holds, for at most `seconds` (file watching is
/// asynchronous); panics with `what` when it never does.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within {seconds} s");
}

/// The real `evalmock` binary serving on a free port, its stderr collected.
pub struct Binary {
    pub port: u16,
    child: std::process::Child,
    logs: Option<std::thread::JoinHandle<String>>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Binary {
    /// Starts `evalmock --port P ARGS` on a free port P with `env`, and waits until it
    /// answers (whatever the log level, so the port is chosen here, not read from the log).
    pub fn serve(args: &[&str], env: &[(&str, &str)]) -> Binary {
        Self::start(&[], args, env)
    }

    /// Starts `evalmock COMMAND --port P ARGS` (e.g. `proxy`), stdout and stderr collected.
    pub fn start(command: &[&str], args: &[&str], env: &[(&str, &str)]) -> Binary {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
            .args(command)
            .args(["--port", &port.to_string()])
            .args(args)
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("evalmock starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdout = read_in_background(child.stdout.take().expect("stdout is piped"));
        let reader = read_in_background(stderr);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                panic!(
                    "evalmock did not start on port {port}: {}",
                    reader.join().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Binary {
            port,
            child,
            logs: Some(reader),
            stdout: Some(stdout),
        }
    }

    /// Waits (at most `seconds`) for the process to exit; its exit code, stdout and stderr.
    pub fn wait_output(mut self, seconds: u64) -> (Option<i32>, String, String) {
        let code = wait_for_exit(&mut self.child, seconds).and_then(|status| status.code());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|reader| reader.join().ok()).unwrap_or_default()
        };
        let stdout = join(self.stdout.take());
        (code, stdout, join(self.logs.take()))
    }

    /// The server's peak resident memory so far (`VmHWM` of `/proc/PID/status`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status (Linux)");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends a signal (`TERM`, `INT`) to the process.
    pub fn signal(&self, name: &str) -> bool {
        std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits (at most `seconds`) for the process to exit; its exit code and stderr.
    pub fn wait(mut self, seconds: u64) -> (Option<i32>, String) {
        let code = wait_for_exit(&mut self.child, seconds).and_then(|status| status.code());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let logs = self
            .logs
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        (code, logs)
    }

    /// Stops it as Ctrl-C does (so buffered log lines are written) and returns its stderr.
    pub fn stop(mut self) -> String {
        let interrupted = self.signal("INT");
        if !interrupted {
            let _ = self.child.kill();
        }
        wait_for_exit(&mut self.child, 10);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.logs
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits at most `seconds` for a child process to exit; its status, or `None` if it is still
/// running (the caller decides whether to kill it).
pub fn wait_for_exit(
    child: &mut std::process::Child,
    seconds: u64,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Reads a child's output to its end on a thread of its own (so the child never blocks on a
/// full pipe); join the handle for the text.
pub fn read_in_background(
    output: impl std::io::Read + Send + 'static,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(output), &mut text);
        text
    })
}

/// Runs `evalmock ARGS` to its end: exit code, stdout, stderr.
pub fn run_evalmock(args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(args)
        .output()
        .expect("evalmock runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Splits an SSE body into its messages' `data` payloads, checking the framing on the way.
pub fn parse_sse(text: &str) -> Vec<Value> {
    assert!(
        text.ends_with("\n\n"),
        "the stream ends with a complete message"
    );
    text.split_terminator("\n\n")
        .map(|message| {
            let data = message
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("one data line per message: {message:?}"));
            assert!(!data.contains('\n'), "one line of data per message");
            serde_json::from_str(data).expect("each message is one JSON event")
        })
        .collect()
}

/// An insta redaction for a ULID-shaped id (`prefix_` + 26 lowercase Crockford characters),
/// which is random now: checks the shape, then writes `prefix_[ulid]`.
pub fn ulid_id(prefix: &'static str) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(
            is_typeid(text, prefix),
            "{path} is a {prefix}_ ULID id: {text:?}"
        );
        format!("{prefix}_[ulid]")
    })
}

/// Whether `text` is `prefix_` + 26 lowercase Crockford base32 characters (the API's ids).
pub fn is_typeid(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| {
            body.len() == 26
                && body
                    .chars()
                    .all(|c| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"ilou".contains(c)))
        })
}
