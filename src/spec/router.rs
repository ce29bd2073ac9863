//! Path templates to operations. Built once; a request is matched segment by segment, and
//! among templates that match, the one with a literal segment earliest wins
//! (`/v1/eval/group/{id}` beats `/v1/eval/{id}/results` for `/v1/eval/group/results`).

use http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    Found {
        operation: usize,
        /// Path parameters, percent-decoded, in template order.
        params: Vec<(String, String)>,
    },
    /// The path exists but not for this method.
    MethodNotAllowed {
        allowed: Vec<Method>,
    },
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Literal(String),
    /// `{name}` with optional literal text around it, e.g. `{id}.json`.
    Param {
        prefix: String,
        name: String,
        suffix: String,
    },
}

#[derive(Debug)]
struct Route {
    segments: Vec<Segment>,
    methods: Vec<(Method, usize)>,
}

#[derive(Debug)]
pub struct Router {
    /// Most specific first.
    routes: Vec<Route>,
}

impl Router {
    /// `templates` yields (path template, method) per operation, in operation-index order.
    /// Fails with the index of the offending operation and why.
    pub fn new<'a>(
        templates: impl Iterator<Item = (&'a str, Method)>,
    ) -> Result<Router, (usize, String)> {
        let mut routes: Vec<Route> = Vec::new();
        // Shape (parameter names erased) -> its route: one hash lookup per operation, so
        // building stays linear in the number of operations (40k operations were quadratic).
        let mut by_shape: std::collections::HashMap<Vec<Segment>, usize> =
            std::collections::HashMap::new();
        for (index, (template, method)) in templates.enumerate() {
            let segments = parse_template(template).map_err(|e| (index, e))?;
            let key = shape(&segments);
            match by_shape.get(&key).and_then(|&at| routes.get_mut(at)) {
                Some(route) => {
                    if route.methods.iter().any(|(m, _)| *m == method) {
                        return Err((
                            index,
                            format!(
                                "{method} {template} duplicates another path that differs only in parameter names"
                            ),
                        ));
                    }
                    route.methods.push((method, index));
                }
                None => {
                    by_shape.insert(key, routes.len());
                    routes.push(Route {
                        segments,
                        methods: vec![(method, index)],
                    });
                }
            }
        }
        routes.sort_by_key(|r| specificity(&r.segments));
        Ok(Router { routes })
    }

    pub fn route(&self, method: &Method, path: &str) -> RouteMatch {
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        let mut allowed: Vec<Method> = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, &parts) else {
                continue;
            };
            if let Some((_, operation)) = route.methods.iter().find(|(m, _)| m == method) {
                return RouteMatch::Found {
                    operation: *operation,
                    params,
                };
            }
            // HEAD is served by GET, as HTTP servers do.
            if method == Method::HEAD
                && let Some((_, operation)) = route.methods.iter().find(|(m, _)| m == Method::GET)
            {
                return RouteMatch::Found {
                    operation: *operation,
                    params,
                };
            }
            allowed.extend(route.methods.iter().map(|(m, _)| m.clone()));
        }
        if allowed.is_empty() {
            RouteMatch::NotFound
        } else {
            allowed.dedup();
            RouteMatch::MethodNotAllowed { allowed }
        }
    }
}

fn parse_template(template: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = template.strip_prefix('/') else {
        return Err(format!("path {template:?} must start with `/`"));
    };
    rest.split('/')
        .map(|segment| match segment.split_once('{') {
            None if segment.contains('}') => Err(format!("unbalanced `}}` in {template:?}")),
            None => Ok(Segment::Literal(segment.to_string())),
            Some((prefix, rest)) => {
                let (name, suffix) = rest
                    .split_once('}')
                    .ok_or_else(|| format!("unclosed `{{` in {template:?}"))?;
                if name.is_empty() || suffix.contains('{') {
                    return Err(format!(
                        "segment {segment:?} of {template:?} must hold exactly one named parameter"
                    ));
                }
                Ok(Segment::Param {
                    prefix: prefix.to_string(),
                    name: name.to_string(),
                    suffix: suffix.to_string(),
                })
            }
        })
        .collect()
}

/// The segments with parameter names erased: two templates of the same shape are one path
/// (`/g/{id}` and `/g/{groupId}`).
fn shape(segments: &[Segment]) -> Vec<Segment> {
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Param { prefix, suffix, .. } => Segment::Param {
                prefix: prefix.clone(),
                name: String::new(),
                suffix: suffix.clone(),
            },
            literal => literal.clone(),
        })
        .collect()
}

/// Sort key: literal segments before parameters, position by position.
fn specificity(segments: &[Segment]) -> Vec<u8> {
    segments
        .iter()
        .map(|s| match s {
            Segment::Literal(_) => 0,
            Segment::Param { prefix, suffix, .. } if !prefix.is_empty() || !suffix.is_empty() => 1,
            Segment::Param { .. } => 2,
        })
        .collect()
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    if segments.len() != parts.len() {
        return None;
    }
    let mut params = Vec::new();
    for (segment, part) in segments.iter().zip(parts) {
        match segment {
            Segment::Literal(literal) => {
                if literal != part {
                    return None;
                }
            }
            Segment::Param {
                prefix,
                name,
                suffix,
            } => {
                let value = part
                    .strip_prefix(prefix.as_str())?
                    .strip_suffix(suffix.as_str())?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.clone(), percent_decode(value)));
            }
        }
    }
    Some(params)
}

fn percent_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(templates: &[(&str, Method)]) -> Router {
        Router::new(templates.iter().map(|(t, m)| (*t, m.clone()))).expect("valid templates")
    }

    #[test]
    fn a_literal_path_matches_its_operation() {
        let r = router(&[("/v1/eval/batches", Method::GET)]);
        assert_eq!(
            r.route(&Method::GET, "/v1/eval/batches"),
            RouteMatch::Found {
                operation: 0,
                params: vec![]
            }
        );
    }

    #[test]
    fn a_template_captures_decoded_parameters() {
        let r = router(&[("/v1/eval/{id}/results", Method::GET)]);
        assert_eq!(
            r.route(&Method::GET, "/v1/eval/a%20b+c/results"),
            RouteMatch::Found {
                operation: 0,
                params: vec![("id".into(), "a b+c".into())]
            }
        );
    }

    #[test]
    fn literal_segments_win_over_parameters_whatever_the_order() {
        let r = router(&[
            ("/v1/eval/{id}/results", Method::GET),
            ("/v1/eval/group/{groupId}", Method::GET),
        ]);
        assert_eq!(
            r.route(&Method::GET, "/v1/eval/group/results"),
            RouteMatch::Found {
                operation: 1,
                params: vec![("groupId".into(), "results".into())]
            }
        );
        assert_eq!(
            r.route(&Method::GET, "/v1/eval/x/results"),
            RouteMatch::Found {
                operation: 0,
                params: vec![("id".into(), "x".into())]
            }
        );
    }

    #[test]
    fn a_known_path_with_another_method_lists_the_allowed_ones() {
        let r = router(&[("/a", Method::GET), ("/a", Method::POST)]);
        assert_eq!(
            r.route(&Method::DELETE, "/a"),
            RouteMatch::MethodNotAllowed {
                allowed: vec![Method::GET, Method::POST]
            }
        );
    }

    #[test]
    fn head_is_answered_by_get() {
        let r = router(&[("/a", Method::GET)]);
        assert!(matches!(
            r.route(&Method::HEAD, "/a"),
            RouteMatch::Found { operation: 0, .. }
        ));
    }

    #[test]
    fn unknown_paths_trailing_slashes_and_empty_parameters_do_not_match() {
        let r = router(&[("/a/{id}", Method::GET)]);
        assert_eq!(r.route(&Method::GET, "/b/1"), RouteMatch::NotFound);
        assert_eq!(r.route(&Method::GET, "/a/1/"), RouteMatch::NotFound);
        assert_eq!(r.route(&Method::GET, "/a/"), RouteMatch::NotFound);
    }

    #[test]
    fn a_parameter_with_literal_text_around_it_matches() {
        let r = router(&[("/files/{name}.json", Method::GET)]);
        assert_eq!(
            r.route(&Method::GET, "/files/report.json"),
            RouteMatch::Found {
                operation: 0,
                params: vec![("name".into(), "report".into())]
            }
        );
        assert_eq!(
            r.route(&Method::GET, "/files/report.yaml"),
            RouteMatch::NotFound
        );
    }

    #[test]
    fn templates_that_differ_only_in_parameter_names_are_rejected() {
        let err = Router::new([("/a/{x}", Method::GET), ("/a/{y}", Method::GET)].into_iter())
            .expect_err("must fail");
        assert_eq!(err.0, 1);
    }
}
