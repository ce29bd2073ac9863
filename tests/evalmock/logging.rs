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
