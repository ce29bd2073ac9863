//! Memory stays bounded under hostile bodies: the answer memo keys on the inputs that decide
//! an answer (group, step filter), never on the raw body, and its budget counts keys and
//! answers. A bound on growth, not a performance figure: the limit is generous.

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn six_hundred_padded_bodies_keep_the_server_under_60_mb() {
    let mock = Binary::serve(&[], &[("RUST_LOG", "error")]);
    let client = http_client();
    let padding = "x".repeat(2_000_000);
    for i in 0..600 {
        // Each body is new (its padding differs), 2 MB, with a step filter that makes the
        // compare answer (metrics over the filtered steps) computed and remembered.
        let body = json!({
            "evalGroupId": GROUP_1,
            "stepIds": [STEP_1],
            "padding": format!("{i}{padding}"),
        });
        let reply = client
            .post(mock.url("/v1/eval/compare"))
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("answers");
        assert_eq!(reply.status(), 200, "request {i}");
        reply.bytes().await.expect("body");
    }
    let peak = mock.peak_rss_kib();
    eprintln!("peak RSS {} MB after 600 padded 2 MB bodies", peak / 1024);
    assert!(peak < 60 * 1024, "peak RSS {} MB", peak / 1024);
    let health: serde_json::Value = client
        .get(mock.url("/__mock/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("JSON");
    // One remembered answer: the 600 bodies differ only in what does not decide the answer.
    assert_eq!(health["memo"]["entries"], 1, "{health}");
    mock.stop();
}
