//! `POST /v1/eval/submit` and the eval groups it creates.
//!
//! A submission becomes a new eval group whose batches run on a simulated clock: `queued`,
//! then `processing` with results appearing record by record, then `completed`. The results
//! are derived from the flow's recorded runs in the fixtures (same prompts, same outputs),
//! re-priced and re-timed for the requested models, so every operation agrees about them.
//! The state lives behind one lock inside [`Submissions`]; `reset` restores the fixture state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::models::model_spec;
use crate::auth::Principal;
use crate::clock;
use crate::error::{ApiError, ErrorDetail};
use crate::fixtures::model::{Batch, EvalGroup, Flow, Record, RecordResult, StepResult};
use crate::fixtures::{FixtureStore, LoadedGroup};
use crate::validate::{Violation, ViolationCode};

/// How submissions behave; set from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitSettings {
    /// Submissions accepted before 402 (until `reset`); `None` is unlimited.
    pub quota: Option<usize>,
    /// Simulated time from submission to a completed batch; zero completes at once.
    pub run_time: Duration,
}

impl Default for SubmitSettings {
    fn default() -> Self {
        SubmitSettings {
            quota: None,
            run_time: Duration::from_secs(20),
        }
    }
}

/// Share of the run time a batch spends `queued` before it starts processing records.
const QUEUED_SHARE: f64 = 0.1;

#[derive(Debug)]
pub struct Submissions {
    settings: SubmitSettings,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    groups: Vec<Submitted>,
    group_index: HashMap<String, usize>,
    batch_index: HashMap<String, usize>,
    /// Submissions and streams charged against the quota.
    usage: usize,
    /// Makes the ids of everything created: ULIDs from the clock, unique across resets and
    /// restarts (a client that cached an id never sees it again for something else).
    ids: IdSource,
}

/// A submitted group as it will look when complete, and when it started.
#[derive(Debug)]
struct Submitted {
    complete: EvalGroup,
    started: Instant,
}

/// A parsed, checked request: the flow's recorded runs to derive from, the configs (name and
/// overrides) and the records to run on.
pub(super) struct Plan<'a> {
    pub(super) template: &'a LoadedGroup,
    pub(super) configs: Vec<(String, Value)>,
    pub(super) records: Vec<Record>,
}

impl Submissions {
    pub fn new(settings: SubmitSettings) -> Submissions {
        Submissions {
            settings,
            state: Mutex::new(State::default()),
        }
    }

    /// Forgets every submission and restores the quota.
    pub fn reset(&self) {
        *self.lock() = State::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written (every write is a
        // push or an insert), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one run against the quota: 403 for a key limited to some eval groups (it may not
    /// start new runs), 402 once the quota is used up.
    pub fn charge(&self, principal: &Principal) -> Result<(), ApiError> {
        if *principal != Principal::Full {
            return Err(ApiError::Forbidden(
                ErrorDetail::new(
                    "FORBIDDEN",
                    "this API key is limited to existing eval groups and may not run evals",
                )
                .suggest("Use an API key with full access to run evals."),
            ));
        }
        let mut state = self.lock();
        if self
            .settings
            .quota
            .is_some_and(|quota| state.usage >= quota)
        {
            return Err(ApiError::PaymentRequired(self.limit_exceeded()));
        }
        state.usage += 1;
        Ok(())
    }

    /// The 402 detail, worded with the configured quota (`--submit-quota`).
    pub fn limit_exceeded(&self) -> ErrorDetail {
        let message = match self.settings.quota {
            Some(quota) => format!("the eval quota of {quota} runs has been used up"),
            None => "the eval execution limit of your plan has been reached".to_string(),
        };
        ErrorDetail::new("LIMIT_EXCEEDED", message).suggest(
            "Wait for the quota to reset, or restore it with POST /__mock/reset (or a restart).",
        )
    }

    pub fn submit(
        &self,
        fixtures: &FixtureStore,
        body: &Value,
        principal: &Principal,
    ) -> Result<Value, ApiError> {
        let plan = plan(fixtures, body)?;
        self.charge(principal)?;
        let mut state = self.lock();
        let ids = &mut state.ids;
        let group_id = ids.next("evalgrp");
        // Read before `started` (below), so the wall-clock stamps never run ahead of the
        // monotonic progress that decides what a client sees.
        let now = clock::now_ms();
        let run_ms = self.settings.run_time.as_millis().min(i64::MAX as u128) as i64;
        let batches: Vec<Batch> = plan
            .configs
            .iter()
            .map(|(name, config)| {
                let mut batch =
                    simulate_batch(plan.template, &plan.records, name, config, now, ids);
                fit_to_run(&mut batch, now, run_ms);
                batch
            })
            .collect();
        let complete = EvalGroup {
            eval_group_id: group_id.clone(),
            name: format!("Submitted eval of {}", plan.template.group.flow.name),
            description: String::new(),
            created_at: clock::iso_ms(now),
            flow: plan.template.group.flow.clone(),
            records: plan.records,
            batches,
        };
        let answer = if body.get("evalConfigs").is_some() {
            json!({
                "evalGroupId": group_id,
                "submissions": complete.batches.iter().map(|b| json!({
                    "batchExecutionId": b.batch_execution_id, "evalName": b.eval_name, "status": "queued",
                })).collect::<Vec<_>>(),
                "totalEvals": complete.batches.len(),
            })
        } else {
            let batch = &complete.batches[0];
            json!({
                "batchExecutionId": batch.batch_execution_id,
                "status": "queued",
                "evalGroupId": group_id,
                "evalName": batch.eval_name,
            })
        };
        let index = state.groups.len();
        for batch in &complete.batches {
            state
                .batch_index
                .insert(batch.batch_execution_id.clone(), index);
        }
        state.group_index.insert(group_id, index);
        state.groups.push(Submitted {
            complete,
            started: Instant::now(),
        });
        Ok(answer)
    }

    /// The submitted group as it stands now.
    pub fn group(&self, eval_group_id: &str) -> Option<LoadedGroup> {
        let state = self.lock();
        let index = *state.group_index.get(eval_group_id)?;
        self.snapshot(&state.groups[index])
    }

    /// The submitted group holding a batch, as it stands now.
    pub fn group_of_batch(&self, batch_execution_id: &str) -> Option<LoadedGroup> {
        let state = self.lock();
        let index = *state.batch_index.get(batch_execution_id)?;
        self.snapshot(&state.groups[index])
    }

    /// Every submitted group as it stands now, oldest first.
    pub fn all(&self) -> Vec<LoadedGroup> {
        let state = self.lock();
        state
            .groups
            .iter()
            .filter_map(|s| self.snapshot(s))
            .collect()
    }

    /// The group at this moment of its simulated run.
    fn snapshot(&self, submitted: &Submitted) -> Option<LoadedGroup> {
        let run = self.settings.run_time.as_secs_f64();
        let progress = if run == 0.0 {
            1.0
        } else {
            submitted.started.elapsed().as_secs_f64() / run
        };
        let mut group = submitted.complete.clone();
        for batch in &mut group.batches {
            progress_view(batch, progress);
        }
        LoadedGroup::new("(submitted eval)", group).ok()
    }
}

/// Places a batch simulated on its natural timeline onto the run a client observes, compressed
/// into `run_ms` (`--eval-run-ms`): created at `start_ms`, started once the queued share of the
/// run has passed, record `k` of `n` run within the `k`-th of `n` equal slots of the rest
/// (ending exactly when [`progress_view`] first shows it), completed at `start_ms + run_ms`.
/// Steps and tool calls keep their order and their relative spacing within their record's
/// slot, so every stamp a client sees is in the past. `durationMs` and the tool calls'
/// `executionTimeMs` stay the models' own latencies (what the price and speed table says).
fn fit_to_run(batch: &mut Batch, start_ms: i64, run_ms: i64) {
    let queued = run_ms as f64 * QUEUED_SHARE;
    let slot = (run_ms as f64 - queued) / batch.results.len().max(1) as f64;
    batch.created_at = clock::iso_ms(start_ms);
    batch.started_at = clock::iso_ms(start_ms + queued.floor() as i64);
    batch.completed_at = Some(clock::iso_ms(start_ms + run_ms));
    for (k, result) in batch.results.iter_mut().enumerate() {
        let slot_start = start_ms as f64 + queued + k as f64 * slot;
        let natural = |at: &str| clock::parse_iso_ms(at).unwrap_or(start_ms);
        let first = result
            .step_results
            .iter()
            .map(|s| natural(&s.executed_at))
            .min()
            .unwrap_or(start_ms);
        let last = result
            .step_results
            .iter()
            .map(|s| natural(&s.executed_at) + s.duration_ms.unwrap_or(0))
            .max()
            .unwrap_or(first);
        let span = (last - first).max(1) as f64;
        let place = |at: &str| {
            let share = ((natural(at) - first) as f64 / span).clamp(0.0, 1.0);
            clock::iso_ms((slot_start + share * slot).floor() as i64)
        };
        for step in &mut result.step_results {
            for call in &mut step.tool_calls {
                call.executed_at = place(&call.executed_at);
            }
            step.executed_at = place(&step.executed_at);
        }
    }
}

/// Shows a complete batch as it stands at `progress` (0 = just submitted, 1 = done) of its
/// run: queued first, then records finish one after another, then it is completed. A queued
/// batch has not started: its `startedAt` (a required string) is its `createdAt` until then.
fn progress_view(batch: &mut Batch, progress: f64) {
    let total = batch.results.len();
    let processed = if progress >= 1.0 {
        total
    } else if progress < QUEUED_SHARE {
        0
    } else {
        (((progress - QUEUED_SHARE) / (1.0 - QUEUED_SHARE)) * total as f64).floor() as usize
    };
    if processed < total {
        batch.results.truncate(processed);
        batch.completed_at = None;
        batch.status = if progress < QUEUED_SHARE {
            batch.started_at.clone_from(&batch.created_at);
            "queued"
        } else {
            "processing"
        }
        .into();
    }
}

/// Makes TypeID-shaped ids (`<prefix>_` + 26 lowercase Crockford characters, as the fixtures'
/// `01jv...`). Submissions get ULIDs from the clock: their time is now and 80 bits are random,
/// so ids never repeat across resets or restarts. Streams get ids derived from a seed (the
/// same request streams the same ids): `01jy` + the seed in hex + a counter, which read as
/// ULIDs of June 2025, before any submission the mock can make, so the two never collide.
#[derive(Debug, Default)]
pub(super) struct IdSource {
    seed: Option<u64>,
    counters: HashMap<&'static str, u64>,
}

impl IdSource {
    /// Ids derived from `seed`: the same request yields the same ids.
    pub(super) fn from_seed(seed: u64) -> IdSource {
        IdSource {
            seed: Some(seed),
            counters: HashMap::new(),
        }
    }

    pub(super) fn next(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_default();
        *n += 1;
        match self.seed {
            None => super::realism::typeid(prefix, ulid::Ulid::generate()),
            Some(seed) => format!("{prefix}_01jy{seed:016x}{:06}", *n),
        }
    }
}

fn invalid(code: ViolationCode, path: &str, message: String, suggestion: &str) -> Violation {
    Violation {
        code,
        path: path.to_string(),
        message,
        suggestion: Some(suggestion.to_string()),
        schema_path: None,
    }
}

/// Checks what the schema cannot for submit: which fields go together, and that the flow,
/// saved configs, records and steps exist. Every problem is reported, each at its own path.
///
/// Lenient where the later API is (what `runtype-sdk` 5.5.0 can send): the flow may come from
/// `flowId`, `agent` or the saved configs named by `evalConfigId`; a single eval needs no
/// `evalName`; without `recordIds` or `records` the eval runs on every record the flow has run
/// on (the flow's saved records, the mock's reading of a call that names none).
fn plan<'a>(fixtures: &'a FixtureStore, body: &Value) -> Result<Plan<'a>, ApiError> {
    let mut problems = Vec::new();
    let has = |field: &str| body.get(field).is_some_and(|v| !v.is_null());
    if (has("evalConfig") || has("evalName")) && has("evalConfigs") {
        let a_name = if has("evalConfig") {
            "evalConfig"
        } else {
            "evalName"
        };
        problems.push(conflict(a_name, "evalConfigs"));
    }
    if has("recordIds") && has("records") {
        problems.push(conflict("recordIds", "records"));
    }
    let configs = resolve_configs(fixtures, body, &mut problems);
    let template = find_flow(fixtures, body, &configs, &mut problems);
    let mut records = Vec::new();
    if let Some(template) = template {
        check_overrides(&template.group.flow, &configs, &mut problems);
        for (i, id) in body["recordIds"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let id = id.as_str().unwrap_or_default();
            match template.record(id) {
                Some(record) => records.push(record.clone()),
                None => problems.push(invalid(
                    ViolationCode::InvalidValue,
                    &format!("recordIds[{i}]"),
                    format!("record {id} does not exist for flow {}", template.group.flow.flow_id),
                    "Use records the flow has run on (see GET /v1/eval/{id}/results), or send inline `records`.",
                )),
            }
        }
    }
    let template = match template {
        Some(template) if problems.is_empty() => template,
        _ => return Err(ApiError::InvalidRequest(problems)),
    };
    if let Some(inline) = body["records"].as_array() {
        records = inline
            .iter()
            .enumerate()
            .map(|(i, r)| virtual_record(i, r))
            .collect();
    } else if !has("recordIds") {
        records = template.group.records.clone();
    }
    Ok(Plan {
        template,
        configs: without_paths(configs),
        records,
    })
}

/// Checks a stream request: the flow (from `flowId`, `agent` or saved configs) and step
/// overrides exist; the input (`record` and/or `messages`) becomes one virtual record, and
/// without either the flow runs on its first saved record (the mock's choice where the docs
/// are silent).
pub(super) fn stream_plan<'a>(
    fixtures: &'a FixtureStore,
    body: &Value,
) -> Result<Plan<'a>, ApiError> {
    let mut problems = Vec::new();
    let configs = resolve_configs(fixtures, body, &mut problems);
    let template = find_flow(fixtures, body, &configs, &mut problems);
    if let Some(template) = template {
        check_overrides(&template.group.flow, &configs, &mut problems);
    }
    let template = match template {
        Some(template) if problems.is_empty() => template,
        _ => return Err(ApiError::InvalidRequest(problems)),
    };
    let record = match (body.get("record"), body.get("messages")) {
        (Some(record), _) => virtual_record(0, record),
        (None, Some(messages)) => virtual_record(
            0,
            &json!({"name": "Conversation", "type": "conversation", "metadata": {"messages": messages}}),
        ),
        (None, None) => match template.group.records.first() {
            Some(record) => record.clone(),
            None => virtual_record(0, &json!({})),
        },
    };
    Ok(Plan {
        template,
        configs: without_paths(configs),
        records: vec![record],
    })
}

/// The fixture group whose flow runs: named by `flowId`, else the flow of the saved configs
/// (`evalConfigId`), else, when an `agent` is named, the first fixture flow (evalmock models no
/// agents; the spec says so). Its recorded runs are what new runs derive from.
fn find_flow<'a>(
    fixtures: &'a FixtureStore,
    body: &Value,
    configs: &[Config<'a>],
    problems: &mut Vec<Violation>,
) -> Option<&'a LoadedGroup> {
    let saved = configs.iter().find_map(|c| c.saved);
    let template = if let Some(flow_id) = body["flowId"].as_str() {
        let found = fixtures
            .groups()
            .iter()
            .find(|g| g.group.flow.flow_id == flow_id);
        if found.is_none() {
            problems.push(invalid(
                ViolationCode::InvalidValue,
                "flowId",
                format!("flow {flow_id} does not exist"),
                "Use the flowId of an existing flow; every eval batch in GET /v1/eval/batches names its flowId.",
            ));
        }
        found
    } else if saved.is_some() {
        saved
    } else if body.get("agent").is_some_and(|a| !a.is_null()) {
        fixtures.groups().first()
    } else {
        problems.push(invalid(
            ViolationCode::MissingRequiredField,
            "flowId",
            "one of `flowId` or `agent` is required".into(),
            "Send the `flowId` of the flow to evaluate (or `agent`).",
        ));
        None
    };
    if let Some(template) = template {
        for config in configs {
            if let Some(group) = config.saved
                && group.group.flow.flow_id != template.group.flow.flow_id
            {
                problems.push(invalid(
                    ViolationCode::InvalidValue,
                    &format!("{}.evalConfigId", config.at),
                    format!(
                        "eval config belongs to flow {}, not to flow {}",
                        group.group.flow.flow_id, template.group.flow.flow_id
                    ),
                    "Use saved configs of the flow that runs.",
                ));
            }
        }
    }
    template
}

/// One eval config as submitted, resolved: its name, the config with `stepOverrides`, where it
/// is in the request (for messages) and the group of the saved config it names, if any.
struct Config<'a> {
    name: String,
    config: Value,
    at: String,
    saved: Option<&'a LoadedGroup>,
}

/// The configs of a request: `evalConfigs[]`, or the single `evalConfig` (+ `evalName`), or,
/// with neither, the flow as saved. `overrides.steps` (the later API's spelling) and
/// `stepOverrides` are one channel: sending both is a 400; a saved config (`evalConfigId`)
/// supplies what the request leaves out.
fn resolve_configs<'a>(
    fixtures: &'a FixtureStore,
    body: &Value,
    problems: &mut Vec<Violation>,
) -> Vec<Config<'a>> {
    let raw: Vec<(Value, String)> = match body["evalConfigs"].as_array() {
        Some(configs) => configs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), format!("evalConfigs[{i}]")))
            .collect(),
        None => {
            let mut config = body.get("evalConfig").cloned().unwrap_or_else(|| json!({}));
            // The config's own name first (the later API's spelling), then the top-level one.
            if let (Some(object), Some(name)) = (config.as_object_mut(), body.get("evalName"))
                && !object.contains_key("evalName")
            {
                object.insert("evalName".into(), name.clone());
            }
            vec![(config, "evalConfig".into())]
        }
    };
    raw.into_iter()
        .enumerate()
        .map(|(position, (mut config, at))| {
            let mut saved = None;
            if let Some(id) = config["evalConfigId"].as_str() {
                match fixtures.eval_config(id) {
                    Some((group, batch)) => {
                        saved = Some(group);
                        if config.get("evalName").is_none() {
                            config["evalName"] = json!(batch.eval_name);
                        }
                        if config.get("stepOverrides").is_none()
                            && config["overrides"].get("steps").is_none()
                        {
                            // In the spelling the config already uses, so it never holds both.
                            let saved_steps = batch.eval_config["stepOverrides"].clone();
                            if config.get("overrides").is_some_and(Value::is_object) {
                                config["overrides"]["steps"] = saved_steps;
                            } else {
                                config["stepOverrides"] = saved_steps;
                            }
                        }
                    }
                    None => problems.push(invalid(
                        ViolationCode::InvalidValue,
                        &format!("{at}.evalConfigId"),
                        format!("eval config {id} does not exist"),
                        "Use the evalConfigId of a saved eval config (GET /v1/eval/{id}/results of a batch names its config).",
                    )),
                }
            }
            if config["overrides"].get("steps").is_some() && config.get("stepOverrides").is_some()
            {
                problems.push(conflict(
                    &format!("{at}.stepOverrides"),
                    &format!("{at}.overrides.steps"),
                ));
            }
            let name = config["evalName"].as_str().map(str::to_string);
            if let Some(object) = config.as_object_mut() {
                object.remove("evalName");
            }
            Config {
                name: name.unwrap_or_else(|| format!("Eval {}", position + 1)),
                config,
                at,
                saved,
            }
        })
        .collect()
}

/// The configs as a plan keeps them, once their paths have served the checks' messages.
fn without_paths(configs: Vec<Config<'_>>) -> Vec<(String, Value)> {
    configs.into_iter().map(|c| (c.name, c.config)).collect()
}

/// A config's step overrides, in whichever spelling it uses (`stepOverrides`, documented, or
/// `overrides.steps`, the later API's). The config keeps the spelling it was sent with, so the
/// batch echoes it as submitted.
fn step_overrides(config: &Value) -> &Value {
    match config.get("stepOverrides") {
        Some(steps) if !steps.is_null() => steps,
        _ => &config["overrides"]["steps"],
    }
}

fn check_overrides(flow: &Flow, configs: &[Config<'_>], problems: &mut Vec<Violation>) {
    for Config {
        config, at, saved, ..
    } in configs
    {
        // A saved config of another flow is reported once, not once per step it overrides.
        if saved.is_some_and(|group| group.group.flow.flow_id != flow.flow_id) {
            continue;
        }
        let spelling = if config["overrides"].get("steps").is_some() {
            "overrides.steps"
        } else {
            "stepOverrides"
        };
        for step_id in step_overrides(config)
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !flow.steps.iter().any(|s| &s.step_id == step_id) {
                problems.push(invalid(
                    ViolationCode::InvalidValue,
                    &format!("{at}.{spelling}.{step_id}"),
                    format!("flow {} has no step {step_id}", flow.flow_id),
                    &format!("Use one of the flow's steps: {}.", step_list(flow)),
                ));
            }
        }
    }
}

/// An inline record (`{name, type, metadata}`) as a record of the run.
fn virtual_record(position: usize, record: &Value) -> Record {
    let metadata = record
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Record {
        record_id: format!("record_virtual_{:04}", position + 1),
        record_name: record["name"].as_str().map(str::to_string),
        record_type: record["type"].as_str().unwrap_or("record").to_string(),
        record_metadata: metadata.clone(),
        input_variables: metadata,
    }
}

/// `a` and `b` sent together, reported at `b`.
fn conflict(a: &str, b: &str) -> Violation {
    invalid(
        ViolationCode::ConflictingFields,
        b,
        format!("`{a}` and `{b}` cannot be sent together"),
        &format!("Send either `{a}` or `{b}`."),
    )
}

fn step_list(flow: &Flow) -> String {
    flow.steps
        .iter()
        .map(|s| s.step_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One batch of a submission: each record's run derived from a recorded run of the same flow.
pub(super) fn simulate_batch(
    template: &LoadedGroup,
    records: &[Record],
    eval_name: &str,
    config: &Value,
    start_ms: i64,
    ids: &mut IdSource,
) -> Batch {
    let batch_id = ids.next("evalbatch");
    let mut results = Vec::with_capacity(records.len());
    let mut finished_ms = start_ms;
    for (k, record) in records.iter().enumerate() {
        let basis_record = basis_record(template, record, k);
        let session = ids.next("sess");
        // Records run a few at a time; each starts shortly after the previous one.
        let mut at = start_ms + 1_500 + k as i64 * 850;
        let mut steps = Vec::new();
        for flow_step in &template.group.flow.steps {
            let override_ = &step_overrides(config)[&flow_step.step_id];
            let Some(basis) = basis_step(
                template,
                basis_record,
                &flow_step.step_id,
                override_["model"].as_str(),
            ) else {
                continue;
            };
            let step = rerun_step(basis, override_, at, ids);
            at += step.duration_ms.unwrap_or(0) + 35;
            let failed = step.error_message.is_some();
            steps.push(step);
            if failed {
                break;
            }
        }
        finished_ms = finished_ms.max(at);
        results.push(RecordResult {
            record_id: record.record_id.clone(),
            execution_session_id: Some(session),
            step_results: steps,
        });
    }
    Batch {
        batch_execution_id: batch_id,
        eval_config_id: config
            .get("evalConfigId")
            .and_then(Value::as_str)
            .map(str::to_string),
        case_errors: Vec::new(),
        eval_name: eval_name.to_string(),
        eval_config: config.clone(),
        status: "completed".into(),
        created_at: clock::iso_ms(start_ms),
        started_at: clock::iso_ms(start_ms + 1_000),
        completed_at: Some(clock::iso_ms(finished_ms + 400)),
        results,
    }
}

/// The recorded record a run is derived from: the same record when the fixtures have it, else a
/// recorded record picked by the inline record's position.
fn basis_record<'a>(template: &'a LoadedGroup, record: &Record, position: usize) -> &'a str {
    match template.record(&record.record_id) {
        Some(r) => &r.record_id,
        None => {
            let records = &template.group.records;
            &records[position % records.len().max(1)].record_id
        }
    }
}

/// A recorded result of `step_id` for the record: from a batch that used `model` if there is one.
fn basis_step<'a>(
    template: &'a LoadedGroup,
    record_id: &'a str,
    step_id: &str,
    model: Option<&str>,
) -> Option<&'a StepResult> {
    let candidates: Vec<&StepResult> = template
        .results_for_record(record_id)
        .filter_map(|(_, _, result)| result.step_results.iter().find(|s| s.step_id == step_id))
        .collect();
    candidates
        .iter()
        .find(|s| model.is_some() && s.model_used.as_deref() == model)
        .or_else(|| candidates.iter().find(|s| s.error_message.is_none()))
        .or(candidates.first())
        .copied()
}

/// Re-runs a recorded step under an override: new ids and times; an LLM step takes the
/// requested model, its price and its speed; tool calls follow the override's tool list.
fn rerun_step(basis: &StepResult, override_: &Value, at: i64, ids: &mut IdSource) -> StepResult {
    let mut step = basis.clone();
    step.step_result_id = ids.next("stepres");
    step.executed_at = clock::iso_ms(at);
    let is_llm = step.model_used.is_some();
    if is_llm && let Some(model) = override_["model"].as_str() {
        step.model_used = Some(model.to_string());
        if let Some(spec) = model_spec(model) {
            if let Some(max) = override_["maxTokens"].as_i64()
                && step.completion_tokens.is_some_and(|c| c > max)
            {
                step.completion_tokens = Some(max);
                step.output = step
                    .output
                    .map(|o| o.chars().take((max * 4) as usize).collect());
            }
            if !spec.reasoning {
                step.reasoning_tokens = None;
                step.reasoning_content = None;
            } else if step.reasoning_tokens.is_none() && step.error_message.is_none() {
                // A reasoning model thinks before it answers, and is billed for it: about twice
                // the answer's tokens, as the recorded reasoning runs show.
                let answer = step.completion_tokens.unwrap_or(0);
                step.reasoning_tokens = Some((answer * 2 + 128).min(6_000));
                step.reasoning_content = Some(
                    "Read the instructions and the record, checked which details the answer must \
                     cover, then wrote it in the requested format."
                        .into(),
                );
            }
            let completion = step.completion_tokens.unwrap_or(0);
            let reasoning = step.reasoning_tokens.unwrap_or(0);
            if step.prompt_tokens.is_some() {
                step.total_cost =
                    Some(spec.cost_usd(step.prompt_tokens.unwrap_or(0), completion, reasoning));
            }
            if step.error_message.is_none() {
                step.duration_ms = Some(
                    spec.latency_ms + ((completion + reasoning) as f64 * spec.ms_per_token) as i64,
                );
            }
        }
    }
    if let Some(tools) = override_["tools"].as_object() {
        let allowed: Vec<&str> = tools
            .get("toolIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let max_calls = tools
            .get("maxToolCalls")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX) as usize;
        step.tool_calls
            .retain(|c| c.tool_id.as_deref().is_some_and(|id| allowed.contains(&id)));
        step.tool_calls.truncate(max_calls);
    }
    let mut call_at = at + 120;
    for call in &mut step.tool_calls {
        call.tool_execution_id = ids.next("toolexec");
        call.executed_at = clock::iso_ms(call_at);
        call_at += call.execution_time_ms.unwrap_or(0) + 20;
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_with(records: usize) -> Batch {
        Batch {
            batch_execution_id: "b".into(),
            eval_config_id: None,
            case_errors: Vec::new(),
            eval_name: "e".into(),
            eval_config: Value::Null,
            status: "completed".into(),
            created_at: "2026-06-01T00:00:00.000Z".into(),
            started_at: "2026-06-01T00:00:01.000Z".into(),
            completed_at: Some("2026-06-01T00:01:00.000Z".into()),
            results: (0..records)
                .map(|i| RecordResult {
                    record_id: format!("r{i}"),
                    execution_session_id: None,
                    step_results: Vec::new(),
                })
                .collect(),
        }
    }

    fn view(progress: f64) -> (String, usize, bool) {
        let mut batch = batch_with(10);
        progress_view(&mut batch, progress);
        (
            batch.status,
            batch.results.len(),
            batch.completed_at.is_some(),
        )
    }

    #[test]
    fn a_batch_is_queued_then_processes_record_by_record_then_completes() {
        assert_eq!(view(0.0), ("queued".into(), 0, false));
        assert_eq!(view(0.05), ("queued".into(), 0, false));
        assert_eq!(view(0.1), ("processing".into(), 0, false));
        assert_eq!(view(0.55), ("processing".into(), 5, false));
        assert_eq!(view(0.99), ("processing".into(), 9, false));
        assert_eq!(view(1.0), ("completed".into(), 10, true));
        assert_eq!(view(7.0), ("completed".into(), 10, true));
    }

    #[test]
    fn submission_ids_are_ulids_of_now_and_stream_ids_follow_the_seed() {
        let mut ids = IdSource::default();
        let before = clock::now_ms() as u64;
        let group = ids.next("evalgrp");
        let body = group.strip_prefix("evalgrp_").expect("prefix");
        assert_eq!(body, body.to_lowercase());
        let ulid = ulid::Ulid::from_string(body).expect("a ULID");
        assert!(ulid.timestamp_ms() >= before, "{group} is from the clock");
        assert_ne!(ids.next("evalbatch"), ids.next("evalbatch"));
        // Stream ids read as ULIDs of an earlier time than any submission: never the same id.
        let stream = IdSource::from_seed(u64::MAX).next("evalbatch");
        let stream_ulid = ulid::Ulid::from_string(stream.trim_start_matches("evalbatch_"))
            .expect("stream ids are ULID-shaped");
        assert!(stream_ulid.timestamp_ms() < ulid.timestamp_ms());
        let a = IdSource::from_seed(42).next("exec");
        assert_eq!(a, IdSource::from_seed(42).next("exec"));
        assert_ne!(a, IdSource::from_seed(43).next("exec"));
        assert_eq!(a.len(), "exec_".len() + 26);
    }
}
