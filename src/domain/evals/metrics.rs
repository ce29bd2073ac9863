//! Aggregates over step results, shared by compare-evals and get-eval-group so that both say
//! the same about the same data (and agree with what compare-record and results return).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::fixtures::model::Batch;

/// Totals of one batch over the step results that pass a `stepIds` filter.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchMetrics {
    pub total_cost: f64,
    pub total_duration_ms: i64,
    pub total_prompt_tokens: i64,
    pub total_completion_tokens: i64,
    pub total_steps: usize,
    pub successful_steps: usize,
    pub failed_steps: usize,
    /// Records with at least one kept step result: the denominator of the per-record averages.
    pub records: usize,
}

impl BatchMetrics {
    /// The filter applies before aggregation; `None` counts every step. Averages divide by the
    /// records that have at least one kept step result.
    pub fn of(batch: &Batch, step_filter: Option<&HashSet<&str>>) -> BatchMetrics {
        let mut metrics = BatchMetrics::default();
        for result in &batch.results {
            let mut kept_any = false;
            let kept = result
                .step_results
                .iter()
                .filter(|s| step_filter.is_none_or(|f| f.contains(s.step_id.as_str())));
            for step in kept {
                kept_any = true;
                metrics.total_cost += step.total_cost.unwrap_or(0.0);
                metrics.total_duration_ms += step.duration_ms.unwrap_or(0);
                metrics.total_prompt_tokens += step.prompt_tokens.unwrap_or(0);
                metrics.total_completion_tokens += step.completion_tokens.unwrap_or(0);
                metrics.total_steps += 1;
                if step.error_message.is_some() {
                    metrics.failed_steps += 1;
                } else {
                    metrics.successful_steps += 1;
                }
            }
            metrics.records += usize::from(kept_any);
        }
        metrics
    }

    /// The vendor's `metrics` object. `successRate` is a fraction (0-1); money is rounded to 6
    /// decimals (micro-dollars).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.view()).expect("metrics serialise: numbers only")
    }

    /// The `metrics` object as a view, written straight into an answer (no `Value`).
    pub fn view(&self) -> MetricsView {
        let per_record = |total: f64| {
            if self.records == 0 {
                0.0
            } else {
                total / self.records as f64
            }
        };
        let success_rate = if self.total_steps == 0 {
            0.0
        } else {
            self.successful_steps as f64 / self.total_steps as f64
        };
        MetricsView {
            total_cost: round(self.total_cost, 6),
            avg_cost_per_record: round(per_record(self.total_cost), 6),
            total_duration_ms: self.total_duration_ms,
            avg_duration_per_record: round(per_record(self.total_duration_ms as f64), 2),
            total_prompt_tokens: self.total_prompt_tokens,
            total_completion_tokens: self.total_completion_tokens,
            success_rate: round(success_rate, 4),
            total_steps: self.total_steps,
            successful_steps: self.successful_steps,
            failed_steps: self.failed_steps,
        }
    }
}

/// The vendor's `metrics` object, in its field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsView {
    total_cost: f64,
    avg_cost_per_record: f64,
    total_duration_ms: i64,
    avg_duration_per_record: f64,
    total_prompt_tokens: i64,
    total_completion_tokens: i64,
    success_rate: f64,
    total_steps: usize,
    successful_steps: usize,
    failed_steps: usize,
}

pub fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}
