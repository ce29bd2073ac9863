//! The OpenAPI document, checked once and lowered into the form the hot path uses.
//!
//! Loading goes: text -> `document` (JSON or YAML, version detected) -> `normalize`
//! (3.0 keywords rewritten to JSON Schema 2020-12, every local `$ref` checked) -> `lower`
//! (operations with parameters, bodies and responses, every schema compiled once). Nothing in
//! here runs per request except [`Spec::route`] and the compiled validators.

mod document;
mod finite;
mod lower;
mod normalize;
mod router;
mod schema;

pub use document::OpenApiVersion;
pub use lower::{
    MediaType, Operation, ParamLocation, Parameter, RequestBody, Response, SecurityRequirement,
    SecurityScheme,
};
pub use router::RouteMatch;
pub use schema::{CompiledSchema, SchemaCompiler};

use std::sync::Arc;

use serde_json::Value;

/// A problem that makes a document unusable, located by JSON pointer.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{origin}: not valid {format}: {message}")]
    Syntax {
        origin: String,
        format: &'static str,
        message: String,
    },
    #[error("{origin} at {pointer}: {message}")]
    Invalid {
        origin: String,
        pointer: String,
        message: String,
    },
}

/// Something in a document that evalmock cannot honour as written, and serves anyway in a
/// stated, degraded way (the message says how). Loading is lenient so that any document that
/// can be served is; `evalmock check --strict` turns warnings into a failure for CI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpecWarning {
    /// JSON pointer of the place in the document.
    pub pointer: String,
    /// What is wrong and what evalmock does instead.
    pub message: String,
}

impl SpecWarning {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> SpecWarning {
        SpecWarning {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// `{pointer, message}`, as `/__mock/health` and `evalmock check --format json` list it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"pointer": self.pointer, "message": self.message})
    }
}

impl std::fmt::Display for SpecWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "at {at}: {}", self.message)
    }
}

/// A loaded, immutable API description.
#[derive(Debug)]
pub struct Spec {
    pub version: OpenApiVersion,
    pub title: String,
    /// Where the document came from (a path, or `embedded:...`), for messages.
    pub origin: String,
    operations: Vec<Operation>,
    router: router::Router,
    /// What was degraded while loading, in document order, each once.
    warnings: Vec<SpecWarning>,
    /// The normalised document, kept for `$ref` resolution when generating examples.
    document: Arc<Value>,
    /// Response schemas (by pointer) that no finite value satisfies, each with the chain of
    /// pointers that shows why; found once at load (see `finite`).
    unsatisfiable: std::collections::HashMap<String, String>,
}

impl Spec {
    /// `info.version`: what the document calls its version of the API (`2026-09`).
    pub fn info_version(&self) -> &str {
        self.document
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// An `x-` extension of `info`, for settings a document carries for the mock.
    pub fn info_extension(&self, name: &str) -> Option<&Value> {
        self.document.get("info").and_then(|info| info.get(name))
    }

    /// Parses, checks and compiles a document. `origin` names it in error messages.
    pub fn load(text: &str, origin: &str) -> Result<Spec, SpecError> {
        let (raw, version) = document::parse(text, origin)?;
        let mut warnings = Vec::new();
        let document = Arc::new(normalize::normalize(raw, version, origin, &mut warnings)?);
        let lowered = {
            let compiler = schema::SchemaCompiler::new(&document, origin)?;
            lower::lower(&document, &compiler, origin, version)?
        };
        warnings.extend(lowered.warnings);
        let finite = finite::Finite::analyse(&document);
        for (target, chain) in finite.unsatisfiable() {
            warnings.push(SpecWarning::new(
                target,
                format!(
                    "no finite value satisfies this schema: every value must contain itself ({chain}); an answer that needs it is the mock's 500 `unsatisfiable-schema` problem. Make one step of the cycle optional, nullable or an alternative"
                ),
            ));
        }
        let unsatisfiable = lowered
            .operations
            .iter()
            .flat_map(|op| &op.responses)
            .flat_map(|response| &response.content)
            .flat_map(|media| [&media.schema, &media.item_schema])
            .flatten()
            .filter_map(|schema| Some((schema.pointer.clone(), finite.cycle_of(&schema.pointer)?)))
            .collect();
        drop(finite);
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        let router = router::Router::new(
            lowered
                .operations
                .iter()
                .map(|op| (op.path_template.as_str(), op.method.clone())),
        )
        .map_err(|(index, message)| SpecError::Invalid {
            origin: origin.to_string(),
            pointer: format!(
                "/paths/{}",
                normalize::escape_pointer_token(&lowered.operations[index].path_template)
            ),
            message,
        })?;
        Ok(Spec {
            version,
            title: lowered.title,
            origin: origin.to_string(),
            operations: lowered.operations,
            router,
            warnings,
            document,
            unsatisfiable,
        })
    }

    /// What was degraded while loading (empty for a document served exactly as written).
    pub fn warnings(&self) -> &[SpecWarning] {
        &self.warnings
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn operation(&self, index: usize) -> &Operation {
        &self.operations[index]
    }

    /// Finds the operation for a request path and method.
    pub fn route(&self, method: &http::Method, path: &str) -> RouteMatch {
        self.router.route(method, path)
    }

    /// The schema a compiled schema was built from, as written in the (normalised) document.
    pub fn schema_value(&self, schema: &CompiledSchema) -> &Value {
        self.document
            .pointer(&schema.pointer)
            .unwrap_or(&Value::Bool(true))
    }

    /// For a response schema that no finite value satisfies, the chain of pointers that shows
    /// why (`#/components/schemas/Node -> /properties/next -> #/components/schemas/Node`).
    pub fn unsatisfiable(&self, schema: &CompiledSchema) -> Option<&str> {
        self.unsatisfiable.get(&schema.pointer).map(String::as_str)
    }

    /// Resolves a local `$ref` chain starting at `value` (a schema, example or response).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        normalize::resolve_refs(&self.document, value)
    }
}
