//! Reading the raw document: syntax (JSON or YAML) and the OpenAPI version.

use serde_json::Value;
use serde_json::value::RawValue;

use super::SpecError;

/// The OpenAPI major.minor lines evalmock understands. 3.1 and 3.2 share JSON Schema 2020-12;
/// 3.0 uses its own schema dialect and is rewritten by `normalize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    V3_0,
    V3_1,
    V3_2,
}

impl std::fmt::Display for OpenApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenApiVersion::V3_0 => "3.0",
            OpenApiVersion::V3_1 => "3.1",
            OpenApiVersion::V3_2 => "3.2",
        })
    }
}

/// Parses JSON when the text looks like JSON, YAML otherwise (YAML is a superset, but JSON's
/// own error messages are clearer for JSON files).
pub fn parse(text: &str, origin: &str) -> Result<(Value, OpenApiVersion), SpecError> {
    let value: Value = if text.trim_start().starts_with('{') {
        parse_json(text).map_err(|e| SpecError::Syntax {
            origin: origin.to_string(),
            format: "JSON",
            message: e.to_string(),
        })?
    } else {
        serde_norway::from_str(text).map_err(|e| SpecError::Syntax {
            origin: origin.to_string(),
            format: "YAML",
            message: e.to_string(),
        })?
    };
    let invalid = |pointer: &str, message: String| SpecError::Invalid {
        origin: origin.to_string(),
        pointer: pointer.to_string(),
        message,
    };
    if !value.is_object() {
        return Err(invalid("", "the document must be an object".into()));
    }
    let version = match value.get("openapi") {
        None if value.get("swagger").is_some() => {
            return Err(invalid(
                "/swagger",
                "Swagger 2.0 is not supported; convert the document to OpenAPI 3.x".into(),
            ));
        }
        None => {
            return Err(invalid(
                "/openapi",
                "missing the `openapi` version field".into(),
            ));
        }
        Some(Value::String(v)) => parse_version(v).ok_or_else(|| {
            invalid(
                "/openapi",
                format!("unsupported OpenAPI version {v:?}; expected 3.0.x, 3.1.x or 3.2.x"),
            )
        })?,
        Some(other) => {
            return Err(invalid(
                "/openapi",
                format!("the version must be a string such as \"3.1.0\", found {other}"),
            ));
        }
    };
    Ok((value, version))
}

/// Documents below this size are parsed in one pass on the calling thread.
const PARALLEL_BYTES: usize = 1 << 20;

/// `serde_json::from_str`, with the path items of a large document built on every core.
/// Building the `Value` tree (allocations, a hashed insert per key) is most of a parse, and
/// `paths` is most of a large document: a first pass reads the top level and `paths` as raw
/// slices (checking the syntax of everything, allocating nothing for the values), then the
/// path items are built in contiguous shares and put back in document order. Keys are
/// inserted as `serde_json` inserts them, so a repeated key keeps its first place and its
/// last value, as in a one-pass parse. A document that fails is parsed again in one pass for
/// the error, since a slice's error gives a place in the slice. (serde_json's nesting limit
/// counts from each slice, so a path item may nest two levels deeper than in a one-pass parse;
/// past that, the one-pass error is the one reported.)
fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    if text.len() < PARALLEL_BYTES {
        return serde_json::from_str(text);
    }
    parse_in_shares(text).or_else(|_| serde_json::from_str(text))
}

fn parse_in_shares(text: &str) -> Result<Value, serde_json::Error> {
    let Members(top) = serde_json::from_str(text)?;
    let mut document = serde_json::Map::with_capacity(top.len());
    for (key, raw) in top {
        let value = if key == "paths" && raw.get().trim_start().starts_with('{') {
            let Members(items) = serde_json::from_str(raw.get())?;
            let shares = std::thread::available_parallelism().map_or(1, |n| n.get());
            let chunks: Vec<&[(String, &RawValue)]> =
                items.chunks(items.len().div_ceil(shares).max(1)).collect();
            let built = crate::parallel::map(&chunks, |chunk| {
                chunk
                    .iter()
                    .map(|(key, raw)| Ok((key, serde_json::from_str::<Value>(raw.get())?)))
                    .collect::<Result<Vec<_>, serde_json::Error>>()
            });
            let mut paths = serde_json::Map::with_capacity(items.len());
            for share in built {
                for (key, value) in share? {
                    paths.insert(key.clone(), value);
                }
            }
            Value::Object(paths)
        } else {
            serde_json::from_str(raw.get())?
        };
        document.insert(key, value);
    }
    Ok(Value::Object(document))
}

/// The members of a JSON object in document order, values left as raw slices of the text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn parse_version(v: &str) -> Option<OpenApiVersion> {
    let mut parts = v.split('.');
    if parts.next()? != "3" {
        return None;
    }
    let version = match parts.next()? {
        "0" => OpenApiVersion::V3_0,
        "1" => OpenApiVersion::V3_1,
        "2" => OpenApiVersion::V3_2,
        _ => return None,
    };
    match parts.next() {
        Some(patch) if !patch.is_empty() && patch.chars().all(|c| c.is_ascii_digit()) => {}
        Some(patch) if patch.contains('-') => {} // pre-release such as 3.1.0-rc1
        _ => return None,
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document above the parallel threshold, with a repeated path and a repeated top-level
    /// key: built in shares, it is the same value, in the same key order, as a one-pass parse.
    fn large_document(broken_at: Option<usize>) -> String {
        let mut paths = Vec::new();
        for i in 0..20_000 {
            let body = if Some(i) == broken_at {
                "{\"get\": }"
            } else {
                "{\"get\": {\"responses\": {\"200\": {\"description\": \"ok\"}}}}"
            };
            paths.push(format!("\"/items/{i}\": {body}"));
        }
        paths.push("\"/items/7\": {\"put\": {}}".to_string());
        format!(
            "{{\"openapi\": \"3.1.0\", \"info\": {{\"title\": \"a\"}},\n\"paths\": {{{}}},\n\"info\": {{\"title\": \"b\"}}}}",
            paths.join(",\n")
        )
    }

    #[test]
    fn a_large_document_parses_as_in_one_pass() {
        let text = large_document(None);
        assert!(text.len() > PARALLEL_BYTES);
        let one_pass: Value = serde_json::from_str(&text).expect("valid");
        let parsed = parse_json(&text).expect("valid");
        assert_eq!(parsed.to_string(), one_pass.to_string());
        assert_eq!(parsed["paths"]["/items/7"], serde_json::json!({"put": {}}));
        assert_eq!(parsed["info"]["title"], "b");
    }

    /// Nested far past serde_json's limit inside a path item: the error is the one-pass
    /// parse's, naming the place in the document.
    #[test]
    fn a_large_document_nested_too_deep_fails_as_in_one_pass() {
        let text = large_document(None);
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let text = text.replacen(
            "\"description\": \"ok\"",
            &format!("\"description\": {deep}"),
            1,
        );
        let one_pass = serde_json::from_str::<Value>(&text).expect_err("too deep");
        let parsed = parse_json(&text).expect_err("too deep");
        assert_eq!(parsed.to_string(), one_pass.to_string());
    }

    #[test]
    fn a_syntax_error_in_a_large_document_is_reported_where_it_is() {
        let text = large_document(Some(15_000));
        let one_pass = serde_json::from_str::<Value>(&text).expect_err("invalid");
        let parsed = parse_json(&text).expect_err("invalid");
        assert_eq!(parsed.to_string(), one_pass.to_string());
    }

    #[test]
    fn versions_are_recognised_by_major_and_minor() {
        assert_eq!(parse_version("3.0.3"), Some(OpenApiVersion::V3_0));
        assert_eq!(parse_version("3.1.0"), Some(OpenApiVersion::V3_1));
        assert_eq!(parse_version("3.2.0"), Some(OpenApiVersion::V3_2));
        assert_eq!(parse_version("3.3.0"), None);
        assert_eq!(parse_version("2.0"), None);
        assert_eq!(parse_version("3.1"), None);
    }

    #[test]
    fn a_swagger_document_is_refused_with_a_pointer() {
        let err = parse(r#"{"swagger": "2.0"}"#, "s.json").expect_err("must fail");
        assert!(err.to_string().contains("at /swagger"), "{err}");
    }
}
