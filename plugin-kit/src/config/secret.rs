//! Secret keys and masked values, so that errors never show a secret and a masked one is
//! refused before it reaches a service.

/// Whether a key holds a secret (`accessKey`, `password`, `securityToken`, …): its value is
/// never shown in an error.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "accesskey"
        || ["password", "secret", "token"]
            .iter()
            .any(|word| key.contains(word))
}

/// A value already masked in the job file (`*****`, DataWorks' exports; any run of `*`):
/// sending it to a service would fail with a confusing signature error.
pub fn is_masked(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_and_masks() {
        for key in ["accessKey", "AccessKeySecret", "password", "securityToken"] {
            assert!(is_secret_key(key), "{key}");
        }
        assert!(!is_secret_key("accessId"));
        assert!(is_masked("*****"));
        assert!(!is_masked(""));
        assert!(!is_masked("a***"));
    }
}
