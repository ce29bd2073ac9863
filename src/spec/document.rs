//! Reading the raw document: syntax (JSON or YAML) and the OpenAPI version.

use serde_json::Value;

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
        serde_json::from_str(text).map_err(|e| SpecError::Syntax {
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
