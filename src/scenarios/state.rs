//! What changes while a scenario plays: which scenario is active, each rule's call counts,
//! each scenario's state, and the seeded random source that draws delays from ranges. One
//! small lock, held only while a rule is picked (a few comparisons), never across a request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::format::AfterSequence;
use super::{Answers, Delay, RequestView, Response, Rule, Scenario};
use crate::seeded::Seeded;

#[derive(Debug)]
pub struct ScenarioState {
    /// Read by every request: lock-free, so a mock without a scenario pays one atomic load.
    active: arc_swap::ArcSwapOption<String>,
    inner: Mutex<Inner>,
    seed: u64,
}

#[derive(Debug)]
struct Inner {
    /// (scenario, rule index) -> counts.
    counts: HashMap<(String, usize), Counts>,
    /// Scenario -> its current state (absent: its initial state).
    states: HashMap<String, String>,
    random: Seeded,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Requests that met every condition but the call count.
    matched: u64,
    /// Requests the rule answered (the position in its sequence).
    answered: u64,
}

/// The rule that answers a request, and its response for this call.
#[derive(Debug, Clone, Copy)]
pub struct Picked<'s> {
    pub scenario: &'s Scenario,
    pub rule: &'s Rule,
    /// `None`: the rule answers as usual (it only moves the scenario's state).
    pub response: Option<&'s Response>,
}

impl ScenarioState {
    pub fn new(active: Option<String>, seed: u64) -> ScenarioState {
        ScenarioState {
            active: arc_swap::ArcSwapOption::from_pointee(active),
            inner: Mutex::new(Inner {
                counts: HashMap::new(),
                states: HashMap::new(),
                random: Seeded::new(seed),
            }),
            seed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every write is a whole value; a poisoned lock still holds consistent state.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn active(&self) -> Option<Arc<String>> {
        self.active.load_full()
    }

    /// Makes `name` the active scenario (`None`: none) and starts it afresh.
    pub fn activate(&self, name: Option<String>) {
        let mut inner = self.lock();
        inner.counts.clear();
        inner.states.clear();
        self.active.store(name.map(Arc::new));
    }

    /// Call counts and states back to the start; the random source back to its seed (so a
    /// reset run draws the same delays again). The active scenario stays.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.counts.clear();
        inner.states.clear();
        inner.random = Seeded::new(self.seed);
    }

    /// The current state of `scenario`.
    pub fn state_of(&self, scenario: &Scenario) -> String {
        self.lock()
            .states
            .get(&scenario.name)
            .cloned()
            .unwrap_or_else(|| scenario.initial_state.clone())
    }

    /// Draws one delay (a range is sampled from the seeded source).
    pub fn sample(&self, delay: Delay) -> Duration {
        delay.sample(|low, high| {
            let drawn = self.lock().random.between(low as i64, high as i64);
            drawn.max(0) as u64
        })
    }

    /// The first rule of `scenario` that applies to `request`, counting the call for every
    /// rule whose other conditions hold, and moving the scenario's state if the rule says so.
    pub fn pick<'s>(
        &self,
        scenario: &'s Scenario,
        request: &RequestView<'_>,
    ) -> Option<Picked<'s>> {
        let mut inner = self.lock();
        let state = inner
            .states
            .get(&scenario.name)
            .cloned()
            .unwrap_or_else(|| scenario.initial_state.clone());
        for (index, rule) in scenario.rules.iter().enumerate() {
            if !rule.matcher.differences(request, &state).is_empty() {
                continue;
            }
            let counts = inner
                .counts
                .entry((scenario.name.clone(), index))
                .or_default();
            counts.matched += 1;
            if let Some(calls) = &rule.matcher.call
                && !calls.includes(counts.matched)
            {
                continue;
            }
            // With a sequence, the state moves once its last item has been answered.
            let mut last_of_sequence = true;
            let response = match &rule.answers {
                Answers::Usual => None,
                Answers::One(response) => Some(response.as_ref()),
                Answers::Sequence { items, after } => {
                    last_of_sequence = counts.answered as usize + 1 >= items.len();
                    let n = counts.answered as usize;
                    let item = match after {
                        _ if n < items.len() => items.get(n),
                        AfterSequence::RepeatLast => items.last(),
                        AfterSequence::Cycle => items.get(n % items.len()),
                        AfterSequence::Pass => None,
                    };
                    match item {
                        Some(item) => Some(item),
                        None => continue,
                    }
                }
            };
            counts.answered += 1;
            if let Some(next) = rule.then_state.as_ref().filter(|_| last_of_sequence) {
                inner.states.insert(scenario.name.clone(), next.clone());
            }
            return Some(Picked {
                scenario,
                rule,
                response,
            });
        }
        None
    }
}
