//! The keys both loghub plugins read to reach a logstore, checked the same way: the first
//! spelling set wins, masked values are refused, blanks count as unset, and no error prints a
//! secret. Used by the writer's (`crate::config`) and the reader's configuration.

use std::time::Duration;

use datax_plugin_kit::config::{self, is_masked, ConfigError};

/// Where to get a connection key the job leaves unset or masked.
const FILL_FROM_DATA_SOURCE: &str =
    "set it in the job, or name a data source with `datasource` and supply it with --datasources";

/// Retries of one request after its first attempt: DataX's 7, about half a minute of backoff
/// before giving up on a busy service (sls-putlogs.md §8).
pub const DEFAULT_MAX_RETRIES: u32 = 7;
pub const DEFAULT_CONNECT_SECONDS: u64 = 10;
pub const DEFAULT_REQUEST_SECONDS: u64 = 60;
/// The longest `connectTimeout` and `requestTimeout`: a day.
const MAX_TIMEOUT_SECONDS: u64 = 24 * 3600;

/// The first of `spellings` set; masked (`*****`) is refused, blank counts as unset (the
/// lenient reader made it `None`). Secrets keep their spaces, other values are trimmed.
pub fn required(spellings: &[(&str, &Option<String>)]) -> Result<String, ConfigError> {
    for (key, value) in spellings {
        if let Some(value) = value {
            refuse_masked(key, value)?;
            return Ok(if config::is_secret_key(key) {
                value.clone()
            } else {
                value.trim().to_string()
            });
        }
    }
    Err(ConfigError::new(
        spellings[0].0,
        format!("required: {FILL_FROM_DATA_SOURCE}"),
    ))
}

/// `securityToken`: optional, never masked.
pub fn security_token(token: &Option<String>) -> Result<Option<String>, ConfigError> {
    if let Some(token) = token {
        refuse_masked("securityToken", token)?;
    }
    Ok(token.clone())
}

/// A masked value would reach the service as the literal `*****`.
fn refuse_masked(key: &str, value: &str) -> Result<(), ConfigError> {
    if is_masked(value.trim()) {
        return Err(ConfigError::new(
            key,
            "is masked (*****): give the real value in the job, or name a data source with \
             `datasource` and supply it with --datasources",
        ));
    }
    Ok(())
}

/// `value`, or `default` when unset, if within `range`.
pub fn in_range(
    key: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            key,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        ))
    }
}

/// `maxRetries`: retries of one request after its first attempt (default 7).
pub fn max_retries(value: Option<u64>) -> Result<u32, ConfigError> {
    let max = u64::from(u32::MAX);
    in_range("maxRetries", value, u64::from(DEFAULT_MAX_RETRIES), 0..=max).map(|n| n as u32)
}

/// A timeout in seconds, 1 to a day.
pub fn seconds(key: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    in_range(key, value, default, 1..=MAX_TIMEOUT_SECONDS).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_spelling_set_wins_and_secrets_are_never_shown() {
        let none = None;
        let id = Some(" id ".to_string());
        let key = Some(" s3cr3t ".to_string());
        assert_eq!(
            required(&[("accessId", &none), ("accessKeyId", &id)]).unwrap(),
            "id"
        );
        assert_eq!(required(&[("accessKey", &key)]).unwrap(), " s3cr3t ");
        let message = required(&[("accessKey", &none), ("accessKeySecret", &none)])
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("accessKey: required"), "{message}");
        let masked = Some("*****".to_string());
        let message = required(&[("accessKey", &masked)]).unwrap_err().to_string();
        assert!(message.starts_with("accessKey: is masked"), "{message}");
        assert!(security_token(&masked).is_err());
        assert_eq!(
            in_range("maxRetries", Some(9), 1, 0..=8)
                .unwrap_err()
                .to_string(),
            "maxRetries: 9 is outside 0..=8"
        );
        assert_eq!(
            seconds("connectTimeout", None, 10).unwrap(),
            Duration::from_secs(10)
        );
    }
}
