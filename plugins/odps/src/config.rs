//! odpsreader's `parameter` (datax-engine.md §7.1): [`Parameter`] declares every key once, its
//! doc comments are the docs, and [`datax_plugin_kit::config`] reads it leniently as DataX
//! does (numbers and booleans may be strings, `null` and blank count as absent, unknown keys
//! are warnings with a did-you-mean). What the types cannot say is checked by the small
//! functions below, which build the [`ReaderConfig`] the job and its tasks run with. Every
//! error names its key; none prints a secret.

use std::fmt;
use std::marker::PhantomData;

use datax_plugin_api::PluginError;
use datax_plugin_kit::config::{self, lenient, ConfigError};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Credentials;
use crate::client::{ClientSettings, Endpoint};

/// The service's public endpoint, for a job that names none (DataX requires `odpsServer`).
pub const PUBLIC_ODPS_SERVER: &str = "http://service.odps.aliyun.com/api";

/// The SDKs retry a 5xx answer at most 7 times (odps-tunnel.md §7).
const DEFAULT_MAX_RETRIES: u32 = 7;
/// `maxRetryTime`'s range, as DataX's odpsreader.
const MAX_RETRIES: std::ops::RangeInclusive<u64> = 1..=10;
/// Data requests a reader task keeps in flight by default: the one being decoded and the
/// next, so that a range's round trip overlaps the decoding of the range before it.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 2;
/// `maxInFlight`'s range. Each request waiting for its turn holds at most its connection's
/// buffers (a few hundred KiB; its body is read only when its turn comes): this bounds a
/// task's memory.
const MAX_IN_FLIGHT: std::ops::RangeInclusive<u64> = 1..=16;

/// odpsreader's `parameter`, every key DataX's odpsreader reads and DataWorks' `datasource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The DataWorks data source the connection keys come from (`--datasources`); the host
    /// fills them in before the plugin reads them.
    #[serde(default, deserialize_with = "lenient::string")]
    pub datasource: Option<String>,
    /// Required: the AccessKey ID. Masked (`*****`) is a configuration error: fill it with
    /// `--datasources`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_id: Option<String>,
    /// Required: the AccessKey secret. Masked (`*****`) is a configuration error: fill it with
    /// `--datasources`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key: Option<String>,
    /// STS credentials only: the token, sent as `authorization-sts-token` (default none).
    #[serde(default, deserialize_with = "lenient::string")]
    pub security_token: Option<String>,
    /// DataX's account type (`aliyun`, the only one): read and ignored.
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_type: Option<String>,
    /// The REST endpoint, `http://service.cn-hangzhou.maxcompute.aliyun.com/api` (default the
    /// public `http://service.odps.aliyun.com/api`, with a note in the log).
    #[serde(default, deserialize_with = "lenient::string")]
    pub odps_server: Option<String>,
    /// The tunnel endpoint (default: asked of the service, `GET /projects/{p}/tunnel?service`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub tunnel_server: Option<String>,
    /// Required: the project holding the table.
    #[serde(default, deserialize_with = "lenient::string")]
    pub project: Option<String>,
    /// The project whose authorisation reads the table (`curr_project`), for a table another
    /// project authorised through a package (default `project`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub package_authorized_project: Option<String>,
    /// Required: the table to read; a view is refused.
    #[serde(default, deserialize_with = "lenient::string")]
    pub table: Option<String>,
    /// Required for a partitioned table, refused for another: a pattern or a list of them,
    /// each naming every level (`pt=1,ds=*`). `*` matches any run, `?` makes the previous
    /// character optional, the rest is a regular expression; `/*query*/ pt>='20240101'` is an
    /// SQL-style condition. Overlapping patterns read a partition once.
    #[serde(default, deserialize_with = "patterns")]
    pub partition: Option<Vec<String>>,
    /// Required: column names (any case), `["*"]` for every data column, partition columns,
    /// `'constants'` in single quotes; repeats allowed. A single name may be a string, an
    /// entry an object with a `name`.
    #[serde(default, deserialize_with = "column_names")]
    pub column: Option<Vec<String>>,
    /// `record` (default): row ranges of each partition's session spread over the channels;
    /// `partition`: a task per partition (DataX's arithmetic, datax-engine.md §7.3).
    #[serde(default, deserialize_with = "lenient::string")]
    pub split_mode: Option<String>,
    /// Ask for zstd or deflate bodies (default false).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_compress: Option<bool>,
    /// Retries of a request after a 5xx answer or a network error, 1 to 10 (default 7),
    /// waiting 1, 2, 4 … 64 s; flow control (429, 308) is retried up to 60 times.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_retry_time: Option<u64>,
    /// A partition pattern that matches nothing reads nothing instead of failing (default
    /// false).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub success_on_no_partition: Option<bool>,
    /// Not in DataX: data requests each task keeps in flight, 1 to 16 (default 2). A task
    /// reads its rows in ranges of a million; while it decodes one range the requests for the
    /// next ones make their round trips, so that a distant service's round trip is not
    /// waited for once per range. 1 asks for each range only after the one before it.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_in_flight: Option<u64>,
    /// Refused: this reader runs no SQL.
    #[serde(default)]
    pub pre_sql: Option<Value>,
    /// Refused: this reader runs no SQL.
    #[serde(default)]
    pub post_sql: Option<Value>,
}

/// How tasks are cut (datax-engine.md §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitMode {
    /// Row ranges of a session per partition (DataX's default).
    Record,
    /// One task per partition.
    Partition,
}

/// One entry of `column`.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSpec {
    /// `*`: every data column in table order.
    All,
    /// A data or partition column, matched case-insensitively.
    Name(String),
    /// `'text'`: a constant string column.
    Constant(String),
}

/// The checked parameter, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderConfig {
    pub connection: Connection,
    pub table: String,
    pub columns: Vec<ColumnSpec>,
    /// Partition patterns as written; empty for an unpartitioned table.
    pub partitions: Vec<String>,
    pub split_mode: SplitMode,
    pub compress: bool,
    pub package_authorized_project: Option<String>,
    pub success_on_no_partition: bool,
    /// Data requests each task keeps in flight (`maxInFlight`).
    pub max_in_flight: usize,
}

/// The connection keys both plugins read (`accessId`, `accessKey`, `securityToken`,
/// `odpsServer`, `tunnelServer`, `project`, `maxRetryTime`), checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub credentials: Credentials,
    pub project: String,
    pub odps_server: String,
    pub tunnel_server: Option<String>,
    pub max_retries: u32,
}

/// The connection keys as a `parameter` holds them. Each plugin's `Parameter` declares them
/// itself: the kit lists no known keys of a `#[serde(flatten)]`ed struct, so a shared one
/// would lose the did-you-mean of a misspelled key.
pub(crate) struct ConnectionKeys<'a> {
    pub access_id: &'a Option<String>,
    pub access_key: &'a Option<String>,
    pub security_token: &'a Option<String>,
    pub odps_server: &'a Option<String>,
    pub tunnel_server: &'a Option<String>,
    pub project: &'a Option<String>,
    pub max_retry_time: Option<u64>,
}

impl Connection {
    pub(crate) fn new(keys: ConnectionKeys<'_>) -> Result<Self, ConfigError> {
        Ok(Connection {
            credentials: Credentials {
                access_id: required("accessId", keys.access_id, "AccessKey ID")?,
                access_key: required("accessKey", keys.access_key, "AccessKey secret")?,
                security_token: supplied("securityToken", keys.security_token, "STS token")?,
            },
            project: required("project", keys.project, "the project holding the table")?,
            odps_server: supplied("odpsServer", keys.odps_server, "MaxCompute endpoint")?
                .unwrap_or_else(|| PUBLIC_ODPS_SERVER.to_string()),
            tunnel_server: supplied("tunnelServer", keys.tunnel_server, "tunnel endpoint")?,
            max_retries: max_retries(keys.max_retry_time)?,
        })
    }

    /// Says in the log when no `odpsServer` was given: the job runs against the public one.
    pub fn note_public_endpoint(&self) {
        if self.odps_server == PUBLIC_ODPS_SERVER {
            datax_plugin_api::log::info(format!(
                "odpsServer is not set: using the public endpoint {PUBLIC_ODPS_SERVER}"
            ));
        }
    }

    /// The client settings; `tunnel` overrides `tunnelServer` (tasks get the job's), and
    /// `default_project` the project whose authorisation is used (default `project`).
    pub fn client_settings(
        &self,
        tunnel: Option<&str>,
        default_project: Option<&str>,
    ) -> Result<ClientSettings, PluginError> {
        let rest =
            Endpoint::parse(&self.odps_server, "odpsServer", false).map_err(PluginError::config)?;
        let tunnel = tunnel
            .or(self.tunnel_server.as_deref())
            .map(|url| Endpoint::parse(url, "tunnelServer", true).map_err(PluginError::config))
            .transpose()?;
        Ok(ClientSettings {
            credentials: self.credentials.clone(),
            rest,
            tunnel,
            project: self.project.clone(),
            default_project: default_project.unwrap_or(&self.project).to_string(),
            max_retries: self.max_retries,
        })
    }
}

impl ReaderConfig {
    /// Checks `parameter` and applies the defaults.
    pub fn new(parameter: &Parameter) -> Result<Self, ConfigError> {
        let p = parameter;
        refuse_sql("preSql", &p.pre_sql)?;
        refuse_sql("postSql", &p.post_sql)?;
        Ok(ReaderConfig {
            connection: Connection::new(ConnectionKeys {
                access_id: &p.access_id,
                access_key: &p.access_key,
                security_token: &p.security_token,
                odps_server: &p.odps_server,
                tunnel_server: &p.tunnel_server,
                project: &p.project,
                max_retry_time: p.max_retry_time,
            })?,
            table: required("table", &p.table, "the table to read")?,
            columns: columns(&p.column)?,
            partitions: patterns_given(&p.partition),
            split_mode: split_mode(&p.split_mode)?,
            compress: p.is_compress.unwrap_or(false),
            package_authorized_project: p
                .package_authorized_project
                .as_deref()
                .map(|project| project.trim().to_string()),
            success_on_no_partition: p.success_on_no_partition.unwrap_or(false),
            max_in_flight: max_in_flight(p.max_in_flight)?,
        })
    }

    /// The client settings; `tunnel` overrides `tunnelServer` (tasks get the discovered one).
    pub fn client_settings(&self, tunnel: Option<&str>) -> Result<ClientSettings, PluginError> {
        self.connection
            .client_settings(tunnel, self.package_authorized_project.as_deref())
    }
}

/// A value the host could have filled from a data source: unset (absent, `null`, blank: the
/// lenient reader made it `None`) or masked (`*****`) means the user still has to supply it.
/// The message never shows the value.
fn supplied(key: &str, value: &Option<String>, what: &str) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if config::is_masked(value.trim()) {
        return Err(ConfigError::new(
            key,
            format!(
                "is masked (\"*****\"): supply the real {what} with --datasources \
                 (a data source of type odps) or in the job"
            ),
        ));
    }
    Ok(Some(value.trim().to_string()))
}

pub(crate) fn required(
    key: &str,
    value: &Option<String>,
    what: &str,
) -> Result<String, ConfigError> {
    supplied(key, value, what)?.ok_or_else(|| {
        ConfigError::new(
            key,
            format!("required ({what}); set it in the job or supply it with --datasources"),
        )
    })
}

/// `preSql` and `postSql`: any statement (a text, a list that is not empty) is refused.
fn refuse_sql(key: &str, sql: &Option<Value>) -> Result<(), ConfigError> {
    let has_sql = match sql {
        None => false,
        Some(Value::Array(statements)) => !statements.is_empty(),
        Some(other) => !lenient::is_absent(other),
    };
    if has_sql {
        return Err(ConfigError::new(
            key,
            "running SQL is not supported by this reader",
        ));
    }
    Ok(())
}

/// The patterns, trimmed, blanks left out.
fn patterns_given(partition: &Option<Vec<String>>) -> Vec<String> {
    partition
        .iter()
        .flatten()
        .map(|pattern| pattern.trim())
        .filter(|pattern| !pattern.is_empty())
        .map(str::to_string)
        .collect()
}

fn split_mode(mode: &Option<String>) -> Result<SplitMode, ConfigError> {
    match mode.as_deref().map(str::trim) {
        None => Ok(SplitMode::Record),
        Some(mode) if mode.eq_ignore_ascii_case("record") => Ok(SplitMode::Record),
        Some(mode) if mode.eq_ignore_ascii_case("partition") => Ok(SplitMode::Partition),
        Some(mode) => Err(ConfigError::new(
            "splitMode",
            format!("\"{mode}\" is not record or partition"),
        )),
    }
}

fn max_retries(retries: Option<u64>) -> Result<u32, ConfigError> {
    match retries {
        None => Ok(DEFAULT_MAX_RETRIES),
        Some(retries) if MAX_RETRIES.contains(&retries) => Ok(retries as u32),
        Some(retries) => Err(ConfigError::new(
            "maxRetryTime",
            format!(
                "{retries} is outside {}..{}",
                MAX_RETRIES.start(),
                MAX_RETRIES.end()
            ),
        )),
    }
}

fn max_in_flight(requests: Option<u64>) -> Result<usize, ConfigError> {
    match requests {
        None => Ok(DEFAULT_MAX_IN_FLIGHT),
        Some(requests) if MAX_IN_FLIGHT.contains(&requests) => Ok(requests as usize),
        Some(requests) => Err(ConfigError::new(
            "maxInFlight",
            format!(
                "{requests} is outside {}..{}",
                MAX_IN_FLIGHT.start(),
                MAX_IN_FLIGHT.end()
            ),
        )),
    }
}

/// `column`: `*`, names and `'constants'`, none empty.
fn columns(column: &Option<Vec<String>>) -> Result<Vec<ColumnSpec>, ConfigError> {
    let names = match column {
        None => {
            return Err(ConfigError::new(
                "column",
                "required: a list of column names, or [\"*\"] for every column",
            ))
        }
        Some(names) if names.is_empty() => {
            return Err(ConfigError::new(
                "column",
                "the list is empty (use [\"*\"] for every column)",
            ))
        }
        Some(names) => names,
    };
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let name = name.trim();
            if name.is_empty() {
                return Err(ConfigError::new(
                    format!("column[{index}]"),
                    "the column name is empty",
                ));
            }
            Ok(if name == "*" {
                ColumnSpec::All
            } else if name.len() >= 2 && name.starts_with('\'') && name.ends_with('\'') {
                ColumnSpec::Constant(name[1..name.len() - 1].to_string())
            } else {
                ColumnSpec::Name(name.to_string())
            })
        })
        .collect()
}

/// `partition`: one pattern (DataWorks writes a single one as a string, datax-semantics.md
/// §9.7) or a list of them; numbers are read as their text.
fn patterns<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    deserializer.deserialize_any(OneOrMany::<PatternText>::new(
        "a partition pattern or a list of them",
    ))
}

/// `column`: one name or a list of them.
pub(crate) fn column_names<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    deserializer.deserialize_any(OneOrMany::<ColumnName>::new("a list of column names"))
}

/// A value or a list of them: `null` and blank are `None`, a text one element, a list each
/// element read as `T` (so that an error names its index).
struct OneOrMany<T> {
    expecting: &'static str,
    element: PhantomData<T>,
}

impl<T> OneOrMany<T> {
    fn new(expecting: &'static str) -> Self {
        OneOrMany {
            expecting,
            element: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de> + Into<String>> Visitor<'de> for OneOrMany<T> {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok((!text.trim().is_empty()).then(|| vec![text.to_string()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<T>()? {
            values.push(value.into());
        }
        Ok(Some(values))
    }
}

/// A partition pattern in a list: a text, or a number read as its text.
struct PatternText(String);

impl<'de> Deserialize<'de> for PatternText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let text = lenient::as_string(&value).map_err(de::Error::custom)?;
        Ok(PatternText(text))
    }
}

impl From<PatternText> for String {
    fn from(pattern: PatternText) -> String {
        pattern.0
    }
}

/// A `column` entry: a name, or an object with a `name` (as other readers' lists).
struct ColumnName(String);

impl<'de> Deserialize<'de> for ColumnName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(name) => Ok(ColumnName(name)),
            Value::Object(object) => match object.get("name") {
                Some(Value::String(name)) => Ok(ColumnName(name.clone())),
                _ => Err(de::Error::custom(
                    "expected a column name (or an object with \"name\")",
                )),
            },
            other => Err(de::Error::custom(lenient::wrong(&other, "a column name"))),
        }
    }
}

impl From<ColumnName> for String {
    fn from(name: ColumnName) -> String {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "accessId": "id", "accessKey": "secret-value", "odpsServer": "http://h/api",
            "project": "p", "table": "t", "column": ["*"]
        })
    }

    fn with(changes: Value) -> Value {
        let mut parameter = base();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                parameter.as_object_mut().unwrap().remove(key);
            } else {
                parameter[key] = value.clone();
            }
        }
        parameter
    }

    fn parse_with(changes: Value) -> Result<ReaderConfig, String> {
        let parsed = config::from_value::<Parameter>(with(changes), "parameter")
            .map_err(|error| error.to_string())?;
        ReaderConfig::new(&parsed.value).map_err(|error| error.to_string())
    }

    fn warnings(changes: Value) -> Vec<String> {
        config::from_value::<Parameter>(with(changes), "parameter")
            .unwrap()
            .warnings
    }

    #[test]
    fn reads_datax_and_dataworks_forms() {
        let config = parse_with(json!({
            "partition": "pt=1", "isCompress": "true", "splitMode": "Partition",
            "column": ["a", "'const'", "PT"], "maxRetryTime": "3",
            "packageAuthorizedProject": "other"
        }))
        .unwrap();
        assert_eq!(config.partitions, vec!["pt=1"]);
        assert!(config.compress);
        assert_eq!(config.split_mode, SplitMode::Partition);
        assert_eq!(
            config.columns,
            vec![
                ColumnSpec::Name("a".into()),
                ColumnSpec::Constant("const".into()),
                ColumnSpec::Name("PT".into())
            ]
        );
        assert_eq!(config.connection.max_retries, 3);
        let settings = config.client_settings(None).unwrap();
        assert_eq!(settings.default_project, "other");
        assert!(settings.tunnel.is_none());

        let config = parse_with(json!({"partition": ["pt=1", " pt=2 "]})).unwrap();
        assert_eq!(config.partitions, vec!["pt=1", "pt=2"]);
        assert_eq!(config.columns, vec![ColumnSpec::All]);
        assert_eq!(config.split_mode, SplitMode::Record);
        assert!(!config.compress);
    }

    #[test]
    fn masked_or_missing_keys_say_how_to_supply_them() {
        let error = parse_with(json!({"accessKey": "*****"})).unwrap_err();
        assert_eq!(
            error,
            "accessKey: is masked (\"*****\"): supply the real AccessKey secret with \
             --datasources (a data source of type odps) or in the job"
        );
        let error = parse_with(json!({"project": ""})).unwrap_err();
        assert_eq!(
            error,
            "project: required (the project holding the table); set it in the job or supply \
             it with --datasources"
        );
        let config = parse_with(json!({"odpsServer": ""})).unwrap();
        assert_eq!(config.connection.odps_server, PUBLIC_ODPS_SERVER);
        assert!(!parse_with(json!({"accessId": "****"}))
            .unwrap_err()
            .contains("secret-value"));
    }

    #[test]
    fn wrong_values_name_the_key() {
        assert_eq!(
            parse_with(json!({"splitMode": "fast"})).unwrap_err(),
            "splitMode: \"fast\" is not record or partition"
        );
        assert_eq!(
            parse_with(json!({"column": []})).unwrap_err(),
            "column: the list is empty (use [\"*\"] for every column)"
        );
        assert_eq!(
            parse_with(json!({"maxRetryTime": 11})).unwrap_err(),
            "maxRetryTime: 11 is outside 1..10"
        );
        assert_eq!(
            parse_with(json!({"maxInFlight": 0})).unwrap_err(),
            "maxInFlight: 0 is outside 1..16"
        );
        assert_eq!(
            parse_with(json!({"maxInFlight": 17})).unwrap_err(),
            "maxInFlight: 17 is outside 1..16"
        );
        assert_eq!(
            parse_with(json!({"isCompress": "yes"})).unwrap_err(),
            "isCompress: expected true or false, found \"yes\""
        );
        assert_eq!(
            parse_with(json!({"preSql": ["drop table x"]})).unwrap_err(),
            "preSql: running SQL is not supported by this reader"
        );
    }

    #[test]
    fn wrong_types_name_their_path_and_never_show_a_secret() {
        assert_eq!(
            parse_with(json!({"partition": 5})).unwrap_err(),
            "partition: expected a partition pattern or a list of them, found 5"
        );
        assert_eq!(
            parse_with(json!({"partition": ["pt=1", ["pt=2"]]})).unwrap_err(),
            "partition[1]: expected a string, found [..]"
        );
        assert_eq!(
            parse_with(json!({"column": {"name": "a"}})).unwrap_err(),
            "column: expected a list of column names, found {..}"
        );
        assert_eq!(
            parse_with(json!({"column": ["a", 7]})).unwrap_err(),
            "column[1]: expected a column name, found 7"
        );
        assert_eq!(
            parse_with(json!({"column": ["a", {"type": "x"}]})).unwrap_err(),
            "column[1]: expected a column name (or an object with \"name\")"
        );
        assert_eq!(
            parse_with(json!({"column": ["a", " "]})).unwrap_err(),
            "column[1]: the column name is empty"
        );
        let error = parse_with(json!({"accessKey": ["secret-value"]})).unwrap_err();
        assert!(error.starts_with("accessKey: expected a string"), "{error}");
        assert!(!error.contains("secret-value"), "{error}");
    }

    #[test]
    fn single_names_objects_and_numbers_are_read_as_datax_does() {
        let config = parse_with(json!({
            "column": "*", "partition": [20240101, ""], "maxRetryTime": 10,
            "successOnNoPartition": "TRUE", "preSql": [], "postSql": ""
        }))
        .unwrap();
        assert_eq!(config.columns, vec![ColumnSpec::All]);
        assert_eq!(config.partitions, vec!["20240101"]);
        assert_eq!(config.connection.max_retries, 10);
        assert!(config.success_on_no_partition);
        assert_eq!(config.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
        let config = parse_with(json!({"maxInFlight": "4"})).unwrap();
        assert_eq!(config.max_in_flight, 4);
        let config = parse_with(json!({"column": [{"name": " b "}], "partition": " "})).unwrap();
        assert_eq!(config.columns, vec![ColumnSpec::Name("b".into())]);
        assert!(config.partitions.is_empty());
        assert_eq!(
            parse_with(json!({"maxRetryTime": 0})).unwrap_err(),
            "maxRetryTime: 0 is outside 1..10"
        );
    }

    #[test]
    fn unknown_keys_are_warnings_with_a_did_you_mean() {
        assert_eq!(
            warnings(json!({"datasource": "odps", "accountType": "aliyun", "securityToken": "t"})),
            Vec::<String>::new()
        );
        assert_eq!(
            warnings(json!({"Partition": "pt=1", "colour": 1})),
            [
                "parameter.Partition: unknown key, ignored; did you mean \"partition\"?",
                "parameter.colour: unknown key, ignored"
            ]
        );
    }
}
