//! Values from a schema, for responses that no handler and no example provide. One walker
//! serves both kinds of value, so every constraint is honoured in one place:
//!
//! - **fixed** (the default answer): the same schema gives the same value, so snapshots stay
//!   stable and clients see no flicker; it takes the schema's own `default`/`example` first.
//! - **seeded** (`Prefer: dynamic=true`, in `dynamic`): realistic values drawn from a seed,
//!   optional properties filled in, the domain's [`Realism`] applied.
//!
//! What both honour: `$ref`, `const`, `enum`, `allOf` (merged as one schema, nested
//! `properties`/`required` included), `oneOf` (a value that matches several branches or none
//! is redrawn from the next branch), `anyOf`, discriminators (`propertyName` set to the
//! branch's mapping key or schema name), sibling properties beside a union, `false` property
//! schemas (how the response copy of the document forbids `writeOnly` properties),
//! `additionalProperties`/`unevaluatedProperties: false` (no undeclared property is added),
//! `minProperties`/`maxProperties`, `prefixItems`, `items: false`, `minItems`/`maxItems`,
//! `uniqueItems`, numeric bounds (3.0's boolean exclusive bounds arrive as 3.1 numbers from the
//! loader), `multipleOf`, `int32`/`int64`, string lengths, formats and `pattern`. The caller
//! still validates every value before it is sent: this module aims, the validator checks.

use serde_json::{Map, Value, json};

use super::dynamic::{Plain, Realism, Rng, bounds};
use super::pattern;
use crate::clock;
use crate::spec::{CompiledSchema, Spec, escape_pointer_token, required_names, resolve_at};

/// Past this depth objects get only their required properties and arrays only their minimum
/// number of items, which keeps values from recursive schemas finite (and still valid).
const FULL_DEPTH: usize = 6;
/// A hard stop for schemas whose required properties recurse forever (no finite value exists).
const MAX_DEPTH: usize = 32;
/// The fixed walker's own seed: patterns and distinct array items still need draws.
const FIXED_SEED: u64 = 0x0f1e_d5ee_d000_0001;
/// Words of generic strings: neutral, readable, clearly sample data.
pub(super) const WORDS: &[&str] = &[
    "alpha", "amber", "atlas", "beacon", "birch", "cedar", "comet", "delta", "ember", "falcon",
    "harbor", "iris", "juniper", "lumen", "maple", "nova", "orbit", "pine", "quartz", "river",
    "sierra", "summit", "tidal", "vertex",
];
/// Tries at a value that differs from the items already in a `uniqueItems` array.
const UNIQUE_TRIES: usize = 8;

/// The fixed value of a compiled schema, read from its direction's copy of the document.
pub fn value_for(spec: &Spec, schema: &CompiledSchema) -> Value {
    Walker::new(spec, schema, FIXED_SEED, &Plain, false).root(schema)
}

/// The walker's state: where values are read from, how they are drawn.
pub(super) struct Walker<'a> {
    spec: &'a Spec,
    /// The copy of the document the schema belongs to (the response copy for responses).
    document: &'a Value,
    pub(super) realism: &'a dyn Realism,
    pub(super) rng: Rng,
    /// Seeded (`dynamic`) rather than fixed values.
    seeded: bool,
    /// For the outermost union only: the variant whose `type` is this value.
    pub(super) want_type: Option<&'a str>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(
        spec: &'a Spec,
        schema: &CompiledSchema,
        seed: u64,
        realism: &'a dyn Realism,
        seeded: bool,
    ) -> Walker<'a> {
        Walker {
            spec,
            document: spec.document(schema.direction),
            realism,
            rng: Rng::new(seed),
            seeded,
            want_type: None,
        }
    }

    pub(super) fn root(&mut self, schema: &CompiledSchema) -> Value {
        let value = self.spec.schema_value(schema);
        self.generate(value, schema.pointer.clone(), 0, None)
    }

    fn generate(
        &mut self,
        schema: &Value,
        pointer: String,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let document = self.document;
        let (schema, pointer) = resolve_at(document, schema, pointer);
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(false) => return Value::Null,
            _ => return self.anything(name),
        };
        if let Some(value) = self.literal(map) {
            return value;
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array) {
            let non_null: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            let chosen = if self.seeded {
                self.rng.pick(&non_null).copied()
            } else {
                non_null.first().copied()
            };
            return chosen.cloned().unwrap_or(Value::Null);
        }
        let own = map;
        let merged;
        let map = if map.contains_key("allOf") && depth < MAX_DEPTH {
            merged = merge_all_of(document, map, 0);
            &merged
        } else {
            map
        };
        // A union from an `allOf` part is checked at that part's pointer; where the merged
        // schema's keywords came from deeper, their pointers are unknown (empty): nested
        // values are still generated, only `oneOf` checks are skipped.
        for union in ["oneOf", "anyOf"] {
            if map.get(union).and_then(Value::as_array).is_some() && depth < MAX_DEPTH {
                let at = if own.contains_key(union) {
                    pointer
                } else {
                    part_with(document, own, &pointer, union).unwrap_or_default()
                };
                return self.union(map, &at, union, depth, name);
            }
        }
        // A parent with a discriminator and no union (`Pet`, extended by `Cat` and `Dog`
        // through `allOf`) stands for its subtypes: a value of one of them.
        if own.contains_key("discriminator")
            && depth < MAX_DEPTH
            && let Some(subtype) = self.subtype(own, &pointer)
        {
            return self.generate(&json!({ "$ref": subtype }), String::new(), depth + 1, name);
        }
        let schema_pointer = pointer.clone();
        let pointer = if std::ptr::eq(map, own) {
            pointer
        } else {
            String::new()
        };
        let mut value = self.typed(map, &pointer, depth, name);
        // A discriminator inherited through `allOf` (or the parent's own) names this schema.
        if let Value::Object(object) = &mut value
            && let Some((property, tag)) = inherited_tag(map, &schema_pointer)
        {
            object.insert(property, Value::String(tag));
        }
        value
    }

    /// For a discriminator parent at `pointer` (a component schema): the `$ref` of one of its
    /// subtypes, the targets of its `mapping` and the components whose `allOf` refers to it
    /// (drawn when seeded, the first otherwise); `None` when it has none.
    fn subtype(&mut self, parent: &Map<String, Value>, pointer: &str) -> Option<String> {
        // Subtypes name a component by `$ref`; an inline parent has none.
        component_name(pointer)?;
        let own_ref = format!("#{pointer}");
        let mut subtypes: Vec<String> = parent["discriminator"]
            .get("mapping")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(_, target)| target.as_str())
            .map(|target| match target.starts_with('#') {
                true => target.to_string(),
                false => format!("#/components/schemas/{target}"),
            })
            .collect();
        let schemas = self
            .document
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        for (name, schema) in schemas.into_iter().flatten() {
            let extends = schema
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|parts| {
                    parts
                        .iter()
                        .any(|p| p.get("$ref").and_then(Value::as_str) == Some(&own_ref))
                });
            let reference = format!("#/components/schemas/{}", escape_pointer_token(name));
            if extends && !subtypes.contains(&reference) {
                subtypes.push(reference);
            }
        }
        subtypes.retain(|s| *s != own_ref && self.document.pointer(&s[1..]).is_some());
        if self.seeded {
            self.rng.pick(&subtypes).cloned()
        } else {
            subtypes.into_iter().next()
        }
    }

    /// The schema's own value where it gives one: `const` always; for fixed values also its
    /// `default`, `example` or first `examples` entry.
    fn literal(&self, map: &Map<String, Value>) -> Option<Value> {
        if let Some(value) = map.get("const") {
            return Some(value.clone());
        }
        if self.seeded {
            return None;
        }
        ["default", "example"]
            .iter()
            .find_map(|k| map.get(*k))
            .or_else(|| map.get("examples").and_then(Value::as_array)?.first())
            .cloned()
    }

    /// A value of one branch of a `oneOf`/`anyOf` (with the properties the schema declares
    /// beside it). For `oneOf`, a value that matches several branches or none is drawn again
    /// from the next branch; the first value stands if none does better.
    fn union(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        union: &str,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let spec = self.spec;
        let document = self.document;
        let choices = map[union].as_array().map(Vec::as_slice).unwrap_or_default();
        let wanted = self.want_type.take().and_then(|want| {
            choices.iter().position(|c| {
                let branch = resolve(document, c);
                let tag = resolve(document, &branch["properties"]["type"]);
                tag.get("const").and_then(Value::as_str) == Some(want)
                    || tag
                        .get("enum")
                        .and_then(Value::as_array)
                        .is_some_and(|values| values.iter().any(|v| v == want))
            })
        });
        let non_null: Vec<usize> = (0..choices.len())
            .filter(|i| resolve(document, &choices[*i]).get("type") != Some(&json!("null")))
            .collect();
        let null_allowed = non_null.len() < choices.len();
        if wanted.is_none()
            && null_allowed
            && (depth >= FULL_DEPTH || (self.seeded && self.rng.below(6) == 0))
        {
            return Value::Null;
        }
        let first = match wanted {
            Some(index) => Some(index),
            None if self.seeded => self.rng.pick(&non_null).copied(),
            None => non_null.first().copied(),
        };
        let Some(first) = first else {
            return self.typed(map, pointer, depth, name);
        };
        let start = non_null.iter().position(|i| *i == first).unwrap_or(0);
        let order: Vec<usize> = std::iter::once(first)
            .chain(
                non_null
                    .iter()
                    .cycle()
                    .skip(start + 1)
                    .take(non_null.len().saturating_sub(1))
                    .copied(),
            )
            .collect();
        let siblings = map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
            || map.contains_key("required");
        let mut fallback = None;
        // Each branch is tried twice: a draw whose optional properties made it match another
        // branch too may be followed by one that does not.
        let tries = if self.seeded { 2 } else { 1 };
        let order: Vec<usize> = (0..tries).flat_map(|_| order.iter().copied()).collect();
        for index in order {
            let branch_pointer = child(pointer, &format!("{union}/{index}"));
            let mut value = if siblings {
                self.with_siblings(map, pointer, union, index, depth, name)
            } else {
                self.generate(&choices[index], branch_pointer.clone(), depth + 1, name)
            };
            set_discriminator(map, &choices[index], &mut value);
            if union == "anyOf" {
                return value;
            }
            let matching = (0..choices.len())
                .map(|i| {
                    let at = child(pointer, &format!("{union}/{i}"));
                    spec.branch(&at).map(|b| b.is_valid(&value))
                })
                .collect::<Option<Vec<bool>>>();
            match matching {
                // A branch that could not be compiled cannot be checked: take the value.
                None => return value,
                Some(matches) if matches.iter().filter(|m| **m).count() == 1 => return value,
                Some(_) => {
                    fallback.get_or_insert(value);
                }
            }
        }
        fallback.unwrap_or(Value::Null)
    }

    /// A value of the schema's own keywords and branch `index` of its `union` together,
    /// generated as one schema: the branch's `required` and properties join the schema's.
    /// Properties only other branches require are left out, so `oneOf: [{required: [email]},
    /// {required: [phone]}]` beside optional `email` and `phone` gives one of the two.
    fn with_siblings(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        union: &str,
        index: usize,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let document = self.document;
        let choices = map[union].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut combined = by_reference(document, map, pointer);
        combined.remove(union);
        combined.remove("discriminator");
        let (branch, branch_at) = resolve_at(
            document,
            &choices[index],
            child(pointer, &format!("{union}/{index}")),
        );
        match branch {
            Value::Object(branch) if branch.contains_key("allOf") => {
                merge_into(&mut combined, merge_all_of(document, branch, 0));
            }
            Value::Object(branch) => {
                merge_into(&mut combined, by_reference(document, branch, &branch_at))
            }
            _ => {}
        }
        let mine: Vec<String> = required_names(&combined)
            .into_iter()
            .map(str::to_string)
            .collect();
        let theirs: Vec<String> = choices
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .filter_map(|(_, c)| resolve(document, c).as_object())
            .flat_map(required_names)
            .filter(|n| !mine.iter().any(|m| m == n))
            .map(str::to_string)
            .collect();
        let mut value = self.generate(&Value::Object(combined), String::new(), depth, name);
        if let Value::Object(object) = &mut value {
            for name in &theirs {
                object.remove(name);
            }
        }
        value
    }

    /// A value for a schema that accepts anything (`{}` or `true`): null when fixed; a small
    /// object of words when seeded, which reads as the free-form data such fields hold.
    fn anything(&mut self, name: Option<&str>) -> Value {
        if !self.seeded {
            return Value::Null;
        }
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

    fn typed(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let nullable = match map.get("type") {
            Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
            _ => map.get("nullable") == Some(&Value::Bool(true)),
        };
        // Deep down, `null` where allowed ends a recursion that required fields continue.
        if nullable && (depth >= FULL_DEPTH || (self.seeded && self.rng.below(6) == 0)) {
            return Value::Null;
        }
        let Some(kind) = primary_type(map) else {
            return self.anything(name);
        };
        match kind {
            "object" => self.object(map, pointer, depth, name),
            "array" => self.array(map, pointer, depth, name),
            "integer" => json!(self.integer(map)),
            "number" if self.seeded && name.is_some_and(|n| self.realism.counts(n)) => {
                json!(self.number(map).round() as i64)
            }
            "number" => json!(self.number(map)),
            "boolean" => json!(!self.seeded || self.rng.below(2) == 0),
            "null" => Value::Null,
            "string" => Value::String(self.string(map, name)),
            _ => Value::Null,
        }
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let mut object = Map::new();
        if depth >= MAX_DEPTH {
            return Value::Object(object);
        }
        let document = self.document;
        let required = required_names(map);
        let properties = map.get("properties").and_then(Value::as_object);
        let allowed = |schema: &Value| resolve(document, schema) != &Value::Bool(false);
        for (key, sub) in properties.into_iter().flatten() {
            if (depth < FULL_DEPTH || required.contains(&key.as_str())) && allowed(sub) {
                let at = child(
                    pointer,
                    &format!("properties/{}", escape_pointer_token(key)),
                );
                let value = self.generate(sub, at, depth + 1, Some(key));
                object.insert(key.clone(), value);
            }
        }
        let extra = extra_schema(map);
        // Required names without a declared schema: of the additional properties' kind.
        for key in &required {
            if !object.contains_key(*key)
                && let Some(extra) = extra
            {
                let value = self.generate(extra, String::new(), depth + 1, Some(key));
                object.insert((*key).to_string(), value);
            }
        }
        // A free-form map (no declared properties): a few entries of the declared kind.
        if self.seeded
            && properties.is_none_or(Map::is_empty)
            && depth < FULL_DEPTH
            && let Some(extra) = map.get("additionalProperties").filter(|a| a.is_object())
        {
            for _ in 0..self.rng.between(1, 2) {
                let key = match name {
                    Some(name) => self.realism.map_key(name, &mut self.rng),
                    None => None,
                }
                .unwrap_or_else(|| self.word());
                let value = self.generate(extra, String::new(), depth + 1, None);
                object.insert(key, value);
            }
        }
        let min = map
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        for (key, sub) in properties.into_iter().flatten() {
            if object.len() >= min {
                break;
            }
            if !object.contains_key(key) && allowed(sub) {
                let at = child(
                    pointer,
                    &format!("properties/{}", escape_pointer_token(key)),
                );
                let value = self.generate(sub, at, depth + 1, Some(key));
                object.insert(key.clone(), value);
            }
        }
        let mut index = 0;
        while object.len() < min
            && let Some(extra) = extra
        {
            index += 1;
            let value = self.generate(extra, String::new(), depth + 1, None);
            object.insert(format!("{}{index}", self.word()), value);
        }
        if let Some(max) = map.get("maxProperties").and_then(Value::as_u64) {
            let optional: Vec<String> = object
                .keys()
                .filter(|k| !required.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in optional.iter().rev() {
                if object.len() as u64 <= max {
                    break;
                }
                object.shift_remove(key);
            }
        }
        drop_excluded(map, &mut object);
        Value::Object(object)
    }

    fn array(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        depth: usize,
        name: Option<&str>,
    ) -> Value {
        let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as i64;
        let max = map
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as i64);
        let prefix = map
            .get("prefixItems")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let items = map.get("items");
        let closed = items == Some(&Value::Bool(false));
        // Deep down only what `minItems` demands, so a tree whose children may be empty ends.
        let wanted = if depth >= FULL_DEPTH {
            min
        } else if !self.seeded {
            min.max(1)
        } else {
            self.rng.between(1, 3)
        };
        let mut count = wanted
            .max(min)
            .max(if closed { prefix.len() as i64 } else { 0 });
        count = count.min(max.unwrap_or(i64::MAX));
        if closed {
            count = count.min(prefix.len() as i64);
        }
        if depth >= MAX_DEPTH || count <= 0 {
            return json!([]);
        }
        let unique = map.get("uniqueItems") == Some(&Value::Bool(true));
        let any = Value::Bool(true);
        let item_schema = items.unwrap_or(&any);
        let mut values: Vec<Value> = Vec::with_capacity(count as usize);
        let mut repeat = None;
        for index in 0..count as usize {
            let schema = prefix.get(index).unwrap_or(item_schema);
            let from_items = index >= prefix.len();
            let at = if from_items {
                child(pointer, "items")
            } else {
                child(pointer, &format!("prefixItems/{index}"))
            };
            // Fixed values repeat one item, as they always have, unless items must differ.
            let value = match (&repeat, from_items && !self.seeded && !unique) {
                (Some(value), true) => Value::clone(value),
                _ => self.generate(schema, at.clone(), depth + 1, name),
            };
            if from_items && !self.seeded && !unique {
                repeat.get_or_insert_with(|| value.clone());
            }
            let value = if unique && values.contains(&value) {
                match self.distinct(schema, &at, &values, depth, name) {
                    Some(other) => other,
                    None => break,
                }
            } else {
                value
            };
            values.push(value);
        }
        Value::Array(values)
    }

    /// A value of `schema` that none of `taken` equals, drawn seeded (a fixed walker too:
    /// from its own seed, so still the same each time); `None` after a few tries.
    fn distinct(
        &mut self,
        schema: &Value,
        pointer: &str,
        taken: &[Value],
        depth: usize,
        name: Option<&str>,
    ) -> Option<Value> {
        let seeded = std::mem::replace(&mut self.seeded, true);
        let found = (0..UNIQUE_TRIES)
            .map(|_| self.generate(schema, pointer.to_string(), depth + 1, name))
            .find(|v| !taken.contains(v));
        self.seeded = seeded;
        found
    }

    fn integer(&mut self, map: &Map<String, Value>) -> i64 {
        let (lo, hi) = bounds(map);
        let (type_lo, type_hi) = match map.get("format").and_then(Value::as_str) {
            Some("int32") => (f64::from(i32::MIN), f64::from(i32::MAX)),
            _ => (i64::MIN as f64, i64::MAX as f64),
        };
        let lo_bound = lo.map_or(type_lo, |l| l.max(type_lo));
        let hi_bound = hi.map_or(type_hi, |h| h.min(type_hi));
        let value = if self.seeded {
            let lo = lo.map_or(0, |l| l.max(type_lo).ceil() as i64);
            let hi = hi.map_or(lo.max(0) + 1_000, |h| h.min(type_hi).floor() as i64);
            self.rng.between(lo, hi)
        } else {
            let min = lo.map_or(1, |x| x.max(type_lo).ceil() as i64);
            min.max(1).min(hi_bound.floor() as i64)
        };
        match map.get("multipleOf").and_then(Value::as_f64) {
            Some(step) if step >= 1.0 && step.fract() == 0.0 => {
                let step = step as i64;
                let up = value.div_euclid(step) * step
                    + if value.rem_euclid(step) == 0 { 0 } else { step };
                let down = hi_bound.floor() as i64;
                let down = down.div_euclid(step) * step;
                if (up as f64) <= hi_bound {
                    up
                } else if (down as f64) >= lo_bound {
                    down
                } else {
                    value
                }
            }
            _ => value,
        }
    }

    fn number(&mut self, map: &Map<String, Value>) -> f64 {
        let (lo, hi) = bounds(map);
        let value = if self.seeded {
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
        } else {
            lo.unwrap_or(1.5).max(1.5).min(hi.unwrap_or(f64::MAX))
        };
        match map
            .get("multipleOf")
            .and_then(Value::as_f64)
            .filter(|s| *s > 0.0)
        {
            Some(step) => {
                let (lo, hi) = (lo.unwrap_or(f64::MIN), hi.unwrap_or(f64::MAX));
                let decimals = step_decimals(step);
                let snap = |k: f64| {
                    let x = k * step;
                    let scale = 10f64.powi(decimals);
                    (x * scale).round() / scale
                };
                let up = snap((value / step).ceil());
                let down = snap((value / step).floor());
                if (lo..=hi).contains(&up) {
                    up
                } else if (lo..=hi).contains(&down) {
                    down
                } else {
                    value
                }
            }
            None => value,
        }
    }

    fn string(&mut self, map: &Map<String, Value>, name: Option<&str>) -> String {
        let format = map
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let pattern = map.get("pattern").and_then(Value::as_str);
        let mut value = match self.formatted(format) {
            Some(value) => value,
            None => match (pattern, self.seeded) {
                // The domain's shape first (an id with its prefix also matches the id's
                // pattern; the caller validates), then the pattern's own.
                (Some(pattern), true) => {
                    match name.and_then(|n| self.realism.string(n, &mut self.rng)) {
                        Some(value) => value,
                        None => match pattern::generate(pattern, &mut self.rng) {
                            Some(value) => value,
                            None => self.named_string(name),
                        },
                    }
                }
                _ => self.named_string(name),
            },
        };
        value = self.fit_length(map, value);
        // A fixed value keeps its readable form when the pattern allows it; otherwise (and
        // when padding broke the pattern) it is drawn from the pattern, within the lengths.
        let Some(pattern) = pattern else {
            return value;
        };
        match regex::Regex::new(pattern) {
            Ok(regex) if !regex.is_match(&value) => {
                let drawn = (0..UNIQUE_TRIES).find_map(|_| {
                    let drawn = pattern::generate(pattern, &mut self.rng)?;
                    let fitted = self.fit_length(map, drawn);
                    regex.is_match(&fitted).then_some(fitted)
                });
                match drawn {
                    Some(drawn) => value = drawn,
                    None => tracing::warn!(
                        target: "evalmock::generate",
                        "cannot generate a string matching pattern {pattern:?}; the generated value will not match it (give the schema an `example`)"
                    ),
                }
            }
            Ok(_) => {}
            Err(_) => {
                if let Some(fitting) = self.beyond_the_generator(map, pattern) {
                    value = fitting;
                }
            }
        }
        value
    }

    /// A string for a pattern `regex-syntax` cannot parse though the validator's engine can
    /// (look-around, back-references; the loader warned): the schema's own example or
    /// default, else a draw from the pattern without its look-arounds that the whole
    /// pattern accepts. `None` when neither is found; the caller's validation then reports
    /// the value.
    fn beyond_the_generator(&mut self, map: &Map<String, Value>, pattern: &str) -> Option<String> {
        let own = ["example", "default"]
            .iter()
            .find_map(|k| map.get(*k))
            .or_else(|| map.get("examples").and_then(Value::as_array)?.first());
        if let Some(Value::String(own)) = own {
            return Some(own.clone());
        }
        let whole = jsonschema::validator_for(&json!({ "pattern": pattern })).ok()?;
        let partial = pattern::without_look_around(pattern);
        (0..UNIQUE_TRIES * 8).find_map(|_| {
            let drawn = pattern::generate(&partial, &mut self.rng)?;
            let fitted = self.fit_length(map, drawn);
            whole.is_valid(&json!(fitted)).then_some(fitted)
        })
    }

    /// A value of a string `format`, or `None` for a format without a generator.
    fn formatted(&mut self, format: &str) -> Option<String> {
        let seeded = self.seeded;
        Some(match format {
            "date-time" if seeded => clock::iso_ms(self.rng.time_ms()),
            "date-time" => "2026-06-01T16:40:24.446Z".to_string(),
            "date" if seeded => clock::iso_ms(self.rng.time_ms())[..10].to_string(),
            "date" => "2026-06-01".to_string(),
            "time" if seeded => clock::iso_ms(self.rng.time_ms())[11..].to_string(),
            "time" => "16:40:24Z".to_string(),
            "uuid" if seeded => self.uuid(),
            "uuid" => "5f0c6a5e-3b1e-4c4a-9d2f-7b8e9f0a1b2c".to_string(),
            "email" if seeded => format!("{}.{}@example.com", self.word(), self.word()),
            "email" => "jane.doe@example.com".to_string(),
            "uri" | "url" if seeded => {
                format!("https://example.com/{}/{}", self.word(), self.word())
            }
            "uri" | "url" => "https://example.com/resource".to_string(),
            "hostname" if seeded => format!("{}.example.com", self.word()),
            "hostname" => "example.com".to_string(),
            "ipv4" if seeded => format!("192.0.2.{}", self.rng.between(1, 254)),
            "ipv4" => "192.0.2.10".to_string(),
            "ipv6" if seeded => format!("2001:db8::{:x}", self.rng.between(1, 0xffff)),
            "ipv6" => "2001:db8::10".to_string(),
            "byte" if seeded => base64(self.words(2).as_bytes()),
            "byte" => base64(b"example"),
            _ => return None,
        })
    }

    /// `value` padded to `minLength` and cut to `maxLength`.
    fn fit_length(&mut self, map: &Map<String, Value>, mut value: String) -> String {
        let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        while value.chars().count() < min {
            if self.seeded {
                value.push_str(&self.word());
            } else {
                value.push('x');
            }
        }
        if let Some(max) = map.get("maxLength").and_then(Value::as_u64) {
            value = value.chars().take(max as usize).collect();
        }
        value
    }

    /// A string from the property's name: the domain's shape if it has one, a time for names
    /// ending in `At`, else the name itself (fixed) or a few words (seeded).
    fn named_string(&mut self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return if self.seeded {
                self.words(2)
            } else {
                "string".to_string()
            };
        };
        if self.seeded
            && let Some(value) = self.realism.string(name, &mut self.rng)
        {
            return value;
        }
        if name.ends_with("At") {
            return if self.seeded {
                clock::iso_ms(self.rng.time_ms())
            } else {
                "2026-06-01T16:40:24.446Z".to_string()
            };
        }
        if !self.seeded {
            return name.to_string();
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

/// The pointer of a child schema, or unknown (empty) under an unknown parent.
fn child(pointer: &str, tail: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!("{pointer}/{tail}")
    }
}

/// Follows `$ref`s in `document`.
fn resolve<'v>(document: &'v Value, value: &'v Value) -> &'v Value {
    resolve_at(document, value, String::new()).0
}

/// How many decimals a `multipleOf` step has (`0.01` has 2), to round its multiples to.
fn step_decimals(step: f64) -> i32 {
    let text = step.to_string();
    text.split_once('.')
        .map_or(0, |(_, fraction)| fraction.len() as i32)
}

/// Standard base64 with padding (`format: byte`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The schema of properties an object may hold beyond its declared ones, or `None` when it
/// may hold none (`additionalProperties` or `unevaluatedProperties` is `false`).
fn extra_schema(map: &Map<String, Value>) -> Option<&Value> {
    const ANY: &Value = &Value::Bool(true);
    let closed = |key: &str| map.get(key) == Some(&Value::Bool(false));
    if closed("additionalProperties") || closed("unevaluatedProperties") {
        return None;
    }
    Some(map.get("additionalProperties").unwrap_or(ANY))
}

/// `map` (at `pointer`) with each property schema that sits at `pointer` in the document
/// replaced by a `$ref` to it: generating a merged copy then still knows where each property
/// is, so the `oneOf` checks inside them run.
fn by_reference(document: &Value, map: &Map<String, Value>, pointer: &str) -> Map<String, Value> {
    let mut out = map.clone();
    if pointer.is_empty() {
        return out;
    }
    if let Some(Value::Object(properties)) = out.get_mut("properties") {
        for (key, schema) in properties.iter_mut() {
            let at = child(
                pointer,
                &format!("properties/{}", escape_pointer_token(key)),
            );
            if document.pointer(&at) == Some(&*schema) {
                *schema = json!({ "$ref": format!("#{at}") });
            }
        }
    }
    out
}

/// The pointer of the direct `allOf` part of `own` (at `pointer`) that holds `keyword`.
fn part_with(
    document: &Value,
    own: &Map<String, Value>,
    pointer: &str,
    keyword: &str,
) -> Option<String> {
    let parts = own.get("allOf")?.as_array()?;
    parts.iter().enumerate().find_map(|(i, part)| {
        let (part, at) = resolve_at(document, part, child(pointer, &format!("allOf/{i}")));
        part.get(keyword).is_some().then_some(at)
    })
}

/// `Cat` of `#/components/schemas/Cat`; `None` for a pointer that is not a component schema.
fn component_name(pointer: &str) -> Option<&str> {
    let name = pointer.strip_prefix("/components/schemas/")?;
    (!name.contains('/')).then_some(name)
}

/// For a schema with a discriminator (its own or inherited through `allOf`) and no union, at
/// a component's `pointer`: the property and the value that names this schema, the mapping
/// key whose target is it, else its name (OpenAPI's implicit mapping).
fn inherited_tag(map: &Map<String, Value>, pointer: &str) -> Option<(String, String)> {
    let discriminator = map.get("discriminator")?;
    if map.contains_key("oneOf") || map.contains_key("anyOf") {
        return None;
    }
    let property = discriminator.get("propertyName")?.as_str()?;
    let name = component_name(pointer)?;
    let own_ref = format!("#{pointer}");
    let mapped = discriminator
        .get("mapping")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .find(|(_, target)| {
            target.as_str() == Some(own_ref.as_str()) || target.as_str() == Some(name)
        })
        .map(|(key, _)| key.clone());
    let tag = mapped.unwrap_or_else(|| name.replace("~1", "/").replace("~0", "~"));
    // A property pinned by the schema (`const`/`enum`) keeps its generated value.
    let pinned = map
        .get("properties")
        .and_then(|p| p.get(property))
        .is_some_and(|p| p.get("const").is_some() || p.get("enum").is_some());
    (!pinned).then(|| (property.to_string(), tag))
}

/// Sets a union's discriminator property on a value of one of its branches: the mapping key
/// that names the branch's `$ref`, else the referenced schema's name. An inline branch is left
/// as generated.
fn set_discriminator(map: &Map<String, Value>, branch: &Value, value: &mut Value) {
    let Some(property) = map
        .get("discriminator")
        .and_then(|d| d.get("propertyName"))
        .and_then(Value::as_str)
    else {
        return;
    };
    let (Some(reference), Value::Object(object)) =
        (branch.get("$ref").and_then(Value::as_str), value)
    else {
        return;
    };
    let mapped = map["discriminator"]
        .get("mapping")
        .and_then(Value::as_object)
        .and_then(|mapping| {
            mapping
                .iter()
                .find(|(_, target)| target.as_str() == Some(reference))
        })
        .map(|(key, _)| key.clone());
    let tag = mapped.unwrap_or_else(|| {
        reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string()
    });
    object.insert(property.to_string(), Value::String(tag));
}

/// `allOf` merged into one schema: the parts in order (each merged itself first), then the
/// schema's own keywords. Properties declared twice are combined with `allOf`, `required`
/// lists joined, bounds tightened; other keywords keep their first value, and extra `not`s
/// are kept as `allOf` entries.
pub(super) fn merge_all_of(
    document: &Value,
    map: &Map<String, Value>,
    depth: usize,
) -> Map<String, Value> {
    let mut merged = Map::new();
    let parts = map
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for part in parts {
        let part = resolve_at(document, part, String::new()).0;
        if let Some(part) = part.as_object() {
            if part.contains_key("allOf") && depth < MAX_DEPTH {
                merge_into(&mut merged, merge_all_of(document, part, depth + 1));
            } else {
                merge_into(&mut merged, part.clone());
            }
        }
    }
    let mut own = map.clone();
    own.remove("allOf");
    merge_into(&mut merged, own);
    merged
}

fn merge_into(merged: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        let Some(existing) = merged.get_mut(&key) else {
            merged.insert(key, value);
            continue;
        };
        match key.as_str() {
            "properties" => {
                if let (Value::Object(mine), Value::Object(theirs)) = (existing, value) {
                    for (name, schema) in theirs {
                        match mine.get_mut(&name) {
                            Some(current) if *current != schema => {
                                *current = json!({ "allOf": [current.clone(), schema] });
                            }
                            Some(_) => {}
                            None => {
                                mine.insert(name, schema);
                            }
                        }
                    }
                }
            }
            "required" => {
                if let (Value::Array(mine), Value::Array(theirs)) = (existing, value) {
                    for name in theirs {
                        if !mine.contains(&name) {
                            mine.push(name);
                        }
                    }
                }
            }
            "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties"
                if value.as_f64() > existing.as_f64() =>
            {
                *existing = value;
            }
            "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties"
                if value.as_f64() < existing.as_f64() =>
            {
                *existing = value;
            }
            "additionalProperties" | "unevaluatedProperties" if value == Value::Bool(false) => {
                *existing = value;
            }
            "not" => {
                let not = json!({ "not": value });
                match merged.get_mut("allOf") {
                    Some(Value::Array(extra)) => extra.push(not),
                    _ => {
                        merged.insert("allOf".into(), json!([not]));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Honours `not: {required: [a, b, ...]}` (fields that exclude each other, also as `allOf`
/// entries of a merged schema): when the object holds all of them, the last one goes.
pub(super) fn drop_excluded(schema: &Map<String, Value>, object: &mut Map<String, Value>) {
    let nots = schema.get("not").into_iter().chain(
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.get("not")),
    );
    for not in nots {
        let Some(names) = not.get("required").and_then(Value::as_array) else {
            continue;
        };
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        if names.len() > 1
            && names.iter().all(|n| object.contains_key(*n))
            && let Some(last) = names.last()
        {
            object.remove(*last);
        }
    }
}

pub(super) fn primary_type(map: &Map<String, Value>) -> Option<&str> {
    match map.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ if map.contains_key("properties") => Some("object"),
        _ if map.contains_key("items") || map.contains_key("prefixItems") => Some("array"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_of_merges_nested_properties_required_and_bounds() {
        let document = json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"}, "n": {"type": "integer", "minimum": 1}}}}}});
        let schema = json!({"allOf": [{"$ref": "#/components/schemas/Base"},
            {"required": ["n"], "properties": {"n": {"maximum": 5}}, "unevaluatedProperties": false}]});
        let merged = merge_all_of(&document, schema.as_object().expect("object"), 0);
        assert_eq!(merged["required"], json!(["id", "n"]));
        assert_eq!(merged["unevaluatedProperties"], json!(false));
        assert_eq!(
            merged["properties"]["n"],
            json!({"allOf": [{"type": "integer", "minimum": 1}, {"maximum": 5}]})
        );
    }

    #[test]
    fn base64_pads_as_rfc_4648_says() {
        assert_eq!(base64(b"example"), "ZXhhbXBsZQ==");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn discriminators_name_the_branch_by_mapping_or_schema_name() {
        let map = json!({"discriminator": {"propertyName": "kind",
            "mapping": {"card": "#/components/schemas/Card"}}});
        let map = map.as_object().expect("object");
        let mut value = json!({"number": "4242"});
        set_discriminator(
            map,
            &json!({"$ref": "#/components/schemas/Card"}),
            &mut value,
        );
        assert_eq!(value["kind"], "card");
        set_discriminator(
            map,
            &json!({"$ref": "#/components/schemas/Bank"}),
            &mut value,
        );
        assert_eq!(value["kind"], "Bank");
    }
}
