//! `POST /v1/eval/analyze-steps`: how often search terms occur in the outputs of chosen steps,
//! batch by batch. Terms are regular expressions (the vendor calls the search "regex-capable");
//! a plain word matches itself. Every rule that refuses a term is in the spec (non-empty,
//! `format: regex`), so a term the spec accepts is always searched.

use std::collections::HashSet;

use bytes::Bytes;
use regex::{Regex, RegexBuilder};
use serde::Serialize;
use serde_json::Value;

use super::metrics::round;
use crate::fixtures::LoadedGroup;
use crate::validate::{Violation, ViolationCode};

/// Compiled search terms; every unusable term is reported, each at its own index.
pub(super) fn compile_terms(
    terms: &[String],
    case_sensitive: bool,
) -> Result<Vec<Regex>, Vec<Violation>> {
    let mut patterns = Vec::with_capacity(terms.len());
    let mut violations = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let invalid = |message: String, suggestion: &str| Violation {
            code: ViolationCode::InvalidValue,
            path: format!("searchTerms[{i}]"),
            message,
            suggestion: Some(suggestion.to_string()),
            schema_path: None,
        };
        if term.is_empty() {
            violations.push(invalid(
                format!("`searchTerms[{i}]` is empty and would match everywhere"),
                "Remove empty search terms.",
            ));
            continue;
        }
        // The spec checks terms as ECMA-262 patterns (`format: regex`); one this engine cannot
        // run (a look-around, a back-reference) is searched for literally rather than refused.
        let build = |pattern: &str| {
            RegexBuilder::new(pattern)
                .case_insensitive(!case_sensitive)
                .size_limit(1 << 20)
                .build()
        };
        match build(term).or_else(|_| build(&regex::escape(term))) {
            Ok(pattern) => patterns.push(pattern),
            Err(e) => violations.push(invalid(
                format!(
                    "`searchTerms[{i}]` cannot be searched for: {}",
                    e.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                "Use a shorter search term.",
            )),
        }
    }
    if violations.is_empty() {
        Ok(patterns)
    } else {
        Err(violations)
    }
}

/// Counts non-overlapping matches of each term in each analysed step's `output`.
/// `stepIds: []` analyses every step; a null output is analysed and contains nothing. The
/// answer is written from the fixture data with no `Value` tree.
pub(super) fn analyze_bytes(
    loaded: &LoadedGroup,
    step_ids: &[String],
    search_terms: &[String],
    patterns: &[Regex],
) -> Bytes {
    let filter: HashSet<&str> = step_ids.iter().map(String::as_str).collect();
    let results: Vec<BatchAnalysis> = loaded
        .group
        .batches
        .iter()
        .map(|batch| {
            let outputs: Vec<&str> = batch
                .results
                .iter()
                .flat_map(|r| &r.step_results)
                .filter(|s| filter.is_empty() || filter.contains(s.step_id.as_str()))
                .map(|s| s.output.as_deref().unwrap_or_default())
                .collect();
            let analysed = outputs.len();
            let term_analysis = search_terms
                .iter()
                .zip(patterns)
                .map(|(term, pattern)| {
                    let (total, containing) =
                        outputs.iter().fold((0, 0), |(total, containing), output| {
                            // Zero-length matches (`a*` between letters) are not occurrences.
                            let n = pattern.find_iter(output).filter(|m| !m.is_empty()).count();
                            (total + n, containing + usize::from(n > 0))
                        });
                    let rate = if analysed == 0 {
                        0.0
                    } else {
                        containing as f64 / analysed as f64
                    };
                    TermAnalysis {
                        term,
                        total_occurrences: total,
                        steps_containing_term: containing,
                        occurrence_rate: round(rate, 4),
                    }
                })
                .collect();
            BatchAnalysis {
                batch_execution_id: &batch.batch_execution_id,
                eval_name: &batch.eval_name,
                eval_config: &batch.eval_config,
                total_steps_analyzed: analysed,
                term_analysis,
            }
        })
        .collect();
    let view = AnalyzeView {
        eval_group_id: &loaded.group.eval_group_id,
        step_ids,
        search_terms,
        results,
    };
    Bytes::from(serde_json::to_vec(&view).expect("an analyze view serialises"))
}

/// analyze-steps' answer, borrowing the fixture data, in the vendor's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnalyzeView<'a> {
    eval_group_id: &'a str,
    step_ids: &'a [String],
    search_terms: &'a [String],
    results: Vec<BatchAnalysis<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchAnalysis<'a> {
    batch_execution_id: &'a str,
    eval_name: &'a str,
    eval_config: &'a Value,
    total_steps_analyzed: usize,
    term_analysis: Vec<TermAnalysis<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TermAnalysis<'a> {
    term: &'a str,
    total_occurrences: usize,
    steps_containing_term: usize,
    occurrence_rate: f64,
}
