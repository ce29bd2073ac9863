//! The HTTP shell: the admin API and live page under `/__mock/` (see [`admin`]), everything
//! else through the engine, plus CORS and a body limit. The only module that knows axum.
//!
//! Per request: read the body, let the engine decide, record the [`Outcome`] in the journal,
//! write its one log line, send the response. Nothing here decides anything about the API.

mod admin;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::cors::CorsLayer;

use crate::engine::{MOCK_ERROR_HEADER, Mock, MockBody, MockRequest, Outcome};
use crate::error::MockError;
use crate::runtime::StreamGuard;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub mock: Arc<Mock>,
    pub body_limit: usize,
    /// Whether a file watcher reloads the mock's files (for `/__mock/health`).
    pub watching: bool,
    /// Who may use `/__mock/*` (`--admin-token`, `--no-admin`).
    pub admin: AdminAccess,
    /// Becomes `true` when the server starts shutting down, so long-lived streams (the
    /// journal feed) end instead of holding the graceful shutdown open.
    closing: watch::Receiver<bool>,
    closing_tx: watch::Sender<bool>,
}

impl AppState {
    pub fn new(mock: Arc<Mock>, body_limit: usize, watching: bool) -> AppState {
        let (closing_tx, closing) = watch::channel(false);
        AppState {
            mock,
            body_limit,
            watching,
            admin: AdminAccess::default(),
            closing,
            closing_tx,
        }
    }
}

/// Who may use the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdminAccess {
    /// Anyone who can reach the mock (the default on loopback).
    #[default]
    Open,
    /// Only requests carrying this token (`evalmock-admin-token` header or `admin_token` query
    /// parameter, which the page and its live feed use).
    Token(String),
    /// No admin API at all: `/__mock/*` is answered like any unknown path.
    Off,
}

impl AppState {
    /// The same state with another admin access rule.
    pub fn with_admin(mut self, admin: AdminAccess) -> AppState {
        self.admin = admin;
        self
    }
}

/// The whole application as an axum router (tests drive it over real HTTP via [`serve`]).
pub fn app(state: Arc<AppState>) -> Router {
    let admin = Router::new()
        .route("/__mock", get(admin::page_redirect))
        .route("/__mock/", get(admin::page))
        .route("/__mock/health", get(admin::health))
        .route("/__mock/reset", post(admin::reset))
        .route("/__mock/reload", post(admin::reload))
        .route(
            "/__mock/requests",
            get(admin::list_requests).delete(admin::clear_requests),
        )
        .route("/__mock/requests/stream", get(admin::request_stream))
        .route("/__mock/spec", get(admin::spec))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin::guard,
        ));
    let router = if state.admin == AdminAccess::Off {
        Router::new()
    } else {
        Router::new().merge(admin)
    };
    router
        .fallback(handle)
        .layer(
            CorsLayer::very_permissive()
                .expose_headers([HeaderName::from_static(MOCK_ERROR_HEADER)]),
        )
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests and streams finish (the
/// journal's live feeds end at once); the listener is bound by the caller (port 0 in tests).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_grace(listener, state, shutdown, Duration::MAX).await
}

/// [`serve`], but in-flight work gets at most `grace` after the shutdown signal; a client that
/// never finishes cannot hold the process open.
pub async fn serve_with_grace(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let closing = state.closing_tx.clone();
    let mut closed = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        let _ = closing.send(true);
    };
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown);
    let deadline = async move {
        let _ = closed.wait_for(|closing| *closing).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server.into_future() => result,
        _ = deadline => {
            tracing::warn!("in-flight requests did not finish within {grace:?}; stopping anyway");
            Ok(())
        }
    }
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let time_ms = crate::clock::now_ms();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.body_limit).await;
    let empty = Bytes::new();
    let request = MockRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: body.as_ref().unwrap_or(&empty),
    };
    let outcome = match &body {
        Ok(_) => state.mock.handle(&request).await,
        Err(_) => Outcome::mock_error(&MockError::BodyTooLarge {
            limit: state.body_limit,
        }),
    };
    let runtime = state.mock.runtime();
    runtime
        .journal
        .record(outcome.journal_entry(&request, time_ms));
    outcome.log(&request);
    let response = outcome.response;
    let body = match response.body {
        MockBody::Full(bytes) => Body::from(bytes),
        MockBody::Events { messages, interval } => {
            event_stream(messages, interval, runtime.stream_guard())
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
