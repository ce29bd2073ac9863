//! `POST /v1/eval/compare-record`: one record's step results in every batch of its group.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::object;
use crate::fixtures::LoadedGroup;
use crate::fixtures::model::{FlowStep, StepResult};
use crate::respond::assembled::{ItemsPath, PathStep};

/// The step results of a compare-record answer, each named by its `stepId`: what a `stepIds`
/// filter leaves out.
pub(super) const STEP_RESULTS: ItemsPath<'static> = ItemsPath {
    steps: &[
        PathStep::Field("evals"),
        PathStep::EachItem,
        PathStep::Field("stepResults"),
    ],
    key: "stepId",
};

pub(super) fn compare_record_body(
    loaded: &LoadedGroup,
    record_id: &str,
    step_filter: Option<&HashSet<&str>>,
) -> Value {
    let evals: Vec<Value> = loaded
        .results_for_record(record_id)
        .map(|(_, batch, result)| {
            let step_results: Vec<Value> = result
                .step_results
                .iter()
                .filter(|s| step_filter.is_none_or(|f| f.contains(s.step_id.as_str())))
                .map(|s| compared_step(loaded.flow_step(&s.step_id), s))
                .collect();
            object([
                ("batchExecutionId", json!(batch.batch_execution_id)),
                ("evalName", json!(batch.eval_name)),
                ("evalConfig", batch.eval_config.clone()),
                ("stepResults", Value::Array(step_results)),
            ])
        })
        .collect();
    object([
        ("evalGroupId", json!(loaded.group.eval_group_id)),
        ("recordId", json!(record_id)),
        ("evals", Value::Array(evals)),
    ])
}

/// A step result as compare-record shows it: the flow's step name and type joined in, and the
/// failure message as `error` (present only for failed steps).
pub(super) fn compared_step(flow_step: Option<&FlowStep>, step: &StepResult) -> Value {
    let mut value = json!({
        "stepResultId": step.step_result_id,
        "stepId": step.step_id,
        "stepName": flow_step.and_then(|f| f.step_name.clone()),
        "stepType": flow_step.map(|f| f.step_type.as_str()).unwrap_or("unknown"),
        "modelUsed": step.model_used,
        "promptTokens": step.prompt_tokens,
        "completionTokens": step.completion_tokens,
        "totalCost": step.total_cost,
        "durationMs": step.duration_ms,
        "output": step.output,
        "executedAt": step.executed_at,
        "toolCalls": step.tool_calls,
    });
    if let Some(error) = &step.error_message {
        value["error"] = Value::String(error.clone());
    }
    value
}

/// Where a compare-record response field comes from in the fixture file:
/// `evals[1].stepResults[2].error` -> `batches[b].results[r].stepResults[2].errorMessage`.
pub(super) fn compare_record_fixture_path(
    loaded: &LoadedGroup,
    record_id: &str,
    response_path: &str,
) -> String {
    let Some(rest) = response_path.strip_prefix("evals[") else {
        return format!("(compare-record response for {record_id}) {response_path}");
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return response_path.to_string();
    };
    let Some((batch_index, _, result)) = index
        .parse::<usize>()
        .ok()
        .and_then(|i| loaded.results_for_record(record_id).nth(i))
    else {
        return response_path.to_string();
    };
    let result_index = loaded.group.batches[batch_index]
        .results
        .iter()
        .position(|r| std::ptr::eq(r, result))
        .unwrap_or_default();
    let base = format!("batches[{batch_index}].results[{result_index}]");
    let rest = rest.trim_start_matches('.');
    // Fields of a batch, of a step result, or joined in from elsewhere in the file.
    match rest.split_once('.') {
        None if rest.is_empty() => base,
        None if rest.starts_with("stepResults") => format!("{base}.{rest}"),
        None => format!("batches[{batch_index}].{rest}"),
        Some((steps, field)) => match field {
            "error" => format!("{base}.{steps}.errorMessage"),
            "stepName" | "stepType" => {
                format!("{base}.{steps}.stepId (its {field} is set on flow.steps)")
            }
            _ => format!("{base}.{steps}.{field}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{FixtureStore, bundled_files};

    /// A violation in a compare-record answer is reported at the fixture field it came from.
    #[test]
    fn response_paths_name_the_fixture_field_they_come_from() {
        let store = FixtureStore::load(bundled_files()).expect("the bundled fixtures load");
        let loaded = &store.groups()[0];
        let record = &loaded.group.records[0].record_id;
        let (batch, _, _) = loaded
            .results_for_record(record)
            .nth(1)
            .expect("the record has a result in two batches");
        let base = format!("batches[{batch}].results[0]");
        for (response_path, fixture_path) in [
            ("evals[1]", base.clone()),
            ("evals[1].stepResults", format!("{base}.stepResults")),
            ("evals[1].evalName", format!("batches[{batch}].evalName")),
            (
                "evals[1].stepResults[2].error",
                format!("{base}.stepResults[2].errorMessage"),
            ),
            (
                "evals[1].stepResults[2].stepName",
                format!("{base}.stepResults[2].stepId (its stepName is set on flow.steps)"),
            ),
            (
                "evals[1].stepResults[2].output",
                format!("{base}.stepResults[2].output"),
            ),
            (
                "evalGroupId",
                format!("(compare-record response for {record}) evalGroupId"),
            ),
        ] {
            assert_eq!(
                super::compare_record_fixture_path(loaded, record, response_path),
                fixture_path,
                "{response_path}"
            );
        }
    }
}
