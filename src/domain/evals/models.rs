//! The model price table: list prices and speed of every model the fixtures and submitted evals
//! use. The table is data, `models.json` next to this file, compiled in and parsed once.
//!
//! It lives in the domain because the domain is what applies it: a submitted eval re-prices and
//! re-times a recorded step for the requested model (`submit`). Fixtures do not depend on it
//! (dependencies point downwards): the bundled fixture files carry their own `totalCost`s, and
//! the synthetic generator reuses their token counts unchanged, so their costs stay valid. The
//! tests check that every priced step in the bundled files follows this table.

use std::sync::LazyLock;

use serde::Deserialize;

/// A model's list price and how fast it answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSpec {
    /// The id as it appears in `modelUsed` and in eval configs.
    pub id: String,
    /// Who serves it (`openai`, `anthropic`, `google`); informative only.
    pub provider: String,
    /// USD per 1M prompt tokens.
    pub input_usd_per_mtok: f64,
    /// USD per 1M completion tokens; reasoning tokens are billed at this rate too.
    pub output_usd_per_mtok: f64,
    /// Reports `reasoningTokens` and a `reasoningContent` summary.
    pub reasoning: bool,
    /// Time to first token, in milliseconds.
    pub latency_ms: i64,
    /// Generation time per output (or reasoning) token, in milliseconds.
    pub ms_per_token: f64,
}

impl ModelSpec {
    /// `promptTokens x input price + (completionTokens + reasoningTokens) x output price`, in USD
    /// rounded to 6 decimals: the rule every `totalCost` follows.
    pub fn cost_usd(
        &self,
        prompt_tokens: i64,
        completion_tokens: i64,
        reasoning_tokens: i64,
    ) -> f64 {
        let micro_usd = prompt_tokens as f64 * self.input_usd_per_mtok
            + (completion_tokens + reasoning_tokens) as f64 * self.output_usd_per_mtok;
        round6(micro_usd / 1_000_000.0)
    }
}

/// Rounds to 6 decimals (a millionth of a dollar), the precision of `totalCost`.
pub fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

static MODELS: LazyLock<Vec<ModelSpec>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("models.json"))
        .expect("models.json is a valid price table (checked by the tests below)")
});

/// Every model of the table, in file order.
#[cfg(test)]
fn models() -> &'static [ModelSpec] {
    &MODELS
}

/// The price-table row of a model id, if the table knows it.
pub fn model_spec(id: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_with_unique_ids_and_positive_prices() {
        let mut ids = std::collections::HashSet::new();
        assert!(models().len() >= 7);
        for model in models() {
            assert!(
                ids.insert(model.id.as_str()),
                "{} is listed twice",
                model.id
            );
            assert!(model.input_usd_per_mtok > 0.0 && model.output_usd_per_mtok > 0.0);
            assert!(model.latency_ms > 0 && model.ms_per_token > 0.0);
        }
    }

    #[test]
    fn cost_follows_the_list_price() {
        let spec = |id| model_spec(id).expect("in the table");
        assert_eq!(spec("gpt-4o").cost_usd(1_000, 200, 0), 0.0045);
        assert_eq!(spec("gpt-5-mini").cost_usd(1_000, 100, 300), 0.00105);
        assert_eq!(spec("gpt-4o").cost_usd(188, 52, 0), 0.00099);
        assert!(model_spec("gpt-2").is_none());
    }
}
