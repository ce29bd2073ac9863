//! `GET /v1/eval/{id}/results`: one batch's step results by record, with every field the
//! vendor schema names.

use serde_json::{Map, Value, json};

use crate::fixtures::LoadedGroup;
use crate::fixtures::model::Batch;

pub(super) fn results_body(loaded: &LoadedGroup, batch: &Batch) -> Value {
    let mut by_record = Map::new();
    let mut failed_records = 0;
    for result in &batch.results {
        let record = loaded.record(&result.record_id);
        if result
            .step_results
            .iter()
            .any(|s| s.error_message.is_some())
        {
            failed_records += 1;
        }
        let steps: Vec<Value> = result
            .step_results
            .iter()
            .map(|step| {
                let flow_step = loaded.flow_step(&step.step_id);
                json!({
                    "stepResultId": step.step_result_id,
                    "executionSessionId": result.execution_session_id,
                    "stepId": step.step_id,
                    "stepName": flow_step.and_then(|f| f.step_name.clone()),
                    "stepType": flow_step.map(|f| f.step_type.as_str()).unwrap_or("unknown"),
                    "recordName": record.and_then(|r| r.record_name.clone()),
                    "resolvedPrompt": step.resolved_prompt,
                    "messageHistory": step.message_history,
                    "modelUsed": step.model_used,
                    "promptTokens": step.prompt_tokens,
                    "completionTokens": step.completion_tokens,
                    "totalCost": step.total_cost,
                    "durationMs": step.duration_ms,
                    "output": step.output,
                    "reasoningContent": step.reasoning_content,
                    "reasoningTokens": step.reasoning_tokens,
                    "errorMessage": step.error_message,
                    "errorStack": step.error_stack,
                    "retryCount": step.retry_count,
                    "executedAt": step.executed_at,
                    "toolCalls": step.tool_calls,
                    "inputVariables": record.map(|r| &r.input_variables),
                    "recordMetadata": record.map(|r| &r.record_metadata),
                    "stepConfig": flow_step.map(|f| &f.step_config),
                    // Every fixture run was executed by Runtype's own runtime.
                    "executionEngine": "runtime",
                })
            })
            .collect();
        by_record.insert(result.record_id.clone(), Value::Array(steps));
    }
    let mut body = json!({
        "batchExecutionId": batch.batch_execution_id,
        "evalGroupId": loaded.group.eval_group_id,
        "evalName": batch.eval_name,
        "evalConfig": batch.eval_config,
        "flowId": loaded.group.flow.flow_id,
        "status": batch.status,
        "totalRecords": loaded.group.records.len(),
        "processedRecords": batch.results.len(),
        "failedRecords": failed_records,
        "startedAt": batch.started_at,
    });
    if let Some(completed_at) = &batch.completed_at {
        body["completedAt"] = Value::String(completed_at.clone());
    }
    body["resultsByRecord"] = Value::Object(by_record);
    // Cases that could not run at all (the later API requires the field; always sent).
    body["caseErrors"] = json!(batch.case_errors);
    body
}
