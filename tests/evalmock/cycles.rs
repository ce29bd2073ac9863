//! `$ref` cycles (issue 11): a schema that every value must contain again, forever, has no
//! finite value. It loads with a warning naming the chain of pointers, `check` prints it (and
//! `--strict` fails on it), and an answer that needs it is the mock's own 500 problem, not a
//! cut-off value. Cycles with a way out (an optional or nullable step, an empty list) serve.

use evalmock::config::Sources;
use evalmock::spec::Spec;
use reqwest::Method;

use crate::helpers::*;

const DOCUMENT: &str = "tests/data/specs/ref-cycles.yaml";

const ENDLESS_CHAIN: &str =
    "#/components/schemas/EndlessNode -> /properties/next -> #/components/schemas/EndlessNode";
const PAIR_CHAIN: &str = "#/components/schemas/Left -> /allOf/0 -> #/components/schemas/Right -> /properties/lefts/items -> #/components/schemas/Left";

fn load() -> Spec {
    let text = std::fs::read_to_string(repo_path(DOCUMENT)).expect("document");
    Spec::load(&text, DOCUMENT).expect("loads leniently")
}

#[test]
fn a_cycle_without_a_finite_value_is_a_load_warning_with_its_pointer_chain() {
    let spec = load();
    let warnings: Vec<(&str, &str)> = spec
        .warnings()
        .iter()
        .map(|w| (w.pointer.as_str(), w.message.as_str()))
        .collect();
    let pointers: Vec<&str> = warnings.iter().map(|(p, _)| *p).collect();
    // Only the endless ones: LinkedNode, NullableNode and Tree have finite values.
    assert_eq!(
        pointers,
        [
            "/components/schemas/EndlessNode",
            "/components/schemas/Left",
            "/components/schemas/Right"
        ],
        "{warnings:#?}"
    );
    assert!(warnings[0].1.contains(ENDLESS_CHAIN), "{}", warnings[0].1);
    assert!(warnings[1].1.contains(PAIR_CHAIN), "{}", warnings[1].1);
}

#[test]
fn check_prints_the_cycle_and_strict_check_fails_on_it() {
    let path = repo_path(DOCUMENT);
    let path = path.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = run_evalmock(&["check", "--spec", path]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("warning:") && l.contains("EndlessNode"))
        .unwrap_or_else(|| panic!("no warning for the cycle: {stdout}"));
    assert!(line.contains(ENDLESS_CHAIN), "{line}");

    let (code, stdout, stderr) = run_evalmock(&["check", "--strict", "--spec", path]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(ENDLESS_CHAIN), "{stderr}");
}

async fn app() -> TestApp {
    TestApp::spawn_with(
        Sources {
            spec: Some(repo_path(DOCUMENT)),
            ..Sources::default()
        },
        instant(),
    )
    .await
}

#[tokio::test]
async fn an_answer_that_needs_an_endless_schema_is_the_mocks_500_problem_with_the_chain() {
    let app = app().await;
    for (path, chain) in [
        ("/nodes/endless", ENDLESS_CHAIN),
        ("/pairs/endless", PAIR_CHAIN),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 500, "{path}: {}", reply.body);
        assert_eq!(
            reply.header("evalmock-error"),
            Some("unsatisfiable-schema"),
            "{path}"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
        let detail = reply.body["detail"].as_str().expect("detail");
        assert!(detail.contains(chain), "{path}: {detail}");
    }
    let health = send(app.request(Method::GET, "/__mock/health")).await;
    let warnings = health.body["spec"]["warnings"]
        .as_array()
        .expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w["pointer"] == "/components/schemas/EndlessNode"
                && w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(ENDLESS_CHAIN))),
        "{warnings:#?}"
    );
}

#[tokio::test]
async fn cycles_with_a_way_out_are_served_with_valid_finite_values() {
    let spec = load();
    let app = app().await;
    for (path, operation) in [
        ("/nodes/linked", "getLinkedNode"),
        ("/nodes/nullable", "getNullableNode"),
        ("/trees", "getTree"),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(reply.body.is_object(), "{path}: {}", reply.body);
        let op = spec
            .operations()
            .iter()
            .find(|op| op.name.as_ref() == operation)
            .expect("operation");
        let violations = evalmock::engine::response_violations(op, &engine_reply(&reply));
        assert!(
            violations.is_empty(),
            "{path}: {violations:#?}\n{}",
            reply.body
        );
    }
}
