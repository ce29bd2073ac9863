//! The request journal and the admin API around it, as a frontend developer or a CI job uses
//! them: what was asked, who answered, and why it failed. Every admin answer is checked
//! against `specs/admin.yaml`.

use std::time::Duration;

use evalmock::config::Sources;
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Entry fields that differ run to run.
fn stable(entry: &Value) -> Value {
    let mut entry = entry.clone();
    entry["id"] = json!("[id]");
    entry["time"] = json!("[time]");
    entry["durationMs"] = json!("[duration]");
    if let Some(headers) = entry["request"]["headers"].as_object_mut() {
        headers.remove("host");
    }
    entry
}

#[tokio::test]
async fn a_rejected_request_is_journaled_with_its_violation_source_and_redacted_key() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_json(
            "/v1/eval/compare-record",
            json!({ "evalGroupId": GROUP_1, "stepIds": [STEP_1] }),
        )
        .await;
    assert_eq!(reply.status, 400);
    let entries = app.journal("").await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["operation"], "compareRecordAcrossEvals");
    assert_eq!(entry["source"]["kind"], "validation");
    assert_eq!(entry["violations"][0]["code"], "MISSING_REQUIRED_FIELD");
    assert_eq!(entry["violations"][0]["path"], "recordId");
    assert_eq!(entry["request"]["headers"]["authorization"], "[redacted]");
    assert!(
        !entry.to_string().contains(API_KEY),
        "the API key never reaches the journal"
    );
    insta::assert_json_snapshot!(stable(entry));
}

#[tokio::test]
async fn the_source_says_who_answered_each_request() {
    let app = TestApp::spawn().await;
    let docs = docs_compare_record_body();
    let unfiltered = json!({ "evalGroupId": GROUP_1, "recordId": RECORD_1 });
    // Metrics over a step filter: computed for this request.
    app.post_json(
        "/v1/eval/compare",
        json!({ "evalGroupId": GROUP_1, "stepIds": [STEP_1, STEP_2] }),
    )
    .await;
    // The same inputs with another key order and an unknown field: remembered, not rebuilt.
    let reordered = json!({
        "stepIds": [STEP_2, STEP_1],
        "evalGroupId": GROUP_1,
        "clientNote": "ignored"
    });
    app.post_json("/v1/eval/compare", reordered).await;
    // A step filter on compare-record is assembled from parts prepared at load; no filter is
    // the prepared answer whole.
    app.post_json("/v1/eval/compare-record", docs).await;
    app.post_json("/v1/eval/compare-record", unfiltered).await;
    app.get("/v1/eval/batches?limit=2").await;
    send(
        app.request(Method::POST, "/v1/eval/compare-record")
            .header("Prefer", "code=404")
            .body("{}"),
    )
    .await;
    send(app.request(Method::GET, "/v1/eval/compare-record")).await;
    app.get("/nothing/here").await;
    send(app.request(Method::POST, "/v1/eval/compare").body("{}")).await;
    let entries = app.journal("").await;
    let seen: Vec<(String, u64, Value)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["status"].as_u64().unwrap_or_default(),
                e["source"].clone(),
            )
        })
        .collect();
    insta::assert_json_snapshot!(seen);
}

#[tokio::test]
async fn the_journal_filters_by_operation_status_since_and_limit() {
    let app = TestApp::spawn().await;
    app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    app.get("/v1/eval/group/evalgrp_missing").await;
    app.post_json("/v1/eval/compare", json!({ "evalGroupId": GROUP_1 }))
        .await;
    app.post_json("/v1/eval/compare", json!({})).await;

    let statuses = |entries: &[Value]| -> Vec<u64> {
        entries
            .iter()
            .map(|e| e["status"].as_u64().unwrap_or_default())
            .collect()
    };
    assert_eq!(statuses(&app.journal("").await), [400, 200, 404, 200]);
    assert_eq!(statuses(&app.journal("?status=4xx").await), [400, 404]);
    assert_eq!(statuses(&app.journal("?status=404").await), [404]);
    assert_eq!(
        statuses(&app.journal("?operation=getEvalGroup").await),
        [404, 200]
    );
    assert_eq!(
        statuses(&app.journal("?operation=POST%20/v1/eval/compare").await),
        [400, 200]
    );
    assert_eq!(statuses(&app.journal("?limit=1").await), [400]);
    let oldest = app.journal("").await[3]["id"].as_u64().expect("id");
    assert_eq!(
        statuses(&app.journal(&format!("?since={oldest}")).await),
        [400, 200, 404]
    );

    for bad in ["status=6xx", "limit=0", "limit=many", "since=yesterday"] {
        let reply = send(app.request(Method::GET, &format!("/__mock/requests?{bad}"))).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(
            reply.header("evalmock-error"),
            Some("invalid-admin-request")
        );
        assert_admin_contract("GET", "/__mock/requests", &reply);
    }
    let reply = send(app.request(Method::GET, "/__mock/requests?status=6xx")).await;
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn the_journal_keeps_the_newest_entries_and_cuts_long_bodies() {
    let options = evalmock::engine::EngineOptions {
        journal_size: 3,
        journal_body_limit: 64,
        ..instant()
    };
    let app = TestApp::spawn_with(Sources::default(), options).await;
    for n in 0..5 {
        app.get(&format!("/v1/eval/batches?offset={n}")).await;
    }
    let reply = send(app.request(Method::GET, "/__mock/requests")).await;
    assert_eq!(reply.body["total"], 3);
    assert_eq!(reply.body["capacity"], 3);
    let queries: Vec<&str> = reply.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["query"].as_str())
        .collect();
    assert_eq!(queries, ["offset=4", "offset=3", "offset=2"]);
    let response = &reply.body["entries"][0]["response"];
    assert_eq!(response["truncated"], true);
    assert_eq!(response["body"].as_str().map(str::len), Some(64));
    assert!(response["bodyBytes"].as_u64().unwrap_or_default() > 64);
}

#[tokio::test]
async fn clearing_the_journal_empties_it_and_reset_keeps_it() {
    let app = TestApp::spawn().await;
    app.get("/v1/eval/batches").await;
    let reset = send(
        app.request(Method::POST, "/__mock/reset")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(reset.status, 204);
    assert_admin_contract("POST", "/__mock/reset", &reset);
    assert_eq!(app.journal("").await.len(), 1, "reset keeps the journal");
    let cleared = send(
        app.request(Method::DELETE, "/__mock/requests")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(cleared.status, 204);
    assert_admin_contract("DELETE", "/__mock/requests", &cleared);
    assert!(app.journal("").await.is_empty());
}

#[tokio::test]
async fn new_entries_arrive_on_the_live_feed() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/__mock/requests/stream")
        .send()
        .await
        .expect("the feed opens");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut chunks = response.bytes_stream();
    let mut text = String::new();
    // The greeting first, so a client knows the feed is live before anything happens.
    while !text.contains("\n\n") {
        let chunk = chunks.next().await.expect("a chunk").expect("readable");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    app.get("/v1/eval/group/evalgrp_missing").await;
    let entry = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            // Messages are separated by a blank line; the entry's holds `event: entry`.
            if let Some(message) = text
                .split("\n\n")
                .find(|m| m.lines().any(|l| l == "event: entry"))
                && text.contains(&format!("{message}\n\n"))
            {
                return message.to_string();
            }
            let chunk = chunks.next().await.expect("a chunk").expect("readable");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("the entry arrives within 5 s");
    let data = entry
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let data: Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(data["path"], "/v1/eval/group/evalgrp_missing");
    assert_eq!(data["status"], 404);
    assert_eq!(data["errorCodes"], json!(["EVAL_GROUP_NOT_FOUND"]));
    assert!(entry.lines().any(|l| l == format!("id: {}", data["id"])));
}

#[tokio::test]
async fn health_reports_origins_counts_and_the_last_reload() {
    let app = TestApp::spawn().await;
    app.get("/v1/eval/batches").await;
    let reply = send(app.request(Method::GET, "/__mock/health")).await;
    assert_eq!(reply.status, 200);
    assert_admin_contract("GET", "/__mock/health", &reply);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn the_served_spec_is_available_as_json_and_yaml() {
    let app = TestApp::spawn().await;
    let json_reply = send(app.request(Method::GET, "/__mock/spec")).await;
    assert_eq!(json_reply.status, 200);
    assert_eq!(json_reply.body["openapi"], "3.2.0");
    assert_eq!(
        json_reply.body["paths"]
            .as_object()
            .map(|paths| paths.len()),
        Some(8)
    );
    let committed: Value =
        serde_norway::from_str(evalmock::config::BUNDLED_LATER_SPEC).expect("YAML");
    assert_eq!(
        json_reply.body, committed,
        "the default version's document, unchanged"
    );
    let documented = send(app.request(Method::GET, "/__mock/spec?version=2026-06")).await;
    let documented_committed: Value =
        serde_norway::from_str(evalmock::config::BUNDLED_SPEC).expect("YAML");
    assert_eq!(
        documented.body, documented_committed,
        "?version= picks another version"
    );
    let unknown = send(app.request(Method::GET, "/__mock/spec?version=1999-01")).await;
    assert_eq!(unknown.status, 400);
    assert_admin_contract("GET", "/__mock/spec", &unknown);

    for request in [
        app.request(Method::GET, "/__mock/spec?format=yaml"),
        app.request(Method::GET, "/__mock/spec")
            .header("Accept", "application/yaml"),
    ] {
        let response = request.send().await.expect("answers");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/yaml")
        );
        let text = response.text().await.expect("text");
        let yaml: Value = serde_norway::from_str(&text).expect("YAML");
        assert_eq!(yaml, committed);
    }
    let bad = send(app.request(Method::GET, "/__mock/spec?format=xml")).await;
    assert_eq!(bad.status, 400);
    assert_admin_contract("GET", "/__mock/spec", &bad);
}

#[tokio::test]
async fn the_live_page_is_served_offline() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/__mock/")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
    );
    let html = response.text().await.expect("text");
    assert!(
        html.contains("/__mock/requests/stream"),
        "the page follows the feed"
    );
    for external in ["http://", "https://", "//cdn"] {
        assert!(
            !html.contains(&format!("src=\"{external}"))
                && !html.contains(&format!("href=\"{external}")),
            "the page loads nothing from {external}"
        );
    }
}

#[tokio::test]
async fn other_web_pages_cannot_reset_the_mock_or_read_the_journal() {
    let app = TestApp::spawn().await;
    let submitted = app
        .post_json(
            "/v1/eval/submit",
            json!({"flowId": FLOW_1, "evalConfig": {}}),
        )
        .await;
    let group = submitted.body["evalGroupId"]
        .as_str()
        .expect("group")
        .to_string();

    // A cross-site "simple" request: a form-like POST from another origin.
    let reset = send(
        app.request(Method::POST, "/__mock/reset")
            .header("Origin", "http://evil.example")
            .header("Content-Type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(reset.status, 403);
    assert_eq!(reset.header("evalmock-error"), Some("cross-origin-admin"));
    assert_admin_contract("POST", "/__mock/reset", &reset);
    let read = send(
        app.request(Method::GET, "/__mock/requests")
            .header("Origin", "http://evil.example"),
    )
    .await;
    assert_eq!(read.status, 403, "another page cannot read the journal");
    assert_admin_contract("GET", "/__mock/requests", &read);

    // Without an Origin (curl), a state change must still say it is meant.
    let bare = send(app.request(Method::POST, "/__mock/reset")).await;
    assert_eq!(bare.status, 403);
    assert_eq!(bare.header("evalmock-error"), Some("not-an-admin-request"));
    insta::assert_json_snapshot!(bare.body);

    let still = app.get(&format!("/v1/eval/group/{group}")).await;
    assert_eq!(still.status, 200, "nothing was reset");

    // The mock's own page (same origin) and scripts with the header may.
    let base = app.base.clone();
    let own = send(
        app.request(Method::POST, "/__mock/reset")
            .header("Origin", base)
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(own.status, 204);
    let gone = app.get(&format!("/v1/eval/group/{group}")).await;
    assert_eq!(gone.status, 404, "the reset took effect");
}

#[tokio::test]
async fn with_an_admin_token_the_admin_api_needs_it_and_without_admin_there_is_none() {
    use evalmock::server::AdminAccess;
    let app = TestApp::spawn_with_admin(AdminAccess::Token("s3cret-admin".into())).await;
    let refused = send(app.request(Method::GET, "/__mock/health")).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("evalmock-error"),
        Some("admin-token-required")
    );
    let by_header = send(
        app.request(Method::GET, "/__mock/health")
            .header("evalmock-admin-token", "s3cret-admin"),
    )
    .await;
    assert_eq!(by_header.status, 200);
    let by_query =
        send(app.request(Method::GET, "/__mock/requests?admin_token=s3cret-admin")).await;
    assert_eq!(
        by_query.status, 200,
        "the page and its live feed pass it in the URL"
    );
    let wrong = send(app.request(Method::GET, "/__mock/requests?admin_token=guess")).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        app.get("/v1/eval/batches?limit=1").await.status,
        200,
        "the mocked API is open"
    );

    let off = TestApp::spawn_with_admin(AdminAccess::Off).await;
    let none = send(
        off.request(Method::POST, "/__mock/reset")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(none.status, 404);
    assert_eq!(none.header("evalmock-error"), Some("no-route"));
}
