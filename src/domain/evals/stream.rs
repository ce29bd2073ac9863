//! `POST /v1/eval/stream`: run a flow once per eval config on one virtual input and describe
//! each run as `FlowSSEEvent`s, the runs interleaved as the real service multiplexes them.
//!
//! Each run is simulated exactly as a submitted batch is (see `submit`): the flow's recorded
//! steps, re-priced and re-timed for the config's models. Token deltas concatenate to the step's
//! output; `seq` counts from 0 within each execution.

use serde_json::{Map, Value, json};

use super::submit::{self, IdSource};
use crate::clock;
use crate::error::ApiError;
use crate::fixtures::model::{Flow, Record, StepResult};
use crate::fixtures::{FixtureStore, LoadedGroup};

/// Every event of the request's runs, interleaved (one event of each run in turn).
pub(super) fn stream_events(fixtures: &FixtureStore, body: &Value) -> Result<Vec<Value>, ApiError> {
    let plan = submit::stream_plan(fixtures, body)?;
    // Ids derive from the request, so the same request streams the same ids.
    let mut ids = IdSource::from_seed(fnv1a(body.to_string().as_bytes()));
    let now = clock::now_ms();
    let runs: Vec<Vec<Value>> = plan
        .configs
        .iter()
        .map(|(_, config)| {
            let batch = submit::simulate_batch(
                plan.template,
                &plan.records,
                "stream",
                config,
                now,
                &mut ids,
            );
            let steps = batch
                .results
                .into_iter()
                .next()
                .map(|r| r.step_results)
                .unwrap_or_default();
            let execution_id = ids.next("exec");
            execution_events(plan.template, &plan.records[0], &execution_id, &steps, body)
        })
        .collect();
    Ok(interleave(runs))
}

/// One execution: `flow_start`, per step `step_start`, tool events, `step_delta`s and
/// `step_complete` (or `step_error` and `flow_error`), then `flow_complete`.
fn execution_events(
    template: &LoadedGroup,
    record: &Record,
    execution_id: &str,
    steps: &[StepResult],
    body: &Value,
) -> Vec<Value> {
    let flow: &Flow = &template.group.flow;
    let total_steps = flow.steps.len();
    let mut events = Vec::new();
    let mut push = |mut event: Value| {
        event["executionId"] = json!(execution_id);
        event["seq"] = json!(events.len());
        events.push(event);
    };
    let started = steps
        .first()
        .and_then(|s| clock::parse_iso_ms(&s.executed_at))
        .unwrap_or_else(clock::now_ms)
        - 60;
    let mut input = Map::new();
    input.insert("record".into(), json!({"name": record.record_name, "type": record.record_type, "metadata": record.record_metadata}));
    if let Some(messages) = body.get("messages") {
        input.insert("messages".into(), messages.clone());
    }
    push(json!({
        "type": "flow_start", "flowId": flow.flow_id, "flowName": flow.name, "source": "api",
        "startedAt": clock::iso_ms(started), "totalSteps": total_steps, "input": input,
    }));
    let mut tokens_used = 0;
    let mut last_output = String::new();
    let mut finished = started;
    for (i, step) in steps.iter().enumerate() {
        let flow_step = template.flow_step(&step.step_id);
        let name = flow_step
            .and_then(|f| f.step_name.clone())
            .unwrap_or_else(|| step.step_id.clone());
        let step_type = flow_step
            .map(|f| f.step_type.clone())
            .unwrap_or_else(|| "prompt".into());
        let at = clock::parse_iso_ms(&step.executed_at).unwrap_or(started);
        let duration = step.duration_ms.unwrap_or(0);
        finished = at + duration;
        push(json!({
            "type": "step_start", "id": step.step_id, "stepId": step.step_id, "name": name, "stepName": name,
            "stepType": step_type, "index": i + 1, "totalSteps": total_steps, "startedAt": step.executed_at,
            "estimatedTokens": step.prompt_tokens.unwrap_or(0) + step.completion_tokens.unwrap_or(0),
        }));
        for call in &step.tool_calls {
            let call_at = clock::parse_iso_ms(&call.executed_at).unwrap_or(at);
            let took = call.execution_time_ms.unwrap_or(0);
            let tool_id = call
                .tool_id
                .clone()
                .unwrap_or_else(|| call.tool_execution_id.clone());
            let parameters = if call.input_parameters.is_object() {
                call.input_parameters.clone()
            } else {
                json!({})
            };
            push(json!({
                "type": "tool_start", "toolCallId": call.tool_execution_id, "toolId": tool_id, "toolName": call.tool_name,
                "name": call.tool_name, "toolType": "custom", "parameters": parameters, "startedAt": call.executed_at,
                "stepId": step.step_id,
            }));
            match &call.error_message {
                None => push(json!({
                    "type": "tool_complete", "toolCallId": call.tool_execution_id, "toolId": tool_id,
                    "toolName": call.tool_name, "name": call.tool_name, "success": true, "result": call.output_result,
                    "executionTime": took, "completedAt": clock::iso_ms(call_at + took), "stepId": step.step_id,
                })),
                Some(error) => push(json!({
                    "type": "tool_error", "toolId": tool_id, "name": call.tool_name, "error": error,
                    "executionTime": took, "failedAt": clock::iso_ms(call_at + took),
                })),
            }
        }
        if let Some(error) = &step.error_message {
            push(json!({
                "type": "step_error", "id": step.step_id, "index": i + 1, "name": name, "stepType": step_type,
                "error": error, "executionTime": duration,
            }));
            push(json!({
                "type": "flow_error", "flowId": flow.flow_id,
                "error": {"code": "step_failed", "message": error, "stepId": step.step_id, "stepType": step_type},
                "executionTime": finished - started, "timestamp": clock::iso_ms(finished),
            }));
            return events;
        }
        let output = step.output.clone().unwrap_or_default();
        for delta in token_deltas(&output) {
            push(json!({"type": "step_delta", "id": step.step_id, "delta": delta}));
        }
        let tokens = step.prompt_tokens.unwrap_or(0) + step.completion_tokens.unwrap_or(0);
        tokens_used += tokens;
        push(json!({
            "type": "step_complete", "id": step.step_id, "stepId": step.step_id, "name": name, "stepName": name,
            "stepType": step_type, "index": i + 1, "success": true, "output": output, "durationMs": duration,
            "executionTime": duration, "completedAt": clock::iso_ms(finished), "tokensUsed": tokens,
            "stopReason": "end_turn",
        }));
        last_output = output;
    }
    push(json!({
        "type": "flow_complete", "flowId": flow.flow_id, "success": true, "totalSteps": total_steps,
        "completedSteps": steps.len(), "successfulSteps": steps.len(), "failedSteps": 0,
        "finalOutput": last_output, "totalTokensUsed": tokens_used, "duration": finished - started,
        "executionTime": finished - started, "completedAt": clock::iso_ms(finished),
    }));
    events
}

/// Splits text into token-sized deltas, as a model streams them: about three words, or at most
/// 24 characters of text without spaces (JSON output). They concatenate back to the text.
pub(super) fn token_deltas(text: &str) -> Vec<String> {
    const MAX_CHARS: usize = 24;
    let mut deltas = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for c in text.chars() {
        current.push(c);
        if c.is_whitespace() {
            words += 1;
        }
        if words == 3 || current.chars().count() >= MAX_CHARS {
            deltas.push(std::mem::take(&mut current));
            words = 0;
        }
    }
    if !current.is_empty() {
        deltas.push(current);
    }
    deltas
}

/// Round-robin over the runs: one event of each run in turn, as parallel runs arrive.
fn interleave(runs: Vec<Vec<Value>>) -> Vec<Value> {
    let total = runs.iter().map(Vec::len).sum();
    let mut iters: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for events in &mut iters {
            if let Some(event) = events.next() {
                out.push(event);
            }
        }
    }
    out
}

/// 64-bit FNV-1a: a stable hash for deriving ids from a request.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_concatenate_to_the_text() {
        for text in [
            "",
            "one",
            "one two three four five six seven",
            "line one\nline two  spaced\t tab",
        ] {
            assert_eq!(token_deltas(text).concat(), text);
        }
        assert_eq!(token_deltas("a b c d e"), ["a b c ", "d e"]);
        assert!(
            token_deltas(&"x".repeat(100))
                .iter()
                .all(|d| d.chars().count() <= 24)
        );
    }

    #[test]
    fn interleaving_takes_one_event_of_each_run_in_turn() {
        let runs = vec![vec![json!(1), json!(2), json!(3)], vec![json!("a")]];
        assert_eq!(
            interleave(runs),
            vec![json!(1), json!("a"), json!(2), json!(3)]
        );
    }
}
