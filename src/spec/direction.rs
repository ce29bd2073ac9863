//! The document as each direction sees it. OpenAPI's `readOnly` and `writeOnly` make one schema
//! mean two things: a `readOnly` property is sent only in responses (so a request need not
//! carry it, even when `required` lists it), a `writeOnly` one only in requests (so a response
//! must not carry it). Rather than rewriting schemas per request, the loader derives a request
//! copy and a response copy of the document once, with those rules written into the schemas
//! themselves, and compiles request and response schemas against their own copy. Generation
//! reads the response copy, so it cannot produce a `writeOnly` property either.

use serde_json::{Map, Value};

use super::SpecWarning;
use super::normalize::{LITERAL_KEYWORDS, escape_pointer_token, resolve_refs};

/// Which way a schema's values travel; decides which copy of the document compiles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Parameters and anything else: the document as written.
    Any,
    /// Request bodies: `readOnly` properties are never required.
    Request,
    /// Response bodies: `writeOnly` properties are forbidden (their schema becomes `false`)
    /// and never required.
    Response,
}

/// The request and response copies of `document`; `None` where the copy would be identical.
/// Without a single `readOnly: true` (`writeOnly: true`) anywhere, as the loader's survey
/// found, nothing is rewritten for requests (responses) and the document is not copied; a
/// document with neither shares one copy for all three.
pub fn variants(
    document: &Value,
    read_only: bool,
    write_only: bool,
) -> (Option<Value>, Option<Value>) {
    let derive = |direction, set: bool| {
        if !set {
            return None;
        }
        let mut copy = document.clone();
        rewrite(document, &mut copy, direction).then_some(copy)
    };
    (
        derive(Direction::Request, read_only),
        derive(Direction::Response, write_only),
    )
}

/// Whether `schema` (after `$ref`s) carries `keyword: true`.
fn flagged(document: &Value, schema: &Value, keyword: &str) -> bool {
    resolve_refs(document, schema).get(keyword) == Some(&Value::Bool(true))
}

/// Rewrites every object schema of `value` for `direction`; true if anything changed.
fn rewrite(document: &Value, value: &mut Value, direction: Direction) -> bool {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if !LITERAL_KEYWORDS.contains(&key.as_str()) && !key.starts_with("x-") {
                    changed |= rewrite(document, child, direction);
                }
            }
            changed |= rewrite_object_schema(document, map, direction);
        }
        Value::Array(items) => {
            for item in items {
                changed |= rewrite(document, item, direction);
            }
        }
        _ => {}
    }
    changed
}

fn rewrite_object_schema(
    document: &Value,
    map: &mut Map<String, Value>,
    direction: Direction,
) -> bool {
    let keyword = match direction {
        Direction::Any => return false,
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
    };
    let Some(Value::Object(properties)) = map.get_mut("properties") else {
        return false;
    };
    let mut names = Vec::new();
    for (name, schema) in properties.iter_mut() {
        if flagged(document, schema, keyword) {
            names.push(name.clone());
            if direction == Direction::Response {
                *schema = Value::Bool(false);
            }
        }
    }
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| names.iter().any(|n| n == r)));
    }
    !names.is_empty()
}

/// Removes `writeOnly` properties from a response example written against `schema` (in the
/// document as written), warning once per removal with the example's pointer, so an example
/// never shows a client what the API would not send.
pub fn strip_write_only(
    document: &Value,
    schema: &Value,
    example: &mut Value,
    pointer: &str,
    warnings: &mut Vec<SpecWarning>,
) {
    strip(document, schema, example, pointer, warnings, 0);
}

/// How deep `allOf`/`oneOf` chains are followed without descending into the example (a schema
/// that includes itself would otherwise never end).
const MAX_STRIP_DEPTH: usize = 64;

fn strip(
    document: &Value,
    schema: &Value,
    example: &mut Value,
    pointer: &str,
    warnings: &mut Vec<SpecWarning>,
    depth: usize,
) {
    if depth > MAX_STRIP_DEPTH {
        return;
    }
    let schema = resolve_refs(document, schema);
    let Some(map) = schema.as_object() else {
        return;
    };
    for union in ["allOf", "oneOf", "anyOf"] {
        for part in map
            .get(union)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            strip(document, part, example, pointer, warnings, depth + 1);
        }
    }
    match example {
        Value::Object(object) => {
            let properties = map.get("properties").and_then(Value::as_object);
            for (name, sub) in properties.into_iter().flatten() {
                let at = format!("{pointer}/{}", escape_pointer_token(name));
                if flagged(document, sub, "writeOnly") {
                    if object.remove(name).is_some() {
                        warnings.push(SpecWarning::new(
                            at,
                            "a response example holds a writeOnly property; it is left out of the answer",
                        ));
                    }
                } else if let Some(child) = object.get_mut(name) {
                    strip(document, sub, child, &at, warnings, 0);
                }
            }
        }
        Value::Array(items) => {
            let prefix = map.get("prefixItems").and_then(Value::as_array);
            for (index, item) in items.iter_mut().enumerate() {
                let sub = prefix
                    .and_then(|p| p.get(index))
                    .or_else(|| map.get("items"));
                if let Some(sub) = sub {
                    let at = format!("{pointer}/{index}");
                    strip(document, sub, item, &at, warnings, 0);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Secret": {"type": "string", "writeOnly": true},
            "User": {"type": "object", "required": ["id", "name", "password"], "properties": {
                "id": {"type": "string", "readOnly": true},
                "name": {"type": "string"},
                "password": {"$ref": "#/components/schemas/Secret"}}}}}})
    }

    #[test]
    fn each_direction_gets_its_own_rules() {
        let document = doc();
        let survey = crate::spec::survey::Survey::of(&document);
        let (request, response) = variants(&document, survey.read_only, survey.write_only);
        let request = request.expect("the request copy differs");
        let user = &request["components"]["schemas"]["User"];
        assert_eq!(user["required"], json!(["name", "password"]));
        let response = response.expect("the response copy differs");
        let user = &response["components"]["schemas"]["User"];
        assert_eq!(user["required"], json!(["id", "name"]));
        assert_eq!(user["properties"]["password"], json!(false));
        let plain = json!({"components": {"schemas": {"A": {"readOnly": false}}}});
        let survey = crate::spec::survey::Survey::of(&plain);
        assert_eq!(
            variants(&plain, survey.read_only, survey.write_only),
            (None, None)
        );
    }

    #[test]
    fn examples_lose_write_only_properties_with_a_warning() {
        let document = doc();
        let schema = json!({"type": "array", "items": {"$ref": "#/components/schemas/User"}});
        let mut example = json!([{"id": "u1", "name": "Ann", "password": "hunter2"}]);
        let mut warnings = Vec::new();
        strip_write_only(&document, &schema, &mut example, "/ex", &mut warnings);
        assert_eq!(example, json!([{"id": "u1", "name": "Ann"}]));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].pointer, "/ex/0/password");
    }
}
