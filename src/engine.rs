//! The request pipeline, as plain functions over `http` types (no axum in here):
//!
//! route -> `Prefer` -> security -> request validation -> choose a reply (a status chosen on
//! purpose, a domain handler, or the spec's examples) -> response validation -> bytes.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::auth::{self, Principal};
use crate::domain::evals::{Evals, SubmitSettings};
use crate::domain::{EvalOperation, HandlerInput};
use crate::error::{ApiError, MockError};
use crate::fixtures::{FixtureError, FixtureStore};
use crate::respond::{self, Preference, Reply, ReplyBody};
use crate::spec::{Operation, RouteMatch, Spec};
use crate::validate::{self, RequestInput, ValidRequest, Violation, ViolationCode};

/// The response header that marks an answer made by the mock rather than the API.
pub const MOCK_ERROR_HEADER: &str = "evalmock-error";

/// What to do when a response the mock built breaks the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseValidation {
    /// Replace it with a 500 naming the violations (the default: fixtures never drift silently).
    #[default]
    Strict,
    /// Log the violations and send the response anyway.
    Warn,
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub response_validation: ResponseValidation,
    /// Pause between two server-sent events (realistic pacing; zero in tests).
    pub stream_interval: Duration,
    /// Bare `Authorization` values accepted as bearer tokens (Runtype's docs send `rt_...`).
    pub bare_key_prefixes: Vec<String>,
    pub submit: SubmitSettings,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            response_validation: ResponseValidation::Strict,
            stream_interval: Duration::from_millis(40),
            bare_key_prefixes: vec!["rt_".into()],
            submit: SubmitSettings::default(),
        }
    }
}

/// One incoming request, as the engine needs it.
pub struct MockRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
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

impl MockBody {
    /// The whole body, for callers that do not stream (tests, the proxy).
    pub fn concatenated(&self) -> Bytes {
        match self {
            MockBody::Full(bytes) => bytes.clone(),
            MockBody::Events { messages, .. } => Bytes::from(messages.concat()),
        }
    }
}

/// Everything loaded and compiled: immutable, shared by all requests.
#[derive(Debug)]
pub struct Mock {
    spec: Spec,
    fixtures: FixtureStore,
    /// Per operation index: the domain handler serving it, if any.
    bindings: Vec<Option<EvalOperation>>,
    evals: Evals,
    options: EngineOptions,
}

impl Mock {
    /// Binds the spec's operations to domain handlers and precomputes (and validates) every
    /// fixture-derived response.
    pub fn new(
        spec: Spec,
        fixtures: FixtureStore,
        options: EngineOptions,
    ) -> Result<Mock, FixtureError> {
        let bindings: Vec<Option<EvalOperation>> = spec
            .operations()
            .iter()
            .map(|op| EvalOperation::bind(&op.method, &op.path_template))
            .collect();
        let bound: Vec<(EvalOperation, &Operation)> = bindings
            .iter()
            .zip(spec.operations())
            .filter_map(|(binding, op)| binding.map(|b| (b, op)))
            .collect();
        let evals = Evals::prepare(&fixtures, &bound, options.submit)?;
        Ok(Mock {
            spec,
            fixtures,
            bindings,
            evals,
            options,
        })
    }

    /// Restores the fixture state: submitted evals are forgotten, quotas restored.
    pub fn reset(&self) {
        self.evals.reset();
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    pub fn fixtures(&self) -> &FixtureStore {
        &self.fixtures
    }

    /// Operations served by a domain handler rather than by examples.
    pub fn bound_operations(&self) -> impl Iterator<Item = &Operation> {
        self.spec
            .operations()
            .iter()
            .zip(&self.bindings)
            .filter(|(_, b)| b.is_some())
            .map(|(op, _)| op)
    }

    pub fn handle(&self, request: &MockRequest<'_>) -> MockResponse {
        let (operation, path_params) = match self.spec.route(request.method, request.path) {
            RouteMatch::Found { operation, params } => (operation, params),
            RouteMatch::MethodNotAllowed { allowed } => {
                return mock_error(&MockError::MethodNotAllowed {
                    method: request.method.clone(),
                    path: request.path.to_string(),
                    allowed,
                });
            }
            RouteMatch::NotFound => {
                return mock_error(&MockError::NoRoute {
                    method: request.method.clone(),
                    path: request.path.to_string(),
                });
            }
        };
        let op = self.spec.operation(operation);
        match self.respond(operation, op, request, &path_params) {
            Ok(reply) => self.finish(op, reply),
            Err(error) => mock_error(&error),
        }
    }

    fn respond(
        &self,
        index: usize,
        op: &Operation,
        request: &MockRequest<'_>,
        path_params: &[(String, String)],
    ) -> Result<Reply, MockError> {
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
            let error = respond::simulated_error(op, code, body.as_ref(), path_params);
            return respond::render_api_error(&self.spec, op, &error);
        }
        let principal = match auth::authenticate(
            &op.security,
            request.headers,
            request.query,
            &self.fixtures,
            &self.options.bare_key_prefixes,
        ) {
            Ok(principal) => principal,
            Err(failure) => {
                return respond::render_api_error(&self.spec, op, &ApiError::Unauthorized(failure));
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
                return respond::render_api_error(
                    &self.spec,
                    op,
                    &ApiError::InvalidRequest(violations),
                );
            }
        };
        let success = op.success_status();
        let wants_example = preference.example.is_some() || preference.dynamic;
        let status = preference.code.unwrap_or(success);
        match self.bindings[index] {
            Some(binding) if status == success && !wants_example => {
                match self.handle_bound(binding, &valid, &principal) {
                    Ok(reply) => Ok(reply),
                    Err(error) => respond::render_api_error(&self.spec, op, &error),
                }
            }
            _ => Ok(respond::example_reply(&self.spec, op, status, &preference)),
        }
    }

    fn to_mock_response(&self, reply: Reply) -> MockResponse {
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
            ReplyBody::Json(value) => MockBody::Full(Bytes::from(value.to_string())),
            ReplyBody::Prevalidated(bytes) => MockBody::Full(bytes),
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

    fn handle_bound(
        &self,
        binding: EvalOperation,
        request: &ValidRequest,
        principal: &Principal,
    ) -> Result<Reply, ApiError> {
        let input = HandlerInput {
            fixtures: &self.fixtures,
            request,
            principal,
        };
        self.evals.handle(binding, &input)
    }

    /// Validates the reply against the operation's declared response, then serialises it.
    fn finish(&self, op: &Operation, reply: Reply) -> MockResponse {
        let violations = response_violations(op, &reply);
        if violations.is_empty() {
            return self.to_mock_response(reply);
        }
        for violation in &violations {
            tracing::warn!(
                operation = %op.display_name(),
                status = reply.status,
                path = %violation.path,
                schema_path = violation.schema_path.as_deref().unwrap_or(""),
                "response breaks the spec: {}",
                violation.message
            );
        }
        match self.options.response_validation {
            ResponseValidation::Warn => self.to_mock_response(reply),
            ResponseValidation::Strict => {
                match respond::render_api_error(
                    &self.spec,
                    op,
                    &ApiError::ResponseInvalid(violations),
                ) {
                    Ok(error_reply) => self.to_mock_response(error_reply),
                    Err(error) => mock_error(&error),
                }
            }
        }
    }
}

/// What is wrong with a reply against the operation's declared response for its status.
fn response_violations(op: &Operation, reply: &Reply) -> Vec<Violation> {
    let Some(response) = op.response(reply.status) else {
        return vec![Violation {
            code: ViolationCode::ResponseSchemaViolation,
            path: String::new(),
            message: format!("status {} is not declared", reply.status),
            suggestion: None,
            schema_path: None,
        }];
    };
    let body = match &reply.body {
        ReplyBody::Json(body) => Some(body),
        ReplyBody::EventStream(_) => None,
        // Empty bodies carry nothing to check; prevalidated ones were checked at load.
        ReplyBody::Empty | ReplyBody::Prevalidated(_) => return Vec::new(),
    };
    let content_type = reply.content_type.as_deref().unwrap_or_default();
    let Some(media) = validate::match_media_type(&response.content, content_type) else {
        if response.content.is_empty() {
            return Vec::new();
        }
        return vec![Violation {
            code: ViolationCode::ResponseSchemaViolation,
            path: String::new(),
            message: format!(
                "content type {content_type:?} is not declared for status {}",
                reply.status
            ),
            suggestion: None,
            schema_path: None,
        }];
    };
    let checked: Vec<Violation> = match (&reply.body, body) {
        (ReplyBody::EventStream(events), _) => match &media.item_schema {
            Some(schema) => events
                .iter()
                .enumerate()
                .flat_map(|(i, event)| {
                    validate::schema_violations(schema, event)
                        .into_iter()
                        .map(move |mut v| {
                            v.path = if v.path.is_empty() {
                                format!("events[{i}]")
                            } else {
                                format!("events[{i}].{}", v.path)
                            };
                            v
                        })
                })
                .collect(),
            None => Vec::new(),
        },
        (_, Some(body)) => match &media.schema {
            Some(schema) => validate::schema_violations(schema, body),
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    checked
        .into_iter()
        .map(|mut v| {
            v.code = ViolationCode::ResponseSchemaViolation;
            v
        })
        .collect()
}

/// Renders a [`MockError`] as `application/problem+json` with the `evalmock-error` header.
pub fn mock_error(error: &MockError) -> MockResponse {
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
