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
        "bearer any-session-token",
    ] {
        let reply = compare_with_authorization(&app, Some(value)).await;
        assert_eq!(reply.status, 200, "{value}: {}", reply.body);
    }
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

    let other = send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Authorization", format!("Bearer {SCOPED_KEY}"))
            .header("Content-Type", "application/json")
            .body(serde_json::json!({"evalGroupId": GROUP_2, "recordId": "x"}).to_string()),
    )
    .await;
    assert_eq!(other.status, 403);
    insta::assert_json_snapshot!(other.body);
}

/// Collects what the server logs, for the test that runs with it as the default subscriber.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn api_keys_never_reach_the_logs() {
    // A current-thread test runtime runs the server on this thread, so a thread-local default
    // subscriber sees every log line of these requests.
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    let secret = "rt_live_secret_do_not_log_0123456789";
    for authorization in [
        format!("Bearer {secret}"),
        secret.to_string(),
        format!("Basic {secret}"),
    ] {
        compare_with_authorization(&app, Some(&authorization)).await;
    }
    send(
        app.request(Method::GET, &format!("/v1/eval/batches?api_key={secret}"))
            .header("Authorization", secret),
    )
    .await;

    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    assert!(
        text.contains("/v1/eval/compare-record"),
        "requests are logged: {text}"
    );
    assert!(
        !text.contains(secret),
        "a key leaked into the logs:\n{text}"
    );
}
