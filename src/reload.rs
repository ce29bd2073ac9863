//! Hot reload: the spec file and the fixture folder given on the command line are watched
//! (debounced, so an editor's save-as-rename-and-write is one change), and each change loads a
//! new World in full before it replaces the current one. Only changes count: reading the files
//! (which every reload does) raises access events, and reacting to those would reload forever. A broken edit keeps the last good
//! World serving; its error (file, place, message) is logged, shown by `/__mock/health` and
//! on the live page, and fixing the file recovers without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
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
    _watcher: RecommendedWatcher,
}

/// Whether an event is a change to a file's content or presence (not a read of it).
fn is_change(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) && !matches!(
        event.kind,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_))
    )
}

impl Watcher {
    /// Starts watching. Reloads run on a blocking thread of the current tokio runtime, one at
    /// a time, each after the files have been quiet for [`DEBOUNCE`], so a burst of edits
    /// never loads twice in parallel nor half-written.
    pub fn start(mock: Arc<Mock>, paths: &[PathBuf]) -> Result<Watcher, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |result: notify::Result<Event>| match result {
                Ok(event) if is_change(&event) => {
                    let _ = tx.send(());
                }
                Ok(_) => {}
                Err(error) => tracing::warn!("file watcher error: {error}"),
            })
            .map_err(|e| format!("cannot start the file watcher: {e}"))?;
        for path in paths {
            watcher
                .watch(path, RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        }
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Wait until the files are quiet: changes arriving meanwhile restart the wait.
                loop {
                    tokio::time::sleep(DEBOUNCE).await;
                    let mut more = false;
                    while rx.try_recv().is_ok() {
                        more = true;
                    }
                    if !more {
                        break;
                    }
                }
                let mock = mock.clone();
                let _ = tokio::task::spawn_blocking(move || mock.reload(Trigger::Watch)).await;
            }
        });
        Ok(Watcher { _watcher: watcher })
    }
}
