//! The two kinds of error evalmock sends, and the one place each becomes a status and a body.
//!
//! - [`ApiError`]: what the API itself would answer (401, 404, a 400 with details...). It is
//!   rendered in the error schema the operation declares for that status (see `respond`).
//! - [`MockError`]: a complaint of the mock itself (no such path, an undeclared `Prefer` code).
//!   It is always RFC 9457 `application/problem+json` with an `evalmock-error` header, so it is
//!   never mistaken for the API's own answer.

use http::Method;
use serde_json::{Value, json};

use crate::validate::Violation;

/// One entry of Runtype's `details[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetail {
    pub code: String,
    pub path: Option<String>,
    pub message: String,
    pub suggestion: Option<String>,
}

/// The most characters of a request value (an id, a path) an error message or a log line
/// quotes: a 10 MB id echoed back whole costs the client and the log 10 MB (issue 11).
pub const QUOTE_LIMIT: usize = 200;

/// `text` cut to [`QUOTE_LIMIT`] characters with an ellipsis and the full length, so a message
/// still says that the value was long. The one place error texts are shortened.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTE_LIMIT) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} bytes in all)", &text[..end], text.len()))
        }
    }
}

impl ErrorDetail {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorDetail {
            code: code.to_string(),
            path: None,
            message: message.into(),
            suggestion: None,
        }
    }

    pub fn suggest(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let mut detail = serde_json::Map::new();
        detail.insert("code".into(), self.code.clone().into());
        if let Some(path) = &self.path {
            detail.insert("path".into(), clip(path).into());
        }
        // A message that quotes a huge request value (e.g. a 1 MB id) is clipped.
        detail.insert("message".into(), clip(&self.message).into());
        if let Some(suggestion) = &self.suggestion {
            detail.insert("suggestion".into(), suggestion.clone().into());
        }
        Value::Object(detail)
    }
}

impl From<&Violation> for ErrorDetail {
    fn from(v: &Violation) -> Self {
        ErrorDetail {
            code: v.code.as_str().to_string(),
            path: Some(v.path.clone()),
            message: v.message.clone(),
            suggestion: v.suggestion.clone(),
        }
    }
}

/// An answer of the API itself, in its own error shape.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    InvalidRequest(Vec<Violation>),
    /// Authentication failed; the detail is worded by `auth` with the domain's key hint.
    Unauthorized(ErrorDetail),
    PaymentRequired(ErrorDetail),
    Forbidden(ErrorDetail),
    NotFound(ErrorDetail),
    /// A status chosen on purpose (`Prefer: code=NNN`), with a realistic detail.
    Simulated {
        status: u16,
        detail: ErrorDetail,
    },
    /// The response the mock built breaks the spec (strict response validation).
    ResponseInvalid(Vec<Violation>),
    /// A fault of evalmock itself that is not about the spec.
    Internal(ErrorDetail),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::PaymentRequired(_) => 402,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Simulated { status, .. } => *status,
            ApiError::ResponseInvalid(_) | ApiError::Internal(_) => 500,
        }
    }

    pub fn details(&self) -> Vec<ErrorDetail> {
        match self {
            ApiError::InvalidRequest(violations) => violations.iter().map(ErrorDetail::from).collect(),
            ApiError::Unauthorized(detail)
            | ApiError::PaymentRequired(detail)
            | ApiError::Forbidden(detail)
            | ApiError::NotFound(detail)
            | ApiError::Simulated { detail, .. }
            | ApiError::Internal(detail) => {
                vec![detail.clone()]
            }
            ApiError::ResponseInvalid(violations) => violations
                .iter()
                .map(|v| {
                    let mut detail = ErrorDetail::from(v);
                    detail.message = format!("evalmock built a response that breaks the spec: {}", v.message);
                    detail.suggestion = Some(match &v.schema_path {
                        Some(schema_path) => format!(
                            "Fix the fixture or the spec: the response schema fails at {schema_path}."
                        ),
                        None => "Fix the fixture or the spec.".into(),
                    });
                    detail
                })
                .collect(),
        }
    }

    /// Sent as the `evalmock-error` header where the mock, not the API's semantics, caused it.
    pub fn mock_marker(&self) -> Option<&'static str> {
        match self {
            ApiError::ResponseInvalid(_) => Some("response-invalid"),
            ApiError::Simulated { .. } => Some("simulated"),
            ApiError::Internal(_) => Some("internal"),
            _ => None,
        }
    }
}

/// A complaint of the mock about a request it cannot map onto the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum MockError {
    NoRoute {
        method: Method,
        path: String,
    },
    MethodNotAllowed {
        method: Method,
        path: String,
        allowed: Vec<Method>,
    },
    InvalidPrefer {
        value: String,
        reason: String,
    },
    UndeclaredPreferredStatus {
        operation: String,
        requested: u16,
        declared: Vec<String>,
    },
    /// The API would answer `status`, but the operation declares no such status.
    UndeclaredStatus {
        operation: String,
        status: u16,
        declared: Vec<String>,
        details: Vec<ErrorDetail>,
    },
    BodyTooLarge {
        limit: usize,
    },
    /// The body did not arrive in time (`--request-timeout`): a client that promised more
    /// bytes than it sent, or sends them too slowly, cannot hold a connection forever.
    RequestTimeout {
        after: std::time::Duration,
    },
    /// The `evalmock-api-version` header names a version the mock does not serve.
    UnknownApiVersion {
        requested: String,
        served: Vec<String>,
    },
    /// `Prefer: example=NAME` names no example of the operation's response.
    UnknownExample {
        message: String,
        available: Vec<String>,
    },
    /// The `evalmock-scenario` header names no loaded scenario.
    UnknownScenario {
        requested: String,
        available: Vec<String>,
    },
    /// The answer would be generated from a schema that no finite value satisfies (a `$ref`
    /// cycle through required fields); `chain` is the pointers that show it.
    UnsatisfiableSchema {
        operation: String,
        status: u16,
        chain: String,
    },
    /// `--replay-strict`: no recording matches; the closest ones and how they differ.
    NoRecording {
        method: http::Method,
        path: String,
        /// (recording file, differences), closest first.
        closest: Vec<(String, Vec<String>)>,
    },
}

impl MockError {
    pub fn status(&self) -> u16 {
        match self {
            MockError::NoRoute { .. } => 404,
            MockError::MethodNotAllowed { .. } => 405,
            MockError::InvalidPrefer { .. } | MockError::UndeclaredPreferredStatus { .. } => 400,
            MockError::UndeclaredStatus { status, .. } => match *status {
                s if s >= 500 => 500,
                _ => 400,
            },
            MockError::BodyTooLarge { .. } => 413,
            MockError::RequestTimeout { .. } => 408,
            MockError::UnknownApiVersion { .. } => 400,
            MockError::UnknownExample { .. } | MockError::UnknownScenario { .. } => 400,
            MockError::NoRecording { .. } => 404,
            MockError::UnsatisfiableSchema { .. } => 500,
        }
    }

    /// The `evalmock-error` header value and the problem `type` suffix.
    pub fn kind(&self) -> &'static str {
        match self {
            MockError::NoRoute { .. } => "no-route",
            MockError::MethodNotAllowed { .. } => "method-not-allowed",
            MockError::InvalidPrefer { .. } => "invalid-prefer",
            MockError::UndeclaredPreferredStatus { .. } => "undeclared-prefer-code",
            MockError::UndeclaredStatus { .. } => "undeclared-status",
            MockError::BodyTooLarge { .. } => "body-too-large",
            MockError::RequestTimeout { .. } => "request-timeout",
            MockError::UnknownApiVersion { .. } => "unknown-api-version",
            MockError::UnknownExample { .. } => "unknown-example",
            MockError::UnknownScenario { .. } => "unknown-scenario",
            MockError::NoRecording { .. } => "no-recording",
            MockError::UnsatisfiableSchema { .. } => "unsatisfiable-schema",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            MockError::NoRoute { .. } => "No operation in the spec matches this path",
            MockError::MethodNotAllowed { .. } => {
                "The spec declares this path, but not for this method"
            }
            MockError::InvalidPrefer { .. } => "The Prefer header cannot be understood",
            MockError::UndeclaredPreferredStatus { .. } => {
                "The operation does not declare the preferred status"
            }
            MockError::UndeclaredStatus { .. } => {
                "The operation does not declare the status this request leads to"
            }
            MockError::BodyTooLarge { .. } => "The request body is too large",
            MockError::RequestTimeout { .. } => "The request body did not arrive in time",
            MockError::UnknownApiVersion { .. } => "The requested API version is not served",
            MockError::UnknownExample { .. } => "The preferred example does not exist",
            MockError::UnknownScenario { .. } => "The requested scenario is not loaded",
            MockError::NoRecording { .. } => "No recording matches this request",
            MockError::UnsatisfiableSchema { .. } => {
                "The response schema has no finite value to answer with"
            }
        }
    }

    /// The RFC 9457 problem document.
    pub fn to_problem(&self) -> Value {
        let mut problem = json!({
            "type": format!("urn:evalmock:error:{}", self.kind()),
            "title": self.title(),
            "status": self.status(),
        });
        let (detail, extra): (String, Option<(&str, Value)>) = match self {
            MockError::UnsatisfiableSchema {
                operation,
                status,
                chain,
            } => (
                // The chain first: the detail is clipped to a few hundred characters.
                format!(
                    "{chain}: no finite value satisfies this schema, so {operation} cannot answer {status}. Make one step of the cycle optional or nullable, or add an example (`evalmock check` lists these)."
                ),
                Some(("chain", json!(chain))),
            ),
            MockError::NoRoute { method, path } => (
                format!(
                    "evalmock has no operation for {method} {path}; check the path against the spec (GET /__mock/health lists what is loaded)."
                ),
                None,
            ),
            MockError::MethodNotAllowed {
                method,
                path,
                allowed,
            } => (
                format!(
                    "{path} does not accept {method}; use one of: {}.",
                    method_list(allowed)
                ),
                Some((
                    "allowed",
                    json!(allowed.iter().map(Method::as_str).collect::<Vec<_>>()),
                )),
            ),
            MockError::InvalidPrefer { value, reason } => (
                format!("Prefer: {value:?}: {reason}. Use e.g. `Prefer: code=404`."),
                None,
            ),
            MockError::UndeclaredPreferredStatus {
                operation,
                requested,
                declared,
            } => (
                format!(
                    "{operation} declares the statuses {}, not {requested}; pick one of those.",
                    declared.join(", ")
                ),
                Some(("declared", json!(declared))),
            ),
            MockError::UndeclaredStatus {
                operation,
                status,
                declared,
                details,
            } => (
                if declared.is_empty() {
                    format!(
                        "The API would answer {status} here, but {operation} declares no responses; evalmock will not send an undeclared status (add `responses` to the operation)."
                    )
                } else {
                    format!(
                        "The API would answer {status} here, but {operation} declares only {}; evalmock will not send an undeclared status.",
                        declared.join(", ")
                    )
                },
                Some((
                    "details",
                    Value::Array(details.iter().map(ErrorDetail::to_json).collect()),
                )),
            ),
            MockError::BodyTooLarge { limit } => (
                format!(
                    "The request body exceeds the limit of {limit} bytes; raise --body-limit to accept it."
                ),
                None,
            ),
            MockError::RequestTimeout { after } => (
                format!(
                    "The request body was not complete after {after:?} (is Content-Length larger than the body?); raise --request-timeout for slow clients."
                ),
                None,
            ),
            MockError::UnknownApiVersion { requested, served } => (
                format!(
                    "evalmock-api-version: {requested:?} is not served; send one of {} (or no header for the default).",
                    served.join(", ")
                ),
                Some(("served", json!(served))),
            ),
            MockError::UnknownExample { message, available } => (
                format!("{message}. Send Prefer: example=<one of them>, or no example preference."),
                Some(("available", json!(available))),
            ),
            MockError::UnknownScenario {
                requested,
                available,
            } => (
                format!(
                    "evalmock-scenario: {requested:?} is not loaded; send one of {} or none.",
                    available.join(", ")
                ),
                Some(("available", json!(available))),
            ),
            MockError::NoRecording {
                method,
                path,
                closest,
            } => (
                match closest.first() {
                    Some((file, differences)) => format!(
                        "no recording matches {method} {path} (--replay-strict); the closest, {file}, differs: {}. Record this request, or drop --replay-strict to let the fixtures answer it.",
                        differences.join("; ")
                    ),
                    None => format!(
                        "no recording matches {method} {path} (--replay-strict), and none is of this operation. Record this request, or drop --replay-strict to let the fixtures answer it."
                    ),
                },
                Some((
                    "closest",
                    json!(
                        closest
                            .iter()
                            .map(|(file, differences)| json!({"recording": file, "differences": differences}))
                            .collect::<Vec<_>>()
                    ),
                )),
            ),
        };
        problem["detail"] = clip(&detail).into();
        if let Some((key, value)) = extra {
            problem[key] = value;
        }
        problem
    }
}

fn method_list(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
