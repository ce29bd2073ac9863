//! What `Prefer: dynamic=true` values of the Runtype Evals API look like beyond their schema:
//! ids with the API's prefixes and 26-character ULID bodies (as the fixtures' ids), the keys of
//! `resultsByRecord`, model names from the price table, and the invariants between fields that
//! a client relies on (`failedRecords <= processedRecords <= totalRecords`, `createdAt <=
//! startedAt <= completedAt`, a status that agrees with them, step counts that add up). The
//! generic generator (`respond::dynamic`) receives this as a [`Realism`].

use serde_json::{Map, Value, json};

use super::stream::Vocabulary;
use crate::clock;
use crate::respond::{Realism, Rng};

/// The prefix of each id field (by property name), as the fixtures and the vendor's docs
/// spell them.
const ID_PREFIXES: &[(&str, &str)] = &[
    ("evalGroupId", "evalgrp"),
    ("batchExecutionId", "evalbatch"),
    ("evalConfigId", "evalcfg"),
    ("recordId", "record"),
    ("flowId", "flow"),
    ("stepId", "step"),
    ("stepResultId", "stepres"),
    ("executionId", "exec"),
    ("executionSessionId", "sess"),
    ("toolExecutionId", "toolexec"),
    ("toolCallId", "toolexec"),
    ("toolId", "tool"),
];

/// Model ids as runs name them (a subset of the price table, `models.json`).
const MODELS: &[&str] = &[
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
];

/// Statuses of a batch, in the order a run passes through them.
const BATCH_STATUSES: [&str; 4] = ["queued", "processing", "completed", "failed"];

/// The Runtype realism of one API version (its stream vocabulary decides the event sequence).
#[derive(Debug, Clone, Copy)]
pub struct EvalsRealism {
    pub(super) vocabulary: Vocabulary,
}

/// `prefix_` + a lowercase ULID: the API's TypeID-shaped ids.
pub(super) fn typeid(prefix: &str, ulid: ulid::Ulid) -> String {
    format!("{prefix}_{}", ulid.to_string().to_lowercase())
}

/// A seeded id whose ULID carries a time of the generator's window and 80 random bits.
fn seeded_id(prefix: &str, rng: &mut Rng) -> String {
    let random = ((rng.next_u64() as u128) << 64 | rng.next_u64() as u128) & ((1u128 << 80) - 1);
    typeid(prefix, ulid::Ulid::from_parts(rng.time_ms() as u64, random))
}

impl Realism for EvalsRealism {
    fn string(&self, name: &str, rng: &mut Rng) -> Option<String> {
        if let Some((_, prefix)) = ID_PREFIXES.iter().find(|(field, _)| *field == name) {
            return Some(seeded_id(prefix, rng));
        }
        match name {
            "modelUsed" | "model" => rng.pick(MODELS).map(|m| m.to_string()),
            "evalName" => rng.pick(MODELS).map(|m| format!("{m} baseline")),
            "stepType" => rng
                .pick(&["prompt", "tool", "transform"])
                .map(|t| t.to_string()),
            _ => None,
        }
    }

    /// The API's counts are typed `number` in its documents (steps, tokens, positions,
    /// durations in ms); they are whole numbers in its data.
    fn counts(&self, name: &str) -> bool {
        name == "index"
            || name == "seq"
            || [
                "Steps", "Tokens", "Records", "Count", "Calls", "Ms", "Time", "Evals",
            ]
            .iter()
            .any(|suffix| name.ends_with(suffix))
            || matches!(
                name,
                "iterations" | "tokens" | "count" | "total" | "limit" | "offset"
            )
    }

    fn map_key(&self, name: &str, rng: &mut Rng) -> Option<String> {
        match name {
            "resultsByRecord" => Some(seeded_id("record", rng)),
            "stepOverrides" | "steps" => Some(seeded_id("step", rng)),
            _ => None,
        }
    }

    /// Fixes each object's own invariants, then makes the ids that name one thing per answer
    /// (the eval group, the flow) the same wherever they appear.
    fn finish(&self, value: &mut Value) {
        fix_tree(value);
        for field in SHARED_IDS {
            if let Some(first) = first_string(value, field) {
                set_everywhere(value, field, &first);
            }
        }
    }

    fn event_types(&self) -> Vec<&'static str> {
        match self.vocabulary {
            Vocabulary::Flow => vec![
                "flow_start",
                "step_start",
                "step_delta",
                "step_delta",
                "step_complete",
                "flow_complete",
            ],
            Vocabulary::Execution => vec![
                "execution_start",
                "step_start",
                "text_start",
                "text_delta",
                "text_delta",
                "step_complete",
                "execution_complete",
            ],
        }
    }

    /// One execution: the first event's `executionId` and `flowId` on every event that has
    /// the field, `seq` from 0, one step's id on the step's events, times in order.
    fn finish_events(&self, events: &mut [Value]) {
        let first = |field: &str| {
            events
                .iter()
                .find_map(|e| e[field].as_str().map(str::to_string))
        };
        let (execution, flow, step) = (first("executionId"), first("flowId"), first("stepId"));
        let mut at = events
            .iter()
            .find_map(|e| e["startedAt"].as_str().and_then(clock::parse_iso_ms))
            .unwrap_or(clock::utc(2026, 1, 1, 0, 0, 0));
        for (seq, event) in events.iter_mut().enumerate() {
            let Some(object) = event.as_object_mut() else {
                continue;
            };
            for (field, value) in [
                ("executionId", &execution),
                ("flowId", &flow),
                ("stepId", &step),
            ] {
                if let (Some(Value::String(slot)), Some(value)) = (object.get_mut(field), value) {
                    slot.clone_from(value);
                }
            }
            if object.get("seq").is_some_and(Value::is_number) {
                object.insert("seq".into(), json!(seq));
            }
            for field in ["startedAt", "completedAt", "timestamp"] {
                if let Some(Value::String(slot)) = object.get_mut(field) {
                    at += 40;
                    *slot = clock::iso_ms(at);
                }
            }
        }
    }
}

/// Ids that name the one eval group or flow an answer is about.
const SHARED_IDS: [&str; 2] = ["evalGroupId", "flowId"];

/// Every object's own invariants, innermost first.
fn fix_tree(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.values_mut().for_each(fix_tree);
            fix_object(object);
        }
        Value::Array(items) => items.iter_mut().for_each(fix_tree),
        _ => {}
    }
}

/// The first string value of `field`, depth first.
fn first_string(value: &Value, field: &str) -> Option<String> {
    match value {
        Value::Object(object) => object
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| object.values().find_map(|v| first_string(v, field))),
        Value::Array(items) => items.iter().find_map(|v| first_string(v, field)),
        _ => None,
    }
}

/// Sets every string value of `field` to `text`.
fn set_everywhere(value: &mut Value, field: &str, text: &str) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == field && child.is_string() {
                    *child = json!(text);
                } else {
                    set_everywhere(child, field, text);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| set_everywhere(v, field, text)),
        _ => {}
    }
}

/// The invariants of one object, wherever it sits in the body.
fn fix_object(object: &mut Map<String, Value>) {
    // Counts of a list the object holds are its length.
    for (count, list) in [
        ("totalEvals", "batches"),
        ("totalEvals", "submissions"),
        ("count", "batches"),
    ] {
        let length = object.get(list).and_then(Value::as_array).map(Vec::len);
        if let (Some(length), true) = (length, object.get(count).is_some_and(Value::is_number)) {
            object.insert(count.into(), json!(length));
        }
    }
    order_times(object);
    fix_record_counts(object);
    fix_step_counts(object);
    for rate in ["successRate", "occurrenceRate"] {
        if let Some(value) = object.get(rate).and_then(Value::as_f64) {
            object.insert(
                rate.into(),
                json!((value.fract().abs() * 100.0).round() / 100.0),
            );
        }
    }
    // A tool call's status follows its error.
    if object.contains_key("toolExecutionId") && object.get("status").is_some_and(Value::is_string)
    {
        let failed = object.get("errorMessage").is_some_and(Value::is_string);
        object.insert(
            "status".into(),
            json!(if failed { "error" } else { "success" }),
        );
    }
}

/// `createdAt <= startedAt <= executedAt <= completedAt` among the times the object has.
fn order_times(object: &mut Map<String, Value>) {
    let fields = ["createdAt", "startedAt", "executedAt", "completedAt"];
    let mut times: Vec<i64> = fields
        .iter()
        .filter_map(|f| object.get(*f)?.as_str().and_then(clock::parse_iso_ms))
        .collect();
    times.sort_unstable();
    let mut sorted = times.into_iter();
    for field in fields {
        if let Some(Value::String(slot)) = object.get_mut(field)
            && clock::parse_iso_ms(slot).is_some()
            && let Some(ms) = sorted.next()
        {
            *slot = clock::iso_ms(ms);
        }
    }
}

/// `failedRecords <= processedRecords <= totalRecords`, `evalCount == totalRecords`, and a
/// status that agrees: completed (every record processed) when `completedAt` is a time,
/// else queued (nothing processed) or processing.
fn fix_record_counts(object: &mut Map<String, Value>) {
    let count =
        |object: &Map<String, Value>, field: &str| object.get(field).and_then(Value::as_i64);
    let Some(total) = count(object, "totalRecords") else {
        return;
    };
    let completed = object.get("completedAt").is_some_and(Value::is_string);
    let status = object
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_string);
    let status = status.as_deref();
    let free_status = status.is_some_and(|s| !BATCH_STATUSES.contains(&s));
    let mut processed = count(object, "processedRecords").map(|p| p.min(total));
    if completed && status != Some("failed") {
        processed = Some(total);
    }
    if let Some(processed) = processed {
        object.insert("processedRecords".into(), json!(processed));
        if let Some(failed) = count(object, "failedRecords") {
            object.insert("failedRecords".into(), json!(failed.min(processed)));
        }
    }
    if object.contains_key("evalCount") {
        object.insert("evalCount".into(), json!(total));
    }
    if status.is_some() && (free_status || !matches!(status, Some("failed"))) {
        let status = match (completed, processed) {
            (true, _) => "completed",
            (false, Some(0)) => "queued",
            (false, _) => "processing",
        };
        object.insert("status".into(), json!(status));
    }
}

/// `successfulSteps + failedSteps == totalSteps` and `successRate` their quotient.
fn fix_step_counts(object: &mut Map<String, Value>) {
    let count = |field: &str| object.get(field).and_then(Value::as_i64);
    let (Some(_), Some(ok), Some(failed)) = (
        count("totalSteps"),
        count("successfulSteps"),
        count("failedSteps"),
    ) else {
        return;
    };
    object.insert("totalSteps".into(), json!(ok + failed));
    if object.get("successRate").is_some_and(Value::is_number) {
        let rate = if ok + failed == 0 {
            0.0
        } else {
            ((ok as f64 / (ok + failed) as f64) * 1000.0).round() / 1000.0
        };
        object.insert("successRate".into(), json!(rate));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_times_and_status_are_made_to_agree() {
        let mut batch = json!({
            "status": "queued", "totalRecords": 5, "processedRecords": 9, "failedRecords": 7,
            "createdAt": "2026-03-01T00:00:00.000Z", "startedAt": "2026-01-01T00:00:00.000Z",
            "completedAt": "2026-02-01T00:00:00.000Z",
            "metrics": {"totalSteps": 1, "successfulSteps": 3, "failedSteps": 1, "successRate": 7.5},
        });
        EvalsRealism {
            vocabulary: Vocabulary::Execution,
        }
        .finish(&mut batch);
        assert_eq!(batch["status"], "completed");
        assert_eq!(batch["processedRecords"], 5);
        assert_eq!(batch["failedRecords"], 5);
        assert_eq!(batch["createdAt"], "2026-01-01T00:00:00.000Z");
        assert_eq!(batch["completedAt"], "2026-03-01T00:00:00.000Z");
        assert_eq!(batch["metrics"]["totalSteps"], 4);
        assert_eq!(batch["metrics"]["successRate"], 0.75);
    }

    #[test]
    fn ids_have_the_prefix_and_a_lowercase_ulid_body() {
        let realism = EvalsRealism {
            vocabulary: Vocabulary::Flow,
        };
        let id = realism
            .string("evalGroupId", &mut Rng::new(3))
            .expect("an id");
        let body = id.strip_prefix("evalgrp_").expect("prefix");
        assert_eq!(body.len(), 26);
        assert!(ulid::Ulid::from_string(body).is_ok(), "{id}");
        assert_eq!(body, body.to_lowercase());
    }
}
