//! Coverage: which operations of the spec, and which of their declared statuses, traffic
//! exercised and which it did not. Read from a journal dump (`GET /__mock/requests` of the
//! mock or of the proxy) by `evalmock coverage`, and from the proxy's own counts in its
//! shutdown summary. Counts ([`Usage`]) are kept apart from the spec they are held against
//! ([`Coverage`]) so the proxy counts cheaply and the spec is read once, at the end.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::report::table;
use crate::spec::Spec;

/// Why a journal dump cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a journal dump: {message}")]
    Shape { path: String, message: String },
}

/// Requests per operation name, with their statuses and violations.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub operations: BTreeMap<String, OperationUsage>,
}

#[derive(Debug, Default, Clone)]
pub struct OperationUsage {
    pub requests: usize,
    pub statuses: BTreeMap<u16, usize>,
    pub violations: usize,
}

impl Usage {
    pub fn add(&mut self, operation: &str, status: u16, violations: usize) {
        let usage = self.operations.entry(operation.to_string()).or_default();
        usage.requests += 1;
        *usage.statuses.entry(status).or_default() += 1;
        usage.violations += violations;
    }

    pub fn violations(&self) -> usize {
        self.operations.values().map(|u| u.violations).sum()
    }

    /// Reads the JSON of `GET /__mock/requests` (`{"entries": [...]}`, or the bare array).
    pub fn from_journal(text: &str, path: &str) -> Result<Usage, CoverageError> {
        let shape = |message: String| CoverageError::Shape {
            path: path.to_string(),
            message,
        };
        let dump: Value = serde_json::from_str(text).map_err(|e| shape(e.to_string()))?;
        let entries = match &dump {
            Value::Array(entries) => entries,
            Value::Object(map) => map
                .get("entries")
                .and_then(Value::as_array)
                .ok_or_else(|| shape("no `entries` array".into()))?,
            _ => return Err(shape("expected an object with `entries`".into())),
        };
        let mut usage = Usage::default();
        for (i, entry) in entries.iter().enumerate() {
            let status = entry["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| shape(format!("entries[{i}] has no numeric `status`")))?;
            let operation = match entry["operation"].as_str() {
                Some(op) => op.to_string(),
                None => format!(
                    "{} {}",
                    entry["method"].as_str().unwrap_or("?"),
                    entry["path"].as_str().unwrap_or("?")
                ),
            };
            let violations = entry["violations"].as_array().map_or(0, Vec::len);
            usage.add(&operation, status, violations);
        }
        Ok(usage)
    }

    /// The summary table: operation, requests, statuses, violations.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .operations
            .iter()
            .map(|(name, u)| {
                vec![
                    name.clone(),
                    u.requests.to_string(),
                    statuses_text(&u.statuses),
                    u.violations.to_string(),
                ]
            })
            .collect();
        table(&["operation", "requests", "statuses", "violations"], &rows)
    }
}

fn statuses_text(statuses: &BTreeMap<u16, usize>) -> String {
    statuses
        .iter()
        .map(|(status, n)| format!("{status}x{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the traffic covered of one spec.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub operations: Vec<OperationCoverage>,
    /// Requests that routed to no operation of the spec, by name.
    pub unknown: BTreeMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct OperationCoverage {
    pub name: String,
    pub method: String,
    pub path: String,
    pub requests: usize,
    /// Each declared status key (`200`, `4XX`, `default`) and the requests it answered.
    pub declared: Vec<(String, usize)>,
    /// Statuses seen that the operation does not declare.
    pub undeclared: Vec<u16>,
}

impl Coverage {
    pub fn of(spec: &Spec, usage: &Usage) -> Coverage {
        let mut unknown: BTreeMap<String, usize> = usage
            .operations
            .iter()
            .map(|(name, u)| (name.clone(), u.requests))
            .collect();
        let operations = spec
            .operations()
            .iter()
            .map(|op| {
                let used = usage.operations.get(op.name.as_ref());
                unknown.remove(op.name.as_ref());
                let mut declared: Vec<(String, usize)> =
                    op.declared_statuses().into_iter().map(|s| (s, 0)).collect();
                let mut undeclared = Vec::new();
                for (status, n) in used.map(|u| &u.statuses).into_iter().flatten() {
                    let key = op.response(*status).map(|r| r.status.to_string());
                    match declared.iter_mut().find(|(k, _)| Some(k) == key.as_ref()) {
                        Some((_, hits)) => *hits += n,
                        None => undeclared.push(*status),
                    }
                }
                OperationCoverage {
                    name: op.name.to_string(),
                    method: op.method.to_string(),
                    path: op.path_template.clone(),
                    requests: used.map_or(0, |u| u.requests),
                    declared,
                    undeclared,
                }
            })
            .collect();
        Coverage {
            operations,
            unknown,
        }
    }

    fn counts(&self) -> (usize, usize, usize, usize) {
        let ops = self.operations.len();
        let ops_hit = self.operations.iter().filter(|o| o.requests > 0).count();
        let statuses = self.operations.iter().map(|o| o.declared.len()).sum();
        let statuses_hit = self
            .operations
            .iter()
            .flat_map(|o| &o.declared)
            .filter(|(_, n)| *n > 0)
            .count();
        (ops, ops_hit, statuses, statuses_hit)
    }

    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .operations
            .iter()
            .map(|o| {
                let list = |hit: bool| {
                    o.declared
                        .iter()
                        .filter(|(_, n)| (*n > 0) == hit)
                        .map(|(s, _)| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                vec![
                    o.name.clone(),
                    o.requests.to_string(),
                    list(true),
                    list(false),
                    o.undeclared
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                ]
            })
            .collect();
        let mut out = table(
            &[
                "operation",
                "requests",
                "exercised",
                "not exercised",
                "undeclared",
            ],
            &rows,
        );
        let (ops, ops_hit, statuses, statuses_hit) = self.counts();
        out.push_str(&format!(
            "coverage: {ops_hit}/{ops} operations, {statuses_hit}/{statuses} declared statuses\n"
        ));
        for (name, n) in &self.unknown {
            out.push_str(&format!("not in the spec: {name} ({n} requests)\n"));
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let (ops, ops_hit, statuses, statuses_hit) = self.counts();
        json!({
            "operations": self.operations.iter().map(|o| json!({
                "operation": o.name,
                "method": o.method,
                "path": o.path,
                "requests": o.requests,
                "statuses": o.declared.iter().map(|(s, n)| json!({
                    "status": s, "requests": n, "exercised": *n > 0,
                })).collect::<Vec<_>>(),
                "undeclaredStatuses": o.undeclared,
            })).collect::<Vec<_>>(),
            "notInSpec": self.unknown,
            "summary": {
                "operations": ops,
                "operationsExercised": ops_hit,
                "statuses": statuses,
                "statusesExercised": statuses_hit,
            },
        })
    }
}
