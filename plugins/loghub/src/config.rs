//! The loghubwriter `parameter` (datax-engine.md §8.1), read leniently as DataX does: numbers
//! and booleans may be strings, `null` and blanks count as absent. Every error names its key;
//! none prints a secret.

use std::net::{Ipv4Addr, Ipv6Addr};

use datax_job_config::value::{as_bool, as_string, as_u64, describe, optional, present};
use datax_job_config::JobError;
use datax_plugin_api::PluginError;
use serde_json::Value;

use crate::auth::Credentials;
use crate::time_format::TimeFormat;

/// DataX's default `batchSize`.
pub const DEFAULT_BATCH_SIZE: usize = 1024;
/// The most logs per PutLogs: DataWorks' documented maximum, the historic server limit
/// (sls-putlogs.md §9).
pub const MAX_BATCH_SIZE: usize = 4096;

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
}

/// Where each log's time comes from (datax-engine.md §8.2).
#[derive(Debug, Clone)]
pub enum TimeSource {
    /// No `time`, or one naming no column: the time the log is sent, as DataX.
    Now,
    /// The value of column `index` (named `name`) read with `format`; the column also stays
    /// a field of the log, as in DataX.
    Column {
        index: usize,
        name: String,
        format: TimeFormat,
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
    })
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
    Ok(TimeSource::Column {
        index,
        name,
        format,
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
