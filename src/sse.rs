//! The server-sent events wire format, read: events split from a byte stream as it arrives
//! (the proxy), or from a whole text (a HAR, a recorded body, an OpenAPI 3.2 example's
//! `serializedValue`). Chunk boundaries may fall anywhere, even inside a UTF-8 character.

use serde_json::Value;

/// One server-sent event as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `data:` lines joined by newlines.
    pub data: String,
    pub event: Option<String>,
    pub id: Option<String>,
    /// Milliseconds since the previous event (the first: since the answer's headers).
    pub delay_ms: u64,
}

impl SseEvent {
    /// The payload as JSON when it is JSON (what the spec's item schema describes), else the
    /// text as a JSON string.
    pub fn data_json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|_| Value::String(self.data.clone()))
    }
}

/// Splits an event stream into events as the bytes arrive: feed it chunks, it hands back every
/// event completed by them (an event ends with a blank line). Chunk boundaries may fall
/// anywhere, even inside a line.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
    pending: Vec<u8>,
}

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8], delay_ms: u64) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        // Only decode up to the last complete UTF-8 character.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(text) => text.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).replace("\r\n", "\n");
        self.pending.drain(..valid);
        self.buffer.push_str(&text);
        let mut events = Vec::new();
        let mut first = true;
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            if let Some(event) = parse_block(&block, if first { delay_ms } else { 0 }) {
                first = false;
                events.push(event);
            }
        }
        events
    }

    /// The last event when the stream ended without its blank line.
    pub fn finish(mut self, delay_ms: u64) -> Option<SseEvent> {
        let rest = std::mem::take(&mut self.buffer);
        parse_block(&rest, delay_ms)
    }
}

fn parse_block(block: &str, delay_ms: u64) -> Option<SseEvent> {
    let mut data: Vec<&str> = Vec::new();
    let (mut event, mut id) = (None, None);
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => data.push(value),
            "event" => event = Some(value.to_string()),
            "id" => id = Some(value.to_string()),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseEvent {
        data: data.join("\n"),
        event,
        id,
        delay_ms,
    })
}

/// Parses a whole event stream (a HAR's text, a recorded body): every event, no timing.
pub fn parse_events(text: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    let mut events = parser.feed(text, 0);
    events.extend(parser.finish(0));
    events
}
