//! Strings that match a schema's `pattern`, drawn from the mock's seeded source.
//!
//! The pattern is parsed by `regex-syntax` (the parser of the `regex` crate the validator's
//! engine also builds on, already in the tree) into its high-level form, which is then walked:
//! literals are copied, classes drawn from (printable ASCII first, so values stay readable),
//! alternatives picked, repetitions drawn between their bounds (an open bound allows a few
//! more). Anchors and other look-arounds produce nothing; what they forbid the caller catches
//! by validating the value, and falls back.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::seeded::Seeded;

/// Longest string drawn; a pattern that needs more (`a{100000}`) is declined.
const MAX_LEN: usize = 4096;

/// A string matching `pattern`, or `None` when it cannot be parsed or needs a longer string.
pub fn generate(pattern: &str, rng: &mut Seeded) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    walk(&hir, rng, &mut out)?;
    Some(out)
}

fn walk(hir: &Hir, rng: &mut Seeded, out: &mut String) -> Option<()> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => {
            for c in std::str::from_utf8(&literal.0).ok()?.chars() {
                // One draw per literal character keeps the stream aligned with the draws of
                // classes, so a pattern's later characters do not shift when a literal grows.
                rng.below(1);
                out.push(c);
            }
        }
        HirKind::Class(class) => out.push(pick(class, rng)?),
        HirKind::Repetition(repetition) => {
            let min = i64::from(repetition.min);
            let max = match repetition.max {
                Some(max) => i64::from(max),
                None if min <= 1 => 3,
                None => min + 3,
            };
            let count = rng.between(min, max.min(min + MAX_LEN as i64));
            for _ in 0..count {
                walk(&repetition.sub, rng, out)?;
                if out.len() > MAX_LEN {
                    return None;
                }
            }
        }
        HirKind::Capture(capture) => walk(&capture.sub, rng, out)?,
        HirKind::Concat(parts) => {
            for part in parts {
                walk(part, rng, out)?;
            }
        }
        HirKind::Alternation(choices) => walk(rng.pick(choices)?, rng, out)?,
    }
    (out.len() <= MAX_LEN).then_some(())
}

/// A character of the class: printable ASCII when the class has any, else any of it.
fn pick(class: &Class, rng: &mut Seeded) -> Option<char> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(class) => class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(class) => class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end().min(0x7f))))
            .filter(|(start, end)| start <= end)
            .collect(),
    };
    let printable: Vec<(u32, u32)> = ranges
        .iter()
        .map(|&(start, end)| (start.max(0x20), end.min(0x7e)))
        .filter(|(start, end)| start <= end)
        .collect();
    let ranges = if printable.is_empty() {
        ranges
    } else {
        printable
    };
    let total: u64 = ranges.iter().map(|(s, e)| u64::from(e - s) + 1).sum();
    let mut index = rng.below(total);
    for (start, end) in ranges {
        let size = u64::from(end - start) + 1;
        if index < size {
            // A range spanning the surrogate gap has no character there; take its start.
            return char::from_u32(start + index as u32).or_else(|| char::from_u32(start));
        }
        index -= size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_strings_match_their_pattern() {
        let patterns = [
            "^evalcfg_[0-9a-hjkmnp-tv-z]{26}$",
            r"^\d{3}-[A-Z]+x?$",
            "^(EUR|USD|GBP)$",
            r"^[a-z]{2}(-[A-Z]{2})?$",
            r"^\+?[1-9]\d{1,14}$",
            r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
            "ab*c+",
        ];
        let mut rng = Seeded::new(3);
        for pattern in patterns {
            let regex = regex::Regex::new(pattern).expect("regex");
            for _ in 0..50 {
                let value = generate(pattern, &mut rng).expect("generated");
                assert!(regex.is_match(&value), "{pattern}: {value:?}");
            }
        }
    }

    #[test]
    fn unparsable_and_huge_patterns_are_declined() {
        let mut rng = Seeded::new(1);
        assert_eq!(generate("a{", &mut rng), None);
        assert_eq!(generate("a{100000}", &mut rng), None);
    }
}
