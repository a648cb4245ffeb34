//! Dynamic partitions (DataX's `supportDynamicPartition`, `OdpsUtil.getPartColValFromDataXRecord`):
//! `column` names the partition keys among the data columns, and each record's values at
//! those places name its partition. [`dynamic_mode`] decides, as DataX's `dealDynamicPartition`
//! does, whether a job writes this way; [`PartitionRouter`] gives a record's partition spec,
//! or the reason the record is dirty.

use datax_plugin_api::{Column, PluginError, Record};
use datax_plugin_kit::calendar::{DATAX_DEFAULT_OFFSET_SECONDS, SECONDS_PER_DAY};
use datax_plugin_kit::date::{DatePattern, OutputPattern};
use datax_plugin_kit::text::TextStyle;

use crate::partition;
use crate::schema::TableSchema;

use super::config::{PartitionMapping, WriterConfig};

/// Characters the spec syntax (`k=v,k2=v2`, `/` a level separator, quotes stripped) would
/// misread in a value; the service refuses control characters.
const NOT_IN_A_VALUE: &[char] = &[',', '=', '/', '\'', '"'];

/// Whether the job takes partitions from record values: `supportDynamicPartition` when given,
/// else whether `column` names every partition key. Naming some keys but not all, or keys
/// with `supportDynamicPartition: false`, is an error naming them.
pub fn dynamic_mode(config: &WriterConfig, schema: &TableSchema) -> Result<bool, PluginError> {
    let keys = schema.partition_key_names();
    let named: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|key| {
            config
                .columns
                .iter()
                .flatten()
                .any(|name| name.eq_ignore_ascii_case(key))
        })
        .collect();
    let all_named = !keys.is_empty() && named.len() == keys.len();
    let refuse = |message: String| Err(PluginError::config(message));
    match config.dynamic_partition {
        Some(true) if keys.is_empty() => {
            refuse("supportDynamicPartition: the table is not partitioned".into())
        }
        Some(true) if config.columns.is_none() => refuse(
            "column: with supportDynamicPartition name the columns, partition keys included \
             (\"*\" names only the data columns)"
                .into(),
        ),
        Some(true) if !all_named => refuse(format!(
            "column: with supportDynamicPartition name every partition key ({}) among the \
             columns",
            keys.join(", ")
        )),
        Some(false) if !named.is_empty() => refuse(format!(
            "column: names the partition key {} while supportDynamicPartition is false: name the \
             partition in partition instead",
            named.join(", ")
        )),
        None if !named.is_empty() && !all_named => refuse(format!(
            "column: names the partition key {} but not every one ({}): name them all to take \
             partitions from the records, or none and one partition in partition",
            named.join(", "),
            keys.join(", ")
        )),
        Some(dynamic) => Ok(dynamic),
        None => Ok(all_named),
    }
}

/// A record's partition, from the record columns `column` names partition keys.
pub struct PartitionRouter {
    /// In the table's key order.
    keys: Vec<KeySource>,
    text_style: TextStyle,
}

struct KeySource {
    name: String,
    record_index: usize,
    mapping: Option<DateMapping>,
}

/// `partitionColumnMapping`'s entry, compiled.
struct DateMapping {
    source: Option<(String, DatePattern)>,
    target: OutputPattern,
}

impl PartitionRouter {
    /// Every key must be named in `names`; every mapping must name a key.
    pub fn new(
        names: &[String],
        schema: &TableSchema,
        mappings: &[PartitionMapping],
        text_style: TextStyle,
    ) -> Result<Self, PluginError> {
        let keys = schema.partition_key_names();
        if let Some((index, unknown)) = mappings.iter().enumerate().find(|(_, mapping)| {
            !keys
                .iter()
                .any(|key| key.eq_ignore_ascii_case(&mapping.name))
        }) {
            return Err(PluginError::config(format!(
                "partitionColumnMapping[{index}].name: \"{}\" is not a partition key ({})",
                unknown.name,
                keys.join(", ")
            )));
        }
        let keys = keys
            .iter()
            .map(|key| {
                let record_index = names
                    .iter()
                    .position(|name| name.eq_ignore_ascii_case(key))
                    .ok_or_else(|| {
                        PluginError::config(format!("column: the partition key {key} is not named"))
                    })?;
                let mapping = mappings
                    .iter()
                    .find(|mapping| mapping.name.eq_ignore_ascii_case(key))
                    .map(DateMapping::compile)
                    .transpose()?;
                Ok(KeySource {
                    name: key.to_string(),
                    record_index,
                    mapping,
                })
            })
            .collect::<Result<_, PluginError>>()?;
        Ok(PartitionRouter { keys, text_style })
    }

    /// The record's spec, `pt=20240101,region=hz` with the table's key names in key order;
    /// the error is the reason the record is dirty.
    pub fn spec(&self, record: &Record) -> Result<String, String> {
        let levels = self
            .keys
            .iter()
            .map(|key| {
                let column = record
                    .columns
                    .get(key.record_index)
                    .unwrap_or(&Column::Null);
                self.value(key, column)
                    .map(|value| (key.name.clone(), value))
                    .map_err(|reason| format!("partition key {}: {reason}", key.name))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(partition::spec_text(&levels))
    }

    fn value(&self, key: &KeySource, column: &Column) -> Result<String, String> {
        if matches!(column, Column::Null) {
            return Err("the value is null, which names no partition".into());
        }
        let value = match &key.mapping {
            Some(mapping) => mapping.apply(column, &self.text_style)?,
            None => None,
        };
        let value = match value {
            Some(value) => value,
            None => self.as_text(column)?,
        };
        if value.trim().is_empty() {
            return Err("the value is empty, which names no partition".into());
        }
        if let Some(bad) = value
            .chars()
            .find(|c| NOT_IN_A_VALUE.contains(c) || c.is_control())
        {
            return Err(format!(
                "\"{}\" cannot be a partition value (it holds {bad:?})",
                shown(&value)
            ));
        }
        Ok(value)
    }

    fn as_text(&self, column: &Column) -> Result<String, String> {
        let mut text = Vec::new();
        self.text_style
            .write(&mut text, column)
            .map_err(|_| "a NaN or infinite number names no partition".to_string())?;
        String::from_utf8(text).map_err(|_| "the value is not UTF-8 text".to_string())
    }
}

impl DateMapping {
    fn compile(mapping: &PartitionMapping) -> Result<Self, PluginError> {
        let invalid = |message: String| {
            PluginError::config(format!(
                "partitionColumnMapping ({}): {message}",
                mapping.name
            ))
        };
        let source = match &mapping.src_date_format {
            Some(format) => Some((
                format.clone(),
                DatePattern::compile_java(format).map_err(invalid)?,
            )),
            None => None,
        };
        Ok(DateMapping {
            source,
            target: OutputPattern::compile(&mapping.date_format).map_err(invalid)?,
        })
    }

    /// The date in `dateFormat` at GMT+8 (DataX's `date2StringWithFormat`); `None` for a value
    /// that is neither a date nor a string, which DataX takes as it is.
    fn apply(&self, column: &Column, text_style: &TextStyle) -> Result<Option<String>, String> {
        let (seconds, nanos) = match column {
            Column::DateTime(time) | Column::Timestamp(time) => (time.seconds, time.nanos),
            Column::Date(days) => (
                i64::from(*days) * SECONDS_PER_DAY - DATAX_DEFAULT_OFFSET_SECONDS,
                0,
            ),
            Column::String(text) => (self.parse(text, text_style)?, 0),
            _ => return Ok(None),
        };
        let mut out = Vec::new();
        if !self
            .target
            .write(&mut out, seconds, nanos, DATAX_DEFAULT_OFFSET_SECONDS)
        {
            return Err("the date is out of range".into());
        }
        String::from_utf8(out)
            .map(Some)
            .map_err(|_| "dateFormat wrote no UTF-8 text".into())
    }

    /// Seconds since the epoch of a date text, read as `SimpleDateFormat.parse` reads it.
    fn parse(&self, text: &str, text_style: &TextStyle) -> Result<i64, String> {
        match &self.source {
            Some((format, pattern)) => pattern
                .parse_seconds(text, DATAX_DEFAULT_OFFSET_SECONDS)
                .ok_or_else(|| {
                    format!(
                        "\"{}\" does not match srcDateFormat \"{format}\"",
                        shown(text)
                    )
                }),
            None => text_style
                .parse_date_millis(text)
                .map(|millis| millis.div_euclid(1000))
                .ok_or_else(|| {
                    format!(
                        "\"{}\" is not a date in common.column's formats (set srcDateFormat)",
                        shown(text)
                    )
                }),
        }
    }
}

/// A value in a reason: its first 64 characters.
fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;
    use serde_json::json;

    use super::*;

    fn schema() -> TableSchema {
        TableSchema::from_json(&json!({
            "columns": [{"name": "id", "type": "bigint"}],
            "partitionKeys": [{"name": "pt", "type": "string"}, {"name": "region", "type": "string"}]
        }))
        .unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn router(mappings: Vec<PartitionMapping>) -> PartitionRouter {
        let names = names(&["REGION", "id", "pt"]);
        PartitionRouter::new(&names, &schema(), &mappings, TextStyle::default()).unwrap()
    }

    fn record(columns: Vec<Column>) -> Record {
        Record {
            columns: columns.into(),
        }
    }

    fn day_mapping(src: Option<&str>) -> PartitionMapping {
        PartitionMapping {
            name: "PT".into(),
            src_date_format: src.map(str::to_string),
            date_format: "yyyyMMdd".into(),
        }
    }

    #[test]
    fn specs_follow_the_tables_key_order() {
        let spec = router(Vec::new()).spec(&record(vec![
            Column::string("hz"),
            Column::Long(1),
            Column::Long(20240101),
        ]));
        assert_eq!(spec.unwrap(), "pt=20240101,region=hz");
    }

    #[test]
    fn dates_are_mapped_through_their_formats_at_gmt8() {
        let router = router(vec![day_mapping(Some("yyyy/MM/dd HH:mm"))]);
        let spec =
            |pt: Column| router.spec(&record(vec![Column::string("hz"), Column::Long(1), pt]));
        assert_eq!(
            spec(Column::string("2016/12/26 23:30")).unwrap(),
            "pt=20161226,region=hz"
        );
        // 2016-12-26 16:30 UTC is the 27th at GMT+8.
        let instant = EpochTime {
            seconds: 1_482_769_800,
            nanos: 0,
        };
        assert_eq!(
            spec(Column::DateTime(instant)).unwrap(),
            "pt=20161227,region=hz"
        );
        assert_eq!(spec(Column::Date(17161)).unwrap(), "pt=20161226,region=hz");
        assert_eq!(
            spec(Column::Long(7)).unwrap(),
            "pt=7,region=hz",
            "as DataX: as it is"
        );
        let error = spec(Column::string("26.12.2016")).unwrap_err();
        assert!(
            error.contains("partition key pt") && error.contains("srcDateFormat"),
            "{error}"
        );
        let router = self::router(vec![day_mapping(None)]);
        let spec = router.spec(&record(vec![
            Column::string("hz"),
            Column::Long(1),
            Column::string("2016-12-26 10:00:00"),
        ]));
        assert_eq!(spec.unwrap(), "pt=20161226,region=hz");
    }

    #[test]
    fn missing_empty_and_unsafe_values_are_reasons() {
        let router = router(Vec::new());
        let spec =
            |region: Column| router.spec(&record(vec![region, Column::Long(1), Column::Long(2)]));
        assert!(spec(Column::Null)
            .unwrap_err()
            .contains("region: the value is null"));
        assert!(spec(Column::string(" ")).unwrap_err().contains("empty"));
        assert!(spec(Column::string("a,b")).unwrap_err().contains("','"));
        assert!(spec(Column::string("a=b")).unwrap_err().contains("'='"));
        let short = router.spec(&record(vec![Column::string("hz")]));
        assert!(short
            .unwrap_err()
            .contains("partition key pt: the value is null"));
    }

    #[test]
    fn the_mode_follows_datax() {
        let config = |columns: &[&str], dynamic: Option<bool>| WriterConfig {
            columns: Some(names(columns)),
            dynamic_partition: dynamic,
            ..test_config()
        };
        let schema = schema();
        assert!(dynamic_mode(&config(&["id", "pt", "region"], None), &schema).unwrap());
        assert!(!dynamic_mode(&config(&["id"], None), &schema).unwrap());
        assert!(dynamic_mode(&config(&["id", "pt"], None), &schema).is_err());
        assert!(dynamic_mode(&config(&["id", "pt"], Some(true)), &schema).is_err());
        assert!(dynamic_mode(&config(&["id", "pt", "region"], Some(false)), &schema).is_err());
        let mut star = config(&["id"], Some(true));
        star.columns = None;
        assert!(dynamic_mode(&star, &schema).is_err());
        let error = PartitionRouter::new(
            &names(&["id", "pt", "region"]),
            &schema,
            &[PartitionMapping {
                name: "id".into(),
                src_date_format: None,
                date_format: "yyyy".into(),
            }],
            TextStyle::default(),
        )
        .err()
        .unwrap();
        assert!(
            error.message.contains("partitionColumnMapping[0].name"),
            "{error:?}"
        );
    }

    fn test_config() -> WriterConfig {
        let parameter = json!({"accessId": "id", "accessKey": "key", "project": "p",
                               "table": "t", "column": ["*"]});
        let parameter = datax_plugin_kit::config::parse::<super::super::config::Parameter>(
            &parameter.to_string(),
            "parameter",
        )
        .unwrap()
        .value;
        WriterConfig::new(&parameter).unwrap()
    }
}
