//! The PutLogs body: a protobuf `LogGroup` written straight from the records (no message
//! structs in between), then lz4-compressed as a raw block (sls-putlogs.md §5, §6).

use std::ops::Range;

/// Wire tags (sls-putlogs.md §5): field number << 3 | wire type.
const TAG_GROUP_LOGS: u8 = 0x0a;
const TAG_GROUP_TOPIC: u8 = 0x1a;
const TAG_GROUP_SOURCE: u8 = 0x22;
const TAG_LOG_TIME: u8 = 0x08;
const TAG_LOG_CONTENTS: u8 = 0x12;
const TAG_LOG_TIME_NS: u8 = 0x25;
const TAG_CONTENT_KEY: u8 = 0x0a;
const TAG_CONTENT_VALUE: u8 = 0x12;

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A content key as written before each value: its tag, length and bytes, encoded once.
pub fn encode_key(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 2);
    put_bytes_field(&mut out, TAG_CONTENT_KEY, key.as_bytes());
    out
}

/// Finished logs, each kept as its encoded `Logs` field with its end offset, so that a group
/// can be sent whole or split in parts. Moves to the sending thread as it is.
#[derive(Default)]
pub struct LogBatch {
    logs: Vec<u8>,
    log_ends: Vec<usize>,
}

impl LogBatch {
    pub fn len(&self) -> usize {
        self.log_ends.len()
    }

    /// Writes into `out` the LogGroup of the logs `range` (indexes in finish order) followed
    /// by `trailer` (from [`LogGroupBuilder::trailer`]).
    pub fn encode_group(&self, range: Range<usize>, trailer: &[u8], out: &mut Vec<u8>) {
        let offset = |index: usize| {
            if index == 0 {
                0
            } else {
                self.log_ends[index - 1]
            }
        };
        out.clear();
        out.extend_from_slice(&self.logs[offset(range.start)..offset(range.end)]);
        out.extend_from_slice(trailer);
    }
}

/// Builds logs into a [`LogBatch`], one content at a time.
pub struct LogGroupBuilder {
    batch: LogBatch,
    /// The log being built: its `Time` and `Contents` fields.
    current: Vec<u8>,
    current_time_ns: Option<u32>,
    /// The group's `Topic` and `Source` fields, the same for every group.
    trailer: Vec<u8>,
}

impl LogGroupBuilder {
    /// An empty `topic` or `source` is left out of the group, as the SDKs do.
    pub fn new(topic: &str, source: &str) -> Self {
        let mut trailer = Vec::new();
        if !topic.is_empty() {
            put_bytes_field(&mut trailer, TAG_GROUP_TOPIC, topic.as_bytes());
        }
        if !source.is_empty() {
            put_bytes_field(&mut trailer, TAG_GROUP_SOURCE, source.as_bytes());
        }
        LogGroupBuilder {
            batch: LogBatch::default(),
            current: Vec::with_capacity(1024),
            current_time_ns: None,
            trailer,
        }
    }

    /// The fields that end every group: topic and source.
    pub fn trailer(&self) -> &[u8] {
        &self.trailer
    }

    /// Starts a log, discarding any log begun and not finished.
    pub fn begin_log(&mut self, time: u32, time_ns: Option<u32>) {
        self.current.clear();
        self.current.push(TAG_LOG_TIME);
        put_varint(&mut self.current, u64::from(time));
        self.current_time_ns = time_ns;
    }

    /// Adds `key = value` to the log begun; `encoded_key` comes from [`encode_key`].
    pub fn add_content(&mut self, encoded_key: &[u8], value: &[u8]) {
        let value_len = value.len() as u64;
        let content_len = encoded_key.len() + 1 + varint_len(value_len) + value.len();
        self.current.push(TAG_LOG_CONTENTS);
        put_varint(&mut self.current, content_len as u64);
        self.current.extend_from_slice(encoded_key);
        self.current.push(TAG_CONTENT_VALUE);
        put_varint(&mut self.current, value_len);
        self.current.extend_from_slice(value);
    }

    /// Adds the log begun to the batch.
    pub fn finish_log(&mut self) {
        if let Some(nanos) = self.current_time_ns {
            // Field 4 comes after the contents (field 2): fields go in number order.
            self.current.push(TAG_LOG_TIME_NS);
            self.current.extend_from_slice(&nanos.to_le_bytes());
        }
        put_bytes_field(&mut self.batch.logs, TAG_GROUP_LOGS, &self.current);
        self.batch.log_ends.push(self.batch.logs.len());
    }

    /// The encoded size the log begun would add to the group.
    pub fn current_log_size(&self) -> usize {
        let len = self.current.len() + if self.current_time_ns.is_some() { 5 } else { 0 };
        1 + varint_len(len as u64) + len
    }

    pub fn log_count(&self) -> usize {
        self.batch.len()
    }

    /// The size of the whole group's protobuf (the `x-log-bodyrawsize`).
    pub fn raw_size(&self) -> usize {
        self.batch.logs.len() + self.trailer.len()
    }

    /// The logs built so far; building goes on in `reused`'s buffers (emptied here).
    pub fn take_batch(&mut self, mut reused: LogBatch) -> LogBatch {
        reused.logs.clear();
        reused.log_ends.clear();
        std::mem::replace(&mut self.batch, reused)
    }
}

/// Compresses `raw` as a raw LZ4 block (no frame, no size prefix) into `out`.
pub fn compress_lz4(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
    // The buffer has the maximum size the input can take, so compression cannot run out.
    let written = lz4_flex::block::compress_into(raw, out).unwrap_or(0);
    out.truncate(written);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use prost::Message;

    /// The LogGroup of sls-putlogs.md §5, to decode what the builder wrote.
    #[derive(Clone, PartialEq, Message)]
    pub struct LogGroup {
        #[prost(message, repeated, tag = "1")]
        pub logs: Vec<Log>,
        #[prost(string, optional, tag = "3")]
        pub topic: Option<String>,
        #[prost(string, optional, tag = "4")]
        pub source: Option<String>,
        #[prost(message, repeated, tag = "6")]
        pub log_tags: Vec<LogTag>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct Log {
        #[prost(uint32, required, tag = "1")]
        pub time: u32,
        #[prost(message, repeated, tag = "2")]
        pub contents: Vec<Content>,
        #[prost(fixed32, optional, tag = "4")]
        pub time_ns: Option<u32>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct Content {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, required, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct LogTag {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, required, tag = "2")]
        pub value: String,
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// P1's bytes without the trailing `__pack_id__` tag, which this writer does not send.
    const P1_WITHOUT_TAG: &str = "0a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b07\
        0a1e0881e2cfaa06120d0a056c6576656c12045741524e12070a036d73671200\
        1a056461746178220831302e302e302e31";

    fn p1_builder() -> LogGroupBuilder {
        let mut builder = LogGroupBuilder::new("datax", "10.0.0.1");
        let (level, msg) = (encode_key("level"), encode_key("msg"));
        builder.begin_log(1_700_000_000, Some(123_456_789));
        builder.add_content(&level, b"INFO");
        builder.add_content(&msg, "hello 世界".as_bytes());
        builder.finish_log();
        builder.begin_log(1_700_000_001, None);
        builder.add_content(&level, b"WARN");
        builder.add_content(&msg, b"");
        builder.finish_log();
        builder
    }

    /// sls-putlogs.md §13 P1: the same bytes as the official SDK, up to the tags.
    #[test]
    fn encodes_the_p1_log_group_byte_for_byte() {
        let mut builder = p1_builder();
        let raw_size = builder.raw_size();
        let batch = builder.take_batch(LogBatch::default());
        let mut body = Vec::new();
        batch.encode_group(0..2, builder.trailer(), &mut body);
        assert_eq!(body, hex(P1_WITHOUT_TAG));
        assert_eq!(raw_size, body.len());
        assert_eq!(builder.log_count(), 0, "building starts again empty");
        let decoded = LogGroup::decode(body.as_slice()).unwrap();
        assert_eq!(decoded.logs[0].time_ns, Some(123_456_789));
        assert_eq!(decoded.logs[1].contents[1].value, "");
    }

    #[test]
    fn a_group_splits_into_parts_that_decode() {
        let mut builder = p1_builder();
        let batch = builder.take_batch(LogBatch::default());
        let mut body = Vec::new();
        batch.encode_group(1..2, builder.trailer(), &mut body);
        let second = LogGroup::decode(body.as_slice()).unwrap();
        assert_eq!(second.logs.len(), 1);
        assert_eq!(second.logs[0].time, 1_700_000_001);
        assert_eq!(second.topic.as_deref(), Some("datax"));
        batch.encode_group(0..1, builder.trailer(), &mut body);
        assert_eq!(
            LogGroup::decode(body.as_slice()).unwrap().logs[0].time,
            1_700_000_000
        );
    }

    #[test]
    fn the_log_size_is_known_before_it_is_added() {
        let mut builder = LogGroupBuilder::new("", "");
        builder.begin_log(1, Some(5));
        builder.add_content(&encode_key("k"), &[b'x'; 300]);
        let expected = builder.current_log_size();
        builder.finish_log();
        assert_eq!(builder.raw_size(), expected);
    }

    /// sls-putlogs.md §6: a raw block; compare by decompressing, and the spec's python-lz4
    /// block decompresses to the same P1 bytes.
    #[test]
    fn lz4_blocks_decompress_to_the_raw_group() {
        let raw = hex(P1_WITHOUT_TAG);
        let mut compressed = Vec::new();
        compress_lz4(&raw, &mut compressed);
        assert_eq!(
            lz4_flex::block::decompress(&compressed, raw.len()).unwrap(),
            raw
        );
        let python = hex("fb260a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b070a1e08813100625741524e12073100f01c001a056461746178220831302e302e302e3132170a0b5f5f7061636b5f69645f5f12083546324131422d31");
        let p1 = lz4_flex::block::decompress(&python, 123).unwrap();
        assert!(p1.starts_with(&raw));
        assert_eq!(
            crate::auth::content_md5(&python),
            "F830413E6E50EE10367B95DF7DD22ECD"
        );
    }

    #[test]
    fn varint_lengths() {
        for value in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
    }
}
