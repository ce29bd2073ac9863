//! The read operations besides compare-record: success bodies and their errors, locked with
//! snapshots.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn list_batches_pages_newest_first_with_lenient_limit_and_offset() {
    let app = TestApp::spawn().await;
    let page = app.get("/v1/eval/batches?limit=2&offset=1").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        (
            page.body["count"].clone(),
            page.body["limit"].clone(),
            page.body["offset"].clone()
        ),
        (json!(2), json!(2), json!(1))
    );
    insta::assert_json_snapshot!(page.body);

    assert_eq!(
        page.body["hasMore"], true,
        "a full page says there may be more"
    );
    let everything = app.get("/v1/eval/batches").await;
    assert_eq!(everything.body["limit"], 50, "default limit");
    assert_eq!(
        everything.body["hasMore"], false,
        "a page that is not full is the last"
    );
    assert_eq!(
        everything.body["batches"][1], page.body["batches"][0],
        "offset 1 starts at the second batch"
    );

    let lenient = app.get("/v1/eval/batches?limit=abc&offset=-3").await;
    assert_eq!(
        lenient.status, 200,
        "no 400 is declared: bad values fall back"
    );
    assert_eq!(
        (
            lenient.body["limit"].clone(),
            lenient.body["offset"].clone()
        ),
        (json!(50), json!(0))
    );
    let clamped = app.get("/v1/eval/batches?limit=500").await;
    assert_eq!(clamped.body["limit"], 100);
    let zero = app.get("/v1/eval/batches?limit=0").await;
    assert_eq!(
        (zero.body["limit"].clone(), zero.body["count"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn list_batches_filters_by_status_and_by_what_the_key_may_read() {
    let app = TestApp::spawn().await;
    let failed = app.get("/v1/eval/batches?status=failed").await;
    let statuses: Vec<&str> = failed.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["status"].as_str().expect("status"))
        .collect();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == "failed"),
        "{statuses:?}"
    );
    let unknown = app.get("/v1/eval/batches?status=paused").await;
    assert_eq!(unknown.body["count"], 0);

    let scoped = app.get_as(SCOPED_KEY, "/v1/eval/batches").await;
    let groups: Vec<&str> = scoped.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["evalGroupId"].as_str().expect("group"))
        .collect();
    assert!(
        !groups.is_empty() && groups.iter().all(|g| *g == GROUP_1),
        "{groups:?}"
    );
}

#[tokio::test]
async fn get_group_returns_its_batches_with_metrics() {
    let app = TestApp::spawn().await;
    let reply = app.get(&format!("/v1/eval/group/{GROUP_1}")).await;
    assert_eq!(reply.status, 200);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn get_group_answers_404_for_an_unknown_group_and_for_a_group_the_key_may_not_read() {
    let app = TestApp::spawn().await;
    let unknown = app.get("/v1/eval/group/evalgrp_nope").await;
    assert_eq!(unknown.status, 404);
    insta::assert_json_snapshot!(unknown.body);
    let hidden = app
        .get_as(SCOPED_KEY, &format!("/v1/eval/group/{GROUP_2}"))
        .await;
    assert_eq!(hidden.status, 404, "get-group declares no 403");
}

#[tokio::test]
async fn compare_reports_metrics_per_batch_with_and_without_a_step_filter() {
    let app = TestApp::spawn().await;
    let all = app
        .post_json("/v1/eval/compare", json!({"evalGroupId": GROUP_1}))
        .await;
    assert_eq!(all.status, 200);
    insta::assert_json_snapshot!("compare_all_steps", all.body);
    let one = app
        .post_json(
            "/v1/eval/compare",
            json!({"evalGroupId": GROUP_1, "stepIds": [STEP_1]}),
        )
        .await;
    assert_eq!(one.status, 200);
    insta::assert_json_snapshot!("compare_step_1", one.body);
    let unknown = app
        .post_json("/v1/eval/compare", json!({"evalGroupId": "evalgrp_nope"}))
        .await;
    assert_eq!(unknown.status, 404);
    let invalid = app
        .post_json("/v1/eval/compare", json!({"stepIds": "step_01"}))
        .await;
    assert_eq!(invalid.status, 400);
    insta::assert_json_snapshot!("compare_invalid", invalid.body);
}

#[tokio::test]
async fn results_hold_every_field_of_the_vendor_schema() {
    let app = TestApp::spawn().await;
    let group = app.get(&format!("/v1/eval/group/{GROUP_3}")).await;
    let failed = group.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .find(|b| b["status"] == "failed")
        .expect("group 3 has a failed batch");
    let batch_id = failed["batchExecutionId"].as_str().expect("id");
    let reply = app.get(&format!("/v1/eval/{batch_id}/results")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "failed");
    // The records the failed batch never reached are its case errors, by record.
    let case_ids: Vec<&str> = reply.body["caseErrors"]
        .as_array()
        .expect("caseErrors")
        .iter()
        .filter_map(|e| e["caseId"].as_str())
        .collect();
    assert_eq!(case_ids.len(), 8);
    for id in &case_ids {
        assert!(
            reply.body["resultsByRecord"].get(id).is_none(),
            "{id} errored, so it has no step results"
        );
    }
    assert!(reply.body["processedRecords"].as_u64() < reply.body["totalRecords"].as_u64());
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn results_answer_404_for_an_unknown_batch() {
    let app = TestApp::spawn().await;
    let reply = app.get("/v1/eval/evalbatch_nope/results").await;
    assert_eq!(reply.status, 404);
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn analyze_counts_regex_terms_in_step_outputs() {
    let app = TestApp::spawn().await;
    let body = json!({
        "evalGroupId": GROUP_1,
        "stepIds": [STEP_3],
        "searchTerms": ["refund", "sorry|apolog", "TH-\\d+"],
        "caseSensitive": false
    });
    let reply = app.post_json("/v1/eval/analyze-steps", body).await;
    assert_eq!(reply.status, 200);
    for result in reply.body["results"].as_array().expect("results") {
        let analysed = result["totalStepsAnalyzed"].as_u64().expect("count");
        for term in result["termAnalysis"].as_array().expect("terms") {
            let containing = term["stepsContainingTerm"].as_u64().expect("containing");
            assert!(
                containing <= analysed && term["totalOccurrences"].as_u64() >= Some(containing)
            );
        }
    }
    insta::assert_json_snapshot!(reply.body);
}

#[tokio::test]
async fn analyze_rejects_empty_and_invalid_terms_each_at_its_index() {
    let app = TestApp::spawn().await;
    // The spec states both rules (`minLength: 1`, `format: regex`), so both are refused by
    // validation, each at its index.
    let reply = app
        .post_json(
            "/v1/eval/analyze-steps",
            json!({"evalGroupId": GROUP_1, "stepIds": [], "searchTerms": ["ok", "(unclosed", ""]}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let paths = reply.detail_paths();
    assert_eq!(
        paths,
        ["searchTerms[1]", "searchTerms[2]"],
        "an invalid pattern and an empty term"
    );
    insta::assert_json_snapshot!(reply.body);

    // What the spec accepts is searched: a look-around this engine cannot run is searched for
    // literally, and a pattern that can match nothing counts no zero-length matches.
    let accepted = app
        .post_json(
            "/v1/eval/analyze-steps",
            json!({"evalGroupId": GROUP_1, "stepIds": [], "searchTerms": ["(?=x)order", "z*"]}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let terms = &accepted.body["results"][0]["termAnalysis"];
    assert_eq!(
        terms[0]["totalOccurrences"], 0,
        "the look-around is searched literally"
    );
    let z_count = terms[1]["totalOccurrences"].as_u64().unwrap_or(u64::MAX);
    assert!(
        z_count < 1_000,
        "only non-empty matches of z* count: {z_count}"
    );

    let empty = app
        .post_json(
            "/v1/eval/analyze-steps",
            json!({"evalGroupId": GROUP_1, "stepIds": [], "searchTerms": [""]}),
        )
        .await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.body["details"][0]["path"], "searchTerms[0]");
}
