//! Answers remembered by the inputs that determine them.
//!
//! Some answers depend on the request but only on immutable loaded data (compare with a
//! `stepIds` filter, analyze-steps over fixture groups). A UI asks the same few questions over
//! and over, so the engine keeps each such answer, once it has validated it, under a key the
//! domain derives from the normalised inputs (never the raw body: unknown fields and padding
//! must not make new keys). A hit is served as validated bytes.
//!
//! The memo is runtime state, but its answers belong to one loaded World: each is tagged with
//! the World's generation, and a lookup from another generation finds nothing, so a reload can
//! never serve an answer built from the old fixtures. Bounded by the bytes of keys and answers
//! together; past the budget it starts afresh (simple, predictable, never wrong: only rebuilt).

use std::collections::HashMap;
use std::sync::RwLock;

use bytes::Bytes;

/// Bytes of keys and answers kept at most.
pub const BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// What one entry costs beyond its key and answer (map slot, `Bytes` header), for the budget.
const ENTRY_OVERHEAD: usize = 64;

#[derive(Debug, Default)]
pub struct Memo {
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    answers: HashMap<String, Bytes>,
    bytes: usize,
}

impl Memo {
    /// The remembered answer for `key` under the World of `generation`.
    pub fn get(&self, generation: u64, key: &str) -> Option<Bytes> {
        let entries = self.read();
        if entries.generation != generation {
            return None;
        }
        entries.answers.get(key).cloned()
    }

    /// Remembers a validated answer. An answer of another generation than the one kept
    /// replaces the whole memo (the World was reloaded).
    pub fn insert(&self, generation: u64, key: String, answer: Bytes) {
        let cost = key.len() + answer.len() + ENTRY_OVERHEAD;
        if cost > BUDGET_BYTES {
            return;
        }
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.generation != generation || entries.bytes + cost > BUDGET_BYTES {
            *entries = Entries {
                generation,
                ..Entries::default()
            };
        }
        if let Some(old) = entries.answers.insert(key, answer) {
            // Two requests raced to build the same answer: count it once.
            entries.bytes -= old.len() + ENTRY_OVERHEAD;
        }
        entries.bytes += cost;
    }

    /// Forgets everything (`POST /__mock/reset`).
    pub fn clear(&self) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generation = entries.generation;
        *entries = Entries {
            generation,
            ..Entries::default()
        };
    }

    /// (entries, bytes counted against the budget), for `/__mock/health`.
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.read();
        (entries.answers.len(), entries.bytes)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        // Writers replace whole entries, so a poisoned lock still holds consistent data.
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_found_only_under_its_generation() {
        let memo = Memo::default();
        memo.insert(1, "k".into(), Bytes::from_static(b"answer"));
        assert_eq!(memo.get(1, "k"), Some(Bytes::from_static(b"answer")));
        assert_eq!(memo.get(2, "k"), None);
        memo.insert(2, "other".into(), Bytes::from_static(b"x"));
        assert_eq!(
            memo.get(1, "k"),
            None,
            "a new generation replaces the old answers"
        );
    }

    #[test]
    fn the_budget_counts_keys_and_answers() {
        let memo = Memo::default();
        let key = "k".repeat(BUDGET_BYTES / 2);
        memo.insert(1, key.clone(), Bytes::from_static(b"a"));
        memo.insert(1, format!("{key}2"), Bytes::from_static(b"b"));
        let (entries, bytes) = memo.usage();
        assert_eq!(entries, 1, "the second key alone overflows the budget");
        assert!(bytes <= BUDGET_BYTES);
        memo.clear();
        assert_eq!(memo.usage(), (0, 0));
    }
}
