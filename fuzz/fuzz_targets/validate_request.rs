//! Request validation against the bundled spec: routing, parameters (path, query, header,
//! cookie; coerced to their schema types) and the body.
//!
//! The input reads like a small HTTP request, so seeds are easy to write by hand:
//!
//! ```text
//! POST /v1/eval/compare-record?limit=3
//! content-type: application/json
//!
//! {"evalGroupId": "..."}
//! ```
//!
//! A request line that routes nowhere is validated against an operation chosen by the
//! input's length, so no input is wasted.
#![no_main]

use std::sync::OnceLock;

use evalmock::spec::{RouteMatch, Spec};
use evalmock::validate::{RequestInput, validate_request};
use libfuzzer_sys::fuzz_target;

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        Spec::load(evalmock::config::BUNDLED_SPEC, "bundled").expect("the bundled spec loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let spec = spec();
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or(("GET", request_line));
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut headers = http::HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.trim().as_bytes()),
                http::HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let method = http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::GET);
    let (operation, params) = match spec.route(&method, path) {
        RouteMatch::Found { operation, params } => (operation, params),
        _ => (data.len() % spec.operations().len(), Vec::new()),
    };
    let input = RequestInput {
        path_params: &params,
        query,
        headers: &headers,
        body,
    };
    let _ = validate_request(spec.operation(operation), &input);
});
