//! What fixture data must satisfy beyond the checks made at load (references, unique ids):
//! costs that follow the price table, token counts that fit the texts, timestamps in order,
//! failures that end a run, tool calls inside their step and allowed by the config. Checked on
//! the bundled files, which are maintained by hand, and on synthetic sets drawn from them.

use std::collections::{HashMap, HashSet};

use evalmock::clock::parse_iso_ms;
use evalmock::domain::evals::models::model_spec;
use evalmock::fixtures::model::{EvalGroup, FlowStep, StepResult};
use evalmock::fixtures::synthetic::{self, Params};
use serde_json::Value;

use crate::helpers::repo_path;

fn bundled() -> Vec<EvalGroup> {
    let mut paths: Vec<_> = std::fs::read_dir(repo_path("fixtures/groups"))
        .expect("fixtures/groups")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("read");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn synthetic(
    groups: usize,
    batches: usize,
    records: usize,
    steps: usize,
    seed: u64,
) -> Vec<EvalGroup> {
    let params = Params {
        groups,
        batches,
        records,
        steps,
        seed,
    };
    synthetic::groups(&params)
        .expect("bundled groups")
        .collect()
}

fn step_results(groups: &[EvalGroup]) -> impl Iterator<Item = &StepResult> {
    groups
        .iter()
        .flat_map(|g| &g.batches)
        .flat_map(|b| &b.results)
        .flat_map(|r| &r.step_results)
}

fn ts(text: &str) -> i64 {
    assert_eq!(
        text.len(),
        24,
        "timestamp {text} is not YYYY-MM-DDTHH:MM:SS.mmmZ"
    );
    parse_iso_ms(text).unwrap_or_else(|| panic!("bad timestamp {text}"))
}

/// `<prefix>_01jv` + 22 lowercase Crockford base32 characters.
fn assert_type_id(id: &str, prefix: &str) {
    let suffix = id
        .strip_prefix(prefix)
        .and_then(|s| s.strip_prefix('_'))
        .unwrap_or_else(|| panic!("id {id} should start with {prefix}_"));
    assert!(
        suffix.len() == 26
            && suffix.starts_with("01jv")
            && suffix
                .bytes()
                .all(|c| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&c)),
        "id {id} is not a TypeID-style id"
    );
}

/// Structure and time: every invariant a consumer of the fixtures relies on.
fn check_invariants(groups: &[EvalGroup]) {
    let mut unique = HashSet::new();
    let mut claim = |id: &str, prefix: &str| {
        assert_type_id(id, prefix);
        assert!(unique.insert(id.to_string()), "duplicate id {id}");
    };
    for group in groups {
        claim(&group.eval_group_id, "evalgrp");
        claim(&group.flow.flow_id, "flow");
        let steps: HashMap<&str, &FlowStep> = group
            .flow
            .steps
            .iter()
            .map(|s| (s.step_id.as_str(), s))
            .collect();
        for step in &group.flow.steps {
            claim(&step.step_id, "step");
        }
        let record_order: HashMap<&str, usize> = group
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.record_id.as_str(), i))
            .collect();
        for record in &group.records {
            claim(&record.record_id, "record");
            assert!(record.record_metadata.is_object() && record.input_variables.is_object());
        }
        let created = ts(&group.created_at);
        let mut previous_start = i64::MIN;
        for batch in &group.batches {
            claim(&batch.batch_execution_id, "evalbatch");
            let (batch_created, started) = (ts(&batch.created_at), ts(&batch.started_at));
            assert!(
                created <= batch_created && batch_created < started,
                "{} times",
                batch.eval_name
            );
            assert!(
                started > previous_start,
                "batches start in order in {}",
                group.eval_group_id
            );
            previous_start = started;
            match batch.status.as_str() {
                "completed" => assert_eq!(batch.results.len(), group.records.len()),
                "failed" => {}
                other => panic!("status {other} of a finished batch"),
            }
            let overrides = &batch.eval_config["stepOverrides"];
            for step_id in overrides.as_object().expect("stepOverrides").keys() {
                assert!(
                    steps.contains_key(step_id.as_str()),
                    "override of unknown step {step_id}"
                );
            }
            let mut last_end = started;
            let mut previous_record = None;
            for result in &batch.results {
                let position = record_order[result.record_id.as_str()];
                assert!(
                    previous_record < Some(position),
                    "results out of record order"
                );
                previous_record = Some(position);
                claim(result.execution_session_id.as_deref().unwrap_or(""), "sess");
                assert!(!result.step_results.is_empty());
                let mut previous_end = started;
                for (i, step) in result.step_results.iter().enumerate() {
                    claim(&step.step_result_id, "stepres");
                    let start = ts(&step.executed_at);
                    let duration = step.duration_ms.unwrap_or(-1);
                    assert!(duration > 0, "duration must be positive");
                    assert!(
                        start > previous_end,
                        "steps of a record run one after another"
                    );
                    previous_end = start + duration;
                    if step.error_message.is_some() {
                        assert!(step.output.is_none() && step.error_stack.is_some());
                        assert_eq!(
                            i + 1,
                            result.step_results.len(),
                            "a failed step ends the run"
                        );
                    } else {
                        assert!(step.output.is_some() && step.error_stack.is_none());
                    }
                    check_step_config(step, steps[step.step_id.as_str()], overrides);
                    for call in &step.tool_calls {
                        claim(&call.tool_execution_id, "toolexec");
                        let (at, ms) =
                            (ts(&call.executed_at), call.execution_time_ms.unwrap_or(-1));
                        assert!(
                            at >= start && at + ms <= previous_end && ms > 0,
                            "tool call outside its step"
                        );
                        assert!(
                            call.input_parameters.is_object() && call.output_result.is_object()
                        );
                        assert_eq!(call.status == "error", call.error_message.is_some());
                        assert_eq!(call.model, step.model_used);
                    }
                }
                last_end = last_end.max(previous_end);
            }
            let completed = batch.completed_at.as_deref().map_or(i64::MAX, ts);
            assert!(completed > last_end, "completedAt follows the last step");
        }
    }
}

/// The model and tools a step used are the ones its batch's eval config (or the flow) set.
fn check_step_config(step: &StepResult, flow_step: &FlowStep, overrides: &Value) {
    let config = &overrides[&step.step_id];
    let model = config["model"]
        .as_str()
        .or(flow_step.step_config["model"].as_str());
    assert_eq!(
        step.model_used.as_deref(),
        model,
        "modelUsed of {}",
        step.step_id
    );
    let tools = if config["tools"].is_object() {
        &config["tools"]
    } else {
        &flow_step.step_config["tools"]
    };
    let allowed: Vec<&str> = tools["toolIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for call in &step.tool_calls {
        assert!(
            allowed.contains(&call.tool_id.as_deref().unwrap_or("")),
            "tool {} not enabled",
            call.tool_name
        );
    }
    let max = tools["maxToolCalls"].as_u64().unwrap_or(0);
    assert!(
        step.tool_calls.len() as u64 <= max,
        "more tool calls than maxToolCalls"
    );
}

/// `totalCost = promptTokens x input + (completionTokens + reasoningTokens) x output` per 1M
/// tokens of the price table, rounded to 6 decimals; only failed requests lack a cost.
fn check_costs(groups: &[EvalGroup]) -> usize {
    let mut priced = 0;
    for step in step_results(groups) {
        let Some(model) = &step.model_used else {
            assert!(step.prompt_tokens.is_none() && step.completion_tokens.is_none());
            assert!(step.total_cost.is_none() && step.reasoning_tokens.is_none());
            assert!(step.resolved_prompt.is_none());
            continue;
        };
        let spec = model_spec(model).unwrap_or_else(|| panic!("model {model} has no price"));
        let Some(cost) = step.total_cost else {
            assert!(
                step.error_message.is_some(),
                "only failed requests lack a cost"
            );
            assert!(step.prompt_tokens.is_none() && step.completion_tokens.is_none());
            continue;
        };
        let prompt = step.prompt_tokens.expect("a priced step has promptTokens");
        let completion = step.completion_tokens.unwrap_or(0);
        let reasoning = step.reasoning_tokens.unwrap_or(0);
        let expected = spec.cost_usd(prompt, completion, reasoning);
        assert_eq!(cost, expected, "totalCost of {}", step.step_result_id);
        assert_eq!(
            spec.reasoning,
            step.reasoning_tokens.is_some(),
            "reasoningTokens of {model}"
        );
        priced += 1;
    }
    priced
}

/// Token counts fit the texts sent and returned (about 4 characters a token, give or take 25%).
fn check_token_ratios(groups: &[EvalGroup]) {
    let chars = |text: &str| text.chars().count() as f64;
    for step in step_results(groups).filter(|s| s.model_used.is_some() && s.error_message.is_none())
    {
        let mut prompt_chars = step.resolved_prompt.as_deref().map_or(0.0, chars);
        for message in step.message_history.iter().flatten() {
            assert!(message["role"].is_string(), "message without role");
            prompt_chars += message["content"].as_str().map_or(0.0, chars);
        }
        let ratio = |tokens: Option<i64>, chars: f64| tokens.unwrap_or(0) as f64 / (chars / 4.0);
        let prompt = ratio(step.prompt_tokens, prompt_chars);
        let completion = ratio(
            step.completion_tokens,
            step.output.as_deref().map_or(0.0, chars),
        );
        assert!(
            (0.75..=1.25).contains(&prompt),
            "promptTokens ratio {prompt} of {}",
            step.step_result_id
        );
        assert!(
            (0.75..=1.25).contains(&completion),
            "completionTokens ratio {completion}"
        );
    }
}

fn failure_rate(groups: &[EvalGroup]) -> f64 {
    let (total, failed) = step_results(groups).fold((0usize, 0usize), |(t, f), s| {
        (t + 1, f + usize::from(s.error_message.is_some()))
    });
    failed as f64 / total as f64
}

#[test]
fn the_bundled_fixtures_are_consistent() {
    let groups = bundled();
    assert_eq!(groups.len(), 3);
    check_invariants(&groups);
    assert!(check_costs(&groups) > 400);
    check_token_ratios(&groups);
    let rate = failure_rate(&groups);
    assert!((0.03..=0.15).contains(&rate), "bundled failure rate {rate}");
}

#[test]
fn synthetic_sets_are_consistent() {
    for (groups, batches, records, steps, seed) in [
        (3, 3, 40, 4, 7),
        (4, 7, 30, 7, 99),
        (2, 2, 10, 2, 3),
        (3, 1, 1, 1, 1),
    ] {
        let set = synthetic(groups, batches, records, steps, seed);
        check_invariants(&set);
        check_costs(&set);
        check_token_ratios(&set);
    }
    let rate = failure_rate(&synthetic(3, 4, 200, 4, 11));
    assert!(
        (0.03..=0.15).contains(&rate),
        "synthetic failure rate {rate}"
    );
}
