//! Signature v1 of Log Service requests (sls-putlogs.md §3): HMAC-SHA1 of a canonical string
//! with the AccessKeySecret, sent as `Authorization: LOG {AccessKeyId}:{base64}`.

use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// The keys a request is signed with. `Debug` is not derived, so the secret cannot end up in
/// a log line by accident.
#[derive(Clone)]
pub struct Credentials {
    pub access_id: String,
    pub access_key: String,
    /// STS token, sent as `x-acs-security-token` (a signed header).
    pub security_token: Option<String>,
}

/// What a request's signature covers besides its signed headers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Uppercase hex MD5 of the body as sent; empty for an empty body.
    pub content_md5: &'a str,
    pub content_type: &'a str,
    /// RFC 1123, `Thu, 01 Jan 1970 00:00:00 GMT`.
    pub date: &'a str,
    pub path: &'a str,
    /// Query parameters; signed sorted by key with raw (not percent-encoded) values.
    pub query: &'a [(&'a str, &'a str)],
}

/// The string-to-sign of sls-putlogs.md §0. `headers` are every `x-log-*`/`x-acs-*` header
/// sent, lower-case names; they are sorted here.
pub fn string_to_sign(request: &SignedRequest<'_>, headers: &[(&str, &str)]) -> String {
    let mut signed: Vec<&(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-log-") || name.starts_with("x-acs-"))
        .collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = format!(
        "{}\n{}\n{}\n{}\n",
        request.method, request.content_md5, request.content_type, request.date
    );
    for (name, value) in signed {
        text.push_str(name);
        text.push(':');
        text.push_str(value.trim());
        text.push('\n');
    }
    text.push_str(request.path);
    if !request.query.is_empty() {
        let mut query = request.query.to_vec();
        query.sort_by(|a, b| a.0.cmp(b.0));
        let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        text.push('?');
        text.push_str(&pairs.join("&"));
    }
    text
}

/// The `Authorization` header value for `request` with these signed headers.
pub fn authorization(
    credentials: &Credentials,
    request: &SignedRequest<'_>,
    headers: &[(&str, &str)],
) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(credentials.access_key.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(string_to_sign(request, headers).as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("LOG {}:{signature}", credentials.access_id)
}

/// `Content-MD5`: the uppercase hex MD5 of the bytes sent (sls-putlogs.md §2.3).
pub fn content_md5(body: &[u8]) -> String {
    md5_hex(body, b"0123456789ABCDEF")
}

/// The lowercase hex MD5 that places a routing value on a shard (datax-engine.md §8.4).
pub fn md5_hex_lowercase(bytes: &[u8]) -> String {
    md5_hex(bytes, b"0123456789abcdef")
}

fn md5_hex(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut text = String::with_capacity(32);
    for byte in Md5::digest(bytes) {
        text.push(digits[usize::from(byte >> 4)] as char);
        text.push(digits[usize::from(byte & 0xf)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(id: &str, key: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_id: id.to_string(),
            access_key: key.to_string(),
            security_token: token.map(str::to_string),
        }
    }

    const S_BODY: &str = "\n            {\"key\": \"value\"}\n        ";
    const S_DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

    /// sls-putlogs.md §13, S1–S3 (the Rust SDK's own vectors).
    #[test]
    fn reproduces_the_sdk_vectors_s1_to_s3() {
        let md5 = content_md5(S_BODY.as_bytes());
        assert_eq!(md5, "CE688F8D1AC3ED309BA9BE0A5ABAFCE5");
        let sign = |path: &str, query: &[(&str, &str)], token: Option<&str>| {
            let mut headers = vec![
                ("x-log-apiversion", "0.6.0"),
                ("x-log-signaturemethod", "hmac-sha1"),
            ];
            if let Some(token) = token {
                headers.push(("x-acs-security-token", token));
            }
            let request = SignedRequest {
                method: "POST",
                content_md5: &md5,
                content_type: "application/json",
                date: S_DATE,
                path,
                query,
            };
            (
                string_to_sign(&request, &headers),
                authorization(
                    &credentials("test-access-key-id", "test-access-key", token),
                    &request,
                    &headers,
                ),
            )
        };
        let params = [("type", "log"), ("offset", "0"), ("line", "100")];
        let (text, s1) = sign("/logstores/test-logstore", &params, None);
        assert_eq!(
            text,
            "POST\nCE688F8D1AC3ED309BA9BE0A5ABAFCE5\napplication/json\nThu, 01 Jan 1970 00:00:00 GMT\n\
             x-log-apiversion:0.6.0\nx-log-signaturemethod:hmac-sha1\n\
             /logstores/test-logstore?line=100&offset=0&type=log"
        );
        assert_eq!(s1, "LOG test-access-key-id:4pL2xZJERC3tPKtRiHh9+nMG3tI=");
        let (_, s2) = sign(
            "/logstores/test-logstore",
            &params,
            Some("test-security-token"),
        );
        assert_eq!(s2, "LOG test-access-key-id:ZQt+0wIvpd+O9yIJKeKxZTJ2hv0=");
        let (text, s3) = sign(
            "/logstores/test/shards/2",
            &[
                ("type", "log"),
                ("count", "1000"),
                ("cursor", "MTczNzY2OTAzNjAxNzIxODQ1NA=="),
            ],
            Some("test-security-token"),
        );
        assert!(text.ends_with("?count=1000&cursor=MTczNzY2OTAzNjAxNzIxODQ1NA==&type=log"));
        assert_eq!(s3, "LOG test-access-key-id:K3rw5WXRe77aZ/meSyEa8NNUYFc=");
    }

    #[test]
    fn routing_hashes_are_lowercase() {
        assert_eq!(md5_hex_lowercase(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    /// sls-putlogs.md §13, P1–P3 (PutLogs, uncompressed, lz4, route with STS).
    #[test]
    fn reproduces_the_putlogs_vectors_p1_to_p3() {
        let date = "Tue, 14 Nov 2023 22:13:20 GMT";
        let sign = |md5: &str, compressed: bool, path: &str, query, token: Option<&str>| {
            let mut headers = vec![
                ("x-log-apiversion", "0.6.0"),
                ("x-log-signaturemethod", "hmac-sha1"),
                ("x-log-bodyrawsize", "123"),
            ];
            if compressed {
                headers.push(("x-log-compresstype", "lz4"));
            }
            if let Some(token) = token {
                headers.push(("x-acs-security-token", token));
            }
            let request = SignedRequest {
                method: "POST",
                content_md5: md5,
                content_type: "application/x-protobuf",
                date,
                path,
                query,
            };
            authorization(
                &credentials("test-akid", "test-secret", token),
                &request,
                &headers,
            )
        };
        let lb = "/logstores/demo-logstore/shards/lb";
        assert_eq!(
            sign("5DF83B29DF64BA25E2DAAA36CAA47D23", false, lb, &[], None),
            "LOG test-akid:TyJzWAIYB/5oGOUaHIN/xVUcleo="
        );
        assert_eq!(
            sign("F830413E6E50EE10367B95DF7DD22ECD", true, lb, &[], None),
            "LOG test-akid:9a7C+Ae5sErqld0ppjr3mVkPosI="
        );
        assert_eq!(
            sign(
                "F830413E6E50EE10367B95DF7DD22ECD",
                true,
                "/logstores/demo-logstore/shards/route",
                &[("key", "7f000000000000000000000000000000")],
                Some("sts-token-123"),
            ),
            "LOG test-akid:xg7qHf/en3DTt455pi3LsrVvi+w="
        );
    }
}
