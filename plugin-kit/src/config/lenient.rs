//! DataX's leniency, as serde adapters and as plain readers of a JSON value.
//!
//! DataX reads numbers and booleans written as strings (`"1024"`, `"TRUE"`), takes numbers and
//! booleans where it wants a string (their JSON text, as its `getString`), and counts JSON
//! `null` and blank strings as "not set". The adapters are for `Option` fields, always with
//! `default` so that an absent key is `None` too:
//!
//! ```
//! # use serde::Deserialize;
//! use datax_plugin_kit::config::lenient;
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Parameter {
//!     /// Records per batch (default 1024).
//!     #[serde(default, deserialize_with = "lenient::u64")]
//!     batch_size: Option<u64>,
//! }
//! ```
//!
//! The `as_*` readers serve values whose type depends on another key (a column's `value`
//! read by its `type`): keep such a value as `Option<serde_json::Value>` and read it later.
//! Their errors are `expected …, found …` without a path: the caller adds it.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A short description of a value for error messages: `[..]`, `{..}`, `"text"`, `true`, `null`.
/// Long texts are cut at 40 characters.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Array(_) => "[..]".to_string(),
        Value::Object(_) => "{..}".to_string(),
        Value::String(s) if s.chars().count() > 40 => {
            format!("\"{}…\"", s.chars().take(40).collect::<String>())
        }
        other => other.to_string(),
    }
}

/// The name of a value's JSON type, for errors about keys whose values must not be shown.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `expected …, found …`.
pub fn wrong(value: &Value, expected: &str) -> String {
    format!("expected {expected}, found {}", describe(value))
}

/// Whether DataX reads `value` as "not set": `null` or a blank string.
pub fn is_absent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// An integer, from a JSON integer or a string holding one (`"-7"`).
pub fn as_i64(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| wrong(value, "an integer"))
}

/// A non-negative integer, from a JSON integer or a string holding one (`"1024"`).
pub fn as_u64(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| wrong(value, "a non-negative integer"))
}

/// A finite number, from a JSON number or a string holding one (`"0.02"`).
pub fn as_f64(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
    .ok_or_else(|| wrong(value, "a number"))
}

/// A boolean, from a JSON boolean or `"true"` / `"false"` in any case (not `1` or `"yes"`,
/// as DataX).
pub fn as_bool(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
    .ok_or_else(|| wrong(value, "true or false"))
}

/// A string; numbers and booleans are accepted as their JSON text (as DataX's `getString`).
pub fn as_string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        _ => Err(wrong(value, "a string")),
    }
}

/// Reads the value with `read` unless it is absent (`null`, blank).
fn unless_absent<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    read: fn(&Value) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_absent(&value) {
        return Ok(None);
    }
    read(&value).map(Some).map_err(serde::de::Error::custom)
}

/// `Option<u64>`: see [`as_u64`]; `null` and blank are `None`.
pub fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    unless_absent(deserializer, as_u64)
}

/// `Option<i64>`: see [`as_i64`]; `null` and blank are `None`.
pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    unless_absent(deserializer, as_i64)
}

/// `Option<f64>`: see [`as_f64`]; `null` and blank are `None`.
pub fn f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    unless_absent(deserializer, as_f64)
}

/// `Option<bool>`: see [`as_bool`]; `null` and blank are `None`.
pub fn bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    unless_absent(deserializer, as_bool)
}

/// `Option<String>`: see [`as_string`]; `null` and blank are `None`.
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    unless_absent(deserializer, as_string)
}

/// `Option<String>` where blank is a value (a delimiter `" "`): only `null` is `None`.
pub fn string_keep_blank<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => as_string(&value)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_booleans_may_be_strings() {
        assert_eq!(as_u64(&json!("1024")), Ok(1024));
        assert_eq!(as_i64(&json!(-1)), Ok(-1));
        assert_eq!(as_f64(&json!("0.02")), Ok(0.02));
        assert_eq!(as_bool(&json!("FALSE")), Ok(false));
        assert_eq!(as_string(&json!(12)), Ok("12".to_string()));
        assert_eq!(as_string(&json!(true)), Ok("true".to_string()));
    }

    #[test]
    fn wrong_types_are_described_not_dumped() {
        assert_eq!(
            as_u64(&json!([1])).unwrap_err(),
            "expected a non-negative integer, found [..]"
        );
        assert_eq!(
            as_bool(&json!("yes")).unwrap_err(),
            "expected true or false, found \"yes\""
        );
        assert_eq!(
            as_string(&json!({"a": 1})).unwrap_err(),
            "expected a string, found {..}"
        );
        let long = "x".repeat(50);
        assert_eq!(describe(&json!(long)), format!("\"{}…\"", "x".repeat(40)));
        assert!(as_u64(&json!(2.5)).is_err());
        assert!(as_u64(&json!(-3)).is_err());
        assert!(as_f64(&json!("NaN")).is_err());
    }

    #[test]
    fn null_and_blank_are_absent() {
        assert!(is_absent(&json!(null)));
        assert!(is_absent(&json!("  ")));
        assert!(!is_absent(&json!(0)));
        assert!(!is_absent(&json!(" 7 ")));
    }
}
