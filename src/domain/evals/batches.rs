//! Batch summaries: the items of list-eval-batches and get-eval-group. The vendor leaves
//! their shape open; ours names the batch as every other operation does (`batchExecutionId`,
//! `evalName`) and carries the counts the results endpoint reports.

use serde_json::{Value, json};

use super::metrics::BatchMetrics;
use super::object;
use crate::fixtures::LoadedGroup;
use crate::fixtures::model::Batch;

pub(super) fn batch_summary(loaded: &LoadedGroup, batch: &Batch) -> Value {
    let failed_records = batch
        .results
        .iter()
        .filter(|r| r.step_results.iter().any(|s| s.error_message.is_some()))
        .count();
    json!({
        "batchExecutionId": batch.batch_execution_id,
        "evalGroupId": loaded.group.eval_group_id,
        "evalName": batch.eval_name,
        "flowId": loaded.group.flow.flow_id,
        "status": batch.status,
        "createdAt": batch.created_at,
        "startedAt": batch.started_at,
        "completedAt": batch.completed_at,
        "evalCount": loaded.group.records.len(),
        "totalRecords": loaded.group.records.len(),
        "processedRecords": batch.results.len(),
        "failedRecords": failed_records,
        "evalConfig": batch.eval_config,
    })
}

/// `GET /v1/eval/group/{groupId}`: every batch of the group with its unfiltered metrics.
pub(super) fn group_body(loaded: &LoadedGroup) -> Value {
    let batches: Vec<Value> = loaded
        .group
        .batches
        .iter()
        .map(|batch| {
            let mut summary = batch_summary(loaded, batch);
            summary["metrics"] = BatchMetrics::of(batch, None).to_json();
            summary
        })
        .collect();
    object([
        ("evalGroupId", json!(loaded.group.eval_group_id)),
        ("totalEvals", json!(batches.len())),
        ("batches", Value::Array(batches)),
    ])
}
