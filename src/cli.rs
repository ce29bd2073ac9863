//! Command-line interface: the clap types (only here) and their translation into a config.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app;
use crate::config::{ServeConfig, Sources};
use crate::engine::{EngineOptions, ResponseValidation};

/// A mock and contract-test server driven by an OpenAPI document; serves the Runtype Evals
/// API from realistic fixture eval groups when run without arguments.
#[derive(Debug, Parser)]
#[command(name = "evalmock", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the mock (the default when no command is given).
    Serve(ServeArgs),
    /// Load and validate the spec and fixtures offline; exit 1 on any problem (for CI).
    Check(SourceArgs),
}

#[derive(Debug, Args, Clone)]
struct SourceArgs {
    /// OpenAPI 3.0/3.1/3.2 document (JSON or YAML) to serve instead of the embedded Runtype Evals spec.
    #[arg(long, env = "EVALMOCK_SPEC", value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Fixture folder (holding groups/*.json and tokens.json) to load instead of the embedded fixtures.
    #[arg(long, env = "EVALMOCK_FIXTURES", value_name = "DIR")]
    fixtures: Option<PathBuf>,
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
        }
    }
}

impl From<ServeArgs> for ServeConfig {
    fn from(args: ServeArgs) -> Self {
        ServeConfig {
            host: args.host,
            port: args.port,
            sources: args.sources.into(),
            engine: EngineOptions {
                response_validation: match args.response_validation {
                    ValidationMode::Strict => ResponseValidation::Strict,
                    ValidationMode::Warn => ResponseValidation::Warn,
                },
                ..EngineOptions::default()
            },
            body_limit: args.body_limit,
        }
    }
}

/// Parses the command line and runs it; the whole of `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Check(args)) => check(args),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("evalmock=info,tower_http=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn serve(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match runtime.block_on(app::serve(args.into(), shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: SourceArgs) -> ExitCode {
    match app::check(&args.into()) {
        Ok(report) => {
            println!(
                "ok: {} ({} operations) and {} eval groups ({} step results) are valid",
                report.spec, report.operations, report.groups, report.step_results
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
