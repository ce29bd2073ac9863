//! `POST /v1/eval/stream`: run a flow once per eval config on one virtual input and describe
//! each run as server-sent events, the runs interleaved as the real service multiplexes them.
//!
//! Each run is simulated exactly as a submitted batch is (see `submit`): the flow's recorded
//! steps, re-priced and re-timed for the config's models. Text deltas concatenate to the step's
//! output; `seq` counts from 0 within each execution.
//!
//! The one place the two API versions differ in behaviour is the event vocabulary, chosen by
//! the served spec (`info.x-evalmock-stream-vocabulary`): the documented snapshot (2026-06)
//! speaks `flow_start` / `step_delta{text}` / `step_error` / `flow_complete`; the later API
//! (2026-09, what `runtype-sdk` 5.5.0 parses) speaks `execution_start` / `text_delta{delta}` /
//! `step_complete{success:false}` / `execution_complete`. Both describe the same run.

use serde_json::{Map, Value, json};

use super::submit::{self, IdSource};
use crate::clock;
use crate::error::ApiError;
use crate::fixtures::model::{Flow, Record, StepResult, ToolCall};
use crate::fixtures::{FixtureStore, LoadedGroup};

/// The spec extension that names the vocabulary.
pub const VOCABULARY_EXTENSION: &str = "x-evalmock-stream-vocabulary";

/// Which event names and fields a stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Vocabulary {
    /// The documented snapshot's `FlowSSEEvent`s.
    #[default]
    Flow,
    /// The later API's `ExecutionStreamEvent`s.
    Execution,
}

impl Vocabulary {
    /// From the spec extension's value; anything but `execution` is the documented one.
    pub fn named(name: Option<&str>) -> Vocabulary {
        match name {
            Some("execution") => Vocabulary::Execution,
            _ => Vocabulary::Flow,
        }
    }
}

/// The events that report a failure of the service half way through a stream (scenario fault
/// `stream-error`), in the version's vocabulary: one per execution under way in the events
/// `sent` (all of them stop), continuing its `seq`: `flow_error` in the documented
/// vocabulary, `execution_error` in the later one.
pub(super) fn failure_events(vocabulary: Vocabulary, sent: &[Value], message: &str) -> Vec<Value> {
    let mut executions: Vec<(&str, Option<&str>, u64)> = Vec::new();
    for event in sent {
        let Some(id) = event["executionId"].as_str() else {
            continue;
        };
        let seq = event["seq"].as_u64().map_or(0, |s| s + 1);
        let flow = event["flowId"].as_str();
        match executions.iter_mut().find(|(e, _, _)| *e == id) {
            Some(known) => {
                known.2 = known.2.max(seq);
                known.1 = known.1.or(flow);
            }
            None => executions.push((id, flow, seq)),
        }
    }
    if executions.is_empty() {
        executions.push(("exec_interrupted", None, 0));
    }
    let error = json!({"code": "internal_error", "message": message});
    let now = clock::iso_ms(clock::now_ms());
    executions
        .into_iter()
        .map(|(execution_id, flow_id, seq)| match vocabulary {
            Vocabulary::Flow => {
                let mut event = json!({
                    "type": "flow_error", "executionId": execution_id, "seq": seq,
                    "error": error, "timestamp": now,
                });
                if let Some(flow_id) = flow_id {
                    event["flowId"] = json!(flow_id);
                }
                event
            }
            Vocabulary::Execution => json!({
                "type": "execution_error", "kind": "flow", "executionId": execution_id,
                "seq": seq, "error": error, "completedAt": now, "stopReason": "error",
            }),
        })
        .collect()
}

/// Every event of the request's runs, interleaved (one event of each run in turn).
pub(super) fn stream_events(
    fixtures: &FixtureStore,
    body: &Value,
    vocabulary: Vocabulary,
) -> Result<Vec<Value>, ApiError> {
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
            let run = Run {
                template: plan.template,
                record: &plan.records[0],
                execution_id: &execution_id,
                steps: &steps,
                body,
                vocabulary,
            };
            run.events()
        })
        .collect();
    Ok(interleave(runs))
}

/// One execution to describe.
struct Run<'a> {
    template: &'a LoadedGroup,
    record: &'a Record,
    execution_id: &'a str,
    steps: &'a [StepResult],
    body: &'a Value,
    vocabulary: Vocabulary,
}

/// Tokens and cost of a run's completed steps, for its completion event.
#[derive(Default)]
struct Usage {
    input: i64,
    output: i64,
    cost: f64,
}

impl Usage {
    fn add(&mut self, step: &StepResult) {
        self.input += step.prompt_tokens.unwrap_or(0);
        self.output += step.completion_tokens.unwrap_or(0);
        self.cost += step.total_cost.unwrap_or(0.0);
    }
}

/// A step as the events name it.
struct StepView<'a> {
    step: &'a StepResult,
    name: String,
    step_type: String,
    index: usize,
}

impl Run<'_> {
    /// The start event, per step `step_start`, tool events, text deltas and the step's end (or
    /// its failure and the run's), then the run's end.
    fn events(&self) -> Vec<Value> {
        let flow: &Flow = &self.template.group.flow;
        let mut events = Vec::new();
        let mut push = |mut event: Value| {
            event["executionId"] = json!(self.execution_id);
            event["seq"] = json!(events.len());
            events.push(event);
        };
        let started = self
            .steps
            .first()
            .and_then(|s| clock::parse_iso_ms(&s.executed_at))
            .unwrap_or_else(clock::now_ms)
            - 60;
        push(self.start(flow, started));
        let mut usage = Usage::default();
        let mut last_output = String::new();
        let mut finished = started;
        for (i, step) in self.steps.iter().enumerate() {
            let flow_step = self.template.flow_step(&step.step_id);
            let view = StepView {
                step,
                name: flow_step
                    .and_then(|f| f.step_name.clone())
                    .unwrap_or_else(|| step.step_id.clone()),
                step_type: flow_step
                    .map(|f| f.step_type.clone())
                    .unwrap_or_else(|| "prompt".into()),
                index: i + 1,
            };
            let at = clock::parse_iso_ms(&step.executed_at).unwrap_or(started);
            let duration = step.duration_ms.unwrap_or(0);
            finished = at + duration;
            push(json!({
                "type": "step_start", "id": step.step_id, "stepId": step.step_id, "name": view.name,
                "stepName": view.name, "stepType": view.step_type, "index": view.index,
                "totalSteps": flow.steps.len(), "startedAt": step.executed_at,
                "estimatedTokens": step.prompt_tokens.unwrap_or(0) + step.completion_tokens.unwrap_or(0),
            }));
            for call in &step.tool_calls {
                for event in self.tool_events(step, call, at) {
                    push(event);
                }
            }
            if let Some(error) = &step.error_message {
                for event in self.failure(flow, &view, error, finished - started, finished) {
                    push(event);
                }
                return events;
            }
            let output = step.output.clone().unwrap_or_default();
            for event in self.text(&step.step_id, &output) {
                push(event);
            }
            let tokens = step.prompt_tokens.unwrap_or(0) + step.completion_tokens.unwrap_or(0);
            usage.add(step);
            push(json!({
                "type": "step_complete", "id": step.step_id, "stepId": step.step_id, "name": view.name,
                "stepName": view.name, "stepType": view.step_type, "index": view.index, "success": true,
                "output": output, "durationMs": duration, "executionTime": duration,
                "completedAt": clock::iso_ms(finished), "tokensUsed": tokens, "stopReason": "end_turn",
            }));
            last_output = output;
        }
        push(self.complete(flow, &usage, &last_output, finished - started, finished));
        events
    }

    fn start(&self, flow: &Flow, started: i64) -> Value {
        let mut input = Map::new();
        input.insert(
            "record".into(),
            json!({"name": self.record.record_name, "type": self.record.record_type, "metadata": self.record.record_metadata}),
        );
        if let Some(messages) = self.body.get("messages") {
            input.insert("messages".into(), messages.clone());
        }
        match self.vocabulary {
            Vocabulary::Flow => json!({
                "type": "flow_start", "flowId": flow.flow_id, "flowName": flow.name, "source": "api",
                "startedAt": clock::iso_ms(started), "totalSteps": flow.steps.len(), "input": input,
            }),
            Vocabulary::Execution => json!({
                "type": "execution_start", "kind": "flow", "flowId": flow.flow_id, "flowName": flow.name,
                "source": "api", "startedAt": clock::iso_ms(started), "totalSteps": flow.steps.len(),
            }),
        }
    }

    /// The text of a step as it is generated: `step_delta{text}` in the documented
    /// vocabulary; `text_start`, `text_delta{delta}`, `text_complete{text}` in the later one.
    fn text(&self, step_id: &str, output: &str) -> Vec<Value> {
        let deltas = token_deltas(output);
        match self.vocabulary {
            Vocabulary::Flow => deltas
                .into_iter()
                .map(|text| json!({"type": "step_delta", "id": step_id, "text": text}))
                .collect(),
            Vocabulary::Execution => {
                let text_id = format!("{step_id}:text");
                std::iter::once(json!({"type": "text_start", "id": text_id, "stepId": step_id, "role": "assistant"}))
                    .chain(deltas.into_iter().map(|delta| json!({"type": "text_delta", "id": text_id, "delta": delta})))
                    .chain(std::iter::once(json!({"type": "text_complete", "id": text_id, "text": output})))
                    .collect()
            }
        }
    }

    fn tool_events(&self, step: &StepResult, call: &ToolCall, step_at: i64) -> Vec<Value> {
        let call_at = clock::parse_iso_ms(&call.executed_at).unwrap_or(step_at);
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
        let start = json!({
            "type": "tool_start", "toolCallId": call.tool_execution_id, "toolId": tool_id, "toolName": call.tool_name,
            "name": call.tool_name, "toolType": "custom", "parameters": parameters, "startedAt": call.executed_at,
            "stepId": step.step_id,
        });
        let end = match (&call.error_message, self.vocabulary) {
            (None, _) => json!({
                "type": "tool_complete", "toolCallId": call.tool_execution_id, "toolId": tool_id,
                "toolName": call.tool_name, "name": call.tool_name, "success": true, "result": call.output_result,
                "executionTime": took, "completedAt": clock::iso_ms(call_at + took), "stepId": step.step_id,
            }),
            (Some(error), Vocabulary::Flow) => json!({
                "type": "tool_error", "toolId": tool_id, "name": call.tool_name, "error": error,
                "executionTime": took, "failedAt": clock::iso_ms(call_at + took),
            }),
            // The later API folds tool_error into tool_complete with success: false.
            (Some(error), Vocabulary::Execution) => json!({
                "type": "tool_complete", "toolCallId": call.tool_execution_id, "toolName": call.tool_name,
                "success": false, "error": error, "executionTime": took, "stepId": step.step_id,
            }),
        };
        vec![start, end]
    }

    /// A failed step ends the run: `step_error` + `flow_error` in the documented vocabulary;
    /// `step_complete{success:false}` + `execution_error` in the later one.
    fn failure(
        &self,
        flow: &Flow,
        view: &StepView<'_>,
        error: &str,
        elapsed: i64,
        finished: i64,
    ) -> Vec<Value> {
        let step_id = &view.step.step_id;
        let duration = view.step.duration_ms.unwrap_or(0);
        match self.vocabulary {
            Vocabulary::Flow => vec![
                json!({
                    "type": "step_error", "id": step_id, "index": view.index, "name": view.name,
                    "stepType": view.step_type, "error": error, "executionTime": duration,
                }),
                json!({
                    "type": "flow_error", "flowId": flow.flow_id,
                    "error": {"code": "step_failed", "message": error, "stepId": step_id, "stepType": view.step_type},
                    "executionTime": elapsed, "timestamp": clock::iso_ms(finished),
                }),
            ],
            Vocabulary::Execution => vec![
                json!({
                    "type": "step_complete", "id": step_id, "name": view.name, "stepType": view.step_type,
                    "success": false, "error": error, "durationMs": duration,
                    "completedAt": clock::iso_ms(finished),
                }),
                json!({
                    "type": "execution_error", "kind": "flow",
                    "error": {"code": "step_failed", "message": error},
                    "completedAt": clock::iso_ms(finished), "stopReason": "error",
                }),
            ],
        }
    }

    fn complete(
        &self,
        flow: &Flow,
        usage: &Usage,
        last_output: &str,
        elapsed: i64,
        finished: i64,
    ) -> Value {
        let steps = self.steps.len();
        match self.vocabulary {
            Vocabulary::Flow => json!({
                "type": "flow_complete", "flowId": flow.flow_id, "success": true, "totalSteps": flow.steps.len(),
                "completedSteps": steps, "successfulSteps": steps, "failedSteps": 0,
                "finalOutput": last_output, "totalTokensUsed": usage.input + usage.output, "duration": elapsed,
                "executionTime": elapsed, "completedAt": clock::iso_ms(finished),
            }),
            Vocabulary::Execution => json!({
                "type": "execution_complete", "kind": "flow", "success": true, "totalSteps": flow.steps.len(),
                "successfulSteps": steps, "failedSteps": 0, "finalOutput": last_output,
                "totalTokens": {"input": usage.input, "output": usage.output},
                "totalCost": crate::domain::evals::models::round6(usage.cost),
                "durationMs": elapsed, "completedAt": clock::iso_ms(finished),
                "stopReason": "end_turn",
            }),
        }
    }
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
