//! The log: one line per event on stderr, written by a background thread.
//!
//! Logs go to stderr, so stdout stays for what a command prints (`check`, `fixtures
//! generate`). A background thread writes them: a request never waits for the terminal or a
//! pipe. Colours only on a terminal, so log files and CI logs hold plain text.
//!
//! The line is tracing-subscriber's usual shape (`2026-11-29T18:20:01.123456Z  INFO message
//! key=value`), written by [`Line`] rather than by its default formatter, because at one INFO
//! line per request (the default) the formatter was a tenth of a request's instructions:
//! it escapes terminal control characters one `char` at a time through `fmt::Write`. [`Line`]
//! escapes the same characters (ESC, BEL, BS, FF, DEL and the C1 controls, which a client
//! could put in a logged id to rewrite the developer's terminal) but scans each piece for them
//! first and writes a clean piece, the usual case, in one call.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Lines a burst may queue for the writer thread before a request waits for it. Each slot is
/// allocated (and touched) up front: tracing-appender's default of 128,000 costs 4 MB of
/// resident memory for a mock that idles at 25; a burst of this many lines is written by the
/// thread in a few milliseconds.
const QUEUED_LINES: usize = 8 * 1024;

/// Installs the subscriber (level from `RUST_LOG`, default `evalmock=info`). The guard flushes
/// buffered lines when dropped: keep it for the life of `main`.
pub fn init() -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("evalmock=info"));
    // The worker drains every line waiting, then flushes: buffered, a burst of requests costs
    // one write for many lines, and an idle mock still shows each line at once.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // Under a flood, keep every line (block) rather than lose evidence of what happened.
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Line {
            ansi: std::io::stderr().is_terminal(),
        })
        .with_writer(writer)
        .init();
    guard
}

/// Formats one event as a line: time, level, message, then `key=value` fields.
#[derive(Debug)]
pub struct Line {
    /// Colour the level (a terminal).
    pub ansi: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let c = crate::clock::civil(now.as_millis() as i64);
        write!(
            writer,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z ",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            now.subsec_micros()
        )?;
        let level = *event.metadata().level();
        let (name, colour) = match level {
            Level::ERROR => ("ERROR", "31"),
            Level::WARN => (" WARN", "33"),
            Level::INFO => (" INFO", "32"),
            Level::DEBUG => ("DEBUG", "34"),
            Level::TRACE => ("TRACE", "35"),
        };
        if self.ansi {
            write!(writer, "\x1b[{colour}m{name}\x1b[0m ")?;
        } else {
            writer.write_str(name)?;
            writer.write_char(' ')?;
        }
        let mut fields = Fields {
            out: Escaping(&mut writer),
            result: Ok(()),
            first: true,
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes the message, then the other fields as ` key=value`.
struct Fields<'w, 'a> {
    out: Escaping<'w, 'a>,
    result: fmt::Result,
    first: bool,
}

impl Fields<'_, '_> {
    fn field(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if field.name() == "message" {
                if !self.first {
                    self.out.0.write_char(' ')?;
                }
                self.out.write_fmt(value)
            } else {
                if !self.first {
                    self.out.0.write_char(' ')?;
                }
                self.out.0.write_str(field.name())?;
                self.out.0.write_char('=')?;
                self.out.write_fmt(value)
            }
        })();
        self.first = false;
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, format_args!("{value}"));
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}

/// Escapes terminal control characters in what is written through it.
struct Escaping<'w, 'a>(&'w mut Writer<'a>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        if !piece.bytes().any(is_control_byte) {
            return self.0.write_str(piece);
        }
        for ch in piece.chars() {
            match ch {
                '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' => {
                    write!(self.0, "\\x{:02x}", ch as u32)?
                }
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", ch as u32)?,
                _ => self.0.write_char(ch)?,
            }
        }
        Ok(())
    }
}

/// A byte that may start a character [`Escaping`] rewrites: one of the C0 controls terminals
/// act on, DEL, or 0xC2 (the lead byte of every C1 control in UTF-8; a false alarm on other
/// characters of U+0080..U+00BF only sends the piece the slow way).
fn is_control_byte(byte: u8) -> bool {
    matches!(byte, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f | 0xc2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        let mut writer = Writer::new(&mut out);
        Escaping(&mut writer).write_str(text).expect("writes");
        out
    }

    #[test]
    fn clean_text_passes_and_control_characters_are_escaped() {
        assert_eq!(
            escaped("GET /v1/eval/group/é 200"),
            "GET /v1/eval/group/é 200"
        );
        assert_eq!(escaped("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(escaped("c1 \u{9b}31m ¢"), "c1 \\u{9b}31m ¢");
        assert_eq!(escaped("\x08\x0c\x7f"), "\\x08\\x0c\\x7f");
    }
}
