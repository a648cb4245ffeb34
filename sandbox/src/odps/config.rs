//! The MaxCompute part of the sandbox configuration, and its conversion into typed tables.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::codec::WireOptions;
use super::generator::{time_text_pattern, TimeTextPattern};
use super::meta::{Column, Partition, RowSource, Table};
use super::types::{OdpsType, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdpsConfig {
    #[serde(default)]
    pub projects: Vec<ProjectConfig>,
    /// Optional wire forms for tunnel bodies (metrics block, long CRC varints).
    #[serde(default)]
    pub wire: WireOptions,
    /// MiB of encoded records of generated tables kept for later downloads of the same rows
    /// (least recently used dropped first); 0 encodes every download afresh.
    #[serde(default = "default_record_cache_mib")]
    pub record_cache_mib: u64,
}

fn default_record_cache_mib() -> u64 {
    256
}

impl Default for OdpsConfig {
    fn default() -> Self {
        OdpsConfig {
            projects: Vec::new(),
            wire: WireOptions::default(),
            record_cache_mib: default_record_cache_mib(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub name: String,
    #[serde(default)]
    pub tables: Vec<TableConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub name: String,
    pub columns: Vec<ColumnConfig>,
    #[serde(default)]
    pub partition_keys: Vec<ColumnConfig>,
    /// Rows of an unpartitioned table.
    #[serde(default, flatten)]
    pub data: DataConfig,
    /// Partitions of a partitioned table, each with its own rows.
    #[serde(default)]
    pub partitions: Vec<PartitionConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub comment: String,
    /// For generated rows of a string column: a strftime pattern. The column then holds a
    /// generated time written with it in GMT+8, like the seed's `time_str` column
    /// (`%Y_%m_%d %H:%M:%S` → `2016_12_26 10:00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// `key=value` pairs joined with `,`, in partition-key order, e.g. `pt=20161226`.
    pub spec: String,
    #[serde(default, flatten)]
    pub data: DataConfig,
}

/// Either literal rows (`"rows": [[1, "a"], …]`, one JSON value per column) or a row count
/// for the seeded generator (`"rows": 100000000, "seed": 7`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataConfig {
    #[serde(default)]
    pub rows: Option<RowsConfig>,
    #[serde(default)]
    pub seed: u64,
    /// Share of generated cells that are NULL, in percent.
    #[serde(default)]
    pub null_percent: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RowsConfig {
    Generated(u64),
    Literal(Vec<Vec<Json>>),
}

impl OdpsConfig {
    pub fn record_cache_bytes(&self) -> usize {
        usize::try_from(self.record_cache_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        for project in &self.projects {
            for table in &project.tables {
                table.to_table()?;
            }
        }
        Ok(())
    }
}

impl TableConfig {
    pub fn to_table(&self) -> anyhow::Result<Table> {
        let context = |e: String| anyhow::anyhow!("table {}: {e}", self.name);
        let columns = parse_columns(&self.columns).map_err(context)?;
        let partition_keys = parse_columns(&self.partition_keys).map_err(context)?;
        let time_texts = parse_time_texts(&self.columns, &columns).map_err(context)?;
        let mut partitions = Vec::new();
        if partition_keys.is_empty() {
            if !self.partitions.is_empty() {
                return Err(context("has partitions but no partition_keys".into()));
            }
        } else {
            if self.data.rows.is_some() {
                return Err(context(
                    "is partitioned: put its rows under partitions".into(),
                ));
            }
            for partition in &self.partitions {
                let spec = parse_partition_spec(&partition.spec);
                let names: Vec<&str> = spec.iter().map(|(k, _)| k.as_str()).collect();
                let keys: Vec<&str> = partition_keys.iter().map(|c| c.name.as_str()).collect();
                if names != keys {
                    return Err(context(format!(
                        "partition '{}' must name the keys {keys:?} in order",
                        partition.spec
                    )));
                }
                partitions.push(Partition {
                    spec,
                    rows: partition
                        .data
                        .to_row_source(&columns, &time_texts)
                        .map_err(context)?,
                });
            }
        }
        let rows = self
            .data
            .to_row_source(&columns, &time_texts)
            .map_err(context)?;
        Ok(Table {
            cache_id: super::meta::next_cache_id(),
            name: self.name.clone(),
            columns,
            partition_keys,
            rows,
            partitions,
        })
    }
}

fn parse_columns(columns: &[ColumnConfig]) -> Result<Vec<Column>, String> {
    columns
        .iter()
        .map(|c| {
            Ok(Column {
                name: c.name.clone(),
                odps_type: OdpsType::parse(&c.type_name)
                    .map_err(|e| format!("column {}: {e}", c.name))?,
                comment: c.comment.clone(),
            })
        })
        .collect()
}

/// Each column's `time_text` pattern, checked: string columns only, a pattern chrono can write.
fn parse_time_texts(
    configs: &[ColumnConfig],
    columns: &[Column],
) -> Result<Vec<Option<TimeTextPattern>>, String> {
    configs
        .iter()
        .zip(columns)
        .map(|(config, column)| {
            let Some(pattern) = &config.time_text else {
                return Ok(None);
            };
            if column.odps_type != OdpsType::String {
                return Err(format!(
                    "column {}: time_text needs a string column",
                    column.name
                ));
            }
            time_text_pattern(pattern).map(Some).ok_or_else(|| {
                format!(
                    "column {}: time_text \"{pattern}\" is not a strftime pattern",
                    column.name
                )
            })
        })
        .collect()
}

/// Splits `pt=20161226,region=hz` into pairs. Quotes are dropped, as both SDKs strip them
/// before sending (odps-tunnel.md §3.1).
pub fn parse_partition_spec(spec: &str) -> Vec<(String, String)> {
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
            (unquote(key), unquote(value))
        })
        .collect()
}

impl DataConfig {
    fn to_row_source(
        &self,
        columns: &[Column],
        time_texts: &[Option<TimeTextPattern>],
    ) -> Result<RowSource, String> {
        Ok(match &self.rows {
            None => RowSource::Literal(Vec::new()),
            Some(RowsConfig::Generated(count)) => RowSource::Generated {
                count: *count,
                seed: self.seed,
                null_percent: self.null_percent.min(100),
                time_texts: time_texts.to_vec(),
            },
            Some(RowsConfig::Literal(rows)) => {
                let mut typed = Vec::with_capacity(rows.len());
                for (row_number, row) in rows.iter().enumerate() {
                    if row.len() != columns.len() {
                        return Err(format!(
                            "row {row_number} has {} values for {} columns",
                            row.len(),
                            columns.len()
                        ));
                    }
                    let values = row
                        .iter()
                        .zip(columns)
                        .map(|(json, column)| {
                            value_from_json(json, &column.odps_type).map_err(|e| {
                                format!("row {row_number}, column {}: {e}", column.name)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    typed.push(values);
                }
                RowSource::Literal(typed)
            }
        })
    }
}

/// A DOUBLE or FLOAT given as text, for values a JSON number cannot hold exactly: `"0x…"`
/// raw IEEE-754 bits, or decimal text (`"NaN"`, `"inf"` and `"-inf"` too) read exactly.
fn float_text<T: std::str::FromStr>(text: &str, from_bits: impl Fn(u64) -> Option<T>) -> Option<T> {
    match text.trim().strip_prefix("0x") {
        Some(hex) => from_bits(u64::from_str_radix(hex, 16).ok()?),
        None => text.trim().parse().ok(),
    }
}

/// Reads one literal cell. Times without an offset are taken as UTC: `"2016-12-26 10:00:00"`,
/// `"2016-12-26 10:00:00+08:00"`,
/// `"2016-12-26 10:00:00.123456789"` and `"2016-12-26"`; DATETIME also takes epoch
/// milliseconds and DATE epoch days as numbers; DOUBLE and FLOAT take text (`float_text`).
pub fn value_from_json(json: &Json, odps_type: &OdpsType) -> Result<Value, String> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    let wrong = || format!("{json} is not a valid {odps_type}");
    Ok(match odps_type {
        OdpsType::Bigint | OdpsType::Int | OdpsType::Smallint | OdpsType::Tinyint => {
            Value::Int(match json {
                Json::String(s) => s.trim().parse().map_err(|_| wrong())?,
                _ => json.as_i64().ok_or_else(wrong)?,
            })
        }
        OdpsType::Double => Value::Double(match json {
            Json::String(s) => {
                float_text(s, |bits| Some(f64::from_bits(bits))).ok_or_else(wrong)?
            }
            _ => json.as_f64().ok_or_else(wrong)?,
        }),
        OdpsType::Float => Value::Float(match json {
            Json::String(s) => {
                float_text(s, |bits| Some(f32::from_bits(u32::try_from(bits).ok()?)))
                    .ok_or_else(wrong)?
            }
            _ => json.as_f64().ok_or_else(wrong)? as f32,
        }),
        OdpsType::Boolean => Value::Bool(json.as_bool().ok_or_else(wrong)?),
        OdpsType::String
        | OdpsType::Varchar(_)
        | OdpsType::Char(_)
        | OdpsType::Binary
        | OdpsType::Json => match json {
            Json::String(s) => Value::Bytes(s.as_bytes().to_vec()),
            other if *odps_type == OdpsType::Json => Value::Bytes(other.to_string().into_bytes()),
            _ => return Err(wrong()),
        },
        OdpsType::Decimal { .. } => match json {
            Json::String(s) => Value::Bytes(s.trim().as_bytes().to_vec()),
            Json::Number(n) => Value::Bytes(n.to_string().into_bytes()),
            _ => return Err(wrong()),
        },
        OdpsType::Datetime => match json {
            Json::Number(_) => Value::Datetime(json.as_i64().ok_or_else(wrong)?),
            Json::String(s) => {
                let (seconds, nanos) = parse_utc_time(s).ok_or_else(wrong)?;
                Value::Datetime(seconds * 1000 + i64::from(nanos / 1_000_000))
            }
            _ => return Err(wrong()),
        },
        OdpsType::Date => match json {
            Json::Number(_) => Value::Date(json.as_i64().ok_or_else(wrong)?),
            Json::String(s) => {
                let date =
                    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| wrong())?;
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(wrong)?;
                Value::Date((date - epoch).num_days())
            }
            _ => return Err(wrong()),
        },
        OdpsType::Timestamp | OdpsType::TimestampNtz => {
            let (seconds, nanos) =
                parse_utc_time(json.as_str().ok_or_else(wrong)?).ok_or_else(wrong)?;
            Value::Timestamp { seconds, nanos }
        }
        OdpsType::Array(element) => Value::Array(
            json.as_array()
                .ok_or_else(wrong)?
                .iter()
                .map(|item| value_from_json(item, element))
                .collect::<Result<_, _>>()?,
        ),
        OdpsType::Map(key_type, value_type) => {
            let mut entries = Vec::new();
            for (key, value) in json.as_object().ok_or_else(wrong)? {
                let key = match **key_type {
                    OdpsType::String | OdpsType::Varchar(_) | OdpsType::Char(_) => {
                        Json::String(key.clone())
                    }
                    _ => serde_json::from_str(key).map_err(|_| wrong())?,
                };
                entries.push((
                    value_from_json(&key, key_type)?,
                    value_from_json(value, value_type)?,
                ));
            }
            Value::Map(entries)
        }
        OdpsType::Struct(fields) => {
            let object = json.as_object().ok_or_else(wrong)?;
            Value::Struct(
                fields
                    .iter()
                    .map(|(name, field_type)| {
                        value_from_json(object.get(name).unwrap_or(&Json::Null), field_type)
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

/// Parses a wall-clock time into floored epoch seconds and nanoseconds: UTC unless it ends
/// with an offset (`"2016-12-26 10:00:00+08:00"`, a MaxCompute project's usual zone).
fn parse_utc_time(text: &str) -> Option<(i64, i32)> {
    let text = text.trim();
    let with_offset = ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"]
        .iter()
        .find_map(|format| chrono::DateTime::parse_from_str(text, format).ok())
        .map(|time| time.to_utc());
    let parsed = match with_offset {
        Some(utc) => utc,
        None => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .ok()?
            .and_utc(),
    };
    Some((parsed.timestamp(), parsed.timestamp_subsec_nanos() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_times_are_utc_unless_they_carry_an_offset() {
        assert_eq!(
            parse_utc_time("2016-12-26 10:00:00"),
            Some((1_482_746_400, 0))
        );
        assert_eq!(
            parse_utc_time("2016-12-26 10:00:00.5+08:00"),
            Some((1_482_746_400 - 8 * 3600, 500_000_000))
        );
    }

    #[test]
    fn doubles_and_floats_given_as_bits_or_text_are_exact() {
        let double = |json: Json| match value_from_json(&json, &OdpsType::Double).unwrap() {
            Value::Double(value) => value.to_bits(),
            other => panic!("{other:?}"),
        };
        assert_eq!(double(Json::from("0x1")), 1);
        assert_eq!(double(Json::from("0.1")), 0.1f64.to_bits());
        assert!(f64::from_bits(double(Json::from("NaN"))).is_nan());
        let float = |json: Json| match value_from_json(&json, &OdpsType::Float).unwrap() {
            Value::Float(value) => value.to_bits(),
            other => panic!("{other:?}"),
        };
        assert_eq!(float(Json::from("0x7f7fffff")), f32::MAX.to_bits());
        assert!(value_from_json(&Json::from("0x100000000"), &OdpsType::Float).is_err());
    }
}
