//! HTTP to MaxCompute: signed REST metadata calls (odps-tunnel.md §11) and tunnel download
//! sessions and data (§3, §4), with the SDKs' retry policy (§7).

use std::io::Read;
use std::time::{Duration, SystemTime};

use datax_plugin_api::{log, ErrorKind, PluginError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::blocking::{Client, Response};
use reqwest::Method;
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

/// The waits of the SDKs' retry policy: 1, 2, 4 … 64 s (odps-tunnel.md §7).
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(6))
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

    fn scheme(&self) -> &str {
        self.base
            .split_once("://")
            .map_or("http", |(scheme, _)| scheme)
    }
}

/// An answer other than success: a service error or no answer at all.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// The request did not get an answer: connection refused or dropped, timeout.
    Transport(String),
    /// The endpoint's host name does not exist (DNS says so): no retry can help.
    UnknownHost(String),
}

impl CallError {
    /// 5xx, 308, 429 and network errors are worth another try (odps-tunnel.md §7).
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Service { status, .. } => *status >= 500 || *status == 308 || *status == 429,
            CallError::Transport(_) => true,
            CallError::UnknownHost(_) => false,
        }
    }

    /// Flow control (308 slot reassignment, 429 flow exceeded) is retried beyond the limit.
    pub fn is_flow_control(&self) -> bool {
        matches!(self, CallError::Service { status, .. } if *status == 308 || *status == 429)
    }

    /// A plugin error saying what was being done.
    pub fn into_plugin_error(self, doing: &str) -> PluginError {
        match self {
            CallError::Transport(reason) | CallError::UnknownHost(reason) => {
                PluginError::new(ErrorKind::CONNECT, format!("{doing}: {reason}"))
            }
            CallError::Service {
                status,
                code,
                message,
                request_id,
            } => {
                let kind = match code.as_str() {
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
                    _ if status == 401 || status == 403 => ErrorKind::AUTH,
                    _ => ErrorKind::IO,
                };
                let hint = match code.as_str() {
                    "InvalidAccessKeyId" | "SignatureNotMatch" | "Unauthorized" => {
                        " (check accessId and accessKey)"
                    }
                    "InvalidSecurityToken" => " (check securityToken)",
                    "RequestTimeTooSkewed" => " (check this machine's clock)",
                    _ => "",
                };
                let request_id = request_id
                    .map(|id| format!(", request id {id}"))
                    .unwrap_or_default();
                PluginError::new(
                    kind,
                    format!("{doing}: {code}: {message}{hint} (HTTP {status}{request_id})"),
                )
            }
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(reason) | CallError::UnknownHost(reason) => f.write_str(reason),
            CallError::Service {
                status,
                code,
                message,
                ..
            } => write!(f, "{code}: {message} (HTTP {status})"),
        }
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

impl OdpsClient {
    pub fn new(settings: ClientSettings) -> Result<OdpsClient, PluginError> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Per read in the blocking client: a body may take as long as it needs while it moves.
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("datax-rs-odps/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| PluginError::io(format!("cannot set up HTTP: {error}")))?;
        let mut client = OdpsClient {
            http,
            credentials: settings.credentials,
            tunnel: settings.rest.clone(),
            rest: settings.rest,
            project: settings.project,
            default_project: settings.default_project,
            max_retries: settings.max_retries,
        };
        client.tunnel = match settings.tunnel {
            Some(tunnel) => tunnel,
            None => client.discover_tunnel()?,
        };
        Ok(client)
    }

    pub fn tunnel_endpoint(&self) -> &Endpoint {
        &self.tunnel
    }

    fn table_path<'a>(&'a self, table: &'a str) -> Vec<&'a str> {
        vec!["projects", &self.project, "tables", table]
    }

    /// One signed request, no retry.
    fn call(
        &self,
        method: Method,
        tunnel: bool,
        segments: &[&str],
        params: &[(&str, &str)],
        accept_encoding: Option<&str>,
    ) -> Result<Response, CallError> {
        let endpoint = if tunnel { &self.tunnel } else { &self.rest };
        let mut params: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        params.push(("curr_project".into(), self.default_project.clone()));

        let mut url = endpoint.base.clone();
        let mut decoded_path = if endpoint.signs_path {
            endpoint.path.clone()
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

        let date = httpdate::fmt_http_date(SystemTime::now());
        let odps_headers: &[(&str, &str)] = if tunnel {
            &[("x-odps-tunnel-version", "6")]
        } else {
            &[]
        };
        let resource = auth::canonical_resource(&decoded_path, &params);
        let string_to_sign =
            auth::string_to_sign(method.as_str(), "", &date, odps_headers, &resource);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Date", &date)
            .header(
                "Authorization",
                auth::authorization(&self.credentials, &string_to_sign),
            );
        for (name, value) in odps_headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = &self.credentials.security_token {
            request = request.header("authorization-sts-token", token);
        }
        if let Some(encoding) = accept_encoding {
            request = request.header("Accept-Encoding", encoding);
        }
        if method == Method::POST {
            request = request.header("Content-Length", "0");
        }
        let response = request.send().map_err(|error| {
            let reason = transport_reason(&error);
            // getaddrinfo's "Name or service not known" is final; "Temporary failure in name
            // resolution" is not, and stays a retried transport error.
            if reason.contains("Name or service not known") {
                CallError::UnknownHost(reason)
            } else {
                CallError::Transport(reason)
            }
        })?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(service_error(response))
        }
    }

    /// [`OdpsClient::call`] with the SDKs' retries, reading the whole body as text.
    fn call_text(
        &self,
        method: Method,
        tunnel: bool,
        segments: &[&str],
        params: &[(&str, &str)],
    ) -> Result<String, CallError> {
        self.with_retries(|| {
            self.call(method.clone(), tunnel, segments, params, None)?
                .text()
                .map_err(|error| CallError::Transport(transport_reason(&error)))
        })
    }

    /// Runs `call` until it succeeds, fails for good, or the retries run out.
    pub fn with_retries<T>(
        &self,
        mut call: impl FnMut() -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        let mut attempt = 0;
        loop {
            match call() {
                Ok(value) => return Ok(value),
                Err(error)
                    if error.is_retryable()
                        && (attempt < self.max_retries
                            || error.is_flow_control() && attempt < FLOW_CONTROL_RETRIES) =>
                {
                    let wait = backoff(attempt);
                    log::warn(format!(
                        "{error}; retrying in {} s ({} of {})",
                        wait.as_secs(),
                        attempt + 1,
                        self.max_retries
                    ));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `GET {rest}/projects/{p}/tunnel?service`: a bare `host[:port]` (odps-tunnel.md §1).
    fn discover_tunnel(&self) -> Result<Endpoint, PluginError> {
        let doing = format!(
            "finding the tunnel endpoint of project {} (set tunnelServer to skip this)",
            self.project
        );
        let host = self
            .call_text(
                Method::GET,
                false,
                &["projects", &self.project, "tunnel"],
                &[("service", "")],
            )
            .map_err(|error| error.into_plugin_error(&doing))?;
        let url = format!("{}://{}", self.rest.scheme(), host.trim());
        log::info(format!("tunnel endpoint {url}"));
        Endpoint::parse(&url, "tunnel endpoint", true).map_err(PluginError::io)
    }

    /// The table's columns and partition keys (`GET /projects/{p}/tables/{t}`, §11).
    pub fn table_schema(&self, table: &str) -> Result<TableSchema, PluginError> {
        let doing = format!("reading the schema of table {}.{table}", self.project);
        let document = self
            .call_text(Method::GET, false, &self.table_path(table), &[])
            .map_err(|error| error.into_plugin_error(&doing))?;
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
    pub fn partitions(&self, table: &str) -> Result<Vec<Vec<(String, String)>>, PluginError> {
        let doing = format!("listing the partitions of table {}.{table}", self.project);
        let mut partitions = Vec::new();
        let mut marker = String::new();
        loop {
            let mut params = vec![("partitions", ""), ("expectmarker", "true")];
            if !marker.is_empty() {
                params.push(("marker", &marker));
            }
            let document = self
                .call_text(Method::GET, false, &self.table_path(table), &params)
                .map_err(|error| error.into_plugin_error(&doing))?;
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
    ) -> Result<DownloadSession, PluginError> {
        let doing = format!(
            "creating a download session for {}",
            describe_table(&self.project, table, partition)
        );
        let mut params = vec![("downloads", "")];
        if let Some(spec) = partition {
            params.push(("partition", spec));
        }
        let body = self
            .call_text(Method::POST, true, &self.table_path(table), &params)
            .map_err(|error| error.into_plugin_error(&doing))?;
        let session =
            parse_session(&body).map_err(|error| PluginError::io(format!("{doing}: {error}")))?;
        if session.status.eq_ignore_ascii_case("normal") {
            return Ok(session);
        }
        self.wait_for_session(table, partition, session, &doing)
    }

    /// Polls `GET …?downloadid=` until the session is `normal` (§3.2).
    fn wait_for_session(
        &self,
        table: &str,
        partition: Option<&str>,
        mut session: DownloadSession,
        doing: &str,
    ) -> Result<DownloadSession, PluginError> {
        let mut wait = Duration::from_millis(100);
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        while !session.status.eq_ignore_ascii_case("normal") {
            if !session.status.eq_ignore_ascii_case("initiating")
                || std::time::Instant::now() > deadline
            {
                return Err(PluginError::io(format!(
                    "{doing}: the session {} is {}",
                    session.id, session.status
                )));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(5));
            let mut params = vec![("downloadid", session.id.as_str())];
            if let Some(spec) = partition {
                params.push(("partition", spec));
            }
            let body = self
                .call_text(Method::GET, true, &self.table_path(table), &params)
                .map_err(|error| error.into_plugin_error(doing))?;
            session = parse_session(&body)
                .map_err(|error| PluginError::io(format!("{doing}: {error}")))?;
        }
        Ok(session)
    }

    /// `GET …?data&downloadid=&rowrange=(start,count)[&columns=][&partition=]` (§4): the
    /// response body, decompressed per its `Content-Encoding`. No retry: the reader resumes.
    pub fn open_data(
        &self,
        table: &str,
        request: &DataRequest<'_>,
    ) -> Result<Box<dyn Read>, CallError> {
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
        let accept = request.compress.then_some("zstd, deflate");
        let response = self.call(Method::GET, true, &self.table_path(table), &params, accept)?;
        let encoding = response
            .headers()
            .get("content-encoding")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Ok(match encoding.as_str() {
            "" | "identity" => Box::new(response),
            "deflate" => Box::new(flate2::read::ZlibDecoder::new(response)),
            "zstd" => Box::new(
                zstd::stream::read::Decoder::new(response)
                    .map_err(|error| CallError::Transport(format!("zstd: {error}")))?,
            ),
            "x-lz4-frame" => Box::new(lz4_flex::frame::FrameDecoder::new(response)),
            other => {
                return Err(CallError::Transport(format!(
                    "the body comes with an unsupported Content-Encoding \"{other}\""
                )))
            }
        })
    }
}

/// Flow-control answers (308, 429) are retried "without limit" by the SDKs; this bounds it
/// at about an hour of 64 s waits so a job cannot hang forever.
pub const FLOW_CONTROL_RETRIES: u32 = 60;

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

fn parse_session(body: &str) -> Result<DownloadSession, String> {
    let json: Value = serde_json::from_str(body)
        .map_err(|error| format!("the session answer is not JSON: {error}"))?;
    let id = json["DownloadID"]
        .as_str()
        .ok_or("the session answer has no DownloadID")?;
    let record_count = match &json["RecordCount"] {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
    .ok_or("the session answer has no RecordCount")?;
    Ok(DownloadSession {
        id: id.to_string(),
        record_count,
        status: json["Status"].as_str().unwrap_or("normal").to_string(),
    })
}

/// The error with its causes: reqwest's top line ("error sending request for url …") hides
/// why. URLs carry no secret: the signature travels in a header.
fn transport_reason(error: &reqwest::Error) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

/// A `<Partition>`'s `<Column Name=".." Value=".."/>` pairs, in key order.
fn partition_spec(partition: &xml::Element) -> Vec<(String, String)> {
    partition
        .children("Column")
        .filter_map(|column| Some((column.attribute("Name")?, column.attribute("Value")?)))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A tunnel JSON error `{Code, Message}` or a REST XML `<Error>` (odps-tunnel.md §7).
fn service_error(response: Response) -> CallError {
    let status = response.status().as_u16();
    let header_request_id = response
        .headers()
        .get("x-odps-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = response.text().unwrap_or_default();
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
    CallError::Service {
        status,
        code: code.unwrap_or_else(|| format!("HTTP{status}")),
        message: message.unwrap_or(fallback),
        request_id: header_request_id.or(body_request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_their_path() {
        let rest = Endpoint::parse("http://127.0.0.1:80/api/", "odpsServer", false).unwrap();
        assert_eq!(rest.url(), "http://127.0.0.1:80/api");
        assert_eq!(rest.path, "/api");
        assert_eq!(
            Endpoint::parse("service.odps.aliyun.com/api", "odpsServer", false).unwrap_err(),
            "odpsServer: \"service.odps.aliyun.com/api\" is not a URL (expected http://host[:port][/path])"
        );
    }

    #[test]
    fn retry_classes_follow_the_sdks() {
        let service = |status| CallError::Service {
            status,
            code: "X".into(),
            message: String::new(),
            request_id: None,
        };
        assert!(service(500).is_retryable());
        assert!(service(503).is_retryable());
        assert!(service(429).is_retryable());
        assert!(!service(404).is_retryable());
        assert!(!service(401).is_retryable());
        assert!(CallError::Transport("reset".into()).is_retryable());
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(64));
    }

    #[test]
    fn auth_errors_say_what_to_check() {
        let error = CallError::Service {
            status: 401,
            code: "SignatureNotMatch".into(),
            message: "ODPS-0410042:Invalid signature value".into(),
            request_id: Some("r1".into()),
        }
        .into_plugin_error("reading the schema of table p.t");
        assert_eq!(error.kind, ErrorKind::AUTH);
        assert_eq!(
            error.message.as_str(),
            "reading the schema of table p.t: SignatureNotMatch: ODPS-0410042:Invalid signature \
             value (check accessId and accessKey) (HTTP 401, request id r1)"
        );
    }
}
