//! `Prefer: code=NNN` reaches every status an operation declares, and no other.

use reqwest::Method;

use crate::helpers::*;

async fn compare_with_prefer(app: &TestApp, prefer: &str) -> Reply {
    send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .header("Prefer", prefer)
            .body(docs_compare_record_body().to_string()),
    )
    .await
}

#[tokio::test]
async fn every_declared_error_status_is_reachable_with_a_spec_valid_body() {
    let app = TestApp::spawn().await;
    let spec = bundled_spec();
    let operation = operation(&spec, "/v1/eval/compare-record");
    let mut bodies = Vec::new();
    for status in [400u16, 401, 403, 404, 500] {
        let reply = compare_with_prefer(&app, &format!("code={status}")).await;
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("evalmock-error"), Some("simulated"));
        let schema = operation.response(status).expect("declared").content[0]
            .schema
            .as_ref()
            .expect("has a schema");
        assert!(schema.is_valid(&reply.body), "{status}: {}", reply.body);
        bodies.push(serde_json::json!({ "status": status, "body": reply.body }));
    }
    insta::assert_json_snapshot!(bodies);
}

#[tokio::test]
async fn prefer_code_200_runs_the_normal_handler() {
    let app = TestApp::spawn().await;
    let reply = compare_with_prefer(&app, "code=200").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["evalGroupId"], GROUP_1);
}

#[tokio::test]
async fn an_undeclared_code_is_a_mock_error_listing_the_declared_ones() {
    let app = TestApp::spawn().await;
    let reply = compare_with_prefer(&app, "code=402").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.header("evalmock-error"),
        Some("undeclared-prefer-code")
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_malformed_code_is_a_mock_error() {
    let app = TestApp::spawn().await;
    let reply = compare_with_prefer(&app, "code=four-oh-four").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("evalmock-error"), Some("invalid-prefer"));
    insta::assert_json_snapshot!(reply.body);
}
