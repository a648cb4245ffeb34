//! HTTP to MaxCompute: signed REST metadata calls (odps-tunnel.md §11) and tunnel download
//! sessions and data (§3, §4), on the kit's HTTP layer, with the SDKs' retry policy (§7) as
//! a [`RetryLogic`] classifier ([`OdpsRetries`]) for the kit's driver.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ::http::Method;
use datax_plugin_api::{log, ErrorKind, PluginError};
use datax_plugin_kit::http::{
    self, Client, HttpError, RequestBuilder, Response, ServiceError, SharedClient, TransportKind,
};
use datax_plugin_kit::retry::{retry, Cancellation, Jitter, RetryError, RetryLogic, RetryPolicy};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::auth::{self, Credentials};
use crate::schema::TableSchema;
use crate::xml;

/// What `URLEncoder` leaves alone (`+` for spaces becomes `%20` anyway; odps-tunnel.md §1).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*');

/// Flow-control answers (308, 429) are retried "without limit" by the SDKs; this bounds it
/// at about an hour of 64 s waits so a job cannot hang forever.
pub const FLOW_CONTROL_RETRIES: u32 = 60;

/// The SDKs' schedule (odps-tunnel.md §7): waits of 1, 2, 4 … 64 s, without jitter (the
/// documented schedule, logged in whole seconds), `max_retries` retries (`maxRetryTime`).
pub fn retry_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(64),
        jitter: Jitter::None,
    }
}

/// Flow control: 308 (slot reassignment) or 429 (flow exceeded).
fn is_flow_control(error: &HttpError) -> bool {
    matches!(error.status(), Some(308 | 429))
}

/// MaxCompute's retry classifier (odps-tunnel.md §7): 5xx, flow control and network errors
/// are worth another try, flow control beyond `maxRetryTime`; other 4xx and an unknown host
/// fail at once.
pub struct OdpsRetries;

impl RetryLogic for OdpsRetries {
    type Error = HttpError;

    fn is_retriable(&self, error: &HttpError) -> bool {
        match error {
            HttpError::Service(service) => service.status >= 500 || is_flow_control(error),
            HttpError::Transport { .. } => true,
            HttpError::UnknownHost { .. } => false,
        }
    }

    fn max_retries(&self, error: &HttpError, policy_max: u32) -> u32 {
        if is_flow_control(error) {
            FLOW_CONTROL_RETRIES.max(policy_max)
        } else {
            policy_max
        }
    }
}

/// `doing: error` as a plugin error: MaxCompute's credential codes are AUTH and its name codes
/// CONFIG (a missing table is the job's mistake), with a hint where one helps.
pub fn plugin_error(error: &HttpError, doing: &str) -> PluginError {
    let code = error.code().unwrap_or_default();
    let kind = match code {
        "Unauthorized"
        | "InvalidAccessKeyId"
        | "InvalidSecurityToken"
        | "SignatureNotMatch"
        | "AccessDenied"
        | "NoPermission"
        | "AuthorizationRequired"
        | "RequestTimeTooSkewed" => ErrorKind::AUTH,
        "NoSuchProject"
        | "NoSuchTable"
        | "NoSuchPartition"
        | "InvalidColumnSpec"
        | "InvalidPartitionSpec"
        | "MissingPartitionSpec" => ErrorKind::CONFIG,
        _ => error.kind(),
    };
    let hint = match (code, error) {
        ("InvalidAccessKeyId" | "SignatureNotMatch" | "Unauthorized", _) => {
            "; check accessId and accessKey"
        }
        ("InvalidSecurityToken", _) => "; check securityToken",
        ("RequestTimeTooSkewed", _) => "; check this machine's clock",
        (_, HttpError::UnknownHost { .. }) => {
            "; the host does not exist: check odpsServer and tunnelServer"
        }
        _ => "",
    };
    PluginError::new(kind, format!("{doing}: {error}{hint}"))
}

/// A retried call that did not succeed, as a plugin error saying what was being done.
pub(crate) fn retry_failure(failed: RetryError<HttpError>, doing: &str) -> PluginError {
    match failed {
        RetryError::Cancelled { .. } => PluginError::new(
            ErrorKind::CANCELLED,
            format!("{doing}: the job is stopping"),
        ),
        RetryError::Failed { error, .. } => plugin_error(&error, doing),
    }
}

/// A service endpoint: `scheme://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Without a trailing `/`.
    base: String,
    /// The endpoint's own path (`/api`), part of the signed resource only for the tunnel.
    path: String,
    signs_path: bool,
}

impl Endpoint {
    /// `what` names the parameter for errors.
    pub fn parse(url: &str, what: &str, signs_path: bool) -> Result<Endpoint, String> {
        let base = url.trim().trim_end_matches('/');
        let Some((scheme, rest)) = base.split_once("://") else {
            return Err(format!(
                "{what}: \"{base}\" is not a URL (expected http://host[:port][/path])"
            ));
        };
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") || rest.is_empty() {
            return Err(format!("{what}: \"{base}\" is not an http or https URL"));
        }
        let path = rest.find('/').map_or("", |at| &rest[at..]);
        Ok(Endpoint {
            base: base.to_string(),
            path: path.to_string(),
            signs_path,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The URL of `segments` with the query `params`, and the decoded path the signature
    /// covers (with the endpoint's own path only for the tunnel, odps-tunnel.md §2.1).
    fn request_url(&self, segments: &[&str], params: &[(&str, &str)]) -> (String, String) {
        let mut url = self.base.clone();
        let mut decoded_path = if self.signs_path {
            self.path.clone()
        } else {
            String::new()
        };
        for segment in segments {
            url.push('/');
            url.extend(utf8_percent_encode(segment, ENCODE));
            decoded_path.push('/');
            decoded_path.push_str(segment);
        }
        for (index, (name, value)) in params.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.extend(utf8_percent_encode(name, ENCODE));
            if !value.is_empty() {
                url.push('=');
                url.extend(utf8_percent_encode(value, ENCODE));
            }
        }
        (url, decoded_path)
    }

    fn scheme(&self) -> &str {
        self.base
            .split_once("://")
            .map_or("http", |(scheme, _)| scheme)
    }
}

/// What a download session says (odps-tunnel.md §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadSession {
    pub id: String,
    pub record_count: u64,
    pub status: String,
}

/// One project's REST and tunnel endpoints with their credentials.
pub struct OdpsClient {
    http: Client,
    credentials: Credentials,
    rest: Endpoint,
    tunnel: Endpoint,
    project: String,
    /// `curr_project` on every request: `packageAuthorizedProject` or `project` (§1).
    default_project: String,
    /// Retries of retryable errors (flow control excepted).
    max_retries: u32,
    /// Metadata and session calls sent again after a failure ([`OdpsClient::call_text`]).
    metadata_retries: AtomicU64,
}

pub struct ClientSettings {
    pub credentials: Credentials,
    pub rest: Endpoint,
    /// `None`: ask the service (`GET /projects/{p}/tunnel?service`).
    pub tunnel: Option<Endpoint>,
    pub project: String,
    pub default_project: String,
    pub max_retries: u32,
}

/// Where one request goes: the REST or the tunnel endpoint, the path's segments (encoded
/// here) and the query.
pub(crate) struct Target<'a> {
    pub tunnel: bool,
    pub segments: &'a [&'a str],
    pub params: &'a [(&'a str, &'a str)],
}

/// A job's one HTTP client, shared by its tasks and built when first used.
pub fn shared_http() -> Arc<SharedClient> {
    SharedClient::new(|config| {
        config
            .timeout_connect(Some(Duration::from_secs(10)))
            // Per read and write: a body may take as long as it needs while it moves.
            .timeout_per_read(Some(Duration::from_secs(120)))
            .timeout_per_write(Some(Duration::from_secs(120)))
            .user_agent(concat!("datax-rs-odps/", env!("CARGO_PKG_VERSION")))
    })
}

impl OdpsClient {
    /// The client, on the job's HTTP client; without a tunnel endpoint it asks the service
    /// for one, retrying as long as `cancellation` lets it.
    pub fn new(
        settings: ClientSettings,
        http: &SharedClient,
        cancellation: &dyn Cancellation,
    ) -> Result<OdpsClient, PluginError> {
        let mut client = OdpsClient {
            http: http.get(),
            credentials: settings.credentials,
            tunnel: settings.rest.clone(),
            rest: settings.rest,
            project: settings.project,
            default_project: settings.default_project,
            max_retries: settings.max_retries,
            metadata_retries: AtomicU64::new(0),
        };
        client.tunnel = match settings.tunnel {
            Some(tunnel) => tunnel,
            None => client.discover_tunnel(cancellation)?,
        };
        Ok(client)
    }

    /// Retries of a retryable error (`maxRetryTime`).
    pub(crate) fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Metadata and session calls (schema, partitions, sessions, commit) sent again after a
    /// failure so far; data reads and block uploads count their own.
    pub fn metadata_retries(&self) -> u64 {
        self.metadata_retries.load(Ordering::Relaxed)
    }

    pub fn tunnel_endpoint(&self) -> &Endpoint {
        &self.tunnel
    }

    pub(crate) fn table_path<'a>(&'a self, table: &'a str) -> Vec<&'a str> {
        vec!["projects", &self.project, "tables", table]
    }

    /// One signed request, no retry: the response of a success, else the service's error;
    /// given up at once when `cancellation` says the job stops.
    fn call(
        &self,
        method: Method,
        target: &Target<'_>,
        cancellation: &dyn Cancellation,
    ) -> Result<Response, HttpError> {
        let mut request = self.request(method.clone(), target);
        if method == Method::POST {
            request = request.header("Content-Length", "0");
        }
        Self::send(request, cancellation)
    }

    /// One signed request with `body` (a tunnel block upload), no retry.
    pub(crate) fn call_with_body(
        &self,
        method: Method,
        target: &Target<'_>,
        body: bytes::Bytes,
        content_encoding: Option<&str>,
        cancellation: &dyn Cancellation,
    ) -> Result<Response, HttpError> {
        let mut request = self.request(method, target);
        if let Some(encoding) = content_encoding {
            request = request.header("Content-Encoding", encoding);
        }
        Self::send(request.body(body), cancellation)
    }

    /// The signed request for `target`, `curr_project` added.
    fn request(&self, method: Method, target: &Target<'_>) -> RequestBuilder {
        let endpoint = if target.tunnel {
            &self.tunnel
        } else {
            &self.rest
        };
        let mut params: Vec<(&str, &str)> = target.params.to_vec();
        params.push(("curr_project", &self.default_project));
        let (url, decoded_path) = endpoint.request_url(target.segments, &params);
        self.signed(method, &url, &decoded_path, &params, target.tunnel)
    }

    fn send(
        request: RequestBuilder,
        cancellation: &dyn Cancellation,
    ) -> Result<Response, HttpError> {
        let response = http::send_cancellable(request, cancellation)?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(service_error(response, cancellation))
        }
    }

    /// The request with its `Date` and signature (odps-tunnel.md §2.1), and the STS token.
    fn signed(
        &self,
        method: Method,
        url: &str,
        decoded_path: &str,
        params: &[(&str, &str)],
        tunnel: bool,
    ) -> RequestBuilder {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let odps_headers: &[(&str, &str)] = if tunnel {
            &[("x-odps-tunnel-version", "6")]
        } else {
            &[]
        };
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let resource = auth::canonical_resource(decoded_path, &params);
        let string_to_sign =
            auth::string_to_sign(method.as_str(), "", &date, odps_headers, &resource);
        let mut request = self.http.request(method, url).header("Date", &date).header(
            "Authorization",
            auth::authorization(&self.credentials, &string_to_sign),
        );
        for (name, value) in odps_headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = &self.credentials.security_token {
            request = request.header("authorization-sts-token", token);
        }
        request
    }

    /// [`OdpsClient::call`] with the SDKs' retries, reading the whole body as text; each retry
    /// logged, the waits ended by `cancellation`.
    pub(crate) fn call_text(
        &self,
        method: Method,
        target: &Target<'_>,
        cancellation: &dyn Cancellation,
        doing: &str,
    ) -> Result<String, PluginError> {
        let max_retries = self.max_retries;
        let on_retry = |error: &HttpError, retry: u32, wait: Duration| {
            self.metadata_retries.fetch_add(1, Ordering::Relaxed);
            log::warn(format!(
                "{doing}: {error}; retrying in {} s ({retry} of {max_retries})",
                wait.as_secs()
            ));
        };
        retry(
            &retry_policy(max_retries),
            &OdpsRetries,
            cancellation,
            on_retry,
            |_| {
                let response = self.call(method.clone(), target, cancellation)?;
                http::text_cancellable(response, cancellation)
            },
        )
        .map_err(|failed| retry_failure(failed, doing))
    }

    /// `GET {rest}/projects/{p}/tunnel?service`: a bare `host[:port]` (odps-tunnel.md §1).
    fn discover_tunnel(&self, cancellation: &dyn Cancellation) -> Result<Endpoint, PluginError> {
        let doing = format!(
            "finding the tunnel endpoint of project {} (set tunnelServer to skip this)",
            self.project
        );
        let target = Target {
            tunnel: false,
            segments: &["projects", &self.project, "tunnel"],
            params: &[("service", "")],
        };
        let host = self.call_text(Method::GET, &target, cancellation, &doing)?;
        let url = format!("{}://{}", self.rest.scheme(), host.trim());
        log::info(format!("tunnel endpoint {url}"));
        Endpoint::parse(&url, "tunnel endpoint", true).map_err(PluginError::io)
    }

    /// The table's columns and partition keys (`GET /projects/{p}/tables/{t}`, §11).
    pub fn table_schema(
        &self,
        table: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<TableSchema, PluginError> {
        let doing = format!("reading the schema of table {}.{table}", self.project);
        let target = Target {
            tunnel: false,
            segments: &self.table_path(table),
            params: &[],
        };
        let document = self.call_text(Method::GET, &target, cancellation, &doing)?;
        let answer = xml::parse(&document)
            .map_err(|error| PluginError::io(format!("{doing}: the answer is not XML: {error}")))?;
        let schema_text = answer
            .child_text("Schema")
            .ok_or_else(|| PluginError::io(format!("{doing}: the answer has no <Schema>")))?;
        let schema: Value = serde_json::from_str(schema_text).map_err(|error| {
            PluginError::io(format!("{doing}: the schema is not JSON: {error}"))
        })?;
        if schema["isVirtualView"].as_bool() == Some(true) {
            return Err(PluginError::config(format!(
                "table: {}.{table} is a view; odpsreader reads tables only",
                self.project
            )));
        }
        TableSchema::from_json(&schema)
            .map_err(|error| PluginError::io(format!("{doing}: {error}")))
    }

    /// Every partition of the table as `(key, value)` lists in key order, page by page (§11).
    pub fn partitions(
        &self,
        table: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<Vec<Vec<(String, String)>>, PluginError> {
        let doing = format!("listing the partitions of table {}.{table}", self.project);
        let mut partitions = Vec::new();
        let mut marker = String::new();
        loop {
            let mut params = vec![("partitions", ""), ("expectmarker", "true")];
            if !marker.is_empty() {
                params.push(("marker", &marker));
            }
            let target = Target {
                tunnel: false,
                segments: &self.table_path(table),
                params: &params,
            };
            let document = self.call_text(Method::GET, &target, cancellation, &doing)?;
            let listing = xml::parse(&document).map_err(|error| {
                PluginError::io(format!("{doing}: the answer is not XML: {error}"))
            })?;
            partitions.extend(listing.children("Partition").map(partition_spec));
            match listing.child_text("Marker") {
                Some(next) if !next.is_empty() && next != marker => marker = next.to_string(),
                _ => return Ok(partitions),
            }
        }
    }

    /// `POST …?downloads[&partition=]` (§3.1).
    pub fn create_download_session(
        &self,
        table: &str,
        partition: Option<&str>,
        cancellation: &dyn Cancellation,
    ) -> Result<DownloadSession, PluginError> {
        let doing = format!(
            "creating a download session for {}",
            describe_table(&self.project, table, partition)
        );
        let mut params = vec![("downloads", "")];
        if let Some(spec) = partition {
            params.push(("partition", spec));
        }
        let target = Target {
            tunnel: true,
            segments: &self.table_path(table),
            params: &params,
        };
        let body = self.call_text(Method::POST, &target, cancellation, &doing)?;
        let session =
            parse_session(&body).map_err(|error| PluginError::io(format!("{doing}: {error}")))?;
        if session.status.eq_ignore_ascii_case("normal") {
            return Ok(session);
        }
        self.wait_for_session(table, partition, session, cancellation, &doing)
    }

    /// Polls `GET …?downloadid=` until the session is `normal` (§3.2).
    fn wait_for_session(
        &self,
        table: &str,
        partition: Option<&str>,
        mut session: DownloadSession,
        cancellation: &dyn Cancellation,
        doing: &str,
    ) -> Result<DownloadSession, PluginError> {
        let mut wait = Duration::from_millis(100);
        let deadline = Instant::now() + Duration::from_secs(600);
        while !session.status.eq_ignore_ascii_case("normal") {
            if !session.status.eq_ignore_ascii_case("initiating") || Instant::now() > deadline {
                return Err(PluginError::io(format!(
                    "{doing}: the session {} is {}",
                    session.id, session.status
                )));
            }
            if cancellation.wait_cancelled(wait) {
                return Err(PluginError::new(
                    ErrorKind::CANCELLED,
                    format!("{doing}: the job is stopping"),
                ));
            }
            wait = (wait * 2).min(Duration::from_secs(5));
            let mut params = vec![("downloadid", session.id.as_str())];
            if let Some(spec) = partition {
                params.push(("partition", spec));
            }
            let target = Target {
                tunnel: true,
                segments: &self.table_path(table),
                params: &params,
            };
            let body = self.call_text(Method::GET, &target, cancellation, doing)?;
            session = parse_session(&body)
                .map_err(|error| PluginError::io(format!("{doing}: {error}")))?;
        }
        Ok(session)
    }

    /// `GET …?data&downloadid=&rowrange=(start,count)[&columns=][&partition=]` (§4).
    /// `ahead`: sent now, on a pool thread, so that a task keeps the next rows' round trip in
    /// flight while it decodes the current ones; else sent by [`PendingData::open`], on the
    /// task's thread, which waits for the answer and opens the body either way. No retry:
    /// the reader resumes.
    pub fn request_data(
        &self,
        table: &str,
        request: &DataRequest<'_>,
        ahead: bool,
    ) -> Result<PendingData, HttpError> {
        let row_range = format!("({},{})", request.start, request.count);
        let mut params = vec![
            ("data", ""),
            ("downloadid", request.session_id),
            ("rowrange", row_range.as_str()),
        ];
        if !request.columns.is_empty() {
            params.push(("columns", request.columns));
        }
        if let Some(spec) = request.partition {
            params.push(("partition", spec));
        }
        let target = Target {
            tunnel: true,
            segments: &self.table_path(table),
            params: &params,
        };
        let mut http_request = self.request(Method::GET, &target);
        if request.compress {
            http_request = http_request.header("Accept-Encoding", "zstd, deflate");
        }
        Ok(if ahead {
            PendingData::InFlight(http::send_in_background(http_request)?)
        } else {
            PendingData::Unsent(Box::new(http_request))
        })
    }
}

/// A data request ([`OdpsClient::request_data`]).
pub enum PendingData {
    /// Sent ahead, its answer not waited for yet.
    InFlight(http::PendingAnswer),
    /// To be sent when opened.
    Unsent(Box<RequestBuilder>),
}

impl PendingData {
    /// The rows' body, decompressed; neither the answer nor the body is waited for once
    /// `cancellation` says the job stops.
    pub fn open<'a>(
        self,
        cancellation: &'a dyn Cancellation,
    ) -> Result<Box<dyn Read + 'a>, HttpError> {
        let response = match self {
            PendingData::InFlight(answer) => answer.wait(cancellation)?,
            PendingData::Unsent(request) => http::send_cancellable(*request, cancellation)?,
        };
        if !response.status().is_success() {
            return Err(service_error(response, cancellation));
        }
        let encoding = response
            .headers()
            .get("content-encoding")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let response = http::cancellable_body(response, cancellation)?;
        Ok(match encoding.as_str() {
            "" | "identity" => Box::new(response),
            "deflate" => Box::new(flate2::read::ZlibDecoder::new(response)),
            "zstd" => Box::new(
                zstd::stream::read::Decoder::new(response)
                    .map_err(|error| broken_body(format!("zstd: {error}")))?,
            ),
            "x-lz4-frame" => Box::new(lz4_flex::frame::FrameDecoder::new(response)),
            other => {
                return Err(broken_body(format!(
                    "the body comes with an unsupported Content-Encoding \"{other}\""
                )))
            }
        })
    }
}

pub struct DataRequest<'a> {
    pub session_id: &'a str,
    pub partition: Option<&'a str>,
    pub start: u64,
    pub count: u64,
    /// Comma-separated column names; empty for all.
    pub columns: &'a str,
    pub compress: bool,
}

/// `project.table` or `project.table partition pt=1`, for messages.
pub fn describe_table(project: &str, table: &str, partition: Option<&str>) -> String {
    match partition {
        Some(spec) => format!("table {project}.{table} partition {spec}"),
        None => format!("table {project}.{table}"),
    }
}

/// What the reader takes from a download session's answer. The answer also carries the
/// table's schema, known already: it is skipped, not built (as a `Value` it was an eighth of
/// a small partition's instructions). A field of another JSON type reads as missing.
#[derive(serde::Deserialize)]
struct SessionAnswer {
    #[serde(rename = "DownloadID", default)]
    id: Value,
    #[serde(rename = "RecordCount", default)]
    record_count: Value,
    #[serde(rename = "Status", default)]
    status: Value,
}

fn parse_session(body: &str) -> Result<DownloadSession, String> {
    let answer: SessionAnswer = serde_json::from_str(body)
        .map_err(|error| format!("the session answer is not JSON: {error}"))?;
    let id = answer
        .id
        .as_str()
        .ok_or("the session answer has no DownloadID")?;
    let record_count = match &answer.record_count {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
    .ok_or("the session answer has no RecordCount")?;
    Ok(DownloadSession {
        id: id.to_string(),
        record_count,
        status: answer.status.as_str().unwrap_or("normal").to_string(),
    })
}

/// A `<Partition>`'s `<Column Name=".." Value=".."/>` pairs, in key order.
fn partition_spec(partition: &xml::Element) -> Vec<(String, String)> {
    partition
        .children("Column")
        .filter_map(|column| Some((column.attribute("Name")?, column.attribute("Value")?)))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A body that cannot be read as it came: a transport failure, so the read resumes.
fn broken_body(message: String) -> HttpError {
    HttpError::Transport {
        kind: TransportKind::Closed,
        message,
    }
}

/// A tunnel JSON error `{Code, Message}` or a REST XML `<Error>` (odps-tunnel.md §7); a body
/// that is neither (a proxy's page) gets the code `HTTP{status}` and its first 200 characters.
fn service_error(response: Response, cancellation: &dyn Cancellation) -> HttpError {
    let status = response.status().as_u16();
    let header_request_id = response
        .headers()
        .get("x-odps-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = http::text_cancellable(response, cancellation).unwrap_or_default();
    let (code, message, body_request_id) = match serde_json::from_str::<Value>(&body) {
        Ok(json) => (
            json["Code"].as_str().map(str::to_string),
            json["Message"].as_str().map(str::to_string),
            json["RequestId"].as_str().map(str::to_string),
        ),
        Err(_) => match xml::parse(&body) {
            Ok(error) => {
                let text = |name: &str| error.child_text(name).map(str::to_string);
                (text("Code"), text("Message"), text("RequestId"))
            }
            Err(_) => (None, None, None),
        },
    };
    let fallback: String = body.trim().chars().take(200).collect();
    HttpError::Service(ServiceError {
        status,
        code: code.unwrap_or_else(|| format!("HTTP{status}")),
        message: message.unwrap_or(fallback),
        request_id: header_request_id.or(body_request_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// odps-tunnel.md §3: the answer's schema is skipped; RecordCount comes as a number or
    /// as text; Status defaults to normal; a field of the wrong type is missing.
    #[test]
    fn session_answers_give_their_id_count_and_status() {
        let answer = r#"{"DownloadID":"2024abc","Status":"normal","RecordCount":12,
            "Schema":{"IsVirtualView":false,"columns":[{"name":"a","type":"string",
            "comment":"","nullable":true}],"partitionKeys":[{"name":"pt","type":"string"}]}}"#;
        let session = parse_session(answer).unwrap();
        assert_eq!(
            (
                session.id.as_str(),
                session.record_count,
                session.status.as_str()
            ),
            ("2024abc", 12, "normal")
        );
        let session = parse_session(r#"{"RecordCount":"7","DownloadID":"x"}"#).unwrap();
        assert_eq!(
            (session.record_count, session.status.as_str()),
            (7, "normal")
        );
        let initiating =
            parse_session(r#"{"DownloadID":"x","RecordCount":0,"Status":"initiating"}"#);
        assert_eq!(initiating.unwrap().status, "initiating");
        assert_eq!(
            parse_session(r#"{"DownloadID":5,"RecordCount":1}"#).unwrap_err(),
            "the session answer has no DownloadID"
        );
        assert_eq!(
            parse_session(r#"{"DownloadID":"x","RecordCount":-1}"#).unwrap_err(),
            "the session answer has no RecordCount"
        );
        assert!(parse_session("<Error/>")
            .unwrap_err()
            .starts_with("the session answer is not JSON: "));
    }

    #[test]
    fn endpoints_keep_their_path() {
        let rest = Endpoint::parse("http://127.0.0.1:80/api/", "odpsServer", false).unwrap();
        assert_eq!(rest.url(), "http://127.0.0.1:80/api");
        assert_eq!(rest.path, "/api");
        assert_eq!(
            Endpoint::parse("service.odps.aliyun.com/api", "odpsServer", false).unwrap_err(),
            "odpsServer: \"service.odps.aliyun.com/api\" is not a URL (expected http://host[:port][/path])"
        );
        let tunnel = Endpoint::parse("http://t:9/tun", "tunnelServer", true).unwrap();
        let (url, signed) =
            tunnel.request_url(&["projects", "p q"], &[("data", ""), ("a", "(0,1)")]);
        assert_eq!(url, "http://t:9/tun/projects/p%20q?data&a=%280%2C1%29");
        assert_eq!(signed, "/tun/projects/p q");
        assert_eq!(rest.request_url(&["projects"], &[]).1, "/projects");
    }

    fn service(status: u16) -> HttpError {
        HttpError::Service(ServiceError {
            status,
            code: "X".into(),
            message: String::new(),
            request_id: None,
        })
    }

    #[test]
    fn retry_classes_follow_the_sdks() {
        for status in [500, 503, 429, 308] {
            assert!(OdpsRetries.is_retriable(&service(status)), "{status}");
        }
        for status in [404, 401, 400] {
            assert!(!OdpsRetries.is_retriable(&service(status)), "{status}");
        }
        let transport = HttpError::Transport {
            kind: TransportKind::Closed,
            message: "reset".into(),
        };
        assert!(OdpsRetries.is_retriable(&transport));
        let unknown = HttpError::UnknownHost {
            host: "nowhere.invalid".into(),
            message: "cannot connect: unknown host nowhere.invalid".into(),
        };
        assert!(!OdpsRetries.is_retriable(&unknown));
        // Flow control goes on beyond maxRetryTime; the rest stops there.
        assert_eq!(
            OdpsRetries.max_retries(&service(429), 3),
            FLOW_CONTROL_RETRIES
        );
        assert_eq!(
            OdpsRetries.max_retries(&service(308), 3),
            FLOW_CONTROL_RETRIES
        );
        assert_eq!(OdpsRetries.max_retries(&service(503), 3), 3);
        assert_eq!(OdpsRetries.max_retries(&transport, 3), 3);
        let policy = retry_policy(7);
        let waits: Vec<u64> = (1..=8)
            .map(|retry| policy.delay(retry, policy.base).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 64]);
    }

    #[test]
    fn auth_errors_say_what_to_check() {
        let error = HttpError::Service(ServiceError {
            status: 401,
            code: "SignatureNotMatch".into(),
            message: "ODPS-0410042:Invalid signature value".into(),
            request_id: Some("r1".into()),
        });
        let error = plugin_error(&error, "reading the schema of table p.t");
        assert_eq!(error.kind, ErrorKind::AUTH);
        assert_eq!(
            error.message.as_str(),
            "reading the schema of table p.t: SignatureNotMatch (HTTP 401): ODPS-0410042:Invalid \
             signature value (request id r1); check accessId and accessKey"
        );
        let missing = HttpError::Service(ServiceError {
            status: 404,
            code: "NoSuchTable".into(),
            message: "not found".into(),
            request_id: None,
        });
        assert_eq!(plugin_error(&missing, "x").kind, ErrorKind::CONFIG);
        assert_eq!(plugin_error(&service(503), "x").kind, ErrorKind::IO);
        assert_eq!(plugin_error(&service(403), "x").kind, ErrorKind::AUTH);
    }
}
