//! What PullLogs returns, a protobuf `LogGroupList` (sls-pulllogs.md §4) of sls-putlogs.md §5's
//! groups, read in place, and how each log becomes a record: one string column per `column`
//! entry, found as DataX's loghubreader finds it.
//!
//! Design: a pull's body is walked where it lies. A group's meta fields and tags, and a log's
//! contents, are byte slices of the body gathered into vectors the caller reuses, and each
//! column's text is copied once, into the reused record's own buffer
//! ([`datax_plugin_api::RecordSender::send_with`]): in the steady state nothing is allocated
//! per log. [`check`] walks a body's groups in the pulling thread, so that a body that does not
//! decode is pulled again there; the converting thread reads it.
//!
//! Text fields are read lossily as UTF-8, as the Java SDK reads them, so that one value that is
//! not UTF-8 does not fail a whole pull.

use std::borrow::Cow;

use datax_plugin_api::{Column, Record};
use prost::encoding::decode_varint;
use serde_json::{Map, Value};

/// Why a body is not a `LogGroupList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(&'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One field of a protobuf message: a varint, or the bytes of any other wire type.
enum FieldValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The fields of one protobuf message, in order.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(message: &'a [u8]) -> Self {
        Fields { rest: message }
    }

    #[inline(always)]
    fn take(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        if len > self.rest.len() {
            return Err(Malformed("a field runs past the end of its message"));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// Keys and lengths are mostly one byte: those are read here, the rest by prost.
    #[inline(always)]
    fn varint(&mut self) -> Result<u64, Malformed> {
        match self.rest.split_first() {
            Some((&byte, rest)) if byte < 0x80 => {
                self.rest = rest;
                Ok(u64::from(byte))
            }
            _ => decode_varint(&mut self.rest).map_err(|_| Malformed("a varint is cut short")),
        }
    }

    #[inline(always)]
    fn next_field(&mut self) -> Result<(u64, FieldValue<'a>), Malformed> {
        let key = self.varint()?;
        let value = match key & 7 {
            0 => FieldValue::Varint(self.varint()?),
            1 => FieldValue::Bytes(self.take(8)?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| Malformed("a length is too large"))?;
                FieldValue::Bytes(self.take(len)?)
            }
            5 => FieldValue::Bytes(self.take(4)?),
            _ => {
                return Err(Malformed(
                    "a field has a wire type LogGroupList does not use",
                ))
            }
        };
        Ok((key >> 3, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, FieldValue<'a>), Malformed>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        (!self.rest.is_empty()).then(|| self.next_field())
    }
}

#[inline(always)]
fn bytes(value: FieldValue<'_>) -> Result<&[u8], Malformed> {
    match value {
        FieldValue::Bytes(bytes) => Ok(bytes),
        FieldValue::Varint(_) => Err(Malformed("a text or message field is a varint")),
    }
}

/// A `LogGroupList`'s groups, each the bytes of one `LogGroup`.
pub fn groups(list: &[u8]) -> impl Iterator<Item = Result<&[u8], Malformed>> {
    Fields::new(list).filter_map(|field| match field {
        Ok((1, value)) => Some(bytes(value)),
        Ok(_) => None,
        Err(error) => Some(Err(error)),
    })
}

/// A key and its value: a log's content or a group's tag.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

#[inline(always)]
fn pair(message: &[u8]) -> Result<Pair<'_>, Malformed> {
    let (mut key, mut value): Pair<'_> = (b"", b"");
    for field in Fields::new(message) {
        match field? {
            (1, text) => key = bytes(text)?,
            (2, text) => value = bytes(text)?,
            _ => {}
        }
    }
    Ok((key, value))
}

/// One `LogGroup`: its meta fields and tags read, its logs kept as bytes to read one by one.
#[derive(Default)]
pub struct Group<'a> {
    pub category: Option<&'a [u8]>,
    pub topic: Option<&'a [u8]>,
    pub source: Option<&'a [u8]>,
    pub machine_uuid: Option<&'a [u8]>,
    pub tags: Vec<Pair<'a>>,
    pub logs: Vec<&'a [u8]>,
}

impl<'a> Group<'a> {
    /// Reads `message` into this group, reusing its vectors.
    pub fn read(&mut self, message: &'a [u8]) -> Result<(), Malformed> {
        self.category = None;
        self.topic = None;
        self.source = None;
        self.machine_uuid = None;
        self.tags.clear();
        self.logs.clear();
        for field in Fields::new(message) {
            let (number, value) = field?;
            match number {
                1 => self.logs.push(bytes(value)?),
                2 => self.category = Some(bytes(value)?),
                3 => self.topic = Some(bytes(value)?),
                4 => self.source = Some(bytes(value)?),
                5 => self.machine_uuid = Some(bytes(value)?),
                6 => self.tags.push(pair(bytes(value)?)?),
                _ => {}
            }
        }
        Ok(())
    }
}

/// One `Log`: its time (Unix seconds) and contents.
#[derive(Default)]
pub struct Log<'a> {
    pub time: Option<u64>,
    pub contents: Vec<Pair<'a>>,
}

impl<'a> Log<'a> {
    /// Reads `message` into this log, reusing its vector.
    pub fn read(&mut self, message: &'a [u8]) -> Result<(), Malformed> {
        self.time = None;
        self.contents.clear();
        for field in Fields::new(message) {
            match field? {
                (1, FieldValue::Varint(time)) => self.time = Some(time),
                (1, FieldValue::Bytes(_)) => return Err(Malformed("a log's time is not a varint")),
                (2, value) => self.contents.push(pair(bytes(value)?)?),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Walks a `LogGroupList` down to its groups' fields (each log's extent, not its inside); how
/// many groups it holds. A body cut short or corrupted in transit fails here, where it can be
/// pulled again: every field's length must fit in its message. A log malformed inside a sound
/// group is the service's data, which another pull would not change; the converting thread
/// names it.
pub fn check(list: &[u8]) -> Result<u64, Malformed> {
    let mut group = Group::default();
    let mut count = 0;
    for message in groups(list) {
        group.read(message?)?;
        count += 1;
    }
    Ok(count)
}

/// Most values are short ASCII, checked inline; other text goes through `from_utf8` (much
/// faster than `from_utf8_lossy` on valid text), and only text that is not UTF-8 is replaced.
#[inline(always)]
fn text(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
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

/// The value of one column of one log: text borrowed from the body, or made (a number, JSON).
enum Text<'a> {
    Borrowed(&'a [u8]),
    Owned(String),
}

/// Column `index` of `record`, added as null when the record is shorter.
fn slot(record: &mut Record, index: usize) -> &mut Column {
    if index == record.columns.len() {
        record.columns.push(Column::Null);
    }
    &mut record.columns[index]
}

/// Sets `column` to `value`, reusing its text buffer when it already holds text.
fn set(column: &mut Column, value: Option<Text<'_>>) {
    let text = match &value {
        None => return *column = Column::Null,
        Some(Text::Borrowed(bytes)) => text(bytes),
        Some(Text::Owned(owned)) => Cow::Borrowed(owned.as_str()),
    };
    match column {
        Column::String(buffer) => {
            buffer.clear();
            buffer.push_str(&text);
        }
        other => *other = Column::string(text),
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

    /// Makes `record` the record of `log` of `group`, reusing its columns' buffers.
    pub fn fill(&self, group: &Group<'_>, log: &Log<'_>, record: &mut Record) {
        let mut index = 0;
        for column in &self.columns {
            match column {
                ColumnSource::AllKeys => {
                    let mut pairs: Vec<Pair<'_>> = last_values(log).collect();
                    pairs.sort_by(|a, b| text(a.0).cmp(&text(b.0)));
                    for (key, value) in pairs {
                        let joined = format!("{}:{}", text(key), text(value));
                        set(slot(record, index), Some(Text::Owned(joined)));
                        index += 1;
                    }
                }
                ColumnSource::Key { name, fallback } => {
                    let value = match content(log, name) {
                        Some(value) => Some(Text::Borrowed(value)),
                        None => self.fallback_value(fallback, group, log),
                    };
                    set(slot(record, index), value);
                    index += 1;
                }
            }
        }
        record.columns.truncate(index);
    }

    fn fallback_value<'a>(
        &'a self,
        fallback: &'a Fallback,
        group: &Group<'a>,
        log: &Log<'a>,
    ) -> Option<Text<'a>> {
        match fallback {
            Fallback::Meta(field) => meta_value(*field, group, log),
            Fallback::Tag(key) => tag(group, key).map(Text::Borrowed),
            Fallback::Constant(text) => Some(Text::Borrowed(text.as_bytes())),
            Fallback::ExtractOthers => {
                let mut others = Map::new();
                for (key, value) in &log.contents {
                    let key = text(key).into_owned();
                    if !self.listed.contains(&key) {
                        others.insert(key, Value::String(text(value).into_owned()));
                    }
                }
                Some(Text::Owned(Value::Object(others).to_string()))
            }
            Fallback::ExtractAllMeta => Some(Text::Owned(all_meta(group, log).to_string())),
        }
    }
}

/// The value of the last content of `log` with key `name` (DataX keeps the last of a
/// repeated key).
fn content<'a>(log: &Log<'a>, name: &str) -> Option<&'a [u8]> {
    log.contents
        .iter()
        .rev()
        .find(|(key, _)| same_key(key, name.as_bytes()))
        .map(|(_, value)| *value)
}

/// Keys are short and most that are as long differ in their first byte: compared inline
/// before `memcmp` is called.
#[inline(always)]
fn same_key(key: &[u8], name: &[u8]) -> bool {
    key.len() == name.len() && key.first() == name.first() && key == name
}

/// Each key's last content, in the order of their last appearance.
fn last_values<'a, 'l>(log: &'l Log<'a>) -> impl Iterator<Item = Pair<'a>> + 'l {
    let contents = &log.contents;
    contents
        .iter()
        .enumerate()
        .filter_map(move |(index, content)| {
            let repeated = contents[index + 1..]
                .iter()
                .any(|later| later.0 == content.0);
            (!repeated).then_some(*content)
        })
}

fn tag<'a>(group: &Group<'a>, key: &str) -> Option<&'a [u8]> {
    group
        .tags
        .iter()
        .rev()
        .find(|(tag, _)| same_key(tag, key.as_bytes()))
        .map(|(_, value)| *value)
}

fn meta_value<'a>(field: MetaField, group: &Group<'a>, log: &Log<'_>) -> Option<Text<'a>> {
    let borrowed = |value: Option<&'a [u8]>| value.map(Text::Borrowed);
    match field {
        MetaField::Topic => borrowed(group.topic),
        MetaField::Source => borrowed(group.source),
        MetaField::Category => borrowed(group.category),
        MetaField::MachineUuid => borrowed(group.machine_uuid),
        MetaField::LogTime => log.time.map(|time| Text::Owned(time.to_string())),
    }
}

/// `C__extract_all_meta__`: what DataX puts in it, in its order, absent fields left out.
fn all_meta(group: &Group<'_>, log: &Log<'_>) -> Value {
    let mut meta = Map::new();
    for (key, value) in [
        ("__category__", group.category),
        ("__source__", group.source),
        ("__topic__", group.topic),
        ("__machineUUID__", group.machine_uuid),
    ] {
        if let Some(value) = value {
            meta.insert(key.to_string(), Value::String(text(value).into_owned()));
        }
    }
    for (key, value) in &group.tags {
        meta.insert(
            text(key).into_owned(),
            Value::String(text(value).into_owned()),
        );
    }
    if let Some(time) = log.time {
        meta.insert("__logtime__".to_string(), Value::String(time.to_string()));
    }
    Value::Object(meta)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// The service's messages (sls-putlogs.md §5), encoded with prost to make test bodies.
    #[derive(Clone, PartialEq, prost::Message)]
    struct ListMessage {
        #[prost(message, repeated, tag = "1")]
        groups: Vec<GroupMessage>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct GroupMessage {
        #[prost(message, repeated, tag = "1")]
        logs: Vec<LogMessage>,
        #[prost(string, optional, tag = "3")]
        topic: Option<String>,
        #[prost(string, optional, tag = "4")]
        source: Option<String>,
        #[prost(message, repeated, tag = "6")]
        tags: Vec<PairMessage>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct LogMessage {
        #[prost(uint32, optional, tag = "1")]
        time: Option<u32>,
        #[prost(message, repeated, tag = "2")]
        contents: Vec<PairMessage>,
        #[prost(fixed32, optional, tag = "4")]
        time_ns: Option<u32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct PairMessage {
        #[prost(bytes = "vec", optional, tag = "1")]
        key: Option<Vec<u8>>,
        #[prost(bytes = "vec", optional, tag = "2")]
        value: Option<Vec<u8>>,
    }

    fn pair(key: &str, value: &[u8]) -> PairMessage {
        PairMessage {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
        }
    }

    fn body() -> Vec<u8> {
        let group = GroupMessage {
            logs: vec![LogMessage {
                time: Some(1_700_000_000),
                contents: vec![
                    pair("a", b"1"),
                    pair("b", b"2"),
                    pair("a", b"3"),
                    pair("z", b"x"),
                    pair("bad", &[0xff, b'x']),
                ],
                time_ns: Some(5),
            }],
            topic: Some("t".into()),
            source: Some("10.0.0.1".into()),
            tags: vec![
                pair("__hostname__", b"h"),
                pair("__receive_time__", b"1700000001"),
            ],
        };
        ListMessage {
            groups: vec![group.clone(), group],
        }
        .encode_to_vec()
    }

    /// The record of the first log of the second group of [`body`], filled into `record`.
    fn read_into(columns: &[&str], record: &mut Record) {
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let body = body();
        let (mut group, mut log) = (Group::default(), Log::default());
        let second = groups(&body).nth(1).unwrap().unwrap();
        group.read(second).unwrap();
        log.read(group.logs[0]).unwrap();
        RecordBuilder::new(ColumnSource::for_columns(&names)).fill(&group, &log, record);
    }

    fn read(columns: &[&str]) -> Vec<Column> {
        let mut record = Record::default();
        read_into(columns, &mut record);
        record.columns.into_vec()
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
            read(&["a", "bad", "C__extract_others__", "C__extract_all_meta__"]),
            [
                s("3"),
                s("\u{fffd}x"),
                s(r#"{"b":"2","z":"x"}"#),
                s(
                    r#"{"__source__":"10.0.0.1","__topic__":"t","__hostname__":"h","__receive_time__":"1700000001","__logtime__":"1700000000"}"#
                ),
            ]
        );
    }

    #[test]
    fn a_lone_star_reads_every_key() {
        assert_eq!(
            read(&["*"]),
            [s("a:3"), s("b:2"), s("bad:\u{fffd}x"), s("z:x")]
        );
    }

    #[test]
    fn a_reused_record_keeps_its_text_buffers_and_loses_stale_columns() {
        let mut record = Record::new(vec![
            s("a longer stale value"),
            Column::Long(1),
            s("stale"),
            s("stale"),
        ]);
        let buffer = match &record.columns[0] {
            Column::String(text) => text.as_ptr(),
            _ => unreachable!(),
        };
        read_into(&["a", "b", "missing"], &mut record);
        assert_eq!(record.columns.as_slice(), [s("3"), s("2"), Column::Null]);
        match &record.columns[0] {
            Column::String(text) => assert_eq!(text.as_ptr(), buffer, "the buffer is reused"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn check_counts_groups_and_refuses_a_body_cut_short() {
        let body = body();
        assert_eq!(check(&body), Ok(2));
        assert_eq!(check(&[]), Ok(0));
        for cut in [1, 7, body.len() / 2 + 3, body.len() - 1] {
            assert!(check(&body[..cut]).is_err(), "cut at {cut}");
        }
    }
}
