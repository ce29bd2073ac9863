//! Answers that depend on the request but only on immutable fixture data (compare-record and
//! compare with a `stepIds` filter, analyze-steps): each distinct request body is built and
//! validated against the spec once, then served as bytes, like the unfiltered answers cached
//! at load. A UI asks the same few questions over and over; this turns them into lookups.
//!
//! Bounded by total size: when a new answer would exceed the budget the memo starts afresh,
//! which is simple and keeps memory predictable (no answer is ever wrong, only rebuilt).

use std::collections::HashMap;
use std::sync::RwLock;

use bytes::Bytes;
use serde_json::Value;

use crate::respond::{Reply, ReplyBody};
use crate::spec::CompiledSchema;
use crate::validate::schema_violations;

/// Bytes of cached answers kept at most.
const BUDGET_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Default)]
pub(super) struct Memo {
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    answers: HashMap<String, Bytes>,
    bytes: usize,
}

impl Memo {
    /// The answer for `key`, built with `build` the first time. An answer that breaks `schema`
    /// is not kept: it goes back as plain JSON, so the engine's response validation reports it.
    pub(super) fn answer(
        &self,
        key: String,
        schema: Option<&CompiledSchema>,
        build: impl FnOnce() -> Value,
    ) -> Reply {
        if let Some(bytes) = self.read().answers.get(&key) {
            return prevalidated(bytes.clone());
        }
        let body = build();
        if let Some(schema) = schema
            && !schema_violations(schema, &body).is_empty()
        {
            return Reply::json(200, body);
        }
        let bytes = Bytes::from(body.to_string());
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.bytes + bytes.len() > BUDGET_BYTES {
            *entries = Entries::default();
        }
        entries.bytes += bytes.len();
        entries.answers.insert(key, bytes.clone());
        prevalidated(bytes)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        // Writers only insert whole entries, so a poisoned lock still holds consistent data.
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) fn prevalidated(bytes: Bytes) -> Reply {
    Reply {
        status: 200,
        content_type: Some("application/json".into()),
        body: ReplyBody::Prevalidated(bytes),
        mock_marker: None,
    }
}
