//! `evalmock drift`: what real traffic shows that the spec does not describe.
//!
//! Reads recordings (scenario files written by the recorder or the importer) or a HAR file,
//! and walks each JSON body alongside its schema in the document as written (not the
//! normalised form the engine compiles: findings and the overlay must point into the file a
//! person edits). Validation says an answer is wrong; drift says what the spec is missing, and
//! open schemas (no `additionalProperties: false`) pass validation while hiding it. It reports:
//! fields the schema does not declare (with their JSON type), statuses the operation does not
//! declare, enum values outside the enum and required fields that were absent; and writes an
//! OpenAPI Overlay 1.0 document whose actions would make the spec describe what was seen.
//!
//! `oneOf`/`anyOf` are walked along the branch the value picks by its `const` (or one-value
//! `enum`) properties, so an event stream's `type` discriminator does not make every other
//! branch report drift.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Map, Value, json};

use super::{Answer, Recorded, SseEvent};
use crate::contract::report::table;
use crate::spec::{Operation, RouteMatch, Spec};

/// Why the input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{0}")]
    Har(#[from] super::har::HarError),
}

/// What kind of drift a finding is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    UndeclaredStatus,
    UndeclaredField { json_type: String },
    EnumValue { value: String },
    MissingRequired,
}

impl Kind {
    fn code(&self) -> &'static str {
        match self {
            Kind::UndeclaredStatus => "undeclared-status",
            Kind::UndeclaredField { .. } => "undeclared-field",
            Kind::EnumValue { .. } => "enum-value",
            Kind::MissingRequired => "missing-required",
        }
    }
}

/// One thing traffic showed that the spec does not describe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub operation: String,
    pub status: u16,
    /// `request` or `response`.
    pub direction: &'static str,
    /// Where in the body (`$.batches[*].foo`).
    pub path: String,
    pub kind: Kind,
    /// How many exchanges showed it.
    pub seen: usize,
}

/// An Overlay action: a JSONPath target and the update (or removal) that fixes the spec.
#[derive(Debug, Clone)]
struct Action {
    target: String,
    update: Option<Value>,
    remove: bool,
}

/// Everything drift found in a set of exchanges.
#[derive(Debug, Default)]
pub struct Report {
    pub exchanges: usize,
    /// Exchanges whose path routes to no operation (counted, not analysed).
    pub unrouted: usize,
    pub findings: Vec<Finding>,
    actions: BTreeMap<String, Action>,
}

/// Reads a folder of scenario files or a `.har` file into exchanges.
pub fn load(input: &Path, spec: &Spec) -> Result<Vec<Recorded>, DriftError> {
    let read_error = |e: std::io::Error| DriftError::Read {
        path: input.display().to_string(),
        message: e.to_string(),
    };
    if input.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(input)
            .map_err(read_error)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            })
            .collect();
        files.sort();
        let mut out = Vec::new();
        for file in files {
            let text = crate::files::read_regular(&file).map_err(|e| DriftError::Read {
                path: e.path,
                message: e.message,
            })?;
            out.extend(from_scenario(&text).map_err(|message| DriftError::Invalid {
                path: file.display().to_string(),
                message,
            })?);
        }
        return Ok(out);
    }
    let text = crate::files::read_regular(input).map_err(|e| DriftError::Read {
        path: e.path,
        message: e.message,
    })?;
    Ok(super::har::read(&text, spec)?.exchanges)
}

/// The exchanges a recorded scenario file describes (one per rule with a concrete match).
fn from_scenario(text: &str) -> Result<Vec<Recorded>, String> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let rules = doc["rules"].as_array().ok_or("no `rules` array")?;
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let matcher = &rule["match"];
        let respond = &rule["respond"];
        let (Some(method), Some(path), Some(status)) = (
            matcher["method"].as_str(),
            matcher["path"].as_str(),
            respond["status"].as_u64(),
        ) else {
            return Err(format!(
                "rules[{i}] is not a recording (needs match.method, match.path, respond.status)"
            ));
        };
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| format!("rules[{i}].match.method: {e}"))?;
        let query = matcher["query"].as_object().map(|q| {
            let mut out = form_urlencoded::Serializer::new(String::new());
            for (name, value) in q {
                out.append_pair(name, value.as_str().unwrap_or_default());
            }
            out.finish()
        });
        let mut headers = HeaderMap::new();
        for (name, value) in respond["headers"].as_object().into_iter().flatten() {
            if let (Ok(name), Some(Ok(value))) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
        let answer = match (&respond["events"], &respond["body"], &respond["bodyText"]) {
            (Value::Array(events), _, _) => Answer::Events(
                events
                    .iter()
                    .map(|e| SseEvent {
                        data: match &e["data"] {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        },
                        event: e["event"].as_str().map(str::to_string),
                        id: e["id"].as_str().map(str::to_string),
                        delay_ms: e["delay"].as_u64().unwrap_or(0),
                    })
                    .collect(),
            ),
            (_, body, _) if !body.is_null() => Answer::Body(Bytes::from(body.to_string())),
            (_, _, Value::String(text)) => Answer::Body(Bytes::from(text.clone())),
            _ => Answer::Body(Bytes::new()),
        };
        let request_body = match &matcher["body"] {
            Value::Null => Bytes::new(),
            body => Bytes::from(body.to_string()),
        };
        out.push(Recorded {
            method,
            path: path.to_string(),
            query: query.filter(|q| !q.is_empty()),
            request_headers: HeaderMap::new(),
            request_body,
            status: u16::try_from(status).map_err(|e| format!("rules[{i}]: {e}"))?,
            response_headers: headers,
            response: answer,
            at_ms: 0,
            upstream: rule["recorded"]["upstream"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            duration_ms: 0,
        });
    }
    Ok(out)
}

/// Holds every exchange against `document` (the spec as written) and `spec` (for routing).
pub fn analyse(spec: &Spec, document: &Value, exchanges: &[Recorded]) -> Report {
    let mut report = Report {
        exchanges: exchanges.len(),
        ..Report::default()
    };
    for exchange in exchanges {
        let RouteMatch::Found { operation, .. } = spec.route(&exchange.method, &exchange.path)
        else {
            report.unrouted += 1;
            continue;
        };
        let op = spec.operation(operation);
        let mut walker = Walker {
            doc: document,
            findings: Vec::new(),
            actions: Vec::new(),
            operation: op.name.to_string(),
            status: exchange.status,
        };
        walker.exchange(op, exchange);
        for finding in walker.findings {
            match report.findings.iter_mut().find(|f| **f == finding) {
                Some(known) => known.seen += 1,
                None => report.findings.push(finding),
            }
        }
        for action in walker.actions {
            report.add_action(action);
        }
    }
    for finding in &mut report.findings {
        finding.seen = finding.seen.max(1);
    }
    report.findings.sort();
    report
}

impl Report {
    pub fn has_drift(&self) -> bool {
        !self.findings.is_empty()
    }

    /// Actions on the same target are merged (objects deeply, enum lists as a union).
    fn add_action(&mut self, action: Action) {
        let key = format!(
            "{}{}",
            action.target,
            if action.remove { " remove" } else { "" }
        );
        match self.actions.get_mut(&key) {
            Some(known) => {
                if let (Some(into), Some(from)) = (known.update.as_mut(), action.update) {
                    merge(into, from);
                }
            }
            None => {
                self.actions.insert(key, action);
            }
        }
    }

    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .findings
            .iter()
            .map(|f| {
                let what = match &f.kind {
                    Kind::UndeclaredStatus => "status not declared".to_string(),
                    Kind::UndeclaredField { json_type } => {
                        format!("field not declared ({json_type})")
                    }
                    Kind::EnumValue { value } => format!("value {value} outside the enum"),
                    Kind::MissingRequired => "required field absent".to_string(),
                };
                vec![
                    f.operation.clone(),
                    f.status.to_string(),
                    f.direction.to_string(),
                    f.path.clone(),
                    what,
                    f.seen.to_string(),
                ]
            })
            .collect();
        let mut out = if rows.is_empty() {
            String::new()
        } else {
            table(
                &["operation", "status", "side", "path", "drift", "seen"],
                &rows,
            )
        };
        out.push_str(&format!(
            "{} findings in {} exchanges{}\n",
            self.findings.len(),
            self.exchanges,
            if self.unrouted > 0 {
                format!(" ({} not routed to any operation, left out)", self.unrouted)
            } else {
                String::new()
            }
        ));
        out
    }

    pub fn to_json(&self) -> Value {
        json!({
            "exchanges": self.exchanges,
            "unrouted": self.unrouted,
            "findings": self.findings.iter().map(|f| {
                let mut out = json!({
                    "kind": f.kind.code(),
                    "operation": f.operation,
                    "status": f.status,
                    "direction": f.direction,
                    "path": f.path,
                    "seen": f.seen,
                });
                match &f.kind {
                    Kind::UndeclaredField { json_type } => out["jsonType"] = json!(json_type),
                    Kind::EnumValue { value } => out["value"] = json!(value),
                    _ => {}
                }
                out
            }).collect::<Vec<_>>(),
        })
    }

    /// An OpenAPI Overlay 1.0 document that makes the spec describe what was seen.
    pub fn overlay(&self, title: &str) -> Value {
        json!({
            "overlay": "1.0.0",
            "info": {"title": format!("Drift seen in traffic against {title}"), "version": "1.0.0"},
            "actions": self.actions.values().map(|a| {
                let mut action = Map::new();
                action.insert("target".into(), json!(a.target));
                if a.remove {
                    action.insert("remove".into(), json!(true));
                } else if let Some(update) = &a.update {
                    action.insert("update".into(), update.clone());
                }
                Value::Object(action)
            }).collect::<Vec<_>>(),
        })
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from)) => {
            for value in from {
                if !into.contains(&value) {
                    into.push(value);
                }
            }
        }
        (into, from) => *into = from,
    }
}

struct Walker<'d> {
    doc: &'d Value,
    findings: Vec<Finding>,
    actions: Vec<Action>,
    operation: String,
    status: u16,
}

impl<'d> Walker<'d> {
    fn exchange(&mut self, op: &Operation, exchange: &Recorded) {
        let Some(op_doc) = self.doc.pointer(&op.pointer) else {
            return;
        };
        // The request side only when the server accepted it (a 4xx says the request was
        // wrong, not the spec).
        if exchange.status < 400
            && let Ok(body) = serde_json::from_slice::<Value>(&exchange.request_body)
            && let Some((schema, ptr)) = self.media_schema(
                &op_doc["requestBody"],
                &format!("{}/requestBody", op.pointer),
                None,
            )
        {
            self.walk(schema, &ptr, &body, "$", "request");
        }
        let declared = op.response(exchange.status);
        let Some(declared) = declared else {
            self.finding("response", "$".into(), Kind::UndeclaredStatus);
            let content_type = super::content_type(&exchange.response_headers)
                .map(crate::validate::media_essence)
                .unwrap_or_else(|| "application/json".into());
            let schema = match &exchange.response {
                Answer::Body(bytes) => serde_json::from_slice::<Value>(bytes)
                    .map(|v| infer(&v))
                    .unwrap_or_else(|_| json!({"type": "string"})),
                Answer::Events(_) => json!({"type": "string"}),
            };
            self.actions.push(Action {
                target: format!("{}.responses", json_path(&op.pointer)),
                update: Some(json!({ exchange.status.to_string(): {
                    "description": "Seen in recorded traffic (evalmock drift).",
                    "content": { content_type: { "schema": schema } },
                }})),
                remove: false,
            });
            return;
        };
        let key = declared.status.to_string();
        let response_ptr = format!("{}/responses/{}", op.pointer, escape(&key));
        let content_type = super::content_type(&exchange.response_headers).map(str::to_string);
        let Some((schema, ptr)) = self.media_schema(
            self.doc.pointer(&response_ptr).unwrap_or(&Value::Null),
            &response_ptr,
            content_type.as_deref(),
        ) else {
            return;
        };
        match &exchange.response {
            Answer::Body(bytes) => {
                if let Ok(body) = serde_json::from_slice::<Value>(bytes) {
                    self.walk(schema, &ptr, &body, "$", "response");
                }
            }
            Answer::Events(events) => {
                // OpenAPI 3.2 `itemSchema`: the event envelope, whose `data` holds the JSON.
                let (schema, ptr) = match schema.pointer("/properties/data/contentSchema") {
                    Some(inner) => (inner, format!("{ptr}/properties/data/contentSchema")),
                    None => (schema, ptr),
                };
                for event in events {
                    self.walk(schema, &ptr, &event.data_json(), "$.events[*]", "response");
                }
            }
        }
    }

    /// The schema (and its pointer) of the media type matching `content_type` in a request
    /// body or response object; for an event stream, its `itemSchema`.
    fn media_schema(
        &self,
        object: &'d Value,
        pointer: &str,
        content_type: Option<&str>,
    ) -> Option<(&'d Value, String)> {
        let (object, pointer) = self.resolve(object, pointer.to_string());
        let content = object.get("content")?.as_object()?;
        let wanted = content_type.map(crate::validate::media_essence);
        let (media_key, media) = content
            .iter()
            .find(|(k, _)| Some(crate::validate::media_essence(k)) == wanted)
            .or_else(|| {
                content
                    .iter()
                    .find(|(k, _)| crate::validate::is_json_media(k))
            })?;
        let media_ptr = format!("{pointer}/content/{}", escape(media_key));
        for field in ["itemSchema", "schema"] {
            if let Some(schema) = media.get(field)
                && (field == "schema" || wanted.as_deref() == Some("text/event-stream"))
            {
                let (schema, ptr) = self.resolve(schema, format!("{media_ptr}/{field}"));
                return Some((schema, ptr));
            }
        }
        None
    }

    /// Follows local `$ref`s; the value and the pointer where it really lives.
    fn resolve(&self, mut value: &'d Value, mut pointer: String) -> (&'d Value, String) {
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(target) = reference.strip_prefix('#') else {
                break;
            };
            let Some(found) = self.doc.pointer(target) else {
                break;
            };
            value = found;
            pointer = target.to_string();
        }
        (value, pointer)
    }

    fn finding(&mut self, direction: &'static str, path: String, kind: Kind) {
        let finding = Finding {
            operation: self.operation.clone(),
            status: self.status,
            direction,
            path,
            kind,
            seen: 1,
        };
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }

    /// The schemas that apply to `value` here: the schema itself, its `allOf` parts and the
    /// `oneOf`/`anyOf` branch the value picks, each resolved, with its pointer.
    fn applicable(
        &self,
        schema: &'d Value,
        pointer: &str,
        value: &Value,
    ) -> Vec<(&'d Value, String)> {
        let (schema, pointer) = self.resolve(schema, pointer.to_string());
        let mut out = vec![(schema, pointer.clone())];
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for (i, part) in parts.iter().enumerate() {
                out.extend(self.applicable(part, &format!("{pointer}/allOf/{i}"), value));
            }
        }
        for keyword in ["oneOf", "anyOf"] {
            let Some(branches) = schema.get(keyword).and_then(Value::as_array) else {
                continue;
            };
            let scored = branches.iter().enumerate().filter_map(|(i, branch)| {
                let ptr = format!("{pointer}/{keyword}/{i}");
                let (resolved, _) = self.resolve(branch, ptr.clone());
                discriminated(resolved, value).map(|score| (score, i, branch, ptr))
            });
            if let Some((_, _, branch, ptr)) =
                scored.max_by_key(|(score, i, _, _)| (*score, usize::MAX - i))
            {
                out.extend(self.applicable(branch, &ptr, value));
            }
        }
        out
    }

    fn walk(
        &mut self,
        schema: &'d Value,
        pointer: &str,
        value: &Value,
        path: &str,
        direction: &'static str,
    ) {
        let parts = self.applicable(schema, pointer, value);
        for (part, ptr) in &parts {
            if let Some(allowed) = part.get("enum").and_then(Value::as_array)
                && !value.is_null()
                && !allowed.contains(value)
            {
                self.finding(
                    direction,
                    path.to_string(),
                    Kind::EnumValue {
                        value: value.to_string(),
                    },
                );
                let mut list = allowed.clone();
                list.push(value.clone());
                self.actions.push(Action {
                    target: json_path(ptr),
                    update: Some(json!({"enum": list})),
                    remove: false,
                });
            }
        }
        match value {
            Value::Object(fields) => {
                let mut declared: BTreeMap<&str, (&'d Value, String)> = BTreeMap::new();
                let mut open_map: Option<(&'d Value, String)> = None;
                let mut patterned = false;
                let mut home: Option<String> = None;
                for (part, ptr) in &parts {
                    if let Some(properties) = part.get("properties").and_then(Value::as_object) {
                        home.get_or_insert_with(|| ptr.clone());
                        for (name, schema) in properties {
                            declared
                                .entry(name.as_str())
                                .or_insert((schema, format!("{ptr}/properties/{}", escape(name))));
                        }
                    }
                    if let Some(extra) = part.get("additionalProperties").filter(|a| a.is_object())
                    {
                        open_map = Some((extra, format!("{ptr}/additionalProperties")));
                    }
                    patterned |= part.get("patternProperties").is_some();
                    for required in part
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(name) = required.as_str()
                            && !fields.contains_key(name)
                        {
                            self.finding(
                                direction,
                                format!("{path}.{name}"),
                                Kind::MissingRequired,
                            );
                            self.actions.push(Action {
                                target: format!(
                                    "{}.required[?@ == '{}']",
                                    json_path(ptr),
                                    name.replace('\'', "\\'")
                                ),
                                update: None,
                                remove: true,
                            });
                        }
                    }
                }
                let object_like = parts.iter().any(|(p, _)| {
                    p.get("type").is_some_and(|t| {
                        t == "object" || t.as_array().is_some_and(|a| a.contains(&json!("object")))
                    }) || p.get("properties").is_some()
                });
                for (name, field) in fields {
                    let child = format!("{path}.{name}");
                    if let Some((schema, ptr)) = declared.get(name.as_str()) {
                        self.walk(schema, ptr, field, &child, direction);
                    } else if let Some((schema, ptr)) = &open_map {
                        if declared.is_empty() {
                            // A map keyed by data (ids): its values are described, not its keys.
                            self.walk(schema, ptr, field, &format!("{path}[*]"), direction);
                        }
                    } else if !patterned && object_like {
                        let json_type = crate::validate::json_type(field);
                        self.finding(
                            direction,
                            child,
                            Kind::UndeclaredField {
                                json_type: json_type.into(),
                            },
                        );
                        let target = home.clone().unwrap_or_else(|| parts[0].1.clone());
                        self.actions.push(Action {
                            target: json_path(&target),
                            update: Some(json!({"properties": {name.clone(): infer(field)}})),
                            remove: false,
                        });
                    }
                }
            }
            Value::Array(items) => {
                let item_schema = parts.iter().find_map(|(p, ptr)| {
                    p.get("items")
                        .filter(|i| i.is_object())
                        .map(|i| (i, format!("{ptr}/items")))
                });
                if let Some((schema, ptr)) = item_schema {
                    for item in items {
                        self.walk(schema, &ptr, item, &format!("{path}[*]"), direction);
                    }
                }
            }
            _ => {}
        }
    }
}

/// How well a `oneOf` branch fits a value: `None` when one of its `const` (or one-value
/// `enum`) properties disagrees, else the number of its properties the value has (its
/// discriminators counting most).
fn discriminated(branch: &Value, value: &Value) -> Option<usize> {
    let fields = value.as_object();
    let mut score = 0;
    for (name, schema) in branch
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let fixed = schema.get("const").cloned().or_else(|| {
            schema
                .get("enum")
                .and_then(Value::as_array)
                .filter(|e| e.len() == 1)
                .map(|e| e[0].clone())
        });
        let present = fields.and_then(|f| f.get(name));
        match (fixed, present) {
            (Some(fixed), Some(v)) if fixed == *v => score += 100,
            (Some(_), _) => return None,
            (None, Some(_)) => score += 1,
            (None, None) => {}
        }
    }
    Some(score)
}

/// A schema that describes `value` (shallowly: objects and arrays by type).
fn infer(value: &Value) -> Value {
    json!({ "type": crate::validate::json_type(value) })
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as an RFC 9535 JSONPath (`/paths/~1v1~1x/get` -> `$.paths['/v1/x'].get`).
pub fn json_path(pointer: &str) -> String {
    const ARRAYS: [&str; 5] = ["allOf", "oneOf", "anyOf", "parameters", "prefixItems"];
    let mut out = String::from("$");
    let mut previous = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let index = !token.is_empty() && token.chars().all(|c| c.is_ascii_digit());
        if index && ARRAYS.contains(&previous.as_str()) {
            out.push_str(&format!("[{token}]"));
        } else if !index
            && !token.is_empty()
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push('.');
            out.push_str(&token);
        } else {
            out.push_str(&format!(
                "['{}']",
                token.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
        previous = token;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_json_paths() {
        assert_eq!(
            json_path("/paths/~1v1~1eval~1group~1{groupId}/get/responses/200"),
            "$.paths['/v1/eval/group/{groupId}'].get.responses['200']"
        );
        assert_eq!(
            json_path("/components/schemas/EvalGroup"),
            "$.components.schemas.EvalGroup"
        );
    }
}
