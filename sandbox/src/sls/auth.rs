//! Log Service request signatures: v1 (sls-putlogs.md §3) and v4 (§4).

use sha2::{Digest, Sha256};

use crate::http::join_query;
use crate::signing::{hmac_sha1_base64, hmac_sha256, v4_signing_key};

/// `hex(sha256(""))`, sent as the v4 payload hash of an empty (or unhashed) body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The v1 string to sign. `headers` may hold any headers: only `x-log-*` and `x-acs-*`
/// ones are taken, except `x-log-date`, which the Python SDK adds after signing
/// (sls-putlogs.md §0). `params` are the decoded query parameters.
pub fn string_to_sign<'a>(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    path: &str,
    params: &[(String, String)],
) -> String {
    let mut signed: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .filter(|(name, _)| {
            (name.starts_with("x-log-") || name.starts_with("x-acs-")) && name != "x-log-date"
        })
        .collect();
    signed.sort();
    let mut text = format!("{method}\n{content_md5}\n{content_type}\n{date}\n");
    for (name, value) in signed {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(path);
    if !params.is_empty() {
        let mut sorted: Vec<&(String, String)> = params.iter().collect();
        sorted.sort();
        let joined: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        text.push('?');
        text.push_str(&joined.join("&"));
    }
    text
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`; the header is `LOG {akid}:{signature}`.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(secret.as_bytes(), string_to_sign)
}

/// The v4 canonical request (sls-putlogs.md §4): query values RFC 3986-encoded with `~`
/// kept, keys and path as they are; `content-type`, `host` and `x-log-*`/`x-acs-*` headers
/// (not `x-log-meta-*`) signed with trimmed values.
pub fn v4_canonical_request<'a>(
    method: &str,
    path: &str,
    params: &[(String, String)],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    payload_hash: &str,
) -> String {
    let mut query: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), rfc3986_encode(v)))
        .collect();
    query.sort();
    let mut signed: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .filter(|(name, _)| {
            name == "content-type"
                || name == "host"
                || ((name.starts_with("x-log-") || name.starts_with("x-acs-"))
                    && !name.starts_with("x-log-meta-"))
        })
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        join_query(query),
        signed_names.join(";")
    )
}

/// `hex(HMAC-SHA256(k, string_to_sign))` with `k` derived from the secret, day, region,
/// `sls` and `aliyun_v4_request`.
pub fn signature_v4(
    secret: &str,
    day: &str,
    region: &str,
    log_date: &str,
    canonical_request: &str,
) -> String {
    let string_to_sign = format!(
        "SLS4-HMAC-SHA256\n{log_date}\n{day}/{region}/sls/aliyun_v4_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = v4_signing_key(secret, day, region, "sls");
    hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3986_encode(text: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}
