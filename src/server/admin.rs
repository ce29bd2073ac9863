//! The admin API under `/__mock/` (described by `specs/admin.yaml`) and the live page.
//!
//! Everything here reads or steers the running mock: the journal, the World's origins, the
//! Runtime's state, a reload. Problems are RFC 9457 problem documents with the
//! `evalmock-error` header, like every complaint of the mock itself.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use crate::engine::MOCK_ERROR_HEADER;
use crate::journal::{Event, Filter, StatusFilter};
use crate::reload::Trigger;

/// Keeps other web pages away from the admin API: any web page a developer visits could
/// otherwise reset the mock or read the journal (it holds request bodies) through the browser.
/// A request carrying an `Origin` other than the mock's own is refused, whatever its method;
/// a state-changing request must also be JSON or carry the `evalmock-admin` header, which no
/// HTML form can send. Non-browser clients (curl, tests, CI) send no `Origin` and pass.
pub(super) async fn guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    if let super::AdminAccess::Token(token) = &state.admin
        && !carries_token(&request, token)
    {
        return problem(
            StatusCode::UNAUTHORIZED,
            "admin-token-required",
            "The admin API needs the admin token",
            "This mock was started with --admin-token: send it as the header `evalmock-admin-token`, or open the page as /__mock/?admin_token=<token>.",
        );
    }
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host));
        if !same {
            return problem(
                StatusCode::FORBIDDEN,
                "cross-origin-admin",
                "The admin API refuses other web pages",
                &format!(
                    "Origin {origin:?} is not this mock ({host}); use the mock's own page at /__mock/, or a client that sends no Origin (curl, scripts)."
                ),
            );
        }
    }
    let changes_state = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if changes_state && !json && !headers.contains_key(ADMIN_HEADER) {
        return problem(
            StatusCode::FORBIDDEN,
            "not-an-admin-request",
            "State-changing admin requests must say they are meant",
            "Send `Content-Type: application/json` or the header `evalmock-admin: 1` (no HTML form can send either, so a cross-site form cannot reset the mock).",
        );
    }
    next.run(request).await
}

/// Whether the request carries the admin token, as a header or as the `admin_token` query
/// parameter (an `EventSource` cannot send headers).
fn carries_token(request: &Request, token: &str) -> bool {
    let header = request
        .headers()
        .get("evalmock-admin-token")
        .is_some_and(|v| v.as_bytes() == token.as_bytes());
    header
        || form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .any(|(k, v)| k == "admin_token" && v == token)
}

/// The header that marks a state-changing admin request as meant (see [`guard`]).
const ADMIN_HEADER: &str = "evalmock-admin";

/// The live page: plain HTML, CSS and JS in one file, embedded so it works offline.
const PAGE: &str = include_str!("page.html");
/// Entries `GET /__mock/requests` returns when no `limit` is given, and the most it returns.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// A comment line sent on an idle feed, so proxies and browsers keep the connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) async fn page_redirect() -> Redirect {
    Redirect::permanent("/__mock/")
}

pub(super) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// What is loaded and how the mock is doing: for people checking it, and for scripts waiting
/// for it to be ready. `degraded` when the last reload failed (the last good files serve).
pub(super) async fn health(State(state): State<Arc<AppState>>) -> Response {
    let mock = &state.mock;
    let world = mock.world();
    let runtime = mock.runtime();
    let last_reload = runtime.last_reload();
    let status = match &last_reload {
        Some(report) if !report.ok() => "degraded",
        _ => "ok",
    };
    let (memo_entries, memo_bytes) = runtime.memo.usage();
    let default = world.default_version();
    let describe = |version: &crate::world::ApiVersion| {
        json!({
            "apiVersion": version.name.as_ref(),
            "title": version.spec.title,
            "origin": version.spec.origin,
            "openapi": version.spec.version.to_string(),
            "operations": version.spec.operations().iter().map(|op| op.name.as_ref()).collect::<Vec<_>>(),
            "handledByFixtures": version.bound_operations().map(|op| op.name.as_ref()).collect::<Vec<_>>(),
            "warnings": version.spec.warnings().iter().map(crate::spec::SpecWarning::to_json).collect::<Vec<_>>(),
            "basePaths": version.spec.base_paths(),
            "notServed": version.spec.not_served(),
        })
    };
    axum::Json(json!({
        "status": status,
        "spec": describe(default),
        "apiVersions": world.versions().iter().map(|v| v.name.as_ref()).collect::<Vec<_>>(),
        "specs": world.versions().iter().map(describe).collect::<Vec<_>>(),
        "fixtures": {
            "origin": world.fixtures_origin,
            "evalGroups": world.fixtures.groups().iter().map(|g| g.group.eval_group_id.as_str()).collect::<Vec<_>>(),
        },
        "activeStreams": runtime.active_streams(),
        "journal": {
            "entries": runtime.journal.len(),
            "capacity": runtime.journal.capacity(),
            "subscribers": runtime.journal.subscribers(),
        },
        "memo": { "entries": memo_entries, "bytes": memo_bytes },
        "watching": state.watching,
        "lastReload": last_reload.map(|r| r.to_json()),
    }))
    .into_response()
}

/// An admin request's body, read like the API's bodies: bounded in size (`--body-limit`) and
/// in time (`--request-timeout`). A state change that ignored its body would leave a half-sent
/// one for hyper to drain without a clock, holding the connection (issue 11).
async fn read_admin_body(
    state: &AppState,
    request: Request,
    what: &str,
) -> Result<Bytes, Response> {
    let (parts, body) = request.into_parts();
    super::read_body(
        &parts.headers,
        body,
        state.body_limit,
        state.timeouts.request,
    )
    .await
    .map_err(|error| {
        problem(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            error.kind(),
            &format!("The {what} request cannot be read"),
            error.to_problem()["detail"].as_str().unwrap_or_default(),
        )
    })
}

/// Restores the fixtures' state (submitted evals forgotten, quota restored, memo cleared);
/// the journal is kept. A body is read (within the limits) and ignored.
pub(super) async fn reset(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if let Err(refused) = read_admin_body(&state, request, "reset").await {
        return refused;
    }
    state.mock.runtime().reset();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /__mock/scenario`: the active scenario and every loaded one.
pub(super) async fn scenario(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(scenario_json(&state)).into_response()
}

fn scenario_json(state: &AppState) -> Value {
    let world = state.mock.world();
    let runtime = state.mock.runtime();
    let active = runtime.scenarios.active();
    let current = active.as_deref().and_then(|name| world.scenarios.get(name));
    json!({
        "active": active.as_deref(),
        "state": current.map(|s| runtime.scenarios.state_of(s)),
        "scenarios": world.scenarios.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
    })
}

/// `PUT /__mock/scenario` with `{"name": "flaky"}` (or `null` / `"none"` for none): makes it
/// the active scenario, started afresh (call counts and state from the start).
pub(super) async fn set_scenario(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let body = match read_admin_body(&state, request, "scenario").await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let names = state.mock.world().scenarios.names();
    let wanted = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) if object.contains_key("name") => match &object["name"] {
            Value::Null => Ok(None),
            Value::String(name) if name == crate::scenarios::NONE => Ok(None),
            Value::String(name) => Ok(Some(name.clone())),
            _ => Err("`name` must be a string or null".to_string()),
        },
        Ok(_) => Err("send a JSON object with `name`".to_string()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    };
    let wanted = match wanted {
        Ok(wanted) => wanted,
        Err(message) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-scenario-request",
                "The scenario request cannot be understood",
                &format!(
                    "{message}, e.g. {{\"name\": \"flaky\"}} or {{\"name\": null}}; scenarios: {}",
                    names.join(", ")
                ),
            );
        }
    };
    if let Some(name) = &wanted
        && !names.contains(name)
    {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown-scenario",
            "The requested scenario is not loaded",
            &format!(
                "no scenario is named {name:?}; the scenarios are {} (files in the fixture folder's scenarios/)",
                names.join(", ")
            ),
        );
    }
    tracing::info!(
        "scenario {} is active",
        wanted.as_deref().unwrap_or(crate::scenarios::NONE)
    );
    state.mock.runtime().scenarios.activate(wanted);
    axum::Json(scenario_json(&state)).into_response()
}

/// Loads the files again now: 200 with the result when the new files serve, 422 when they are
/// broken (the last good files keep serving). A body is read (within the limits) and ignored.
pub(super) async fn reload(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if let Err(refused) = read_admin_body(&state, request, "reload").await {
        return refused;
    }
    let mock = state.mock.clone();
    let report = match tokio::task::spawn_blocking(move || mock.reload(Trigger::Admin)).await {
        Ok(report) => report,
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reload-failed",
                "The reload did not finish",
                &format!("loading the files stopped unexpectedly: {e}"),
            );
        }
    };
    let status = if report.ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, axum::Json(report.to_json())).into_response()
}

pub(super) async fn list_requests(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
    let filter = match parse_filter(request.uri().query().unwrap_or_default()) {
        Ok(filter) => filter,
        Err(detail) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-admin-request",
                "The journal filter cannot be understood",
                &detail,
            );
        }
    };
    let journal = &state.mock.runtime().journal;
    let entries: Vec<Value> = journal.query(&filter).iter().map(|e| e.to_json()).collect();
    axum::Json(json!({
        "entries": entries,
        "total": journal.len(),
        "capacity": journal.capacity(),
    }))
    .into_response()
}

pub(super) async fn clear_requests(State(state): State<Arc<AppState>>) -> Response {
    state.mock.runtime().journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// New journal entries, clears and reload results as server-sent events, until the client
/// goes away or the server shuts down.
pub(super) async fn request_stream(State(state): State<Arc<AppState>>) -> Response {
    let receiver = state.mock.runtime().journal.subscribe();
    let closing = state.closing.clone();
    let hello = futures_util::stream::once(async {
        Ok::<Bytes, std::convert::Infallible>(Bytes::from_static(b": connected\n\n"))
    });
    let events = futures_util::stream::unfold(
        (receiver, closing),
        |(mut receiver, mut closing)| async move {
            if *closing.borrow() {
                return None;
            }
            let message = tokio::select! {
                event = receiver.recv() => match event {
                    Ok(event) => sse_message(&event),
                    // A slow reader missed some entries: say so; the page refetches.
                    Err(RecvError::Lagged(missed)) => format!("event: lagged\ndata: {{\"missed\":{missed}}}\n\n"),
                    Err(RecvError::Closed) => return None,
                },
                _ = closing.changed() => return None,
                _ = tokio::time::sleep(KEEP_ALIVE) => ": keep-alive\n\n".to_string(),
            };
            Some((Ok(Bytes::from(message)), (receiver, closing)))
        },
    );
    let mut response = Response::new(Body::from_stream(futures_util::StreamExt::chain(
        hello, events,
    )));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn sse_message(event: &Event) -> String {
    match event {
        Event::Entry(entry) => format!(
            "id: {}\nevent: entry\ndata: {}\n\n",
            entry.id,
            entry.to_json()
        ),
        Event::Cleared => "event: cleared\ndata: {}\n\n".to_string(),
        Event::Reload(report) => format!("event: reload\ndata: {report}\n\n"),
    }
}

/// The served document of the default API version (or `?version=`): JSON by default, YAML
/// with `?format=yaml` or `Accept: application/yaml`.
pub(super) async fn spec(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let world = state.mock.world();
    let query = request.uri().query().unwrap_or_default();
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let format = param("format").map(|v| v.to_ascii_lowercase());
    let version = match param("version") {
        None => world.default_version(),
        Some(name) => match world.version(&name) {
            Some(version) => version,
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-admin-request",
                    "Unknown API version",
                    &format!(
                        "version={name:?} is not served; use one of {}.",
                        world
                            .versions()
                            .iter()
                            .map(|v| v.name.as_ref())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        },
    };
    let accepts_yaml = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("yaml"));
    let yaml = match format.as_deref() {
        Some("yaml" | "yml") => true,
        Some("json") => false,
        Some(other) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-admin-request",
                "Unknown spec format",
                &format!("format={other:?} is not served; use format=json or format=yaml."),
            );
        }
        None => accepts_yaml,
    };
    let document = version.spec_json();
    if yaml {
        match serde_norway::to_string(&document) {
            Ok(text) => ([(header::CONTENT_TYPE, "application/yaml")], text).into_response(),
            Err(e) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The spec cannot be written as YAML",
                &e.to_string(),
            ),
        }
    } else {
        axum::Json(document).into_response()
    }
}

fn parse_filter(query: &str) -> Result<Filter, String> {
    let mut filter = Filter {
        limit: DEFAULT_LIMIT,
        ..Filter::default()
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "operation" if !value.is_empty() => filter.operation = Some(value.into_owned()),
            "status" if !value.is_empty() => {
                filter.status = Some(StatusFilter::parse(&value).ok_or_else(|| {
                    format!("status={value:?} is neither a status (404) nor a class (4xx)")
                })?);
            }
            "since" if !value.is_empty() => {
                filter.since = Some(value.parse().map_err(|_| {
                    format!("since={value:?} must be an entry id (a whole number)")
                })?);
            }
            "limit" if !value.is_empty() => {
                filter.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        format!("limit={value:?} must be a whole number from 1 to {MAX_LIMIT}")
                    })?;
            }
            _ => {}
        }
    }
    Ok(filter)
}

fn problem(status: StatusCode, kind: &'static str, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("urn:evalmock:error:{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/problem+json"),
            (MOCK_ERROR_HEADER, kind),
        ],
        body.to_string(),
    )
        .into_response()
}
