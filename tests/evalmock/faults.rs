//! Faults, each observed by a real client: a raw TCP client where the bytes on the wire are
//! the point (reset, empty reply, a Content-Length that lies), reqwest where a client's view
//! is (a dripped body, a cut stream).

use std::time::{Duration, Instant};

use evalmock::config::Sources;
use evalmock::engine::EngineOptions;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// What a raw client got: the bytes, and how the connection ended (`Ok` for a clean close).
async fn raw_get(app: &TestApp, path: &str, prefer: &str) -> (Vec<u8>, std::io::Result<()>) {
    let address = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {API_KEY}\r\nPrefer: {prefer}\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("sends");
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match socket.read(&mut buffer).await {
            Ok(0) => return (received, Ok(())),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) => return (received, Err(e)),
        }
    }
}

#[tokio::test]
async fn connection_reset_resets_before_any_byte() {
    let app = TestApp::spawn().await;
    let (bytes, end) = raw_get(&app, "/v1/eval/batches", "fault=connection-reset").await;
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    let error = end.expect_err("the connection is reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    let entry = &app.journal("?limit=1").await[0];
    assert_eq!(entry["fault"], "connection-reset");
}

#[tokio::test]
async fn empty_reply_closes_before_any_byte() {
    let app = TestApp::spawn().await;
    let (bytes, end) = raw_get(&app, "/v1/eval/batches", "fault=empty-reply").await;
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    assert!(end.is_ok(), "a clean close, not a reset: {end:?}");
}

#[tokio::test]
async fn truncated_body_promises_more_than_it_sends() {
    let app = TestApp::spawn().await;
    let (bytes, _) = raw_get(&app, "/v1/eval/batches", "fault=truncated-body").await;
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let promised: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_string)
        })
        .expect("a Content-Length")
        .trim()
        .parse()
        .expect("a number");
    assert!(!body.is_empty(), "part of the body is sent");
    assert!(body.len() < promised, "{} of {promised} bytes", body.len());
    assert_eq!(body.len(), promised / 2);
    // A client that trusts Content-Length sees the error.
    let reply = app
        .request(Method::GET, "/v1/eval/batches")
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("Prefer", "fault=truncated-body")
        .send()
        .await
        .expect("the head arrives");
    assert!(reply.bytes().await.is_err(), "reading the whole body fails");
}

#[tokio::test]
async fn slow_body_drips_the_whole_body_in_chunks() {
    let dir = TempDir::new("slow-body");
    copy_dir(&repo_path("fixtures"), &dir.0);
    std::fs::write(
        dir.0.join("scenarios/drip.yaml"),
        "rules:\n  - match: {operation: getEvalGroup}\n    respond:\n      fault: {kind: slow-body, chunkBytes: 512, interval: 30ms}\n",
    )
    .expect("write");
    let app = TestApp::spawn_with(
        Sources {
            fixtures: Some(dir.0.clone()),
            ..Sources::default()
        },
        EngineOptions {
            scenario: Some("drip".into()),
            ..instant()
        },
    )
    .await;
    let plain = send(
        app.request(Method::GET, &format!("/v1/eval/group/{GROUP_1}"))
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("evalmock-scenario", "none"),
    )
    .await;
    let started = Instant::now();
    let mut response = app
        .request(Method::GET, &format!("/v1/eval/group/{GROUP_1}"))
        .header("Authorization", format!("Bearer {API_KEY}"))
        .send()
        .await
        .expect("the head arrives");
    let mut chunks = 0;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the body completes") {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    let expected_chunks = plain.body.to_string().len().div_ceil(512);
    assert!(expected_chunks > 2, "the group answer spans several chunks");
    assert!(
        chunks >= expected_chunks,
        "{chunks} reads for {expected_chunks} chunks"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(30 * (expected_chunks as u64 - 1)),
        "dripped, not sent at once: {:?}",
        started.elapsed()
    );
    let whole: Value = serde_json::from_slice(&body).expect("the whole body arrives");
    assert_eq!(whole, plain.body);
}

#[tokio::test]
async fn stream_cut_stops_without_the_final_event() {
    let app = TestApp::spawn().await;
    let body = request_example("/v1/eval/stream", "twoModels");
    let stream = |prefer: Option<&str>| {
        let mut request = app
            .request(Method::POST, "/v1/eval/stream")
            .header("Authorization", format!("Bearer {API_KEY}"))
            .json(&body);
        if let Some(prefer) = prefer {
            request = request.header("Prefer", prefer);
        }
        request.send()
    };
    let whole = stream(None)
        .await
        .expect("starts")
        .text()
        .await
        .expect("ends");
    let mut cut = stream(Some("fault=stream-cut")).await.expect("starts");
    let mut received = Vec::new();
    let error = loop {
        match cut.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(
        error.is_some(),
        "the connection breaks instead of ending the stream"
    );
    // Times are the clock's, so compare the events' types: all but the final one, in order.
    let types = |text: &str| -> Vec<String> {
        text.split("\n\n")
            .filter_map(|m| m.strip_prefix("data: "))
            .map(|data| {
                let event: Value = serde_json::from_str(data).expect("JSON event");
                event["type"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    let whole = types(&whole);
    let received = types(&String::from_utf8_lossy(&received));
    assert!(whole.len() > 2, "{whole:?}");
    assert_eq!(
        received,
        whole[..whole.len() - 1],
        "all but the final event"
    );
}
