//! Deterministic example values from a schema, for responses that no handler and no example
//! provide. Same schema in, same value out: snapshots stay stable and clients see no flicker.

use serde_json::{Map, Value, json};

use crate::spec::Spec;

/// Past this depth objects get only their required properties and arrays only their minimum
/// number of items, which keeps values from recursive schemas finite (and still valid).
const FULL_DEPTH: usize = 6;
/// A hard stop for schemas whose required properties recurse forever (no finite value exists).
const MAX_DEPTH: usize = 32;

pub fn value_for(spec: &Spec, schema: &Value) -> Value {
    generate(spec, schema, 0, None)
}

fn generate(spec: &Spec, schema: &Value, depth: usize, name: Option<&str>) -> Value {
    let schema = spec.resolve(schema);
    let Some(map) = schema.as_object() else {
        return Value::Null; // `true` / `{}` accept anything; null is the least surprising.
    };
    for literal in ["const", "default", "example"] {
        if let Some(value) = map.get(literal) {
            return value.clone();
        }
    }
    if let Some(first) = map
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(first) = map
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(object) = generate(spec, part, depth + 1, name) {
                merged.extend(object);
            }
        }
        if let Value::Object(own) = generate_typed(spec, map, depth, name) {
            merged.extend(own);
        }
        for part in parts.iter().filter_map(|p| spec.resolve(p).as_object()) {
            drop_excluded(part, &mut merged);
        }
        return Value::Object(merged);
    }
    for choice in ["oneOf", "anyOf"] {
        // Deep down, `null` where allowed ends a recursion that required fields continue.
        if depth >= FULL_DEPTH
            && map.get(choice).and_then(Value::as_array).is_some_and(|c| {
                c.iter()
                    .any(|s| spec.resolve(s).get("type") == Some(&json!("null")))
            })
        {
            return Value::Null;
        }
        if let Some(first) = map.get(choice).and_then(Value::as_array).and_then(|c| {
            c.iter()
                .find(|s| spec.resolve(s).get("type") != Some(&json!("null")))
        }) {
            return generate(spec, first, depth + 1, name);
        }
    }
    generate_typed(spec, map, depth, name)
}

/// Honours `not: {required: [a, b, ...]}` (fields that exclude each other): when the object
/// holds all of them, the last one goes, so the value stays valid.
pub(super) fn drop_excluded(schema: &Map<String, Value>, object: &mut Map<String, Value>) {
    let Some(names) = schema
        .get("not")
        .and_then(|not| not.get("required"))
        .and_then(Value::as_array)
    else {
        return;
    };
    let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
    if names.len() > 1
        && names.iter().all(|n| object.contains_key(*n))
        && let Some(last) = names.last()
    {
        object.remove(*last);
    }
}

/// The names an object schema lists as `required`.
pub(super) fn required_names(map: &Map<String, Value>) -> Vec<&str> {
    map.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub(super) fn primary_type(map: &Map<String, Value>) -> Option<&str> {
    match map.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ if map.contains_key("properties") => Some("object"),
        _ if map.contains_key("items") => Some("array"),
        _ => None,
    }
}

fn generate_typed(
    spec: &Spec,
    map: &Map<String, Value>,
    depth: usize,
    name: Option<&str>,
) -> Value {
    let nullable = map
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == "null"));
    if nullable && depth >= FULL_DEPTH {
        return Value::Null;
    }
    match primary_type(map) {
        Some("object") => {
            let mut object = Map::new();
            if depth >= MAX_DEPTH {
                return Value::Object(object);
            }
            let required = required_names(map);
            if let Some(properties) = map.get("properties").and_then(Value::as_object) {
                for (key, sub) in properties {
                    if depth < FULL_DEPTH || required.contains(&key.as_str()) {
                        object.insert(key.clone(), generate(spec, sub, depth + 1, Some(key)));
                    }
                }
            }
            drop_excluded(map, &mut object);
            Value::Object(object)
        }
        Some("array") => {
            // One item shows the shape; deep down only what `minItems` demands, so a tree
            // whose children may be empty ends.
            let floor = u64::from(depth < FULL_DEPTH);
            let min = map
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(floor)
                .max(floor) as usize;
            if min == 0
                || depth >= MAX_DEPTH
                || map.get("maxItems").and_then(Value::as_u64) == Some(0)
            {
                return json!([]);
            }
            let item = map
                .get("items")
                .map(|i| generate(spec, i, depth + 1, name))
                .unwrap_or(Value::Null);
            Value::Array(vec![item; min])
        }
        // Exclusive bounds narrowed as the dynamic generator does, so both honour them.
        Some("integer") => {
            let (lo, hi) = super::dynamic::bounds(map);
            let min = lo.map_or(1, |x| x.ceil() as i64);
            let max = hi.map_or(i64::MAX, |x| x.floor() as i64);
            json!(min.max(1).min(max))
        }
        Some("number") => {
            let (lo, hi) = super::dynamic::bounds(map);
            json!(lo.unwrap_or(1.5).max(1.5).min(hi.unwrap_or(f64::MAX)))
        }
        Some("boolean") => json!(true),
        Some("null") => Value::Null,
        Some("string") => Value::String(string_for(map, name)),
        _ => Value::Null,
    }
}

fn string_for(map: &Map<String, Value>, name: Option<&str>) -> String {
    let format = map
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut value = match format {
        "date-time" => "2026-06-01T16:40:24.446Z".to_string(),
        "date" => "2026-06-01".to_string(),
        "time" => "16:40:24Z".to_string(),
        "email" => "jane.doe@example.com".to_string(),
        "uuid" => "5f0c6a5e-3b1e-4c4a-9d2f-7b8e9f0a1b2c".to_string(),
        "uri" | "url" => "https://example.com/resource".to_string(),
        "hostname" => "example.com".to_string(),
        "ipv4" => "192.0.2.10".to_string(),
        _ => match name {
            Some(n) if n.ends_with("At") => "2026-06-01T16:40:24.446Z".to_string(),
            Some(n) => n.to_string(),
            None => "string".to_string(),
        },
    };
    let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    while value.chars().count() < min {
        value.push('x');
    }
    if let Some(max) = map.get("maxLength").and_then(Value::as_u64) {
        value = value.chars().take(max as usize).collect();
    }
    value
}
