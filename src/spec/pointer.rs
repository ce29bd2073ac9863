//! JSON pointer (RFC 6901) look-ups that allocate only for a token holding an escape.
//!
//! `serde_json::Value::pointer` unescapes every token with two `str::replace` calls, two
//! allocations per token, and loading a large document resolves millions of pointers
//! (`$ref` targets, operation and schema pointers): in a 10,000-operation document those
//! replaces and their allocations were ~15% of the load.

use std::borrow::Cow;

use serde_json::Value;

/// Where a walk of the document stands, as the tokens from the root, borrowed from the
/// document. A walk that needs a pointer only now and then (for a warning, an error, a rare
/// keyword) renders one from this when it does, instead of keeping a string up to date at
/// every step of every walk: on a large document that upkeep was half of a walk's cost.
#[derive(Debug, Default)]
pub struct Path<'a> {
    tokens: Vec<Token<'a>>,
}

#[derive(Debug, Clone, Copy)]
enum Token<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    pub fn push_key(&mut self, key: &'a str) {
        self.tokens.push(Token::Key(key));
    }

    pub fn push_index(&mut self, index: usize) {
        self.tokens.push(Token::Index(index));
    }

    pub fn pop(&mut self) {
        self.tokens.pop();
    }

    /// The JSON pointer of this place (`""` for the root), tokens escaped.
    pub fn pointer(&self) -> String {
        let mut pointer = String::new();
        for token in &self.tokens {
            match token {
                Token::Key(key) => super::normalize::push_pointer_token(&mut pointer, key),
                Token::Index(index) => super::normalize::push_pointer_index(&mut pointer, *index),
            }
        }
        pointer
    }
}

/// The value at `pointer` in `value`, as `Value::pointer` finds it.
pub fn get<'a>(mut value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape(token);
        value = match value {
            Value::Object(map) => small_get(map, &token)?,
            Value::Array(items) => items.get(index(&token)?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The value at `pointer` in `value`, mutably, as `Value::pointer_mut` finds it.
pub fn get_mut<'a>(mut value: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape(token);
        value = match value {
            Value::Object(map) => map.get_mut(token.as_ref())?,
            Value::Array(items) => items.get_mut(index(&token)?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// `map.get(key)` without hashing `key` when the map is small, as nearly every object of a
/// document is: comparing a handful of short keys costs less than one SipHash. Walks that
/// ask every object of a large document for one keyword use it.
pub fn small_get<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get(key)
    }
}

/// `~1` is `/` and `~0` is `~`, read left to right in one pass (a `~` before anything else
/// is kept, as `Value::pointer` keeps it).
fn unescape(token: &str) -> Cow<'_, str> {
    if !token.contains('~') {
        return Cow::Borrowed(token);
    }
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('~', Some('1')) => {
                out.push('/');
                chars.next();
            }
            ('~', Some('0')) => {
                out.push('~');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An array index as RFC 6901 writes it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if token.len() > 1 && token.starts_with('0') {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An escaped token (as built for messages and walks) finds its key again.
    #[test]
    fn escaped_tokens_round_trip() {
        let key = "a~b/c~1";
        let token = crate::spec::escape_pointer_token(key);
        assert_eq!(token, "a~0b~1c~01");
        let mut pointer = String::new();
        super::super::normalize::push_pointer_token(&mut pointer, key);
        assert_eq!(pointer, format!("/{token}"));
        assert_eq!(get(&json!({ key: 1 }), &pointer), Some(&json!(1)));
        assert_eq!(crate::spec::escape_pointer_token("plain"), "plain");
    }

    /// A walk's path renders the pointer that finds the place again.
    #[test]
    fn a_path_renders_the_pointer_of_its_place() {
        let document = json!({"a/b": [{"~c": 1}]});
        let mut path = Path::default();
        assert_eq!(path.pointer(), "");
        path.push_key("a/b");
        path.push_index(0);
        path.push_key("~c");
        assert_eq!(path.pointer(), "/a~1b/0/~0c");
        assert_eq!(get(&document, &path.pointer()), Some(&json!(1)));
        path.pop();
        assert_eq!(path.pointer(), "/a~1b/0");
    }

    /// Every pointer finds what `serde_json`'s own look-up finds.
    #[test]
    fn finds_what_serde_json_finds() {
        let mut document = json!({
            "paths": {"/items/{id}": {"get": {"responses": {"200": {"x": 1}}}}},
            "a~b": {"c/d": [10, 20, {"e": null}]},
            "~1": {"~/": 1, "~~1": 2, "/0": 3},
            "": {"": 5},
            "list": [0, 1]
        });
        for pointer in [
            "",
            "/",
            "//",
            "/paths/~1items~1{id}/get/responses/200/x",
            "/paths/~1items~1{id}/post",
            "/a~0b/c~1d/2/e",
            "/a~0b/c~1d/1",
            "/a~0b/c~1d/01",
            "/a~0b/c~1d/-1",
            "/a~0b/c~1d/+1",
            "/a~0b/c~1d/9",
            "/~01/~0~1",
            "/~01/~~01",
            "/~01/~10",
            "/~01/~2",
            "/list/0",
            "/list/00",
            "/list/",
            "/list/0/deeper",
            "no-slash",
            "/missing",
        ] {
            assert_eq!(
                get(&document, pointer),
                document.pointer(pointer),
                "{pointer:?}"
            );
            let expected = document.pointer(pointer).cloned();
            assert_eq!(get_mut(&mut document, pointer).map(|v| v.clone()), expected);
        }
    }
}
