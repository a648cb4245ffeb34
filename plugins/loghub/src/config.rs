//! The loghubwriter `parameter` (datax-engine.md §8.1): [`Parameter`] declares every key once,
//! its doc comments are the docs, and [`datax_plugin_kit::config`] reads it leniently as DataX
//! does (numbers and booleans may be strings, `null` and blanks count as absent, unknown keys
//! are warnings with a did-you-mean). What the types cannot say is checked by the small
//! functions below, which build the [`WriterConfig`] a task runs with. Every error names its
//! key; none prints a secret.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs, UdpSocket};
use std::sync::OnceLock;
use std::time::Duration;

use datax_plugin_api::PluginError;
use datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS;
use datax_plugin_kit::config::{self, lenient, ConfigError};
use datax_plugin_kit::date::{parse_time_zone, DatePattern as TimeFormat, Zone};
use datax_plugin_kit::text::{ColumnSettings, TextStyle};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::auth::Credentials;
use crate::codec::Compression;
use crate::connection::{
    in_range, max_retries, required, seconds, security_token, DEFAULT_CONNECT_SECONDS,
    DEFAULT_REQUEST_SECONDS,
};

/// DataX's default `batchSize`.
pub const DEFAULT_BATCH_SIZE: usize = 1024;
/// The most logs per PutLogs: DataWorks' documented maximum, the historic server limit
/// (sls-putlogs.md §9).
pub const MAX_BATCH_SIZE: usize = 4096;
/// PutLogs requests a task keeps in flight by default: enough that a round trip of a few
/// milliseconds does not leave the task waiting; `maxInFlight` is at most [`MAX_IN_FLIGHT`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
/// Each request in flight holds a batch of up to 4 MiB: this bounds a task's memory.
pub const MAX_IN_FLIGHT: usize = 16;
/// loghubwriter's `parameter`. DataWorks' spellings of a key (`accessKeyId`, `timeformat`) are
/// fields of their own rather than serde aliases: DataX counts a blank value as unset, so a
/// job may hold both spellings (a blank `accessId` in the job, `accessKeyId` from its data
/// source), and the first one set wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The DataWorks data source the connection keys come from (`--datasources`); the host
    /// fills them in before the plugin reads them.
    #[serde(default, deserialize_with = "lenient::string")]
    pub datasource: Option<String>,
    /// Required. `cn-hangzhou.log.aliyuncs.com`, with or without `http://` / `https://`. Names
    /// get `https://{project}.{endpoint}`; IP and `localhost` endpoints (a local service, the
    /// sandbox) `http://`, connected to directly with `Host: {project}.{endpoint}`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub endpoint: Option<String>,
    /// Required (or `accessKeyId`): the access key id.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_id: Option<String>,
    /// DataWorks' spelling of `accessId`, read when `accessId` is unset.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key_id: Option<String>,
    /// Required (or `accessKeySecret`): the access key secret. Masked (`*****`) is a
    /// configuration error: fill it with `--datasources`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key: Option<String>,
    /// DataWorks' spelling of `accessKey`, read when `accessKey` is unset.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key_secret: Option<String>,
    /// STS credentials only: the token, sent as `x-acs-security-token` (default none).
    #[serde(default, deserialize_with = "lenient::string")]
    pub security_token: Option<String>,
    /// Required: the project, part of the host name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub project: Option<String>,
    /// Required: the logstore written to.
    #[serde(default, deserialize_with = "lenient::string")]
    pub logstore: Option<String>,
    /// The LogGroup's topic (default `""`, left out of the LogGroup).
    #[serde(default, deserialize_with = "lenient::string")]
    pub topic: Option<String>,
    /// The LogGroup's source (default: this machine's primary IPv4 address, as the Log
    /// Service SDKs fill it; `127.0.0.1` when the machine has none).
    #[serde(default, deserialize_with = "lenient::string")]
    pub source: Option<String>,
    /// Logs per request, 1 or more (default 1024); more than 4096 sends 4096, with a warning.
    /// A request also stays under 4 MiB of protobuf; a single log larger than that goes alone.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub batch_size: Option<u64>,
    /// Required: the log field names in record order (strings, or objects with a `name`),
    /// each given once.
    #[serde(default)]
    pub column: Option<Vec<LogField>>,
    /// A name from `column` whose value is the log time (the column also stays a field).
    /// Unset, a name not in `column` (the seed's `time_str`), or set without `timeFormat`
    /// (the last two with a warning): the time the log is sent, as DataX.
    #[serde(default, deserialize_with = "lenient::string")]
    pub time: Option<String>,
    /// How `time` is read: `bigint` (epoch seconds), Java `yyyy-MM-dd HH:mm:ss`, strftime
    /// `%Y-%m-%d %H:%M:%S` or MySQL `%Y-%m-%d %H:%i:%S` (`%i` minutes).
    #[serde(default, deserialize_with = "lenient::string")]
    pub time_format: Option<String>,
    /// DataX's spelling of `timeFormat`, read when `timeFormat` is unset.
    #[serde(default, rename = "timeformat", deserialize_with = "lenient::string")]
    pub timeformat: Option<String>,
    /// The zone of times without an offset (default `GMT+8`, DataX's): a zone name
    /// (`Asia/Shanghai`, summer time included) or a fixed offset (`GMT+8`, `UTC-3`, `+08:00`,
    /// `Z`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub time_zone: Option<String>,
    /// Route each log to the shard holding the MD5 of its last `…_id` column (default false).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub hash_key: Option<bool>,
    /// `lz4` (default), `none`, `deflate` or `zstd` (sls-putlogs.md §6).
    #[serde(default, deserialize_with = "lenient::string")]
    pub compress: Option<String>,
    /// PutLogs requests each task keeps in flight, 1 to 16 (default 4): one sending thread
    /// each.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_in_flight: Option<u64>,
    /// Retries of one request after its first attempt, 0 to 4294967295 (default 7: about half
    /// a minute of backoff).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_retries: Option<u64>,
    /// Seconds to connect, 1 to 86400 (default 10).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub connect_timeout: Option<u64>,
    /// Seconds for a whole request, 1 to 86400 (default 60): connecting, sending, the answer.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub request_timeout: Option<u64>,
}

/// One `column` entry: a name, or an object with a `name` (as other writers' lists); `None`
/// when blank or missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LogField(pub Option<String>);

impl<'de> Deserialize<'de> for LogField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let name = match &value {
            Value::Object(object) => object.get("name").unwrap_or(&Value::Null),
            other => other,
        };
        if lenient::is_absent(name) {
            return Ok(LogField(None));
        }
        let name = lenient::as_string(name).map_err(serde::de::Error::custom)?;
        Ok(LogField(Some(name)))
    }
}

#[derive(Clone)]
pub struct WriterConfig {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub project: String,
    pub logstore: String,
    pub topic: String,
    pub source: String,
    pub batch_size: usize,
    /// Log content keys, in record column order.
    pub columns: Vec<String>,
    pub time: TimeSource,
    /// `hashKey: true`: route each log to a shard by a hash (datax-engine.md §8.4).
    pub hash_key: bool,
    /// The column whose value routes a log: the last one named `…_id`, as DataX.
    pub route_column: Option<usize>,
    pub compression: Compression,
    /// PutLogs requests each task keeps in flight (`maxInFlight`), one sending thread each.
    pub max_in_flight: usize,
    pub max_retries: u32,
    pub connect_timeout: Duration,
    /// The whole request: connecting, sending the body, reading the answer.
    pub request_timeout: Duration,
    /// The job's `common.column`: how values become log text.
    pub text_style: TextStyle,
}

/// Where each log's time comes from (datax-engine.md §8.2).
#[derive(Debug, Clone)]
pub enum TimeSource {
    /// No `time`, or one naming no column: the time the log is sent, as DataX.
    Now,
    /// The value of column `index` (named `name`) read with `format`; the column also stays
    /// a field of the log, as in DataX. Texts without an offset, and date columns, are read
    /// in `zone` (`timeZone`).
    Column {
        index: usize,
        name: String,
        format: TimeFormat,
        zone: Zone,
    },
}

/// Where requests go. The project is part of the host name (sls-putlogs.md §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `scheme://host[:port]` connected to.
    pub base_url: String,
    /// `Host` to send when it differs from the URL's: `{project}.{ip}` for an IP endpoint,
    /// which has no `{project}.{ip}` name to resolve.
    pub host_header: Option<String>,
}

impl WriterConfig {
    /// Reads the JSON `parameter`; `warn` logs what the job should know once (the unknown
    /// keys, a clamped batchSize: at job init, not in every task).
    pub fn parse(parameter: &Value, warn: bool) -> Result<Self, PluginError> {
        let parsed = config::from_value::<Parameter>(parameter.clone(), "parameter")?;
        let common_column = parsed.common_column.clone();
        let parameter = if warn {
            parsed.log_warnings()
        } else {
            parsed.value
        };
        Ok(WriterConfig::new(&parameter, &common_column, warn)?)
    }

    /// Checks `parameter` and applies the defaults, values written as `common_column` says;
    /// `warn` as in [`WriterConfig::parse`].
    pub fn new(
        parameter: &Parameter,
        common_column: &ColumnSettings,
        warn: bool,
    ) -> Result<Self, ConfigError> {
        let p = parameter;
        let credentials = Credentials {
            access_id: required(&[
                ("accessId", &p.access_id),
                ("accessKeyId", &p.access_key_id),
            ])?,
            access_key: required(&[
                ("accessKey", &p.access_key),
                ("accessKeySecret", &p.access_key_secret),
            ])?,
            security_token: security_token(&p.security_token)?,
        };
        let endpoint_text = required(&[("endpoint", &p.endpoint)])?;
        let project = required(&[("project", &p.project)])?;
        let logstore = required(&[("logstore", &p.logstore)])?;
        let endpoint = resolve_endpoint(&endpoint_text, &project)
            .map_err(|message| ConfigError::new("endpoint", message))?;
        let columns = columns(&p.column)?;
        let hash_key = p.hash_key.unwrap_or(false);
        let route_column = columns.iter().rposition(|name| name.ends_with("_id"));
        if hash_key && route_column.is_none() && warn {
            datax_plugin_api::log::warn(
                "hashKey: no column name ends with _id, so every log goes to the same shard",
            );
        }
        let time = time_source(p, &columns, warn)?;
        Ok(WriterConfig {
            endpoint,
            credentials,
            project,
            logstore,
            topic: p.topic.clone().unwrap_or_default(),
            source: p.source.clone().unwrap_or_else(primary_ipv4),
            batch_size: batch_size(p.batch_size, warn)?,
            columns,
            time,
            hash_key,
            route_column,
            compression: compression(&p.compress)?,
            max_in_flight: in_range(
                "maxInFlight",
                p.max_in_flight,
                DEFAULT_MAX_IN_FLIGHT as u64,
                1..=MAX_IN_FLIGHT as u64,
            )? as usize,
            max_retries: max_retries(p.max_retries)?,
            connect_timeout: seconds("connectTimeout", p.connect_timeout, DEFAULT_CONNECT_SECONDS)?,
            request_timeout: seconds("requestTimeout", p.request_timeout, DEFAULT_REQUEST_SECONDS)?,
            text_style: TextStyle::new(common_column)?,
        })
    }
}

/// `batchSize`: at least 1; more than Log Service takes sends [`MAX_BATCH_SIZE`].
fn batch_size(size: Option<u64>, warn: bool) -> Result<usize, ConfigError> {
    match size {
        None => Ok(DEFAULT_BATCH_SIZE),
        Some(0) => Err(ConfigError::new("batchSize", "must be at least 1")),
        Some(size) if size > MAX_BATCH_SIZE as u64 => {
            if warn {
                datax_plugin_api::log::warn(format!(
                    "batchSize: {size} is more than Log Service takes in one request; \
                     sending {MAX_BATCH_SIZE} logs per request"
                ));
            }
            Ok(MAX_BATCH_SIZE)
        }
        Some(size) => Ok(size as usize),
    }
}

fn compression(name: &Option<String>) -> Result<Compression, ConfigError> {
    let Some(name) = name else {
        return Ok(Compression::Lz4);
    };
    Compression::from_name(name).ok_or_else(|| {
        ConfigError::new(
            "compress",
            format!(
                "\"{name}\" is not a compression: use {}",
                Compression::NAMES
            ),
        )
    })
}

/// The log field names, each given once.
fn columns(column: &Option<Vec<LogField>>) -> Result<Vec<String>, ConfigError> {
    let list = match column {
        None => {
            return Err(ConfigError::new(
                "column",
                "required, the list of log field names",
            ))
        }
        Some(list) if list.is_empty() => {
            return Err(ConfigError::new("column", "the list is empty"))
        }
        Some(list) => list,
    };
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (index, LogField(name)) in list.iter().enumerate() {
        let path = format!("column[{index}]");
        let name = name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ConfigError::new(&path, "a log field name cannot be empty"))?;
        if names.iter().any(|known| known == name) {
            return Err(ConfigError::new(
                &path,
                format!("\"{name}\" is listed twice"),
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// `time`, `timeFormat` (or `timeformat`) and `timeZone`.
fn time_source(p: &Parameter, columns: &[String], warn: bool) -> Result<TimeSource, ConfigError> {
    // Checked even when unused: a zone that is wrong today is wrong once `time` is set.
    let zone = match &p.time_zone {
        // DataX's default zone, as `common.column.timeZone`.
        None => Zone::Fixed(DATAX_DEFAULT_OFFSET_SECONDS),
        Some(zone) => {
            parse_time_zone(zone).map_err(|message| ConfigError::new("timeZone", message))?
        }
    };
    let Some(name) = p.time.as_deref().map(str::trim) else {
        return Ok(TimeSource::Now);
    };
    let Some(index) = columns.iter().position(|column| column == name) else {
        // DataX uses the current time then; the seed job relies on it (datax-engine.md §8.2).
        if warn {
            datax_plugin_api::log::warn(format!(
                "time: \"{name}\" is not one of `column`; every log gets the time it is sent"
            ));
        }
        return Ok(TimeSource::Now);
    };
    let Some((key, format)) = [
        ("timeFormat", &p.time_format),
        ("timeformat", &p.timeformat),
    ]
    .into_iter()
    .find_map(|(key, format)| Some((key, format.as_deref()?))) else {
        // DataX parses with `new SimpleDateFormat("")`, which fails, and logs the current time.
        if warn {
            datax_plugin_api::log::warn(format!(
                "time = \"{name}\" without timeFormat: every log gets the time it is sent, as \
                 DataX; set timeFormat (bigint, or a pattern such as yyyy-MM-dd HH:mm:ss) to \
                 use the column"
            ));
        }
        return Ok(TimeSource::Now);
    };
    let format = TimeFormat::compile(format).map_err(|message| ConfigError::new(key, message))?;
    Ok(TimeSource::Column {
        index,
        name: name.to_string(),
        format,
        zone,
    })
}

/// This machine's primary IPv4 address, the default LogGroup `source`, found as the Log
/// Service Python SDK does (`Util.get_host_ip`): connecting a UDP socket only picks the route
/// and the local address, it sends nothing. Without a route (a sandbox), the host name's
/// IPv4 address, else `127.0.0.1` (the SDK's fallback). Looked up once: every task's
/// configuration asks, and a job may have thousands of tasks.
pub fn primary_ipv4() -> String {
    static PRIMARY: OnceLock<String> = OnceLock::new();
    PRIMARY.get_or_init(look_up_primary_ipv4).clone()
}

fn look_up_primary_ipv4() -> String {
    let routed = || {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
        // A documentation address (RFC 5737): any routed address picks the default route.
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 80)).ok()?;
        match socket.local_addr().ok()?.ip() {
            IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        }
    };
    let by_host_name = || {
        let name = dns_lookup::get_hostname().ok()?;
        (name.as_str(), 0)
            .to_socket_addrs()
            .ok()?
            .find_map(|address| match address.ip() {
                IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
                _ => None,
            })
    };
    routed()
        .or_else(by_host_name)
        .unwrap_or(Ipv4Addr::LOCALHOST)
        .to_string()
}

/// `endpoint` with or without a scheme. Names get `https://` by default; IP and `localhost`
/// endpoints (a local service, the sandbox) get `http://`, are connected to directly and are
/// sent `Host: {project}.{endpoint}` (sls-putlogs.md §2.2).
pub fn resolve_endpoint(endpoint: &str, project: &str) -> Result<Endpoint, String> {
    let endpoint = endpoint.trim();
    let lower = endpoint.to_ascii_lowercase();
    let (scheme, authority) = if lower.starts_with("http://") {
        (Some("http"), &endpoint["http://".len()..])
    } else if lower.starts_with("https://") {
        (Some("https"), &endpoint["https://".len()..])
    } else {
        (None, endpoint)
    };
    let authority = authority.trim_end_matches('/');
    let not_a_host = || {
        format!(
            "\"{endpoint}\" is not a host name with an optional port, such as \
             cn-hangzhou.log.aliyuncs.com"
        )
    };
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match authority.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                host
            }
            Some(_) => return Err(not_a_host()),
            None => authority,
        },
    };
    let host_chars = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_';
    if host.is_empty() || !(host.bytes().all(host_chars) || host.parse::<Ipv6Addr>().is_ok()) {
        return Err(not_a_host());
    }
    // No top-level domain is all digits: `1.5` (a number in the job file) or `10.0.0` is a
    // mistyped address that would only fail after every retry of the first request.
    let last_label = host.rsplit('.').next().unwrap_or(host);
    let numeric_name = !last_label.is_empty() && last_label.bytes().all(|b| b.is_ascii_digit());
    if numeric_name && host.parse::<Ipv4Addr>().is_err() {
        return Err(not_a_host());
    }
    let is_local = host.parse::<Ipv4Addr>().is_ok()
        || host.parse::<Ipv6Addr>().is_ok()
        || host.eq_ignore_ascii_case("localhost");
    if is_local {
        Ok(Endpoint {
            base_url: format!("{}://{authority}", scheme.unwrap_or("http")),
            host_header: Some(format!("{project}.{authority}")),
        })
    } else {
        Ok(Endpoint {
            base_url: format!("{}://{project}.{authority}", scheme.unwrap_or("https")),
            host_header: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "endpoint": "127.0.0.1:8080", "accessId": "id", "accessKey": "s3cr3t-key",
            "project": "p", "logstore": "ls", "column": ["a", "b", "t"],
        })
    }

    fn with(changes: Value) -> Value {
        let mut parameter = base();
        for (key, value) in changes.as_object().unwrap() {
            parameter[key] = value.clone();
        }
        parameter
    }

    fn error(parameter: Value) -> String {
        match WriterConfig::parse(&parameter, false) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.message.to_string(),
        }
    }

    #[test]
    fn defaults_follow_datax() {
        let config = WriterConfig::parse(&base(), false).unwrap();
        assert_eq!(config.compression, Compression::Lz4);
        assert_eq!(config.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
        assert_eq!(config.max_retries, crate::connection::DEFAULT_MAX_RETRIES);
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.request_timeout, Duration::from_secs(60));
        assert_eq!(config.batch_size, 1024);
        assert_eq!(config.topic, "");
        assert_eq!(config.columns, ["a", "b", "t"]);
        assert!(matches!(config.time, TimeSource::Now));
        let config = WriterConfig::parse(&with(json!({"batchSize": "99999"})), false).unwrap();
        assert_eq!(config.batch_size, MAX_BATCH_SIZE);
    }

    #[test]
    fn masked_or_missing_keys_name_the_key_and_never_the_secret() {
        let message = error(with(json!({"accessKey": "*****"})));
        assert!(message.starts_with("accessKey: is masked"), "{message}");
        assert!(message.contains("--datasources"), "{message}");
        let message = error(with(json!({"endpoint": ""})));
        assert!(message.starts_with("endpoint: required"), "{message}");
        let message = error(with(json!({"logstore": null})));
        assert!(message.starts_with("logstore: required"), "{message}");
        let message = error(with(json!({"batchSize": 0})));
        assert!(!message.contains("s3cr3t-key"));
        let message = error(with(json!({"securityToken": "*****"})));
        assert!(message.starts_with("securityToken: is masked"), "{message}");
    }

    #[test]
    fn sending_keys_are_read_and_checked() {
        let parameter = with(json!({
            "compress": "Deflate", "maxInFlight": "8", "maxRetries": 0,
            "connectTimeout": 2, "requestTimeout": "5",
        }));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert_eq!(config.compression, Compression::Deflate);
        assert_eq!(config.max_in_flight, 8);
        assert_eq!(config.max_retries, 0);
        assert_eq!(config.connect_timeout, Duration::from_secs(2));
        assert_eq!(config.request_timeout, Duration::from_secs(5));
        let message = error(with(json!({"compress": "gzip"})));
        assert_eq!(
            message,
            "compress: \"gzip\" is not a compression: use lz4, none, deflate or zstd"
        );
        let message = error(with(json!({"maxInFlight": 0})));
        assert_eq!(message, "maxInFlight: 0 is outside 1..=16");
        assert!(error(with(json!({"maxInFlight": 17}))).starts_with("maxInFlight: "));
        assert!(error(with(json!({"requestTimeout": 0}))).starts_with("requestTimeout: "));
        assert!(error(with(json!({"maxRetries": -1}))).starts_with("maxRetries: "));
    }

    #[test]
    fn every_key_read_is_a_known_key() {
        let parameter = with(json!({
            "datasource": "sls", "securityToken": "t", "topic": "", "source": "",
            "batchSize": 1, "time": "t", "timeFormat": "bigint", "timeformat": "bigint",
            "timeZone": "UTC", "hashKey": false, "compress": "none", "maxInFlight": 1,
            "maxRetries": 1, "connectTimeout": 1, "requestTimeout": 1,
            "accessKeyId": "id", "accessKeySecret": "key",
        }));
        assert!(WriterConfig::parse(&parameter, false).is_ok());
        assert_eq!(warnings(parameter), Vec::<String>::new());
        assert_eq!(
            warnings(with(json!({"Compress": "none"}))),
            ["parameter.Compress: unknown key, ignored; did you mean \"compress\"?"]
        );
    }

    fn warnings(parameter: Value) -> Vec<String> {
        config::from_value::<Parameter>(parameter, "parameter")
            .unwrap()
            .warnings
    }

    #[test]
    fn a_wrong_type_names_its_key_and_never_shows_a_secret() {
        assert_eq!(
            error(with(json!({"batchSize": [1]}))),
            "batchSize: expected a non-negative integer, found [..]"
        );
        assert_eq!(
            error(with(json!({"column": "a,b"}))),
            "column: expected a list, found \"a,b\""
        );
        assert_eq!(
            error(with(json!({"column": ["a", ["b"]]}))),
            "column[1]: expected a string, found [..]"
        );
        let message = error(with(json!({"accessKeySecret": ["s3cr3t-key"]})));
        assert!(message.starts_with("accessKeySecret: "), "{message}");
        assert!(!message.contains("s3cr3t-key"), "{message}");
    }

    #[test]
    fn dataworks_key_spellings_are_accepted() {
        let mut parameter = base();
        let object = parameter.as_object_mut().unwrap();
        object.remove("accessId");
        object.remove("accessKey");
        object.insert("accessKeyId".into(), json!("dw-id"));
        object.insert("accessKeySecret".into(), json!("dw-secret"));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert_eq!(config.credentials.access_id, "dw-id");
        assert_eq!(config.credentials.access_key, "dw-secret");
    }

    #[test]
    fn time_names_a_column_and_needs_a_format() {
        let config =
            WriterConfig::parse(&with(json!({"time": "t", "timeformat": "bigint"})), false)
                .unwrap();
        assert!(matches!(config.time, TimeSource::Column { index: 2, .. }));
        // Without a format: the send time, as DataX (whose empty pattern never parses).
        let config = WriterConfig::parse(&with(json!({"time": "t"})), false).unwrap();
        assert!(matches!(config.time, TimeSource::Now));
        let message = error(with(json!({"time": "t", "timeFormat": "%Y %Q"})));
        assert!(message.starts_with("timeFormat: "), "{message}");
        let config =
            WriterConfig::parse(&with(json!({"time": "t", "timeformat": "bigint"})), false)
                .unwrap();
        assert!(matches!(
            config.time,
            TimeSource::Column {
                zone: Zone::Fixed(28_800),
                ..
            }
        ));
        let parameter = with(json!({"time": "t", "timeformat": "bigint", "timeZone": "GMT-3"}));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert!(matches!(
            config.time,
            TimeSource::Column {
                zone: Zone::Fixed(-10_800),
                ..
            }
        ));
        let parameter =
            with(json!({"time": "t", "timeformat": "bigint", "timeZone": "Asia/Shanghai"}));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert!(matches!(
            config.time,
            TimeSource::Column {
                zone: Zone::Named(chrono_tz::Asia::Shanghai),
                ..
            }
        ));
        let parameter = with(json!({"time": "t", "timeformat": "bigint", "timeZone": "CTT"}));
        assert!(error(parameter).starts_with("timeZone: \"CTT\" is neither a zone name"));
        // Refused without `time` too: the zone is wrong whether or not it is used yet.
        let parameter = with(json!({"timeZone": "Mars/Olympus"}));
        assert!(error(parameter).starts_with("timeZone: \"Mars/Olympus\""));
        // Not among `column` (the seed's `time_str`): the send time, as DataX.
        let config = WriterConfig::parse(&with(json!({"time": "time_str"})), false).unwrap();
        assert!(matches!(config.time, TimeSource::Now));
    }

    #[test]
    fn source_defaults_to_this_machines_ipv4_address_and_is_settable() {
        let config = WriterConfig::parse(&base(), false).unwrap();
        let address: Ipv4Addr = config.source.parse().expect("an IPv4 address");
        assert!(!address.is_unspecified(), "{address}");
        assert_eq!(config.source, primary_ipv4());
        let config = WriterConfig::parse(&with(json!({"source": "host-7"})), false).unwrap();
        assert_eq!(config.source, "host-7");
    }

    #[test]
    fn hash_key_routes_by_the_last_id_column() {
        let parameter = with(json!({"hashKey": "true", "column": ["a_id", "b", "user_id", "c"]}));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert!(config.hash_key);
        assert_eq!(config.route_column, Some(2));
        let config = WriterConfig::parse(&base(), false).unwrap();
        assert!(!config.hash_key);
    }

    #[test]
    fn columns_must_be_named_once() {
        assert!(error(with(json!({"column": []}))).starts_with("column: "));
        assert!(error(with(json!({"column": ["a", ""]}))).starts_with("column[1]: "));
        assert!(error(with(json!({"column": ["a", "a"]}))).contains("twice"));
        let config =
            WriterConfig::parse(&with(json!({"column": [{"name": "x"}, "y"]})), false).unwrap();
        assert_eq!(config.columns, ["x", "y"]);
    }

    #[test]
    fn endpoints_put_the_project_in_the_host() {
        assert_eq!(
            resolve_endpoint("cn-hangzhou.log.aliyuncs.com", "p").unwrap(),
            Endpoint {
                base_url: "https://p.cn-hangzhou.log.aliyuncs.com".into(),
                host_header: None
            }
        );
        assert_eq!(
            resolve_endpoint("http://cn-hangzhou.log.aliyuncs.com/", "p")
                .unwrap()
                .base_url,
            "http://p.cn-hangzhou.log.aliyuncs.com"
        );
        assert_eq!(
            resolve_endpoint("127.0.0.1:40123", "datax-demo").unwrap(),
            Endpoint {
                base_url: "http://127.0.0.1:40123".into(),
                host_header: Some("datax-demo.127.0.0.1:40123".into())
            }
        );
        assert_eq!(
            resolve_endpoint("[::1]:9", "p").unwrap().base_url,
            "http://[::1]:9"
        );
        assert!(resolve_endpoint("host/path", "p").is_err());
        assert!(resolve_endpoint("1.5", "p").is_err());
        assert!(resolve_endpoint("10.0.0:80", "p").is_err());
        assert!(resolve_endpoint("http://", "p").is_err());
    }
}
