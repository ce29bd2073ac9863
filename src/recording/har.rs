//! HAR 1.2 files (what a browser's developer tools export) as [`Recorded`] exchanges, for
//! `evalmock import har` and `evalmock drift FILE.har`.
//!
//! The spec decides what belongs: an entry whose path routes to no operation (the page, its
//! scripts, other APIs) is skipped and counted, as Microcks treats a HAR as a secondary
//! artifact of the spec. What is kept goes through the same [`Writer`] as a recording, so a HAR
//! of the same exchanges gives the same files except `recorded.at` (the entry's
//! `startedDateTime`) and `recorded.upstream` (the request URL's origin).

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::writer::{WriteError, Writer};
use super::{Answer, Recorded};
use crate::spec::{RouteMatch, Spec};

/// Why a HAR file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("not a HAR file: {0}")]
    Shape(String),
    #[error("{0}")]
    Write(#[from] WriteError),
}

/// The exchanges of a HAR file that the spec describes, and what was left out.
#[derive(Debug, Default)]
pub struct HarExchanges {
    pub exchanges: Vec<Recorded>,
    /// Entries left out, each with why (`GET https://x/app.js: no operation of the spec`).
    pub skipped: Vec<String>,
}

/// Reads a HAR file's entries, keeping those whose path routes to an operation of `spec`.
pub fn read(text: &str, spec: &Spec) -> Result<HarExchanges, HarError> {
    let har: Value =
        serde_json::from_str(text).map_err(|e| HarError::Shape(format!("not JSON: {e}")))?;
    let entries = har
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or_else(|| HarError::Shape("no log.entries array".into()))?;
    let mut out = HarExchanges::default();
    for (i, entry) in entries.iter().enumerate() {
        match exchange(entry) {
            Ok(exchange) => {
                if matches!(
                    spec.route(&exchange.method, &exchange.path),
                    RouteMatch::Found { .. }
                ) {
                    out.exchanges.push(exchange);
                } else {
                    out.skipped.push(format!(
                        "entries[{i}] {} {}: no operation of the spec",
                        exchange.method, exchange.path
                    ));
                }
            }
            Err(reason) => out.skipped.push(format!("entries[{i}]: {reason}")),
        }
    }
    Ok(out)
}

/// Writes every exchange the spec describes; the files written, and what was skipped.
pub fn import(
    text: &str,
    spec: &Spec,
    writer: &Writer,
) -> Result<(Vec<PathBuf>, Vec<String>), HarError> {
    let read = read(text, spec)?;
    let mut written = Vec::new();
    for exchange in &read.exchanges {
        let checked = super::check(spec, exchange);
        written.push(writer.write(exchange, &checked)?);
    }
    Ok((written, read.skipped))
}

fn exchange(entry: &Value) -> Result<Recorded, String> {
    let request = &entry["request"];
    let response = &entry["response"];
    let method = request["method"]
        .as_str()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or("no request.method")?;
    let url = request["url"].as_str().ok_or("no request.url")?;
    let url = reqwest::Url::parse(url).map_err(|e| format!("request.url {url:?}: {e}"))?;
    let status = response["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .ok_or("no usable response.status (an aborted request?)")?;
    let content = &response["content"];
    let text = content["text"].as_str().unwrap_or_default();
    if content["encoding"].as_str() == Some("base64") {
        return Err("a base64-encoded (binary) answer".into());
    }
    let response_headers = headers(&response["headers"]);
    let mut response_headers = response_headers;
    // Browsers put the media type in content.mimeType; some leave the header out.
    if !response_headers.contains_key(http::header::CONTENT_TYPE)
        && let Some(mime) = content["mimeType"].as_str().filter(|m| !m.is_empty())
        && let Ok(value) = HeaderValue::from_str(mime)
    {
        response_headers.insert(http::header::CONTENT_TYPE, value);
    }
    let answer = if super::is_event_stream(&response_headers) {
        Answer::Events(super::parse_events(text.as_bytes()))
    } else {
        Answer::Body(Bytes::from(text.to_string()))
    };
    let started = entry["startedDateTime"].as_str().unwrap_or_default();
    Ok(Recorded {
        method,
        path: url.path().to_string(),
        query: url.query().map(str::to_string),
        request_headers: headers(&request["headers"]),
        request_body: Bytes::from(
            request
                .pointer("/postData/text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        status,
        response_headers,
        response: answer,
        at_ms: parse_time(started).ok_or_else(|| format!("startedDateTime {started:?}"))?,
        upstream: url.origin().ascii_serialization(),
        duration_ms: entry["time"]
            .as_f64()
            .map_or(0, |t| t.max(0.0).round() as u64),
    })
}

fn headers(list: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for header in list.as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (header["name"].as_str(), header["value"].as_str()) else {
            continue;
        };
        // HTTP/2 pseudo-headers (`:authority`) are not headers.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// `startedDateTime`: ISO 8601 with `Z` or an offset (`+02:00`), as browsers write it.
fn parse_time(text: &str) -> Option<i64> {
    if text.ends_with('Z') {
        return crate::clock::parse_iso_ms(text);
    }
    let split = text.len().checked_sub(6)?;
    let (local, offset) = text.split_at(split);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let offset_ms = (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?) * 60_000;
    Some(crate::clock::parse_iso_ms(&format!("{local}Z"))? - sign * offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_with_offsets_are_read_as_utc() {
        assert_eq!(
            parse_time("2026-01-01T02:00:00.000+02:00"),
            parse_time("2026-01-01T00:00:00.000Z")
        );
        assert!(parse_time("yesterday").is_none());
    }
}
