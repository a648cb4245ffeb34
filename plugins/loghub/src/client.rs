//! Log Service over HTTP: one signed request per attempt (sls-putlogs.md §0), and how a
//! failed attempt is classified for the retry policy of sls-putlogs.md §8 (applied by
//! [`crate::shipper`]).

use std::time::{Duration, SystemTime};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, DATE, HOST,
};

use crate::auth::{authorization, content_md5, Credentials, SignedRequest};
use crate::codec::Compression;
use crate::config::WriterConfig;

const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
const API_VERSION: &str = "0.6.0";

/// Why one PutLogs attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum PutError {
    /// The service answered with an error. A body that is not the service's JSON (a proxy's
    /// page) has the code `BadResponse` (sls-putlogs.md §7).
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// No answer: could not connect, timed out, or the connection closed.
    Transport(String),
    /// The endpoint's host name does not exist (DNS says so): no retry can help.
    UnknownHost(String),
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Service {
                status,
                code,
                message,
                request_id,
            } => {
                write!(f, "{code} (HTTP {status}): {message}")?;
                if !request_id.is_empty() {
                    write!(f, " (request id {request_id})")?;
                }
                Ok(())
            }
            PutError::Transport(message) | PutError::UnknownHost(message) => {
                write!(f, "{message}")
            }
        }
    }
}

/// What to do after a failed attempt (sls-putlogs.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Network trouble or a busy server: back off and send again.
    Backoff,
    /// Over the write quota: back off longer.
    Quota,
    /// `RequestTimeExpired`: a fresh Date may fix it once; a second time the clock is wrong.
    ClockSkew,
    /// `PostBodyTooLarge`: send the batch in halves.
    Split,
    /// Credentials, names or the request itself are wrong: retrying cannot help.
    Fail,
}

pub fn classify(error: &PutError) -> Retry {
    let (status, code) = match error {
        PutError::Transport(_) => return Retry::Backoff,
        PutError::UnknownHost(_) => return Retry::Fail,
        PutError::Service { status, code, .. } => (*status, code.as_str()),
    };
    match code {
        "WriteQuotaExceed" | "ShardWriteQuotaExceed" | "ExceedQuota" => Retry::Quota,
        "RequestTimeExpired" => Retry::ClockSkew,
        "PostBodyTooLarge" => Retry::Split,
        "ServerBusy" | "InternalServerError" | "RequestTimeout" => Retry::Backoff,
        _ if status == 429 || (500..=504).contains(&status) => Retry::Backoff,
        _ => Retry::Fail,
    }
}

/// The wait before attempt `attempt + 1` (1-based `attempt`): exponential from `floor`,
/// capped at `cap`, with up to 25 % jitter so that channels do not retry in step.
pub fn backoff(retry: Retry, attempt: u32) -> Duration {
    let (floor_ms, cap_ms) = match retry {
        Retry::Quota => (500u64, 10_000u64),
        _ => (200, 5_000),
    };
    let base = floor_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(16))
        .min(cap_ms);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(base + base * u64::from(nanos % 250) / 1000)
}

/// A shard's hash range, from ListShards (sls-putlogs.md §2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    pub begin_key: String,
    pub end_key: String,
}

/// Signs and sends Log Service requests. Shared by a task's sending threads: the HTTP
/// client pools their connections.
pub struct LoghubClient {
    http: Client,
    base_url: String,
    /// `/logstores/{logstore}`.
    logstore_path: String,
    host_header: Option<HeaderValue>,
    credentials: Credentials,
}

/// A PutLogs body: the bytes sent and the size of the protobuf they hold.
pub struct Body<'a> {
    bytes: &'a [u8],
    raw_size: usize,
    compression: Compression,
}

impl<'a> Body<'a> {
    /// `bytes` as sent, holding `raw_size` bytes of protobuf compressed as `compression`.
    pub fn new(bytes: &'a [u8], raw_size: usize, compression: Compression) -> Self {
        Body {
            bytes,
            raw_size,
            compression,
        }
    }

    /// The protobuf's size, `x-log-bodyrawsize`.
    pub fn raw_size(&self) -> usize {
        self.raw_size
    }

    /// The size sent, after compression.
    pub fn sent_size(&self) -> usize {
        self.bytes.len()
    }
}

impl LoghubClient {
    pub fn new(config: &WriterConfig) -> Result<Self, String> {
        let http = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("datax-rs-loghub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        let host_header = match &config.endpoint.host_header {
            Some(host) => Some(
                HeaderValue::from_str(host)
                    .map_err(|_| format!("\"{host}\" is not a valid Host header"))?,
            ),
            None => None,
        };
        Ok(LoghubClient {
            http,
            base_url: config.endpoint.base_url.clone(),
            logstore_path: format!("/logstores/{}", config.logstore),
            host_header,
            credentials: config.credentials.clone(),
        })
    }

    /// The host requests go to, for messages.
    pub fn host_name(&self) -> &str {
        self.base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, host)| host)
    }

    /// One PutLogs of `body` to the shard holding `route_key`, or load-balanced. Returns the
    /// request id.
    pub fn put_logs(&self, body: &Body<'_>, route_key: Option<&str>) -> Result<String, PutError> {
        let (request_id, _) = execute(self.put_logs_request(body, route_key)?)?;
        Ok(request_id)
    }

    /// The PutLogs request of `body`, signed now.
    pub fn put_logs_request(
        &self,
        body: &Body<'_>,
        route_key: Option<&str>,
    ) -> Result<RequestBuilder, PutError> {
        match route_key {
            Some(key) => self.request(
                "POST",
                &format!("{}/shards/route", self.logstore_path),
                &[("key", key)],
                Some(body),
            ),
            None => self.request(
                "POST",
                &format!("{}/shards/lb", self.logstore_path),
                &[],
                Some(body),
            ),
        }
    }

    /// The logstore's writable shards.
    pub fn list_shards(&self) -> Result<Vec<Shard>, PutError> {
        let path = format!("{}/shards", self.logstore_path);
        let (request_id, text) = execute(self.request("GET", &path, &[], None)?)?;
        let bad = |what: &str| PutError::Service {
            status: 200,
            code: "BadResponse".to_string(),
            message: format!("ListShards: {what}"),
            request_id: request_id.clone(),
        };
        let listed: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| bad("the answer is not JSON"))?;
        let shards: Vec<Shard> = listed
            .as_array()
            .ok_or_else(|| bad("the answer is not a list"))?
            .iter()
            .filter(|shard| shard["status"].as_str().unwrap_or("readwrite") == "readwrite")
            .filter_map(|shard| {
                Some(Shard {
                    begin_key: shard["inclusiveBeginKey"].as_str()?.to_ascii_lowercase(),
                    end_key: shard["exclusiveEndKey"].as_str()?.to_ascii_lowercase(),
                })
            })
            .collect();
        if shards.is_empty() {
            return Err(bad("no writable shard"));
        }
        Ok(shards)
    }

    /// One request signed now (sls-putlogs.md §0, §3), ready to send.
    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Body<'_>>,
    ) -> Result<RequestBuilder, PutError> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let (md5, content_type, raw_size) = match body {
            Some(body) => (
                content_md5(body.bytes),
                CONTENT_TYPE_PROTOBUF,
                body.raw_size,
            ),
            None => (String::new(), "", 0),
        };
        let raw_size = raw_size.to_string();
        let mut log_headers = vec![
            ("x-log-apiversion", API_VERSION),
            ("x-log-bodyrawsize", raw_size.as_str()),
            ("x-log-signaturemethod", "hmac-sha1"),
        ];
        // Uncompressed: no header (sls-putlogs.md §6).
        if let Some(compress_type) = body.and_then(|body| body.compression.header()) {
            log_headers.push(("x-log-compresstype", compress_type));
        }
        if let Some(token) = &self.credentials.security_token {
            log_headers.push(("x-acs-security-token", token.as_str()));
        }
        let signed = SignedRequest {
            method,
            content_md5: &md5,
            content_type,
            date: &date,
            path,
            query,
        };
        let authorization = authorization(&self.credentials, &signed, &log_headers);

        let mut headers = HeaderMap::new();
        let value = |text: &str| {
            HeaderValue::from_str(text)
                .map_err(|_| PutError::Transport("a header value is not valid text".to_string()))
        };
        if body.is_some() {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(CONTENT_TYPE_PROTOBUF),
            );
            headers.insert("content-md5", value(&md5)?);
        }
        headers.insert(DATE, value(&date)?);
        headers.insert(AUTHORIZATION, value(&authorization)?);
        for (name, text) in &log_headers {
            headers.insert(HeaderName::from_static(name), value(text)?);
        }
        if let Some(host) = &self.host_header {
            headers.insert(HOST, host.clone());
        }
        // Query values are hex keys: nothing to escape.
        let query_text: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut url = format!("{}{path}", self.base_url);
        if !query_text.is_empty() {
            url.push('?');
            url.push_str(&query_text.join("&"));
        }
        let request = match body {
            Some(body) => self.http.post(url).body(body.bytes.to_vec()),
            // The service wants a Content-Length even on a GET (411 without it).
            None => self.http.get(url).header(CONTENT_LENGTH, "0"),
        };
        Ok(request.headers(headers))
    }
}

/// Sends `request`; the request id and the answer's body.
fn execute(request: RequestBuilder) -> Result<(String, String), PutError> {
    let response = request
        .send()
        .map_err(|error| transport_error(describe_transport(&error)))?;
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-log-requestid")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().unwrap_or_default();
    if status == 200 {
        return Ok((request_id, text));
    }
    Err(service_error(status, &text, request_id))
}

/// The shard whose `[begin, end)` holds `hash` (lowercase hex), else the first, as DataX.
pub fn shard_for(shards: &[Shard], hash: &str) -> usize {
    shards
        .iter()
        .position(|shard| shard.begin_key.as_str() <= hash && hash < shard.end_key.as_str())
        .unwrap_or(0)
}

/// A request that got no answer. getaddrinfo's "Name or service not known" is final;
/// "Temporary failure in name resolution" is not, and stays a retried transport error.
fn transport_error(reason: String) -> PutError {
    if reason.contains("Name or service not known") {
        PutError::UnknownHost(reason)
    } else {
        PutError::Transport(reason)
    }
}

/// A transport error with its causes: reqwest's own text is often just "error sending request".
fn describe_transport(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        "the connection failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn service_error(status: u16, body: &str, request_id: String) -> PutError {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|json| json.get(name))
            .and_then(|value| value.as_str())
            .map(str::to_string)
    };
    match field("errorCode") {
        Some(code) => PutError::Service {
            status,
            code,
            message: field("errorMessage").unwrap_or_default(),
            request_id,
        },
        None => PutError::Service {
            status,
            code: "BadResponse".to_string(),
            message: body
                .chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string(),
            request_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> PutError {
        PutError::Service {
            status,
            code: code.to_string(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    #[test]
    fn the_retry_table_of_the_spec() {
        assert_eq!(
            classify(&PutError::Transport("reset".into())),
            Retry::Backoff
        );
        let unknown = transport_error(
            "cannot connect: dns error: failed to lookup address information: \
             Name or service not known"
                .into(),
        );
        assert!(matches!(unknown, PutError::UnknownHost(_)));
        assert_eq!(classify(&unknown), Retry::Fail);
        let temporary = transport_error(
            "cannot connect: dns error: Temporary failure in name resolution".into(),
        );
        assert_eq!(classify(&temporary), Retry::Backoff);
        for (status, code) in [
            (500, "InternalServerError"),
            (503, "ServerBusy"),
            (502, "BadResponse"),
            (504, "BadResponse"),
            (429, "TooManyRequests"),
        ] {
            assert_eq!(classify(&service(status, code)), Retry::Backoff, "{code}");
        }
        assert_eq!(classify(&service(403, "WriteQuotaExceed")), Retry::Quota);
        assert_eq!(
            classify(&service(403, "ShardWriteQuotaExceed")),
            Retry::Quota
        );
        assert_eq!(
            classify(&service(400, "RequestTimeExpired")),
            Retry::ClockSkew
        );
        assert_eq!(classify(&service(400, "PostBodyTooLarge")), Retry::Split);
        for (status, code) in [
            (401, "SignatureNotMatch"),
            (401, "Unauthorized"),
            (403, "Unauthorized"),
            (404, "LogStoreNotExist"),
            (404, "ProjectNotExist"),
            (400, "PostBodyInvalid"),
            (400, "MissAccessKeyId"),
        ] {
            assert_eq!(classify(&service(status, code)), Retry::Fail, "{code}");
        }
    }

    #[test]
    fn a_hash_finds_its_shard_or_the_first() {
        let shard = |begin: &str, end: &str| Shard {
            begin_key: begin.to_string(),
            end_key: end.to_string(),
        };
        let shards = [
            shard(
                "00000000000000000000000000000000",
                "80000000000000000000000000000000",
            ),
            shard(
                "80000000000000000000000000000000",
                "ffffffffffffffffffffffffffffffff",
            ),
        ];
        assert_eq!(shard_for(&shards, "7fffffffffffffffffffffffffffffff"), 0);
        assert_eq!(shard_for(&shards, "80000000000000000000000000000000"), 1);
        assert_eq!(shard_for(&shards, "ffffffffffffffffffffffffffffffff"), 0);
    }

    #[test]
    fn backoff_grows_to_a_cap_with_bounded_jitter() {
        let first = backoff(Retry::Backoff, 1);
        assert!(first >= Duration::from_millis(200) && first < Duration::from_millis(250));
        let late = backoff(Retry::Backoff, 30);
        assert!(late >= Duration::from_secs(5) && late < Duration::from_millis(6250));
        assert!(backoff(Retry::Quota, 1) >= Duration::from_millis(500));
    }

    #[test]
    fn error_bodies_are_read_as_the_service_writes_them() {
        let error = service_error(
            401,
            r#"{"errorCode": "SignatureNotMatch", "errorMessage": "Signature abc not matched."}"#,
            "5E9576DB0EEB03B494BF86A8".into(),
        );
        assert_eq!(
            error.to_string(),
            "SignatureNotMatch (HTTP 401): Signature abc not matched. \
             (request id 5E9576DB0EEB03B494BF86A8)"
        );
        let error = service_error(502, "<html>Bad Gateway</html>", String::new());
        assert_eq!(classify(&error), Retry::Backoff);
        assert_eq!(
            error.to_string(),
            "BadResponse (HTTP 502): <html>Bad Gateway</html>"
        );
    }
}
