//! evalmock: a mock and contract-test server driven by an OpenAPI document, with the Runtype
//! Evals API (`/v1/eval/...`) and realistic fixture eval groups built in.
//!
//! # Layout
//!
//! One request, end to end:
//!
//! ```text
//! server (axum: CORS, body limit, tracing span, /__mock/* admin routes)
//!   -> engine::Mock::handle
//!        spec::Spec::route          (method, path) -> operation      | 404 / 405 problem+json
//!        respond::Preference        Prefer: code= / example= / dynamic=
//!        auth::authenticate         the operation's security         | 401 in the API's error shape
//!        validate::validate_request params, content type, JSON body  | 400 with details[]
//!        domain::evals              Runtype semantics over fixtures  | 403 / 404
//!          or respond::example_reply  spec examples / schema-generated values
//!        response validation        against the declared status + schema | 500 in strict mode
//! ```
//!
//! Dependencies point downwards: `cli` -> `app` -> `server` -> `engine` -> (`domain`,
//! `respond`, `auth`, `validate`) -> (`spec`, `fixtures`), with `clock` and `parallel` as
//! leaf utilities. Everything that can be done once is done at load in `app::load`: the spec
//! is normalised and every schema compiled; fixture files are parsed, checked and indexed on
//! every core; fixture-derived answers are built, validated against the spec and serialised.
//! Per request: a route lookup, authentication, request validation, a hash lookup (or, for an
//! answer that depends on the request body, a build that is validated once and memoised), and
//! response validation of anything not validated before.
//!
//! Mutable state is small and behind narrow types: submitted evals and the quota
//! (`domain::evals::submit::Submissions`), the memo of request-dependent answers, and the
//! count of event streams being sent (`server::AppState`).
//!
//! Errors: [`error::ApiError`] is what the API would answer and is rendered in the operation's
//! declared error schema; [`error::MockError`] is the mock's own complaint and is always
//! `application/problem+json` with an `evalmock-error` header.

pub mod app;
pub(crate) mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod engine;
pub(crate) mod error;
pub mod fixtures;
pub(crate) mod journal;
pub(crate) mod memo;
pub(crate) mod parallel;
pub mod reload;
pub mod respond;
pub(crate) mod runtime;
pub mod server;
pub mod spec;
pub mod validate;
pub mod world;
