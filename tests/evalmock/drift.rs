//! `evalmock drift` over recordings and a HAR file.

use serde_json::Value;

use crate::helpers::*;
use crate::recording::{get, proxy};
use crate::upstream::{self, BAD_GROUP, TEAPOT_GROUP};

fn drift(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["drift"];
    all.extend_from_slice(args);
    run_evalmock(&all)
}

/// Records GETs of the given groups through the proxy; the folder.
async fn record(name: &str, groups: &[&str]) -> TempDir {
    let upstream = upstream::spawn(false).await;
    let dir = TempDir::new(name);
    let record = dir.0.to_string_lossy().to_string();
    let count = groups.len().to_string();
    let proxy = proxy(
        &upstream.base,
        &["--record", &record, "--max-requests", &count],
    );
    for group in groups {
        get(proxy.url(&format!("/v1/eval/group/{group}")), API_KEY).await;
    }
    let (code, stdout, stderr) = proxy.wait_output(20);
    assert!(code.is_some(), "{stdout}{stderr}");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_finds_an_undeclared_field_an_undeclared_status_and_an_enum_value() {
    let dir = record("drift", &[BAD_GROUP, TEAPOT_GROUP]).await;
    let overlay = dir.0.join("overlay.out");
    let input = dir.0.to_string_lossy().to_string();
    let (code, stdout, stderr) = drift(&[
        &input,
        "--format",
        "json",
        "--overlay",
        &overlay.to_string_lossy(),
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_string(),
                f["status"].to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for expected in [
        ("undeclared-field", "200", "$.surprise"),
        ("enum-value", "200", "$.batches[*].status"),
        ("undeclared-status", "418", "$"),
    ] {
        assert!(
            found
                .iter()
                .any(|(k, s, p)| (k.as_str(), s.as_str(), p.as_str()) == expected),
            "{expected:?} not in {found:#?}"
        );
    }
    let overlay: Value =
        serde_norway::from_str(&std::fs::read_to_string(&overlay).expect("overlay written"))
            .expect("YAML");
    assert_eq!(overlay["overlay"], "1.0.0");
    let targets: Vec<&str> = overlay["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["target"].as_str())
        .collect();
    assert!(
        targets.contains(&"$.paths['/v1/eval/group/{groupId}'].get.responses"),
        "{targets:?}"
    );
    let (code, table, _) = drift(&[&input]);
    assert_eq!(code, Some(1));
    assert!(table.contains("field not declared (integer)"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn conforming_traffic_has_no_drift_and_exits_0() {
    let dir = record("no-drift", &[GROUP_1]).await;
    let (code, stdout, stderr) = drift(&[&dir.0.to_string_lossy()]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("0 findings in 1 exchanges"), "{stdout}");
}

#[test]
fn drift_reads_a_har_file_and_exits_2_on_bad_input() {
    let har = repo_path("tests/data/recording.har");
    let (code, stdout, _) = drift(&[&har.to_string_lossy()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("418"), "{stdout}");
    let (code, _, stderr) = drift(&["/nonexistent/recordings"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read"), "{stderr}");
}
