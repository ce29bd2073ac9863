//! The request journal: a bounded, in-memory record of what the mock was asked and what it
//! decided, read by `GET /__mock/requests`, the live page and its event feed.
//!
//! Recording sits on the hot path of every request, so an entry keeps what the request already
//! has (the header map, the body `Bytes`, the engine's `Outcome` parts) and is rendered to JSON
//! only when somebody reads it. Bodies are kept up to a byte cap: a prefix is copied when a
//! body is larger, so a 2 MB upload never pins 2 MB per entry, and a body within the cap is
//! shared, not copied. Headers are rendered to one string when recorded, credentials already
//! redacted, so they never reach the admin API, the page or a dump, and no entry holds a
//! connection's buffers.
//!
//! One narrow lock guards the ring; new entries are also broadcast to live subscribers (the
//! page's event stream), which costs nothing when nobody listens.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, StatusCode, header};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::engine::{Delivery, Source};
use crate::respond::assembled::Recipe;
use crate::validate::Violation;

/// Entries kept when `--journal-size` is not given.
pub const DEFAULT_CAPACITY: usize = 1000;
/// Bytes of each request and response body kept when `--journal-body-limit` is not given:
/// every request body and error answer of the bundled API whole, the start of the larger
/// answers (a compare-record answer is ~10 KB), so a full journal of 1,000 entries stays
/// within ~10 MB.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024;
/// What replaces a credential in a rendered entry.
pub const REDACTED: &str = "[redacted]";

/// Which way a violation points: the client broke the spec, or the answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// One side of an exchange as recorded: headers and a (possibly cut) body.
#[derive(Debug, Clone)]
pub struct Side {
    /// `name: value` lines, credentials already redacted. One owned string, not a clone of
    /// the header map: a request's header values are slices of the connection's read buffer,
    /// and keeping them would keep that whole buffer alive per entry.
    pub headers: Box<str>,
    pub body: Kept,
    /// The body's full length.
    pub body_bytes: usize,
    /// How many of its bytes are shown: at most the journal's body limit.
    pub shown: usize,
}

/// A recorded body.
#[derive(Debug, Clone)]
pub enum Kept {
    /// Its bytes (once recorded, at most the shown ones).
    Bytes(Bytes),
    /// An answer assembled from a template of the World: the recipe, a few words where a copy
    /// of the first bytes would be kilobytes; written again when the entry is read.
    Recipe(Recipe),
}

impl Kept {
    fn len(&self) -> usize {
        match self {
            Kept::Bytes(bytes) => bytes.len(),
            Kept::Recipe(recipe) => recipe.len(),
        }
    }

    /// The body's first `shown` bytes.
    fn shown(&self, shown: usize) -> Bytes {
        let bytes = match self {
            Kept::Bytes(bytes) => bytes.clone(),
            Kept::Recipe(recipe) => recipe.bytes(),
        };
        bytes.slice(..shown.min(bytes.len()))
    }
}

/// One request and what the mock decided, numbered by the journal.
#[derive(Debug)]
pub struct Entry {
    pub id: u64,
    pub exchange: Exchange,
}

/// What is recorded of one request and what the mock decided.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Milliseconds since the Unix epoch when the request arrived.
    pub time_ms: i64,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub operation: Option<Arc<str>>,
    /// The API version that answered.
    pub api_version: Option<Arc<str>>,
    pub status: StatusCode,
    pub source: Source,
    pub duration: Duration,
    pub error_codes: Vec<String>,
    pub violations: Vec<(Direction, Violation)>,
    /// The delay and fault chosen on purpose (a scenario, `--latency`, `Prefer`).
    pub delivery: Delivery,
    /// Whole when recorded; the journal cuts them to its body limit.
    pub request: Side,
    pub response: Side,
}

impl Side {
    /// A side with its whole body; the headers are rendered and redacted now.
    pub fn new(headers: &HeaderMap, body: Kept) -> Side {
        let size: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 3)
            .sum();
        let mut lines = String::with_capacity(size);
        for (name, value) in headers {
            lines.push_str(name.as_str());
            lines.push_str(": ");
            match value.to_str() {
                _ if is_credential_header(name) => lines.push_str(REDACTED),
                Ok(text) => lines.push_str(text),
                Err(_) => lines.push_str(&String::from_utf8_lossy(value.as_bytes())),
            }
            lines.push('\n');
        }
        Side {
            headers: lines.into_boxed_str(),
            body_bytes: body.len(),
            shown: body.len(),
            body,
        }
    }

    /// Keeps the body whole when it is within `limit` and `share` allows it (the mock's own
    /// answers: prepared bytes are shared, not copied), a recipe as it is (it shows at most
    /// `limit` bytes when read), else a copy of at most its first `limit` bytes. A request body
    /// is always copied: it may be a slice of the connection's read buffer, which a journal
    /// entry must not keep alive.
    fn cut(self, limit: usize, share: bool) -> Side {
        let shown = self.body_bytes.min(limit);
        match &self.body {
            Kept::Recipe(_) => Side { shown, ..self },
            // Whole already (`shown` is its length since `Side::new`).
            Kept::Bytes(bytes) if share && bytes.len() <= limit => self,
            Kept::Bytes(bytes) => Side {
                body: Kept::Bytes(Bytes::copy_from_slice(&bytes[..shown])),
                shown,
                ..self
            },
        }
    }

    /// The side with a recipe turned into the bytes it shows.
    fn detached(&self) -> Side {
        Side {
            body: Kept::Bytes(Bytes::copy_from_slice(&self.body.shown(self.shown))),
            ..self.clone()
        }
    }
}

/// What the live feed carries.
#[derive(Debug, Clone)]
pub enum Event {
    Entry(Arc<Entry>),
    /// The journal was emptied.
    Cleared,
    /// A reload was attempted: its result as JSON.
    Reload(Value),
}

/// Filters of `GET /__mock/requests`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub operation: Option<String>,
    pub status: Option<StatusFilter>,
    /// Only entries with a greater id.
    pub since: Option<u64>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

impl StatusFilter {
    /// `404` or `4xx` (any case).
    pub fn parse(text: &str) -> Option<StatusFilter> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(class) = text.strip_suffix("xx") {
            return class
                .parse::<u16>()
                .ok()
                .filter(|c| (1..=5).contains(c))
                .map(StatusFilter::Class);
        }
        text.parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(StatusFilter::Exact)
    }

    fn matches(self, status: StatusCode) -> bool {
        match self {
            StatusFilter::Exact(code) => status.as_u16() == code,
            StatusFilter::Class(class) => status.as_u16() / 100 == class,
        }
    }
}

/// The bounded journal. Cheap to share: every method takes `&self`.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    body_limit: usize,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<Arc<Entry>>>,
    feed: broadcast::Sender<Event>,
}

impl Journal {
    /// A journal of `capacity` entries (0 records nothing), keeping `body_limit` bytes of each body.
    pub fn new(capacity: usize, body_limit: usize) -> Journal {
        let (feed, _) = broadcast::channel(256);
        Journal {
            capacity,
            body_limit,
            next_id: AtomicU64::new(1),
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            feed,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Records one exchange, dropping the oldest entry when full, and tells live subscribers.
    pub fn record(&self, mut exchange: Exchange) {
        if self.capacity == 0 {
            return;
        }
        exchange.request = exchange.request.cut(self.body_limit, false);
        exchange.response = exchange.response.cut(self.body_limit, true);
        let entry = Arc::new(Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            exchange,
        });
        {
            let mut entries = self.lock();
            if entries.len() >= self.capacity {
                entries.pop_front();
            }
            entries.push_back(entry.clone());
        }
        // No subscriber is not an error: the page may simply not be open.
        let _ = self.feed.send(Event::Entry(entry));
    }

    /// Matching entries, newest first.
    pub fn query(&self, filter: &Filter) -> Vec<Arc<Entry>> {
        let entries = self.lock();
        entries
            .iter()
            .rev()
            .filter(|e| filter.since.is_none_or(|since| e.id > since))
            .filter(|e| {
                let x = &e.exchange;
                filter.operation.as_deref().is_none_or(|wanted| {
                    x.operation.as_deref() == Some(wanted)
                        || format!("{} {}", x.method, x.path) == wanted
                })
            })
            .filter(|e| filter.status.is_none_or(|s| s.matches(e.exchange.status)))
            .take(filter.limit)
            .cloned()
            .collect()
    }

    /// Turns the recipes of recorded answers into the bytes they show. Called when a new World
    /// replaces the one whose templates they name, so the journal never keeps a replaced
    /// World's templates alive (its memory stays within `capacity` x the body limit). A request
    /// the old World was still answering may record a recipe just after: it keeps one
    /// template until its entry leaves the journal.
    pub fn detach_recipes(&self) {
        let mut entries = self.lock();
        for slot in entries.iter_mut() {
            // Only answers are assembled: a request body is always its bytes.
            let x = &slot.exchange;
            if matches!(x.response.body, Kept::Recipe(_)) {
                let exchange = Exchange {
                    response: x.response.detached(),
                    ..x.clone()
                };
                *slot = Arc::new(Entry {
                    id: slot.id,
                    exchange,
                });
            }
        }
    }

    pub fn clear(&self) {
        self.lock().clear();
        let _ = self.feed.send(Event::Cleared);
    }

    /// Tells live subscribers about something that is not a request (a reload).
    pub fn announce(&self, event: Event) {
        let _ = self.feed.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.feed.subscribe()
    }

    /// Live feeds open now.
    pub fn subscribers(&self) -> usize {
        self.feed.receiver_count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Entry>>> {
        // Writers push or pop whole entries: a poisoned lock still holds a consistent ring.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Entry {
    /// The entry as the admin API and the page show it, credentials redacted.
    pub fn to_json(&self) -> Value {
        let x = &self.exchange;
        json!({
            "id": self.id,
            "time": crate::clock::iso_ms(x.time_ms),
            "method": x.method.as_str(),
            "path": x.path,
            "query": x.query,
            "operation": x.operation.as_deref(),
            "apiVersion": x.api_version.as_deref(),
            "status": x.status.as_u16(),
            "source": x.source.to_json(),
            "durationMs": (x.duration.as_secs_f64() * 1e6).round() / 1e3,
            "errorCodes": x.error_codes,
            "delayMs": x.delivery.delay.as_millis() as u64,
            "fault": x.delivery.fault.as_ref().map(|f| f.kind.as_str()),
            "violations": x.violations.iter().map(|(direction, v)| json!({
                "direction": match direction {
                    Direction::Request => "request",
                    Direction::Response => "response",
                },
                "code": v.code.as_str(),
                "path": v.path,
                "message": v.message,
                "suggestion": v.suggestion,
            })).collect::<Vec<_>>(),
            "request": side_json(&x.request),
            "response": side_json(&x.response),
        })
    }
}

fn side_json(side: &Side) -> Value {
    let mut headers = Map::new();
    for line in side.headers.lines() {
        let (name, shown) = line.split_once(": ").unwrap_or((line, ""));
        // Repeated headers are joined as HTTP allows, so none is hidden.
        match headers.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(shown);
            }
            _ => {
                headers.insert(name.to_string(), Value::String(shown.to_string()));
            }
        }
    }
    json!({
        "headers": headers,
        "body": String::from_utf8_lossy(&side.body.shown(side.shown)),
        "bodyBytes": side.body_bytes,
        "truncated": side.shown < side.body_bytes,
    })
}

/// Standard headers that never carry credentials (none matches [`is_credential`]), the usual
/// ones of a request and an answer.
const HARMLESS: [HeaderName; 18] = [
    header::HOST,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::ACCEPT_LANGUAGE,
    header::USER_AGENT,
    header::CONNECTION,
    header::ORIGIN,
    header::REFERER,
    header::CACHE_CONTROL,
    header::PRAGMA,
    header::DATE,
    header::VARY,
    header::ETAG,
    header::LOCATION,
    header::TRANSFER_ENCODING,
    header::RETRY_AFTER,
];

/// Standard headers that always carry credentials.
const CREDENTIALS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
    header::SET_COOKIE,
];

/// The mock's own headers, none of which carries a credential.
const OWN: [HeaderName; 3] = [
    crate::engine::API_VERSION_HEADER,
    crate::engine::MOCK_ERROR_HEADER,
    crate::engine::SCENARIO_HEADER,
];

/// [`is_credential`] for a recorded header: the usual standard ones (and the mock's own) are
/// told apart by comparing `HeaderName`s (a number each for the standard ones) before any text
/// is searched.
fn is_credential_header(name: &HeaderName) -> bool {
    if CREDENTIALS.contains(name) {
        return true;
    }
    !HARMLESS.contains(name) && !OWN.contains(name) && is_credential(name.as_str())
}

/// Headers that carry credentials: `Authorization`, cookies, and anything named like a key,
/// token, secret, password or session. Runs per recorded header, so it allocates nothing.
pub fn is_credential(name: &str) -> bool {
    const EXACT: [&str; 4] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    const WORDS: [&str; 6] = ["key", "token", "secret", "password", "session", "auth"];
    // Every request pays this for each header, so the usual case (`HeaderName`s are already
    // lowercase) searches the name as it is, and compares a word only where its first letter
    // stands (a library substring search costs a call per word and place); a name from
    // elsewhere (a HAR file) is lowercased first.
    let lowered;
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = name.to_ascii_lowercase();
        lowered.as_str()
    } else {
        name
    };
    let bytes = name.as_bytes();
    EXACT.contains(&name)
        || (0..bytes.len()).any(|at| {
            let rest = &bytes[at..];
            WORDS
                .iter()
                .any(|word| word.as_bytes()[0] == rest[0] && rest.starts_with(word.as_bytes()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: u16) -> Exchange {
        Exchange {
            time_ms: 0,
            method: Method::GET,
            path: path.to_string(),
            query: None,
            operation: None,
            api_version: None,
            status: StatusCode::from_u16(status).expect("status"),
            source: Source::Generated,
            duration: Duration::ZERO,
            error_codes: Vec::new(),
            violations: Vec::new(),
            delivery: Delivery::default(),
            request: Side::new(
                &HeaderMap::new(),
                Kept::Bytes(Bytes::from_static(b"0123456789")),
            ),
            response: Side::new(&HeaderMap::new(), Kept::Bytes(Bytes::new())),
        }
    }

    #[test]
    fn a_full_journal_drops_the_oldest_entry() {
        let journal = Journal::new(2, 4);
        for path in ["/a", "/b", "/c"] {
            journal.record(entry(path, 200));
        }
        let filter = Filter {
            limit: 10,
            ..Filter::default()
        };
        let paths: Vec<String> = journal
            .query(&filter)
            .iter()
            .map(|e| e.exchange.path.clone())
            .collect();
        assert_eq!(paths, ["/c", "/b"]);
    }

    #[test]
    fn bodies_over_the_limit_are_cut_and_say_so() {
        let journal = Journal::new(1, 4);
        journal.record(entry("/a", 200));
        let filter = Filter {
            limit: 1,
            ..Filter::default()
        };
        let json = journal.query(&filter)[0].to_json();
        assert_eq!(json["request"]["body"], "0123");
        assert_eq!(json["request"]["bodyBytes"], 10);
        assert_eq!(json["request"]["truncated"], true);
    }

    #[test]
    fn status_filters_read_exact_codes_and_classes() {
        assert_eq!(StatusFilter::parse("404"), Some(StatusFilter::Exact(404)));
        assert_eq!(StatusFilter::parse("4XX"), Some(StatusFilter::Class(4)));
        assert_eq!(StatusFilter::parse("6xx"), None);
        assert_eq!(StatusFilter::parse("99"), None);
        assert_eq!(StatusFilter::parse("abc"), None);
    }

    #[test]
    fn credentials_are_recognised_by_name() {
        for name in [
            "Authorization",
            "cookie",
            "x-api-key",
            "X-Auth-Token",
            "client-secret",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in ["content-type", "accept", "prefer"] {
            assert!(!is_credential(name), "{name}");
        }
        // The shortcuts answer as the search would.
        for name in &HARMLESS {
            assert!(!is_credential(name.as_str()), "{name}");
        }
        for name in &CREDENTIALS {
            assert!(is_credential(name.as_str()), "{name}");
        }
        for name in &OWN {
            assert!(!is_credential(name.as_str()), "{name}");
            assert!(!is_credential_header(name), "{name}");
        }
        for name in ["authorization", "x-api-key", "cookie", "session-id"] {
            let name = HeaderName::from_static(name);
            assert!(is_credential_header(&name), "{name}");
        }
    }

    #[test]
    fn bodies_are_cut_to_the_limit_and_only_answers_within_it_are_shared() {
        let journal = Journal::new(8, 4);
        let bytes_of = |side: &Side| match &side.body {
            Kept::Bytes(bytes) => bytes.clone(),
            Kept::Recipe(_) => panic!("bytes were recorded"),
        };
        let small_answer = Bytes::from_static(b"{}");
        let large_answer = Bytes::from_static(b"0123456789");
        let small_request = Bytes::from_static(b"ab");
        for (request, response) in [
            (small_request.clone(), small_answer.clone()),
            (Bytes::from_static(b"0123456789"), large_answer.clone()),
        ] {
            let mut exchange = entry("/cut", 200);
            exchange.request = Side::new(&HeaderMap::new(), Kept::Bytes(request));
            exchange.response = Side::new(&HeaderMap::new(), Kept::Bytes(response));
            journal.record(exchange);
        }
        let entries = journal.query(&Filter {
            limit: 10,
            ..Filter::default()
        });
        let (large, small) = (&entries[0].exchange, &entries[1].exchange);
        // An answer within the limit is the answer's own bytes; one over it, a copy of the
        // first `limit` bytes, which does not keep the whole answer alive.
        assert_eq!(bytes_of(&small.response).as_ptr(), small_answer.as_ptr());
        assert_eq!(bytes_of(&large.response), &b"0123"[..]);
        assert_ne!(bytes_of(&large.response).as_ptr(), large_answer.as_ptr());
        // A request body is copied even within the limit (it may be a slice of the
        // connection's buffer), and cut to the limit over it.
        assert_eq!(bytes_of(&small.request), &b"ab"[..]);
        assert_ne!(bytes_of(&small.request).as_ptr(), small_request.as_ptr());
        assert_eq!(bytes_of(&large.request), &b"0123"[..]);
        for (side, length, shown) in [
            (&small.request, 2, 2),
            (&small.response, 2, 2),
            (&large.request, 10, 4),
            (&large.response, 10, 4),
        ] {
            assert_eq!((side.body_bytes, side.shown), (length, shown));
        }
    }

    #[test]
    fn a_recipe_shows_its_answer_and_is_detached_when_the_world_changes() {
        use crate::respond::assembled::{ItemsPath, PathStep, Template};
        let value =
            serde_json::json!({"steps": [{"id": "a", "text": "x".repeat(40)}, {"id": "b"}]});
        let path = ItemsPath {
            steps: &[PathStep::Field("steps")],
            key: "id",
        };
        let template = Arc::new(Template::new(&value, path));
        let assembled = template.keeping(|id| id == "a");
        let journal = Journal::new(4, 16);
        let mut exchange = entry("/compare", 200);
        exchange.response = Side::new(&HeaderMap::new(), Kept::Recipe(assembled.recipe.clone()));
        journal.record(exchange);
        let shown = |journal: &Journal| {
            let entries = journal.query(&Filter {
                limit: 10,
                ..Filter::default()
            });
            entries[0].to_json()["response"].clone()
        };
        let before = shown(&journal);
        assert_eq!(
            before["body"],
            String::from_utf8_lossy(&assembled.bytes[..16]).as_ref()
        );
        assert_eq!(before["bodyBytes"], assembled.bytes.len());
        assert_eq!(before["truncated"], true);
        // Only the journal's recipe and this test hold the template besides `template`.
        assert_eq!(Arc::strong_count(&template), 3);
        journal.detach_recipes();
        assert_eq!(
            shown(&journal),
            before,
            "the entry shows the same after detaching"
        );
        assert_eq!(
            Arc::strong_count(&template),
            2,
            "the journal let the template go"
        );
    }
}
