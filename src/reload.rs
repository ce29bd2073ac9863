//! Hot reload: the spec file and the fixture folder given on the command line are watched
//! (debounced, so an editor's save-as-rename-and-write is one change), and each change loads a
//! new World in full before it replaces the current one. A broken edit keeps the last good
//! World serving; its error (file, place, message) is logged, shown by `/__mock/health` and
//! on the live page, and fixing the file recovers without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use serde_json::{Value, json};

use crate::engine::Mock;
use crate::world::{ErrorLocation, LoadError};

/// Changes closer together than this are one reload.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A watched file changed.
    Watch,
    /// `POST /__mock/reload`.
    Admin,
}

/// The result of one reload attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    pub trigger: Trigger,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub duration: Duration,
    /// `None`: the new World is serving.
    pub error: Option<ErrorLocation>,
}

impl ReloadReport {
    pub fn new(trigger: Trigger, duration: Duration, error: Option<&LoadError>) -> ReloadReport {
        ReloadReport {
            trigger,
            at_ms: crate::clock::now_ms(),
            duration,
            error: error.map(LoadError::location),
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok(),
            "at": crate::clock::iso_ms(self.at_ms),
            "trigger": match self.trigger {
                Trigger::Watch => "watch",
                Trigger::Admin => "admin",
            },
            "durationMs": (self.duration.as_secs_f64() * 1e6).round() / 1e3,
            "error": self.error.as_ref().map(|e| json!({
                "file": e.file,
                "pointer": e.pointer,
                "message": e.message,
            })),
        })
    }

    pub fn log(&self) {
        match &self.error {
            None => tracing::info!("reloaded the spec and fixtures in {:?}", self.duration),
            Some(e) => tracing::error!(
                file = %e.file,
                pointer = %e.pointer,
                "reload failed, still serving the last good files: {}",
                e.message
            ),
        }
    }
}

/// Watches `paths` and reloads `mock` after each (debounced) change, until dropped.
#[derive(Debug)]
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

impl Watcher {
    /// Starts watching. Reloads run on a blocking thread of the current tokio runtime, one at
    /// a time, so a burst of edits never loads twice in parallel.
    pub fn start(mock: Arc<Mock>, paths: &[PathBuf]) -> Result<Watcher, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut debouncer =
            new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
                Ok(events) if !events.is_empty() => {
                    let _ = tx.send(());
                }
                Ok(_) => {}
                Err(error) => tracing::warn!("file watcher error: {error}"),
            })
            .map_err(|e| format!("cannot start the file watcher: {e}"))?;
        for path in paths {
            debouncer
                .watcher()
                .watch(path, RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        }
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Changes that arrived while loading are one more reload, not many.
                while rx.try_recv().is_ok() {}
                let mock = mock.clone();
                let _ = tokio::task::spawn_blocking(move || mock.reload(Trigger::Watch)).await;
            }
        });
        Ok(Watcher {
            _debouncer: debouncer,
        })
    }
}
