//! `evalmock verify`: a provider check. Sends every operation the requests the spec itself
//! vouches for and validates each answer against the spec.
//!
//! Per operation: one valid request built from the document's examples (path and query
//! parameter examples, which for the embedded spec are real fixture ids, and the request
//! body's example), expecting the operation's success status; then each declared error that
//! can be provoked without side effects: `401` without the token, `404` with an unknown path
//! id, `400` with an empty JSON body. An answer with another status, or one that breaks the
//! spec, fails its case. The examples are read from the document as written (the lowered
//! operation keeps schemas, not examples).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::report::{TestCase, table};
use crate::recording::{self, Answer};
use crate::spec::{Operation, ParamLocation, Spec};

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("--upstream {0:?} is not an http:// or https:// URL with a host")]
    Upstream(String),
    #[error("cannot reach the upstream {upstream}: {message}")]
    Unreachable { upstream: String, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub upstream: String,
    /// Sent as `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    pub timeout: Duration,
    /// Operation names (operationId) not to call (e.g. ones that cost money upstream).
    pub skip: Vec<String>,
}

/// One request sent and what came of it.
#[derive(Debug, Clone)]
pub struct Case {
    pub operation: String,
    /// `valid request`, `401 without credentials`...
    pub name: String,
    pub method: Method,
    pub path: String,
    pub expected: u16,
    pub status: Option<u16>,
    pub failures: Vec<String>,
    pub seconds: f64,
}

/// A request to send and the status it should get.
struct Planned {
    name: String,
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<Value>,
    authorized: bool,
    expected: u16,
}

/// Sends every planned request in spec order; stops with an error when the upstream cannot be
/// reached at all.
pub async fn run(
    spec: &Spec,
    document: &Value,
    config: &VerifyConfig,
) -> Result<Vec<Case>, VerifyError> {
    let upstream = config.upstream.trim_end_matches('/').to_string();
    if !crate::recording::is_upstream_url(&upstream) {
        return Err(VerifyError::Upstream(config.upstream.clone()));
    }
    let client = crate::recording::upstream_client(config.timeout, Some(config.timeout * 6))
        .map_err(VerifyError::Client)?;
    let mut cases = Vec::new();
    for op in spec.operations() {
        if config.skip.iter().any(|s| s == op.name.as_ref()) {
            continue;
        }
        let plans = match plan(op, document) {
            Ok(plans) => plans,
            Err(problem) => {
                cases.push(Case {
                    operation: op.name.to_string(),
                    name: "valid request".into(),
                    method: op.method.clone(),
                    path: op.path_template.clone(),
                    expected: op.success_status(),
                    status: None,
                    failures: vec![format!("cannot build a request: {problem}")],
                    seconds: 0.0,
                });
                continue;
            }
        };
        for planned in plans {
            cases.push(send(&client, &upstream, op, planned, config.token.as_deref()).await?);
        }
    }
    Ok(cases)
}

async fn send(
    client: &reqwest::Client,
    upstream: &str,
    op: &Operation,
    planned: Planned,
    token: Option<&str>,
) -> Result<Case, VerifyError> {
    let started = Instant::now();
    let url = match &planned.query {
        Some(query) => format!("{upstream}{}?{query}", planned.path),
        None => format!("{upstream}{}", planned.path),
    };
    let mut request = client.request(planned.method.clone(), &url);
    if let (true, Some(token)) = (planned.authorized, token) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = &planned.body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let mut case = Case {
        operation: op.name.to_string(),
        name: planned.name,
        method: planned.method,
        path: planned.path,
        expected: planned.expected,
        status: None,
        failures: Vec::new(),
        seconds: 0.0,
    };
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) if e.is_connect() => {
            return Err(VerifyError::Unreachable {
                upstream: upstream.to_string(),
                message: e.to_string(),
            });
        }
        Err(e) => {
            case.failures.push(format!("no answer: {e}"));
            case.seconds = started.elapsed().as_secs_f64();
            return Ok(case);
        }
    };
    let status = answer.status().as_u16();
    let headers: HeaderMap = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_else(|e| {
        case.failures.push(format!("the answer broke off: {e}"));
        Bytes::new()
    });
    case.status = Some(status);
    case.seconds = started.elapsed().as_secs_f64();
    if status != case.expected {
        case.failures.push(format!(
            "expected status {}, got {status}: {}",
            case.expected,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    let answer = if recording::is_event_stream(&headers) {
        Answer::Events(recording::parse_events(&body))
    } else {
        Answer::Body(body)
    };
    let reply = recording::reply_from(status, &headers, &answer);
    for v in crate::engine::response_violations(op, &reply) {
        case.failures.push(format!(
            "{} at {}: {}",
            v.code.as_str(),
            if v.path.is_empty() { "(body)" } else { &v.path },
            v.message
        ));
    }
    Ok(case)
}

/// The requests for one operation: the valid one, then the safely provoked errors.
fn plan(op: &Operation, document: &Value) -> Result<Vec<Planned>, String> {
    let op_doc = document
        .pointer(&op.pointer)
        .ok_or_else(|| format!("{} is not in the document", op.pointer))?;
    let path_item = op.pointer.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    let mut path = op.path_template.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    for param in &op.parameters {
        let example = parameter_example(document, path_item, op_doc, &param.name);
        match (param.location, example) {
            (ParamLocation::Path, Some(value)) => {
                path = path.replace(&format!("{{{}}}", param.name), &value);
            }
            (ParamLocation::Path, None) => {
                return Err(format!("path parameter {} has no example", param.name));
            }
            (ParamLocation::Query, Some(value)) => {
                query.append_pair(&param.name, &value);
                has_query = true;
            }
            (_, None) if param.required => {
                return Err(format!(
                    "required {} parameter {} has no example",
                    param.location, param.name
                ));
            }
            _ => {}
        }
    }
    let query = has_query.then(|| query.finish());
    let body = match &op.request_body {
        Some(_) => {
            let example = body_example(document, op_doc);
            match (
                example,
                op.request_body.as_ref().is_some_and(|b| b.required),
            ) {
                (Some(example), _) => Some(example),
                (None, true) => return Err("the request body has no example".into()),
                (None, false) => None,
            }
        }
        None => None,
    };
    let valid = |name: &str, path: String, body: Option<Value>, authorized, expected| Planned {
        name: name.to_string(),
        method: op.method.clone(),
        path,
        query: query.clone(),
        body,
        authorized,
        expected,
    };
    let declares = |status: u16| {
        op.responses
            .iter()
            .any(|r| r.status.to_string() == status.to_string())
    };
    let mut plans = vec![valid(
        "valid request",
        path.clone(),
        body.clone(),
        true,
        op.success_status(),
    )];
    if !op.security.is_empty() && declares(401) {
        plans.push(valid(
            "401 without credentials",
            path.clone(),
            body.clone(),
            false,
            401,
        ));
    }
    let path_params: Vec<&str> = op
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Path)
        .map(|p| p.name.as_str())
        .collect();
    if !path_params.is_empty() && declares(404) {
        let mut unknown = op.path_template.clone();
        for name in &path_params {
            unknown = unknown.replace(&format!("{{{name}}}"), "evalmock_verify_unknown_id");
        }
        plans.push(valid(
            "404 with an unknown id",
            unknown,
            body.clone(),
            true,
            404,
        ));
    }
    if op.request_body.is_some() && declares(400) {
        plans.push(valid(
            "400 with an empty body",
            path,
            Some(json!({})),
            true,
            400,
        ));
    }
    Ok(plans)
}

/// A parameter's example: `example`, the first of `examples`, the schema's `example`,
/// `default` or first `enum` value; the operation's own parameters first, then the path's.
fn parameter_example(
    document: &Value,
    path_item: &str,
    op_doc: &Value,
    name: &str,
) -> Option<String> {
    let path_doc = document.pointer(path_item).unwrap_or(&Value::Null);
    [op_doc, path_doc]
        .into_iter()
        .flat_map(|d| d["parameters"].as_array().into_iter().flatten())
        .map(|p| resolve(document, p))
        .find(|p| p["name"] == name)
        .and_then(|p| {
            let schema = resolve(document, &p["schema"]);
            [
                p.get("example"),
                first_example(document, &p["examples"]),
                schema.get("example"),
                schema.get("default"),
                schema.pointer("/enum/0"),
            ]
            .into_iter()
            .flatten()
            .next()
            .cloned()
        })
        .map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
}

fn body_example(document: &Value, op_doc: &Value) -> Option<Value> {
    let body = resolve(document, &op_doc["requestBody"]);
    let content = body["content"].as_object()?;
    let media = content
        .iter()
        .find(|(k, _)| crate::validate::is_json_media(k))
        .map(|(_, m)| m)?;
    media
        .get("example")
        .or_else(|| first_example(document, &media["examples"]))
        .or_else(|| resolve(document, &media["schema"]).get("example"))
        .cloned()
}

fn first_example<'a>(document: &'a Value, examples: &'a Value) -> Option<&'a Value> {
    let (_, example) = examples.as_object()?.iter().next()?;
    resolve(document, example).get("value")
}

fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| document.pointer(p))
        {
            Some(target) => value = target,
            None => break,
        }
    }
    value
}

/// The cases as JUnit test cases (class: the operation).
pub fn test_cases(cases: &[Case]) -> Vec<TestCase> {
    cases
        .iter()
        .map(|c| TestCase {
            class: c.operation.clone(),
            name: format!("{} ({} {} -> {})", c.name, c.method, c.path, c.expected),
            seconds: c.seconds,
            failures: c.failures.clone(),
        })
        .collect()
}

pub fn human(cases: &[Case]) -> String {
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.operation.clone(),
                c.name.clone(),
                c.status.map_or("-".into(), |s| s.to_string()),
                if c.failures.is_empty() {
                    "ok".into()
                } else {
                    format!("FAIL: {}", c.failures.join("; "))
                },
            ]
        })
        .collect();
    let failed = cases.iter().filter(|c| !c.failures.is_empty()).count();
    let mut out = table(&["operation", "case", "status", "result"], &rows);
    out.push_str(&format!(
        "{} cases, {} passed, {failed} failed\n",
        cases.len(),
        cases.len() - failed
    ));
    out
}

pub fn to_json(cases: &[Case]) -> Value {
    let failed = cases.iter().filter(|c| !c.failures.is_empty()).count();
    json!({
        "cases": cases.iter().map(|c| json!({
            "operation": c.operation,
            "case": c.name,
            "method": c.method.as_str(),
            "path": c.path,
            "expectedStatus": c.expected,
            "status": c.status,
            "passed": c.failures.is_empty(),
            "failures": c.failures,
        })).collect::<Vec<_>>(),
        "passed": cases.len() - failed,
        "failed": failed,
    })
}
