//! Reading values as DataX does: numbers and booleans may be written as strings (`"1"`,
//! `"false"`, `"1024"`), JSON `null` counts as absent. Plugins and the host use these too, so
//! every error names the JSON path of the value.

use serde_json::Value;

use crate::error::JobError;

/// `parent.key`, or `key` at the top level.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The value of `key` in `object`, `None` when absent or `null` (as DataX).
pub fn field<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

/// `None` for an absent, `null` or blank (`""`, `"  "`) value: DataX reads those as "not set".
pub fn present<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    field(object, key).filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()))
}

/// A short description of a value for error messages: `[..]`, `{..}`, `"text"`, `true`, `null`.
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

fn wrong(value: &Value, path: &str, expected: &'static str) -> JobError {
    JobError::WrongType {
        path: path.to_string(),
        expected,
        found: describe(value),
    }
}

/// A JSON object from text: how plugins receive their `parameter` and task configurations.
pub fn parse_object(text: &str, what: &str) -> Result<Value, JobError> {
    let value: Value = serde_json::from_str(text).map_err(|error| JobError::Invalid {
        path: what.to_string(),
        message: format!("not valid JSON: {error}"),
    })?;
    if !value.is_object() {
        return Err(wrong(&value, what, "an object"));
    }
    Ok(value)
}

/// An integer, from a JSON integer or a string holding one (`"1024"`).
pub fn as_i64(value: &Value, path: &str) -> Result<i64, JobError> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| wrong(value, path, "an integer"))
}

/// A non-negative integer, from a JSON integer or a string holding one.
pub fn as_u64(value: &Value, path: &str) -> Result<u64, JobError> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| wrong(value, path, "a non-negative integer"))
}

/// A number, from a JSON number or a string holding one (`"0.02"`).
pub fn as_f64(value: &Value, path: &str) -> Result<f64, JobError> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
    .ok_or_else(|| wrong(value, path, "a number"))
}

/// A boolean, from a JSON boolean or `"true"` / `"false"` in any case (not `1` or `"yes"`, as DataX).
pub fn as_bool(value: &Value, path: &str) -> Result<bool, JobError> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
    .ok_or_else(|| wrong(value, path, "true or false"))
}

/// A string; numbers and booleans are accepted and written as JSON writes them (as DataX's `getString`).
pub fn as_string(value: &Value, path: &str) -> Result<String, JobError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        _ => Err(wrong(value, path, "a string")),
    }
}

/// `object.key` read with `read`, `None` when absent, `null` or blank.
pub fn optional<T>(
    object: &Value,
    key: &str,
    object_path: &str,
    read: impl Fn(&Value, &str) -> Result<T, JobError>,
) -> Result<Option<T>, JobError> {
    present(object, key)
        .map(|v| read(v, &join(object_path, key)))
        .transpose()
}

/// `object.key` as an object, `None` when absent or `null`; any other type is an error.
pub fn optional_object<'a>(
    object: &'a Value,
    key: &str,
    object_path: &str,
) -> Result<Option<&'a Value>, JobError> {
    match field(object, key) {
        None => Ok(None),
        Some(v) if v.is_object() => Ok(Some(v)),
        Some(v) => Err(wrong(v, &join(object_path, key), "an object")),
    }
}

/// A warning for each key of `object` that is not in `known` (DataX ignores unknown keys, so
/// a misspelt one silently does nothing there), with the key it was probably meant to be.
pub fn unknown_keys(object: &Value, object_path: &str, known: &[&str]) -> Vec<String> {
    let Some(object) = object.as_object() else {
        return Vec::new();
    };
    object
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| {
            let path = join(object_path, key);
            match did_you_mean(key, known) {
                Some(meant) => format!("{path}: unknown key, ignored; did you mean \"{meant}\"?"),
                None => format!("{path}: unknown key, ignored"),
            }
        })
        .collect()
}

pub use datax_plugin_kit::config::did_you_mean;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_named_with_a_hint_for_case_slips() {
        let parameter = json!({"column": [], "Project": "p", "colour": 1, "porject": 2});
        assert_eq!(
            unknown_keys(&parameter, "parameter", &["column", "project"]),
            vec![
                "parameter.Project: unknown key, ignored; did you mean \"project\"?",
                "parameter.colour: unknown key, ignored",
                "parameter.porject: unknown key, ignored; did you mean \"project\"?",
            ]
        );
        assert!(unknown_keys(&json!("text"), "parameter", &["column"]).is_empty());
    }

    #[test]
    fn numbers_and_booleans_may_be_strings() {
        assert_eq!(as_u64(&json!("1024"), "p").unwrap(), 1024);
        assert_eq!(as_i64(&json!(-1), "p").unwrap(), -1);
        assert_eq!(as_f64(&json!("0.02"), "p").unwrap(), 0.02);
        assert!(!as_bool(&json!("FALSE"), "p").unwrap());
        assert_eq!(as_string(&json!(12), "p").unwrap(), "12");
    }

    #[test]
    fn wrong_types_name_the_path() {
        let err = as_u64(&json!([1]), "job.setting.speed.channel").unwrap_err();
        assert_eq!(
            err.to_string(),
            "job.setting.speed.channel: expected a non-negative integer, found [..]"
        );
        let err = as_bool(&json!("yes"), "a.print").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.print: expected true or false, found \"yes\""
        );
        assert!(as_u64(&json!(2.5), "p").is_err());
        assert!(as_u64(&json!(-3), "p").is_err());
        assert!(as_f64(&json!("NaN"), "p").is_err());
    }

    #[test]
    fn blank_and_null_are_absent() {
        let object = json!({"a": "", "b": null, "c": " 7 "});
        assert_eq!(optional(&object, "a", "x", as_u64).unwrap(), None);
        assert_eq!(optional(&object, "b", "x", as_u64).unwrap(), None);
        assert_eq!(optional(&object, "c", "x", as_u64).unwrap(), Some(7));
        assert_eq!(optional(&object, "d", "x", as_u64).unwrap(), None);
    }
}
