//! Command-line interface: the clap types (only here) and their translation into a config.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crate::app;
use crate::config::{ServeConfig, Sources};
use crate::contract::coverage::{Coverage, Usage};
use crate::contract::report::{self, TestCase};
use crate::contract::verify::{self, VerifyConfig};
use crate::domain::evals::SubmitSettings;
use crate::engine::{EngineOptions, ResponseValidation};
use crate::fixtures::{self, synthetic};
use crate::recording::{
    self,
    proxy::ProxyConfig,
    writer::{Redaction, Writer},
};
use crate::scenarios::Delay;
use crate::world::World;

/// A mock and contract-test server driven by an OpenAPI document; serves the Runtype Evals
/// API from realistic fixture eval groups when run without arguments.
#[derive(Debug, Parser)]
#[command(
    name = "evalmock",
    version,
    args_conflicts_with_subcommands = true,
    after_help = ADMIN_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// The admin API, listed under `--help` (described in full by `specs/admin.yaml`).
const ADMIN_HELP: &str = "\
While serving, the mock answers under /__mock/ (see specs/admin.yaml):
  GET    /__mock/                  the live page: requests as they arrive, violations, reset
  GET    /__mock/requests          the journal (filters: operation, status, since, limit)
  DELETE /__mock/requests          empty the journal
  GET    /__mock/requests/stream   new journal entries and reload results, as server-sent events
  GET    /__mock/health            what is loaded, last reload result, counts
  POST   /__mock/reset             forget submitted evals, restore the quota, restart the scenario
  POST   /__mock/reload            load the spec and fixtures again now
  GET    /__mock/spec              the served OpenAPI document (?format=yaml for YAML)
  GET    /__mock/scenario          the active scenario and the loaded ones
  PUT    /__mock/scenario          {\"name\": \"flaky\"} makes it active ({\"name\": null}: none)
Per request: header `evalmock-scenario: NAME|none`; `Prefer: code=404, example=NAME,
dynamic=true, seed=N, delay=300ms, fault=connection-reset|empty-reply|truncated-body|
slow-body|stream-cut|stream-error`.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the mock (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Load and validate the spec and fixtures offline; exit 1 on any problem (for CI).
    Check(CheckArgs),
    /// Send the real API the requests the spec's examples describe (and the errors that can be
    /// provoked safely: 401, 404, 400) and validate every answer; exit 1 on any violation or
    /// unexpected status, 2 when the upstream cannot be reached.
    Verify(VerifyArgs),
    /// Work with fixture folders.
    #[command(subcommand)]
    Fixtures(FixturesCommand),
    /// Forward every request to the real API and validate both sides against the spec;
    /// optionally record each exchange as a scenario file (--record DIR). Prints a summary
    /// when stopped (Ctrl-C, SIGTERM, --max-requests) and exits 1 if anything broke the spec.
    Proxy(ProxyArgs),
    /// Turn exchanges captured elsewhere into scenario files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// List what recorded traffic (a folder of recordings, or a .har file) shows that the spec
    /// does not describe; exit 0 without drift, 1 with drift, 2 on bad input.
    Drift(DriftArgs),
    /// Which operations and declared statuses a journal dump (the JSON of GET
    /// /__mock/requests) exercised, and which it did not.
    Coverage(CoverageArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Also check a folder of recordings (what `serve --replay DIR` would load).
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Fail (exit 1) when a spec loads only with warnings (parts served in a degraded way),
    /// for CI.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The API's base URL (http://host:port).
    #[arg(long, env = "EVALMOCK_UPSTREAM", value_name = "URL")]
    upstream: String,
    /// Sent as `Authorization: Bearer TOKEN` (not with the 401 cases).
    #[arg(long, env = "EVALMOCK_VERIFY_TOKEN", value_name = "TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    sources: SourceArgs,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Do not call this operation (operationId), e.g. one that costs money; repeatable.
    #[arg(long, value_name = "OPERATION")]
    skip: Vec<String>,
    /// Seconds to wait for a connection (an answer may take six times as long).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Human,
    Json,
    Junit,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A HAR 1.2 file (browser developer tools: "Save all as HAR") as scenario files, one per
    /// exchange the spec describes; other entries are skipped and counted.
    Har(HarArgs),
}

#[derive(Debug, Args)]
struct HarArgs {
    /// The .har file.
    file: PathBuf,
    /// Folder to write the scenario files into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    sources: SourceArgs,
    /// Also hide this header, query parameter or JSON field (any depth); repeatable.
    #[arg(long, value_name = "NAME")]
    redact: Vec<String>,
    /// Number files from 0001 and replace files of the same name.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
struct DriftArgs {
    /// A folder of recordings (scenario files) or a .har file.
    input: PathBuf,
    #[command(flatten)]
    sources: SourceArgs,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    format: TableFormat,
    /// Also write an OpenAPI Overlay 1.0 document that would make the spec describe what was seen.
    #[arg(long, value_name = "OUT.yaml")]
    overlay: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CoverageArgs {
    /// A journal dump: the JSON of GET /__mock/requests (of the mock or of the proxy).
    file: PathBuf,
    #[command(flatten)]
    sources: SourceArgs,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    format: TableFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
struct ProxyArgs {
    /// The real API's base URL (http://host:port, optionally with a path prefix).
    #[arg(long, env = "EVALMOCK_UPSTREAM", value_name = "URL")]
    upstream: String,
    #[command(flatten)]
    sources: SourceArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 4011)]
    port: u16,
    /// Replace an answer that breaks the spec (not a stream) with a 502 problem+json that lists
    /// the violations.
    #[arg(long)]
    fail_on_violation: bool,
    /// Stop after this many exchanges, print the summary and exit.
    #[arg(long, value_name = "N")]
    max_requests: Option<usize>,
    /// Seconds to wait for a connection to the upstream.
    #[arg(long, default_value_t = 5)]
    connect_timeout: u64,
    #[command(flatten)]
    recording: RecordArgs,
}

/// Where and how exchanges are written as scenario files (shared by `proxy` and `import`).
#[derive(Debug, Args, Clone)]
struct RecordArgs {
    /// Write each exchange as a scenario file (NNNN-<operation>-<status>.yaml) into DIR.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Also hide this header, query parameter or JSON field (any depth) behind "[redacted]";
    /// repeatable. Credential headers (Authorization, cookies, *-key, *-token) always are.
    #[arg(long, value_name = "NAME")]
    redact: Vec<String>,
    /// Number files from 0001 and replace files of the same name; without it, numbering
    /// continues after the highest number in DIR and nothing is replaced.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Subcommand)]
enum FixturesCommand {
    /// Write a fixture folder: a copy of the bundled set by default, or a synthetic set of any
    /// size drawn from it (give --groups) for load-testing a UI or evalmock itself. Load it
    /// with --fixtures DIR.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Folder to write (groups/*.json and tokens.json); created if missing, files replaced.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Number of eval groups of a synthetic set; without it the bundled set is copied.
    #[arg(long)]
    groups: Option<usize>,
    /// Eval batches per group.
    #[arg(long, default_value_t = 3, requires = "groups")]
    batches: usize,
    /// Records per group (every batch runs all of them).
    #[arg(long, default_value_t = 20, requires = "groups")]
    records: usize,
    /// Flow steps per group (the bundled flow's steps, cut or padded with numbered copies).
    #[arg(long, default_value_t = 4, requires = "groups")]
    steps: usize,
    /// Seed: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 1, requires = "groups")]
    seed: u64,
}

#[derive(Debug, Args, Clone)]
struct SourceArgs {
    /// OpenAPI 3.0/3.1/3.2 document (JSON or YAML) to serve instead of the embedded Runtype Evals spec.
    #[arg(long, env = "EVALMOCK_SPEC", value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Fixture folder (holding groups/*.json and tokens.json) to load instead of the embedded fixtures.
    #[arg(long, env = "EVALMOCK_FIXTURES", value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// API version served when a request names none (the spec's info.version; the embedded
    /// specs are 2026-06, the documented snapshot, and 2026-09, the later API; default: the
    /// newest). A request picks another with the mock's header `evalmock-api-version`.
    #[arg(long, env = "EVALMOCK_API_VERSION", value_name = "VERSION")]
    api_version: Option<String>,
}

#[derive(Debug, Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Address to listen on; use 0.0.0.0 to accept connections from other machines.
    #[arg(long, env = "EVALMOCK_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "EVALMOCK_PORT", default_value_t = 4010)]
    port: u16,
    /// What to do when a response the mock built breaks the spec: `strict` replaces it with a
    /// 500 naming the violations, `warn` logs them and sends it anyway.
    #[arg(long, env = "EVALMOCK_RESPONSE_VALIDATION", value_enum, default_value_t = ValidationMode::Strict)]
    response_validation: ValidationMode,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "EVALMOCK_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    body_limit: usize,
    /// Simulated run time of a submitted eval, from queued to completed, in milliseconds
    /// (0 completes at once).
    #[arg(long, env = "EVALMOCK_EVAL_RUN_MS", default_value_t = 20_000)]
    eval_run_ms: u64,
    /// Evals (submits and streams) accepted before 402 Limit exceeded; unlimited when absent.
    #[arg(long, env = "EVALMOCK_SUBMIT_QUOTA")]
    submit_quota: Option<usize>,
    /// Pause between two server-sent events of /v1/eval/stream, in milliseconds.
    #[arg(long, env = "EVALMOCK_STREAM_INTERVAL_MS", default_value_t = 40)]
    stream_interval_ms: u64,
    /// Requests the journal keeps for GET /__mock/requests and the live page at /__mock/
    /// (the oldest are dropped first; 0 keeps none).
    #[arg(long, env = "EVALMOCK_JOURNAL_SIZE", default_value_t = crate::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// Bytes of each request and response body the journal keeps (longer bodies are cut).
    #[arg(long, env = "EVALMOCK_JOURNAL_BODY_LIMIT", default_value_t = crate::journal::DEFAULT_BODY_LIMIT)]
    journal_body_limit: usize,
    /// Accept any bearer token, not only those shaped like the API's credentials (for Runtype:
    /// `rt_...` keys and session tokens).
    #[arg(long, env = "EVALMOCK_ACCEPT_ANY_TOKEN")]
    accept_any_token: bool,
    /// On SIGINT or SIGTERM, how long in-flight requests and streams may take to finish, in
    /// seconds, before the server stops anyway.
    #[arg(long, env = "EVALMOCK_SHUTDOWN_GRACE", default_value_t = 10)]
    shutdown_grace: u64,
    /// How long a client may take to send a request head (`10s`, `500ms`), from when the
    /// connection waits for it. Then the connection closes.
    #[arg(long, env = "EVALMOCK_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    header_timeout: Duration,
    /// How long a kept-alive connection may wait, after an answer, for the next request to
    /// start; then it closes (the shorter of this and --header-timeout applies).
    #[arg(long, env = "EVALMOCK_KEEP_ALIVE_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    keep_alive_timeout: Duration,
    /// How long a client may take to send a request body (e.g. a Content-Length larger than
    /// what it sends); then 408 `request-timeout`.
    #[arg(long, env = "EVALMOCK_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_timeout)]
    request_timeout: Duration,
    /// How long an answer may wait for a client that does not read it; then the connection
    /// closes.
    #[arg(long, env = "EVALMOCK_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
    idle_timeout: Duration,
    /// Require this token for the admin API (/__mock/*): header `evalmock-admin-token`, or
    /// open the page as /__mock/?admin_token=TOKEN. Needed to listen beyond loopback.
    #[arg(
        long,
        env = "EVALMOCK_ADMIN_TOKEN",
        value_name = "TOKEN",
        conflicts_with = "no_admin"
    )]
    admin_token: Option<String>,
    /// Serve no admin API at all (/__mock/* answers like any unknown path).
    #[arg(long, env = "EVALMOCK_NO_ADMIN")]
    no_admin: bool,
    /// Do not reload when the spec file (--spec) or the fixture folder (--fixtures) changes.
    #[arg(long, env = "EVALMOCK_NO_WATCH")]
    no_watch: bool,
    /// Scenario active from the start (a file of the fixture folder's scenarios/, e.g.
    /// `flaky`, `empty-account`); switch at runtime with PUT /__mock/scenario, per request
    /// with the header `evalmock-scenario: NAME`.
    #[arg(long, env = "EVALMOCK_SCENARIO", value_name = "NAME")]
    scenario: Option<String>,
    /// Delay before every answer: `120ms`, `2s`, or a range `50ms..400ms` drawn with --seed
    /// (a scenario's latency or `Prefer: delay=` wins).
    #[arg(long, env = "EVALMOCK_LATENCY", value_name = "DELAY", value_parser = parse_delay)]
    latency: Option<Delay>,
    /// Seed of the random source that draws delays from ranges: the same seed, the same
    /// delays in the same order (reset by POST /__mock/reset).
    #[arg(long, env = "EVALMOCK_SEED", default_value_t = 1)]
    seed: u64,
    /// Browser origin allowed to call the mock (repeat for more, e.g.
    /// --cors-origin http://localhost:5173); default: any origin.
    #[arg(
        long = "cors-origin",
        env = "EVALMOCK_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    cors_origins: Vec<String>,
    /// Answer from the recordings in DIR (written by `evalmock proxy --record DIR` or
    /// `evalmock import har`); requests no recording matches fall back to the fixtures.
    #[arg(long, env = "EVALMOCK_REPLAY", value_name = "DIR")]
    replay: Option<PathBuf>,
    /// With --replay: a request no recording matches gets a 404 mock error naming the closest
    /// recordings and how they differ, instead of the fixtures' answer.
    #[arg(long, env = "EVALMOCK_REPLAY_STRICT", requires = "replay")]
    replay_strict: bool,
    /// With --replay: pace of recorded event streams (2 plays them twice as fast).
    #[arg(long, env = "EVALMOCK_REPLAY_SPEED", default_value_t = 1.0, requires = "replay", value_parser = parse_speed)]
    replay_speed: f64,
    /// With --replay: a JSON field ignored when comparing request bodies with recordings, at
    /// any depth (repeat for more), e.g. a request id or a timestamp.
    #[arg(
        long = "replay-ignore-field",
        value_name = "FIELD",
        requires = "replay"
    )]
    replay_ignore_fields: Vec<String>,
}

fn parse_delay(text: &str) -> Result<Delay, String> {
    Delay::parse(text)
}

/// A timeout with its unit (`10s`, `500ms`); zero would close every connection at once.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    if text.trim().ends_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("{text:?} needs a unit: 10s or 500ms"));
    }
    match crate::scenarios::format::parse_duration(text)? {
        zero if zero.is_zero() => Err("a timeout must be longer than 0".to_string()),
        timeout => Ok(timeout),
    }
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(speed) if speed > 0.0 && speed.is_finite() => Ok(speed),
        _ => Err(format!(
            "{text:?} is not a positive number (1 is the recorded pace)"
        )),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ValidationMode {
    Strict,
    Warn,
}

impl From<SourceArgs> for Sources {
    fn from(args: SourceArgs) -> Self {
        Sources {
            spec: args.spec,
            fixtures: args.fixtures,
            api_version: args.api_version,
            replay: None,
            replay_ignore: Vec::new(),
        }
    }
}

impl From<ServeArgs> for ServeConfig {
    fn from(args: ServeArgs) -> Self {
        let replaying = args.replay.is_some();
        ServeConfig {
            host: args.host,
            port: args.port,
            sources: Sources {
                replay: args.replay,
                replay_ignore: args.replay_ignore_fields,
                ..args.sources.into()
            },
            engine: EngineOptions {
                response_validation: match args.response_validation {
                    ValidationMode::Strict => ResponseValidation::Strict,
                    ValidationMode::Warn => ResponseValidation::Warn,
                },
                stream_interval: Duration::from_millis(args.stream_interval_ms),
                submit: SubmitSettings {
                    quota: args.submit_quota,
                    run_time: Duration::from_millis(args.eval_run_ms),
                },
                journal_size: args.journal_size,
                journal_body_limit: args.journal_body_limit,
                accept_any_token: args.accept_any_token,
                latency: args.latency,
                seed: args.seed,
                scenario: args
                    .scenario
                    .or_else(|| replaying.then(|| crate::scenarios::REPLAY.to_string())),
                replay_strict: args.replay_strict,
                replay_speed: args.replay_speed,
            },
            body_limit: args.body_limit,
            watch: !args.no_watch,
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
            timeouts: crate::server::Timeouts {
                header: args.header_timeout,
                keep_alive: args.keep_alive_timeout,
                request: args.request_timeout,
                idle: args.idle_timeout,
            },
            cors_origins: args.cors_origins,
            admin: match (args.no_admin, args.admin_token) {
                (true, _) => crate::server::AdminAccess::Off,
                (false, Some(token)) => crate::server::AdminAccess::Token(token),
                (false, None) => crate::server::AdminAccess::Open,
            },
        }
    }
}

/// Parses the command line and runs it; the whole of `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Flushes buffered log lines when `main` returns.
    let _logs = crate::logging::init();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::Check(args)) => check(args),
        Some(Command::Verify(args)) => verify(args),
        Some(Command::Fixtures(FixturesCommand::Generate(args))) => generate_fixtures(args),
        Some(Command::Proxy(args)) => proxy(args),
        Some(Command::Import(ImportCommand::Har(args))) => import_har(args),
        Some(Command::Drift(args)) => drift(args),
        Some(Command::Coverage(args)) => coverage(args),
    }
}

fn async_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (what `docker stop`, systemd and CI runners send) both stop
/// the server gracefully: no new connections, in-flight requests and streams finish.
///
/// The handlers are installed now, before the server binds its port, and the returned future
/// waits for either. (Installed when the future was first polled, as an `async fn` would, a
/// SIGTERM arriving between the port opening and that poll took the default action: exit 143
/// with the buffered log lines lost.) Needs the runtime entered.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => tracing::info!("SIGINT: shutting down gracefully"),
                    _ = terminate.recv() => tracing::info!("SIGTERM: shutting down gracefully"),
                },
                (_, Err(e)) | (Err(e), _) => {
                    tracing::warn!(
                        "cannot listen for SIGINT and SIGTERM ({e}); only Ctrl-C stops gracefully"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: shutting down gracefully");
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let Some(runtime) = async_runtime() else {
        return ExitCode::FAILURE;
    };
    let shutdown = {
        let _entered = runtime.enter();
        shutdown_signal()
    };
    match runtime.block_on(app::serve(args.into(), shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let sources = Sources {
        replay: args.replay,
        ..args.sources.into()
    };
    let result = app::check(&sources);
    let seconds = started.elapsed().as_secs_f64();
    let warnings: Vec<String> = result
        .iter()
        .flat_map(|r| &r.warnings)
        .map(|(origin, w)| format!("{origin} {w}"))
        .collect();
    let failure = match &result {
        Err(e) => Some(e.to_string()),
        Ok(_) if args.strict && !warnings.is_empty() => Some(format!(
            "--strict: {} warning(s): {}",
            warnings.len(),
            warnings.join("; ")
        )),
        Ok(_) => None,
    };
    match (args.format, &result) {
        (ReportFormat::Human, Ok(report)) => {
            let specs = report
                .specs
                .iter()
                .map(|(origin, version)| format!("{origin} (version {version})"))
                .collect::<Vec<_>>()
                .join(" and ");
            println!(
                "ok: {specs} ({} operations), {} eval groups ({} step results) and {} scenarios ({} rules{}) are valid",
                report.operations,
                report.groups,
                report.step_results,
                report.scenarios,
                report.rules,
                if report.recordings > 0 {
                    format!(", {} of them replayed recordings", report.recordings)
                } else {
                    String::new()
                }
            );
            for (origin, entry) in &report.not_served {
                println!("not served: {origin} {entry}");
            }
            for warning in &warnings {
                println!("warning: {warning}");
            }
            if let Some(failure) = &failure {
                eprintln!("error: {failure}");
            }
        }
        (ReportFormat::Human, Err(e)) => eprintln!("error: {e}"),
        (ReportFormat::Json, Ok(report)) => println!(
            "{:#}",
            serde_json::json!({
                "ok": failure.is_none(),
                "warnings": report.warnings.iter().map(|(origin, w)| serde_json::json!({"origin": origin, "pointer": w.pointer, "message": w.message})).collect::<Vec<_>>(),
                "notServed": report.not_served.iter().map(|(origin, entry)| serde_json::json!({"origin": origin, "entry": entry})).collect::<Vec<_>>(),
                "specs": report.specs.iter().map(|(origin, version)| serde_json::json!({"origin": origin, "version": version})).collect::<Vec<_>>(),
                "operations": report.operations,
                "groups": report.groups,
                "stepResults": report.step_results,
                "scenarios": report.scenarios,
                "rules": report.rules,
                "recordings": report.recordings,
            })
        ),
        (ReportFormat::Json, Err(e)) => {
            let at = e.location();
            println!(
                "{:#}",
                serde_json::json!({
                    "ok": false,
                    "error": {"file": at.file, "pointer": at.pointer, "message": at.message, "text": e.to_string()},
                })
            );
        }
        (ReportFormat::Junit, _) => print!(
            "{}",
            report::junit(
                "evalmock check",
                &[TestCase {
                    class: "evalmock.check".into(),
                    name: "spec, fixtures, scenarios and recordings load and validate".into(),
                    seconds,
                    failures: failure.iter().cloned().collect(),
                }]
            )
        ),
    }
    if failure.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    let world = match load_world(args.sources) {
        Ok(world) => world,
        Err(code) => return code,
    };
    let Some(runtime) = async_runtime() else {
        return ExitCode::FAILURE;
    };
    let config = VerifyConfig {
        upstream: args.upstream,
        token: args.token,
        timeout: Duration::from_secs(args.timeout),
        skip: args.skip,
    };
    let version = world.default_version();
    let cases = match runtime.block_on(verify::run(&version.spec, &version.spec_json(), &config)) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        ReportFormat::Human => print!("{}", verify::human(&cases)),
        ReportFormat::Json => println!("{:#}", verify::to_json(&cases)),
        ReportFormat::Junit => print!(
            "{}",
            report::junit(
                &format!("evalmock verify {}", config.upstream),
                &verify::test_cases(&cases)
            )
        ),
    }
    if cases.iter().any(|c| !c.failures.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn generate_fixtures(args: GenerateArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let result = match args.groups {
        None => fixtures::write_bundled(&args.out),
        Some(groups) => synthetic::write(
            &synthetic::Params {
                groups,
                batches: args.batches,
                records: args.records,
                steps: args.steps,
                seed: args.seed,
            },
            &args.out,
        ),
    };
    match result {
        Ok(written) => {
            println!(
                "wrote {} eval groups ({} step results) to {} in {:?}",
                written.groups,
                written.step_results,
                args.out.display(),
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot write fixtures to {}: {e}",
                args.out.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn writer(
    redact: &[String],
    overwrite: bool,
    dir: &std::path::Path,
) -> Result<Arc<Writer>, ExitCode> {
    Writer::new(dir, Redaction::new(redact), overwrite)
        .map(Arc::new)
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
}

fn proxy(args: ProxyArgs) -> ExitCode {
    let Some(runtime) = async_runtime() else {
        return ExitCode::FAILURE;
    };
    let writer = match &args.recording.record {
        Some(dir) => match writer(&args.recording.redact, args.recording.overwrite, dir) {
            Ok(writer) => Some(writer),
            Err(code) => return code,
        },
        None => None,
    };
    let config = ProxyConfig {
        host: args.host,
        port: args.port,
        sources: args.sources.into(),
        upstream: args.upstream,
        fail_on_violation: args.fail_on_violation,
        max_requests: args.max_requests,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        writer,
    };
    let shutdown = {
        let _entered = runtime.enter();
        shutdown_signal()
    };
    match runtime.block_on(recording::proxy::run(config, shutdown)) {
        Ok(report) => {
            let spec = &report.world.default_version().spec;
            print!("{}", report.usage.table());
            println!();
            print!("{}", Coverage::of(spec, &report.usage).table());
            let violations = report.usage.violations();
            if violations > 0 {
                println!("{violations} violations of the spec");
                ExitCode::FAILURE
            } else {
                println!("no violations of the spec");
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The World for an offline command; bad input (an unreadable spec, an unknown version) is
/// exit code 2.
fn load_world(sources: SourceArgs) -> Result<World, ExitCode> {
    World::load(&sources.into(), 1).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn read_input(path: &std::path::Path) -> Result<String, ExitCode> {
    crate::files::read_regular(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn import_har(args: HarArgs) -> ExitCode {
    let (world, text) =
        match load_world(args.sources).and_then(|w| Ok((w, read_input(&args.file)?))) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    let writer = match writer(&args.redact, args.overwrite, &args.out) {
        Ok(writer) => writer,
        Err(code) => return code,
    };
    match recording::har::import(&text, &world.default_version().spec, &writer) {
        Ok((written, skipped)) => {
            for reason in &skipped {
                eprintln!("skipped {reason}");
            }
            println!(
                "wrote {} scenario files to {}; skipped {} entries the spec does not describe",
                written.len(),
                args.out.display(),
                skipped.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            ExitCode::from(2)
        }
    }
}

fn drift(args: DriftArgs) -> ExitCode {
    let world = match load_world(args.sources) {
        Ok(world) => world,
        Err(code) => return code,
    };
    let version = world.default_version();
    let exchanges = match recording::drift::load(&args.input, &version.spec) {
        Ok(exchanges) => exchanges,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if exchanges.is_empty() {
        eprintln!(
            "error: {} holds no exchanges to compare",
            args.input.display()
        );
        return ExitCode::from(2);
    }
    let report = recording::drift::analyse(&version.spec, &version.spec_json(), &exchanges);
    match args.format {
        TableFormat::Table => print!("{}", report.table()),
        TableFormat::Json => println!("{:#}", report.to_json()),
    }
    if let Some(out) = &args.overlay {
        let overlay = report.overlay(&version.spec.title);
        let written = serde_norway::to_string(&overlay)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(out, text).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
    }
    if report.has_drift() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn coverage(args: CoverageArgs) -> ExitCode {
    let (world, text) =
        match load_world(args.sources).and_then(|w| Ok((w, read_input(&args.file)?))) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    let usage = match Usage::from_journal(&text, &args.file.display().to_string()) {
        Ok(usage) => usage,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let coverage = Coverage::of(&world.default_version().spec, &usage);
    match args.format {
        TableFormat::Table => print!("{}", coverage.table()),
        TableFormat::Json => println!("{:#}", coverage.to_json()),
    }
    ExitCode::SUCCESS
}
