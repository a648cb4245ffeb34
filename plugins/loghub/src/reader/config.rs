//! The loghubreader `parameter`: [`Parameter`] declares every key once, its doc comments are
//! the docs, and [`datax_plugin_kit::config`] reads it leniently as DataX does. What the types
//! cannot say is checked by the functions below, which build the [`ReaderConfig`] a task runs
//! with. Every error names its key; none prints a secret.

use std::time::Duration;

use datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS;
use datax_plugin_kit::config::{lenient, ConfigError};
use datax_plugin_kit::date::{parse_time_zone, DatePattern, Zone};
use serde::{Deserialize, Serialize};

use super::codec::ColumnSource;
use crate::auth::Credentials;
use crate::client::ClientSettings;
use crate::config::{resolve_endpoint, Endpoint, LogField};
use crate::connection::{
    in_range, max_retries, required, seconds, security_token, DEFAULT_CONNECT_SECONDS,
    DEFAULT_REQUEST_SECONDS,
};

/// Log groups per PullLogs by default, as DataWorks.
pub const DEFAULT_BATCH_SIZE: u64 = 256;
/// The most log groups one PullLogs returns (DataX refuses more).
pub const MAX_BATCH_SIZE: u64 = 1000;
/// A `…TimestampMillis` at or above this is milliseconds; below, seconds (10^11 seconds is
/// the year 5138).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// loghubreader's `parameter`. DataWorks' spellings of a key (`accessKeyId`) are fields of
/// their own rather than serde aliases: a job may hold both spellings (a blank `accessId` in
/// the job, `accessKeyId` from its data source), and the first one set wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The DataWorks data source the connection keys come from (`--datasources`); the host
    /// fills them in before the plugin reads them.
    #[serde(default, deserialize_with = "lenient::string")]
    pub datasource: Option<String>,
    /// Required. `cn-hangzhou.log.aliyuncs.com`, with or without `http://` / `https://`, as
    /// for loghubwriter.
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
    /// Required: the logstore read.
    #[serde(default, deserialize_with = "lenient::string")]
    pub logstore: Option<String>,
    /// Log groups per PullLogs, 1 to 1000 (default 256).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub batch_size: Option<u64>,
    /// The start of the range, by receive time, included: `yyyyMMddHHmmss` or `yyyyMMdd` in
    /// `timeZone`. Overrides `beginTimestampMillis`; neither: the shard's first log.
    #[serde(default, deserialize_with = "lenient::string")]
    pub begin_date_time: Option<String>,
    /// The end of the range, by receive time, excluded; as `beginDateTime`. Overrides
    /// `endTimestampMillis`; neither: the shard's end when the task starts.
    #[serde(default, deserialize_with = "lenient::string")]
    pub end_date_time: Option<String>,
    /// The start as a Unix time: milliseconds, or seconds below 10^11 (DataX passes the value
    /// to the service as seconds).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub begin_timestamp_millis: Option<i64>,
    /// The end as a Unix time, as `beginTimestampMillis`.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub end_timestamp_millis: Option<i64>,
    /// The zone `beginDateTime` and `endDateTime` are read in (default `GMT+8`, DataX's): a
    /// zone name (`Asia/Shanghai`) or a fixed offset (`GMT+8`, `UTC-3`, `+08:00`, `Z`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub time_zone: Option<String>,
    /// Declared by DataX and never read by it; accepted and ignored.
    #[serde(default, rename = "timeformat", deserialize_with = "lenient::string")]
    pub timeformat: Option<String>,
    /// Read this shard only (by id); unset, every shard. `split` sets it for each task.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub shard: Option<u64>,
    /// Required: what each record holds, in order. A log key by name; else a meta column:
    /// `C_Topic`/`__topic__`, `C_Source`/`__source__`, `C_Category`/`__category__`,
    /// `C_MachineUUID`/`__machineUUID__`, `C_HostName`, `C_Path`, `C_LogTime`/`__logtime__`/
    /// `__time__` (the log time, Unix seconds), a tag by its key (`__receive_time__`,
    /// `__hostname__`) or as `__tag__:key`; `'text'` a constant; `C__extract_others__` every
    /// key not listed, as a JSON object; `C__extract_all_meta__` the meta columns as one JSON
    /// object. Anything else absent from a log reads null. `["*"]` alone: every key as
    /// `key:value` columns, sorted by key.
    #[serde(default)]
    pub column: Option<Vec<LogField>>,
    /// Retries of one call after its first attempt, 0 to 4294967295 (default 7).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_retries: Option<u64>,
    /// Seconds to connect, 1 to 86400 (default 10).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub connect_timeout: Option<u64>,
    /// Seconds for a whole request, 1 to 86400 (default 60).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub request_timeout: Option<u64>,
}

/// The checked parameter a job and its tasks run with.
#[derive(Clone)]
pub struct ReaderConfig {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub project: String,
    pub logstore: String,
    pub batch_size: u32,
    /// Unix seconds, included; `None`: the shard's beginning.
    pub begin: Option<i64>,
    /// Unix seconds, excluded; `None`: the shard's end.
    pub end: Option<i64>,
    pub shard: Option<u32>,
    pub columns: Vec<ColumnSource>,
    pub max_retries: u32,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl ReaderConfig {
    /// Checks `parameter` and applies the defaults.
    pub fn new(p: &Parameter) -> Result<Self, ConfigError> {
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
        let zone = match &p.time_zone {
            None => Zone::Fixed(DATAX_DEFAULT_OFFSET_SECONDS),
            Some(zone) => {
                parse_time_zone(zone).map_err(|message| ConfigError::new("timeZone", message))?
            }
        };
        let begin = range_end(
            ("beginDateTime", &p.begin_date_time),
            ("beginTimestampMillis", p.begin_timestamp_millis),
            zone,
        )?;
        let end = range_end(
            ("endDateTime", &p.end_date_time),
            ("endTimestampMillis", p.end_timestamp_millis),
            zone,
        )?;
        if let (Some(begin), Some(end)) = (begin, end) {
            if end <= begin {
                let key = if p.end_date_time.is_some() {
                    "endDateTime"
                } else {
                    "endTimestampMillis"
                };
                return Err(ConfigError::new(
                    key,
                    format!("the end ({end}) must be after the begin ({begin}), Unix seconds"),
                ));
            }
        }
        Ok(ReaderConfig {
            endpoint,
            credentials,
            project,
            logstore,
            batch_size: in_range(
                "batchSize",
                p.batch_size,
                DEFAULT_BATCH_SIZE,
                1..=MAX_BATCH_SIZE,
            )? as u32,
            begin,
            end,
            shard: p
                .shard
                .map(|shard| in_range("shard", Some(shard), 0, 0..=u64::from(u32::MAX)))
                .transpose()?
                .map(|shard| shard as u32),
            columns: columns(&p.column)?,
            max_retries: max_retries(p.max_retries)?,
            connect_timeout: seconds("connectTimeout", p.connect_timeout, DEFAULT_CONNECT_SECONDS)?,
            request_timeout: seconds("requestTimeout", p.request_timeout, DEFAULT_REQUEST_SECONDS)?,
        })
    }

    pub fn client_settings(&self) -> ClientSettings<'_> {
        ClientSettings {
            endpoint: &self.endpoint,
            credentials: &self.credentials,
            logstore: &self.logstore,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
        }
    }
}

/// One end of the range in Unix seconds: the date-time text if set, else the timestamp.
fn range_end(
    (date_key, date_time): (&str, &Option<String>),
    (stamp_key, stamp): (&str, Option<i64>),
    zone: Zone,
) -> Result<Option<i64>, ConfigError> {
    let seconds = match (date_time, stamp) {
        (Some(text), _) => Some(parse_date_time(text.trim(), zone).ok_or_else(|| {
            ConfigError::new(
                date_key,
                format!("\"{text}\" is not a date-time as yyyyMMddHHmmss or yyyyMMdd"),
            )
        })?),
        (None, Some(stamp)) if stamp >= MILLIS_THRESHOLD => Some(stamp.div_euclid(1000)),
        (None, stamp) => stamp,
    };
    match seconds {
        Some(seconds) if seconds <= 0 => Err(ConfigError::new(
            if date_time.is_some() {
                date_key
            } else {
                stamp_key
            },
            format!("{seconds} is not after 1970-01-01 (Unix seconds)"),
        )),
        seconds => Ok(seconds),
    }
}

/// `yyyyMMddHHmmss` or `yyyyMMdd` (DataX's two patterns) in `zone`.
fn parse_date_time(text: &str, zone: Zone) -> Option<i64> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pattern = match text.len() {
        14 => "yyyyMMddHHmmss",
        8 => "yyyyMMdd",
        _ => return None,
    };
    let millis = DatePattern::compile(pattern)
        .ok()?
        .parse_millis(text, zone)
        .ok()?;
    Some(millis.div_euclid(1000))
}

/// `column`: required, each entry named.
fn columns(column: &Option<Vec<LogField>>) -> Result<Vec<ColumnSource>, ConfigError> {
    let list = match column {
        None => {
            return Err(ConfigError::new(
                "column",
                "required, the log keys and meta columns to read",
            ))
        }
        Some(list) if list.is_empty() => {
            return Err(ConfigError::new("column", "the list is empty"))
        }
        Some(list) => list,
    };
    let names = list
        .iter()
        .enumerate()
        .map(|(index, LogField(name))| {
            name.as_deref()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .ok_or_else(|| ConfigError::new(format!("column[{index}]"), "cannot be empty"))
        })
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ColumnSource::for_columns(&names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_api::PluginError;
    use datax_plugin_kit::config;
    use serde_json::{json, Value};

    fn parse(parameter: &Value) -> Result<ReaderConfig, PluginError> {
        let parameter = config::from_value::<Parameter>(parameter.clone(), "parameter")?.value;
        Ok(ReaderConfig::new(&parameter)?)
    }

    fn base() -> Value {
        json!({
            "endpoint": "127.0.0.1:8080", "accessId": "id", "accessKey": "s3cr3t-key",
            "project": "p", "logstore": "ls", "column": ["a", "C_Topic"],
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
        match parse(&parameter) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.message.to_string(),
        }
    }

    #[test]
    fn defaults_follow_dataworks() {
        let config = parse(&base()).unwrap();
        assert_eq!(config.batch_size, 256);
        assert_eq!((config.begin, config.end, config.shard), (None, None, None));
        assert_eq!(config.max_retries, 7);
        assert_eq!(
            config.endpoint.host_header.as_deref(),
            Some("p.127.0.0.1:8080")
        );
        assert_eq!(config.columns.len(), 2);
    }

    #[test]
    fn date_times_are_read_at_gmt_plus_8_and_timestamps_as_millis_or_seconds() {
        let config = parse(&with(
            json!({"beginDateTime": "20231115060000", "endDateTime": "20231116"}),
        ))
        .unwrap();
        // 2023-11-15 06:00:00 +08:00 and 2023-11-16 00:00:00 +08:00.
        assert_eq!(config.begin, Some(1_699_999_200));
        assert_eq!(config.end, Some(1_700_064_000));
        let config = parse(&with(
            json!({"beginDateTime": "20231115060000", "timeZone": "UTC"}),
        ))
        .unwrap();
        assert_eq!(config.begin, Some(1_700_028_000));
        // A zone name: New York is UTC-5 in November.
        let config = parse(&with(
            json!({"beginDateTime": "20231115060000", "timeZone": "America/New_York"}),
        ))
        .unwrap();
        assert_eq!(config.begin, Some(1_700_046_000));
        let config = parse(&with(json!({"beginTimestampMillis": 1_700_000_000_999i64, "endTimestampMillis": "1700000100"})))
        .unwrap();
        assert_eq!(
            (config.begin, config.end),
            (Some(1_700_000_000), Some(1_700_000_100))
        );
        // The date-time wins over the timestamp, as in DataX.
        let config = parse(&with(
            json!({"beginTimestampMillis": 5, "beginDateTime": "20231116"}),
        ))
        .unwrap();
        assert_eq!(config.begin, Some(1_700_064_000));
    }

    #[test]
    fn bad_ranges_name_their_key() {
        assert_eq!(
            error(with(json!({"beginDateTime": "2023-11-15"}))),
            "beginDateTime: \"2023-11-15\" is not a date-time as yyyyMMddHHmmss or yyyyMMdd"
        );
        assert!(error(with(json!({"endDateTime": "20231345"}))).starts_with("endDateTime: "));
        assert!(
            error(with(json!({"beginTimestampMillis": -1}))).starts_with("beginTimestampMillis: ")
        );
        assert_eq!(
            error(with(
                json!({"beginDateTime": "20231116", "endDateTime": "20231116"})
            )),
            "endDateTime: the end (1700064000) must be after the begin (1700064000), Unix seconds"
        );
        assert_eq!(
            error(with(json!({"batchSize": 1001}))),
            "batchSize: 1001 is outside 1..=1000"
        );
        assert!(error(with(json!({"batchSize": 0}))).starts_with("batchSize: "));
    }

    #[test]
    fn connection_keys_are_checked_as_the_writers() {
        let message = error(with(json!({"accessKey": "*****"})));
        assert!(message.starts_with("accessKey: is masked"), "{message}");
        assert!(error(with(json!({"logstore": ""}))).starts_with("logstore: required"));
        assert!(error(with(json!({"column": []}))).starts_with("column: "));
        assert!(error(with(json!({"column": ["a", " "]}))).starts_with("column[1]: "));
        let mut parameter = base();
        let object = parameter.as_object_mut().unwrap();
        object.remove("accessId");
        object.remove("accessKey");
        object.insert("accessKeyId".into(), json!("dw-id"));
        object.insert("accessKeySecret".into(), json!("dw-secret"));
        let config = parse(&parameter).unwrap();
        assert_eq!(config.credentials.access_id, "dw-id");
        assert_eq!(config.credentials.access_key, "dw-secret");
        let message = error(with(
            json!({"accessKeySecret": ["s3cr3t-key"], "accessKey": null}),
        ));
        assert!(!message.contains("s3cr3t-key"), "{message}");
    }

    #[test]
    fn every_key_read_is_a_known_key() {
        let parameter = with(json!({
            "datasource": "sls", "securityToken": "t", "batchSize": "5",
            "beginDateTime": "20231115", "endDateTime": "20231116",
            "beginTimestampMillis": 1, "endTimestampMillis": 2, "timeZone": "UTC",
            "timeformat": "x", "shard": 3, "maxRetries": 1, "connectTimeout": 1,
            "requestTimeout": 1, "accessKeyId": "id", "accessKeySecret": "key",
        }));
        let config = parse(&parameter).unwrap();
        assert_eq!(config.shard, Some(3));
        let warnings = config::from_value::<Parameter>(parameter, "parameter")
            .unwrap()
            .warnings;
        assert_eq!(warnings, Vec::<String>::new());
    }
}
