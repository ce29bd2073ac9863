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

/// Whether strings can be drawn from `pattern` at all: false for what `regex-syntax` does not
/// parse though the validator's engine does (look-around, back-references). The loader
/// warns about such patterns; values for them come from [`without_look_around`] draws
/// checked against the whole pattern, or the schema's example.
pub fn drawable(pattern: &str) -> bool {
    regex_syntax::Parser::new().parse(pattern).is_ok()
}

/// `pattern` with its look-around groups (`(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`)
/// removed: `^(?=.*[0-9]).{8,}$` -> `^.{8,}$`. Draws from it satisfy the rest of the
/// pattern; whether they also satisfy the look-arounds the caller checks with the full one.
pub fn without_look_around(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut at = 0;
    let mut in_class = false;
    while at < bytes.len() {
        let rest = &pattern[at..];
        if rest.starts_with('\\') {
            let len = rest.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
            out.push_str(&rest[..len]);
            at += len;
            continue;
        }
        if !in_class
            && ["(?=", "(?!", "(?<=", "(?<!"]
                .iter()
                .any(|start| rest.starts_with(start))
        {
            at += group_len(rest);
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        match c {
            '[' => in_class = true,
            ']' => in_class = false,
            _ => {}
        }
        out.push(c);
        at += c.len_utf8();
    }
    out
}

/// The length of the parenthesised group `group` starts with (escapes and classes skipped);
/// the whole rest when it is never closed.
fn group_len(group: &str) -> usize {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = group.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
    }
    group.len()
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
    fn look_arounds_are_removed_whole_and_nothing_else_is() {
        assert_eq!(
            without_look_around(r"^(?=.*[0-9])(?=.*[a-z]).{8,}$"),
            "^.{8,}$"
        );
        assert_eq!(
            without_look_around(r"^(?!.*(\)|x))[a-z(]+(?<=z)\(?=$"),
            r"^[a-z(]+\(?=$"
        );
        assert_eq!(without_look_around(r"a(?<!b(c)"), "a");
        assert_eq!(without_look_around("(?:ab)+"), "(?:ab)+");
        assert!(drawable("^a+$"));
        assert!(!drawable("^(?=a)a$"));
        assert!(!drawable(r"^(a)\1$"));
    }

    #[test]
    fn unparsable_and_huge_patterns_are_declined() {
        let mut rng = Seeded::new(1);
        assert_eq!(generate("a{", &mut rng), None);
        assert_eq!(generate("a{100000}", &mut rng), None);
    }
}
