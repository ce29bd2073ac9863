//! Stopping the real binary as `docker stop`, systemd and CI runners do (SIGTERM): in-flight
//! streams finish with their final event, the process says so and exits 0.

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
