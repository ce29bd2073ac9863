//! The scenario file format as written (`specs/scenario.schema.json` is its contract), and
//! its reading into the typed forms the matcher uses: durations parsed, headers checked,
//! shorthands expanded. A file is checked against the JSON Schema first, so a mistake is
//! reported with the schema's words and the place in the file, not serde's.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::spec::CompiledSchema;

/// The scenario format's own JSON Schema (also served to editors from the repository).
pub const SCHEMA: &str = include_str!("../../specs/scenario.schema.json");

/// The compiled [`SCHEMA`], built once per process.
fn schema() -> Result<&'static CompiledSchema, String> {
    static COMPILED: OnceLock<Result<CompiledSchema, String>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let document: &'static Value = Box::leak(Box::new(
                serde_json::from_str::<Value>(SCHEMA).map_err(|e| e.to_string())?,
            ));
            crate::spec::SchemaCompiler::new(document, "specs/scenario.schema.json")
                .and_then(|compiler| compiler.compile(""))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A problem in one scenario file: the place (dotted path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub path: String,
    pub message: String,
}

impl FormatError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> FormatError {
        FormatError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Checks `document` against the scenario schema and reads it.
pub fn read(document: &Value) -> Result<ScenarioFile, FormatError> {
    let schema = schema().map_err(|e| FormatError::new("", e))?;
    if let Some(first) = crate::validate::schema_violations(schema, document)
        .into_iter()
        .next()
    {
        return Err(FormatError::new(first.path, first.message));
    }
    serde_json::from_value(document.clone()).map_err(|e| FormatError::new("", e.to_string()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioFile {
    #[serde(default)]
    pub description: String,
    pub latency: Option<DelayText>,
    pub initial_state: Option<String>,
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleFile {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matcher: MatchFile,
    pub respond: Option<ResponseFile>,
    pub sequence: Option<Vec<ResponseFile>>,
    #[serde(default)]
    pub after_sequence: AfterSequence,
    pub then: Option<Then>,
    pub recorded: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Then {
    pub state: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterSequence {
    #[default]
    RepeatLast,
    Cycle,
    Pass,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchFile {
    pub operation: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub query_exact: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    #[serde(default)]
    pub body_match: BodyMatch,
    #[serde(default)]
    pub ignore_fields: Vec<String>,
    pub state: Option<String>,
    pub call: Option<CallFile>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyMatch {
    #[default]
    Subset,
    Equal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CallFile {
    One(u64),
    List(Vec<u64>),
    Nth(NthFile),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NthFile {
    pub every: Option<u64>,
    pub from: Option<u64>,
    pub up_to: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseFile {
    pub status: Option<u16>,
    pub body: Option<Value>,
    pub body_text: Option<String>,
    pub example: Option<String>,
    pub patch: Option<Value>,
    pub events: Option<Vec<EventFile>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub delay: Option<DelayText>,
    pub fault: Option<FaultFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventFile {
    pub data: Value,
    pub event: Option<String>,
    pub id: Option<String>,
    pub delay: Option<DelayText>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DelayText {
    Millis(u64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FaultFile {
    Kind(FaultKind),
    Full(FaultObject),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultObject {
    pub kind: FaultKind,
    pub after: Option<usize>,
    pub chunk_bytes: Option<usize>,
    pub interval: Option<DelayText>,
    pub message: Option<String>,
}

/// A broken answer, as a flaky network or server gives one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The connection is reset (TCP RST) before any byte of the answer.
    ConnectionReset,
    /// The connection is closed before any byte of the answer.
    EmptyReply,
    /// `Content-Length` promises the whole body; part of it is sent, then the connection closes.
    TruncatedBody,
    /// The body is sent in small chunks with pauses between them.
    SlowBody,
    /// An event stream stops without its final event: the connection breaks.
    StreamCut,
    /// An event stream sends the API version's error event after some events, then ends.
    StreamError,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::ConnectionReset,
        FaultKind::EmptyReply,
        FaultKind::TruncatedBody,
        FaultKind::SlowBody,
        FaultKind::StreamCut,
        FaultKind::StreamError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::ConnectionReset => "connection-reset",
            FaultKind::EmptyReply => "empty-reply",
            FaultKind::TruncatedBody => "truncated-body",
            FaultKind::SlowBody => "slow-body",
            FaultKind::StreamCut => "stream-cut",
            FaultKind::StreamError => "stream-error",
        }
    }

    pub fn parse(text: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Faults that break the connection before an answer exists: nothing to validate.
    pub fn before_any_byte(self) -> bool {
        matches!(self, FaultKind::ConnectionReset | FaultKind::EmptyReply)
    }
}

/// A fault with its parameters, ready for the server to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Events (stream faults) or bytes (truncated-body) sent before the break; `None`: the
    /// default (all events but the last; half the body).
    pub after: Option<usize>,
    pub chunk_bytes: usize,
    pub interval: Duration,
    pub message: Option<String>,
}

impl Fault {
    pub fn of(kind: FaultKind) -> Fault {
        Fault {
            kind,
            after: None,
            chunk_bytes: 256,
            interval: Duration::from_millis(100),
            message: None,
        }
    }

    pub fn read(file: &FaultFile, path: &str) -> Result<Fault, FormatError> {
        Ok(match file {
            FaultFile::Kind(kind) => Fault::of(*kind),
            FaultFile::Full(object) => {
                let default = Fault::of(object.kind);
                Fault {
                    kind: object.kind,
                    after: object.after,
                    chunk_bytes: object.chunk_bytes.unwrap_or(default.chunk_bytes),
                    interval: match &object.interval {
                        Some(text) => Delay::read(text, &format!("{path}.interval"))?.max(),
                        None => default.interval,
                    },
                    message: object.message.clone(),
                }
            }
        })
    }
}

/// A fixed delay or a range drawn from the seeded random source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Fixed(Duration),
    Range(Duration, Duration),
}

/// The longest delay a file or header may ask for: ten minutes (a longer one is a typo).
pub const MAX_DELAY: Duration = Duration::from_secs(600);

impl Delay {
    pub fn read(text: &DelayText, path: &str) -> Result<Delay, FormatError> {
        match text {
            DelayText::Millis(ms) => Delay::parse(&format!("{ms}ms")),
            DelayText::Text(text) => Delay::parse(text),
        }
        .map_err(|message| FormatError::new(path, message))
    }

    /// `120ms`, `2s`, `250` (milliseconds) or a range `50ms..400ms`.
    pub fn parse(text: &str) -> Result<Delay, String> {
        let text = text.trim();
        let delay = match text.split_once("..") {
            Some((low, high)) => {
                let (low, high) = (parse_duration(low)?, parse_duration(high)?);
                if low > high {
                    return Err(format!(
                        "the range {text:?} runs backwards; write the smaller bound first"
                    ));
                }
                Delay::Range(low, high)
            }
            None => Delay::Fixed(parse_duration(text)?),
        };
        if delay.max() > MAX_DELAY {
            return Err(format!(
                "{text:?} is longer than the 10 minutes a delay may last"
            ));
        }
        Ok(delay)
    }

    pub fn max(self) -> Duration {
        match self {
            Delay::Fixed(d) | Delay::Range(_, d) => d,
        }
    }

    /// The delay for one answer; `draw` picks a number in `low..=high` milliseconds.
    pub fn sample(self, draw: impl FnOnce(u64, u64) -> u64) -> Duration {
        match self {
            Delay::Fixed(d) => d,
            Delay::Range(low, high) => {
                Duration::from_millis(draw(low.as_millis() as u64, high.as_millis() as u64))
            }
        }
    }
}

/// `120ms`, `2s`, or a bare number of milliseconds; also what `--header-timeout` and its
/// siblings read (they require the unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => match text.strip_suffix('s') {
            Some(n) => (n, 1000),
            None => (text, 1),
        },
    };
    number
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!("{text:?} is not a duration; write milliseconds like 120ms or seconds like 2s")
        })
}

/// Header names and values checked once at load (a bad one is the file's error, not a 500).
pub fn read_headers(
    headers: &BTreeMap<String, String>,
    path: &str,
) -> Result<Vec<(HeaderName, HeaderValue)>, FormatError> {
    headers
        .iter()
        .map(|(name, value)| {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| FormatError::new(path, format!("{name:?} is not a header name")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                FormatError::new(
                    format!("{path}.{name}"),
                    format!("{value:?} is not a header value"),
                )
            })?;
            Ok((header, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delays_read_milliseconds_seconds_and_ranges() {
        assert_eq!(
            Delay::parse("120ms"),
            Ok(Delay::Fixed(Duration::from_millis(120)))
        );
        assert_eq!(Delay::parse("2s"), Ok(Delay::Fixed(Duration::from_secs(2))));
        assert_eq!(
            Delay::parse("50ms..400ms"),
            Ok(Delay::Range(
                Duration::from_millis(50),
                Duration::from_millis(400)
            ))
        );
        assert!(Delay::parse("400ms..50ms").is_err());
        assert!(Delay::parse("fast").is_err());
        assert!(Delay::parse("11000s").is_err());
    }

    #[test]
    fn the_schema_rejects_an_unknown_key_and_names_where() {
        let error = read(&json!({"rules": [{"match": {}, "respnd": {"status": 500}}]}))
            .expect_err("unknown key");
        assert_eq!(error.path, "rules[0].respnd");
        assert!(error.message.contains("respnd"), "{}", error.message);
        let ok = read(
            &json!({"rules": [{"match": {"operation": "x", "call": {"every": 3}},
            "respond": {"status": 500, "fault": {"kind": "slow-body", "interval": "20ms"}}}]}),
        )
        .expect("valid");
        assert!(matches!(
            ok.rules[0].matcher.call,
            Some(CallFile::Nth(NthFile { every: Some(3), .. }))
        ));
    }
}
