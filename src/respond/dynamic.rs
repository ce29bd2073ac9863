//! Seeded values from a schema for `Prefer: dynamic=true`: drawn by the walker of `generate`
//! (which honours the same constraints for fixed values), with optional properties filled in;
//! the same seed gives the same value while another seed gives another.
//!
//! What only a domain knows (an API's id prefixes, which counts bound which, which times come
//! in order) reaches the generator as a [`Realism`] the domain supplies, the way auth settings
//! reach `auth`. The generator itself stays generic.

use serde_json::{Map, Value};

use super::generate::{Walker, primary_type};
use crate::clock;
use crate::seeded::Seeded;
use crate::spec::{CompiledSchema, Spec};

/// The seed of `dynamic=true` without `seed=N`: answers stay stable between requests.
pub const DEFAULT_SEED: u64 = 0x5eed_0000_e7a1_0001;

/// Generated times fall within half a year from this instant (2026-01-01T00:00:00Z).
const TIME_BASE_MS: i64 = clock::utc(2026, 1, 1, 0, 0, 0);
const TIME_SPAN_MS: u64 = 182 * clock::DAY as u64;

/// What a domain adds to generated values. Every method has a neutral default, so a spec
/// served without a domain gets plain, still valid, values.
pub trait Realism: Send + Sync + std::fmt::Debug {
    /// A realistic string for a property called `name` (an id with the API's prefix), or
    /// `None` for the generic one. The schema's length limits still apply to it.
    fn string(&self, _name: &str, _rng: &mut Rng) -> Option<String> {
        None
    }
    /// A key of the free-form map held by a property called `name` (`resultsByRecord` is
    /// keyed by record ids), or `None` for a generic word.
    fn map_key(&self, _name: &str, _rng: &mut Rng) -> Option<String> {
        None
    }
    /// Fixes what holds between fields once the value is generated (counts that bound each
    /// other, times in order). It may only change values to ones of the same type; the
    /// caller re-validates and keeps the unfixed value if the fix broke the schema.
    fn finish(&self, _value: &mut Value) {}
    /// The discriminator values (`type`) of a plausible sequence of stream events, or empty
    /// for events of any kind.
    fn event_types(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Makes a generated stream read as one run (one execution id, `seq` counting up).
    fn finish_events(&self, _events: &mut [Value]) {}
    /// Whether a `number` property called `name` counts things (steps, tokens, a position)
    /// and so reads as a whole number, though its schema allows fractions.
    fn counts(&self, _name: &str) -> bool {
        false
    }
}

/// No domain: generic values only.
#[derive(Debug, Default, Clone, Copy)]
pub struct Plain;

impl Realism for Plain {}

/// The generator's draws: the mock's one seeded source ([`Seeded`]), plus times.
#[derive(Debug, Clone)]
pub struct Rng(Seeded);

impl std::ops::Deref for Rng {
    type Target = Seeded;
    fn deref(&self) -> &Seeded {
        &self.0
    }
}

impl std::ops::DerefMut for Rng {
    fn deref_mut(&mut self) -> &mut Seeded {
        &mut self.0
    }
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(Seeded::new(seed))
    }

    /// A moment in the first half of 2026, in milliseconds since the epoch.
    pub fn time_ms(&mut self) -> i64 {
        TIME_BASE_MS + self.below(TIME_SPAN_MS) as i64
    }
}

/// A generated value of `schema`, seeded.
pub fn value(spec: &Spec, schema: &CompiledSchema, seed: u64, realism: &dyn Realism) -> Value {
    Walker::new(spec, schema, seed, realism, true).root(schema)
}

/// A generated stream event of `schema`: of the given discriminator value (`type`) when the
/// schema is a union that has such a variant.
pub fn event(
    spec: &Spec,
    schema: &CompiledSchema,
    seed: u64,
    realism: &dyn Realism,
    event_type: Option<&str>,
) -> Value {
    let mut walker = Walker::new(spec, schema, seed, realism, true);
    walker.want_type = event_type;
    walker.root(schema)
}

/// The inclusive range of a numeric schema (exclusive bounds, as numbers in JSON Schema
/// 2019+ or as booleans in OpenAPI 3.0, are narrowed by one unit of the last decimal).
pub(super) fn bounds(map: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    let step = if primary_type(map) == Some("integer") {
        1.0
    } else {
        0.001
    };
    let number = |key: &str| map.get(key).and_then(Value::as_f64);
    let flag = |key: &str| map.get(key) == Some(&Value::Bool(true));
    let lo = match (number("exclusiveMinimum"), number("minimum")) {
        (Some(x), min) => Some(min.map_or(x + step, |m| m.max(x + step))),
        (None, Some(m)) if flag("exclusiveMinimum") => Some(m + step),
        (None, min) => min,
    };
    let hi = match (number("exclusiveMaximum"), number("maximum")) {
        (Some(x), max) => Some(max.map_or(x - step, |m| m.min(x - step))),
        (None, Some(m)) if flag("exclusiveMaximum") => Some(m - step),
        (None, max) => max,
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_generator_is_reproducible_and_varies_with_the_seed() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        for _ in 0..1000 {
            let n = a.between(-3, 3);
            assert!((-3..=3).contains(&n));
            assert!((0.0..1.0).contains(&a.fraction()));
        }
    }

    #[test]
    fn exclusive_bounds_narrow_the_range() {
        let schema = json!({"type": "integer", "exclusiveMinimum": 3, "maximum": 5});
        let map = schema.as_object().expect("object");
        assert_eq!(bounds(map), (Some(4.0), Some(5.0)));
        let schema =
            json!({"type": "number", "minimum": 0, "exclusiveMaximum": true, "maximum": 1});
        let (lo, hi) = bounds(schema.as_object().expect("object"));
        assert_eq!(lo, Some(0.0));
        assert!(hi.is_some_and(|h| h < 1.0));
    }
}
