//! `evalmock verify`: a provider check. Sends every operation the requests the spec itself
//! vouches for and validates each answer against the spec.
//!
//! Per operation: one valid request built from the document's examples (parameter examples,
//! which for the embedded spec are real fixture ids, and the request body's example), or,
//! where the document gives none, from values generated for the request's schemas (the same
//! generator the mock answers with); credentials go where the operation's security scheme
//! says (`--token` as a bearer token, basic password, other http scheme's credentials, or
//! API key in its header, query parameter or cookie). It expects the operation's success
//! status; then each declared error that can be provoked without side effects: `401` without
//! credentials, `404` with an unknown path id, `400` with an empty JSON body (where the body
//! schema refuses one). An answer with another status, or one that breaks the spec, fails its
//! case. The examples are read from the document as written (the lowered operation keeps
//! schemas, not examples).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::report::{TestCase, table};
use crate::recording::{self, Answer};
use crate::spec::{Operation, ParamLocation, ParamStyle, Parameter, SecurityScheme, Spec};

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
    /// How many of the failures are the answer breaking the spec (an undeclared status, a
    /// body its schema refuses), as opposed to an unexpected but declared status.
    pub violations: usize,
    pub seconds: f64,
}

/// A request to send and the status it should get.
struct Planned {
    name: String,
    method: Method,
    path: String,
    query: Option<String>,
    /// Header and cookie parameters.
    headers: Vec<(String, String)>,
    /// Content type and bytes.
    body: Option<(String, Vec<u8>)>,
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
        let plans = match plan(spec, op, document) {
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
                    violations: 0,
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
    let mut url = url;
    let mut headers = planned.headers.clone();
    if let (true, Some(token)) = (planned.authorized, token) {
        for (place, name, value) in credentials(op, token) {
            match place {
                ParamLocation::Query => {
                    let pair = form_urlencoded::Serializer::new(String::new())
                        .append_pair(&name, &value)
                        .finish();
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&pair);
                }
                ParamLocation::Cookie => headers.push(("cookie".into(), format!("{name}={value}"))),
                ParamLocation::Header | ParamLocation::Path => headers.push((name, value)),
            }
        }
    }
    let mut request = client.request(planned.method.clone(), &url);
    let cookies: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name == "cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    if !cookies.is_empty() {
        request = request.header("cookie", cookies.join("; "));
    }
    for (name, value) in headers.iter().filter(|(name, _)| name != "cookie") {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some((content_type, bytes)) = &planned.body {
        request = request
            .header("content-type", content_type.as_str())
            .body(bytes.clone());
    }
    let mut case = Case {
        operation: op.name.to_string(),
        name: planned.name,
        method: planned.method,
        path: planned.path,
        expected: planned.expected,
        status: None,
        failures: Vec::new(),
        violations: 0,
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
        case.violations += 1;
        case.failures.push(format!(
            "{} at {}: {}",
            v.code.as_str(),
            if v.path.is_empty() { "(body)" } else { &v.path },
            v.message
        ));
    }
    Ok(case)
}

/// What a path parameter's value may not hold as written: a generated `a/b` or `a b` is sent
/// as `a%2Fb`, `a%20b` (the mock and real servers percent-decode path parameters). The style
/// delimiters (`,` `;` `=` `.`) stay.
const PATH_VALUE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']');

/// The requests for one operation: the valid one, then the safely provoked errors.
fn plan(spec: &Spec, op: &Operation, document: &Value) -> Result<Vec<Planned>, String> {
    let op_doc = document
        .pointer(&op.pointer)
        .ok_or_else(|| format!("{} is not in the document", op.pointer))?;
    let path_item = op.pointer.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    let mut path = op.path_template.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    let mut headers = Vec::new();
    for param in &op.parameters {
        let value = match parameter_example(document, path_item, op_doc, &param.name) {
            Some(example) => Some(example),
            // Optional parameters without an example are left out, as a client would.
            // A parameter without a schema (an undeclared path parameter) is any string.
            None if param.required || param.location == ParamLocation::Path => {
                Some(param.schema.as_ref().map_or_else(
                    || json!("evalmock"),
                    |schema| crate::respond::value_for(spec, schema),
                ))
            }
            None => None,
        };
        let Some(value) = value else { continue };
        match param.location {
            ParamLocation::Path => {
                let written = path_value(param, &value);
                let escaped = percent_encoding::utf8_percent_encode(&written, PATH_VALUE);
                path = path.replace(&format!("{{{}}}", param.name), &escaped.to_string());
            }
            ParamLocation::Query => {
                for (name, value) in query_pairs(param, &value) {
                    query.append_pair(&name, &value);
                }
                has_query = true;
            }
            ParamLocation::Header => headers.push((param.name.clone(), path_value(param, &value))),
            ParamLocation::Cookie => {
                let joined = query_pairs(param, &value)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                headers.push(("cookie".into(), joined));
            }
        }
    }
    let query = has_query.then(|| query.finish());
    let body = match &op.request_body {
        Some(declared) => match body_example(document, op_doc) {
            Some(example) => Some((
                "application/json".to_string(),
                example.to_string().into_bytes(),
            )),
            None => match generated_body(spec, op) {
                Ok(body) => Some(body),
                Err(problem) if declared.required => return Err(problem),
                Err(_) => None,
            },
        },
        None => None,
    };
    let valid =
        |name: &str, path: String, body: Option<(String, Vec<u8>)>, authorized, expected| Planned {
            name: name.to_string(),
            method: op.method.clone(),
            path,
            query: query.clone(),
            headers: headers.clone(),
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
    // Unknown ids that the path parameters' schemas still accept (else the answer is a 400).
    let unknown_ids: Option<Vec<(&str, String)>> = op
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Path)
        .map(|p| {
            let candidates = [json!("evalmock_verify_unknown_id"), json!(987654321)];
            let id = candidates
                .iter()
                .find(|id| p.schema.as_ref().is_none_or(|schema| schema.is_valid(id)))?;
            Some((p.name.as_str(), text(id)))
        })
        .collect();
    if let Some(unknown_ids) = unknown_ids.filter(|ids| !ids.is_empty())
        && declares(404)
    {
        let mut unknown = op.path_template.clone();
        for (name, id) in &unknown_ids {
            unknown = unknown.replace(&format!("{{{name}}}"), id);
        }
        plans.push(valid(
            "404 with an unknown id",
            unknown,
            body.clone(),
            true,
            404,
        ));
    }
    // An empty JSON object provokes a 400 only where the body's JSON schema refuses it.
    let refuses_empty = op
        .request_body
        .as_ref()
        .and_then(|b| {
            b.content
                .iter()
                .find(|m| crate::validate::is_json_media(&m.media_type))
        })
        .and_then(|m| m.schema.as_ref())
        .is_some_and(|schema| !schema.is_valid(&json!({})));
    if refuses_empty && declares(400) {
        plans.push(valid(
            "400 with an empty body",
            path,
            Some(("application/json".into(), b"{}".to_vec())),
            true,
            400,
        ));
    }
    Ok(plans)
}

/// A body generated from the request schema of the first media type verify can write:
/// JSON, a form, multipart form data, or text.
fn generated_body(spec: &Spec, op: &Operation) -> Result<(String, Vec<u8>), String> {
    let content = op
        .request_body
        .as_ref()
        .map(|b| b.content.as_slice())
        .unwrap_or_default();
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let pick =
        |wanted: &dyn Fn(&str) -> bool| content.iter().find(|m| wanted(&essence(&m.media_type)));
    let value = |media: &crate::spec::MediaType| {
        media
            .schema
            .as_ref()
            .map(|schema| crate::respond::value_for(spec, schema))
            .ok_or_else(|| {
                format!(
                    "the {} request body has no example and no schema",
                    media.media_type
                )
            })
    };
    if let Some(media) = pick(&|m| crate::validate::is_json_media(m)) {
        return Ok((
            media.media_type.clone(),
            value(media)?.to_string().into_bytes(),
        ));
    }
    if let Some(media) = pick(&|m| m == "application/x-www-form-urlencoded") {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, field) in fields(&value(media)?) {
            form.append_pair(&name, &field);
        }
        return Ok((media.media_type.clone(), form.finish().into_bytes()));
    }
    if let Some(media) = pick(&|m| m == "multipart/form-data") {
        const BOUNDARY: &str = "evalmock-verify-boundary";
        let mut body = String::new();
        for (name, field) in fields(&value(media)?) {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{field}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        return Ok((
            format!("multipart/form-data; boundary={BOUNDARY}"),
            body.into_bytes(),
        ));
    }
    if let Some(media) = pick(&|m| m.starts_with("text/")) {
        let text = match value(media)? {
            Value::String(text) => text,
            other => other.to_string(),
        };
        return Ok((media.media_type.clone(), text.into_bytes()));
    }
    Err(format!(
        "the request body has no example, and verify does not write {}",
        content
            .iter()
            .map(|m| m.media_type.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    ))
}

/// An object's fields as form fields: arrays repeat the name, other values are their text.
fn fields(value: &Value) -> Vec<(String, String)> {
    let Value::Object(object) = value else {
        return Vec::new();
    };
    object
        .iter()
        .flat_map(|(name, value)| match value {
            Value::Array(items) => items
                .iter()
                .map(|item| (name.clone(), text(item)))
                .collect(),
            other => vec![(name.clone(), text(other))],
        })
        .collect()
}

/// A scalar as a parameter writes it: a string as itself, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A path or header parameter's value in its style (`simple`, `label`, `matrix`), unescaped.
fn path_value(param: &Parameter, value: &Value) -> String {
    if param.json_content {
        return value.to_string();
    }
    let (separator, prefix) = match param.style {
        ParamStyle::Label => (if param.explode { "." } else { "," }, ".".to_string()),
        ParamStyle::Matrix => (
            if param.explode { ";" } else { "," },
            format!(";{}=", param.name),
        ),
        _ => (",", String::new()),
    };
    let body = match value {
        Value::Array(items) if param.style == ParamStyle::Matrix && param.explode => {
            return items
                .iter()
                .map(|item| format!(";{}={}", param.name, text(item)))
                .collect();
        }
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(separator),
        Value::Object(object) if param.explode => {
            let pairs = object.iter().map(|(k, v)| format!("{k}={}", text(v)));
            if param.style == ParamStyle::Matrix {
                return pairs.map(|p| format!(";{p}")).collect();
            }
            pairs.collect::<Vec<_>>().join(separator)
        }
        Value::Object(object) => object
            .iter()
            .flat_map(|(k, v)| [k.clone(), text(v)])
            .collect::<Vec<_>>()
            .join(","),
        other => text(other),
    };
    format!("{prefix}{body}")
}

/// A query or cookie parameter's name-value pairs in its style (`form`, `spaceDelimited`,
/// `pipeDelimited`, `deepObject`), unescaped.
fn query_pairs(param: &Parameter, value: &Value) -> Vec<(String, String)> {
    let name = param.name.clone();
    if param.json_content {
        return vec![(name, value.to_string())];
    }
    let joiner = match param.style {
        ParamStyle::SpaceDelimited => " ",
        ParamStyle::PipeDelimited => "|",
        _ => ",",
    };
    match value {
        Value::Array(items) if param.explode => items
            .iter()
            .map(|item| (name.clone(), text(item)))
            .collect(),
        Value::Array(items) => vec![(
            name,
            items.iter().map(text).collect::<Vec<_>>().join(joiner),
        )],
        Value::Object(object) if param.style == ParamStyle::DeepObject => object
            .iter()
            .map(|(k, v)| (format!("{name}[{k}]"), text(v)))
            .collect(),
        Value::Object(object) if param.explode => {
            object.iter().map(|(k, v)| (k.clone(), text(v))).collect()
        }
        Value::Object(object) => vec![(
            name,
            object
                .iter()
                .flat_map(|(k, v)| [k.clone(), text(v)])
                .collect::<Vec<_>>()
                .join(joiner),
        )],
        other => vec![(name, text(other))],
    }
}

/// Where `token` goes for the operation's first security requirement: (place, name, value)
/// per scheme, the name being a header, query parameter or cookie.
fn credentials(op: &Operation, token: &str) -> Vec<(ParamLocation, String, String)> {
    let Some(requirement) = op.security.first() else {
        return Vec::new();
    };
    let authorization = |value: String| (ParamLocation::Header, "authorization".to_string(), value);
    requirement
        .schemes
        .iter()
        .map(|scheme| match scheme {
            SecurityScheme::Bearer { .. } => authorization(format!("Bearer {token}")),
            SecurityScheme::Basic { .. } => {
                use base64::Engine;
                // A token with a colon is `user:password`; a bare one is the password.
                let pair = if token.contains(':') {
                    token.to_string()
                } else {
                    format!("evalmock:{token}")
                };
                authorization(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            SecurityScheme::Http { scheme, .. } => authorization(format!("{scheme} {token}")),
            SecurityScheme::ApiKey {
                location,
                parameter,
                ..
            } => (*location, parameter.clone(), token.to_string()),
        })
        .collect()
}

/// A parameter's example: `example`, the first of `examples`, the schema's `example`,
/// `default` or first `enum` value; the operation's own parameters first, then the path's.
fn parameter_example(
    document: &Value,
    path_item: &str,
    op_doc: &Value,
    name: &str,
) -> Option<Value> {
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
            "violations": c.violations,
        })).collect::<Vec<_>>(),
        "passed": cases.len() - failed,
        "failed": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(location: ParamLocation, style: ParamStyle, explode: bool) -> Parameter {
        Parameter {
            name: "color".into(),
            location,
            required: true,
            schema: None,
            types: Vec::new(),
            item_types: Vec::new(),
            property_types: Vec::new(),
            style,
            explode,
            json_content: false,
        }
    }

    /// The examples of the OpenAPI style table (`color` = "blue", ["blue", "black"],
    /// {"R": 100, "G": 200}).
    #[test]
    fn parameters_are_written_in_their_style_as_the_openapi_table_shows() {
        let (scalar, array, object) = (
            json!("blue"),
            json!(["blue", "black"]),
            json!({"R": 100, "G": 200}),
        );
        let path = |style, explode, value: &Value| {
            path_value(&param(ParamLocation::Path, style, explode), value)
        };
        use ParamStyle::*;
        assert_eq!(path(Simple, false, &scalar), "blue");
        assert_eq!(path(Simple, false, &array), "blue,black");
        assert_eq!(path(Simple, false, &object), "R,100,G,200");
        assert_eq!(path(Simple, true, &object), "R=100,G=200");
        assert_eq!(path(Label, false, &scalar), ".blue");
        assert_eq!(path(Label, false, &array), ".blue,black");
        assert_eq!(path(Label, true, &array), ".blue.black");
        assert_eq!(path(Label, false, &object), ".R,100,G,200");
        assert_eq!(path(Label, true, &object), ".R=100.G=200");
        assert_eq!(path(Matrix, false, &scalar), ";color=blue");
        assert_eq!(path(Matrix, false, &array), ";color=blue,black");
        assert_eq!(path(Matrix, true, &array), ";color=blue;color=black");
        assert_eq!(path(Matrix, false, &object), ";color=R,100,G,200");
        assert_eq!(path(Matrix, true, &object), ";R=100;G=200");

        let query = |style, explode, value: &Value| {
            query_pairs(&param(ParamLocation::Query, style, explode), value)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(query(Form, true, &scalar), "color=blue");
        assert_eq!(query(Form, true, &array), "color=blue&color=black");
        assert_eq!(query(Form, false, &array), "color=blue,black");
        assert_eq!(query(Form, true, &object), "R=100&G=200");
        assert_eq!(query(Form, false, &object), "color=R,100,G,200");
        assert_eq!(query(SpaceDelimited, false, &array), "color=blue black");
        assert_eq!(query(PipeDelimited, false, &array), "color=blue|black");
        assert_eq!(
            query(DeepObject, true, &object),
            "color[R]=100&color[G]=200"
        );
    }

    #[test]
    fn a_path_value_is_escaped_but_keeps_its_style_delimiters() {
        let written = path_value(
            &param(ParamLocation::Path, ParamStyle::Matrix, false),
            &json!(["a/b", "c d?"]),
        );
        let escaped = percent_encoding::utf8_percent_encode(&written, PATH_VALUE).to_string();
        assert_eq!(escaped, ";color=a%2Fb,c%20d%3F");
    }
}
