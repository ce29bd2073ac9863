//! Orchestration: load the first World into a [`Mock`], then serve it (watching its files) or
//! report on it.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{ServeConfig, Sources};
use crate::engine::{EngineOptions, Mock};
use crate::reload::Watcher;
use crate::server::{self, AdminAccess, AppState};
use crate::world::{LoadError, World, watched_paths};

/// Loads, checks and indexes everything: all the work that must never happen per request.
pub fn load(sources: &Sources, options: EngineOptions) -> Result<Mock, LoadError> {
    Mock::load(sources.clone(), options)
}

/// Binds the configured address and serves until `shutdown` completes.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if !config.host.is_loopback() {
        if config.admin == AdminAccess::Open {
            anyhow::bail!(
                "--host {} lets other machines reach the admin API (/__mock/*, which can reset the mock and shows every request's body); give --admin-token TOKEN or --no-admin",
                config.host
            );
        }
        tracing::warn!(
            "listening on {}: other machines can reach the mocked API{}",
            config.host,
            if config.admin == AdminAccess::Off {
                " (the admin API is off)"
            } else {
                " (the admin API needs the admin token)"
            }
        );
    }
    let mock = Arc::new(load(&config.sources, config.engine.clone())?);
    let address = std::net::SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!("cannot listen on {address} (is another server using the port? try --port)")
    })?;
    let paths = if config.watch {
        watched_paths(&config.sources)
    } else {
        Vec::new()
    };
    // Kept alive while serving; dropping it stops watching.
    let _watcher = if paths.is_empty() {
        None
    } else {
        let watcher = Watcher::start(mock.clone(), &paths).map_err(anyhow::Error::msg)?;
        tracing::info!(
            "watching {} for changes (--no-watch to turn off)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        );
        Some(watcher)
    };
    let world = mock.world();
    let local = listener.local_addr()?;
    let default = world.default_version();
    tracing::info!(
        "evalmock serving {} {} ({} operations; versions {}; {} eval groups) on http://{local} (ready in {:?}); requests at http://{local}/__mock/",
        default.spec.title,
        default.name,
        default.spec.operations().len(),
        world
            .versions()
            .iter()
            .map(|v| v.name.as_ref())
            .collect::<Vec<_>>()
            .join(", "),
        world.fixtures.groups().len(),
        started.elapsed()
    );
    let state = Arc::new(
        AppState::new(mock.clone(), config.body_limit, _watcher.is_some())
            .with_admin(config.admin.clone())
            .with_cors_origins(config.cors_origins.clone())
            .with_timeouts(config.timeouts),
    );
    if let Some(scenario) = mock.runtime().scenarios.active() {
        tracing::info!(
            "scenario {scenario} is active (switch with PUT /__mock/scenario or the page; scenarios: {})",
            world.scenarios.names().join(", ")
        );
    }
    server::serve_with_grace(listener, state, shutdown, config.shutdown_grace).await?;
    tracing::info!("evalmock stopped");
    Ok(())
}

/// A summary of what `check` verified, for its report.
#[derive(Debug)]
pub struct CheckReport {
    /// Each spec's origin and API version.
    pub specs: Vec<(String, String)>,
    pub operations: usize,
    pub groups: usize,
    pub step_results: usize,
    /// Scenarios loaded (the replayed recordings count as one), and their rules.
    pub scenarios: usize,
    pub rules: usize,
    /// Rules of the replayed recordings (`--replay DIR`).
    pub recordings: usize,
    /// What the specs serve in a degraded way: (spec origin, warning).
    pub warnings: Vec<(String, crate::spec::SpecWarning)>,
    /// Callbacks and webhooks the specs describe, listed and not served: (spec origin, entry).
    pub not_served: Vec<(String, String)>,
}

/// Loads and validates spec and fixtures offline, exactly as `serve` would at start-up.
pub fn check(sources: &Sources) -> Result<CheckReport, LoadError> {
    let world = World::load(sources, 1)?;
    let step_results = world
        .fixtures
        .groups()
        .iter()
        .map(|g| g.group.step_result_count())
        .sum();
    let report = CheckReport {
        specs: world
            .versions()
            .iter()
            .map(|v| (v.spec.origin.clone(), v.name.to_string()))
            .collect(),
        operations: world
            .versions()
            .iter()
            .map(|v| v.spec.operations().len())
            .sum(),
        groups: world.fixtures.groups().len(),
        step_results,
        scenarios: world.scenarios.len(),
        rules: world.scenarios.iter().map(|s| s.rules.len()).sum(),
        recordings: world
            .scenarios
            .get(crate::scenarios::REPLAY)
            .map_or(0, |s| s.rules.len()),
        not_served: world
            .versions()
            .iter()
            .flat_map(|v| {
                v.spec
                    .not_served()
                    .iter()
                    .map(|entry| (v.spec.origin.clone(), entry.clone()))
            })
            .collect(),
        warnings: world
            .spec_warnings()
            .map(|(origin, w)| (origin.to_string(), w.clone()))
            .collect(),
    };
    // Freeing a large World takes a sixth of a large document's check (a 40,000-operation
    // document: ~0.35 s of ~2.4 s); the report does not wait for it. When `check` is the
    // whole process, exiting ends the thread and the OS takes the memory back at once.
    std::thread::spawn(move || drop(world));
    Ok(report)
}
