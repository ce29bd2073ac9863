//! The generic request model over our corpus (`tests/data/specs/`): parameter styles,
//! cookies, server base paths, form/multipart/text/XML bodies, every security scheme,
//! callbacks and webhooks, an undeclared path parameter. Each feature gets a valid and an
//! invalid request; a refusal names the parameter and where it was sent.

use evalmock::config::Sources;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn serve(file: &str) -> TestApp {
    TestApp::spawn_with(
        Sources {
            spec: Some(repo_path(&format!("tests/data/specs/{file}"))),
            ..Sources::default()
        },
        instant(),
    )
    .await
}

/// The mock's marked 400 problem, with the `details[].path` it names.
fn assert_refused(reply: &Reply, paths: &[&str], context: &str) {
    assert_eq!(reply.status, 400, "{context}: {}", reply.body);
    // None of these operations declares a 4xx: the mock's own marked 400 problem.
    assert_eq!(
        reply.header("evalmock-error"),
        Some("undeclared-status"),
        "{context}: {}",
        reply.body
    );
    assert_eq!(reply.detail_paths(), paths, "{context}: {}", reply.body);
}

#[tokio::test]
async fn every_parameter_style_is_decoded_and_validated() {
    let app = serve("param-styles.yaml").await;
    let get = |path: &str| app.request(Method::GET, path);
    let ok = send(
        get("/styles/1,2/.3,4/;x=5;y=6?tags=a,b&ns=1%202&ps=1|2&filter[min]=1&filter[max]=9&where=%7B%22a%22%3A1%7D")
            .header("X-Ids", "1,2,3"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body, json!({"ok": true}));

    for (path, header, expected, why) in [
        (
            "/styles/1,x/.3,4/;x=5;y=6",
            None,
            "path.ids[1]",
            "a simple array item that is not an integer",
        ),
        (
            "/styles/1/.3/;x=5;y=6",
            None,
            "path.coords",
            "a label array under minItems",
        ),
        (
            "/styles/1/3,4/;x=5;y=6",
            None,
            "path.coords",
            "a label value without its `.`",
        ),
        (
            "/styles/1/.3,4/;x=5",
            None,
            "path.point.y",
            "a matrix object missing a required property",
        ),
        (
            "/styles/1/.3,4/x=5;y=6",
            None,
            "path.point",
            "a matrix value without its `;`",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?tags=a,z",
            None,
            "query.tags[1]",
            "a form array item out of its enum",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?ns=1%20two",
            None,
            "query.ns[1]",
            "a spaceDelimited item",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?ps=1|two",
            None,
            "query.ps[1]",
            "a pipeDelimited item",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?filter[min]=low",
            None,
            "query.filter.min",
            "a deepObject property",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?filter[other]=1",
            None,
            "query.filter.other",
            "an unknown deepObject property",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6?where=%7B%7D",
            None,
            "query.where.a",
            "a JSON content parameter",
        ),
        (
            "/styles/1/.3,4/;x=5;y=6",
            Some("1,2,3,4"),
            "header.X-Ids",
            "a header array over maxItems",
        ),
    ] {
        let mut request = get(path);
        if let Some(value) = header {
            request = request.header("X-Ids", value);
        }
        assert_refused(&send(request).await, &[expected], why);
    }
}

#[tokio::test]
async fn cookie_parameters_are_required_and_validated() {
    let app = serve("cookies.yaml").await;
    let with_cookie = |cookie: &str| {
        app.request(Method::GET, "/session")
            .header("Cookie", cookie.to_string())
    };
    let ok = send(with_cookie("theme=dark; session=abc123; visits=4")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_refused(
        &send(app.request(Method::GET, "/session")).await,
        &["cookie.session"],
        "no cookie",
    );
    let missing = send(with_cookie("theme=dark")).await;
    assert_refused(&missing, &["cookie.session"], "no session cookie");
    assert_eq!(missing.body["details"][0]["code"], "MISSING_PARAMETER");
    assert_refused(
        &send(with_cookie("session=ab")).await,
        &["cookie.session"],
        "too short",
    );
    assert_refused(
        &send(with_cookie("session=abc; theme=blue")).await,
        &["cookie.theme"],
        "enum",
    );
    assert_refused(
        &send(with_cookie("session=abc; visits=-1")).await,
        &["cookie.visits"],
        "minimum",
    );
}

#[tokio::test]
async fn operations_are_served_under_each_server_base_path_and_at_the_root() {
    let app = serve("servers-variables.yaml").await;
    for path in ["/api/v3/items/1", "/relative/items/1", "/items/1"] {
        let reply = send(app.request(Method::GET, path)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.body, json!({"id": 1}), "{path}");
    }
    // The variables' defaults only: another enum value is not a base path.
    let other = send(app.request(Method::GET, "/api/v2/items/1")).await;
    assert_eq!(other.status, 404, "{}", other.body);
    // A prefix that is not a whole segment is not the base path.
    let partial = send(app.request(Method::GET, "/api/v30/items/1")).await;
    assert_eq!(partial.status, 404);
    assert_refused(
        &send(app.request(Method::GET, "/api/v3/items/one")).await,
        &["path.id"],
        "validated under the base path too",
    );
    // A path item's servers replace the document's for its operations, an operation's
    // replace the path item's; each is still served at the root.
    for (method, path, status) in [
        (Method::GET, "/v1/legacy/items", 200),
        (Method::GET, "/legacy/items", 200),
        (Method::GET, "/api/v3/legacy/items", 404),
        (Method::GET, "/beta/write/legacy/items", 404),
        (Method::POST, "/beta/write/legacy/items", 204),
        (Method::POST, "/legacy/items", 204),
        (Method::POST, "/v1/legacy/items", 404),
        (Method::GET, "/v1/items/1", 404),
    ] {
        let reply = send(app.request(method.clone(), path)).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
    }
    let health = send(app.request(Method::GET, "/__mock/health")).await;
    assert_admin_contract("GET", "/__mock/health", &health);
    assert_eq!(
        health.body["spec"]["basePaths"],
        json!(["/beta/write", "/relative", "/api/v3", "/v1"])
    );
}

#[tokio::test]
async fn form_bodies_are_decoded_coerced_and_validated() {
    let app = serve("bodies.yaml").await;
    let form = |body: &'static str| {
        app.request(Method::POST, "/form")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let ok = send(form("name=Ada+L&age=36&tags=x&tags=y&ids=1,2")).await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_refused(
        &send(form("age=36")).await,
        &["name"],
        "a required field missing",
    );
    assert_refused(
        &send(form("name=A&age=-1")).await,
        &["age"],
        "a coerced integer out of range",
    );
    assert_refused(
        &send(form("name=A&age=old")).await,
        &["age"],
        "not an integer",
    );
    assert_refused(
        &send(form("name=A&ids=1,x")).await,
        &["ids[1]"],
        "a comma-separated item",
    );
    let json = send(
        app.request(Method::POST, "/form")
            .header("Content-Type", "application/json")
            .body(r#"{"name": "A"}"#),
    )
    .await;
    assert_eq!(json.status, 400);
    assert_eq!(json.body["details"][0]["code"], "UNSUPPORTED_CONTENT_TYPE");
}

#[tokio::test]
async fn multipart_bodies_are_parsed_and_validated() {
    let app = serve("bodies.yaml").await;
    let upload = |parts: &[(&str, Option<&str>, &str)]| {
        let mut body = String::new();
        for (name, filename, value) in parts {
            body.push_str("--BOUNDARY\r\n");
            match filename {
                Some(f) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )),
                None => body.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")),
            }
            body.push_str(value);
            body.push_str("\r\n");
        }
        body.push_str("--BOUNDARY--\r\n");
        app.request(Method::POST, "/upload")
            .header("Content-Type", "multipart/form-data; boundary=BOUNDARY")
            .body(body)
    };
    let ok = send(upload(&[
        ("title", None, "report"),
        ("count", None, "3"),
        ("file", Some("a.bin"), "\u{1}\u{2}"),
    ]))
    .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_refused(
        &send(upload(&[("title", None, "report")])).await,
        &["file"],
        "the file part missing",
    );
    assert_refused(
        &send(upload(&[
            ("title", None, "r"),
            ("count", None, "11"),
            ("file", Some("a"), "x"),
        ]))
        .await,
        &["count"],
        "a coerced field over its maximum",
    );
    // Non-ASCII part names are fine (an extra part is allowed by the schema)...
    let unicode = send(upload(&[
        ("title", None, "report"),
        ("file", Some("a.bin"), "x"),
        ("ü€𡓄", None, "extra"),
    ]))
    .await;
    assert_eq!(unicode.status, 204, "{}", unicode.body);
    // ...a control character in a part's header is a malformed body, said plainly.
    let control = send(upload(&[
        ("title", None, "report"),
        ("file", Some("a.bin"), "x"),
        ("a\u{11}b", None, "extra"),
    ]))
    .await;
    assert_eq!(control.status, 400, "{}", control.body);
    assert_eq!(control.body["details"][0]["code"], "MALFORMED_BODY");
    let message = control.body["details"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("control character"), "{message}");
    let broken = send(
        app.request(Method::POST, "/upload")
            .header("Content-Type", "multipart/form-data; boundary=BOUNDARY")
            .body("--BOUNDARY\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nno end"),
    )
    .await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert_eq!(broken.body["details"][0]["code"], "MALFORMED_BODY");
    let no_boundary = send(
        app.request(Method::POST, "/upload")
            .header("Content-Type", "multipart/form-data")
            .body("x"),
    )
    .await;
    assert_eq!(no_boundary.body["details"][0]["code"], "MALFORMED_BODY");
}

#[tokio::test]
async fn text_is_validated_as_a_string_and_xml_or_binary_are_accepted_as_sent() {
    let app = serve("bodies.yaml").await;
    let post = |path: &str, ct: &str, body: &'static str| {
        app.request(Method::POST, path)
            .header("Content-Type", ct.to_string())
            .body(body)
    };
    assert_eq!(send(post("/text", "text/plain", "short")).await.status, 204);
    let long = send(post(
        "/text",
        "text/plain; charset=utf-8",
        "far too long a text",
    ))
    .await;
    assert_eq!(long.status, 400);
    assert_eq!(long.body["details"][0]["code"], "INVALID_LENGTH");
    assert_eq!(
        send(post("/xml", "application/xml", "<a><name>x</name></a>"))
            .await
            .status,
        204
    );
    assert_eq!(
        send(post("/raw", "application/octet-stream", "\u{0}bytes"))
            .await
            .status,
        204
    );
    let wrong = send(post("/xml", "text/plain", "x")).await;
    assert_eq!(wrong.body["details"][0]["code"], "UNSUPPORTED_CONTENT_TYPE");

    let health = send(app.request(Method::GET, "/__mock/health")).await;
    assert_eq!(
        health.body["spec"]["warnings"][0]["pointer"],
        "/paths/~1xml/post/requestBody/content/application~1xml/schema"
    );
}

#[tokio::test]
async fn each_security_scheme_accepts_its_credential_and_refuses_a_missing_or_malformed_one() {
    let app = serve("security-schemes.yaml").await;
    let basic = "Basic dXNlcjpwYXNz"; // user:pass
    // (path, headers, the 401's code; "" for 200)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("/header", &[("X-API-Key", "k1")], ""),
        ("/header", &[], "MISSING_CREDENTIALS"),
        ("/header", &[("X-API-Key", " ")], "MALFORMED_CREDENTIALS"),
        (
            "/header",
            &[("Authorization", "Bearer k1")],
            "MISSING_CREDENTIALS",
        ),
        ("/query?api_key=k1", &[], ""),
        ("/query", &[("X-API-Key", "k1")], "MISSING_CREDENTIALS"),
        ("/query?api_key=", &[], "MALFORMED_CREDENTIALS"),
        ("/cookie", &[("Cookie", "a=1; sid=k1")], ""),
        ("/cookie", &[("Cookie", "sidx=k1")], "MISSING_CREDENTIALS"),
        ("/basic", &[("Authorization", basic)], ""),
        (
            "/basic",
            &[("Authorization", "Basic bm9jb2xvbg==")],
            "MALFORMED_CREDENTIALS",
        ), // "nocolon"
        (
            "/basic",
            &[("Authorization", "Basic %%%")],
            "MALFORMED_CREDENTIALS",
        ),
        (
            "/basic",
            &[("Authorization", "Bearer t")],
            "UNSUPPORTED_AUTH_SCHEME",
        ),
        ("/basic", &[], "MISSING_CREDENTIALS"),
        ("/bearer", &[("Authorization", "Bearer eyJ.x.y")], ""),
        (
            "/bearer",
            &[("Authorization", basic)],
            "UNSUPPORTED_AUTH_SCHEME",
        ),
        ("/bearer", &[], "MISSING_CREDENTIALS"),
        // Any other http scheme: its own word (any case) with credentials after it; what
        // the credentials prove (a digest of the server's nonce) a mock cannot check.
        (
            "/digest",
            &[("Authorization", r#"Digest username="u", response="x""#)],
            "",
        ),
        ("/digest", &[("Authorization", "digest u")], ""),
        (
            "/digest",
            &[("Authorization", "Bearer t")],
            "UNSUPPORTED_AUTH_SCHEME",
        ),
        (
            "/digest",
            &[("Authorization", "Digest")],
            "MALFORMED_CREDENTIALS",
        ),
        ("/digest", &[], "MISSING_CREDENTIALS"),
        ("/oidc", &[("Authorization", "Bearer t")], ""),
        ("/oidc", &[], "MISSING_CREDENTIALS"),
        ("/either", &[("X-API-Key", "k1")], ""),
        ("/either", &[("Authorization", basic)], ""),
        (
            "/either",
            &[("Authorization", "Bearer t")],
            "MISSING_CREDENTIALS",
        ),
        ("/both?api_key=k2", &[("X-API-Key", "k1")], ""),
        ("/both", &[("X-API-Key", "k1")], "MISSING_CREDENTIALS"),
        ("/both?api_key=k2", &[], "MISSING_CREDENTIALS"),
        ("/open", &[], ""),
        ("/mtls", &[], ""),
    ];
    for (path, headers, code) in cases {
        let mut request = app.request(Method::GET, path);
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let reply = send(request).await;
        let context = format!("{path} with {headers:?}");
        if code.is_empty() {
            assert_eq!(reply.status, 200, "{context}: {}", reply.body);
            assert_eq!(reply.body, json!({"ok": true}), "{context}");
        } else {
            // The API's declared 401 shape (`error`), with the reason in `details`.
            assert_eq!(reply.status, 401, "{context}: {}", reply.body);
            assert_eq!(reply.header("evalmock-error"), None, "{context}");
            assert!(reply.body["error"].is_string(), "{context}: {}", reply.body);
            assert_eq!(
                reply.body["details"][0]["code"], *code,
                "{context}: {}",
                reply.body
            );
            // The suggestion names the scheme the operation wants, in that scheme's words.
            let suggestion = match *path {
                "/digest" if headers.len() == 1 => {
                    Some("Send `Authorization: Digest <credentials>`.")
                }
                "/bearer" => Some("Send `Authorization: Bearer <your API key>`."),
                "/basic" => Some("Send `Authorization: Basic <base64 of user:password>`."),
                "/header" => Some("Send the `X-API-Key` header with your API key."),
                _ => None,
            };
            if let Some(suggestion) = suggestion {
                assert_eq!(
                    reply.body["details"][0]["suggestion"], suggestion,
                    "{context}"
                );
            }
        }
    }
    // An oauth2 operation that declares no 401: the mock's own marked 400 problem (never an
    // undeclared status), still naming why.
    let refused = send(app.request(Method::GET, "/oauth")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.header("evalmock-error"), Some("undeclared-status"));
    assert_eq!(refused.body["details"][0]["code"], "MISSING_CREDENTIALS");
    let allowed = send(
        app.request(Method::GET, "/oauth")
            .header("Authorization", "Bearer t"),
    )
    .await;
    assert_eq!(allowed.status, 200);
}

#[tokio::test]
async fn callbacks_and_webhooks_are_listed_not_served() {
    let app = serve("callbacks-webhooks.yaml").await;
    let health = send(app.request(Method::GET, "/__mock/health")).await;
    assert_admin_contract("GET", "/__mock/health", &health);
    assert_eq!(
        health.body["spec"]["notServed"],
        json!([
            "callback onEvent of POST /subscribe: POST {$request.body#/url}/events",
            "webhook newPet: POST"
        ])
    );
    assert_eq!(health.body["spec"]["operations"], json!(["subscribe"]));
    let webhook = send(app.request(Method::POST, "/newPet")).await;
    assert_eq!(webhook.status, 404);
    let subscribed = send(
        app.request(Method::POST, "/subscribe")
            .header("Content-Type", "application/json")
            .body(r#"{"url": "http://example.com"}"#),
    )
    .await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.body);

    let (code, stdout, _) = run_evalmock(&[
        "check",
        "--spec",
        repo_path("tests/data/specs/callbacks-webhooks.yaml")
            .to_str()
            .expect("UTF-8"),
    ]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("not served: ") && stdout.contains("webhook newPet: POST"),
        "{stdout}"
    );
}

#[tokio::test]
async fn an_undeclared_path_parameter_is_a_warning_and_a_required_string() {
    let app = serve("undeclared-path-param.yaml").await;
    let ok = send(app.request(Method::GET, "/items/anything/notes/3")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_refused(
        &send(app.request(Method::GET, "/items/anything/notes/three")).await,
        &["path.noteId"],
        "the declared one is still checked",
    );
    let health = send(app.request(Method::GET, "/__mock/health")).await;
    let warning = &health.body["spec"]["warnings"][0];
    assert_eq!(
        warning["pointer"],
        "/paths/~1items~1{itemId}~1notes~1{noteId}/get"
    );
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("`itemId`")),
        "{warning}"
    );
}

/// The page reads its warnings from health; the page's script must show them.
#[tokio::test]
async fn the_live_page_renders_the_load_warnings_from_health() {
    let app = serve("undeclared-path-param.yaml").await;
    let page = app
        .request(Method::GET, "/__mock/")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("id=\"spec-warnings\""),
        "the page has a warnings panel"
    );
    assert!(
        page.contains("showSpecWarnings(") && page.contains("s.warnings"),
        "and fills it from health"
    );
    let health = send(app.request(Method::GET, "/__mock/health")).await;
    let warnings: &Value = &health.body["specs"][0]["warnings"];
    assert_eq!(warnings.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_absent_body_is_refused_when_required_or_when_its_schema_requires_fields() {
    let app = serve("optional-bodies.yaml").await;
    // (path, status with no body at all)
    for (path, status) in [
        ("/required-loose", 400),
        ("/optional-strict", 400),
        ("/optional-loose", 204),
        ("/optional-schemaless", 204),
    ] {
        let reply = send(app.request(Method::POST, path)).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        if status == 400 {
            assert_eq!(
                reply.body["details"][0]["code"], "MISSING_BODY",
                "{path}: {}",
                reply.body
            );
        }
    }
    // With a body, the schema decides as usual.
    let named = send(
        app.request(Method::POST, "/optional-strict")
            .header("Content-Type", "application/json")
            .body(r#"{"name": "n"}"#),
    )
    .await;
    assert_eq!(named.status, 204, "{}", named.body);
}

#[tokio::test]
async fn a_free_form_exploded_query_object_takes_only_keys_no_other_parameter_declares() {
    let app = serve("optional-bodies.yaml").await;
    // `limit=5` is the declared integer, not a filter (a filter of "5" breaks its pattern).
    let reply = send(app.request(Method::GET, "/search?limit=5&color=red")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_refused(
        &send(app.request(Method::GET, "/search?limit=5&color=Red")).await,
        &["query.filters.color"],
        "a filter breaking its pattern",
    );
}

#[tokio::test]
async fn each_keyword_a_body_breaks_is_its_own_violation_in_its_own_words() {
    let app = serve("keywords.yaml").await;
    let post = |body: Value| {
        app.request(Method::POST, "/things")
            .header("Content-Type", "application/json")
            .body(body.to_string())
    };
    let valid = send(post(json!({
        "name": "n", "kind": "widget", "size": "small", "count": 1, "code": "abcd",
        "shortCode": "ab", "tags": ["a"], "moreTags": ["a"], "labels": {"a": 1},
        "moreLabels": {"a": 1}, "low": 10, "high": 10, "above": 1, "below": -1,
        "slug": "abc", "when": "2026-11-29T10:00:00Z", "notText": 5, "single": {"a": 1},
        "label": "l", "title": "t",
        "event": {"type": "b", "z": 1}, "unknownEvent": {"type": "b", "z": 2}
    })))
    .await;
    assert_eq!(valid.status, 201, "{}", valid.body);
    // Every property breaks its one keyword; `name` is missing and `extra` unknown.
    let refused = send(post(json!({
        "kind": "gadget", "size": "medium", "count": "7", "code": "ab",
        "shortCode": "abc", "tags": [], "moreTags": ["a", "b"], "labels": {},
        "moreLabels": {"a": 1, "b": 2}, "low": 9, "high": 11, "above": 0, "below": 0,
        "slug": "ABC", "when": "yesterday", "extra": true, "notText": "text", "single": {},
        "label": -3, "title": 1.5,
        "event": {"type": "a", "x": 1, "y": 1, "z": 1, "mode": "maybe"},
        "unknownEvent": {"type": "c"}
    })))
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let details: Vec<Value> = refused.body["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| json!({"code": d["code"], "path": d["path"], "message": d["message"], "suggestion": d["suggestion"]}))
        .collect();
    // One per keyword, the union's meant alternative's two errors, and the two errors of the
    // closest alternative for a `type` none names.
    assert_eq!(details.len(), 25, "{details:#?}");
    insta::assert_json_snapshot!("keywords_violations", details);
}
