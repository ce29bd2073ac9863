//! Domain handlers: API semantics computed from the fixture model, bound to spec operations
//! by method and path template (the vendor document has no operationIds to bind by).
//! An operation without a binding is answered from the spec's examples or schema instead.

pub mod evals;

use bytes::Bytes;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::fixtures::FixtureStore;
use crate::memo::Memo;
use crate::respond::Reply;
use crate::validate::ValidRequest;

/// The Runtype eval operations evalmock implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvalOperation {
    ListBatches,
    GetGroup,
    Compare,
    CompareRecord,
    Results,
    AnalyzeSteps,
    Submit,
    Stream,
}

impl EvalOperation {
    pub fn bind(method: &http::Method, path_template: &str) -> Option<EvalOperation> {
        match (method.as_str(), path_template) {
            ("GET", "/v1/eval/batches") => Some(EvalOperation::ListBatches),
            ("GET", "/v1/eval/group/{groupId}") => Some(EvalOperation::GetGroup),
            ("POST", "/v1/eval/compare") => Some(EvalOperation::Compare),
            ("POST", "/v1/eval/compare-record") => Some(EvalOperation::CompareRecord),
            ("GET", "/v1/eval/{id}/results") => Some(EvalOperation::Results),
            ("POST", "/v1/eval/analyze-steps") => Some(EvalOperation::AnalyzeSteps),
            ("POST", "/v1/eval/submit") => Some(EvalOperation::Submit),
            ("POST", "/v1/eval/stream") => Some(EvalOperation::Stream),
            _ => None,
        }
    }
}

/// What a handler sees of a request that passed authentication and validation, and of the
/// runtime state it may read or change.
#[derive(Debug)]
pub struct HandlerInput<'a> {
    pub fixtures: &'a FixtureStore,
    pub request: &'a ValidRequest,
    pub principal: &'a Principal,
    /// Evals submitted since start-up (runtime state: survives reloads).
    pub submissions: &'a evals::Submissions,
    /// Answers remembered by their inputs, and the generation of the World they belong to.
    pub memo: &'a Memo,
    pub generation: u64,
    /// The API version answering (remembered answers are kept per version).
    pub version: &'a str,
}

/// What a domain handler decided. Where the answer came from says whether the engine still
/// has to validate it.
#[derive(Debug)]
pub enum Answer {
    /// Built from the fixtures and validated when the World was loaded.
    Prepared(Bytes),
    /// Assembled from parts built and validated at load (see `respond::assembled`).
    Assembled(crate::respond::assembled::Assembled),
    /// Computed and validated for an earlier request with the same inputs.
    Remembered(Bytes),
    /// Computed now; the engine validates it and, when it is valid and `memo_key` is given,
    /// remembers it under that key.
    Computed {
        reply: Reply,
        memo_key: Option<String>,
    },
}

impl Answer {
    pub fn computed(reply: Reply) -> Answer {
        Answer::Computed {
            reply,
            memo_key: None,
        }
    }
}

/// Result of a domain handler: an answer, or an API error for the engine to render.
pub type HandlerResult = Result<Answer, ApiError>;
