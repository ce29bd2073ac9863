//! The validated configuration the application runs with, independent of how it was given
//! (flags, environment, tests).

use std::net::IpAddr;
use std::path::PathBuf;

use crate::engine::EngineOptions;

/// Our description of the Runtype Evals API as documented (API version 2026-06, the vendor's
/// OpenAPI snapshot), compiled into the binary.
pub const BUNDLED_SPEC: &str = include_str!("../specs/runtype-evals-2026-06.yaml");
pub const BUNDLED_SPEC_NAME: &str = "specs/runtype-evals-2026-06.yaml (embedded)";
/// Our description of the later API (2026-09) that the current client `runtype-sdk` 5.5.0
/// speaks: the default version.
pub const BUNDLED_LATER_SPEC: &str = include_str!("../specs/runtype-evals-2026-09.yaml");
pub const BUNDLED_LATER_SPEC_NAME: &str = "specs/runtype-evals-2026-09.yaml (embedded)";

/// Every embedded spec, one per API version, oldest first: (origin, text). The newest is served
/// by default.
pub const BUNDLED_SPECS: &[(&str, &str)] = &[
    (BUNDLED_SPEC_NAME, BUNDLED_SPEC),
    (BUNDLED_LATER_SPEC_NAME, BUNDLED_LATER_SPEC),
];

/// Where the spec and fixtures come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `None`: the embedded specs (every API version).
    pub spec: Option<PathBuf>,
    /// `None`: the embedded fixtures.
    pub fixtures: Option<PathBuf>,
    /// The API version served when a request names none (`--api-version`); `None`: the newest.
    pub api_version: Option<String>,
    /// A folder of recordings to replay (`--replay DIR`), loaded as the scenario `replay`.
    pub replay: Option<PathBuf>,
    /// JSON fields ignored when a request body is compared with a recording's.
    pub replay_ignore: Vec<String>,
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
    /// How long in-flight work may take to finish once shutdown starts.
    pub shutdown_grace: std::time::Duration,
    /// How long a client may take to send a request or read an answer.
    pub timeouts: crate::server::Timeouts,
    /// Who may use `/__mock/*`.
    pub admin: crate::server::AdminAccess,
    /// Browser origins allowed by CORS; empty: any.
    pub cors_origins: Vec<String>,
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
            shutdown_grace: std::time::Duration::from_secs(10),
            timeouts: crate::server::Timeouts::default(),
            admin: crate::server::AdminAccess::Open,
            cors_origins: Vec::new(),
        }
    }
}
