//! MaxCompute request signatures, checked as the service does (odps-tunnel.md §2).

use std::time::SystemTime;

use hyper::HeaderMap;

use crate::config::SandboxConfig;
use crate::http::{decode_query, join_query, percent_decode};
use crate::signing::{hmac_sha1_base64, v4_signing_key};

/// Why a request was not authenticated.
#[derive(Debug, PartialEq)]
pub(crate) enum AuthFailure {
    /// No usable `Authorization` header.
    Missing,
    UnknownAccessKey,
    /// An STS key without its token, or with another one.
    BadSecurityToken,
    SignatureMismatch,
    /// `Date` missing or not RFC 1123.
    BadDate,
    /// `Date` too far from the sandbox clock.
    Expired,
}

/// The v2 StringToSign (odps-tunnel.md §2.1). `relative_path` is the raw (still encoded)
/// request path with any `/api` prefix of the REST endpoint removed; `raw_query` is the raw
/// query string.
pub fn string_to_sign<'a>(
    method: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    relative_path: &str,
    raw_query: &str,
) -> String {
    let params = decode_query(raw_query);
    let mut signed: Vec<(String, String)> = vec![
        ("content-md5".into(), String::new()),
        ("content-type".into(), String::new()),
        ("date".into(), String::new()),
    ];
    let mut set = |name: String, value: String| {
        if let Some(slot) = signed.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            signed.push((name, value));
        }
    };
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if matches!(name.as_str(), "content-md5" | "content-type" | "date")
            || name.starts_with("x-odps-")
        {
            set(name, value.to_string());
        }
    }
    // Query parameters named x-odps-* are signed as headers too.
    for (name, value) in &params {
        if name.starts_with("x-odps-") {
            set(name.clone(), value.clone());
        }
    }
    signed.sort_by(|a, b| a.0.cmp(&b.0));

    let mut lines = vec![method.to_ascii_uppercase()];
    for (name, value) in signed {
        if name.starts_with("x-odps-") {
            lines.push(format!("{name}:{value}"));
        } else {
            lines.push(value);
        }
    }
    lines.push(canonical_resource(relative_path, &params));
    lines.join("\n")
}

/// Decoded path, then `?` and the decoded parameters sorted by name, a bare name for an
/// empty value.
fn canonical_resource(relative_path: &str, params: &[(String, String)]) -> String {
    let mut resource = percent_decode(relative_path, false);
    if !params.is_empty() {
        let mut sorted: Vec<&(String, String)> = params.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.dedup_by(|a, b| a.0 == b.0);
        resource.push('?');
        resource.push_str(&join_query(sorted.iter().map(|(k, v)| (k, v))));
    }
    resource
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`, the v2 signature.
pub fn signature_v2(secret: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(secret.as_bytes(), string_to_sign)
}

/// The v4 signature: HMAC-SHA256 key derivation, HMAC-SHA1 final step (odps-tunnel.md §2.2).
pub fn signature_v4(secret: &str, date: &str, region: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(
        &v4_signing_key(secret, date, region, "odps"),
        string_to_sign,
    )
}

/// Verifies `Authorization: ODPS id:sig` (v2) or `ODPS id/date/region/odps/aliyun_v4_request:sig`
/// (v4), the optional `authorization-sts-token` (§2.3) and the `Date` skew (§7).
pub(crate) fn verify(
    config: &SandboxConfig,
    method: &str,
    headers: &HeaderMap,
    relative_path: &str,
    raw_query: &str,
    now: SystemTime,
) -> Result<(), AuthFailure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").ok_or(AuthFailure::Missing)?;
    let credentials = authorization
        .strip_prefix("ODPS ")
        .ok_or(AuthFailure::Missing)?;
    let (key_part, signature) = credentials.rsplit_once(':').ok_or(AuthFailure::Missing)?;
    let mut scope = key_part.split('/');
    let access_id = scope.next().unwrap_or_default();
    let v4_scope: Vec<&str> = scope.collect();

    let credential = config
        .credential(access_id)
        .ok_or(AuthFailure::UnknownAccessKey)?;
    if let Some(token) = &credential.security_token {
        if header("authorization-sts-token") != Some(token.as_str()) {
            return Err(AuthFailure::BadSecurityToken);
        }
    }

    let date = header("date").ok_or(AuthFailure::BadDate)?;
    let sent = httpdate::parse_http_date(date).map_err(|_| AuthFailure::BadDate)?;
    let skew = now
        .duration_since(sent)
        .or_else(|_| sent.duration_since(now))
        .unwrap_or_default();
    if skew.as_secs() > config.max_clock_skew_secs {
        return Err(AuthFailure::Expired);
    }

    let text_headers = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let string_to_sign = string_to_sign(method, text_headers, relative_path, raw_query);
    let expected = match v4_scope.as_slice() {
        [] => signature_v2(&credential.access_key, &string_to_sign),
        [date, region, "odps", "aliyun_v4_request"] => {
            signature_v4(&credential.access_key, date, region, &string_to_sign)
        }
        _ => return Err(AuthFailure::Missing),
    };
    if expected == signature {
        Ok(())
    } else {
        Err(AuthFailure::SignatureMismatch)
    }
}
