//! Micro-benchmarks of the request pipeline, one stage at a time, on the public docs'
//! compare-record request (the one `bench/compare.sh` drives over HTTP):
//!
//! - `route`: `Spec::route`, (method, path) -> operation;
//! - `request_validation`: `validate::validate_request` (content type, JSON parse, schema),
//!   with the bare `serde_json` parse beside it to split parse from schema checks;
//! - `engine`: the whole `Mock::handle` (route, Prefer, auth, request validation, domain,
//!   response validation, serialisation) for the docs request: the first time evalmock sees
//!   that body (the answer is built, validated and serialised, then memoised), again (answered
//!   from the memo), and without `stepIds` (answered from the cache filled at load);
//! - `assembly`: a record's answer serialised into a template (once per record at load) and a
//!   two-step filter assembled from it (per request): the path the docs request takes;
//! - `response_serialisation`: the compare-record body `Value` -> bytes (what the engine did
//!   per filtered request before assembly; still the path of computed answers);
//! - `response_validation`: `validate::schema_violations` of that body against the 200 schema;
//! - `load`: `app::load` of the embedded spec and fixtures (the start-up work).
//!
//! Run: `cargo bench --bench pipeline` (filter: `cargo bench --bench pipeline -- engine`).
//! `cargo test` neither builds nor runs this file.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use evalmock::config::{BUNDLED_SPEC, BUNDLED_SPEC_NAME};
use evalmock::engine::{Mock, MockBody, MockRequest, Outcome};
use evalmock::respond::assembled::{ItemsPath, PathStep, Template};
use evalmock::spec::{Operation, RouteMatch, Spec};
use evalmock::validate::{self, RequestInput};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

const PATH: &str = "/v1/eval/compare-record";

/// The request body of the public docs' curl example.
const DOCS_BODY: &[u8] = br#"{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001","stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002"]}"#;

/// The same request without `stepIds`: every step, answered from the load-time cache.
const UNFILTERED_BODY: &[u8] = br#"{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001"}"#;

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer rt_test_bench"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

fn compare_record_operation(spec: &Spec) -> &Operation {
    match spec.route(&Method::POST, PATH) {
        RouteMatch::Found { operation, .. } => spec.operation(operation),
        other => panic!("{PATH} does not route to an operation: {other:?}"),
    }
}

/// Runs the engine on one request. `handle` is async (an upstream may be awaited) but never
/// waits for the fixture paths benched here, so a current-thread runtime adds next to nothing.
fn handle(mock: &Mock, request: &MockRequest<'_>) -> Outcome {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(mock.handle(request)))
}

/// The engine's answer to `body`, checked to be a 200 so no bench measures an error path.
fn answer(mock: &Mock, method: &Method, headers: &HeaderMap, body: &'static [u8]) -> Bytes {
    let body = Bytes::from_static(body);
    let outcome = handle(
        mock,
        &MockRequest {
            method,
            path: PATH,
            query: None,
            headers,
            body: &body,
        },
    );
    let MockBody::Full(bytes) = outcome.response.body else {
        panic!("compare-record answers a whole body, not a stream");
    };
    assert_eq!(
        outcome.response.status,
        StatusCode::OK,
        "the bench request must succeed: {bytes:?}"
    );
    bytes
}

fn pipeline(c: &mut Criterion) {
    let spec = Spec::load(BUNDLED_SPEC, BUNDLED_SPEC_NAME).expect("the embedded spec loads");
    let mock = evalmock::app::load(&Default::default(), Default::default())
        .expect("the embedded spec and fixtures load");
    let op = compare_record_operation(&spec);
    let headers = headers();
    let post = Method::POST;

    c.bench_function("route/compare_record", |b| {
        b.iter(|| spec.route(black_box(&post), black_box(PATH)))
    });
    c.bench_function("route/get_group_with_path_param", |b| {
        b.iter(|| {
            spec.route(
                black_box(&Method::GET),
                black_box("/v1/eval/group/evalgrp_01jv0000000000000000000001"),
            )
        })
    });

    let input = RequestInput {
        path_params: &[],
        query: None,
        headers: &headers,
        body: DOCS_BODY,
    };
    assert!(
        validate::validate_request(op, &input).is_ok(),
        "the docs request is valid"
    );
    c.bench_function("request_validation/compare_record_docs", |b| {
        b.iter(|| validate::validate_request(black_box(op), black_box(&input)))
    });
    c.bench_function("request_validation/json_parse_only", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(DOCS_BODY)))
    });

    let docs_answer = answer(&mock, &post, &headers, DOCS_BODY);
    answer(&mock, &post, &headers, UNFILTERED_BODY);
    let docs_bytes = Bytes::from_static(DOCS_BODY);
    let unfiltered_bytes = Bytes::from_static(UNFILTERED_BODY);
    let request = |body| MockRequest {
        method: &post,
        path: PATH,
        query: None,
        headers: &headers,
        body,
    };
    let docs = request(&docs_bytes);
    c.bench_function("engine/handle_compare_record_docs_again", |b| {
        b.iter(|| handle(&mock, black_box(&docs)))
    });
    // A body the engine has not seen yet, every iteration: the docs request plus one step id
    // the flow does not have (it matches nothing, so the answer is the docs answer), made
    // unique by a counter. Prices the whole uncached pipeline; includes one small format!.
    let unseen = br#"{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001","stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002","step_bench_0"]}"#;
    assert_eq!(
        answer(&mock, &post, &headers, unseen),
        docs_answer,
        "an unknown step id changes nothing in the answer"
    );
    let mut n = 0u64;
    c.bench_function("engine/handle_compare_record_docs_first_time", |b| {
        b.iter(|| {
            n += 1;
            let body = format!(
                r#"{{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001","stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002","step_bench_{n}"]}}"#
            );
            let body = Bytes::from(body);
            handle(
                &mock,
                black_box(&MockRequest {
                    method: &post,
                    path: PATH,
                    query: None,
                    headers: &headers,
                    body: &body,
                }),
            )
        })
    });
    let unfiltered = request(&unfiltered_bytes);
    c.bench_function("engine/handle_compare_record_unfiltered_cached", |b| {
        b.iter(|| handle(&mock, black_box(&unfiltered)))
    });

    // Assembly (respond::assembled): what a filtered compare-record costs in the domain. The
    // record's unfiltered answer is serialised into a template once at load; a filter copies
    // the bytes of the steps it keeps.
    let unfiltered_answer = answer(&mock, &post, &headers, UNFILTERED_BODY);
    let unfiltered_value: Value =
        serde_json::from_slice(&unfiltered_answer).expect("the answer is JSON");
    const STEP_RESULTS: ItemsPath<'static> = ItemsPath {
        steps: &[
            PathStep::Field("evals"),
            PathStep::EachItem,
            PathStep::Field("stepResults"),
        ],
        key: "stepId",
    };
    let template = std::sync::Arc::new(Template::new(&unfiltered_value, STEP_RESULTS));
    let wanted = [
        "step_01jv0000000000000000000001",
        "step_01jv0000000000000000000002",
    ];
    assert_eq!(
        template.keeping(|step| wanted.contains(&step)).bytes,
        docs_answer,
        "the assembled answer is the engine's"
    );
    c.bench_function("assembly/template_at_load", |b| {
        b.iter(|| Template::new(black_box(&unfiltered_value), STEP_RESULTS))
    });
    c.bench_function("assembly/keeping_two_steps", |b| {
        b.iter(|| black_box(&template).keeping(|step| wanted.contains(&step)))
    });

    // The body the engine built for the docs request, as a `Value` again: what it serialised
    // and validated per request before answers were assembled (kept to price that path).
    let body: Value = serde_json::from_slice(&docs_answer).expect("the answer is JSON");
    c.bench_function("response_serialisation/compare_record_docs", |b| {
        // As `Mock::to_mock_response` does for a JSON reply.
        b.iter(|| Bytes::from(black_box(&body).to_string()))
    });

    let schema = op
        .response(200)
        .and_then(|r| {
            r.content
                .iter()
                .find(|m| validate::is_json_media(&m.media_type))
        })
        .and_then(|m| m.schema.as_ref())
        .expect("compare-record declares a JSON 200 schema");
    assert!(
        validate::schema_violations(schema, &body).is_empty(),
        "the answer is valid"
    );
    c.bench_function("response_validation/compare_record_docs", |b| {
        b.iter(|| validate::schema_violations(black_box(schema), black_box(&body)))
    });
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    // Milliseconds per iteration: fewer samples keep the run short.
    group.sample_size(20);
    group.bench_function("embedded_spec_and_fixtures", |b| {
        b.iter(|| evalmock::app::load(&Default::default(), Default::default()))
    });
    group.bench_function("embedded_spec_only", |b| {
        b.iter(|| Spec::load(black_box(BUNDLED_SPEC), BUNDLED_SPEC_NAME))
    });
    // Load time must grow linearly with operations (route building was quadratic): compare
    // the two sizes; the larger should take about four times as long, not sixteen.
    for operations in [2_500, 10_000] {
        let document = many_operations(operations);
        group.bench_function(format!("spec_with_{operations}_operations"), |b| {
            b.iter(|| Spec::load(black_box(&document), "generated"))
        });
    }
    group.finish();
}

/// A document of `n` operations, each its own path with a parameter and a small answer.
fn many_operations(n: usize) -> String {
    let mut paths = serde_json::Map::new();
    for i in 0..n {
        paths.insert(
            format!("/r{i}/items/{{id}}"),
            serde_json::json!({"get": {
                "operationId": format!("op{i}"),
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}
            }}),
        );
    }
    serde_json::json!({"openapi": "3.1.0", "info": {"title": "many", "version": "1"}, "paths": paths})
        .to_string()
}

criterion_group!(benches, pipeline, load);
criterion_main!(benches);
