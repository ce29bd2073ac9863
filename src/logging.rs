//! The log: one line per event on stderr, written by a background thread.
//!
//! Logs go to stderr, so stdout stays for what a command prints (`check`, `fixtures
//! generate`). Colours only on a terminal, so log files and CI logs hold plain text.
//!
//! At default settings every request logs a line, so the log's cost is part of every request's:
//! - the line is tracing-subscriber's usual shape (`2026-11-29T18:20:01.123456Z  INFO message
//!   key=value`), written by [`Line`] rather than by its default formatter, which escaped
//!   terminal control characters one `char` at a time through `fmt::Write` (a tenth of a
//!   request's instructions). [`Line`] escapes the same characters (ESC, BEL, BS, FF, DEL and
//!   the C1 controls, which a client could put in a logged id to rewrite the developer's
//!   terminal) but scans each piece for them first and writes a clean piece in one call;
//! - a request appends its line to one shared buffer and goes on ([`Batched`]); a writer thread
//!   takes the whole buffer every few milliseconds and writes it with one call. A queue with a
//!   message per line (tracing-appender) woke the writer for most lines: on two cores its
//!   context switches took a tenth of the throughput. Lines keep the order they were logged in
//!   (one buffer), an idle mock still shows each line within [`GATHER`], nothing is dropped
//!   (past [`MAX_PENDING`] bytes a request waits for the writer), and the guard [`init`]
//!   returns writes what is left when `main` ends.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// How long the writer lets lines gather after the first one arrives: one write per burst.
const GATHER: Duration = Duration::from_millis(5);
/// Bytes of lines waiting before a logging request waits for the writer (a stalled terminal or
/// pipe must not grow memory without bound).
const MAX_PENDING: usize = 1024 * 1024;

/// Installs the subscriber (level from `RUST_LOG`, default `evalmock=info`). The guard writes
/// the lines still waiting when dropped: keep it for the life of `main`.
pub fn init() -> Guard {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("evalmock=info"));
    let (writer, guard) = Batched::start(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Line {
            ansi: std::io::stderr().is_terminal(),
        })
        .with_writer(writer)
        .init();
    guard
}

/// Lines waiting for the writer thread.
#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// The writer waits here for a first line; a closing guard wakes it too.
    arrived: Condvar,
    /// Requests wait here while [`MAX_PENDING`] bytes are waiting.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while appending leaves at worst a partial line: keep logging.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where events are written: appends to the shared buffer (see the module's doc).
#[derive(Debug, Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

/// Stops the writer thread after it has written every waiting line.
#[derive(Debug)]
pub struct Guard {
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Batched {
    /// Starts the writer thread over `out`.
    pub fn start(out: impl std::io::Write + Send + 'static) -> (Batched, Guard) {
        let shared = Arc::new(Shared::default());
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("evalmock-log".into())
                .spawn(move || write_batches(&shared, out))
                .ok()
        };
        (
            Batched {
                shared: shared.clone(),
            },
            Guard { shared, writer },
        )
    }

    fn append(&self, line: &[u8]) {
        let mut pending = self.shared.lock();
        while pending.bytes.len() > MAX_PENDING && !pending.closed {
            pending = self
                .shared
                .room
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        drop(pending);
        if was_empty {
            self.shared.arrived.notify_one();
        }
    }
}

/// The writer thread: waits for a first line, lets more gather, writes them all at once.
fn write_batches(shared: &Shared, mut out: impl std::io::Write) {
    let mut spare = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.bytes.is_empty() && !pending.closed {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let closed = pending.closed;
        if pending.bytes.is_empty() {
            return;
        }
        if !closed {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.bytes, &mut spare);
        drop(pending);
        shared.room.notify_all();
        // Nothing useful can be done when stderr is gone; the lines are dropped.
        let _ = out.write_all(&spare).and_then(|()| out.flush());
        spare.clear();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        self.shared.room.notify_all();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl std::io::Write for &Batched {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = &'a Batched;

    fn make_writer(&'a self) -> &'a Batched {
        self
    }
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
        write_timestamp(&mut writer, now)?;
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

/// Writes `2026-11-29T18:20:01.123456Z ` for a time since the Unix epoch, digit by digit: as
/// `write!` with padded integers it cost ~1,000 instructions of every request's line.
fn write_timestamp(out: &mut impl fmt::Write, since_epoch: Duration) -> fmt::Result {
    let c = crate::clock::civil(since_epoch.as_millis() as i64);
    let micros = since_epoch.subsec_micros();
    if !(0..=9999).contains(&c.year) {
        return write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z ",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z ";
    let mut put = |at: usize, width: usize, value: u64| {
        let mut rest = value;
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
    };
    for (at, width, value) in [
        (0, 4, c.year),
        (5, 2, c.month),
        (8, 2, c.day),
        (11, 2, c.hour),
        (14, 2, c.minute),
        (17, 2, c.second),
    ] {
        put(at, width, value.unsigned_abs());
    }
    put(20, 6, u64::from(micros));
    // Only ASCII was written.
    out.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
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
            if !self.first {
                self.out.0.write_char(' ')?;
            }
            if field.name() != "message" {
                self.out.0.write_str(field.name())?;
                self.out.0.write_char('=')?;
            }
            self.out.write_fmt(value)
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

    /// A `Write` whose bytes the test can read after the writer thread is done.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_the_guard_writes_what_is_left() {
        let out = Collected::default();
        let (writer, guard) = Batched::start(out.clone());
        let lines: Vec<String> = (0..5000).map(|i| format!("line {i}\n")).collect();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for line in &lines {
                    std::io::Write::write_all(&mut &writer, line.as_bytes()).expect("write");
                }
            });
        });
        // Some lines are still waiting for the writer's next round: the guard writes them.
        drop(guard);
        let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("UTF-8");
        assert_eq!(written, lines.concat());
    }

    #[test]
    fn a_stalled_output_makes_writers_wait_instead_of_growing_without_bound() {
        /// An output that takes a while per write, like a terminal scrolled by hand.
        struct Slow(Collected);
        impl std::io::Write for Slow {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_millis(20));
                self.0.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Collected::default();
        let (writer, guard) = Batched::start(Slow(out.clone()));
        let line = vec![b'x'; 64 * 1024];
        for _ in 0..64 {
            std::io::Write::write_all(&mut &writer, &line).expect("write");
            assert!(
                writer.shared.lock().bytes.len() <= MAX_PENDING + line.len(),
                "pending bytes stay bounded"
            );
        }
        drop(guard);
        assert_eq!(out.0.lock().expect("lock").len(), 64 * line.len());
    }

    #[test]
    fn the_timestamp_is_rfc_3339_with_microseconds() {
        let shown = |since_epoch: Duration| {
            let mut out = String::new();
            write_timestamp(&mut out, since_epoch).expect("writes");
            out
        };
        assert_eq!(shown(Duration::ZERO), "1970-01-01T00:00:00.000000Z ");
        assert_eq!(
            shown(Duration::new(1_796_062_801, 123_456_789)),
            "2026-11-30T18:20:01.123456Z "
        );
        // Past year 9999 the year takes the digits it needs, as `{:04}` did.
        assert_eq!(
            shown(Duration::from_secs(253_402_300_800)),
            "10000-01-01T00:00:00.000000Z "
        );
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
