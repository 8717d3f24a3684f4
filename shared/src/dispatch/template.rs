//! Body templates: a connector may shape its request body from the event. A template is
//! JSON; a string that is exactly `${path}` becomes the value at that path of the event
//! (any JSON type; null when missing), and `${path}` inside a longer string is replaced by
//! the value as text. Paths use the correlation-key syntax (`data.user.emails[0]`).

use serde_json::Value;

use crate::domain::JsonPath;

/// Checks every `${...}` in the template; the error names the path and the position.
pub fn validate(template: &Value) -> Result<(), String> {
    let mut result = Ok(());
    visit_strings(template, &mut |s| {
        if result.is_ok() {
            for piece in placeholders(s) {
                match piece {
                    Ok(p) => {
                        if let Err(e) = JsonPath::parse(p) {
                            result = Err(format!("bodyTemplate: ${{{p}}}: {e}"));
                        }
                    }
                    Err(()) => result = Err(format!("bodyTemplate: unclosed '${{' in {s:?}")),
                }
            }
        }
    });
    result
}

/// The body for one event.
pub fn render(template: &Value, event: &Value) -> Value {
    match template {
        Value::String(s) => render_string(s, event),
        Value::Array(items) => Value::Array(items.iter().map(|i| render(i, event)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), render(v, event))).collect()),
        other => other.clone(),
    }
}

fn lookup(path: &str, event: &Value) -> Option<Value> {
    JsonPath::parse(path).ok()?.resolve(event).cloned()
}

fn render_string(s: &str, event: &Value) -> Value {
    if let Some(path) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !path.contains("${")
        && !path.contains('}')
    {
        return lookup(path, event).unwrap_or(Value::Null);
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Value::String(out);
        };
        match lookup(&after[..end], event) {
            Some(Value::String(v)) => out.push_str(&v),
            Some(Value::Null) | None => {}
            Some(v) => out.push_str(&v.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Value::String(out)
}

/// The `${...}` contents of a string (`Err` for an unclosed one).
fn placeholders(s: &str) -> Vec<Result<&str, ()>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(Ok(&after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                out.push(Err(()));
                break;
            }
        }
    }
    out
}

fn visit_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| visit_strings(i, f)),
        Value::Object(map) => map.values().for_each(|i| visit_strings(i, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_values_and_text() {
        let event = json!({"id": "e1", "type": "audit.login", "data": {"user": {"email": "a@b.c", "roles": ["x", "y"]}, "n": 3}});
        let t = json!({"text": "User ${data.user.email} did ${type} (${data.n})", "roles": "${data.user.roles}",
            "first": "${data.user.roles[0]}", "missing": "${data.nope}", "fixed": 1, "list": ["${id}"]});
        assert_eq!(
            render(&t, &event),
            json!({"text": "User a@b.c did audit.login (3)", "roles": ["x", "y"], "first": "x", "missing": null,
                "fixed": 1, "list": ["e1"]})
        );
    }

    #[test]
    fn validation_names_the_bad_path() {
        assert!(validate(&json!({"a": "${data.x[0]}"})).is_ok());
        let e = validate(&json!({"a": ["${data.[0]}"]})).unwrap_err();
        assert!(e.contains("position 5"), "{e}");
        assert!(validate(&json!("${unclosed")).unwrap_err().contains("unclosed"));
    }
}
