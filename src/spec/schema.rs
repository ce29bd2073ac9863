//! Schemas compiled once, at load, against the whole normalised document.
//!
//! Each schema is compiled as `{"$ref": "urn:evalmock:spec#<pointer>"}` with the document
//! registered under that URI, so references between schemas (cyclic ones included) resolve
//! lazily inside `jsonschema` exactly as in the document, and nothing is copied or inlined.

use std::sync::Arc;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

use super::SpecError;
pub use super::direction::Direction;

const DOCUMENT_URI: &str = "urn:evalmock:spec";
/// The request and response copies of the document (see `direction`), when they differ.
const REQUEST_URI: &str = "urn:evalmock:request";
const RESPONSE_URI: &str = "urn:evalmock:response";

/// A compiled schema and where it lives in the document.
#[derive(Clone)]
pub struct CompiledSchema {
    /// JSON pointer of the schema in the document, for messages.
    pub pointer: String,
    /// Which copy of the document the schema was compiled against (and is read from).
    pub direction: Direction,
    validator: Arc<Validator>,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("pointer", &self.pointer)
            .finish_non_exhaustive()
    }
}

impl CompiledSchema {
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }
}

pub struct SchemaCompiler<'doc> {
    registry: Registry<'doc>,
    origin: String,
    /// The base URI of each direction's copy (the document's own where a copy is identical).
    request_uri: &'static str,
    response_uri: &'static str,
}

impl std::fmt::Debug for SchemaCompiler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCompiler")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl<'doc> SchemaCompiler<'doc> {
    pub fn new(document: &'doc Value, origin: &str) -> Result<Self, SpecError> {
        Self::with_directions(document, None, None, origin)
    }

    /// A compiler that also knows the document's request and response copies, where they
    /// differ from it, so [`SchemaCompiler::compile_for`] can compile against them.
    pub fn with_directions(
        document: &'doc Value,
        request: Option<&'doc Value>,
        response: Option<&'doc Value>,
        origin: &str,
    ) -> Result<Self, SpecError> {
        let mut resources = vec![(DOCUMENT_URI, document)];
        resources.extend(request.map(|r| (REQUEST_URI, r)));
        resources.extend(response.map(|r| (RESPONSE_URI, r)));
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(resources)
            .and_then(|builder| builder.prepare())
            .map_err(|e| SpecError::Invalid {
                origin: origin.to_string(),
                pointer: String::new(),
                message: format!("cannot index the document for $ref resolution: {e}"),
            })?;
        Ok(SchemaCompiler {
            registry,
            origin: origin.to_string(),
            request_uri: if request.is_some() {
                REQUEST_URI
            } else {
                DOCUMENT_URI
            },
            response_uri: if response.is_some() {
                RESPONSE_URI
            } else {
                DOCUMENT_URI
            },
        })
    }

    /// Compiles the schema at `pointer` (which must exist in the document).
    pub fn compile(&self, pointer: &str) -> Result<CompiledSchema, SpecError> {
        self.compile_for(pointer, Direction::Any)
    }

    /// Compiles the schema at `pointer` against the copy of the document for `direction`.
    pub fn compile_for(
        &self,
        pointer: &str,
        direction: Direction,
    ) -> Result<CompiledSchema, SpecError> {
        let uri = match direction {
            Direction::Any => DOCUMENT_URI,
            Direction::Request => self.request_uri,
            Direction::Response => self.response_uri,
        };
        let wrapper = json!({ "$ref": format!("{uri}#{}", encode_fragment(pointer)) });
        let mut schema = self.build(&wrapper, pointer, "invalid schema")?;
        schema.direction = direction;
        Ok(schema)
    }

    /// A schema that accepts every value, standing in (under `pointer`, for messages) for one
    /// the validator cannot compile.
    pub fn accept_all(&self, pointer: &str) -> Result<CompiledSchema, SpecError> {
        self.build(
            &Value::Bool(true),
            pointer,
            "cannot build a permissive schema",
        )
    }

    fn build(
        &self,
        schema: &Value,
        pointer: &str,
        failure: &str,
    ) -> Result<CompiledSchema, SpecError> {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| SpecError::Invalid {
                origin: self.origin.clone(),
                pointer: pointer.to_string(),
                message: format!("{failure}: {e}"),
            })?;
        Ok(CompiledSchema {
            pointer: pointer.to_string(),
            direction: Direction::Any,
            validator: Arc::new(validator),
        })
    }
}

/// Why the validator's regex engine refuses `pattern`, if it does (ECMA-262 syntax it does not
/// support, such as a literal `{`), compiled exactly as a schema's `pattern` would be.
pub fn pattern_error(pattern: &str) -> Option<String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&json!({ "pattern": pattern }))
        .err()
        .map(|e| e.to_string())
}

/// Percent-encodes what a URI fragment may not hold (`{`, `}`, spaces, `%`...).
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cyclic_schema_compiles_and_validates_nested_values() {
        let doc = json!({"components": {"schemas": {"Node": {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}}});
        let compiler = SchemaCompiler::new(&doc, "t").expect("registry");
        let schema = compiler
            .compile("/components/schemas/Node")
            .expect("compiles");
        assert!(
            schema.is_valid(&json!({"name": "a", "children": [{"name": "b", "children": []}]}))
        );
        assert!(!schema.is_valid(&json!({"name": "a", "children": [{"children": []}]})));
    }

    #[test]
    fn schemas_under_templated_paths_compile() {
        let doc = json!({"paths": {"/g/{id}": {"get": {"parameters": [
            {"name": "id", "in": "path", "schema": {"type": "string", "minLength": 2}}]}}}});
        let compiler = SchemaCompiler::new(&doc, "t").expect("registry");
        let schema = compiler
            .compile("/paths/~1g~1{id}/get/parameters/0/schema")
            .expect("compiles");
        assert!(schema.is_valid(&json!("ab")));
        assert!(!schema.is_valid(&json!("a")));
    }
}
