//! The log as a user reads it: README's `RUST_LOG` examples run as written, one line per
//! request says what the journal says in short, and a log file holds no colour codes.

use serde_json::json;

use crate::helpers::*;

/// The rows of README's log table: (RUST_LOG value, whether request lines show).
fn readme_log_examples() -> Vec<(String, bool)> {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README.md");
    let rows: Vec<(String, bool)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let command = cells.get(1)?.strip_prefix("`RUST_LOG=")?;
            let filter = command.strip_suffix(" evalmock`")?;
            let shows = match *cells.get(2)? {
                "yes" => true,
                "no" => false,
                _ => return None,
            };
            Some((filter.to_string(), shows))
        })
        .collect();
    assert!(
        rows.len() >= 3,
        "README's log table lists RUST_LOG examples: {rows:?}"
    );
    rows
}

#[tokio::test]
async fn readme_rust_log_examples_work_as_written() {
    for (filter, shows_requests) in readme_log_examples() {
        let server = Binary::serve(&[], &[("RUST_LOG", filter.as_str())]);
        let client = http_client();
        let reply = client
            .post(server.url("/v1/eval/compare-record"))
            .header("Authorization", format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .body(json!({ "evalGroupId": GROUP_1 }).to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(reply.status(), 400);
        drop(client);
        let logs = server.stop();
        let line = logs
            .lines()
            .find(|l| l.contains("POST /v1/eval/compare-record"));
        if shows_requests {
            let line =
                line.unwrap_or_else(|| panic!("RUST_LOG={filter}: no request line in\n{logs}"));
            assert!(
                line.contains("INFO")
                    && line.contains("compareRecordAcrossEvals -> 400 validation")
                    && line.contains("[MISSING_REQUIRED_FIELD]"),
                "RUST_LOG={filter}: the line names operation, status, source and code: {line}"
            );
        } else {
            assert!(
                line.is_none(),
                "RUST_LOG={filter}: request lines are off:\n{logs}"
            );
        }
        assert!(
            !logs.contains('\u{1b}'),
            "RUST_LOG={filter}: no colour codes when stderr is not a terminal:\n{logs}"
        );
    }
}

/// The request line's duration is the journal's, in milliseconds; a response that breaks the
/// spec is a WARN naming each violation's code and where (`(body)` for the whole body).
#[tokio::test]
async fn the_request_line_gives_the_journals_duration_and_each_response_violation() {
    let dir = TempDir::new("log-violations");
    let spec = dir.0.join("broken-examples.yaml");
    std::fs::write(
        &spec,
        r#"openapi: 3.1.0
info: { title: Broken examples, version: "1" }
paths:
  /field:
    get:
      responses:
        "200":
          description: An example whose field breaks the schema
          content:
            application/json:
              schema: { type: object, required: [n], properties: { n: { type: integer } } }
              example: { n: "x" }
  /whole:
    get:
      responses:
        "200":
          description: An example that is not an object at all
          content:
            application/json:
              schema: { type: object }
              example: [1]
  /fine:
    get:
      responses:
        "200":
          description: A valid answer, large enough that checking it takes well over 10 µs
          content:
            application/json:
              schema: { type: object, properties: { items: { type: array, items: { type: integer } } } }
              example: { items: ITEMS }
"#
        .replace(
            "ITEMS",
            &serde_json::to_string(&(0..5000).collect::<Vec<u32>>()).expect("JSON"),
        ),
    )
    .expect("write");
    let server = Binary::serve(
        &["--no-watch", "--spec", spec.to_str().expect("UTF-8")],
        &[],
    );
    let client = http_client();
    for path in ["/field", "/whole", "/fine"] {
        client.get(server.url(path)).send().await.expect("answers");
    }
    let journal: serde_json::Value = client
        .get(server.url("/__mock/requests"))
        .send()
        .await
        .expect("journal")
        .json()
        .await
        .expect("JSON");
    drop(client);
    let logs = server.stop();
    let line = |path: &str| {
        logs.lines()
            .find(|l| l.contains(&format!("GET {path} ")))
            .unwrap_or_else(|| panic!("no line for {path}:\n{logs}"))
            .to_string()
    };
    let field = line("/field");
    assert!(field.contains("WARN"), "{field}");
    assert!(
        field.contains("response breaks the spec: RESPONSE_SCHEMA_VIOLATION at n"),
        "{field}"
    );
    let whole = line("/whole");
    assert!(
        whole.contains("response breaks the spec: RESPONSE_SCHEMA_VIOLATION at (body)"),
        "{whole}"
    );
    let fine = line("/fine");
    assert!(fine.contains("INFO"), "{fine}");
    let logged: f64 = fine
        .split_whitespace()
        .find_map(|word| word.strip_suffix("ms")?.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {fine}"));
    let entries = journal["entries"].as_array().expect("entries");
    let entry = entries
        .iter()
        .find(|e| e["path"] == "/fine")
        .unwrap_or_else(|| panic!("/fine in {journal}"));
    let journaled = entry["durationMs"].as_f64().expect("durationMs");
    assert!(
        journaled >= 0.02,
        "the check took {journaled} ms: make /fine larger"
    );
    assert!(
        (logged - journaled).abs() <= 0.006,
        "the line says {logged} ms, the journal {journaled} ms: {fine}"
    );
}
