//! What PullLogs returns, a protobuf `LogGroupList` of sls-putlogs.md §5's groups, decoded with
//! prost's derive (no `protoc`), and how each log becomes a record: one string column per
//! `column` entry, found as DataX's loghubreader finds it.
//!
//! Text fields are declared `bytes` and read lossily as UTF-8, as the Java SDK reads them, so
//! that one value that is not UTF-8 does not fail a whole pull.

use std::borrow::Cow;

use datax_plugin_api::Column;
use serde_json::{Map, Value};

#[derive(Clone, PartialEq, prost::Message)]
pub struct LogGroupList {
    #[prost(message, repeated, tag = "1")]
    pub log_groups: Vec<LogGroup>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    /// `Reserved` in the .proto; the Java SDK's `Category`.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub category: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub topic: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub source: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub machine_uuid: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Log {
    /// Unix seconds.
    #[prost(uint32, optional, tag = "1")]
    pub time: Option<u32>,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<KeyValue>,
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

/// A log's content or a group's tag.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub value: Option<Vec<u8>>,
}

/// prost's accessors `key()` and `value()` read an absent field as empty.
impl KeyValue {
    fn value_text(&self) -> String {
        text(self.value())
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn optional_text(bytes: &Option<Vec<u8>>) -> Option<String> {
    bytes.as_deref().map(text)
}

/// A field of the log group (or the log's time), by DataX's meta column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaField {
    Topic,
    Source,
    Category,
    MachineUuid,
    /// The log's time, Unix seconds.
    LogTime,
}

/// Where one record column comes from, when the log has no key of the column's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    Meta(MetaField),
    /// A tag of the log group, by its key.
    Tag(String),
    /// `'text'`: the text.
    Constant(String),
    /// `C__extract_others__`: the keys no column names, as a JSON object.
    ExtractOthers,
    /// `C__extract_all_meta__`: the meta fields and tags, as a JSON object.
    ExtractAllMeta,
}

/// One `column` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSource {
    /// The log's key `name` if it has one (DataX looks there first, for every name), else
    /// `fallback`; null when that is absent too.
    Key { name: String, fallback: Fallback },
    /// `["*"]`: every key of the log as `key:value`, sorted by key.
    AllKeys,
}

impl ColumnSource {
    /// The sources of a `column` list (names already checked non-empty).
    pub fn for_columns(names: &[String]) -> Vec<ColumnSource> {
        if let [only] = names {
            if only == "*" || only == "\"*\"" {
                return vec![ColumnSource::AllKeys];
            }
        }
        names
            .iter()
            .map(|name| ColumnSource::Key {
                name: name.clone(),
                fallback: fallback(name),
            })
            .collect()
    }
}

fn fallback(name: &str) -> Fallback {
    let meta = |field| Fallback::Meta(field);
    match name {
        "C_Topic" | "__topic__" => meta(MetaField::Topic),
        "C_Source" | "__source__" => meta(MetaField::Source),
        "C_Category" | "__category__" => meta(MetaField::Category),
        "C_MachineUUID" | "__machineUUID__" => meta(MetaField::MachineUuid),
        "C_LogTime" | "__logtime__" | "__time__" => meta(MetaField::LogTime),
        "C_HostName" => Fallback::Tag("__hostname__".into()),
        "C_Path" => Fallback::Tag("__path__".into()),
        "C__extract_others__" => Fallback::ExtractOthers,
        "C__extract_all_meta__" => Fallback::ExtractAllMeta,
        _ => {
            if let Some(tag) = name.strip_prefix("__tag__:") {
                Fallback::Tag(tag.to_string())
            } else if name.len() >= 2 && name.starts_with('\'') && name.ends_with('\'') {
                Fallback::Constant(name[1..name.len() - 1].to_string())
            } else {
                // DataX's meta map holds every tag by its key (`__receive_time__`).
                Fallback::Tag(name.to_string())
            }
        }
    }
}

/// Turns logs into records as `column` says.
pub struct RecordBuilder {
    columns: Vec<ColumnSource>,
    /// The names `column` lists, left out of `C__extract_others__`.
    listed: Vec<String>,
}

impl RecordBuilder {
    pub fn new(columns: Vec<ColumnSource>) -> Self {
        let listed = columns
            .iter()
            .filter_map(|column| match column {
                ColumnSource::Key { name, .. } => Some(name.clone()),
                ColumnSource::AllKeys => None,
            })
            .collect();
        RecordBuilder { columns, listed }
    }

    /// The record of `log` of `group`.
    pub fn record(&self, group: &LogGroup, log: &Log) -> Vec<Column> {
        let mut record = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            match column {
                ColumnSource::AllKeys => {
                    let mut pairs: Vec<(Cow<'_, str>, String)> = last_values(log)
                        .map(|content| {
                            (String::from_utf8_lossy(content.key()), content.value_text())
                        })
                        .collect();
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                    record.extend(
                        pairs
                            .into_iter()
                            .map(|(key, value)| Column::string(format!("{key}:{value}"))),
                    );
                }
                ColumnSource::Key { name, fallback } => {
                    let value = content(log, name)
                        .map(KeyValue::value_text)
                        .or_else(|| self.fallback_value(fallback, group, log));
                    record.push(value.map_or(Column::Null, Column::string));
                }
            }
        }
        record
    }

    fn fallback_value(&self, fallback: &Fallback, group: &LogGroup, log: &Log) -> Option<String> {
        match fallback {
            Fallback::Meta(field) => meta_value(*field, group, log),
            Fallback::Tag(key) => tag(group, key).map(KeyValue::value_text),
            Fallback::Constant(text) => Some(text.clone()),
            Fallback::ExtractOthers => {
                let mut others = Map::new();
                for content in &log.contents {
                    let key = text(content.key());
                    if !self.listed.contains(&key) {
                        others.insert(key, Value::String(content.value_text()));
                    }
                }
                Some(Value::Object(others).to_string())
            }
            Fallback::ExtractAllMeta => Some(all_meta(group, log).to_string()),
        }
    }
}

/// The last content of `log` with key `name` (DataX keeps the last of a repeated key).
fn content<'a>(log: &'a Log, name: &str) -> Option<&'a KeyValue> {
    log.contents
        .iter()
        .rev()
        .find(|content| content.key() == name.as_bytes())
}

/// Each key's last content, in the order of their last appearance.
fn last_values(log: &Log) -> impl Iterator<Item = &KeyValue> {
    log.contents
        .iter()
        .enumerate()
        .filter_map(|(index, content)| {
            let repeated = log.contents[index + 1..]
                .iter()
                .any(|later| later.key() == content.key());
            (!repeated).then_some(content)
        })
}

fn tag<'a>(group: &'a LogGroup, key: &str) -> Option<&'a KeyValue> {
    group
        .log_tags
        .iter()
        .rev()
        .find(|tag| tag.key() == key.as_bytes())
}

fn meta_value(field: MetaField, group: &LogGroup, log: &Log) -> Option<String> {
    match field {
        MetaField::Topic => optional_text(&group.topic),
        MetaField::Source => optional_text(&group.source),
        MetaField::Category => optional_text(&group.category),
        MetaField::MachineUuid => optional_text(&group.machine_uuid),
        MetaField::LogTime => log.time.map(|time| time.to_string()),
    }
}

/// `C__extract_all_meta__`: what DataX puts in it, in its order, absent fields left out.
fn all_meta(group: &LogGroup, log: &Log) -> Value {
    let mut meta = Map::new();
    for (key, field) in [
        ("__category__", MetaField::Category),
        ("__source__", MetaField::Source),
        ("__topic__", MetaField::Topic),
        ("__machineUUID__", MetaField::MachineUuid),
    ] {
        if let Some(value) = meta_value(field, group, log) {
            meta.insert(key.to_string(), Value::String(value));
        }
    }
    for tag in &group.log_tags {
        meta.insert(text(tag.key()), Value::String(tag.value_text()));
    }
    if let Some(time) = meta_value(MetaField::LogTime, group, log) {
        meta.insert("__logtime__".to_string(), Value::String(time));
    }
    Value::Object(meta)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn pair(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
        }
    }

    fn group() -> LogGroup {
        LogGroup {
            logs: vec![Log {
                time: Some(1_700_000_000),
                contents: vec![
                    pair("a", "1"),
                    pair("b", "2"),
                    pair("a", "3"),
                    pair("z", "x"),
                ],
                time_ns: None,
            }],
            category: None,
            topic: Some(b"t".to_vec()),
            source: Some(b"10.0.0.1".to_vec()),
            machine_uuid: None,
            log_tags: vec![
                pair("__hostname__", "h"),
                pair("__receive_time__", "1700000001"),
            ],
        }
    }

    fn read(columns: &[&str]) -> Vec<Column> {
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let group = group();
        RecordBuilder::new(ColumnSource::for_columns(&names)).record(&group, &group.logs[0])
    }

    fn s(text: &str) -> Column {
        Column::string(text)
    }

    #[test]
    fn keys_meta_columns_and_tags_read_as_datax_reads_them() {
        assert_eq!(
            read(&[
                "a",
                "missing",
                "C_Topic",
                "__source__",
                "C_LogTime",
                "__time__"
            ]),
            [
                s("3"),
                Column::Null,
                s("t"),
                s("10.0.0.1"),
                s("1700000000"),
                s("1700000000")
            ]
        );
        assert_eq!(
            read(&[
                "C_HostName",
                "C_Path",
                "__receive_time__",
                "__tag__:__hostname__",
                "C_Category",
                "'k'"
            ]),
            [
                s("h"),
                Column::Null,
                s("1700000001"),
                s("h"),
                Column::Null,
                s("k")
            ]
        );
    }

    #[test]
    fn extract_columns_are_json_objects() {
        assert_eq!(
            read(&["a", "C__extract_others__", "C__extract_all_meta__"]),
            [
                s("3"),
                s(r#"{"b":"2","z":"x"}"#),
                s(
                    r#"{"__source__":"10.0.0.1","__topic__":"t","__hostname__":"h","__receive_time__":"1700000001","__logtime__":"1700000000"}"#
                ),
            ]
        );
    }

    #[test]
    fn a_lone_star_reads_every_key() {
        assert_eq!(read(&["*"]), [s("a:3"), s("b:2"), s("z:x")]);
    }

    #[test]
    fn a_group_list_decodes_lossily() {
        let mut group = group();
        group.logs[0].contents.push(KeyValue {
            key: Some(b"bad".to_vec()),
            value: Some(vec![0xff, b'x']),
        });
        let list = LogGroupList {
            log_groups: vec![group.clone(), group],
        };
        let decoded = LogGroupList::decode(list.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded.log_groups.len(), 2);
        let builder = RecordBuilder::new(ColumnSource::for_columns(&["bad".to_string()]));
        let record = builder.record(&decoded.log_groups[1], &decoded.log_groups[1].logs[0]);
        assert_eq!(record, [s("\u{fffd}x")]);
    }
}
