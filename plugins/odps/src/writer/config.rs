//! odpswriter's `parameter` (DataX's `odpswriter/doc/odpswriter.md`): [`Parameter`] declares
//! every key once, its doc comments are the docs, read leniently by the kit as the reader's
//! is. [`WriterConfig`] is the checked form the job and its tasks run with. Every error
//! names its key; none prints a secret.

use datax_plugin_api::PluginError;
use datax_plugin_kit::config::{lenient, ConfigError};
use datax_plugin_kit::date::{DatePattern, OutputPattern};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::ClientSettings;
use crate::config::{column_names, required, Connection, ConnectionKeys};
use crate::partition;

/// DataX's default block size.
const DEFAULT_BLOCK_MB: u64 = 64;
/// `blockSizeInMB`'s range: a block is held in memory until the service acknowledges it.
const BLOCK_MB: std::ops::RangeInclusive<u64> = 1..=512;
/// A block is sent once it holds `blockSizeInMB` less this (or a sixteenth of it, when
/// smaller), DataX's margin (`OdpsWriterProxy.maxBufferSize`): the record that crosses the
/// mark still fits, and a body never exceeds the size the service takes.
const BLOCK_MARGIN: usize = 4 << 20;
/// The service's longest STRING / BINARY value unless a project raises it.
const DEFAULT_MAX_FIELD_BYTES: u64 = 8 << 20;
/// `maxFieldLength`'s range, up to the largest a project can allow.
const MAX_FIELD_BYTES: std::ops::RangeInclusive<u64> = 1..=256 << 20;

/// odpswriter's `parameter`: the keys of DataX's odpswriter this writer supports, and
/// DataWorks' `datasource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The DataWorks data source the connection keys come from (`--datasources`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub datasource: Option<String>,
    /// Required: the AccessKey ID. Masked (`*****`) is a configuration error.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_id: Option<String>,
    /// Required: the AccessKey secret. Masked (`*****`) is a configuration error.
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key: Option<String>,
    /// STS credentials only: the token, sent as `authorization-sts-token` (default none).
    #[serde(default, deserialize_with = "lenient::string")]
    pub security_token: Option<String>,
    /// DataX's account type (`aliyun`, the only one): read and ignored.
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_type: Option<String>,
    /// The REST endpoint (default the public `http://service.odps.aliyun.com/api`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub odps_server: Option<String>,
    /// The tunnel endpoint (default: asked of the service).
    #[serde(default, deserialize_with = "lenient::string")]
    pub tunnel_server: Option<String>,
    /// Required: the project holding the table.
    #[serde(default, deserialize_with = "lenient::string")]
    pub project: Option<String>,
    /// Required: the table to write.
    #[serde(default, deserialize_with = "lenient::string")]
    pub table: Option<String>,
    /// Required for a partitioned table, refused for another: one partition naming every
    /// level, `pt=20240101,region=hz`; created when it does not exist.
    #[serde(default, deserialize_with = "lenient::string")]
    pub partition: Option<String>,
    /// Required: the data columns the records fill, in record order (any case, any order);
    /// `["*"]` for every data column in table order. Columns not named are written NULL.
    #[serde(default, deserialize_with = "column_names")]
    pub column: Option<Vec<String>>,
    /// Replace the table's (partition's) rows instead of appending (default false). The old
    /// rows go when the job commits, so a failed job leaves them in place.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub truncate: Option<bool>,
    /// Write an empty string as NULL (default false).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub empty_as_null: Option<bool>,
    /// Send blocks compressed (default false), with `compression`.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_compress: Option<bool>,
    /// The blocks' compression when `isCompress` is true: `deflate` (default, DataX's: the zlib
    /// container), `zstd` or `lz4` (the tunnel's `x-lz4-frame`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub compression: Option<String>,
    /// A STRING, BINARY or JSON value over `maxFieldLength` bytes, or a VARCHAR(n) / CHAR(n)
    /// value over n characters, which the service would refuse with its whole block:
    /// `dirty` (default) makes the record dirty, `truncate` cuts the value (where a character
    /// starts), `setNull` writes NULL, `error` fails the job. DataX's default `keepOn` sends the
    /// value and lets the service fail the job; it is read here as `dirty`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub over_length_rule: Option<String>,
    /// The longest STRING, BINARY or JSON value in bytes, 1 to 268435456 (default 8388608, the
    /// service's unless the project raised it); with `truncate`, values are cut to it.
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_field_length: Option<u64>,
    /// Accepted for DataX's jobs: blocks are always numbered per task (task i of n writes i,
    /// i + n, …) and committed once by the job after every task succeeded, which is what
    /// DataX's `consistencyCommit: true` does; `false` changes nothing.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub consistency_commit: Option<bool>,
    /// The size of an uploaded block in MiB, 1 to 512 (default 64); a task holds one block in
    /// memory until the service acknowledges it.
    #[serde(default, rename = "blockSizeInMB", deserialize_with = "lenient::u64")]
    pub block_size_in_mb: Option<u64>,
    /// Retries of a request after a 5xx answer or a network error, 1 to 10 (default 7).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub max_retry_time: Option<u64>,
    /// Partitions taken from record values (DataX's dynamic partitions): `column` names every
    /// partition key, and each record goes to the partition its values name, created when it is
    /// missing. `partition` is then ignored and `*` refused. Absent: on exactly when `column`
    /// names every partition key, as DataX decides; `false` refuses partition keys in `column`.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub support_dynamic_partition: Option<bool>,
    /// With dynamic partitions, partition keys whose value is a date written in another format:
    /// `[{"name": "pt", "srcDateFormat": "yyyy-MM-dd HH:mm:ss", "dateFormat": "yyyyMMdd"}]`.
    /// A date column is written with `dateFormat` (Java `SimpleDateFormat`, GMT+8 as DataX);
    /// a string is first read with `srcDateFormat` (default: `common.column`'s formats). A
    /// string that does not parse makes the record dirty; other values are taken as text.
    #[serde(default)]
    pub partition_column_mapping: Option<Value>,
    /// Refused when `custom`: DataX's custom partition functions are not supported.
    #[serde(default, deserialize_with = "lenient::string")]
    pub partition_format_type: Option<String>,
    /// Refused: this writer runs no SQL (use `truncate`).
    #[serde(default)]
    pub pre_sql: Option<Value>,
    /// Refused: this writer runs no SQL.
    #[serde(default)]
    pub post_sql: Option<Value>,
}

/// The checked parameter, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterConfig {
    pub connection: Connection,
    pub table: String,
    /// The normalised spec (`pt=1,region=hz`); `None` for an unpartitioned table.
    pub partition: Option<String>,
    /// Column names as written; `None` for `*`.
    pub columns: Option<Vec<String>>,
    pub truncate: bool,
    pub empty_as_null: bool,
    /// The blocks' `Content-Encoding`; `None` uncompressed.
    pub compression: Option<Compression>,
    /// A block is sent once its records take this many bytes: `blockSizeInMB` less a margin.
    pub block_bytes: usize,
    pub over_length_rule: OverLengthRule,
    pub max_field_bytes: usize,
    /// `supportDynamicPartition`; `None` decides from `column` and the table.
    pub dynamic_partition: Option<bool>,
    pub partition_mapping: Vec<PartitionMapping>,
}

/// One entry of `partitionColumnMapping`, its patterns checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionMapping {
    /// The partition key.
    pub name: String,
    /// How a string value is read; `None`: `common.column`'s formats.
    #[serde(default)]
    pub src_date_format: Option<String>,
    /// How the date is written as the partition value.
    pub date_format: String,
}

/// `overLengthRule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLengthRule {
    Dirty,
    Truncate,
    SetNull,
    Error,
}

/// A block compression the tunnel takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Deflate,
    Zstd,
    Lz4,
}

impl Compression {
    /// The `Content-Encoding` the tunnel knows it by.
    pub fn content_encoding(self) -> &'static str {
        match self {
            Compression::Deflate => "deflate",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "x-lz4-frame",
        }
    }
}

impl WriterConfig {
    pub fn new(parameter: &Parameter) -> Result<Self, ConfigError> {
        let p = parameter;
        refuse_sql("preSql", &p.pre_sql)?;
        refuse_sql("postSql", &p.post_sql)?;
        if p.partition_format_type
            .as_deref()
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("custom"))
        {
            return Err(ConfigError::new(
                "partitionFormatType",
                "custom partitions (customPartitionColumns) are not supported; name the \
                 partition keys in column",
            ));
        }
        Ok(WriterConfig {
            connection: Connection::new(ConnectionKeys {
                access_id: &p.access_id,
                access_key: &p.access_key,
                security_token: &p.security_token,
                odps_server: &p.odps_server,
                tunnel_server: &p.tunnel_server,
                project: &p.project,
                max_retry_time: p.max_retry_time,
            })?,
            table: required("table", &p.table, "the table to write")?,
            partition: p
                .partition
                .as_deref()
                .map(partition::normalise)
                .filter(|spec| !spec.is_empty()),
            columns: columns(&p.column)?,
            truncate: p.truncate.unwrap_or(false),
            empty_as_null: p.empty_as_null.unwrap_or(false),
            compression: compression(p.is_compress, &p.compression)?,
            block_bytes: block_bytes(p.block_size_in_mb)?,
            over_length_rule: over_length_rule(&p.over_length_rule)?,
            max_field_bytes: max_field_bytes(p.max_field_length)?,
            dynamic_partition: p.support_dynamic_partition,
            partition_mapping: partition_mapping(&p.partition_column_mapping)?,
        })
    }

    /// The client settings; `tunnel` overrides `tunnelServer` (tasks get the job's).
    pub fn client_settings(&self, tunnel: Option<&str>) -> Result<ClientSettings, PluginError> {
        self.connection.client_settings(tunnel, None)
    }
}

/// `preSql` / `postSql`: any statement is refused; `truncate` covers DataX's usual one.
fn refuse_sql(key: &str, sql: &Option<Value>) -> Result<(), ConfigError> {
    let has_sql = match sql {
        None => false,
        Some(Value::Array(statements)) => !statements.is_empty(),
        Some(other) => !lenient::is_absent(other),
    };
    if has_sql {
        return Err(ConfigError::new(
            key,
            "running SQL is not supported by odpswriter (use truncate to empty the table)",
        ));
    }
    Ok(())
}

/// `column`: names, or `*` alone; none empty or repeated.
fn columns(column: &Option<Vec<String>>) -> Result<Option<Vec<String>>, ConfigError> {
    let names = match column {
        None => {
            return Err(ConfigError::new(
                "column",
                "required: the column names the records fill, or [\"*\"] for every column",
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
    if names.len() == 1 && names[0].trim() == "*" {
        return Ok(None);
    }
    let mut seen: Vec<String> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let name = name.trim();
        let key = format!("column[{index}]");
        if name.is_empty() || name == "*" {
            return Err(ConfigError::new(
                key,
                "expected a column name (\"*\" only alone)",
            ));
        }
        if seen
            .iter()
            .any(|earlier| earlier.eq_ignore_ascii_case(name))
        {
            return Err(ConfigError::new(key, format!("\"{name}\" is named twice")));
        }
        seen.push(name.to_string());
    }
    Ok(Some(seen))
}

/// `partitionColumnMapping`: a list (or its JSON text, as DataX reads it) of `name`,
/// `srcDateFormat` and `dateFormat`, every pattern one `SimpleDateFormat` reads.
fn partition_mapping(mapping: &Option<Value>) -> Result<Vec<PartitionMapping>, ConfigError> {
    const KEY: &str = "partitionColumnMapping";
    let list = match mapping {
        None => return Ok(Vec::new()),
        Some(value) if lenient::is_absent(value) => return Ok(Vec::new()),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map_err(|error| ConfigError::new(KEY, format!("not a JSON list: {error}")))?,
        Some(value) => value.clone(),
    };
    let Value::Array(entries) = list else {
        return Err(ConfigError::new(
            KEY,
            format!("expected a list, got {}", lenient::describe(&list)),
        ));
    };
    let mut mappings: Vec<PartitionMapping> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let key = |field: &str| format!("{KEY}[{index}]{field}");
        let mapping: PartitionMapping = serde_json::from_value(entry).map_err(|error| {
            ConfigError::new(
                key(""),
                format!("expected {{\"name\", \"srcDateFormat\", \"dateFormat\"}}: {error}"),
            )
        })?;
        if mapping.name.trim().is_empty() {
            return Err(ConfigError::new(
                key(".name"),
                "a partition key is required",
            ));
        }
        if mappings
            .iter()
            .any(|m| m.name.eq_ignore_ascii_case(&mapping.name))
        {
            return Err(ConfigError::new(
                key(".name"),
                format!("\"{}\" is mapped twice", mapping.name),
            ));
        }
        if let Some(format) = &mapping.src_date_format {
            DatePattern::compile_java(format)
                .map_err(|message| ConfigError::new(key(".srcDateFormat"), message))?;
        }
        OutputPattern::compile(&mapping.date_format)
            .map_err(|message| ConfigError::new(key(".dateFormat"), message))?;
        mappings.push(mapping);
    }
    Ok(mappings)
}

fn compression(
    is_compress: Option<bool>,
    name: &Option<String>,
) -> Result<Option<Compression>, ConfigError> {
    let chosen = match name.as_deref().map(str::trim) {
        None | Some("") | Some("deflate") | Some("zlib") => Compression::Deflate,
        Some("zstd") => Compression::Zstd,
        Some("lz4") | Some("x-lz4-frame") => Compression::Lz4,
        Some(other) => {
            return Err(ConfigError::new(
                "compression",
                format!("\"{other}\" is not one of deflate, zstd, lz4"),
            ))
        }
    };
    Ok(is_compress.unwrap_or(false).then_some(chosen))
}

fn over_length_rule(rule: &Option<String>) -> Result<OverLengthRule, ConfigError> {
    Ok(match rule.as_deref().map(str::trim) {
        None | Some("") => OverLengthRule::Dirty,
        Some(rule) if rule.eq_ignore_ascii_case("dirty") || rule.eq_ignore_ascii_case("keepOn") => {
            OverLengthRule::Dirty
        }
        Some(rule) if rule.eq_ignore_ascii_case("truncate") => OverLengthRule::Truncate,
        Some(rule) if rule.eq_ignore_ascii_case("setNull") => OverLengthRule::SetNull,
        Some(rule) if rule.eq_ignore_ascii_case("error") => OverLengthRule::Error,
        Some(other) => {
            return Err(ConfigError::new(
                "overLengthRule",
                format!("\"{other}\" is not one of dirty (keepOn), truncate, setNull, error"),
            ))
        }
    })
}

fn max_field_bytes(length: Option<u64>) -> Result<usize, ConfigError> {
    let length = length.unwrap_or(DEFAULT_MAX_FIELD_BYTES);
    if !MAX_FIELD_BYTES.contains(&length) {
        return Err(ConfigError::new(
            "maxFieldLength",
            format!(
                "{length} is outside {}..{}",
                MAX_FIELD_BYTES.start(),
                MAX_FIELD_BYTES.end()
            ),
        ));
    }
    Ok(length as usize)
}

fn block_bytes(megabytes: Option<u64>) -> Result<usize, ConfigError> {
    let megabytes = megabytes.unwrap_or(DEFAULT_BLOCK_MB);
    if !BLOCK_MB.contains(&megabytes) {
        return Err(ConfigError::new(
            "blockSizeInMB",
            format!(
                "{megabytes} is outside {}..{}",
                BLOCK_MB.start(),
                BLOCK_MB.end()
            ),
        ));
    }
    let size = megabytes as usize * 1024 * 1024;
    Ok(size - (size / 16).min(BLOCK_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_kit::config;

    fn parse(json: Value) -> Result<WriterConfig, ConfigError> {
        let parameter = config::parse::<Parameter>(&json.to_string(), "parameter")
            .unwrap()
            .value;
        WriterConfig::new(&parameter)
    }

    fn minimal() -> Value {
        serde_json::json!({"accessId": "id", "accessKey": "key", "project": "p",
                           "table": "t", "column": ["*"]})
    }

    #[test]
    fn defaults_follow_datax() {
        let config = parse(minimal()).unwrap();
        assert_eq!(config.columns, None);
        assert_eq!(config.block_bytes, 60 << 20, "DataX's 4 MiB margin");
        assert!(!config.truncate && !config.empty_as_null);
        assert_eq!(config.compression, None);
        assert_eq!(config.over_length_rule, OverLengthRule::Dirty);
        assert_eq!(config.max_field_bytes, 8 << 20);
        assert_eq!(
            config.connection.odps_server,
            crate::config::PUBLIC_ODPS_SERVER
        );
        assert_eq!(config.partition, None);
    }

    #[test]
    fn lenient_values_and_a_normalised_partition() {
        let mut json = minimal();
        json["partition"] = " pt = '20240101' , region=hz".into();
        json["truncate"] = "true".into();
        json["blockSizeInMB"] = "8".into();
        json["column"] = serde_json::json!(["B", "a"]);
        let config = parse(json).unwrap();
        assert_eq!(config.partition.as_deref(), Some("pt=20240101,region=hz"));
        assert!(config.truncate);
        assert_eq!(config.block_bytes, (8 << 20) - (512 << 10));
        assert_eq!(config.columns, Some(vec!["B".to_string(), "a".to_string()]));
    }

    #[test]
    fn compression_over_length_and_datax_keys() {
        let with = |extra: Value| {
            let mut json = minimal();
            for (key, value) in extra.as_object().unwrap() {
                json[key] = value.clone();
            }
            parse(json).unwrap()
        };
        let config = with(serde_json::json!({"isCompress": true}));
        assert_eq!(config.compression, Some(Compression::Deflate));
        let config = with(serde_json::json!({"isCompress": "true", "compression": "lz4"}));
        assert_eq!(config.compression, Some(Compression::Lz4));
        assert_eq!(
            with(serde_json::json!({"compression": "zstd"})).compression,
            None,
            "isCompress decides"
        );
        let config =
            with(serde_json::json!({"overLengthRule": "keepOn", "consistencyCommit": true}));
        assert_eq!(config.over_length_rule, OverLengthRule::Dirty);
        let config = with(serde_json::json!({"overLengthRule": "SETNULL", "maxFieldLength": "10"}));
        assert_eq!(config.over_length_rule, OverLengthRule::SetNull);
        assert_eq!(config.max_field_bytes, 10);
    }

    #[test]
    fn dynamic_partitions_and_their_date_mapping() {
        let mut json = minimal();
        json["supportDynamicPartition"] = "true".into();
        json["partitionColumnMapping"] = serde_json::json!(
            r#"[{"name": "pt", "srcDateFormat": "yyyy-MM-dd HH:mm:ss", "dateFormat": "yyyyMMdd"}]"#
        );
        let config = parse(json).unwrap();
        assert_eq!(config.dynamic_partition, Some(true));
        assert_eq!(
            config.partition_mapping,
            vec![PartitionMapping {
                name: "pt".into(),
                src_date_format: Some("yyyy-MM-dd HH:mm:ss".into()),
                date_format: "yyyyMMdd".into(),
            }]
        );
        assert_eq!(parse(minimal()).unwrap().dynamic_partition, None);
    }

    #[test]
    fn errors_name_their_key() {
        let with = |key: &str, value: Value| {
            let mut json = minimal();
            json[key] = value;
            parse(json).unwrap_err().to_string()
        };
        assert!(with("column", serde_json::json!(["a", "A"])).contains("column[1]"));
        assert!(with("column", serde_json::json!([])).contains("column"));
        assert!(with("blockSizeInMB", 0.into()).contains("blockSizeInMB"));
        assert!(with("overLengthRule", "cut".into()).contains("overLengthRule"));
        assert!(with("maxFieldLength", 0.into()).contains("maxFieldLength"));
        assert!(with("compression", "snappy".into()).contains("compression"));
        assert!(with("preSql", serde_json::json!(["truncate table t"])).contains("preSql"));
        let mapping = |entry: Value| with("partitionColumnMapping", serde_json::json!([entry]));
        assert!(mapping(serde_json::json!({"name": "pt"})).contains("partitionColumnMapping[0]"));
        assert!(
            mapping(serde_json::json!({"name": "pt", "dateFormat": "yyyyMMdd",
                                           "srcDateFormat": "qq"}))
            .contains("partitionColumnMapping[0].srcDateFormat")
        );
        assert!(with("partitionColumnMapping", "{".into()).contains("partitionColumnMapping"));
        assert!(with("partitionFormatType", "custom".into()).contains("partitionFormatType"));
        assert!(with("accessKey", "*****".into()).contains("accessKey"));
        assert!(!with("accessKey", "*****".into()).contains("key\""));
    }
}
