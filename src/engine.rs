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
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::auth;
use crate::config::Sources;
use crate::domain::evals::Evals;
pub use crate::domain::evals::SubmitSettings;
use crate::domain::{Answer, HandlerInput};
use crate::error::{ApiError, MockError};
use crate::journal::{Direction, Exchange, Journal, Side};
use crate::reload::{ReloadReport, Trigger};
use crate::respond::{self, Preference, Reply, ReplyBody};
use crate::runtime::Runtime;
use crate::spec::{Operation, RouteMatch};
use crate::validate::{self, RequestInput, Violation, ViolationCode};
use crate::world::{ApiVersion, LoadError, World};

/// The response header that marks an answer made by the mock rather than the API.
pub const MOCK_ERROR_HEADER: &str = "evalmock-error";
/// The mock's own request header that picks the API version to answer with (not the
/// vendor's); answers carry it too, naming the version that answered.
pub const API_VERSION_HEADER: &str = "evalmock-api-version";

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
    /// SSE messages (already framed), sent one by one with `interval` between them.
    Events {
        messages: Vec<Bytes>,
        interval: Duration,
    },
}

/// Who chose the answer. Later modes (scenarios, upstream, replay) add their own variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A fixture answer prepared and validated when the World was loaded.
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
            Source::Upstream => "upstream",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            Source::Example { name } => Some(name.clone()),
            Source::Prefer { code } => Some(format!("code={code}")),
            Source::MockError { kind } => Some((*kind).to_string()),
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
        }
    }

    /// The journal's record of this exchange.
    pub fn journal_entry(&self, request: &MockRequest<'_>, time_ms: i64) -> Exchange {
        let response_body = match &self.response.body {
            MockBody::Full(bytes) => bytes.clone(),
            MockBody::Events { messages, .. } => Bytes::from(messages.concat()),
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
            request: Side::new(request.headers, request.body.clone()),
            response: Side::new(&self.response.headers, response_body),
        }
    }

    /// The one INFO line per request: what was asked, who answered, and why it failed if it
    /// did. A status chosen on purpose or a client's mistake is not the mock's error, so every
    /// line is INFO; a response that breaks the spec is a WARN.
    pub fn log(&self, request: &MockRequest<'_>) {
        let operation = self.operation.as_deref().unwrap_or("-");
        let status = self.response.status.as_u16();
        let ms = self.timings.total.as_secs_f64() * 1e3;
        let source = self.source.kind();
        if !self.response_violations.is_empty() {
            tracing::warn!(
                target: "evalmock::request",
                "{} {} {operation} -> {status} {source} {ms:.2}ms response breaks the spec: {}",
                request.method,
                request.path,
                codes_and_paths(&self.response_violations)
            );
        } else if self.error_codes.is_empty() {
            tracing::info!(
                target: "evalmock::request",
                "{} {} {operation} -> {status} {source} {ms:.2}ms",
                request.method,
                request.path,
            );
        } else {
            tracing::info!(
                target: "evalmock::request",
                "{} {} {operation} -> {status} {source} {ms:.2}ms [{}]",
                request.method,
                request.path,
                self.error_codes.join(", ")
            );
        }
    }
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
        Ok(Mock::new(world, sources, options))
    }

    pub fn new(world: World, sources: Sources, options: EngineOptions) -> Mock {
        let runtime = Runtime::new(
            Journal::new(options.journal_size, options.journal_body_limit),
            options.submit,
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
            self.world.store(Arc::new(world));
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
}

impl Decision {
    fn new(reply: Reply, source: Source) -> Decision {
        Decision {
            reply,
            source,
            request_violations: Vec::new(),
            error_codes: Vec::new(),
            memo_key: None,
        }
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
                .get_all("prefer")
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
        // A status chosen on purpose skips authentication and validation: it is reachable
        // with any request, which is the point of choosing it.
        if let Some(code) = preference.code.filter(|c| !(200..300).contains(c)) {
            let body = serde_json::from_slice::<Value>(request.body).ok();
            let domain_detail = self
                .version
                .binding(index)
                .and_then(|_| Evals::simulated_error(code, &self.runtime.submissions));
            let error = match domain_detail {
                Some(detail) => ApiError::Simulated {
                    status: code,
                    detail,
                },
                None => respond::simulated_error(op, code, body.as_ref(), path_params),
            };
            return self.api_error(op, &error, Source::Prefer { code });
        }
        let principal = match auth::authenticate(
            &op.security,
            request.headers,
            request.query,
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
            path_params,
            query: request.query,
            headers: request.headers,
            body: request.body,
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
        let success = op.success_status();
        let status = preference.code.unwrap_or(success);
        let wants_example = preference.example.is_some() || preference.dynamic;
        match self.version.binding(index) {
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
                        Ok(Decision::new(json_bytes(bytes), Source::Prepared))
                    }
                    Ok(Answer::Remembered(bytes)) => {
                        Ok(Decision::new(json_bytes(bytes), Source::Remembered))
                    }
                    Ok(Answer::Computed { reply, memo_key }) => Ok(Decision {
                        memo_key,
                        ..Decision::new(reply, Source::Domain)
                    }),
                    Err(error) => self.api_error(op, &error, Source::Domain),
                }
            }
            _ => {
                let (reply, example) =
                    respond::example_reply(&self.version.spec, op, status, &preference);
                let source = match example {
                    Some(name) => Source::Example { name },
                    None => Source::Generated,
                };
                Ok(Decision::new(reply, source))
            }
        }
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
        } = decision;
        let started = Instant::now();
        let response_violations = if source.validated_before() {
            Vec::new()
        } else {
            response_violations(op, &reply)
        };
        let response_validation = started.elapsed();
        let reply = if response_violations.is_empty()
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
        let response = self.to_mock_response(reply, remember);
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
        }
    }

    fn to_mock_response(&self, reply: Reply, remember: Option<String>) -> MockResponse {
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
            ReplyBody::Json(value) => {
                let bytes = Bytes::from(value.to_string());
                if let Some(key) = remember {
                    self.runtime
                        .memo
                        .insert(self.world.generation, key, bytes.clone());
                }
                MockBody::Full(bytes)
            }
            ReplyBody::Bytes(bytes) => MockBody::Full(bytes),
            ReplyBody::EventStream(events) => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                MockBody::Events {
                    messages: events
                        .iter()
                        .map(|e| Bytes::from(format!("data: {e}\n\n")))
                        .collect(),
                    interval: self.options.stream_interval,
                }
            }
        };
        MockResponse {
            status: StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body,
        }
    }
}

fn json_bytes(bytes: Bytes) -> Reply {
    Reply {
        status: 200,
        content_type: Some("application/json".into()),
        body: ReplyBody::Bytes(bytes),
        mock_marker: None,
    }
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
        ReplyBody::Bytes(bytes) => match (&media.schema, serde_json::from_slice::<Value>(bytes)) {
            (Some(schema), Ok(body)) => validate::schema_violations(schema, &body),
            (Some(_), Err(e)) => vec![response_violation(format!("the body is not JSON: {e}"))],
            (None, _) => Vec::new(),
        },
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
