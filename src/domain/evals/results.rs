//! `GET /v1/eval/{id}/results`: one batch's step results by record, with every field the
//! vendor schema names.
//!
//! The answer is written straight from the fixture data (borrowed `Serialize` views, in the
//! vendor's field order): no `Value` tree is built per request. The fixture answers are
//! validated at load (`prepare_group` serialises each view and checks it); a view writes
//! the same bytes each time, so a fixture batch's answer needs no validation per request.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::fixtures::LoadedGroup;
use crate::fixtures::model::{Batch, CaseError, RecordResult, ToolCall};

/// The answer's bytes.
pub(super) fn results_bytes(loaded: &LoadedGroup, batch: &Batch) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 1024);
    serde_json::to_writer(&mut out, &results_view(loaded, batch))
        .expect("a results view serialises: its map keys are strings");
    out
}

/// The answer as a `Value` (for submitted batches, whose answers go through the engine's
/// validation like any computed answer).
pub(super) fn results_body(loaded: &LoadedGroup, batch: &Batch) -> Value {
    serde_json::to_value(results_view(loaded, batch))
        .expect("a results view serialises: its map keys are strings")
}

fn results_view<'a>(loaded: &'a LoadedGroup, batch: &'a Batch) -> ResultsView<'a> {
    let failed_records = batch
        .results
        .iter()
        .filter(|r| r.step_results.iter().any(|s| s.error_message.is_some()))
        .count();
    ResultsView {
        batch_execution_id: &batch.batch_execution_id,
        eval_group_id: &loaded.group.eval_group_id,
        eval_name: &batch.eval_name,
        eval_config: &batch.eval_config,
        flow_id: &loaded.group.flow.flow_id,
        status: &batch.status,
        total_records: loaded.group.records.len(),
        processed_records: batch.results.len(),
        failed_records,
        started_at: &batch.started_at,
        completed_at: batch.completed_at.as_deref(),
        results_by_record: ByRecord { loaded, batch },
        case_errors: &batch.case_errors,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultsView<'a> {
    batch_execution_id: &'a str,
    eval_group_id: &'a str,
    eval_name: &'a str,
    eval_config: &'a Value,
    flow_id: &'a str,
    status: &'a str,
    total_records: usize,
    processed_records: usize,
    failed_records: usize,
    started_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<&'a str>,
    results_by_record: ByRecord<'a>,
    /// Cases that could not run at all (the later API requires the field; always sent).
    case_errors: &'a [CaseError],
}

/// `resultsByRecord`: record id -> its step results, in the batch's order (the fixture
/// loader refuses a batch with two results for one record, so keys are unique).
struct ByRecord<'a> {
    loaded: &'a LoadedGroup,
    batch: &'a Batch,
}

impl Serialize for ByRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.batch.results.len()))?;
        for result in &self.batch.results {
            map.serialize_entry(
                &result.record_id,
                &Steps {
                    loaded: self.loaded,
                    result,
                },
            )?;
        }
        map.end()
    }
}

struct Steps<'a> {
    loaded: &'a LoadedGroup,
    result: &'a RecordResult,
}

impl Serialize for Steps<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.loaded.record(&self.result.record_id);
        serializer.collect_seq(self.result.step_results.iter().map(|step| {
            let flow_step = self.loaded.flow_step(&step.step_id);
            StepView {
                step_result_id: &step.step_result_id,
                execution_session_id: self.result.execution_session_id.as_deref(),
                step_id: &step.step_id,
                step_name: flow_step.and_then(|f| f.step_name.as_deref()),
                step_type: flow_step.map_or("unknown", |f| f.step_type.as_str()),
                record_name: record.and_then(|r| r.record_name.as_deref()),
                resolved_prompt: step.resolved_prompt.as_deref(),
                message_history: step.message_history.as_deref(),
                model_used: step.model_used.as_deref(),
                prompt_tokens: step.prompt_tokens,
                completion_tokens: step.completion_tokens,
                total_cost: step.total_cost,
                duration_ms: step.duration_ms,
                output: step.output.as_deref(),
                reasoning_content: step.reasoning_content.as_deref(),
                reasoning_tokens: step.reasoning_tokens,
                error_message: step.error_message.as_deref(),
                error_stack: step.error_stack.as_deref(),
                retry_count: step.retry_count,
                executed_at: &step.executed_at,
                tool_calls: &step.tool_calls,
                input_variables: record.map(|r| &r.input_variables),
                record_metadata: record.map(|r| &r.record_metadata),
                step_config: flow_step.map(|f| &f.step_config),
                // Every fixture run was executed by Runtype's own runtime.
                execution_engine: "runtime",
            }
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepView<'a> {
    step_result_id: &'a str,
    execution_session_id: Option<&'a str>,
    step_id: &'a str,
    step_name: Option<&'a str>,
    step_type: &'a str,
    record_name: Option<&'a str>,
    resolved_prompt: Option<&'a str>,
    message_history: Option<&'a [Value]>,
    model_used: Option<&'a str>,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    total_cost: Option<f64>,
    duration_ms: Option<i64>,
    output: Option<&'a str>,
    reasoning_content: Option<&'a str>,
    reasoning_tokens: Option<i64>,
    error_message: Option<&'a str>,
    error_stack: Option<&'a str>,
    retry_count: Option<i64>,
    executed_at: &'a str,
    tool_calls: &'a [ToolCall],
    input_variables: Option<&'a Value>,
    record_metadata: Option<&'a Value>,
    step_config: Option<&'a Value>,
    execution_engine: &'static str,
}
