//! The HTTP shell: the admin API and live page under `/__mock/` (see [`admin`]), everything
//! else through the engine, plus CORS and a body limit. The only module that knows axum.
//!
//! Connections are served by a hand-written accept loop over hyper (not `axum::serve`, which
//! has no timer and so no timeouts): see [`Timeouts`] for what a slow or silent client may
//! hold, and for how long.
//!
//! Per request: read the body, let the engine decide, record the [`Outcome`] in the journal,
//! write its one log line, send the response. Nothing here decides anything about the API.

mod admin;
mod connection;
mod cors;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::engine::{Mock, MockBody, MockRequest, Outcome, Pauses};
use crate::error::MockError;
use crate::runtime::StreamGuard;
use crate::scenarios::{Fault, FaultKind};
use connection::Connection;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub mock: Arc<Mock>,
    pub body_limit: usize,
    /// Whether a file watcher reloads the mock's files (for `/__mock/health`).
    pub watching: bool,
    /// Who may use `/__mock/*` (`--admin-token`, `--no-admin`).
    pub admin: AdminAccess,
    /// Origins a browser may call the mock from (`--cors-origin`); empty: any origin.
    pub cors_origins: Vec<String>,
    /// How long a client may take to send a request or read an answer.
    pub timeouts: Timeouts,
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
            cors_origins: Vec::new(),
            timeouts: Timeouts::default(),
            closing,
            closing_tx,
        }
    }
}

/// How long a client may keep a connection busy without making progress. Without these, a
/// client that sends half a request head, promises a longer body than it sends, or stops
/// reading its answer held its connection (and a file descriptor) forever (issue 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From when the server waits for a request head until the whole head has arrived
    /// (`--header-timeout`). hyper starts this clock as soon as a connection waits for its
    /// next request, so it also bounds how long a kept-alive connection may sit idle.
    pub header: Duration,
    /// How long a kept-alive connection may wait, after an answer, for the first byte of its
    /// next request (`--keep-alive-timeout`); then it is closed. The effective limit is the
    /// shorter of this and `header`.
    pub keep_alive: Duration,
    /// How long reading a request body may take (`--request-timeout`); then 408.
    pub request: Duration,
    /// How long a write may wait for a client that does not read its answer
    /// (`--idle-timeout`); then the connection is closed.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            request: Duration::from_secs(30),
            idle: Duration::from_secs(60),
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

    /// The same state with other connection timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> AppState {
        self.timeouts = timeouts;
        self
    }

    /// The same state, callable from browsers only on these origins (empty: any).
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> AppState {
        self.cors_origins = origins;
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
            "/__mock/scenario",
            get(admin::scenario).put(admin::set_scenario),
        )
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
    let cors = cors::CorsLayer::new(&state.cors_origins, PREFLIGHT_MAX_AGE);
    router.fallback(handle).layer(cors).with_state(state)
}

/// How long a browser may cache a preflight answer: a day, so a page that calls the mock all
/// day does not double its requests with OPTIONS.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

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
    let timeouts = state.timeouts;
    let router = app(state);
    let server = accept_loop(
        connection::Listener(listener),
        router,
        timeouts,
        async move {
            shutdown.await;
            let _ = closing.send(true);
        },
    );
    let deadline = async move {
        let _ = closed.wait_for(|closing| *closing).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        _ = deadline => {
            tracing::warn!("in-flight requests did not finish within {grace:?}; stopping anyway");
            Ok(())
        }
    }
}

/// Accepts connections until `shutdown` completes, serving each with hyper's HTTP/1 server
/// (header-read timeout on a tokio timer, half-closed clients still answered), then waits for
/// the open ones to finish their current request. Each request carries its [`Connection`]
/// handle as axum connect info, so faults can break its socket.
async fn accept_loop(
    mut listener: connection::Listener,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener as _;
    use hyper::service::Service as _;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeouts.header)
        // A client that shuts down its write side after a whole request still gets the answer.
        .half_close(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, _addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let io = io
            .with_write_timeout(timeouts.idle)
            .with_keep_alive(timeouts.keep_alive);
        let handle = io.handle();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(handle.clone()));
            service.call(request)
        });
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(io), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out ends its connection; nothing to report.
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The whole body, unless it is larger than `limit` or does not arrive within `timeout`.
/// The request body, at most `limit` bytes and within `timeout`. A `Content-Length` over the
/// limit is refused at once (413), without waiting for bytes the mock would not keep anyway.
async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, MockError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(MockError::BodyTooLarge { limit });
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(MockError::BodyTooLarge { limit }),
        Err(_) => Err(MockError::RequestTimeout { after: timeout }),
    }
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let time_ms = crate::clock::now_ms();
    let connection = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|info| info.0.clone());
    let (parts, body) = request.into_parts();
    let body = read_body(
        &parts.headers,
        body,
        state.body_limit,
        state.timeouts.request,
    )
    .await;
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
        Err(error) => Outcome::mock_error(error),
    };
    let runtime = state.mock.runtime();
    runtime
        .journal
        .record(outcome.journal_entry(&request, time_ms));
    outcome.log(&request);
    let Outcome {
        response, delivery, ..
    } = outcome;
    if !delivery.delay.is_zero() {
        tokio::time::sleep(delivery.delay).await;
    }
    let (body, promised_length) = match (delivery.fault, response.body) {
        (None, MockBody::Full(bytes)) => (Body::from(bytes), None),
        (None, MockBody::Assembled(assembled)) => (Body::from(assembled.bytes), None),
        (None, MockBody::Events { messages, pauses }) => (
            event_stream(messages, pauses, None, runtime.stream_guard()),
            None,
        ),
        (Some(fault), body) => broken(&fault, body, connection.as_ref(), runtime.stream_guard()),
    };
    let mut out = Response::new(body);
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    if let Some(length) = promised_length {
        out.headers_mut()
            .insert(axum::http::header::CONTENT_LENGTH, length.into());
    }
    out
}

/// How long a body that fails on purpose waits after its last bytes, so they reach the client.
const FLUSH_BEFORE_FAILING: Duration = Duration::from_millis(20);

/// Why a body stream stops on purpose.
#[derive(Debug)]
struct Broken(&'static str);

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "evalmock fault: {}", self.0)
    }
}

impl std::error::Error for Broken {}

/// The answer broken as `fault` asks: the connection reset or closed before any byte (when
/// the request came through [`serve`]; otherwise the body fails at once), the body cut short
/// of the Content-Length it promises (returned with the body), dripped, or an event stream
/// cut before its last event.
fn broken(
    fault: &Fault,
    body: MockBody,
    connection: Option<&Connection>,
    guard: StreamGuard,
) -> (Body, Option<usize>) {
    let whole = |body: MockBody| match body {
        MockBody::Full(bytes) => bytes,
        MockBody::Assembled(assembled) => assembled.bytes,
        MockBody::Events { messages, .. } => Bytes::from(messages.concat()),
    };
    let cut = |bytes: Bytes, sent: usize, guard: StreamGuard| {
        let sent = sent.min(bytes.len());
        let body = event_stream(
            vec![bytes.slice(..sent)],
            Pauses::Every(Duration::ZERO),
            Some(fault.kind.as_str()),
            guard,
        );
        (body, Some(bytes.len()))
    };
    match fault.kind {
        FaultKind::ConnectionReset | FaultKind::EmptyReply => {
            match (connection, fault.kind) {
                (Some(c), FaultKind::ConnectionReset) => c.reset(),
                (Some(c), _) => c.close(),
                (None, _) => {}
            }
            let body = event_stream(
                Vec::new(),
                Pauses::Every(Duration::ZERO),
                Some(fault.kind.as_str()),
                guard,
            );
            (body, None)
        }
        FaultKind::TruncatedBody => {
            let bytes = whole(body);
            let sent = fault.after.unwrap_or(bytes.len() / 2);
            cut(bytes, sent, guard)
        }
        FaultKind::SlowBody => {
            let bytes = whole(body);
            let size = fault.chunk_bytes.max(1);
            let chunks: Vec<Bytes> = (0..bytes.len())
                .step_by(size)
                .map(|at| bytes.slice(at..(at + size).min(bytes.len())))
                .collect();
            (
                event_stream(chunks, Pauses::Every(fault.interval), None, guard),
                None,
            )
        }
        FaultKind::StreamCut | FaultKind::StreamError => match body {
            MockBody::Events { messages, pauses } => {
                let keep = fault
                    .after
                    .unwrap_or(messages.len().saturating_sub(1))
                    .min(messages.len());
                let messages = messages.into_iter().take(keep).collect();
                (
                    event_stream(messages, pauses, Some(fault.kind.as_str()), guard),
                    None,
                )
            }
            // Not a stream: cut the body short, the closest a plain answer comes.
            other => {
                let bytes = whole(other);
                let sent = bytes.len() / 2;
                cut(bytes, sent, guard)
            }
        },
    }
}

/// Sends `messages` one at a time, each after its pause; with `fail`, the body then fails, so
/// hyper drops the connection without ending the answer properly (a cut stream, a truncated
/// body). The work lives inside the body: when the client disconnects, hyper drops the body
/// and the stream (with its guard) stops; no task is left behind.
fn event_stream(
    messages: Vec<Bytes>,
    pauses: Pauses,
    fail: Option<&'static str>,
    guard: StreamGuard,
) -> Body {
    let state = (messages.into_iter().enumerate(), fail, guard);
    let stream = futures_util::stream::unfold(state, move |(mut messages, fail, guard)| {
        let pauses = pauses.clone();
        async move {
            let Some((index, message)) = messages.next() else {
                // The end: fail once if asked to, then stop. The pause first lets hyper send
                // what came before (it drops unsent bytes when the body fails).
                let why = fail?;
                tokio::time::sleep(FLUSH_BEFORE_FAILING).await;
                return Some((Err(Broken(why)), (messages, None, guard)));
            };
            let pause = pauses.before(index);
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Some((Ok::<Bytes, Broken>(message), (messages, fail, guard)))
        }
    });
    Body::from_stream(stream)
}
