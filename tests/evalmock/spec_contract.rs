//! Contract test: our OpenAPI description of the Runtype Evals API (`specs/runtype-evals-2026-06.yaml`)
//! against the vendor's own OpenAPI document.
//!
//! The comparison walks both documents operation by operation (after resolving local `$ref`s) and
//! collects every structural difference: the set of operations; parameters (location, name,
//! `required`, schema); request body presence, `required` flag, media types and schemas; response
//! status codes, media types and schemas (`schema` and `itemSchema`); and security.
//!
//! Schemas are compared on the keywords that decide which instances are valid: `type` (as a set,
//! so `"string"` equals `["string"]`), the keys of `properties`, `required` (as a set), `items`,
//! `additionalProperties`, `enum`, `const`, `oneOf` / `anyOf` / `allOf` and `itemSchema`.
//! Annotations (`description`, `summary`, `title`, `example(s)`, `operationId`, `tags`, `x-*`)
//! and validation details such as `minLength` are ignored. Where the vendor's schema is open
//! (`{}`, or an object schema with no properties and an open `additionalProperties`), any
//! refinement on our side is accepted, as long as it keeps the vendor's `type`.
//!
//! Differences are addressed as `operation` (`"POST /v1/eval/compare-record"`) plus a JSON pointer
//! relative to that operation. Parameters are addressed by location and name
//! (`/parameters/query/limit`) rather than by array index, so reordering them is not a difference.
//! Document-wide differences (global security, security schemes) use the operation `(document)`.
//!
//! Every difference must be matched by an entry of `tests/data/spec-allowlist.yaml`, and every
//! entry must match a difference, or the test fails with the full list.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

const OUR_SPEC: &str = "specs/runtype-evals-2026-06.yaml";
const VENDOR_STRUCTURE: &str = "tests/data/vendor-evals-structure.json";
const ALLOW_LIST: &str = "tests/data/spec-allowlist.yaml";
const SHARED_VENDOR_DOCUMENT: &str = "../shared/runtype-docs/openapi-evals.json";

/// How many `$ref`s may be expanded inside one another before the resolver gives up.
const MAX_REF_DEPTH: usize = 64;
/// The operation name used for differences that belong to the whole document.
const DOCUMENT: &str = "(document)";
const HTTP_METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];
const COMPOSITION_KEYWORDS: [&str; 3] = ["oneOf", "anyOf", "allOf"];
/// Schema keywords the comparison looks at; a schema with none of them accepts anything.
const STRUCTURAL_KEYWORDS: [&str; 12] = [
    "$ref",
    "type",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "const",
    "oneOf",
    "anyOf",
    "allOf",
    "itemSchema",
];
/// Fields of a security scheme that change what a client must send.
const SECURITY_SCHEME_FIELDS: [&str; 5] = ["type", "scheme", "in", "name", "bearerFormat"];

// ---------------------------------------------------------------------------------------------
// Differences and the allow-list
// ---------------------------------------------------------------------------------------------

/// What kind of difference was found; the allow-list names it by `as_str()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DifferenceKind {
    MissingOperation,
    ExtraOperation,
    MissingParameter,
    ExtraParameter,
    ParameterRequired,
    RequestBodyPresence,
    RequestBodyRequired,
    MissingContentType,
    ExtraContentType,
    MissingStatus,
    ExtraStatus,
    Type,
    MissingProperty,
    ExtraProperty,
    Required,
    Items,
    AdditionalProperties,
    Enum,
    Const,
    Composition,
    UnresolvedRef,
    Security,
    SecurityScheme,
}

impl DifferenceKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::MissingOperation => "missing-operation",
            Self::ExtraOperation => "extra-operation",
            Self::MissingParameter => "missing-parameter",
            Self::ExtraParameter => "extra-parameter",
            Self::ParameterRequired => "parameter-required",
            Self::RequestBodyPresence => "request-body-presence",
            Self::RequestBodyRequired => "request-body-required",
            Self::MissingContentType => "missing-content-type",
            Self::ExtraContentType => "extra-content-type",
            Self::MissingStatus => "missing-status",
            Self::ExtraStatus => "extra-status",
            Self::Type => "type",
            Self::MissingProperty => "missing-property",
            Self::ExtraProperty => "extra-property",
            Self::Required => "required",
            Self::Items => "items",
            Self::AdditionalProperties => "additional-properties",
            Self::Enum => "enum",
            Self::Const => "const",
            Self::Composition => "composition",
            Self::UnresolvedRef => "unresolved-ref",
            Self::Security => "security",
            Self::SecurityScheme => "security-scheme",
        }
    }
}

/// One way in which our spec differs from the vendor's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Difference {
    operation: String,
    pointer: String,
    kind: DifferenceKind,
    vendor: String,
    ours: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(whole operation)"
        } else {
            &self.pointer
        };
        writeln!(
            f,
            "  {}  {}  [{}]",
            self.operation,
            pointer,
            self.kind.as_str()
        )?;
        writeln!(f, "      vendor: {}", self.vendor)?;
        write!(f, "      ours:   {}", self.ours)
    }
}

/// An accepted difference, read from `tests/data/spec-allowlist.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    operation: String,
    pointer: String,
    kind: String,
    reason: String,
}

impl AllowEntry {
    fn matches(&self, difference: &Difference) -> bool {
        self.operation == difference.operation
            && self.pointer == difference.pointer
            && self.kind == difference.kind.as_str()
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  {}  {}  [{}]  ({})",
            self.operation, self.pointer, self.kind, self.reason
        )
    }
}

/// The differences no allow-list entry accepts, and the entries that accept nothing.
#[derive(Debug, Default)]
struct Verdict {
    unmatched_differences: Vec<Difference>,
    stale_entries: Vec<AllowEntry>,
}

impl Verdict {
    fn is_clean(&self) -> bool {
        self.unmatched_differences.is_empty() && self.stale_entries.is_empty()
    }

    fn report(&self, vendor_file: &str) -> String {
        let mut report = String::new();
        if !self.unmatched_differences.is_empty() {
            report.push_str(&format!(
                "{} difference(s) between {OUR_SPEC} and {vendor_file} are not in {ALLOW_LIST}:\n",
                self.unmatched_differences.len()
            ));
            for difference in &self.unmatched_differences {
                report.push_str(&format!("{difference}\n"));
            }
        }
        if !self.stale_entries.is_empty() {
            report.push_str(&format!(
                "{} entry(ies) of {ALLOW_LIST} match no difference (remove them):\n",
                self.stale_entries.len()
            ));
            for entry in &self.stale_entries {
                report.push_str(&format!("{entry}\n"));
            }
        }
        report
    }
}

fn judge(differences: &[Difference], allow_list: &[AllowEntry]) -> Verdict {
    let unmatched_differences = differences
        .iter()
        .filter(|difference| !allow_list.iter().any(|entry| entry.matches(difference)))
        .cloned()
        .collect();
    let stale_entries = allow_list
        .iter()
        .filter(|entry| {
            !differences
                .iter()
                .any(|difference| entry.matches(difference))
        })
        .cloned()
        .collect();
    Verdict {
        unmatched_differences,
        stale_entries,
    }
}

fn parse_allow_list(document: &Value) -> Vec<AllowEntry> {
    let entries = document
        .as_array()
        .unwrap_or_else(|| panic!("{ALLOW_LIST}: expected a list of entries"));
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let field = |name: &str| {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| {
                        panic!("{ALLOW_LIST}: entry {index} has no string field `{name}`")
                    })
                    .to_owned()
            };
            AllowEntry {
                operation: field("operation"),
                pointer: field("pointer"),
                kind: field("kind"),
                reason: field("reason"),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Loading files
// ---------------------------------------------------------------------------------------------

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn load_json(relative: &str) -> Value {
    let path = manifest_path(relative);
    serde_json::from_str(&read_text(&path))
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

fn load_yaml(relative: &str) -> Value {
    let path = manifest_path(relative);
    serde_norway::from_str(&read_text(&path))
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()))
}

fn our_spec() -> Value {
    load_yaml(OUR_SPEC)
}

fn vendor_structure() -> Value {
    load_json(VENDOR_STRUCTURE)
}

fn allow_list() -> Vec<AllowEntry> {
    parse_allow_list(&load_yaml(ALLOW_LIST))
}

// ---------------------------------------------------------------------------------------------
// Resolving local `$ref`s
// ---------------------------------------------------------------------------------------------

/// A copy of `document` with every local `$ref` replaced by what it points at. A `$ref` that
/// points nowhere, that refers to itself through a cycle, or that lies deeper than
/// `MAX_REF_DEPTH` expansions is left in place; the comparison then reports it.
fn resolve_refs(document: &Value) -> Value {
    resolve_node(document, document, &mut Vec::new())
}

fn resolve_node(node: &Value, root: &Value, expanding: &mut Vec<String>) -> Value {
    match node {
        Value::Object(map) => match map.get("$ref").and_then(Value::as_str) {
            Some(reference) => resolve_reference(map, reference, root, expanding),
            None => Value::Object(
                map.iter()
                    .map(|(key, value)| (key.clone(), resolve_node(value, root, expanding)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_node(item, root, expanding))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

fn resolve_reference(
    map: &Map<String, Value>,
    reference: &str,
    root: &Value,
    expanding: &mut Vec<String>,
) -> Value {
    let too_deep = expanding.len() >= MAX_REF_DEPTH;
    let cyclic = expanding.iter().any(|open| open == reference);
    let target = reference
        .strip_prefix('#')
        .and_then(|pointer| root.pointer(pointer));
    let Some(target) = target.filter(|_| !too_deep && !cyclic) else {
        return Value::Object(map.clone());
    };
    expanding.push(reference.to_owned());
    let mut resolved = resolve_node(target, root, expanding);
    // Keywords beside a `$ref` (e.g. a description) apply on top of the target.
    if let Value::Object(resolved_map) = &mut resolved {
        for (key, value) in map.iter().filter(|(key, _)| key.as_str() != "$ref") {
            resolved_map.insert(key.clone(), resolve_node(value, root, expanding));
        }
    }
    expanding.pop();
    resolved
}

// ---------------------------------------------------------------------------------------------
// JSON pointers and small helpers
// ---------------------------------------------------------------------------------------------

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_pointer_token(token))
}

fn display_value(value: Option<&Value>) -> String {
    const LIMIT: usize = 160;
    let Some(value) = value else {
        return "(absent)".to_owned();
    };
    let text = value.to_string();
    if text.chars().count() <= LIMIT {
        text
    } else {
        format!("{}…", text.chars().take(LIMIT).collect::<String>())
    }
}

fn display_set(set: &BTreeSet<String>) -> String {
    let items: Vec<&str> = set.iter().map(String::as_str).collect();
    format!("[{}]", items.join(", "))
}

fn object_keys(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

fn string_set(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `type` keyword as a set; `None` when absent (any type).
fn type_set(schema: &Value) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(single) => Some(BTreeSet::from([single.clone()])),
        other => Some(string_set(Some(other))),
    }
}

fn display_type(types: Option<&BTreeSet<String>>) -> String {
    types.map_or_else(|| "(absent: any type)".to_owned(), display_set)
}

/// A schema that constrains nothing: `true`, `{}`, or an object with only annotations.
fn accepts_anything(schema: &Value) -> bool {
    match schema {
        Value::Bool(accepts) => *accepts,
        Value::Object(map) => !STRUCTURAL_KEYWORDS.iter().any(|key| map.contains_key(*key)),
        _ => false,
    }
}

/// The vendor left this schema open: `{}`, or an object schema with no (or empty)
/// `properties` whose `additionalProperties` is absent, `true` or `{}`.
fn is_open_schema(schema: &Value) -> bool {
    if accepts_anything(schema) {
        return true;
    }
    let Some(map) = schema.as_object() else {
        return false;
    };
    let only_object_type =
        type_set(schema).is_none_or(|types| types == BTreeSet::from(["object".to_owned()]));
    let no_properties = object_keys(map.get("properties")).is_empty();
    let open_additional = map.get("additionalProperties").is_none_or(accepts_anything);
    let constrains_otherwise = ["$ref", "required", "items", "enum", "const", "itemSchema"]
        .iter()
        .chain(COMPOSITION_KEYWORDS.iter())
        .any(|key| match map.get(*key) {
            Some(Value::Array(items)) if *key == "required" => !items.is_empty(),
            Some(_) => true,
            None => false,
        });
    only_object_type && no_properties && open_additional && !constrains_otherwise
}

/// `additionalProperties` in one of its three meanings.
enum AdditionalProperties<'a> {
    Open,
    Closed,
    Schema(&'a Value),
}

impl<'a> AdditionalProperties<'a> {
    fn of(schema: &'a Value) -> Self {
        match schema.get("additionalProperties") {
            None => Self::Open,
            Some(Value::Bool(false)) => Self::Closed,
            Some(value) if accepts_anything(value) => Self::Open,
            Some(value) => Self::Schema(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Open => "open (absent, true or {})".to_owned(),
            Self::Closed => "false".to_owned(),
            Self::Schema(schema) => display_value(Some(schema)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------------

/// Collects the differences found while walking one operation (or the document).
struct Collector<'a> {
    operation: &'a str,
    differences: &'a mut Vec<Difference>,
}

impl Collector<'_> {
    fn push(&mut self, pointer: &str, kind: DifferenceKind, vendor: String, ours: String) {
        self.differences.push(Difference {
            operation: self.operation.to_owned(),
            pointer: pointer.to_owned(),
            kind,
            vendor,
            ours,
        });
    }

    /// Reports the names only one side has, and returns the names both have.
    fn compare_name_sets(
        &mut self,
        pointer: &str,
        vendor: &BTreeSet<String>,
        ours: &BTreeSet<String>,
        missing: DifferenceKind,
        extra: DifferenceKind,
    ) -> Vec<String> {
        for name in vendor.difference(ours) {
            self.push(
                &child(pointer, name),
                missing,
                "present".into(),
                "(absent)".into(),
            );
        }
        for name in ours.difference(vendor) {
            self.push(
                &child(pointer, name),
                extra,
                "(absent)".into(),
                "present".into(),
            );
        }
        vendor.intersection(ours).cloned().collect()
    }

    // ---- schemas ----

    fn compare_schema(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        if is_open_schema(vendor) {
            self.check_refinement_keeps_type(pointer, vendor, ours);
            return;
        }
        if self.report_unresolved_refs(pointer, vendor, ours) {
            return;
        }
        if let (Value::Bool(_), _) | (_, Value::Bool(_)) = (vendor, ours) {
            if vendor != ours {
                let (vendor_text, ours_text) =
                    (display_value(Some(vendor)), display_value(Some(ours)));
                self.push(pointer, DifferenceKind::Type, vendor_text, ours_text);
            }
            return;
        }
        self.compare_types(pointer, vendor, ours);
        self.compare_properties(pointer, vendor, ours);
        self.compare_required(pointer, vendor, ours);
        self.compare_subschema(pointer, "items", vendor, ours, DifferenceKind::Items);
        self.compare_additional_properties(pointer, vendor, ours);
        self.compare_enum(pointer, vendor, ours);
        self.compare_const(pointer, vendor, ours);
        for keyword in COMPOSITION_KEYWORDS {
            self.compare_composition(pointer, keyword, vendor, ours);
        }
        self.compare_subschema(pointer, "itemSchema", vendor, ours, DifferenceKind::Items);
    }

    /// Ours may refine an open vendor schema in any way, but not widen its `type`.
    fn check_refinement_keeps_type(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let Some(vendor_types) = type_set(vendor) else {
            return;
        };
        let our_types = type_set(ours);
        let narrows = our_types
            .as_ref()
            .is_some_and(|types| !types.is_empty() && types.is_subset(&vendor_types));
        if !narrows {
            self.push(
                &child(pointer, "type"),
                DifferenceKind::Type,
                display_type(Some(&vendor_types)),
                display_type(our_types.as_ref()),
            );
        }
    }

    fn report_unresolved_refs(&mut self, pointer: &str, vendor: &Value, ours: &Value) -> bool {
        let vendor_ref = vendor.get("$ref");
        let our_ref = ours.get("$ref");
        if vendor_ref.is_none() && our_ref.is_none() {
            return false;
        }
        if vendor_ref != our_ref {
            self.push(
                &child(pointer, "$ref"),
                DifferenceKind::UnresolvedRef,
                display_value(vendor_ref),
                display_value(our_ref),
            );
        }
        true
    }

    fn compare_types(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let (vendor_types, our_types) = (type_set(vendor), type_set(ours));
        if vendor_types != our_types {
            self.push(
                &child(pointer, "type"),
                DifferenceKind::Type,
                display_type(vendor_types.as_ref()),
                display_type(our_types.as_ref()),
            );
        }
    }

    fn compare_properties(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let properties_pointer = child(pointer, "properties");
        let common = self.compare_name_sets(
            &properties_pointer,
            &object_keys(vendor.get("properties")),
            &object_keys(ours.get("properties")),
            DifferenceKind::MissingProperty,
            DifferenceKind::ExtraProperty,
        );
        for name in common {
            self.compare_schema(
                &child(&properties_pointer, &name),
                &vendor["properties"][&name],
                &ours["properties"][&name],
            );
        }
    }

    fn compare_required(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let vendor_required = string_set(vendor.get("required"));
        let our_required = string_set(ours.get("required"));
        if vendor_required != our_required {
            self.push(
                &child(pointer, "required"),
                DifferenceKind::Required,
                display_set(&vendor_required),
                display_set(&our_required),
            );
        }
    }

    fn compare_subschema(
        &mut self,
        pointer: &str,
        keyword: &str,
        vendor: &Value,
        ours: &Value,
        kind: DifferenceKind,
    ) {
        let keyword_pointer = child(pointer, keyword);
        match (vendor.get(keyword), ours.get(keyword)) {
            (None, None) => {}
            (Some(vendor_sub), Some(our_sub)) => {
                self.compare_schema(&keyword_pointer, vendor_sub, our_sub);
            }
            (vendor_sub, our_sub) => self.push(
                &keyword_pointer,
                kind,
                display_value(vendor_sub),
                display_value(our_sub),
            ),
        }
    }

    fn compare_additional_properties(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let keyword_pointer = child(pointer, "additionalProperties");
        match (
            AdditionalProperties::of(vendor),
            AdditionalProperties::of(ours),
        ) {
            (AdditionalProperties::Open, AdditionalProperties::Open)
            | (AdditionalProperties::Closed, AdditionalProperties::Closed) => {}
            (AdditionalProperties::Schema(vendor_sub), AdditionalProperties::Schema(our_sub)) => {
                self.compare_schema(&keyword_pointer, vendor_sub, our_sub);
            }
            (vendor_kind, our_kind) => self.push(
                &keyword_pointer,
                DifferenceKind::AdditionalProperties,
                vendor_kind.describe(),
                our_kind.describe(),
            ),
        }
    }

    fn compare_enum(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let as_set = |schema: &Value| {
            schema.get("enum").map(|values| {
                values
                    .as_array()
                    .map(|items| items.iter().map(Value::to_string).collect::<BTreeSet<_>>())
                    .unwrap_or_default()
            })
        };
        let (vendor_values, our_values) = (as_set(vendor), as_set(ours));
        if vendor_values != our_values {
            self.push(
                &child(pointer, "enum"),
                DifferenceKind::Enum,
                vendor_values.map_or_else(|| "(absent)".to_owned(), |set| display_set(&set)),
                our_values.map_or_else(|| "(absent)".to_owned(), |set| display_set(&set)),
            );
        }
    }

    fn compare_const(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let (vendor_const, our_const) = (vendor.get("const"), ours.get("const"));
        if vendor_const != our_const {
            self.push(
                &child(pointer, "const"),
                DifferenceKind::Const,
                display_value(vendor_const),
                display_value(our_const),
            );
        }
    }

    /// `oneOf` / `anyOf` / `allOf` are compared variant by variant, in order.
    fn compare_composition(&mut self, pointer: &str, keyword: &str, vendor: &Value, ours: &Value) {
        let keyword_pointer = child(pointer, keyword);
        let variants = |schema: &Value| schema.get(keyword).and_then(Value::as_array).cloned();
        match (variants(vendor), variants(ours)) {
            (None, None) => {}
            (Some(vendor_variants), Some(our_variants)) => {
                if vendor_variants.len() != our_variants.len() {
                    self.push(
                        &keyword_pointer,
                        DifferenceKind::Composition,
                        format!("{} variants", vendor_variants.len()),
                        format!("{} variants", our_variants.len()),
                    );
                }
                for (index, (vendor_variant, our_variant)) in
                    vendor_variants.iter().zip(&our_variants).enumerate()
                {
                    let variant_pointer = child(&keyword_pointer, &index.to_string());
                    self.compare_schema(&variant_pointer, vendor_variant, our_variant);
                }
            }
            (vendor_variants, our_variants) => {
                let describe = |variants: Option<Vec<Value>>| {
                    variants.map_or_else(
                        || "(absent)".to_owned(),
                        |list| format!("{} variants", list.len()),
                    )
                };
                self.push(
                    &keyword_pointer,
                    DifferenceKind::Composition,
                    describe(vendor_variants),
                    describe(our_variants),
                );
            }
        }
    }

    // ---- operations ----

    fn compare_operation(&mut self, vendor: &OperationView, ours: &OperationView) {
        self.compare_parameters(vendor, ours);
        self.compare_request_bodies(vendor.operation, ours.operation);
        self.compare_responses(vendor.operation, ours.operation);
        self.compare_security(vendor, ours);
    }

    fn compare_parameters(&mut self, vendor: &OperationView, ours: &OperationView) {
        let (vendor_parameters, our_parameters) = (vendor.parameters(), ours.parameters());
        for (key, vendor_parameter) in &vendor_parameters {
            let pointer = parameter_pointer(key);
            match our_parameters.get(key) {
                Some(our_parameter) => {
                    self.compare_parameter(&pointer, vendor_parameter, our_parameter);
                }
                None => self.push(
                    &pointer,
                    DifferenceKind::MissingParameter,
                    "present".into(),
                    "(absent)".into(),
                ),
            }
        }
        for key in our_parameters
            .keys()
            .filter(|key| !vendor_parameters.contains_key(*key))
        {
            self.push(
                &parameter_pointer(key),
                DifferenceKind::ExtraParameter,
                "(absent)".into(),
                "present".into(),
            );
        }
    }

    fn compare_parameter(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let (vendor_required, our_required) = (is_required(vendor), is_required(ours));
        if vendor_required != our_required {
            self.push(
                &child(pointer, "required"),
                DifferenceKind::ParameterRequired,
                vendor_required.to_string(),
                our_required.to_string(),
            );
        }
        self.compare_optional_schema(pointer, "schema", vendor, ours);
    }

    fn compare_request_bodies(&mut self, vendor: &Value, ours: &Value) {
        const POINTER: &str = "/requestBody";
        match (vendor.get("requestBody"), ours.get("requestBody")) {
            (None, None) => {}
            (Some(vendor_body), Some(our_body)) => {
                let (vendor_required, our_required) =
                    (is_required(vendor_body), is_required(our_body));
                if vendor_required != our_required {
                    self.push(
                        &child(POINTER, "required"),
                        DifferenceKind::RequestBodyRequired,
                        vendor_required.to_string(),
                        our_required.to_string(),
                    );
                }
                self.compare_content(POINTER, vendor_body, our_body);
            }
            (vendor_body, our_body) => self.push(
                POINTER,
                DifferenceKind::RequestBodyPresence,
                presence(vendor_body),
                presence(our_body),
            ),
        }
    }

    fn compare_responses(&mut self, vendor: &Value, ours: &Value) {
        let common = self.compare_name_sets(
            "/responses",
            &object_keys(vendor.get("responses")),
            &object_keys(ours.get("responses")),
            DifferenceKind::MissingStatus,
            DifferenceKind::ExtraStatus,
        );
        for status in common {
            self.compare_content(
                &child("/responses", &status),
                &vendor["responses"][&status],
                &ours["responses"][&status],
            );
        }
    }

    /// The media types of a request body or response, and each one's `schema` / `itemSchema`.
    fn compare_content(&mut self, pointer: &str, vendor: &Value, ours: &Value) {
        let content_pointer = child(pointer, "content");
        let common = self.compare_name_sets(
            &content_pointer,
            &object_keys(vendor.get("content")),
            &object_keys(ours.get("content")),
            DifferenceKind::MissingContentType,
            DifferenceKind::ExtraContentType,
        );
        for media_type in common {
            let media_pointer = child(&content_pointer, &media_type);
            let (vendor_media, our_media) = (
                &vendor["content"][&media_type],
                &ours["content"][&media_type],
            );
            self.compare_optional_schema(&media_pointer, "schema", vendor_media, our_media);
            self.compare_optional_schema(&media_pointer, "itemSchema", vendor_media, our_media);
        }
    }

    /// A missing schema accepts anything, so it is compared as `{}`.
    fn compare_optional_schema(
        &mut self,
        pointer: &str,
        keyword: &str,
        vendor: &Value,
        ours: &Value,
    ) {
        if vendor.get(keyword).is_none() && ours.get(keyword).is_none() {
            return;
        }
        let anything = json!({});
        self.compare_schema(
            &child(pointer, keyword),
            vendor.get(keyword).unwrap_or(&anything),
            ours.get(keyword).unwrap_or(&anything),
        );
    }

    fn compare_security(&mut self, vendor: &OperationView, ours: &OperationView) {
        let (vendor_security, our_security) =
            (vendor.effective_security(), ours.effective_security());
        if vendor_security != our_security {
            self.push(
                "/security",
                DifferenceKind::Security,
                format!("{vendor_security:?}"),
                format!("{our_security:?}"),
            );
        }
    }
}

/// A parameter's location (`in`) and name.
type ParameterKey = (String, String);

/// `/parameters/<in>/<name>`: parameters are addressed by location and name, not array index.
fn parameter_pointer((location, name): &ParameterKey) -> String {
    child(&child("/parameters", location), name)
}

fn is_required(object: &Value) -> bool {
    object
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn presence(value: Option<&Value>) -> String {
    if value.is_some() {
        "present"
    } else {
        "(absent)"
    }
    .to_owned()
}

/// A security requirement list, normalized: each requirement maps scheme names to scope sets.
type SecurityRequirements = BTreeSet<BTreeMap<String, BTreeSet<String>>>;

fn normalize_security(security: Option<&Value>) -> SecurityRequirements {
    security
        .and_then(Value::as_array)
        .map(|requirements| {
            requirements
                .iter()
                .map(|requirement| {
                    requirement
                        .as_object()
                        .map(|schemes| {
                            schemes
                                .iter()
                                .map(|(name, scopes)| (name.clone(), string_set(Some(scopes))))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One operation of a resolved document, with what it inherits from its path item and document.
struct OperationView<'a> {
    document: &'a Value,
    path_item: &'a Value,
    operation: &'a Value,
}

impl<'a> OperationView<'a> {
    /// Path-item parameters overridden by the operation's, keyed by location and name.
    fn parameters(&self) -> BTreeMap<ParameterKey, &'a Value> {
        let mut parameters = BTreeMap::new();
        for source in [self.path_item, self.operation] {
            let list = source.get("parameters").and_then(Value::as_array);
            for parameter in list.into_iter().flatten() {
                let field = |name: &str| {
                    parameter
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned()
                };
                parameters.insert((field("in"), field("name")), parameter);
            }
        }
        parameters
    }

    fn effective_security(&self) -> SecurityRequirements {
        normalize_security(
            self.operation
                .get("security")
                .or_else(|| self.document.get("security")),
        )
    }
}

fn operations(document: &Value) -> BTreeMap<String, OperationView<'_>> {
    let mut found = BTreeMap::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for (path, path_item) in paths.into_iter().flatten() {
        for method in HTTP_METHODS {
            if let Some(operation) = path_item.get(method) {
                let view = OperationView {
                    document,
                    path_item,
                    operation,
                };
                found.insert(format!("{} {path}", method.to_uppercase()), view);
            }
        }
    }
    found
}

/// Every structural difference between our spec and the vendor's document.
fn compare_documents(vendor_raw: &Value, ours_raw: &Value) -> Vec<Difference> {
    let (vendor, ours) = (resolve_refs(vendor_raw), resolve_refs(ours_raw));
    let mut differences = Vec::new();
    compare_operation_sets(&vendor, &ours, &mut differences);
    compare_document_security(&vendor, &ours, &mut differences);
    differences.sort();
    differences
}

fn compare_operation_sets(vendor: &Value, ours: &Value, differences: &mut Vec<Difference>) {
    let (vendor_operations, our_operations) = (operations(vendor), operations(ours));
    for (name, vendor_operation) in &vendor_operations {
        let mut collector = Collector {
            operation: name,
            differences,
        };
        match our_operations.get(name) {
            Some(our_operation) => collector.compare_operation(vendor_operation, our_operation),
            None => collector.push(
                "",
                DifferenceKind::MissingOperation,
                "present".into(),
                "(absent)".into(),
            ),
        }
    }
    for name in our_operations
        .keys()
        .filter(|name| !vendor_operations.contains_key(*name))
    {
        Collector {
            operation: name,
            differences,
        }
        .push(
            "",
            DifferenceKind::ExtraOperation,
            "(absent)".into(),
            "present".into(),
        );
    }
}

/// The global security requirement, and the definition of every scheme an operation uses.
fn compare_document_security(vendor: &Value, ours: &Value, differences: &mut Vec<Difference>) {
    let mut collector = Collector {
        operation: DOCUMENT,
        differences,
    };
    let (vendor_global, our_global) = (
        normalize_security(vendor.get("security")),
        normalize_security(ours.get("security")),
    );
    if vendor_global != our_global {
        collector.push(
            "/security",
            DifferenceKind::Security,
            format!("{vendor_global:?}"),
            format!("{our_global:?}"),
        );
    }
    let used_schemes: BTreeSet<String> = [vendor, ours]
        .into_iter()
        .flat_map(|document| operations(document).into_values())
        .flat_map(|view| view.effective_security())
        .flat_map(|requirement| requirement.into_keys())
        .collect();
    for scheme in used_schemes {
        let pointer = child("/components/securitySchemes", &scheme);
        let definition = |document: &Value| document.pointer(&pointer).cloned();
        let (vendor_definition, our_definition) = (definition(vendor), definition(ours));
        for field in SECURITY_SCHEME_FIELDS {
            let vendor_field = vendor_definition
                .as_ref()
                .and_then(|scheme| scheme.get(field));
            let our_field = our_definition.as_ref().and_then(|scheme| scheme.get(field));
            if vendor_field != our_field {
                collector.push(
                    &child(&pointer, field),
                    DifferenceKind::SecurityScheme,
                    display_value(vendor_field),
                    display_value(our_field),
                );
            }
        }
    }
}

/// Compares our spec with a vendor document and fails with every unaccepted difference.
fn assert_matches_vendor(vendor: &Value, vendor_file: &str) {
    let differences = compare_documents(vendor, &our_spec());
    let verdict = judge(&differences, &allow_list());
    assert!(verdict.is_clean(), "\n{}", verdict.report(vendor_file));
}

// ---------------------------------------------------------------------------------------------
// Stripping the vendor's prose (mirrors tests/data/strip_vendor_prose.py)
// ---------------------------------------------------------------------------------------------

const PROSE_KEYWORDS: [&str; 2] = ["description", "summary"];
const NAME_MAP_KEYWORDS: [&str; 21] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "paths",
    "webhooks",
    "responses",
    "content",
    "schemas",
    "securitySchemes",
    "parameters",
    "requestBodies",
    "headers",
    "callbacks",
    "links",
    "encoding",
    "examples",
    "variables",
    "pathItems",
    "mediaTypes",
];
const LITERAL_KEYWORDS: [&str; 11] = [
    "example",
    "default",
    "const",
    "enum",
    "value",
    "dataValue",
    "serializedValue",
    "externalValue",
    "security",
    "required",
    "mapping",
];
const DROPPED_TOP_LEVEL_KEYS: [&str; 1] = ["_source"];

fn is_literal(key: &str, value: &Value) -> bool {
    LITERAL_KEYWORDS.contains(&key)
        || key.starts_with("x-")
        || (key == "examples" && value.is_array())
}

fn strip_prose_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_prose_object(map)),
        Value::Array(items) => Value::Array(items.iter().map(strip_prose_value).collect()),
        scalar => scalar.clone(),
    }
}

fn strip_prose_object(map: &Map<String, Value>) -> Map<String, Value> {
    let mut stripped = Map::new();
    for (key, value) in map {
        if PROSE_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        let kept = match value {
            _ if is_literal(key, value) => value.clone(),
            Value::Object(names) if NAME_MAP_KEYWORDS.contains(&key.as_str()) => Value::Object(
                names
                    .iter()
                    .map(|(name, item)| (name.clone(), strip_prose_value(item)))
                    .collect(),
            ),
            _ => strip_prose_value(value),
        };
        stripped.insert(key.clone(), kept);
    }
    stripped
}

fn strip_vendor_prose(document: &Value) -> Value {
    let mut kept = document
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("the vendor document is not a JSON object"));
    for key in DROPPED_TOP_LEVEL_KEYS {
        kept.remove(key);
    }
    Value::Object(strip_prose_object(&kept))
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn our_spec_matches_the_vendor_structure_operation_by_operation() {
    assert_matches_vendor(&vendor_structure(), VENDOR_STRUCTURE);
}

/// A difference expected from one mutation of our spec: operation, pointer and kind.
type ExpectedDifference = (&'static str, &'static str, DifferenceKind);

fn pointer_mut<'a>(document: &'a mut Value, pointer: &str) -> &'a mut Value {
    document
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{OUR_SPEC} has nothing at {pointer} to mutate"))
}

/// Our spec (resolved, so each operation's schemas can be changed in place) with four mutations.
fn mutated_spec() -> (Value, Vec<ExpectedDifference>) {
    const COMPARE_RECORD: &str = "/paths/~1v1~1eval~1compare-record/post";
    const RESULTS: &str = "/paths/~1v1~1eval~1{id}~1results/get";
    const BATCHES: &str = "/paths/~1v1~1eval~1batches/get";
    let mut spec = resolve_refs(&our_spec());

    let record_id_type = format!(
        "{COMPARE_RECORD}/responses/200/content/application~1json/schema/properties/recordId/type"
    );
    *pointer_mut(&mut spec, &record_id_type) = json!("integer");

    let request_required =
        format!("{COMPARE_RECORD}/requestBody/content/application~1json/schema/required");
    pointer_mut(&mut spec, &request_required)
        .as_array_mut()
        .expect("the compare-record request schema lists its required fields")
        .retain(|field| field != "recordId");

    pointer_mut(&mut spec, &format!("{RESULTS}/responses"))
        .as_object_mut()
        .expect("get-eval-results has a responses map")
        .remove("404");

    pointer_mut(&mut spec, &format!("{BATCHES}/parameters"))
        .as_array_mut()
        .expect("list-batches has a parameter list")
        .push(json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}}));

    let expected = vec![
        (
            "POST /v1/eval/compare-record",
            "/responses/200/content/application~1json/schema/properties/recordId/type",
            DifferenceKind::Type,
        ),
        (
            "POST /v1/eval/compare-record",
            "/requestBody/content/application~1json/schema/required",
            DifferenceKind::Required,
        ),
        (
            "GET /v1/eval/{id}/results",
            "/responses/404",
            DifferenceKind::MissingStatus,
        ),
        (
            "GET /v1/eval/batches",
            "/parameters/query/cursor",
            DifferenceKind::ExtraParameter,
        ),
    ];
    (spec, expected)
}

/// Differences one per paragraph, for failure messages.
fn list_differences(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_comparison_catches_a_changed_type_a_dropped_required_field_and_a_missing_status() {
    let vendor = vendor_structure();
    let baseline: BTreeSet<Difference> = compare_documents(&vendor, &our_spec())
        .into_iter()
        .collect();
    let (mutated, expected) = mutated_spec();
    let new_differences: Vec<Difference> = compare_documents(&vendor, &mutated)
        .into_iter()
        .filter(|difference| !baseline.contains(difference))
        .collect();

    for (operation, pointer, kind) in &expected {
        let found = new_differences.iter().any(|difference| {
            difference.operation == *operation
                && difference.pointer == *pointer
                && difference.kind == *kind
        });
        assert!(
            found,
            "the mutation at {operation} {pointer} [{}] was not reported; new differences:\n{}",
            kind.as_str(),
            list_differences(&new_differences)
        );
    }
    assert_eq!(
        new_differences.len(),
        expected.len(),
        "four mutations should yield exactly four new differences:\n{}",
        list_differences(&new_differences)
    );
    let verdict = judge(&compare_documents(&vendor, &mutated), &allow_list());
    assert_eq!(verdict.unmatched_differences.len(), expected.len());
}

#[test]
fn an_allow_list_entry_that_matches_no_difference_is_reported_as_stale() {
    let differences = compare_documents(&vendor_structure(), &our_spec());
    let mut entries = allow_list();
    let stale = AllowEntry {
        operation: "GET /v1/eval/batches".into(),
        pointer: "/parameters/query/limit/schema/type".into(),
        kind: "type".into(),
        reason: "an entry that accepts nothing".into(),
    };
    entries.push(stale.clone());
    let verdict = judge(&differences, &entries);
    assert_eq!(verdict.stale_entries, vec![stale]);
    assert!(
        verdict
            .report(VENDOR_STRUCTURE)
            .contains("match no difference")
    );
}

#[test]
fn our_spec_matches_the_full_vendor_document() {
    // The checkout lives beside `shared/` (the contract checks of `.ci/run` need it too): a
    // missing vendor document is a broken set-up, not a reason to pass.
    let path = manifest_path(SHARED_VENDOR_DOCUMENT);
    assert!(
        path.is_file(),
        "{} is missing: clone evalmock beside `shared/` (it holds the vendor's documents); \
         without it only the prose-free copy {VENDOR_STRUCTURE} could be checked",
        path.display()
    );
    let full = load_json(SHARED_VENDOR_DOCUMENT);
    assert_matches_vendor(&full, SHARED_VENDOR_DOCUMENT);
    assert!(
        strip_vendor_prose(&full) == vendor_structure(),
        "{VENDOR_STRUCTURE} no longer equals {SHARED_VENDOR_DOCUMENT} without its prose; \
         regenerate it with `python3 tests/data/strip_vendor_prose.py`"
    );
}
