//! Keeping credentials out of logs: which keys hold secrets, masking them in values, and
//! scrubbing their values out of any text (a plugin's error message, say).

use serde_json::Value;

use crate::job::JobConfig;

/// What DataWorks shows instead of a secret, and what we print.
pub const MASK: &str = "*****";

/// `accessKey`, `accessKeySecret`, `securityToken`, `password` and any key containing
/// "password", "secret" or "token", in any case. `accessId` / `accessKeyId` are not secret.
pub fn is_secret_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "accesskey"
        || ["password", "secret", "token"]
            .iter()
            .any(|w| name.contains(w))
}

/// A value already masked in the job file (`*****`, DataWorks' exports; any run of `*`).
pub fn is_masked(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c == '*')
}

/// A copy of `value` with the value of every secret key, at any depth, replaced by [`MASK`].
/// Empty strings and `null` stay as they are, so "not set" remains visible.
pub fn masked(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let is_unset = v.is_null() || v.as_str() == Some("");
                    let v = if is_secret_key(key) && !is_unset {
                        Value::String(MASK.to_string())
                    } else {
                        masked(v)
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// The secret values of both steps' parameters (not empty, not already masked), longest first.
pub fn secret_values(job: &JobConfig) -> Vec<String> {
    let mut found = Vec::new();
    collect_secrets(&job.reader.parameter, &mut found);
    collect_secrets(&job.writer.parameter, &mut found);
    sorted_longest_first(found)
}

fn collect_secrets(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                // A value that only repeats its key (`"accessKey": "accessKey"`, as in DataX's
                // documentation) is a placeholder: scrubbing it would mask the key's name too.
                let placeholder = v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(key));
                if is_secret_key(key) {
                    if !placeholder {
                        collect_scalars(v, found);
                    }
                } else {
                    collect_secrets(v, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, found)),
        _ => {}
    }
}

fn collect_scalars(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => found.push(s.clone()),
        Value::Number(n) => found.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| collect_scalars(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect_scalars(v, found)),
        Value::Bool(_) | Value::Null => {}
    }
}

fn sorted_longest_first(mut values: Vec<String>) -> Vec<String> {
    values.retain(|v| !v.is_empty() && !is_masked(v));
    // Longest first, so a secret containing another one is replaced whole.
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    values
}

/// Replaces every occurrence of known secret values in a text by [`MASK`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub fn new(secrets: Vec<String>) -> Self {
        Scrubber {
            secrets: sorted_longest_first(secrets),
        }
    }

    /// A scrubber for the secrets of a loaded job ([`secret_values`]).
    pub fn for_job(job: &JobConfig) -> Self {
        Scrubber {
            secrets: secret_values(job),
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |text, secret| {
            text.replace(secret.as_str(), MASK)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for key in [
            "accessKey",
            "AccessKeySecret",
            "securityToken",
            "password",
            "dbPassword",
            "client_secret",
            "sessionToken",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["accessId", "accessKeyId", "endpoint", "username", "project"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn scrubber_replaces_longest_first() {
        let scrubber = Scrubber::new(vec!["abc".into(), "abcdef".into(), "".into(), "***".into()]);
        assert_eq!(
            scrubber.scrub("key abcdef and abc, ***"),
            "key ***** and *****, ***"
        );
    }
}
