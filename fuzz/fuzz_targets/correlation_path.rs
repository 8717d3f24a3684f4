//! Correlation-key paths (`shared/src/domain/path.rs`): parsing arbitrary text, resolving
//! against arbitrary JSON (parsed from the input, as the ingress parses a payload), and
//! `correlation_text` of what resolves.
//!
//! Input: the path text, a 0xFF byte, then the payload (any bytes; JSON most of the time).

#![no_main]

use hookbridge::domain::{JsonPath, Step, correlation_text, payload_from_body};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// A document in which the path leads to `leaf` (indices kept small: the array is built).
fn document(steps: &[Step], leaf: Value) -> Option<Value> {
    let mut v = leaf;
    for s in steps.iter().rev() {
        v = match s {
            Step::Key(k) => json!({ k.clone(): v }),
            Step::Index(n) if *n <= 64 => {
                let mut a = vec![Value::Null; n + 1];
                a[*n] = v;
                Value::Array(a)
            }
            Step::Index(_) => return None,
        };
    }
    Some(v)
}

fn check_text(v: &Value) {
    let t = correlation_text(v);
    match v {
        Value::String(s) => assert_eq!(t.as_deref(), Some(s.as_str())),
        Value::Number(n) => assert_eq!(t, Some(n.to_string())),
        Value::Bool(b) => assert_eq!(t, Some(b.to_string())),
        _ => assert_eq!(t, None),
    }
}

fuzz_target!(|data: &[u8]| {
    let (text, payload) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let text = String::from_utf8_lossy(text);

    let path = match JsonPath::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.position <= text.chars().count().max(512), "{e:?} for {text:?}");
            // A path that does not parse is refused when a binding is saved (serde).
            assert!(serde_json::from_value::<JsonPath>(Value::String(text.into_owned())).is_err());
            return;
        }
    };

    // What parsed is what was given, in well-formed steps.
    assert_eq!(path.as_str(), text);
    assert_eq!(path.to_string(), text);
    let steps = path.steps();
    assert!(matches!(steps.first(), Some(Step::Key(_))));
    for s in steps {
        if let Step::Key(k) = s {
            assert!(!k.is_empty() && !k.contains(['.', '[', ']']), "{k:?}");
        }
    }
    // Steps written back parse to the same steps (indices lose their leading zeros).
    let again = JsonPath::parse(&render(steps)).expect("rendered steps parse");
    assert_eq!(again.steps(), steps);
    // Stored in a binding and read back.
    let stored = serde_json::to_string(&path).unwrap();
    assert_eq!(serde_json::from_str::<JsonPath>(&stored).unwrap(), path);

    // The payload as the ingress makes it, then parsed as the route does.
    let raw = payload_from_body(Some("application/json"), payload)
        .or_else(|_| payload_from_body(None, payload))
        .expect("an undeclared body is always a payload");
    let doc: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    if let Some(v) = path.resolve(&doc) {
        check_text(v);
    }

    // A value put at the path is found there.
    if let Some(built) = document(steps, json!("needle")) {
        assert_eq!(path.resolve(&built), Some(&json!("needle")));
    }
    // One step too far finds nothing.
    if let Some(built) = document(steps, json!(42))
        && text.len() <= 510
    {
        let longer = JsonPath::parse(&format!("{text}.x")).unwrap();
        assert_eq!(longer.resolve(&built), None);
        check_text(path.resolve(&built).unwrap());
    }
});
