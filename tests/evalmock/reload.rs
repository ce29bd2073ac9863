//! Hot reload, as a frontend developer edits fixtures under a running mock: the new value is
//! served, a broken edit keeps the last good files serving and says what is wrong, fixing it
//! recovers, and runtime state (submitted evals, the journal) survives.

use evalmock::config::Sources;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const GROUP_FILE: &str = "groups/01-support-triage-agent-model-comparison.json";

/// The bundled fixtures copied to a scratch folder the test may edit.
fn editable_fixtures(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    copy_dir(&repo_path("fixtures"), &dir.0);
    dir
}

/// The eval batch whose name the edits change (the first of group 1).
const BATCH: &str = "evalbatch_01jvaz0h7wafn4p8qmgqv3np40";

/// Rewrites the group file with that batch's `evalName` changed.
fn rename_group(dir: &TempDir, name: &str) {
    let path = dir.0.join(GROUP_FILE);
    let mut group: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let batch = group["batches"]
        .as_array_mut()
        .and_then(|batches| batches.iter_mut().find(|b| b["batchExecutionId"] == BATCH))
        .expect("the batch is in the group file");
    batch["evalName"] = json!(name);
    std::fs::write(&path, serde_json::to_string_pretty(&group).expect("JSON")).expect("write");
}

/// The batch's name as get-eval-group serves it now.
async fn group_name(app: &TestApp) -> String {
    let reply = app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    reply.body["batches"]
        .as_array()
        .and_then(|batches| batches.iter().find(|b| b["batchExecutionId"] == BATCH))
        .and_then(|b| b["evalName"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn health(app: &TestApp) -> Value {
    let reply = send(app.request(Method::GET, "/__mock/health")).await;
    assert_admin_contract("GET", "/__mock/health", &reply);
    reply.body
}

#[tokio::test]
async fn an_edited_fixture_is_served_a_broken_one_is_reported_and_fixing_it_recovers() {
    let dir = editable_fixtures("reload-fixtures");
    let sources = Sources {
        spec: None,
        fixtures: Some(dir.0.clone()),
        ..Sources::default()
    };
    let app = TestApp::spawn_watching(sources).await;
    let original = group_name(&app).await;
    assert!(!original.is_empty());
    assert_eq!(health(&app).await["watching"], true);

    // Runtime state made before the edits must survive them.
    let submitted = app
        .post_json(
            "/v1/eval/submit",
            json!({ "flowId": FLOW_1, "evalName": "kept across reloads", "evalConfig": {}, "recordIds": [RECORD_1] }),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let submitted_group = submitted.body["evalGroupId"]
        .as_str()
        .expect("a new group id")
        .to_string();

    rename_group(&dir, "Support triage, renamed while serving");
    eventually(10, "the renamed group is served", || async {
        group_name(&app).await == "Support triage, renamed while serving"
    })
    .await;
    let reload = &health(&app).await["lastReload"];
    assert_eq!(reload["ok"], true);
    assert_eq!(reload["trigger"], "watch");

    // A broken edit: the last good World keeps serving, and the error names the file.
    std::fs::write(dir.0.join(GROUP_FILE), "{ \"evalGroupId\": ").expect("write");
    eventually(10, "the broken edit is reported", || async {
        health(&app).await["status"] == "degraded"
    })
    .await;
    let health_now = health(&app).await;
    let error = &health_now["lastReload"]["error"];
    assert!(
        error["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("01-support-triage-agent-model-comparison.json")),
        "{error}"
    );
    assert!(!error["message"].as_str().unwrap_or_default().is_empty());
    assert_eq!(
        group_name(&app).await,
        "Support triage, renamed while serving",
        "the last good files keep serving"
    );

    rename_group_from_bundled(&dir, "Support triage, fixed");
    eventually(10, "the fixed file is served", || async {
        group_name(&app).await == "Support triage, fixed"
    })
    .await;
    // An editor's save is several writes; a reload may catch one half done and report it, but
    // the last write's reload settles on the fixed file.
    eventually(10, "health is ok again", || async {
        health(&app).await["status"] == "ok"
    })
    .await;
    // Reading the files is not a change: a reload must not set off the next one (it once
    // did, reloading forever).
    let settled = health(&app).await["lastReload"]["at"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        health(&app).await["lastReload"]["at"],
        settled,
        "no reload without a change"
    );

    let kept = app.get(&format!("/v1/eval/group/{submitted_group}")).await;
    assert_eq!(
        kept.status, 200,
        "submitted evals survive reloads: {}",
        kept.body
    );
    assert!(
        app.journal("?operation=submitEval").await.len() == 1,
        "the journal survives reloads"
    );
}

/// Restores the group file from the bundled copy, with another name.
fn rename_group_from_bundled(dir: &TempDir, name: &str) {
    std::fs::copy(
        repo_path("fixtures").join(GROUP_FILE),
        dir.0.join(GROUP_FILE),
    )
    .expect("copy");
    rename_group(dir, name);
}

#[tokio::test]
async fn a_reload_on_request_reports_a_broken_spec_with_its_pointer_and_keeps_serving() {
    let dir = TempDir::new("reload-spec");
    let spec_path = dir.0.join("runtype-evals.yaml");
    std::fs::write(&spec_path, evalmock::config::BUNDLED_SPEC).expect("write spec");
    let sources = Sources {
        spec: Some(spec_path.clone()),
        fixtures: None,
        ..Sources::default()
    };
    let app = TestApp::spawn_with(sources, instant()).await;

    let ok = send(
        app.request(Method::POST, "/__mock/reload")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["ok"], true);
    assert_eq!(ok.body["trigger"], "admin");
    assert_admin_contract("POST", "/__mock/reload", &ok);

    let broken = evalmock::config::BUNDLED_SPEC.replace(
        "$ref: \"#/components/schemas/CompareRecordResponse\"",
        "$ref: \"#/components/schemas/NoSuchSchema\"",
    );
    assert_ne!(broken, evalmock::config::BUNDLED_SPEC, "the edit applies");
    std::fs::write(&spec_path, broken).expect("write spec");
    let failed = send(
        app.request(Method::POST, "/__mock/reload")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(failed.status, 422);
    assert_admin_contract("POST", "/__mock/reload", &failed);
    assert_eq!(failed.body["ok"], false);
    let mut shown = failed.body.clone();
    shown["at"] = json!("[time]");
    shown["durationMs"] = json!("[duration]");
    shown["error"]["file"] = json!("[scratch]/runtype-evals.yaml");
    insta::assert_json_snapshot!(shown);

    let still = app
        .post_json("/v1/eval/compare-record", docs_compare_record_body())
        .await;
    assert_eq!(still.status, 200, "the last good spec keeps serving");
    assert_eq!(health(&app).await["status"], "degraded");
}

/// A remembered answer (compare with a step filter: built and validated once, then served
/// from the memo) belongs to the World it was built from: after a reload the edited fixtures
/// answer, not the memo.
#[tokio::test]
async fn a_remembered_answer_is_not_served_after_a_reload_changes_its_data() {
    let dir = editable_fixtures("reload-memo");
    let sources = Sources {
        spec: None,
        fixtures: Some(dir.0.clone()),
        ..Sources::default()
    };
    let app = TestApp::spawn_with(sources, instant()).await;
    let body = json!({"evalGroupId": GROUP_1, "stepIds": [STEP_1]});
    let name_in = |reply: &Reply| {
        reply.body["evals"]
            .as_array()
            .and_then(|evals| evals.iter().find(|e| e["batchExecutionId"] == BATCH))
            .and_then(|e| e["evalName"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let first = app.post_json("/v1/eval/compare", body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = app.post_json("/v1/eval/compare", body.clone()).await;
    let journal = app.journal("").await;
    assert_eq!(
        journal[0]["source"]["kind"], "remembered",
        "the memo served it"
    );
    assert_eq!(name_in(&again), name_in(&first));

    rename_group(&dir, "Renamed while remembered");
    let reloaded = send(
        app.request(Method::POST, "/__mock/reload")
            .header("evalmock-admin", "1"),
    )
    .await;
    assert_eq!(reloaded.body["ok"], true, "{}", reloaded.body);
    let after = app.post_json("/v1/eval/compare", body).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(
        name_in(&after),
        "Renamed while remembered",
        "{}",
        after.body
    );
}
