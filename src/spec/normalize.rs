//! One schema dialect for every document: OpenAPI 3.0 schema keywords are rewritten to JSON
//! Schema 2020-12 (what 3.1 and 3.2 already use), and every local `$ref` is checked to resolve
//! before anything is compiled, so a broken reference is reported with its own pointer.

use serde_json::{Map, Value};

use super::pointer::Path;
use super::survey::Survey;
use super::{OpenApiVersion, SpecError, SpecWarning};

/// How many `$ref` hops a chain may take before it is called a cycle.
const MAX_REF_HOPS: usize = 64;

/// Checks references and rewrites the document into one dialect; what can be served only in
/// a degraded way is changed here and reported in `warnings`.
pub fn normalize(
    mut document: Value,
    version: OpenApiVersion,
    origin: &str,
    warnings: &mut Vec<SpecWarning>,
) -> Result<(Value, Survey), SpecError> {
    if version == OpenApiVersion::V3_0 {
        for_each_schema_root(&mut document, &mut rewrite_3_0_schema);
    }
    // Two read-only walks side by side: the reference check, and the survey (which also finds
    // what `degrade` changes). The 3.0 rewrite above touches no `$ref`, so the check's verdict
    // is the same before or after it.
    let (refs, mut survey) = crate::parallel::join(
        || check_refs(&document, &document, &mut Path::default(), origin),
        || Survey::of(&document),
    );
    refs?;
    let degradable = std::mem::take(&mut survey.degradable);
    if degrade(&mut document, degradable, version, warnings) {
        // A `nullable` without a type was wrapped in an `anyOf`: what the survey found under
        // it has moved.
        survey = Survey::of(&document);
    }
    Ok((document, survey))
}

/// One lenient pass over every object of the document (literal data excepted), after its
/// children: a `pattern` (or `patternProperties` key) the regex engine refuses is dropped, so
/// it is not enforced; in a 3.1/3.2 document, 3.0's boolean `exclusiveMinimum` /
/// `exclusiveMaximum` and `nullable` are converted as for 3.0. Each change is a warning.
///
/// Nearly no object holds one of those keywords, so the survey's walk finds the few that do
/// (rendering a pointer only for them), and each is changed in place here, in the same order
/// (children before their parent): a change touches only that object's own keywords, so the
/// pointers found stay valid. True when an object was wrapped (a `nullable` without a type).
fn degrade(
    document: &mut Value,
    found: Vec<String>,
    version: OpenApiVersion,
    warnings: &mut Vec<SpecWarning>,
) -> bool {
    let mut wrapped = false;
    for pointer in found {
        if let Some(Value::Object(map)) = super::pointer::get_mut(document, &pointer) {
            wrapped |= degrade_schema_node(map, &pointer, version, warnings);
        }
    }
    wrapped
}

/// The keywords [`degrade_schema_node`] acts on.
pub(super) const DEGRADED_KEYWORDS: &[&str] = &[
    "pattern",
    "patternProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "nullable",
];

/// Keywords whose values are data, not document structure.
pub(super) const LITERAL_KEYWORDS: &[&str] = &["example", "examples", "default", "const", "enum"];

/// Degrades one object (see [`degrade`]); true when it was wrapped in an `anyOf`.
fn degrade_schema_node(
    map: &mut Map<String, Value>,
    pointer: &str,
    version: OpenApiVersion,
    warnings: &mut Vec<SpecWarning>,
) -> bool {
    if let Some(Value::String(pattern)) = map.get("pattern")
        && let Some(why) = super::schema::pattern_error(pattern)
    {
        warnings.push(SpecWarning::new(
            format!("{pointer}/pattern"),
            format!("the regex engine cannot compile this pattern ({why}); it is not enforced"),
        ));
        map.remove("pattern");
    } else if let Some(Value::String(pattern)) = map.get("pattern")
        && !crate::respond::pattern::drawable(pattern)
    {
        let fallback = if ["example", "default", "examples"]
            .iter()
            .any(|k| map.contains_key(*k))
        {
            "generated values use the schema's example"
        } else {
            "generated values are drawn without them and kept only when the whole pattern accepts them (give the schema an `example` to be sure)"
        };
        warnings.push(SpecWarning::new(
            format!("{pointer}/pattern"),
            format!("this pattern is enforced, but evalmock's generator cannot read its look-arounds or back-references; {fallback}"),
        ));
    }
    if let Some(Value::Object(patterns)) = map.get_mut("patternProperties") {
        patterns.retain(|pattern, _| match super::schema::pattern_error(pattern) {
            None => true,
            Some(why) => {
                warnings.push(SpecWarning::new(
                    format!("{pointer}/patternProperties/{}", escape_pointer_token(pattern)),
                    format!(
                        "the regex engine cannot compile this pattern ({why}); its properties are not checked"
                    ),
                ));
                false
            }
        });
    }
    if version == OpenApiVersion::V3_0 {
        return false;
    }
    for keyword in ["exclusiveMinimum", "exclusiveMaximum", "nullable"] {
        if map.get(keyword).is_some_and(Value::is_boolean) {
            warnings.push(SpecWarning::new(
                format!("{pointer}/{keyword}"),
                format!(
                    "boolean `{keyword}` is OpenAPI 3.0 syntax, not JSON Schema 2020-12; converted as for a 3.0 document"
                ),
            ));
        }
    }
    rewrite_3_0_keywords(map)
}

/// Escapes one reference token of a JSON pointer (RFC 6901); borrowed when nothing needs it.
pub fn escape_pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if !needs_escape(token) {
        return std::borrow::Cow::Borrowed(token);
    }
    let mut escaped = String::with_capacity(token.len() + 2);
    push_escaped(&mut escaped, token);
    std::borrow::Cow::Owned(escaped)
}

fn needs_escape(token: &str) -> bool {
    token.bytes().any(|b| b == b'~' || b == b'/')
}

fn push_escaped(out: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Appends `/` and `token`, escaped, to `pointer` (without allocating for the usual token
/// that needs no escaping).
pub(super) fn push_pointer_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    if needs_escape(token) {
        push_escaped(pointer, token);
    } else {
        pointer.push_str(token);
    }
}

/// Appends `/` and `index` to `pointer`.
pub(super) fn push_pointer_index(pointer: &mut String, index: usize) {
    use std::fmt::Write as _;
    let _ = write!(pointer, "/{index}");
}

/// Follows a chain of local `$ref`s; a dangling or cyclic chain stops where it is
/// (both were rejected at load, so this only matters for hand-built values).
pub fn resolve_refs<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_HOPS {
        match ref_target(document, value) {
            Some(Ok(target)) => value = target,
            _ => break,
        }
    }
    value
}

/// Like [`resolve_refs`], also returning the pointer of the final value, starting from `pointer`.
pub fn resolve_refs_at<'a>(
    document: &'a Value,
    mut value: &'a Value,
    mut pointer: String,
) -> (&'a Value, String) {
    for _ in 0..MAX_REF_HOPS {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(Ok(target)) = ref_target(document, value) else {
            break;
        };
        pointer = decode_fragment(reference.trim_start_matches('#')).into_owned();
        value = target;
    }
    (value, pointer)
}

/// `Some(Ok(target))` for a resolvable local `$ref`, `Some(Err(why))` for a broken one.
fn ref_target<'a>(document: &'a Value, value: &Value) -> Option<Result<&'a Value, String>> {
    let reference = super::pointer::small_get(value.as_object()?, "$ref")?;
    let Some(reference) = reference.as_str() else {
        return Some(Err("`$ref` must be a string".into()));
    };
    let Some(fragment) = reference.strip_prefix('#') else {
        return Some(Err(format!(
            "external reference {reference:?} is not supported; bundle the document into one file"
        )));
    };
    let pointer = decode_fragment(fragment);
    Some(
        super::pointer::get(document, &pointer)
            .ok_or_else(|| format!("reference {reference:?} does not resolve")),
    )
}

/// URI fragments may percent-encode characters (`{`, `}`, spaces) of the pointer.
fn decode_fragment(fragment: &str) -> std::borrow::Cow<'_, str> {
    if !fragment.contains('%') {
        return std::borrow::Cow::Borrowed(fragment);
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = fragment
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Every `$ref` outside literal data resolves; the first that does not is the error. The
/// walk keeps its place as borrowed tokens and renders a pointer only for that error.
fn check_refs<'a>(
    document: &Value,
    value: &'a Value,
    path: &mut Path<'a>,
    origin: &str,
) -> Result<(), SpecError> {
    let broken = |at: String, message: String| SpecError::Invalid {
        origin: origin.to_string(),
        pointer: format!("{at}/$ref"),
        message,
    };
    match value {
        Value::Object(map) => {
            if let Some(Err(message)) = ref_target(document, value) {
                return Err(broken(path.pointer(), message));
            }
            for (key, child) in map {
                path.push_key(key);
                match (key.as_str(), child) {
                    // Literal data: a `$ref` in there is data, not a reference.
                    ("$ref" | "example" | "default" | "const" | "enum", _) => {}
                    ("examples", Value::Array(_)) => {}
                    // Example Objects: only their own `$ref` is structure; `value` is data.
                    ("examples", Value::Object(examples)) => {
                        for (name, example) in examples {
                            if let Some(Err(message)) = ref_target(document, example) {
                                path.push_key(name);
                                return Err(broken(path.pointer(), message));
                            }
                        }
                    }
                    _ => check_refs(document, child, path, origin)?,
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push_index(index);
                check_refs(document, child, path, origin)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Calls `visit` on every schema root of the document (component schemas, parameter, header and
/// media-type schemas); `visit` is responsible for descending into subschemas.
fn for_each_schema_root(document: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    if let Some(schemas) =
        super::pointer::get_mut(document, "/components/schemas").and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(&mut *visit);
    }
    for section in ["parameters", "headers"] {
        if let Some(items) = super::pointer::get_mut(document, &format!("/components/{section}"))
            .and_then(Value::as_object_mut)
        {
            items.values_mut().for_each(|p| visit_parameter(p, visit));
        }
    }
    for section in ["requestBodies", "responses"] {
        if let Some(items) = super::pointer::get_mut(document, &format!("/components/{section}"))
            .and_then(Value::as_object_mut)
        {
            items.values_mut().for_each(|b| visit_body(b, visit));
        }
    }
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (key, value) in item.iter_mut() {
            if key == "parameters" {
                visit_parameters(value, visit);
            } else if let Some(op) = value.as_object_mut() {
                if let Some(params) = op.get_mut("parameters") {
                    visit_parameters(params, visit);
                }
                if let Some(body) = op.get_mut("requestBody") {
                    visit_body(body, visit);
                }
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.values_mut().for_each(|r| visit_body(r, visit));
                }
            }
        }
    }
}

fn visit_parameters(params: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    if let Some(list) = params.as_array_mut() {
        list.iter_mut().for_each(|p| visit_parameter(p, visit));
    }
}

fn visit_parameter(param: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    if let Some(schema) = param.get_mut("schema") {
        visit(schema);
    }
    visit_content(param, visit);
}

/// A request body or a response: schemas under `content` and under `headers`.
fn visit_body(body: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    visit_content(body, visit);
    if let Some(headers) = body.get_mut("headers").and_then(Value::as_object_mut) {
        headers.values_mut().for_each(|h| visit_parameter(h, visit));
    }
}

fn visit_content(holder: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    if let Some(content) = holder.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            for key in ["schema", "itemSchema"] {
                if let Some(schema) = media.get_mut(key) {
                    visit(schema);
                }
            }
        }
    }
}

/// Subschema positions of JSON Schema whose value is one schema, a map of schemas or a list.
const SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Rewrites one 3.0 schema (and its subschemas) into 2020-12:
/// `nullable: true` becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become
/// numbers, and a tuple-style `items: [..]` becomes `prefixItems`.
fn rewrite_3_0_schema(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    for keyword in SCHEMA_KEYWORDS {
        if let Some(sub) = map.get_mut(*keyword) {
            if keyword == &"items" && sub.is_array() {
                continue;
            }
            rewrite_3_0_schema(sub);
        }
    }
    for keyword in SCHEMA_MAP_KEYWORDS {
        if let Some(subs) = map.get_mut(*keyword).and_then(Value::as_object_mut) {
            subs.values_mut().for_each(rewrite_3_0_schema);
        }
    }
    for keyword in SCHEMA_LIST_KEYWORDS {
        if let Some(subs) = map.get_mut(*keyword).and_then(Value::as_array_mut) {
            subs.iter_mut().for_each(rewrite_3_0_schema);
        }
    }
    if map.get("items").is_some_and(Value::is_array)
        && let Some(mut tuple) = map.remove("items")
    {
        if let Some(list) = tuple.as_array_mut() {
            list.iter_mut().for_each(rewrite_3_0_schema);
        }
        map.insert("prefixItems".into(), tuple);
    }
    rewrite_3_0_keywords(map);
}

/// The 3.0 keywords of one schema node (not its subschemas) in 2020-12 terms: boolean
/// exclusive bounds become numbers, `nullable: true` a `null` type.
/// True when the object was wrapped in an `anyOf` (see [`make_nullable`]).
fn rewrite_3_0_keywords(map: &mut Map<String, Value>) -> bool {
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(exclusive)) = map.get(flag).cloned() {
            map.remove(flag);
            if exclusive && let Some(limit) = map.remove(bound) {
                map.insert(flag.into(), limit);
            }
        }
    }
    match map.get("nullable") {
        Some(Value::Bool(true)) => {
            map.remove("nullable");
            make_nullable(map)
        }
        Some(Value::Bool(false)) => {
            map.remove("nullable");
            false
        }
        _ => false,
    }
}

/// Widens the type (and enum) to accept `null`; without a type, wraps the object in an
/// `anyOf` with `null`, and says so (true).
fn make_nullable(map: &mut Map<String, Value>) -> bool {
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            map.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push("null".into());
            }
        }
        _ => {
            // No type to widen (e.g. `allOf: [$ref]`): accept null beside the whole schema.
            let inner = Value::Object(std::mem::take(map));
            map.insert(
                "anyOf".into(),
                Value::Array(vec![inner, serde_json::json!({"type": "null"})]),
            );
            return true;
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.iter().any(Value::is_null)
    {
        values.push(Value::Null);
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn normalized_3_0(schema: Value) -> Value {
        let doc = json!({"openapi": "3.0.3", "components": {"schemas": {"S": schema}}});
        let (doc, _) =
            normalize(doc, OpenApiVersion::V3_0, "t", &mut Vec::new()).expect("normalizes");
        doc["components"]["schemas"]["S"].clone()
    }

    #[test]
    fn nullable_widens_the_type_and_the_enum() {
        let s = normalized_3_0(json!({"type": "string", "nullable": true, "enum": ["a"]}));
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn nullable_without_a_type_accepts_null_beside_the_schema() {
        let s = normalized_3_0(json!({"nullable": true, "allOf": [{"type": "integer"}]}));
        assert_eq!(
            s,
            json!({"anyOf": [{"allOf": [{"type": "integer"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers_in_nested_schemas() {
        let s = normalized_3_0(json!({"type": "object", "properties": {"n": {
            "type": "number", "minimum": 0, "exclusiveMinimum": true,
            "maximum": 5, "exclusiveMaximum": false}}}));
        assert_eq!(
            s["properties"]["n"],
            json!({"type": "number", "exclusiveMinimum": 0, "maximum": 5})
        );
    }

    #[test]
    fn a_dangling_ref_is_reported_at_its_pointer() {
        let doc = json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}});
        let err =
            normalize(doc, OpenApiVersion::V3_1, "t.yaml", &mut Vec::new()).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "t.yaml at /paths/~1a/get/responses/200/content/application~1json/schema/$ref: \
             reference \"#/components/schemas/Nope\" does not resolve"
        );
    }

    #[test]
    fn refs_inside_examples_are_data_and_not_checked() {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"S": {
            "type": "object", "example": {"$ref": "not-a-ref"}}}}});
        assert!(normalize(doc, OpenApiVersion::V3_1, "t", &mut Vec::new()).is_ok());
    }

    #[test]
    fn a_3_0_keyword_in_a_3_1_document_is_converted_with_a_warning() {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"N": {
            "type": "integer", "minimum": 1, "exclusiveMinimum": true, "nullable": true}}}});
        let mut warnings = Vec::new();
        let (doc, _) =
            normalize(doc, OpenApiVersion::V3_1, "t", &mut warnings).expect("normalizes");
        assert_eq!(
            doc["components"]["schemas"]["N"],
            json!({"type": ["integer", "null"], "exclusiveMinimum": 1})
        );
        let pointers: Vec<_> = warnings.iter().map(|w| w.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/components/schemas/N/exclusiveMinimum",
                "/components/schemas/N/nullable"
            ]
        );
    }

    #[test]
    fn a_pattern_the_regex_engine_refuses_is_dropped_with_a_warning() {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"S": {
            "type": "string", "pattern": "^[a-z]{2,$", "example": {"pattern": "("}}}}});
        let mut warnings = Vec::new();
        let (doc, _) =
            normalize(doc, OpenApiVersion::V3_1, "t", &mut warnings).expect("normalizes");
        assert_eq!(doc["components"]["schemas"]["S"]["pattern"], Value::Null);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].pointer, "/components/schemas/S/pattern");
    }

    #[test]
    fn percent_encoded_fragments_resolve() {
        let doc = json!({"paths": {"/g/{id}": {"x": 1}}, "r": {"$ref": "#/paths/~1g~1%7Bid%7D"}});
        assert_eq!(resolve_refs(&doc, &doc["r"]), &json!({"x": 1}));
    }
}
