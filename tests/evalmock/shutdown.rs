//! Stopping the real binary as `docker stop`, systemd and CI runners do (SIGTERM): in-flight
//! streams finish with their final event, the process says so and exits 0.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sigterm_lets_an_in_flight_stream_finish_and_exits_0() {
    // Paced events, so the stream is still running when the signal arrives.
    let server = Binary::serve(&["--no-watch", "--stream-interval-ms", "15"], &[]);
    let response = http_client()
        .post(server.url("/v1/eval/stream"))
        .header("Authorization", format!("Bearer {API_KEY}"))
        .header("Content-Type", "application/json")
        .body(
            json!({
                "flowId": FLOW_1,
                "evalConfigs": [{"evalName": "a"}],
                "record": {"name": "n", "type": "t"}
            })
            .to_string(),
        )
        .send()
        .await
        .expect("the stream starts");
    assert_eq!(response.status(), 200);
    let mut chunks = response.bytes_stream();
    let mut text = String::new();
    let first = chunks
        .next()
        .await
        .expect("a first event")
        .expect("readable");
    text.push_str(&String::from_utf8_lossy(&first));

    assert!(server.signal("TERM"), "SIGTERM sent");
    while let Some(chunk) = chunks.next().await {
        text.push_str(&String::from_utf8_lossy(
            &chunk.expect("the stream is not cut"),
        ));
    }
    let last = text
        .split_terminator("\n\n")
        .last()
        .expect("events")
        .to_string();
    assert!(
        last.contains("\"type\":\"execution_complete\"")
            || last.contains("\"type\":\"execution_error\""),
        "the stream ended with its final event, not cut mid-way: {last}"
    );
    assert!(text.ends_with("\n\n"), "the last event is complete");

    let (code, logs) = server.wait(15);
    assert_eq!(code, Some(0), "a graceful stop exits 0:\n{logs}");
    assert!(logs.contains("SIGTERM: shutting down gracefully"), "{logs}");
    assert!(logs.contains("evalmock stopped"), "{logs}");
}

#[test]
fn a_sigterm_during_start_up_is_a_graceful_exit_0_with_the_log_kept() {
    // A document big enough that loading it takes a while: the signal lands before the port
    // opens. (The handlers used to be installed only once serving began, so such a signal
    // killed the process with 143 and lost its buffered log lines.)
    let dir = TempDir::new("term-at-start-up");
    let paths: serde_json::Map<String, serde_json::Value> = (0..20_000)
        .map(|i| {
            let operation = json!({
                "operationId": format!("op{i}"),
                "parameters": [{"name": "id", "in": "path", "required": true,
                                "schema": {"type": "string", "pattern": "^[a-z]+_[0-9]+$"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["id"],
                               "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}}}}}}
            });
            (format!("/things{i}/{{id}}"), json!({ "get": operation }))
        })
        .collect();
    let spec = dir.0.join("big.json");
    let document =
        json!({"openapi": "3.1.0", "info": {"title": "big", "version": "1"}, "paths": paths});
    std::fs::write(&spec, document.to_string()).expect("write");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(["--no-watch", "--port", &port.to_string(), "--spec"])
        .arg(&spec)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("evalmock starts");
    let logs = read_in_background(child.stderr.take().expect("stderr is piped"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the document loaded before the signal could land; the test needs a larger one"
    );
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "SIGTERM sent");
    let status = wait_for_exit(&mut child, 60);
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().unwrap_or_default();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{logs}");
    assert!(logs.contains("SIGTERM: shutting down gracefully"), "{logs}");
}
