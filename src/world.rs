//! The World: everything loaded from files and prepared once (one spec per served API version
//! with its compiled schemas, the fixtures with their indexes, the domain's prepared and
//! validated answers per version).
//!
//! A World is immutable. Reloading builds a new one from the files, in full, and the server
//! swaps it in whole (see `engine::Mock`), so a request always sees one consistent World and
//! a broken edit never replaces a good one. What changes while serving lives in the Runtime.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::auth::AuthSettings;
use crate::config::{BUNDLED_SPECS, Sources};
use crate::domain::EvalOperation;
use crate::domain::evals::{self, Evals};
use crate::fixtures::{self, FixtureError, FixtureStore};
use crate::scenarios::Scenarios;
use crate::spec::{Operation, Spec, SpecError};

/// Why loading failed; each names the file and the place inside it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the spec {path}: {message}")]
    SpecUnreadable { path: String, message: String },
    #[error("the spec is invalid: {0}")]
    Spec(SpecError),
    #[error("the fixtures are invalid: {0}")]
    Fixtures(FixtureError),
    #[error("cannot replay the recordings: {0}")]
    Replay(FixtureError),
    #[error("API version {requested:?} is not served; the specs describe {available}")]
    UnknownVersion {
        requested: String,
        available: String,
    },
    #[error("no scenario is named {requested:?}; the scenarios are {available}")]
    UnknownScenario {
        requested: String,
        available: String,
    },
}

// Not `#[from]`: that would also make the inner error the `source`, and a report that prints
// the chain (`{:#}`) would say everything twice.
impl From<SpecError> for LoadError {
    fn from(error: SpecError) -> Self {
        LoadError::Spec(error)
    }
}

impl From<FixtureError> for LoadError {
    fn from(error: FixtureError) -> Self {
        LoadError::Fixtures(error)
    }
}

/// Where a load error is: file, place inside it, and what is wrong (for `/__mock/health`,
/// the page and the reload log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    pub file: String,
    /// A JSON pointer (spec) or dotted path (fixtures) inside the file; empty for the file.
    pub pointer: String,
    pub message: String,
}

impl LoadError {
    pub fn location(&self) -> ErrorLocation {
        match self {
            LoadError::SpecUnreadable { path, message } => ErrorLocation {
                file: path.clone(),
                pointer: String::new(),
                message: message.clone(),
            },
            LoadError::Spec(SpecError::Syntax {
                origin, message, ..
            }) => ErrorLocation {
                file: origin.clone(),
                pointer: String::new(),
                message: message.clone(),
            },
            LoadError::Spec(SpecError::Invalid {
                origin,
                pointer,
                message,
            }) => ErrorLocation {
                file: origin.clone(),
                pointer: pointer.clone(),
                message: message.clone(),
            },
            LoadError::Fixtures(FixtureError::Io { path, message })
            | LoadError::Replay(FixtureError::Io { path, message }) => ErrorLocation {
                file: path.clone(),
                pointer: String::new(),
                message: message.clone(),
            },
            LoadError::Fixtures(FixtureError::Invalid {
                file,
                path,
                message,
            })
            | LoadError::Replay(FixtureError::Invalid {
                file,
                path,
                message,
            }) => ErrorLocation {
                file: file.clone(),
                pointer: path.clone(),
                message: message.clone(),
            },
            LoadError::UnknownVersion { .. } => ErrorLocation {
                file: String::new(),
                pointer: "/info/version".into(),
                message: self.to_string(),
            },
            LoadError::UnknownScenario { .. } => ErrorLocation {
                file: String::new(),
                pointer: String::new(),
                message: self.to_string(),
            },
        }
    }
}

/// One served API version: its spec and what the domain prepared against it.
#[derive(Debug)]
pub struct ApiVersion {
    /// The spec's `info.version` (`2026-09`), or its origin when it has none.
    pub name: std::sync::Arc<str>,
    pub spec: Spec,
    /// The spec's text as loaded, for `GET /__mock/spec`.
    /// Borrowed for the embedded specs (no copy of 250 KB of text per World).
    pub spec_text: Cow<'static, str>,
    /// Per operation index: the domain handler serving it, if any.
    bindings: Vec<Option<EvalOperation>>,
    pub(crate) evals: Evals,
    /// How credentials look: the domain's settings when it serves any operation.
    pub auth: AuthSettings,
    /// What `dynamic=true` values learn from the domain (id prefixes, invariants), likewise.
    pub realism: std::sync::Arc<dyn crate::respond::Realism>,
}

impl ApiVersion {
    fn new(
        spec: Spec,
        spec_text: Cow<'static, str>,
        bindings: Vec<Option<EvalOperation>>,
        evals: Evals,
    ) -> ApiVersion {
        let (auth, realism) = if bindings.iter().all(Option::is_none) {
            let plain: std::sync::Arc<dyn crate::respond::Realism> =
                std::sync::Arc::new(crate::respond::Plain);
            (AuthSettings::default(), plain)
        } else {
            (evals::auth_settings(), evals.realism())
        };
        let name = match spec.info_version() {
            "" => spec.origin.as_str().into(),
            version => version.into(),
        };
        ApiVersion {
            name,
            spec,
            spec_text,
            bindings,
            evals,
            auth,
            realism,
        }
    }

    /// The domain handler of the operation at `index`, if one serves it.
    pub fn binding(&self, index: usize) -> Option<EvalOperation> {
        self.bindings.get(index).copied().flatten()
    }

    /// Operations served by a domain handler rather than by examples.
    pub fn bound_operations(&self) -> impl Iterator<Item = &Operation> {
        self.spec
            .operations()
            .iter()
            .zip(&self.bindings)
            .filter(|(_, b)| b.is_some())
            .map(|(op, _)| op)
    }

    /// The served document as JSON (parsed from the text it was loaded from).
    pub fn spec_json(&self) -> Value {
        serde_norway::from_str::<Value>(&self.spec_text).unwrap_or(Value::Null)
    }
}

/// One loaded, checked and prepared state of the files.
#[derive(Debug)]
pub struct World {
    /// Oldest first, as the specs were given.
    versions: Vec<ApiVersion>,
    /// The version a request that names none gets.
    default_version: usize,
    pub fixtures: FixtureStore,
    /// Where the fixtures came from (a folder, or the embedded set), for `/__mock/health`.
    pub fixtures_origin: String,
    /// Counts Worlds loaded in this process, so answers remembered from an older World are
    /// recognised as stale.
    pub generation: u64,
    /// The scenarios of the fixture folder (or the bundled ones), and `replay` when
    /// `--replay DIR` was given; checked against every served spec.
    pub scenarios: Scenarios,
}

impl World {
    /// Loads, checks and indexes everything: all the work that must never happen per request.
    pub fn load(sources: &Sources, generation: u64) -> Result<World, LoadError> {
        let texts: Vec<(Cow<'static, str>, String)> = match &sources.spec {
            None => BUNDLED_SPECS
                .iter()
                .map(|(origin, text)| (Cow::Borrowed(*text), origin.to_string()))
                .collect(),
            Some(path) => vec![(Cow::Owned(read_spec(path)?), path.display().to_string())],
        };
        let (files, fixtures_origin) = match &sources.fixtures {
            None => (
                fixtures::bundled_files(),
                "fixtures/ (embedded)".to_string(),
            ),
            Some(dir) => (fixtures::read_dir(dir)?, dir.display().to_string()),
        };
        let fixtures = FixtureStore::load(files)?;
        let specs = texts
            .into_iter()
            .map(|(text, origin)| Ok((Spec::load(&text, &origin)?, text)))
            .collect::<Result<Vec<_>, LoadError>>()?;
        // Bind each spec's operations to domain handlers, then prepare (and validate against
        // every version's spec) the fixture-derived answers once for all versions.
        let bindings: Vec<Vec<Option<EvalOperation>>> = specs
            .iter()
            .map(|(spec, _)| {
                spec.operations()
                    .iter()
                    .map(|op| EvalOperation::bind(&op.method, &op.path_template))
                    .collect()
            })
            .collect();
        let bound: Vec<(Vec<(EvalOperation, &Operation)>, &Spec)> = specs
            .iter()
            .zip(&bindings)
            .map(|((spec, _), binding)| {
                let ops = binding
                    .iter()
                    .zip(spec.operations())
                    .filter_map(|(b, op)| b.map(|b| (b, op)))
                    .collect();
                (ops, spec)
            })
            .collect();
        let evals = Evals::prepare(&fixtures, &bound)?;
        drop(bound);
        let spec_refs: Vec<&Spec> = specs.iter().map(|(spec, _)| spec).collect();
        // The bundled scenarios steer the bundled API: a spec of one's own (`--spec`) gets the
        // scenarios of its fixture folder only.
        let scenario_files = match (&sources.spec, &sources.fixtures) {
            (Some(_), None) => Vec::new(),
            (_, dir) => fixtures::scenario_files(dir.as_deref())?,
        };
        let mut scenarios = Scenarios::load(&scenario_files, &spec_refs)?;
        if let Some(dir) = &sources.replay {
            let recordings = fixtures::read_scenarios(dir, false).map_err(LoadError::Replay)?;
            scenarios
                .add_replay(&recordings, &spec_refs, &sources.replay_ignore)
                .map_err(LoadError::Replay)?;
        }
        drop(spec_refs);
        let versions: Vec<ApiVersion> = specs
            .into_iter()
            .zip(bindings)
            .zip(evals)
            .map(|(((spec, text), binding), evals)| ApiVersion::new(spec, text, binding, evals))
            .collect();
        let default_version = match &sources.api_version {
            None => versions.len() - 1,
            Some(wanted) => versions
                .iter()
                .position(|v| v.name.as_ref() == wanted.as_str())
                .ok_or_else(|| LoadError::UnknownVersion {
                    requested: wanted.clone(),
                    available: versions
                        .iter()
                        .map(|v| v.name.as_ref())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        };
        Ok(World {
            versions,
            default_version,
            fixtures,
            fixtures_origin,
            generation,
            scenarios,
        })
    }

    /// The version a request that names none gets.
    pub fn default_version(&self) -> &ApiVersion {
        &self.versions[self.default_version]
    }

    /// The version named `name`, if served.
    pub fn version(&self, name: &str) -> Option<&ApiVersion> {
        self.versions.iter().find(|v| v.name.as_ref() == name)
    }

    /// Every served version, oldest first.
    pub fn versions(&self) -> &[ApiVersion] {
        &self.versions
    }

    /// Every spec's warnings with the spec's origin: what is served in a degraded way.
    pub fn spec_warnings(&self) -> impl Iterator<Item = (&str, &crate::spec::SpecWarning)> {
        self.versions.iter().flat_map(|v| {
            v.spec
                .warnings()
                .iter()
                .map(move |w| (v.spec.origin.as_str(), w))
        })
    }

    /// One WARN line per spec warning, so whoever starts (or reloads) the mock sees what it
    /// does not honour as written.
    pub fn log_spec_warnings(&self) {
        for (origin, warning) in self.spec_warnings() {
            tracing::warn!("{origin} {warning}");
        }
    }
}

fn read_spec(path: &Path) -> Result<String, LoadError> {
    crate::files::read_regular(path).map_err(|e| LoadError::SpecUnreadable {
        path: e.path,
        message: e.message,
    })
}

/// The files a World is read from, for the watcher: the spec file and the fixture folder
/// given on the command line (the embedded defaults cannot change while running).
pub fn watched_paths(sources: &Sources) -> Vec<PathBuf> {
    sources
        .spec
        .iter()
        .chain(sources.fixtures.iter())
        .chain(sources.replay.iter())
        .cloned()
        .collect()
}
