//! Orchestration: load spec and fixtures into a [`Mock`], then serve it or report on it.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{BUNDLED_SPEC, BUNDLED_SPEC_NAME, ServeConfig, Sources};
use crate::engine::{EngineOptions, Mock};
use crate::fixtures::{self, FixtureError, FixtureStore};
use crate::server::{self, AppState};
use crate::spec::{Spec, SpecError};

/// Why loading failed; each names the file and the place inside it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the spec {path}: {message}")]
    SpecUnreadable { path: String, message: String },
    #[error("the spec is invalid: {0}")]
    Spec(#[from] SpecError),
    #[error("the fixtures are invalid: {0}")]
    Fixtures(#[from] FixtureError),
}

/// Loads, checks and indexes everything; all the work that must never happen per request.
pub fn load(sources: &Sources, options: EngineOptions) -> Result<Mock, LoadError> {
    let spec = match &sources.spec {
        None => Spec::load(BUNDLED_SPEC, BUNDLED_SPEC_NAME)?,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| LoadError::SpecUnreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            Spec::load(&text, &path.display().to_string())?
        }
    };
    let files = match &sources.fixtures {
        None => fixtures::bundled_files(),
        Some(dir) => fixtures::read_dir(dir)?,
    };
    let store = FixtureStore::load(files)?;
    Ok(Mock::new(spec, store, options)?)
}

/// Binds the configured address and serves until `shutdown` completes.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mock = load(&config.sources, config.engine.clone())?;
    let address = std::net::SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!("cannot listen on {address} (is another server using the port? try --port)")
    })?;
    tracing::info!(
        "evalmock serving {} ({} operations, {} eval groups) on http://{} (ready in {:?})",
        mock.spec().title,
        mock.spec().operations().len(),
        mock.fixtures().groups().len(),
        listener.local_addr()?,
        started.elapsed()
    );
    let state = Arc::new(AppState::new(mock, config.body_limit));
    server::serve(listener, state, shutdown).await?;
    Ok(())
}

/// A summary of what `check` verified, for its report.
pub struct CheckReport {
    pub spec: String,
    pub operations: usize,
    pub groups: usize,
    pub step_results: usize,
}

/// Loads and validates spec and fixtures offline, exactly as `serve` would at start-up.
pub fn check(sources: &Sources) -> Result<CheckReport, LoadError> {
    let mock = load(sources, EngineOptions::default())?;
    let step_results = mock
        .fixtures()
        .groups()
        .iter()
        .map(|g| g.group.step_result_count())
        .sum();
    Ok(CheckReport {
        spec: mock.spec().origin.clone(),
        operations: mock.spec().operations().len(),
        groups: mock.fixtures().groups().len(),
        step_results,
    })
}
