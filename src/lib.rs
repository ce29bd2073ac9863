//! evalmock: a mock and contract-test server driven by an OpenAPI document, with the Runtype
//! Evals API (`/v1/eval/...`) and realistic fixture eval groups built in.
//!
//! # Layout
//!
//! One request, end to end:
//!
//! ```text
//! server (axum: CORS, body limit; /__mock/* admin API and live page)
//!   -> engine::Mock::handle(request).await -> Outcome
//!        World (arc-swap)         the current files; a reload swaps in a new one whole
//!        API version              `evalmock-api-version` header, else the default
//!        spec::Spec::route        (method, path) -> operation         | 404 / 405 problem+json
//!        respond::Preference      Prefer: code= example= dynamic= delay= fault= -> Source::Prefer
//!        scenarios                the active scenario's first matching rule -> Source::Scenario
//!          (a 5xx/401 rule answers here, before the checks, as a failing server does)
//!        auth::authenticate       the operation's security            | 401 (Source::Auth)
//!        validate::validate_request params, content type, JSON body   | 400 (Source::Validation)
//!        the rule's literal, or domain::evals (Runtype over fixtures) -> Prepared | Remembered
//!          or respond::example_reply  spec examples / generated values    | Domain
//!          with the rule's status, merge patch and headers
//!        response validation      unless the Source was validated before | 500 in strict mode
//!   -> journal entry + one INFO log line, both made from the Outcome
//!   -> server carries out the Outcome's Delivery (delay; fault: reset, empty reply, truncated,
//!      dripped or cut stream, via server::connection) -> HTTP response
//! ```
//!
//! Beside the mock: [`recording`] (the validating proxy, the recorder and HAR importer that
//! write scenario files, the drift report) and [`contract`] (`verify` against a provider,
//! coverage, human/JSON/JUnit reports). Replay is the scenario engine loading recordings.
//!
//! Dependencies point downwards: `cli` -> `app` -> (`server`, `recording`, `contract`) ->
//! `engine` -> (`domain`, `scenarios`, `respond`, `auth`, `validate`, `journal`, `memo`) ->
//! (`spec`, `fixtures`), with `clock`, `seeded` and `parallel` as leaf utilities.
//!
//! State comes in two kinds:
//! - the [`world::World`] is everything loaded from files and prepared once: one spec per API
//!   version with every schema compiled, the fixtures indexed, the fixture-derived answers
//!   built, validated and serialised. Immutable; [`reload`] builds a new one in full and swaps
//!   it in, and a broken edit keeps the old one serving;
//! - the [`runtime::Runtime`] is what changes while serving and survives reloads: submitted
//!   evals and the quota, the [`memo`] of answers remembered by their inputs, the [`journal`],
//!   the active scenario with its call counts and state, the count of open streams, the last
//!   reload's result. Each sits behind a small type whose
//!   methods hide its lock.
//!
//! The engine's [`engine::Outcome`] says what was decided and why (operation, API version,
//! [`engine::Source`], violations, error codes, timings); the journal, the log line and the
//! live page read it instead of re-deriving anything. Only `domain::evals` knows Runtype (key
//! shapes, error codes, quota wording, the stream vocabularies); the generic layers get those
//! as data.
//!
//! Errors: [`error::ApiError`] is what the API would answer and is rendered in the operation's
//! declared error schema; [`error::MockError`] is the mock's own complaint and is always
//! `application/problem+json` with an `evalmock-error` header.

pub mod app;
pub(crate) mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contract;
pub mod decode;
pub mod domain;
pub mod engine;
pub(crate) mod error;
pub mod files;
pub mod fixtures;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod journal;
pub mod logging;
pub(crate) mod memo;
pub(crate) mod parallel;
pub mod recording;
pub mod reload;
pub mod respond;
pub(crate) mod runtime;
pub mod scenarios;
pub mod seeded;
pub mod server;
pub mod spec;
pub mod sse;
pub mod validate;
pub mod world;
