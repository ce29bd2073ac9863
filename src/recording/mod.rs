//! Real traffic, seen through the spec: the validating proxy (`evalmock proxy`), the recorder
//! and the HAR importer that turn exchanges into scenario files, and the drift report that
//! reads them back.
//!
//! Everything here speaks one type, [`Recorded`]: one request and the answer it got, whether
//! it came through the proxy or out of a browser's HAR file. The proxy, the importer and the
//! drift report all validate it with [`check`] (the engine's own request and response
//! validation), and the recorder and the importer write it with the one [`writer`], so the
//! same exchange gives the same file whichever way it arrived.

pub mod drift;
pub mod har;
pub mod proxy;
pub mod writer;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::respond::{Reply, ReplyBody};
use crate::spec::{Operation, RouteMatch, Spec};
pub use crate::sse::{SseEvent, SseParser, parse_events};
use crate::validate::{self, RequestInput, Violation};

/// An upstream URL the proxy and `verify` can talk to: `http://` or `https://` and a host.
pub fn is_upstream_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    })
}

/// Makes rustls' ring provider the process's: every reqwest client needs one before it is
/// built (the build has no default provider). Calling it again is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client for an upstream (the proxy's, `verify`'s): HTTPS through rustls with the
/// ring provider and the platform's trusted roots, no redirects followed (they would hide the
/// upstream's own answer), and `connect_timeout` so a dead upstream fails fast.
pub fn upstream_client(
    connect_timeout: std::time::Duration,
    timeout: Option<std::time::Duration>,
) -> Result<reqwest::Client, String> {
    install_tls_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build().map_err(|e| e.to_string())
}

/// One request and the answer it got, as recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// The request path, without the query.
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response: Answer,
    /// When the request was sent, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The origin the exchange was answered by (`http://host:port`).
    pub upstream: String,
    pub duration_ms: u64,
}

/// The answer's body: whole, or a stream of server-sent events with their timing.
#[derive(Debug, Clone)]
pub enum Answer {
    Body(Bytes),
    Events(Vec<SseEvent>),
}

/// Whether a `Content-Type` is an event stream.
pub fn is_event_stream(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|ct| validate::media_essence(ct) == "text/event-stream")
}

pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Which way a violation points, named as the journal and the files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }
}

/// An exchange held against the spec.
#[derive(Debug)]
pub struct Checked<'s> {
    /// `None`: the path routes to no operation of the spec.
    pub operation: Option<&'s Operation>,
    pub violations: Vec<(Side, Violation)>,
}

impl Checked<'_> {
    /// `{direction, code, path, message}` per violation: the `evalmock-violations` header, the
    /// files' `recorded.violations` and the 502 of `--fail-on-violation` all show this.
    pub fn violations_json(&self) -> Value {
        Value::Array(
            self.violations
                .iter()
                .map(|(side, v)| {
                    json!({
                        "direction": side.as_str(),
                        "code": v.code.as_str(),
                        "path": v.path,
                        "message": v.message,
                    })
                })
                .collect(),
        )
    }

    /// The operation's name (operationId, else `METHOD /path`), or `METHOD path` unrouted.
    pub fn operation_name(&self, method: &Method, path: &str) -> String {
        match self.operation {
            Some(op) => op.name.to_string(),
            None => format!("{method} {path}"),
        }
    }
}

/// Validates the request (route, parameters, body) and the request's answer against `spec`,
/// with the engine's own validators.
pub fn check<'s>(spec: &'s Spec, exchange: &Recorded) -> Checked<'s> {
    check_parts(
        spec,
        &exchange.method,
        &exchange.path,
        exchange.query.as_deref(),
        &exchange.request_headers,
        &exchange.request_body,
        Some(&reply_of(exchange)),
    )
}

/// [`check`] over the parts: the proxy validates the request before it has an answer
/// (`reply: None`).
pub fn check_parts<'s>(
    spec: &'s Spec,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    reply: Option<&Reply>,
) -> Checked<'s> {
    let (index, params) = match spec.route(method, path) {
        RouteMatch::Found { operation, params } => (operation, params),
        _ => {
            return Checked {
                operation: None,
                violations: Vec::new(),
            };
        }
    };
    let op = spec.operation(index);
    let input = RequestInput {
        path_params: &params,
        query,
        headers,
        body,
    };
    let mut violations: Vec<(Side, Violation)> = match validate::validate_request(op, &input) {
        Ok(_) => Vec::new(),
        Err(found) => found.into_iter().map(|v| (Side::Request, v)).collect(),
    };
    if let Some(reply) = reply {
        violations.extend(
            crate::engine::response_violations(op, reply)
                .into_iter()
                .map(|v| (Side::Response, v)),
        );
    }
    Checked {
        operation: Some(op),
        violations,
    }
}

/// The answer as the engine's response validation reads it.
pub fn reply_of(exchange: &Recorded) -> Reply {
    reply_from(
        exchange.status,
        &exchange.response_headers,
        &exchange.response,
    )
}

pub fn reply_from(status: u16, headers: &HeaderMap, answer: &Answer) -> Reply {
    let body = match answer {
        Answer::Events(events) => {
            ReplyBody::EventStream(events.iter().map(SseEvent::data_json).collect())
        }
        Answer::Body(bytes) if bytes.is_empty() => ReplyBody::Empty,
        Answer::Body(bytes) => ReplyBody::Bytes(bytes.clone()),
    };
    Reply {
        status,
        content_type: content_type(headers).map(str::to_string),
        body,
        mock_marker: None,
    }
}

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1): never
/// forwarded, never recorded.
pub fn is_hop_by_hop(name: &str) -> bool {
    const HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_reassembled() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"data: {\"a\":", 5).is_empty());
        let events = parser.feed(b"1}\n\nevent: x\ndata: two\n\n", 7);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(events[0].delay_ms, 7);
        assert_eq!(events[1].event.as_deref(), Some("x"));
        assert_eq!(events[1].delay_ms, 0);
        assert!(parser.finish(0).is_none());
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept() {
        let events = parse_events(b"data: 1\n\ndata: 2");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data_json(), json!(2));
    }
}
