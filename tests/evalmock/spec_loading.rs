//! Loading other specs: the vendor's own 3.2 document unchanged, a 3.0 document, broken ones;
//! and the CLI's `check` and `--help` as a user runs them.

use std::process::Command;

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn evalmock_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_evalmock"))
}

#[tokio::test]
async fn the_vendor_document_serves_compare_record_like_our_spec() {
    let ours = TestApp::spawn().await;
    let mut vendor_specs = vec![repo_path("tests/data/vendor-evals-structure.json")];
    let shared = repo_path("../shared/runtype-docs/openapi-evals.json");
    if shared.exists() {
        vendor_specs.push(shared);
    }
    let expected = ours
        .post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    for spec in vendor_specs {
        let vendor = TestApp::spawn_with(
            Sources {
                spec: Some(spec.clone()),
                fixtures: None,
                ..Sources::default()
            },
            EngineOptions::default(),
        )
        .await;
        let reply = vendor
            .post_json("/v1/eval/compare-record", docs_compare_record_body())
            .await;
        assert_eq!(reply.status, 200, "{}: {}", spec.display(), reply.body);
        assert_eq!(reply.body, expected.body, "{}", spec.display());
    }
}

async fn pets_app() -> TestApp {
    let sources = Sources {
        spec: Some(repo_path("tests/data/specs/pets-3.0.yaml")),
        fixtures: None,
        ..Sources::default()
    };
    TestApp::spawn_with(sources, EngineOptions::default()).await
}

async fn pets(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    prefer: Option<&str>,
) -> Reply {
    let mut builder = app.request(method, path).header("X-API-Key", "k");
    if let Some(body) = body {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    if let Some(prefer) = prefer {
        builder = builder.header("Prefer", prefer);
    }
    send(builder).await
}

#[tokio::test]
async fn an_openapi_3_0_document_serves_examples_and_generated_bodies() {
    let app = pets_app().await;
    let listed = pets(&app, Method::GET, "/pets?limit=5&kind=cat", None, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body[0]["name"], "Tom", "the first named example");

    let none = pets(&app, Method::GET, "/pets", None, Some("example=none")).await;
    assert_eq!(none.body, json!([]));

    let created = pets(
        &app,
        Method::POST,
        "/pets",
        Some(json!({"id": 3, "name": "Kit", "kind": "cat", "tag": null})),
        None,
    )
    .await;
    assert_eq!(
        created.status, 201,
        "3.0 nullable accepts null: {}",
        created.body
    );
    insta::assert_json_snapshot!("pets_created_generated", created.body);

    let tree = send(app.request(Method::GET, "/family-tree")).await;
    assert_eq!(
        tree.status, 200,
        "a cyclic schema generates a finite, valid value"
    );
}

#[tokio::test]
async fn a_3_0_request_error_uses_the_declared_error_example_and_names_no_undeclared_status() {
    let app = pets_app().await;
    let invalid = pets(
        &app,
        Method::POST,
        "/pets",
        Some(json!({"id": 0, "kind": "bird", "extra": 1})),
        None,
    )
    .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body,
        json!({"message": "name is required"}),
        "the declared 400 example"
    );

    // GET /pets declares no 400: the mock says so itself instead of inventing a status.
    let bad_query = pets(&app, Method::GET, "/pets?limit=abc&kind=bird", None, None).await;
    assert_eq!(bad_query.status, 400);
    assert_eq!(
        bad_query.header("evalmock-error"),
        Some("undeclared-status")
    );
    insta::assert_json_snapshot!("pets_undeclared_400", bad_query.body);

    let missing_key = send(app.request(Method::GET, "/pets")).await;
    assert_eq!(missing_key.status, 401);
    assert_eq!(
        missing_key.body,
        serde_json::Value::Null,
        "401 declares no content"
    );
}

#[test]
fn check_accepts_the_embedded_defaults() {
    let output = evalmock_bin().arg("check").output().expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

fn check_spec(text: &str, name: &str) -> (i32, String) {
    let dir = TempDir::new(name);
    let path = dir.0.join(name);
    std::fs::write(&path, text).expect("write spec");
    let output = evalmock_bin()
        .args(["check", "--spec"])
        .arg(&path)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_broken_spec_fails_check_naming_the_json_pointer() {
    let dangling = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}}"##;
    let (code, stderr) = check_spec(dangling, "dangling.json");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("/paths/~1a/get/responses/200/content/application~1json/schema/$ref"),
        "{stderr}"
    );
    assert!(stderr.contains("does not resolve"), "{stderr}");

    let (code, stderr) = check_spec("openapi: 4.0.0\npaths: {}\n", "future.yaml");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("/openapi") && stderr.contains("unsupported OpenAPI version"),
        "{stderr}"
    );

    let (code, stderr) = check_spec("openapi: 3.1.0\npaths: [unclosed\n", "syntax.yaml");
    assert_eq!(code, 1);
    assert!(stderr.contains("not valid YAML"), "{stderr}");

    let undeclared_param = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#;
    // Since issue 14: an undeclared path parameter is a warning, not a refusal (the document
    // is served; `any_spec_requests` checks the warning and how the parameter is read).
    let (code, stderr) = check_spec(undeclared_param, "param.json");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn serving_a_broken_spec_exits_non_zero_with_the_reason() {
    let dir = TempDir::new("serve-broken");
    let path = dir.0.join("broken.yaml");
    std::fs::write(&path, "swagger: '2.0'\n").expect("write");
    let output = evalmock_bin()
        .args(["--port", "0", "--spec"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Swagger 2.0 is not supported"), "{stderr}");
}

#[test]
fn a_spec_that_is_a_fifo_or_a_folder_stops_start_up_at_once_naming_it() {
    let dir = TempDir::new("spec-not-a-file");
    let fifo = dir.0.join("spec.yaml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo is installed (this test needs it)");
    assert!(made.success(), "mkfifo failed");
    let folder = dir.0.join("specs.json");
    std::fs::create_dir(&folder).expect("a folder");
    for (path, what) in [(&fifo, "a FIFO"), (&folder, "a folder")] {
        for command in [&["--port", "0", "--no-watch"][..], &["check"][..]] {
            let mut child = evalmock_bin()
                .args(command)
                .arg("--spec")
                .arg(path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("runs");
            let stderr = read_in_background(child.stderr.take().expect("stderr"));
            let status = wait_for_exit(&mut child, 10);
            if status.is_none() {
                let _ = child.kill();
            }
            let stderr = stderr.join().expect("stderr read");
            let status = status.unwrap_or_else(|| panic!("{command:?} hangs on {what}: {stderr}"));
            assert!(!status.success(), "{command:?} {what}: {stderr}");
            assert!(
                stderr.contains(&path.display().to_string())
                    && stderr.contains("not a regular file")
                    && stderr.contains(what),
                "{command:?} {what}: {stderr}"
            );
        }
    }
}

/// Copies the bundled fixtures to a temp dir and applies `edit` to the first group file.
fn broken_fixtures(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (TempDir, String) {
    let dir = TempDir::new(name);
    std::fs::create_dir_all(dir.0.join("groups")).expect("mkdir");
    let mut first = None;
    let mut entries: Vec<_> = std::fs::read_dir(repo_path("fixtures/groups"))
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        std::fs::copy(&path, dir.0.join("groups").join(&name)).expect("copy");
        first.get_or_insert(name);
    }
    std::fs::copy(repo_path("fixtures/tokens.json"), dir.0.join("tokens.json"))
        .expect("copy tokens");
    let first = first.expect("at least one group file");
    let path = dir.0.join("groups").join(&first);
    let mut group: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    edit(&mut group);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&group).expect("serialise"),
    )
    .expect("write");
    (dir, first)
}

fn check_fixtures(dir: &TempDir) -> (i32, String) {
    let output = evalmock_bin()
        .args(["check", "--fixtures"])
        .arg(&dir.0)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_fixture_with_a_dangling_step_id_fails_check_naming_file_and_field() {
    let (dir, file) = broken_fixtures("dangling-step", |g| {
        g["batches"][0]["results"][0]["stepResults"][0]["stepId"] = json!("step_typo");
    });
    let (code, stderr) = check_fixtures(&dir);
    assert_eq!(code, 1);
    assert!(stderr.contains(&file), "{stderr}");
    assert!(
        stderr.contains("batches[0].results[0].stepResults[0].stepId")
            && stderr.contains("step_typo"),
        "{stderr}"
    );
}

#[test]
fn a_fixture_with_text_after_its_document_fails_check() {
    let (dir, file) = broken_fixtures("trailing", |_| {});
    let path = dir.0.join("groups").join(&file);
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("\n{\"stray\": true}\n");
    std::fs::write(&path, text).expect("write");
    let (code, stderr) = check_fixtures(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&file)
            && stderr.contains("(document)")
            && stderr.contains("trailing characters"),
        "{stderr}"
    );
}

#[test]
fn a_fixture_with_a_wrongly_typed_field_fails_check_naming_file_and_field() {
    let (dir, file) = broken_fixtures("bad-type", |g| {
        g["batches"][1]["results"][2]["stepResults"][0]["promptTokens"] = json!("many");
    });
    let (code, stderr) = check_fixtures(&dir);
    assert_eq!(code, 1);
    assert!(stderr.contains(&file), "{stderr}");
    assert!(
        stderr.contains("batches[1].results[2].stepResults[0].promptTokens"),
        "{stderr}"
    );
}

#[test]
fn help_explains_every_flag_and_its_environment_variable() {
    let output = evalmock_bin().arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--spec",
        "EVALMOCK_SPEC",
        "--fixtures",
        "EVALMOCK_FIXTURES",
        "--host",
        "EVALMOCK_HOST",
        "--port",
        "EVALMOCK_PORT",
        "--response-validation",
        "check",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}
