//! The Runtype Evals semantics over the fixture model. The only module that knows Runtype:
//! its key prefixes, error codes and quota wording are here, handed to the generic layers as
//! data ([`auth_settings`], [`Evals::simulated_error`]).
//!
//! Every response that depends only on the fixtures (compare-record and compare without a
//! `stepIds` filter, get-eval-group, get-eval-results) is built and validated against the spec
//! once, when the World is loaded; such a request then costs a hash lookup. compare-record
//! with a `stepIds` filter is assembled from the same prepared bytes, leaving out the steps not
//! asked for (`respond::assembled`): no tree, no serialising, and no validation per request
//! where the schema allows it. Other responses that depend on the request (metrics over a
//! filter, search terms, pages) are built per request and validated by the engine; those over
//! fixture groups carry a memo key made of the normalised inputs, so the engine remembers them
//! once validated.

mod analyze;
mod batches;
mod compare_record;
mod metrics;
pub mod models;
mod realism;
mod results;
mod stream;
mod submit;

pub use submit::{Submissions, SubmitSettings};

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Answer, EvalOperation, HandlerInput, HandlerResult};
use crate::auth::AuthSettings;
use crate::error::{ApiError, ErrorDetail};
use crate::fixtures::{FixtureError, FixtureStore, IdMap, LoadedGroup};
use crate::respond::assembled::{self, Template};
use crate::respond::{Reply, ReplyBody};
use crate::spec::{CompiledSchema, Operation, Spec};
use crate::validate::{Violation, schema_violations};
use metrics::BatchMetrics;
use stream::Vocabulary;

/// `limit` of list-eval-batches when absent or unusable, and its ceiling (vendor: "default 50, max 100").
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 100;

/// How Runtype's credentials look: its docs send `Authorization: rt_...` without the scheme
/// word, and its keys start with `rt_live_` or `rt_test_`.
pub fn auth_settings() -> AuthSettings {
    AuthSettings {
        bare_key_prefixes: vec!["rt_".into()],
        key_hint: Some("keys start with rt_live_ or rt_test_".into()),
        // API keys (`rt_live_...`, `rt_test_...`, any `rt_` key) and dashboard session tokens
        // (JWTs: three base64url parts). Anything else the real service refuses with 401.
        token_shapes: [
            r"^rt_[A-Za-z0-9_\-]+$",
            r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$",
        ]
        .iter()
        .filter_map(|shape| regex::Regex::new(shape).ok())
        .collect(),
    }
}

/// Precomputed, pre-validated responses and indexes of one loaded World (immutable), shared
/// by every API version: the domain builds the same bodies for each, so they are built once
/// and validated against each version's spec.
#[derive(Debug, Default)]
struct Prepared {
    /// evalGroupId -> recordId -> the unfiltered compare-record answer, from which a
    /// `stepIds` filter assembles its answer. Nested, so a lookup takes the request's `&str`s.
    compare_record: IdMap<String, IdMap<String, Arc<Template>>>,
    /// evalGroupId -> the unfiltered compare body.
    compare: IdMap<String, Bytes>,
    /// evalGroupId -> the get-eval-group body.
    group: IdMap<String, Bytes>,
    /// Every fixture batch, newest first: (evalGroupId, status, summary).
    listing: Vec<(String, String, Value)>,
}

/// The Runtype domain as one API version serves it.
#[derive(Debug, Default)]
pub struct Evals {
    prepared: Arc<Prepared>,
    /// Whether this version's compare-record schema lets a filtered answer assembled from
    /// validated parts go out unvalidated ([`assembled::removal_keeps_valid`]); if not, the
    /// engine validates each one.
    assembly_keeps_valid: bool,
    /// The stream's event vocabulary, as the version's spec names it.
    vocabulary: Vocabulary,
}

/// A group to answer from: a fixture group (whose unfiltered bodies are cached) or a submitted
/// one as it stands now (whose bodies are built per request).
enum GroupRef<'a> {
    Fixture(&'a LoadedGroup),
    Submitted(Box<LoadedGroup>),
}

impl Deref for GroupRef<'_> {
    type Target = LoadedGroup;

    fn deref(&self) -> &LoadedGroup {
        match self {
            GroupRef::Fixture(group) => group,
            GroupRef::Submitted(group) => group,
        }
    }
}

impl Evals {
    /// Builds every fixture-derived response of the bound operations and validates it against
    /// the operation's 200 schema; a violation names the fixture file and field to fix.
    /// Builds every fixture-derived answer once and validates it against the 200 schema of
    /// each version's operation bound to it (`versions`: each version's bound operations and
    /// spec); a violation names the fixture file and field to fix. One `Evals` per version,
    /// in order, all sharing the answers.
    pub fn prepare(
        fixtures: &FixtureStore,
        versions: &[(Vec<(EvalOperation, &Operation)>, &Spec)],
    ) -> Result<Vec<Evals>, FixtureError> {
        let mut bound: Vec<(EvalOperation, Vec<&Operation>)> = Vec::new();
        for (operations, _) in versions {
            for (binding, operation) in operations {
                match bound.iter_mut().find(|(b, _)| b == binding) {
                    Some((_, all)) => all.push(operation),
                    None => bound.push((*binding, vec![*operation])),
                }
            }
        }
        let mut prepared = Prepared::default();
        // Groups are independent: build and check them on every core, merge in order.
        let groups =
            crate::parallel::map(fixtures.groups(), |loaded| prepare_group(loaded, &bound));
        for group in groups {
            let group = group?;
            for ((group_id, record_id), template) in group.compare_record {
                prepared
                    .compare_record
                    .entry(group_id)
                    .or_default()
                    .insert(record_id, Arc::new(template));
            }
            prepared.compare.extend(group.compare);
            prepared.group.extend(group.group);
            prepared.listing.extend(group.listing);
        }
        prepared.listing.sort_by(|a, b| newest_first(&a.2, &b.2));
        if let Some((_, operations)) = bound.iter().find(|(b, _)| *b == EvalOperation::ListBatches)
        {
            let everything = list_body(
                prepared.listing.iter().map(|(_, _, s)| s.clone()).collect(),
                prepared.listing.len(),
                0,
            );
            for operation in operations {
                check_against_spec(
                    operation,
                    &everything,
                    |path| format!("(batch listing) {path}"),
                    "fixtures",
                )?;
            }
        }
        let prepared = Arc::new(prepared);
        Ok(versions
            .iter()
            .map(|(operations, spec)| Evals {
                prepared: prepared.clone(),
                assembly_keeps_valid: assembly_keeps_valid(operations, spec),
                vocabulary: Vocabulary::named(
                    spec.info_extension(stream::VOCABULARY_EXTENSION)
                        .and_then(Value::as_str),
                ),
            })
            .collect())
    }

    /// What `Prefer: dynamic=true` values of this version learn from the domain: ids with
    /// Runtype's prefixes, invariants between fields, the stream's event sequence.
    pub fn realism(&self) -> Arc<dyn crate::respond::Realism> {
        Arc::new(realism::EvalsRealism {
            vocabulary: self.vocabulary,
        })
    }

    /// The events a stream sends when the service fails half way (after the events `sent`).
    pub fn stream_failure(&self, sent: &[Value], message: &str) -> Vec<Value> {
        stream::failure_events(self.vocabulary, sent, message)
    }

    /// How Runtype words an error chosen on purpose (`Prefer: code=NNN`, a scenario rule),
    /// where it knows better than the generic wording: its key hint on 401, its quota on 402,
    /// and on 404 the operation's own not-found error naming the id the request sent (as if
    /// that id did not exist).
    pub fn simulated_error(
        status: u16,
        operation: EvalOperation,
        body: Option<&Value>,
        path_params: &[(String, String)],
        submissions: &Submissions,
    ) -> Option<ErrorDetail> {
        let body = body.unwrap_or(&Value::Null);
        let param = |name: &str| {
            path_params
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_str())
        };
        match (status, operation) {
            (401, _) => Some(
                ErrorDetail::new("INVALID_API_KEY", "the API key is invalid or has expired")
                    .suggest("Send `Authorization: Bearer <your API key>` with an active key (keys start with rt_live_ or rt_test_)."),
            ),
            (402, _) => Some(submissions.limit_exceeded()),
            (404, EvalOperation::GetGroup) => {
                Some(group_not_found_detail(param("groupId"), "path.groupId"))
            }
            (404, EvalOperation::Results) => Some(batch_not_found_detail(param("id"))),
            (
                404,
                EvalOperation::Compare
                | EvalOperation::CompareRecord
                | EvalOperation::AnalyzeSteps,
            ) => Some(group_not_found_detail(
                str_field(body, "evalGroupId"),
                "evalGroupId",
            )),
            _ => None,
        }
    }

    pub fn handle(&self, operation: EvalOperation, input: &HandlerInput<'_>) -> HandlerResult {
        let body = input.request.body.as_ref().unwrap_or(&Value::Null);
        match operation {
            EvalOperation::CompareRecord => self.compare_record(input, body),
            EvalOperation::Compare => {
                let group = self.readable_group(input, str_field(body, "evalGroupId"))?;
                match (step_filter(body), &group) {
                    (None, GroupRef::Fixture(loaded)) => {
                        cached(&self.prepared.compare, &loaded.group.eval_group_id)
                    }
                    (Some(filter), GroupRef::Fixture(loaded)) => {
                        let key = memo_key("compare", &[&loaded.group.eval_group_id], &filter);
                        Ok(remembered(input, key, || {
                            compare_bytes(loaded, Some(&filter))
                        }))
                    }
                    (filter, _) => Ok(Answer::computed(Reply::json(
                        200,
                        compare_body(&group, filter.as_ref()),
                    ))),
                }
            }
            EvalOperation::GetGroup => {
                match self.visible_group(input, path_param(input, "groupId"))? {
                    GroupRef::Fixture(loaded) => {
                        cached(&self.prepared.group, &loaded.group.eval_group_id)
                    }
                    GroupRef::Submitted(loaded) => Ok(Answer::computed(Reply::json(
                        200,
                        batches::group_body(&loaded),
                    ))),
                }
            }
            EvalOperation::Results => self.results(input, path_param(input, "id")),
            EvalOperation::ListBatches => Ok(self.list_batches(input)),
            EvalOperation::AnalyzeSteps => {
                let group = self.readable_group(input, str_field(body, "evalGroupId"))?;
                let strings = |field: &str| -> Vec<String> {
                    body[field]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                };
                let terms = strings("searchTerms");
                let case_sensitive = body["caseSensitive"].as_bool().unwrap_or(false);
                let patterns = analyze::compile_terms(&terms, case_sensitive)
                    .map_err(ApiError::InvalidRequest)?;
                let step_ids = strings("stepIds");
                let build = || analyze::analyze_bytes(&group, &step_ids, &terms, &patterns);
                match &group {
                    GroupRef::Fixture(loaded) => {
                        // Terms keep their order (the answer lists them in it); step ids do not.
                        let steps: HashSet<&str> = step_ids.iter().map(String::as_str).collect();
                        let sensitivity = if case_sensitive { "case" } else { "nocase" };
                        let terms_key = terms.join("\u{0}");
                        let key = memo_key(
                            "analyze",
                            &[&loaded.group.eval_group_id, sensitivity, &terms_key],
                            &steps,
                        );
                        Ok(remembered(input, key, build))
                    }
                    GroupRef::Submitted(_) => Ok(Answer::computed(Reply::json_bytes(200, build()))),
                }
            }
            EvalOperation::Submit => {
                let answer = input
                    .submissions
                    .submit(input.fixtures, body, input.principal)?;
                Ok(Answer::computed(Reply::json(200, answer)))
            }
            EvalOperation::Stream => {
                let events = stream::stream_events(input.fixtures, body, self.vocabulary)?;
                input.submissions.charge(input.principal)?;
                Ok(Answer::computed(Reply {
                    status: 200,
                    content_type: Some("text/event-stream".into()),
                    body: ReplyBody::EventStream(events),
                    mock_marker: None,
                }))
            }
        }
    }

    fn compare_record(&self, input: &HandlerInput<'_>, body: &Value) -> HandlerResult {
        let group_id = str_field(body, "evalGroupId");
        let record_id = str_field(body, "recordId");
        let group = self.readable_group(input, group_id)?;
        if group.record(record_id).is_none() {
            return Err(ApiError::NotFound(
                ErrorDetail::new("RECORD_NOT_FOUND", format!("record {record_id} is not part of eval group {group_id}"))
                    .at("recordId")
                    .suggest(format!("Use a record that eval group {group_id} ran on; GET /v1/eval/group/{group_id} lists its batches.")),
            ));
        }
        let GroupRef::Fixture(_) = &group else {
            return Ok(Answer::computed(Reply::json(
                200,
                compare_record::compare_record_body(&group, record_id, step_filter(body).as_ref()),
            )));
        };
        let template = self
            .prepared
            .compare_record
            .get(group_id)
            .and_then(|records| records.get(record_id))
            .ok_or_else(no_prepared_answer)?;
        // A sorted list, not a set: a filter names a few steps, and a binary search over a few
        // strings costs less than hashing each step id of the answer.
        let mut wanted: Vec<&str> = step_ids(body).collect();
        if wanted.is_empty() {
            return Ok(Answer::Assembled(template.whole()));
        }
        wanted.sort_unstable();
        let assembled = template.keeping(|step| wanted.binary_search(&step).is_ok());
        Ok(if self.assembly_keeps_valid {
            Answer::Assembled(assembled)
        } else {
            Answer::computed(Reply::assembled(200, assembled))
        })
    }

    fn results(&self, input: &HandlerInput<'_>, batch_id: &str) -> HandlerResult {
        let not_found = || batch_not_found(batch_id);
        if let Some((loaded, index)) = input.fixtures.batch(batch_id) {
            if !input.principal.may_read_group(&loaded.group.eval_group_id) {
                return Err(not_found());
            }
            // Validated at load (see `prepare_group`) and written again from the same immutable
            // data, with no `Value` tree: not kept, since it is the largest answer (~220 KB a
            // batch for the bundled set) and rarely asked for.
            let bytes = results::results_bytes(loaded, &loaded.group.batches[index]);
            return Ok(Answer::Prepared(Bytes::from(bytes)));
        }
        let loaded = input
            .submissions
            .group_of_batch(batch_id)
            .ok_or_else(not_found)?;
        let batch = loaded
            .group
            .batches
            .iter()
            .find(|b| b.batch_execution_id == batch_id)
            .ok_or_else(not_found)?;
        Ok(Answer::computed(Reply::json(
            200,
            results::results_body(&loaded, batch),
        )))
    }

    /// Newest first; a key limited to some groups sees only their batches. `limit` and
    /// `offset` are strings in the vendor spec and it declares no 400 here, so they are read
    /// leniently, as the real service's `parseInt` would: an unusable limit is 50, any limit is
    /// clamped to 1..=100, an unusable or negative offset is 0.
    fn list_batches(&self, input: &HandlerInput<'_>) -> Answer {
        let query = &input.request.query;
        let number = |name: &str| {
            query
                .get(name)
                .and_then(Value::as_str)
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let limit = number("limit").map_or(DEFAULT_PAGE, |n| n.clamp(1, MAX_PAGE as i64) as usize);
        let offset = number("offset").map_or(0, |n| n.max(0) as usize);
        let text = |name: &str| {
            query
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let status = text("status");
        // Every batch the mock knows was run ad hoc (from a flow and records, not from an eval
        // suite), so `origin=suite` or any `evalSuiteId` finds none.
        let from_suites =
            text("origin").is_some_and(|o| o != "adhoc") || text("evalSuiteId").is_some();
        let submitted: Vec<(String, String, Value)> = input
            .submissions
            .all()
            .iter()
            .flat_map(|loaded| {
                loaded.group.batches.iter().map(|batch| {
                    (
                        loaded.group.eval_group_id.clone(),
                        batch.status.clone(),
                        batches::batch_summary(loaded, batch),
                    )
                })
            })
            .collect();
        let mut all: Vec<&(String, String, Value)> =
            self.prepared.listing.iter().chain(&submitted).collect();
        if !submitted.is_empty() {
            all.sort_by(|a, b| newest_first(&a.2, &b.2));
        }
        let page: Vec<Value> = all
            .into_iter()
            .filter(|(group, batch_status, _)| {
                !from_suites
                    && input.principal.may_read_group(group)
                    && status.is_none_or(|s| s == batch_status)
            })
            .skip(offset)
            .take(limit)
            .map(|(_, _, summary)| summary.clone())
            .collect();
        Answer::computed(Reply::json(200, list_body(page, limit, offset)))
    }

    /// A group by id, fixtures first.
    fn find_group<'a>(&self, input: &HandlerInput<'a>, group_id: &str) -> Option<GroupRef<'a>> {
        match input.fixtures.group(group_id) {
            Some(loaded) => Some(GroupRef::Fixture(loaded)),
            None => input
                .submissions
                .group(group_id)
                .map(|g| GroupRef::Submitted(Box::new(g))),
        }
    }

    /// For operations that declare 403: the group, 404 if unknown, 403 if the key may not read it.
    fn readable_group<'a>(
        &self,
        input: &HandlerInput<'a>,
        group_id: &str,
    ) -> Result<GroupRef<'a>, ApiError> {
        let group = self
            .find_group(input, group_id)
            .ok_or_else(|| group_not_found(group_id, "evalGroupId"))?;
        if !input.principal.may_read_group(group_id) {
            return Err(ApiError::Forbidden(
                ErrorDetail::new(
                    "FORBIDDEN",
                    format!("this API key does not have access to eval group {group_id}"),
                )
                .at("evalGroupId")
                .suggest("Use an API key with access to this eval group."),
            ));
        }
        Ok(group)
    }

    /// For operations that declare no 403: a group the key may not read does not exist for it.
    fn visible_group<'a>(
        &self,
        input: &HandlerInput<'a>,
        group_id: &str,
    ) -> Result<GroupRef<'a>, ApiError> {
        match self.find_group(input, group_id) {
            Some(group) if input.principal.may_read_group(group_id) => Ok(group),
            _ => Err(group_not_found(group_id, "path.groupId")),
        }
    }
}

/// What [`Evals::prepare`] builds for one fixture group.
#[derive(Default)]
struct GroupAnswers {
    compare_record: Vec<((String, String), Template)>,
    compare: Vec<(String, Bytes)>,
    group: Vec<(String, Bytes)>,
    listing: Vec<(String, String, Value)>,
}

/// Builds and checks one group's fixture-derived answers. get-eval-results bodies are checked
/// here but not kept: they are the largest (every field of every step) and rarely asked for,
/// so they are rebuilt per request from the same, already validated data.
fn prepare_group(
    loaded: &LoadedGroup,
    bound: &[(EvalOperation, Vec<&Operation>)],
) -> Result<GroupAnswers, FixtureError> {
    let mut answers = GroupAnswers::default();
    let group_id = &loaded.group.eval_group_id;
    for (binding, operations) in bound {
        // Each body against every version's schema for it.
        let against_all = |body: &Value, fixture_path: &dyn Fn(&str) -> String| {
            operations.iter().try_for_each(|operation| {
                check_against_spec(operation, body, fixture_path, &loaded.file)
            })
        };
        let whole = |body: &Value| against_all(body, &|path: &str| path.to_string());
        match binding {
            EvalOperation::CompareRecord => {
                for record in &loaded.group.records {
                    let body = compare_record::compare_record_body(loaded, &record.record_id, None);
                    against_all(&body, &|path: &str| {
                        compare_record::compare_record_fixture_path(loaded, &record.record_id, path)
                    })?;
                    let key = (group_id.clone(), record.record_id.clone());
                    let template = Template::new(&body, compare_record::STEP_RESULTS);
                    answers.compare_record.push((key, template));
                }
            }
            EvalOperation::Compare => {
                let body = compare_body(loaded, None);
                whole(&body)?;
                answers
                    .compare
                    .push((group_id.clone(), Bytes::from(body.to_string())));
            }
            EvalOperation::GetGroup => {
                let body = batches::group_body(loaded);
                whole(&body)?;
                answers
                    .group
                    .push((group_id.clone(), Bytes::from(body.to_string())));
            }
            EvalOperation::Results => {
                for batch in &loaded.group.batches {
                    whole(&results::results_body(loaded, batch))?;
                }
            }
            EvalOperation::ListBatches => {
                for batch in &loaded.group.batches {
                    let summary = batches::batch_summary(loaded, batch);
                    answers
                        .listing
                        .push((group_id.clone(), batch.status.clone(), summary));
                }
            }
            EvalOperation::AnalyzeSteps | EvalOperation::Submit | EvalOperation::Stream => {}
        }
    }
    Ok(answers)
}

/// Sort order of list-batches: `createdAt` descending, then `batchExecutionId` descending.
fn newest_first(a: &Value, b: &Value) -> std::cmp::Ordering {
    let key = |v: &Value| {
        (
            v["createdAt"].as_str().unwrap_or_default().to_string(),
            v["batchExecutionId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    key(b).cmp(&key(a))
}

/// A page of list-batches. `hasMore` is true when the page came back full (as the later API
/// defines it; sent in every version, older clients ignore it).
fn list_body(batches: Vec<Value>, limit: usize, offset: usize) -> Value {
    let count = batches.len();
    object([
        ("batches", Value::Array(batches)),
        ("count", json!(count)),
        ("limit", json!(limit)),
        ("offset", json!(offset)),
        ("hasMore", json!(count == limit)),
    ])
}

/// The compare answer as a `Value` (checked at load, and for submitted groups, whose answers
/// go through the engine's validation like any computed answer).
fn compare_body(loaded: &LoadedGroup, step_filter: Option<&HashSet<&str>>) -> Value {
    serde_json::to_value(compare_view(loaded, step_filter)).expect("a compare view serialises")
}

/// The compare answer's bytes, written from the fixture data with no `Value` tree.
fn compare_bytes(loaded: &LoadedGroup, step_filter: Option<&HashSet<&str>>) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&compare_view(loaded, step_filter)).expect("a compare view serialises"),
    )
}

fn compare_view<'a>(
    loaded: &'a LoadedGroup,
    step_filter: Option<&HashSet<&str>>,
) -> CompareView<'a> {
    CompareView {
        eval_group_id: &loaded.group.eval_group_id,
        evals: loaded
            .group
            .batches
            .iter()
            .map(|batch| CompareEval {
                batch_execution_id: &batch.batch_execution_id,
                eval_name: &batch.eval_name,
                eval_config: &batch.eval_config,
                metrics: BatchMetrics::of(batch, step_filter).view(),
            })
            .collect(),
    }
}

/// compare-evals' answer, borrowing the fixture data, in the vendor's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CompareView<'a> {
    eval_group_id: &'a str,
    evals: Vec<CompareEval<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CompareEval<'a> {
    batch_execution_id: &'a str,
    eval_name: &'a str,
    eval_config: &'a Value,
    metrics: metrics::MetricsView,
}

/// A JSON object from owned values. `json!` serialises each value it is given (`to_value(&v)`),
/// which deep-copies trees that were just built; this moves them instead.
pub(super) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = serde_json::Map::with_capacity(N);
    for (key, value) in fields {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

/// A prevalidated body from a cache filled at load.
fn cached<K, Q>(cache: &IdMap<K, Bytes>, key: &Q) -> HandlerResult
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    let bytes = cache.get(key).cloned().ok_or_else(no_prepared_answer)?;
    Ok(Answer::Prepared(bytes))
}

/// A cache miss means the index and the fixtures disagree: a bug of the mock, reported as such.
fn no_prepared_answer() -> ApiError {
    ApiError::Internal(
        ErrorDetail::new(
            "INTERNAL_ERROR",
            "evalmock has no prepared answer for this request",
        )
        .suggest("This is a bug in evalmock: please report the request that caused it."),
    )
}

/// Whether every compare-record operation of a version lets filtered answers be assembled
/// without validating each: its 200 schema must allow leaving out any step results. Checked
/// once per load; a schema that does not (say a `minItems`) only costs validation per request.
fn assembly_keeps_valid(operations: &[(EvalOperation, &Operation)], spec: &Spec) -> bool {
    operations
        .iter()
        .filter(|(binding, _)| *binding == EvalOperation::CompareRecord)
        .all(|(_, operation)| {
            success_schema(operation).is_none_or(|schema| {
                let result = assembled::removal_keeps_valid(
                    spec,
                    spec.schema_value(schema),
                    compare_record::STEP_RESULTS,
                );
                if let Err(reason) = &result {
                    tracing::debug!(
                        operation = %operation.name,
                        "filtered answers are validated per request: {reason}"
                    );
                }
                result.is_ok()
            })
        })
}

/// A fixture answer that depends on the request: remembered by the engine once validated.
fn remembered(input: &HandlerInput<'_>, key: String, build: impl FnOnce() -> Bytes) -> Answer {
    // Each API version validates its answers against its own spec: remembered apart.
    let key = format!("{}|{key}", input.version);
    match input.memo.get(input.generation, &key) {
        Some(bytes) => Answer::Remembered(bytes),
        None => Answer::Computed {
            reply: Reply::json_bytes(200, build()),
            memo_key: Some(key),
        },
    }
}

/// A memo key from the normalised inputs that determine an answer: the operation, its ids and
/// the step filter as a sorted set. Unknown body fields never reach it.
fn memo_key(operation: &str, ids: &[&str], steps: &HashSet<&str>) -> String {
    let mut steps: Vec<&str> = steps.iter().copied().collect();
    steps.sort_unstable();
    let mut key = String::with_capacity(
        operation.len() + ids.iter().map(|i| i.len() + 1).sum::<usize>() + steps.len() * 32,
    );
    key.push_str(operation);
    for id in ids {
        key.push('|');
        key.push_str(id);
    }
    key.push('|');
    key.push_str(&steps.join(","));
    key
}

fn str_field<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field].as_str().unwrap_or_default()
}

fn path_param<'a>(input: &'a HandlerInput<'_>, name: &str) -> &'a str {
    input
        .request
        .path_params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// `stepIds` as a filter; absent or `[]` means every step.
fn step_filter(body: &Value) -> Option<HashSet<&str>> {
    body["stepIds"]
        .as_array()
        .filter(|ids| !ids.is_empty())
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
}

/// The ids of `stepIds` (none when absent).
fn step_ids(body: &Value) -> impl Iterator<Item = &str> {
    body["stepIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn batch_not_found(batch_id: &str) -> ApiError {
    ApiError::NotFound(batch_not_found_detail(batch_id))
}

fn batch_not_found_detail(batch_id: &str) -> ErrorDetail {
    ErrorDetail::new(
        "EVAL_BATCH_NOT_FOUND",
        format!("eval batch {batch_id} was not found"),
    )
    .at("path.id")
    .suggest("Use a batchExecutionId from GET /v1/eval/batches or GET /v1/eval/group/{groupId}.")
}

fn group_not_found(group_id: &str, path: &str) -> ApiError {
    ApiError::NotFound(group_not_found_detail(group_id, path))
}

fn group_not_found_detail(group_id: &str, path: &str) -> ErrorDetail {
    ErrorDetail::new(
        "EVAL_GROUP_NOT_FOUND",
        format!("eval group {group_id} was not found"),
    )
    .at(path)
    .suggest("Check the id; GET /v1/eval/batches lists the eval groups of your batches.")
}

/// The JSON schema of an operation's 200 answer.
fn success_schema(operation: &Operation) -> Option<&CompiledSchema> {
    operation
        .response(200)
        .and_then(|r| {
            r.content
                .iter()
                .find(|m| crate::validate::is_json_media(&m.media_type))
        })
        .and_then(|m| m.schema.as_ref())
}

/// Validates a fixture-derived body against the operation's 200 schema.
fn check_against_spec(
    operation: &Operation,
    body: &Value,
    fixture_path: impl Fn(&str) -> String,
    file: &str,
) -> Result<(), FixtureError> {
    let Some(schema) = success_schema(operation) else {
        return Ok(());
    };
    let violations: Vec<Violation> = schema_violations(schema, body);
    match violations.first() {
        None => Ok(()),
        Some(first) => Err(FixtureError::Invalid {
            file: file.to_string(),
            path: fixture_path(&first.path),
            message: format!(
                "breaks the spec's {} response schema: {}{}",
                operation.display_name(),
                first.message,
                if violations.len() > 1 {
                    format!(" (and {} more)", violations.len() - 1)
                } else {
                    String::new()
                }
            ),
        }),
    }
}
