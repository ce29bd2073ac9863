//! `evalmock proxy` (validation, --fail-on-violation, --max-requests, the summary) and
//! `--record` / `import har` (the scenario files), with the real binary in front of a real
//! upstream.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::upstream::{self, BAD_GROUP, CANARY, TEAPOT_GROUP};

/// Every file of a folder, sorted by name: (name, text).
pub fn files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            (name, std::fs::read_to_string(&path).expect("read file"))
        })
        .collect();
    files.sort();
    files
}

/// Parses a scenario file and checks it against `specs/scenario.schema.json`.
pub fn valid_scenario(name: &str, text: &str) -> Value {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("specs/scenario.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let document: Value = serde_norway::from_str(text).expect("scenario is YAML");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} breaks the scenario schema: {errors:#?}\n{text}"
    );
    document
}

/// `evalmock proxy --upstream URL ARGS` on a free port.
pub fn proxy(upstream: &str, args: &[&str]) -> Binary {
    let mut all = vec!["--upstream", upstream];
    all.extend_from_slice(args);
    Binary::start(&["proxy"], &all, &[])
}

pub async fn get(url: String, token: &str) -> reqwest::Response {
    http_client()
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("the proxy answers")
}

pub async fn post(url: String, body: Value) -> reqwest::Response {
    http_client()
        .post(url)
        .header("Authorization", format!("Bearer {CANARY}"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the proxy answers")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_records_each_exchange_as_a_valid_redacted_scenario_file() {
    let upstream = upstream::spawn(false).await;
    let dir = TempDir::new("record");
    let record = dir.0.to_string_lossy().to_string();
    let proxy = proxy(
        &upstream.base,
        &[
            "--record",
            &record,
            "--redact",
            "apiKey",
            "--max-requests",
            "4",
        ],
    );
    let good = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), CANARY).await;
    assert_eq!(good.status(), 200);
    assert!(good.headers().get("evalmock-violations").is_none());
    let bad = get(proxy.url(&format!("/v1/eval/group/{BAD_GROUP}")), CANARY).await;
    assert_eq!(bad.status(), 200, "the answer passes unchanged");
    let header: Value = serde_json::from_str(
        bad.headers()["evalmock-violations"]
            .to_str()
            .expect("ascii"),
    )
    .expect("the header is JSON");
    assert!(
        header
            .as_array()
            .expect("array")
            .iter()
            .any(|v| v["direction"] == "response"
                && v["path"].as_str().is_some_and(|p| p.contains("status"))),
        "{header}"
    );
    let mut body = docs_compare_record_body();
    body["apiKey"] = json!(CANARY);
    let echoed: Value = post(proxy.url("/v1/eval/compare-record"), body)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(echoed["apiKey"], CANARY, "the live answer is not redacted");
    let stream = post(
        proxy.url("/v1/eval/stream"),
        json!({"flowId": FLOW_1, "evalConfigs": [{"evalName": "x"}]}),
    )
    .await
    .text()
    .await
    .expect("stream");
    assert_eq!(stream.matches("data: ").count(), 3, "{stream}");

    let (code, stdout, stderr) = proxy.wait_output(20);
    assert_eq!(code, Some(1), "a violation was seen\n{stdout}\n{stderr}");
    assert!(stdout.contains("getEvalGroup"), "{stdout}");
    assert!(stdout.contains("200x2"), "{stdout}");
    assert!(stdout.contains("violations of the spec"), "{stdout}");

    let files = files(&dir.0);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "0001-getEvalGroup-200.yaml",
            "0002-getEvalGroup-200.yaml",
            "0003-compareRecordAcrossEvals-200.yaml",
            "0004-streamEvalExecution-200.yaml"
        ]
    );
    for (name, text) in &files {
        assert!(!text.contains("CANARY"), "{name} leaks the canary:\n{text}");
        valid_scenario(name, text);
    }
    let bad = valid_scenario(&files[1].0, &files[1].1);
    assert!(
        !bad["rules"][0]["recorded"]["violations"]
            .as_array()
            .expect("violations")
            .is_empty()
    );
    let compare = valid_scenario(&files[2].0, &files[2].1);
    assert_eq!(compare["rules"][0]["match"]["body"]["apiKey"], "[redacted]");
    assert_eq!(
        compare["rules"][0]["respond"]["body"]["apiKey"],
        "[redacted]"
    );
    assert_eq!(
        compare["rules"][0]["match"]["ignoreFields"],
        json!(["apiKey"])
    );
    let stream = valid_scenario(&files[3].0, &files[3].1);
    let events = stream["rules"][0]["respond"]["events"]
        .as_array()
        .expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["data"]["type"], "execution_start");
    assert!(
        events[2]["delay"].as_u64().expect("delay") >= 30,
        "the pause between events is kept: {events:?}"
    );
    // What changes from run to run (time, port, duration) is masked. The snapshot holds the
    // start of a conforming recording (match, status, headers) and the `recorded` part of the
    // violating one (its violations).
    let mask = regex::Regex::new(r"(?m)^(\s+)(at|upstream|durationMs): .*$").expect("regex");
    let good = mask.replace_all(&files[0].1, "$1$2: [varies]");
    let bad = mask.replace_all(&files[1].1, "$1$2: [varies]");
    let recorded = bad.find("  recorded:").expect("a recorded part");
    let head: Vec<&str> = good.lines().take(13).collect();
    insta::assert_snapshot!(format!("{}\n...\n{}", head.join("\n"), &bad[recorded..]));
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_violation_replaces_a_violating_answer_with_a_502() {
    let upstream = upstream::spawn(false).await;
    let proxy = proxy(&upstream.base, &["--fail-on-violation"]);
    let good = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
    assert_eq!(good.status(), 200);
    let bad = get(proxy.url(&format!("/v1/eval/group/{BAD_GROUP}")), API_KEY).await;
    assert_eq!(bad.status(), 502);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.expect("JSON");
    assert_eq!(problem["upstream"], upstream.base.as_str());
    let codes: Vec<&str> = problem["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["code"].as_str())
        .collect();
    assert!(codes.contains(&"RESPONSE_SCHEMA_VIOLATION"), "{problem}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_gets_a_502_naming_it() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let proxy = proxy(&base, &["--max-requests", "1"]);
    let answer = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
    assert_eq!(answer.status(), 502);
    let problem: Value = answer.json().await.expect("JSON");
    assert_eq!(problem["upstream"], base.as_str());
    assert!(
        problem["detail"].as_str().expect("detail").contains(&base),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_upstream_is_spoken_to_over_tls() {
    // A plain-HTTP server addressed as https://: the proxy starts a TLS handshake, which the
    // server cannot answer, so the client sees a 502 naming the upstream (not a refusal of
    // the URL, as before TLS was built in).
    let upstream = upstream::spawn(false).await;
    let base = upstream.base.replacen("http://", "https://", 1);
    let proxy = proxy(&base, &["--max-requests", "1"]);
    let answer = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
    assert_eq!(answer.status(), 502);
    let problem: Value = answer.json().await.expect("JSON");
    assert_eq!(problem["upstream"], base.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_saw_no_violation_exits_0_after_max_requests() {
    let upstream = upstream::spawn(false).await;
    let proxy = proxy(&upstream.base, &["--max-requests", "2"]);
    for _ in 0..2 {
        let answer = get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
        assert_eq!(answer.status(), 200);
    }
    let (code, stdout, stderr) = proxy.wait_output(20);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("no violations of the spec"), "{stdout}");
    assert!(stdout.contains("1/8 operations"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_har_of_the_same_exchanges_imports_to_the_same_files_as_a_recording() {
    let upstream = upstream::spawn(false).await;
    let recorded = TempDir::new("har-recorded");
    let record = recorded.0.to_string_lossy().to_string();
    let proxy = proxy(
        &upstream.base,
        &["--record", &record, "--max-requests", "2"],
    );
    get(proxy.url(&format!("/v1/eval/group/{GROUP_1}")), API_KEY).await;
    get(
        proxy.url(&format!("/v1/eval/group/{TEAPOT_GROUP}")),
        API_KEY,
    )
    .await;
    let (code, stdout, _) = proxy.wait_output(20);
    assert_eq!(code, Some(1), "418 is not declared: {stdout}");

    let imported = TempDir::new("har-imported");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_evalmock"))
        .args(["import", "har"])
        .arg(repo_path("tests/data/recording.har"))
        .arg("--out")
        .arg(&imported.0)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("wrote 2 scenario files"), "{stdout}");
    assert!(stdout.contains("skipped 2 entries"), "{stdout}");

    let strip = |files: Vec<(String, String)>| -> Vec<(String, Value)> {
        files
            .into_iter()
            .map(|(name, text)| {
                let mut doc = valid_scenario(&name, &text);
                let recorded = doc["rules"][0]
                    .as_object_mut()
                    .expect("rule")
                    .remove("recorded")
                    .expect("recorded");
                assert!(recorded["at"].is_string() && recorded["upstream"].is_string());
                (name, doc)
            })
            .collect()
    };
    for (name, text) in files(&imported.0) {
        assert!(!text.contains("CANARY"), "{name} leaks the canary");
    }
    let from_har = strip(files(&imported.0));
    let from_proxy = strip(files(&recorded.0));
    assert_eq!(from_har.len(), 2);
    assert_eq!(from_har, from_proxy);
}
