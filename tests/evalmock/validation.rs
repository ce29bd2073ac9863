//! Request validation: every mistake is a 400 in Runtype's error shape, one detail per problem.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn post_raw(app: &TestApp, content_type: Option<&str>, body: &'static str) -> Reply {
    let mut builder = app
        .request(Method::POST, "/v1/eval/compare-record")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .body(body);
    if let Some(ct) = content_type {
        builder = builder.header("Content-Type", ct);
    }
    send(builder).await
}

#[tokio::test]
async fn a_missing_required_field_is_named_with_its_path() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json("/v1/eval/compare-record", json!({"evalGroupId": GROUP_1}))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["code"], "MISSING_REQUIRED_FIELD");
    assert_eq!(reply.body["details"][0]["path"], "recordId");
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn every_violation_is_reported_with_a_dotted_path() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({"evalGroupId": 42, "stepIds": ["step_01jv0000000000000000000001", 7]}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let paths = reply.detail_paths();
    assert!(
        paths.contains(&"recordId")
            && paths.contains(&"evalGroupId")
            && paths.contains(&"stepIds[1]"),
        "{paths:?}"
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn malformed_json_gets_its_own_code_and_position() {
    let app = TestApp::spawn().await;
    let reply = post_raw(&app, Some("application/json"), r#"{"evalGroupId": "x",}"#).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["code"], "MALFORMED_JSON");
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_wrong_content_type_gets_its_own_code() {
    let app = TestApp::spawn().await;
    let reply = post_raw(&app, Some("text/plain"), r#"{"evalGroupId": "x"}"#).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["code"], "UNSUPPORTED_CONTENT_TYPE");
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_json_content_type_with_charset_is_accepted() {
    let app = TestApp::spawn().await;
    let reply = send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(docs_compare_record_body().to_string()),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_body_without_content_type_is_refused() {
    let app = TestApp::spawn().await;
    let reply = post_raw(&app, None, r#"{"evalGroupId": "x"}"#).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["code"], "UNSUPPORTED_CONTENT_TYPE");
}

#[tokio::test]
async fn an_empty_body_is_reported_as_missing() {
    let app = TestApp::spawn().await;
    let reply = post_raw(&app, Some("application/json"), "").await;
    assert_eq!(reply.status, 400);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_a_type_error() {
    let app = TestApp::spawn().await;
    let reply = post_raw(&app, Some("application/json"), "[1, 2]").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["code"], "INVALID_TYPE");
    assert_eq!(reply.body["details"][0]["path"], "");
}
