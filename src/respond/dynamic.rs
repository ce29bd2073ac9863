//! Seeded values from a schema for `Prefer: dynamic=true`: every value honours its schema
//! (types, formats, ranges, lengths, simple patterns, enums, `oneOf`/`anyOf`/`allOf`, `not:
//! {required}`, nullable types), optional properties are filled in too, and the same seed gives
//! the same value while another seed gives another.
//!
//! What only a domain knows (an API's id prefixes, which counts bound which, which times come
//! in order) reaches the generator as a [`Realism`] the domain supplies, the way auth settings
//! reach `auth`. The generator itself stays generic.

use serde_json::{Map, Value, json};

use super::generate::{drop_excluded, primary_type, required_names};
use crate::clock;
use crate::seeded::Seeded;
use crate::spec::Spec;

/// The seed of `dynamic=true` without `seed=N`: answers stay stable between requests.
pub const DEFAULT_SEED: u64 = 0x5eed_0000_e7a1_0001;

/// Past this depth objects get only their required properties and arrays their minimum
/// number of items, so values from recursive schemas stay finite.
const FULL_DEPTH: usize = 6;
/// A hard stop for schemas whose required properties recurse forever.
const MAX_DEPTH: usize = 32;
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

/// Words of generic strings: neutral, readable, clearly sample data.
const WORDS: &[&str] = &[
    "alpha", "amber", "atlas", "beacon", "birch", "cedar", "comet", "delta", "ember", "falcon",
    "harbor", "iris", "juniper", "lumen", "maple", "nova", "orbit", "pine", "quartz", "river",
    "sierra", "summit", "tidal", "vertex",
];

/// A generated value of `schema`, seeded.
pub fn value(spec: &Spec, schema: &Value, seed: u64, realism: &dyn Realism) -> Value {
    Generator {
        spec,
        realism,
        rng: Rng::new(seed),
        want_type: None,
    }
    .generate(schema, 0, None)
}

/// A generated stream event of `schema`: of the given discriminator value (`type`) when the
/// schema is a union that has such a variant.
pub fn event(
    spec: &Spec,
    schema: &Value,
    seed: u64,
    realism: &dyn Realism,
    event_type: Option<&str>,
) -> Value {
    Generator {
        spec,
        realism,
        rng: Rng::new(seed),
        want_type: event_type,
    }
    .generate(schema, 0, None)
}

struct Generator<'a> {
    spec: &'a Spec,
    realism: &'a dyn Realism,
    rng: Rng,
    /// For the outermost union only: the variant whose `type` is this value.
    want_type: Option<&'a str>,
}

impl Generator<'_> {
    fn generate(&mut self, schema: &Value, depth: usize, name: Option<&str>) -> Value {
        let spec = self.spec;
        let schema = spec.resolve(schema);
        let Some(map) = schema.as_object() else {
            return self.anything(name);
        };
        if let Some(value) = map.get("const") {
            return value.clone();
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array) {
            let non_null: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            let chosen = match self.rng.pick(&non_null) {
                Some(v) => (*v).clone(),
                None => Value::Null,
            };
            return chosen;
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(object) = self.generate(part, depth + 1, name) {
                    merged.extend(object);
                }
            }
            if let Value::Object(own) = self.typed(map, depth, name) {
                merged.extend(own);
            }
            for part in parts.iter().filter_map(|p| spec.resolve(p).as_object()) {
                drop_excluded(part, &mut merged);
            }
            drop_excluded(map, &mut merged);
            return Value::Object(merged);
        }
        for union in ["oneOf", "anyOf"] {
            let Some(choices) = map.get(union).and_then(Value::as_array) else {
                continue;
            };
            let wanted = self.want_type.take().and_then(|want| {
                choices.iter().find(|c| {
                    let branch = spec.resolve(c);
                    let tag = spec.resolve(&branch["properties"]["type"]);
                    tag.get("const").and_then(Value::as_str) == Some(want)
                        || tag
                            .get("enum")
                            .and_then(Value::as_array)
                            .is_some_and(|values| values.iter().any(|v| v == want))
                })
            });
            let non_null: Vec<&Value> = choices
                .iter()
                .filter(|s| spec.resolve(s).get("type") != Some(&json!("null")))
                .collect();
            let null_allowed = non_null.len() < choices.len();
            if wanted.is_none() && null_allowed && self.rng.below(6) == 0 {
                return Value::Null;
            }
            if let Some(choice) = wanted.or_else(|| self.rng.pick(&non_null).copied()) {
                return self.generate(choice, depth + 1, name);
            }
        }
        self.typed(map, depth, name)
    }

    /// A value for a schema that accepts anything (`{}` or `true`): a small object of words,
    /// which reads as the free-form data such fields hold.
    fn anything(&mut self, name: Option<&str>) -> Value {
        let key = self.word();
        let value = match name {
            Some(name) => self
                .realism
                .string(name, &mut self.rng)
                .unwrap_or_else(|| self.words(2)),
            None => self.words(2),
        };
        json!({ key: value })
    }

    fn typed(&mut self, map: &Map<String, Value>, depth: usize, name: Option<&str>) -> Value {
        let nullable = match map.get("type") {
            Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
            _ => map.get("nullable") == Some(&Value::Bool(true)),
        };
        if nullable && self.rng.below(6) == 0 {
            return Value::Null;
        }
        let Some(kind) = primary_type(map) else {
            return self.anything(name);
        };
        match kind {
            "object" => self.object(map, depth, name),
            "array" => self.array(map, depth, name),
            "integer" => json!(self.integer(map)),
            "number" if name.is_some_and(|n| self.realism.counts(n)) => {
                json!(self.number(map).round() as i64)
            }
            "number" => json!(self.number(map)),
            "boolean" => json!(self.rng.below(2) == 0),
            "null" => Value::Null,
            "string" => Value::String(self.string(map, name)),
            _ => Value::Null,
        }
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize, name: Option<&str>) -> Value {
        let mut object = Map::new();
        if depth >= MAX_DEPTH {
            return Value::Object(object);
        }
        let required = required_names(map);
        let properties = map.get("properties").and_then(Value::as_object);
        for (key, sub) in properties.into_iter().flatten() {
            if depth < FULL_DEPTH || required.contains(&key.as_str()) {
                let value = self.generate(sub, depth + 1, Some(key));
                object.insert(key.clone(), value);
            }
        }
        // A free-form map (no declared properties): a few entries of the declared kind.
        if properties.is_none_or(Map::is_empty)
            && depth < FULL_DEPTH
            && let Some(extra) = map.get("additionalProperties").filter(|a| a.is_object())
        {
            for _ in 0..self.rng.between(1, 2) {
                let key = match name {
                    Some(name) => self.realism.map_key(name, &mut self.rng),
                    None => None,
                }
                .unwrap_or_else(|| self.word());
                let value = self.generate(extra, depth + 1, None);
                object.insert(key, value);
            }
        }
        drop_excluded(map, &mut object);
        Value::Object(object)
    }

    fn array(&mut self, map: &Map<String, Value>, depth: usize, name: Option<&str>) -> Value {
        let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as i64;
        let max = map
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as i64);
        let wanted = if depth >= FULL_DEPTH {
            min
        } else {
            self.rng.between(1, 3)
        };
        let count = wanted.max(min).min(max.unwrap_or(i64::MAX));
        if depth >= MAX_DEPTH || count <= 0 {
            return json!([]);
        }
        let items = map.get("items").cloned().unwrap_or(Value::Bool(true));
        Value::Array(
            (0..count)
                .map(|_| self.generate(&items, depth + 1, name))
                .collect(),
        )
    }

    fn integer(&mut self, map: &Map<String, Value>) -> i64 {
        let (lo, hi) = bounds(map);
        let lo = lo.map_or(0, |l| l.ceil() as i64);
        let hi = hi.map_or(lo.max(0) + 1_000, |h| h.floor() as i64);
        self.rng.between(lo, hi)
    }

    fn number(&mut self, map: &Map<String, Value>) -> f64 {
        let (lo, hi) = bounds(map);
        let lo = lo.unwrap_or(0.0);
        let hi = hi.unwrap_or(lo.max(0.0) + 100.0);
        // Two decimals, as money and scores read; the exclusive bounds were narrowed above.
        let value = lo + self.rng.fraction() * (hi - lo);
        let rounded = (value * 100.0).round() / 100.0;
        if rounded < lo || rounded > hi {
            value
        } else {
            rounded
        }
    }

    fn string(&mut self, map: &Map<String, Value>, name: Option<&str>) -> String {
        let format = map
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let pattern = map.get("pattern").and_then(Value::as_str);
        let mut value = match (format, pattern) {
            ("date-time", _) => clock::iso_ms(self.rng.time_ms()),
            ("date", _) => clock::iso_ms(self.rng.time_ms())[..10].to_string(),
            ("time", _) => clock::iso_ms(self.rng.time_ms())[11..].to_string(),
            ("uuid", _) => self.uuid(),
            ("email", _) => format!("{}.{}@example.com", self.word(), self.word()),
            ("uri" | "url", _) => format!("https://example.com/{}/{}", self.word(), self.word()),
            ("hostname", _) => format!("{}.example.com", self.word()),
            ("ipv4", _) => format!("192.0.2.{}", self.rng.between(1, 254)),
            // The domain's shape first (an id with its prefix also matches the id's pattern;
            // the caller validates), then the pattern's own.
            (_, Some(pattern)) => match name.and_then(|n| self.realism.string(n, &mut self.rng)) {
                Some(value) => value,
                None => match from_pattern(pattern, &mut self.rng) {
                    Some(value) => value,
                    None => self.named_string(name),
                },
            },
            _ => self.named_string(name),
        };
        let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        while value.chars().count() < min {
            value.push_str(&self.word());
        }
        if let Some(max) = map.get("maxLength").and_then(Value::as_u64) {
            value = value.chars().take(max as usize).collect();
        }
        value
    }

    /// A string from the property's name: the domain's shape if it has one, a time for names
    /// ending in `At`, else a few words.
    fn named_string(&mut self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return self.words(2);
        };
        if let Some(value) = self.realism.string(name, &mut self.rng) {
            return value;
        }
        if name.ends_with("At") {
            return clock::iso_ms(self.rng.time_ms());
        }
        let count = self.rng.between(1, 3) as usize;
        self.words(count)
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-{:x}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            8 + (b & 3),
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn word(&mut self) -> String {
        self.rng.pick(WORDS).copied().unwrap_or("alpha").to_string()
    }

    fn words(&mut self, count: usize) -> String {
        (0..count.max(1))
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }
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

/// A string matching a simple pattern: literals, `\d`/`\w`, classes such as
/// `[0-9a-hjkmnp-tv-z]`, and the quantifiers `{n}`, `{n,m}`, `?`, `*`, `+`, between optional
/// anchors. `None` for anything richer (groups, alternation): the caller falls back.
pub fn from_pattern(pattern: &str, rng: &mut Rng) -> Option<String> {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let body = body.strip_suffix('$').unwrap_or(body);
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let (choices, next) = match chars[i] {
            '[' => class(&chars, i + 1)?,
            '\\' => {
                let escaped = *chars.get(i + 1)?;
                let set: Vec<char> = match escaped {
                    'd' => ('0'..='9').collect(),
                    'w' => ('a'..='z').chain('0'..='9').collect(),
                    other if other.is_ascii_alphanumeric() => return None,
                    other => vec![other],
                };
                (set, i + 2)
            }
            '(' | ')' | '|' | '^' | '$' => return None,
            '.' => (('a'..='z').collect(), i + 1),
            literal => (vec![literal], i + 1),
        };
        let (min, max, after) = quantifier(&chars, next)?;
        for _ in 0..rng.between(min, max) {
            out.push(*rng.pick(&choices)?);
        }
        i = after;
    }
    Some(out)
}

/// The characters of a `[...]` class starting after its `[`, and where it ends.
fn class(chars: &[char], mut i: usize) -> Option<(Vec<char>, usize)> {
    if chars.get(i) == Some(&'^') {
        return None;
    }
    let mut set = Vec::new();
    while *chars.get(i)? != ']' {
        let c = chars[i];
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            set.extend(c..=chars[i + 2]);
            i += 3;
        } else {
            set.push(c);
            i += 1;
        }
    }
    (!set.is_empty()).then_some((set, i + 1))
}

/// The repetition after an atom: `(min, max, index after it)`.
fn quantifier(chars: &[char], i: usize) -> Option<(i64, i64, usize)> {
    match chars.get(i) {
        Some('?') => Some((0, 1, i + 1)),
        Some('*') => Some((0, 3, i + 1)),
        Some('+') => Some((1, 3, i + 1)),
        Some('{') => {
            let end = i + chars[i..].iter().position(|c| *c == '}')?;
            let inner: String = chars[i + 1..end].iter().collect();
            let (min, max) = match inner.split_once(',') {
                Some((a, "")) => (a.trim().parse().ok()?, a.trim().parse::<i64>().ok()? + 3),
                Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let n = inner.trim().parse().ok()?;
                    (n, n)
                }
            };
            Some((min, max, end + 1))
        }
        _ => Some((1, 1, i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn simple_patterns_are_generated_and_richer_ones_declined() {
        let mut rng = Rng::new(1);
        let pattern = "^evalcfg_[0-9a-hjkmnp-tv-z]{26}$";
        let regex = regex::Regex::new(pattern).expect("regex");
        for _ in 0..50 {
            let value = from_pattern(pattern, &mut rng).expect("simple");
            assert!(regex.is_match(&value), "{value}");
        }
        let value = from_pattern(r"^\d{3}-[A-Z]+x?$", &mut rng).expect("simple");
        assert!(
            regex::Regex::new(r"^\d{3}-[A-Z]+x?$")
                .expect("regex")
                .is_match(&value)
        );
        assert_eq!(from_pattern("^(a|b)$", &mut rng), None);
        assert_eq!(from_pattern("^[^a]$", &mut rng), None);
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
