//! The validated configuration the application runs with, independent of how it was given
//! (flags, environment, tests).

use std::net::IpAddr;
use std::path::PathBuf;

use crate::engine::EngineOptions;

/// The spec compiled into the binary: our description of the Runtype Evals API.
pub const BUNDLED_SPEC: &str = include_str!("../specs/runtype-evals.yaml");
pub const BUNDLED_SPEC_NAME: &str = "specs/runtype-evals.yaml (embedded)";

/// Where the spec and fixtures come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `None`: the embedded spec.
    pub spec: Option<PathBuf>,
    /// `None`: the embedded fixtures.
    pub fixtures: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub host: IpAddr,
    pub port: u16,
    pub sources: Sources,
    pub engine: EngineOptions,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Reload when the spec file or the fixture folder changes (`--no-watch` turns it off).
    pub watch: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 4010,
            sources: Sources::default(),
            engine: EngineOptions::default(),
            body_limit: 2 * 1024 * 1024,
            watch: true,
        }
    }
}
