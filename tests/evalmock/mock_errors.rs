//! The mock's own errors: problem+json with an `evalmock-error` header; CORS for browsers.

use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let reply = app.get("/v1/eval/nothing/here/at-all").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.header("evalmock-error"), Some("no-route"));
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_with_allow() {
    let app = TestApp::spawn().await;
    let reply = send(app.request(Method::GET, "/v1/eval/compare-record")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(reply.header("evalmock-error"), Some("method-not-allowed"));
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = TestApp::spawn().await;
    let reply = send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Content-Type", "application/json")
            .body(vec![b' '; 65 * 1024]),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("evalmock-error"), Some("body-too-large"));
}

#[tokio::test]
async fn a_browser_preflight_is_answered_and_errors_expose_the_marker_header() {
    let app = TestApp::spawn().await;
    let reply = send(
        app.request(Method::OPTIONS, "/v1/eval/compare-record")
            .header("Origin", "http://localhost:5173")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    // A day: a page calling the mock all day does not send a preflight before each request.
    assert_eq!(reply.header("access-control-max-age"), Some("86400"));
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    let error = send(
        app.request(Method::GET, "/nowhere")
            .header("Origin", "http://localhost:5173"),
    )
    .await;
    assert_eq!(
        error.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        error.header("access-control-expose-headers"),
        Some("evalmock-error,evalmock-api-version")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_origins_given_on_the_command_line_are_the_only_ones_allowed() {
    let mock = Binary::serve(
        &[
            "--cors-origin",
            "http://localhost:5173",
            "--cors-origin",
            "https://app.example.com",
        ],
        &[],
    );
    let preflight = |origin: &'static str| {
        http_client()
            .request(reqwest::Method::OPTIONS, mock.url("/v1/eval/batches"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send()
    };
    for allowed in ["http://localhost:5173", "https://app.example.com"] {
        let reply = preflight(allowed).await.expect("answers");
        assert_eq!(
            reply
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some(allowed)
        );
        assert_eq!(
            reply
                .headers()
                .get("access-control-max-age")
                .and_then(|v| v.to_str().ok()),
            Some("86400")
        );
    }
    let other = preflight("http://evil.example").await.expect("answers");
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "another origin is not allowed: {:?}",
        other.headers()
    );
    mock.stop();
}
