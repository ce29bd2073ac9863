//! Answers assembled from parts prepared at load.
//!
//! Many answers are one prepared answer with some items of an array left out (a step filter on
//! a record's step results). Building a `serde_json::Value` tree per request for them, then
//! serialising and validating it, costs far more than the request itself. Instead the whole
//! answer is serialised once at load into a [`Template`] that remembers where each item of the
//! marked arrays sits in its bytes; a filtered answer is the bytes between those items plus the
//! items kept, copied in order. The bytes are identical to what serialising the filtered
//! `Value` would give (compact `serde_json`, keys in insertion order), which the tests check
//! for every fixture answer.
//!
//! Whether an assembled answer still needs validating is decided once, at load, by
//! [`removal_keeps_valid`]: when the schema along the marked path allows any subsequence of
//! the array's items, an answer made of validated parts is valid without another look.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::spec::Spec;

/// Where the removable items are: a path of object fields and "every item" steps from the
/// answer's root to an array, and the field of each item that names it.
#[derive(Debug, Clone, Copy)]
pub struct ItemsPath<'a> {
    pub steps: &'a [PathStep<'a>],
    /// A string field of each item; items without it are always kept.
    pub key: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep<'a> {
    /// The value of this field of an object.
    Field(&'a str),
    /// Each item of an array.
    EachItem,
}

/// One answer serialised once, with the position of every removable item.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Bytes,
    /// The marked arrays in the order they appear in `bytes`.
    arrays: Vec<MarkedArray>,
}

#[derive(Debug, Clone)]
struct MarkedArray {
    /// From just after `[` to just before `]`.
    inner: Range<usize>,
    /// Each item's key (None: the item has none and is always kept) and bytes.
    items: Vec<(Option<Box<str>>, Range<usize>)>,
}

impl Template {
    /// Serialises `value` compactly, as `value.to_string()` does, marking the items of the
    /// arrays at `path`.
    pub fn new(value: &Value, path: ItemsPath<'_>) -> Template {
        let mut writer = Writer {
            out: Vec::with_capacity(4096),
            arrays: Vec::new(),
            key: path.key,
        };
        writer.write(value, Some(path.steps));
        Template {
            // Shrunk to its length: kept for the life of the World, one per record.
            bytes: Bytes::from(writer.out.into_boxed_slice()),
            arrays: writer.arrays,
        }
    }

    /// The whole answer (shared, not copied).
    pub fn whole(self: &Arc<Self>) -> Assembled {
        Assembled {
            bytes: self.bytes.clone(),
            recipe: Recipe {
                template: self.clone(),
                kept: None,
                len: self.bytes.len(),
            },
        }
    }

    /// The answer with only the marked items whose key `keep` accepts (and those without a
    /// key). Two copies of at most the whole answer's length; no parsing, no tree.
    pub fn keeping(self: &Arc<Self>, keep: impl Fn(&str) -> bool) -> Assembled {
        let items: usize = self.arrays.iter().map(|array| array.items.len()).sum();
        let mut kept = vec![0u64; items.div_ceil(64)].into_boxed_slice();
        let mut index = 0;
        let bytes = self.write(|key| {
            let yes = key.is_none_or(&keep);
            if yes {
                kept[index / 64] |= 1 << (index % 64);
            }
            index += 1;
            yes
        });
        Assembled {
            recipe: Recipe {
                template: self.clone(),
                kept: Some(kept),
                len: bytes.len(),
            },
            bytes: Bytes::from(bytes),
        }
    }

    /// The answer with the marked items `keep` accepts, asked item by item in the order they
    /// appear (with each item's key).
    fn write(&self, mut keep: impl FnMut(Option<&str>) -> bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len());
        let mut cursor = 0;
        for array in &self.arrays {
            out.extend_from_slice(&self.bytes[cursor..array.inner.start]);
            let mut first = true;
            for (key, range) in &array.items {
                if keep(key.as_deref()) {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(&self.bytes[range.clone()]);
                }
            }
            cursor = array.inner.end;
        }
        out.extend_from_slice(&self.bytes[cursor..]);
        out
    }

    /// Bytes held, for memory accounting.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// An answer assembled from a [`Template`]: the bytes to send, and the [`Recipe`] that wrote
/// them.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub bytes: Bytes,
    pub recipe: Recipe,
}

/// How an assembled answer was written: its template (shared with the World) and which marked
/// items were kept. A few words where a copy of the answer's first bytes was 4 KB: the journal
/// keeps this and writes the body again when an entry is read (issue 12: a full journal of
/// compare-record answers held ~5 MB of copies). It keeps the template alive, so the journal
/// turns recipes into bytes when the World they belong to is replaced
/// (`Journal::detach_recipes`).
#[derive(Debug, Clone)]
pub struct Recipe {
    template: Arc<Template>,
    /// One bit per marked item, in the order the items appear; None: every item.
    kept: Option<Box<[u64]>>,
    /// The answer's length in bytes.
    len: usize,
}

impl Recipe {
    /// The answer's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The answer's bytes, written again: the same bytes [`Template::keeping`] or
    /// [`Template::whole`] gave.
    pub fn bytes(&self) -> Bytes {
        let Some(kept) = &self.kept else {
            return self.template.bytes.clone();
        };
        let mut index = 0;
        Bytes::from(self.template.write(|_| {
            let yes = kept
                .get(index / 64)
                .is_some_and(|word| word & (1 << (index % 64)) != 0);
            index += 1;
            yes
        }))
    }
}

struct Writer<'k> {
    out: Vec<u8>,
    arrays: Vec<MarkedArray>,
    key: &'k str,
}

impl Writer<'_> {
    /// `path`: the steps still to go to a marked array (None: off the path). An empty path
    /// means `value` is a marked array.
    fn write(&mut self, value: &Value, path: Option<&[PathStep<'_>]>) {
        match value {
            Value::Object(map) => {
                self.out.push(b'{');
                for (i, (name, field)) in map.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.scalar(name.as_str());
                    self.out.push(b':');
                    let rest = match path {
                        Some([PathStep::Field(f), rest @ ..]) if f == name => Some(rest),
                        _ => None,
                    };
                    self.write(field, rest);
                }
                self.out.push(b'}');
            }
            Value::Array(items) => {
                self.out.push(b'[');
                let marked = path == Some(&[]);
                let inner_path = match path {
                    Some([PathStep::EachItem, rest @ ..]) => Some(rest),
                    _ => None,
                };
                let start = self.out.len();
                let mut ranges = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    let item_start = self.out.len();
                    self.write(item, if marked { None } else { inner_path });
                    if marked {
                        let key = item.get(self.key).and_then(Value::as_str).map(Box::from);
                        ranges.push((key, item_start..self.out.len()));
                    }
                }
                if marked {
                    self.arrays.push(MarkedArray {
                        inner: start..self.out.len(),
                        items: ranges,
                    });
                }
                self.out.push(b']');
            }
            scalar => self.scalar(scalar),
        }
    }

    fn scalar(&mut self, value: &(impl serde::Serialize + ?Sized)) {
        // Writing to a Vec cannot fail, and a JSON value or string always serialises.
        serde_json::to_writer(&mut self.out, value).expect("a JSON value serialises");
    }
}

/// Whether leaving out any items of the arrays at `path` keeps a valid instance of `schema`
/// valid; else why not (the keyword that could break, and where).
///
/// Why it holds when it says yes: along the path every schema is a plain object or array
/// schema (a `$ref` is followed) with no keyword that looks at the marked array as a whole
/// from above (`allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else`, `dependentSchemas`,
/// `contains`, `uniqueItems` or `unevaluatedItems` on an enclosing array), so the instance
/// stays valid exactly when each changed array does; and the marked array's schema constrains
/// it only item by item (`items`) and from above (`maxItems`, `uniqueItems`), both of which a
/// subsequence of valid items keeps. Anything else (`minItems` > 0, `contains`,
/// `prefixItems`...) is refused, and those answers are validated per request instead.
pub fn removal_keeps_valid(spec: &Spec, schema: &Value, path: ItemsPath<'_>) -> Result<(), String> {
    const LOOKS_FROM_ABOVE: &[&str] = &[
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "contains",
        "uniqueItems",
        "unevaluatedItems",
        "prefixItems",
        "$dynamicRef",
    ];
    const ARRAY_KEYWORDS_KEPT: &[&str] = &[
        "type",
        "items",
        "maxItems",
        "uniqueItems",
        "description",
        "title",
        "example",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",
        "$comment",
        "$id",
        "$anchor",
        "xml",
        "externalDocs",
    ];
    let mut node = spec.resolve(schema);
    let mut place = String::from("#");
    for step in path.steps {
        let map = node
            .as_object()
            .ok_or_else(|| format!("{place} is not a schema object"))?;
        if let Some(keyword) = LOOKS_FROM_ABOVE.iter().find(|k| map.contains_key(**k)) {
            return Err(format!("{place} has `{keyword}`"));
        }
        node = match step {
            PathStep::Field(name) => {
                place.push_str("/properties/");
                place.push_str(name);
                map.get("properties")
                    .and_then(|p| p.get(*name))
                    .ok_or_else(|| format!("{place} is not declared"))?
            }
            PathStep::EachItem => {
                place.push_str("/items");
                map.get("items")
                    .ok_or_else(|| format!("{place} is not declared"))?
            }
        };
        node = spec.resolve(node);
    }
    let map = node
        .as_object()
        .ok_or_else(|| format!("{place} is not a schema object"))?;
    if let Some(keyword) = map.keys().find(|k| {
        let kept =
            ARRAY_KEYWORDS_KEPT.contains(&k.as_str()) || (k.as_str() == "minItems" && map[*k] == 0);
        !kept
    }) {
        return Err(format!("{place} has `{keyword}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PATH: ItemsPath<'static> = ItemsPath {
        steps: &[
            PathStep::Field("evals"),
            PathStep::EachItem,
            PathStep::Field("steps"),
        ],
        key: "id",
    };

    fn answer() -> Value {
        json!({
            "group": "g \"1\"",
            "evals": [
                {"name": "a", "steps": [{"id": "s1", "x": [1, 2]}, {"id": "s2"}, {"noid": true}], "tail": {"k": null}},
                {"name": "b", "steps": []},
                {"name": "c", "steps": [{"id": "s2", "text": "é\n"}]}
            ],
            "steps": [{"id": "s1"}]
        })
    }

    #[test]
    fn the_whole_template_is_the_compact_serialisation() {
        let value = answer();
        let whole = Arc::new(Template::new(&value, PATH)).whole();
        assert_eq!(whole.bytes, value.to_string());
        assert_eq!(whole.recipe.bytes(), value.to_string());
    }

    #[test]
    fn keeping_some_items_is_the_serialisation_of_the_filtered_value() {
        let value = answer();
        let template = Arc::new(Template::new(&value, PATH));
        for kept in [&[][..], &["s1"], &["s2"], &["s1", "s2"], &["other"]] {
            let mut expected = value.clone();
            for eval in expected["evals"].as_array_mut().expect("evals") {
                eval["steps"].as_array_mut().expect("steps").retain(|s| {
                    s.get("id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| kept.contains(&id))
                });
            }
            let assembled = template.keeping(|id| kept.contains(&id));
            assert_eq!(assembled.bytes, expected.to_string(), "keeping {kept:?}");
            // The recipe the journal keeps writes the same bytes again.
            assert_eq!(
                assembled.recipe.bytes(),
                assembled.bytes,
                "recipe of {kept:?}"
            );
        }
    }

    #[test]
    fn a_recipe_past_sixty_four_items_writes_the_same_bytes() {
        let steps: Vec<Value> = (0..130).map(|i| json!({"id": format!("s{i}")})).collect();
        let value = json!({"evals": [{"steps": steps[..70]}, {"steps": steps[70..]}], "steps": []});
        let template = Arc::new(Template::new(&value, PATH));
        let assembled = template.keeping(|id| id[1..].parse::<usize>().is_ok_and(|i| i % 3 == 0));
        assert_eq!(
            assembled.bytes.iter().filter(|&&b| b == b'{').count(),
            1 + 2 + 44
        );
        assert_eq!(assembled.recipe.bytes(), assembled.bytes);
    }

    fn spec_with(schema: Value) -> Spec {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"Step": {"type": "object"}, "Answer": schema}}
        });
        Spec::load(&document.to_string(), "test").expect("loads")
    }

    #[test]
    fn removal_is_allowed_only_where_the_schema_permits_it() {
        let answer = |steps: Value| {
            json!({
                "type": "object",
                "properties": {"evals": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"steps": steps}
                }}}
            })
        };
        let check = |steps: Value| {
            let spec = spec_with(answer(steps));
            let schema = json!({"$ref": "#/components/schemas/Answer"});
            removal_keeps_valid(&spec, &schema, PATH)
        };
        assert_eq!(
            check(json!({"type": "array", "items": {"$ref": "#/components/schemas/Step"}})),
            Ok(())
        );
        assert_eq!(
            check(json!({"type": "array", "maxItems": 3, "uniqueItems": true, "minItems": 0})),
            Ok(())
        );
        assert_eq!(
            check(json!({"type": "array", "minItems": 1})),
            Err("#/properties/evals/items/properties/steps has `minItems`".into())
        );
        assert!(check(json!({"type": "array", "contains": {}})).is_err());
        assert!(check(json!({"type": "array", "prefixItems": [{}]})).is_err());
        let spec = spec_with(json!({"type": "object", "oneOf": [{}, {}]}));
        assert!(
            removal_keeps_valid(&spec, &json!({"$ref": "#/components/schemas/Answer"}), PATH)
                .expect_err("a oneOf above looks at the whole array")
                .contains("oneOf")
        );
    }
}
