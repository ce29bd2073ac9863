//! How the contract commands print: a plain-text table for people, JSON for scripts, JUnit XML
//! for CI systems (one `<testsuite>`, a `<testcase>` per check, `<failure>` listing what went
//! wrong). One renderer each, so `check`, `verify`, `coverage` and `drift` look alike.

use std::fmt::Write as _;

/// The output formats a contract command offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
    Junit,
}

/// A plain-text table: a header row, a rule, the rows; columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// One `<testcase>`: its name, the class it is grouped under, how long it took, and what
/// failed (nothing: it passed).
#[derive(Debug, Clone)]
pub struct TestCase {
    pub class: String,
    pub name: String,
    pub seconds: f64,
    pub failures: Vec<String>,
}

/// A JUnit XML document with one `<testsuite>`.
pub fn junit(suite: &str, cases: &[TestCase]) -> String {
    let failures = cases.iter().filter(|c| !c.failures.is_empty()).count();
    let seconds: f64 = cases.iter().map(|c| c.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        xml(suite),
        cases.len()
    );
    for case in cases {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml(&case.class),
            xml(&case.name),
            case.seconds
        );
        if case.failures.is_empty() {
            out.push_str("/>\n");
        } else {
            let _ = writeln!(
                out,
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                xml(&case.failures[0]),
                xml(&case.failures.join("\n"))
            );
        }
    }
    out.push_str("</testsuite>\n");
    out
}

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_names_and_lists_failures() {
        let xml = junit(
            "s",
            &[
                TestCase {
                    class: "a".into(),
                    name: "x<y>".into(),
                    seconds: 0.0,
                    failures: vec![],
                },
                TestCase {
                    class: "a".into(),
                    name: "b".into(),
                    seconds: 0.5,
                    failures: vec!["bad \"one\"".into()],
                },
            ],
        );
        assert!(xml.contains("name=\"x&lt;y&gt;\""), "{xml}");
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"bad &quot;one&quot;\">"),
            "{xml}"
        );
    }

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let text = table(&["a", "bb"], &[vec!["long".into(), "1".into()]]);
        assert_eq!(text, "a     bb\n----  --\nlong  1\n");
    }
}
