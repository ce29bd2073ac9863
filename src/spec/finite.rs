//! Schemas that no finite value satisfies: a `$ref` cycle that every value must follow
//! (through required properties, arrays of at least one item, `allOf`) with no way out (an
//! optional property, another `oneOf`/`anyOf` alternative, a `null` or scalar type, an enum).
//!
//! `Node: {type: object, required: [next], properties: {next: {$ref: Node}}}` passes every
//! other check, yet the generator can only stop it by cutting it off (issue 11). Found here
//! once, at load: each such `$ref` target becomes a warning naming the chain of pointers, and
//! the spec remembers which response schemas need one, so the engine answers those with the
//! mock's own error instead of an invalid value.
//!
//! The analysis is a least fixed point over `$ref` targets: a target is *alive* once its
//! schema has a finite value assuming only the targets already alive do. A worklist of
//! dependents keeps it linear in the document's size. It reads the normalised document
//! (2020-12 keywords: 3.0's `nullable` is already `type: [.., "null"]`).

use std::collections::{HashMap, HashSet, VecDeque};

use super::required_names;
use serde_json::Value;

/// Which `$ref` targets (JSON pointers without the `#`) have a finite value.
#[derive(Debug)]
pub(super) struct Finite<'a> {
    document: &'a Value,
    alive: HashSet<String>,
    /// Every `$ref` target in the document, in the order first met.
    targets: Vec<String>,
}

impl<'a> Finite<'a> {
    pub(super) fn analyse(document: &'a Value) -> Finite<'a> {
        let mut targets = Vec::new();
        let mut seen = HashSet::new();
        collect_refs(document, &mut |target| {
            if seen.insert(target.to_string()) {
                targets.push(target.to_string());
            }
        });
        // target -> the targets whose schema refers to it directly (without crossing a $ref).
        let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
        for target in &targets {
            if let Some(schema) = super::pointer::get(document, target) {
                collect_refs(schema, &mut |used| {
                    dependents.entry(used).or_default().push(target);
                });
            }
        }
        let mut finite = Finite {
            document,
            alive: HashSet::new(),
            targets: Vec::new(),
        };
        let mut queue: VecDeque<&str> = VecDeque::new();
        for target in &targets {
            if finite.target_alive(target) {
                finite.alive.insert(target.clone());
                queue.push_back(target);
            }
        }
        while let Some(done) = queue.pop_front() {
            for dependent in dependents.get(done).into_iter().flatten() {
                if !finite.alive.contains(*dependent) && finite.target_alive(dependent) {
                    finite.alive.insert(dependent.to_string());
                    queue.push_back(dependent);
                }
            }
        }
        finite.targets = targets;
        finite
    }

    /// Whether every `$ref` target has a finite value. Then so has every schema: only a
    /// dead target can make `has_value` false (inline schemas are finite trees), so no
    /// schema needs [`Finite::cycle_of`] asked, which spares a large document one look-up
    /// per response schema.
    pub(super) fn all_alive(&self) -> bool {
        self.alive.len() == self.targets.len()
    }

    /// The `$ref` targets without a finite value, each with its chain, in document order.
    pub(super) fn unsatisfiable(&self) -> Vec<(String, String)> {
        self.targets
            .iter()
            .filter(|t| !self.alive.contains(*t))
            .filter_map(|t| Some((t.clone(), self.chain(t)?)))
            .collect()
    }

    /// `None` when the schema at `pointer` has a finite value; otherwise the chain of
    /// pointers that shows why not: `#/components/schemas/Node -> /properties/next ->
    /// #/components/schemas/Node`.
    pub(super) fn chain(&self, pointer: &str) -> Option<String> {
        let schema = super::pointer::get(self.document, pointer)?;
        if self.has_value(schema) {
            return None;
        }
        let mut chain = format!("#{pointer}");
        let mut visited = HashSet::from([pointer.to_string()]);
        let mut schema = schema;
        // Each step names the path inside the schema to a dead `$ref`, then that target.
        while let Some((path, target)) = self.blame(schema) {
            if !path.is_empty() {
                chain.push_str(" -> ");
                chain.push_str(&path);
            }
            chain.push_str(" -> #");
            chain.push_str(target);
            if !visited.insert(target.to_string()) {
                break;
            }
            match super::pointer::get(self.document, target) {
                Some(next) => schema = next,
                None => break,
            }
        }
        Some(chain)
    }

    /// For a schema without a finite value: the chain of the first `$ref` cycle it cannot do
    /// without (from that cycle's first target, not from `pointer`, which keeps it short).
    pub(super) fn cycle_of(&self, pointer: &str) -> Option<String> {
        let schema = super::pointer::get(self.document, pointer)?;
        if self.has_value(schema) {
            return None;
        }
        match self.blame(schema) {
            Some((_, target)) => self.chain(target),
            None => self.chain(pointer),
        }
    }

    fn target_alive(&self, target: &str) -> bool {
        super::pointer::get(self.document, target).is_none_or(|schema| self.has_value(schema))
    }

    /// Whether some finite value satisfies `schema`, judging `$ref`s by the alive set.
    fn has_value(&self, schema: &Value) -> bool {
        let Some(map) = schema.as_object() else {
            return true; // `true` (and `false`, which is not a cycle's doing).
        };
        if let Some(target) = local_ref(map)
            && !self.alive.contains(target)
            && super::pointer::get(self.document, target).is_some()
        {
            return false;
        }
        if map.contains_key("const") || map.get("enum").is_some_and(Value::is_array) {
            return true;
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array)
            && !parts.iter().all(|p| self.has_value(p))
        {
            return false;
        }
        for choice in ["oneOf", "anyOf"] {
            if let Some(alternatives) = map.get(choice).and_then(Value::as_array)
                && !alternatives.is_empty()
                && !alternatives.iter().any(|a| self.has_value(a))
            {
                return false;
            }
        }
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
            // Without a type any scalar satisfies `required` and `items`.
            _ => return true,
        };
        types.iter().any(|t| match *t {
            "object" => self.required_have_values(map),
            "array" => self.items_have_value(map),
            _ => true,
        })
    }

    fn required_have_values(&self, map: &serde_json::Map<String, Value>) -> bool {
        let properties = map.get("properties").and_then(Value::as_object);
        required_names(map)
            .iter()
            .filter_map(|name| properties.and_then(|p| p.get(*name)))
            .all(|sub| self.has_value(sub))
    }

    fn items_have_value(&self, map: &serde_json::Map<String, Value>) -> bool {
        let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        min == 0 || map.get("items").is_none_or(|items| self.has_value(items))
    }

    /// For a schema without a finite value: the path inside it to the `$ref` that it cannot
    /// do without, and that `$ref`'s target.
    fn blame<'s>(&self, schema: &'s Value) -> Option<(String, &'s str)> {
        let map = schema.as_object()?;
        if let Some(target) = local_ref(map)
            && !self.alive.contains(target)
            && super::pointer::get(self.document, target).is_some()
        {
            return Some((String::new(), target));
        }
        let nested = |path: String, sub: &'s Value| {
            self.blame(sub)
                .map(|(rest, target)| (format!("{path}{rest}"), target))
        };
        if let Some(parts) = map.get("allOf").and_then(Value::as_array)
            && let Some((i, part)) = parts.iter().enumerate().find(|(_, p)| !self.has_value(p))
        {
            return nested(format!("/allOf/{i}"), part);
        }
        for choice in ["oneOf", "anyOf"] {
            // Every alternative is dead (else the schema would not be): blame the first.
            if let Some(first) = map
                .get(choice)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                && !self.has_value(first)
            {
                return nested(format!("/{choice}/0"), first);
            }
        }
        let properties = map.get("properties").and_then(Value::as_object);
        for name in required_names(map) {
            if let Some(sub) = properties.and_then(|p| p.get(name))
                && !self.has_value(sub)
            {
                return nested(
                    format!(
                        "/properties/{}",
                        super::normalize::escape_pointer_token(name)
                    ),
                    sub,
                );
            }
        }
        match map.get("items") {
            Some(items) if !self.has_value(items) => nested("/items".to_string(), items),
            _ => None,
        }
    }
}

/// The target of a local `$ref` (`#/components/schemas/Node` -> `/components/schemas/Node`).
fn local_ref(map: &serde_json::Map<String, Value>) -> Option<&str> {
    map.get("$ref")?.as_str()?.strip_prefix('#')
}

/// Every local `$ref` target anywhere under `value`.
fn collect_refs<'v>(value: &'v Value, found: &mut impl FnMut(&'v str)) {
    match value {
        Value::Object(map) => {
            if let Some(target) = local_ref(map) {
                found(target);
            }
            for sub in map.values() {
                collect_refs(sub, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|sub| collect_refs(sub, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Finite;

    fn dead(document: serde_json::Value) -> Vec<String> {
        Finite::analyse(&document)
            .unsatisfiable()
            .into_iter()
            .map(|(target, _)| target)
            .collect()
    }

    #[test]
    fn an_alternative_an_untyped_schema_or_an_enum_is_a_way_out() {
        for way_out in [
            json!({"anyOf": [{"$ref": "#/$defs/A"}, {"type": "string"}]}),
            json!({"properties": {"a": {"$ref": "#/$defs/A"}}, "required": ["a"]}),
            json!({"type": "object", "enum": [{}], "required": ["a"], "properties": {"a": {"$ref": "#/$defs/A"}}}),
            json!({"type": ["object", "null"], "required": ["a"], "properties": {"a": {"$ref": "#/$defs/A"}}}),
        ] {
            assert!(
                dead(json!({"$defs": {"A": way_out.clone()}})).is_empty(),
                "{way_out}"
            );
        }
    }

    #[test]
    fn a_cycle_through_an_alias_and_every_alternative_has_no_finite_value() {
        let document = json!({"$defs": {
            "A": {"$ref": "#/$defs/B"},
            "B": {"oneOf": [
                {"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/$defs/A"}}},
                {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/A"}}
            ]},
            "UsesA": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}
        }});
        assert_eq!(dead(document.clone()), ["/$defs/B", "/$defs/A"]);
        let finite = Finite::analyse(&document);
        assert_eq!(
            finite.chain("/$defs/A").as_deref(),
            Some("#/$defs/A -> #/$defs/B -> /oneOf/0/properties/a -> #/$defs/A")
        );
        assert_eq!(
            finite.chain("/$defs/UsesA"),
            None,
            "an optional use is fine"
        );
    }
}
