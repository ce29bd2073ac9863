//! The baseline `bench/compare.sh` measures evalmock against: a bare axum server that does the
//! least any server answering compare-record must do, and nothing else.
//!
//! Kept honest on purpose, so the ratio evalmock/baseline prices exactly evalmock's own work
//! (routing over the spec, `Prefer`, authentication, request and response validation, the
//! domain lookup, CORS and tracing layers):
//! - the same HTTP stack and runtime as `evalmock serve`: axum over hyper HTTP/1, on
//!   `tokio::runtime::Runtime::new()` (multi-thread, one worker per core);
//! - the request body is collected with the same limit and parsed into a `serde_json::Value`
//!   (the same serde_json build, `preserve_order` on, that evalmock parses with);
//! - the answer is fixed bytes of the same size as evalmock's answer: `--response FILE` serves
//!   that file (compare.sh passes evalmock's own answer, captured with curl), `--size N` a
//!   padded JSON object of N bytes;
//! - no validation, no middleware, one route.
//!
//! ```sh
//! cargo run --release --example baseline -- --port 4011 --response answer.json
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;

/// Same as evalmock's default `--body-limit`.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

struct Args {
    port: u16,
    answer: Bytes,
}

fn parse_args() -> Result<Args, String> {
    let mut port = 4011;
    let mut answer = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--response" => {
                let path = value()?;
                let bytes = std::fs::read(&path).map_err(|e| format!("--response {path}: {e}"))?;
                answer = Some(Bytes::from(bytes));
            }
            "--size" => {
                let size: usize = value()?.parse().map_err(|e| format!("--size: {e}"))?;
                answer = Some(padded_json(size));
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: baseline [--port P] [--response FILE | --size N]"
                ));
            }
        }
    }
    Ok(Args {
        port,
        // About the size of evalmock's answer to the docs' compare-record request.
        answer: answer.unwrap_or_else(|| padded_json(9765)),
    })
}

/// `{"pad":"xxx..."}` of exactly `size` bytes (at least the 10 bytes of the empty object).
fn padded_json(size: usize) -> Bytes {
    let overhead = r#"{"pad":""}"#.len();
    let pad = "x".repeat(size.saturating_sub(overhead));
    Bytes::from(format!(r#"{{"pad":"{pad}"}}"#))
}

async fn compare_record(State(answer): State<Bytes>, body: Bytes) -> Response {
    // Parse as evalmock does; only an object is an acceptable request body.
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) if value.is_object() => {
            ([(header::CONTENT_TYPE, "application/json")], answer).into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The runtime evalmock's `serve` builds: multi-thread, worker count = cores.
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async move {
        let app = Router::new()
            .route("/v1/eval/compare-record", post(compare_record))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(args.answer.clone());
        let address = SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {address}: {e}"));
        eprintln!(
            "baseline serving {} bytes on http://{}",
            args.answer.len(),
            listener.local_addr().expect("local address")
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .expect("serve");
    });
    std::process::ExitCode::SUCCESS
}
