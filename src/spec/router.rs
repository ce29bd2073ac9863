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

/// Routers with at most this many routes are scanned instead of looked up in the index.
const SCAN_ROUTES: usize = 32;

#[derive(Debug)]
pub struct Router {
    /// Most specific first.
    routes: Vec<Route>,
    /// The routes by segment, so a request looks only at the routes its path could match:
    /// with 40,000 operations, scanning every route cost each request ~1 ms.
    index: Node,
}

/// One level of the route index: the routes whose template ends here (by position in
/// `routes`), then the children for the next segment, by literal text or by parameter.
#[derive(Debug, Default)]
struct Node {
    ends: Vec<usize>,
    literals: std::collections::HashMap<String, Node>,
    /// Parameter segments (any name) by their literal prefix and suffix.
    params: Vec<((String, String), Node)>,
}

impl Node {
    fn insert(&mut self, segments: &[Segment], route: usize) {
        let Some((first, rest)) = segments.split_first() else {
            self.ends.push(route);
            return;
        };
        let child = match first {
            Segment::Literal(text) => self.literals.entry(text.clone()).or_default(),
            Segment::Param { prefix, suffix, .. } => {
                let affixes = (prefix.clone(), suffix.clone());
                match self.params.iter().position(|(a, _)| *a == affixes) {
                    Some(at) => &mut self.params[at].1,
                    None => {
                        self.params.push((affixes, Node::default()));
                        let last = self.params.len() - 1;
                        &mut self.params[last].1
                    }
                }
            }
        };
        child.insert(rest, route);
    }

    /// Every route whose segments could match `parts` (a superset of those that do; each is
    /// still matched in full).
    fn candidates(&self, parts: &[&str], found: &mut Vec<usize>) {
        let Some((part, rest)) = parts.split_first() else {
            found.extend_from_slice(&self.ends);
            return;
        };
        if let Some(child) = self.literals.get(*part) {
            child.candidates(rest, found);
        }
        for ((prefix, suffix), child) in &self.params {
            if part.len() > prefix.len() + suffix.len()
                && part.starts_with(prefix.as_str())
                && part.ends_with(suffix.as_str())
            {
                child.candidates(rest, found);
            }
        }
    }
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
        let mut index = Node::default();
        for (at, route) in routes.iter().enumerate() {
            index.insert(&route.segments, at);
        }
        Ok(Router { routes, index })
    }

    pub fn route(&self, method: &Method, path: &str) -> RouteMatch {
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        // A few routes are compared directly: hashing each segment into the index and sorting
        // its candidates cost more than that (~2% of a request on the eight-route Runtype API).
        if self.routes.len() <= SCAN_ROUTES {
            return first_match(self.routes.iter(), method, &parts);
        }
        self.indexed(method, &parts)
    }

    /// [`Router::route`] through the index: the candidates in `routes` order (most specific
    /// first), so the first that matches is the one a scan of every route would find.
    fn indexed(&self, method: &Method, parts: &[&str]) -> RouteMatch {
        let mut candidates = Vec::new();
        self.index.candidates(parts, &mut candidates);
        candidates.sort_unstable();
        first_match(
            candidates.into_iter().map(|at| &self.routes[at]),
            method,
            parts,
        )
    }
}

/// The first of `routes` (most specific first) that matches the path and serves the method;
/// else the methods of those that match the path.
fn first_match<'r>(
    routes: impl Iterator<Item = &'r Route>,
    method: &Method,
    parts: &[&str],
) -> RouteMatch {
    let mut allowed: Vec<Method> = Vec::new();
    for route in routes {
        let Some(params) = match_segments(&route.segments, parts) else {
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

    /// What `route` answered before the index: every route scanned, most specific first.
    fn route_by_scan(router: &Router, method: &Method, path: &str) -> RouteMatch {
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        first_match(router.routes.iter(), method, &parts)
    }

    /// Past [`SCAN_ROUTES`], `route` answers through the index, as a scan would.
    #[test]
    fn a_large_router_answers_through_the_index_as_a_scan_would() {
        let templates: Vec<String> = (0..SCAN_ROUTES)
            .flat_map(|i| [format!("/r{i}/{{id}}"), format!("/r{i}/list")])
            .collect();
        let r = Router::new(templates.iter().map(|t| (t.as_str(), Method::GET))).expect("valid");
        assert!(r.routes.len() > SCAN_ROUTES);
        for path in [
            "/r7/list",
            "/r7/abc",
            "/r31/list",
            "/r99/list",
            "/r3",
            "/r3/a/b",
        ] {
            for method in [Method::GET, Method::POST] {
                assert_eq!(
                    r.route(&method, path),
                    route_by_scan(&r, &method, path),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(
            r.route(&Method::GET, "/r7/list"),
            RouteMatch::Found {
                operation: 15,
                params: vec![]
            }
        );
    }

    /// Random templates and paths over a small alphabet (literals, bare parameters, parameters
    /// with a prefix or suffix that overlap): the index finds what scanning every route finds.
    #[test]
    fn the_index_answers_as_a_scan_of_every_route() {
        const SEGMENTS: &[&str] = &["a", "b", "{x}", "a{x}", "{x}.json", "a{x}.json", "{x}a"];
        const PARTS: &[&str] = &[
            "a", "b", "aa", "ab", "b.json", "a.json", "aa.json", "ba", "c%20d",
        ];
        let methods = [Method::GET, Method::POST, Method::HEAD];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..200 {
            let mut templates: Vec<(String, Method)> = Vec::new();
            for _ in 0..1 + next(12) {
                let depth = 1 + next(3);
                let template: String = (0..depth)
                    .map(|_| format!("/{}", SEGMENTS[next(SEGMENTS.len())]))
                    .collect();
                templates.push((template, methods[next(2)].clone()));
            }
            // Templates of one shape with one method twice are refused; keep the valid sets.
            let Ok(router) = Router::new(templates.iter().map(|(t, m)| (t.as_str(), m.clone())))
            else {
                continue;
            };
            for _ in 0..40 {
                let depth = 1 + next(3);
                let path: String = (0..depth)
                    .map(|_| format!("/{}", PARTS[next(PARTS.len())]))
                    .collect();
                let method = &methods[next(methods.len())];
                let parts: Vec<&str> = path.split('/').skip(1).collect();
                assert_eq!(
                    router.indexed(method, &parts),
                    route_by_scan(&router, method, &path),
                    "{method} {path} with {templates:?}"
                );
            }
        }
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
