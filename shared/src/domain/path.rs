//! Paths into JSON payloads: dotted names with array indices, as correlation keys and body
//! templates use them (`entry[0].changes[0].value.messages[0].text.body`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path. Names may hold any character but `.`, `[` and `]`; indices are decimal.
#[derive(Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// Where and why a path did not parse (the position is a character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path at position {position}: {reason}")]
pub struct PathError {
    pub position: usize,
    pub reason: &'static str,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |position, reason| Err(PathError { position, reason });
        if text.is_empty() {
            return err(0, "the path is empty");
        }
        if text.chars().count() > 512 {
            return err(512, "the path is longer than 512 characters");
        }
        let chars: Vec<char> = text.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        loop {
            // A name.
            let start = i;
            while i < chars.len() && !matches!(chars[i], '.' | '[' | ']') {
                i += 1;
            }
            if i == start {
                return err(i, "expected a name");
            }
            steps.push(Step::Key(chars[start..i].iter().collect()));
            // Any indices.
            while i < chars.len() && chars[i] == '[' {
                i += 1;
                let digits = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                if i == digits {
                    return err(i, "expected an index");
                }
                if i >= chars.len() || chars[i] != ']' {
                    return err(i, "expected ']'");
                }
                let n: String = chars[digits..i].iter().collect();
                let Ok(n) = n.parse::<usize>() else { return err(digits, "index too large") };
                steps.push(Step::Index(n));
                i += 1;
            }
            if i == chars.len() {
                break;
            }
            if chars[i] != '.' {
                return err(i, "expected '.' or '['");
            }
            i += 1;
            if i == chars.len() {
                return err(i, "expected a name after '.'");
            }
        }
        Ok(Self { text: text.to_owned(), steps })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at the path; `None` for a missing field, an index out of bounds, or a
    /// step into something that is not an object or array.
    pub fn resolve<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(root, |v, step| match step {
            Step::Key(k) => v.as_object()?.get(k),
            Step::Index(n) => v.as_array()?.get(*n),
        })
    }
}

impl fmt::Debug for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonPath({})", self.text)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for JsonPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for JsonPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A scalar JSON value as the text correlation values are compared by: a string as
/// itself, a number or boolean as its JSON text. `None` for null, objects and arrays.
pub fn correlation_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// In the API a path is its text (`$.a.b[0]`).
impl utoipa::PartialSchema for JsonPath {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A path into the payload: `$`, then `.name` or `[index]` steps"))
            .examples([serde_json::json!("$.data.order.id")])
            .into()
    }
}

impl utoipa::ToSchema for JsonPath {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn whatsapp_path() {
        let p = JsonPath::parse("entry[0].changes[0].value.messages[0].text.body").unwrap();
        let payload = json!({"entry": [{"changes": [{"value": {"messages": [{"text": {"body": "hi"}}]}}]}]});
        assert_eq!(p.resolve(&payload), Some(&json!("hi")));
        assert_eq!(p.steps().len(), 9);
    }

    #[test]
    fn missing_out_of_bounds_and_wrong_shapes_resolve_to_none() {
        let v = json!({"data": {"orders": [{"id": 1}, {"id": 2}, {"id": 3}]}, "n": null});
        assert_eq!(JsonPath::parse("data.orders[2].id").unwrap().resolve(&v), Some(&json!(3)));
        assert_eq!(JsonPath::parse("data.orders[3].id").unwrap().resolve(&v), None);
        assert_eq!(JsonPath::parse("data.nope").unwrap().resolve(&v), None);
        assert_eq!(JsonPath::parse("data[0]").unwrap().resolve(&v), None);
        assert_eq!(JsonPath::parse("data.orders.id").unwrap().resolve(&v), None);
        assert_eq!(JsonPath::parse("n").unwrap().resolve(&v), Some(&Value::Null));
    }

    #[test]
    fn errors_name_the_position() {
        for (text, position) in [
            ("", 0),
            (".a", 0),
            ("a.", 2),
            ("a..b", 2),
            ("a[", 2),
            ("a[x]", 2),
            ("a[1", 3),
            ("a]b", 1),
            ("[0]", 0),
            ("a[0]b", 4),
            ("a[99999999999999999999999]", 2),
        ] {
            assert_eq!(JsonPath::parse(text).unwrap_err().position, position, "{text:?}");
        }
    }

    #[test]
    fn correlation_texts() {
        assert_eq!(correlation_text(&json!("A-1")), Some("A-1".into()));
        assert_eq!(correlation_text(&json!(42)), Some("42".into()));
        assert_eq!(correlation_text(&json!(true)), Some("true".into()));
        assert_eq!(correlation_text(&Value::Null), None);
        assert_eq!(correlation_text(&json!({"a": 1})), None);
    }

    fn name() -> impl Strategy<Value = String> {
        "[^.\\[\\]]{1,8}"
    }

    fn steps() -> impl Strategy<Value = Vec<(String, Vec<usize>)>> {
        prop::collection::vec((name(), prop::collection::vec(0usize..5, 0..3)), 1..6)
    }

    fn render(steps: &[(String, Vec<usize>)]) -> String {
        steps
            .iter()
            .map(|(n, idx)| format!("{n}{}", idx.iter().map(|i| format!("[{i}]")).collect::<String>()))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Builds a document in which the path leads to `leaf`.
    fn document(steps: &[(String, Vec<usize>)], leaf: Value) -> Value {
        let mut v = leaf;
        for (name, idx) in steps.iter().rev() {
            for i in idx.iter().rev() {
                let mut arr = vec![Value::Null; i + 1];
                arr[*i] = v;
                v = Value::Array(arr);
            }
            v = json!({ name.clone(): v });
        }
        v
    }

    proptest! {
        #[test]
        fn rendered_paths_parse_back_to_their_steps(s in steps()) {
            let text = render(&s);
            let p = JsonPath::parse(&text).unwrap();
            let expected: Vec<Step> = s
                .iter()
                .flat_map(|(n, idx)| std::iter::once(Step::Key(n.clone())).chain(idx.iter().map(|i| Step::Index(*i))))
                .collect();
            prop_assert_eq!(p.steps(), &expected[..]);
            prop_assert_eq!(p.as_str(), text.as_str());
        }

        #[test]
        fn a_path_finds_what_was_put_at_it(s in steps(), leaf in "[a-z0-9]{0,10}") {
            let doc = document(&s, json!(leaf.clone()));
            let p = JsonPath::parse(&render(&s)).unwrap();
            prop_assert_eq!(p.resolve(&doc), Some(&json!(leaf)));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = JsonPath::parse(&text);
        }

        #[test]
        fn an_index_past_the_end_is_none(s in steps()) {
            let mut longer = s.clone();
            longer.last_mut().unwrap().1.push(7);
            let doc = document(&s, json!([1, 2, 3]));
            let p = JsonPath::parse(&render(&longer)).unwrap();
            prop_assert_eq!(p.resolve(&doc), None);
        }
    }
}
