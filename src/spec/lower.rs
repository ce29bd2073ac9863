//! The document lowered into plain structs: one [`Operation`] per (method, path) with its
//! parameters, request body, responses and security resolved and every schema compiled. The
//! request pipeline reads only these, never the raw document.

use http::Method;
use serde_json::{Map, Value};

use super::direction::{Direction, strip_write_only};
use super::normalize::escape_pointer_token as escape;
use super::normalize::{escape_pointer_token, resolve_refs_at};
use super::schema::{CompiledSchema, SchemaCompiler};
use super::{OpenApiVersion, SpecError, SpecWarning};

#[derive(Debug)]
pub struct Operation {
    pub method: Method,
    pub path_template: String,
    pub operation_id: Option<String>,
    /// The operationId, else `METHOD /path`: how the journal, the log line and the admin API
    /// name the operation. Built once here so no request formats it.
    pub name: std::sync::Arc<str>,
    /// JSON pointer of the operation object.
    pub pointer: String,
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    /// In the document's order.
    pub responses: Vec<Response>,
    /// Alternatives: any one requirement satisfied is enough; empty means no authentication.
    pub security: Vec<SecurityRequirement>,
    /// JSON pointer of the `servers` list of the operation, else of its path item, where one
    /// is declared (read by `servers`; found here, where both objects are in hand).
    pub servers_pointer: Option<String>,
}

impl Operation {
    /// `POST /v1/eval/compare-record`: how the operation is named in messages and logs.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.method, self.path_template)
    }

    /// The response declared for `status`: an exact code first, then its `NXX` range, then `default`.
    pub fn response(&self, status: u16) -> Option<&Response> {
        let find = |key: StatusKey| self.responses.iter().find(|r| r.status == key);
        find(StatusKey::Exact(status))
            .or_else(|| find(StatusKey::Range((status / 100) as u8)))
            .or_else(|| find(StatusKey::Default))
    }

    /// The declared status keys as written in the document (`200`, `4XX`, `default`).
    pub fn declared_statuses(&self) -> Vec<String> {
        self.responses
            .iter()
            .map(|r| r.status.to_string())
            .collect()
    }

    /// The status of the mock's usual answer, chosen as Prism does so mock users get what
    /// they expect: the lowest declared 2xx, else the lowest 3xx, else `default` (sent as
    /// 200), else the lowest declared status. A range (`2XX`) counts as its lowest code. An
    /// operation that declares nothing gets 200, which it does not declare: the engine answers
    /// that with its own marked problem.
    pub fn success_status(&self) -> u16 {
        let lowest_in = |class: u16| {
            self.responses
                .iter()
                .filter_map(|r| r.status.lowest_code())
                .filter(|code| code / 100 == class)
                .min()
        };
        lowest_in(2)
            .or_else(|| lowest_in(3))
            .or_else(|| {
                self.responses
                    .iter()
                    .any(|r| r.status == StatusKey::Default)
                    .then_some(200)
            })
            .or_else(|| {
                self.responses
                    .iter()
                    .filter_map(|r| r.status.lowest_code())
                    .min()
            })
            .unwrap_or(200)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKey {
    Exact(u16),
    /// `4XX` is `Range(4)`.
    Range(u8),
    Default,
}

impl StatusKey {
    /// The lowest status code the key stands for (`4XX`: 400); `None` for `default`.
    pub fn lowest_code(self) -> Option<u16> {
        match self {
            StatusKey::Exact(code) => Some(code),
            StatusKey::Range(class) => Some(u16::from(class) * 100),
            StatusKey::Default => None,
        }
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusKey::Exact(code) => write!(f, "{code}"),
            StatusKey::Range(class) => write!(f, "{class}XX"),
            StatusKey::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl std::fmt::Display for ParamLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        })
    }
}

#[derive(Debug)]
pub struct Parameter {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    pub schema: Option<CompiledSchema>,
    /// The JSON types the schema admits at its top level (for coercing query strings).
    pub types: Vec<String>,
    /// For arrays: the item types, so `?ids=a,b` or `?ids=a&ids=b` can be coerced.
    pub item_types: Vec<String>,
    /// For objects: each declared property's types, so `?color[R]=100` becomes a number.
    pub property_types: Vec<(String, Vec<String>)>,
    /// How the value is serialised (`style`), with the location's default when not written.
    pub style: ParamStyle,
    /// `explode`, with the style's default (true for `form`) when not written.
    pub explode: bool,
    /// Declared with `content` (not `schema`): the raw value is JSON text.
    pub json_content: bool,
}

/// The OpenAPI parameter `style`s: how an array or object is written in a path, query,
/// header or cookie. Only the decoding in `validate` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `;id=5` (path).
    Matrix,
    /// `.5` (path).
    Label,
    /// `3,4,5` (path and header default).
    Simple,
    /// `id=3&id=4` or `id=3,4` (query and cookie default).
    Form,
    /// `id=3%204` (query).
    SpaceDelimited,
    /// `id=3|4` (query).
    PipeDelimited,
    /// `color[R]=100` (query objects).
    DeepObject,
}

impl ParamStyle {
    fn parse(style: &str) -> Option<ParamStyle> {
        Some(match style {
            "matrix" => ParamStyle::Matrix,
            "label" => ParamStyle::Label,
            "simple" => ParamStyle::Simple,
            "form" => ParamStyle::Form,
            "spaceDelimited" => ParamStyle::SpaceDelimited,
            "pipeDelimited" => ParamStyle::PipeDelimited,
            "deepObject" => ParamStyle::DeepObject,
            _ => return None,
        })
    }
}

impl Parameter {
    /// A `{name}` in a path template that `parameters` does not declare: read as a required
    /// string, unchecked.
    fn undeclared_path(name: &str) -> Parameter {
        Parameter {
            name: name.to_string(),
            location: ParamLocation::Path,
            required: true,
            schema: None,
            types: vec!["string".into()],
            item_types: Vec::new(),
            property_types: Vec::new(),
            style: ParamStyle::Simple,
            explode: false,
            json_content: false,
        }
    }
}

#[derive(Debug)]
pub struct RequestBody {
    pub required: bool,
    pub content: Vec<MediaType>,
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusKey,
    pub description: String,
    pub content: Vec<MediaType>,
}

#[derive(Debug)]
pub struct MediaType {
    /// As declared: `application/json`, `text/event-stream`, `application/*`, `*/*`.
    pub media_type: String,
    /// What kind of body `media_type` is, found once at load (every request body asks).
    pub kind: BodyKind,
    pub schema: Option<CompiledSchema>,
    /// The schema of each item's payload in a sequential stream (for SSE: the JSON in an
    /// event's `data`). OpenAPI 3.2 puts `itemSchema` on the event (`{data, event, id, retry}`)
    /// with the payload as `data`'s `contentSchema`; the vendor's document puts the payload
    /// schema directly as `itemSchema`. Both are read here, so either validates correctly.
    pub item_schema: Option<CompiledSchema>,
    /// In the OpenAPI 3.2 form, the schema of the event itself (`data` as a string).
    pub item_envelope: Option<CompiledSchema>,
    pub examples: Vec<NamedExample>,
    /// For form and multipart bodies: the declared fields, to decode the body into an object.
    pub fields: Vec<BodyField>,
}

/// One declared field of a form or multipart body.
#[derive(Debug, Clone)]
pub struct BodyField {
    pub name: String,
    /// The property's JSON types, to coerce the field's text (`"3"` to 3).
    pub types: Vec<String>,
    pub item_types: Vec<String>,
    /// `encoding.<field>.explode: false`: an array is sent as one comma-separated value.
    pub comma_separated: bool,
    /// `encoding.<field>.contentType` is JSON: the field's text is parsed as JSON.
    pub json: bool,
}

/// How a request body of a media type is read to be validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`, `*+json`.
    Json,
    /// `application/x-www-form-urlencoded`: an object of fields.
    Form,
    /// `multipart/form-data`: an object of fields and files.
    Multipart,
    /// `text/*`: the body is one string.
    Text,
    /// XML, binary and the rest: nothing a JSON Schema can check; accepted as sent.
    Other,
}

impl BodyKind {
    /// The kind of a media type or `Content-Type` value (parameters ignored).
    pub fn of(media_type: &str) -> BodyKind {
        let essence = crate::validate::media_essence(media_type);
        match essence.as_ref() {
            "application/json" => BodyKind::Json,
            e if e.ends_with("+json") => BodyKind::Json,
            "application/x-www-form-urlencoded" => BodyKind::Form,
            "multipart/form-data" => BodyKind::Multipart,
            e if e.starts_with("text/") && e != "text/xml" => BodyKind::Text,
            _ => BodyKind::Other,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NamedExample {
    pub name: String,
    pub value: Value,
}

impl NamedExample {
    /// Where the example's value sits under its media type object (`example` for the single
    /// one, read under the name `default`), for warnings.
    fn pointer_suffix(&self) -> String {
        if self.name == "default" {
            "example".into()
        } else {
            format!("examples/{}/value", escape_pointer_token(&self.name))
        }
    }
}

#[derive(Debug, Clone)]
pub struct SecurityRequirement {
    /// All of these must be satisfied together.
    pub schemes: Vec<SecurityScheme>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `http` + `bearer`, and also `oauth2` / `openIdConnect`, which send bearer tokens too.
    Bearer {
        name: String,
    },
    Basic {
        name: String,
    },
    /// `http` with another IANA scheme (`Digest`, `HOBA`, `Negotiate`, ...): the request must
    /// send `Authorization: <scheme> <credentials>`; what the credentials prove a mock cannot
    /// check (a digest needs the server's nonce), so any non-empty value is accepted.
    Http {
        name: String,
        /// As the document spells it, e.g. `Digest`.
        scheme: String,
    },
    ApiKey {
        name: String,
        location: ParamLocation,
        parameter: String,
    },
}

impl SecurityScheme {
    pub fn name(&self) -> &str {
        match self {
            SecurityScheme::Bearer { name }
            | SecurityScheme::Basic { name }
            | SecurityScheme::Http { name, .. }
            | SecurityScheme::ApiKey { name, .. } => name,
        }
    }
}

pub struct Lowered {
    pub title: String,
    pub operations: Vec<Operation>,
    /// What was served in a degraded way (possibly repeated: a global requirement is lowered
    /// once per operation).
    pub warnings: Vec<SpecWarning>,
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

struct Lowering<'a> {
    document: &'a Value,
    compiler: &'a SchemaCompiler<'a>,
    origin: &'a str,
    version: OpenApiVersion,
    warnings: std::cell::RefCell<Vec<SpecWarning>>,
}

/// Path items below which lowering stays on the calling thread: a second thread and its own
/// compiler cost more than they save on a small document.
const PARALLEL_PATHS: usize = 512;

/// Lowers every operation of the document. A large document's path items are lowered in
/// contiguous shares, one per core, each with its own compiler from `new_compiler` (a shared
/// one was tried: its cache's lock and validator reference counts bounced between the cores
/// and made it slower than one thread). The shares are joined in document order, so the
/// operations, their warnings and the first error are those of a sequential pass.
pub fn lower<'doc>(
    document: &'doc Value,
    new_compiler: &(dyn Fn() -> Result<SchemaCompiler<'doc>, SpecError> + Sync),
    origin: &str,
    version: OpenApiVersion,
) -> Result<Lowered, SpecError> {
    let invalid = |pointer: &str, message: &str| SpecError::Invalid {
        origin: origin.to_string(),
        pointer: pointer.to_string(),
        message: message.to_string(),
    };
    let title = super::pointer::get(document, "/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API")
        .to_string();
    let global_security = document.get("security");
    let paths: Vec<(&String, &Value)> = match document.get("paths") {
        None => Vec::new(),
        Some(Value::Object(paths)) => paths.iter().collect(),
        Some(_) => return Err(invalid("/paths", "`paths` must be an object")),
    };
    let shares = if paths.len() < PARALLEL_PATHS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let shares: Vec<&[(&String, &Value)]> =
        paths.chunks(paths.len().div_ceil(shares).max(1)).collect();
    let lowered = crate::parallel::map(&shares, |share| {
        let compiler = new_compiler()?;
        let cx = Lowering {
            document,
            compiler: &compiler,
            origin,
            version,
            warnings: std::cell::RefCell::new(Vec::new()),
        };
        let mut operations = Vec::new();
        for (path, item) in share.iter() {
            cx.path_item(path, item, global_security, &mut operations)?;
        }
        Ok((operations, cx.warnings.into_inner()))
    });
    let mut operations = Vec::with_capacity(paths.len());
    let mut warnings = Vec::new();
    for share in lowered {
        let (share_operations, share_warnings) = share?;
        operations.extend(share_operations);
        warnings.extend(share_warnings);
    }
    Ok(Lowered {
        title,
        operations,
        warnings,
    })
}

impl Lowering<'_> {
    /// The operations of one path item, appended to `operations` in method order.
    fn path_item(
        &self,
        path: &str,
        item: &Value,
        global_security: Option<&Value>,
        operations: &mut Vec<Operation>,
    ) -> Result<(), SpecError> {
        let item_pointer = format!("/paths/{}", escape_pointer_token(path));
        if !path.starts_with('/') {
            return Err(self.invalid(&item_pointer, "a path must start with `/`"));
        }
        let (item, item_pointer) = resolve_refs_at(self.document, item, item_pointer);
        let Some(item) = item.as_object() else {
            return Err(self.invalid(&item_pointer, "a path item must be an object"));
        };
        let mut methods: Vec<(String, &Value, String)> = METHODS
            .iter()
            .filter_map(|m| {
                item.get(*m)
                    .map(|op| (m.to_uppercase(), op, format!("{item_pointer}/{m}")))
            })
            .collect();
        if let Some(extra) = item.get("additionalOperations").and_then(Value::as_object) {
            for (method, op) in extra {
                let pointer = format!(
                    "{item_pointer}/additionalOperations/{}",
                    escape_pointer_token(method)
                );
                methods.push((method.clone(), op, pointer));
            }
        }
        for (method, op, op_pointer) in methods {
            let method = Method::from_bytes(method.as_bytes())
                .map_err(|_| self.invalid(&op_pointer, "not a valid HTTP method name"))?;
            operations.push(self.operation(
                path,
                method,
                item,
                &item_pointer,
                op,
                &op_pointer,
                global_security,
            )?);
        }
        Ok(())
    }

    fn warn(&self, pointer: &str, message: impl Into<String>) {
        self.warnings
            .borrow_mut()
            .push(SpecWarning::new(pointer, message));
    }

    /// The schema at `pointer`, compiled against the copy of the document for `direction`;
    /// one the validator refuses is replaced by a schema that accepts everything (with a
    /// warning), so the rest of the document is served.
    fn compile_for(
        &self,
        pointer: &str,
        direction: Direction,
    ) -> Result<CompiledSchema, SpecError> {
        self.compile_at(pointer, None, direction)
    }

    /// [`Lowering::compile_for`] given the schema at `pointer`, when the caller holds it.
    fn compile_at(
        &self,
        pointer: &str,
        node: Option<&Value>,
        direction: Direction,
    ) -> Result<CompiledSchema, SpecError> {
        match self.compiler.compile_at(pointer, node, direction) {
            Ok(schema) => Ok(schema),
            Err(error) => {
                let why = match error {
                    SpecError::Invalid { message, .. } | SpecError::Syntax { message, .. } => {
                        message
                    }
                };
                self.warn(pointer, format!("{why}; values here are not checked"));
                let mut schema = self.compiler.accept_all(pointer)?;
                schema.direction = direction;
                Ok(schema)
            }
        }
    }

    fn invalid(&self, pointer: &str, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            origin: self.origin.to_string(),
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        path: &str,
        method: Method,
        item: &Map<String, Value>,
        item_pointer: &str,
        op: &Value,
        op_pointer: &str,
        global_security: Option<&Value>,
    ) -> Result<Operation, SpecError> {
        let Some(op_map) = op.as_object() else {
            return Err(self.invalid(op_pointer, "an operation must be an object"));
        };
        // Operation-level parameters override path-level ones with the same name and location.
        let mut parameters: Vec<Parameter> = Vec::new();
        let lists = [
            (item.get("parameters"), format!("{item_pointer}/parameters")),
            (op_map.get("parameters"), format!("{op_pointer}/parameters")),
        ];
        for (list, list_pointer) in lists {
            let Some(list) = list else { continue };
            let Some(list) = list.as_array() else {
                return Err(self.invalid(&list_pointer, "`parameters` must be an array"));
            };
            for (index, param) in list.iter().enumerate() {
                let param = self.parameter(param, format!("{list_pointer}/{index}"))?;
                parameters.retain(|p| !(p.name == param.name && p.location == param.location));
                parameters.push(param);
            }
        }
        for name in template_parameters(path) {
            if !parameters
                .iter()
                .any(|p| p.location == ParamLocation::Path && p.name == name)
            {
                self.warn(
                    op_pointer,
                    format!("path parameter `{name}` of {path} is not declared in `parameters`; it is read as a required string"),
                );
                parameters.push(Parameter::undeclared_path(name));
            }
        }
        let request_body = match op_map.get("requestBody") {
            None => None,
            Some(body) => Some(self.request_body(body, format!("{op_pointer}/requestBody"))?),
        };
        let responses =
            self.responses(op_map.get("responses"), &format!("{op_pointer}/responses"))?;
        let security = match op_map.get("security") {
            Some(s) => self.security(s, &format!("{op_pointer}/security"))?,
            None => match global_security {
                Some(s) => self.security(s, "/security")?,
                None => Vec::new(),
            },
        };
        let operation_id = op_map
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let name = match &operation_id {
            Some(id) => id.as_str().into(),
            None => format!("{method} {path}").into(),
        };
        let servers_pointer = if op_map.contains_key("servers") {
            Some(format!("{op_pointer}/servers"))
        } else if item.contains_key("servers") {
            Some(format!("{item_pointer}/servers"))
        } else {
            None
        };
        Ok(Operation {
            method,
            path_template: path.to_string(),
            operation_id,
            name,
            pointer: op_pointer.to_string(),
            parameters,
            request_body,
            responses,
            security,
            servers_pointer,
        })
    }

    fn parameter(&self, param: &Value, pointer: String) -> Result<Parameter, SpecError> {
        let (param, pointer) = resolve_refs_at(self.document, param, pointer);
        let field = |name: &str| param.get(name).and_then(Value::as_str);
        let name = field("name")
            .ok_or_else(|| self.invalid(&pointer, "a parameter needs a `name`"))?
            .to_string();
        let location = match field("in") {
            Some("path") => ParamLocation::Path,
            Some("query") | Some("querystring") => ParamLocation::Query,
            Some("header") => ParamLocation::Header,
            Some("cookie") => ParamLocation::Cookie,
            other => {
                return Err(self.invalid(
                    &format!("{pointer}/in"),
                    format!("`in` must be path, query, header or cookie, found {other:?}"),
                ));
            }
        };
        let required = location == ParamLocation::Path
            || param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        // A parameter has either `schema` or a one-entry `content` map.
        let schema_at = match param.get("schema") {
            Some(schema) => Some((format!("{pointer}/schema"), schema)),
            None => param
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.iter().next())
                .and_then(|(media, holder)| {
                    let schema = holder.get("schema")?;
                    let at = format!("{pointer}/content/{}/schema", escape_pointer_token(media));
                    Some((at, schema))
                }),
        };
        let json_content = param.get("schema").is_none() && param.get("content").is_some();
        let resolve = |v| crate::spec::normalize::resolve_refs(self.document, v);
        let (schema, types, item_types, property_types) = match schema_at {
            Some((p, node)) => {
                let resolved = resolve(node);
                let types = schema_types(resolved);
                let item_types = resolved
                    .get("items")
                    .map(|items| schema_types(resolve(items)))
                    .unwrap_or_default();
                let property_types = resolved
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(name, schema)| (name.clone(), schema_types(resolve(schema))))
                    .collect();
                let compiled = self.compile_at(&p, Some(node), Direction::Any)?;
                (Some(compiled), types, item_types, property_types)
            }
            None => (None, Vec::new(), Vec::new(), Vec::new()),
        };
        let default_style = match location {
            ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
            ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
        };
        let style = match field("style") {
            None => default_style,
            Some(written) => ParamStyle::parse(written).unwrap_or_else(|| {
                self.warn(
                    &format!("{pointer}/style"),
                    format!(
                        "`style: {written}` is not an OpenAPI style; the {location} default is used"
                    ),
                );
                default_style
            }),
        };
        let explode = param
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style == ParamStyle::Form);
        Ok(Parameter {
            name,
            location,
            required,
            schema,
            types,
            item_types,
            property_types,
            style,
            explode,
            json_content,
        })
    }

    fn resolved_schema(&self, pointer: &str) -> &Value {
        let value = super::pointer::get(self.document, pointer).unwrap_or(&Value::Null);
        crate::spec::normalize::resolve_refs(self.document, value)
    }

    fn request_body(&self, body: &Value, pointer: String) -> Result<RequestBody, SpecError> {
        let (body, pointer) = resolve_refs_at(self.document, body, pointer);
        let content = self.content(body, &pointer, Direction::Request)?;
        for media in &content {
            if media.schema.is_some() && BodyKind::of(&media.media_type) == BodyKind::Other {
                self.warn(
                    &format!("{pointer}/content/{}/schema", escape(&media.media_type)),
                    format!("{} request bodies cannot be checked against a schema; they are accepted as sent", media.media_type),
                );
            }
        }
        Ok(RequestBody {
            required: body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            content,
        })
    }

    fn responses(
        &self,
        responses: Option<&Value>,
        pointer: &str,
    ) -> Result<Vec<Response>, SpecError> {
        let responses = match responses {
            // Optional since OpenAPI 3.1; a 3.0 document should have it, but lacking it does
            // not stop the rest from being served.
            None if self.version != OpenApiVersion::V3_0 => return Ok(Vec::new()),
            None => {
                self.warn(
                    pointer,
                    "an OpenAPI 3.0 operation needs `responses`; it declares none, so the mock answers it with its own marked problem",
                );
                return Ok(Vec::new());
            }
            Some(Value::Object(responses)) => responses,
            Some(_) => return Err(self.invalid(pointer, "`responses` must be an object")),
        };
        let mut lowered = Vec::with_capacity(responses.len());
        for (key, response) in responses {
            let response_pointer = format!("{pointer}/{}", escape_pointer_token(key));
            let status = parse_status_key(key).ok_or_else(|| {
                self.invalid(
                    &response_pointer,
                    format!(
                        "`{key}` is not a status code (100-599), a range such as 4XX, or `default`"
                    ),
                )
            })?;
            let (response, response_pointer) =
                resolve_refs_at(self.document, response, response_pointer);
            lowered.push(Response {
                status,
                description: response
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                content: self.content(response, &response_pointer, Direction::Response)?,
            });
        }
        Ok(lowered)
    }

    fn content(
        &self,
        holder: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<Vec<MediaType>, SpecError> {
        let Some(content) = holder.get("content") else {
            return Ok(Vec::new());
        };
        let Some(content) = content.as_object() else {
            return Err(self.invalid(&format!("{pointer}/content"), "`content` must be an object"));
        };
        let mut media_types = Vec::with_capacity(content.len());
        for (media_type, media) in content {
            let media_pointer = format!("{pointer}/content/{}", escape_pointer_token(media_type));
            let compile = |key: &str| -> Result<Option<CompiledSchema>, SpecError> {
                match media.get(key) {
                    Some(node) => Ok(Some(self.compile_at(
                        &format!("{media_pointer}/{key}"),
                        Some(node),
                        direction,
                    )?)),
                    None => Ok(None),
                }
            };
            let (item_schema, item_envelope) =
                match self.event_payload_pointer(media, &media_pointer) {
                    Some(payload) => (
                        Some(self.compile_for(&payload, direction)?),
                        compile("itemSchema")?,
                    ),
                    None => (compile("itemSchema")?, None),
                };
            let mut examples = self.examples(media, media_type);
            if direction == Direction::Response
                && let Some(schema) = media.get("schema")
            {
                let mut warnings = self.warnings.borrow_mut();
                for example in &mut examples {
                    let at = format!("{media_pointer}/{}", example.pointer_suffix());
                    strip_write_only(
                        self.document,
                        schema,
                        &mut example.value,
                        &at,
                        &mut warnings,
                    );
                }
            }
            let kind = BodyKind::of(media_type);
            media_types.push(MediaType {
                fields: match kind {
                    BodyKind::Form | BodyKind::Multipart => self.body_fields(media, &media_pointer),
                    _ => Vec::new(),
                },
                media_type: media_type.to_ascii_lowercase(),
                kind,
                schema: compile("schema")?,
                item_schema,
                item_envelope,
                examples,
            });
        }
        Ok(media_types)
    }

    /// The declared properties of a form or multipart body, with their types and `encoding`.
    fn body_fields(&self, media: &Value, media_pointer: &str) -> Vec<BodyField> {
        let resolve = |v| crate::spec::normalize::resolve_refs(self.document, v);
        let schema = self.resolved_schema(&format!("{media_pointer}/schema"));
        let encoding = media.get("encoding");
        schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                let property = resolve(property);
                let encoding = encoding.and_then(|e| e.get(name));
                BodyField {
                    name: name.clone(),
                    types: schema_types(property),
                    item_types: property
                        .get("items")
                        .map(|items| schema_types(resolve(items)))
                        .unwrap_or_default(),
                    comma_separated: encoding
                        .and_then(|e| e.get("explode"))
                        .and_then(Value::as_bool)
                        == Some(false),
                    json: encoding
                        .and_then(|e| e.get("contentType"))
                        .and_then(Value::as_str)
                        .is_some_and(|ct| BodyKind::of(ct) == BodyKind::Json),
                }
            })
            .collect()
    }

    /// Where the payload schema of an OpenAPI 3.2 event `itemSchema` is: its
    /// `properties.data.contentSchema` (following local `$ref`s); `None` for any other form.
    fn event_payload_pointer(&self, media: &Value, media_pointer: &str) -> Option<String> {
        let mut pointer = format!("{media_pointer}/itemSchema");
        let mut schema = media.get("itemSchema")?;
        // A bounded walk: the loader already rejected unresolvable references.
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            pointer = target.strip_prefix('#')?.to_string();
            schema = super::pointer::get(self.document, &pointer)?;
        }
        schema
            .get("properties")?
            .get("data")?
            .get("contentSchema")?;
        Some(format!("{pointer}/properties/data/contentSchema"))
    }

    /// Named examples (`examples`), plus a single `example` under the name `default`. An
    /// OpenAPI 3.2 `serializedValue` is read too: for an event stream, as the list of its
    /// events' payloads (what the engine sends as events); otherwise as JSON, else as text.
    fn examples(&self, media: &Value, media_type: &str) -> Vec<NamedExample> {
        let mut examples: Vec<NamedExample> = media
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, example)| {
                let example = crate::spec::normalize::resolve_refs(self.document, example);
                let value = match (example.get("value"), example.get("serializedValue")) {
                    (Some(value), _) => value.clone(),
                    (None, Some(Value::String(text))) if media_type.contains("event-stream") => {
                        Value::Array(
                            crate::sse::parse_events(text.as_bytes())
                                .iter()
                                .map(crate::sse::SseEvent::data_json)
                                .collect(),
                        )
                    }
                    (None, Some(Value::String(text))) => {
                        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
                    }
                    _ => return None,
                };
                Some(NamedExample {
                    name: name.clone(),
                    value,
                })
            })
            .collect();
        if let Some(value) = media.get("example") {
            examples.push(NamedExample {
                name: "default".into(),
                value: value.clone(),
            });
        }
        examples
    }

    fn security(
        &self,
        requirements: &Value,
        pointer: &str,
    ) -> Result<Vec<SecurityRequirement>, SpecError> {
        let Some(requirements) = requirements.as_array() else {
            return Err(self.invalid(
                pointer,
                "`security` must be an array of requirement objects",
            ));
        };
        let mut lowered = Vec::with_capacity(requirements.len());
        for (index, requirement) in requirements.iter().enumerate() {
            let Some(requirement) = requirement.as_object() else {
                return Err(self.invalid(
                    &format!("{pointer}/{index}"),
                    "a security requirement must be an object",
                ));
            };
            let mut schemes = Vec::with_capacity(requirement.len());
            for name in requirement.keys() {
                let used_at = format!("{pointer}/{index}/{}", escape(name));
                if let Some(scheme) = self.security_scheme(name, &used_at)? {
                    schemes.push(scheme);
                }
            }
            lowered.push(SecurityRequirement { schemes });
        }
        Ok(lowered)
    }

    /// The scheme a requirement names; `None` (with a warning) for one that cannot be checked,
    /// which is then left out of the requirement: a requirement left with no scheme lets
    /// every request through.
    fn security_scheme(
        &self,
        name: &str,
        used_at: &str,
    ) -> Result<Option<SecurityScheme>, SpecError> {
        let scheme_pointer = format!("/components/securitySchemes/{}", escape(name));
        let Some(scheme) = super::pointer::get(self.document, &scheme_pointer) else {
            self.warn(
                used_at,
                format!("security scheme `{name}` is not defined in components.securitySchemes; the reference is ignored"),
            );
            return Ok(None);
        };
        let (scheme, scheme_pointer) = resolve_refs_at(self.document, scheme, scheme_pointer);
        let field = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or_default();
        let name = name.to_string();
        match field("type") {
            "http" if field("scheme").eq_ignore_ascii_case("basic") => {
                Ok(Some(SecurityScheme::Basic { name }))
            }
            "http" if field("scheme").is_empty() => {
                self.warn(
                    &format!("{scheme_pointer}/scheme"),
                    format!(
                        "http security scheme `{name}` names no `scheme`; it is checked as bearer"
                    ),
                );
                Ok(Some(SecurityScheme::Bearer { name }))
            }
            "http" if !field("scheme").eq_ignore_ascii_case("bearer") => {
                Ok(Some(SecurityScheme::Http {
                    name,
                    scheme: field("scheme").to_string(),
                }))
            }
            "http" | "oauth2" | "openIdConnect" => Ok(Some(SecurityScheme::Bearer { name })),
            "mutualTLS" => {
                self.warn(&format!("{scheme_pointer}/type"), format!("security scheme `{name}` is mutualTLS, which a mock cannot check; it is not checked"));
                Ok(None)
            }
            "apiKey" => {
                let location = match field("in") {
                    "header" => ParamLocation::Header,
                    "query" => ParamLocation::Query,
                    "cookie" => ParamLocation::Cookie,
                    other => {
                        self.warn(&format!("{scheme_pointer}/in"), format!("an apiKey scheme must be in header, query or cookie, found {other:?}; it is not checked"));
                        return Ok(None);
                    }
                };
                Ok(Some(SecurityScheme::ApiKey {
                    name,
                    location,
                    parameter: field("name").to_string(),
                }))
            }
            other => {
                self.warn(&format!("{scheme_pointer}/type"), format!("security scheme type {other:?} is not supported (http, apiKey, oauth2, openIdConnect are); it is not checked"));
                Ok(None)
            }
        }
    }
}

/// Each callback (`callback onEvent of POST /subscribe: POST {$request.body#/url}`) and
/// webhook (`webhook newPet: POST`) of the document, in document order.
pub fn not_served(document: &Value) -> Vec<String> {
    use crate::spec::normalize::resolve_refs;
    let methods = |item: &Value| -> Vec<String> {
        let item = resolve_refs(document, item);
        METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect()
    };
    let mut listed = Vec::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let item = resolve_refs(document, item);
        for method in METHODS {
            let Some(callbacks) = item
                .get(*method)
                .and_then(|op| op.get("callbacks"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (name, callback) in callbacks {
                let callback = resolve_refs(document, callback);
                for (expression, target) in callback.as_object().into_iter().flatten() {
                    for verb in methods(target) {
                        listed.push(format!(
                            "callback {name} of {} {path}: {verb} {expression}",
                            method.to_uppercase()
                        ));
                    }
                }
            }
        }
    }
    let webhooks = document.get("webhooks").and_then(Value::as_object);
    for (name, item) in webhooks.into_iter().flatten() {
        for verb in methods(item) {
            listed.push(format!("webhook {name}: {verb}"));
        }
    }
    listed
}

fn parse_status_key(key: &str) -> Option<StatusKey> {
    if key == "default" {
        return Some(StatusKey::Default);
    }
    let bytes = key.as_bytes();
    if bytes.len() == 3 && (b'1'..=b'5').contains(&bytes[0]) && key[1..].eq_ignore_ascii_case("xx")
    {
        return Some(StatusKey::Range(bytes[0] - b'0'));
    }
    key.parse::<u16>()
        .ok()
        .filter(|code| (100..600).contains(code))
        .map(StatusKey::Exact)
}

/// `{name}` segments of a path template, in order.
fn template_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

fn schema_types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `paths` entries: `/p{i}/{id}`, each with a GET whose `id` is undeclared (a warning each).
    fn many_paths(count: usize, broken: &[usize]) -> Value {
        let paths: Map<String, Value> = (0..count)
            .map(|i| {
                let path = if broken.contains(&i) {
                    format!("p{i}")
                } else {
                    format!("/p{i}/{{id}}")
                };
                (path, serde_json::json!({"get": {"responses": {}}}))
            })
            .collect();
        serde_json::json!({"openapi": "3.1.0", "paths": paths})
    }

    #[test]
    fn a_large_document_is_lowered_in_shares_in_document_order() {
        let count = PARALLEL_PATHS * 2 + 1;
        let document = many_paths(count, &[]);
        let new_compiler = || SchemaCompiler::new(&document, "t");
        let lowered = lower(&document, &new_compiler, "t", OpenApiVersion::V3_1).expect("lowers");
        let paths: Vec<String> = lowered
            .operations
            .iter()
            .map(|op| op.path_template.clone())
            .collect();
        let expected: Vec<String> = (0..count).map(|i| format!("/p{i}/{{id}}")).collect();
        assert_eq!(paths, expected);
        let warned: Vec<String> = lowered.warnings.iter().map(|w| w.pointer.clone()).collect();
        let expected: Vec<String> = (0..count)
            .map(|i| format!("/paths/~1p{i}~1{{id}}/get"))
            .collect();
        assert_eq!(warned, expected);
    }

    #[test]
    fn the_first_error_of_a_large_document_is_the_first_in_document_order() {
        let count = PARALLEL_PATHS * 2 + 1;
        let document = many_paths(count, &[300, count - 10]);
        let new_compiler = || SchemaCompiler::new(&document, "t");
        let Err(SpecError::Invalid { pointer, .. }) =
            lower(&document, &new_compiler, "t", OpenApiVersion::V3_1)
        else {
            panic!("a path without a leading slash is an error");
        };
        assert_eq!(pointer, "/paths/p300");
    }

    #[test]
    fn status_keys_accept_codes_ranges_and_default() {
        assert_eq!(parse_status_key("404"), Some(StatusKey::Exact(404)));
        assert_eq!(parse_status_key("4XX"), Some(StatusKey::Range(4)));
        assert_eq!(parse_status_key("5xx"), Some(StatusKey::Range(5)));
        assert_eq!(parse_status_key("default"), Some(StatusKey::Default));
        assert_eq!(parse_status_key("99"), None);
        assert_eq!(parse_status_key("600"), None);
        assert_eq!(parse_status_key("ok"), None);
    }

    #[test]
    fn template_parameters_are_listed_in_order() {
        let names: Vec<_> = template_parameters("/a/{x}/b/{y}.json").collect();
        assert_eq!(names, ["x", "y"]);
    }
}
