//! `evalmock proxy`: a validating reverse proxy in front of the real API.
//!
//! Every request is forwarded as it came (method, path, query, headers except hop-by-hop ones,
//! body) and the upstream's answer goes back unchanged; an event stream is passed on chunk by
//! chunk as it arrives, never buffered, and its events are validated once it ends. Both sides
//! are held against the spec with the engine's validators ([`super::check`]); what breaks it
//! goes to the log (WARN), to the proxy's journal (`GET /__mock/requests`, source `upstream`)
//! and, for an answer that is not a stream, to the `evalmock-violations` response header.
//! `--fail-on-violation` turns such an answer into a 502; `--record DIR` writes every exchange
//! as a scenario file through the shared [`Writer`].
//!
//! Like the server module, this one uses axum for the listening side: the proxy is a second
//! HTTP front end with nothing of the mock's pipeline in it, so it does not go through
//! `server` (whose fallback is the engine).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::writer::Writer;
use super::{Answer, Checked, Recorded, Side, SseParser, is_event_stream, is_hop_by_hop};
use crate::config::Sources;
use crate::contract::coverage::Usage;
use crate::engine::{MOCK_ERROR_HEADER, Source};
use crate::journal::{Direction, Exchange, Journal, Kept};
use crate::world::{LoadError, World};

/// The response header listing an answer's violations (compact JSON array).
pub const VIOLATIONS_HEADER: &str = "evalmock-violations";
/// Largest request body forwarded.
const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Longest `evalmock-violations` header sent; longer lists are cut at a violation boundary.
const HEADER_LIMIT: usize = 8 * 1024;

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub host: std::net::IpAddr,
    pub port: u16,
    pub sources: Sources,
    /// `http://host:port`, optionally with a path prefix; requests are appended to it.
    pub upstream: String,
    pub fail_on_violation: bool,
    /// Stop after this many exchanges (the summary is printed then).
    pub max_requests: Option<usize>,
    pub connect_timeout: Duration,
    /// Write each exchange here as a scenario file.
    pub writer: Option<Arc<Writer>>,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("--upstream {0:?} is not an http:// or https:// URL with a host")]
    Upstream(String),
    #[error("cannot listen on {address}: {source} (is another server using the port? try --port)")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// What the proxy saw, for the summary printed when it stops.
#[derive(Debug)]
pub struct ProxyReport {
    pub usage: Usage,
    pub world: Arc<World>,
}

/// The running proxy, shared by every request.
#[derive(Debug)]
pub struct Proxy {
    world: Arc<World>,
    upstream: String,
    client: reqwest::Client,
    fail_on_violation: bool,
    writer: Option<Arc<Writer>>,
    journal: Journal,
    usage: Mutex<Usage>,
    completed: AtomicUsize,
    max_requests: Option<usize>,
    /// Becomes `true` once `max_requests` exchanges completed.
    enough: watch::Sender<bool>,
}

impl Proxy {
    pub fn new(config: &ProxyConfig) -> Result<Proxy, ProxyError> {
        let upstream = config.upstream.trim_end_matches('/').to_string();
        if !super::is_upstream_url(&upstream) {
            return Err(ProxyError::Upstream(config.upstream.clone()));
        }
        let world = Arc::new(World::load(&config.sources, 1)?);
        let client =
            super::upstream_client(config.connect_timeout, None).map_err(ProxyError::Client)?;
        let (enough, _) = watch::channel(false);
        Ok(Proxy {
            world,
            upstream,
            client,
            fail_on_violation: config.fail_on_violation,
            writer: config.writer.clone(),
            journal: Journal::new(
                crate::journal::DEFAULT_CAPACITY,
                crate::journal::DEFAULT_BODY_LIMIT,
            ),
            usage: Mutex::new(Usage::default()),
            completed: AtomicUsize::new(0),
            max_requests: config.max_requests,
            enough,
        })
    }

    /// What was seen so far.
    pub fn report(&self) -> ProxyReport {
        ProxyReport {
            usage: self.usage.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            world: self.world.clone(),
        }
    }

    /// Everything about one finished exchange: validate, log, journal, count, record.
    fn finish(&self, exchange: &Recorded, stream_note: Option<&str>) -> Value {
        let spec = &self.world.default_version().spec;
        let checked = super::check(spec, exchange);
        self.note(exchange, &checked, stream_note);
        checked.violations_json()
    }

    fn note(&self, exchange: &Recorded, checked: &Checked<'_>, stream_note: Option<&str>) {
        let operation = checked.operation_name(&exchange.method, &exchange.path);
        let line = format!(
            "{} {} {operation} -> {} upstream {}ms{}",
            exchange.method,
            exchange.path,
            exchange.status,
            exchange.duration_ms,
            stream_note.map(|n| format!(" ({n})")).unwrap_or_default()
        );
        if checked.violations.is_empty() {
            tracing::info!(target: "evalmock::proxy", "{line}");
        } else {
            tracing::warn!(
                target: "evalmock::proxy",
                "{line} breaks the spec: {}",
                checked
                    .violations
                    .iter()
                    .map(|(side, v)| format!("{} {} at {}", side.as_str(), v.code.as_str(), v.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let body = match &exchange.response {
            Answer::Body(bytes) => bytes.clone(),
            Answer::Events(events) => Bytes::from(
                events
                    .iter()
                    .map(|e| format!("data: {}\n\n", e.data))
                    .collect::<String>(),
            ),
        };
        self.journal.record(Exchange {
            time_ms: exchange.at_ms,
            method: exchange.method.clone(),
            path: exchange.path.clone(),
            query: exchange.query.clone(),
            operation: checked.operation.map(|op| op.name.clone()),
            api_version: Some(self.world.default_version().name.clone()),
            status: StatusCode::from_u16(exchange.status).unwrap_or(StatusCode::BAD_GATEWAY),
            source: Source::Upstream,
            duration: Duration::from_millis(exchange.duration_ms),
            error_codes: Vec::new(),
            delivery: Default::default(),
            violations: checked
                .violations
                .iter()
                .map(|(side, v)| {
                    let direction = match side {
                        Side::Request => Direction::Request,
                        Side::Response => Direction::Response,
                    };
                    (direction, v.clone())
                })
                .collect(),
            request: crate::journal::Side::new(
                &exchange.request_headers,
                Kept::Bytes(exchange.request_body.clone()),
            ),
            response: crate::journal::Side::new(&exchange.response_headers, Kept::Bytes(body)),
        });
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).add(
            &operation,
            exchange.status,
            checked.violations.len(),
        );
        if let Some(writer) = &self.writer {
            match writer.write(exchange, checked) {
                Ok(path) => {
                    tracing::info!(target: "evalmock::proxy", "recorded {}", path.display())
                }
                Err(e) => tracing::error!(target: "evalmock::proxy", "not recorded: {e}"),
            }
        }
        let done = self.completed.fetch_add(1, Ordering::SeqCst) + 1;
        if self.max_requests.is_some_and(|max| done >= max) {
            self.enough.send_replace(true);
        }
    }
}

/// Binds the configured address and proxies until `shutdown` completes or `--max-requests`
/// exchanges were seen; returns what was seen.
pub async fn run(
    config: ProxyConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ProxyReport, ProxyError> {
    let proxy = Arc::new(Proxy::new(&config)?);
    let address = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ProxyError::Bind { address, source })?;
    let local = listener.local_addr().map_err(ProxyError::Serve)?;
    tracing::info!(
        "evalmock proxy on http://{local} -> {} (validating against {} {}){}",
        proxy.upstream,
        proxy.world.default_version().spec.title,
        proxy.world.default_version().name,
        config
            .max_requests
            .map(|n| format!("; stops after {n} requests"))
            .unwrap_or_default()
    );
    serve(listener, proxy.clone(), shutdown)
        .await
        .map_err(ProxyError::Serve)?;
    Ok(proxy.report())
}

/// Serves on a bound listener until `shutdown` or enough exchanges (the seam tests use).
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut enough = proxy.enough.subscribe();
    let stop = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = enough.wait_for(|done| *done) => {
                tracing::info!("--max-requests reached: stopping");
            }
        }
    };
    let app = axum::Router::new()
        .route("/__mock/requests", axum::routing::get(journal))
        .fallback(forward)
        .with_state(proxy);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
}

/// The proxy's journal, in the shape of the mock's `GET /__mock/requests`.
async fn journal(State(proxy): State<Arc<Proxy>>) -> Response {
    let filter = crate::journal::Filter {
        limit: proxy.journal.capacity(),
        ..Default::default()
    };
    let entries: Vec<Value> = proxy
        .journal
        .query(&filter)
        .iter()
        .map(|e| e.to_json())
        .collect();
    json_response(
        StatusCode::OK,
        "application/json",
        &json!({"entries": entries, "total": proxy.journal.len(), "capacity": proxy.journal.capacity()}),
    )
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let started = Instant::now();
    let at_ms = crate::clock::now_ms();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                &format!("the request body could not be read (limit {BODY_LIMIT} bytes): {e}"),
                None,
            );
        }
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("{}{path_and_query}", proxy.upstream);
    let mut builder = proxy.client.request(parts.method.clone(), &url);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name.as_str()) && name != header::HOST && name != header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    let template = Recorded {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        request_headers: parts.headers.clone(),
        request_body: body.clone(),
        status: 0,
        response_headers: HeaderMap::new(),
        response: Answer::Body(Bytes::new()),
        at_ms,
        upstream: proxy.upstream.clone(),
        duration_ms: 0,
    };
    let exchange = move |status: u16, headers: HeaderMap, answer: Answer| Recorded {
        status,
        response_headers: headers,
        response: answer,
        duration_ms: started.elapsed().as_millis() as u64,
        ..template
    };
    let upstream_answer = match builder.body(body.clone()).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let detail = format!(
                "cannot reach the upstream {}: {}",
                proxy.upstream,
                error_chain(&e)
            );
            tracing::error!(target: "evalmock::proxy", "{} {}: {detail}", parts.method, parts.uri.path());
            proxy.usage.lock().unwrap_or_else(|p| p.into_inner()).add(
                "(upstream unreachable)",
                502,
                0,
            );
            return problem(
                StatusCode::BAD_GATEWAY,
                "upstream-unreachable",
                &detail,
                Some(&proxy.upstream),
            );
        }
    };
    let status = upstream_answer.status();
    let headers = upstream_answer.headers().clone();
    let mut out_headers = HeaderMap::new();
    for (name, value) in &headers {
        if !is_hop_by_hop(name.as_str()) && name != header::CONTENT_LENGTH {
            out_headers.append(name, value.clone());
        }
    }
    if is_event_stream(&headers) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
        let mut upstream_stream = upstream_answer.bytes_stream();
        let headers_for_record = headers.clone();
        tokio::spawn(async move {
            let mut parser = SseParser::default();
            let mut events = Vec::new();
            let mut last = Instant::now();
            let mut note = None;
            while let Some(chunk) = upstream_stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        let found = parser.feed(&bytes, last.elapsed().as_millis() as u64);
                        if !found.is_empty() {
                            last = Instant::now();
                        }
                        events.extend(found);
                        if tx.send(Ok(bytes)).await.is_err() {
                            note = Some("the client left before the stream ended");
                            break;
                        }
                    }
                    Err(e) => {
                        note = Some("the upstream broke the stream");
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        break;
                    }
                }
            }
            drop(tx);
            events.extend(parser.finish(last.elapsed().as_millis() as u64));
            let recorded = exchange(status.as_u16(), headers_for_record, Answer::Events(events));
            proxy.finish(&recorded, note);
        });
        let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = out_headers;
        return response;
    }
    let bytes = match upstream_answer.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            let detail = format!(
                "the upstream {} broke off its answer: {}",
                proxy.upstream,
                error_chain(&e)
            );
            return problem(
                StatusCode::BAD_GATEWAY,
                "upstream-broken",
                &detail,
                Some(&proxy.upstream),
            );
        }
    };
    let recorded = exchange(status.as_u16(), headers, Answer::Body(bytes.clone()));
    let spec = &proxy.world.default_version().spec;
    let checked = super::check(spec, &recorded);
    let violations = checked.violations_json();
    proxy.note(&recorded, &checked, None);
    let answer_broken = checked
        .violations
        .iter()
        .any(|(side, _)| *side == Side::Response);
    if proxy.fail_on_violation && answer_broken {
        let detail = format!(
            "the upstream's {} answer breaks the spec ({} violations); --fail-on-violation replaced it",
            status.as_u16(),
            checked.violations.len()
        );
        let mut body = problem_json(
            StatusCode::BAD_GATEWAY,
            "upstream-violation",
            &detail,
            Some(&proxy.upstream),
        );
        body["violations"] = violations.clone();
        let mut response = problem_response(StatusCode::BAD_GATEWAY, "upstream-violation", &body);
        add_violations_header(response.headers_mut(), &violations);
        return response;
    }
    add_violations_header(&mut out_headers, &violations);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}

/// The error and its causes, one after the other (reqwest's own message is terse).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn add_violations_header(headers: &mut HeaderMap, violations: &Value) {
    let Some(list) = violations.as_array().filter(|l| !l.is_empty()) else {
        return;
    };
    let mut kept = list.clone();
    let mut text = Value::Array(kept.clone()).to_string();
    while text.len() > HEADER_LIMIT && kept.len() > 1 {
        kept.pop();
        text = Value::Array(kept.clone()).to_string();
    }
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match HeaderValue::from_str(&text) {
        Ok(value) => {
            headers.insert(VIOLATIONS_HEADER, value);
        }
        Err(e) => tracing::warn!("the violations do not fit a header: {e}"),
    }
}

/// The proxy's own complaint, as the mock makes its own: problem+json and `evalmock-error`.
fn problem(
    status: StatusCode,
    kind: &'static str,
    detail: &str,
    upstream: Option<&str>,
) -> Response {
    problem_response(status, kind, &problem_json(status, kind, detail, upstream))
}

fn problem_json(status: StatusCode, kind: &str, detail: &str, upstream: Option<&str>) -> Value {
    let mut body = json!({
        "type": format!("urn:evalmock:error:{kind}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(upstream) = upstream {
        body["upstream"] = json!(upstream);
    }
    body
}

fn problem_response(status: StatusCode, kind: &'static str, body: &Value) -> Response {
    let mut response = json_response(status, "application/problem+json", body);
    response
        .headers_mut()
        .insert(MOCK_ERROR_HEADER, HeaderValue::from_static(kind));
    response
}

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
