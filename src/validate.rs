//! Request and response validation against the lowered spec. Every check runs to the end and
//! reports all violations at once, each with a stable code, a dotted path, a message that says
//! what is wrong and a suggestion that says how to fix it. Nothing here panics on input.

use std::borrow::Cow;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use serde_json::{Map, Value};

use crate::spec::{BodyKind, CompiledSchema, MediaType, Operation, ParamLocation};

/// Stable, machine-readable violation codes, in Runtype's naming style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationCode {
    MissingRequiredField,
    InvalidEnum,
    InvalidType,
    UnknownField,
    InvalidValue,
    InvalidLength,
    OutOfRange,
    PatternMismatch,
    InvalidFormat,
    MalformedJson,
    /// A form, multipart or text body that cannot be read as its Content-Type says.
    MalformedBody,
    UnsupportedContentType,
    MissingBody,
    /// Two fields that exclude each other were both sent.
    ConflictingFields,
    MissingParameter,
    InvalidParameter,
    /// A response the mock was about to send breaks the spec.
    ResponseSchemaViolation,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::MissingRequiredField => "MISSING_REQUIRED_FIELD",
            ViolationCode::InvalidEnum => "INVALID_ENUM",
            ViolationCode::InvalidType => "INVALID_TYPE",
            ViolationCode::UnknownField => "UNKNOWN_FIELD",
            ViolationCode::InvalidValue => "INVALID_VALUE",
            ViolationCode::InvalidLength => "INVALID_LENGTH",
            ViolationCode::OutOfRange => "OUT_OF_RANGE",
            ViolationCode::PatternMismatch => "PATTERN_MISMATCH",
            ViolationCode::InvalidFormat => "INVALID_FORMAT",
            ViolationCode::MalformedJson => "MALFORMED_JSON",
            ViolationCode::MalformedBody => "MALFORMED_BODY",
            ViolationCode::UnsupportedContentType => "UNSUPPORTED_CONTENT_TYPE",
            ViolationCode::MissingBody => "MISSING_BODY",
            ViolationCode::ConflictingFields => "CONFLICTING_FIELDS",
            ViolationCode::MissingParameter => "MISSING_PARAMETER",
            ViolationCode::InvalidParameter => "INVALID_PARAMETER",
            ViolationCode::ResponseSchemaViolation => "RESPONSE_SCHEMA_VIOLATION",
        }
    }
}

/// One thing wrong with a request or a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub code: ViolationCode,
    /// Dotted JSON path of the offending field (`stepIds[0]`); parameters are prefixed with
    /// where they live (`query.limit`, `path.groupId`, `header.x-request-id`); empty for the
    /// body as a whole.
    pub path: String,
    pub message: String,
    pub suggestion: Option<String>,
    /// For schema violations: the keyword location in the spec that failed.
    pub schema_path: Option<String>,
}

/// What the pipeline needs from a request to validate it.
#[derive(Debug)]
pub struct RequestInput<'a> {
    pub path_params: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// A request that passed validation, with its parts decoded once for the handlers.
#[derive(Debug, Default)]
pub struct ValidRequest {
    /// The parsed JSON body, when the request had one.
    pub body: Option<Value>,
    /// Query parameters the operation declares, coerced to their schema types.
    pub query: Map<String, Value>,
    pub path_params: Vec<(String, String)>,
}

pub fn validate_request(
    operation: &Operation,
    input: &RequestInput<'_>,
) -> Result<ValidRequest, Vec<Violation>> {
    let mut violations = Vec::new();
    let sources = crate::decode::ParamSources::new(input.query, input.path_params, input.headers);
    let claimed: Vec<&str> = operation
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Query)
        .map(|p| p.name.as_str())
        .collect();
    let mut query = Map::new();
    for param in &operation.parameters {
        let prefix = param.location.to_string();
        let value = match crate::decode::parameter(param, &sources, &claimed) {
            Ok(Some(value)) => value,
            Ok(None) => {
                if param.required {
                    violations.push(Violation {
                        code: ViolationCode::MissingParameter,
                        path: format!("{prefix}.{}", param.name),
                        message: format!("the {prefix} parameter `{}` is required", param.name),
                        suggestion: Some(format!("Send `{}` in the {prefix}.", param.name)),
                        schema_path: None,
                    });
                }
                continue;
            }
            Err(why) => {
                violations.push(Violation {
                    code: ViolationCode::InvalidParameter,
                    path: format!("{prefix}.{}", param.name),
                    message: format!("the {prefix} parameter `{}` {why}", param.name),
                    suggestion: Some(format!(
                        "Write `{}` as its `style` ({:?}) says.",
                        param.name, param.style
                    )),
                    schema_path: None,
                });
                continue;
            }
        };
        if let Some(schema) = &param.schema {
            let subject = Subject {
                root: format!("the {prefix} parameter `{}`", param.name),
                prefix: format!("{prefix}.{}", param.name),
            };
            for mut v in violations_of(schema, &value, &subject) {
                if v.code != ViolationCode::InvalidEnum {
                    v.code = ViolationCode::InvalidParameter;
                }
                violations.push(v);
            }
        }
        if param.location == ParamLocation::Query {
            query.insert(param.name.clone(), value);
        }
    }
    let body = validate_body(operation, input, &mut violations);
    if violations.is_empty() {
        Ok(ValidRequest {
            body,
            query,
            path_params: input.path_params.to_vec(),
        })
    } else {
        Err(violations)
    }
}

fn validate_body(
    operation: &Operation,
    input: &RequestInput<'_>,
    violations: &mut Vec<Violation>,
) -> Option<Value> {
    let declared = operation.request_body.as_ref()?;
    let content_type = input
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let media = content_type.and_then(|ct| match_media_type(&declared.content, ct));
    // An empty text or form body is a value (`""`, `{}`) when its Content-Type says so.
    let typed_non_json = media.is_some_and(|m| matches!(m.kind, BodyKind::Text | BodyKind::Form));
    let body_is_empty = input.body.iter().all(u8::is_ascii_whitespace);
    if body_is_empty && !typed_non_json {
        // An absent body cannot satisfy a schema with required fields, whatever `required` says.
        let needs_body = declared.required
            || declared
                .content
                .iter()
                .any(|m| m.schema.is_some() && schema_requires_fields(m));
        if needs_body {
            violations.push(Violation {
                code: ViolationCode::MissingBody,
                path: String::new(),
                message: "the request body is required".into(),
                suggestion: Some(format!(
                    "Send a body of type {}.",
                    declared_media_list(&declared.content)
                )),
                schema_path: None,
            });
        }
        return None;
    }
    let Some(media) = media else {
        violations.push(Violation {
            code: ViolationCode::UnsupportedContentType,
            path: String::new(),
            message: match content_type {
                Some(ct) => format!("the Content-Type {ct:?} is not accepted by this operation"),
                None => "the request has a body but no Content-Type header".into(),
            },
            suggestion: Some(format!(
                "Send the header `Content-Type: {}`.",
                declared
                    .content
                    .first()
                    .map(|m| m.media_type.as_str())
                    .unwrap_or("application/json")
            )),
            schema_path: None,
        });
        return None;
    };
    let content_type = content_type.unwrap_or_default();
    let body: Value = match BodyKind::of(content_type) {
        BodyKind::Json => json_body(input.body, violations)?,
        BodyKind::Form => crate::decode::form_body(input.body, &media.fields),
        BodyKind::Multipart => {
            match crate::decode::multipart_body(input.body, content_type, &media.fields) {
                Ok(body) => body,
                Err(why) => {
                    violations.push(Violation {
                        code: ViolationCode::MalformedBody,
                        path: String::new(),
                        message: format!("the body is not valid multipart/form-data: {why}"),
                        suggestion: Some(
                            "Send parts separated by the boundary named in the Content-Type, the last one closed with `--boundary--`.".into(),
                        ),
                        schema_path: None,
                    });
                    return None;
                }
            }
        }
        BodyKind::Text => match std::str::from_utf8(input.body) {
            Ok(text) => Value::String(text.to_string()),
            Err(_) => {
                violations.push(Violation {
                    code: ViolationCode::MalformedBody,
                    path: String::new(),
                    message: "the text body is not valid UTF-8".into(),
                    suggestion: Some("Send the text encoded as UTF-8.".into()),
                    schema_path: None,
                });
                return None;
            }
        },
        // XML, binary: accepted as sent (a load warning says so when a schema is declared).
        BodyKind::Other => return None,
    };
    if let Some(schema) = &media.schema {
        violations.extend(schema_violations(schema, &body));
    }
    Some(body)
}

/// The body parsed as JSON; `None` (with a violation) when it is not JSON.
fn json_body(raw: &[u8], violations: &mut Vec<Violation>) -> Option<Value> {
    match serde_json::from_slice(raw) {
        Ok(body) => Some(body),
        Err(e) => {
            violations.push(Violation {
                code: ViolationCode::MalformedJson,
                path: String::new(),
                message: format!("the body is not valid JSON: {e}"),
                suggestion: Some("Check quotes, commas and brackets near that position.".into()),
                schema_path: None,
            });
            None
        }
    }
}

fn schema_requires_fields(media: &MediaType) -> bool {
    media
        .schema
        .as_ref()
        .is_some_and(|schema| !schema.is_valid(&Value::Object(Map::new())))
}

fn declared_media_list(content: &[MediaType]) -> String {
    let names: Vec<&str> = content.iter().map(|m| m.media_type.as_str()).collect();
    if names.is_empty() {
        "JSON".into()
    } else {
        names.join(" or ")
    }
}

/// The declared media type a request's `Content-Type` matches: exact, `type/*` or `*/*`.
pub fn match_media_type<'a>(
    declared: &'a [MediaType],
    content_type: &str,
) -> Option<&'a MediaType> {
    let essence = media_essence(content_type);
    let (kind, _) = essence.split_once('/')?;
    declared
        .iter()
        .find(|m| m.media_type == essence)
        .or_else(|| {
            declared.iter().find(|m| {
                m.media_type
                    .strip_suffix("/*")
                    .is_some_and(|declared_kind| declared_kind == kind)
            })
        })
        .or_else(|| declared.iter().find(|m| m.media_type == "*/*"))
}

/// `application/json; charset=utf-8` -> `application/json`.
pub fn media_essence(content_type: &str) -> Cow<'_, str> {
    // A byte loop, not `split(';')`: the value is a few bytes long and asked for several
    // times per request, and the library's search is made for long haystacks.
    let end = content_type
        .bytes()
        .position(|b| b == b';')
        .unwrap_or(content_type.len());
    let essence = content_type[..end].trim();
    // Usually lowercase already: no copy then (every request with a body asks).
    if essence.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(essence.to_ascii_lowercase())
    } else {
        Cow::Borrowed(essence)
    }
}

pub fn is_json_media(content_type: &str) -> bool {
    let essence = media_essence(content_type);
    essence == "application/json" || essence.ends_with("+json")
}

/// How messages name the validated value and its fields.
struct Subject {
    /// The value as a whole: `the body`, ``the query parameter `limit` ``.
    root: String,
    /// Prefix of every reported path (empty for the body).
    prefix: String,
}

/// Validates a body (or any JSON value) against a compiled schema: one [`Violation`] per
/// failure, with paths relative to the value.
pub fn schema_violations(schema: &CompiledSchema, instance: &Value) -> Vec<Violation> {
    let body = Subject {
        root: "the body".into(),
        prefix: String::new(),
    };
    violations_of(schema, instance, &body)
}

fn violations_of(schema: &CompiledSchema, instance: &Value, subject: &Subject) -> Vec<Violation> {
    // The common case is a valid value: `is_valid` short-circuits and builds no error paths,
    // which makes it several times cheaper than collecting errors that turn out to be none.
    if schema.is_valid(instance) {
        return Vec::new();
    }
    schema
        .validator()
        .iter_errors(instance)
        .flat_map(|error| violations_from_error(&error, subject))
        .collect()
}

fn violations_from_error(error: &ValidationError<'_>, subject: &Subject) -> Vec<Violation> {
    let path = join_path(&subject.prefix, &dotted_path(error.instance_path()));
    let schema_path = Some(error.schema_path().as_str().to_string());
    let at = |path: &str| {
        if path == subject.prefix {
            subject.root.clone()
        } else {
            format!("`{path}`")
        }
    };
    let one = |code, path: String, message: String, suggestion: Option<String>| {
        vec![Violation {
            code,
            path,
            message,
            suggestion,
            schema_path: schema_path.clone(),
        }]
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            let field = join_path(&path, &name);
            one(
                ViolationCode::MissingRequiredField,
                field.clone(),
                format!("`{field}` is required"),
                Some(format!(
                    "Add `{name}` to {}.",
                    if path.is_empty() {
                        "the body".into()
                    } else {
                        format!("`{path}`")
                    }
                )),
            )
        }
        ValidationErrorKind::Type { kind } => {
            let expected = type_kind_name(kind);
            one(
                ViolationCode::InvalidType,
                path.clone(),
                format!(
                    "{} must be {expected}, got {}",
                    at(&path),
                    article(json_type(error.instance()))
                ),
                Some(format!("Send {} as {expected}.", at(&path))),
            )
        }
        ValidationErrorKind::Enum { options } => {
            let allowed = list_values(options);
            one(
                ViolationCode::InvalidEnum,
                path.clone(),
                format!(
                    "{} must be one of {allowed}, got {}",
                    at(&path),
                    error.instance()
                ),
                Some(format!("Use one of {allowed}.")),
            )
        }
        ValidationErrorKind::Constant { expected_value } => one(
            ViolationCode::InvalidValue,
            path.clone(),
            format!("{} must be {expected_value}", at(&path)),
            Some(format!("Use {expected_value}.")),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let field = join_path(&path, name);
                Violation {
                    code: ViolationCode::UnknownField,
                    path: field.clone(),
                    message: format!("`{field}` is not a known field"),
                    suggestion: Some(format!("Remove `{name}` or check its spelling.")),
                    schema_path: schema_path.clone(),
                }
            })
            .collect(),
        ValidationErrorKind::MinLength { limit } => {
            length(one, &path, &at(&path), "at least", *limit, "characters")
        }
        ValidationErrorKind::MaxLength { limit } => {
            length(one, &path, &at(&path), "at most", *limit, "characters")
        }
        ValidationErrorKind::MinItems { limit } => {
            length(one, &path, &at(&path), "at least", *limit, "items")
        }
        ValidationErrorKind::MaxItems { limit } => {
            length(one, &path, &at(&path), "at most", *limit, "items")
        }
        ValidationErrorKind::MinProperties { limit } => {
            length(one, &path, &at(&path), "at least", *limit, "fields")
        }
        ValidationErrorKind::MaxProperties { limit } => {
            length(one, &path, &at(&path), "at most", *limit, "fields")
        }
        ValidationErrorKind::Minimum { limit } => range(one, &path, &at(&path), ">=", limit),
        ValidationErrorKind::Maximum { limit } => range(one, &path, &at(&path), "<=", limit),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            range(one, &path, &at(&path), ">", limit)
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            range(one, &path, &at(&path), "<", limit)
        }
        ValidationErrorKind::Pattern { pattern } => one(
            ViolationCode::PatternMismatch,
            path.clone(),
            format!("{} does not match the pattern {pattern:?}", at(&path)),
            Some(format!("Send a value matching {pattern:?}.")),
        ),
        ValidationErrorKind::Format { format } => one(
            ViolationCode::InvalidFormat,
            path.clone(),
            format!("{} is not a valid {format}", at(&path)),
            Some(format!("Send a valid {format} value.")),
        ),
        // `not: {required: [a, b]}` is how a spec says two fields exclude each other.
        ValidationErrorKind::Not { schema } if excluded_pair(schema).is_some() => {
            let (a, b) = excluded_pair(schema).unwrap_or_default();
            one(
                ViolationCode::ConflictingFields,
                join_path(&path, &b),
                format!("`{a}` and `{b}` cannot be sent together"),
                Some(format!("Send either `{a}` or `{b}`.")),
            )
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            alternatives(context, subject, &path, &at(&path)).unwrap_or_else(|| {
                one(
                    ViolationCode::InvalidValue,
                    path.clone(),
                    format!("{} matches none of the allowed shapes", at(&path)),
                    None,
                )
            })
        }
        _ => one(
            ViolationCode::InvalidValue,
            path.clone(),
            format!("{} is invalid: {error}", at(&path)),
            None,
        ),
    }
}

/// The two fields of a `not: {required: [a, b]}` schema (and nothing else), if it is one.
fn excluded_pair(schema: &Value) -> Option<(String, String)> {
    let object = schema.as_object().filter(|o| o.len() == 1)?;
    match object.get("required")?.as_array()?.as_slice() {
        [a, b] => Some((a.as_str()?.to_string(), b.as_str()?.to_string())),
        _ => None,
    }
}

/// When no alternative of an `anyOf`/`oneOf` matches: if each one only misses a required field
/// (`anyOf: [{required: [record]}, {required: [messages]}]`), one violation naming them all;
/// otherwise the violations of the alternative that came closest (fewest errors).
fn alternatives(
    context: &[Vec<ValidationError<'static>>],
    subject: &Subject,
    path: &str,
    at: &str,
) -> Option<Vec<Violation>> {
    let missing: Option<Vec<String>> = context
        .iter()
        .map(|errors| match errors.as_slice() {
            [only] => match only.kind() {
                ValidationErrorKind::Required { property } => {
                    property.as_str().map(|p| format!("`{p}`"))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(names) = missing.filter(|n| n.len() > 1) {
        let (last, rest) = names.split_last()?;
        let listed = format!("{} or {last}", rest.join(", "));
        return Some(vec![Violation {
            code: ViolationCode::MissingRequiredField,
            path: path.to_string(),
            message: format!("{at} needs one of {listed}"),
            suggestion: Some(format!("Add {listed}.")),
            schema_path: None,
        }]);
    }
    // A union told apart by `type` (stream events): the alternatives whose `type` does not
    // match are not the one the value meant, however few their other errors.
    let wrong_variant = |errors: &Vec<ValidationError<'static>>| {
        errors.iter().any(|e| {
            matches!(
                e.kind(),
                ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
            ) && e.instance_path().as_str().ends_with("/type")
        })
    };
    let meant: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errors| !errors.is_empty() && !wrong_variant(errors))
        .collect();
    let closest = if meant.is_empty() {
        context
            .iter()
            .filter(|errors| !errors.is_empty())
            .min_by_key(|errors| errors.len())?
    } else {
        meant.into_iter().min_by_key(|errors| errors.len())?
    };
    Some(
        closest
            .iter()
            .flat_map(|e| violations_from_error(e, subject))
            .collect(),
    )
}

fn length(
    one: impl Fn(ViolationCode, String, String, Option<String>) -> Vec<Violation>,
    path: &str,
    at: &str,
    bound: &str,
    limit: u64,
    unit: &str,
) -> Vec<Violation> {
    let unit = if limit == 1 {
        unit.trim_end_matches('s')
    } else {
        unit
    };
    one(
        ViolationCode::InvalidLength,
        path.to_string(),
        format!("{at} must have {bound} {limit} {unit}"),
        Some(format!("Send {bound} {limit} {unit}.")),
    )
}

fn range(
    one: impl Fn(ViolationCode, String, String, Option<String>) -> Vec<Violation>,
    path: &str,
    at: &str,
    op: &str,
    limit: &Value,
) -> Vec<Violation> {
    one(
        ViolationCode::OutOfRange,
        path.to_string(),
        format!("{at} must be {op} {limit}"),
        Some(format!("Send a value {op} {limit}.")),
    )
}

/// `/stepIds/0/name` -> `stepIds[0].name`.
pub fn dotted_path(location: &Location) -> String {
    let mut out = String::new();
    for segment in location.iter() {
        match segment {
            LocationSegment::Property(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&name);
            }
            LocationSegment::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn join_path(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => parent.to_string(),
        _ if child.starts_with('[') => format!("{parent}{child}"),
        _ => format!("{parent}.{child}"),
    }
}

fn type_kind_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
            names.join(" or ")
        }
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "array" | "object" | "integer" => format!("an {type_name}"),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

/// The JSON Schema type of a value (`integer` for whole numbers).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn list_values(options: &Value) -> String {
    match options.as_array() {
        Some(values) => values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        None => options.to_string(),
    }
}
