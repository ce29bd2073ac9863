//! Authentication: the documented Bearer form, the docs' bare `rt_` key, and fixture tokens.

use reqwest::Method;

use crate::helpers::*;

async fn compare_with_authorization(app: &TestApp, authorization: Option<&str>) -> Reply {
    let mut builder = app
        .request(Method::POST, "/v1/eval/compare-record")
        .header("Content-Type", "application/json")
        .body(docs_compare_record_body().to_string());
    if let Some(value) = authorization {
        builder = builder.header("Authorization", value);
    }
    send(builder).await
}

#[tokio::test]
async fn the_docs_bare_rt_key_and_the_bearer_form_are_both_accepted() {
    let app = TestApp::spawn().await;
    for value in [
        "rt_test_1234567890abcdef",
        "Bearer rt_live_abc",
        // A dashboard session token (a JWT).
        "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxIn0.c2lnbmF0dXJl",
    ] {
        let reply = compare_with_authorization(&app, Some(value)).await;
        assert_eq!(reply.status, 200, "{value}: {}", reply.body);
    }
}

#[tokio::test]
async fn a_token_that_cannot_be_a_runtype_key_answers_401_unless_any_token_is_accepted() {
    let app = TestApp::spawn().await;
    let reply = compare_with_authorization(&app, Some("Bearer anything-at-all")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["details"][0]["code"], "INVALID_API_KEY");
    insta::assert_json_snapshot!(reply.body);

    let options = evalmock::engine::EngineOptions {
        accept_any_token: true,
        ..instant()
    };
    let lenient = TestApp::spawn_with(evalmock::config::Sources::default(), options).await;
    let reply = compare_with_authorization(&lenient, Some("Bearer anything-at-all")).await;
    assert_eq!(reply.status, 200, "--accept-any-token: {}", reply.body);
    let revoked =
        compare_with_authorization(&lenient, Some(&format!("Bearer {REVOKED_KEY}"))).await;
    assert_eq!(revoked.status, 401, "fixture rules still apply");
}

#[tokio::test]
async fn two_authorization_headers_answer_401_instead_of_the_first_winning() {
    let app = TestApp::spawn().await;
    let reply = send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Authorization", format!("Bearer {REVOKED_KEY}"))
            .body(docs_compare_record_body().to_string()),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["details"][0]["code"], "MALFORMED_CREDENTIALS");
    assert!(
        reply.body["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than one Authorization header")),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_missing_authorization_header_answers_401() {
    let app = TestApp::spawn().await;
    let reply = compare_with_authorization(&app, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("evalmock-error"),
        None,
        "this is the API's answer, not the mock's"
    );
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn empty_malformed_and_other_scheme_credentials_answer_401_with_their_own_codes() {
    let app = TestApp::spawn().await;
    let mut codes = Vec::new();
    for value in [
        "",
        "Bearer",
        "Bearer two words",
        "Basic dXNlcjpwYXNz",
        "sk_live_not_a_runtype_key",
    ] {
        let reply = compare_with_authorization(&app, Some(value)).await;
        assert_eq!(reply.status, 401, "{value:?}");
        codes.push((
            value,
            reply.body["details"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    insta::assert_debug_snapshot!(codes);
}

#[tokio::test]
async fn a_revoked_fixture_key_answers_401() {
    let app = TestApp::spawn().await;
    let reply = compare_with_authorization(&app, Some(&format!("Bearer {REVOKED_KEY}"))).await;
    assert_eq!(reply.status, 401);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn a_scoped_key_reads_its_group_and_gets_403_for_another() {
    let app = TestApp::spawn().await;
    let allowed = compare_with_authorization(&app, Some(&format!("Bearer {SCOPED_KEY}"))).await;
    assert_eq!(allowed.status, 200);

    let other = app
        .post_json_as(
            SCOPED_KEY,
            "/v1/eval/compare-record",
            serde_json::json!({"evalGroupId": GROUP_2, "recordId": "x"}),
        )
        .await;
    assert_eq!(other.status, 403);
    insta::assert_json_snapshot!(other.body);
}

#[tokio::test]
async fn api_keys_never_reach_the_logs() {
    // The real binary at the most verbose log level, so every log line of the run is seen.
    let server = Binary::serve(&[], &[("RUST_LOG", "trace")]);
    let port = server.port;
    let client = http_client();
    let secret = "rt_live_secret_do_not_log_0123456789";
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    for authorization in [
        format!("Bearer {secret}"),
        secret.to_string(),
        format!("Basic {secret}"),
    ] {
        client
            .post(url("/v1/eval/compare-record"))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .body(docs_compare_record_body().to_string())
            .send()
            .await
            .expect("request");
    }
    client
        .get(url(&format!("/v1/eval/batches?api_key={secret}")))
        .header("Authorization", secret)
        .send()
        .await
        .expect("request");
    drop(client);
    let logs = server.stop();
    assert!(
        logs.contains("/v1/eval/compare-record"),
        "requests are logged: {logs}"
    );
    assert!(
        !logs.contains(secret),
        "a key leaked into the logs:\n{logs}"
    );
}
