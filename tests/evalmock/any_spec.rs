//! Any OpenAPI document, not only ours: each document of our corpus (`tests/data/specs/`, one
//! per lenient-loading rule or real-world shape) loads with exactly the warnings it should,
//! and every answer to a valid and an invalid request of every operation is either declared
//! by the operation with a body valid for that status, or the mock's own marked problem.

use evalmock::config::Sources;
use evalmock::spec::{Operation, Spec};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// One request of a case: method, path (with query), JSON body.
type Request = (Method, &'static str, Option<Value>);

/// One operation of a corpus document: a valid and an invalid request, and the status each
/// should get (`None`: the mock's marked 400 problem).
struct OperationCase {
    operation: &'static str,
    valid: Request,
    valid_status: Option<u16>,
    invalid: Request,
    invalid_status: Option<u16>,
}

struct Document {
    file: &'static str,
    /// The JSON pointers of its warnings, in order.
    warnings: &'static [&'static str],
    operations: Vec<OperationCase>,
}

fn corpus() -> Vec<Document> {
    vec![
        Document {
            file: "no-responses-3.1.yaml",
            warnings: &[],
            operations: vec![
                OperationCase {
                    operation: "startJob",
                    valid: (Method::POST, "/jobs/7", None),
                    valid_status: None,
                    invalid: (Method::POST, "/jobs/seven", None),
                    invalid_status: None,
                },
                OperationCase {
                    operation: "getJob",
                    valid: (Method::GET, "/jobs/7", None),
                    valid_status: Some(200),
                    invalid: (Method::GET, "/jobs/seven", None),
                    invalid_status: None,
                },
            ],
        },
        Document {
            file: "exclusive-bool-3.1.yaml",
            warnings: &[
                "/components/schemas/Setting/properties/celsius/exclusiveMinimum",
                "/components/schemas/Setting/properties/celsius/exclusiveMaximum",
                "/components/schemas/Setting/properties/label/nullable",
            ],
            operations: vec![OperationCase {
                operation: "setTemperature",
                valid: (
                    Method::PUT,
                    "/thermostat",
                    Some(json!({"celsius": 21.5, "label": null})),
                ),
                valid_status: Some(200),
                // 5 is excluded: the boolean bound was honoured, not dropped.
                invalid: (Method::PUT, "/thermostat", Some(json!({"celsius": 5}))),
                invalid_status: None,
            }],
        },
        Document {
            file: "ecma-regex.yaml",
            warnings: &[
                "/paths/~1templates/post/requestBody/content/application~1json/schema/properties/body/pattern",
            ],
            operations: vec![OperationCase {
                operation: "createTemplate",
                // Breaks the dropped pattern: not enforced.
                valid: (
                    Method::POST,
                    "/templates",
                    Some(json!({"body": "no braces"})),
                ),
                valid_status: Some(201),
                // The rest of the schema still is.
                invalid: (Method::POST, "/templates", Some(json!({"body": ""}))),
                invalid_status: Some(400),
            }],
        },
        Document {
            file: "mutual-tls.yaml",
            warnings: &["/components/securitySchemes/clientCert/type"],
            operations: vec![OperationCase {
                operation: "getCert",
                valid: (Method::GET, "/certs/12", None),
                valid_status: Some(200),
                invalid: (Method::GET, "/certs/0", None),
                invalid_status: Some(400),
            }],
        },
        Document {
            file: "undefined-scheme.yaml",
            warnings: &["/security/0/partnerToken"],
            operations: vec![OperationCase {
                operation: "listOrders",
                valid: (Method::GET, "/orders?limit=5", None),
                valid_status: Some(200),
                invalid: (Method::GET, "/orders?limit=500", None),
                invalid_status: None,
            }],
        },
        Document {
            file: "error-only.yaml",
            warnings: &[],
            operations: vec![
                OperationCase {
                    operation: "deletePet",
                    valid: (Method::DELETE, "/pet/3", None),
                    valid_status: Some(400),
                    invalid: (Method::DELETE, "/pet/three", None),
                    invalid_status: Some(400),
                },
                OperationCase {
                    operation: "addPet",
                    valid: (Method::POST, "/pet", Some(json!({"name": "Rex"}))),
                    valid_status: Some(405),
                    invalid: (Method::POST, "/pet", Some(json!({"tag": "dog"}))),
                    invalid_status: None,
                },
            ],
        },
        Document {
            file: "delete-204.yaml",
            warnings: &[],
            operations: vec![OperationCase {
                operation: "deleteFile",
                valid: (Method::DELETE, "/files/f_12", None),
                valid_status: Some(204),
                invalid: (Method::DELETE, "/files/12", None),
                invalid_status: None,
            }],
        },
        Document {
            file: "default-only.yaml",
            warnings: &[],
            operations: vec![OperationCase {
                operation: "ping",
                valid: (Method::GET, "/ping?count=2", None),
                valid_status: Some(200),
                invalid: (Method::GET, "/ping?count=0", None),
                invalid_status: Some(400),
            }],
        },
    ]
}

fn corpus_path(file: &str) -> std::path::PathBuf {
    repo_path(&format!("tests/data/specs/{file}"))
}

async fn send_request(app: &TestApp, (method, path, body): &Request) -> Reply {
    let mut builder = app.request(method.clone(), path);
    if let Some(body) = body {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    send(builder).await
}

/// The answer is declared by the operation and valid for its status, or it is the mock's own
/// marked problem (400, 404 or 405) and no declared status.
fn assert_declared_or_marked(op: &Operation, reply: &Reply, context: &str) {
    if op.response(reply.status).is_none() {
        assert!(
            [400, 404, 405].contains(&reply.status),
            "{context}: undeclared {} {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.header("evalmock-error").is_some(),
            "{context}: an undeclared {} must be the mock's marked problem",
            reply.status
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{context}"
        );
        return;
    }
    let violations = evalmock::engine::response_violations(op, &engine_reply(reply));
    assert!(
        violations.is_empty(),
        "{context}: {} breaks the document: {violations:#?}\n{}",
        reply.status,
        reply.body
    );
}

fn assert_expected_status(expected: Option<u16>, reply: &Reply, context: &str) {
    match expected {
        Some(status) => assert_eq!(reply.status, status, "{context}: {}", reply.body),
        None => {
            assert_eq!(reply.status, 400, "{context}: {}", reply.body);
            assert!(
                reply.header("evalmock-error").is_some(),
                "{context}: the mock's own marked problem expected: {}",
                reply.body
            );
        }
    }
}

#[tokio::test]
async fn every_corpus_document_loads_with_its_warnings_and_answers_only_what_it_declares() {
    for document in corpus() {
        let path = corpus_path(document.file);
        let text = std::fs::read_to_string(&path).expect("corpus document");
        let spec = Spec::load(&text, document.file).expect("loads leniently");
        let covered: Vec<&str> = document.operations.iter().map(|c| c.operation).collect();
        for op in spec.operations() {
            assert!(
                covered.contains(&op.name.as_ref()),
                "{}: operation {} has no case",
                document.file,
                op.name
            );
        }
        let app = TestApp::spawn_with(
            Sources {
                spec: Some(path.clone()),
                ..Sources::default()
            },
            instant(),
        )
        .await;

        let health = send(app.request(Method::GET, "/__mock/health")).await;
        assert_admin_contract("GET", "/__mock/health", &health);
        let pointers: Vec<&str> = health.body["spec"]["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .map(|w| w["pointer"].as_str().expect("pointer"))
            .collect();
        assert_eq!(pointers, document.warnings, "{}", document.file);

        for case in &document.operations {
            let op = spec
                .operations()
                .iter()
                .find(|op| op.name.as_ref() == case.operation)
                .expect("the case's operation exists");
            for (request, expected, kind) in [
                (&case.valid, case.valid_status, "valid"),
                (&case.invalid, case.invalid_status, "invalid"),
            ] {
                let context = format!("{} {} ({kind} request)", document.file, case.operation);
                let reply = send_request(&app, request).await;
                assert_expected_status(expected, &reply, &context);
                assert_declared_or_marked(op, &reply, &context);
            }
        }
    }
}

#[tokio::test]
async fn an_operation_without_responses_says_so_in_its_problem() {
    let app = TestApp::spawn_with(
        Sources {
            spec: Some(corpus_path("no-responses-3.1.yaml")),
            ..Sources::default()
        },
        instant(),
    )
    .await;
    let reply = send(app.request(Method::POST, "/jobs/7")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("evalmock-error"), Some("undeclared-status"));
    let detail = reply.body["detail"].as_str().expect("detail");
    assert!(detail.contains("declares no responses"), "{detail}");
}

fn evalmock_check(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .arg("check")
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_prints_warnings_and_fails_on_them_only_with_strict() {
    let spec = corpus_path("mutual-tls.yaml");
    let spec = spec.to_str().expect("UTF-8 path");

    let (code, stdout, _) = evalmock_check(&["--spec", spec]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(
        stdout.contains("warning: ")
            && stdout.contains("/components/securitySchemes/clientCert/type")
            && stdout.contains("not checked"),
        "{stdout}"
    );

    let (code, _, stderr) = evalmock_check(&["--spec", spec, "--strict"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--strict: 1 warning"), "{stderr}");

    let (code, stdout, _) = evalmock_check(&["--spec", spec, "--strict", "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["warnings"][0]["pointer"],
        "/components/securitySchemes/clientCert/type"
    );

    let (code, stdout, _) = evalmock_check(&[
        "--spec",
        corpus_path("delete-204.yaml").to_str().expect("UTF-8 path"),
        "--strict",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "a document served as written passes --strict");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["warnings"], json!([]));
}

#[test]
fn only_a_document_that_cannot_be_served_is_refused() {
    let dir = TempDir::new("any-spec-refused");
    for (name, text, expected) in [
        ("not-yaml.yaml", "openapi: [3.1.0\n", "not valid YAML"),
        (
            "no-version.yaml",
            "info: {title: t, version: '1'}\npaths: {}\n",
            "missing the `openapi` version field",
        ),
        (
            "v4.yaml",
            "openapi: 4.0.0\npaths: {}\n",
            "unsupported OpenAPI version",
        ),
    ] {
        let path = dir.0.join(name);
        std::fs::write(&path, text).expect("write");
        let (code, _, stderr) = evalmock_check(&["--spec", path.to_str().expect("UTF-8 path")]);
        assert_eq!(code, 1, "{name}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

#[test]
fn serving_logs_each_warning_at_start_up_with_its_pointer() {
    let spec = corpus_path("undefined-scheme.yaml");
    let binary = Binary::serve(&["--spec", spec.to_str().expect("UTF-8 path")], &[]);
    assert!(binary.signal("TERM"));
    let (_, logs) = binary.wait(10);
    let line = logs
        .lines()
        .find(|l| l.contains("/security/0/partnerToken"))
        .unwrap_or_else(|| panic!("no warning logged:\n{logs}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("the reference is ignored"), "{line}");
}

#[test]
fn an_unsupported_scheme_type_and_an_uncompilable_schema_are_warnings_not_refusals() {
    let text = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "components": {"securitySchemes": {"magic": {"type": "magicLink"}}},
        "security": [{"magic": []}],
        "paths": {"/a": {"get": {"responses": {"200": {"description": "ok",
            "content": {"application/json": {"schema": {"type": "strnig"}}}}}}}}}"#;
    let spec = Spec::load(text, "inline.json").expect("loads leniently");
    let pointers: Vec<&str> = spec.warnings().iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/paths/~1a/get/responses/200/content/application~1json/schema",
            "/components/securitySchemes/magic/type",
        ],
        "{:#?}",
        spec.warnings()
    );
    assert!(
        spec.operations()[0]
            .security
            .iter()
            .all(|r| r.schemes.is_empty()),
        "the unsupported scheme is not checked"
    );
}
