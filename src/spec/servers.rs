//! `servers[].url` as base paths: an API documented at `https://api.example.com/v3` is served
//! under `/v3` (variables replaced by their defaults; a relative URL such as `/api/v3` is
//! its own path). Requests are routed with the base path stripped, and without it too (as
//! Prism serves them), so a client pointed at either the server URL or the mock's root works.
//! A path item or operation with its own `servers` replaces the document's for its
//! operations (OpenAPI's rule), so `/v2/legacy` is served only where the document puts it.

use std::collections::HashMap;

use serde_json::Value;

use super::{Operation, SpecWarning};

/// The base paths each operation is served under.
#[derive(Debug, Default)]
pub struct BasePaths {
    /// Every base path of any operation, longest first: a request path is tried with each
    /// stripped, the most specific first.
    all: Vec<String>,
    /// The document's own `servers`.
    document: Vec<String>,
    /// Operation index -> the base paths of the `servers` its operation or path item
    /// declares, where one does.
    own: HashMap<usize, Vec<String>>,
}

impl BasePaths {
    pub fn load(
        document: &Value,
        operations: &[Operation],
        warnings: &mut Vec<SpecWarning>,
    ) -> BasePaths {
        let document_paths = base_paths(document.get("servers"), "/servers", warnings);
        let mut all = document_paths.clone();
        let mut own = HashMap::new();
        for (index, operation) in operations.iter().enumerate() {
            let declared = operation
                .servers_pointer
                .as_deref()
                .and_then(|at| Some((super::pointer::get(document, at)?, at)));
            if let Some((servers, at)) = declared {
                let paths = base_paths(Some(servers), at, warnings);
                for path in &paths {
                    if !all.contains(path) {
                        all.push(path.clone());
                    }
                }
                own.insert(index, paths);
            }
        }
        all.sort_by_key(|p| std::cmp::Reverse(p.len()));
        BasePaths {
            all,
            document: document_paths,
            own,
        }
    }

    /// Every base path of any operation, longest first.
    pub fn all(&self) -> &[String] {
        &self.all
    }

    /// Whether `operation` is served under `base`.
    pub fn serves(&self, operation: usize, base: &str) -> bool {
        self.own
            .get(&operation)
            .unwrap_or(&self.document)
            .iter()
            .any(|b| b == base)
    }
}

/// The distinct base paths of a `servers` list at `at` (none for `/` or no servers), longest
/// first so the most specific one is tried first.
fn base_paths(servers: Option<&Value>, at: &str, warnings: &mut Vec<SpecWarning>) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let servers = servers.and_then(Value::as_array);
    for (index, server) in servers.into_iter().flatten().enumerate() {
        let pointer = format!("{at}/{index}/url");
        let Some(url) = server.get("url").and_then(Value::as_str) else {
            continue;
        };
        let url = match substitute(url, server.get("variables")) {
            Ok(url) => url,
            Err(name) => {
                warnings.push(SpecWarning::new(
                    &pointer,
                    format!("server variable `{name}` has no default; this server's base path is not served"),
                ));
                continue;
            }
        };
        let path = path_of(&url).trim_end_matches('/').to_string();
        if path.starts_with('/') && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    paths
}

/// The URL with each `{name}` replaced by its variable's default; `Err(name)` for a variable
/// without one.
fn substitute(url: &str, variables: Option<&Value>) -> Result<String, String> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let Some((name, tail)) = after.split_once('}') else {
            out.push('{');
            rest = after;
            continue;
        };
        let default = variables
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("default"))
            .and_then(Value::as_str)
            .ok_or_else(|| name.to_string())?;
        out.push_str(default);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// The path part of a URL: `https://h:8080/v3?x` -> `/v3`, `/api` -> `/api`, `//h/v1` -> `/v1`.
fn path_of(url: &str) -> &str {
    let after_scheme = match url.split_once("://") {
        Some((_, rest)) => Some(rest),
        None => url.strip_prefix("//"),
    };
    let path = match after_scheme {
        Some(rest) => rest.find('/').map_or("", |at| &rest[at..]),
        None => url,
    };
    path.split(['?', '#']).next().unwrap_or_default()
}

/// `path` with `base` taken off its start, when it starts with that whole path segment(s).
pub fn strip<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_paths_come_from_urls_with_variables_substituted() {
        let doc = json!({"servers": [
            {"url": "https://{region}.example.com:{port}/{version}/", "variables": {
                "region": {"default": "eu"}, "port": {"default": "443"}, "version": {"default": "v2", "enum": ["v1", "v2"]}}},
            {"url": "/api/v3"},
            {"url": "https://example.com"},
            {"url": "http://example.com/"},
            {"url": "/{missing}"},
        ]});
        let mut warnings = Vec::new();
        assert_eq!(
            base_paths(doc.get("servers"), "/servers", &mut warnings),
            ["/api/v3", "/v2"]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].pointer, "/servers/4/url");
    }

    #[test]
    fn strip_takes_whole_segments_only() {
        assert_eq!(strip("/api/v3/pets", "/api/v3"), Some("/pets"));
        assert_eq!(strip("/api/v3", "/api/v3"), Some("/"));
        assert_eq!(strip("/api/v30/pets", "/api/v3"), None);
        assert_eq!(strip("/pets", "/api/v3"), None);
        assert_eq!(path_of("//host/v1?x=1"), "/v1");
    }
}
