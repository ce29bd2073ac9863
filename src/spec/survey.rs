//! One read-only walk over the document for the facts loading asks of all of it: whether
//! `readOnly: true` / `writeOnly: true` appear (`direction` copies the document only then),
//! whether a base URI is set (`schema` shares validators only without one), where every
//! `oneOf` branch is (compiled for generation), and which objects `normalize` degrades. On a
//! large document each full walk costs about as much as lowering a tenth of its operations,
//! and these were four walks; now they are one, and pointers are rendered only for what is
//! found. `normalize` runs it before degrading and again only if degrading moved a subtree.

use serde_json::Value;

use super::normalize::{DEGRADED_KEYWORDS, LITERAL_KEYWORDS};
use super::pointer::Path;

#[derive(Debug, Default)]
pub(super) struct Survey {
    /// `readOnly: true` appears somewhere (conservatively: also inside literal data).
    pub read_only: bool,
    /// `writeOnly: true` appears somewhere (likewise).
    pub write_only: bool,
    /// `$id` appears somewhere (likewise): the same schema text may then mean different things
    /// in different places.
    pub sets_base_uri: bool,
    /// The pointer of each branch of each `oneOf` outside literal data and `x-` extensions, in
    /// document order.
    pub one_of_branches: Vec<String>,
    /// The pointer of each object outside literal data and extensions holding a keyword
    /// `normalize` may degrade, children before their parent.
    pub degradable: Vec<String>,
}

impl Survey {
    pub(super) fn of(document: &Value) -> Survey {
        let mut survey = Survey::default();
        survey.walk(document, &mut Path::default(), false);
        survey
    }

    /// `literal`: inside example data or an extension, where only the flags are looked for.
    fn walk<'a>(&mut self, value: &'a Value, path: &mut Path<'a>, literal: bool) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match key.as_str() {
                        "readOnly" if child.as_bool() == Some(true) => self.read_only = true,
                        "writeOnly" if child.as_bool() == Some(true) => self.write_only = true,
                        "$id" => self.sets_base_uri = true,
                        _ => {}
                    }
                    let literal_child = literal
                        || LITERAL_KEYWORDS.contains(&key.as_str())
                        || key.starts_with("x-");
                    path.push_key(key);
                    if !literal_child
                        && key == "oneOf"
                        && let Value::Array(branches) = child
                    {
                        let pointer = path.pointer();
                        self.one_of_branches
                            .extend((0..branches.len()).map(|i| format!("{pointer}/{i}")));
                    }
                    self.walk(child, path, literal_child);
                    path.pop();
                }
                if !literal
                    && map
                        .keys()
                        .any(|key| DEGRADED_KEYWORDS.contains(&key.as_str()))
                {
                    self.degradable.push(path.pointer());
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push_index(index);
                    self.walk(item, path, literal);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Survey;

    #[test]
    fn finds_the_flags_anywhere_and_branches_and_degradable_objects_outside_literal_data() {
        let survey = Survey::of(&json!({
            "components": {"schemas": {
                "a/b": {"oneOf": [{"type": "string"}, {"readOnly": true}]},
                "Doc": {"example": {"oneOf": [1, 2], "writeOnly": true, "pattern": "x"}},
                "Id": {"type": "string", "pattern": "^a", "items": {"nullable": true}},
                "Ext": {"x-oneOf": {"oneOf": [{}]}}
            }}
        }));
        assert!(survey.read_only && survey.write_only);
        assert!(!survey.sets_base_uri);
        assert_eq!(
            survey.one_of_branches,
            [
                "/components/schemas/a~1b/oneOf/0",
                "/components/schemas/a~1b/oneOf/1"
            ]
        );
        assert_eq!(
            survey.degradable,
            ["/components/schemas/Id/items", "/components/schemas/Id"]
        );
        let survey = Survey::of(&json!({"examples": [{"$id": "x"}], "readOnly": false}));
        assert!(survey.sets_base_uri && !survey.read_only && !survey.write_only);
    }
}
