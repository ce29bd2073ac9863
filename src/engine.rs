//! The request pipeline over plain `http` types (no axum in here), and the running mock that
//! owns the current World and the Runtime.
//!
//! route -> `Prefer` -> security -> request validation -> decide (a status chosen on purpose,
//! a domain handler, or the spec's examples) -> response validation -> [`Outcome`].
//!
//! The Outcome says what was decided and why: the operation, the [`Source`] that chose the
//! answer, the violations on either side, the error codes and the timings. The journal, the
//! log line and the live page are all made from it. Only this module validates responses;
//! whether an answer still needs it is a property of its source ([`Source::validated_before`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::auth;
use crate::config::Sources;
use crate::domain::evals::Evals;
pub use crate::domain::evals::SubmitSettings;
use crate::domain::{Answer, HandlerInput};
use crate::error::{ApiError, MockError};
use crate::journal::{Direction, Exchange, Journal, Kept, Side};
use crate::reload::{ReloadReport, Trigger};
use crate::respond::assembled::Assembled;
pub use crate::respond::response_violations;
use crate::respond::{self, Preference, Reply, ReplyBody};
use crate::runtime::Runtime;
use crate::scenarios::{
    self, Delay, Fault, FaultKind, Picked, RequestView, Scenario, ScenarioState,
};
use crate::spec::{Operation, RouteMatch};
use crate::validate::{self, RequestInput, Violation};
use crate::world::{ApiVersion, LoadError, World};

// The mock's headers as `HeaderName`s: every request looks them up, and a name given as text
// is parsed again for each lookup.

/// The response header that marks an answer made by the mock rather than the API.
pub const MOCK_ERROR_HEADER: HeaderName = HeaderName::from_static("evalmock-error");
/// The mock's own request header that picks the API version to answer with (not the
/// vendor's); answers carry it too, naming the version that answered.
pub const API_VERSION_HEADER: HeaderName = HeaderName::from_static("evalmock-api-version");
/// The mock's own request header that picks a scenario for one request (`none`: no scenario),
/// whatever scenario is active.
pub const SCENARIO_HEADER: HeaderName = HeaderName::from_static("evalmock-scenario");
/// `Prefer` (RFC 7240), which http has no constant for.
const PREFER: HeaderName = HeaderName::from_static("prefer");

/// What to do when a response the mock built breaks the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseValidation {
    /// Replace it with a 500 naming the violations (the default: fixtures never drift silently).
    #[default]
    Strict,
    /// Log the violations and send the response anyway.
    Warn,
}

/// How the running mock behaves; fixed for the life of the process (a reload changes files,
/// not options).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub response_validation: ResponseValidation,
    /// Pause between two server-sent events (realistic pacing; zero in tests).
    pub stream_interval: Duration,
    pub submit: SubmitSettings,
    /// Entries the journal keeps (`--journal-size`); 0 records nothing.
    pub journal_size: usize,
    /// Bytes of each body the journal keeps (`--journal-body-limit`).
    pub journal_body_limit: usize,
    /// Accept any token, not only those shaped like the API's credentials.
    pub accept_any_token: bool,
    /// Delay before every answer (`--latency`), unless a scenario or `Prefer: delay` says
    /// otherwise.
    pub latency: Option<Delay>,
    /// Seed of the random source that draws delays from ranges (`--seed`).
    pub seed: u64,
    /// The scenario active from the start (`--scenario`; `replay` with `--replay DIR`).
    pub scenario: Option<String>,
    /// With `--replay DIR`: a request no recording matches gets a mock error naming the
    /// closest recordings, instead of the fixtures' answer.
    pub replay_strict: bool,
    /// Pace of replayed event streams: 2.0 plays them twice as fast as recorded.
    pub replay_speed: f64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            response_validation: ResponseValidation::Strict,
            stream_interval: Duration::from_millis(40),
            submit: SubmitSettings::default(),
            journal_size: crate::journal::DEFAULT_CAPACITY,
            journal_body_limit: crate::journal::DEFAULT_BODY_LIMIT,
            accept_any_token: false,
            latency: None,
            seed: 1,
            scenario: None,
            replay_strict: false,
            replay_speed: 1.0,
        }
    }
}

/// One incoming request, as the engine needs it.
#[derive(Debug)]
pub struct MockRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// One outgoing response.
#[derive(Debug)]
pub struct MockResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: MockBody,
}

#[derive(Debug)]
pub enum MockBody {
    Full(Bytes),
    /// Assembled from a prepared template: sent as its bytes, journaled as its recipe.
    Assembled(Assembled),
    /// SSE messages (already framed), sent one by one, each after its pause.
    Events {
        messages: Vec<Bytes>,
        pauses: Pauses,
    },
}

/// The pauses before the messages of an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pauses {
    /// The same pause before every message but the first (`--stream-interval-ms`).
    Every(Duration),
    /// One pause per message (recorded pacing).
    Each(Vec<Duration>),
}

impl Pauses {
    pub fn before(&self, index: usize) -> Duration {
        match self {
            Pauses::Every(_) if index == 0 => Duration::ZERO,
            Pauses::Every(pause) => *pause,
            Pauses::Each(pauses) => pauses.get(index).copied().unwrap_or_default(),
        }
    }
}

/// How the server delivers an answer: after a delay, and possibly broken on purpose (a
/// scenario's or `Prefer`'s latency and fault). Deciding is the engine's; carrying it out
/// needs the connection, so the server does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub delay: Duration,
    pub fault: Option<Fault>,
}

/// Who chose the answer. Later modes (scenarios, upstream, replay) add their own variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A fixture answer prepared and validated when the World was loaded, whole or assembled
    /// from validated parts (`respond::assembled`).
    Prepared,
    /// Computed by the domain for this request from fixtures and runtime state.
    Domain,
    /// Computed by the domain and validated for an earlier request with the same inputs.
    Remembered,
    /// A named example of the spec.
    Example { name: String },
    /// A value generated from the response schema.
    Generated,
    /// A status chosen on purpose with `Prefer: code=NNN`.
    Prefer { code: u16 },
    /// Refused by the operation's security requirements (the API's 401).
    Auth,
    /// Refused by request validation (the API's 400).
    Validation,
    /// The mock's own complaint (no such route, an undeclared `Prefer` code...).
    MockError { kind: &'static str },
    /// A rule of a scenario (a recording, when the scenario is `replay`).
    Scenario { scenario: String, rule: String },
    /// Forwarded to the real API by `evalmock proxy`, which answered it.
    Upstream,
}

impl Source {
    /// Answers from these sources were validated before this request; the engine does not
    /// validate them again.
    pub fn validated_before(&self) -> bool {
        matches!(self, Source::Prepared | Source::Remembered)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Source::Prepared => "prepared",
            Source::Domain => "domain",
            Source::Remembered => "remembered",
            Source::Example { .. } => "example",
            Source::Generated => "generated",
            Source::Prefer { .. } => "prefer",
            Source::Auth => "auth",
            Source::Validation => "validation",
            Source::MockError { .. } => "mock-error",
            Source::Scenario { .. } => "scenario",
            Source::Upstream => "upstream",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            Source::Example { name } => Some(name.clone()),
            Source::Prefer { code } => Some(format!("code={code}")),
            Source::MockError { kind } => Some((*kind).to_string()),
            Source::Scenario { scenario, rule } => Some(format!("{scenario}: {rule}")),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "kind": self.kind(), "detail": self.detail() })
    }
}

/// How long the parts of the pipeline took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    pub total: Duration,
    pub response_validation: Duration,
}

/// What the engine decided for one request, and why.
#[derive(Debug)]
pub struct Outcome {
    pub response: MockResponse,
    /// The operation's name (operationId, else `METHOD /path`); `None` when no route matched.
    pub operation: Option<Arc<str>>,
    /// The API version that answered; `None` when the requested one is not served.
    pub api_version: Option<Arc<str>>,
    pub source: Source,
    pub request_violations: Vec<Violation>,
    pub response_violations: Vec<Violation>,
    /// The codes of the error body's details (or the mock error's kind); empty on success.
    pub error_codes: Vec<String>,
    pub timings: Timings,
    /// Delay and fault the server carries out.
    pub delivery: Delivery,
}

impl Outcome {
    /// An Outcome for a request the mock refused before the engine saw it (a body too large).
    pub fn mock_error(error: &MockError) -> Outcome {
        Outcome {
            response: mock_error_response(error),
            operation: None,
            api_version: None,
            source: Source::MockError { kind: error.kind() },
            request_violations: Vec::new(),
            response_violations: Vec::new(),
            error_codes: vec![error.kind().to_string()],
            timings: Timings::default(),
            delivery: Delivery::default(),
        }
    }

    /// The journal's record of this exchange.
    pub fn journal_entry(&self, request: &MockRequest<'_>, time_ms: i64) -> Exchange {
        let response_body = match &self.response.body {
            MockBody::Full(bytes) => Kept::Bytes(bytes.clone()),
            MockBody::Assembled(assembled) => Kept::Recipe(assembled.recipe.clone()),
            MockBody::Events { messages, .. } => Kept::Bytes(Bytes::from(messages.concat())),
        };
        Exchange {
            time_ms,
            method: request.method.clone(),
            path: request.path.to_string(),
            query: request.query.map(str::to_string),
            operation: self.operation.clone(),
            api_version: self.api_version.clone(),
            status: self.response.status,
            source: self.source.clone(),
            duration: self.timings.total,
            error_codes: self.error_codes.clone(),
            violations: self
                .request_violations
                .iter()
                .map(|v| (Direction::Request, v.clone()))
                .chain(
                    self.response_violations
                        .iter()
                        .map(|v| (Direction::Response, v.clone())),
                )
                .collect(),
            delivery: self.delivery.clone(),
            request: Side::new(request.headers, Kept::Bytes(request.body.clone())),
            response: Side::new(&self.response.headers, response_body),
        }
    }

    /// The one INFO line per request: what was asked, who answered, and why it failed if it
    /// did. A status chosen on purpose or a client's mistake is not the mock's error, so every
    /// line is INFO; a response that breaks the spec is a WARN.
    pub fn log(&self, request: &MockRequest<'_>) {
        // The line is put together here and handed to tracing whole: formatting its parts
        // through tracing's field machinery (a float with `{:.2}`, a `Display` per part) was a
        // tenth of a request's instructions at default settings. Nothing is put together when
        // the line would not be written (`RUST_LOG=error`).
        let warn = !self.response_violations.is_empty();
        let wanted = if warn {
            tracing::enabled!(target: "evalmock::request", tracing::Level::WARN)
        } else {
            tracing::enabled!(target: "evalmock::request", tracing::Level::INFO)
        };
        if !wanted {
            return;
        }
        let mut line = String::with_capacity(128);
        line.push_str(request.method.as_str());
        line.push(' ');
        // A huge path (a 10 MB id) is not written to the log whole.
        line.push_str(&crate::error::clip(request.path));
        line.push(' ');
        line.push_str(self.operation.as_deref().unwrap_or("-"));
        line.push_str(" -> ");
        push_decimal(&mut line, u64::from(self.response.status.as_u16()));
        line.push(' ');
        line.push_str(self.source.kind());
        line.push(' ');
        push_milliseconds(&mut line, self.timings.total);
        if warn {
            tracing::warn!(
                target: "evalmock::request",
                "{line} response breaks the spec: {}",
                codes_and_paths(&self.response_violations)
            );
        } else if self.error_codes.is_empty() {
            tracing::info!(target: "evalmock::request", "{line}");
        } else {
            tracing::info!(
                target: "evalmock::request",
                "{line} [{}]",
                self.error_codes.join(", ")
            );
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Appends a duration as milliseconds with two decimals (`0.42ms`), rounded half up.
fn push_milliseconds(out: &mut String, duration: Duration) {
    let hundredths = (duration.as_nanos().saturating_add(5_000) / 10_000).min(u128::from(u64::MAX));
    let hundredths = hundredths as u64;
    push_decimal(out, hundredths / 100);
    out.push('.');
    let fraction = hundredths % 100;
    if fraction < 10 {
        out.push('0');
    }
    push_decimal(out, fraction);
    out.push_str("ms");
}

fn codes_and_paths(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} at {}", v.code.as_str(), display_path(&v.path)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(body)" } else { path }
}

/// The running mock: the current World (swapped whole on reload), the Runtime, the options.
#[derive(Debug)]
pub struct Mock {
    world: ArcSwap<World>,
    runtime: Runtime,
    options: EngineOptions,
    sources: Sources,
}

impl Mock {
    /// Loads the first World from `sources`.
    pub fn load(sources: Sources, options: EngineOptions) -> Result<Mock, LoadError> {
        let world = World::load(&sources, 1)?;
        if let Some(name) = &options.scenario
            && world.scenarios.get(name).is_none()
        {
            return Err(LoadError::UnknownScenario {
                requested: name.clone(),
                available: world.scenarios.names().join(", "),
            });
        }
        world.log_spec_warnings();
        Ok(Mock::new(world, sources, options))
    }

    pub fn new(world: World, sources: Sources, options: EngineOptions) -> Mock {
        let runtime = Runtime::new(
            Journal::new(options.journal_size, options.journal_body_limit),
            options.submit,
            ScenarioState::new(options.scenario.clone(), options.seed),
        );
        Mock {
            world: ArcSwap::from_pointee(world),
            runtime,
            options,
            sources,
        }
    }

    /// The World requests are answered from now.
    pub fn world(&self) -> Arc<World> {
        self.world.load_full()
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Loads the files again and, when everything loads and validates, swaps the new World in.
    /// A broken edit keeps the current World serving. Blocking: call it off the async runtime.
    pub fn reload(&self, trigger: Trigger) -> ReloadReport {
        let started = Instant::now();
        let generation = self.world.load().generation + 1;
        let loaded = World::load(&self.sources, generation);
        let report = ReloadReport::new(trigger, started.elapsed(), loaded.as_ref().err());
        report.log();
        // The report first: whoever sees the new World also sees the reload that made it.
        self.runtime.set_last_reload(report.clone());
        if let Ok(world) = loaded {
            world.log_spec_warnings();
            self.world.store(Arc::new(world));
            self.runtime.journal.detach_recipes();
        }
        self.runtime
            .journal
            .announce(crate::journal::Event::Reload(report.to_json()));
        report
    }

    /// Answers one request and says why.
    pub async fn handle(&self, request: &MockRequest<'_>) -> Outcome {
        let started = Instant::now();
        let world = self.world.load();
        let wanted = request
            .headers
            .get(API_VERSION_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
        let version = match wanted {
            None => Ok(world.default_version()),
            Some(name) => world.version(&name).ok_or(name),
        };
        let mut outcome = match version {
            Ok(version) => Pipeline {
                world: &world,
                version,
                runtime: &self.runtime,
                options: &self.options,
            }
            .run(request),
            Err(requested) => Outcome::mock_error(&MockError::UnknownApiVersion {
                requested,
                served: world
                    .versions()
                    .iter()
                    .map(|v| v.name.to_string())
                    .collect(),
            }),
        };
        outcome.timings.total = started.elapsed();
        outcome
    }
}

/// One request's trip through one World, answered by one API version.
struct Pipeline<'a> {
    world: &'a World,
    version: &'a ApiVersion,
    runtime: &'a Runtime,
    options: &'a EngineOptions,
}

/// What `decide` chose, before response validation.
struct Decision {
    reply: Reply,
    source: Source,
    request_violations: Vec<Violation>,
    error_codes: Vec<String>,
    memo_key: Option<String>,
    /// Headers a scenario rule adds.
    headers: Vec<(http::HeaderName, HeaderValue)>,
    /// Per-event framing of literal (recorded) events: name, id, pause before.
    framing: Option<Vec<EventFraming>>,
    delivery: Delivery,
}

#[derive(Debug, Clone)]
struct EventFraming {
    event: Option<String>,
    id: Option<String>,
    pause: Duration,
}

impl Decision {
    fn new(reply: Reply, source: Source) -> Decision {
        Decision {
            reply,
            source,
            request_violations: Vec::new(),
            error_codes: Vec::new(),
            memo_key: None,
            headers: Vec::new(),
            framing: None,
            delivery: Delivery::default(),
        }
    }
}

/// The request as the engine reads it once: the `Prefer` header and the body as JSON.
struct Reading<'r> {
    request: &'r MockRequest<'r>,
    path_params: &'r [(String, String)],
    preference: Preference,
    /// Parsed only if a scenario rule or a simulated error looks at it: the usual path
    /// parses the body once, in request validation.
    body: std::cell::OnceCell<Option<Value>>,
}

impl Reading<'_> {
    /// The body as JSON, when it is JSON.
    fn body(&self) -> Option<&Value> {
        self.body
            .get_or_init(|| {
                (!self.request.body.is_empty())
                    .then(|| serde_json::from_slice::<Value>(self.request.body).ok())
                    .flatten()
            })
            .as_ref()
    }
}

impl Pipeline<'_> {
    fn run(&self, request: &MockRequest<'_>) -> Outcome {
        let spec = &self.version.spec;
        let (index, path_params) = match spec.route(request.method, request.path) {
            RouteMatch::Found { operation, params } => (operation, params),
            RouteMatch::MethodNotAllowed { allowed } => {
                return Outcome::mock_error(&MockError::MethodNotAllowed {
                    method: request.method.clone(),
                    path: request.path.to_string(),
                    allowed,
                });
            }
            RouteMatch::NotFound => {
                return Outcome::mock_error(&MockError::NoRoute {
                    method: request.method.clone(),
                    path: request.path.to_string(),
                });
            }
        };
        let op = spec.operation(index);
        let mut outcome = match self.decide(index, op, request, &path_params) {
            Ok(decision) => self.finish(op, decision),
            Err(error) => Outcome::mock_error(&error),
        };
        outcome.operation = Some(op.name.clone());
        outcome.api_version = Some(self.version.name.clone());
        if let Ok(value) = HeaderValue::from_str(&self.version.name) {
            outcome.response.headers.insert(API_VERSION_HEADER, value);
        }
        outcome
    }

    /// `Prefer`, then the scenario's rule, then the usual answer; the Decision says which.
    fn decide(
        &self,
        index: usize,
        op: &Operation,
        request: &MockRequest<'_>,
        path_params: &[(String, String)],
    ) -> Result<Decision, MockError> {
        let preference = Preference::parse(
            request
                .headers
                .get_all(PREFER)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )?;
        if let Some(code) = preference.code
            && op.response(code).is_none()
        {
            return Err(MockError::UndeclaredPreferredStatus {
                operation: op.display_name(),
                requested: code,
                declared: op.declared_statuses(),
            });
        }
        if let Some(name) = &preference.example {
            let status = preference.code.unwrap_or_else(|| op.success_status());
            let names = respond::example_names(op, status);
            if !names.contains(name) {
                return Err(MockError::UnknownExample {
                    message: respond::unknown_example_message(op, status, name, &names),
                    available: names,
                });
            }
        }
        let reading = Reading {
            request,
            path_params,
            body: std::cell::OnceCell::new(),
            preference,
        };
        let scenario = self.scenario(request)?;
        let picked = match scenario {
            Some(scenario) => self.pick(scenario, op, &reading)?,
            None => None,
        };
        // A `Prefer` that chooses the answer wins over the scenario's rule; the rule's delay
        // and fault still apply.
        let preference = &reading.preference;
        let chooses =
            preference.code.is_some() || preference.example.is_some() || preference.dynamic;
        let rule = picked.and_then(|p| p.response);
        let mut decision = self.answer(index, op, &reading, rule.filter(|_| !chooses))?;
        if let Some(picked) = picked.filter(|_| !chooses) {
            decision.source = Source::Scenario {
                scenario: picked.scenario.name.clone(),
                rule: picked.rule.name.clone(),
            };
        }
        decision.delivery = Delivery {
            delay: preference
                .delay
                .or(rule.and_then(|r| r.delay))
                .or(scenario.and_then(|s| s.latency))
                .or(self.options.latency)
                .map(|delay| self.runtime.scenarios.sample(delay))
                .unwrap_or_default(),
            fault: preference
                .fault
                .map(Fault::of)
                .or_else(|| rule.and_then(|r| r.fault.clone())),
        };
        self.break_stream_on_purpose(index, &mut decision);
        Ok(decision)
    }

    /// The scenario that steers this request: the `evalmock-scenario` header's, else the
    /// active one.
    fn scenario(&self, request: &MockRequest<'_>) -> Result<Option<&Scenario>, MockError> {
        let scenarios = &self.world.scenarios;
        match request.headers.get(SCENARIO_HEADER) {
            Some(value) => {
                let name = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
                if name == scenarios::NONE {
                    return Ok(None);
                }
                scenarios
                    .get(&name)
                    .map(Some)
                    .ok_or_else(|| MockError::UnknownScenario {
                        requested: name,
                        available: scenarios.names(),
                    })
            }
            None => Ok(self
                .runtime
                .scenarios
                .active()
                .and_then(|name| scenarios.get(&name))),
        }
    }

    /// The scenario's rule for this request. With `--replay-strict`, a request no recording
    /// matches is the mock's error, naming the closest recordings and how they differ.
    fn pick<'s>(
        &self,
        scenario: &'s Scenario,
        op: &Operation,
        reading: &Reading<'_>,
    ) -> Result<Option<Picked<'s>>, MockError> {
        let view = RequestView {
            operation: op,
            method: reading.request.method,
            path: reading.request.path,
            path_params: reading.path_params,
            query: reading.request.query,
            headers: reading.request.headers,
            body: reading.body(),
        };
        let picked = self.runtime.scenarios.pick(scenario, &view);
        if picked.is_none() && self.options.replay_strict && scenario.name == scenarios::REPLAY {
            let state = self.runtime.scenarios.state_of(scenario);
            let mut closest: Vec<(String, Vec<String>)> = scenario
                .rules
                .iter()
                .filter(|rule| rule.matcher.method.as_ref() == Some(reading.request.method))
                .map(|rule| (rule.origin.clone(), rule.matcher.differences(&view, &state)))
                .collect();
            closest.sort_by_key(|(_, differences)| differences.len());
            closest.truncate(3);
            return Err(MockError::NoRecording {
                method: reading.request.method.clone(),
                path: reading.request.path.to_string(),
                closest,
            });
        }
        Ok(picked)
    }

    /// The answer: a status chosen on purpose (`Prefer: code`, a failing rule) before
    /// authentication and validation, as a failing server gives it; else authentication,
    /// validation, and the rule's literal body or the usual answer (domain, examples), with
    /// the rule's status, patch and headers.
    fn answer(
        &self,
        index: usize,
        op: &Operation,
        reading: &Reading<'_>,
        rule: Option<&scenarios::Response>,
    ) -> Result<Decision, MockError> {
        let preference = &reading.preference;
        if let Some(code) = preference.code.filter(|c| !(200..300).contains(c)) {
            return self.simulated(index, op, code, reading, Source::Prefer { code });
        }
        if let Some(failure) = rule.filter(|r| r.fails_before_checks()) {
            let mut decision = match failure.literal_reply(&self.version.spec, op) {
                Some(reply) => Decision::new(reply.map_err(literal_error)?, Source::Generated),
                None => {
                    let status = failure.status.unwrap_or(500);
                    self.simulated(index, op, status, reading, Source::Generated)?
                }
            };
            self.apply_rule(&mut decision, failure);
            return Ok(decision);
        }
        let principal = match auth::authenticate(
            &op.security,
            reading.request.headers,
            reading.request.query,
            &self.world.fixtures,
            &self.version.auth,
            self.options.accept_any_token,
        ) {
            Ok(principal) => principal,
            Err(failure) => {
                let detail = failure.detail(self.version.auth.key_hint.as_deref());
                return self.api_error(op, &ApiError::Unauthorized(detail), Source::Auth);
            }
        };
        let input = RequestInput {
            path_params: reading.path_params,
            query: reading.request.query,
            headers: reading.request.headers,
            body: reading.request.body,
        };
        let valid = match validate::validate_request(op, &input) {
            Ok(valid) => valid,
            Err(violations) => {
                let mut decision = self.api_error(
                    op,
                    &ApiError::InvalidRequest(violations.clone()),
                    Source::Validation,
                )?;
                decision.request_violations = violations;
                return Ok(decision);
            }
        };
        if let Some(literal) = rule.and_then(|r| r.literal_reply(&self.version.spec, op)) {
            let mut decision = Decision::new(literal.map_err(literal_error)?, Source::Generated);
            if let Some(rule) = rule {
                if let Some(scenarios::LiteralBody::Events(events)) = &rule.body {
                    decision.framing = Some(self.framing(events));
                }
                self.apply_rule(&mut decision, rule);
            }
            return Ok(decision);
        }
        if let Some((rule, code)) = rule.and_then(|r| Some((r, r.error_status()?))) {
            let mut decision = self.simulated(index, op, code, reading, Source::Generated)?;
            self.apply_rule(&mut decision, rule);
            return Ok(decision);
        }
        let success = op.success_status();
        let status = preference
            .code
            .or(rule.and_then(|r| r.status))
            .unwrap_or(success);
        // An operation may declare no status to answer with (3.1 allows no `responses`): the
        // mock says so itself rather than sending an undeclared status.
        if op.response(status).is_none() {
            return Err(MockError::UndeclaredStatus {
                operation: op.display_name(),
                status,
                declared: op.declared_statuses(),
                details: Vec::new(),
            });
        }
        let wants_example = preference.example.is_some() || preference.dynamic;
        let mut decision = match self.version.binding(index) {
            Some(binding) if status == success && !wants_example => {
                let input = HandlerInput {
                    fixtures: &self.world.fixtures,
                    request: &valid,
                    principal: &principal,
                    submissions: &self.runtime.submissions,
                    memo: &self.runtime.memo,
                    generation: self.world.generation,
                    version: &self.version.name,
                };
                match self.version.evals.handle(binding, &input) {
                    Ok(Answer::Prepared(bytes)) => {
                        Decision::new(Reply::json_bytes(200, bytes), Source::Prepared)
                    }
                    Ok(Answer::Assembled(assembled)) => {
                        Decision::new(Reply::assembled(200, assembled), Source::Prepared)
                    }
                    Ok(Answer::Remembered(bytes)) => {
                        Decision::new(Reply::json_bytes(200, bytes), Source::Remembered)
                    }
                    Ok(Answer::Computed { reply, memo_key }) => Decision {
                        memo_key,
                        ..Decision::new(reply, Source::Domain)
                    },
                    Err(error) => self.api_error(op, &error, Source::Domain)?,
                }
            }
            _ => {
                if let Some(chain) =
                    respond::unsatisfiable_answer(&self.version.spec, op, status, preference)
                {
                    return Err(MockError::UnsatisfiableSchema {
                        operation: op.name.to_string(),
                        status,
                        chain: chain.to_string(),
                    });
                }
                let (reply, example) = respond::example_reply_with(
                    &self.version.spec,
                    op,
                    status,
                    preference,
                    self.version.realism.as_ref(),
                );
                let source = match example {
                    Some(name) => Source::Example { name },
                    None => Source::Generated,
                };
                Decision::new(reply, source)
            }
        };
        if let Some(rule) = rule {
            self.apply_rule(&mut decision, rule);
        }
        Ok(decision)
    }

    /// The API's own error for a status chosen on purpose, worded by the domain where it
    /// knows the operation (its not-found code naming the request's id, its quota...).
    fn simulated(
        &self,
        index: usize,
        op: &Operation,
        code: u16,
        reading: &Reading<'_>,
        source: Source,
    ) -> Result<Decision, MockError> {
        let domain_detail = self.version.binding(index).and_then(|binding| {
            Evals::simulated_error(
                code,
                binding,
                reading.body(),
                reading.path_params,
                &self.runtime.submissions,
            )
        });
        let error = match domain_detail {
            Some(detail) => ApiError::Simulated {
                status: code,
                detail,
            },
            None => respond::simulated_error(op, code, reading.body(), reading.path_params),
        };
        self.api_error(op, &error, source)
    }

    /// A rule's patch and headers on the answer. A patched answer is not remembered: it is
    /// this rule's, not the domain's.
    fn apply_rule(&self, decision: &mut Decision, rule: &scenarios::Response) {
        if let Some(patch) = &rule.patch {
            let body = match std::mem::replace(&mut decision.reply.body, ReplyBody::Empty) {
                ReplyBody::Bytes(bytes) | ReplyBody::Assembled(Assembled { bytes, .. }) => {
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                }
                ReplyBody::Json(value) => value,
                other => {
                    decision.reply.body = other;
                    return;
                }
            };
            let mut body = body;
            scenarios::merge_patch(&mut body, patch);
            decision.reply.body = ReplyBody::Json(body);
            decision.memo_key = None;
        }
        decision.headers.extend(rule.headers.iter().cloned());
    }

    /// Pauses and names of literal events; recorded pacing scaled by `--replay-speed`.
    fn framing(&self, events: &[scenarios::Event]) -> Vec<EventFraming> {
        let speed = if self.options.replay_speed > 0.0 {
            self.options.replay_speed
        } else {
            1.0
        };
        events
            .iter()
            .map(|e| EventFraming {
                event: e.event.clone(),
                id: e.id.clone(),
                pause: e
                    .delay
                    .map(|d| d.div_f64(speed))
                    .unwrap_or(self.options.stream_interval),
            })
            .collect()
    }

    /// `stream-error`: the stream's first events, then the API version's own error event
    /// (part of the answer, so it is validated like the rest); the fault is then done.
    fn break_stream_on_purpose(&self, index: usize, decision: &mut Decision) {
        let Some(fault) = decision
            .delivery
            .fault
            .clone()
            .filter(|f| f.kind == FaultKind::StreamError)
        else {
            return;
        };
        let ReplyBody::EventStream(events) = &mut decision.reply.body else {
            return;
        };
        let keep = fault.after.unwrap_or(events.len() / 2).min(events.len());
        events.truncate(keep);
        let message = fault
            .message
            .as_deref()
            .unwrap_or("the service failed while running the eval; retry the request");
        let failures = match self.version.binding(index) {
            Some(_) => self.version.evals.stream_failure(events, message),
            None => vec![json!({"type": "error", "error": {"message": message}})],
        };
        let added = failures.len();
        events.extend(failures);
        if let Some(framing) = &mut decision.framing {
            framing.truncate(keep);
            framing.extend((0..added).map(|_| EventFraming {
                event: None,
                id: None,
                pause: self.options.stream_interval,
            }));
        }
        decision.delivery.fault = None;
    }

    /// The API's own error, rendered in the operation's declared error schema.
    fn api_error(
        &self,
        op: &Operation,
        error: &ApiError,
        source: Source,
    ) -> Result<Decision, MockError> {
        let reply = respond::render_api_error(&self.version.spec, op, error)?;
        Ok(Decision {
            error_codes: error.details().into_iter().map(|d| d.code).collect(),
            ..Decision::new(reply, source)
        })
    }

    /// Validates the decision's reply (unless its source was validated before), remembers a
    /// valid computed answer that asked to be, and serialises it.
    fn finish(&self, op: &Operation, decision: Decision) -> Outcome {
        let Decision {
            reply,
            source,
            request_violations,
            mut error_codes,
            memo_key,
            headers,
            framing,
            delivery,
        } = decision;
        let started = Instant::now();
        let response_violations = if source.validated_before() {
            Vec::new()
        } else {
            response_violations(op, &reply)
        };
        let response_validation = started.elapsed();
        // A generated body is built to be valid: one that is not is the generator's bug, said
        // at ERROR with where the value and the schema disagree (and journaled as a violation).
        if source == Source::Generated {
            for violation in &response_violations {
                tracing::error!(
                    target: "evalmock::generate",
                    "generated body for {} {} breaks its schema at instance path {:?}, schema path {}: {}",
                    op.display_name(),
                    reply.status,
                    violation.path,
                    violation.schema_path.as_deref().unwrap_or("-"),
                    violation.message
                );
            }
        }
        // A replayed recording is what the real API answered: its violations are reported,
        // and it is sent as recorded.
        let replayed =
            matches!(&source, Source::Scenario { scenario, .. } if scenario == scenarios::REPLAY);
        let reply = if response_violations.is_empty()
            || replayed
            || self.options.response_validation == ResponseValidation::Warn
        {
            reply
        } else {
            let error = ApiError::ResponseInvalid(response_violations.clone());
            match respond::render_api_error(&self.version.spec, op, &error) {
                Ok(error_reply) => {
                    error_codes = error.details().into_iter().map(|d| d.code).collect();
                    error_reply
                }
                Err(error) => {
                    let mut outcome = Outcome::mock_error(&error);
                    outcome.response_violations = response_violations;
                    return outcome;
                }
            }
        };
        let remember = memo_key.filter(|_| response_violations.is_empty());
        let mut response = self.to_mock_response(reply, remember, framing);
        for (name, value) in headers {
            response.headers.insert(name, value);
        }
        Outcome {
            response,
            operation: None,
            api_version: None,
            source,
            request_violations,
            response_violations,
            error_codes,
            timings: Timings {
                total: Duration::ZERO,
                response_validation,
            },
            delivery,
        }
    }

    /// A whole body, remembered under `remember` (a validated answer the domain computed).
    fn full(&self, bytes: Bytes, remember: Option<String>) -> MockBody {
        self.remember(remember, &bytes);
        MockBody::Full(bytes)
    }

    /// Keeps `bytes` in the memo under `key`, if there is one.
    fn remember(&self, key: Option<String>, bytes: &Bytes) {
        if let Some(key) = key {
            self.runtime
                .memo
                .insert(self.world.generation, key, bytes.clone());
        }
    }

    fn to_mock_response(
        &self,
        reply: Reply,
        remember: Option<String>,
        framing: Option<Vec<EventFraming>>,
    ) -> MockResponse {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = &reply.content_type
            && let Ok(value) = HeaderValue::from_str(content_type)
        {
            headers.insert(header::CONTENT_TYPE, value);
        }
        if let Some(marker) = reply.mock_marker {
            headers.insert(MOCK_ERROR_HEADER, HeaderValue::from_static(marker));
        }
        let body = match reply.body {
            ReplyBody::Empty => MockBody::Full(Bytes::new()),
            ReplyBody::Json(value) => self.full(Bytes::from(value.to_string()), remember),
            ReplyBody::Bytes(bytes) => self.full(bytes, remember),
            ReplyBody::Assembled(assembled) => {
                self.remember(remember, &assembled.bytes);
                MockBody::Assembled(assembled)
            }
            ReplyBody::EventStream(events) => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                let framing = framing.unwrap_or_default();
                let messages = events
                    .iter()
                    .enumerate()
                    .map(|(i, data)| sse_message(data, framing.get(i)))
                    .collect();
                let pauses = if framing.is_empty() {
                    Pauses::Every(self.options.stream_interval)
                } else {
                    Pauses::Each(framing.iter().map(|f| f.pause).collect())
                };
                MockBody::Events { messages, pauses }
            }
        };
        MockResponse {
            status: StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body,
        }
    }
}

/// One server-sent event: `event:` and `id:` when given, the payload as `data:` (JSON as
/// JSON text; a string as is, one `data:` line per line).
fn sse_message(data: &Value, framing: Option<&EventFraming>) -> Bytes {
    let mut out = String::new();
    if let Some(framing) = framing {
        if let Some(event) = &framing.event {
            out.push_str(&format!("event: {event}\n"));
        }
        if let Some(id) = &framing.id {
            out.push_str(&format!("id: {id}\n"));
        }
    }
    match data {
        Value::String(text) => {
            for line in text.split('\n') {
                out.push_str("data: ");
                out.push_str(line);
                out.push('\n');
            }
        }
        other => {
            out.push_str("data: ");
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
    out.push('\n');
    Bytes::from(out)
}

/// A literal of a rule that cannot be built (checked at load; only a spec edited under a
/// running scenario gets here).
fn literal_error(message: String) -> MockError {
    MockError::UnknownExample {
        message,
        available: Vec::new(),
    }
}

/// Renders a [`MockError`] as `application/problem+json` with the `evalmock-error` header.
fn mock_error_response(error: &MockError) -> MockResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(MOCK_ERROR_HEADER, HeaderValue::from_static(error.kind()));
    if let MockError::MethodNotAllowed { allowed, .. } = error {
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = HeaderValue::from_str(&allow) {
            headers.insert(header::ALLOW, value);
        }
    }
    MockResponse {
        status: StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
        headers,
        body: MockBody::Full(Bytes::from(error.to_problem().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's memory rests on this: an assembled compare-record answer is recorded as
    /// its recipe (a few words), which writes the bytes that were sent, not as a copy of them.
    #[tokio::test]
    async fn an_assembled_answer_is_journaled_as_its_recipe() {
        let mock = Mock::load(Sources::default(), EngineOptions::default()).expect("loads");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer rt_test_journal"),
        );
        let body = Bytes::from_static(
            br#"{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001","stepIds":["step_01jv0000000000000000000002"]}"#,
        );
        let request = MockRequest {
            method: &Method::POST,
            path: "/v1/eval/compare-record",
            query: None,
            headers: &headers,
            body: &body,
        };
        let outcome = mock.handle(&request).await;
        assert_eq!(outcome.response.status, StatusCode::OK);
        let MockBody::Assembled(sent) = &outcome.response.body else {
            panic!("an assembled answer, got {:?}", outcome.source);
        };
        let exchange = outcome.journal_entry(&request, 0);
        let Kept::Recipe(recipe) = &exchange.response.body else {
            panic!("the journal keeps the recipe, not bytes");
        };
        assert_eq!(recipe.bytes(), sent.bytes);
        assert_eq!(exchange.response.body_bytes, sent.bytes.len());
    }

    #[test]
    fn the_log_line_writes_milliseconds_with_two_decimals() {
        let shown = |nanos: u64| {
            let mut out = String::new();
            push_milliseconds(&mut out, Duration::from_nanos(nanos));
            out
        };
        assert_eq!(shown(0), "0.00ms");
        assert_eq!(shown(4_999), "0.00ms");
        assert_eq!(shown(5_000), "0.01ms");
        assert_eq!(shown(94_999), "0.09ms");
        assert_eq!(shown(100_000), "0.10ms");
        assert_eq!(shown(420_000), "0.42ms");
        assert_eq!(shown(1_005_000), "1.01ms");
        assert_eq!(shown(12_345_678_901), "12345.68ms");
        let mut out = String::new();
        push_decimal(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }

    #[test]
    fn a_stream_sends_its_first_event_at_once_and_paces_the_rest() {
        let every = Pauses::Every(Duration::from_millis(250));
        assert_eq!(every.before(0), Duration::ZERO);
        assert_eq!(every.before(1), Duration::from_millis(250));
        assert_eq!(every.before(7), Duration::from_millis(250));
        // Recorded pacing: each message its own pause, none past the recording.
        let each = Pauses::Each(vec![Duration::from_millis(5), Duration::from_millis(40)]);
        assert_eq!(each.before(0), Duration::from_millis(5));
        assert_eq!(each.before(1), Duration::from_millis(40));
        assert_eq!(each.before(2), Duration::ZERO);
    }
}
