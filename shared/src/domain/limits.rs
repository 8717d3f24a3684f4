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
/// Audit filters on a connector.
pub const MAX_FILTERS: usize = 20;
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
        // Values are visible ASCII, spaces and tabs: so bytes are characters, and every
        // value can be sent as is.
        if http::HeaderName::from_bytes(k.as_bytes()).is_err()
            || !v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return Err((k.clone(), "not a valid header (values are visible ASCII, spaces and tabs)".into()));
        }
        if v.len() > MAX_HEADER_VALUE_BYTES {
            return Err((k.clone(), format!("at most {MAX_HEADER_VALUE_BYTES} bytes")));
        }
    }
    Ok(())
}

/// Whole numbers in request bodies: JSON Schema's `integer` admits `5.0` as well as `5`
/// (one number), so both are read; a fraction, a negative number or one out of range is
/// refused as before. Use with `#[serde(deserialize_with = ...)]` (and `default` on options).
pub mod whole {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

    /// Floats spell every integer exactly up to 2^53.
    const EXACT: f64 = 9_007_199_254_740_992.0;

    struct Whole(u64);

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Whole;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a non-negative integer")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                    Ok(Whole(v))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                    u64::try_from(v).map(Whole).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole, E> {
                    if v.fract() == 0.0 && (0.0..=EXACT).contains(&v) {
                        Ok(Whole(v as u64))
                    } else {
                        Err(E::invalid_value(Unexpected::Float(v), &self))
                    }
                }
            }
            d.deserialize_any(V)
        }
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Whole::deserialize(d).map(|w| w.0)
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let w = Whole::deserialize(d)?.0;
        u32::try_from(w).map_err(|_| de::Error::invalid_value(Unexpected::Unsigned(w), &"a 32-bit unsigned integer"))
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
    }

    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        Ok(Vec::<Whole>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }

    /// Rewrites whole floats to integers at the named keys of a JSON object (for types
    /// defined elsewhere, read through a `serde_json::Value`).
    pub fn normalize(value: &mut serde_json::Value, keys: &[&str]) {
        let Some(object) = value.as_object_mut() else { return };
        for key in keys {
            if let Some(v) = object.get_mut(*key)
                && let Some(f) = v.as_f64().filter(|_| v.is_f64())
                && f.fract() == 0.0
                && (0.0..=EXACT).contains(&f)
            {
                *v = serde_json::Value::from(f as u64);
            }
        }
    }
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

    #[test]
    fn whole_numbers_may_be_spelled_as_floats() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "whole::u32")]
            n: u32,
            #[serde(default, deserialize_with = "whole::option")]
            o: Option<u64>,
        }
        let t: T = serde_json::from_str(r#"{"n": 809.0, "o": 5}"#).unwrap();
        assert_eq!((t.n, t.o), (809, Some(5)));
        let t: T = serde_json::from_str(r#"{"n": 1}"#).unwrap();
        assert_eq!(t.o, None);
        for bad in [r#"{"n": 1.5}"#, r#"{"n": -1}"#, r#"{"n": 4294967296}"#, r#"{"n": "1"}"#, r#"{"n": 1, "o": -2.0}"#]
        {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
        let mut v = serde_json::json!({"toleranceSeconds": 300.0, "other": 1.0});
        whole::normalize(&mut v, &["toleranceSeconds"]);
        assert_eq!(v, serde_json::json!({"toleranceSeconds": 300, "other": 1.0}));
    }
}
