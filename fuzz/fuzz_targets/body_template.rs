//! Connector body templates (`shared/src/dispatch/template.rs`): `validate` and `render`
//! with arbitrary template JSON and event JSON.
//!
//! The first byte picks the form of the input: raw JSON text for both (template, 0xFF,
//! event: what the management API and the dispatcher parse), or values built from the
//! bytes with strings made of `${`, `}`, path pieces and text (to reach placeholders).

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use hookbridge::dispatch::template::{render, validate};
use hookbridge::domain::JsonPath;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const PIECES: &[&str] = &[
    "${",
    "}",
    "${id}",
    "${type}",
    "${data}",
    "${data.user.email}",
    "${data.items[0]}",
    "${data.items[1].name}",
    "data",
    "user",
    "email",
    ".",
    "[",
    "]",
    "[0]",
    "[99999999999999999999]",
    "$",
    "{",
    "${}",
    "${.}",
    "${a..b}",
    "é",
    " ",
    "x",
];

fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(0..=6)?;
    let mut s = String::new();
    for _ in 0..n {
        if u.ratio(3, 4)? {
            s.push_str(u.choose(PIECES)?);
        } else {
            s.push_str(<&str>::arbitrary(u)?);
        }
    }
    Ok(s)
}

/// A JSON value at most `depth` levels deep (serde_json's own limit is 128).
fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kind = if depth == 0 { u.int_in_range(0..=4)? } else { u.int_in_range(0..=6)? };
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(bool::arbitrary(u)?),
        2 => match u.int_in_range(0..=2)? {
            0 => Value::from(i64::arbitrary(u)?),
            1 => Value::from(u64::arbitrary(u)?),
            _ => serde_json::Number::from_f64(f64::arbitrary(u)?).map_or(Value::Null, Value::Number),
        },
        3 | 4 => Value::String(text(u)?),
        5 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| value(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut m = Map::new();
            for _ in 0..n {
                let k = if u.ratio(1, 2)? {
                    (*u.choose(&["id", "type", "data", "user", "email", "items", "name"])?).to_owned()
                } else {
                    text(u)?
                };
                m.insert(k, value(u, depth - 1)?);
            }
            Value::Object(m)
        }
    })
}

fn inputs(data: &[u8]) -> Option<(Value, Value)> {
    let (&mode, rest) = data.split_first()?;
    if mode & 1 == 0 {
        let i = rest.iter().position(|&b| b == 0xff).unwrap_or(rest.len());
        let template = serde_json::from_slice(&rest[..i]).ok()?;
        let event = rest.get(i + 1..).and_then(|e| serde_json::from_slice(e).ok()).unwrap_or(Value::Null);
        Some((template, event))
    } else {
        let mut u = Unstructured::new(rest);
        Some((value(&mut u, 8).ok()?, value(&mut u, 8).ok()?))
    }
}

/// Every `${...}` of a valid template holds a path that parses; the rendering keeps the
/// template's shape: objects keep their keys, arrays their length, non-strings are copied.
fn check_shape(t: &Value, r: &Value) {
    match (t, r) {
        (Value::Object(tm), Value::Object(rm)) => {
            assert_eq!(tm.len(), rm.len());
            for (k, tv) in tm {
                check_shape(tv, &rm[k]);
            }
        }
        (Value::Array(ta), Value::Array(ra)) => {
            assert_eq!(ta.len(), ra.len());
            ta.iter().zip(ra).for_each(|(a, b)| check_shape(a, b));
        }
        (Value::String(s), r) => {
            if !s.contains("${") {
                assert_eq!(r, t, "a string without placeholders changed");
            }
        }
        (t, r) => assert_eq!(t, r),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((template, event)) = inputs(data) else { return };
    let valid = validate(&template);
    let rendered = render(&template, &event);
    check_shape(&template, &rendered);
    // A whole-string placeholder becomes the value at its path (any JSON type).
    if let Value::String(s) = &template
        && let Some(p) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !p.contains("${")
        && !p.contains('}')
    {
        let expected = JsonPath::parse(p).ok().and_then(|p| p.resolve(&event).cloned()).unwrap_or(Value::Null);
        assert_eq!(rendered, expected);
    }
    if valid.is_ok() {
        // What validated is kept as JSON text and rendered from it: the same (when the text
        // reads back equal: serde_json may move a float by one ulp without `float_roundtrip`).
        let stored: Value = serde_json::from_str(&template.to_string()).unwrap();
        if stored == template {
            assert_eq!(render(&stored, &event), rendered);
        }
    } else {
        let e = valid.unwrap_err();
        assert!(e.starts_with("bodyTemplate: "), "{e}");
    }
});
