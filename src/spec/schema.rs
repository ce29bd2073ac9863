//! Schemas compiled once, at load, against the whole normalised document.
//!
//! Each schema is compiled as `{"$ref": "urn:evalmock:spec#<pointer>"}` with the document
//! registered under that URI, so references between schemas (cyclic ones included) resolve
//! lazily inside `jsonschema` exactly as in the document, and nothing is copied or inlined.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    /// The document and its request and response copies (the document's own where identical).
    document: &'doc Value,
    request: &'doc Value,
    response: &'doc Value,
    /// Validators already built, by base URI and the schema's text, for schemas whose meaning
    /// does not depend on where they stand (see [`location_free`]): a large document `$ref`s the
    /// same component from thousands of operations, and each is compiled once.
    shared: Mutex<HashMap<(&'static str, String), Arc<Validator>>>,
    /// False when the document sets a base URI anywhere (`$id`): then the same text can mean
    /// different things in different places, and nothing is shared.
    shareable: bool,
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
        let shareable = !super::survey::Survey::of(document).sets_base_uri;
        Self::with_directions(document, None, None, shareable, origin)
    }

    /// A compiler that also knows the document's request and response copies, where they
    /// differ from it, so [`SchemaCompiler::compile_for`] can compile against them.
    /// `shareable`: the document sets no base URI (`$id`), so one validator may serve every
    /// place holding the same schema text.
    pub fn with_directions(
        document: &'doc Value,
        request: Option<&'doc Value>,
        response: Option<&'doc Value>,
        shareable: bool,
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
            document,
            request: request.unwrap_or(document),
            response: response.unwrap_or(document),
            shared: Mutex::new(HashMap::new()),
            shareable,
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
        self.compile_at(pointer, None, direction)
    }

    /// [`SchemaCompiler::compile_for`], given the schema at `pointer` in the document as
    /// written when the caller holds it: where the direction's copy is the document itself
    /// (every document without `readOnly`/`writeOnly`), it is not looked up again. Resolving
    /// each operation's schema pointers from the root was a sixth of a large document's load.
    pub fn compile_at(
        &self,
        pointer: &str,
        in_document: Option<&Value>,
        direction: Direction,
    ) -> Result<CompiledSchema, SpecError> {
        let (uri, copy) = match direction {
            Direction::Any => (DOCUMENT_URI, self.document),
            Direction::Request => (self.request_uri, self.request),
            Direction::Response => (self.response_uri, self.response),
        };
        let node = match in_document {
            Some(node) if std::ptr::eq(copy, self.document) => Some(node),
            _ => super::pointer::get(copy, pointer),
        };
        // Where the schema's text alone decides what it means, one validator serves every place
        // that holds the same text (compiled the first time, from that place, through the same
        // wrapper, so errors name the same schema paths wherever it is used).
        let key = node
            .filter(|node| self.shareable && location_free(node))
            .map(|node| (uri, node.to_string()));
        if let Some(key) = &key
            && let Some(validator) = self.lock_shared().get(key)
        {
            return Ok(CompiledSchema {
                pointer: pointer.to_string(),
                direction,
                validator: validator.clone(),
            });
        }
        let wrapper = json!({ "$ref": format!("{uri}#{}", encode_fragment(pointer)) });
        let mut schema = self.build(&wrapper, pointer, "invalid schema")?;
        schema.direction = direction;
        if let Some(key) = key {
            self.lock_shared().insert(key, schema.validator.clone());
        }
        Ok(schema)
    }

    fn lock_shared(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(&'static str, String), Arc<Validator>>> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Whether `schema` means the same wherever it stands in the document: it sets no base URI or
/// anchor (`$id`, `$anchor`, `$dynamicAnchor`, ...) and every `$ref` in it is a pointer into
/// the same document (`#/...`), which resolves to the same place from anywhere. Keywords are
/// matched conservatively: any `$` key but `$ref` and `$comment` disqualifies, as does a
/// `$ref` to anything but `#...`, wherever they appear (inside `const`, `enum` or `examples`
/// too, which only costs a missed share).
fn location_free(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map.iter().all(|(key, value)| match key.as_str() {
            "$ref" => value.as_str().is_some_and(|r| r.starts_with('#')),
            "$comment" => true,
            key if key.starts_with('$') => false,
            _ => location_free(value),
        }),
        Value::Array(items) => items.iter().all(location_free),
        _ => true,
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
