//! How values are written on the wire, read back as JSON so the schema can check them:
//! parameters in every OpenAPI `style` (matrix, label, simple, form, spaceDelimited,
//! pipeDelimited, deepObject, with `explode`), cookies, and the non-JSON request bodies
//! (`application/x-www-form-urlencoded`, `multipart/form-data`, `text/*`). Text is coerced to
//! the type the schema admits where it parses (`"3"` to 3); what does not parse stays a string
//! so the schema reports the mismatch. Decoding is bounded by the request and never panics.

use serde_json::{Map, Value};

use crate::spec::{BodyField, ParamLocation, ParamStyle, Parameter};

/// The request's parameter sources, split once per request.
#[derive(Debug)]
pub struct ParamSources<'a> {
    /// Percent-decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub path: &'a [(String, String)],
    pub headers: &'a http::HeaderMap,
    /// `Cookie` header pairs, in order.
    pub cookies: Vec<(&'a str, &'a str)>,
}

impl<'a> ParamSources<'a> {
    pub fn new(
        query: Option<&str>,
        path: &'a [(String, String)],
        headers: &'a http::HeaderMap,
    ) -> ParamSources<'a> {
        ParamSources {
            query: query
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
            path,
            headers,
            cookies: cookie_pairs(headers).collect(),
        }
    }
}

/// The `name=value` pairs of every `Cookie` header.
pub fn cookie_pairs(headers: &http::HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

/// What a parameter's value is shaped as, from its schema's types.
enum Shape {
    Scalar,
    Array,
    Object,
}

fn shape(param: &Parameter) -> Shape {
    let has = |t: &str| param.types.iter().any(|x| x == t);
    if has("array") {
        Shape::Array
    } else if has("object") {
        Shape::Object
    } else {
        Shape::Scalar
    }
}

/// The parameter's value, decoded per its style and coerced per its schema; `Ok(None)` when
/// the request does not send it; `Err` says how the sent text breaks the style.
/// `claimed`: names of the operation's other query parameters, which an exploded form object
/// without declared properties does not take.
pub fn parameter(
    param: &Parameter,
    sources: &ParamSources<'_>,
    claimed: &[&str],
) -> Result<Option<Value>, String> {
    match param.location {
        ParamLocation::Path => {
            let Some((_, raw)) = sources.path.iter().find(|(n, _)| *n == param.name) else {
                return Ok(None);
            };
            styled(param, raw).map(Some)
        }
        ParamLocation::Header => {
            let values: Vec<&str> = sources
                .headers
                .get_all(param.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                return Ok(None);
            }
            styled(param, &values.join(",")).map(Some)
        }
        ParamLocation::Query => {
            let pairs: Vec<(&str, &str)> = sources
                .query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            paired(param, &pairs, claimed)
        }
        ParamLocation::Cookie => paired(param, &sources.cookies, claimed),
    }
}

/// Path and header values: one string in the matrix, label or simple style.
fn styled(param: &Parameter, raw: &str) -> Result<Value, String> {
    let name = &param.name;
    // What follows the style's prefix, and the separator of exploded lists.
    let (body, exploded_separator) = match param.style {
        ParamStyle::Matrix => {
            let rest = raw
                .strip_prefix(';')
                .ok_or_else(|| format!("must be written `;{name}=value` (matrix style)"))?;
            match (shape(param), param.explode) {
                // `;R=100;G=200`: no leading name.
                (Shape::Object, true) => (rest, ';'),
                // `;id=3;id=4`: each item carries the name.
                (Shape::Array, true) => {
                    let items = rest
                        .split(';')
                        .map(|part| matrix_value(part, name))
                        .collect::<Result<Vec<_>, _>>()?;
                    return Ok(array(param, items));
                }
                _ => (matrix_value(rest, name)?, ';'),
            }
        }
        ParamStyle::Label => (
            raw.strip_prefix('.')
                .ok_or_else(|| "must be written `.value` (label style)".to_string())?,
            '.',
        ),
        _ => (raw, ','),
    };
    if param.json_content {
        return Ok(json_or_string(body));
    }
    match shape(param) {
        Shape::Scalar => Ok(coerce_scalar(&param.types, body)),
        Shape::Array if body.is_empty() => Ok(Value::Array(Vec::new())),
        Shape::Array => {
            let separator = if param.explode {
                exploded_separator
            } else {
                ','
            };
            Ok(array(param, body.split(separator).collect()))
        }
        Shape::Object if param.explode => {
            let pairs = body
                .split(exploded_separator)
                .map(|part| {
                    part.split_once('=')
                        .ok_or_else(|| format!("`{part}` must be written `key=value`"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(object(param, pairs))
        }
        Shape::Object => Ok(object(param, key_value_list(body, ',')?)),
    }
}

/// `id=5` (matrix, after the `;`) -> `5`; a bare `id` is the empty value.
fn matrix_value<'a>(part: &'a str, name: &str) -> Result<&'a str, String> {
    match part.split_once('=') {
        Some((key, value)) if key == name => Ok(value),
        None if part == name => Ok(""),
        _ => Err(format!("must be written `;{name}=value` (matrix style)")),
    }
}

/// Query and cookie values: name/value pairs in the form, spaceDelimited, pipeDelimited or
/// deepObject style.
fn paired(
    param: &Parameter,
    pairs: &[(&str, &str)],
    claimed: &[&str],
) -> Result<Option<Value>, String> {
    let name = param.name.as_str();
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .collect();
    if param.json_content {
        return Ok(values.first().map(|v| json_or_string(v)));
    }
    let separator = match param.style {
        ParamStyle::SpaceDelimited => ' ',
        ParamStyle::PipeDelimited => '|',
        _ => ',',
    };
    match shape(param) {
        Shape::Scalar => Ok(values.first().map(|v| coerce_scalar(&param.types, v))),
        Shape::Array => Ok(match values.as_slice() {
            [] => None,
            // One value holds the whole list (`ids=3,4`), also when exploded: a client that
            // sends it so means the list.
            [""] => Some(Value::Array(Vec::new())),
            [one] => Some(array(param, one.split(separator).collect())),
            many => Some(array(param, many.to_vec())),
        }),
        Shape::Object => {
            let fields: Vec<(&str, &str)> = match param.style {
                ParamStyle::DeepObject => pairs
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.strip_prefix(name)?.strip_prefix('[')?.strip_suffix(']')?;
                        Some((key, *v))
                    })
                    .collect(),
                ParamStyle::Form if param.explode => pairs
                    .iter()
                    .filter(|(k, _)| {
                        if param.property_types.is_empty() {
                            !claimed.contains(k)
                        } else {
                            param.property_types.iter().any(|(p, _)| p == k)
                        }
                    })
                    .copied()
                    .collect(),
                _ => match values.first() {
                    None => Vec::new(),
                    Some(list) => key_value_list(list, separator)?,
                },
            };
            Ok((!fields.is_empty()).then(|| object(param, fields)))
        }
    }
}

/// `R,100,G,200` -> `[(R, 100), (G, 200)]`.
fn key_value_list(list: &str, separator: char) -> Result<Vec<(&str, &str)>, String> {
    let parts: Vec<&str> = list.split(separator).collect();
    if !parts.len().is_multiple_of(2) {
        return Err(format!(
            "`{list}` must be a list of key{separator}value pairs"
        ));
    }
    Ok(parts.chunks(2).map(|kv| (kv[0], kv[1])).collect())
}

fn array(param: &Parameter, items: Vec<&str>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|item| coerce_scalar(&param.item_types, item))
            .collect(),
    )
}

fn object(param: &Parameter, fields: Vec<(&str, &str)>) -> Value {
    let mut object = Map::new();
    for (key, value) in fields {
        let types = param
            .property_types
            .iter()
            .find(|(p, _)| p == key)
            .map(|(_, t)| t.as_slice())
            .unwrap_or_default();
        object.insert(key.to_string(), coerce_scalar(types, value));
    }
    Value::Object(object)
}

fn json_or_string(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The JSON value `raw` stands for under a schema admitting `types`; a string when it parses
/// as none of them.
pub fn coerce_scalar(types: &[String], raw: &str) -> Value {
    let allows = |t: &str| types.iter().any(|x| x == t);
    if allows("integer") {
        if let Ok(n) = raw.parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = raw.parse::<u64>() {
            return Value::from(n);
        }
        // Beyond 64 bits: still a whole number, kept as a float so bounds can be checked.
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Some(n) = raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    if allows("number")
        && let Some(n) = raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    if allows("boolean") && (raw == "true" || raw == "false") {
        return Value::Bool(raw == "true");
    }
    if allows("null") && raw == "null" && !allows("string") {
        return Value::Null;
    }
    Value::String(raw.to_string())
}

/// An `application/x-www-form-urlencoded` body as an object: repeated names and array fields
/// become arrays, each value coerced per its declared property.
pub fn form_body(body: &[u8], fields: &[BodyField]) -> Value {
    let pairs: Vec<(String, Value)> = form_urlencoded::parse(body)
        .map(|(k, v)| {
            let field = fields.iter().find(|f| f.name == k);
            let value = field_value(field, &v);
            (k.into_owned(), value)
        })
        .collect();
    collect_fields(pairs, fields)
}

/// One field's text as the JSON value its property declares.
fn field_value(field: Option<&BodyField>, text: &str) -> Value {
    match field {
        Some(f) if f.json => json_or_string(text),
        Some(f) if f.types.iter().any(|t| t == "array") => {
            let items: Vec<&str> = if f.comma_separated {
                text.split(',').collect()
            } else {
                vec![text]
            };
            Value::Array(
                items
                    .into_iter()
                    .map(|i| coerce_scalar(&f.item_types, i))
                    .collect(),
            )
        }
        Some(f) if f.types.iter().any(|t| t == "object") => json_or_string(text),
        Some(f) => coerce_scalar(&f.types, text),
        None => Value::String(text.to_string()),
    }
}

/// Fields in order into an object: an array field's values are concatenated; a repeated
/// scalar field becomes an array (so the schema reports it).
fn collect_fields(pairs: Vec<(String, Value)>, fields: &[BodyField]) -> Value {
    let mut object = Map::new();
    for (name, value) in pairs {
        let is_array = fields
            .iter()
            .any(|f| f.name == name && f.types.iter().any(|t| t == "array"));
        match object.get_mut(&name) {
            None => {
                object.insert(name, value);
            }
            Some(Value::Array(items)) if is_array => match value {
                Value::Array(more) => items.extend(more),
                other => items.push(other),
            },
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Value::Object(object)
}

/// A `multipart/form-data` body as an object: text parts coerced like form fields, JSON parts
/// parsed, files (a part with a filename, or a binary content type) as their bytes in a string.
/// `Err` says why the body is not multipart (no boundary, truncated parts).
pub fn multipart_body(
    body: &[u8],
    content_type: &str,
    fields: &[BodyField],
) -> Result<Value, String> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "the Content-Type has no multipart boundary".to_string())?;
    let chunk = bytes::Bytes::copy_from_slice(body);
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let parts = async move {
        let mut pairs = Vec::new();
        let field_error = |e: multer::Error| match e {
            // httparse's reason alone ("failed to read headers") does not say what to fix.
            multer::Error::ReadHeaderFailed(why) => format!(
                "a part's headers are not valid HTTP header fields ({why}: a control character or non-header line in `Content-Disposition`?)"
            ),
            other => other.to_string(),
        };
        while let Some(part) = multipart.next_field().await.map_err(field_error)? {
            let name = part.name().unwrap_or_default().to_string();
            let is_file = part.file_name().is_some();
            let kind = part
                .content_type()
                .map(|m| crate::spec::BodyKind::of(m.essence_str()));
            let data = part.bytes().await.map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&data);
            let field = fields.iter().find(|f| f.name == name);
            let value = match kind {
                _ if is_file => Value::String(text.into_owned()),
                Some(crate::spec::BodyKind::Json) => json_or_string(&text),
                None | Some(crate::spec::BodyKind::Text) => field_value(field, &text),
                Some(_) => Value::String(text.into_owned()),
            };
            pairs.push((name, value));
        }
        Ok::<_, String>(pairs)
    };
    // The whole body is already in memory, so the parser never waits: one poll finishes it.
    let mut parts = std::pin::pin!(parts);
    match parts.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(pairs) => Ok(collect_fields(pairs?, fields)),
        Poll::Pending => Err("the multipart body is incomplete".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(
        location: ParamLocation,
        style: ParamStyle,
        explode: bool,
        types: &[&str],
    ) -> Parameter {
        Parameter {
            name: "id".into(),
            location,
            required: true,
            schema: None,
            types: types.iter().map(|t| t.to_string()).collect(),
            item_types: vec!["integer".into()],
            property_types: vec![("R".into(), vec!["integer".into()])],
            style,
            explode,
            json_content: false,
        }
    }

    fn path(p: &Parameter, raw: &str) -> Result<Value, String> {
        styled(p, raw)
    }

    #[test]
    fn path_styles_decode_arrays_and_objects() {
        use ParamLocation::Path;
        use ParamStyle::*;
        let arr = |s, e| param(Path, s, e, &["array"]);
        let obj = |s, e| param(Path, s, e, &["object"]);
        assert_eq!(
            path(&arr(Simple, false), "3,4"),
            Ok(serde_json::json!([3, 4]))
        );
        assert_eq!(
            path(&arr(Label, false), ".3,4"),
            Ok(serde_json::json!([3, 4]))
        );
        assert_eq!(
            path(&arr(Label, true), ".3.4"),
            Ok(serde_json::json!([3, 4]))
        );
        assert_eq!(
            path(&arr(Matrix, false), ";id=3,4"),
            Ok(serde_json::json!([3, 4]))
        );
        assert_eq!(
            path(&arr(Matrix, true), ";id=3;id=4"),
            Ok(serde_json::json!([3, 4]))
        );
        assert_eq!(
            path(&obj(Simple, false), "R,1,G,x"),
            Ok(serde_json::json!({"R": 1, "G": "x"}))
        );
        assert_eq!(
            path(&obj(Simple, true), "R=1,G=x"),
            Ok(serde_json::json!({"R": 1, "G": "x"}))
        );
        assert_eq!(
            path(&obj(Label, true), ".R=1.G=x"),
            Ok(serde_json::json!({"R": 1, "G": "x"}))
        );
        assert_eq!(
            path(&obj(Matrix, true), ";R=1;G=x"),
            Ok(serde_json::json!({"R": 1, "G": "x"}))
        );
        assert_eq!(
            path(&obj(Matrix, false), ";id=R,1"),
            Ok(serde_json::json!({"R": 1}))
        );
        assert_eq!(
            path(&param(Path, Matrix, false, &["integer"]), ";id=5"),
            Ok(serde_json::json!(5))
        );
        assert_eq!(
            path(&param(Path, Label, false, &["integer"]), ".5"),
            Ok(serde_json::json!(5))
        );
        assert!(path(&param(Path, Matrix, false, &["integer"]), "5").is_err());
        assert!(path(&param(Path, Matrix, false, &["integer"]), ";other=5").is_err());
        assert!(path(&param(Path, Label, false, &["integer"]), "5").is_err());
        assert!(path(&obj(Simple, false), "R,1,G").is_err());
        assert!(path(&obj(Simple, true), "R=1,G").is_err());
    }

    #[test]
    fn query_styles_decode_arrays_and_objects() {
        use ParamLocation::Query;
        use ParamStyle::*;
        let q = |p: &Parameter, pairs: &[(&str, &str)]| paired(p, pairs, &["other"]);
        let arr = |s, e| param(Query, s, e, &["array"]);
        let obj = |s, e| param(Query, s, e, &["object"]);
        assert_eq!(
            q(&arr(Form, true), &[("id", "3"), ("id", "4")]),
            Ok(Some(serde_json::json!([3, 4])))
        );
        assert_eq!(
            q(&arr(Form, false), &[("id", "3,4")]),
            Ok(Some(serde_json::json!([3, 4])))
        );
        assert_eq!(
            q(&arr(SpaceDelimited, false), &[("id", "3 4")]),
            Ok(Some(serde_json::json!([3, 4])))
        );
        assert_eq!(
            q(&arr(PipeDelimited, false), &[("id", "3|4")]),
            Ok(Some(serde_json::json!([3, 4])))
        );
        assert_eq!(q(&arr(Form, true), &[("x", "3")]), Ok(None));
        assert_eq!(
            q(
                &obj(DeepObject, true),
                &[("id[R]", "1"), ("id[G]", "x"), ("other", "1")]
            ),
            Ok(Some(serde_json::json!({"R": 1, "G": "x"})))
        );
        assert_eq!(
            q(&obj(Form, false), &[("id", "R,1,G,x")]),
            Ok(Some(serde_json::json!({"R": 1, "G": "x"})))
        );
        assert_eq!(
            q(&obj(Form, true), &[("R", "1"), ("other", "2")]),
            Ok(Some(serde_json::json!({"R": 1})))
        );
        assert_eq!(
            q(&obj(PipeDelimited, false), &[("id", "R|1")]),
            Ok(Some(serde_json::json!({"R": 1})))
        );
        assert_eq!(q(&obj(DeepObject, true), &[("other", "1")]), Ok(None));
    }

    #[test]
    fn form_bodies_coerce_fields_and_collect_repeated_names() {
        let fields = vec![
            BodyField {
                name: "n".into(),
                types: vec!["integer".into()],
                item_types: vec![],
                comma_separated: false,
                json: false,
            },
            BodyField {
                name: "tags".into(),
                types: vec!["array".into()],
                item_types: vec!["integer".into()],
                comma_separated: false,
                json: false,
            },
            BodyField {
                name: "csv".into(),
                types: vec!["array".into()],
                item_types: vec![],
                comma_separated: true,
                json: false,
            },
        ];
        assert_eq!(
            form_body(b"n=3&tags=1&tags=2&csv=a,b&free=x+y", &fields),
            serde_json::json!({"n": 3, "tags": [1, 2], "csv": ["a", "b"], "free": "x y"})
        );
        assert_eq!(
            form_body(b"n=1&n=2", &fields),
            serde_json::json!({"n": [1, 2]})
        );
    }

    #[test]
    fn multipart_bodies_read_fields_and_files() {
        let fields = vec![BodyField {
            name: "n".into(),
            types: vec!["integer".into()],
            item_types: vec![],
            comma_separated: false,
            json: false,
        }];
        let body = "--XX\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n7\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nabc\r\n--XX--\r\n";
        assert_eq!(
            multipart_body(body.as_bytes(), "multipart/form-data; boundary=XX", &fields),
            Ok(serde_json::json!({"n": 7, "file": "abc"}))
        );
        assert!(multipart_body(body.as_bytes(), "multipart/form-data", &fields).is_err());
        assert!(
            multipart_body(
                b"--XX\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n7",
                "multipart/form-data; boundary=XX",
                &fields
            )
            .is_err()
        );
    }
}
