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

/// Secrets shorter than this are scrubbed from text only where they stand alone: a 1-letter
/// key masked as a substring would turn every line into `jo*****.setting…`. Such a key is
/// also suspicious in itself ([`short_secret_keys`]).
pub const MIN_SUBSTRING_SECRET_CHARS: usize = 8;

/// The secret values of both steps' parameters (not empty, not already masked), longest first.
pub fn secret_values(job: &JobConfig) -> Vec<String> {
    sorted_longest_first(secret_fields(job).into_iter().map(|(_, v)| v).collect())
}

/// Where in the job a secret shorter than [`MIN_SUBSTRING_SECRET_CHARS`] is
/// (`job.content[0].reader.parameter.accessKey`), for a warning that names no value.
pub fn short_secret_keys(job: &JobConfig) -> Vec<String> {
    let mut keys: Vec<String> = secret_fields(job)
        .into_iter()
        .filter(|(_, v)| !v.is_empty() && !is_masked(v))
        .filter(|(_, v)| v.chars().count() < MIN_SUBSTRING_SECRET_CHARS)
        .map(|(path, _)| path)
        .collect();
    keys.dedup();
    keys
}

/// Every secret key's scalar values in both steps' parameters, with the key's path.
fn secret_fields(job: &JobConfig) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for step in [&job.reader, &job.writer] {
        let path = format!("{}.parameter", step.path);
        collect_secrets(&step.parameter, &path, &mut found);
    }
    found
}

fn collect_secrets(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                // A value that only repeats its key (`"accessKey": "accessKey"`, as in DataX's
                // documentation) is a placeholder: scrubbing it would mask the key's name too.
                let placeholder = v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(key));
                let key_path = format!("{path}.{key}");
                if is_secret_key(key) {
                    if !placeholder {
                        let mut values = Vec::new();
                        collect_scalars(v, &mut values);
                        found.extend(values.into_iter().map(|v| (key_path.clone(), v)));
                    }
                } else {
                    collect_secrets(v, &key_path, found);
                }
            }
        }
        Value::Array(items) => {
            for (index, v) in items.iter().enumerate() {
                collect_secrets(v, &format!("{path}[{index}]"), found);
            }
        }
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

    /// `text` with every secret replaced by [`MASK`]: anywhere when it has at least
    /// [`MIN_SUBSTRING_SECRET_CHARS`] characters, else only where it stands alone.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |text, secret| {
            if secret.chars().count() >= MIN_SUBSTRING_SECRET_CHARS {
                text.replace(secret.as_str(), MASK)
            } else {
                replace_standalone(&text, secret)
            }
        })
    }
}

/// `text` with each occurrence of `secret` that stands alone (no letter, digit or `_` right
/// before or after it: a whole field value, a word) replaced by [`MASK`].
fn replace_standalone(text: &str, secret: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut scrubbed = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(secret) {
        let end = at + secret.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            scrubbed.push_str(&text[copied..at]);
            scrubbed.push_str(MASK);
            copied = end;
        }
    }
    scrubbed.push_str(&text[copied..]);
    scrubbed
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
    fn short_secrets_are_scrubbed_only_where_they_stand_alone() {
        let scrubber = Scrubber::new(vec!["b".into(), "root".into(), "longsecret".into()]);
        assert_eq!(
            scrubber.scrub(r#"job.setting {"accessKey":"b"} b, rooted root@host xlongsecretx"#),
            r#"job.setting {"accessKey":"*****"} *****, rooted *****@host x*****x"#
        );
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
