//! Whether a request meets a rule's conditions, and if not, how it differs: the same
//! comparison picks the rule and explains a miss (`--replay-strict` names the closest
//! recordings and their differences).

use http::{HeaderMap, Method};
use serde_json::Value;

use super::format::BodyMatch;
use super::{Matcher, PathMatch};
use crate::spec::Operation;

/// What a rule can look at of one routed request.
#[derive(Debug)]
pub struct RequestView<'a> {
    pub operation: &'a Operation,
    pub method: &'a Method,
    pub path: &'a str,
    pub path_params: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The body as JSON, when it is JSON.
    pub body: Option<&'a Value>,
}

impl Matcher {
    /// The conditions (all but the call count) the request does not meet, in words; empty
    /// when it meets them all.
    pub fn differences(&self, request: &RequestView<'_>, state: &str) -> Vec<String> {
        let mut out = Vec::new();
        let op = request.operation;
        if let Some(id) = &self.operation
            && op.operation_id.as_deref() != Some(id.as_str())
        {
            out.push(format!("operation is {}, not {id}", op.name));
        }
        if let Some(method) = &self.method
            && method != request.method
        {
            out.push(format!("method is {}, not {method}", request.method));
        }
        match &self.path {
            Some(PathMatch::Template(t)) if *t != op.path_template => {
                out.push(format!("path template is {}, not {t}", op.path_template))
            }
            Some(PathMatch::Exact(p)) if p != request.path => {
                out.push(format!("path is {}, not {p}", request.path))
            }
            _ => {}
        }
        for (name, want) in &self.params {
            let got = request
                .path_params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            let got = got.or_else(|| query_value(request.query, name));
            if got != Some(want.as_str()) {
                out.push(format!("parameter {name} is {}, not {want}", shown(got)));
            }
        }
        let query: Vec<(String, String)> = request
            .query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        for (name, want) in &self.query {
            let got = query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            if got != Some(want.as_str()) {
                out.push(format!("query {name} is {}, not {want}", shown(got)));
            }
        }
        if self.query_exact {
            for (name, value) in &query {
                if !self.query.iter().any(|(n, _)| n == name) {
                    out.push(format!("query has {name}={value}, which the rule does not"));
                }
            }
        }
        for (name, want) in &self.headers {
            let got = request.headers.get(name).and_then(|v| v.to_str().ok());
            if got != Some(want.as_str()) {
                out.push(format!("header {name} is {}, not {want}", shown(got)));
            }
        }
        if let Some(want) = &self.body {
            let holds = match (request.body, self.body_match) {
                (None, _) => false,
                (Some(got), BodyMatch::Subset) => contains(got, want, &self.ignore_fields),
                (Some(got), BodyMatch::Equal) => bodies_equal(got, want, &self.ignore_fields),
            };
            if !holds {
                out.push(match request.body {
                    None => "the body is not JSON".to_string(),
                    Some(got) => format!(
                        "body differs: {}",
                        first_difference(got, want, &self.ignore_fields, "")
                            .unwrap_or_else(|| "(shape)".into())
                    ),
                });
            }
        }
        if let Some(want) = &self.state
            && want != state
        {
            out.push(format!("scenario state is {state}, not {want}"));
        }
        out
    }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
}

fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// `actual` holds everything of `expected` (objects may have more keys; arrays compare item
/// by item).
pub fn contains(actual: &Value, expected: &Value, ignore: &[String]) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .filter(|(k, _)| !ignore.contains(k))
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev, ignore))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(av, ev)| contains(av, ev, ignore))
        }
        _ => numbers_equal(actual, expected).unwrap_or(actual == expected),
    }
}

/// Equal as JSON (key order aside), keys in `ignore` skipped at any depth.
pub fn bodies_equal(a: &Value, b: &Value, ignore: &[String]) -> bool {
    first_difference(a, b, ignore, "").is_none()
}

/// `1` and `1.0` are the same number to a JSON client.
fn numbers_equal(a: &Value, b: &Value) -> Option<bool> {
    Some(a.as_f64()? == b.as_f64()?)
}

/// The first place where `got` and `want` differ, as `path: got vs want`.
fn first_difference(got: &Value, want: &Value, ignore: &[String], at: &str) -> Option<String> {
    let here = if at.is_empty() { "(body)" } else { at };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (key, wv) in w.iter().filter(|(k, _)| !ignore.contains(k)) {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match g.get(key) {
                    None => return Some(format!("{path} is absent")),
                    Some(gv) => {
                        if let Some(d) = first_difference(gv, wv, ignore, &path) {
                            return Some(d);
                        }
                    }
                }
            }
            g.keys()
                .find(|k| !ignore.contains(k) && !w.contains_key(*k))
                .map(|k| {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    format!("{path} is not expected")
                })
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                return Some(format!("{here} has {} items, not {}", g.len(), w.len()));
            }
            g.iter()
                .zip(w)
                .enumerate()
                .find_map(|(i, (gv, wv))| first_difference(gv, wv, ignore, &format!("{at}[{i}]")))
        }
        _ if numbers_equal(got, want).unwrap_or(got == want) => None,
        _ => Some(format!("{here} is {got}, not {want}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_compare_semantically_and_skip_ignored_fields() {
        let ignore = vec!["requestId".to_string()];
        assert!(bodies_equal(
            &json!({"b": 1.0, "a": [1, {"requestId": "x"}]}),
            &json!({"a": [1, {"requestId": "y"}], "b": 1}),
            &ignore
        ));
        assert_eq!(
            first_difference(&json!({"a": 1, "c": 2}), &json!({"a": 2}), &[], ""),
            Some("a is 1, not 2".into())
        );
        assert_eq!(
            first_difference(&json!({"a": 1, "c": 2}), &json!({"a": 1}), &[], ""),
            Some("c is not expected".into())
        );
        assert!(contains(&json!({"a": 1, "c": 2}), &json!({"a": 1}), &[]));
    }
}
