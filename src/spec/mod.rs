//! The OpenAPI document, checked once and lowered into the form the hot path uses.
//!
//! Loading goes: text -> `document` (JSON or YAML, version detected) -> `normalize`
//! (3.0 keywords rewritten to JSON Schema 2020-12, every local `$ref` checked) -> `lower`
//! (operations with parameters, bodies and responses, every schema compiled once). Nothing in
//! here runs per request except [`Spec::route`] and the compiled validators.

mod direction;
mod document;
mod finite;
mod lower;
mod normalize;
mod pointer;
mod router;
mod schema;
mod servers;
mod survey;

pub use direction::Direction;
pub use document::OpenApiVersion;
pub use lower::{
    BodyField, BodyKind, MediaType, Operation, ParamLocation, ParamStyle, Parameter, RequestBody,
    Response, SecurityRequirement, SecurityScheme,
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
    /// `servers[].url` paths operations are also served under.
    base_paths: servers::BasePaths,
    /// Callbacks and webhooks: described, listed, not served.
    not_served: Vec<String>,
    /// The normalised document, kept for `$ref` resolution when generating examples.
    document: Arc<Value>,
    /// Its request and response copies (see `direction`): the same `Arc` where identical.
    request_document: Arc<Value>,
    response_document: Arc<Value>,
    /// Every `oneOf` branch of the response copy, compiled by pointer, so a generated value
    /// can be checked to match exactly one branch.
    branches: std::collections::HashMap<String, CompiledSchema>,
    /// Response schemas (by pointer) that no finite value satisfies, each with the chain of
    /// pointers that shows why; found once at load (see `finite`).
    unsatisfiable: std::collections::HashMap<String, String>,
}

impl Spec {
    /// `info.version`: what the document calls its version of the API (`2026-09`).
    pub fn info_version(&self) -> &str {
        pointer::get(&self.document, "/info/version")
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
        let (document, survey) = normalize::normalize(raw, version, origin, &mut warnings)?;
        let document = Arc::new(document);
        // The cycle analysis reads only the normalised document, so it runs beside the
        // compilation of the operations, the longest stage of a large document's load.
        let (compiled, finite) = crate::parallel::join(
            || -> Result<_, SpecError> {
                let (request, response) =
                    direction::variants(&document, survey.read_only, survey.write_only);
                let new_compiler = || {
                    schema::SchemaCompiler::with_directions(
                        &document,
                        request.as_ref(),
                        response.as_ref(),
                        !survey.sets_base_uri,
                        origin,
                    )
                };
                let lowered = lower::lower(&document, &new_compiler, origin, version)?;
                let branches = if survey.one_of_branches.is_empty() {
                    Default::default()
                } else {
                    one_of_branches(
                        response.as_ref().unwrap_or(&document),
                        survey.one_of_branches,
                        &new_compiler()?,
                    )
                };
                Ok((request, response, lowered, branches))
            },
            || finite::Finite::analyse(&document),
        );
        let (request, response, lowered, branches) = compiled?;
        let shared = |copy: Option<Value>| copy.map_or_else(|| document.clone(), Arc::new);
        let request_document = shared(request);
        let response_document = shared(response);
        warnings.extend(lowered.warnings);
        // Two independent indexes of the operations, built side by side.
        let (base_paths, router) = crate::parallel::join(
            || servers::BasePaths::load(&document, &lowered.operations, &mut warnings),
            || {
                router::Router::new(
                    lowered
                        .operations
                        .iter()
                        .map(|op| (op.path_template.as_str(), op.method.clone())),
                )
            },
        );
        let not_served = lower::not_served(&document);
        for (target, chain) in finite.unsatisfiable() {
            warnings.push(SpecWarning::new(
                target,
                format!(
                    "no finite value satisfies this schema: every value must contain itself ({chain}); an answer that needs it is the mock's 500 `unsatisfiable-schema` problem. Make one step of the cycle optional, nullable or an alternative"
                ),
            ));
        }
        let unsatisfiable = if finite.all_alive() {
            Default::default()
        } else {
            lowered
                .operations
                .iter()
                .flat_map(|op| &op.responses)
                .flat_map(|response| &response.content)
                .flat_map(|media| [&media.schema, &media.item_schema])
                .flatten()
                .filter_map(|schema| {
                    Some((schema.pointer.clone(), finite.cycle_of(&schema.pointer)?))
                })
                .collect()
        };
        drop(finite);
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        let router = router.map_err(|(index, message)| SpecError::Invalid {
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
            base_paths,
            not_served,
            document,
            request_document,
            response_document,
            branches,
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

    /// Callbacks and webhooks the document describes (`webhook newPet: POST`), which the mock
    /// lists and does not serve: they are requests the API makes, not requests it answers.
    pub fn not_served(&self) -> &[String] {
        &self.not_served
    }

    /// The base paths of `servers` operations are served under (besides the root), longest
    /// first; one declared by a path item or operation serves only its operations.
    pub fn base_paths(&self) -> &[String] {
        self.base_paths.all()
    }

    /// Finds the operation for a request path and method: under a server base path first
    /// (one the found operation is served under), then as written. Found beats
    /// method-not-allowed beats not-found.
    pub fn route(&self, method: &http::Method, path: &str) -> RouteMatch {
        let mut best = RouteMatch::NotFound;
        let stripped = self
            .base_paths
            .all()
            .iter()
            .filter_map(|base| Some((Some(base), servers::strip(path, base)?)));
        for (base, candidate) in stripped.chain(std::iter::once((None, path))) {
            match self.router.route(method, candidate) {
                RouteMatch::Found { operation, .. }
                    if base.is_some_and(|b| !self.base_paths.serves(operation, b)) => {}
                found @ RouteMatch::Found { .. } => return found,
                not_allowed @ RouteMatch::MethodNotAllowed { .. } => {
                    if best == RouteMatch::NotFound {
                        best = not_allowed;
                    }
                }
                RouteMatch::NotFound => {}
            }
        }
        best
    }

    /// The schema a compiled schema was built from, as written in the (normalised) copy of
    /// the document for its direction.
    pub fn schema_value(&self, schema: &CompiledSchema) -> &Value {
        pointer::get(self.document(schema.direction), &schema.pointer).unwrap_or(&Value::Bool(true))
    }

    /// The normalised document as values travelling in `direction` see it.
    pub fn document(&self, direction: Direction) -> &Value {
        match direction {
            Direction::Any => &self.document,
            Direction::Request => &self.request_document,
            Direction::Response => &self.response_document,
        }
    }

    /// The compiled `oneOf` branch at `pointer` of the response copy, if there is one.
    pub fn branch(&self, pointer: &str) -> Option<&CompiledSchema> {
        self.branches.get(pointer)
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

pub use normalize::escape_pointer_token;

/// The names an object schema lists as `required` (the generator and the finite-value
/// analysis both read them).
pub(crate) fn required_names(map: &serde_json::Map<String, Value>) -> Vec<&str> {
    map.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Follows a local `$ref` chain in `document`, returning the target and its pointer.
pub fn resolve_at<'a>(
    document: &'a Value,
    value: &'a Value,
    pointer: String,
) -> (&'a Value, String) {
    normalize::resolve_refs_at(document, value, pointer)
}

/// Every `oneOf` branch the survey found (literal data excepted), compiled against the
/// response copy `document`; a branch the validator refuses is left out (generation then does
/// not check it).
fn one_of_branches(
    document: &Value,
    pointers: Vec<String>,
    compiler: &SchemaCompiler<'_>,
) -> std::collections::HashMap<String, CompiledSchema> {
    pointers
        .into_iter()
        // Found in the normalised document: a branch inside a `writeOnly` property is not in
        // the response copy.
        .filter(|pointer| pointer::get(document, pointer).is_some())
        .filter_map(|pointer| {
            let schema = compiler.compile_for(&pointer, Direction::Response).ok()?;
            Some((pointer, schema))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Spec;

    /// A path item's `servers` apply to all its operations, 3.2's `additionalOperations`
    /// included; an operation's own `servers` replace them.
    #[test]
    fn a_path_items_servers_serve_its_additional_operations() {
        let document = r#"{"openapi": "3.2.0", "info": {"title": "t", "version": "1"},
            "paths": {"/items": {
                "servers": [{"url": "https://example.com/legacy"}],
                "get": {"responses": {"200": {"description": "ok"}}},
                "additionalOperations": {"COPY": {"responses": {"200": {"description": "ok"}}}},
                "post": {"servers": [{"url": "/write"}], "responses": {"200": {"description": "ok"}}}
            }}}"#;
        let spec = Spec::load(document, "test").expect("loads");
        let found = |method: &str, path: &str| {
            let method = http::Method::from_bytes(method.as_bytes()).expect("a method");
            matches!(spec.route(&method, path), super::RouteMatch::Found { .. })
        };
        assert!(found("GET", "/legacy/items"));
        assert!(found("COPY", "/legacy/items"));
        assert!(found("POST", "/write/items"));
        assert!(!found("POST", "/legacy/items"));
    }

    /// A 3.0-style `nullable` without a type, in a 3.1 document, is wrapped in an `anyOf` by
    /// `normalize` after the survey found the `oneOf` under it: the branches are compiled
    /// where they now are.
    #[test]
    fn one_of_branches_are_found_where_degrading_moved_them() {
        let document = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"Pet": {"nullable": true,
                "oneOf": [{"type": "string"}, {"type": "integer"}]}}}}"#;
        let spec = Spec::load(document, "test").expect("loads");
        let mut branches: Vec<&str> = spec.branches.keys().map(String::as_str).collect();
        branches.sort_unstable();
        assert_eq!(
            branches,
            [
                "/components/schemas/Pet/anyOf/0/oneOf/0",
                "/components/schemas/Pet/anyOf/0/oneOf/1"
            ]
        );
    }
}
