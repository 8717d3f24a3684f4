//! Sizes every stored value keeps within, checked when it comes in so a caller hears 400 or
//! 422, never a 503 from the store refusing it (DynamoDB: 400 KB items, 1024-byte sort keys,
//! 32 levels of nesting).

/// Descriptions of webhooks and connectors.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Headers on a connector or a registration helper.
pub const MAX_HEADERS: usize = 50;
/// One header value.
pub const MAX_HEADER_VALUE_BYTES: usize = 4096;
/// Event-type patterns on a connector.
pub const MAX_EVENT_TYPES: usize = 100;
/// One event-type pattern.
pub const MAX_EVENT_TYPE_CHARS: usize = 256;
/// A correlation value (part of a sort key): longer ones can have no waiter.
pub const MAX_CORRELATION_BYTES: usize = 512;
/// Free-form JSON kept on an item (helper `options`, registration answers).
pub const MAX_JSON_DEPTH: usize = 16;
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// How deeply a JSON value nests (a scalar is 0).
pub fn json_depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Why a free-form JSON value cannot be kept, if it cannot.
pub fn check_json(v: &serde_json::Value) -> Result<(), String> {
    if json_depth(v) > MAX_JSON_DEPTH {
        return Err(format!("nests deeper than {MAX_JSON_DEPTH} levels"));
    }
    if serde_json::to_vec(v).map_or(usize::MAX, |b| b.len()) > MAX_JSON_BYTES {
        return Err(format!("is larger than {MAX_JSON_BYTES} bytes"));
    }
    Ok(())
}

/// Why a set of headers cannot be kept, if it cannot: `(header name, reason)`.
pub fn check_headers<'a>(headers: impl IntoIterator<Item = (&'a String, &'a String)>) -> Result<(), (String, String)> {
    let mut n = 0;
    for (k, v) in headers {
        n += 1;
        if n > MAX_HEADERS {
            return Err((String::new(), format!("at most {MAX_HEADERS} headers")));
        }
        if http::HeaderName::from_bytes(k.as_bytes()).is_err() || http::HeaderValue::from_str(v).is_err() {
            return Err((k.clone(), "not a valid header".into()));
        }
        if v.len() > MAX_HEADER_VALUE_BYTES {
            return Err((k.clone(), format!("at most {MAX_HEADER_VALUE_BYTES} bytes")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_size() {
        let mut deep = serde_json::json!(1);
        for _ in 0..MAX_JSON_DEPTH {
            deep = serde_json::json!([deep]);
        }
        assert!(check_json(&deep).is_ok());
        assert!(check_json(&serde_json::json!([deep])).is_err());
        assert!(check_json(&serde_json::json!("x".repeat(MAX_JSON_BYTES))).is_err());
    }
}
