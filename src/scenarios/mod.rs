//! Scenarios: named sets of rules that steer answers without touching app code (an empty
//! account, a 500 on every third call, a slow network, a stream that fails half way).
//!
//! A scenario file (`fixtures/scenarios/NAME.yaml`, format in [`format`] and
//! `specs/scenario.schema.json`) is read, checked against the schema and against every served
//! spec (operations exist, statuses are declared, example names exist, every literal body and
//! every patch result is valid) when the World loads, so a mistake is a load error naming the
//! file and the place, never a surprise at request time. Recordings are scenario files too
//! (`serve --replay DIR` loads a folder of them as the scenario `replay`).
//!
//! Matching is one mechanism for every operation: the rules of the chosen scenario are tried
//! in order, the first whose conditions hold answers ([`ScenarioState::pick`], which also
//! counts calls and moves the scenario's state). What the answer becomes is the engine's
//! business; this module only says which rule and which response.

pub mod format;
mod matching;
mod state;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_json::Value;

use format::{AfterSequence, BodyMatch, CallFile, FormatError, ResponseFile, RuleFile};
pub use format::{Delay, Fault, FaultKind};
pub use matching::RequestView;
pub use state::{Picked, ScenarioState};

use crate::fixtures::FixtureError;
use crate::respond::{self, Reply, ReplyBody};
use crate::spec::{Operation, RouteMatch, Spec};

/// The name of the scenario a `--replay DIR` folder is loaded as.
pub const REPLAY: &str = "replay";
/// The name that means "no scenario" (in `evalmock-scenario` and `PUT /__mock/scenario`).
pub const NONE: &str = "none";

/// Every scenario loaded with a World, by name.
#[derive(Debug, Default)]
pub struct Scenarios {
    scenarios: BTreeMap<String, Scenario>,
}

/// One scenario: its rules in order.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Where it was read from, for messages.
    pub origin: String,
    pub latency: Option<Delay>,
    pub initial_state: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub matcher: Matcher,
    pub answers: Answers,
    pub then_state: Option<String>,
    /// Where the rule came from (`file` for a replayed recording), for messages.
    pub origin: String,
}

/// What a rule answers with, call by call.
#[derive(Debug)]
pub enum Answers {
    /// Nothing of its own: the usual answer (a rule that only moves the state).
    Usual,
    One(Box<Response>),
    Sequence {
        items: Vec<Response>,
        after: AfterSequence,
    },
}

/// The conditions of a rule; every one given must hold.
#[derive(Debug, Default)]
pub struct Matcher {
    pub operation: Option<String>,
    pub method: Option<Method>,
    pub path: Option<PathMatch>,
    pub params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub query_exact: bool,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Value>,
    pub body_match: BodyMatch,
    pub ignore_fields: Vec<String>,
    pub state: Option<String>,
    pub call: Option<Calls>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// A path template of the spec (`/v1/eval/group/{groupId}`).
    Template(String),
    /// A concrete path.
    Exact(String),
}

/// Which of the calls meeting a rule's other conditions it applies to (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Calls {
    List(Vec<u64>),
    Every(u64),
    From(u64),
    UpTo(u64),
}

impl Calls {
    pub fn includes(&self, n: u64) -> bool {
        match self {
            Calls::List(list) => list.contains(&n),
            Calls::Every(every) => n.is_multiple_of(*every),
            Calls::From(from) => n >= *from,
            Calls::UpTo(up_to) => n <= *up_to,
        }
    }
}

/// One answer of a rule.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: Option<u16>,
    pub body: Option<LiteralBody>,
    /// A JSON merge patch applied to the answer's JSON body.
    pub patch: Option<Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub delay: Option<Delay>,
    pub fault: Option<Fault>,
}

#[derive(Debug, Clone)]
pub enum LiteralBody {
    Json(Value),
    Text(String),
    Example(String),
    Events(Vec<Event>),
}

/// A literal server-sent event.
#[derive(Debug, Clone)]
pub struct Event {
    pub data: Value,
    pub event: Option<String>,
    pub id: Option<String>,
    pub delay: Option<Duration>,
}

impl Response {
    /// Whether this answer is a failure the server gives whatever the request was: a 5xx
    /// (the server failing) or a 401 (the key failing), answered before authentication and
    /// request validation. Other errors (404, 402, 429...) come after them, as the API's would.
    pub fn fails_before_checks(&self) -> bool {
        self.status.is_some_and(|s| s >= 500 || s == 401)
    }

    /// An error status (4xx, 5xx).
    pub fn error_status(&self) -> Option<u16> {
        self.status.filter(|s| *s >= 400)
    }

    /// The answer's literal reply for `op`, if it has a literal body (else the usual answer
    /// is used, patched). `None` for a body-less response.
    pub fn literal_reply(&self, spec: &Spec, op: &Operation) -> Option<Result<Reply, String>> {
        let status = self.status.unwrap_or_else(|| op.success_status());
        let body = self.body.as_ref()?;
        Some(match body {
            LiteralBody::Json(value) => Ok(Reply::json(status, value.clone())),
            LiteralBody::Text(text) => Ok(Reply {
                status,
                content_type: Some("text/plain; charset=utf-8".into()),
                body: ReplyBody::Bytes(text.clone().into()),
                mock_marker: None,
            }),
            LiteralBody::Events(events) => Ok(Reply {
                status,
                content_type: Some("text/event-stream".into()),
                body: ReplyBody::EventStream(events.iter().map(|e| e.data.clone()).collect()),
                mock_marker: None,
            }),
            LiteralBody::Example(name) => respond::named_example(spec, op, status, name),
        })
    }
}

impl Scenarios {
    /// Reads scenario files (origin, name, text) and checks them against every served spec.
    pub fn load(
        files: &[(String, String, String)],
        specs: &[&Spec],
    ) -> Result<Scenarios, FixtureError> {
        let mut scenarios = BTreeMap::new();
        for (origin, name, text) in files {
            let scenario = Scenario::read(origin, name, text, specs, Checks::Spec)?;
            if let Some(earlier) = scenarios.insert(name.clone(), scenario) {
                return Err(invalid(
                    origin,
                    "",
                    format!(
                        "a scenario named {name:?} was already read from {}",
                        earlier.origin
                    ),
                ));
            }
        }
        Ok(Scenarios { scenarios })
    }

    /// Adds the recordings in `files` (one exchange each) as the scenario [`REPLAY`]. Identical
    /// requests recorded more than once answer in the order recorded, then the last repeats.
    /// Recordings are what the real API answered, so they are not held to the spec at load
    /// (the engine still reports their violations per request, and sends them as recorded).
    pub fn add_replay(
        &mut self,
        files: &[(String, String, String)],
        specs: &[&Spec],
        ignore_fields: &[String],
    ) -> Result<(), FixtureError> {
        let mut rules: Vec<Rule> = Vec::new();
        for (origin, name, text) in files {
            let scenario = Scenario::read(origin, name, text, specs, Checks::FormatOnly)?;
            for mut rule in scenario.rules {
                rule.matcher
                    .ignore_fields
                    .extend(ignore_fields.iter().cloned());
                rule.origin = origin.clone();
                let same = rules
                    .iter_mut()
                    .find(|r| r.matcher.same_request(&rule.matcher));
                match (same, rule.answers) {
                    (Some(earlier), Answers::One(response)) => earlier.answers.push(*response),
                    (_, answers) => rules.push(Rule { answers, ..rule }),
                }
            }
        }
        self.scenarios.insert(
            REPLAY.to_string(),
            Scenario {
                name: REPLAY.to_string(),
                description: format!("{} recorded exchanges", files.len()),
                origin: "--replay".into(),
                latency: None,
                initial_state: "start".into(),
                rules,
            },
        );
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.get(name)
    }

    pub fn names(&self) -> Vec<String> {
        self.scenarios.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scenario> {
        self.scenarios.values()
    }

    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }
}

impl Answers {
    /// Appends a response (a second recording of the same request).
    fn push(&mut self, response: Response) {
        *self = match std::mem::replace(self, Answers::Usual) {
            Answers::Usual => Answers::One(Box::new(response)),
            Answers::One(first) => Answers::Sequence {
                items: vec![*first, response],
                after: AfterSequence::RepeatLast,
            },
            Answers::Sequence { mut items, after } => {
                items.push(response);
                Answers::Sequence { items, after }
            }
        };
    }
}

fn invalid(file: &str, path: &str, message: String) -> FixtureError {
    FixtureError::Invalid {
        file: file.to_string(),
        path: path.to_string(),
        message,
    }
}

/// The scenario's name from its file name (`flaky.yaml` -> `flaky`).
pub fn name_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a file name is a scenario file.
pub fn is_scenario_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
}

/// How much of a scenario file is checked at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checks {
    /// The format, and every answer against every served spec (scenarios written by hand).
    Spec,
    /// The format only (recordings: the real API's answers, violations included).
    FormatOnly,
}

impl Scenario {
    fn read(
        origin: &str,
        name: &str,
        text: &str,
        specs: &[&Spec],
        checks: Checks,
    ) -> Result<Scenario, FixtureError> {
        let document: Value = serde_norway::from_str(text)
            .map_err(|e| invalid(origin, "", format!("not YAML or JSON: {e}")))?;
        let file = format::read(&document).map_err(|e| invalid(origin, &e.path, e.message))?;
        let at = |e: FormatError| invalid(origin, &e.path, e.message);
        let latency = file
            .latency
            .as_ref()
            .map(|l| Delay::read(l, "latency"))
            .transpose()
            .map_err(at)?;
        let rules = file
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| read_rule(rule, i, origin, specs, checks))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scenario {
            name: name.to_string(),
            description: file.description,
            origin: origin.to_string(),
            latency,
            initial_state: file.initial_state.unwrap_or_else(|| "start".into()),
            rules,
        })
    }

    /// For `GET /__mock/scenario`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "rules": self.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        })
    }
}

fn read_rule(
    file: &RuleFile,
    index: usize,
    origin: &str,
    specs: &[&Spec],
    checks: Checks,
) -> Result<Rule, FixtureError> {
    let path = format!("rules[{index}]");
    let at = |e: FormatError| invalid(origin, &e.path, e.message);
    let matcher = read_matcher(file, &path).map_err(at)?;
    let read = |response: &ResponseFile, path: String| read_response(response, &path).map_err(at);
    let answers = match (&file.respond, &file.sequence) {
        (Some(one), _) => Answers::One(Box::new(read(one, format!("{path}.respond"))?)),
        (None, Some(items)) => Answers::Sequence {
            items: items
                .iter()
                .enumerate()
                .map(|(i, r)| read(r, format!("{path}.sequence[{i}]")))
                .collect::<Result<_, _>>()?,
            after: file.after_sequence,
        },
        (None, None) => Answers::Usual,
    };
    let rule = Rule {
        name: file
            .name
            .clone()
            .unwrap_or_else(|| format!("rule {}", index + 1)),
        matcher,
        answers,
        then_state: file.then.as_ref().map(|t| t.state.clone()),
        origin: origin.to_string(),
    };
    if checks == Checks::Spec {
        check_against_specs(&rule, &path, specs)
            .map_err(|(path, message)| invalid(origin, &path, message))?;
    }
    Ok(rule)
}

fn read_matcher(file: &RuleFile, path: &str) -> Result<Matcher, FormatError> {
    let m = &file.matcher;
    let method = m
        .method
        .as_deref()
        .map(|text| {
            Method::from_bytes(text.to_ascii_uppercase().as_bytes()).map_err(|_| FormatError {
                path: format!("{path}.match.method"),
                message: format!("{text:?} is not an HTTP method"),
            })
        })
        .transpose()?;
    let headers = m
        .headers
        .iter()
        .map(|(name, value)| {
            HeaderName::from_bytes(name.as_bytes())
                .map(|n| (n, value.clone()))
                .map_err(|_| FormatError {
                    path: format!("{path}.match.headers"),
                    message: format!("{name:?} is not a header name"),
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Matcher {
        operation: m.operation.clone(),
        method,
        path: m.path.as_ref().map(|p| {
            if p.contains('{') {
                PathMatch::Template(p.clone())
            } else {
                PathMatch::Exact(p.clone())
            }
        }),
        params: m.params.clone().into_iter().collect(),
        query: m.query.clone().into_iter().collect(),
        query_exact: m.query_exact,
        headers,
        body: m.body.clone(),
        body_match: m.body_match,
        ignore_fields: m.ignore_fields.clone(),
        state: m.state.clone(),
        call: m.call.as_ref().map(|call| match call {
            CallFile::One(n) => Calls::List(vec![*n]),
            CallFile::List(list) => Calls::List(list.clone()),
            CallFile::Nth(nth) => match (nth.every, nth.from, nth.up_to) {
                (Some(every), _, _) => Calls::Every(every),
                (_, Some(from), _) => Calls::From(from),
                (_, _, up_to) => Calls::UpTo(up_to.unwrap_or(u64::MAX)),
            },
        }),
    })
}

fn read_response(file: &ResponseFile, path: &str) -> Result<Response, FormatError> {
    let literals = [
        file.body.is_some(),
        file.body_text.is_some(),
        file.example.is_some(),
        file.events.is_some(),
    ];
    if literals.iter().filter(|b| **b).count() > 1 {
        return Err(FormatError {
            path: path.to_string(),
            message: "give one of body, bodyText, example and events".into(),
        });
    }
    let body = if let Some(value) = &file.body {
        Some(LiteralBody::Json(value.clone()))
    } else if let Some(text) = &file.body_text {
        Some(LiteralBody::Text(text.clone()))
    } else if let Some(name) = &file.example {
        Some(LiteralBody::Example(name.clone()))
    } else if let Some(events) = &file.events {
        Some(LiteralBody::Events(
            events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    Ok(Event {
                        data: e.data.clone(),
                        event: e.event.clone(),
                        id: e.id.clone(),
                        delay: e
                            .delay
                            .as_ref()
                            .map(|d| Delay::read(d, &format!("{path}.events[{i}].delay")))
                            .transpose()?
                            .map(Delay::max),
                    })
                })
                .collect::<Result<_, FormatError>>()?,
        ))
    } else {
        None
    };
    if body.is_some() && file.patch.is_some() {
        return Err(FormatError {
            path: format!("{path}.patch"),
            message: "a patch changes the usual answer; a literal body replaces it: give one"
                .into(),
        });
    }
    Ok(Response {
        status: file.status,
        body,
        patch: file.patch.clone(),
        headers: format::read_headers(&file.headers, &format!("{path}.headers"))?,
        delay: file
            .delay
            .as_ref()
            .map(|d| Delay::read(d, &format!("{path}.delay")))
            .transpose()?,
        fault: file
            .fault
            .as_ref()
            .map(|f| Fault::read(f, &format!("{path}.fault")))
            .transpose()?,
    })
}

/// Checks a rule against every served spec: it must apply to some operation, and every body
/// it can send must be valid for each operation it applies to.
fn check_against_specs(rule: &Rule, path: &str, specs: &[&Spec]) -> Result<(), (String, String)> {
    let mut applies = 0;
    for spec in specs {
        for op in spec.operations() {
            if !rule.matcher.may_apply_to(spec, op) {
                continue;
            }
            applies += 1;
            let responses: Vec<(String, &Response)> = match &rule.answers {
                Answers::Usual => Vec::new(),
                Answers::One(r) => vec![(format!("{path}.respond"), r.as_ref())],
                Answers::Sequence { items, .. } => items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("{path}.sequence[{i}]"), r))
                    .collect(),
            };
            for (at, response) in responses {
                check_response(spec, op, response).map_err(|message| (at, message))?;
            }
        }
    }
    if applies == 0 {
        let names: Vec<&str> = specs
            .iter()
            .flat_map(|s| s.operations())
            .filter_map(|op| op.operation_id.as_deref())
            .collect();
        return Err((
            format!("{path}.match"),
            format!(
                "matches no operation of the spec; operations are {}",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_response(spec: &Spec, op: &Operation, response: &Response) -> Result<(), String> {
    let version = match spec.info_version() {
        "" => String::new(),
        v => format!(" (API version {v})"),
    };
    if let Some(status) = response.status
        && op.response(status).is_none()
    {
        return Err(format!(
            "{} does not declare status {status}{version}; it declares {}",
            op.name,
            op.declared_statuses().join(", ")
        ));
    }
    let reply = match response.literal_reply(spec, op) {
        Some(reply) => reply?,
        None => match &response.patch {
            // The patch on the answer the spec describes: its types and enums are checked.
            Some(patch) => {
                let status = response.status.unwrap_or_else(|| op.success_status());
                let (mut reply, _) =
                    respond::example_reply(spec, op, status, &respond::Preference::default());
                if let ReplyBody::Json(body) = &mut reply.body {
                    merge_patch(body, patch);
                }
                reply
            }
            None => return Ok(()),
        },
    };
    let violations = respond::response_violations(op, &reply);
    match violations.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "the answer breaks {}'s {} response{version}: {} at {}",
            op.name,
            reply.status,
            first.message,
            if first.path.is_empty() {
                "(body)"
            } else {
                &first.path
            }
        )),
    }
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, anything else
/// replaces; with one extension: an object patch on an array patches every item (so
/// `{batches: {status: failed}}` fails every batch of a list, which RFC 7386 cannot say).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if let Value::Array(items) = target {
        for item in items {
            merge_patch(item, patch);
        }
        return;
    }
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(object) = target {
        for (key, change) in changes {
            if change.is_null() {
                object.remove(key);
            } else {
                merge_patch(object.entry(key.clone()).or_insert(Value::Null), change);
            }
        }
    }
}

impl Matcher {
    /// Whether the rule could apply to `op` at all (its operation, method and path).
    fn may_apply_to(&self, spec: &Spec, op: &Operation) -> bool {
        if self
            .operation
            .as_deref()
            .is_some_and(|id| op.operation_id.as_deref() != Some(id))
        {
            return false;
        }
        if self.method.as_ref().is_some_and(|m| *m != op.method) {
            return false;
        }
        match &self.path {
            None => true,
            Some(PathMatch::Template(template)) => *template == op.path_template,
            Some(PathMatch::Exact(path)) => match spec.route(&op.method, path) {
                RouteMatch::Found { operation, .. } => std::ptr::eq(spec.operation(operation), op),
                _ => false,
            },
        }
    }

    /// Two recordings of the same request.
    fn same_request(&self, other: &Matcher) -> bool {
        self.operation == other.operation
            && self.method == other.method
            && self.path == other.path
            && self.params == other.params
            && self.query == other.query
            && self.query_exact == other.query_exact
            && self.body_match == other.body_match
            && match (&self.body, &other.body) {
                (Some(a), Some(b)) => matching::bodies_equal(a, b, &self.ignore_fields),
                (None, None) => true,
                _ => false,
            }
            && self.state == other.state
            && self.call == other.call
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_removes_and_replaces() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": "x"});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": 9, "c": null}, "d": [2, 3], "f": true}),
        );
        assert_eq!(
            doc,
            json!({"a": {"b": 9}, "d": [2, 3], "e": "x", "f": true})
        );
        let mut list = json!({"items": [{"s": "ok", "n": 1}, {"s": "ok", "n": 2}]});
        merge_patch(&mut list, &json!({"items": {"s": "failed"}}));
        assert_eq!(
            list,
            json!({"items": [{"s": "failed", "n": 1}, {"s": "failed", "n": 2}]})
        );
    }

    #[test]
    fn calls_count_every_from_up_to_and_lists() {
        assert!(Calls::Every(3).includes(6) && !Calls::Every(3).includes(4));
        assert!(Calls::From(2).includes(2) && !Calls::From(2).includes(1));
        assert!(Calls::UpTo(2).includes(2) && !Calls::UpTo(2).includes(3));
        assert!(Calls::List(vec![1, 4]).includes(4) && !Calls::List(vec![1, 4]).includes(2));
    }
}
