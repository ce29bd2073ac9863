//! The Runtime: state that changes while the mock serves and survives a reload of the files
//! (submitted evals and the quota, remembered answers, the request journal, open event
//! streams, the last reload's result). Each piece sits behind a small type whose methods hide
//! its lock, so nothing here is held across a request.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::evals::{Submissions, SubmitSettings};
use crate::journal::Journal;
use crate::memo::Memo;
use crate::reload::ReloadReport;
use crate::scenarios::ScenarioState;

#[derive(Debug)]
pub struct Runtime {
    pub journal: Journal,
    pub submissions: Submissions,
    pub memo: Memo,
    /// The active scenario, its call counts and state, the seeded random source.
    pub scenarios: ScenarioState,
    /// Event streams being sent; a stream whose client went away is dropped, and with it its
    /// guard, so this falls back to zero (observable at `/__mock/health`).
    active_streams: Arc<AtomicUsize>,
    last_reload: Mutex<Option<ReloadReport>>,
}

impl Runtime {
    pub fn new(journal: Journal, submit: SubmitSettings, scenarios: ScenarioState) -> Runtime {
        Runtime {
            journal,
            submissions: Submissions::new(submit),
            memo: Memo::default(),
            scenarios,
            active_streams: Arc::new(AtomicUsize::new(0)),
            last_reload: Mutex::new(None),
        }
    }

    /// Restores the fixtures' state: submitted evals forgotten, quota restored, remembered
    /// answers dropped, scenario call counts and states back to their start (the active
    /// scenario stays). The journal is kept (it records the reset itself; clear it with
    /// `DELETE /__mock/requests`).
    pub fn reset(&self) {
        self.submissions.reset();
        self.memo.clear();
        self.scenarios.reset();
    }

    pub fn active_streams(&self) -> usize {
        self.active_streams.load(Ordering::SeqCst)
    }

    /// Counts one event stream for as long as the returned guard lives.
    pub fn stream_guard(&self) -> StreamGuard {
        self.active_streams.fetch_add(1, Ordering::SeqCst);
        StreamGuard(self.active_streams.clone())
    }

    pub fn last_reload(&self) -> Option<ReloadReport> {
        self.lock_reload().clone()
    }

    pub fn set_last_reload(&self, report: ReloadReport) {
        *self.lock_reload() = Some(report);
    }

    fn lock_reload(&self) -> std::sync::MutexGuard<'_, Option<ReloadReport>> {
        // Written whole: a poisoned lock still holds a complete report.
        self.last_reload
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts one active stream for as long as it lives.
#[derive(Debug)]
pub struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
