//! The loghubwriter `parameter` (datax-engine.md §8.1), read leniently as DataX does: numbers
//! and booleans may be strings, `null` and blanks count as absent. Every error names its key;
//! none prints a secret.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use datax_job_config::value::{
    as_bool, as_string, as_u64, describe, optional, present, unknown_keys,
};
use datax_job_config::JobError;
use datax_plugin_api::PluginError;
use datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS;
use serde_json::Value;

use crate::auth::Credentials;
use crate::codec::Compression;
use datax_plugin_kit::date::{parse_time_zone, DatePattern as TimeFormat};

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
/// Retries of one request after its first attempt: about half a minute of backoff before
/// giving up on a busy service (sls-putlogs.md §8).
pub const DEFAULT_MAX_RETRIES: u32 = 7;
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 60;

/// Every key `parameter` may hold; others get a warning at init. `datasource` names the
/// DataWorks data source the host fills the connection keys from.
pub const KNOWN_KEYS: &[&str] = &[
    "datasource",
    "endpoint",
    "accessId",
    "accessKeyId",
    "accessKey",
    "accessKeySecret",
    "securityToken",
    "project",
    "logstore",
    "topic",
    "source",
    "batchSize",
    "column",
    "time",
    "timeFormat",
    "timeformat",
    "timeZone",
    "hashKey",
    "compress",
    "maxInFlight",
    "maxRetries",
    "connectTimeout",
    "requestTimeout",
];

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
}

/// Where each log's time comes from (datax-engine.md §8.2).
#[derive(Debug, Clone)]
pub enum TimeSource {
    /// No `time`, or one naming no column: the time the log is sent, as DataX.
    Now,
    /// The value of column `index` (named `name`) read with `format`; the column also stays
    /// a field of the log, as in DataX. Texts without an offset, and date columns, are read
    /// at `zone_offset` seconds east of UTC (`timeZone`).
    Column {
        index: usize,
        name: String,
        format: TimeFormat,
        zone_offset: i64,
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
    /// `warn` logs what the job should know once (at job init, not in every task).
    pub fn parse(parameter: &Value, warn: bool) -> Result<Self, PluginError> {
        parse(parameter, warn)
    }
}

fn config_error(error: JobError) -> PluginError {
    PluginError::config(error.to_string())
}

fn invalid(path: &str, message: impl Into<String>) -> PluginError {
    config_error(JobError::Invalid {
        path: path.to_string(),
        message: message.into(),
    })
}

fn parse(parameter: &Value, warn: bool) -> Result<WriterConfig, PluginError> {
    if warn {
        for warning in unknown_keys(parameter, "parameter", KNOWN_KEYS) {
            datax_plugin_api::log::warn(warning);
        }
    }
    let text = |key: &str| optional(parameter, key, "", as_string).map_err(config_error);
    // DataWorks' tables spell the keys accessKeyId / accessKeySecret.
    let access_id = required(parameter, &["accessId", "accessKeyId"], false)?;
    let access_key = required(parameter, &["accessKey", "accessKeySecret"], true)?;
    let endpoint_text = required(parameter, &["endpoint"], false)?;
    let project = required(parameter, &["project"], false)?;
    let logstore = required(parameter, &["logstore"], false)?;
    let security_token = text("securityToken")?;
    if security_token
        .as_deref()
        .is_some_and(datax_job_config::is_masked)
    {
        return Err(invalid(
            "securityToken",
            "is masked (*****): give the real value in the job, or name a data source with \
             `datasource` and supply it with --datasources",
        ));
    }
    let endpoint = resolve_endpoint(&endpoint_text, &project)
        .map_err(|message| invalid("endpoint", message))?;

    let columns = parse_columns(parameter)?;
    let batch_size = match optional(parameter, "batchSize", "", as_u64).map_err(config_error)? {
        None => DEFAULT_BATCH_SIZE,
        Some(0) => return Err(invalid("batchSize", "must be at least 1")),
        Some(size) if size > MAX_BATCH_SIZE as u64 => {
            if warn {
                datax_plugin_api::log::warn(format!(
                    "batchSize: {size} is more than Log Service takes in one request; \
                     sending {MAX_BATCH_SIZE} logs per request"
                ));
            }
            MAX_BATCH_SIZE
        }
        Some(size) => size as usize,
    };
    let hash_key = optional(parameter, "hashKey", "", as_bool)
        .map_err(config_error)?
        .unwrap_or(false);
    let route_column = columns.iter().rposition(|name| name.ends_with("_id"));
    if hash_key && route_column.is_none() && warn {
        datax_plugin_api::log::warn(
            "hashKey: no column name ends with _id, so every log goes to the same shard",
        );
    }
    let time = parse_time(parameter, &columns, warn)?;
    let compression = match text("compress")? {
        None => Compression::Lz4,
        Some(name) => Compression::from_name(&name).ok_or_else(|| {
            invalid(
                "compress",
                format!(
                    "\"{name}\" is not a compression: use {}",
                    Compression::NAMES
                ),
            )
        })?,
    };
    let max_in_flight = number(
        parameter,
        "maxInFlight",
        DEFAULT_MAX_IN_FLIGHT as u64,
        1..=MAX_IN_FLIGHT as u64,
    )? as usize;
    let max_retries = number(
        parameter,
        "maxRetries",
        u64::from(DEFAULT_MAX_RETRIES),
        0..=u64::from(u32::MAX),
    )? as u32;
    let seconds = |key: &str, default: u64| {
        number(parameter, key, default, 1..=24 * 3600).map(Duration::from_secs)
    };
    Ok(WriterConfig {
        endpoint,
        credentials: Credentials {
            access_id,
            access_key,
            security_token,
        },
        project,
        logstore,
        topic: text("topic")?.unwrap_or_default(),
        source: text("source")?.unwrap_or_default(),
        batch_size,
        columns,
        time,
        hash_key,
        route_column,
        compression,
        max_in_flight,
        max_retries,
        connect_timeout: seconds("connectTimeout", DEFAULT_CONNECT_TIMEOUT_SECONDS)?,
        request_timeout: seconds("requestTimeout", DEFAULT_REQUEST_TIMEOUT_SECONDS)?,
    })
}

/// The whole number at `key`, `default` when absent; outside `range` is an error.
fn number(
    parameter: &Value,
    key: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, PluginError> {
    let value = optional(parameter, key, "", as_u64)
        .map_err(config_error)?
        .unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            key,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        ))
    }
}

/// The first of `keys` set; a blank or masked (`*****`) value counts as unset.
fn required(parameter: &Value, keys: &[&str], secret: bool) -> Result<String, PluginError> {
    for key in keys {
        if let Some(value) = optional(parameter, key, "", as_string).map_err(config_error)? {
            if datax_job_config::is_masked(value.trim()) {
                return Err(invalid(
                    key,
                    "is masked (*****): give the real value in the job, or name a data source \
                     with `datasource` and supply it with --datasources",
                ));
            }
            return Ok(if secret {
                value
            } else {
                value.trim().to_string()
            });
        }
    }
    Err(invalid(
        keys[0],
        "required: set it in the job, or name a data source with `datasource` and supply it \
         with --datasources",
    ))
}

fn parse_columns(parameter: &Value) -> Result<Vec<String>, PluginError> {
    let list = match present(parameter, "column") {
        None => return Err(invalid("column", "required, the list of log field names")),
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(invalid("column", "the list is empty"))
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(config_error(JobError::WrongType {
                path: "column".to_string(),
                expected: "a list of field names",
                found: describe(other),
            }))
        }
    };
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let path = format!("column[{index}]");
        // DataX lists may hold objects with a `name` (as other writers); take the name.
        let name = match item {
            Value::Object(_) => optional(item, "name", &path, as_string).map_err(config_error)?,
            other => Some(as_string(other, &path).map_err(config_error)?),
        };
        let name = name
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| invalid(&path, "a log field name cannot be empty"))?;
        if names.contains(&name) {
            return Err(invalid(&path, format!("\"{name}\" is listed twice")));
        }
        names.push(name);
    }
    Ok(names)
}

fn parse_time(
    parameter: &Value,
    columns: &[String],
    warn: bool,
) -> Result<TimeSource, PluginError> {
    let Some(name) = optional(parameter, "time", "", as_string).map_err(config_error)? else {
        return Ok(TimeSource::Now);
    };
    let name = name.trim().to_string();
    let Some(index) = columns.iter().position(|column| *column == name) else {
        // DataX uses the current time then; the seed job relies on it (datax-engine.md §8.2).
        if warn {
            datax_plugin_api::log::warn(format!(
                "time: \"{name}\" is not one of `column`; every log gets the time it is sent"
            ));
        }
        return Ok(TimeSource::Now);
    };
    // DataX spells it `timeformat`, DataWorks `timeFormat`.
    let (key, format) = ["timeFormat", "timeformat"]
        .iter()
        .find_map(|key| {
            optional(parameter, key, "", as_string)
                .transpose()
                .map(|format| (*key, format))
        })
        .ok_or_else(|| {
            invalid(
                "timeFormat",
                format!(
                    "required with time = \"{name}\": bigint (epoch seconds) or a pattern such \
                     as yyyy-MM-dd HH:mm:ss, %Y-%m-%d %H:%M:%S or %Y-%m-%d %H:%i:%S"
                ),
            )
        })?;
    let format = format.map_err(config_error)?;
    let format = TimeFormat::compile(&format).map_err(|message| invalid(key, message))?;
    let zone_offset = match optional(parameter, "timeZone", "", as_string).map_err(config_error)? {
        // DataX's default zone, as `common.column.timeZone`.
        None => DATAX_DEFAULT_OFFSET_SECONDS,
        Some(zone) => parse_time_zone(&zone).map_err(|message| invalid("timeZone", message))?,
    };
    Ok(TimeSource::Column {
        index,
        name,
        format,
        zone_offset,
    })
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
        assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
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
        assert_eq!(
            unknown_keys(&parameter, "parameter", KNOWN_KEYS),
            Vec::<String>::new()
        );
        assert_eq!(
            unknown_keys(&with(json!({"Compress": "none"})), "parameter", KNOWN_KEYS),
            ["parameter.Compress: unknown key, ignored; did you mean \"compress\"?"]
        );
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
        let message = error(with(json!({"time": "t"})));
        assert!(message.starts_with("timeFormat: required"), "{message}");
        let message = error(with(json!({"time": "t", "timeFormat": "%Y %Q"})));
        assert!(message.starts_with("timeFormat: "), "{message}");
        let config =
            WriterConfig::parse(&with(json!({"time": "t", "timeformat": "bigint"})), false)
                .unwrap();
        assert!(matches!(
            config.time,
            TimeSource::Column {
                zone_offset: 28_800,
                ..
            }
        ));
        let parameter = with(json!({"time": "t", "timeformat": "bigint", "timeZone": "GMT-3"}));
        let config = WriterConfig::parse(&parameter, false).unwrap();
        assert!(matches!(
            config.time,
            TimeSource::Column {
                zone_offset: -10_800,
                ..
            }
        ));
        let parameter = with(json!({"time": "t", "timeformat": "bigint", "timeZone": "CST"}));
        assert!(error(parameter).starts_with("timeZone: \"CST\" is not a fixed offset"));
        // Not among `column` (the seed's `time_str`): the send time, as DataX.
        let config = WriterConfig::parse(&with(json!({"time": "time_str"})), false).unwrap();
        assert!(matches!(config.time, TimeSource::Now));
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
        assert!(resolve_endpoint("http://", "p").is_err());
    }
}
