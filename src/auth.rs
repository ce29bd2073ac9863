//! Who is calling: the operation's security requirements checked against the request, and
//! the fixture-defined token rules (revoked keys, keys limited to some eval groups).
//! Token values never leave this module: not in logs, not in error bodies.

use http::HeaderMap;

use crate::error::ErrorDetail;

use crate::fixtures::FixtureStore;
use crate::fixtures::model::TokenAccess;
use crate::spec::{ParamLocation, SecurityRequirement, SecurityScheme};

/// Why a request is not authenticated. Each renders to a 401 with its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// `what`: the header, query parameter or cookie that should carry the credential;
    /// `scheme`: the `Authorization` scheme word it wants, when it is that header.
    Missing {
        what: String,
        scheme: Option<String>,
    },
    /// `what` is sent with no value (`scheme` as for `Missing`).
    Empty {
        what: String,
        scheme: Option<String>,
    },
    /// `Bearer` with nothing usable after it, or a token holding whitespace.
    Malformed,
    /// `Basic` credentials that are not base64 of `user:password`.
    MalformedBasic,
    /// `Basic ...` where a bearer token is expected, or a bare value that is not an API key;
    /// `expected` is the scheme word as the document spells it.
    WrongScheme {
        expected: String,
    },
    /// A scheme word (`Digest`) with no credentials after it.
    NoCredentials {
        scheme: String,
    },
    Revoked,
    /// A token the API could never have issued (not shaped like any of its credentials).
    Unrecognised,
    /// More than one `Authorization` header: which one counts is ambiguous, so none does.
    Ambiguous,
}

impl AuthFailure {
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::Missing { .. } => "MISSING_CREDENTIALS",
            AuthFailure::Empty { .. }
            | AuthFailure::Malformed
            | AuthFailure::MalformedBasic
            | AuthFailure::NoCredentials { .. } => "MALFORMED_CREDENTIALS",
            AuthFailure::WrongScheme { .. } => "UNSUPPORTED_AUTH_SCHEME",
            AuthFailure::Revoked => "REVOKED_API_KEY",
            AuthFailure::Unrecognised => "INVALID_API_KEY",
            AuthFailure::Ambiguous => "MALFORMED_CREDENTIALS",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AuthFailure::Missing { what, .. } => format!("no credentials: {what} is missing"),
            AuthFailure::Empty { what, .. } => format!("{what} is empty"),
            AuthFailure::Malformed => "the Authorization header is malformed".into(),
            AuthFailure::MalformedBasic => {
                "the Basic credentials are not base64 of `user:password`".into()
            }
            AuthFailure::WrongScheme { expected } => {
                format!("the Authorization header must use the {expected} scheme")
            }
            AuthFailure::NoCredentials { scheme } => {
                format!(
                    "the Authorization header names the {scheme} scheme but carries no credentials"
                )
            }
            AuthFailure::Revoked => "this API key has been revoked".into(),
            AuthFailure::Unrecognised => "the API key is not valid".into(),
            AuthFailure::Ambiguous => {
                "more than one Authorization header was sent; send exactly one".into()
            }
        }
    }

    /// What to do about it; `key_hint` (from the domain, e.g. what the API's keys look like)
    /// is added where it helps.
    pub fn suggestion(&self, key_hint: Option<&str>) -> String {
        // The scheme the operation wants, in the document's spelling, decides the words.
        let scheme = match self {
            AuthFailure::Revoked => {
                return "Create a new API key in the dashboard and use it instead.".into();
            }
            AuthFailure::Missing { what, scheme: None }
            | AuthFailure::Empty { what, scheme: None } => {
                return format!("Send {what} with your API key.");
            }
            AuthFailure::Missing {
                scheme: Some(scheme),
                ..
            }
            | AuthFailure::Empty {
                scheme: Some(scheme),
                ..
            }
            | AuthFailure::WrongScheme { expected: scheme }
            | AuthFailure::NoCredentials { scheme } => scheme.as_str(),
            AuthFailure::MalformedBasic => "Basic",
            AuthFailure::Malformed | AuthFailure::Unrecognised | AuthFailure::Ambiguous => "Bearer",
        };
        match (scheme, key_hint) {
            ("Basic", _) => "Send `Authorization: Basic <base64 of user:password>`.".into(),
            ("Bearer", Some(hint)) => {
                format!("Send `Authorization: Bearer <your API key>` ({hint}).")
            }
            ("Bearer", None) => "Send `Authorization: Bearer <your API key>`.".into(),
            (scheme, _) => format!("Send `Authorization: {scheme} <credentials>`."),
        }
    }

    /// The error detail the API answers with.
    pub fn detail(&self, key_hint: Option<&str>) -> ErrorDetail {
        ErrorDetail::new(self.code(), self.message()).suggest(self.suggestion(key_hint))
    }
}

/// How an API's credentials look, as its domain describes them; the generic default accepts
/// only what the security schemes say.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// Bare `Authorization` values accepted in place of `Bearer <token>` (an API whose docs
    /// send the key without the scheme word).
    pub bare_key_prefixes: Vec<String>,
    /// Added to the 401 suggestion, e.g. "keys start with ...".
    pub key_hint: Option<String>,
    /// The shapes a credential the API issues can have; a token of no such shape is refused
    /// as the real service would refuse it. Empty: any token (the generic default).
    pub token_shapes: Vec<regex::Regex>,
}

impl AuthSettings {
    /// Whether `token` could have been issued by the API.
    fn recognises(&self, token: &str) -> bool {
        self.token_shapes.is_empty() || self.token_shapes.iter().any(|shape| shape.is_match(token))
    }
}

/// What an authenticated caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operation needs no authentication, or the key has full access.
    Full,
    /// The key may read only these eval groups.
    Groups(Vec<String>),
}

impl Principal {
    pub fn may_read_group(&self, eval_group_id: &str) -> bool {
        match self {
            Principal::Full => true,
            Principal::Groups(groups) => groups.iter().any(|g| g == eval_group_id),
        }
    }
}

/// Checks `requirements` (alternatives; each a set of schemes that must all pass).
/// `accept_any_token` (`--accept-any-token`) lifts the token shape rule of `settings`.
/// `bare_key_prefixes`: bare values accepted in place of `Bearer <token>` (see [`AuthSettings`]).
pub fn authenticate(
    requirements: &[SecurityRequirement],
    headers: &HeaderMap,
    query: Option<&str>,
    fixtures: &FixtureStore,
    settings: &AuthSettings,
    accept_any_token: bool,
) -> Result<Principal, AuthFailure> {
    if requirements.is_empty() || requirements.iter().any(|r| r.schemes.is_empty()) {
        return Ok(Principal::Full);
    }
    let bare_key_prefixes = &settings.bare_key_prefixes;
    let mut first_failure = None;
    for requirement in requirements {
        let mut principal = Principal::Full;
        let mut failure = None;
        for scheme in &requirement.schemes {
            match credential(scheme, headers, query, bare_key_prefixes) {
                Ok(token) => match fixtures.token_access(&token) {
                    Some(TokenAccess::Revoked) => failure = Some(AuthFailure::Revoked),
                    Some(TokenAccess::Groups { groups }) => {
                        principal = Principal::Groups(groups.clone())
                    }
                    // A fixture token is known whatever its shape; others must look real.
                    None if !accept_any_token && !settings.recognises(&token) => {
                        failure = Some(AuthFailure::Unrecognised)
                    }
                    None => {}
                },
                Err(f) => failure = Some(f),
            }
            if failure.is_some() {
                break;
            }
        }
        match failure {
            None => return Ok(principal),
            Some(f) => {
                first_failure.get_or_insert(f);
            }
        }
    }
    Err(first_failure.unwrap_or(AuthFailure::Malformed))
}

/// The credential a scheme finds in the request.
fn credential(
    scheme: &SecurityScheme,
    headers: &HeaderMap,
    query: Option<&str>,
    bare_key_prefixes: &[String],
) -> Result<String, AuthFailure> {
    match scheme {
        SecurityScheme::Bearer { .. } => {
            let value = authorization(headers, "Bearer")?;
            let (word, rest) = value.split_once(' ').unwrap_or((value, ""));
            if word.eq_ignore_ascii_case("bearer") {
                let token = rest.trim();
                if token.is_empty() || token.contains(char::is_whitespace) {
                    return Err(AuthFailure::Malformed);
                }
                return Ok(token.to_string());
            }
            if rest.is_empty()
                && bare_key_prefixes
                    .iter()
                    .any(|p| value.starts_with(p.as_str()))
            {
                return Ok(value.to_string());
            }
            Err(AuthFailure::WrongScheme {
                expected: "Bearer".into(),
            })
        }
        SecurityScheme::Basic { .. } => {
            let value = authorization(headers, "Basic")?;
            let (word, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !word.eq_ignore_ascii_case("basic") {
                return Err(AuthFailure::WrongScheme {
                    expected: "Basic".into(),
                });
            }
            basic_user(rest.trim()).ok_or(AuthFailure::MalformedBasic)?;
            Ok(rest.trim().to_string())
        }
        SecurityScheme::Http { scheme, .. } => {
            let value = authorization(headers, scheme)?;
            let (word, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !word.eq_ignore_ascii_case(scheme) {
                return Err(AuthFailure::WrongScheme {
                    expected: scheme.clone(),
                });
            }
            match rest.trim() {
                "" => Err(AuthFailure::NoCredentials {
                    scheme: scheme.clone(),
                }),
                credentials => Ok(credentials.to_string()),
            }
        }
        SecurityScheme::ApiKey {
            location,
            parameter,
            ..
        } => {
            let found = match location {
                ParamLocation::Header => headers
                    .get(parameter.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                ParamLocation::Query => query.and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == parameter.as_str())
                        .map(|(_, v)| v.into_owned())
                }),
                ParamLocation::Cookie | ParamLocation::Path => crate::decode::cookie_pairs(headers)
                    .find(|(k, _)| k == parameter)
                    .map(|(_, v)| v.to_string()),
            };
            match found {
                None => Err(AuthFailure::Missing {
                    what: match location {
                        ParamLocation::Query => format!("the `{parameter}` query parameter"),
                        ParamLocation::Cookie | ParamLocation::Path => {
                            format!("the `{parameter}` cookie")
                        }
                        ParamLocation::Header => format!("the `{parameter}` header"),
                    },
                    scheme: None,
                }),
                Some(v) if v.trim().is_empty() => Err(AuthFailure::Empty {
                    what: format!("the `{parameter}` {location}"),
                    scheme: None,
                }),
                Some(v) => Ok(v.trim().to_string()),
            }
        }
    }
}

/// The one `Authorization` header's value, for a scheme whose word is `scheme`.
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Result<&'h str, AuthFailure> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next().ok_or_else(|| AuthFailure::Missing {
        what: "the Authorization header".into(),
        scheme: Some(scheme.to_string()),
    })?;
    if values.next().is_some() {
        return Err(AuthFailure::Ambiguous);
    }
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
    if value.is_empty() {
        return Err(AuthFailure::Empty {
            what: "the Authorization header".into(),
            scheme: Some(scheme.to_string()),
        });
    }
    Ok(value)
}

/// The user of `Basic` credentials: base64 (standard alphabet, padded) of `user:password`
/// with a non-empty user; `None` when the credentials are not that.
fn basic_user(encoded: &str) -> Option<String> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    (!user.is_empty()).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer_only() -> Vec<SecurityRequirement> {
        vec![SecurityRequirement {
            schemes: vec![SecurityScheme::Bearer {
                name: "BearerAuth".into(),
            }],
        }]
    }

    fn check(authorization: Option<&str>) -> Result<Principal, AuthFailure> {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(
                http::header::AUTHORIZATION,
                value.parse().expect("header value"),
            );
        }
        let settings = AuthSettings {
            bare_key_prefixes: vec!["rt_".to_string()],
            ..AuthSettings::default()
        };
        authenticate(
            &bearer_only(),
            &headers,
            None,
            &FixtureStore::default(),
            &settings,
            false,
        )
    }

    #[test]
    fn a_bearer_token_or_a_bare_rt_key_is_accepted() {
        assert_eq!(check(Some("Bearer anything-at-all")), Ok(Principal::Full));
        assert_eq!(check(Some("bearer rt_test_abc")), Ok(Principal::Full));
        assert_eq!(check(Some("rt_test_abc")), Ok(Principal::Full));
    }

    #[test]
    fn missing_empty_malformed_and_other_schemes_are_refused() {
        assert!(matches!(check(None), Err(AuthFailure::Missing { .. })));
        assert_eq!(
            check(Some("   ")).map_err(|f| f.message()),
            Err("the Authorization header is empty".to_string())
        );
        assert_eq!(check(Some("Bearer")), Err(AuthFailure::Malformed));
        assert_eq!(check(Some("Bearer ")), Err(AuthFailure::Malformed));
        assert_eq!(check(Some("Bearer a b")), Err(AuthFailure::Malformed));
        assert_eq!(
            check(Some("Basic dXNlcjpwYXNz")),
            Err(AuthFailure::WrongScheme {
                expected: "Bearer".into()
            })
        );
        assert_eq!(
            check(Some("sk_live_abc")),
            Err(AuthFailure::WrongScheme {
                expected: "Bearer".into()
            })
        );
    }

    #[test]
    fn an_operation_without_security_needs_no_credentials() {
        let result = authenticate(
            &[],
            &HeaderMap::new(),
            None,
            &FixtureStore::default(),
            &AuthSettings::default(),
            false,
        );
        assert_eq!(result, Ok(Principal::Full));
    }

    fn run(
        requirements: Vec<Vec<SecurityScheme>>,
        headers: &[(&str, &str)],
        query: Option<&str>,
    ) -> Result<Principal, AuthFailure> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        let requirements: Vec<SecurityRequirement> = requirements
            .into_iter()
            .map(|schemes| SecurityRequirement { schemes })
            .collect();
        authenticate(
            &requirements,
            &map,
            query,
            &FixtureStore::default(),
            &AuthSettings::default(),
            false,
        )
    }

    fn api_key(location: ParamLocation, parameter: &str) -> SecurityScheme {
        SecurityScheme::ApiKey {
            name: "key".into(),
            location,
            parameter: parameter.into(),
        }
    }

    fn basic() -> SecurityScheme {
        SecurityScheme::Basic {
            name: "basic".into(),
        }
    }

    fn missing(what: &str) -> Result<Principal, AuthFailure> {
        Err(AuthFailure::Missing {
            what: what.into(),
            scheme: None,
        })
    }

    #[test]
    fn an_api_key_is_read_from_its_header_query_parameter_or_cookie_only() {
        let header = || vec![vec![api_key(ParamLocation::Header, "X-Key")]];
        assert_eq!(run(header(), &[("x-key", "k")], None), Ok(Principal::Full));
        assert_eq!(
            run(header(), &[], Some("X-Key=k")),
            missing("the `X-Key` header")
        );
        assert_eq!(
            run(header(), &[("x-key", "  ")], None),
            Err(AuthFailure::Empty {
                what: "the `X-Key` header".into(),
                scheme: None,
            })
        );

        let query = || vec![vec![api_key(ParamLocation::Query, "api_key")]];
        assert_eq!(
            run(query(), &[], Some("a=1&api_key=k%20")),
            Ok(Principal::Full)
        );
        assert_eq!(
            run(query(), &[("api_key", "k")], Some("x=1")),
            missing("the `api_key` query parameter")
        );
        assert_eq!(
            run(query(), &[], None),
            missing("the `api_key` query parameter")
        );
        assert_eq!(
            run(query(), &[], Some("api_key=")),
            Err(AuthFailure::Empty {
                what: "the `api_key` query".into(),
                scheme: None,
            })
        );

        let cookie = || vec![vec![api_key(ParamLocation::Cookie, "sid")]];
        assert_eq!(
            run(cookie(), &[("cookie", "a=1; sid=k")], None),
            Ok(Principal::Full)
        );
        assert_eq!(
            run(cookie(), &[("cookie", "sidx=k")], Some("sid=k")),
            missing("the `sid` cookie")
        );
        let failure = run(cookie(), &[], None).expect_err("refused");
        assert_eq!(failure.code(), "MISSING_CREDENTIALS");
        assert_eq!(
            failure.message(),
            "no credentials: the `sid` cookie is missing"
        );
        assert_eq!(
            failure.suggestion(None),
            "Send the `sid` cookie with your API key."
        );
    }

    #[test]
    fn basic_credentials_must_be_base64_of_user_and_password() {
        let only_basic = || vec![vec![basic()]];
        let with = |value: &str| run(only_basic(), &[("authorization", value)], None);
        assert_eq!(with("Basic dXNlcjpwYXNz"), Ok(Principal::Full)); // user:pass
        assert_eq!(with("basic dXNlcjo="), Ok(Principal::Full)); // user: (empty password)
        assert_eq!(with("Basic bm9jb2xvbg=="), Err(AuthFailure::MalformedBasic)); // nocolon
        assert_eq!(with("Basic OnBhc3M="), Err(AuthFailure::MalformedBasic)); // :pass
        assert_eq!(with("Basic %%%"), Err(AuthFailure::MalformedBasic));
        assert_eq!(with("Basic "), Err(AuthFailure::MalformedBasic));
        assert_eq!(
            with("Bearer t"),
            Err(AuthFailure::WrongScheme {
                expected: "Basic".into()
            })
        );
        assert_eq!(
            run(only_basic(), &[], None),
            Err(AuthFailure::Missing {
                what: "the Authorization header".into(),
                scheme: Some("Basic".into()),
            })
        );
        let failure = AuthFailure::MalformedBasic;
        assert_eq!(failure.code(), "MALFORMED_CREDENTIALS");
        assert_eq!(
            failure.suggestion(Some("hint")),
            "Send `Authorization: Basic <base64 of user:password>`."
        );
        assert_eq!(
            AuthFailure::WrongScheme {
                expected: "Basic".into()
            }
            .suggestion(None),
            "Send `Authorization: Basic <base64 of user:password>`."
        );
        assert_eq!(basic_user("dXNlcjpwYXNz").as_deref(), Some("user"));
    }

    #[test]
    fn requirements_are_alternatives_and_schemes_within_one_all_apply() {
        let header = || api_key(ParamLocation::Header, "X-Key");
        let query = || api_key(ParamLocation::Query, "k");
        // OR: either requirement is enough; the first requirement's failure is reported.
        let either = || vec![vec![header()], vec![basic()]];
        assert_eq!(run(either(), &[("x-key", "v")], None), Ok(Principal::Full));
        assert_eq!(
            run(either(), &[("authorization", "Basic dXNlcjpwYXNz")], None),
            Ok(Principal::Full)
        );
        assert_eq!(run(either(), &[], None), missing("the `X-Key` header"));
        // AND: both schemes of one requirement.
        let both = || vec![vec![header(), query()]];
        assert_eq!(
            run(both(), &[("x-key", "v")], Some("k=v")),
            Ok(Principal::Full)
        );
        assert_eq!(
            run(both(), &[("x-key", "v")], None),
            missing("the `k` query parameter")
        );
        assert_eq!(run(both(), &[], Some("k=v")), missing("the `X-Key` header"));
        // An empty requirement (`security: [{}]`) opts out.
        assert_eq!(
            run(vec![vec![header()], vec![]], &[], None),
            Ok(Principal::Full)
        );
    }
}
