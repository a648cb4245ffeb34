//! Log Service over HTTP: one signed request per attempt (sls-putlogs.md §0), and how a
//! failed attempt is classified for the retry policy of sls-putlogs.md §8 (applied by
//! [`crate::shipper`]). Shared by the writer (PutLogs, ListShards) and the reader
//! (ListShards, GetCursor, PullLogs).
//!
//! Every request and its answer's body go through the kit's cancellable calls
//! ([`http::send_cancellable`], [`http::cancellable_body`]): a stop does not wait on a
//! ListShards, GetCursor or PullLogs that hangs, it ends the attempt at once with a cancelled
//! error, never retried.

use std::cell::Cell;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use ::http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH,
    CONTENT_TYPE, DATE, HOST,
};
use datax_plugin_api::{ErrorKind, PluginError};
use datax_plugin_kit::http::{
    self, Client, HttpError, RequestBuilder, Response, ServiceError, SharedClient, TransportKind,
};
use datax_plugin_kit::retry::{Cancellation, Jitter, RetryError, RetryLogic, RetryPolicy};

use crate::auth::{authorization, content_md5, Credentials, SignedRequest};
use crate::codec::Compression;
use crate::config::{Endpoint, WriterConfig};

const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
const API_VERSION: &str = "0.6.0";
/// The largest uncompressed PullLogs answer taken: it bounds a task's memory whatever
/// `x-log-bodyrawsize` says (the service keeps pulls far below it).
pub const MAX_PULL_RAW_BYTES: u64 = 256 * 1024 * 1024;

/// What to do after a failed attempt (sls-putlogs.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Network trouble or a busy server: back off and send again.
    Backoff,
    /// Over the write quota: back off longer, at least [`QUOTA_MIN_DELAY`] doubling to
    /// [`QUOTA_MAX_DELAY`].
    Quota,
    /// `RequestTimeExpired`: a fresh Date may fix it once; a second time the clock is wrong.
    ClockSkew,
    /// `PostBodyTooLarge`: send the batch in halves.
    Split,
    /// Credentials, names or the request itself are wrong: retrying cannot help.
    Fail,
}

pub fn classify(error: &HttpError) -> Retry {
    let service = match error {
        HttpError::Transport { .. } => return Retry::Backoff,
        HttpError::UnknownHost { .. } => return Retry::Fail,
        HttpError::Service(service) => service,
    };
    match service.code.as_str() {
        "WriteQuotaExceed" | "ShardWriteQuotaExceed" | "ExceedQuota" => Retry::Quota,
        "RequestTimeExpired" => Retry::ClockSkew,
        "PostBodyTooLarge" => Retry::Split,
        "ServerBusy" | "InternalServerError" | "RequestTimeout" => Retry::Backoff,
        _ if service.status == 429 || (500..=504).contains(&service.status) => Retry::Backoff,
        _ => Retry::Fail,
    }
}

/// The wait after a first quota error, doubling with each one to [`QUOTA_MAX_DELAY`]
/// (sls-putlogs.md §8: ≈500 ms → 10 s).
pub const QUOTA_MIN_DELAY: Duration = Duration::from_millis(500);
pub const QUOTA_MAX_DELAY: Duration = Duration::from_secs(10);

/// The wait after one more quota error, counted in `quota_errors` (one count per request).
pub fn next_quota_delay(quota_errors: &Cell<u32>) -> Duration {
    let before = quota_errors.replace(quota_errors.get() + 1);
    QUOTA_MIN_DELAY
        .saturating_mul(1 << before.min(8))
        .min(QUOTA_MAX_DELAY)
}

/// The error of a request that ran out of retries, and ` after N attempts` when it was
/// retried; a stopped retry, or an attempt the stop cut short, is the cancellation error
/// naming `call`.
pub fn retries_exhausted(
    call: &str,
    failed: RetryError<HttpError>,
) -> Result<(HttpError, String), PluginError> {
    match failed {
        RetryError::Cancelled { .. }
        | RetryError::Failed {
            error:
                HttpError::Transport {
                    kind: TransportKind::Cancelled,
                    ..
                },
            ..
        } => Err(PluginError::new(
            ErrorKind::CANCELLED,
            format!("stopped while {call} was in flight or retrying"),
        )),
        RetryError::Failed { error, retries: 0 } => Ok((error, String::new())),
        RetryError::Failed { error, retries } => {
            Ok((error, format!(" after {} attempts", retries + 1)))
        }
    }
}

/// Backoff between attempts: 200 ms growing to 5 s, decorrelated jitter so that a job's
/// sending threads do not retry in step; `max_retries` retries after the first attempt.
pub fn retry_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(5),
        jitter: Jitter::Decorrelated,
    }
}

/// Log Service's retry classifier (sls-putlogs.md §8), one per request: it remembers whether
/// a clock skew was retried already, and how many quota errors came.
#[derive(Default)]
pub struct LoghubRetries {
    clock_retried: Cell<bool>,
    quota_errors: Cell<u32>,
}

impl RetryLogic for LoghubRetries {
    type Error = HttpError;

    fn is_retriable(&self, error: &HttpError) -> bool {
        match classify(error) {
            Retry::Backoff | Retry::Quota => true,
            Retry::ClockSkew => !self.clock_retried.replace(true),
            Retry::Split | Retry::Fail => false,
        }
    }

    fn min_delay(&self, error: &HttpError) -> Option<Duration> {
        if classify(error) != Retry::Quota {
            return None;
        }
        Some(next_quota_delay(&self.quota_errors))
    }
}

/// A shard's hash range, from ListShards (sls-putlogs.md §2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    pub begin_key: String,
    pub end_key: String,
}

/// A shard as ListShards shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedShard {
    pub id: u32,
    /// `readwrite`, or `readonly` for a shard that was split or merged.
    pub status: String,
    pub range: Shard,
}

/// The memory a task's pulls reuse: the body as received, and the `LogGroupList` it holds
/// uncompressed (which the task lends to its converting thread, and gets back).
#[derive(Default)]
pub struct PullBuffers {
    pub received: Vec<u8>,
    pub log_group_list: Vec<u8>,
}

/// What one PullLogs returned besides its `LogGroupList` ([`PullBuffers`]): how many groups
/// it says it holds, and where the next pull starts.
pub struct Pulled {
    /// `x-log-count`: the groups in the list.
    pub group_count: u64,
    /// `x-log-cursor`.
    pub next_cursor: String,
    pub request_id: String,
}

/// What a client needs of a reader's or a writer's configuration.
pub struct ClientSettings<'a> {
    pub endpoint: &'a Endpoint,
    pub credentials: &'a Credentials,
    pub logstore: &'a str,
    pub connect_timeout: Duration,
    /// The whole request: connecting, sending the body, reading the answer.
    pub request_timeout: Duration,
}

/// Signs and sends Log Service requests. Shared by a task's sending threads; its HTTP client
/// is the job's, whose pool keeps the connections of every task.
pub struct LoghubClient {
    http: Client,
    base_url: String,
    /// `/logstores/{logstore}`.
    logstore_path: String,
    host_header: Option<HeaderValue>,
    credentials: Credentials,
}

/// A PutLogs body: the bytes sent (shared by every attempt, not copied) and the size of the
/// protobuf they hold.
pub struct Body {
    bytes: Bytes,
    raw_size: usize,
    compression: Compression,
}

impl Body {
    /// `bytes` as sent, holding `raw_size` bytes of protobuf compressed as `compression`.
    pub fn new(bytes: Bytes, raw_size: usize, compression: Compression) -> Self {
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

impl<'a> ClientSettings<'a> {
    /// A writer's settings.
    pub fn of_writer(config: &'a WriterConfig) -> Self {
        ClientSettings {
            endpoint: &config.endpoint,
            credentials: &config.credentials,
            logstore: &config.logstore,
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
        }
    }

    /// The job's one HTTP client with these timeouts, built when a task first sends.
    pub fn shared_http(&self) -> Arc<SharedClient> {
        let (connect, request) = (self.connect_timeout, self.request_timeout);
        SharedClient::new(move |config| {
            config
                .timeout_connect(Some(connect))
                .timeout_global(Some(request))
                .user_agent(concat!("datax-rs-loghub/", env!("CARGO_PKG_VERSION")))
        })
    }
}

impl LoghubClient {
    /// A writer's client, on the job's HTTP client.
    pub fn new(config: &WriterConfig, http: &SharedClient) -> Result<Self, PluginError> {
        LoghubClient::connect(&ClientSettings::of_writer(config), http)
    }

    /// A client for `config`'s logstore on the job's HTTP client (built now if it is the
    /// first).
    pub fn connect(config: &ClientSettings<'_>, http: &SharedClient) -> Result<Self, PluginError> {
        let host_header = match &config.endpoint.host_header {
            Some(host) => Some(HeaderValue::from_str(host).map_err(|_| {
                PluginError::config(format!("\"{host}\" is not a valid Host header"))
            })?),
            None => None,
        };
        Ok(LoghubClient {
            http: http.get(),
            base_url: config.endpoint.base_url.clone(),
            logstore_path: format!("/logstores/{}", config.logstore),
            host_header,
            credentials: config.credentials.clone(),
        })
    }

    /// `logstore L of project P at URL`, for messages.
    pub fn describe(&self, project: &str) -> String {
        format!(
            "logstore {} of project {project} at {}",
            self.logstore_path.trim_start_matches("/logstores/"),
            self.base_url
        )
    }

    /// The host requests go to, for messages.
    pub fn host_name(&self) -> &str {
        self.base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, host)| host)
    }

    /// One PutLogs of `body` to the shard holding `route_key`, or load-balanced. Returns the
    /// request id. Sent on the calling thread (a hop to another thread and back would cost
    /// more CPU than a small PutLogs itself); the answer is waited for until `waiting` is
    /// cancelled: a stopped writer task still takes the answers in flight for a grace period
    /// (their logs may be acknowledged) ([`crate::task`]).
    pub fn put_logs(
        &self,
        body: &Body,
        route_key: Option<&str>,
        waiting: &dyn Cancellation,
    ) -> Result<String, HttpError> {
        let request = self.put_logs_request(body, route_key)?;
        let response = answer_of_200(http::send_on_this_thread(request, waiting)?, waiting)?;
        let request_id = header_text(response.headers(), "x-log-requestid");
        http::text_cancellable(response, waiting)?;
        Ok(request_id)
    }

    /// The PutLogs request of `body`, signed now.
    pub fn put_logs_request(
        &self,
        body: &Body,
        route_key: Option<&str>,
    ) -> Result<RequestBuilder, HttpError> {
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
    pub fn list_shards(&self, cancellation: &dyn Cancellation) -> Result<Vec<Shard>, HttpError> {
        let (shards, request_id) = self.list_all_shards(cancellation)?;
        let writable: Vec<Shard> = shards
            .into_iter()
            .filter(|shard| shard.status == "readwrite")
            .map(|shard| shard.range)
            .collect();
        if writable.is_empty() {
            return Err(bad_response(&request_id, "ListShards: no writable shard"));
        }
        Ok(writable)
    }

    /// Every shard of the logstore, read-only ones too, with the request id.
    pub fn list_all_shards(
        &self,
        cancellation: &dyn Cancellation,
    ) -> Result<(Vec<ListedShard>, String), HttpError> {
        let path = format!("{}/shards", self.logstore_path);
        let (request_id, text) = execute(self.request("GET", &path, &[], None)?, cancellation)?;
        let bad = |what: &str| bad_response(&request_id, &format!("ListShards: {what}"));
        let listed: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| bad("the answer is not JSON"))?;
        let shards = listed
            .as_array()
            .ok_or_else(|| bad("the answer is not a list"))?
            .iter()
            .map(|shard| {
                Some(ListedShard {
                    id: u32::try_from(shard["shardID"].as_u64()?).ok()?,
                    status: shard["status"].as_str().unwrap_or("readwrite").to_string(),
                    range: Shard {
                        begin_key: shard["inclusiveBeginKey"].as_str()?.to_ascii_lowercase(),
                        end_key: shard["exclusiveEndKey"].as_str()?.to_ascii_lowercase(),
                    },
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("a shard lacks its id or hash range"))?;
        Ok((shards, request_id))
    }

    /// GetCursor, as the SDKs' `get_cursor`: `from` is `begin`, `end` or Unix seconds.
    pub fn get_cursor(
        &self,
        shard: u32,
        from: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<String, HttpError> {
        let path = format!("{}/shards/{shard}", self.logstore_path);
        let request = self.request("GET", &path, &[("type", "cursor"), ("from", from)], None)?;
        let (request_id, text) = execute(request, cancellation)?;
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|answer| answer["cursor"].as_str().map(str::to_string))
            .ok_or_else(|| bad_response(&request_id, "GetCursor: the answer has no cursor"))
    }

    /// PullLogs, as the SDKs' `pull_logs` (sls-pulllogs.md §4): up to `count` log groups from
    /// `cursor`, not past `end_cursor`, asked for lz4-compressed, read into `buffers`.
    pub fn pull_logs(
        &self,
        shard: u32,
        cursor: &str,
        count: u32,
        end_cursor: &str,
        buffers: &mut PullBuffers,
        cancellation: &dyn Cancellation,
    ) -> Result<Pulled, HttpError> {
        let path = format!("{}/shards/{shard}", self.logstore_path);
        let count = count.to_string();
        let query = [
            ("type", "log"),
            ("cursor", cursor),
            ("count", count.as_str()),
            ("end_cursor", end_cursor),
        ];
        let request = self
            .request("GET", &path, &query, None)?
            .header(ACCEPT, CONTENT_TYPE_PROTOBUF)
            .header(ACCEPT_ENCODING, "lz4");
        let headers = execute_into(request, &mut buffers.received, cancellation)?;
        let request_id = header_text(&headers, "x-log-requestid");
        let bad = |what: String| bad_response(&request_id, &format!("PullLogs: {what}"));
        let number = |name: &str| {
            header_text(&headers, name)
                .parse::<u64>()
                .map_err(|_| bad(format!("{name} is not a number")))
        };
        let raw_size = number("x-log-bodyrawsize")?;
        if raw_size > MAX_PULL_RAW_BYTES {
            // Not `BadResponse`: pulling again cannot make it smaller.
            return Err(HttpError::Service(ServiceError {
                status: 200,
                code: "ResponseTooLarge".to_string(),
                message: format!(
                    "PullLogs: x-log-bodyrawsize {raw_size} is more than the \
                     {MAX_PULL_RAW_BYTES} bytes a pull may hold; lower batchSize"
                ),
                request_id: Some(request_id.clone()),
            }));
        }
        let group_count = number("x-log-count")?;
        let next_cursor = header_text(&headers, "x-log-cursor");
        if next_cursor.is_empty() {
            return Err(bad("the answer has no x-log-cursor".into()));
        }
        let compression = match header_text(&headers, "x-log-compresstype").as_str() {
            "" => Compression::None,
            name => Compression::from_name(name)
                .ok_or_else(|| bad(format!("unknown x-log-compresstype {name}")))?,
        };
        // No groups: the body is not read, as the SDKs do (sls-pulllogs.md §4).
        let received = if raw_size == 0 {
            &[][..]
        } else {
            &buffers.received[..]
        };
        compression
            .decompress_into(received, raw_size as usize, &mut buffers.log_group_list)
            .map_err(|error| bad(format!("the body does not decompress: {error}")))?;
        Ok(Pulled {
            group_count,
            next_cursor,
            request_id,
        })
    }

    /// One request signed now (sls-putlogs.md §0, §3), ready to send.
    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Body>,
    ) -> Result<RequestBuilder, HttpError> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let (md5, content_type, raw_size) = match body {
            Some(body) => (
                content_md5(&body.bytes),
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
            HeaderValue::from_str(text).map_err(|_| HttpError::Transport {
                kind: TransportKind::Connect,
                message: "a header value is not valid text".to_string(),
            })
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
        // Signed as they are, sent percent-encoded (cursors hold `+`, `/` and `=`).
        let query_text: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        let mut url = format!("{}{path}", self.base_url);
        if !query_text.is_empty() {
            url.push('?');
            url.push_str(&query_text.join("&"));
        }
        let request = match body {
            Some(body) => self.http.post(url).body(body.bytes.clone()),
            // The service wants a Content-Length even on a GET (411 without it).
            None => self.http.get(url).header(CONTENT_LENGTH, "0"),
        };
        Ok(request.headers(headers))
    }
}

/// Sends `request`; the request id and the text of a 200 answer, or the service's error.
fn execute(
    request: RequestBuilder,
    cancellation: &dyn Cancellation,
) -> Result<(String, String), HttpError> {
    let response = send(request, cancellation)?;
    let request_id = header_text(response.headers(), "x-log-requestid");
    Ok((request_id, http::text_cancellable(response, cancellation)?))
}

/// Sends `request`; the headers of a 200 answer, its body read into `body` (its memory
/// reused), or the service's error.
fn execute_into(
    request: RequestBuilder,
    body: &mut Vec<u8>,
    cancellation: &dyn Cancellation,
) -> Result<HeaderMap, HttpError> {
    let mut response = send(request, cancellation)?;
    let headers = std::mem::take(response.headers_mut());
    body.clear();
    http::cancellable_body(response, cancellation)?
        .read_to_end(body)
        .map_err(|error| HttpError::from_body_read(&error))?;
    Ok(headers)
}

/// Sends `request`: the answer of a 200, else the service's error.
fn send(request: RequestBuilder, cancellation: &dyn Cancellation) -> Result<Response, HttpError> {
    answer_of_200(http::send_cancellable(request, cancellation)?, cancellation)
}

/// `response` if a 200, else the service's error read from it.
fn answer_of_200(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<Response, HttpError> {
    let status = response.status().as_u16();
    if status == 200 {
        return Ok(response);
    }
    let request_id = header_text(response.headers(), "x-log-requestid");
    let text = http::text_cancellable(response, cancellation)?;
    Err(service_error(status, &text, request_id))
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A 200 answer that is not what the call returns (`BadResponse`, as for a proxy's page).
fn bad_response(request_id: &str, message: &str) -> HttpError {
    HttpError::Service(ServiceError {
        status: 200,
        code: "BadResponse".to_string(),
        message: message.to_string(),
        request_id: Some(request_id.to_string()),
    })
}

/// RFC 3986: every byte but the unreserved ones as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The shard whose `[begin, end)` holds `hash` (lowercase hex), else the first, as DataX.
pub fn shard_for(shards: &[Shard], hash: &str) -> usize {
    shards
        .iter()
        .position(|shard| shard.begin_key.as_str() <= hash && hash < shard.end_key.as_str())
        .unwrap_or(0)
}

/// An error answer: the service's JSON `errorCode` and `errorMessage`, or `BadResponse` with
/// the start of a body that is not its JSON (a proxy's page; sls-putlogs.md §7).
fn service_error(status: u16, body: &str, request_id: String) -> HttpError {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|json| json.get(name))
            .and_then(|value| value.as_str())
            .map(str::to_string)
    };
    let (code, message) = match field("errorCode") {
        Some(code) => (code, field("errorMessage").unwrap_or_default()),
        None => (
            "BadResponse".to_string(),
            body.chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string(),
        ),
    };
    HttpError::Service(ServiceError {
        status,
        code,
        message,
        request_id: Some(request_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> HttpError {
        HttpError::Service(ServiceError {
            status,
            code: code.to_string(),
            message: String::new(),
            request_id: None,
        })
    }

    #[test]
    fn the_retry_table_of_the_spec() {
        let transport = HttpError::Transport {
            kind: TransportKind::Closed,
            message: "reset".into(),
        };
        assert_eq!(classify(&transport), Retry::Backoff);
        // An unknown host is found by the kit's resolver (by getaddrinfo's error code); a
        // DNS server that does not answer stays a retried transport error.
        let unknown = HttpError::UnknownHost {
            host: "p.nowhere.invalid".into(),
            message: "cannot connect: unknown host p.nowhere.invalid".into(),
        };
        assert_eq!(classify(&unknown), Retry::Fail);
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
    fn an_attempt_the_stop_cut_short_is_a_stop_not_a_failure() {
        let cut_short = HttpError::Transport {
            kind: TransportKind::Cancelled,
            message: "the job is stopping".into(),
        };
        for failed in [
            RetryError::Failed {
                error: cut_short.clone(),
                retries: 7,
            },
            RetryError::Cancelled {
                error: cut_short,
                retries: 0,
            },
        ] {
            let stopped = retries_exhausted("PullLogs of shard 0", failed).unwrap_err();
            assert_eq!(stopped.kind, ErrorKind::CANCELLED);
            assert!(
                stopped.message.contains("PullLogs of shard 0"),
                "{stopped:?}"
            );
        }
        let broken = HttpError::Transport {
            kind: TransportKind::Closed,
            message: "reset".into(),
        };
        let (error, after) = retries_exhausted(
            "PullLogs",
            RetryError::Failed {
                error: broken.clone(),
                retries: 2,
            },
        )
        .unwrap();
        assert_eq!((error, after.as_str()), (broken, " after 3 attempts"));
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
    fn the_classifier_retries_a_clock_skew_once_and_waits_longer_for_quota() {
        let logic = LoghubRetries::default();
        let skew = service(400, "RequestTimeExpired");
        assert!(logic.is_retriable(&skew));
        assert!(
            !logic.is_retriable(&skew),
            "the second time the clock is wrong"
        );
        assert!(logic.is_retriable(&service(503, "ServerBusy")));
        assert!(!logic.is_retriable(&service(400, "PostBodyTooLarge")));
        assert!(!logic.is_retriable(&service(401, "SignatureNotMatch")));
        let quota = service(403, "WriteQuotaExceed");
        let floors: Vec<_> = (0..7).map(|_| logic.min_delay(&quota).unwrap()).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            floors,
            [
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(10_000),
                ms(10_000)
            ]
        );
        assert_eq!(logic.min_delay(&service(503, "ServerBusy")), None);
        let policy = retry_policy(7);
        let mut previous = policy.base;
        for retry in 1..=10 {
            previous = policy.delay(retry, previous);
            assert!(previous >= Duration::from_millis(200) && previous <= Duration::from_secs(5));
        }
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
