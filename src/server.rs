//! The HTTP shell: axum routing for the admin API under `/__mock/`, everything else through
//! the engine, plus CORS, request tracing and a body limit. The only module that knows axum.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::engine::{MOCK_ERROR_HEADER, Mock, MockBody, MockRequest, MockResponse, mock_error};
use crate::error::MockError;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub mock: Arc<Mock>,
    pub body_limit: usize,
    /// Event streams currently being sent; a stream whose client went away is dropped, and
    /// with it its guard, so this falls back to zero (observable at `/__mock/health`).
    pub active_streams: Arc<AtomicUsize>,
}

impl AppState {
    pub fn new(mock: Mock, body_limit: usize) -> AppState {
        AppState {
            mock: Arc::new(mock),
            body_limit,
            active_streams: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Counts one active stream for as long as it lives.
struct StreamGuard(Arc<AtomicUsize>);

impl StreamGuard {
    fn new(counter: &Arc<AtomicUsize>) -> StreamGuard {
        counter.fetch_add(1, Ordering::SeqCst);
        StreamGuard(counter.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The whole application as an axum router (tests drive it over real HTTP via [`serve`]).
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/__mock/health", get(health))
        .route("/__mock/reset", post(reset))
        .fallback(handle)
        .layer(
            CorsLayer::very_permissive()
                .expose_headers([HeaderName::from_static(MOCK_ERROR_HEADER)]),
        )
        .layer(
            // One span per request; headers are never recorded (they carry API keys).
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<Body>| {
                    // The path only: a query string may carry an API key (apiKey-in-query schemes).
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Serves until `shutdown` completes; the listener is bound by the caller (port 0 in tests).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, state.body_limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return to_axum(
                mock_error(&MockError::BodyTooLarge {
                    limit: state.body_limit,
                }),
                &state,
            );
        }
    };
    let response = state.mock.handle(&MockRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    });
    to_axum(response, &state)
}

/// What is loaded: for humans checking the mock, and for scripts waiting for it to be ready.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let mock = &state.mock;
    let spec = mock.spec();
    axum::Json(json!({
        "status": "ok",
        "spec": {
            "title": spec.title,
            "origin": spec.origin,
            "openapi": spec.version.to_string(),
            "operations": spec.operations().iter().map(|op| op.display_name()).collect::<Vec<_>>(),
            "handledByFixtures": mock.bound_operations().map(|op| op.display_name()).collect::<Vec<_>>(),
        },
        "activeStreams": state.active_streams.load(Ordering::SeqCst),
        "fixtures": {
            "evalGroups": mock.fixtures().groups().iter().map(|g| g.group.eval_group_id.as_str()).collect::<Vec<_>>(),
        },
    }))
    .into_response()
}

/// Restores the fixture state (submitted evals forgotten, quota restored); answers 204.
async fn reset(State(state): State<Arc<AppState>>) -> Response {
    state.mock.reset();
    axum::http::StatusCode::NO_CONTENT.into_response()
}

fn to_axum(response: MockResponse, state: &AppState) -> Response {
    let body = match response.body {
        MockBody::Full(bytes) => Body::from(bytes),
        MockBody::Events { messages, interval } => {
            event_stream(messages, interval, StreamGuard::new(&state.active_streams))
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}

/// Sends SSE messages one at a time, pausing `interval` before each but the first. The work
/// lives inside the body: when the client disconnects, hyper drops the body and the stream
/// (with its guard) stops; no task is left behind.
fn event_stream(messages: Vec<Bytes>, interval: Duration, guard: StreamGuard) -> Body {
    let state = (messages.into_iter(), true, guard);
    let stream =
        futures_util::stream::unfold(state, move |(mut messages, first, guard)| async move {
            let message = messages.next()?;
            if !first && !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            Some((
                Ok::<Bytes, std::convert::Infallible>(message),
                (messages, false, guard),
            ))
        });
    Body::from_stream(stream)
}
