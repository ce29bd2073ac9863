//! What compare, compare-record, results, group, list-batches and analyze say about the same
//! data agrees: ids, counts and sums, for every fixture group.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::*;

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|v| v[field].as_str().expect("an id").to_string())
        .collect()
}

/// Sums over step results as the metrics define them.
#[derive(Debug, Default, PartialEq)]
struct Totals {
    steps: u64,
    failed: u64,
    prompt: i64,
    completion: i64,
    duration: i64,
    cost: f64,
    records: u64,
}

fn totals<'a>(records: impl Iterator<Item = &'a Vec<Value>>, step: Option<&str>) -> Totals {
    let mut t = Totals::default();
    for steps in records {
        let kept: Vec<&Value> = steps
            .iter()
            .filter(|s| step.is_none_or(|id| s["stepId"] == id))
            .collect();
        t.records += u64::from(!kept.is_empty());
        for s in kept {
            t.steps += 1;
            t.failed += u64::from(s["errorMessage"].is_string());
            t.prompt += s["promptTokens"].as_i64().unwrap_or(0);
            t.completion += s["completionTokens"].as_i64().unwrap_or(0);
            t.duration += s["durationMs"].as_i64().unwrap_or(0);
            t.cost += s["totalCost"].as_f64().unwrap_or(0.0);
        }
    }
    t
}

fn assert_metrics_match(metrics: &Value, t: &Totals, context: &str) {
    assert_eq!(metrics["totalSteps"], json!(t.steps), "{context}");
    assert_eq!(metrics["failedSteps"], json!(t.failed), "{context}");
    assert_eq!(
        metrics["successfulSteps"],
        json!(t.steps - t.failed),
        "{context}"
    );
    assert_eq!(metrics["totalPromptTokens"], json!(t.prompt), "{context}");
    assert_eq!(
        metrics["totalCompletionTokens"],
        json!(t.completion),
        "{context}"
    );
    assert_eq!(metrics["totalDurationMs"], json!(t.duration), "{context}");
    let cost = metrics["totalCost"].as_f64().expect("totalCost");
    assert!(
        (cost - t.cost).abs() < 1e-6,
        "{context}: totalCost {cost} vs {}",
        t.cost
    );
    if t.records > 0 {
        let avg = metrics["avgCostPerRecord"].as_f64().expect("avg");
        assert!(
            (avg - t.cost / t.records as f64).abs() < 1e-6,
            "{context}: avgCostPerRecord"
        );
    }
    if t.steps > 0 {
        let rate = metrics["successRate"].as_f64().expect("rate");
        assert!(
            (rate - (t.steps - t.failed) as f64 / t.steps as f64).abs() < 1e-4,
            "{context}: successRate"
        );
    }
}

#[tokio::test]
async fn every_operation_agrees_about_every_fixture_group() {
    let app = TestApp::spawn().await;
    let listing = app.get("/v1/eval/batches?limit=100").await;
    let listed: HashMap<String, Value> = listing.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| {
            (
                b["batchExecutionId"].as_str().expect("id").to_string(),
                b.clone(),
            )
        })
        .collect();

    for group_id in [GROUP_1, GROUP_2, GROUP_3] {
        let group = app.get(&format!("/v1/eval/group/{group_id}")).await;
        assert_eq!(group.status, 200);
        let batch_ids = ids(&group.body["batches"], "batchExecutionId");
        assert_eq!(group.body["totalEvals"], json!(batch_ids.len()));

        let compare = app
            .post_json("/v1/eval/compare", json!({"evalGroupId": group_id}))
            .await;
        assert_eq!(
            ids(&compare.body["evals"], "batchExecutionId"),
            batch_ids,
            "compare lists the group's batches"
        );

        let analyze = app
            .post_json(
                "/v1/eval/analyze-steps",
                json!({"evalGroupId": group_id, "stepIds": [], "searchTerms": ["the"]}),
            )
            .await;
        assert_eq!(
            ids(&analyze.body["results"], "batchExecutionId"),
            batch_ids,
            "analyze lists the group's batches"
        );

        let mut results_by_batch = HashMap::new();
        for (i, batch_id) in batch_ids.iter().enumerate() {
            let results = app.get(&format!("/v1/eval/{batch_id}/results")).await;
            assert_eq!(results.status, 200);
            let by_record = results.body["resultsByRecord"]
                .as_object()
                .expect("resultsByRecord")
                .clone();
            let context = format!("{group_id} / {batch_id}");

            let all = totals(
                by_record.values().map(|v| v.as_array().expect("steps")),
                None,
            );
            assert_metrics_match(&compare.body["evals"][i]["metrics"], &all, &context);
            assert_eq!(
                group.body["batches"][i]["metrics"], compare.body["evals"][i]["metrics"],
                "{context}: group and compare metrics"
            );
            assert_eq!(
                analyze.body["results"][i]["totalStepsAnalyzed"],
                json!(all.steps),
                "{context}"
            );

            let summary = &group.body["batches"][i];
            assert_eq!(
                summary["processedRecords"],
                json!(by_record.len()),
                "{context}"
            );
            assert_eq!(
                summary["processedRecords"], results.body["processedRecords"],
                "{context}"
            );
            assert_eq!(
                summary["failedRecords"], results.body["failedRecords"],
                "{context}"
            );
            assert_eq!(summary["status"], results.body["status"], "{context}");
            let mut listed_summary = summary.clone();
            listed_summary
                .as_object_mut()
                .expect("object")
                .remove("metrics");
            assert_eq!(
                listed.get(batch_id.as_str()),
                Some(&listed_summary),
                "{context}: list-batches shows the same summary"
            );
            results_by_batch.insert(batch_id.clone(), by_record);
        }

        // A stepIds filter applies before aggregation, in compare as in the raw results.
        let flow_step = results_by_batch
            .values()
            .next()
            .and_then(|r| r.values().next())
            .and_then(|s| s[0]["stepId"].as_str())
            .expect("a step")
            .to_string();
        let filtered = app
            .post_json(
                "/v1/eval/compare",
                json!({"evalGroupId": group_id, "stepIds": [flow_step]}),
            )
            .await;
        for (i, batch_id) in batch_ids.iter().enumerate() {
            let by_record = &results_by_batch[batch_id];
            let t = totals(
                by_record.values().map(|v| v.as_array().expect("steps")),
                Some(&flow_step),
            );
            assert_metrics_match(
                &filtered.body["evals"][i]["metrics"],
                &t,
                &format!("{batch_id} filtered by {flow_step}"),
            );
        }

        // compare-record shows exactly the step results that results shows for the record.
        let records: Vec<String> = results_by_batch
            .values()
            .flat_map(|r| r.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for record in &records {
            let compared = app
                .post_json(
                    "/v1/eval/compare-record",
                    json!({"evalGroupId": group_id, "recordId": record}),
                )
                .await;
            assert_eq!(compared.status, 200);
            let evals = compared.body["evals"].as_array().expect("evals");
            let batches_with_record: Vec<&String> = batch_ids
                .iter()
                .filter(|b| results_by_batch[*b].contains_key(record))
                .collect();
            assert_eq!(
                evals.len(),
                batches_with_record.len(),
                "{group_id} {record}"
            );
            for (eval, batch_id) in evals.iter().zip(batches_with_record) {
                assert_eq!(eval["batchExecutionId"], json!(batch_id));
                let context = format!("{batch_id} {record}");
                assert_same_steps(
                    &eval["stepResults"],
                    &results_by_batch[batch_id][record],
                    &context,
                );
            }
        }
    }
}

#[tokio::test]
async fn list_batches_totals_match_the_groups() {
    let app = TestApp::spawn().await;
    let all = app.get("/v1/eval/batches?limit=100").await;
    let mut expected = 0;
    for group_id in [GROUP_1, GROUP_2, GROUP_3] {
        expected += app.get(&format!("/v1/eval/group/{group_id}")).await.body["totalEvals"]
            .as_u64()
            .expect("totalEvals");
    }
    assert_eq!(all.body["count"], json!(expected));
    let created: Vec<&str> = all.body["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["createdAt"].as_str().expect("createdAt"))
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "newest first");
}
