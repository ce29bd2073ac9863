//! Choosing and shaping what goes back: the `Prefer` header, API errors rendered in the
//! operation's own error schema, and success bodies from examples or schema generation for
//! operations that no domain handler serves.

pub mod assembled;
mod dynamic;
mod generate;
pub(crate) mod pattern;

pub use dynamic::{DEFAULT_SEED, Plain, Realism, Rng};
pub use generate::value_for;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorDetail, MockError};
use crate::scenarios::{Delay, FaultKind};
use crate::spec::{CompiledSchema, MediaType, Operation, Spec};
use crate::validate::{self, Violation, ViolationCode, is_json_media};

/// A response before it is validated and sent.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: ReplyBody,
    /// `evalmock-error` marker when the mock, not the API, caused this answer.
    pub mock_marker: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    Empty,
    /// To be validated against the declared schema before sending.
    Json(Value),
    /// Serialised JSON. Whether it still needs validating is a property of where it came from
    /// (the engine's `Source`), not of the body.
    Bytes(Bytes),
    /// Serialised JSON assembled from a template prepared at load (as `Bytes`), with the recipe
    /// the journal keeps instead of a copy.
    Assembled(assembled::Assembled),
    /// Server-sent events, each validated against the media type's `itemSchema` before sending.
    EventStream(Vec<Value>),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            content_type: Some("application/json".into()),
            body: ReplyBody::Json(body),
            mock_marker: None,
        }
    }

    /// Serialised JSON (validated or not: that is the engine's `Source`'s business).
    pub fn json_bytes(status: u16, bytes: Bytes) -> Reply {
        Reply {
            status,
            content_type: Some("application/json".into()),
            body: ReplyBody::Bytes(bytes),
            mock_marker: None,
        }
    }

    /// Serialised JSON assembled from a prepared template (see [`ReplyBody::Assembled`]).
    pub fn assembled(status: u16, assembled: assembled::Assembled) -> Reply {
        Reply {
            body: ReplyBody::Assembled(assembled),
            ..Reply::json_bytes(status, Bytes::new())
        }
    }
}

/// What a client asked for with `Prefer` (Prism's grammar: `code=404, example=name,
/// dynamic=true`, plus `seed=N`, `delay=<ms>` and `fault=<kind>`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Preference {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: bool,
    /// Seed of `dynamic=true` values (the same seed, the same values).
    pub seed: Option<u64>,
    pub delay: Option<Delay>,
    pub fault: Option<FaultKind>,
}

impl Preference {
    /// Parses every `Prefer` header value; unknown preferences are ignored as RFC 7240 asks,
    /// but a malformed `code` is an error, since silently ignoring it would hide a typo.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Result<Preference, MockError> {
        let mut preference = Preference::default();
        for value in values {
            for token in value.split([',', ';']) {
                let token = token.trim();
                let (key, raw) = token.split_once('=').unwrap_or((token, ""));
                let raw = raw.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "code" => {
                        let code = raw.parse::<u16>().ok().filter(|c| (100..600).contains(c));
                        preference.code = Some(code.ok_or_else(|| MockError::InvalidPrefer {
                            value: value.to_string(),
                            reason: format!(
                                "code must be an HTTP status between 100 and 599, got {raw:?}"
                            ),
                        })?);
                    }
                    "example" if !raw.is_empty() => preference.example = Some(raw.to_string()),
                    "dynamic" => {
                        preference.dynamic = raw.is_empty() || raw.eq_ignore_ascii_case("true")
                    }
                    "seed" => {
                        preference.seed =
                            Some(raw.parse().map_err(|_| MockError::InvalidPrefer {
                                value: value.to_string(),
                                reason: format!("seed must be a whole number, got {raw:?}"),
                            })?)
                    }
                    "delay" => {
                        preference.delay =
                            Some(
                                Delay::parse(raw).map_err(|reason| MockError::InvalidPrefer {
                                    value: value.to_string(),
                                    reason: format!("delay: {reason}"),
                                })?,
                            )
                    }
                    "fault" => {
                        preference.fault =
                            Some(
                                FaultKind::parse(raw).ok_or_else(|| MockError::InvalidPrefer {
                                    value: value.to_string(),
                                    reason: format!(
                                        "fault must be one of {}, got {raw:?}",
                                        FaultKind::ALL.map(FaultKind::as_str).join(", ")
                                    ),
                                })?,
                            )
                    }
                    _ => {}
                }
            }
        }
        Ok(preference)
    }
}

/// Renders an [`ApiError`] in the schema the operation declares for its status. The richest
/// shape the schema accepts wins: `{error, details}`, then `{error}`, then the spec's example,
/// then a generated value. A status the operation does not declare becomes a [`MockError`].
pub fn render_api_error(
    spec: &Spec,
    operation: &Operation,
    error: &ApiError,
) -> Result<Reply, MockError> {
    let status = error.status();
    let details = error.details();
    let Some(response) = operation.response(status) else {
        return Err(MockError::UndeclaredStatus {
            operation: operation.display_name(),
            status,
            declared: operation.declared_statuses(),
            details,
        });
    };
    let summary = if response.description.trim().is_empty() {
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_string()
    } else {
        response.description.trim().to_string()
    };
    let full = json!({
        "error": summary,
        "details": details.iter().map(ErrorDetail::to_json).collect::<Vec<_>>(),
    });
    let mut reply = match json_media(&response.content) {
        None if response.content.is_empty() => Reply {
            status,
            content_type: None,
            body: ReplyBody::Empty,
            mock_marker: None,
        },
        None => Reply {
            status,
            content_type: response.content.first().map(|m| m.media_type.clone()),
            body: ReplyBody::Json(full),
            mock_marker: None,
        },
        Some(media) => {
            let candidates = [full.clone(), json!({ "error": summary })];
            let body = match &media.schema {
                None => full,
                Some(schema) => candidates
                    .into_iter()
                    .find(|c| schema.is_valid(c))
                    .or_else(|| media.examples.first().map(|e| e.value.clone()))
                    .unwrap_or_else(|| generate::value_for(spec, schema)),
            };
            Reply {
                status,
                content_type: Some(concrete_media_type(&media.media_type)),
                body: ReplyBody::Json(body),
                mock_marker: None,
            }
        }
    };
    reply.mock_marker = error.mock_marker();
    Ok(reply)
}

/// The body of a successful answer for an operation without a domain handler: the preferred
/// named example, else the first example, else a value generated from the schema. Returns
/// the reply and the name of the example it used (`None`: generated, or no body at all).
pub fn example_reply(
    spec: &Spec,
    operation: &Operation,
    status: u16,
    preference: &Preference,
) -> (Reply, Option<String>) {
    example_reply_with(spec, operation, status, preference, &Plain)
}

/// When [`example_reply`] would have to generate the answer (no example chosen) from a schema
/// that no finite value satisfies: that schema's chain of pointers (found at load).
pub fn unsatisfiable_answer<'s>(
    spec: &'s Spec,
    operation: &Operation,
    status: u16,
    preference: &Preference,
) -> Option<&'s str> {
    let media = operation
        .response(status)
        .and_then(|response| json_media(&response.content).or(response.content.first()))?;
    let named = preference
        .example
        .as_deref()
        .is_some_and(|name| media.examples.iter().any(|e| e.name == name));
    if named || (!preference.dynamic && !media.examples.is_empty()) {
        return None;
    }
    // A stream is generated from its item schema, anything else from its schema.
    media
        .item_schema
        .as_ref()
        .or(media.schema.as_ref())
        .and_then(|schema| spec.unsatisfiable(schema))
}

/// [`example_reply`] with the domain's [`Realism`] for `dynamic=true` values: seeded by
/// `preference.seed` (else [`DEFAULT_SEED`]), valid against the schema, and for a stream a
/// handful of events valid against the media type's `itemSchema`.
pub fn example_reply_with(
    spec: &Spec,
    operation: &Operation,
    status: u16,
    preference: &Preference,
    realism: &dyn Realism,
) -> (Reply, Option<String>) {
    let empty = Reply {
        status,
        content_type: None,
        body: ReplyBody::Empty,
        mock_marker: None,
    };
    let Some(response) = operation.response(status) else {
        return (empty, None);
    };
    let Some(media) = json_media(&response.content).or(response.content.first()) else {
        return (empty, None);
    };
    let named = preference
        .example
        .as_deref()
        .and_then(|name| media.examples.iter().find(|e| e.name == name));
    let example = match (named, preference.dynamic) {
        (Some(example), _) => Some(example),
        (None, false) => media.examples.first(),
        (None, true) => None,
    };
    let seed = preference.seed.unwrap_or(DEFAULT_SEED);
    let body = match (example, &media.schema, &media.item_schema) {
        // An event stream's example is its events' payloads (a 3.2 `serializedValue` is read
        // that way); one value is one event.
        (Some(example), _, Some(_)) => ReplyBody::EventStream(match &example.value {
            Value::Array(events) => events.clone(),
            one => vec![one.clone()],
        }),
        (Some(example), _, _) => ReplyBody::Json(example.value.clone()),
        // A stream is sent as events, never as one JSON value (generated with the default
        // seed unless `dynamic=true, seed=N` asks for others).
        (None, _, Some(item)) => ReplyBody::EventStream(dynamic_events(spec, item, seed, realism)),
        (None, Some(schema), _) if preference.dynamic => {
            ReplyBody::Json(dynamic_body(spec, schema, seed, realism))
        }
        (None, Some(schema), _) => ReplyBody::Json(generate::value_for(spec, schema)),
        (None, None, _) => ReplyBody::Json(Value::Null),
    };
    let reply = Reply {
        status,
        content_type: Some(concrete_media_type(&media.media_type)),
        body,
        mock_marker: None,
    };
    (reply, example.map(|e| e.name.clone()))
}

/// Tries before a seeded value gives way to the plain deterministic one. Unions whose
/// variants overlap can yield a value matching two `oneOf` branches; another draw fixes that.
const DYNAMIC_ATTEMPTS: u64 = 16;

/// A seeded value valid against `schema`, fixed up by the domain: the first draw (from `seed`,
/// then from seeds derived from it) that is valid once finished, or valid unfinished; the
/// deterministic value when no draw is.
fn dynamic_body(spec: &Spec, schema: &CompiledSchema, seed: u64, realism: &dyn Realism) -> Value {
    valid_draw(schema, seed, realism, |seed| {
        dynamic::value(spec, schema, seed, realism)
    })
    .unwrap_or_else(|| generate::value_for(spec, schema))
}

/// A few seeded events of the stream's item schema, in the order the domain suggests, then
/// finished as one run (kept unfinished if finishing broke an event).
fn dynamic_events(
    spec: &Spec,
    item: &CompiledSchema,
    seed: u64,
    realism: &dyn Realism,
) -> Vec<Value> {
    let mut types: Vec<Option<&str>> = realism.event_types().into_iter().map(Some).collect();
    if types.is_empty() {
        types = vec![None; 4];
    }
    let events: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, event_type)| {
            let seed = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9));
            valid_draw(item, seed, realism, |seed| {
                dynamic::event(spec, item, seed, realism, *event_type)
            })
            .unwrap_or_else(|| generate::value_for(spec, item))
        })
        .collect();
    let mut finished = events.clone();
    realism.finish_events(&mut finished);
    if finished.iter().all(|event| item.is_valid(event)) {
        finished
    } else {
        events
    }
}

/// The first of up to [`DYNAMIC_ATTEMPTS`] draws that is valid (preferring it finished by the
/// domain).
fn valid_draw(
    schema: &CompiledSchema,
    seed: u64,
    realism: &dyn Realism,
    mut draw: impl FnMut(u64) -> Value,
) -> Option<Value> {
    (0..DYNAMIC_ATTEMPTS).find_map(|attempt| {
        let value = draw(seed.wrapping_add(attempt.wrapping_mul(0x2545_f491_4f6c_dd1d)));
        let mut finished = value.clone();
        realism.finish(&mut finished);
        if schema.is_valid(&finished) {
            Some(finished)
        } else {
            schema.is_valid(&value).then_some(value)
        }
    })
}

/// What is wrong with a reply against the operation's declared response for its status.
pub fn response_violations(op: &Operation, reply: &Reply) -> Vec<Violation> {
    let Some(response) = op.response(reply.status) else {
        return vec![response_violation(format!(
            "status {} is not declared",
            reply.status
        ))];
    };
    let content_type = reply.content_type.as_deref().unwrap_or_default();
    let Some(media) = validate::match_media_type(&response.content, content_type) else {
        if response.content.is_empty() {
            return Vec::new();
        }
        return vec![response_violation(format!(
            "content type {content_type:?} is not declared for status {}",
            reply.status
        ))];
    };
    let checked: Vec<Violation> = match &reply.body {
        ReplyBody::EventStream(events) if events.is_empty() => {
            vec![response_violation("the event stream has no events".into())]
        }
        ReplyBody::EventStream(events) => events
            .iter()
            .enumerate()
            .flat_map(|(i, event)| {
                // The OpenAPI 3.2 form checks the event as sent (`data` holds the JSON text).
                let envelope = media
                    .item_envelope
                    .as_ref()
                    .map(|schema| {
                        validate::schema_violations(schema, &json!({"data": event.to_string()}))
                    })
                    .unwrap_or_default();
                let payload = media
                    .item_schema
                    .as_ref()
                    .map(|schema| validate::schema_violations(schema, event))
                    .unwrap_or_default();
                envelope.into_iter().chain(payload).map(move |mut v| {
                    v.path = if v.path.is_empty() {
                        format!("events[{i}]")
                    } else {
                        format!("events[{i}].{}", v.path)
                    };
                    v
                })
            })
            .collect(),
        ReplyBody::Json(body) => match &media.schema {
            Some(schema) => validate::schema_violations(schema, body),
            None => Vec::new(),
        },
        ReplyBody::Bytes(bytes) | ReplyBody::Assembled(assembled::Assembled { bytes, .. }) => {
            match (&media.schema, serde_json::from_slice::<Value>(bytes)) {
                (Some(schema), Ok(body)) => validate::schema_violations(schema, &body),
                (Some(_), Err(e)) => vec![response_violation(format!("the body is not JSON: {e}"))],
                (None, _) => Vec::new(),
            }
        }
        ReplyBody::Empty => Vec::new(),
    };
    checked
        .into_iter()
        .map(|mut v| {
            v.code = ViolationCode::ResponseSchemaViolation;
            v
        })
        .collect()
}

fn response_violation(message: String) -> Violation {
    Violation {
        code: ViolationCode::ResponseSchemaViolation,
        path: String::new(),
        message,
        suggestion: None,
        schema_path: None,
    }
}

/// The example named `name` of the operation's response for `status`; an unknown name is an
/// error listing the names there are.
pub fn named_example(
    spec: &Spec,
    operation: &Operation,
    status: u16,
    name: &str,
) -> Result<Reply, String> {
    let names = example_names(operation, status);
    if !names.iter().any(|n| n == name) {
        return Err(unknown_example_message(operation, status, name, &names));
    }
    let preference = Preference {
        example: Some(name.to_string()),
        ..Preference::default()
    };
    Ok(example_reply(spec, operation, status, &preference).0)
}

/// The names of the examples of the operation's response for `status`.
pub fn example_names(operation: &Operation, status: u16) -> Vec<String> {
    operation
        .response(status)
        .and_then(|r| json_media(&r.content).or(r.content.first()))
        .map(|m| m.examples.iter().map(|e| e.name.clone()).collect())
        .unwrap_or_default()
}

pub fn unknown_example_message(
    operation: &Operation,
    status: u16,
    name: &str,
    names: &[String],
) -> String {
    if names.is_empty() {
        format!(
            "{} has no named examples for status {status}, so none is called {name:?}",
            operation.name
        )
    } else {
        format!(
            "{} has no example {name:?} for status {status}; its examples are {}",
            operation.name,
            names.join(", ")
        )
    }
}

/// A realistic error for a status chosen on purpose with `Prefer: code=NNN`, in generic words;
/// a domain that knows the API better words its own (see `domain::Domain::simulated_error`).
pub fn simulated_error(
    operation: &Operation,
    status: u16,
    body: Option<&Value>,
    path_params: &[(String, String)],
) -> ApiError {
    let named_id = path_params
        .first()
        .map(|(name, value)| (name.clone(), value.clone()))
        .or_else(|| {
            body.and_then(Value::as_object)?
                .iter()
                .find(|(key, value)| key.ends_with("Id") && value.is_string())
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
        });
    let detail = match status {
        400 => missing_field_detail(operation),
        401 => ErrorDetail::new(
            "UNAUTHORIZED",
            "the credentials are invalid or have expired",
        )
        .suggest("Send valid credentials as the operation's security scheme asks."),
        402 => ErrorDetail::new(
            "PAYMENT_REQUIRED",
            "the plan's usage limit has been reached",
        )
        .suggest("Upgrade the plan or wait until the limit resets."),
        403 => ErrorDetail::new(
            "FORBIDDEN",
            "this API key does not have permission for this resource",
        )
        .suggest("Use a key with full access, or ask a workspace admin to grant this key access."),
        404 => match &named_id {
            Some((field, id)) => ErrorDetail::new(
                "NOT_FOUND",
                format!("no resource with {field} {id} was found"),
            )
            .at(field.clone()),
            None => ErrorDetail::new("NOT_FOUND", "the requested resource was not found"),
        }
        .suggest("Check the id; list existing resources to find valid ones."),
        409 => ErrorDetail::new("CONFLICT", "the resource was changed by another request"),
        429 => ErrorDetail::new("RATE_LIMITED", "too many requests for this API key")
            .suggest("Wait a few seconds and retry with exponential backoff."),
        500 => ErrorDetail::new(
            "INTERNAL_ERROR",
            "an unexpected error occurred while processing the request",
        )
        .suggest("Retry the request; if it keeps failing, contact support."),
        503 => ErrorDetail::new(
            "SERVICE_UNAVAILABLE",
            "the service is temporarily unavailable",
        )
        .suggest("Retry after a short wait."),
        other => ErrorDetail::new(
            "REQUEST_FAILED",
            http::StatusCode::from_u16(other)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("request failed")
                .to_lowercase(),
        ),
    };
    ApiError::Simulated { status, detail }
}

/// A 400 detail naming the first required field of the operation's body, as a real
/// validation error would.
fn missing_field_detail(operation: &Operation) -> ErrorDetail {
    let required = operation
        .request_body
        .as_ref()
        .and_then(|b| json_media(&b.content))
        .and_then(|m| m.schema.as_ref())
        .and_then(|schema| {
            crate::validate::schema_violations(schema, &json!({}))
                .into_iter()
                .find(|v| v.code == crate::validate::ViolationCode::MissingRequiredField)
        });
    match required {
        Some(v) => ErrorDetail::from(&v),
        None => ErrorDetail::new("INVALID_VALUE", "the request is invalid")
            .suggest("Check the request against the API reference."),
    }
}

fn json_media(content: &[MediaType]) -> Option<&MediaType> {
    content.iter().find(|m| is_json_media(&m.media_type))
}

/// A declared range such as `application/*` cannot be sent as a Content-Type.
fn concrete_media_type(declared: &str) -> String {
    if declared.contains('*') {
        "application/json".into()
    } else {
        declared.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_reads_code_example_and_dynamic_in_prism_grammar() {
        let p = Preference::parse(["code=404, example=notFound", "dynamic=true"].into_iter())
            .expect("parses");
        assert_eq!(
            p,
            Preference {
                code: Some(404),
                example: Some("notFound".into()),
                dynamic: true,
                ..Preference::default()
            }
        );
        let p = Preference::parse(["delay=250ms, fault=stream-cut, seed=7"].into_iter())
            .expect("parses");
        assert_eq!(
            (p.delay, p.fault, p.seed),
            (
                Some(Delay::Fixed(std::time::Duration::from_millis(250))),
                Some(FaultKind::StreamCut),
                Some(7)
            )
        );
        assert!(Preference::parse(["fault=meltdown"].into_iter()).is_err());
        assert!(Preference::parse(["delay=soon"].into_iter()).is_err());
    }

    #[test]
    fn prefer_ignores_unknown_preferences_but_not_a_bad_code() {
        assert_eq!(
            Preference::parse(["respond-async, wait=5"].into_iter()),
            Ok(Preference::default())
        );
        assert!(matches!(
            Preference::parse(["code=4o4"].into_iter()),
            Err(MockError::InvalidPrefer { .. })
        ));
        assert!(Preference::parse(["code=99"].into_iter()).is_err());
    }
}
