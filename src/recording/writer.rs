//! The one writer of recorded exchanges: redaction, the scenario file (the format of
//! `specs/scenario.schema.json`, one rule per file), file names and atomic writes.
//!
//! The recorder (`evalmock proxy --record`) and the HAR importer both write through
//! [`Writer::write`], so the same exchange gives the same file whichever way it arrived; only
//! `recorded.at` and `recorded.upstream` say where it came from.
//!
//! Files are named `NNNN-<operation>-<status>.yaml` (`0001-getEvalGroup-200.yaml`): numbered
//! in the order the exchanges completed, so a folder lists like the session it records.
//! Without `--overwrite` an existing file is never replaced: numbering continues after the
//! highest number already in the folder. With `--overwrite` numbering starts at 1 and a file
//! of the same name is replaced. Each file is written to a temporary file in the same folder
//! and renamed into place, so a reader (the replay's watcher) never sees half a file.
//!
//! Redaction happens here, before anything reaches the disk: request headers are not recorded
//! at all (replay matches on method, path, query and body); credential-like response headers
//! (`journal::is_credential`: `Set-Cookie`, `*-token`, ...), query parameters and every header,
//! query parameter or JSON field (at any depth, request and response bodies and event data)
//! named with `--redact NAME` become [`REDACTED`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::{Answer, Checked, Recorded, is_hop_by_hop};
pub use crate::journal::REDACTED;
use crate::journal::is_credential;

/// Why a recording could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create the folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot serialise the scenario as YAML: {0}")]
    Yaml(String),
}

/// What to hide: credential-like headers always, plus the names given with `--redact`.
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    /// Lower-cased names of headers, query parameters and JSON fields to hide.
    names: Vec<String>,
}

impl Redaction {
    pub fn new(names: &[String]) -> Redaction {
        Redaction {
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    fn named(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Headers and query parameters: credentials by their name, and the `--redact` names.
    pub fn hides_parameter(&self, name: &str) -> bool {
        is_credential(name) || self.named(name)
    }

    /// Replaces every field named with `--redact`, at any depth; returns the names it hid.
    pub fn json(&self, value: &mut Value) -> Vec<String> {
        let mut hidden = Vec::new();
        self.walk(value, &mut hidden);
        hidden.sort();
        hidden.dedup();
        hidden
    }

    fn walk(&self, value: &mut Value, hidden: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    if self.named(key) {
                        *field = Value::String(REDACTED.into());
                        hidden.push(key.clone());
                    } else {
                        self.walk(field, hidden);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.walk(item, hidden)),
            _ => {}
        }
    }
}

/// Writes scenario files into one folder.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    redaction: Redaction,
    overwrite: bool,
    /// The next sequence number; the lock also serialises writes.
    next: Mutex<u32>,
}

impl Writer {
    /// Creates the folder if needed and finds the first free sequence number.
    pub fn new(dir: &Path, redaction: Redaction, overwrite: bool) -> Result<Writer, WriteError> {
        std::fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
        let next = if overwrite {
            1
        } else {
            highest_number(dir).map_or(1, |n| n + 1)
        };
        Ok(Writer {
            dir: dir.to_path_buf(),
            redaction,
            overwrite,
            next: Mutex::new(next),
        })
    }

    /// Writes one exchange as a scenario file; returns its path.
    pub fn write(&self, exchange: &Recorded, checked: &Checked<'_>) -> Result<PathBuf, WriteError> {
        let document = scenario(exchange, checked, &self.redaction);
        let text =
            serde_norway::to_string(&document).map_err(|e| WriteError::Yaml(e.to_string()))?;
        let operation = checked.operation_name(&exchange.method, &exchange.path);
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let name = format!("{:04}-{}-{}.yaml", *next, slug(&operation), exchange.status);
            let target = self.dir.join(&name);
            *next += 1;
            if !self.overwrite && target.exists() {
                continue;
            }
            write_atomically(&target, &text)?;
            return Ok(target);
        }
    }
}

/// The highest `NNNN-` prefix of a file in `dir`.
fn highest_number(dir: &Path) -> Option<u32> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let (number, _) = name.split_once('-')?;
            number.parse::<u32>().ok()
        })
        .max()
}

/// Through the fixtures' atomic write (temporary file beside it, renamed into place), so a
/// mock replaying the folder never reads a half-written recording.
fn write_atomically(target: &Path, text: &str) -> Result<(), WriteError> {
    crate::fixtures::write_atomically(target, text.as_bytes()).map_err(|source| WriteError::Write {
        path: target.display().to_string(),
        source,
    })
}

/// `getEvalGroup` stays; `GET /v1/eval/x` becomes `get-v1-eval-x`.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "request".into()
    } else if name.contains(' ') {
        out.to_ascii_lowercase()
    } else {
        out.to_string()
    }
}

/// Response headers worth replaying: not per-connection, not recomputed by the server that
/// replays them (length, date), not a compression the recorded body no longer has.
fn kept_response_header(name: &str) -> bool {
    !is_hop_by_hop(name)
        && !["content-length", "date", "content-encoding"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
}

/// The scenario document for one exchange (one rule).
pub fn scenario(exchange: &Recorded, checked: &Checked<'_>, redaction: &Redaction) -> Value {
    let operation = checked.operation_name(&exchange.method, &exchange.path);
    let mut matcher = Map::new();
    matcher.insert("method".into(), json!(exchange.method.as_str()));
    matcher.insert("path".into(), json!(exchange.path));
    let mut query = Map::new();
    for (name, value) in form_urlencoded::parse(exchange.query.as_deref().unwrap_or("").as_bytes())
    {
        // A repeated parameter keeps its first value (the format holds one per name).
        if !query.contains_key(name.as_ref()) {
            let shown = if redaction.hides_parameter(&name) {
                REDACTED.to_string()
            } else {
                value.to_string()
            };
            query.insert(name.to_string(), json!(shown));
        }
    }
    matcher.insert("query".into(), Value::Object(query));
    matcher.insert("queryExact".into(), json!(true));
    if let Ok(mut body) = serde_json::from_slice::<Value>(&exchange.request_body) {
        let hidden = redaction.json(&mut body);
        matcher.insert("body".into(), body);
        matcher.insert("bodyMatch".into(), json!("equal"));
        if !hidden.is_empty() {
            // The real values are gone; replay must not insist on the marker.
            matcher.insert("ignoreFields".into(), json!(hidden));
        }
    }

    let mut respond = Map::new();
    respond.insert("status".into(), json!(exchange.status));
    let headers: BTreeMap<String, String> = exchange
        .response_headers
        .iter()
        .filter(|(name, _)| kept_response_header(name.as_str()))
        .map(|(name, value)| {
            let shown = if redaction.hides_parameter(name.as_str()) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).to_string()
            };
            (name.as_str().to_ascii_lowercase(), shown)
        })
        .collect();
    respond.insert("headers".into(), json!(headers));
    match &exchange.response {
        Answer::Events(events) => {
            let events: Vec<Value> = events
                .iter()
                .map(|event| {
                    let mut data = event.data_json();
                    redaction.json(&mut data);
                    let mut out = Map::new();
                    out.insert("data".into(), data);
                    if let Some(name) = &event.event {
                        out.insert("event".into(), json!(name));
                    }
                    if let Some(id) = &event.id {
                        out.insert("id".into(), json!(id));
                    }
                    // The schema's ceiling for a duration: ten minutes.
                    out.insert("delay".into(), json!(event.delay_ms.min(600_000)));
                    Value::Object(out)
                })
                .collect();
            respond.insert("events".into(), Value::Array(events));
        }
        Answer::Body(bytes) => match serde_json::from_slice::<Value>(bytes) {
            Ok(mut body) if !bytes.is_empty() => {
                redaction.json(&mut body);
                respond.insert("body".into(), body);
            }
            _ => {
                respond.insert(
                    "bodyText".into(),
                    json!(String::from_utf8_lossy(bytes).to_string()),
                );
            }
        },
    }

    json!({
        "description": format!(
            "Recorded {} {} ({operation}): answered {}",
            exchange.method, exchange.path, exchange.status
        ),
        "rules": [{
            "name": format!("{operation} {}", exchange.status),
            "match": Value::Object(matcher),
            "respond": Value::Object(respond),
            "recorded": {
                "at": crate::clock::iso_ms(exchange.at_ms),
                "upstream": exchange.upstream,
                "durationMs": exchange.duration_ms,
                "violations": checked.violations_json(),
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_name_slugs() {
        assert_eq!(slug("getEvalGroup"), "getEvalGroup");
        assert_eq!(slug("GET /v1/eval/{id}/x"), "get-v1-eval-id-x");
        assert_eq!(slug("///"), "request");
    }

    #[test]
    fn redaction_reaches_fields_at_any_depth() {
        let redaction = Redaction::new(&["apiKey".to_string()]);
        let mut value = json!({"a": [{"APIKEY": "secret"}], "apiKey": {"x": 1}, "b": 2});
        let hidden = redaction.json(&mut value);
        assert_eq!(
            value,
            json!({"a": [{"APIKEY": REDACTED}], "apiKey": REDACTED, "b": 2})
        );
        assert_eq!(hidden, ["APIKEY", "apiKey"]);
    }
}
